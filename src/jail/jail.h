/* The jail an instance's kernel runs in, entered by the monitor's child just before exec:
 * its own mount, pid (entered by the parent before fork), ipc and uts namespaces; a root on
 * a small tmpfs holding only what the kernel needs, bind-mounted at the same paths as on the
 * host (the COW header names its backing file by host path, and UML rewrites headers whose
 * path differs); pivot_root; the instance's own uid/gid (all three equal: UML ptraces its
 * children and must stay dumpable); no capabilities in any set; no_new_privs. The steps are
 * listed in docs/jail.md in this order. */
#ifndef UH_JAIL_H
#define UH_JAIL_H

#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define UH_JAIL_MAX_BINDS 16
#define UH_JAIL_RAM_DIR "/ram" /* inside the jail: the RAM tmpfs, the kernel's TMPDIR */

struct uh_jail_bind {
	const char *path; /* host path, mounted at the same path inside */
	int read_only;
};

struct uh_jail {
	const char *root; /* an empty host directory for the new root's mount point */
	const char *hostname;
	uid_t uid;
	gid_t gid;
	uint64_t tmp_mib; /* size of the RAM tmpfs, which holds the kernel's RAM file */
	struct uh_jail_bind binds[UH_JAIL_MAX_BINDS];
	int n_binds;
	int tun;     /* give it /dev/net/tun (an instance with a network) */
	int seccomp; /* 0 off, 1 enforce, 2 log (collect what is missing from the allowlist) */
};

/* Install the syscall filter (seccomp.c). log_only: allow everything, log what is not listed. */
int uh_jail_seccomp(int log_only, struct uh_error *err);

/* Enter the jail (in the process that will exec the kernel). On failure the message names
 * the step that failed; the process should then exit. */
int uh_jail_enter(const struct uh_jail *j, struct uh_error *err);

#endif
