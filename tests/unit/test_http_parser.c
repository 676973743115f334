/* Unit tests of the CLI's HTTP response parser: framing by length, chunks and EOF, fed whole
 * and one byte at a time; malformed responses rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "httpc/http_parser.h"

struct body {
	char data[256];
	size_t len;
	int status;
};

static int collect(int status, const char *d, size_t n, void *arg)
{
	struct body *b = arg;

	assert_true(b->len + n < sizeof(b->data));
	memcpy(b->data + b->len, d, n);
	b->len += n;
	b->status = status;
	return 0;
}

/* Parse `resp` whole, then byte by byte; both must give `body` and `status`. */
static void expect(const char *resp, int eof, int status, const char *body)
{
	struct uh_http_parser p;
	struct uh_error err;
	struct body b;
	size_t i, n = strlen(resp);
	int r = 0;

	for (int pass = 0; pass < 2; pass++) {
		memset(&b, 0, sizeof(b));
		uh_http_parser_init(&p);
		r = 0;
		if (pass == 0) {
			r = uh_http_parser_feed(&p, resp, n, collect, &b, &err);
		} else {
			for (i = 0; i < n && r == 0; i++)
				r = uh_http_parser_feed(&p, resp + i, 1, collect, &b, &err);
		}
		if (eof) {
			assert_int_equal(r, 0);
			r = uh_http_parser_eof(&p, &err);
		}
		assert_int_equal(r, 1);
		assert_int_equal(p.status, status);
		b.data[b.len] = '\0';
		assert_string_equal(b.data, body);
	}
}

static void test_framing(void **state)
{
	expect("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 0, 200, "hello");
	expect("HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\nX: y\r\n\r\n{}", 0, 404, "{}");
	expect("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
	       0, 200, "abc0123456789abcdef");
	expect("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n"
	       "Trailer: x\r\n\r\n",
	       0, 200, "hello");
	expect("HTTP/1.0 200 OK\r\n\r\nuntil the end", 1, 200, "until the end");
	expect("HTTP/1.1 201 Created\nContent-Length: 0\n\n", 0, 201, "");
}

static void expect_bad(const char *resp, const char *needle)
{
	struct uh_http_parser p;
	struct uh_error err;
	int r;

	uh_http_parser_init(&p);
	r = uh_http_parser_feed(&p, resp, strlen(resp), NULL, NULL, &err);
	if (r == 0)
		r = uh_http_parser_eof(&p, &err);
	assert_int_equal(r, -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.msg, needle);
}

static void test_malformed(void **state)
{
	expect_bad("SMTP 220 hi\r\n", "malformed HTTP status line");
	expect_bad("HTTP/1.1 2000 OK\r\n", "malformed HTTP status code");
	expect_bad("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length");
	expect_bad("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999\r\n\r\n", "Content-Length");
	expect_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "Transfer-Encoding");
	expect_bad("HTTP/1.1 200 OK\r\nbroken header\r\n\r\n", "malformed HTTP header");
	expect_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size");
	expect_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", "CRLF");
	expect_bad("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "middle of the response");
	expect_bad("", "without a response");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
