/* The builders' inputs from API callers (source.h). */
#include "kernel/source.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

int uh_kernel_source_name_ok(const char *path)
{
	static const char *const suffixes[] = {".tar.xz", ".tar.bz2", ".tar.gz", NULL};
	const char *v = path + strlen("/usr/src/linux-source-");
	size_t n, k;
	int i;

	if (strncmp(path, "/usr/src/linux-source-", strlen("/usr/src/linux-source-")) != 0)
		return 0;
	n = strlen(v);
	for (i = 0; suffixes[i]; i++) {
		size_t sl = strlen(suffixes[i]);

		if (n <= sl || strcmp(v + n - sl, suffixes[i]) != 0)
			continue;
		/* the version: digits and dots (6.1, 6.12), nothing else, no path */
		if (v[0] < '0' || v[0] > '9')
			return 0;
		for (k = 0; k < n - sl; k++)
			if (!((v[k] >= '0' && v[k] <= '9') || v[k] == '.'))
				return 0;
		return 1;
	}
	return 0;
}

int uh_kernel_source_check(const char *path, const char *configured, struct uh_error *err)
{
	uh_autoclose int fd = -1;
	struct stat st, dir;

	if (!(configured && strcmp(path, configured) == 0) && !uh_kernel_source_name_ok(path))
		return uh_errc(err, EACCES,
			       "--source %s: only Debian's kernel source tarballs are built "
			       "(/usr/src/linux-source-VERSION.tar.xz, from a linux-source-* package) "
			       "or the daemon's kernel_source",
			       path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return uh_err(err, errno, "source %s%s", path,
			      errno == ELOOP ? " (a symlink)" : "");
	if (fstat(fd, &st) < 0)
		return uh_err(err, errno, "source %s", path);
	if (!S_ISREG(st.st_mode))
		return uh_errx(err, "source %s is not a regular file", path);
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return uh_errc(err, EACCES,
			       "source %s must be owned by root and writable by no one else", path);
	/* and no one but root could have put it there */
	if (stat("/usr/src", &dir) == 0 && strncmp(path, "/usr/src/", 9) == 0 &&
	    (dir.st_uid != 0 || (dir.st_mode & (S_IWGRP | S_IWOTH))))
		return uh_errc(err, EACCES, "/usr/src is writable by others than root");
	return 0;
}

int uh_mirror_check(const char *url, struct uh_error *err)
{
	const char *p;

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "file:/", 6) != 0)
		return uh_errx(err, "--mirror must be an http(s):// or file:/ URL");
	if (strlen(url) > 512)
		return uh_errx(err, "--mirror is longer than 512 bytes");
	for (p = url; *p; p++) {
		unsigned char c = (unsigned char)*p;

		/* RFC 3986's characters, less the quote and those apt's one-line format or a
		 * shell would split on */
		if (c <= 0x20 || c >= 0x7f || strchr("\"'`<>\\\\^{}|[]", c))
			return uh_errx(err, "--mirror has a character a URL may not hold here (byte "
					    "0x%02x at %d)",
				       c, (int)(p - url));
	}
	return 0;
}
