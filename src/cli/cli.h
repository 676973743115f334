/* Shared plumbing of the umlhost CLI: global options, output in text or JSON, exit codes. */
#ifndef UH_CLI_H
#define UH_CLI_H

#include <jansson.h>

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
/* The error code string for an error object ("not_found", "timeout", ...). */
const char *uh_cli_error_code(const struct uh_error *err);

/* Parse a duration in seconds ("5", "0.5") into milliseconds. */
int uh_cli_parse_seconds(const char *s, int *ms);

int uh_cmd_cow(struct uh_cli *cli, int argc, char **argv);
int uh_cmd_mconsole(struct uh_cli *cli, int argc, char **argv);

#endif
