/* Template commands: import, list, rm. */
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int uh_cmd_template(struct uh_cli *cli, int argc, char **argv)
{
	static const char usage[] = "usage: umlhost template import NAME IMAGE | "
				    "umlhost template list | umlhost template rm NAME";
	struct uh_error err;
	json_t *resp = NULL, *t;
	char path[PATH_MAX], url[256];
	size_t k;

	if (argc < 2)
		return uh_cli_usage(cli, "%s", usage);
	if (strcmp(argv[1], "import") == 0 && argc == 4) {
		if (realpath(argv[3], path) == NULL) {
			uh_err(&err, errno, "template %s: %s", argv[2], argv[3]);
			return uh_cli_fail(cli, &err);
		}
		if (uh_client_call(cli, "POST", "/v1/templates",
				   json_pack("{s:s, s:s}", "name", argv[2], "image", path), &resp,
				   &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json)
			uh_cli_print_json(resp);
		else {
			printf("imported template %s (%s)\n", argv[2],
			       json_string_value(json_object_get(resp, "path")));
			json_decref(resp);
		}
		return UH_EXIT_OK;
	}
	if (strcmp(argv[1], "list") == 0 && argc == 2) {
		if (uh_client_call(cli, "GET", "/v1/templates", NULL, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json) {
			uh_cli_print_json(resp);
			return UH_EXIT_OK;
		}
		printf("%-32s %12s %s\n", "NAME", "SIZE", "INSTANCES");
		json_array_foreach(resp, k, t) {
			json_t *users = json_object_get(t, "instances"), *u;
			size_t j;

			printf("%-32s %11lldM ", json_string_value(json_object_get(t, "name")),
			       (long long)json_integer_value(json_object_get(t, "size")) >> 20);
			json_array_foreach(users, j, u)
				printf("%s%s", j ? "," : "", json_string_value(u));
			printf("%s\n", json_array_size(users) ? "" : "-");
		}
		json_decref(resp);
		return UH_EXIT_OK;
	}
	if (strcmp(argv[1], "rm") == 0 && argc == 3) {
		if (strlen(argv[2]) > 64)
			return uh_cli_usage(cli, "template name too long");
		snprintf(url, sizeof(url), "/v1/templates/%s", argv[2]);
		if (uh_client_call(cli, "DELETE", url, NULL, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json)
			uh_cli_print_json(resp);
		else {
			printf("removed template %s\n", argv[2]);
			json_decref(resp);
		}
		return UH_EXIT_OK;
	}
	return uh_cli_usage(cli, "%s", usage);
}
