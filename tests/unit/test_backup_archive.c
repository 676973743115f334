/* Backup archives against real files: a sparse disk image round trip (bytes and holes kept),
 * the manifest (sizes, digests, the caller's fields), and damage found and named. */
#include <errno.h>
#include <fcntl.h>
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

#include "backup/archive.h"
#include "backup/target.h"

static char dir[] = "/tmp/uh-archivetest.XXXXXX";

static void make_sparse(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char buf[65536];

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 << 20), 0); /* 64 MiB, mostly holes */
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (char)rand();
		assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)k * (20 << 20) + 4096),
				 (ssize_t)sizeof(buf));
	}
	close(fd);
}

static void test_roundtrip_and_damage(void **state)
{
	char disk[256], arch[256], out[256], cmd[1024], sha[UH_SHA256_HEX];
	struct uh_backup_member m[2];
	struct uh_error err;
	json_t *man = NULL, *extra = json_pack("{s:s, s:i}", "template", "deb", "template_version", 2);
	uint64_t bytes = 0;
	struct stat st;

	assert_non_null(mkdtemp(dir));
	snprintf(disk, sizeof(disk), "%s/disk.cow", dir);
	snprintf(arch, sizeof(arch), "%s/b.tar.zst", dir);
	snprintf(out, sizeof(out), "%s/restore", dir);
	make_sparse(disk);
	m[0] = (struct uh_backup_member){.name = "disk.cow", .path = disk};
	m[1] = (struct uh_backup_member){.name = "instance.json", .text = "{\"name\": \"web1\"}\n"};
	assert_int_equal(uh_backup_write(arch, m, 2, extra, sha, &bytes, &err), 0);
	assert_int_equal(strlen(sha), 64);
	assert_int_equal(stat(arch, &st), 0);
	assert_int_equal((uint64_t)st.st_size, bytes);
	assert_true(bytes < (1 << 20)); /* 192 KiB of data, not 64 MiB */
	/* the archive's digest is what sha256sum says */
	snprintf(cmd, sizeof(cmd), "sha256sum %s | grep -q ^%s", arch, sha);
	assert_int_equal(system(cmd), 0);
	/* no temp file left next to it */
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) = 2", dir);
	assert_int_equal(system(cmd), 0);

	/* verify + restore: the same bytes, holes kept, the manifest as written */
	assert_int_equal(mkdir(out, 0700), 0);
	if (uh_backup_read(arch, out, 0, &man, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(json_string_value(json_object_get(man, "template")), "deb");
	assert_int_equal(json_integer_value(json_object_get(man, "template_version")), 2);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(json_object_get(man, "members"), "disk.cow"),
				 "data_bytes")),
			 3 * 65536);
	json_decref(man);
	snprintf(cmd, sizeof(cmd), "cmp -s %s %s/disk.cow", disk, out);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/disk.cow", out);
	assert_int_equal(stat(cmd, &st), 0);
	assert_true(st.st_blocks * 512 < (4 << 20));
	/* restoring over existing files is refused */
	assert_int_equal(uh_backup_read(arch, out, 0, &man, NULL, &err), -1);
	/* a reserve larger than the free space: refused with ENOSPC before a member is written */
	snprintf(cmd, sizeof(cmd), "%s/restore2", dir);
	assert_int_equal(mkdir(cmd, 0700), 0);
	assert_int_equal(uh_backup_read(arch, cmd, UINT64_MAX / 2, &man, NULL, &err), -1);
	assert_int_equal(err.errnum, ENOSPC);
	assert_non_null(strstr(err.msg, "disk_reserve"));
	assert_null(man);
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s/restore2)\"", dir);
	assert_int_equal(system(cmd), 0);

	/* one byte flipped in the middle (inside the random data): found, the member named */
	{
		int fd = open(arch, O_RDWR);
		unsigned char c;
		off_t mid = (off_t)bytes / 2;

		assert_int_equal(pread(fd, &c, 1, mid), 1);
		c ^= 0x40;
		assert_int_equal(pwrite(fd, &c, 1, mid), 1);
		close(fd);
	}
	assert_int_equal(uh_backup_read(arch, NULL, 0, &man, NULL, &err), -1);
	assert_null(man);
	assert_non_null(strstr(err.msg, "disk.cow"));
	json_decref(extra);
}

/* A write that cannot finish leaves nothing behind. */
static void test_failure_leaves_nothing(void **state)
{
	char arch[256], cmd[512], sha[UH_SHA256_HEX];
	struct uh_backup_member m = {.name = "x", .path = "/nonexistent/disk"};
	struct uh_error err;
	uint64_t bytes;

	snprintf(arch, sizeof(arch), "%s/fail.tar.zst", dir);
	assert_int_equal(uh_backup_write(arch, &m, 1, NULL, sha, &bytes, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/disk"));
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s | grep fail)\"", dir);
	assert_int_equal(system(cmd), 0);
}

/* A member twice (the same name): verify refuses it as restore does, naming it. */
static void test_duplicate_member(void **state)
{
	char arch[256], sha[UH_SHA256_HEX];
	struct uh_backup_member m[2] = {{.name = "instance.json", .text = "{\"name\": \"a\"}\n"},
					{.name = "instance.json", .text = "{\"name\": \"b\"}\n"}};
	struct uh_error err;
	json_t *man = NULL;
	uint64_t bytes;

	snprintf(arch, sizeof(arch), "%s/dup.tar.zst", dir);
	assert_int_equal(uh_backup_write(arch, m, 2, NULL, sha, &bytes, &err), 0);
	assert_int_equal(uh_backup_read(arch, NULL, 0, &man, NULL, &err), -1);
	assert_null(man);
	assert_non_null(strstr(err.msg, "member instance.json appears twice"));
}

/* A member's digest: sha256sum for a file without holes; the same data at another offset
 * does not match. */
static void test_digest_binds_offsets(void **state)
{
	char a[256], b[256], cmd[600], sa[UH_SHA256_HEX], sb[UH_SHA256_HEX];
	char buf[8192];
	struct uh_error err;
	int fa, fb;

	snprintf(a, sizeof(a), "%s/da", dir);
	snprintf(b, sizeof(b), "%s/db", dir);
	memset(buf, 'x', sizeof(buf));
	fa = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fb = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fa >= 0 && fb >= 0);
	assert_int_equal(pwrite(fa, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(uh_backup_file_sha256(a, sa, &err), 0);
	snprintf(cmd, sizeof(cmd), "sha256sum %s | grep -q ^%s", a, sa);
	assert_int_equal(system(cmd), 0);
	/* the same bytes, one hole further in, both files of 2 MiB */
	assert_int_equal(ftruncate(fa, 2 << 20), 0);
	assert_int_equal(ftruncate(fb, 2 << 20), 0);
	assert_int_equal(pwrite(fb, buf, sizeof(buf), 1 << 20), (ssize_t)sizeof(buf));
	close(fa);
	close(fb);
	assert_int_equal(uh_backup_file_sha256(a, sa, &err), 0);
	assert_int_equal(uh_backup_file_sha256(b, sb, &err), 0);
	assert_string_not_equal(sa, sb);
}

static void test_target_parse(void **state)
{
	struct uh_target t;
	struct uh_error err;
	char out[2048];

	assert_int_equal(uh_target_parse("/srv/backups", &t, &err), 0);
	assert_false(t.remote);
	assert_string_equal(t.path, "/srv/backups");
	assert_int_equal(uh_target_parse("sftp://backup@192.0.2.9/srv/b", &t, &err), 0);
	assert_true(t.remote);
	assert_string_equal(t.user, "backup");
	assert_string_equal(t.host, "192.0.2.9");
	assert_int_equal(t.port, 22);
	assert_string_equal(t.path, "/srv/b");
	assert_int_equal(uh_target_parse("sftp://[2001:db8::9]:2222/x", &t, &err), 0);
	assert_string_equal(t.host, "2001:db8::9");
	assert_int_equal(t.port, 2222);
	assert_string_equal(t.user, "");
	uh_target_format(&t, "/x/y.tar.zst", out, sizeof(out));
	assert_string_equal(out, "sftp://[2001:db8::9]:2222/x/y.tar.zst");
	assert_int_equal(uh_target_parse("sftp://h.example:22/a", &t, &err), 0);
	assert_string_equal(t.host, "h.example");
	/* each refusal names its problem */
	assert_int_equal(uh_target_parse("relative/dir", &t, &err), -1);
	assert_non_null(strstr(err.msg, "absolute"));
	assert_int_equal(uh_target_parse("http://h/x", &t, &err), -1);
	assert_non_null(strstr(err.msg, "only sftp://"));
	assert_int_equal(uh_target_parse("sftp://h", &t, &err), -1);
	assert_non_null(strstr(err.msg, "no path"));
	assert_int_equal(uh_target_parse("sftp://h:0/x", &t, &err), -1);
	assert_non_null(strstr(err.msg, "bad port"));
	assert_int_equal(uh_target_parse("sftp://h:99999/x", &t, &err), -1);
	assert_int_equal(uh_target_parse("sftp://h:/x", &t, &err), -1);
	assert_int_equal(uh_target_parse("sftp://@h/x", &t, &err), -1);
	assert_non_null(strstr(err.msg, "user"));
	assert_int_equal(uh_target_parse("sftp://u;x@h/x", &t, &err), -1);
	assert_int_equal(uh_target_parse("sftp://h o/x", &t, &err), -1);
	assert_non_null(strstr(err.msg, "bad host"));
	assert_int_equal(uh_target_parse("sftp://[::1/x", &t, &err), -1);
	assert_int_equal(uh_target_parse("sftp://h/x%2f", &t, &err), -1);
	assert_int_equal(uh_target_parse("sftp://h/x\ny", &t, &err), -1);
	assert_int_equal(uh_target_parse("sftp://h/x\x01", &t, &err), -1);
	assert_int_equal(uh_target_parse("", &t, &err), -1);
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_damage),
		cmocka_unit_test(test_failure_leaves_nothing),
		cmocka_unit_test(test_duplicate_member),
		cmocka_unit_test(test_digest_binds_offsets),
		cmocka_unit_test(test_target_parse),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
