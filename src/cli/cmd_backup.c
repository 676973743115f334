/* Backup commands: create, list, verify, restore, prune. An archive or a target is a local
 * path (made absolute here: the daemon has another working directory) or an sftp:// URL,
 * passed on as it is. */
#include "backup/target.h"
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct option create_opts[] = {{"to", required_argument, NULL, 't'},
					    {"json", no_argument, NULL, 'j'},
					    {NULL, 0, NULL, 0}};
static const struct uh_cli_doc create_docs[] = {
	{"DIR|URL", "a directory or sftp://[USER@]HOST[:PORT]/DIR (default <state>/backups/NAME)",
	 0},
	{NULL, NULL, 0},
};
static const struct option from_opts[] = {{"from", required_argument, NULL, 'f'},
					  {"json", no_argument, NULL, 'j'},
					  {NULL, 0, NULL, 0}};
static const struct uh_cli_doc from_docs[] = {
	{"DIR|URL", "the archives in a directory or on an SFTP server", 0},
	{NULL, NULL, 0},
};
static const struct option restore_opts[] = {{"as", required_argument, NULL, 'a'},
					     {"json", no_argument, NULL, 'j'},
					     {NULL, 0, NULL, 0}};
static const struct uh_cli_doc restore_docs[] = {
	{"NAME", "restore under another name", 0},
	{NULL, NULL, 0},
};
static const struct option prune_opts[] = {{"keep", required_argument, NULL, 'k'},
					   {"from", required_argument, NULL, 'f'},
					   {"json", no_argument, NULL, 'j'},
					   {NULL, 0, NULL, 0}};
static const struct uh_cli_doc prune_docs[] = {
	{"N", "keep the newest N of the instance's archives", 1},
	{"DIR|URL", "where (default the instance's backup directory)", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_backup_create = {
	"backup create", "NAME", "an online backup (freeze for milliseconds, then archive)",
	create_opts, create_docs, uh_cmd_backup};
const struct uh_cli_command uh_cli_cmd_backup_list = {
	"backup list", "[NAME]", "recorded archives, or those in a directory or on a server",
	from_opts, from_docs, uh_cmd_backup};
const struct uh_cli_command uh_cli_cmd_backup_verify = {
	"backup verify", "ARCHIVE", "check an archive's manifest and every digest", NULL, NULL,
	uh_cmd_backup};
const struct uh_cli_command uh_cli_cmd_backup_restore = {
	"backup restore", "ARCHIVE", "verify, then restore as a stopped instance", restore_opts,
	restore_docs, uh_cmd_backup};
const struct uh_cli_command uh_cli_cmd_backup_prune = {
	"backup prune", "NAME", "keep the newest archives, remove the older ones", prune_opts,
	prune_docs, uh_cmd_backup};

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

	const char *val[4] = {NULL, NULL, NULL, NULL};
	char *pos[1] = {NULL};

	if (argc < 2)
		return uh_cli_usage(cli, "backup needs a subcommand (umlhost help backup)");
	if (strcmp(argv[1], "create") == 0) {
		json_t *body;

		if (uh_cli_getopt(cli, &uh_cli_cmd_backup_create, "", argc - 1, argv + 1, val, pos, 1) != 1 ||
		    strlen(pos[0]) > 64)
			return uh_cli_usage_of(cli, &uh_cli_cmd_backup_create);
		body = json_object();
		if (val[0]) {
			if (uh_cli_location(val[0], path, &err) < 0) {
				json_decref(body);
				uh_err_prefix(&err, "--to");
				return uh_cli_fail(cli, &err);
			}
			json_object_set_new(body, "to", json_string(path));
		}
		snprintf(url, sizeof(url), "/v1/instances/%s/backup", pos[0]);
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
	if (strcmp(argv[1], "verify") == 0) {
		if (uh_cli_getopt(cli, &uh_cli_cmd_backup_verify, "", argc - 1, argv + 1, val, pos, 1) != 1)
			return uh_cli_usage_of(cli, &uh_cli_cmd_backup_verify);
		if (uh_cli_location(pos[0], path, &err) < 0) {
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
	if (strcmp(argv[1], "restore") == 0) {
		json_t *body;

		if (uh_cli_getopt(cli, &uh_cli_cmd_backup_restore, "", argc - 1, argv + 1, val, pos, 1) != 1)
			return uh_cli_usage_of(cli, &uh_cli_cmd_backup_restore);
		if (uh_cli_location(pos[0], path, &err) < 0) {
			uh_err_prefix(&err, "backup restore");
			return uh_cli_fail(cli, &err);
		}
		body = json_pack("{s:s}", "archive", path);
		if (val[0])
			json_object_set_new(body, "as", json_string(val[0]));
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
	if (strcmp(argv[1], "prune") == 0) {
		long keep;
		json_t *body;

		if (uh_cli_getopt(cli, &uh_cli_cmd_backup_prune, "", argc - 1, argv + 1, val, pos, 1) != 1 ||
		    val[0] == NULL || uh_cli_parse_long(val[0], &keep) < 0 || keep < 1 ||
		    strlen(pos[0]) > 64)
			return uh_cli_usage_of(cli, &uh_cli_cmd_backup_prune);
		body = json_pack("{s:s, s:i}", "instance", pos[0], "keep", (int)keep);
		if (val[1]) {
			if (uh_cli_location(val[1], path, &err) < 0) {
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
	if (strcmp(argv[1], "list") == 0) {
		const char *name = NULL, *from = NULL;
		char *q = NULL, *efrom = NULL;
		int a = uh_cli_getopt(cli, &uh_cli_cmd_backup_list, "", argc - 1, argv + 1, val, pos, 1);

		if (a < 0 || (a == 1 && strlen(pos[0]) > 64))
			return uh_cli_usage_of(cli, &uh_cli_cmd_backup_list);
		name = a == 1 ? pos[0] : NULL;
		from = val[0];
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
	return uh_cli_usage(cli, "unknown backup subcommand '%s' (umlhost help backup)", argv[1]);
}
