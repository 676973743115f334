#include "jail/jail.h"
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Bind host `src` at root + src: a directory or an (empty) file as the mount point. */
static int bind_same_path(const char *root, const char *src, int ro, struct uh_error *err)
{
	char target[4096], parent[4096], *slash;
	struct stat st;
	int fd;

	if (snprintf(target, sizeof(target), "%s%s", root, src) >= (int)sizeof(target))
		return uh_errx(err, "bind %s: path too long", src);
	if (stat(src, &st) < 0)
		return uh_err(err, errno, "bind %s", src);
	if (S_ISDIR(st.st_mode)) {
		if (uh_mkdirs(target, 0755, err) < 0)
			return uh_err_prefix(err, "bind %s", src);
	} else {
		strcpy(parent, target);
		slash = strrchr(parent, '/');
		*slash = '\0';
		if (uh_mkdirs(parent, 0755, err) < 0)
			return uh_err_prefix(err, "bind %s", src);
		fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return uh_err(err, errno, "bind %s: create mount point", src);
		close(fd);
	}
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		return uh_err(err, errno, "bind %s", src);
	/* the flags of a bind mount only change on a remount; a device node bound on purpose
	 * (/dev/null, /dev/net/tun) must stay usable, everything else is nodev */
	if (mount(NULL, target, NULL,
		  MS_BIND | MS_REMOUNT | MS_NOSUID | (S_ISCHR(st.st_mode) ? 0 : MS_NODEV) |
			  (ro ? MS_RDONLY : 0),
		  NULL) < 0)
		return uh_err(err, errno, "remount %s%s", src, ro ? " read-only" : "");
	return 0;
}

static int drop_bounding_set(struct uh_error *err)
{
	int c, last = CAP_LAST_CAP;
	FILE *fp = fopen("/proc/sys/kernel/cap_last_cap", "re");

	/* the running kernel may know more capabilities than our headers */
	if (fp) {
		if (fscanf(fp, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(fp);
	}
	for (c = 0; c <= last; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return uh_err(err, errno, "drop capability %d from the bounding set", c);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return uh_err(err, errno, "clear ambient capabilities");
	return 0;
}

/* After the uid change permitted and effective are empty already; inheritable is not. */
static int clear_capabilities(struct uh_error *err)
{
	cap_t none = cap_init();

	if (none == NULL)
		return uh_err(err, errno, "cap_init");
	if (cap_set_proc(none) < 0) {
		cap_free(none);
		return uh_err(err, errno, "clear capabilities");
	}
	cap_free(none);
	return 0;
}

int uh_jail_enter(const struct uh_jail *j, struct uh_error *err)
{
	char tmp[4096], opts[64];
	int i;

	/* 1. namespaces (the pid namespace was entered by our parent before the fork) */
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		return uh_err(err, errno, "jail: unshare mount/ipc/uts namespaces");
	/* 2. private: nothing we mount propagates back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return uh_err(err, errno, "jail: make mounts private");
	if (j->hostname && sethostname(j->hostname, strlen(j->hostname)) < 0)
		return uh_err(err, errno, "jail: set hostname");
	/* 3. root tmpfs: the new root, tiny */
	if (mount("umlhost-jail", j->root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") <
	    0)
		return uh_err(err, errno, "jail: mount the root tmpfs on %s", j->root);
	/* 4. binds: what the kernel needs, at the same paths */
	for (i = 0; i < j->n_binds; i++) {
		if (strncmp(j->binds[i].path, UH_JAIL_RAM_DIR "/", sizeof(UH_JAIL_RAM_DIR)) == 0)
			return uh_errx(err, "jail: %s lies under %s, where the RAM tmpfs goes",
				       j->binds[i].path, UH_JAIL_RAM_DIR);
		if (bind_same_path(j->root, j->binds[i].path, j->binds[i].read_only, err) < 0)
			return uh_err_prefix(err, "jail");
	}
	/* 5. /dev: a tmpfs of its own (the root is nodev) holding /dev/null (UML dies silently
	 * early in boot without it) and, with a network, a tun node owned by the instance: the
	 * host's /dev/net/tun may be root-only, and the kernel needs only to attach to its own
	 * persistent tap by name */
	snprintf(tmp, sizeof(tmp), "%s/dev", j->root);
	if (mkdir(tmp, 0755) < 0 ||
	    mount("umlhost-dev", tmp, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755") < 0)
		return uh_err(err, errno, "jail: mount /dev");
	if (bind_same_path(j->root, "/dev/null", 0, err) < 0)
		return uh_err_prefix(err, "jail");
	if (j->tun) {
		snprintf(tmp, sizeof(tmp), "%s/dev/net", j->root);
		if (mkdir(tmp, 0755) < 0)
			return uh_err(err, errno, "jail: mkdir /dev/net");
		snprintf(tmp, sizeof(tmp), "%s/dev/net/tun", j->root);
		if (mknod(tmp, S_IFCHR | 0600, makedev(10, 200)) < 0 ||
		    chown(tmp, j->uid, j->gid) < 0)
			return uh_err(err, errno, "jail: create /dev/net/tun");
	}
	snprintf(tmp, sizeof(tmp), "%s/dev", j->root);
	if (mount(NULL, tmp, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0)
		return uh_err(err, errno, "jail: remount /dev read-only");
	/* 6. /ram: the kernel's RAM file lives here (TMPDIR); exec must be allowed, UML refuses
	 * noexec. Not /tmp: host paths under /tmp may be bound above. */
	snprintf(tmp, sizeof(tmp), "%s" UH_JAIL_RAM_DIR, j->root);
	snprintf(opts, sizeof(opts), "size=%lluM,mode=0700,uid=%u,gid=%u",
		 (unsigned long long)j->tmp_mib, (unsigned)j->uid, (unsigned)j->gid);
	if (mkdir(tmp, 0700) < 0 ||
	    mount("umlhost-ram", tmp, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return uh_err(err, errno, "jail: mount the RAM tmpfs");
	/* 7. pivot_root into it and detach the old root */
	if (chdir(j->root) < 0)
		return uh_err(err, errno, "jail: chdir to the new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return uh_err(err, errno, "jail: pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return uh_err(err, errno, "jail: detach the old root");
	if (chdir("/") < 0)
		return uh_err(err, errno, "jail: chdir /");
	/* 8. read-only root */
	if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) <
	    0)
		return uh_err(err, errno, "jail: remount / read-only");
	/* 9. bounding set, and ambient (needs CAP_SETPCAP, which we still have) */
	if (drop_bounding_set(err) < 0)
		return uh_err_prefix(err, "jail");
	/* 10. uid/gid of the instance, no supplementary groups */
	if (setgroups(0, NULL) < 0)
		return uh_err(err, errno, "jail: setgroups");
	if (setresgid(j->gid, j->gid, j->gid) < 0)
		return uh_err(err, errno, "jail: setresgid %u", (unsigned)j->gid);
	if (setresuid(j->uid, j->uid, j->uid) < 0)
		return uh_err(err, errno, "jail: setresuid %u", (unsigned)j->uid);
	/* 11. capabilities: every remaining set empty */
	if (clear_capabilities(err) < 0)
		return uh_err_prefix(err, "jail");
	/* 12. dumpable: UML ptraces its own children, and a uid change cleared it */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return uh_err(err, errno, "jail: set dumpable");
	/* 13. no_new_privs: no way back up */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return uh_err(err, errno, "jail: no_new_privs");
	/* 14. seccomp: the allowlist of seccomp.c; the rest fails with EPERM */
	if (j->seccomp && uh_jail_seccomp(j->seccomp == 2, err) < 0)
		return -1;
	return 0;
}
