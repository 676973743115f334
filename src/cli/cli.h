/* Shared plumbing of the umlhost CLI: global options, output in text or JSON, exit codes. */
#ifndef UH_CLI_H
#define UH_CLI_H

#include <jansson.h>

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

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
/* Unix seconds as local "YYYY-MM-DD HH:MM" ("-" when not a number). */
void uh_cli_time(json_t *secs, char *out, size_t len);
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
int uh_cmd_customer(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_chown(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_token(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_top(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_plan(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_apply(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_export(struct uh_cli *cli, int argc, char **argv);
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

/* ---- the command table (commands.c) */

/* Beside each option of a command's getopt_long array: its argument's name (NULL: a flag),
 * one line of help (NULL: not shown, e.g. --json, which is global), whether it is needed. */
struct uh_cli_doc {
	const char *arg;
	const char *help;
	int required;
};

/* A command: usage, help and dispatch come from here. opts is the very array its parser gives
 * getopt_long (NULL: none), docs[i] describes opts[i]; fn is called with argv from the
 * command's first word ("template" of "template build"). */
struct uh_cli_command {
	const char *name;    /* "create", "template build" */
	const char *args;    /* its positional arguments: "NAME", "[NAME]", "COW OUTPUT" */
	const char *summary; /* one line */
	const struct option *opts;
	const struct uh_cli_doc *docs;
	int (*fn)(struct uh_cli *cli, int argc, char **argv);
};

extern const struct uh_cli_command *const uh_cli_commands[];
extern const size_t uh_cli_n_commands;
/* The command argv's first one or two words name (NULL: none); *words: how many. */
const struct uh_cli_command *uh_cli_command_find(int argc, char **argv, int *words);
/* "usage: umlhost NAME ARGS [--opt ARG]..." from the table */
void uh_cli_synopsis(const struct uh_cli_command *c, char *buf, size_t len);
void uh_cli_print_help(const struct uh_cli_command *c, FILE *f);
void uh_cli_print_usage(FILE *f);
/* getopt_long over argv (argv[0] the command's last word) with c's options: option i's value
 * in val[i] ("" for a flag; one slot per option), --json sets cli->json, the positional
 * arguments in pos[]. shortopts: the short forms c allows ("f": -f for --follow), else "".
 * How many positional arguments there are, or -1 (an unknown option, more than max_pos). */
int uh_cli_getopt(struct uh_cli *cli, const struct uh_cli_command *c, const char *shortopts,
		  int argc, char **argv, const char *val[], char **pos, int max_pos);
/* A usage error naming c's synopsis. Returns UH_EXIT_USAGE. */
int uh_cli_usage_of(const struct uh_cli *cli, const struct uh_cli_command *c);

extern const struct uh_cli_command uh_cli_cmd_create, uh_cli_cmd_start, uh_cli_cmd_stop,
	uh_cli_cmd_restart, uh_cli_cmd_reboot, uh_cli_cmd_kill, uh_cli_cmd_delete, uh_cli_cmd_list,
	uh_cli_cmd_show, uh_cli_cmd_stats, uh_cli_cmd_console, uh_cli_cmd_logs, uh_cli_cmd_events,
	uh_cli_cmd_disk_flatten, uh_cli_cmd_disk_resize, uh_cli_cmd_backup_create,
	uh_cli_cmd_backup_list, uh_cli_cmd_backup_verify, uh_cli_cmd_backup_restore,
	uh_cli_cmd_backup_prune, uh_cli_cmd_template_import, uh_cli_cmd_template_build,
	uh_cli_cmd_template_list, uh_cli_cmd_template_rm, uh_cli_cmd_network_create,
	uh_cli_cmd_network_list, uh_cli_cmd_network_rm, uh_cli_cmd_kernel_build,
	uh_cli_cmd_kernel_list, uh_cli_cmd_kernel_rm, uh_cli_cmd_upgrade, uh_cli_cmd_cow_create,
	uh_cli_cmd_cow_info, uh_cli_cmd_cow_merge, uh_cli_cmd_mconsole, uh_cli_cmd_version,
	uh_cli_cmd_help, uh_cli_cmd_customer_create, uh_cli_cmd_customer_list,
	uh_cli_cmd_customer_rm, uh_cli_cmd_chown, uh_cli_cmd_token_create, uh_cli_cmd_token_list,
	uh_cli_cmd_token_revoke, uh_cli_cmd_top, uh_cli_cmd_plan, uh_cli_cmd_apply,
	uh_cli_cmd_export;

/* A backup location for the daemon: an URL as it is, a local path made absolute (the daemon
 * has another working directory; a directory it will create need not exist yet). */
int uh_cli_location(const char *arg, char *path, struct uh_error *err);

#endif
