/* Extent-aware copying: only the data extents of a file (SEEK_DATA/SEEK_HOLE) are copied, with
 * copy_file_range, so holes stay holes and the cost follows the data, not the file size. */
#ifndef UH_UTIL_SPARSE_COPY_H
#define UH_UTIL_SPARSE_COPY_H

#include <stdint.h>

#include "util/error.h"

/* Copy len bytes from in at in_off to out at out_off. */
int uh_copy_range(int in, uint64_t in_off, int out, uint64_t out_off, uint64_t len,
		  struct uh_error *err);

/* Copy the data extents of in's first `size` bytes to the same offsets in out (out must
 * already have its size set; its holes are left alone). */
int uh_copy_data_extents(int in, int out, uint64_t size, struct uh_error *err);

#endif
