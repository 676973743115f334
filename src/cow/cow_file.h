/* COW files on disk: create (like uml_mkcow), inspect, and merge with the backing file into a
 * new image (like uml_moo), in time proportional to the data, not the virtual disk size. */
#ifndef UH_COW_FILE_H
#define UH_COW_FILE_H

#include <stdint.h>

#include "cow/cow_header.h"
#include "util/error.h"

struct uh_cow_info {
	struct uh_cow_header header;
	uint64_t allocated_sectors; /* bits set in the bitmap */
};

/* Create COW at cow_path over backing_path with uml_mkcow's defaults. The header stores the
 * backing file's absolute path, size and mtime. Refuses an existing cow_path. */
int uh_cow_create(const char *cow_path, const char *backing_path, struct uh_error *err);

/* Read the header and count the allocated sectors (holes in the bitmap are skipped). */
int uh_cow_info(const char *cow_path, struct uh_cow_info *info, struct uh_error *err);

/* Check that `backing_path` still has the size and mtime the COW header pins. */
int uh_cow_check_backing(const struct uh_cow_header *h, const char *backing_path,
			 struct uh_error *err);

/* Merge COW + backing into a new sparse image at output_path (temp file, fsync, rename; an
 * existing output is refused). backing_override, if not NULL, replaces the header's path and
 * must match the pinned size and mtime. The backing file is opened read-only. */
int uh_cow_merge(const char *cow_path, const char *output_path, const char *backing_override,
		 struct uh_error *err);

/* Point a COW at `backing_path` (its absolute path, mtime), e.g. after a restore on a host
 * whose template lives elsewhere or was copied (another mtime). The backing file must have the
 * size the header pins; the caller vouches for its content (the backup's template sha256).
 * *changed says whether the header was rewritten. */
int uh_cow_rebase(const char *cow_path, const char *backing_path, int *changed,
		  struct uh_error *err);

#endif
