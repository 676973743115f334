/* Unit tests of memory reclaim's pure parts: what a guest's kernel says of its memory
 * (mconsole/guest_mem.c) and what a round does about it (uh_reclaim_decide). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/reclaim.h"
#include "mconsole/guest_mem.h"

#define MIB (1ULL << 20)

static const char meminfo[] = "MemTotal:         254356 kB\n"
			      "MemFree:          101232 kB\n"
			      "MemAvailable:     190000 kB\n"
			      "Buffers:            3000 kB\n";

static void test_meminfo(void **state)
{
	struct uh_guest_mem m = {0};
	struct uh_error err;
	char bad[256];

	assert_int_equal(uh_guest_meminfo_parse(meminfo, strlen(meminfo), &m, &err), 0);
	assert_int_equal(m.total, 254356ULL * 1024);
	assert_int_equal(m.free, 101232ULL * 1024);
	assert_int_equal(m.available, 190000ULL * 1024);
	/* the last line need not end in a newline */
	assert_int_equal(uh_guest_meminfo_parse(meminfo, strlen(meminfo) - 1, &m, &err), 0);
	/* a missing line, a repeated one, a bad unit, a number too long, free over total */
	assert_int_equal(uh_guest_meminfo_parse(meminfo, 60, &m, &err), -1);
	assert_string_equal(err.msg, "guest meminfo: MemTotal, MemFree or MemAvailable missing");
	snprintf(bad, sizeof(bad), "%sMemFree: 1 kB\n", meminfo);
	assert_int_equal(uh_guest_meminfo_parse(bad, strlen(bad), &m, &err), -1);
	assert_string_equal(err.msg, "guest meminfo: a bad MemFree line");
	snprintf(bad, sizeof(bad), "MemTotal: 10 MB\nMemFree: 1 kB\nMemAvailable: 1 kB\n");
	assert_int_equal(uh_guest_meminfo_parse(bad, strlen(bad), &m, &err), -1);
	snprintf(bad, sizeof(bad), "MemTotal: 99999999999999999 kB\nMemFree: 1 kB\nMemAvailable: 1 kB\n");
	assert_int_equal(uh_guest_meminfo_parse(bad, strlen(bad), &m, &err), -1);
	snprintf(bad, sizeof(bad), "MemTotal: 10 kB\nMemFree: 11 kB\nMemAvailable: 1 kB\n");
	assert_int_equal(uh_guest_meminfo_parse(bad, strlen(bad), &m, &err), -1);
	assert_string_equal(err.msg, "guest meminfo: more free than total");
}

static void test_memconfig(void **state)
{
	struct uh_guest_mem m = {0};
	struct uh_error err;
	const char *ok = "unplugged=134217728 returned=4096";

	assert_int_equal(uh_guest_memconfig_parse(ok, strlen(ok), &m, &err), 0);
	assert_int_equal(m.unplugged, 128 * MIB);
	assert_int_equal(m.returned, 4096);
	/* a stock kernel prints an address: reclaim names the patch it needs */
	assert_int_equal(uh_guest_memconfig_parse("1610612736", 10, &m, &err), -1);
	assert_non_null(strstr(err.msg, "'1610612736'"));
	assert_non_null(strstr(err.msg, "kernel/patches/0003"));
	/* trailing bytes, control characters shown as '?' */
	assert_int_equal(uh_guest_memconfig_parse("unplugged=1 returned=2x", 23, &m, &err), -1);
	assert_int_equal(uh_guest_memconfig_parse("a\033b", 3, &m, &err), -1);
	assert_non_null(strstr(err.msg, "'a?b'"));
}

static void test_decide(void **state)
{
	struct uh_guest_mem m = {.total = 256 * MIB, .free = 150 * MIB, .available = 180 * MIB};

	/* 180M available, floor 32M: unplug the excess, at most 128M a round */
	assert_int_equal(uh_reclaim_decide(&m, 32 * MIB, 0), -(int64_t)(128 * MIB));
	m.available = 100 * MIB + 12345;
	assert_int_equal(uh_reclaim_decide(&m, 32 * MIB, 0), -(int64_t)(68 * MIB));
	/* under pressure: nothing taken */
	assert_int_equal(uh_reclaim_decide(&m, 32 * MIB, 1), 0);
	/* within the slack (floor/4, at least 4M): nothing */
	m.available = 40 * MIB;
	assert_int_equal(uh_reclaim_decide(&m, 32 * MIB, 0), 0);
	m.available = 14 * MIB;
	assert_int_equal(uh_reclaim_decide(&m, 16 * MIB, 0), 0);
	/* under half the floor: plug back what brings it to the floor, no more than unplugged */
	m.available = 10 * MIB;
	m.unplugged = 100 * MIB;
	assert_int_equal(uh_reclaim_decide(&m, 32 * MIB, 0), (int64_t)(22 * MIB));
	m.unplugged = 5 * MIB;
	assert_int_equal(uh_reclaim_decide(&m, 32 * MIB, 0), (int64_t)(5 * MIB));
	m.unplugged = 0;
	assert_int_equal(uh_reclaim_decide(&m, 32 * MIB, 0), 0);
	assert_string_equal(uh_reclaim_state_name(UH_RECLAIM_UNSUPPORTED), "unsupported");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_memconfig),
		cmocka_unit_test(test_decide),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
