/* Instance uids must belong to nobody else: a host user (or group) with one of them, or a
 * subordinate range (/etc/subuid, /etc/subgid: Debian gives each user 65536 from 100000 on)
 * that covers one, could become that instance's uid and ptrace its kernel or open its
 * disk. */
#ifndef UH_JAIL_IDRANGE_H
#define UH_JAIL_IDRANGE_H

#include <stdint.h>

#include "util/error.h"

struct uh_id_files {
	const char *passwd, *group, *subuid, *subgid; /* NULL: that file is not checked */
};

/* The host's files. */
extern const struct uh_id_files uh_id_files_host;

/* 0 if no entry of the files holds an id in [min, min + count); else -1 and one line naming
 * the file, the line and the entry. A file that does not exist holds nothing. */
int uh_idrange_check(const struct uh_id_files *f, uint32_t min, uint32_t count,
		     struct uh_error *err);

#endif
