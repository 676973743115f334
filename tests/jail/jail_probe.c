/* Run by the jail in place of the UML kernel (tests/e2e/test_jail_probe.sh registers it as a
 * kernel): tries, from inside the instance's exact jail and seccomp filter, each call the
 * kernel process must not make, and the ones it needs. One line per call:
 *   PROBE <name> <expected> <got>
 * where expected/got are "ok" or an errno name; then "PROBE-END <failures>". Static, so that
 * it needs nothing from the jail's libraries. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static const char *errname(int e)
{
	switch (e) {
	case 0:
		return "ok";
	case EPERM:
		return "EPERM";
	case ENOSYS:
		return "ENOSYS";
	case EACCES:
		return "EACCES";
	case EINVAL:
		return "EINVAL";
	case EBADF:
		return "EBADF";
	case EAFNOSUPPORT:
		return "EAFNOSUPPORT";
	default:
		return strerrorname_np(e) ? strerrorname_np(e) : "E?";
	}
}

/* r < 0 means errno says why */
static void report(const char *name, const char *expected, long r)
{
	const char *got = errname(r < 0 ? errno : 0);

	printf("PROBE %s %s %s\n", name, expected, got);
	if (strcmp(expected, got) != 0)
		failures++;
	fflush(stdout);
}

static long sock(int family, int type)
{
	long fd = syscall(SYS_socket, family, type, 0);

	if (fd >= 0)
		close((int)fd);
	return fd;
}

/* clone with raw flags: the child exits at once */
static long raw_clone(unsigned long flags)
{
	long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid;
}

int main(void)
{
	int sv[2], tun;
	long r;
	struct ifreq ifr;

	/* as root outside a jail these calls would succeed and change the host (a tmpfs over
	 * /tmp, for one): the jail runs it as the instance's uid, never as root */
	if (getuid() == 0 || geteuid() == 0) {
		fprintf(stderr, "jail_probe: refusing to run as root: run it only inside the jail\n");
		return 2;
	}
	/* what the kernel needs */
	report("socket-unix", "ok", sock(AF_UNIX, SOCK_DGRAM));
	r = syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
	report("socketpair-unix", "ok", r);
	report("clone-plain", "ok", raw_clone(0));
	report("clone-vm-files", "ok", raw_clone(CLONE_FILES));

	/* the host's networks and local services */
	report("socket-inet", "EPERM", sock(AF_INET, SOCK_STREAM));
	report("socket-inet6", "EPERM", sock(AF_INET6, SOCK_DGRAM));
	report("socket-netlink", "EPERM", sock(AF_NETLINK, SOCK_RAW));
	report("socket-packet", "EPERM", sock(AF_PACKET, SOCK_RAW));
	report("socket-vsock", "EPERM", sock(AF_VSOCK, SOCK_STREAM));
	/* AF_UNIX with a high bit set: the kernel reads an int (AF_INET); the filter all 64 */
	report("socket-inet-highbits", "EPERM", syscall(SYS_socket, 0x100000000UL | AF_INET,
							SOCK_STREAM, 0));
	r = syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv);
	report("socketpair-inet", "EPERM", r);

	/* namespaces */
	report("clone-newnet", "EPERM", raw_clone(CLONE_NEWNET));
	report("clone-newuser", "EPERM", raw_clone(CLONE_NEWUSER));
	report("clone-newns", "EPERM", raw_clone(CLONE_NEWNS));
	report("clone-newpid", "EPERM", raw_clone(CLONE_NEWPID));
	report("clone3", "ENOSYS", syscall(SYS_clone3, NULL, 0));
	report("unshare-net", "EPERM", syscall(SYS_unshare, CLONE_NEWNET));
	report("setns", "EPERM", syscall(SYS_setns, 0, 0));
	report("mount", "EPERM", syscall(SYS_mount, "none", "/ram", "tmpfs", 0, NULL));

	/* the tap: what changes it for everyone is refused; on a fd of /dev/net/tun, before
	 * TUNSETIFF, so each request reaches the filter and nothing else can fail it first
	 * (EBADFD would be the tun driver's answer to an allowed request) */
	tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	report("open-dev-net-tun", "ok", tun);
	if (tun >= 0) {
		int features = 0;

		report("ioctl-TUNGETFEATURES", "ok", ioctl(tun, TUNGETFEATURES, &features));
		report("ioctl-TUNSETPERSIST", "EPERM", ioctl(tun, TUNSETPERSIST, 1));
		report("ioctl-TUNSETOWNER", "EPERM", ioctl(tun, TUNSETOWNER, 0));
		report("ioctl-TUNSETGROUP", "EPERM", ioctl(tun, TUNSETGROUP, 0));
		report("ioctl-TUNSETLINK", "EPERM", ioctl(tun, TUNSETLINK, 1));
		report("ioctl-TUNSETQUEUE", "EPERM", ioctl(tun, TUNSETQUEUE, &ifr));
		report("ioctl-TUNATTACHFILTER", "EPERM", ioctl(tun, TUNATTACHFILTER, &ifr));
		report("ioctl-TUNSETSTEERINGEBPF", "EPERM", ioctl(tun, TUNSETSTEERINGEBPF, &r));
		/* TUNSETPERSIST with high bits: the kernel takes an unsigned int request */
		report("ioctl-TUNSETPERSIST-highbits", "EPERM",
		       syscall(SYS_ioctl, tun, 0x100000000UL | TUNSETPERSIST, 1));
		close(tun);
	}
	printf("PROBE-END %d\n", failures);
	fflush(stdout);
	/* stay up a little: the daemon reads a kernel that dies at once as a crash */
	sleep(2);
	return failures ? 1 : 0;
}
