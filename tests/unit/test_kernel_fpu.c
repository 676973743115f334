/* Unit tests of "can this UML kernel run on this CPU" (kernel/fpu.c): the decision for the
 * XSAVE sizes x86-64 hosts have, the info file's value, and the host probe against CPUID. */
#include <cpuid.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/fpu.h"

/* AVX2 only, AVX2 + PKRU, AVX-512 (AMD Zen 4), AVX-512 (Intel), AMX */
static const long sizes[] = {832, 2440, 2432, 2696, 11008};

static void test_probed_kernel_runs_everywhere(void **state)
{
	char why[512];
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(uh_fpu_fits("hosting", UH_FPU_PROBED, sizes[i], why, sizeof(why)),
				 1);
		assert_string_equal(why, "");
	}
}

/* The host clamps a longer SETREGSET buffer to its area and refuses a shorter one: a fixed
 * size runs on hosts whose area is at most that size. */
static void test_fixed_kernel_runs_up_to_its_size(void **state)
{
	char why[512], want[512];
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int fits = uh_fpu_fits("stock", UH_FPU_UML61_BYTES, sizes[i], why, sizeof(why));

		assert_int_equal(fits, sizes[i] <= 2696); /* all but AMX */
		if (fits)
			continue;
		snprintf(want, sizeof(want),
			 "kernel 'stock' cannot run on this host: it moves 2696 bytes of FPU state "
			 "per process and this CPU's XSAVE area is %ld bytes, more than that (every "
			 "guest would die at init); build one that sizes it at boot: umlhost kernel "
			 "build hosting",
			 sizes[i]);
		assert_string_equal(why, want);
		assert_null(strchr(why, '\n'));
	}
	/* a kernel built for 11008 (the quick check in issue 13) runs there and below */
	assert_int_equal(uh_fpu_fits("k", 11008, 11008, why, sizeof(why)), 1);
	assert_int_equal(uh_fpu_fits("k", 11008, 2696, why, sizeof(why)), 1);
	/* one built for an AVX2-only CPU (832) runs on no AVX-512 host */
	assert_int_equal(uh_fpu_fits("k", 832, 2432, why, sizeof(why)), 0);
	assert_int_equal(uh_fpu_fits("k", 832, 512, why, sizeof(why)), 1);
	/* host unknown (the probe failed): not refused */
	assert_int_equal(uh_fpu_fits("stock", UH_FPU_UML61_BYTES, 0, why, sizeof(why)), 1);
}

static void test_parse(void **state)
{
	struct uh_error err;
	long v = -1;

	assert_int_equal(uh_fpu_parse("host", &v, &err), 0);
	assert_int_equal(v, UH_FPU_PROBED);
	assert_int_equal(uh_fpu_parse("2696", &v, &err), 0);
	assert_int_equal(v, 2696);
	assert_int_equal(uh_fpu_parse("", &v, &err), -1);
	assert_int_equal(uh_fpu_parse("12x", &v, &err), -1);
	assert_string_equal(err.msg, "fpu_size '12x' is neither 'host' nor a size in bytes");
	assert_int_equal(uh_fpu_parse("100", &v, &err), -1);
	assert_int_equal(uh_fpu_parse("-2696", &v, &err), -1);
}

/* The probe (ptrace on a stopped child) against CPUID leaf 0xD: EBX is the XSAVE size of the
 * features the OS enabled in XCR0, which is what the host kernel's ptrace hands out. */
static void test_probe_matches_cpuid(void **state)
{
	unsigned a, b, c, d;
	struct uh_error err;
	long bytes = 0;

	assert_int_equal(uh_fpu_probe_host(&bytes, &err), 0);
	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 27))) { /* OSXSAVE off: the FXSAVE image */
		print_message("no XSAVE on this CPU: probe says %ld\n", bytes);
		assert_int_equal(bytes, 512);
		return;
	}
	__cpuid_count(0xd, 0, a, b, c, d);
	print_message("host XSAVE area: probe %ld bytes, CPUID 0xD EBX %u\n", bytes, b);
	assert_int_equal(bytes, (long)b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probed_kernel_runs_everywhere),
		cmocka_unit_test(test_fixed_kernel_runs_up_to_its_size),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_probe_matches_cpuid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
