#include "httpc/http_parser.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	S_STATUS,
	S_HEADER,
	S_BODY_LENGTH,
	S_BODY_EOF,
	S_CHUNK_SIZE,
	S_CHUNK_DATA,
	S_CHUNK_CRLF,
	S_TRAILER,
	S_DONE,
};

#define MAX_HEADER_BYTES (64 * 1024)

void uh_http_parser_init(struct uh_http_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = S_STATUS;
	p->content_length = -1;
}

static int parse_status(struct uh_http_parser *p, const char *l, struct uh_error *err)
{
	char *end;
	long code;

	if (strncmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ')
		return uh_errx(err, "malformed HTTP status line");
	code = strtol(l + 9, &end, 10);
	if (end != l + 12 || code < 100 || code > 599 || (*end != ' ' && *end != '\0'))
		return uh_errx(err, "malformed HTTP status code");
	p->status = (int)code;
	return 0;
}

static int parse_header(struct uh_http_parser *p, char *l, struct uh_error *err)
{
	char *colon = strchr(l, ':'), *v;

	if (colon == NULL || colon == l)
		return uh_errx(err, "malformed HTTP header");
	*colon = '\0';
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (strcasecmp(l, "Content-Length") == 0) {
		char *end;
		long long n;

		if (!isdigit((unsigned char)*v))
			return uh_errx(err, "malformed Content-Length");
		n = strtoll(v, &end, 10);
		if (*end != '\0' || n < 0 || n > (1LL << 40))
			return uh_errx(err, "malformed Content-Length");
		p->content_length = n;
	} else if (strcasecmp(l, "Transfer-Encoding") == 0) {
		if (strcasecmp(v, "chunked") != 0)
			return uh_errx(err, "unsupported Transfer-Encoding '%.40s'", v);
		p->chunked = 1;
	}
	return 0;
}

/* Begin the body once the headers end. */
static void headers_done(struct uh_http_parser *p)
{
	if (p->chunked) {
		p->state = S_CHUNK_SIZE;
	} else if (p->content_length >= 0) {
		p->remaining = (uint64_t)p->content_length;
		p->state = p->remaining ? S_BODY_LENGTH : S_DONE;
	} else if (p->status == 204 || p->status == 304 || p->status < 200) {
		p->state = S_DONE;
	} else {
		p->state = S_BODY_EOF;
	}
}

static int parse_chunk_size(struct uh_http_parser *p, const char *l, struct uh_error *err)
{
	uint64_t n = 0;
	const char *c = l;

	if (!isxdigit((unsigned char)*c))
		return uh_errx(err, "malformed chunk size");
	for (; isxdigit((unsigned char)*c); c++) {
		if (n >> 56)
			return uh_errx(err, "chunk size too large");
		n = n * 16 + (uint64_t)(isdigit((unsigned char)*c) ? *c - '0'
								    : (tolower((unsigned char)*c) - 'a' + 10));
	}
	if (*c != '\0' && *c != ';' && *c != ' ')
		return uh_errx(err, "malformed chunk size");
	p->remaining = n;
	p->state = n ? S_CHUNK_DATA : S_TRAILER;
	return 0;
}

/* A complete line (CRLF stripped) in a line-based state. */
static int on_line(struct uh_http_parser *p, char *l, struct uh_error *err)
{
	switch (p->state) {
	case S_STATUS:
		if (parse_status(p, l, err) < 0)
			return -1;
		p->state = S_HEADER;
		return 0;
	case S_HEADER:
		if (*l == '\0') {
			headers_done(p);
			return 0;
		}
		return parse_header(p, l, err);
	case S_CHUNK_SIZE:
		return parse_chunk_size(p, l, err);
	case S_CHUNK_CRLF:
		if (*l != '\0')
			return uh_errx(err, "missing CRLF after a chunk");
		p->state = S_CHUNK_SIZE;
		return 0;
	case S_TRAILER:
		if (*l == '\0')
			p->state = S_DONE;
		return 0;
	}
	return uh_errx(err, "internal HTTP parser state");
}

int uh_http_parser_feed(struct uh_http_parser *p, const char *data, size_t len, uh_http_body_fn fn,
			void *arg, struct uh_error *err)
{
	size_t i = 0;

	while (i < len) {
		if (p->state == S_DONE)
			return 1;
		if (p->state == S_BODY_LENGTH || p->state == S_CHUNK_DATA || p->state == S_BODY_EOF) {
			size_t n = len - i;

			if (p->state != S_BODY_EOF && n > p->remaining)
				n = (size_t)p->remaining;
			if (fn && fn(p->status, data + i, n, arg) != 0)
				return 2;
			i += n;
			if (p->state == S_BODY_EOF)
				continue;
			p->remaining -= n;
			if (p->remaining == 0)
				p->state = p->state == S_BODY_LENGTH ? S_DONE : S_CHUNK_CRLF;
			continue;
		}
		/* line-based states */
		{
			char c = data[i++];

			if (p->state == S_STATUS || p->state == S_HEADER) {
				if (++p->header_bytes > MAX_HEADER_BYTES)
					return uh_errx(err, "HTTP headers too large");
			}
			if (c == '\n') {
				if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
					p->line_len--;
				p->line[p->line_len] = '\0';
				p->line_len = 0;
				if (on_line(p, p->line, err) < 0)
					return -1;
				continue;
			}
			if (c == '\0')
				return uh_errx(err, "NUL in an HTTP line");
			if (p->line_len + 1 >= sizeof(p->line))
				return uh_errx(err, "HTTP line too long");
			p->line[p->line_len++] = c;
		}
	}
	return p->state == S_DONE ? 1 : 0;
}

int uh_http_parser_eof(struct uh_http_parser *p, struct uh_error *err)
{
	if (p->state == S_DONE || p->state == S_BODY_EOF)
		return 1;
	if (p->state == S_STATUS && p->line_len == 0 && p->header_bytes == 0)
		return uh_errx(err, "the connection closed without a response");
	return uh_errx(err, "the connection closed in the middle of the response");
}
