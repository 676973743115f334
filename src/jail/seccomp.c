/* The jailed kernel's seccomp filter: an allowlist of what UML uses on the host, grown from
 * logged runs (umlhostd with `seccomp = log` logs every syscall outside the list to the
 * kernel's audit log; see docs/jail.md). Guest syscalls never reach it: UML intercepts them
 * with PTRACE_SYSEMU before seccomp runs. Whatever is not listed fails with EPERM in enforce
 * mode: mount, unshare, setns, bpf, perf_event_open, keyctl, kexec, module loading... */
#include "jail/jail.h"

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>

static const char *const allowed[] = {
	/* files and descriptors */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "open", "openat", "close", "close_range", "fstat", "stat",
	"lstat", "newfstatat", "statx", "lseek", "ioctl", "fcntl", "dup", "dup2", "dup3",
	"pipe", "pipe2", "fsync", "fdatasync", "fallocate", "ftruncate", "truncate", "unlink",
	"unlinkat", "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2",
	"getdents64", "readlink", "readlinkat", "access", "faccessat", "faccessat2", "chmod",
	"fchmod", "fchmodat", "fchown", "chown", "statfs", "fstatfs", "getcwd", "chdir",
	"fchdir", "umask", "flock", "sync_file_range", "copy_file_range", "sendfile", "splice",
	"utimensat", "futimesat", "memfd_create", "eventfd2", "timerfd_create", "timerfd_settime",
	"timerfd_gettime", "sync", "syncfs",
	/* memory */
	"mmap", "munmap", "mprotect", "madvise", "brk", "mremap", "msync", "mlock", "munlock",
	/* signals, timers, time */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_sigpending", "rt_sigqueueinfo", "sigaltstack", "kill", "tgkill", "tkill", "pause",
	"alarm", "setitimer", "getitimer", "timer_create", "timer_settime", "timer_gettime",
	"timer_getoverrun", "timer_delete", "clock_gettime", "clock_getres", "clock_nanosleep",
	"nanosleep", "gettimeofday", "time", "restart_syscall",
	/* processes: UML runs guest processes as ptraced host processes */
	"clone", "clone3", "fork", "vfork", "execve", "exit", "exit_group", "wait4", "waitid",
	"ptrace", "getpid", "gettid", "getppid", "getpgid", "setpgid", "getsid", "setsid",
	"getpgrp", "set_tid_address", "set_robust_list", "get_robust_list", "futex", "rseq",
	"arch_prctl", "modify_ldt", "prctl", "sched_yield", "sched_getaffinity", "sched_setaffinity",
	"getpriority", "setpriority", "getrlimit", "setrlimit", "prlimit64", "getrusage",
	"uname", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups", "capget", "getrandom", "sysinfo", "times",
	/* waiting */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "poll",
	"ppoll", "select", "pselect6",
	/* sockets: mconsole, notify, network transports (tap via /dev/net/tun, vector) */
	"socket", "socketpair", "bind", "connect", "listen", "accept", "accept4", "sendto",
	"recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown", "getsockname",
	"getpeername", "getsockopt", "setsockopt",
	NULL,
};

int uh_jail_seccomp(int log_only, struct uh_error *err)
{
	scmp_filter_ctx ctx;
	int i, r;

	ctx = seccomp_init(log_only ? SCMP_ACT_LOG : SCMP_ACT_ERRNO(EPERM));
	if (ctx == NULL)
		return uh_errx(err, "jail: seccomp: init failed");
	for (i = 0; allowed[i]; i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0) {
			seccomp_release(ctx);
			return uh_err(err, -r, "jail: seccomp: allow %s", allowed[i]);
		}
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return uh_err(err, -r, "jail: seccomp: load the filter");
	return 0;
}
