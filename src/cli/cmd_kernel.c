/* Kernel commands: build (with the build's progress), list, rm; and the rolling upgrade. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct option build_opts[] = {{"source", required_argument, NULL, 's'},
					   {"config-fragment", required_argument, NULL, 'f'},
					   {"json", no_argument, NULL, 'j'},
					   {NULL, 0, NULL, 0}};
static const struct uh_cli_doc build_docs[] = {
	{"TARBALL", "Debian's kernel source (default /usr/src/linux-source-6.1.tar.xz)", 0},
	{"FILE", "the config fragment (default the installed hosting.config)", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_kernel_build = {
	"kernel build", "NAME", "build a hosting kernel (sandboxed), with progress", build_opts,
	build_docs, uh_cmd_kernel};
const struct uh_cli_command uh_cli_cmd_kernel_list = {
	"kernel list", "", "kernels: usable on this CPU, default, instances", NULL, NULL,
	uh_cmd_kernel};
const struct uh_cli_command uh_cli_cmd_kernel_rm = {
	"kernel rm", "NAME", "remove a built kernel no instance uses", NULL, NULL, uh_cmd_kernel};
static const struct option upgrade_opts[] = {{"kernel", required_argument, NULL, 'k'},
					     {"all", no_argument, NULL, 'a'},
					     {"parallel", required_argument, NULL, 'p'},
					     {"json", no_argument, NULL, 'j'},
					     {NULL, 0, NULL, 0}};
static const struct uh_cli_doc upgrade_docs[] = {
	{"NAME", "the kernel to move to", 1},
	{NULL, "every instance (else the NAMEs given)", 0},
	{"N", "how many at a time (default 1)", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_upgrade = {
	"upgrade", "[NAME...]", "move instances to a kernel, rolling back at the first failure",
	upgrade_opts, upgrade_docs, uh_cmd_upgrade};

int uh_cli_follow_build(struct uh_cli *cli, const char *collection, const char *name,
			json_t **final, struct uh_error *err)
{
	char path[256];
	long long offset = 0;
	FILE *progress = cli->json ? stderr : stdout;

	for (;;) {
		json_t *k = NULL;
		char *text = NULL;
		size_t len = 0;
		const char *status;

		snprintf(path, sizeof(path), "%s/%s/log?offset=%lld", collection, name, offset);
		if (uh_client_call_raw(cli, path, &text, &len, err) == 0) {
			fwrite(text, 1, len, progress);
			fflush(progress);
			offset += (long long)len;
		}
		free(text);
		snprintf(path, sizeof(path), "%s/%s", collection, name);
		if (uh_client_call(cli, "GET", path, NULL, &k, err) < 0)
			return -1;
		status = uh_cli_str(k, "status");
		if (strcmp(status, "building") != 0) {
			/* the last bytes of the log, then the verdict */
			snprintf(path, sizeof(path), "%s/%s/log?offset=%lld", collection, name,
				 offset);
			if (uh_client_call_raw(cli, path, &text, &len, err) == 0)
				fwrite(text, 1, len, progress);
			free(text);
			if (strcmp(status, "failed") == 0) {
				uh_errx(err, "%s: build failed: %s", name, uh_cli_str(k, "error"));
				json_decref(k);
				return -1;
			}
			*final = k;
			return 0;
		}
		json_decref(k);
		usleep(500 * 1000);
	}
}

static int build(struct uh_cli *cli, int argc, char **argv)
{
	static const struct option *const opts = build_opts;
	json_t *body = json_object(), *resp = NULL;
	struct uh_error err;
	char abs[PATH_MAX];
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j') {
			cli->json = 1;
		} else if (c == 's' || c == 'f') {
			if (realpath(optarg, abs) == NULL) {
				uh_err(&err, errno, "%s %s", c == 's' ? "--source" : "--config-fragment",
				       optarg);
				json_decref(body);
				return uh_cli_fail(cli, &err);
			}
			json_object_set_new(body, c == 's' ? "source" : "fragment", json_string(abs));
		} else {
			json_decref(body);
			return uh_cli_usage_of(cli, &uh_cli_cmd_kernel_build);
		}
	}
	if (argc - optind != 1) {
		json_decref(body);
		return uh_cli_usage(cli, "kernel build needs exactly one NAME");
	}
	json_object_set_new(body, "name", json_string(argv[optind]));
	if (uh_client_call(cli, "POST", "/v1/kernels", body, &resp, &err) < 0)
		return uh_cli_fail(cli, &err);
	json_decref(resp);
	if (uh_cli_follow_build(cli, "/v1/kernels", argv[optind], &resp, &err) < 0)
		return uh_cli_fail(cli, &err);
	if (cli->json) {
		uh_cli_print_json(resp);
		return UH_EXIT_OK;
	}
	printf("built kernel %s (%s, %s)\n", uh_cli_str(resp, "name"), uh_cli_str(resp, "release"),
	       uh_cli_str(resp, "path"));
	json_decref(resp);
	return UH_EXIT_OK;
}

int uh_cmd_kernel(struct uh_cli *cli, int argc, char **argv)
{
	struct uh_error err;
	json_t *resp = NULL, *k;
	char url[128];
	size_t i;

	if (argc >= 2 && strcmp(argv[1], "build") == 0)
		return build(cli, argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		if (uh_client_call(cli, "GET", "/v1/kernels", NULL, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json) {
			uh_cli_print_json(resp);
			return UH_EXIT_OK;
		}
		printf("%-16s %-9s %-7s %-8s %-28s %s\n", "NAME", "STATUS", "USABLE", "DEFAULT",
		       "SOURCE", "INSTANCES");
		json_array_foreach(resp, i, k) {
			json_t *users = json_object_get(k, "instances"), *u;
			json_t *usable = json_object_get(k, "usable");
			size_t j;

			/* usable: can it run on this CPU (null: the daemon could not measure) */
			printf("%-16s %-9s %-7s %-8s %-28s ", uh_cli_str(k, "name"),
			       uh_cli_str(k, "status"),
			       json_is_true(usable)	? "yes"
			       : json_is_false(usable) ? "no"
						       : "?",
			       json_is_true(json_object_get(k, "default")) ? "yes" : "",
			       uh_cli_str(k, "source"));
			json_array_foreach(users, j, u)
				printf("%s%s", j ? "," : "", json_string_value(u));
			printf("%s\n", json_array_size(users) ? "" : "-");
		}
		json_decref(resp);
		return UH_EXIT_OK;
	}
	if (argc == 3 && strcmp(argv[1], "rm") == 0) {
		if (strlen(argv[2]) > 64)
			return uh_cli_usage(cli, "kernel name too long");
		snprintf(url, sizeof(url), "/v1/kernels/%s", argv[2]);
		if (uh_client_call(cli, "DELETE", url, NULL, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json)
			uh_cli_print_json(resp);
		else {
			printf("removed kernel %s\n", argv[2]);
			json_decref(resp);
		}
		return UH_EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return uh_cli_usage_of(cli, &uh_cli_cmd_kernel_list);
	if (argc >= 2 && strcmp(argv[1], "rm") == 0)
		return uh_cli_usage_of(cli, &uh_cli_cmd_kernel_rm);
	return uh_cli_usage(cli, "unknown kernel subcommand (umlhost help kernel)");
}

static void print_names(const char *label, json_t *a)
{
	json_t *v;
	size_t i;

	if (json_array_size(a) == 0)
		return;
	printf("%s:", label);
	json_array_foreach(a, i, v)
		printf(" %s", json_string_value(v));
	printf("\n");
}

int uh_cmd_upgrade(struct uh_cli *cli, int argc, char **argv)
{
	static const struct option *const opts = upgrade_opts;
	json_t *body = json_object(), *names = json_array(), *resp = NULL, *failed;
	struct uh_error err;
	long v;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			json_object_set_new(body, "kernel", json_string(optarg));
			break;
		case 'a':
			json_object_set_new(body, "all", json_true());
			break;
		case 'p':
			if (uh_cli_parse_long(optarg, &v) < 0) {
				json_decref(body);
				json_decref(names);
				return uh_cli_usage(cli, "invalid --parallel '%s'", optarg);
			}
			json_object_set_new(body, "parallel", json_integer(v));
			break;
		case 'j':
			cli->json = 1;
			break;
		default:
			json_decref(body);
			json_decref(names);
			return uh_cli_usage_of(cli, &uh_cli_cmd_upgrade);
		}
	}
	for (; optind < argc; optind++)
		json_array_append_new(names, json_string(argv[optind]));
	json_object_set_new(body, "instances", names);
	if (uh_client_call(cli, "POST", "/v1/upgrade", body, &resp, &err) < 0)
		return uh_cli_fail(cli, &err);
	failed = json_object_get(resp, "failed");
	if (cli->json) {
		if (json_is_object(failed)) {
			uh_cli_print_json(json_pack("{s:s, s:s, s:O}", "error", uh_cli_str(failed, "error"),
						    "code", "upgrade_failed", "report", resp));
			json_decref(resp);
			return UH_EXIT_FAIL;
		}
		uh_cli_print_json(resp);
		return UH_EXIT_OK;
	}
	print_names("upgraded (restarted on the new kernel)", json_object_get(resp, "upgraded"));
	print_names("switched (stopped; new kernel at next start)",
		    json_object_get(resp, "switched"));
	print_names("not attempted", json_object_get(resp, "skipped"));
	if (json_is_object(failed)) {
		fprintf(stderr, "umlhost: upgrade stopped: %s: %s; rolled back to kernel %s (%s)\n",
			uh_cli_str(failed, "instance"), uh_cli_str(failed, "error"), uh_cli_str(failed, "rolled_back_to"),
			json_is_true(json_object_get(failed, "running_again")) ? "running again"
									       : "not running");
		json_decref(resp);
		return UH_EXIT_FAIL;
	}
	printf("upgrade to kernel %s done\n", uh_cli_str(resp, "kernel"));
	json_decref(resp);
	return UH_EXIT_OK;
}
