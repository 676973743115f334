/* The SQLite store against a real database file: round trips, missing keys, events, and
 * persistence across close/open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"

static char dir[] = "/tmp/uh-storetest.XXXXXX";
static char path[256];

static int count_events(const struct uh_event_rec *ev, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int name_list(const struct uh_instance_rec *r, void *arg)
{
	strcat(arg, r->name);
	strcat(arg, ",");
	return 0;
}

static void test_roundtrip(void **state)
{
	struct uh_store *s;
	struct uh_error err;
	struct uh_instance_rec r = {0}, back;
	struct uh_template_rec t = {0}, tb;
	struct uh_event_rec ev = {0};
	char names[256] = "";
	int n = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.db", dir);
	assert_int_equal(uh_store_open(path, &s, &err), 0);

	strcpy(t.name, "base");
	strcpy(t.path, "/var/lib/umlhost/templates/base.img");
	t.size = 1 << 30;
	t.mtime = 1795938839;
	assert_int_equal(uh_store_template_put(s, &t, &err), 0);
	assert_int_equal(uh_store_template_get(s, "base", &tb, &err), 0);
	assert_string_equal(tb.path, t.path);
	assert_int_equal(tb.size, 1 << 30);
	assert_int_equal(tb.mtime, 1795938839);
	assert_int_equal(uh_store_template_get(s, "nosuch", &tb, &err), 1);

	strcpy(r.name, "web2");
	strcpy(r.template_name, "base");
	strcpy(r.state, "running");
	strcpy(r.restart, "on-failure");
	r.memory_mib = 256;
	r.pid = 4242;
	r.pid_start = 123456789012ULL;
	assert_int_equal(uh_store_instance_put(s, &r, &err), 0);
	strcpy(r.name, "web1");
	assert_int_equal(uh_store_instance_put(s, &r, &err), 0);
	assert_int_equal(uh_store_instance_list(s, name_list, names, &err), 0);
	assert_string_equal(names, "web1,web2,"); /* in name order */

	/* a transaction that is rolled back leaves nothing */
	assert_int_equal(uh_store_begin(s, &err), 0);
	strcpy(r.name, "ghost");
	assert_int_equal(uh_store_instance_put(s, &r, &err), 0);
	uh_store_rollback(s);
	assert_int_equal(uh_store_instance_get(s, "ghost", &back, &err), 1);

	strcpy(ev.instance, "web1");
	strcpy(ev.type, "started");
	assert_int_equal(uh_store_event_add(s, &ev, &err), 0);
	assert_true(ev.id > 0);
	assert_int_equal(uh_store_event_add(s, &ev, &err), 0);
	assert_int_equal(uh_store_event_list(s, 0, 100, count_events, &n, &err), 0);
	assert_int_equal(n, 2);
	uh_store_close(s);

	/* everything is still there after reopening */
	assert_int_equal(uh_store_open(path, &s, &err), 0);
	assert_int_equal(uh_store_instance_get(s, "web2", &back, &err), 0);
	assert_int_equal(back.pid, 4242);
	assert_int_equal(back.pid_start, 123456789012ULL);
	assert_int_equal(back.memory_mib, 256);
	assert_string_equal(back.restart, "on-failure");
	assert_int_equal(uh_store_instance_del(s, "web2", &err), 0);
	assert_int_equal(uh_store_instance_get(s, "web2", &back, &err), 1);
	n = 0;
	assert_int_equal(uh_store_event_list(s, ev.id - 1, 100, count_events, &n, &err), 0);
	assert_int_equal(n, 1);
	uh_store_close(s);
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
		cmocka_unit_test(test_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
