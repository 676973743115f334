#include "cow/cow_file.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/sparse_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BITMAP_CHUNK (1U << 20) /* bytes of bitmap read at a time: 4 GiB of disk at 512 B */

/* uml_mkcow stores the backing path as getcwd() of its directory + "/" + its basename: the
 * directory's symlinks are resolved, the last component is kept. Do the same without chdir. */
static int absolutize(const char *path, char out[UH_COW_PATH_LEN], struct uh_error *err)
{
	uh_autofree char *dcopy = strdup(path), *bcopy = strdup(path);
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (dcopy == NULL || bcopy == NULL)
		abort();
	if (slash == NULL) {
		if (getcwd(dir, sizeof(dir)) == NULL)
			return uh_err(err, errno, "getcwd");
	} else if (slash == path) {
		strcpy(dir, "");
	} else if (realpath(dirname(dcopy), dir) == NULL) {
		return uh_err(err, errno, "resolve directory of %s", path);
	}
	if ((size_t)snprintf(out, UH_COW_PATH_LEN, "%s/%s", dir, basename(bcopy)) >=
	    UH_COW_PATH_LEN)
		return uh_errx(err, "backing file name %s is longer than %d characters", path,
			       UH_COW_PATH_LEN - 1);
	return 0;
}

int uh_cow_create(const char *cow_path, const char *backing_path, struct uh_error *err)
{
	struct uh_cow_header h = {0};
	uint8_t buf[UH_COW_HEADER_SIZE];
	struct uh_tmpfile t;
	struct stat st;
	const char zero = 0;

	if (absolutize(backing_path, h.backing_file, err) < 0)
		return -1;
	if (stat(h.backing_file, &st) < 0)
		return uh_err(err, errno, "backing file %s", h.backing_file);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return uh_errx(err, "backing file %s is not a regular file", h.backing_file);
	if (S_ISBLK(st.st_mode))
		return uh_errx(err, "backing file %s is a block device; use an image file",
			       h.backing_file);
	h.version = UH_COW_VERSION;
	h.mtime = (uint32_t)st.st_mtime; /* unsigned 32-bit, as the kernel stores it */
	h.size = (uint64_t)st.st_size;
	h.sectorsize = UH_COW_DEFAULT_SECTORSIZE;
	h.alignment = UH_COW_DEFAULT_ALIGNMENT;
	if (uh_cow_header_layout(&h, err) < 0)
		return uh_err_prefix(err, "backing file %s", h.backing_file);
	if (access(cow_path, F_OK) == 0)
		return uh_errx(err, "%s already exists", cow_path);

	if (uh_tmpfile_open(&t, cow_path, 0644, err) < 0)
		return -1;
	uh_cow_header_encode(&h, buf);
	if (uh_pwrite_full(t.fd, buf, sizeof(buf), 0) < 0) {
		uh_err(err, errno, "write COW header to %s", cow_path);
		goto fail;
	}
	/* One zero byte at the very end sets the size; bitmap and data stay holes. */
	if (uh_pwrite_full(t.fd, &zero, 1, (off_t)(h.data_offset + h.size - 1)) < 0) {
		uh_err(err, errno, "extend %s", cow_path);
		goto fail;
	}
	if (uh_tmpfile_commit_noreplace(&t, err) < 0)
		goto fail;
	uh_tmpfile_discard(&t);
	return 0;
fail:
	uh_tmpfile_discard(&t);
	return -1;
}

static int read_header_fd(int fd, const char *path, struct uh_cow_header *h, struct uh_error *err)
{
	uint8_t buf[UH_COW_HEADER_READ];
	ssize_t n;

	n = uh_pread_full(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return uh_err(err, errno, "read %s", path);
	if (uh_cow_header_parse(buf, (size_t)n, h, err) < 0)
		return uh_err_prefix(err, "%s", path);
	return 0;
}

/* Call fn for every run of allocated sectors, reading the bitmap chunk by chunk and skipping
 * the bitmap's holes, so the cost follows what was written, not the disk size. */
typedef int (*run_fn)(uint64_t first, uint64_t end, void *arg, struct uh_error *err);

static int for_each_run(int fd, const char *path, const struct uh_cow_header *h, run_fn fn,
			void *arg, uint64_t *count, struct uh_error *err)
{
	uh_autofree uint8_t *chunk = malloc(BITMAP_CHUNK);
	uint64_t pos = 0; /* byte offset within the bitmap */
	uint64_t run_start = 0, run_end = 0;
	int in_run = 0;

	if (chunk == NULL)
		abort();
	if (count)
		*count = 0;
	while (pos < h->bitmap_len) {
		off_t data, hole;
		uint64_t len, nbits, bit0, s, e, p;
		ssize_t n;

		data = lseek(fd, (off_t)(h->bitmap_offset + pos), SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break; /* no data after pos: the rest of the bitmap is zero */
		if (data < 0)
			return uh_err(err, errno, "seek in %s", path);
		if ((uint64_t)data >= h->bitmap_offset + h->bitmap_len)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return uh_err(err, errno, "seek in %s", path);
		pos = (uint64_t)data - h->bitmap_offset;
		len = (uint64_t)hole - (uint64_t)data;
		if (len > BITMAP_CHUNK)
			len = BITMAP_CHUNK;
		if (len > h->bitmap_len - pos)
			len = h->bitmap_len - pos;
		n = uh_pread_full(fd, chunk, len, data);
		if (n < 0)
			return uh_err(err, errno, "read bitmap of %s", path);
		if ((uint64_t)n < len)
			return uh_errx(err, "%s is truncated inside its bitmap", path);
		bit0 = pos * 8;
		nbits = len * 8;
		if (bit0 + nbits > h->sectors)
			nbits = h->sectors - bit0;
		if (count)
			*count += uh_cow_bitmap_count(chunk, nbits);
		p = 0;
		while (fn && uh_cow_bitmap_next_run(chunk, nbits, p, &s, &e)) {
			/* join runs that continue across chunk boundaries */
			if (in_run && bit0 + s == run_end) {
				run_end = bit0 + e;
			} else {
				if (in_run && fn(run_start, run_end, arg, err) < 0)
					return -1;
				run_start = bit0 + s;
				run_end = bit0 + e;
				in_run = 1;
			}
			p = e;
		}
		pos += len;
	}
	if (in_run && fn(run_start, run_end, arg, err) < 0)
		return -1;
	return 0;
}

int uh_cow_info(const char *cow_path, struct uh_cow_info *info, struct uh_error *err)
{
	uh_autoclose int fd = open(cow_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return uh_err(err, errno, "open %s", cow_path);
	if (read_header_fd(fd, cow_path, &info->header, err) < 0)
		return -1;
	return for_each_run(fd, cow_path, &info->header, NULL, NULL, &info->allocated_sectors,
			    err);
}

int uh_cow_check_backing(const struct uh_cow_header *h, const char *backing_path,
			 struct uh_error *err)
{
	struct stat st;

	if (stat(backing_path, &st) < 0)
		return uh_err(err, errno, "backing file %s", backing_path);
	if ((uint64_t)st.st_size != h->size)
		return uh_errx(err, "backing file %s changed size since the COW was created "
				    "(%llu bytes now, %llu in the COW header); UML refuses it too",
			       backing_path, (unsigned long long)st.st_size,
			       (unsigned long long)h->size);
	if ((uint32_t)st.st_mtime != h->mtime)
		return uh_errx(err, "backing file %s was modified since the COW was created "
				    "(mtime %u now, %u in the COW header); UML refuses it too; "
				    "pass --backing with an unmodified copy",
			       backing_path, (uint32_t)st.st_mtime, h->mtime);
	return 0;
}

struct merge_ctx {
	const struct uh_cow_header *h;
	int cow_fd, out_fd;
	const char *cow_path;
};

static int merge_run(uint64_t first, uint64_t end, void *arg, struct uh_error *err)
{
	struct merge_ctx *m = arg;
	uint64_t ss = m->h->sectorsize;
	uint64_t off = first * ss, len = (end - first) * ss;

	if (off + len > m->h->size) /* the last sector may be partial */
		len = m->h->size - off;
	if (uh_copy_range(m->cow_fd, m->h->data_offset + off, m->out_fd, off, len, err) < 0)
		return uh_err_prefix(err, "sectors %llu-%llu of %s",
				     (unsigned long long)first, (unsigned long long)end - 1,
				     m->cow_path);
	return 0;
}

/* Copy the data extents of the backing file; holes stay holes in the output. */
static int copy_backing(int in, const char *path, int out, uint64_t size, struct uh_error *err)
{
	if (uh_copy_data_extents(in, out, size, err) < 0)
		return uh_err_prefix(err, "backing file %s", path);
	return 0;
}

int uh_cow_merge(const char *cow_path, const char *output_path, const char *backing_override,
		 struct uh_error *err)
{
	struct uh_cow_header h;
	uh_autoclose int cow_fd = -1;
	uh_autoclose int back_fd = -1;
	struct uh_tmpfile t = {.fd = -1, .dir_fd = -1};
	const char *backing;
	struct merge_ctx m;
	struct stat st;

	cow_fd = open(cow_path, O_RDONLY | O_CLOEXEC);
	if (cow_fd < 0)
		return uh_err(err, errno, "open %s", cow_path);
	if (read_header_fd(cow_fd, cow_path, &h, err) < 0)
		return -1;
	if (fstat(cow_fd, &st) < 0)
		return uh_err(err, errno, "stat %s", cow_path);
	if ((uint64_t)st.st_size < h.data_offset)
		return uh_errx(err, "%s is truncated: %llu bytes, its data area starts at %llu",
			       cow_path, (unsigned long long)st.st_size,
			       (unsigned long long)h.data_offset);
	backing = backing_override ? backing_override : h.backing_file;
	if (uh_cow_check_backing(&h, backing, err) < 0)
		return -1;
	back_fd = open(backing, O_RDONLY | O_CLOEXEC);
	if (back_fd < 0)
		return uh_err(err, errno, "open backing file %s", backing);
	if (access(output_path, F_OK) == 0)
		return uh_errx(err, "%s already exists", output_path);

	if (uh_tmpfile_open(&t, output_path, 0644, err) < 0)
		return -1;
	if (ftruncate(t.fd, (off_t)h.size) < 0) {
		uh_err(err, errno, "size %s", output_path);
		goto fail;
	}
	if (copy_backing(back_fd, backing, t.fd, h.size, err) < 0)
		goto fail;
	m = (struct merge_ctx){.h = &h, .cow_fd = cow_fd, .out_fd = t.fd, .cow_path = cow_path};
	if (for_each_run(cow_fd, cow_path, &h, merge_run, &m, NULL, err) < 0)
		goto fail;
	if (uh_tmpfile_commit_noreplace(&t, err) < 0)
		goto fail;
	uh_tmpfile_discard(&t);
	return 0;
fail:
	uh_tmpfile_discard(&t);
	return uh_err_prefix(err, "merge %s into %s", cow_path, output_path);
}

int uh_cow_rebase(const char *cow_path, const char *backing_path, int *changed,
		  struct uh_error *err)
{
	uint8_t buf[UH_COW_HEADER_READ];
	struct uh_cow_header h;
	char abs[UH_COW_PATH_LEN];
	struct stat st;
	ssize_t n;
	int fd, ret = -1;

	*changed = 0;
	if (absolutize(backing_path, abs, err) < 0)
		return -1;
	if (stat(abs, &st) < 0)
		return uh_err(err, errno, "backing file %s", abs);
	fd = open(cow_path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return uh_err(err, errno, "open %s", cow_path);
	n = uh_pread_full(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		uh_err(err, errno, "read %s", cow_path);
		goto out;
	}
	if (uh_cow_header_parse(buf, (size_t)n, &h, err) < 0) {
		uh_err_prefix(err, "%s", cow_path);
		goto out;
	}
	/* the bitmap's length follows the size: a backing file of another size is another disk */
	if (h.size != (uint64_t)st.st_size) {
		uh_errx(err, "%s: its backing file had %llu bytes, %s has %llu", cow_path,
			(unsigned long long)h.size, abs, (unsigned long long)st.st_size);
		goto out;
	}
	if (strcmp(h.backing_file, abs) == 0 && h.mtime == (uint32_t)st.st_mtime) {
		ret = 0;
		goto out;
	}
	snprintf(h.backing_file, sizeof(h.backing_file), "%s", abs);
	h.mtime = (uint32_t)st.st_mtime;
	uh_cow_header_encode(&h, buf);
	if (uh_pwrite_full(fd, buf, UH_COW_HEADER_SIZE, 0) < 0 || fsync(fd) < 0) {
		uh_err(err, errno, "rewrite the header of %s", cow_path);
		goto out;
	}
	*changed = 1;
	ret = 0;
out:
	close(fd);
	return ret;
}
