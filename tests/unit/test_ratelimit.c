/* Unit tests of the token bucket (util/ratelimit.c) that bounds guest notifications. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/ratelimit.h"

static void test_burst_then_rate(void **state)
{
	struct uh_ratelimit r;
	int i, ok = 0;

	uh_ratelimit_init(&r, 20, 60, 1000);
	for (i = 0; i < 1000; i++)
		ok += uh_ratelimit_take(&r, 1000);
	assert_int_equal(ok, 20); /* the burst */
	assert_int_equal(uh_ratelimit_dropped(&r), 980);
	assert_int_equal(uh_ratelimit_dropped(&r), 0);
	/* 60 a minute: one a second; 999 ms is not enough */
	assert_int_equal(uh_ratelimit_take(&r, 1999), 0);
	assert_int_equal(uh_ratelimit_take(&r, 2000), 1);
	assert_int_equal(uh_ratelimit_take(&r, 2000), 0);
	/* a tight loop for 60 s lets through about 60 more, never a flood */
	ok = 0;
	for (int64_t t = 2000; t < 62000; t++)
		ok += uh_ratelimit_take(&r, t);
	assert_in_range(ok, 59, 61);
	/* idle for an hour: back to the burst, not more */
	ok = 0;
	for (i = 0; i < 100; i++)
		ok += uh_ratelimit_take(&r, 3662000);
	assert_int_equal(ok, 20);
	/* a clock that steps back adds nothing */
	assert_int_equal(uh_ratelimit_take(&r, 1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
