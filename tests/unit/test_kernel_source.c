/* Unit tests of what API callers may hand the builders (kernel/source.c, issue 14 item 6). */
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

#include "kernel/source.h"

static void test_names(void **state)
{
	assert_true(uh_kernel_source_name_ok("/usr/src/linux-source-6.1.tar.xz"));
	assert_true(uh_kernel_source_name_ok("/usr/src/linux-source-6.12.tar.bz2"));
	assert_false(uh_kernel_source_name_ok("/tmp/linux-source-6.1.tar.xz"));
	assert_false(uh_kernel_source_name_ok("/usr/src/linux-source-6.1.tar"));
	assert_false(uh_kernel_source_name_ok("/usr/src/linux-source-.tar.xz"));
	assert_false(uh_kernel_source_name_ok("/usr/src/linux-source-6.1/../../tmp/x.tar.xz"));
	assert_false(uh_kernel_source_name_ok("/usr/src/linux-source-6.1-evil.tar.xz"));
	assert_false(uh_kernel_source_name_ok("/usr/src/other.tar.xz"));
}

static void test_files(void **state)
{
	char dir[] = "/tmp/uh-src.XXXXXX", f[64], l[64];
	struct uh_error err;
	FILE *fp;

	assert_non_null(mkdtemp(dir));
	snprintf(f, sizeof(f), "%s/k.tar.xz", dir);
	snprintf(l, sizeof(l), "%s/link.tar.xz", dir);
	fp = fopen(f, "w");
	assert_non_null(fp);
	fclose(fp);
	chmod(f, 0644);
	/* a path that is neither Debian's nor the configured one */
	assert_int_equal(uh_kernel_source_check(f, "/usr/src/linux-source-6.1.tar.xz", &err), -1);
	assert_non_null(strstr(err.msg, "only Debian's kernel source tarballs"));
	if (geteuid() == 0) {
		/* the configured path: accepted when root's and no one else's to write */
		assert_int_equal(uh_kernel_source_check(f, f, &err), 0);
		chmod(f, 0666);
		assert_int_equal(uh_kernel_source_check(f, f, &err), -1);
		assert_non_null(strstr(err.msg, "owned by root and writable by no one else"));
		chmod(f, 0644);
		assert_int_equal(chown(f, 1000, 1000), 0);
		assert_int_equal(uh_kernel_source_check(f, f, &err), -1);
		assert_non_null(strstr(err.msg, "owned by root"));
	} else {
		print_message("not root: the ownership checks are not run\n");
	}
	assert_int_equal(symlink(f, l), 0);
	assert_int_equal(uh_kernel_source_check(l, l, &err), -1);
	assert_non_null(strstr(err.msg, "(a symlink)"));
	unlink(l);
	unlink(f);
	rmdir(dir);
}

static void test_mirror(void **state)
{
	struct uh_error err;

	assert_int_equal(uh_mirror_check("http://deb.debian.org/debian", &err), 0);
	assert_int_equal(uh_mirror_check("https://mirror.example/debian/", &err), 0);
	assert_int_equal(uh_mirror_check("file:///srv/mirror", &err), 0);
	assert_int_equal(uh_mirror_check("ftp://x/debian", &err), -1);
	assert_int_equal(uh_mirror_check("http://x/debian main contrib", &err), -1);
	assert_non_null(strstr(err.msg, "0x20"));
	assert_int_equal(uh_mirror_check("http://x/debian\n[trusted=yes] http://evil", &err), -1);
	assert_int_equal(uh_mirror_check("http://x/$(id)`id`", &err), -1);
	assert_int_equal(uh_mirror_check("http://x/\"a\"", &err), -1);
	assert_int_equal(uh_mirror_check("--help", &err), -1);
	assert_int_equal(uh_mirror_check("http://x/\x7f", &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_mirror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
