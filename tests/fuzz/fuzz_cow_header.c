/* libFuzzer target: the COW header parser and the bitmap walkers get arbitrary bytes (a COW
 * file is user-supplied: `umlhost cow info/merge` and backups open whatever they are given). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cow/cow_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uh_cow_header h;
	struct uh_error err;
	uint64_t s, e, pos = 0, n = 0;

	if (uh_cow_header_parse(data, size, &h, &err) == 0) {
		/* a parsed header must have a consistent layout */
		if (h.bitmap_offset < UH_COW_HEADER_SIZE || h.data_offset < h.bitmap_offset ||
		    h.bitmap_len * 8 < h.sectors || h.backing_file[UH_COW_PATH_LEN - 1] != '\0')
			__builtin_trap();
	}
	/* treat the input as a bitmap too */
	while (uh_cow_bitmap_next_run(data, (uint64_t)size * 8, pos, &s, &e)) {
		if (s >= e || s < pos || e > (uint64_t)size * 8)
			__builtin_trap();
		n += e - s;
		pos = e;
	}
	if (n != uh_cow_bitmap_count(data, (uint64_t)size * 8))
		__builtin_trap();
	return 0;
}
