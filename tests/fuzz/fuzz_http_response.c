/* libFuzzer target: the CLI's HTTP response parser, fed the input whole and in two pieces. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "httpc/http_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(int status, const char *d, size_t n, void *arg)
{
	*(size_t *)arg += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uh_http_parser p;
	struct uh_error err;
	size_t a = 0, b = 0, cut = size ? data[0] % (size + 1) : 0;
	int r1, r2;

	uh_http_parser_init(&p);
	r1 = uh_http_parser_feed(&p, (const char *)data, size, count, &a, &err);
	if (r1 == 0)
		r1 = uh_http_parser_eof(&p, &err);
	uh_http_parser_init(&p);
	r2 = uh_http_parser_feed(&p, (const char *)data, cut, count, &b, &err);
	if (r2 == 0)
		r2 = uh_http_parser_feed(&p, (const char *)data + cut, size - cut, count, &b, &err);
	if (r2 == 0)
		r2 = uh_http_parser_eof(&p, &err);
	/* splitting the input must not change the outcome */
	if (r1 != r2 || (r1 == 1 && a != b) || a > size)
		__builtin_trap();
	return 0;
}
