/* The UBD copy-on-write header, version 3, exactly as arch/um/drivers/cow_user.c lays it out:
 * big-endian, packed: magic u32 "OOOM", version u32, mtime u32, size u64, sectorsize u32,
 * alignment u32, cow_format u32, backing_file[4096]. The bitmap follows at the header size
 * rounded up to `alignment`, one bit per sector, LSB first in each byte; the data area follows
 * at the end of the bitmap rounded up to `alignment`, sector i at data_offset + i * sectorsize.
 *
 * Pure code: no I/O, so the parser can be unit-tested and fuzzed. */
#ifndef UH_COW_HEADER_H
#define UH_COW_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define UH_COW_MAGIC 0x4f4f4f4dU /* "OOOM" on disk */
#define UH_COW_VERSION 3
#define UH_COW_PATH_LEN 4096
#define UH_COW_HEADER_SIZE (32 + UH_COW_PATH_LEN) /* packed v3 header: 4128 bytes */
/* Bytes a reader must offer the parser to tell every layout apart (v2 is the largest). */
#define UH_COW_HEADER_READ UH_COW_HEADER_SIZE
/* What uml_mkcow and the kernel's ubd driver write by default. */
#define UH_COW_DEFAULT_SECTORSIZE 512
#define UH_COW_DEFAULT_ALIGNMENT 4096

struct uh_cow_header {
	uint32_t version;
	uint32_t mtime; /* backing file's mtime, seconds, truncated to 32 bits like UML does */
	uint64_t size;	/* backing file's size in bytes */
	uint32_t sectorsize;
	uint32_t alignment;
	uint32_t cow_format;
	char backing_file[UH_COW_PATH_LEN]; /* NUL-terminated */
	/* derived layout */
	uint64_t bitmap_offset;
	uint64_t bitmap_len;
	uint64_t data_offset;
	uint64_t sectors; /* number of sectors (bits in the bitmap that matter) */
};

/* Parse and validate a header from the first `len` bytes of a file. Rejects versions 1 and 2
 * and the broken pre-2005 64-bit v3 layout with a message naming the problem. */
int uh_cow_header_parse(const uint8_t *buf, size_t len, struct uh_cow_header *h,
			struct uh_error *err);

/* Fill the derived layout fields (bitmap_offset, bitmap_len, data_offset, sectors) from
 * size, sectorsize and alignment; validates them. */
int uh_cow_header_layout(struct uh_cow_header *h, struct uh_error *err);

/* Serialise the v3 header (UH_COW_HEADER_SIZE bytes, unused path bytes zero). */
void uh_cow_header_encode(const struct uh_cow_header *h, uint8_t out[UH_COW_HEADER_SIZE]);

/* Bitmap helpers (LSB first within a byte, as ubd_kern.c's ubd_test_bit). */
static inline int uh_cow_bit(const uint8_t *bitmap, uint64_t bit)
{
	return (bitmap[bit / 8] >> (bit % 8)) & 1;
}

/* Find the next run of set bits in bitmap[0..nbits) starting at *pos. On success returns 1
 * and sets [*start, *end); returns 0 when no set bit remains. */
int uh_cow_bitmap_next_run(const uint8_t *bitmap, uint64_t nbits, uint64_t pos, uint64_t *start,
			   uint64_t *end);

/* Number of set bits among the first nbits bits. */
uint64_t uh_cow_bitmap_count(const uint8_t *bitmap, uint64_t nbits);

#endif
