/* WebSocket framing (RFC 6455, section 5) for the server's side: a reader that takes a
 * client's bytes as they come and hands out whole messages, and the header of a frame the
 * server sends. Pure: no sockets, no allocation beyond the reader's own buffer; fuzzed.
 *
 * What the reader enforces, each a protocol error that closes the connection with its code:
 * no extension bits (we negotiate none), known opcodes only, client frames masked, control
 * frames final and at most 125 bytes, lengths in their shortest form and below 2^63, a
 * continuation only inside a fragmented message and no new message inside one, a close
 * frame's code (if any) valid; a frame or text message larger than the caller's limit closes
 * with 1009. Binary data is handed out frame by frame (a console's keystrokes need no
 * assembly); text messages (the JSON control frames) are assembled whole and must be UTF-8. */
#ifndef UH_WS_FRAME_H
#define UH_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum uh_ws_opcode {
	UH_WS_CONT = 0x0,
	UH_WS_TEXT = 0x1,
	UH_WS_BINARY = 0x2,
	UH_WS_CLOSE = 0x8,
	UH_WS_PING = 0x9,
	UH_WS_PONG = 0xa,
};

/* close codes (RFC 6455 7.4.1) */
#define UH_WS_CLOSE_NORMAL 1000
#define UH_WS_CLOSE_GOING_AWAY 1001
#define UH_WS_CLOSE_PROTOCOL 1002
#define UH_WS_CLOSE_BAD_DATA 1007
#define UH_WS_CLOSE_POLICY 1008
#define UH_WS_CLOSE_TOO_BIG 1009
#define UH_WS_CLOSE_ERROR 1011

#define UH_WS_HEADER_MAX 10 /* a server frame's header: no mask */

/* A message (or, for binary, one frame of one) handed out by the reader. Payload is
 * unmasked; it lives in the reader's buffer until the next call on the reader. For a close frame,
 * close_code is its code (1005 when it carried none). */
struct uh_ws_msg {
	enum uh_ws_opcode opcode; /* TEXT, BINARY, CLOSE, PING or PONG (never CONT) */
	const uint8_t *data;
	size_t len;
	int close_code;
};

struct uh_ws_reader {
	size_t max_frame; /* largest frame payload, and largest text message */
	uint8_t *buf;	  /* bytes received */
	size_t len, cap;
	size_t consumed;  /* of them, handed out (dropped at the next call) */
	uint8_t *text;	  /* a fragmented text message being assembled */
	size_t text_len;
	int in_message;	  /* 0, or the opcode of the fragmented message in progress */
	int close_code;	  /* the protocol error's code, once there was one */
	const char *error; /* and what it was */
};

/* max_frame: the largest payload (and text message) accepted. Returns -1 without memory. */
int uh_ws_reader_init(struct uh_ws_reader *r, size_t max_frame);
void uh_ws_reader_free(struct uh_ws_reader *r);

/* How many bytes uh_ws_feed takes now. Never 0 while no message is waiting to be read: the
 * buffer holds a whole frame. */
size_t uh_ws_room(struct uh_ws_reader *r);

/* Append n received bytes. Returns -1 (r->close_code 1009) when they do not fit: more than
 * one frame's worth is never held. */
int uh_ws_feed(struct uh_ws_reader *r, const uint8_t *data, size_t n);

/* The next message from what was fed: 1 and *m filled, 0 when more bytes are needed, -1 on
 * a protocol error (r->close_code and r->error say which; the reader stays failed). */
int uh_ws_read(struct uh_ws_reader *r, struct uh_ws_msg *m);

/* The header of a final, unmasked frame of opcode carrying len bytes; returns its size. */
size_t uh_ws_header(uint8_t out[UH_WS_HEADER_MAX], enum uh_ws_opcode opcode, size_t len);

/* Whether s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
int uh_ws_utf8_valid(const uint8_t *s, size_t n);

#endif
