/* Unit tests of the mconsole wire format: requests, reply datagrams, notifications. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mconsole/mconsole_proto.h"

static size_t make_reply(uint8_t *buf, uint32_t e, uint32_t more, const char *text)
{
	uint32_t len = (uint32_t)strlen(text) + 1; /* the kernel counts the NUL */

	memcpy(buf, &e, 4);
	memcpy(buf + 4, &more, 4);
	memcpy(buf + 8, &len, 4);
	memcpy(buf + 12, text, len);
	return 12 + len;
}

static void test_request(void **state)
{
	struct uh_mc_request r;
	struct uh_error err;
	char big[600];

	assert_int_equal(uh_mc_request_build(&r, "proc meminfo", &err), 0);
	assert_int_equal(r.magic, 0xcafebabe);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.len, 12);
	assert_memory_equal(r.data, "proc meminfo", 12);
	assert_int_equal(sizeof(r), 524);

	memset(big, 'x', sizeof(big));
	big[511] = '\0';
	assert_int_equal(uh_mc_request_build(&r, big, &err), 0);
	big[511] = 'x';
	big[512] = '\0';
	assert_int_equal(uh_mc_request_build(&r, big, &err), -1);
	assert_non_null(strstr(err.msg, "limit is 511"));
	assert_int_equal(uh_mc_request_build(&r, "", &err), -1);
}

static void test_reply_ok(void **state)
{
	struct uh_mc_reply_chunk c;
	struct uh_error err;
	uint8_t buf[600];
	size_t n = make_reply(buf, 0, 1, "MemTotal: 1 kB\n");

	assert_int_equal(uh_mc_reply_parse(buf, n, &c, &err), 0);
	assert_int_equal(c.err, 0);
	assert_int_equal(c.more, 1);
	assert_int_equal(c.len, 15);
	assert_string_equal(c.data, "MemTotal: 1 kB\n");

	n = make_reply(buf, 1, 0, "Unknown command");
	assert_int_equal(uh_mc_reply_parse(buf, n, &c, &err), 0);
	assert_int_equal(c.err, 1);
	assert_string_equal(c.data, "Unknown command");

	/* `remove` of a missing device answers err = -ENODEV with no text */
	n = make_reply(buf, (uint32_t)-19, 0, "");
	assert_int_equal(uh_mc_reply_parse(buf, n, &c, &err), 0);
	assert_int_not_equal(c.err, 0);
	assert_int_equal(c.len, 0);
}

static void expect_reply_error(const uint8_t *buf, size_t n, const char *needle)
{
	struct uh_mc_reply_chunk c;
	struct uh_error err;

	assert_int_equal(uh_mc_reply_parse(buf, n, &c, &err), -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.msg, needle);
}

static void test_reply_bad(void **state)
{
	uint8_t buf[700] = {0};
	uint32_t v;
	size_t n;

	expect_reply_error(buf, 5, "short mconsole reply");
	expect_reply_error(buf, 600, "oversized mconsole reply");
	n = make_reply(buf, 0, 0, "hello");
	expect_reply_error(buf, n - 3, "truncated");
	v = 513;
	memcpy(buf + 8, &v, 4);
	expect_reply_error(buf, n, "claims 513 bytes");
	v = 0xcafebabe;
	memcpy(buf, &v, 4);
	expect_reply_error(buf, n, "wrong magic");
	n = make_reply(buf, 0, 7, "x");
	expect_reply_error(buf, n, "malformed");
}

static void test_notify(void **state)
{
	uint8_t buf[600] = {0};
	struct uh_mc_notify m;
	struct uh_error err;
	uint32_t hdr[4] = {0xcafebabe, 2, 0, 0};
	const char *path = "/run/umlhost/web1/mconsole";

	hdr[3] = (uint32_t)strlen(path) + 1;
	memcpy(buf, hdr, 16);
	memcpy(buf + 16, path, hdr[3]);
	assert_int_equal(uh_mc_notify_parse(buf, 16 + hdr[3], &m, &err), 0);
	assert_int_equal(m.type, UH_MC_NOTIFY_SOCKET);
	assert_string_equal(m.data, path);
	assert_string_equal(uh_mc_notify_type_name(m.type), "socket");

	hdr[2] = 1; /* panic */
	memcpy(buf, hdr, 16);
	assert_int_equal(uh_mc_notify_parse(buf, 16 + hdr[3], &m, &err), 0);
	assert_string_equal(uh_mc_notify_type_name(m.type), "panic");

	hdr[2] = 9;
	memcpy(buf, hdr, 16);
	assert_int_equal(uh_mc_notify_parse(buf, 16 + hdr[3], &m, &err), -1);
	hdr[2] = 3;
	hdr[0] = 0xdeadbeef;
	memcpy(buf, hdr, 16);
	assert_int_equal(uh_mc_notify_parse(buf, 16 + hdr[3], &m, &err), -1);
	assert_non_null(strstr(err.msg, "wrong magic"));
	hdr[0] = 0xcafebabe;
	memcpy(buf, hdr, 16);
	assert_int_equal(uh_mc_notify_parse(buf, 16 + hdr[3] - 1, &m, &err), -1);
	assert_int_equal(uh_mc_notify_parse(buf, 8, &m, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_reply_ok),
		cmocka_unit_test(test_reply_bad),
		cmocka_unit_test(test_notify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
