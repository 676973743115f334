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

/* uh_read_small / uh_read_tail: whole small files, the tail of a big one from an offset, a
 * FIFO refused without blocking, a missing file is -1 and "". */
static void test_read_small_tail(void **state)
{
	char dir[] = "/tmp/uh-fileio-read.XXXXXX", p[512], fifo[512], big[9000], buf[16];
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/f", dir);
	fp = fopen(p, "w");
	assert_non_null(fp);
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 6, "TAIL!\n", 6);
	fwrite(big, 1, sizeof(big), fp);
	fclose(fp);

	assert_int_equal(uh_read_small(p, buf, sizeof(buf)), 15); /* size - 1, then NUL */
	assert_string_equal(buf, "aaaaaaaaaaaaaaa");
	assert_int_equal(uh_read_tail(p, 0, buf, sizeof(buf)), 15); /* the last 15 bytes */
	assert_string_equal(buf, "aaaaaaaaaTAIL!\n");
	assert_int_equal(uh_read_tail(p, 8997, buf, sizeof(buf)), 3); /* from an offset on */
	assert_string_equal(buf, "L!\n");
	assert_int_equal(uh_read_tail(p, 9000, buf, sizeof(buf)), 0); /* nothing new */
	assert_string_equal(buf, "");
	assert_int_equal(uh_read_tail(p, 12000, buf, sizeof(buf)), 0);

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(uh_read_small(fifo, buf, sizeof(buf)), -1); /* no writer: no hang */
	assert_int_equal(uh_read_tail(fifo, 0, buf, sizeof(buf)), -1);
	unlink(fifo);
	unlink(p);
	assert_int_equal(uh_read_small(p, buf, sizeof(buf)), -1);
	assert_string_equal(buf, "");
	rmdir(dir);
}

/* uh_autotmpfile: a temp file not committed is gone when its scope ends; one committed is
 * in place. */
static int tmp_write(const char *path, int commit)
{
	uh_autotmpfile struct uh_tmpfile t = UH_TMPFILE_INIT;
	struct uh_error err;

	if (uh_tmpfile_open(&t, path, 0600, &err) < 0 || uh_write_full(t.fd, "x", 1) < 0)
		return -1;
	if (commit && uh_tmpfile_commit(&t, &err) < 0)
		return -1;
	return 0;
}

static void test_autotmpfile(void **state)
{
	char dir[] = "/tmp/uh-fileio-tmp.XXXXXX", p[512], cmd[600];
	int entries;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/file", dir);
	assert_int_equal(tmp_write(p, 0), 0);
	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
	fp = popen(cmd, "r");
	assert_int_equal(fscanf(fp, "%d", &entries), 1);
	pclose(fp);
	assert_int_equal(entries, 0); /* discarded: no .file.XXXXXX left */
	assert_int_equal(tmp_write(p, 1), 0);
	assert_int_equal(access(p, F_OK), 0);
	uh_rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_mount),
		cmocka_unit_test(test_read_small_tail),
		cmocka_unit_test(test_autotmpfile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
