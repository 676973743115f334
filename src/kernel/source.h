/* What an API caller may hand the builders. `kernel build --source` makes root run that
 * tarball's Makefile, so only Debian's kernel source packages are taken: a
 * /usr/src/linux-source-VERSION.tar.{xz,bz2,gz} regular file owned by root and writable by
 * no one else (or the exact path the daemon's configuration names). A template build's
 * --mirror goes to mmdebstrap's command line: one http(s):// or file:/ URL of URL characters,
 * nothing that a shell, apt's sources format or an option parser would read otherwise. */
#ifndef UH_KERNEL_SOURCE_H
#define UH_KERNEL_SOURCE_H

#include "util/error.h"

/* 0 if `path` names an acceptable kernel source (`configured`: the daemon's kernel_source,
 * also accepted); checked on the open file (O_NOFOLLOW, fstat). */
int uh_kernel_source_check(const char *path, const char *configured, struct uh_error *err);

/* Pure: is the name one of Debian's kernel source tarballs under /usr/src? */
int uh_kernel_source_name_ok(const char *path);

/* Pure: 0 if `url` is an acceptable mirror URL. */
int uh_mirror_check(const char *url, struct uh_error *err);

#endif
