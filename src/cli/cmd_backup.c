/* Backup commands: create, list, verify, restore, prune. An archive or a target is a local
 * path (made absolute here: the daemon has another working directory) or an sftp:// URL,
 * passed on as it is. */
#include "backup/target.h"
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: umlhost backup create NAME [--to DIR|sftp://[USER@]HOST[:PORT]/DIR]\n"
	"       umlhost backup list [NAME] [--from DIR|URL]\n"
	"       umlhost backup verify ARCHIVE | umlhost backup restore ARCHIVE [--as NAME]\n"
	"       umlhost backup prune NAME --keep N [--from DIR|URL]";

/* A query parameter's value: everything but unreserved characters percent-encoded. */
static char *query_escape(const char *v)
{
	char *out = malloc(3 * strlen(v) + 1), *o = out;

	if (out == NULL)
		abort();
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || c == '/')
			*o++ = (char)c;
		else
			o += sprintf(o, "%%%02X", c);
	}
	*o = '\0';
	return out;
}

int uh_cli_location(const char *arg, char *path, struct uh_error *err)
{
	if (strstr(arg, "://")) { /* a URL: the daemon says which schemes it takes */
		if (strlen(arg) >= PATH_MAX)
			return uh_errx(err, "%.80s...: too long", arg);
		strcpy(path, arg);
		return 0;
	}
	if (realpath(arg, path) != NULL)
		return 0;
	/* a --to directory the daemon will create */
	if (errno == ENOENT && arg[0] == '/' && strlen(arg) < PATH_MAX) {
		strcpy(path, arg);
		return 0;
	}
	if (errno == ENOENT && getcwd(path, PATH_MAX) != NULL &&
	    strlen(path) + strlen(arg) + 2 < PATH_MAX) {
		strcat(path, "/");
		strcat(path, arg);
		return 0;
	}
	return uh_err(err, errno, "%s", arg);
}

int uh_cmd_backup(struct uh_cli *cli, int argc, char **argv)
{
	struct uh_error err;
	json_t *resp = NULL, *b;
	char path[PATH_MAX], url[256];
	size_t k;

	if (argc >= 3 && strcmp(argv[1], "create") == 0 &&
	    (argc == 3 || (argc == 5 && strcmp(argv[3], "--to") == 0))) {
		json_t *body = json_object();

		if (strlen(argv[2]) > 64)
			return uh_cli_usage(cli, "%s", usage);
		if (argc == 5) {
			if (uh_cli_location(argv[4], path, &err) < 0) {
				json_decref(body);
				uh_err_prefix(&err, "--to");
				return uh_cli_fail(cli, &err);
			}
			json_object_set_new(body, "to", json_string(path));
		}
		snprintf(url, sizeof(url), "/v1/instances/%s/backup", argv[2]);
		if (uh_client_call(cli, "POST", url, body, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json) {
			uh_cli_print_json(resp);
			return UH_EXIT_OK;
		}
		printf("%s (%lld bytes, sha256 %s, freeze %lld ms)\n", uh_cli_str(resp, "archive"),
		       (long long)json_integer_value(json_object_get(resp, "bytes")),
		       uh_cli_str(resp, "sha256"),
		       (long long)json_integer_value(json_object_get(resp, "freeze_ms")));
		json_decref(resp);
		return UH_EXIT_OK;
	}
	if (argc == 3 && strcmp(argv[1], "verify") == 0) {
		if (uh_cli_location(argv[2], path, &err) < 0) {
			uh_err_prefix(&err, "backup verify");
			return uh_cli_fail(cli, &err);
		}
		if (uh_client_call(cli, "POST", "/v1/backups/verify",
				   json_pack("{s:s}", "archive", path), &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json) {
			uh_cli_print_json(resp);
			return UH_EXIT_OK;
		}
		printf("%s: OK (%zu members match the manifest)\n", path,
		       json_object_size(json_object_get(json_object_get(resp, "manifest"),
							"members")));
		json_decref(resp);
		return UH_EXIT_OK;
	}
	if (strcmp(argv[1] ? argv[1] : "", "restore") == 0 &&
	    (argc == 3 || (argc == 5 && strcmp(argv[3], "--as") == 0))) {
		json_t *body;

		if (uh_cli_location(argv[2], path, &err) < 0) {
			uh_err_prefix(&err, "backup restore");
			return uh_cli_fail(cli, &err);
		}
		body = json_pack("{s:s}", "archive", path);
		if (argc == 5)
			json_object_set_new(body, "as", json_string(argv[4]));
		if (uh_client_call(cli, "POST", "/v1/backups/restore", body, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json) {
			uh_cli_print_json(resp);
			return UH_EXIT_OK;
		}
		printf("restored %s (%s)\n", uh_cli_str(resp, "name"), uh_cli_str(resp, "disk"));
		{
			json_t *dropped = json_object_get(resp, "restore_dropped"), *v;
			size_t di;

			/* what of the archive's definition this host's policy left out */
			json_array_foreach(dropped, di, v)
				printf("left out: %s\n", json_string_value(v));
		}
		json_decref(resp);
		return UH_EXIT_OK;
	}
	if ((argc == 5 || argc == 7) && strcmp(argv[1], "prune") == 0 &&
	    strcmp(argv[3], "--keep") == 0 && (argc == 5 || strcmp(argv[5], "--from") == 0)) {
		long keep;
		json_t *body;

		if (uh_cli_parse_long(argv[4], &keep) < 0 || keep < 1 || strlen(argv[2]) > 64)
			return uh_cli_usage(cli, "%s", usage);
		body = json_pack("{s:s, s:i}", "instance", argv[2], "keep", (int)keep);
		if (argc == 7) {
			if (uh_cli_location(argv[6], path, &err) < 0) {
				json_decref(body);
				uh_err_prefix(&err, "--from");
				return uh_cli_fail(cli, &err);
			}
			json_object_set_new(body, "from", json_string(path));
		}
		if (uh_client_call(cli, "POST", "/v1/backups/prune", body, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json) {
			uh_cli_print_json(resp);
			return UH_EXIT_OK;
		}
		printf("kept the newest %lld, removed %zu\n",
		       (long long)json_integer_value(json_object_get(resp, "kept")),
		       json_array_size(json_object_get(resp, "removed")));
		json_decref(resp);
		return UH_EXIT_OK;
	}
	if (argc >= 2 && argc <= 5 && strcmp(argv[1], "list") == 0) {
		const char *name = NULL, *from = NULL;
		char *q = NULL, *efrom = NULL;
		int a;

		for (a = 2; a < argc; a++) {
			if (strcmp(argv[a], "--from") == 0 && a + 1 < argc && from == NULL)
				from = argv[++a];
			else if (name == NULL && argv[a][0] != '-' && strlen(argv[a]) <= 64)
				name = argv[a];
			else
				return uh_cli_usage(cli, "%s", usage);
		}
		if (from) {
			if (uh_cli_location(from, path, &err) < 0) {
				uh_err_prefix(&err, "--from");
				return uh_cli_fail(cli, &err);
			}
			efrom = query_escape(path);
		}
		if (asprintf(&q, "/v1/backups%s%s%s%s%s%s", name || from ? "?" : "",
			     name ? "instance=" : "", name ? name : "", name && from ? "&" : "",
			     from ? "from=" : "", from ? efrom : "") < 0)
			abort();
		free(efrom);
		a = uh_client_call(cli, "GET", q, NULL, &resp, &err);
		free(q);
		if (a < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json) {
			uh_cli_print_json(resp);
			return UH_EXIT_OK;
		}
		json_array_foreach(resp, k, b)
			printf("%-20s %12lld  %s\n", uh_cli_str(b, "instance"),
			       (long long)json_integer_value(json_object_get(b, "bytes")),
			       uh_cli_str(b, "archive"));
		json_decref(resp);
		return UH_EXIT_OK;
	}
	return uh_cli_usage(cli, "%s", usage);
}
