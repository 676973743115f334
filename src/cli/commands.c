/* The CLI's command table: every command with its positional arguments, a summary and its
 * options (the array its parser gives getopt_long, each with its argument's name and help),
 * and what is printed from it: the global usage, `umlhost help COMMAND`, `COMMAND --help`
 * and the synopsis of a usage error. */
#include "cli/cli.h"
#include "uh_build.h"

#include <string.h>

static int cmd_version(struct uh_cli *cli, int argc, char **argv)
{
	if (cli->json)
		uh_cli_print_json(json_pack("{s:s}", "version", UMLHOST_VERSION));
	else
		printf("umlhost %s\n", UMLHOST_VERSION);
	return UH_EXIT_OK;
}

const struct uh_cli_command uh_cli_cmd_version = {"version", "", "this client's version", NULL,
						  NULL, cmd_version};


const struct uh_cli_command *const uh_cli_commands[] = {
	&uh_cli_cmd_create,	  &uh_cli_cmd_start,	      &uh_cli_cmd_stop,
	&uh_cli_cmd_restart,	  &uh_cli_cmd_reboot,	      &uh_cli_cmd_kill,
	&uh_cli_cmd_delete,	  &uh_cli_cmd_list,	      &uh_cli_cmd_show,
	&uh_cli_cmd_stats,	  &uh_cli_cmd_console,	      &uh_cli_cmd_logs,
	&uh_cli_cmd_events,	  &uh_cli_cmd_disk_flatten,   &uh_cli_cmd_disk_resize,
	&uh_cli_cmd_backup_create, &uh_cli_cmd_backup_list,   &uh_cli_cmd_backup_verify,
	&uh_cli_cmd_backup_restore, &uh_cli_cmd_backup_prune, &uh_cli_cmd_template_import,
	&uh_cli_cmd_template_build, &uh_cli_cmd_template_list, &uh_cli_cmd_template_rm,
	&uh_cli_cmd_network_create, &uh_cli_cmd_network_list, &uh_cli_cmd_network_rm,
	&uh_cli_cmd_customer_create, &uh_cli_cmd_customer_list, &uh_cli_cmd_customer_rm,
	&uh_cli_cmd_chown,	  &uh_cli_cmd_token_create,  &uh_cli_cmd_token_list,
	&uh_cli_cmd_token_revoke, &uh_cli_cmd_top,	      &uh_cli_cmd_plan,
	&uh_cli_cmd_apply,
	&uh_cli_cmd_export,
	&uh_cli_cmd_kernel_build, &uh_cli_cmd_kernel_list,    &uh_cli_cmd_kernel_rm,
	&uh_cli_cmd_upgrade,	  &uh_cli_cmd_cow_create,     &uh_cli_cmd_cow_info,
	&uh_cli_cmd_cow_merge,	  &uh_cli_cmd_mconsole,	      &uh_cli_cmd_version,
	&uh_cli_cmd_help,
};
const size_t uh_cli_n_commands = sizeof(uh_cli_commands) / sizeof(uh_cli_commands[0]);

const struct uh_cli_command *uh_cli_command_find(int argc, char **argv, int *words)
{
	size_t i;

	/* two words first: "template build" before a one-word command of that name */
	for (i = 0; argc >= 2 && i < uh_cli_n_commands; i++) {
		const char *n = uh_cli_commands[i]->name, *sp = strchr(n, ' ');

		if (sp && strncmp(n, argv[0], (size_t)(sp - n)) == 0 &&
		    argv[0][sp - n] == '\0' && strcmp(sp + 1, argv[1]) == 0) {
			*words = 2;
			return uh_cli_commands[i];
		}
	}
	for (i = 0; argc >= 1 && i < uh_cli_n_commands; i++)
		if (strcmp(uh_cli_commands[i]->name, argv[0]) == 0) {
			*words = 1;
			return uh_cli_commands[i];
		}
	return NULL;
}

static size_t n_opts(const struct uh_cli_command *c)
{
	size_t n = 0;

	while (c->opts && c->opts[n].name)
		n++;
	return n;
}

void uh_cli_synopsis(const struct uh_cli_command *c, char *buf, size_t len)
{
	size_t i, used;

	snprintf(buf, len, "usage: umlhost %s%s%s", c->name, c->args[0] ? " " : "", c->args);
	for (i = 0; i < n_opts(c); i++) {
		const struct uh_cli_doc *d = &c->docs[i];

		if (d->help == NULL)
			continue;
		used = strlen(buf);
		snprintf(buf + used, len - used, " %s--%s%s%s%s", d->required ? "" : "[",
			 c->opts[i].name, d->arg ? " " : "", d->arg ? d->arg : "",
			 d->required ? "" : "]");
	}
}

void uh_cli_print_help(const struct uh_cli_command *c, FILE *f)
{
	char syn[1024];
	size_t i;

	uh_cli_synopsis(c, syn, sizeof(syn));
	fprintf(f, "%s\n\n%s\n", syn, c->summary);
	if (n_opts(c))
		fputc('\n', f);
	for (i = 0; i < n_opts(c); i++) {
		const struct uh_cli_doc *d = &c->docs[i];
		char left[64];

		if (d->help == NULL)
			continue;
		snprintf(left, sizeof(left), "--%s%s%s", c->opts[i].name, d->arg ? " " : "",
			 d->arg ? d->arg : "");
		fprintf(f, "  %-26s %s\n", left, d->help);
	}
}

void uh_cli_print_usage(FILE *f)
{
	size_t i;

	fputs("usage: umlhost [--socket PATH] [--json] COMMAND ...\n"
	      "(the daemon's socket: --socket, $UMLHOST_SOCKET, or /run/umlhost/umlhost.sock;\n"
	      " `umlhost help COMMAND` or `umlhost COMMAND --help` for a command's options)\n\n",
	      f);
	for (i = 0; i < uh_cli_n_commands; i++) {
		const struct uh_cli_command *c = uh_cli_commands[i];
		char left[64];

		snprintf(left, sizeof(left), "%s%s%s", c->name, c->args[0] ? " " : "", c->args);
		fprintf(f, "  %-34s %s\n", left, c->summary);
	}
}

int uh_cli_getopt(struct uh_cli *cli, const struct uh_cli_command *c, const char *shortopts,
		  int argc, char **argv, const char *val[], char **pos, int max_pos)
{
	int ch, i, n = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, shortopts, c->opts, NULL)) != -1) {
		/* long or short, an option is known by its val */
		for (i = 0; c->opts && c->opts[i].name && c->opts[i].val != ch; i++)
			;
		if (ch == '?' || ch == ':' || c->opts == NULL || c->opts[i].name == NULL)
			return -1;
		if (ch == 'j')
			cli->json = 1;
		else
			val[i] = optarg ? optarg : "";
	}
	for (; optind < argc; optind++) {
		if (n == max_pos)
			return -1;
		pos[n++] = argv[optind];
	}
	return n;
}

int uh_cli_usage_of(const struct uh_cli *cli, const struct uh_cli_command *c)
{
	char syn[1024];

	uh_cli_synopsis(c, syn, sizeof(syn));
	return uh_cli_usage(cli, "%s", syn);
}

/* umlhost help [COMMAND [SUBCOMMAND]] */
static int cmd_help(struct uh_cli *cli, int argc, char **argv)
{
	const struct uh_cli_command *c;
	int words;

	if (argc == 1) {
		uh_cli_print_usage(stdout);
		return UH_EXIT_OK;
	}
	c = uh_cli_command_find(argc - 1, argv + 1, &words);
	if (c == NULL || words != argc - 1) {
		/* a group name alone ("template"): its commands */
		size_t i, n = 0;

		for (i = 0; argc == 2 && i < uh_cli_n_commands; i++) {
			const char *name = uh_cli_commands[i]->name;
			size_t l = strlen(argv[1]);

			if (strncmp(name, argv[1], l) == 0 && name[l] == ' ') {
				uh_cli_print_help(uh_cli_commands[i], stdout);
				fputc('\n', stdout);
				n++;
			}
		}
		if (n)
			return UH_EXIT_OK;
		return uh_cli_usage(cli, "help: no command '%s' (umlhost help lists them)", argv[1]);
	}
	uh_cli_print_help(c, stdout);
	return UH_EXIT_OK;
}

const struct uh_cli_command uh_cli_cmd_help = {"help", "[COMMAND [SUBCOMMAND]]",
					       "this list, or a command's options", NULL, NULL,
					       cmd_help};
