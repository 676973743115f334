/* umlhost-monitor: one per running instance, in the spirit of podman's conmon.
 *
 *   umlhost-monitor [JAIL OPTIONS] RUN_DIR LOG_FILE LOG_MAX_BYTES -- KERNEL ARGS...
 *   JAIL OPTIONS: --uid N --gid N --jail-root DIR --tmp-mib N --hostname NAME
 *                 --bind PATH --bind-ro PATH (repeatable) --tun (a /dev/net/tun node)
 *
 * It is the UML kernel's parent and the owner of its console, so both outlive the daemon:
 * - starts the kernel with a pipe pair as its console (con0=fd:0,fd:1) in its own session,
 *   with address-space randomisation off (small mem= boots fail sometimes with it on). Pipes,
 *   not a pty: on a tty UML forks a SIGWINCH helper into a session of its own that shares the
 *   kernel's file table, survives a kill -9 of the kernel and keeps its disk locked;
 * - writes RUN_DIR/uml.pid ("PID STARTTIME") once the kernel runs, RUN_DIR/exit ("exited N"
 *   or "signal N") when it ends, each via a temp file and rename;
 * - copies console output to LOG_FILE, rotated to LOG_FILE.1 past LOG_MAX_BYTES, and keeps the
 *   last 64 KiB in a ring that every viewer attaching to RUN_DIR/console.sock receives first;
 *   viewers' keystrokes go to the console.
 * With --uid the kernel runs jailed (src/jail): its own pid namespace (entered here, so the
 * kernel is its pid 1 and takes every helper with it when it dies), mounts, uid, no
 * capabilities. A failing jail step is written to the console log, so the daemon's start error
 * quotes it.
 * The daemon never waits on it: it watches the kernel's pid with a pidfd and reads the files. */
#include "jail/jail.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/proc.h"

#include <getopt.h>
#include <sched.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define RING_SIZE (64 * 1024)
#define MAX_VIEWERS 16

static const char *run_dir, *log_path;
static long long log_max;
static int log_fd = -1;
static long long log_size;
static char ring[RING_SIZE];
static size_t ring_len, ring_head; /* bytes held, next write position */
static int viewers[MAX_VIEWERS];

static void die(const char *what)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "umlhost-monitor: %s: %s\n", what, strerror(errno));
	if (log_fd >= 0)
		(void)!write(log_fd, msg, strlen(msg));
	(void)!write(2, msg, strlen(msg));
	exit(1);
}

static void write_state_file(const char *name, const char *text)
{
	char path[4096];
	struct uh_tmpfile t;
	struct uh_error err;

	snprintf(path, sizeof(path), "%s/%s", run_dir, name);
	if (uh_tmpfile_open(&t, path, 0644, &err) < 0)
		return;
	if (uh_write_full(t.fd, text, strlen(text)) == 0)
		uh_tmpfile_commit(&t, &err);
	uh_tmpfile_discard(&t);
}

static void log_rotate(void)
{
	char old[4096];

	snprintf(old, sizeof(old), "%s.1", log_path);
	rename(log_path, old);
	uh_close(&log_fd);
	log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	log_size = 0;
}

static void console_output(const char *buf, size_t n)
{
	size_t i, first;

	/* never let a file pass the cap: split a large read across a rotation */
	for (i = 0; log_fd >= 0 && i < n;) {
		size_t room = log_size < log_max ? (size_t)(log_max - log_size) : 0, k;

		if (room == 0) {
			log_rotate();
			continue;
		}
		k = n - i < room ? n - i : room;
		if (uh_write_full(log_fd, buf + i, k) < 0)
			break;
		log_size += (long long)k;
		i += k;
	}
	/* ring: keep only the last RING_SIZE bytes */
	if (n >= RING_SIZE) {
		memcpy(ring, buf + n - RING_SIZE, RING_SIZE);
		ring_head = 0;
		ring_len = RING_SIZE;
	} else {
		first = RING_SIZE - ring_head < n ? RING_SIZE - ring_head : n;
		memcpy(ring + ring_head, buf, first);
		memcpy(ring, buf + first, n - first);
		ring_head = (ring_head + n) % RING_SIZE;
		ring_len = ring_len + n > RING_SIZE ? RING_SIZE : ring_len + n;
	}
	for (i = 0; i < MAX_VIEWERS; i++) {
		/* a viewer that cannot keep up loses the connection, never stalls the console */
		if (viewers[i] >= 0 && send(viewers[i], buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			uh_close(&viewers[i]);
	}
}

static void viewer_add(int fd)
{
	size_t i, start = (ring_head + RING_SIZE - ring_len) % RING_SIZE;

	for (i = 0; i < MAX_VIEWERS; i++)
		if (viewers[i] < 0)
			break;
	if (i == MAX_VIEWERS) {
		const char msg[] = "umlhost: too many console viewers\r\n";
		(void)!send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL);
		close(fd);
		return;
	}
	viewers[i] = fd;
	/* history first, so a viewer sees the login prompt it attached to */
	if (start + ring_len <= RING_SIZE) {
		(void)!send(fd, ring + start, ring_len, MSG_NOSIGNAL);
	} else {
		(void)!send(fd, ring + start, RING_SIZE - start, MSG_NOSIGNAL);
		(void)!send(fd, ring, ring_len - (RING_SIZE - start), MSG_NOSIGNAL);
	}
}

/* The reaper's child, the kernel, by host pid (the reaper only knows it as pid 2). */
static pid_t find_child(pid_t parent)
{
	char path[64], buf[64];
	int i, fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent, (int)parent);
	for (i = 0; i < 200; i++) {
		ssize_t n;

		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return parent;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			return (pid_t)atoi(buf);
		}
		usleep(5000); /* not forked yet, or the jail failed */
		{
			siginfo_t si = {0};

			if (waitid(P_PID, (id_t)parent, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid == parent)
				return parent; /* it ended without a kernel */
		}
	}
	return parent;
}

int main(int argc, char **argv)
{
	int master = -1, lsock = -1, sfd = -1, i, status = 0;
	int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, master_eof = 0;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char **kargv, text[128];
	sigset_t mask;
	pid_t pid, kernel_pid;

	static const struct option opts[] = {{"uid", required_argument, NULL, 'u'},
					     {"gid", required_argument, NULL, 'g'},
					     {"jail-root", required_argument, NULL, 'r'},
					     {"tmp-mib", required_argument, NULL, 't'},
					     {"hostname", required_argument, NULL, 'h'},
					     {"bind", required_argument, NULL, 'b'},
					     {"bind-ro", required_argument, NULL, 'B'},
					     {"cgroup", required_argument, NULL, 'c'},
					     {"seccomp", required_argument, NULL, 's'},
					     {"tun", no_argument, NULL, 'T'},
					     {NULL, 0, NULL, 0}};
	struct uh_jail jail = {0};
	const char *cgroups[8];
	int jailed = 0, c, n_cgroups = 0;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			jail.uid = (uid_t)strtoul(optarg, NULL, 10);
			jailed = 1;
			break;
		case 'g':
			jail.gid = (gid_t)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			jail.root = optarg;
			break;
		case 't':
			jail.tmp_mib = strtoull(optarg, NULL, 10);
			break;
		case 'h':
			jail.hostname = optarg;
			break;
		case 'b':
		case 'B':
			if (jail.n_binds == UH_JAIL_MAX_BINDS) {
				fprintf(stderr, "umlhost-monitor: too many binds\n");
				return 2;
			}
			jail.binds[jail.n_binds].path = optarg;
			jail.binds[jail.n_binds++].read_only = c == 'B';
			break;
		case 's':
			jail.seccomp = strcmp(optarg, "enforce") == 0 ? 1
				       : strcmp(optarg, "log") == 0   ? 2
								      : 0;
			break;
		case 'T':
			jail.tun = 1;
			break;
		case 'c':
			if (n_cgroups == 8)
				return 2;
			cgroups[n_cgroups++] = optarg;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind < 5 || strcmp(argv[optind + 3], "--") != 0 ||
	    (jailed && (jail.uid == 0 || jail.gid == 0 || jail.root == NULL))) {
		fprintf(stderr, "usage: umlhost-monitor [--uid N --gid N --jail-root DIR ...] "
				"RUN_DIR LOG_FILE LOG_MAX -- KERNEL ARGS...\n");
		return 2;
	}
	run_dir = argv[optind];
	log_path = argv[optind + 1];
	log_max = atoll(argv[optind + 2]);
	if (log_max < 4096)
		log_max = 4096;
	kargv = &argv[optind + 4];
	if (jail.tmp_mib == 0)
		jail.tmp_mib = 1024;
	for (i = 0; i < MAX_VIEWERS; i++)
		viewers[i] = -1;

	setsid(); /* not in the daemon's process group: a signal to it does not reach us */
	/* the kernel's helpers orphaned by its death come to us to be reaped, not to init */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (log_fd < 0)
		die("open console log");
	{
		struct stat st;
		if (fstat(log_fd, &st) == 0)
			log_size = st.st_size;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		die("signalfd");

	/* console: we write the kernel's input into in_pipe and read its output from out_pipe */
	if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(out_pipe, O_CLOEXEC) < 0)
		die("console pipes");
	master = out_pipe[0];
	fcntl(master, F_SETFL, O_NONBLOCK);
	fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/console.sock", run_dir);
	unlink(addr.sun_path);
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(lsock, 8) < 0)
		die("console socket");
	chmod(addr.sun_path, 0660);

	/* jailed, the kernel runs in a pid namespace of its own under a small reaper (pid 1 there):
	 * when the kernel dies, the reaper exits with its status and the namespace's end kills
	 * every process the kernel left. The kernel is not pid 1 itself: a namespace's init
	 * ignores its own SIGABRT, so a panicking kernel's abort() would spin forever. */
	if (jailed && unshare(CLONE_NEWPID) < 0)
		die("jail: unshare pid namespace");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		static char *jail_env[] = {"PATH=/usr/bin:/bin", "TMPDIR=" UH_JAIL_RAM_DIR, NULL};
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		personality(ADDR_NO_RANDOMIZE);
		dup2(in_pipe[0], 0);
		dup2(out_pipe[1], 1);
		dup2(out_pipe[1], 2);
		closefrom(3);
		/* into the instance's cgroups first: everything it starts is counted and limited */
		for (int k = 0; k < n_cgroups; k++) {
			char path[600];
			int fd;

			snprintf(path, sizeof(path), "%s/cgroup.procs", cgroups[k]);
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, "0", 1) != 1) {
				fprintf(stderr, "umlhost-monitor: jail: join cgroup %s: %s\n",
					cgroups[k], strerror(errno));
				_exit(126);
			}
			close(fd);
		}
		if (jailed) {
			struct uh_error err;
			pid_t k;
			int st;

			if (uh_jail_enter(&jail, &err) < 0) {
				fprintf(stderr, "umlhost-monitor: %s\n", err.msg);
				_exit(126);
			}
			k = fork();
			if (k < 0) {
				fprintf(stderr, "umlhost-monitor: jail: fork the kernel: %s\n",
					strerror(errno));
				_exit(126);
			}
			if (k == 0) {
				setsid(); /* the kernel's session: its pid is its session id */
				execve(kargv[0], kargv, jail_env);
				fprintf(stderr, "umlhost-monitor: exec %s: %s\n", kargv[0],
					strerror(errno));
				_exit(127);
			}
			/* the reaper: as init it reaps every orphan until the kernel ends */
			for (;;) {
				pid_t w = wait(&st);

				if (w == k)
					_exit(WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st));
				if (w < 0 && errno != EINTR)
					_exit(125);
			}
		}
		setsid(); /* its own session: the whole instance is one session to kill */
		execv(kargv[0], kargv);
		fprintf(stderr, "umlhost-monitor: exec %s: %s\n", kargv[0], strerror(errno));
		_exit(127);
	}
	uh_close(&in_pipe[0]);
	uh_close(&out_pipe[1]);
	kernel_pid = jailed ? find_child(pid) : pid;
	snprintf(text, sizeof(text), "%d %llu\n", (int)kernel_pid,
		 (unsigned long long)uh_proc_starttime(kernel_pid));
	write_state_file("uml.pid", text);

	for (;;) {
		struct pollfd p[3 + MAX_VIEWERS];
		int n = 0, vi[MAX_VIEWERS];
		char buf[65536];
		ssize_t r;

		p[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = master_eof ? -1 : master, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = lsock, .events = POLLIN};
		for (i = 0; i < MAX_VIEWERS; i++) {
			if (viewers[i] < 0)
				continue;
			vi[n - 3] = i;
			p[n++] = (struct pollfd){.fd = viewers[i], .events = POLLIN};
		}
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = read(master, buf, sizeof(buf));
			if (r > 0)
				console_output(buf, (size_t)r);
			else if (r == 0 || (r < 0 && errno != EAGAIN))
				master_eof = 1; /* every writer closed: the kernel is going away */
		}
		if (p[2].revents & POLLIN) {
			int vfd = accept4(lsock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (vfd >= 0)
				viewer_add(vfd);
		}
		for (i = 3; i < n; i++) {
			int *v = &viewers[vi[i - 3]];

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(*v, buf, sizeof(buf));
			if (r <= 0)
				uh_close(v);
			else
				(void)!uh_write_full(in_pipe[1], buf, (size_t)r);
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			pid_t w;
			int st, done = 0;

			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				; /* SIGTERM/SIGINT/SIGHUP are ignored: the kernel decides when we end */
			while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
				if (w == pid) {
					status = st;
					done = 1;
				}
			}
			if (done)
				break;
		}
	}

	/* drain what the kernel printed last */
	for (i = 0; i < 50; i++) {
		char buf[65536];
		ssize_t r = read(master, buf, sizeof(buf));
		if (r > 0)
			console_output(buf, (size_t)r);
		else if (r < 0 && errno == EAGAIN && i < 2)
			usleep(10000);
		else
			break;
	}
	if (WIFSIGNALED(status))
		snprintf(text, sizeof(text), "signal %d\n", WTERMSIG(status));
	else if (jailed && WEXITSTATUS(status) > 128) /* the reaper's encoding of a signal */
		snprintf(text, sizeof(text), "signal %d\n", WEXITSTATUS(status) - 128);
	else
		snprintf(text, sizeof(text), "exited %d\n", WEXITSTATUS(status));
	write_state_file("exit", text);
	unlink(addr.sun_path);
	return 0;
}
