/* Which UML kernels can run on this host's CPU (see fpu.h). The probe forks: ptrace needs a
 * stopped tracee, and our child is the only process we may trace without privileges
 * beyond our own. */
#include "kernel/fpu.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"

/* the format string of the boot line our patch series adds (kernel/patches/0001-*) */
static const char probe_marker[] = "UML: host FPU state is %d bytes";

int uh_fpu_probe_host(long *bytes, struct uh_error *err)
{
	struct iovec iov;
	size_t len;
	void *buf = NULL;
	pid_t pid;
	int status, rc = -1, reaped = 0;

	pid = fork();
	if (pid < 0)
		return uh_err(err, errno, "XSAVE probe: fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
			raise(SIGSTOP);
		_exit(1);
	}
	if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status)) {
		/* it exited (and is reaped): its pid may be someone else's now, never signal it */
		reaped = 1;
		uh_errx(err, "XSAVE probe: the child did not stop under ptrace (ptrace not "
			     "permitted here?)");
		goto out;
	}
	/* a buffer the area fills may have been too small: twice the room until it does not */
	for (len = 4096; len <= (1 << 20); len *= 2) {
		free(buf);
		buf = malloc(len);
		if (buf == NULL) {
			uh_errc(err, ENOMEM, "XSAVE probe");
			goto out;
		}
		iov.iov_base = buf;
		iov.iov_len = len;
		if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov) < 0) {
			if (errno == ENODEV || errno == EINVAL || errno == EIO) {
				*bytes = 512; /* no XSAVE: the legacy FXSAVE image */
				rc = 0;
			} else {
				uh_err(err, errno, "XSAVE probe: PTRACE_GETREGSET");
			}
			goto out;
		}
		if (iov.iov_len < len) {
			*bytes = (long)iov.iov_len;
			rc = 0;
			goto out;
		}
	}
	uh_errx(err, "XSAVE probe: the host's area is larger than 1 MiB");
out:
	free(buf);
	if (!reaped) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
			;
	}
	return rc;
}

int uh_fpu_parse(const char *value, long *fpu, struct uh_error *err)
{
	char *end;
	long v;

	if (strcmp(value, "host") == 0) {
		*fpu = UH_FPU_PROBED;
		return 0;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < 512 || v > (1 << 20))
		return uh_errx(err, "fpu_size '%.32s' is neither 'host' nor a size in bytes",
			       value);
	*fpu = v;
	return 0;
}

int uh_fpu_fits(const char *kernel, long fpu, long host, char *why, size_t len)
{
	/* the host clamps a longer SETREGSET to its area; a shorter one it refuses */
	if (fpu == UH_FPU_PROBED || host == 0 || fpu >= host) {
		if (len)
			why[0] = '\0';
		return 1;
	}
	snprintf(why, len,
		 "kernel '%s' cannot run on this host: it moves %ld bytes of FPU state per "
		 "process and this CPU's XSAVE area is %ld bytes, more than that (every guest "
		 "would die at init); build one that sizes it at boot: umlhost kernel build hosting",
		 kernel, fpu, host);
	return 0;
}

int uh_fpu_binary_probes(const char *path, struct uh_error *err)
{
	uh_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *map;
	int found;

	if (fd < 0 || fstat(fd, &st) < 0)
		return uh_err(err, errno, "read kernel %s", path);
	if (st.st_size == 0)
		return 0;
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return uh_err(err, errno, "map kernel %s", path);
	found = memmem(map, (size_t)st.st_size, probe_marker, sizeof(probe_marker) - 1) != NULL;
	munmap(map, (size_t)st.st_size);
	return found;
}
