/* The WebSocket opening handshake's arithmetic (handshake.h): nettle's SHA-1 and base64. */
#include "ws/handshake.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <string.h>
#include <strings.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int uh_ws_accept(const char *key, char accept[UH_WS_ACCEPT_LEN])
{
	struct base64_decode_ctx dec;
	struct sha1_ctx sha;
	uint8_t raw[BASE64_DECODE_LENGTH(24) + 1], digest[SHA1_DIGEST_SIZE];
	size_t n = sizeof(raw);

	if (key == NULL || strlen(key) != 24)
		return -1;
	base64_decode_init(&dec);
	if (!base64_decode_update(&dec, &n, raw, 24, key) || !base64_decode_final(&dec) ||
	    n != 16)
		return -1;
	sha1_init(&sha);
	sha1_update(&sha, 24, (const uint8_t *)key);
	sha1_update(&sha, strlen(WS_GUID), (const uint8_t *)WS_GUID);
	sha1_digest(&sha, sizeof(digest), digest);
	base64_encode_raw(accept, sizeof(digest), digest);
	accept[UH_WS_ACCEPT_LEN - 1] = '\0';
	return 0;
}

int uh_ws_header_has(const char *value, const char *token)
{
	size_t tl = strlen(token);

	while (value && *value) {
		size_t n;

		value += strspn(value, " \t,");
		n = strcspn(value, ",");
		while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
			n--;
		if (n == tl && strncasecmp(value, token, tl) == 0)
			return 1;
		value += strcspn(value, ",");
	}
	return 0;
}
