/* umlhost: the command-line client. Global options, then one command. */
#include "cli/cli.h"
#include "uh_build.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: umlhost [--socket PATH] [--json] COMMAND ...\n"
	"\n"
	"standalone commands:\n"
	"  version\n"
	"  cow create COW BACKING | cow info COW | cow merge COW OUTPUT [--backing PATH]\n"
	"  mconsole [--uml-dir DIR] [--timeout S] UMID|SOCKET COMMAND...\n"
	"  mconsole --listen NOTIFY_SOCKET [--count N] [--timeout S]\n"
	"\n"
	"daemon commands (socket: --socket, $UMLHOST_SOCKET, or /run/umlhost/umlhost.sock):\n"
	"  template import NAME IMAGE | template list | template rm NAME [--version N]\n"
	"  template build NAME [--suite bookworm] [--packages a,b] [--size 2G] [--mirror URL]\n"
	"  network create NAME --mode routed --pool CIDR [--uplink IFACE]\n"
	"  network create NAME --mode bridge --bridge BRIDGE --pool CIDR [--gateway IP]\n"
	"  network list | network rm NAME\n"
	"  kernel build NAME [--source TARBALL] [--config-fragment FILE] | kernel list |\n"
	"  kernel rm NAME | upgrade --kernel NAME [--all | NAME...] [--parallel N]\n"
	"  create NAME --template T [--memory 128M] [--network NET [--ip ADDR]] [--kernel K]\n"
	"              [--kernel-arg ARG]... [--autostart]\n"
	"              [--restart no|on-failure|always]\n"
	"  disk flatten NAME | disk resize NAME SIZE     (stopped instances)\n"
	"  backup create NAME [--to DIR] | backup list [NAME] | backup verify ARCHIVE\n"
	"  backup restore ARCHIVE [--as NAME] | backup prune NAME --keep N\n"
	"  start|stop|restart|reboot|kill NAME [--timeout SECONDS]\n"
	"  delete NAME [--force] | list | show NAME | stats [NAME]\n"
	"  console NAME | logs NAME [--follow] | events [--follow] [--since ID]\n";

struct command {
	const char *name;
	int (*fn)(struct uh_cli *cli, int argc, char **argv);
};

static int cmd_version(struct uh_cli *cli, int argc, char **argv)
{
	if (cli->json)
		uh_cli_print_json(json_pack("{s:s}", "version", UMLHOST_VERSION));
	else
		printf("umlhost %s\n", UMLHOST_VERSION);
	return UH_EXIT_OK;
}

static const struct command commands[] = {
	{"version", cmd_version},     {"cow", uh_cmd_cow},	   {"mconsole", uh_cmd_mconsole},
	{"template", uh_cmd_template}, {"network", uh_cmd_network}, {"kernel", uh_cmd_kernel},
	{"upgrade", uh_cmd_upgrade}, {"disk", uh_cmd_disk},
	{"backup", uh_cmd_backup}, {"create", uh_cmd_create},   {"start", uh_cmd_lifecycle},
	{"stop", uh_cmd_lifecycle},   {"restart", uh_cmd_lifecycle}, {"reboot", uh_cmd_lifecycle},
	{"kill", uh_cmd_lifecycle},   {"delete", uh_cmd_delete},   {"list", uh_cmd_list},
	{"show", uh_cmd_show},	      {"logs", uh_cmd_logs},	   {"events", uh_cmd_events},
	{"stats", uh_cmd_stats},      {"console", uh_cmd_console},
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"socket", required_argument, NULL, 's'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {NULL, 0, NULL, 0}};
	struct uh_cli cli = {.json = 0, .socket = getenv("UMLHOST_SOCKET")};
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			cli.socket = optarg;
			break;
		case 'j':
			cli.json = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return UH_EXIT_OK;
		case 'V':
			return cmd_version(&cli, 0, NULL);
		default:
			fputs(usage, stderr);
			return UH_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return uh_cli_usage(&cli, "no command given\n%s", usage);
	/* --json is also accepted after the command name, for scripts */
	for (i = (size_t)optind + 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--json") == 0) {
			cli.json = 1;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - (int)i) * sizeof(char *));
			argc--;
			i--;
		}
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].fn(&cli, argc - optind, argv + optind);
	return uh_cli_usage(&cli, "unknown command '%s'\n%s", argv[optind], usage);
}
