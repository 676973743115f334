/* Unit tests of the CLI's command table (cli/commands.c): every command has its arguments, a
 * summary and a handler, each option of its parser's array has its help line (flags without
 * an argument name, options with one), a command's name finds that command, and its synopsis
 * and help name every documented option; the global usage lists every command. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

static char *help_of(const struct uh_cli_command *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	uh_cli_print_help(c, f);
	fclose(f);
	return buf;
}

static void test_every_command(void **state)
{
	size_t i, k;

	assert_true(uh_cli_n_commands >= 30);
	for (i = 0; i < uh_cli_n_commands; i++) {
		const struct uh_cli_command *c = uh_cli_commands[i], *found;
		char *words[2], name[64], syn[1024], *sp, *help;
		int n;

		assert_non_null(c->name);
		assert_non_null(c->args);
		assert_non_null(c->fn);
		if (c->summary == NULL || c->summary[0] == '\0')
			fail_msg("%s has no summary", c->name);
		/* the name finds this very command */
		snprintf(name, sizeof(name), "%s", c->name);
		words[0] = name;
		sp = strchr(name, ' ');
		if (sp) {
			*sp = '\0';
			words[1] = sp + 1;
		}
		found = uh_cli_command_find(sp ? 2 : 1, words, &n);
		assert_ptr_equal(found, c);
		assert_int_equal(n, sp ? 2 : 1);
		/* options: each with its doc, consistent with has_arg; documented ones shown */
		uh_cli_synopsis(c, syn, sizeof(syn));
		help = help_of(c);
		snprintf(name, sizeof(name), "usage: umlhost %s", c->name);
		assert_memory_equal(syn, name, strlen(name));
		assert_memory_equal(help, name, strlen(name));
		for (k = 0; c->opts && c->opts[k].name; k++) {
			const struct uh_cli_doc *d = &c->docs[k];
			char opt[64];

			if ((c->opts[k].has_arg == no_argument) != (d->arg == NULL))
				fail_msg("%s --%s: argument name and has_arg disagree", c->name,
					 c->opts[k].name);
			if (d->help == NULL) {
				/* only the global ones are hidden */
				assert_true(strcmp(c->opts[k].name, "json") == 0 ||
					    strcmp(c->opts[k].name, "help") == 0);
				continue;
			}
			snprintf(opt, sizeof(opt), "--%s", c->opts[k].name);
			if (strstr(syn, opt) == NULL || strstr(help, opt) == NULL)
				fail_msg("%s: %s missing from its usage or help", c->name, opt);
		}
		free(help);
	}
}

static void test_usage_lists_all(void **state)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	uh_cli_print_usage(f);
	fclose(f);
	for (i = 0; i < uh_cli_n_commands; i++) {
		char line[80];

		snprintf(line, sizeof(line), "\n  %s", uh_cli_commands[i]->name);
		if (strstr(buf, line) == NULL)
			fail_msg("the usage does not list %s", uh_cli_commands[i]->name);
	}
	free(buf);
}

/* create: the options issue 15 found missing from the old usage are in it now */
static void test_create(void **state)
{
	static const char *const want[] = {"template", "memory",      "network",   "ip",
					   "ssh-key",  "swap",	      "disk",	   "kernel",
					   "kernel-arg", "autostart", "restart",   "cpu-quota",
					   "pids-max", "backup-every", "backup-keep", "backup-to"};
	char syn[1024], opt[64];
	size_t i;

	uh_cli_synopsis(&uh_cli_cmd_create, syn, sizeof(syn));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(opt, sizeof(opt), "--%s ", want[i]);
		if (strstr(syn, opt) == NULL && !(snprintf(opt, sizeof(opt), "--%s]", want[i]) &&
						  strstr(syn, opt)))
			fail_msg("create's usage lacks --%s", want[i]);
	}
	assert_non_null(strstr(syn, "create NAME --template T ["));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command),
		cmocka_unit_test(test_usage_lists_all),
		cmocka_unit_test(test_create),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
