/* Template commands: import, build (with the build's progress), list, rm. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct option build_opts[] = {{"suite", required_argument, NULL, 's'},
					   {"packages", required_argument, NULL, 'p'},
					   {"size", required_argument, NULL, 'z'},
					   {"mirror", required_argument, NULL, 'm'},
					   {"json", no_argument, NULL, 'j'},
					   {NULL, 0, NULL, 0}};
static const struct uh_cli_doc build_docs[] = {
	{"SUITE", "Debian suite (default bookworm)", 0},
	{"A,B", "extra packages", 0},
	{"SIZE", "the image's size (default 2G)", 0},
	{"URL", "the Debian mirror (http(s):// or file:/)", 0},
	{NULL, NULL, 0},
};
static const struct option rm_opts[] = {{"version", required_argument, NULL, 'v'},
					{"force", no_argument, NULL, 'F'},
					{"json", no_argument, NULL, 'j'},
					{NULL, 0, NULL, 0}};
static const struct uh_cli_doc rm_docs[] = {
	{"N", "only this version (default: all of them)", 0},
	{NULL, "also when backups were made over it (they cannot be restored then)", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_template_import = {
	"template import", "NAME IMAGE [--new-version]",
	"copy an ext4 image in as a template (--new-version: the next version of one)",
	NULL, NULL, uh_cmd_template};
const struct uh_cli_command uh_cli_cmd_template_build = {
	"template build", "NAME", "build a Debian template (mmdebstrap, cloud-init), with progress",
	build_opts, build_docs, uh_cmd_template};
const struct uh_cli_command uh_cli_cmd_template_list = {
	"template list", "", "templates, versions and the instances over them", NULL, NULL,
	uh_cmd_template};
const struct uh_cli_command uh_cli_cmd_template_rm = {
	"template rm", "NAME", "remove a template (no instance may use it)", rm_opts, rm_docs,
	uh_cmd_template};

static int build(struct uh_cli *cli, int argc, char **argv)
{
	static const struct option *const opts = build_opts;
	json_t *body = json_object(), *resp = NULL;
	struct uh_error err;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *key = c == 's' ? "suite" : c == 'p' ? "packages" : c == 'z' ? "size"
				  : c == 'm' ? "mirror" : NULL;

		if (c == 'j') {
			cli->json = 1;
		} else if (key) {
			json_object_set_new(body, key, json_string(optarg));
		} else {
			json_decref(body);
			return uh_cli_usage_of(cli, &uh_cli_cmd_template_build);
		}
	}
	if (argc - optind != 1) {
		json_decref(body);
		return uh_cli_usage(cli, "template build needs exactly one NAME");
	}
	json_object_set_new(body, "name", json_string(argv[optind]));
	if (uh_client_call(cli, "POST", "/v1/templates/build", body, &resp, &err) < 0)
		return uh_cli_fail(cli, &err);
	json_decref(resp);
	if (uh_cli_follow_build(cli, "/v1/templates", argv[optind], &resp, &err) < 0)
		return uh_cli_fail(cli, &err);
	if (cli->json) {
		uh_cli_print_json(resp);
		return UH_EXIT_OK;
	}
	printf("built template %s version %lld (%s)\n", uh_cli_str(resp, "name"),
	       (long long)json_integer_value(json_object_get(resp, "version")), uh_cli_str(resp, "path"));
	json_decref(resp);
	return UH_EXIT_OK;
}

int uh_cmd_template(struct uh_cli *cli, int argc, char **argv)
{
	struct uh_error err;
	json_t *resp = NULL, *t;
	char path[PATH_MAX], url[256];
	size_t k;

	if (argc < 2)
		return uh_cli_usage_of(cli, &uh_cli_cmd_template_list);
	if (strcmp(argv[1], "build") == 0)
		return build(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0 &&
	    (argc == 4 || (argc == 5 && strcmp(argv[4], "--new-version") == 0))) {
		if (realpath(argv[3], path) == NULL) {
			uh_err(&err, errno, "template %s: %s", argv[2], argv[3]);
			return uh_cli_fail(cli, &err);
		}
		if (uh_client_call(cli, "POST", "/v1/templates",
				   json_pack("{s:s, s:s, s:b}", "name", argv[2], "image", path,
					     "new_version", argc == 5),
				   &resp,
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
		printf("%-32s %7s %-9s %12s %s\n", "NAME", "VERSION", "STATUS", "SIZE", "INSTANCES");
		json_array_foreach(resp, k, t) {
			json_t *users = json_object_get(t, "instances"), *u;
			char ver[16] = "-";
			size_t j;

			if (json_is_integer(json_object_get(t, "version")))
				snprintf(ver, sizeof(ver), "%lld%s",
					 (long long)json_integer_value(json_object_get(t, "version")),
					 json_is_true(json_object_get(t, "newest")) ? "*" : "");
			printf("%-32s %7s %-9s %11lldM ", uh_cli_str(t, "name"), ver, uh_cli_str(t, "status"),
			       (long long)json_integer_value(json_object_get(t, "size")) >> 20);
			json_array_foreach(users, j, u)
				printf("%s%s", j ? "," : "", json_string_value(u));
			printf("%s\n", json_array_size(users) ? "" : "-");
		}
		json_decref(resp);
		return UH_EXIT_OK;
	}
	if (strcmp(argv[1], "rm") == 0) {
		const char *val[3] = {NULL, NULL, NULL};
		char *pos[1];
		long v = 0;
		int force;

		if (uh_cli_getopt(cli, &uh_cli_cmd_template_rm, "", argc - 1, argv + 1, val, pos,
				  1) != 1 ||
		    strlen(pos[0]) > 64 ||
		    (val[0] && (uh_cli_parse_long(val[0], &v) < 0 || v < 1)))
			return uh_cli_usage_of(cli, &uh_cli_cmd_template_rm);
		force = val[1] != NULL;
		argv[2] = pos[0];
		snprintf(url, sizeof(url), "/v1/templates/%s?version=%ld%s", argv[2], v,
			 force ? "&force=1" : "");
		if (uh_client_call(cli, "DELETE", url, NULL, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json)
			uh_cli_print_json(resp);
		else {
			if (v)
				printf("removed template %s version %ld\n", argv[2], v);
			else
				printf("removed template %s\n", argv[2]);
			json_decref(resp);
		}
		return UH_EXIT_OK;
	}
	if (strcmp(argv[1], "import") == 0)
		return uh_cli_usage_of(cli, &uh_cli_cmd_template_import);
	if (strcmp(argv[1], "list") == 0)
		return uh_cli_usage_of(cli, &uh_cli_cmd_template_list);
	return uh_cli_usage(cli, "unknown template subcommand '%s' (umlhost help template)",
			    argv[1]);
}
