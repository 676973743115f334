/* An incremental HTTP/1.1 response parser for the CLI's API client: status line, headers,
 * then a body framed by Content-Length, chunked transfer encoding, or the connection's end.
 * Pure (no I/O) so it is unit-tested and fuzzed. Only what umlhostd sends is needed, but
 * anything malformed is rejected with a message, never trusted. */
#ifndef UH_HTTPC_PARSER_H
#define UH_HTTPC_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define UH_HTTP_LINE_MAX 8192

/* Body bytes, with the response status (known by then). */
typedef int (*uh_http_body_fn)(int status, const char *data, size_t len, void *arg);

struct uh_http_parser {
	int state;
	int status;
	int chunked;
	int64_t content_length; /* -1: until the connection closes */
	uint64_t remaining;	/* of the current chunk or of the body */
	char line[UH_HTTP_LINE_MAX];
	size_t line_len;
	size_t header_bytes;
};

void uh_http_parser_init(struct uh_http_parser *p);
/* Feed bytes; body bytes go to fn (a non-zero return stops with 2). Returns 0 when more input
 * is needed, 1 when the response is complete, 2 when fn stopped it, -1 on a malformed one. */
int uh_http_parser_feed(struct uh_http_parser *p, const char *data, size_t len, uh_http_body_fn fn,
			void *arg, struct uh_error *err);
/* The connection ended: complete when the body runs to the end, an error otherwise. */
int uh_http_parser_eof(struct uh_http_parser *p, struct uh_error *err);

#endif
