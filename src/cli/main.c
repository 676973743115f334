/* umlhost: the command-line client. Global options, then one command. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A group word alone or with an unknown subcommand ("template", "template frob"). */
static int unknown(struct uh_cli *cli, const char *word)
{
	size_t i, l = strlen(word);

	for (i = 0; i < uh_cli_n_commands; i++)
		if (strncmp(uh_cli_commands[i]->name, word, l) == 0 &&
		    uh_cli_commands[i]->name[l] == ' ') {
			fprintf(stderr, "umlhost %s: which one?\n", word);
			for (; i < uh_cli_n_commands; i++)
				if (strncmp(uh_cli_commands[i]->name, word, l) == 0 &&
				    uh_cli_commands[i]->name[l] == ' ') {
					char syn[1024];

					uh_cli_synopsis(uh_cli_commands[i], syn, sizeof(syn));
					fprintf(stderr, "  %s\n", syn + strlen("usage: "));
				}
			return uh_cli_usage(cli, "%s needs a subcommand", word);
		}
	return uh_cli_usage(cli, "unknown command '%s' (umlhost help lists them)", word);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"socket", required_argument, NULL, 's'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {NULL, 0, NULL, 0}};
	struct uh_cli cli = {.json = 0, .socket = getenv("UMLHOST_SOCKET")};
	const struct uh_cli_command *cmd;
	size_t i;
	int c, words;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			cli.socket = optarg;
			break;
		case 'j':
			cli.json = 1;
			break;
		case 'h':
			uh_cli_print_usage(stdout);
			return UH_EXIT_OK;
		case 'V':
			return uh_cli_cmd_version.fn(&cli, 0, NULL);
		default:
			uh_cli_print_usage(stderr);
			return UH_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		uh_cli_print_usage(stderr);
		return uh_cli_usage(&cli, "no command given");
	}
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
	cmd = uh_cli_command_find(argc - optind, argv + optind, &words);
	if (cmd == NULL)
		return unknown(&cli, argv[optind]);
	/* COMMAND --help: from the table (mconsole's words after UMID are its command's) */
	for (i = (size_t)(optind + words); cmd->fn != uh_cmd_mconsole && i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			uh_cli_print_help(cmd, stdout);
			return UH_EXIT_OK;
		}
	}
	return cmd->fn(&cli, argc - optind, argv + optind);
}
