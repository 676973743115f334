/* libFuzzer target: what a WebSocket client controls (src/ws): the bytes of its frames, fed
 * in pieces whose sizes the input's first byte chooses, as recv() would hand them over. Every
 * message handed out must be of a kind the reader promises (never a continuation), lie inside
 * the limit, and be UTF-8 when it is text; after a refusal the reader stays refused with a
 * close code the protocol allows. The client key of the handshake is fuzzed too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws/frame.h"
#include "ws/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uh_ws_reader r;
	struct uh_ws_msg m;
	size_t step, off = 1;
	char key[25], accept[UH_WS_ACCEPT_LEN];
	int k = 0;

	if (size < 1 || uh_ws_reader_init(&r, 4096) < 0)
		return 0;
	step = (size_t)(data[0] % 64) + 1;
	while (off < size && k >= 0) {
		size_t room = uh_ws_room(&r), n = size - off;

		if (n > step)
			n = step;
		if (n > room)
			n = room;
		if (n == 0 || uh_ws_feed(&r, data + off, n) < 0)
			break;
		off += n;
		while ((k = uh_ws_read(&r, &m)) == 1) {
			if (m.opcode == UH_WS_CONT || m.len > 4096)
				abort();
			if (m.opcode == UH_WS_TEXT && !uh_ws_utf8_valid(m.data, m.len))
				abort();
			if (m.opcode >= UH_WS_CLOSE && m.len > 125)
				abort();
		}
	}
	if (k < 0 && (r.close_code < 1000 || r.close_code > 1011 || r.error == NULL ||
		      uh_ws_read(&r, &m) != -1))
		abort();
	uh_ws_reader_free(&r);
	if (size >= 24) {
		memcpy(key, data, 24);
		key[24] = '\0';
		if (uh_ws_accept(key, accept) == 0 && strlen(accept) != 28)
			abort();
	}
	return 0;
}
