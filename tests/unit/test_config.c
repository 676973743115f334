/* Unit tests of the daemon's config parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/config.h"

static void test_defaults_and_parse(void **state)
{
	struct uh_config c;
	struct uh_error err;
	const char *text = "# umlhostd.conf\n"
			   "state_dir = /srv/uml/state   # trailing comment\n"
			   "\n"
			   "  memory_reserve=2G\n"
			   "disk_reserve = 512M\n"
			   "stop_timeout = 45\n"
			   "console_log_max = 256K\n"
			   "group = hosting\n";

	uh_config_defaults(&c);
	assert_string_equal(c.run_dir, "/run/umlhost");
	assert_int_equal(c.memory_reserve_mib, 1024);
	assert_int_equal(c.disk_reserve_mib, 1024);
	assert_int_equal(uh_config_parse(&c, text, "t.conf", &err), 0);
	assert_int_equal(c.disk_reserve_mib, 512);
	assert_string_equal(c.state_dir, "/srv/uml/state");
	assert_int_equal(c.memory_reserve_mib, 2048);
	assert_int_equal(c.stop_timeout_s, 45);
	assert_int_equal(c.console_log_max, 256 * 1024);
	assert_string_equal(c.group, "hosting");
	uh_config_finish(&c);
	assert_string_equal(c.socket, "/run/umlhost/umlhost.sock");
}

static void expect_error(const char *text, const char *needle)
{
	struct uh_config c;
	struct uh_error err;

	uh_config_defaults(&c);
	assert_int_equal(uh_config_parse(&c, text, "t.conf", &err), -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.msg, needle);
}

static void test_errors(void **state)
{
	expect_error("a = 1\n", "t.conf: line 1: unknown setting 'a'");
	expect_error("\n\nstop_timeout = 0\n", "t.conf: line 3: stop_timeout must be a number");
	expect_error("stop_timeout = 5s\n", "stop_timeout must be a number");
	expect_error("state_dir = relative/path\n", "must be an absolute path");
	expect_error("memory_reserve = lots\n", "memory_reserve: invalid size");
	expect_error("disk_reserve = -1G\n", "disk_reserve: invalid size");
	expect_error("just words\n", "line 1: expected 'key = value'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_parse),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
