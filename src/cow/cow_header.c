#include "cow/cow_header.h"

#include <endian.h>
#include <string.h>

/* Layout offsets of the packed v3 header. */
#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_MTIME 8
#define OFF_SIZE 12
#define OFF_SECTORSIZE 20
#define OFF_ALIGNMENT 24
#define OFF_FORMAT 28
#define OFF_BACKING 32
/* Largest alignment we accept: UML itself only ever writes 512 or 4096. */
#define MAX_ALIGNMENT (1U << 20)
/* Keep every offset computation far from 64-bit overflow: 2^56 bytes = 64 PiB. */
#define MAX_SIZE (1ULL << 56)

static uint32_t get_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

static void put_be64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

static int is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static uint64_t round_up(uint64_t x, uint64_t align)
{
	return (x + align - 1) / align * align;
}

int uh_cow_header_layout(struct uh_cow_header *h, struct uh_error *err)
{
	if (!is_pow2(h->sectorsize) || h->sectorsize < 512 || h->sectorsize > 65536)
		return uh_errx(err, "invalid COW header: sector size %u (expected a power of two "
				    "from 512 to 65536)",
			       h->sectorsize);
	if (!is_pow2(h->alignment) || h->alignment > MAX_ALIGNMENT)
		return uh_errx(err, "invalid COW header: alignment %u (expected a power of two "
				    "up to %u)",
			       h->alignment, MAX_ALIGNMENT);
	if (h->size == 0 || h->size > MAX_SIZE)
		return uh_errx(err, "invalid COW header: disk size %llu bytes",
			       (unsigned long long)h->size);
	h->sectors = (h->size + h->sectorsize - 1) / h->sectorsize;
	h->bitmap_len = (h->sectors + 7) / 8;
	h->bitmap_offset = round_up(UH_COW_HEADER_SIZE, h->alignment);
	h->data_offset = round_up(h->bitmap_offset + h->bitmap_len, h->alignment);
	return 0;
}

int uh_cow_header_parse(const uint8_t *buf, size_t len, struct uh_cow_header *h,
			struct uh_error *err)
{
	uint32_t magic_be, version;
	const char *path;
	size_t plen;

	memset(h, 0, sizeof(*h));
	if (len < OFF_BACKING)
		return uh_errx(err, "not a COW file: only %zu bytes", len);
	magic_be = get_be32(buf + OFF_MAGIC);
	if (magic_be == UH_COW_MAGIC)
		version = get_be32(buf + OFF_VERSION);
	else if (get_le32(buf + OFF_MAGIC) == UH_COW_MAGIC)
		/* v1 files were written in host order; the kernel still reads them */
		version = get_le32(buf + OFF_VERSION);
	else
		return uh_errx(err, "not a COW file (no \"OOOM\" magic)");

	if (version == 1 || version == 2)
		return uh_errx(err, "COW version %u is not supported, only version 3 (merge it "
				    "with uml_moo first)",
			       version);
	if (version != UH_COW_VERSION)
		return uh_errx(err, "unknown COW version %u", version);
	if (len < UH_COW_HEADER_SIZE)
		return uh_errx(err, "truncated COW header: %zu of %d bytes", len,
			       UH_COW_HEADER_SIZE);
	/* Until Dec 2005 some 64-bit builds wrote v3 unpacked: mtime became 8 bytes and
	 * cow_format (always 0) landed on the first 4 bytes of backing_file, where a real
	 * absolute path can never have four NULs. That is how the kernel detects it too. */
	if (memcmp(buf + OFF_BACKING, "\0\0\0\0", 4) == 0)
		return uh_errx(err, "broken pre-2005 64-bit COW v3 layout is not supported "
				    "(merge it with uml_moo first)");

	h->version = version;
	h->mtime = get_be32(buf + OFF_MTIME);
	h->size = get_be64(buf + OFF_SIZE);
	h->sectorsize = get_be32(buf + OFF_SECTORSIZE);
	h->alignment = get_be32(buf + OFF_ALIGNMENT);
	h->cow_format = get_be32(buf + OFF_FORMAT);
	if (h->cow_format != 0)
		return uh_errx(err, "unsupported COW format %u (only the bitmap format 0 exists)",
			       h->cow_format);
	path = (const char *)buf + OFF_BACKING;
	plen = strnlen(path, UH_COW_PATH_LEN);
	if (plen == UH_COW_PATH_LEN)
		return uh_errx(err, "invalid COW header: backing file name is not terminated");
	memcpy(h->backing_file, path, plen);
	h->backing_file[plen] = '\0';
	return uh_cow_header_layout(h, err);
}

void uh_cow_header_encode(const struct uh_cow_header *h, uint8_t out[UH_COW_HEADER_SIZE])
{
	memset(out, 0, UH_COW_HEADER_SIZE);
	put_be32(out + OFF_MAGIC, UH_COW_MAGIC);
	put_be32(out + OFF_VERSION, UH_COW_VERSION);
	put_be32(out + OFF_MTIME, h->mtime);
	put_be64(out + OFF_SIZE, h->size);
	put_be32(out + OFF_SECTORSIZE, h->sectorsize);
	put_be32(out + OFF_ALIGNMENT, h->alignment);
	/* cow_format: the kernel stores COW_BITMAP (0) without byte swapping; 0 either way */
	put_be32(out + OFF_FORMAT, h->cow_format);
	memcpy(out + OFF_BACKING, h->backing_file, strnlen(h->backing_file, UH_COW_PATH_LEN - 1));
}

int uh_cow_bitmap_next_run(const uint8_t *bitmap, uint64_t nbits, uint64_t pos, uint64_t *start,
			   uint64_t *end)
{
	uint64_t i = pos;

	/* skip clear bits, a whole zero byte at a time where aligned */
	while (i < nbits) {
		if (i % 8 == 0 && i + 8 <= nbits && bitmap[i / 8] == 0) {
			i += 8;
			continue;
		}
		if (uh_cow_bit(bitmap, i))
			break;
		i++;
	}
	if (i >= nbits)
		return 0;
	*start = i;
	while (i < nbits) {
		if (i % 8 == 0 && i + 8 <= nbits && bitmap[i / 8] == 0xff) {
			i += 8;
			continue;
		}
		if (!uh_cow_bit(bitmap, i))
			break;
		i++;
	}
	*end = i;
	return 1;
}

uint64_t uh_cow_bitmap_count(const uint8_t *bitmap, uint64_t nbits)
{
	uint64_t n = 0, i, full = nbits / 8;

	for (i = 0; i < full; i++)
		n += (uint64_t)__builtin_popcount(bitmap[i]);
	for (i = full * 8; i < nbits; i++)
		n += (uint64_t)uh_cow_bit(bitmap, i);
	return n;
}
