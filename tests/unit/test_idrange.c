/* Unit tests of the instance uid range check (jail/idrange.c, issue 14 item 4) on files
 * shaped like Debian's /etc/passwd, /etc/group, /etc/subuid and /etc/subgid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jail/idrange.h"

static char dir[] = "/tmp/uh-idrange.XXXXXX";
static char passwd[64], group[64], subuid[64], subgid[64];

static void put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
	snprintf(group, sizeof(group), "%s/group", dir);
	snprintf(subuid, sizeof(subuid), "%s/subuid", dir);
	snprintf(subgid, sizeof(subgid), "%s/subgid", dir);
	put(passwd, "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:,,,:/home/alice:/bin/bash\n");
	put(group, "root:x:0:\nalice:x:1000:\n");
	/* Debian's adduser: 65536 subordinate ids per user from 100000 on */
	put(subuid, "alice:100000:65536\n");
	put(subgid, "alice:100000:65536\n");
	return 0;
}

static int teardown(void **state)
{
	unlink(passwd);
	unlink(group);
	unlink(subuid);
	unlink(subgid);
	rmdir(dir);
	return 0;
}

static void test_free_range(void **state)
{
	struct uh_id_files f = {passwd, group, subuid, subgid};
	struct uh_error err;

	assert_int_equal(uh_idrange_check(&f, 200000, 65536, &err), 0);
	/* files that do not exist hold nothing */
	struct uh_id_files none = {"/nonexistent/p", "/nonexistent/g", NULL, NULL};
	assert_int_equal(uh_idrange_check(&none, 0, 10, &err), 0);
}

static void test_second_users_subuid_overlaps(void **state)
{
	struct uh_id_files f = {passwd, group, subuid, subgid};
	struct uh_error err;

	/* the second user's range, 165536-231071, covers the default 200000-265535 */
	put(subuid, "alice:100000:65536\nbob:165536:65536\n");
	assert_int_equal(uh_idrange_check(&f, 200000, 65536, &err), -1);
	assert_non_null(strstr(err.msg, "/subuid line 2 'bob:165536:65536' (ids 165536-231071) "
					"overlaps the instance uids 200000-265535"));
	/* just past it: free */
	assert_int_equal(uh_idrange_check(&f, 231072, 1000, &err), 0);
	/* touching its first id */
	assert_int_equal(uh_idrange_check(&f, 165000, 537, &err), -1);
	put(subuid, "alice:100000:65536\n");
}

static void test_user_and_group_ids(void **state)
{
	struct uh_id_files f = {passwd, group, subuid, subgid};
	struct uh_error err;

	put(passwd, "root:x:0:0::/:/bin/sh\nsvc:x:200007:100::/:/usr/sbin/nologin\n");
	assert_int_equal(uh_idrange_check(&f, 200000, 10, &err), -1);
	assert_non_null(strstr(err.msg, "/passwd line 2 'svc:x:200007:100::/:/usr/sbin/nologin' "
					"has id 200007"));
	/* the gid field of passwd counts too (an instance's gid is its uid) */
	put(passwd, "root:x:0:0::/:/bin/sh\nsvc:x:1001:200003::/:/bin/sh\n");
	assert_int_equal(uh_idrange_check(&f, 200000, 10, &err), -1);
	assert_non_null(strstr(err.msg, "has id 200003"));
	put(passwd, "root:x:0:0::/:/bin/sh\n");
	put(group, "root:x:0:\ndocker:x:200009:alice\n");
	assert_int_equal(uh_idrange_check(&f, 200000, 10, &err), -1);
	assert_non_null(strstr(err.msg, "/group line 2 'docker:x:200009:alice' has id 200009"));
	assert_int_equal(uh_idrange_check(&f, 200010, 10, &err), 0);
	put(group, "root:x:0:\n");
	put(subgid, "# comment\n\nalice:300000:10\n");
	assert_int_equal(uh_idrange_check(&f, 300009, 1, &err), -1);
	assert_non_null(strstr(err.msg, "/subgid line 3"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_range),
		cmocka_unit_test(test_second_users_subuid_overlaps),
		cmocka_unit_test(test_user_and_group_ids),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
