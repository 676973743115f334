/* Unit tests of the COW v3 header format and the bitmap helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cow/cow_header.h"

static void make_header(struct uh_cow_header *h, uint64_t size)
{
	memset(h, 0, sizeof(*h));
	h->version = 3;
	h->mtime = 0x6b0bda17;
	h->size = size;
	h->sectorsize = 512;
	h->alignment = 4096;
	strcpy(h->backing_file, "/var/lib/umlhost/templates/base.img");
}

/* The layout uml_mkcow wrote for a 64 MiB backing file (read off a real one). */
static void test_layout_matches_uml_mkcow(void **state)
{
	struct uh_cow_header h;
	struct uh_error err;

	make_header(&h, 64 << 20);
	assert_int_equal(uh_cow_header_layout(&h, &err), 0);
	assert_int_equal(h.bitmap_offset, 8192);
	assert_int_equal(h.bitmap_len, 16384);
	assert_int_equal(h.data_offset, 24576);
	assert_int_equal(h.sectors, 131072);
}

static void test_encode_bytes(void **state)
{
	static const uint8_t expect[32] = {0x4f, 0x4f, 0x4f, 0x4d, 0, 0, 0, 3, 0x6b, 0x0b, 0xda,
					   0x17, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0x02, 0,
					   0, 0, 0x10, 0, 0, 0, 0, 0};
	uint8_t buf[UH_COW_HEADER_SIZE];
	struct uh_cow_header h;
	struct uh_error err;

	make_header(&h, 64 << 20);
	assert_int_equal(uh_cow_header_layout(&h, &err), 0);
	uh_cow_header_encode(&h, buf);
	assert_memory_equal(buf, expect, sizeof(expect));
	assert_string_equal((char *)buf + 32, h.backing_file);
	assert_int_equal(buf[UH_COW_HEADER_SIZE - 1], 0);
}

static void test_roundtrip(void **state)
{
	uint8_t buf[UH_COW_HEADER_SIZE];
	struct uh_cow_header h, back;
	struct uh_error err;

	make_header(&h, 10ULL << 30);
	assert_int_equal(uh_cow_header_layout(&h, &err), 0);
	uh_cow_header_encode(&h, buf);
	assert_int_equal(uh_cow_header_parse(buf, sizeof(buf), &back, &err), 0);
	assert_int_equal(back.size, 10ULL << 30);
	assert_int_equal(back.mtime, h.mtime);
	assert_int_equal(back.data_offset, h.data_offset);
	assert_string_equal(back.backing_file, h.backing_file);
	/* 10 GiB: 2.5 MiB bitmap after an 8 KiB header area */
	assert_int_equal(back.bitmap_len, 2621440);
	assert_int_equal(back.data_offset, 8192 + 2621440);
}

static void expect_parse_error(const uint8_t *buf, size_t len, const char *needle)
{
	struct uh_cow_header h;
	struct uh_error err;

	assert_int_equal(uh_cow_header_parse(buf, len, &h, &err), -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.msg, needle);
}

static void test_rejects(void **state)
{
	uint8_t buf[UH_COW_HEADER_SIZE];
	struct uh_cow_header h;

	make_header(&h, 1 << 20);
	uh_cow_header_encode(&h, buf);

	expect_parse_error(buf, 10, "only 10 bytes");
	expect_parse_error(buf, 100, "truncated COW header");

	buf[0] = 'X';
	expect_parse_error(buf, sizeof(buf), "not a COW file");
	buf[0] = 0x4f;

	buf[7] = 1;
	expect_parse_error(buf, sizeof(buf), "COW version 1 is not supported");
	buf[7] = 2;
	expect_parse_error(buf, sizeof(buf), "COW version 2 is not supported");
	buf[7] = 9;
	expect_parse_error(buf, sizeof(buf), "unknown COW version 9");
	buf[7] = 3;

	/* the pre-2005 64-bit layout: cow_format's zeros land on the path's first bytes */
	memmove(buf + 36, buf + 32, UH_COW_HEADER_SIZE - 36);
	memset(buf + 32, 0, 4);
	expect_parse_error(buf, sizeof(buf), "broken pre-2005 64-bit");

	uh_cow_header_encode(&h, buf);
	buf[23] = 0; /* sectorsize 0 */
	buf[22] = 0;
	expect_parse_error(buf, sizeof(buf), "sector size 0");

	uh_cow_header_encode(&h, buf);
	buf[26] = 0x30; /* alignment 0x3000: not a power of two */
	expect_parse_error(buf, sizeof(buf), "alignment");

	uh_cow_header_encode(&h, buf);
	buf[31] = 1; /* cow_format 1 */
	expect_parse_error(buf, sizeof(buf), "unsupported COW format");

	uh_cow_header_encode(&h, buf);
	memset(buf + 12, 0xff, 8); /* absurd size */
	expect_parse_error(buf, sizeof(buf), "disk size");

	uh_cow_header_encode(&h, buf);
	memset(buf + 32, 'a', UH_COW_PATH_LEN); /* unterminated path */
	expect_parse_error(buf, sizeof(buf), "not terminated");
}

static void test_bitmap_runs(void **state)
{
	/* bits: 0,1,2 set; 8..23 set; 30 set; 63 set (LSB first) */
	uint8_t bm[8] = {0x07, 0xff, 0xff, 0x40, 0, 0, 0, 0x80};
	uint64_t s, e, pos = 0;
	uint64_t want[][2] = {{0, 3}, {8, 24}, {30, 31}, {63, 64}};
	int i = 0;

	while (uh_cow_bitmap_next_run(bm, 64, pos, &s, &e)) {
		assert_true(i < 4);
		assert_int_equal(s, want[i][0]);
		assert_int_equal(e, want[i][1]);
		pos = e;
		i++;
	}
	assert_int_equal(i, 4);
	assert_int_equal(uh_cow_bitmap_count(bm, 64), 3 + 16 + 1 + 1);
	/* nbits cuts the last byte: bit 63 is out of range */
	assert_int_equal(uh_cow_bitmap_count(bm, 60), 3 + 16 + 1);
	assert_int_equal(uh_cow_bitmap_next_run(bm, 60, 31, &s, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_matches_uml_mkcow),
		cmocka_unit_test(test_encode_bytes),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_bitmap_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
