/* libFuzzer target: mconsole reply and notification datagrams come from a UML process that
 * runs guest-influenced code; the parsers must reject anything malformed without crashing. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mconsole/mconsole_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uh_mc_reply_chunk c;
	struct uh_mc_notify m;
	struct uh_error err;

	if (uh_mc_reply_parse(data, size, &c, &err) == 0) {
		if (c.len > UH_MC_MAX_DATA || strlen(c.data) != c.len)
			__builtin_trap();
	}
	if (uh_mc_notify_parse(data, size, &m, &err) == 0) {
		if (m.len > UH_MC_MAX_DATA || strlen(m.data) != m.len || m.type > 3)
			__builtin_trap();
		(void)uh_mc_notify_type_name(m.type);
	}
	return 0;
}
