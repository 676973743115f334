/* Where a backup goes: a local directory, or `sftp://[user@]host[:port]/path` (an off-host
 * copy, as the seed recommends). Parsing only: pure, unit-tested, fuzzed. The path is taken
 * literally (no percent-decoding; '%' is refused) and is absolute on the remote, as curl
 * reads sftp URLs. */
#ifndef UH_BACKUP_TARGET_H
#define UH_BACKUP_TARGET_H

#include "util/error.h"

struct uh_target {
	int remote;	 /* 0: `path` is a local absolute directory or file */
	char user[64];	 /* "" : the daemon's user */
	char host[256];	 /* a name or an address, without IPv6 brackets */
	int port;	 /* 22 by default */
	char path[1024]; /* absolute */
};

/* Parse a local absolute path or an sftp URL. */
int uh_target_parse(const char *s, struct uh_target *t, struct uh_error *err);
/* Format back: "sftp://user@host:port/path" (brackets around IPv6), or the path. */
void uh_target_format(const struct uh_target *t, const char *path, char *out, size_t len);
/* Is `s` an sftp URL (by its scheme)? */
int uh_target_is_remote(const char *s);

#endif
