/* Network commands: create, list, rm. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const struct option create_opts[] = {{"mode", required_argument, NULL, 'm'},
					    {"pool", required_argument, NULL, 'p'},
					    {"uplink", required_argument, NULL, 'u'},
					    {"bridge", required_argument, NULL, 'b'},
					    {"gateway", required_argument, NULL, 'g'},
					    {"json", no_argument, NULL, 'j'},
					    {NULL, 0, NULL, 0}};
static const struct uh_cli_doc create_docs[] = {
	{"routed|bridge", "routed: a tap per instance, routes and proxy ARP/NDP; bridge: taps on "
			  "a bridge", 1},
	{"CIDR", "the instances' addresses", 1},
	{"IFACE", "routed: the interface the addresses are proxied on", 0},
	{"BRIDGE", "bridge: the bridge the taps join", 0},
	{"IP", "bridge: the instances' gateway", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_network_create = {
	"network create", "NAME", "a network: its mode and address pool", create_opts, create_docs,
	uh_cmd_network};
const struct uh_cli_command uh_cli_cmd_network_list = {
	"network list", "", "the networks and how many instances each has", NULL, NULL,
	uh_cmd_network};
const struct uh_cli_command uh_cli_cmd_network_rm = {
	"network rm", "NAME", "remove a network no instance uses", NULL, NULL, uh_cmd_network};

static int create(struct uh_cli *cli, int argc, char **argv)
{
	static const struct option *const opts = create_opts;
	static const char *const keys[] = {['m'] = "mode", ['p'] = "pool", ['u'] = "uplink",
					   ['b'] = "bridge", ['g'] = "gateway"};
	json_t *body = json_object(), *resp = NULL;
	struct uh_error err;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j') {
			cli->json = 1;
		} else if (c > 0 && c < (int)(sizeof(keys) / sizeof(keys[0])) && keys[c]) {
			json_object_set_new(body, keys[c], json_string(optarg));
		} else {
			json_decref(body);
			return uh_cli_usage_of(cli, &uh_cli_cmd_network_create);
		}
	}
	if (argc - optind != 1) {
		json_decref(body);
		return uh_cli_usage(cli, "network create needs exactly one NAME");
	}
	json_object_set_new(body, "name", json_string(argv[optind]));
	if (uh_client_call(cli, "POST", "/v1/networks", body, &resp, &err) < 0)
		return uh_cli_fail(cli, &err);
	if (cli->json) {
		uh_cli_print_json(resp);
		return UH_EXIT_OK;
	}
	printf("created network %s (%s, pool %s)\n", uh_cli_str(resp, "name"), uh_cli_str(resp, "mode"),
	       uh_cli_str(resp, "pool"));
	json_decref(resp);
	return UH_EXIT_OK;
}

int uh_cmd_network(struct uh_cli *cli, int argc, char **argv)
{
	struct uh_error err;
	json_t *resp = NULL, *n;
	char url[128];
	size_t k;

	if (argc >= 2 && strcmp(argv[1], "create") == 0)
		return create(cli, argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		if (uh_client_call(cli, "GET", "/v1/networks", NULL, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json) {
			uh_cli_print_json(resp);
			return UH_EXIT_OK;
		}
		printf("%-20s %-7s %-20s %-16s %s\n", "NAME", "MODE", "POOL", "VIA", "INSTANCES");
		json_array_foreach(resp, k, n)
			printf("%-20s %-7s %-20s %-16s %lld\n", uh_cli_str(n, "name"), uh_cli_str(n, "mode"),
			       uh_cli_str(n, "pool"),
			       strcmp(uh_cli_str(n, "mode"), "bridge") == 0 ? uh_cli_str(n, "bridge")
								     : uh_cli_str(n, "uplink"),
			       (long long)json_integer_value(json_object_get(n, "instances")));
		json_decref(resp);
		return UH_EXIT_OK;
	}
	if (argc == 3 && strcmp(argv[1], "rm") == 0) {
		if (strlen(argv[2]) > 64)
			return uh_cli_usage(cli, "network name too long");
		snprintf(url, sizeof(url), "/v1/networks/%s", argv[2]);
		if (uh_client_call(cli, "DELETE", url, NULL, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json)
			uh_cli_print_json(resp);
		else {
			printf("removed network %s\n", argv[2]);
			json_decref(resp);
		}
		return UH_EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return uh_cli_usage_of(cli, &uh_cli_cmd_network_list);
	if (argc >= 2 && strcmp(argv[1], "rm") == 0)
		return uh_cli_usage_of(cli, &uh_cli_cmd_network_rm);
	return uh_cli_usage(cli, "unknown network subcommand (umlhost help network)");
}
