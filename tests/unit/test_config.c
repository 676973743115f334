/* Unit tests of the daemon's config parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
	/* plain HTTP with no token: loopback only */
	expect_error("metrics_listen = 192.0.2.1:9100\n", "192.0.2.1:9100 is not a loopback address");
	expect_error("metrics_listen = [2001:db8::1]:9100\n", "not a loopback address");
	expect_error("metrics_listen = localhost\n", "metrics_listen");
	{
		struct uh_config c;
		struct uh_error err;

		uh_config_defaults(&c);
		assert_int_equal(uh_config_parse(&c, "metrics_listen = 127.0.0.1:9100\n", "t.conf",
						 &err), 0);
		assert_string_equal(c.metrics_listen, "127.0.0.1:9100");
		assert_int_equal(uh_config_parse(&c, "metrics_listen = [::1]:9100\n", "t.conf", &err),
				 0);
	}
}

/* SIGHUP: live keys are taken and named, the others kept and named */
static void test_reload(void **state)
{
	struct uh_config cur, next;
	struct uh_error err;
	char applied[512], kept[512];

	uh_config_defaults(&cur);
	uh_config_defaults(&next);
	assert_int_equal(uh_config_parse(&next,
					 "default_memory = 96M\nstart_timeout = 7\n"
					 "restart_window = 60\nuid_min = 310000\n"
					 "state_dir = /srv/uh\nguard_check_seconds = 3\n",
					 "t.conf", &err),
			 0);
	assert_int_equal(uh_config_reload(&cur, &next, applied, sizeof(applied), kept,
					  sizeof(kept)),
			 4);
	assert_string_equal(applied,
			    "default_memory, start_timeout, restart_window, guard_check_seconds");
	assert_string_equal(kept, "state_dir, uid_min");
	assert_int_equal(cur.default_memory_mib, 96);
	assert_int_equal(cur.start_timeout_s, 7);
	assert_int_equal(cur.guard_check_seconds, 3);
	assert_int_equal(cur.uid_min, 200000);
	assert_string_equal(cur.state_dir, "/var/lib/umlhost");
	/* the same again: nothing to do */
	assert_int_equal(uh_config_reload(&cur, &cur, applied, sizeof(applied), kept,
					  sizeof(kept)),
			 0);
	assert_string_equal(applied, "");
	assert_string_equal(kept, "");
}

/* The reload table names every key the parser knows, by the parser's own names */
static void test_reload_keys(void **state)
{
	char name[64], line[128];
	int i, live, n = 0;

	for (i = 0; uh_config_key(i, name, sizeof(name), &live) == 0; i++) {
		struct uh_config c;
		struct uh_error err;

		uh_config_defaults(&c);
		snprintf(line, sizeof(line), "%s = \x01\n", name);
		if (uh_config_parse(&c, line, "t.conf", &err) < 0 && strstr(err.msg, "unknown setting"))
			fail_msg("the reload table's '%s' is not a setting", name);
		n++;
	}
	/* every field of struct uh_config is a setting (46 of them, README's list) */
	assert_int_equal(n, 46);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_parse),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_reload_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
