/* Unit tests of the fleet file reader (src/fleet): the documented example; ranges and their
 * widths; defaults; typed values; and each refusal with its file:line:column: a syntax
 * error, an unknown key or section, a key twice, a wrong type, a bad name, a range and a
 * count that disagree, a server given twice, an alias, a second document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fleet/fleet.h"
#include "fleet/plan.h"

static json_t *ok(const char *text)
{
	struct uh_error err;
	json_t *f = uh_fleet_parse(text, strlen(text), "f.yaml", &err);

	if (f == NULL)
		fail_msg("refused: %s", err.msg);
	return f;
}

static void refused(const char *text, const char *want)
{
	struct uh_error err;
	json_t *f = uh_fleet_parse(text, strlen(text), "f.yaml", &err);

	if (f != NULL) {
		json_decref(f);
		fail_msg("accepted, expected '%s'", want);
	}
	if (strstr(err.msg, want) == NULL)
		fail_msg("error '%s' does not hold '%s'", err.msg, want);
}

static void test_example(void **state)
{
	json_t *f = ok("networks:\n"
		       "  pub: {mode: routed, pool: 192.0.2.0/24, uplink: eth0}\n"
		       "templates:\n"
		       "  busybox: {version: latest}\n"
		       "  deb: {version: 3}\n"
		       "customers: [alice, bob]\n"
		       "defaults:\n"
		       "  memory: 64M\n"
		       "  autostart: true\n"
		       "servers:\n"
		       "  web{01..03}:\n"
		       "    template: busybox\n"
		       "    network: pub\n"
		       "    count: 3\n"
		       "  db:\n"
		       "    template: deb\n"
		       "    memory: 256M\n"
		       "    state: stopped\n"
		       "    owner: alice\n"
		       "    ssh_keys:\n"
		       "      - ssh-ed25519 AAAA x@y\n"
		       "    backup_keep: 7\n");
	json_t *s = json_object_get(f, "servers"), *w2 = json_object_get(s, "web02");

	assert_int_equal(json_object_size(s), 4);
	assert_non_null(w2);
	assert_string_equal(json_string_value(json_object_get(w2, "name")), "web02");
	assert_string_equal(json_string_value(json_object_get(w2, "memory")), "64M"); /* default */
	assert_true(json_is_true(json_object_get(w2, "autostart")));
	assert_string_equal(json_string_value(json_object_get(w2, "state")), "running");
	assert_null(json_object_get(w2, "count"));
	assert_int_equal(json_integer_value(json_object_get(w2, "line")), 11);
	s = json_object_get(s, "db");
	assert_string_equal(json_string_value(json_object_get(s, "memory")), "256M"); /* own */
	assert_string_equal(json_string_value(json_object_get(s, "state")), "stopped");
	assert_int_equal(json_integer_value(json_object_get(s, "backup_keep")), 7);
	assert_int_equal(json_array_size(json_object_get(s, "ssh_keys")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
				    json_object_get(f, "templates"), "busybox"), "version")), "latest");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
				 json_object_get(f, "templates"), "deb"), "version")), 3);
	assert_int_equal(json_array_size(json_object_get(f, "customers")), 2);
	json_decref(f);
}

static void test_ranges(void **state)
{
	json_t *f = ok("servers:\n  n{8..11}x: {}\n  a{001..002}:\n");
	json_t *s = json_object_get(f, "servers");

	assert_non_null(json_object_get(s, "n8x"));
	assert_non_null(json_object_get(s, "n11x"));
	assert_non_null(json_object_get(s, "a001"));
	assert_non_null(json_object_get(s, "a002"));
	assert_int_equal(json_object_size(s), 6);
	json_decref(f);
	f = ok(""); /* an empty file: an empty fleet */
	assert_int_equal(json_object_size(json_object_get(f, "servers")), 0);
	json_decref(f);
}

static void test_refusals(void **state)
{
	refused("servers:\n  web1:\n    memory: [64M\n", "f.yaml:4:1:");
	refused("servers:\n  web1:\n    memroy: 64M\n",
		"f.yaml:3:5: servers: web1: unknown key 'memroy' (expected one of: template,");
	refused("server:\n  web1: {}\n", "f.yaml:1:1: unknown section 'server'");
	refused("servers:\n  web1:\n    memory: 64M\n    memory: 128M\n",
		"f.yaml:4:5: servers: web1: memory given twice");
	refused("servers:\n  web1:\n    autostart: yes\n",
		"f.yaml:3:16: servers: web1: autostart: expected true or false, got 'yes'");
	refused("servers:\n  web1:\n    memory: {a: 1}\n",
		"f.yaml:3:13: servers: web1: memory: expected a value, got a map");
	refused("servers:\n  web1:\n    ssh_keys: one\n", "ssh_keys: expected a list");
	refused("servers:\n  web1:\n    backup_keep: seven\n", "expected a whole number");
	refused("servers:\n  web1:\n    state: paused\n", "expected running or stopped");
	refused("servers:\n  Web1: {}\n", "f.yaml:2:3:");
	refused("servers:\n  w{1..3}:\n    count: 2\n",
		"f.yaml:2:3: servers: w{1..3}: count is 2 but the name stands for 3 servers");
	refused("servers:\n  w1:\n    count: 2\n", "count needs a range in the name");
	refused("servers:\n  w{3..1}: {}\n", "a range from low to high");
	refused("servers:\n  w{1..2}{3..4}: {}\n", "at most one range");
	refused("servers:\n  w{1..20000}: {}\n", "at most 10000 names");
	refused("servers:\n  w{1..3}: {}\n  w2: {}\n", "f.yaml:3:3: server w2 is given twice (also at line 2)");
	refused("servers:\n  w{1..2}:\n    renamed_from: old\n", "renamed_from names one server");
	refused("defaults:\n  count: 2\n", "count and renamed_from belong to one server");
	refused("defaults: &d\n  memory: 64M\nservers:\n  w1: *d\n", "anchors and aliases are not supported");
	refused("servers:\n  w1: {}\n---\nservers:\n  w2: {}\n", "f.yaml:3:1: one document per fleet file");
	refused("- a\n- b\n", "f.yaml:1:1: expected a map of sections");
	refused("customers: [alice, alice]\n", "customers: alice given twice");
	refused("networks:\n  pub: {mode: routed, color: red}\n", "networks: pub: unknown key 'color'");
	refused("templates:\n  deb: {version: newest}\n", "expected a whole number or latest");
}

static json_t *current(void)
{
	json_error_t je;
	json_t *c = json_loads(
		"{\"customers\": [\"alice\"], \"networks\": {\"pub\": {}}, \"servers\": {"
		"\"web1\": {\"template\": \"bb\", \"template_version\": 1, \"memory\": \"64M\","
		" \"state\": \"running\", \"owner\": \"alice\", \"kernel_args\": [],"
		" \"backup_every\": \"86400s\", \"managed\": true},"
		"\"web2\": {\"template\": \"bb\", \"memory\": \"64M\", \"state\": \"running\", \"managed\": true},"
		"\"old\": {\"template\": \"bb\", \"memory\": \"64M\", \"state\": \"stopped\", \"managed\": true},"
		"\"mine\": {\"template\": \"bb\", \"memory\": \"64M\", \"state\": \"running\"}}}",
		0, &je);

	assert_non_null(c);
	return c;
}

static json_t *plan_of(const char *yaml, int prune, const char *allow)
{
	json_t *want = ok(yaml), *have = current(), *allowed = json_array(), *p;
	struct uh_fleet_opts o = {prune, allowed};

	if (allow)
		json_array_append_new(allowed, json_string(allow));
	p = uh_fleet_plan(want, have, &o);
	json_decref(want);
	json_decref(have);
	json_decref(allowed);
	return p;
}

static json_t *change_of(json_t *p, const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(p, "changes"), i, c) {
		const char *n = json_string_value(json_object_get(c, "server"));

		if (n == NULL)
			n = json_string_value(json_object_get(c, "name"));
		if (n && strcmp(n, name) == 0)
			return c;
	}
	return NULL;
}

static const char *str(json_t *c, const char *k)
{
	return json_string_value(json_object_get(c, k));
}

/* the same servers, other spellings (1G is 1024M, 1d is 86400s, [] is no list): nothing */
static void test_plan_nothing(void **state)
{
	json_t *p = plan_of("customers: [alice]\nnetworks:\n  pub: {}\nservers:\n"
			    "  web1: {template: bb, memory: 64M, owner: alice, backup_every: 1d, kernel_args: []}\n"
			    "  web2: {memory: 64M, reclaim: default}\n  old: {state: stopped}\n", 0, NULL);

	assert_int_equal(json_integer_value(json_object_get(p, "pending")), 0);
	assert_int_equal(json_array_size(json_object_get(p, "changes")), 0);
	json_decref(p);
}

static void test_plan_classes(void **state)
{
	json_t *p = plan_of("customers: [alice, bob]\nservers:\n"
			    "  web1: {memory: 128M, owner: bob, template_version: 2}\n"
			    "  web3: {renamed_from: web2, memory: 64M, autostart: true}\n"
			    "  new1: {template: bb}\n"
			    "  mine: {state: stopped, ssh_keys: [k]}\n", 0, NULL);
	json_t *c;

	c = change_of(p, "web1");
	assert_string_equal(str(c, "action"), "replace");
	assert_string_equal(str(c, "class"), "replace");
	assert_int_equal(json_array_size(json_object_get(c, "fields")), 3);
	assert_non_null(strstr(str(c, "blocked"), "--allow-replace web1"));
	c = change_of(p, "web3");
	assert_string_equal(str(c, "action"), "rename");
	assert_string_equal(str(c, "renamed_from"), "web2");
	/* web2 runs: its sockets and cgroup carry its name, so the rename stops and starts it */
	assert_string_equal(str(c, "class"), "restart");
	assert_non_null(strstr(json_string_value(json_array_get(json_object_get(c, "notes"), 0)),
			       "stops and starts it"));
	assert_string_equal(str(change_of(p, "new1"), "action"), "create");
	c = change_of(p, "mine");
	assert_string_equal(str(c, "class"), "live"); /* stop */
	assert_int_equal(json_array_size(json_object_get(c, "notes")), 1);
	c = change_of(p, "old");
	assert_string_equal(str(c, "action"), "destroy");
	assert_non_null(strstr(str(c, "blocked"), "--prune"));
	assert_null(change_of(p, "web2")); /* renamed away, not destroyed */
	assert_string_equal(str(change_of(p, "bob"), "action"), "create");
	assert_int_equal(json_integer_value(json_object_get(p, "blocked")), 2);
	json_decref(p);
	/* a rename with a new template: blocked, even with --allow-replace (a rename keeps the
	 * disk, a replace makes a new one) */
	p = plan_of("servers:\n  web3: {renamed_from: web2, template_version: 2}\n", 0, "web3");
	assert_string_equal(str(change_of(p, "web3"), "action"), "rename");
	assert_non_null(strstr(str(change_of(p, "web3"), "blocked"),
			       "a rename and a new template at once"));
	json_decref(p);
	/* two servers renamed from one: one is the rename, the other is blocked */
	p = plan_of("servers:\n  n1: {renamed_from: web2}\n  n2: {renamed_from: web2}\n", 0, NULL);
	assert_true((strcmp(str(change_of(p, "n1"), "action"), "rename") == 0) !=
		    (strcmp(str(change_of(p, "n2"), "action"), "rename") == 0));
	assert_non_null(strstr(str(change_of(p, strcmp(str(change_of(p, "n1"), "action"), "rename")
							== 0 ? "n2" : "n1"),
				       "blocked"),
			       "which another server of the file already is"));
	json_decref(p);
	/* a reclaim floor is a live change */
	p = plan_of("servers:\n  web1: {reclaim: 16M}\n", 1, NULL);
	assert_string_equal(str(change_of(p, "web1"), "class"), "live");
	json_decref(p);
	/* the flags unblock; a server the file never made is never destroyed */
	p = plan_of("servers:\n  web1: {memory: 128M}\n", 1, "web1");
	assert_string_equal(str(change_of(p, "web1"), "class"), "restart");
	assert_null(json_object_get(change_of(p, "old"), "blocked"));
	assert_null(change_of(p, "mine"));
	assert_int_equal(json_integer_value(json_object_get(p, "blocked")), 0);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_plan_nothing),
		cmocka_unit_test(test_plan_classes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
