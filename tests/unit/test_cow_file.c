/* COW files on a real filesystem without UML: create's layout, merge's result against a
 * sector-by-sector reference, runs crossing the bitmap's read chunks, refusals. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cow/cow_file.h"
#include "util/fileio.h"

static char dir[] = "/tmp/uh-cowtest.XXXXXX";
static char backing[256], cow[256], out[256];

static int setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(backing, sizeof(backing), "%s/backing.img", dir);
	snprintf(cow, sizeof(cow), "%s/disk.cow", dir);
	snprintf(out, sizeof(out), "%s/merged.img", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(backing);
	unlink(cow);
	unlink(out);
	return rmdir(dir);
}

static void fill(int fd, uint64_t off, size_t len, uint8_t seed)
{
	uint8_t *b = malloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(seed + i * 7);
	assert_int_equal(uh_pwrite_full(fd, b, len, (off_t)off), 0);
	free(b);
}

/* Mark sector s allocated in the COW and write its data. */
static void cow_write_sector(int fd, const struct uh_cow_header *h, uint64_t s, uint8_t seed)
{
	uint8_t byte;

	assert_int_equal(pread(fd, &byte, 1, (off_t)(h->bitmap_offset + s / 8)), 1);
	byte |= (uint8_t)(1 << (s % 8));
	assert_int_equal(pwrite(fd, &byte, 1, (off_t)(h->bitmap_offset + s / 8)), 1);
	fill(fd, h->data_offset + s * 512, 512, seed);
}

static void expect_region(int fd, uint64_t off, size_t len, uint8_t seed, int zero)
{
	uint8_t *b = malloc(len);
	size_t i;

	assert_int_equal(uh_pread_full(fd, b, len, (off_t)off), (ssize_t)len);
	for (i = 0; i < len; i++)
		if (b[i] != (zero ? 0 : (uint8_t)(seed + i * 7)))
			fail_msg("byte %llu: got %u", (unsigned long long)(off + i), b[i]);
	free(b);
}

static void test_merge_reference(void **state)
{
	/* 4 GiB + 1 MiB + 300 bytes: the bitmap is longer than one 1 MiB read chunk, and the
	 * last sector is partial. Everything is sparse, so this costs a few MB of disk. */
	const uint64_t size = (4ULL << 30) + (1 << 20) + 300;
	const uint64_t chunk_bits = 8ULL << 20; /* sectors covered by one bitmap chunk */
	const uint64_t last = (size + 511) / 512 - 1;
	struct uh_cow_info info;
	struct uh_error err;
	int fd, cfd, ofd;
	uint64_t s;

	fd = open(backing, O_CREAT | O_RDWR | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	fill(fd, 0, 64 << 10, 1);		       /* start of disk */
	fill(fd, (2ULL << 30), 4096, 2);	       /* middle */
	fill(fd, size - 300, 300, 3);		       /* partial last sector */
	fill(fd, chunk_bits * 512 - 2048, 8192, 4);    /* across the chunk boundary */
	close(fd);

	assert_int_equal(uh_cow_create(cow, backing, &err), 0);
	assert_int_equal(uh_cow_create(cow, backing, &err), -1);
	assert_non_null(strstr(err.msg, "already exists"));
	assert_int_equal(uh_cow_info(cow, &info, &err), 0);
	assert_int_equal(info.allocated_sectors, 0);
	assert_int_equal(info.header.size, size);

	cfd = open(cow, O_RDWR);
	assert_true(cfd >= 0);
	cow_write_sector(cfd, &info.header, 1, 10);    /* inside backing data */
	cow_write_sector(cfd, &info.header, 1000, 11); /* over a backing hole */
	/* a run across the bitmap chunk boundary, which the merge must join */
	for (s = chunk_bits - 3; s < chunk_bits + 3; s++)
		cow_write_sector(cfd, &info.header, s, (uint8_t)(20 + s - chunk_bits));
	cow_write_sector(cfd, &info.header, last, 30);
	close(cfd);

	assert_int_equal(uh_cow_info(cow, &info, &err), 0);
	assert_int_equal(info.allocated_sectors, 2 + 6 + 1);

	assert_int_equal(uh_cow_merge(cow, out, NULL, &err), 0);
	ofd = open(out, O_RDONLY);
	assert_true(ofd >= 0);
	{
		struct stat st;
		assert_int_equal(fstat(ofd, &st), 0);
		assert_int_equal((uint64_t)st.st_size, size);
		/* sparse: far less allocated than the virtual size */
		assert_true((uint64_t)st.st_blocks * 512 < (64ULL << 20));
	}
	expect_region(ofd, 0, 512, 1, 0);	/* sector 0 from backing */
	expect_region(ofd, 512, 512, 10, 0);	/* sector 1 from COW */
	expect_region(ofd, 1024, 512, 1 + 1024 * 7 % 256, 0); /* sector 2 from backing */
	expect_region(ofd, 1000 * 512, 512, 11, 0);
	expect_region(ofd, 1001 * 512, 512, 0, 1);
	expect_region(ofd, 2ULL << 30, 4096, 2, 0);
	for (s = chunk_bits - 3; s < chunk_bits + 3; s++)
		expect_region(ofd, s * 512, 512, (uint8_t)(20 + s - chunk_bits), 0);
	/* the last, partial sector: 300 bytes of COW data */
	expect_region(ofd, last * 512, 300, 30, 0);
	close(ofd);

	/* an existing output is refused, nothing else is touched */
	assert_int_equal(uh_cow_merge(cow, out, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "already exists"));
	unlink(out);
}

static int count_temp_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_merge_refuses_modified_backing(void **state)
{
	struct timespec ts[2] = {{0, UTIME_OMIT}, {1234567, 0}};
	struct uh_error err;
	char copy[300];
	int fd;

	unlink(cow);
	fd = open(backing, O_CREAT | O_RDWR | O_TRUNC, 0644);
	assert_true(fd >= 0);
	fill(fd, 0, 1 << 20, 5);
	close(fd);
	assert_int_equal(uh_cow_create(cow, backing, &err), 0);

	/* a copy with the same size and mtime is accepted with --backing */
	snprintf(copy, sizeof(copy), "%s/copy.img", dir);
	{
		struct stat st;
		struct timespec keep[2];
		fd = open(copy, O_CREAT | O_RDWR | O_TRUNC, 0644);
		fill(fd, 0, 1 << 20, 5);
		assert_int_equal(stat(backing, &st), 0);
		keep[0] = st.st_atim;
		keep[1] = st.st_mtim;
		assert_int_equal(futimens(fd, keep), 0);
		close(fd);
	}
	assert_int_equal(uh_cow_merge(cow, out, copy, &err), 0);
	unlink(out);

	assert_int_equal(utimensat(AT_FDCWD, backing, ts, 0), 0);
	assert_int_equal(uh_cow_merge(cow, out, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "was modified since the COW was created"));
	assert_int_equal(access(out, F_OK), -1); /* no output, no temp file */
	assert_int_equal(count_temp_files(), 0); /* a refused merge leaves no temp file */
	fd = open(backing, O_RDWR);
	assert_int_equal(ftruncate(fd, 2 << 20), 0);
	close(fd);
	assert_int_equal(uh_cow_merge(cow, out, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "changed size"));
	unlink(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_reference),
		cmocka_unit_test(test_merge_refuses_modified_backing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
