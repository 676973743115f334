/* Shared plumbing of the umlhost CLI: global options, output in text or JSON, exit codes. */
#ifndef UH_CLI_H
#define UH_CLI_H

#include <jansson.h>

#include <stddef.h>

#include "util/error.h"

enum { UH_EXIT_OK = 0, UH_EXIT_FAIL = 1, UH_EXIT_USAGE = 2 };

struct uh_cli {
	int json;
	const char *socket;
};

/* Report a failed operation: "umlhost: msg" on stderr, or {"error","code"} on stdout with
 * --json. Returns UH_EXIT_FAIL. */
int uh_cli_fail(const struct uh_cli *cli, const struct uh_error *err);
/* Report a usage error on stderr (and JSON on stdout with --json). Returns UH_EXIT_USAGE. */
int uh_cli_usage(const struct uh_cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print a JSON document on stdout and consume the reference. */
void uh_cli_print_json(json_t *doc);
/* A string field of an API object for text output, "-" when absent or null. */
const char *uh_cli_str(json_t *o, const char *key);
/* The error code string for an error object ("not_found", "timeout", ...). */
const char *uh_cli_error_code(const struct uh_error *err);

/* Parse a duration in seconds ("5", "0.5") into milliseconds. */
int uh_cli_parse_seconds(const char *s, int *ms);
/* Parse a whole decimal number (no trailing characters). */
int uh_cli_parse_long(const char *s, long *v);

/* API calls (client.c). A status >= 400 becomes an error carrying the daemon's message. */
const char *uh_cli_socket(const struct uh_cli *cli);
int uh_client_call(const struct uh_cli *cli, const char *method, const char *path, json_t *body,
		   json_t **resp, struct uh_error *err);
/* GET a JSON document and hand back its bytes unparsed (for --json output as the daemon
 * wrote it: `list` of a thousand instances need not be parsed and re-printed). */
int uh_client_call_raw(const struct uh_cli *cli, const char *path, char **out, size_t *len,
		       struct uh_error *err);
/* GET a streaming resource; fn gets each piece (return non-zero to stop). */
int uh_client_stream(const struct uh_cli *cli, const char *path,
		     int (*fn)(const char *data, size_t len, void *arg), void *arg,
		     struct uh_error *err);

/* Print a build's log (GET COLLECTION/NAME/log?offset=) as it grows until COLLECTION/NAME says
 * ready (then *final is its JSON) or failed (an error naming the builder's message). */
int uh_cli_follow_build(struct uh_cli *cli, const char *collection, const char *name,
			json_t **final, struct uh_error *err);

int uh_cmd_cow(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_mconsole(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_template(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_network(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_kernel(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_disk(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_backup(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_upgrade(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_create(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_lifecycle(struct uh_cli *cli, int argc, char **argv); /* start stop restart reboot kill */
int uh_cmd_delete(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_list(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_show(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_logs(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_events(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_stats(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_console(struct uh_cli *cli, int argc, char **argv);

/* A backup location for the daemon: an URL as it is, a local path made absolute (the daemon
 * has another working directory; a directory it will create need not exist yet). */
int uh_cli_location(const char *arg, char *path, struct uh_error *err);

#endif
