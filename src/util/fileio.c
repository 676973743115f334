#include "util/fileio.h"
#include "util/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t uh_pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t uh_read_tail(const char *path, off_t from, char *buf, size_t size)
{
	uh_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	off_t start = from;
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if (st.st_size - from > (off_t)size - 1)
		start = st.st_size - (off_t)size + 1;
	if (start >= st.st_size)
		return 0;
	n = uh_pread_full(fd, buf, (size_t)(st.st_size - start), start);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

ssize_t uh_read_small(const char *path, char *buf, size_t size)
{
	uh_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return -1;
	n = uh_pread_full(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

int uh_pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

int uh_write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

int uh_mkdirs(const char *path, mode_t mode, struct uh_error *err)
{
	char buf[4096], *p;

	if (strlen(path) >= sizeof(buf))
		return uh_errx(err, "path %s is too long", path);
	strcpy(buf, path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return uh_err(err, errno, "create %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return uh_err(err, errno, "create %s", buf);
	return 0;
}

int uh_tmpfile_open(struct uh_tmpfile *t, const char *path, mode_t mode, struct uh_error *err)
{
	uh_autofree char *dcopy = strdup(path), *bcopy = strdup(path);
	const char *dir, *base;

	t->fd = -1;
	t->dir_fd = -1;
	t->tmp_path = NULL;
	t->final_path = NULL;
	if (dcopy == NULL || bcopy == NULL)
		abort();
	dir = dirname(dcopy);
	base = basename(bcopy);
	if (asprintf(&t->tmp_path, "%s/.%s.XXXXXX", dir, base) < 0)
		abort();
	t->final_path = strdup(path);
	if (t->final_path == NULL)
		abort();
	t->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dir_fd < 0) {
		uh_err(err, errno, "open directory %s", dir);
		goto fail;
	}
	t->fd = mkostemp(t->tmp_path, O_CLOEXEC);
	if (t->fd < 0) {
		uh_err(err, errno, "create temporary file in %s", dir);
		free(t->tmp_path);
		t->tmp_path = NULL;
		goto fail;
	}
	if (fchmod(t->fd, mode) < 0) {
		uh_err(err, errno, "chmod %s", t->tmp_path);
		goto fail;
	}
	return 0;
fail:
	uh_tmpfile_discard(t);
	return -1;
}

static int commit(struct uh_tmpfile *t, unsigned int flags, struct uh_error *err)
{
	if (fsync(t->fd) < 0)
		return uh_err(err, errno, "fsync %s", t->tmp_path);
	if (renameat2(AT_FDCWD, t->tmp_path, AT_FDCWD, t->final_path, flags) < 0) {
		if (errno == EEXIST)
			return uh_errx(err, "%s already exists", t->final_path);
		return uh_err(err, errno, "rename %s to %s", t->tmp_path, t->final_path);
	}
	free(t->tmp_path);
	t->tmp_path = NULL; /* committed: nothing to unlink any more */
	if (fsync(t->dir_fd) < 0)
		return uh_err(err, errno, "fsync directory of %s", t->final_path);
	return 0;
}

int uh_tmpfile_commit(struct uh_tmpfile *t, struct uh_error *err)
{
	return commit(t, 0, err);
}

int uh_tmpfile_commit_noreplace(struct uh_tmpfile *t, struct uh_error *err)
{
	return commit(t, RENAME_NOREPLACE, err);
}

void uh_tmpfile_discard(struct uh_tmpfile *t)
{
	if (t->tmp_path != NULL)
		unlink(t->tmp_path);
	free(t->tmp_path);
	t->tmp_path = NULL;
	free(t->final_path);
	t->final_path = NULL;
	uh_close(&t->fd);
	uh_close(&t->dir_fd);
}

int uh_fs_free(const char *path, uint64_t *bytes, struct uh_error *err)
{
	struct statvfs vfs;

	if (statvfs(path, &vfs) < 0)
		return uh_err(err, errno, "free space under %s", path);
	*bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	return 0;
}

/* name in directory `at` and, if it is a directory on filesystem dev, everything under it. */
static void rm_at(int at, const char *name, dev_t dev, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlinkat(at, name, 0);
		return;
	}
	/* a mount left inside (a build's /proc): not ours to empty */
	if (st.st_dev != dev || depth > 256)
		return;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			rm_at(dirfd(d), de->d_name, dev, depth + 1);
	closedir(d);
	unlinkat(at, name, AT_REMOVEDIR);
}

void uh_rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		rm_at(AT_FDCWD, path, st.st_dev, 0);
}
