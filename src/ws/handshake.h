/* The WebSocket opening handshake's arithmetic (RFC 6455, section 4.2): checking a client's
 * Sec-WebSocket-Key and computing the Sec-WebSocket-Accept that answers it. Pure. */
#ifndef UH_WS_HANDSHAKE_H
#define UH_WS_HANDSHAKE_H

#define UH_WS_ACCEPT_LEN 29 /* 28 base64 characters of a SHA-1, and the NUL */

/* 0 and accept filled when key is the base64 of 16 bytes (24 characters); -1 otherwise. */
int uh_ws_accept(const char *key, char accept[UH_WS_ACCEPT_LEN]);

/* Whether a comma-separated header value (Connection: keep-alive, Upgrade) holds token,
 * compared without case. */
int uh_ws_header_has(const char *value, const char *token);

#endif
