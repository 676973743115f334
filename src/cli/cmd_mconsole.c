/* umlhost mconsole: talk to a UML instance's management console like uml_mconsole, but with
 * a deadline and a filesystem-bound client socket; --listen receives mconsole=notify: messages. */
#include "cli/cli.h"
#include "mconsole/mconsole_client.h"
#include "mconsole/mconsole_notify.h"
#include "util/cleanup.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct option mc_opts[] = {{"uml-dir", required_argument, NULL, 'u'},
					{"timeout", required_argument, NULL, 't'},
					{"listen", required_argument, NULL, 'l'},
					{"count", required_argument, NULL, 'c'},
					{"json", no_argument, NULL, 'j'},
					{"help", no_argument, NULL, 'h'},
					{NULL, 0, NULL, 0}};
static const struct uh_cli_doc mc_docs[] = {
	{"DIR", "where UMID's socket is (UML's uml_dir; default ~/.uml)", 0},
	{"SECONDS", "how long to wait for the answer (default 5)", 0},
	{"NOTIFY_SOCKET", "instead: receive mconsole=notify: messages on this socket", 0},
	{"N", "with --listen: stop after N messages", 0},
	{NULL, NULL, 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_mconsole = {
	"mconsole", "UMID|SOCKET COMMAND...", "a UML management console command (no daemon)",
	mc_opts, mc_docs, uh_cmd_mconsole};

static int listen_notify(struct uh_cli *cli, const char *path, int count, int timeout_ms)
{
	struct uh_mc_listener *l = NULL;
	json_t *arr = json_array();
	struct uh_error err;
	int got = 0, rc = UH_EXIT_OK;

	if (uh_mc_listener_new(path, &l, &err) < 0) {
		json_decref(arr);
		return uh_cli_fail(cli, &err);
	}
	/* tell a waiting script that the socket is bound */
	if (!cli->json) {
		printf("listening %s\n", path);
		fflush(stdout);
	}
	while (count <= 0 || got < count) {
		struct uh_mc_notify msg;
		int r = uh_mc_listener_recv(l, timeout_ms, &msg, &err);

		if (r < 0) {
			rc = uh_cli_fail(cli, &err);
			goto out;
		}
		if (r == 0) {
			if (count > 0) {
				uh_errx(&err, "notify %s: %d of %d messages within %d ms", path,
					got, count, timeout_ms);
				err.errnum = 0;
				rc = uh_cli_fail(cli, &err);
			}
			goto out;
		}
		got++;
		if (cli->json)
			json_array_append_new(arr, json_pack("{s:s, s:s}", "type",
							     uh_mc_notify_type_name(msg.type),
							     "data", msg.data));
		else {
			printf("%s %s\n", uh_mc_notify_type_name(msg.type), msg.data);
			fflush(stdout);
		}
	}
out:
	if (cli->json && rc == UH_EXIT_OK)
		uh_cli_print_json(json_incref(arr));
	json_decref(arr);
	uh_mc_listener_free(l);
	return rc;
}

int uh_cmd_mconsole(struct uh_cli *cli, int argc, char **argv)
{
	static const struct option *const opts = mc_opts;
	const char *uml_dir = NULL, *listen_path = NULL;
	uh_autofree char *sock = NULL, *cmd = NULL;
	struct uh_mc_client *client = NULL;
	struct uh_mc_result res;
	struct uh_error err;
	int timeout_ms = 5000, count = 0, c, i;
	size_t len = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			uml_dir = optarg;
			break;
		case 't':
			if (uh_cli_parse_seconds(optarg, &timeout_ms) < 0)
				return uh_cli_usage(cli, "invalid --timeout '%s'", optarg);
			break;
		case 'l':
			listen_path = optarg;
			break;
		case 'c':
			count = atoi(optarg);
			break;
		case 'j':
			cli->json = 1;
			break;
		case 'h':
			uh_cli_print_help(&uh_cli_cmd_mconsole, stdout);
			return UH_EXIT_OK;
		default:
			return uh_cli_usage_of(cli, &uh_cli_cmd_mconsole);
		}
	}
	if (listen_path != NULL) {
		if (optind != argc)
			return uh_cli_usage(cli, "--listen takes no command");
		return listen_notify(cli, listen_path, count, timeout_ms);
	}
	if (argc - optind < 2)
		return uh_cli_usage_of(cli, &uh_cli_cmd_mconsole);

	/* A name with a slash is a socket path; anything else is a umid, like uml_mconsole. */
	if (strchr(argv[optind], '/') != NULL) {
		sock = strdup(argv[optind]);
		if (sock == NULL)
			abort();
	} else if (uh_mc_umid_socket(uml_dir, argv[optind], &sock, &err) < 0) {
		return uh_cli_fail(cli, &err);
	}
	for (i = optind + 1; i < argc; i++)
		len += strlen(argv[i]) + 1;
	cmd = calloc(1, len + 1);
	if (cmd == NULL)
		abort();
	for (i = optind + 1; i < argc; i++) {
		if (i > optind + 1)
			strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}

	if (uh_mc_client_new(sock, NULL, &client, &err) < 0)
		return uh_cli_fail(cli, &err);
	if (uh_mc_command(client, cmd, timeout_ms, &res, &err) < 0) {
		uh_mc_client_free(client);
		return uh_cli_fail(cli, &err);
	}
	uh_mc_client_free(client);
	if (cli->json)
		uh_cli_print_json(json_pack("{s:b, s:s}", "ok", !res.err, "reply", res.text));
	else
		printf("%s %s\n", res.err ? "ERR" : "OK", res.text);
	c = res.err ? UH_EXIT_FAIL : UH_EXIT_OK;
	uh_mc_result_clear(&res);
	return c;
}
