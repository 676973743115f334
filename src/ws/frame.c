/* WebSocket framing for the server's side (frame.h). */
#include "ws/frame.h"

#include <stdlib.h>
#include <string.h>

#define CLIENT_HEADER_MAX 14 /* 2 + 8 (length) + 4 (mask) */

int uh_ws_reader_init(struct uh_ws_reader *r, size_t max_frame)
{
	memset(r, 0, sizeof(*r));
	r->max_frame = max_frame;
	r->cap = max_frame + CLIENT_HEADER_MAX;
	r->buf = malloc(r->cap);
	r->text = malloc(max_frame ? max_frame : 1);
	if (r->buf == NULL || r->text == NULL) {
		uh_ws_reader_free(r);
		return -1;
	}
	return 0;
}

void uh_ws_reader_free(struct uh_ws_reader *r)
{
	free(r->buf);
	free(r->text);
	r->buf = r->text = NULL;
	r->len = r->cap = 0;
}

/* what was handed out is dropped before anything else happens to the buffer */
static void compact(struct uh_ws_reader *r)
{
	if (r->consumed == 0)
		return;
	memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
	r->len -= r->consumed;
	r->consumed = 0;
}

size_t uh_ws_room(struct uh_ws_reader *r)
{
	compact(r);
	return r->close_code ? 0 : r->cap - r->len;
}

static int fail(struct uh_ws_reader *r, int code, const char *why)
{
	r->close_code = code;
	r->error = why;
	return -1;
}

int uh_ws_feed(struct uh_ws_reader *r, const uint8_t *data, size_t n)
{
	compact(r);
	if (r->close_code)
		return -1;
	if (n > r->cap - r->len)
		return fail(r, UH_WS_CLOSE_TOO_BIG, "more bytes than one frame may hold");
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	return 0;
}

static int close_code_valid(int c)
{
	/* 1004-1006 and 1015 are never sent; 1012-1014 are registered since; 3000-4999 are
	 * for libraries and applications */
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

int uh_ws_read(struct uh_ws_reader *r, struct uh_ws_msg *m)
{
	for (;;) {
		const uint8_t *b;
		uint64_t plen;
		size_t hl = 2;
		int fin, op;
		uint8_t *payload;

		compact(r);
		if (r->close_code)
			return -1;
		b = r->buf;
		if (r->len < 2)
			return 0;
		fin = b[0] & 0x80;
		op = b[0] & 0x0f;
		plen = b[1] & 0x7f;
		if (b[0] & 0x70)
			return fail(r, UH_WS_CLOSE_PROTOCOL, "reserved bits set (no extension was "
							     "negotiated)");
		if (op != UH_WS_CONT && op != UH_WS_TEXT && op != UH_WS_BINARY &&
		    op != UH_WS_CLOSE && op != UH_WS_PING && op != UH_WS_PONG)
			return fail(r, UH_WS_CLOSE_PROTOCOL, "unknown opcode");
		if (!(b[1] & 0x80))
			return fail(r, UH_WS_CLOSE_PROTOCOL, "a client's frame must be masked");
		if (plen == 126) {
			if (r->len < 4)
				return 0;
			plen = (uint64_t)b[2] << 8 | b[3];
			if (plen < 126)
				return fail(r, UH_WS_CLOSE_PROTOCOL, "length not in its shortest form");
			hl = 4;
		} else if (plen == 127) {
			if (r->len < 10)
				return 0;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = plen << 8 | b[2 + i];
			if (plen >> 63)
				return fail(r, UH_WS_CLOSE_PROTOCOL, "length's top bit set");
			if (plen <= 0xffff)
				return fail(r, UH_WS_CLOSE_PROTOCOL, "length not in its shortest form");
			hl = 10;
		}
		if (op >= UH_WS_CLOSE && !fin)
			return fail(r, UH_WS_CLOSE_PROTOCOL, "a control frame cannot be fragmented");
		if (op >= UH_WS_CLOSE && plen > 125)
			return fail(r, UH_WS_CLOSE_PROTOCOL, "a control frame longer than 125 bytes");
		if (plen > r->max_frame)
			return fail(r, UH_WS_CLOSE_TOO_BIG, "a frame larger than this server takes");
		hl += 4;
		if (r->len < hl + plen)
			return 0;
		payload = r->buf + hl;
		for (size_t i = 0; i < plen; i++)
			payload[i] ^= b[hl - 4 + (i & 3)];
		r->consumed = hl + (size_t)plen;
		memset(m, 0, sizeof(*m));
		m->data = payload;
		m->len = (size_t)plen;

		switch (op) {
		case UH_WS_CLOSE:
			m->close_code = 1005; /* none given */
			if (plen == 1)
				return fail(r, UH_WS_CLOSE_PROTOCOL, "a close frame of one byte");
			if (plen >= 2) {
				m->close_code = payload[0] << 8 | payload[1];
				if (!close_code_valid(m->close_code))
					return fail(r, UH_WS_CLOSE_PROTOCOL, "an invalid close code");
				if (!uh_ws_utf8_valid(payload + 2, (size_t)plen - 2))
					return fail(r, UH_WS_CLOSE_BAD_DATA,
						    "a close reason that is not UTF-8");
			}
			/* fall through */
		case UH_WS_PING:
		case UH_WS_PONG:
			m->opcode = (enum uh_ws_opcode)op;
			return 1;
		case UH_WS_CONT:
			if (!r->in_message)
				return fail(r, UH_WS_CLOSE_PROTOCOL, "a continuation outside a "
								     "fragmented message");
			if (r->in_message == UH_WS_BINARY) {
				if (fin)
					r->in_message = 0;
				m->opcode = UH_WS_BINARY;
				return 1;
			}
			if (plen > r->max_frame - r->text_len)
				return fail(r, UH_WS_CLOSE_TOO_BIG,
					    "a text message larger than this server takes");
			memcpy(r->text + r->text_len, payload, (size_t)plen);
			r->text_len += (size_t)plen;
			if (!fin)
				continue;
			r->in_message = 0;
			if (!uh_ws_utf8_valid(r->text, r->text_len))
				return fail(r, UH_WS_CLOSE_BAD_DATA, "a text message that is not UTF-8");
			m->opcode = UH_WS_TEXT;
			m->data = r->text;
			m->len = r->text_len;
			return 1;
		default: /* TEXT, BINARY */
			if (r->in_message)
				return fail(r, UH_WS_CLOSE_PROTOCOL, "a new message inside a "
								     "fragmented one");
			if (!fin) {
				r->in_message = op;
				if (op == UH_WS_BINARY) {
					m->opcode = UH_WS_BINARY;
					return 1;
				}
				memcpy(r->text, payload, (size_t)plen);
				r->text_len = (size_t)plen;
				continue;
			}
			if (op == UH_WS_TEXT && !uh_ws_utf8_valid(payload, (size_t)plen))
				return fail(r, UH_WS_CLOSE_BAD_DATA, "a text message that is not UTF-8");
			m->opcode = (enum uh_ws_opcode)op;
			return 1;
		}
	}
}

size_t uh_ws_header(uint8_t out[UH_WS_HEADER_MAX], enum uh_ws_opcode opcode, size_t len)
{
	out[0] = 0x80 | (uint8_t)opcode;
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

int uh_ws_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		uint32_t cp;
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return 0;
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}
