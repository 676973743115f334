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
	assert_int_equal(uh_budget_check("a", 24576, 1024, 0, 23552, &err), 0);
	assert_int_equal(uh_budget_check("a", 24576, 1024, 23552, 1, &err), -1);
	assert_int_equal(uh_budget_check("web1", 24576, 1024, 23040, 512, &err), 0);
	assert_int_equal(uh_budget_check("web1", 24576, 1024, 23168, 512, &err), -1);
	assert_string_equal(err.msg, "web1: memory 512M exceeds the free budget (384M of 23G); "
				     "stop an instance or lower --memory");
	/* a reserve larger than the host leaves nothing */
	assert_int_equal(uh_budget_check("x", 1000, 2000, 0, 64, &err), -1);
	assert_non_null(strstr(err.msg, "(0B of 0B)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
