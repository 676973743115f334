/* Unit tests of name and size validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/scrub.h"
#include "util/validate.h"

static void test_names(void **state)
{
	struct uh_error err;

	assert_int_equal(uh_validate_name("instance", "web1", &err), 0);
	assert_int_equal(uh_validate_name("instance", "a", &err), 0);
	assert_int_equal(uh_validate_name("instance", "a-b-9", &err), 0);
	assert_int_equal(uh_validate_name("instance", "abcdefghijklmnopqrstuvwxyz012345", &err), 0);
	assert_int_equal(uh_validate_name("instance", "abcdefghijklmnopqrstuvwxyz0123456", &err), -1);
	assert_non_null(strstr(err.msg, "at most 32"));
	assert_int_equal(uh_validate_name("instance", "../x", &err), -1);
	assert_non_null(strstr(err.msg, "invalid instance name '../x'"));
	assert_int_equal(uh_validate_name("instance", "A", &err), -1);
	assert_int_equal(uh_validate_name("instance", "9a", &err), -1);
	assert_int_equal(uh_validate_name("instance", "a_b", &err), -1);
	assert_int_equal(uh_validate_name("instance", "a/b", &err), -1);
	assert_int_equal(uh_validate_name("instance", "", &err), -1);
	assert_int_equal(uh_validate_name("template", "a.b", &err), -1);
	assert_non_null(strstr(err.msg, "template"));
}

static void test_sizes(void **state)
{
	struct uh_error err;
	uint64_t b;
	char buf[32];

	assert_int_equal(uh_parse_size("128M", &b, &err), 0);
	assert_int_equal(b, 128ULL << 20);
	assert_int_equal(uh_parse_size("2G", &b, &err), 0);
	assert_int_equal(b, 2ULL << 30);
	assert_int_equal(uh_parse_size("100T", &b, &err), 0);
	assert_int_equal(b, 100ULL << 40);
	assert_int_equal(uh_parse_size("512k", &b, &err), 0);
	assert_int_equal(b, 512ULL << 10);
	assert_int_equal(uh_parse_size("4096", &b, &err), 0);
	assert_int_equal(b, 4096);
	assert_int_equal(uh_parse_size("1GiB", &b, &err), 0);
	assert_int_equal(b, 1ULL << 30);
	assert_int_equal(uh_parse_size("0", &b, &err), 0);
	assert_int_equal(b, 0);
	assert_int_equal(uh_parse_size("1.5G", &b, &err), -1);
	assert_int_equal(uh_parse_size("lots", &b, &err), -1);
	assert_int_equal(uh_parse_size("-1M", &b, &err), -1);
	assert_int_equal(uh_parse_size("12Q", &b, &err), -1);
	assert_int_equal(uh_parse_size("99999999999999999999", &b, &err), -1);
	assert_int_equal(uh_parse_size("20000000T", &b, &err), -1);
	uh_format_size(512ULL << 20, buf, sizeof(buf));
	assert_string_equal(buf, "512M");
	uh_format_size(23ULL * 1024 + 512, buf, sizeof(buf));
	assert_string_equal(buf, "23.5K");
	uh_format_size(100, buf, sizeof(buf));
	assert_string_equal(buf, "100B");
}

static void scrubbed(const char *in, const char *want)
{
	char t[256];

	snprintf(t, sizeof(t), "%s", in);
	uh_scrub_paths(t, sizeof(t));
	assert_string_equal(t, want);
}

/* a customer's error or event: no host path, no backup URL; the words around them kept */
static void test_scrub(void **state)
{
	scrubbed("backup a1: /var/lib/umlhost/backups/a1: Not a directory",
		 "backup a1: [host path]: Not a directory");
	scrubbed("/srv/x", "[host path]");
	scrubbed("restore from sftp://u@192.0.2.9/b/a1-1.tar.zst: failed",
		 "restore from [host path]: failed");
	scrubbed("open '/etc/x' (mode=/tmp/y), next", "open '[host path]' (mode=[host path]), next");
	scrubbed("at:/a/b,/c/d", "at:[host path],[host path]");
	scrubbed("3/4 done, 50/50", "3/4 done, 50/50");
	scrubbed("no path here", "no path here");
	{
		char small[8] = "/abcdef";

		uh_scrub_paths(small, sizeof(small)); /* never past its size */
		assert_true(strlen(small) < sizeof(small));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrub),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
