/* The cgroup module against fake hierarchies in a temp dir: what it writes for v2 (the
 * Debian 12 host layout) and v1 (this build machine's), and how it reads usage back. The
 * kernel's side is covered by tests/e2e/test_jail.sh on the real hierarchy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup/cgroup.h"

static char dir[] = "/tmp/uh-cgtest.XXXXXX";

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void expect(const char *path, const char *text)
{
	char buf[128] = "";
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, text);
}

/* cgroupfs creates a directory's control files itself; a plain fs needs them made */
static void touch_files(const char *d, const char *const *names)
{
	char p[512];

	for (; *names; names++) {
		snprintf(p, sizeof(p), "%s/%s", d, *names);
		put(p, "");
	}
}

static void test_v2(void **state)
{
	static const char *const files[] = {"memory.max", "memory.swap.max", "pids.max",
					    "cpu.weight", "cpu.max", "io.weight", "cgroup.procs",
					    "cgroup.subtree_control", NULL};
	struct uh_cgroup_limits l = {.memory_bytes = 144 << 20, .cpu_weight = 100,
				     .cpu_quota_pct = 50, .pids_max = 64, .io_weight = 100};
	struct uh_cgroup cg;
	struct uh_error err;
	char p[512];
	double cpu;
	uint64_t mem;

	assert_non_null(mkdtemp(dir));
	uh_cgroup_set_root(dir);
	snprintf(p, sizeof(p), "%s/cgroup.controllers", dir);
	put(p, "cpu io memory pids\n");
	snprintf(p, sizeof(p), "%s/cgroup.subtree_control", dir);
	put(p, "");
	assert_int_equal(uh_cgroup_paths("umlhost", "web1", &cg, &err), 0);
	assert_int_equal(cg.version, 2);
	assert_int_equal(cg.n_dirs, 1);
	snprintf(p, sizeof(p), "%s/umlhost", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/umlhost/cgroup.subtree_control", dir);
	put(p, "");
	snprintf(p, sizeof(p), "%s/umlhost/web1", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	touch_files(p, files);
	assert_int_equal(uh_cgroup_create(&cg, &l, &err), 0);
	snprintf(p, sizeof(p), "%s/umlhost/web1/memory.max", dir);
	expect(p, "150994944");
	snprintf(p, sizeof(p), "%s/umlhost/web1/pids.max", dir);
	expect(p, "64");
	snprintf(p, sizeof(p), "%s/umlhost/web1/cpu.max", dir);
	expect(p, "50000 100000");
	snprintf(p, sizeof(p), "%s/umlhost/web1/cpu.weight", dir);
	expect(p, "100");
	snprintf(p, sizeof(p), "%s/umlhost/cgroup.subtree_control", dir);
	expect(p, "+io"); /* the last write; +memory +cpu +pids came before it */
	snprintf(p, sizeof(p), "%s/umlhost/web1/cpu.stat", dir);
	put(p, "usage_usec 2500000\nuser_usec 1\n");
	snprintf(p, sizeof(p), "%s/umlhost/web1/memory.current", dir);
	put(p, "73400320\n");
	assert_int_equal(uh_cgroup_usage(&cg, &cpu, &mem), 0);
	assert_true(cpu > 2.49 && cpu < 2.51);
	assert_int_equal(mem, 73400320);
	snprintf(p, sizeof(p), "%s/umlhost/web1/cgroup.procs", dir);
	put(p, "");
	assert_int_equal(uh_cgroup_count(&cg), 0);
}

static void test_v1(void **state)
{
	static const char *const ctl[] = {"memory", "cpu", "cpuacct", "pids", "blkio", NULL};
	struct uh_cgroup_limits l = {.memory_bytes = 1 << 30, .cpu_weight = 50,
				     .cpu_quota_pct = 150, .pids_max = 2048, .io_weight = 100};
	static char v1dir[] = "/tmp/uh-cgtest1.XXXXXX";
	struct uh_cgroup cg;
	struct uh_error err;
	char p[512];
	int i;

	assert_non_null(mkdtemp(v1dir));
	uh_cgroup_set_root(v1dir);
	for (i = 0; ctl[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", v1dir, ctl[i]);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	assert_int_equal(uh_cgroup_paths("umlhost", "db", &cg, &err), 0);
	assert_int_equal(cg.version, 1);
	assert_int_equal(cg.n_dirs, 5);
	for (i = 0; ctl[i]; i++) {
		static const char *const files[] = {"memory.limit_in_bytes", "pids.max",
						    "cpu.shares", "cpu.cfs_quota_us",
						    "cpu.cfs_period_us", "blkio.weight",
						    "cgroup.procs", NULL};
		snprintf(p, sizeof(p), "%s/%s/umlhost", v1dir, ctl[i]);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/%s/umlhost/db", v1dir, ctl[i]);
		assert_int_equal(mkdir(p, 0755), 0);
		touch_files(p, files);
	}
	assert_int_equal(uh_cgroup_create(&cg, &l, &err), 0);
	snprintf(p, sizeof(p), "%s/memory/umlhost/db/memory.limit_in_bytes", v1dir);
	expect(p, "1073741824");
	snprintf(p, sizeof(p), "%s/pids/umlhost/db/pids.max", v1dir);
	expect(p, "2048");
	snprintf(p, sizeof(p), "%s/cpu/umlhost/db/cpu.shares", v1dir);
	expect(p, "512");
	snprintf(p, sizeof(p), "%s/cpu/umlhost/db/cpu.cfs_quota_us", v1dir);
	expect(p, "150000");
	/* and the memory limit rule */
	assert_int_equal(uh_cgroup_memory_for(64), 144ULL << 20);
	assert_int_equal(uh_cgroup_memory_for(128), 224ULL << 20);
	snprintf(p, sizeof(p), "rm -rf %s %s", v1dir, dir);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v1),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
