/* Unit tests of the error object: messages, errno text, prefixes, truncation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "util/error.h"

static void test_messages(void **state)
{
	struct uh_error e;

	assert_int_equal(uh_err(&e, ENOENT, "open %s", "/x"), -1);
	assert_string_equal(e.msg, "open /x: No such file or directory");
	assert_int_equal(e.errnum, ENOENT);
	uh_err_prefix(&e, "start %s", "web1");
	assert_string_equal(e.msg, "start web1: open /x: No such file or directory");
	assert_int_equal(e.errnum, ENOENT);
	uh_errx(&e, "plain");
	assert_string_equal(e.msg, "plain");
	assert_int_equal(e.errnum, 0);
}

static void test_truncation(void **state)
{
	char big[3000];
	struct uh_error e;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	uh_errx(&e, "%s", big);
	assert_int_equal(strlen(e.msg), UH_ERROR_MAX - 1);
	uh_err_prefix(&e, "%s", big);
	assert_int_equal(strlen(e.msg), UH_ERROR_MAX - 1);
	uh_errx(&e, "tail");
	uh_err_prefix(&e, "%s", big);
	assert_true(strlen(e.msg) < UH_ERROR_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
