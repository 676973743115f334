/* libFuzzer target: `proc meminfo` and `config mem` replies come from a guest's kernel, which
 * runs a customer's code; memory reclaim acts on what they say, so the parsers must reject
 * anything malformed without crashing and never report more free than total. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mconsole/guest_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uh_guest_mem m = {0};
	struct uh_error err;
	char *text = malloc(size + 1); /* the client's replies are NUL-terminated */

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (uh_guest_meminfo_parse(text, size, &m, &err) == 0 &&
	    (m.free > m.total || m.available > m.total))
		__builtin_trap();
	if (uh_guest_memconfig_parse(text, size, &m, &err) == 0 && m.unplugged > (1ULL << 50))
		__builtin_trap();
	free(text);
	return 0;
}
