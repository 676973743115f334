/* Small file helpers: full reads/writes that retry on EINTR and short counts, and the
 * temp-file + fsync + rename pattern used for every write that matters. */
#ifndef UH_UTIL_FILEIO_H
#define UH_UTIL_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

/* pread/pwrite until len bytes are done. pread_full returns bytes read (short only at EOF). */
ssize_t uh_pread_full(int fd, void *buf, size_t len, off_t off);
int uh_pwrite_full(int fd, const void *buf, size_t len, off_t off);
int uh_write_full(int fd, const void *buf, size_t len);
/* A small file's first size-1 bytes, NUL-terminated (buf is "" on failure). Returns the
 * bytes read, or -1 with errno set. Never blocks on a FIFO. */
ssize_t uh_read_small(const char *path, char *buf, size_t size);
/* The last size-1 bytes of a regular file from offset `from` on (a log's tail), the same way. */
ssize_t uh_read_tail(const char *path, off_t from, char *buf, size_t size);

/* mkdir -p: parents 0755, the last component `mode`; existing directories are fine. */
int uh_mkdirs(const char *path, mode_t mode, struct uh_error *err);
/* Bytes an unprivileged writer may still use on path's filesystem (f_bavail * f_frsize). */
int uh_fs_free(const char *path, uint64_t *bytes, struct uh_error *err);
/* Remove path and everything under it as `rm -rf --one-file-system` does, in this process:
 * symlinks are removed, never followed; a directory on another filesystem (a mount left in
 * a build tree) is left alone. What cannot be removed stays, silently. */
void uh_rm_tree(const char *path);

/* A temp file next to `path`, for an atomic replace. */
struct uh_tmpfile {
	int fd;
	char *tmp_path;   /* owned */
	char *final_path; /* owned */
	int dir_fd;
};

/* Create "<dir>/.<base>.XXXXXX" with the given mode, O_CLOEXEC. */
int uh_tmpfile_open(struct uh_tmpfile *t, const char *path, mode_t mode, struct uh_error *err);
/* fsync the file, rename it over final_path, fsync the directory. */
int uh_tmpfile_commit(struct uh_tmpfile *t, struct uh_error *err);
/* Same, but fail with "already exists" instead of replacing final_path. */
int uh_tmpfile_commit_noreplace(struct uh_tmpfile *t, struct uh_error *err);
/* Unlink the temp file if it was not committed; free everything. Safe to call twice. */
void uh_tmpfile_discard(struct uh_tmpfile *t);
/* A local that discards itself on every path it is not committed on: declare it as
 * `uh_autotmpfile struct uh_tmpfile t = UH_TMPFILE_INIT;`. */
#define UH_TMPFILE_INIT {.fd = -1, .dir_fd = -1}
#define uh_autotmpfile __attribute__((cleanup(uh_tmpfile_discard)))

#endif
