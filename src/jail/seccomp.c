/* The jailed kernel's seccomp filter: an allowlist of what UML uses on the host, grown from
 * logged runs (umlhostd with `seccomp = log` logs every syscall outside the list to the
 * kernel's audit log; see docs/jail.md). Guest syscalls never reach it: UML intercepts them
 * with PTRACE_SYSEMU before seccomp runs. Whatever is not listed fails with EPERM in enforce
 * mode: mount, unshare, setns, bpf, perf_event_open, keyctl, kexec, module loading...
 *
 * Four calls are allowed only with some arguments (docs/jail.md says why, measured): socket and
 * socketpair for AF_UNIX only (mconsole, notify, UML's own signal pipes; the tap transport
 * writes to /dev/net/tun, no socket); clone without namespace flags; clone3, whose flags sit in
 * memory a filter cannot read, fails with ENOSYS so that libc falls back to clone; ioctl with
 * any request but the tun ones that would change the tap for other users of it (owner, group,
 * persistence, link type, queues, filters). */
#include "jail/jail.h"

#include <errno.h>
#include <sys/ioctl.h> /* before if_tun.h, which uses its _IOW */
#include <linux/if_tun.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

static const char *const allowed[] = {
	/* files and descriptors */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "open", "openat", "close", "close_range", "fstat", "stat",
	"lstat", "newfstatat", "statx", "lseek", "fcntl", "dup", "dup2", "dup3",
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
	"fork", "vfork", "execve", "exit", "exit_group", "wait4", "waitid",
	"ptrace", "getpid", "gettid", "getppid", "getpgid", "setpgid", "getsid", "setsid",
	"getpgrp", "set_tid_address", "set_robust_list", "get_robust_list", "futex", "rseq",
	"arch_prctl", "modify_ldt", "prctl", "sched_yield", "sched_getaffinity", "sched_setaffinity",
	"getpriority", "setpriority", "getrlimit", "setrlimit", "prlimit64", "getrusage",
	"uname", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups", "capget", "getrandom", "sysinfo", "times",
	/* waiting */
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "poll",
	"ppoll", "select", "pselect6",
	/* sockets (created by socket/socketpair, below, AF_UNIX only): mconsole, notify */
	"bind", "connect", "listen", "accept", "accept4", "sendto",
	"recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown", "getsockname",
	"getpeername", "getsockopt", "setsockopt",
	NULL,
};

/* The namespace flags of clone(2). CLONE_NEWTIME shares its bit with the exit signal in
 * clone (it exists only for clone3 and unshare, both refused). */
#define NS_FLAGS                                                                                \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |          \
	 CLONE_NEWPID | CLONE_NEWNET)

/* tun requests that change the device for everyone (a tap's owner may make it persistent,
 * give it away, re-type it, attach filters or queues); UML uses TUNSETIFF (at every ifup),
 * TUNGETFEATURES, TUNSETOFFLOAD and TUNSETVNETHDRSZ, all left allowed. */
static const unsigned long tun_denied[] = {
	TUNSETNOCSUM,	   TUNSETDEBUG,	    TUNSETPERSIST,  TUNSETOWNER,	TUNSETLINK,
	TUNSETGROUP,	   TUNSETTXFILTER,  TUNATTACHFILTER, TUNDETACHFILTER, TUNSETQUEUE,
	TUNSETIFINDEX,	   TUNSETVNETLE,    TUNSETVNETBE,	  TUNSETSTEERINGEBPF, TUNSETFILTEREBPF,
	TUNSETCARRIER,	   TUNSETSNDBUF,
};
#define N_TUN_DENIED (sizeof(tun_denied) / sizeof(tun_denied[0]))

static int allow(scmp_filter_ctx ctx, const char *name, unsigned n, const struct scmp_arg_cmp *cmp,
		 struct uh_error *err)
{
	int nr = seccomp_syscall_resolve_name(name), r;

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture */
	r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
	if (r < 0)
		return uh_err(err, -r, "jail: seccomp: allow %s", name);
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, struct uh_error *err)
{
	/* the family is an int: its low 32 bits, all the kernel reads (the ABI leaves the high
	 * ones undefined, so a full 64-bit compare could refuse a legitimate call) */
	struct scmp_arg_cmp unix_only = {
		.arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffUL, .datum_b = AF_UNIX};
	struct scmp_arg_cmp no_ns = {
		.arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = NS_FLAGS, .datum_b = 0};
	unsigned i;
	int r;

	for (i = 0; allowed[i]; i++)
		if (allow(ctx, allowed[i], 0, NULL, err) < 0)
			return -1;
	if (allow(ctx, "socket", 1, &unix_only, err) < 0 ||
	    allow(ctx, "socketpair", 1, &unix_only, err) < 0 || allow(ctx, "clone", 1, &no_ns, err) < 0 ||
	    allow(ctx, "ioctl", 0, NULL, err) < 0)
		return -1;
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		return uh_err(err, -r, "jail: seccomp: clone3 -> ENOSYS");
	return 0;
}

/* The second filter: allow everything but the tun requests above. A filter of its own because
 * libseccomp keeps one comparison per argument in a rule and refuses a rule whose action is the
 * default's; the kernel runs both filters and the stricter answer wins. */
static int add_tun_rules(scmp_filter_ctx ctx, struct uh_error *err)
{
	unsigned i;
	int r;

	for (i = 0; i < N_TUN_DENIED; i++) {
		/* the kernel reads the request as an unsigned int: match its low 32 bits */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, tun_denied[i]));
		if (r < 0)
			return uh_err(err, -r, "jail: seccomp: deny ioctl %#lx", tun_denied[i]);
	}
	return 0;
}

static int load(uint32_t default_action, int (*rules)(scmp_filter_ctx, struct uh_error *),
		struct uh_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(default_action);
	int r;

	if (ctx == NULL)
		return uh_errx(err, "jail: seccomp: init failed");
	r = rules(ctx, err);
	if (r == 0) {
		r = seccomp_load(ctx);
		if (r < 0)
			uh_err(err, -r, "jail: seccomp: load the filter");
	}
	seccomp_release(ctx);
	return r < 0 ? -1 : 0;
}

int uh_jail_seccomp(int log_only, struct uh_error *err)
{
	/* the main filter last: it does not allow seccomp(2) itself */
	if (!log_only && load(SCMP_ACT_ALLOW, add_tun_rules, err) < 0)
		return -1;
	return load(log_only ? SCMP_ACT_LOG : SCMP_ACT_ERRNO(EPERM), add_rules, err);
}
