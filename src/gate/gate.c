/* umlhost-gate: the HTTPS listener's TLS side, in a process of its own with no rights.
 *
 *   umlhost-gate --uid N        (started by umlhostd; never by hand)
 *   fd 3: the listening TCP socket (bound by the daemon, so any port works)
 *   fd 4: a SOCK_SEQPACKET socket to the daemon
 *   fd 5: the certificate chain and then the private key, PEM, read once and closed
 *
 * What it does: accepts a connection, runs the TLS handshake (GnuTLS), then makes a socket
 * pair and hands one end to the daemon with the client's address (SCM_RIGHTS; the daemon
 * adds it to its own HTTP server with MHD_add_connection, so it sees the real client
 * address), and pumps bytes between the TLS session and its end until either side closes.
 *
 * Why a process: TLS is where a network peer's bytes are parsed first and where the largest
 * libraries are (GnuTLS: handshakes, X.509, ASN.1, ciphers). Here a bug in them reaches a
 * process that runs as a uid of its own, with no capabilities, no_new_privs, no files open
 * but its sockets (the key is read before the drop and the PEM closed), and a seccomp
 * allowlist of the calls a byte pump needs. What a compromise can do is what any client
 * can do (talk HTTP to the daemon), plus see other clients' plaintext: docs/security.md.
 * Tokens are checked by the daemon (the hashes stay in one place; a revoke acts at once).
 *
 * Limits: connections in all and per client address, a handshake deadline, an idle
 * deadline, bounded buffers in both directions; when the daemon is slow to read, the
 * client is not read either (back-pressure, never unbounded memory). */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <seccomp.h>

#include "gate/gate_proto.h"

#define LISTEN_FD 3
#define DAEMON_FD 4
#define PEM_FD 5
#define BUF_SIZE (16 * 1024)
#define MAX_CONNS 2000
#define MAX_PER_ADDR 256     /* an IPv4 address or an IPv6 /64 */
#define MAX_HANDSHAKING 16   /* unfinished handshakes per address or /64 */
#define HANDSHAKE_MS 10000
#define HANDOVER_WAIT_MS 1000 /* a hand-over waits at most this long for room */
#define DRAIN_MS 30000	     /* a client given this long to read what the daemon sent */
#define IDLE_MS (3600 * 1000) /* event streams and consoles stay open for long */

struct conn {
	int cfd, dfd; /* client TCP, our end of the pair to the daemon */
	gnutls_session_t tls;
	int handshaken, client_eof, daemon_eof, wr_shut, want_write;
	int dfd_dropped; /* the daemon's end hung up: out of the epoll set, read when drained */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int64_t deadline_ms;
	char c2d[BUF_SIZE], d2c[BUF_SIZE];
	size_t c2d_len, d2c_off, d2c_len;
	struct conn *next;
};

static gnutls_certificate_credentials_t creds;
static gnutls_priority_t prio;
static int ep = -1;
static struct conn *conns;
static int n_conns;
static int64_t accept_paused_ms; /* while out of descriptors: 0 when accepting */

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "umlhost-gate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The certificate chain and key from fd 5 (the daemon wrote both, PEM, one after the other). */
static int load_credentials(void)
{
	static char pem[640 * 1024]; /* the daemon sends at most 512 KiB */
	size_t len = 0;
	ssize_t n;
	gnutls_datum_t d;
	int r;

	while ((n = read(PEM_FD, pem + len, sizeof(pem) - 1 - len)) > 0)
		len += (size_t)n;
	close(PEM_FD);
	if (n < 0 || len == 0 || len >= sizeof(pem) - 1) {
		logmsg("no certificate and key on fd %d", PEM_FD);
		return -1;
	}
	pem[len] = '\0';
	d.data = (unsigned char *)pem;
	d.size = (unsigned int)len;
	if ((r = gnutls_certificate_allocate_credentials(&creds)) < 0 ||
	    (r = gnutls_certificate_set_x509_key_mem(creds, &d, &d, GNUTLS_X509_FMT_PEM)) < 0 ||
	    (r = gnutls_priority_init(&prio, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", NULL)) <
		    0) {
		logmsg("TLS setup: %s", gnutls_strerror(r));
		explicit_bzero(pem, len);
		return -1;
	}
	explicit_bzero(pem, len);
	return 0;
}

/* After the key is loaded: this uid only, nothing to gain, the calls of a pump only. */
static int drop(uid_t uid)
{
	static const int allowed[] = {
		SCMP_SYS(read),		 SCMP_SYS(write),	SCMP_SYS(close),
		SCMP_SYS(epoll_wait),	 SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
		SCMP_SYS(accept4),	 SCMP_SYS(socketpair),	SCMP_SYS(sendmsg),
		SCMP_SYS(recvfrom),	 SCMP_SYS(sendto),	SCMP_SYS(recvmsg),
		SCMP_SYS(shutdown),	 SCMP_SYS(getrandom),	SCMP_SYS(clock_gettime),
		SCMP_SYS(gettimeofday),	 SCMP_SYS(time),	SCMP_SYS(brk),
		SCMP_SYS(mmap),		 SCMP_SYS(munmap),	SCMP_SYS(mremap),
		SCMP_SYS(madvise),	 SCMP_SYS(futex),	SCMP_SYS(exit),
		SCMP_SYS(exit_group),	 SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(getpid),	 SCMP_SYS(fcntl),	SCMP_SYS(writev),
		SCMP_SYS(readv),	 SCMP_SYS(newfstatat),	SCMP_SYS(fstat),
		SCMP_SYS(lseek),	 SCMP_SYS(poll),	SCMP_SYS(ppoll),
		SCMP_SYS(restart_syscall),
	};
	scmp_filter_ctx ctx;
	struct rlimit nofile;
	int r = 0;

	/* two descriptors a connection, and a few */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 2 * MAX_CONNS + 64) {
		nofile.rlim_cur = nofile.rlim_max < 2 * MAX_CONNS + 64 ? nofile.rlim_max
									 : 2 * MAX_CONNS + 64;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
	    setresuid(uid, uid, uid) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		logmsg("drop to uid %u: %s", (unsigned)uid, strerror(errno));
		return -1;
	}
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL)
		return -1;
	for (size_t i = 0; r == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* memory made executable: never (no JIT here) */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* socket options (kernel TLS, if a GnuTLS config asks for it): refused, not fatal */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOPROTOOPT), SCMP_SYS(setsockopt), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		logmsg("seccomp: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* The same client for the limits: one IPv4 address, or one IPv6 /64 (what one host holds). */
static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			      &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 8) == 0;
}

static void conn_close(struct conn *c)
{
	struct conn **pp;

	for (pp = &conns; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = c->next;
	if (c->tls)
		gnutls_deinit(c->tls);
	if (c->cfd >= 0)
		close(c->cfd); /* closing takes it out of the epoll set */
	if (c->dfd >= 0)
		close(c->dfd);
	free(c);
	n_conns--;
}

/* The handshake is done: a socket pair, one end to the daemon with the client's address. */
static int hand_to_daemon(struct conn *c)
{
	struct uh_gate_msg m = {0};
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {&m, sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct epoll_event ev = {.data.ptr = c};
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0)
		return -1;
	memcpy(&m.addr, &c->addr, c->addr_len);
	m.addr_len = (uint32_t)c->addr_len;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &sp[1], sizeof(int));
	/* The daemon takes hand-overs at each turn of its loop; a burst of finished handshakes
	 * can fill the socket's queue (net.unix.max_dgram_qlen messages) before it does. Then
	 * wait for room, briefly (HANDOVER_WAIT_MS in all): a client that finished its
	 * handshake is not dropped for a moment's backlog, and a daemon that is stuck costs
	 * the gate at most that long per client. */
	for (int waited = 0;; waited += 10) {
		struct pollfd p = {.fd = DAEMON_FD, .events = POLLOUT};

		if (sendmsg(DAEMON_FD, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(m))
			break;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) || waited >= HANDOVER_WAIT_MS) {
			close(sp[0]);
			close(sp[1]);
			return -1;
		}
		poll(&p, 1, 10);
	}
	close(sp[1]);
	c->dfd = sp[0];
	/* the pair's end is watched with the same pointer; the client fd's events say which */
	ev.events = 0;
	ev.data.u64 = (uint64_t)(uintptr_t)c | 1; /* odd: the daemon side */
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->dfd, &ev);
}

/* Everything that can move now, then the events to wait for. -1: close it. */
static int conn_pump(struct conn *c)
{
	int progress = 1, r;

	if (!c->handshaken) {
		r = gnutls_handshake(c->tls);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			c->want_write = gnutls_record_get_direction(c->tls);
			goto interests;
		}
		if (r < 0)
			return -1; /* not TLS, or no shared cipher: nothing to say to it */
		c->handshaken = 1;
		c->want_write = 0;
		c->deadline_ms = now_ms() + IDLE_MS;
		if (hand_to_daemon(c) < 0) {
			logmsg("hand a connection to umlhostd: %s", strerror(errno));
			return -1;
		}
	}
	while (progress) {
		ssize_t n;

		progress = 0;
		if (!c->client_eof && c->c2d_len < BUF_SIZE) {
			n = gnutls_record_recv(c->tls, c->c2d + c->c2d_len, BUF_SIZE - c->c2d_len);
			if (n > 0) {
				c->c2d_len += (size_t)n;
				progress = 1;
			} else if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION) {
				c->client_eof = 1;
				progress = 1;
			} else if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				c->want_write = gnutls_record_get_direction(c->tls);
			} else {
				return -1;
			}
		}
		if (c->c2d_len) {
			n = write(c->dfd, c->c2d, c->c2d_len);
			if (n > 0) {
				memmove(c->c2d, c->c2d + n, c->c2d_len - (size_t)n);
				c->c2d_len -= (size_t)n;
				progress = 1;
			} else if (n < 0 && errno == EPIPE) {
				/* the daemon is done reading (it answered and closed): drop what
				 * the client still sends, but pass on what the daemon said */
				c->c2d_len = 0;
				c->client_eof = c->wr_shut = 1;
				progress = 1;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (c->client_eof && c->c2d_len == 0 && !c->wr_shut) {
			shutdown(c->dfd, SHUT_WR);
			c->wr_shut = 1;
		}
		if (!c->daemon_eof && c->d2c_len == 0) {
			n = read(c->dfd, c->d2c, BUF_SIZE);
			if (n > 0) {
				c->d2c_off = 0;
				c->d2c_len = (size_t)n;
				progress = 1;
			} else if (n == 0) {
				c->daemon_eof = 1;
				progress = 1;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (c->d2c_len) {
			n = gnutls_record_send(c->tls, c->d2c + c->d2c_off, c->d2c_len);
			if (n > 0) {
				c->d2c_off += (size_t)n;
				c->d2c_len -= (size_t)n;
				progress = 1;
			} else if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				c->want_write = 1;
			} else {
				return -1;
			}
		}
		if (progress)
			c->deadline_ms = now_ms() + (c->dfd_dropped ? DRAIN_MS : IDLE_MS);
	}
	if (c->daemon_eof && c->d2c_len == 0) {
		gnutls_bye(c->tls, GNUTLS_SHUT_WR); /* best effort: the socket closes next */
		return -1;
	}
	if (c->client_eof && c->daemon_eof)
		return -1;
interests: {
	struct epoll_event ev = {.data.ptr = c};

	ev.events = (c->want_write || c->d2c_len ? EPOLLOUT : 0) |
		    (!c->client_eof && c->c2d_len < BUF_SIZE ? EPOLLIN : 0);
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->cfd, &ev) < 0)
		return -1;
	if (c->dfd >= 0 && !c->dfd_dropped) {
		ev.events = (c->c2d_len ? EPOLLOUT : 0) |
			    (!c->daemon_eof && c->d2c_len == 0 ? EPOLLIN : 0);
		ev.data.u64 = (uint64_t)(uintptr_t)c | 1;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->dfd, &ev) < 0)
			return -1;
	}
	c->want_write = 0;
	return 0;
}
}

static void accept_one(void)
{
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);
	struct epoll_event ev;
	struct conn *c, *o;
	int fd = accept4(LISTEN_FD, (struct sockaddr *)&addr, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int same = 0, shaking = 0;

	if (fd < 0) {
		/* out of descriptors: stop accepting for a second instead of spinning on a
		 * listening socket that stays readable */
		if (errno == EMFILE || errno == ENFILE) {
			epoll_ctl(ep, EPOLL_CTL_DEL, LISTEN_FD, NULL);
			accept_paused_ms = now_ms() + 1000;
		}
		return;
	}
	for (o = conns; o; o = o->next)
		if (same_addr(&o->addr, &addr)) {
			same++;
			shaking += !o->handshaken;
		}
	if (n_conns >= MAX_CONNS || same >= MAX_PER_ADDR || shaking >= MAX_HANDSHAKING) {
		close(fd); /* a refused connection costs us nothing more */
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		abort();
	c->cfd = fd;
	c->dfd = -1;
	c->addr = addr;
	c->addr_len = len;
	c->deadline_ms = now_ms() + HANDSHAKE_MS;
	if (gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0 ||
	    gnutls_priority_set(c->tls, prio) < 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, creds) < 0) {
		if (c->tls)
			gnutls_deinit(c->tls);
		close(fd);
		free(c);
		return;
	}
	gnutls_transport_set_int(c->tls, fd);
	gnutls_handshake_set_timeout(c->tls, 0); /* ours: deadline_ms */
	c->next = conns;
	conns = c;
	n_conns++;
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 || conn_pump(c) < 0)
		conn_close(c);
}

/* Connections past their deadline: a handshake that never finished, a silent one. */
static void sweep(void)
{
	int64_t now = now_ms();
	struct conn *c, *next;

	for (c = conns; c; c = next) {
		next = c->next;
		if (now > c->deadline_ms)
			conn_close(c);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"uid", required_argument, NULL, 'u'},
					     {NULL, 0, NULL, 0}};
	struct epoll_event ev = {.events = EPOLLIN}, evs[64];
	long uid = -1;
	int ch;
	int64_t last_sweep = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'u')
			return 2;
		uid = strtol(optarg, NULL, 10);
	}
	if (uid <= 0) {
		logmsg("--uid N (an unprivileged uid) is required");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (gnutls_global_init() < 0 || load_credentials() < 0)
		return 1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return 1;
	ev.data.u64 = 0;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, LISTEN_FD, &ev) < 0)
		return 1;
	ev.data.u64 = 2;
	ev.events = EPOLLIN; /* only to see the daemon go away */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, DAEMON_FD, &ev) < 0)
		return 1;
	if (drop((uid_t)uid) < 0)
		return 1;
	for (;;) {
		int n = epoll_wait(ep, evs, 64, 1000);

		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			struct conn *c;

			if (tag == 0) {
				accept_one();
				continue;
			}
			if (tag == 2) {
				if (evs[i].events & (EPOLLHUP | EPOLLERR | EPOLLIN))
					return 0; /* the daemon is gone (or wrote, which it never does) */
				continue;
			}
			c = (struct conn *)(uintptr_t)(tag & ~(uint64_t)1);
			/* a connection closed earlier in this batch may still have an event here */
			{
				struct conn *o;

				for (o = conns; o && o != c; o = o->next)
					;
				if (o == NULL)
					continue;
			}
			/* hang-ups come whatever we asked for: a client gone is closed; the
			 * daemon's end gone is taken out of the set (it would report itself
			 * forever) and read as the client drains, with a deadline */
			if (!(tag & 1) && (evs[i].events & (EPOLLERR | EPOLLHUP))) {
				conn_close(c);
				continue;
			}
			if ((tag & 1) && (evs[i].events & (EPOLLERR | EPOLLHUP)) && !c->dfd_dropped) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->dfd, NULL);
				c->dfd_dropped = 1;
				if (c->deadline_ms > now_ms() + DRAIN_MS)
					c->deadline_ms = now_ms() + DRAIN_MS;
			}
			if (conn_pump(c) < 0)
				conn_close(c);
		}
		if (now_ms() - last_sweep >= 1000) {
			sweep();
			last_sweep = now_ms();
		}
		if (accept_paused_ms && now_ms() >= accept_paused_ms) {
			struct epoll_event lev = {.events = EPOLLIN, .data.u64 = 0};

			accept_paused_ms = 0;
			epoll_ctl(ep, EPOLL_CTL_ADD, LISTEN_FD, &lev);
		}
	}
}
