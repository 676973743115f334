/* Unit tests of the API's routing (daemon/route.c) and of its route table (api.c): matching
 * by method and path, 404 for no such path, 405 (with the allowed methods) for a path that
 * exists under other methods, and every route of the table reachable; and of the one table
 * that turns an error's errno class into a status and a code (api.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/daemon.h"
#include "daemon/route.h"

static const struct uh_route small[] = {
	{"GET", "/v1/things"},
	{"POST", "/v1/things"},
	{"POST", "/v1/things/build"},
	{"GET", "/v1/things/{}"},
	{"DELETE", "/v1/things/{}"},
	{"GET", "/v1/things/{}/parts/{}"},
};
#define N_SMALL (sizeof(small) / sizeof(small[0]))

static int find(const char *method, const char *path, struct uh_route_args *a, char *allow)
{
	return uh_route_find(small, N_SMALL, sizeof(small[0]), method, path, a, allow, 64);
}

static void test_match(void **state)
{
	struct uh_route_args a;
	char allow[64];

	assert_int_equal(find("GET", "/v1/things", &a, allow), 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(find("POST", "/v1/things", &a, allow), 1);
	/* a literal segment wins over "{}" because it comes first */
	assert_int_equal(find("POST", "/v1/things/build", &a, allow), 2);
	/* ... and the same path under GET is a name */
	assert_int_equal(find("GET", "/v1/things/build", &a, allow), 3);
	assert_string_equal(a.v[0], "build");
	assert_int_equal(find("DELETE", "/v1/things/web1", &a, allow), 4);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.v[0], "web1");
	assert_int_equal(find("GET", "/v1/things/web1/parts/disk", &a, allow), 5);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.v[1], "disk");
}

static void test_not_found(void **state)
{
	struct uh_route_args a;
	char allow[64], long_name[128];

	assert_int_equal(find("GET", "/v1/nothing", &a, allow), UH_ROUTE_NONE);
	assert_int_equal(find("GET", "/v1/things/", &a, allow), UH_ROUTE_NONE);	     /* empty */
	assert_int_equal(find("GET", "/v1/things/a/", &a, allow), UH_ROUTE_NONE);    /* trailing */
	assert_int_equal(find("GET", "/v1/things/a/b", &a, allow), UH_ROUTE_NONE);   /* deeper */
	assert_int_equal(find("GET", "/v1/thingsx", &a, allow), UH_ROUTE_NONE);      /* prefix */
	assert_int_equal(find("GET", "/v1/thing", &a, allow), UH_ROUTE_NONE);	     /* shorter */
	assert_int_equal(find("GET", "", &a, allow), UH_ROUTE_NONE);
	memset(long_name, 'a', 64);
	snprintf(long_name + 64, sizeof(long_name) - 64, "%s", "");
	{
		char path[160];

		snprintf(path, sizeof(path), "/v1/things/%s", long_name);
		assert_int_equal(find("GET", path, &a, allow), UH_ROUTE_NONE); /* 64 bytes: too long */
		path[strlen(path) - 1] = '\0';
		assert_int_equal(find("GET", path, &a, allow), 3); /* 63: fits */
	}
}

static void test_method(void **state)
{
	struct uh_route_args a;
	char allow[64];

	assert_int_equal(find("PUT", "/v1/things", &a, allow), UH_ROUTE_METHOD);
	assert_string_equal(allow, "GET, POST");
	assert_int_equal(find("POST", "/v1/things/web1", &a, allow), UH_ROUTE_METHOD);
	assert_string_equal(allow, "GET, DELETE");
	assert_int_equal(find("DELETE", "/v1/things/build", &a, allow), 4); /* a name again */
	assert_int_equal(find("get", "/v1/things", &a, allow), UH_ROUTE_METHOD);
}

/* The API's own table: every route reachable (none shadowed by an earlier one), only the
 * methods the API serves, and the routes the CLI uses are there. */
static void test_api_table(void **state)
{
	static const char *const used[][2] = {
		{"GET", "/v1/version"},
		{"GET", "/v1/instances"},
		{"POST", "/v1/instances"},
		{"GET", "/v1/instances/web1"},
		{"DELETE", "/v1/instances/web1"},
		{"GET", "/v1/instances/web1/logs"},
		{"GET", "/v1/instances/web1/stats"},
		{"POST", "/v1/instances/web1/start"},
		{"POST", "/v1/instances/web1/stop"},
		{"POST", "/v1/instances/web1/kill"},
		{"POST", "/v1/instances/web1/restart"},
		{"POST", "/v1/instances/web1/reboot"},
		{"POST", "/v1/instances/web1/backup"},
		{"POST", "/v1/instances/web1/flatten"},
		{"POST", "/v1/instances/web1/resize"},
		{"GET", "/v1/stats"},
		{"GET", "/v1/templates"},
		{"POST", "/v1/templates"},
		{"POST", "/v1/templates/build"},
		{"GET", "/v1/templates/deb"},
		{"GET", "/v1/templates/deb/log"},
		{"DELETE", "/v1/templates/deb"},
		{"GET", "/v1/kernels"},
		{"POST", "/v1/kernels"},
		{"GET", "/v1/kernels/hosting"},
		{"GET", "/v1/kernels/hosting/log"},
		{"DELETE", "/v1/kernels/hosting"},
		{"POST", "/v1/upgrade"},
		{"GET", "/v1/backups"},
		{"POST", "/v1/backups/restore"},
		{"POST", "/v1/backups/verify"},
		{"POST", "/v1/backups/prune"},
		{"GET", "/v1/networks"},
		{"POST", "/v1/networks"},
		{"DELETE", "/v1/networks/pub"},
		{"GET", "/v1/events"},
		{"GET", "/v1/whoami"},
		{"GET", "/metrics"},
		{"GET", "/v1/metrics"},
		{"GET", "/v1/servers"},
		{"GET", "/v1/servers/web1"},
		{"GET", "/v1/servers/web1/stats"},
		{"GET", "/v1/servers/web1/backups"},
		{"POST", "/v1/servers/web1/backups"},
		{"POST", "/v1/servers/web1/backups/web1-20261202T000000Z/restore"},
		{"POST", "/v1/servers/web1/console"},
		{"GET", "/v1/host"},
		{"POST", "/v1/fleet/plan"},
		{"POST", "/v1/fleet/apply"},
		{"GET", "/v1/fleet"},
		{"POST", "/ui/session"},
		{"GET", "/ui/session"},
		{"DELETE", "/ui/session"},
		{"GET", "/ui/app.js"},
		{"GET", "/v1/console"},
		{"POST", "/v1/servers/web1/actions/start"},
		{"GET", "/v1/customers"},
		{"POST", "/v1/customers"},
		{"DELETE", "/v1/customers/alice"},
		{"POST", "/v1/instances/web1/owner"},
		{"GET", "/v1/tokens"},
		{"POST", "/v1/tokens"},
		{"DELETE", "/v1/tokens/abcdefghij"},
	};
	size_t n, stride, i;
	const struct uh_route *t = uh_api_routes(&n, &stride);
	struct uh_route_args a;
	char allow[64];

	assert_int_equal(n, sizeof(used) / sizeof(used[0]));
	for (i = 0; i < n; i++) {
		const struct uh_route *r = (const void *)((const char *)t + i * stride);
		char path[256], *p;

		assert_true(strcmp(r->method, "GET") == 0 || strcmp(r->method, "POST") == 0 ||
			    strcmp(r->method, "DELETE") == 0);
		/* the API under /v1/; Prometheus's scrape path where Prometheus looks; the panel
		 * under /ui/ */
		assert_true(memcmp(r->pattern, "/v1/", 4) == 0 || strcmp(r->pattern, "/metrics") == 0 ||
			    memcmp(r->pattern, "/ui/", 4) == 0);
		/* the pattern with a name in each "{}" finds this very route */
		snprintf(path, sizeof(path), "%s", r->pattern);
		while ((p = strstr(path, "{}")) != NULL) {
			memmove(p + 1, p + 2, strlen(p + 2) + 1);
			*p = 'x';
		}
		assert_int_equal(uh_route_find(t, n, stride, r->method, path, &a, allow, 64), (int)i);
	}
	for (i = 0; i < sizeof(used) / sizeof(used[0]); i++)
		assert_true(uh_route_find(t, n, stride, used[i][0], used[i][1], &a, allow, 64) >= 0);
	assert_int_equal(uh_route_find(t, n, stride, "PUT", "/v1/instances", &a, allow, 64),
			 UH_ROUTE_METHOD);
	assert_string_equal(allow, "GET, POST");
	assert_int_equal(uh_route_find(t, n, stride, "POST", "/v1/instances/web1/stats", &a, allow,
				       64),
			 UH_ROUTE_METHOD);
	assert_string_equal(allow, "GET");
	assert_int_equal(uh_route_find(t, n, stride, "POST", "/v1/instances/web1/dance", &a, allow,
				       64),
			 UH_ROUTE_NONE);
	assert_int_equal(uh_route_find(t, n, stride, "GET", "/v1/networks/pub", &a, allow, 64),
			 UH_ROUTE_METHOD);
	assert_string_equal(allow, "DELETE");
}

/* The error table: each errno class its status and code; an unknown class 400 "failed" */
static void test_error_table(void **state)
{
	static const struct {
		int errnum, status;
		const char *code;
	} want[] = {
		{ENOENT, 404, "not_found"},	 {EEXIST, 409, "exists"},
		{EBUSY, 409, "busy"},		 {ECANCELED, 409, "failed"},
		{EACCES, 403, "permission_denied"}, {EPERM, 403, "permission_denied"},
		{ETIMEDOUT, 504, "timeout"},	 {ENOSPC, 507, "no_space"},
		{EBADMSG, 422, "verify_failed"}, {EINVAL, 400, "invalid"},
		{ENOEXEC, 400, "kernel_unusable"}, {EIO, 500, "failed"},
		{ESHUTDOWN, 503, "failed"},	 {ESTALE, 409, "conflict"},
		{0, 400, "failed"},
		{EMLINK, 400, "failed"},
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct uh_error e;
		json_t *body;

		uh_errc(&e, want[i].errnum, "message %zu", i);
		assert_int_equal(uh_api_error_status(&e), want[i].status);
		body = uh_api_error_body(&e, NULL);
		assert_string_equal(json_string_value(json_object_get(body, "code")), want[i].code);
		assert_string_equal(json_string_value(json_object_get(body, "error")), e.msg);
		json_decref(body);
		body = uh_api_error_body(&e, "usage");
		assert_string_equal(json_string_value(json_object_get(body, "code")), "usage");
		json_decref(body);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_method),
		cmocka_unit_test(test_api_table),
		cmocka_unit_test(test_error_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
