#include "util/sparse_copy.h"
#include "util/cleanup.h"
#include "util/fileio.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define COPY_CHUNK (8U << 20)

int uh_copy_range(int in, uint64_t in_off, int out, uint64_t out_off, uint64_t len,
		  struct uh_error *err)
{
	uh_autofree char *buf = NULL;

	while (len > 0) {
		loff_t io = (loff_t)in_off, oo = (loff_t)out_off;
		size_t want = len > COPY_CHUNK ? COPY_CHUNK : (size_t)len;
		ssize_t n = copy_file_range(in, &io, out, &oo, want, 0);

		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
			      errno == EOPNOTSUPP)) {
			/* different filesystems on old kernels, or special files: read/write */
			if (buf == NULL && (buf = malloc(COPY_CHUNK)) == NULL)
				abort();
			n = uh_pread_full(in, buf, want, (off_t)in_off);
			if (n > 0 && uh_pwrite_full(out, buf, (size_t)n, (off_t)out_off) < 0)
				return uh_err(err, errno, "write");
		}
		if (n < 0)
			return uh_err(err, errno, "copy");
		if (n == 0)
			return uh_errx(err, "unexpected end of file");
		in_off += (uint64_t)n;
		out_off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int uh_copy_data_extents(int in, int out, uint64_t size, struct uh_error *err)
{
	off_t pos = 0;

	while ((uint64_t)pos < size) {
		off_t data = lseek(in, pos, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			return uh_err(err, errno, "seek data");
		if ((uint64_t)data >= size)
			break;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return uh_err(err, errno, "seek hole");
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		if (uh_copy_range(in, (uint64_t)data, out, (uint64_t)data, (uint64_t)(hole - data),
				  err) < 0)
			return -1;
		pos = hole;
	}
	return 0;
}
