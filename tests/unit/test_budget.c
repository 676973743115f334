/* Unit tests of the memory budget rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/budget.h"

static void test_budget(void **state)
{
	struct uh_error err;

	/* 24 GiB host, 1 GiB reserve: 23 GiB for instances */
	assert_int_equal(uh_budget_check("a", 24576, 1024, 100, 0, 23552, &err), 0);
	assert_int_equal(uh_budget_check("a", 24576, 1024, 100, 23552, 1, &err), -1);
	assert_int_equal(uh_budget_check("web1", 24576, 1024, 100, 23040, 512, &err), 0);
	assert_int_equal(uh_budget_check("web1", 24576, 1024, 100, 23168, 512, &err), -1);
	assert_string_equal(err.msg, "web1: memory 512M exceeds the free budget (384M of 23G); "
				     "stop an instance or lower --memory");
	/* a reserve larger than the host leaves nothing */
	assert_int_equal(uh_budget_check("x", 1000, 2000, 100, 0, 64, &err), -1);
	assert_non_null(strstr(err.msg, "(0B of 0B)"));
	/* memory_overcommit 300: three times the budget, and the message says so */
	assert_int_equal(uh_budget_check("a", 24576, 1024, 300, 23552, 23552, &err), 0);
	assert_int_equal(uh_budget_check("a", 24576, 1024, 300, 70656, 1, &err), -1);
	assert_non_null(strstr(err.msg, "memory_overcommit included"));
	/* ... and a start needs its memory available now, the reserve aside */
	assert_int_equal(uh_budget_check_available("a", 2048, 1024, 1024, &err), 0);
	assert_int_equal(uh_budget_check_available("a", 2047, 1024, 1024, &err), -1);
	assert_string_equal(err.msg, "a: memory 1G exceeds what the host has available now "
				     "(1023M beyond memory_reserve); the servers use more than "
				     "memory_overcommit assumed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
