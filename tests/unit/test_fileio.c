/* Unit tests of util/fileio.c's tree removal (uh_rm_tree): everything under the path goes,
 * nothing a symlink points at does, and (as root) a filesystem mounted inside is left whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fileio.h"

static void put(const char *dir, const char *name)
{
	char p[512];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("x\n", fp);
	fclose(fp);
}

static void test_tree(void **state)
{
	char top[] = "/tmp/uh-rm.XXXXXX", outside[] = "/tmp/uh-rm-out.XXXXXX", p[512], q[512];
	int i;

	assert_non_null(mkdtemp(top));
	assert_non_null(mkdtemp(outside));
	put(outside, "keep");
	/* deep, wide, a read-only directory, a FIFO, symlinks to a directory and a file outside */
	snprintf(p, sizeof(p), "%s/tree", top);
	assert_int_equal(mkdir(p, 0755), 0);
	for (i = 0; i < 40; i++) {
		size_t n = strlen(p);

		snprintf(p + n, sizeof(p) - n, "/d%d", i);
		assert_int_equal(mkdir(p, 0755), 0);
		put(p, "f");
	}
	snprintf(p, sizeof(p), "%s/tree/ro", top);
	assert_int_equal(mkdir(p, 0755), 0);
	put(p, "f");
	assert_int_equal(chmod(p, 0555), 0);
	snprintf(p, sizeof(p), "%s/tree/fifo", top);
	assert_int_equal(mkfifo(p, 0600), 0);
	snprintf(p, sizeof(p), "%s/tree/to-dir", top);
	assert_int_equal(symlink(outside, p), 0);
	snprintf(p, sizeof(p), "%s/tree/to-file", top);
	snprintf(q, sizeof(q), "%s/keep", outside);
	assert_int_equal(symlink(q, p), 0);

	snprintf(p, sizeof(p), "%s/tree", top);
	uh_rm_tree(p);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(access(q, F_OK), 0); /* what the links pointed at stays */
	assert_int_equal(access(outside, F_OK), 0);
	uh_rm_tree(p); /* gone already: nothing to do */
	snprintf(p, sizeof(p), "%s/link", top);
	assert_int_equal(symlink(outside, p), 0);
	uh_rm_tree(p); /* a symlink given: it goes, not its target */
	assert_int_equal(access(q, F_OK), 0);
	uh_rm_tree(outside);
	assert_int_equal(access(outside, F_OK), -1);
	rmdir(top);
}

/* A filesystem mounted inside (a build's /proc left behind) is not emptied */
static void test_mount(void **state)
{
	char top[] = "/tmp/uh-rm-mnt.XXXXXX", m[512], f[600];

	if (geteuid() != 0) {
		print_message("not root: the mount case cannot be made here; the tree case ran\n");
		return;
	}
	assert_non_null(mkdtemp(top));
	snprintf(m, sizeof(m), "%s/mnt", top);
	assert_int_equal(mkdir(m, 0755), 0);
	assert_int_equal(mount("uh-rm-test", m, "tmpfs", 0, "size=1m"), 0);
	put(m, "inside");
	put(top, "beside");
	uh_rm_tree(top);
	snprintf(f, sizeof(f), "%s/inside", m);
	assert_int_equal(access(f, F_OK), 0);	 /* the mounted filesystem is whole */
	snprintf(f, sizeof(f), "%s/beside", top);
	assert_int_equal(access(f, F_OK), -1); /* the rest went */
	assert_int_equal(umount(m), 0);
	uh_rm_tree(top);
	assert_int_equal(access(top, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_mount),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
