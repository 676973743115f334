/* Unit tests of the WebSocket framing and handshake (src/ws): RFC 6455's own examples (the
 * handshake's accept key, the masked "Hello", the fragmented text, the ping), the header the
 * server writes for each length class, and every refusal of the reader with its close code:
 * an unmasked frame, reserved bits, an unknown opcode, a fragmented or long control frame, a
 * length not in its shortest form or with its top bit set, a frame past the limit, a
 * continuation outside a message, a message inside one, text that is not UTF-8, a bad close
 * code. Bytes arriving one at a time give the same messages as arriving at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ws/frame.h"
#include "ws/handshake.h"

static void test_accept(void **state)
{
	char a[UH_WS_ACCEPT_LEN];

	/* RFC 6455 section 1.3 */
	assert_int_equal(uh_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", a), 0);
	assert_string_equal(a, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(uh_ws_accept(NULL, a), -1);
	assert_int_equal(uh_ws_accept("", a), -1);
	assert_int_equal(uh_ws_accept("dGhlIHNhbXBsZSBub25jZQ=", a), -1);   /* 23 characters */
	assert_int_equal(uh_ws_accept("dGhlIHNhbXBsZSBub25jZQ!!", a), -1);  /* not base64 */
	assert_int_equal(uh_ws_accept("dGhlIHNhbXBsZSBub25jZQAA", a), -1);  /* 18 bytes */
	assert_true(uh_ws_header_has("keep-alive, Upgrade", "upgrade"));
	assert_true(uh_ws_header_has("websocket", "websocket"));
	assert_false(uh_ws_header_has("websockets", "websocket"));
	assert_false(uh_ws_header_has("keep-alive", "upgrade"));
	assert_false(uh_ws_header_has(NULL, "upgrade"));
}

static struct uh_ws_reader rd;

static int setup(void **state)
{
	return uh_ws_reader_init(&rd, 1024);
}

static int teardown(void **state)
{
	uh_ws_reader_free(&rd);
	return 0;
}

/* feed all, read one */
static int one(const uint8_t *b, size_t n, struct uh_ws_msg *m)
{
	assert_int_equal(uh_ws_feed(&rd, b, n), 0);
	return uh_ws_read(&rd, m);
}

static void test_rfc_examples(void **state)
{
	/* 5.7: a masked "Hello" */
	static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					0x7f, 0x9f, 0x4d, 0x51, 0x58};
	/* a fragmented unmasked "Hel" "lo", masked here with a zero mask */
	static const uint8_t frag[] = {0x01, 0x83, 0, 0, 0, 0, 'H', 'e', 'l',
				       0x80, 0x82, 0, 0, 0, 0, 'l', 'o'};
	/* a ping with "Hello" between the fragments */
	static const uint8_t ping[] = {0x89, 0x85, 0, 0, 0, 0, 'H', 'e', 'l', 'l', 'o'};
	struct uh_ws_msg m;

	assert_int_equal(one(hello, sizeof(hello), &m), 1);
	assert_int_equal(m.opcode, UH_WS_TEXT);
	assert_int_equal(m.len, 5);
	assert_memory_equal(m.data, "Hello", 5);
	assert_int_equal(uh_ws_read(&rd, &m), 0);

	assert_int_equal(uh_ws_feed(&rd, frag, 9), 0);
	assert_int_equal(uh_ws_feed(&rd, ping, sizeof(ping)), 0);
	assert_int_equal(uh_ws_feed(&rd, frag + 9, 8), 0);
	assert_int_equal(uh_ws_read(&rd, &m), 1);
	assert_int_equal(m.opcode, UH_WS_PING);
	assert_memory_equal(m.data, "Hello", 5);
	assert_int_equal(uh_ws_read(&rd, &m), 1);
	assert_int_equal(m.opcode, UH_WS_TEXT);
	assert_int_equal(m.len, 5);
	assert_memory_equal(m.data, "Hello", 5);
	assert_int_equal(uh_ws_read(&rd, &m), 0);
}

static void test_byte_by_byte(void **state)
{
	uint8_t f[2 + 2 + 4 + 300];
	struct uh_ws_msg m;
	int got = 0;

	f[0] = 0x82;
	f[1] = 0x80 | 126;
	f[2] = 300 >> 8;
	f[3] = 300 & 0xff;
	memcpy(f + 4, "\x01\x02\x03\x04", 4);
	for (int i = 0; i < 300; i++)
		f[8 + i] = (uint8_t)(i ^ (0x01 + (i & 3)));
	for (size_t i = 0; i < sizeof(f); i++) {
		assert_int_equal(uh_ws_feed(&rd, f + i, 1), 0);
		int k = uh_ws_read(&rd, &m);
		assert_int_equal(k, i + 1 == sizeof(f));
		got += k;
	}
	assert_int_equal(got, 1);
	assert_int_equal(m.opcode, UH_WS_BINARY);
	assert_int_equal(m.len, 300);
	for (int i = 0; i < 300; i++)
		assert_int_equal(m.data[i], (uint8_t)i);
}

static void refused(const uint8_t *b, size_t n, int code)
{
	struct uh_ws_msg m;
	struct uh_ws_reader r;

	assert_int_equal(uh_ws_reader_init(&r, 1024), 0);
	assert_int_equal(uh_ws_feed(&r, b, n), 0);
	assert_int_equal(uh_ws_read(&r, &m), -1);
	assert_int_equal(r.close_code, code);
	assert_non_null(r.error);
	assert_int_equal(uh_ws_read(&r, &m), -1); /* stays failed */
	assert_int_equal(uh_ws_room(&r), 0);
	uh_ws_reader_free(&r);
}

static void test_refusals(void **state)
{
	static const uint8_t unmasked[] = {0x81, 0x01, 'a'};
	static const uint8_t rsv[] = {0xc1, 0x81, 0, 0, 0, 0, 'a'};
	static const uint8_t opcode[] = {0x83, 0x80, 0, 0, 0, 0};
	static const uint8_t ctl_frag[] = {0x09, 0x80, 0, 0, 0, 0};
	static const uint8_t ctl_long[] = {0x89, 0xfe, 0, 126};
	static const uint8_t short16[] = {0x82, 0xfe, 0, 125};
	static const uint8_t short64[] = {0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t top[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 1, 0, 0};
	static const uint8_t big[] = {0x82, 0xfe, 0x04, 0x01}; /* 1025 > 1024 */
	static const uint8_t cont[] = {0x80, 0x80, 0, 0, 0, 0};
	static const uint8_t inside[] = {0x01, 0x81, 0, 0, 0, 0, 'a', 0x81, 0x81, 0, 0, 0, 0, 'b'};
	static const uint8_t bad_utf8[] = {0x81, 0x82, 0, 0, 0, 0, 0xc0, 0x80};
	static const uint8_t surrogate[] = {0x81, 0x83, 0, 0, 0, 0, 0xed, 0xa0, 0x80};
	static const uint8_t close1[] = {0x88, 0x81, 0, 0, 0, 0, 0x03};
	static const uint8_t close_code[] = {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xed}; /* 1005 */

	refused(unmasked, sizeof(unmasked), UH_WS_CLOSE_PROTOCOL);
	refused(rsv, sizeof(rsv), UH_WS_CLOSE_PROTOCOL);
	refused(opcode, sizeof(opcode), UH_WS_CLOSE_PROTOCOL);
	refused(ctl_frag, sizeof(ctl_frag), UH_WS_CLOSE_PROTOCOL);
	refused(ctl_long, sizeof(ctl_long), UH_WS_CLOSE_PROTOCOL);
	refused(short16, sizeof(short16), UH_WS_CLOSE_PROTOCOL);
	refused(short64, sizeof(short64), UH_WS_CLOSE_PROTOCOL);
	refused(top, sizeof(top), UH_WS_CLOSE_PROTOCOL);
	refused(big, sizeof(big), UH_WS_CLOSE_TOO_BIG);
	refused(cont, sizeof(cont), UH_WS_CLOSE_PROTOCOL);
	refused(inside, sizeof(inside), UH_WS_CLOSE_PROTOCOL);
	refused(bad_utf8, sizeof(bad_utf8), UH_WS_CLOSE_BAD_DATA);
	refused(surrogate, sizeof(surrogate), UH_WS_CLOSE_BAD_DATA);
	refused(close1, sizeof(close1), UH_WS_CLOSE_PROTOCOL);
	refused(close_code, sizeof(close_code), UH_WS_CLOSE_PROTOCOL);
}

static void test_close_and_text_limit(void **state)
{
	static const uint8_t close_ok[] = {0x88, 0x84, 0, 0, 0, 0, 0x03, 0xe8, 'o', 'k'};
	static const uint8_t close_none[] = {0x88, 0x80, 0, 0, 0, 0};
	uint8_t frag[2 + 2 + 4 + 600];
	struct uh_ws_msg m;

	assert_int_equal(one(close_ok, sizeof(close_ok), &m), 1);
	assert_int_equal(m.opcode, UH_WS_CLOSE);
	assert_int_equal(m.close_code, 1000);
	assert_int_equal(one(close_none, sizeof(close_none), &m), 1);
	assert_int_equal(m.close_code, 1005);

	/* two text fragments of 600: 1200 > the 1024 a message may hold */
	memset(frag, 'x', sizeof(frag));
	frag[0] = 0x01;
	frag[1] = 0x80 | 126;
	frag[2] = 600 >> 8;
	frag[3] = 600 & 0xff;
	memset(frag + 4, 0, 4);
	assert_int_equal(one(frag, sizeof(frag), &m), 0);
	frag[0] = 0x80;
	assert_int_equal(one(frag, sizeof(frag), &m), -1);
	assert_int_equal(rd.close_code, UH_WS_CLOSE_TOO_BIG);
}

static void test_header(void **state)
{
	uint8_t h[UH_WS_HEADER_MAX];

	assert_int_equal(uh_ws_header(h, UH_WS_BINARY, 0), 2);
	assert_int_equal(h[0], 0x82);
	assert_int_equal(h[1], 0);
	assert_int_equal(uh_ws_header(h, UH_WS_TEXT, 125), 2);
	assert_int_equal(h[1], 125);
	assert_int_equal(uh_ws_header(h, UH_WS_TEXT, 126), 4);
	assert_int_equal(h[1], 126);
	assert_int_equal(h[2] << 8 | h[3], 126);
	assert_int_equal(uh_ws_header(h, UH_WS_BINARY, 65535), 4);
	assert_int_equal(uh_ws_header(h, UH_WS_BINARY, 65536), 10);
	assert_int_equal(h[1], 127);
	assert_int_equal(h[7], 1);
	assert_int_equal(h[8], 0);
	assert_int_equal(h[9], 0);
}

static void test_utf8(void **state)
{
	assert_true(uh_ws_utf8_valid((const uint8_t *)"", 0));
	assert_true(uh_ws_utf8_valid((const uint8_t *)"h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
	assert_false(uh_ws_utf8_valid((const uint8_t *)"\xc3", 1));	      /* cut */
	assert_false(uh_ws_utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3));     /* overlong */
	assert_false(uh_ws_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(uh_ws_utf8_valid((const uint8_t *)"\xff", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept),
		cmocka_unit_test_setup_teardown(test_rfc_examples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_by_byte, setup, teardown),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test_setup_teardown(test_close_and_text_limit, setup, teardown),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
