/* The HTTPS listener: umlhostd binds the TCP socket (so any port works) and runs
 * umlhost-gate as a uid of its own (uh_config_gate_uid) with the socket, the certificate and
 * key, and a SOCK_SEQPACKET socket back to us. The gate sends one message per client whose
 * TLS handshake is done: that client's address and one end of a socket pair carrying its
 * plaintext HTTP. A gate that dies is started again (1 s, doubling to 30 s; the listening
 * socket stays open, so clients wait in its backlog meanwhile). */
#include "daemon/api_gate.h"
#include "gate/gate_proto.h"
#include "net/addr.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct uh_gate {
	struct uh_daemon *d;
	uh_gate_conn_fn on_conn;
	void *arg;
	int listen_fd;
	int ctl_fd; /* ours of the pair; -1 while no gate runs */
	int pem_fd; /* a sealed memfd with the PEM: each start reads it from the top */
	int err_fd; /* the gate's stderr, read here into our log (it holds no file of ours) */
	pid_t pid;
	struct uh_watch *watch, *err_watch;
	struct uh_timer *restart;
	int64_t started;
	int backoff_s;
	char fingerprint[100];
};

int uh_api_listen_tcp(const char *key, const char *spec, struct uh_error *err)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	struct uh_ip ip;
	int port, one = 1;
	uh_autoclose int fd = -1;

	if (uh_hostport_parse(spec, &ip, &port, err) < 0)
		return uh_err_prefix(err, "%s", key);
	if (ip.family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		memcpy(&a->sin_addr, ip.a, 4);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		memcpy(&a->sin6_addr, ip.a, 16);
		len = sizeof(*a);
	}
	fd = socket(ip.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return uh_err(err, errno, "%s %s: socket", key, spec);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ip.family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return uh_err(err, errno, "%s %s: bind", key, spec);
	if (listen(fd, 1024) < 0)
		return uh_err(err, errno, "%s %s: listen", key, spec);
	return uh_steal_fd(&fd);
}

/* What the gate hands over must be what it says: a unix stream socket (not a file of its
 * own or a pipe). */
static int is_unix_stream(int fd)
{
	int v = 0;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0 || v != AF_UNIX)
		return 0;
	l = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) == 0 && v == SOCK_STREAM;
}

/* A message from the gate: a client's connection, checked before it is used. */
static void ctl_readable(void *arg, uint32_t events)
{
	struct uh_gate *g = arg;

	for (;;) {
		struct uh_gate_msg m;
		char cbuf[CMSG_SPACE(sizeof(int) * 4)];
		struct iovec iov = {&m, sizeof(m)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		struct cmsghdr *cm;
		ssize_t n = recvmsg(g->ctl_fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		int fd = -1, ok;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) { /* the gate is gone, or broke the channel: its exit restarts it */
			uh_loop_unwatch(g->d->loop, g->watch);
			g->watch = NULL;
			if (n < 0 && g->pid > 0)
				kill(g->pid, SIGKILL);
			return;
		}
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			/* one descriptor is expected; any more are closed */
			for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
				int f;

				memcpy(&f, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
				if (fd < 0)
					fd = f;
				else
					close(f);
			}
		}
		ok = n == (ssize_t)sizeof(m) && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) &&
		     fd >= 0 && is_unix_stream(fd) &&
		     ((m.addr.ss_family == AF_INET && m.addr_len == sizeof(struct sockaddr_in)) ||
		      (m.addr.ss_family == AF_INET6 && m.addr_len == sizeof(struct sockaddr_in6)));
		if (!ok) {
			if (fd >= 0)
				close(fd);
			uh_warnx("api: a malformed message from umlhost-gate, dropped");
			continue;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		g->on_conn(g->arg, fd, (struct sockaddr *)&m.addr, (socklen_t)m.addr_len);
	}
}

/* The gate's own messages, a line at a time into our log. */
static void err_readable(void *arg, uint32_t events)
{
	struct uh_gate *g = arg;
	char buf[2048], *p, *nl;
	ssize_t n = read(g->err_fd, buf, sizeof(buf) - 1);

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		uh_loop_unwatch(g->d->loop, g->err_watch);
		g->err_watch = NULL;
		uh_close(&g->err_fd);
		return;
	}
	buf[n] = '\0';
	for (p = buf; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p) - 1;
		else
			*nl = '\0';
		if (*p)
			uh_warnx("%.300s", p); /* its lines begin "umlhost-gate: " */
		if (nl[1] == '\0')
			break;
	}
}

static void gate_exited(void *arg, pid_t pid, int status);

static int spawn(struct uh_gate *g, struct uh_error *err)
{
	int sp[2], ep[2];
	char uid[32];
	pid_t pid;

	if (pipe2(ep, O_CLOEXEC) < 0)
		return uh_err(err, errno, "api: pipe for umlhost-gate");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		close(ep[0]);
		close(ep[1]);
		return uh_err(err, errno, "api: socket pair for umlhost-gate");
	}
	snprintf(uid, sizeof(uid), "%u", uh_config_gate_uid(&g->d->cfg));
	lseek(g->pem_fd, 0, SEEK_SET);
	pid = fork();
	if (pid < 0) {
		close(sp[0]);
		close(sp[1]);
		close(ep[0]);
		close(ep[1]);
		return uh_err(err, errno, "api: fork umlhost-gate");
	}
	if (pid == 0) {
		/* fds 3, 4, 5 as gate.c expects: first out of the way, then in place */
		int l = fcntl(g->listen_fd, F_DUPFD, 10), c = fcntl(sp[1], F_DUPFD, 10),
		    p = fcntl(g->pem_fd, F_DUPFD, 10), null = open("/dev/null", O_RDWR);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* no file of ours: /dev/null in, out; its messages through a pipe we read */
		if (l < 0 || c < 0 || p < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(ep[1], 2) < 0 || dup2(l, 3) < 0 || dup2(c, 4) < 0 || dup2(p, 5) < 0)
			_exit(127);
		closefrom(6);
		execl(g->d->cfg.api_gate, "umlhost-gate", "--uid", uid, (char *)NULL);
		fprintf(stderr, "umlhostd: exec %s: %s\n", g->d->cfg.api_gate, strerror(errno));
		_exit(127);
	}
	close(sp[1]);
	close(ep[1]);
	if (g->err_watch)
		uh_loop_unwatch(g->d->loop, g->err_watch);
	uh_close(&g->err_fd);
	g->err_fd = ep[0];
	fcntl(g->err_fd, F_SETFL, O_NONBLOCK);
	g->err_watch = uh_loop_watch(g->d->loop, g->err_fd, EPOLLIN, err_readable, g);
	g->ctl_fd = sp[0];
	g->pid = pid;
	g->started = time(NULL);
	g->watch = uh_loop_watch(g->d->loop, g->ctl_fd, EPOLLIN, ctl_readable, g);
	uh_child_watch(g->d, pid, gate_exited, g);
	return 0;
}

static void restart_due(void *arg)
{
	struct uh_gate *g = arg;
	struct uh_error err;

	g->restart = NULL;
	if (spawn(g, &err) < 0) {
		uh_warnx("%s", err.msg);
		g->restart = uh_loop_after(g->d->loop, 30000, restart_due, g);
	}
}

static void gate_exited(void *arg, pid_t pid, int status)
{
	struct uh_gate *g = arg;

	if (g->watch)
		uh_loop_unwatch(g->d->loop, g->watch);
	g->watch = NULL;
	uh_close(&g->ctl_fd);
	g->pid = 0;
	/* a gate that ran a minute starts again at once; one that keeps dying, ever slower */
	g->backoff_s = time(NULL) - g->started >= 60 ? 1 : (g->backoff_s ? g->backoff_s * 2 : 1);
	if (g->backoff_s > 30)
		g->backoff_s = 30;
	uh_daemon_event(g->d, "-", "api-gate-exited",
			"umlhost-gate (pid %d) %s %d; starting it again in %d s", (int)pid,
			WIFSIGNALED(status) ? "was killed by signal" : "exited with",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), g->backoff_s);
	g->restart = uh_loop_after(g->d->loop, (int64_t)g->backoff_s * 1000, restart_due, g);
}

int uh_gate_start(struct uh_daemon *d, uh_gate_conn_fn on_conn, void *arg, struct uh_gate **out,
		  struct uh_error *err)
{
	uh_autofree struct uh_gate *g = calloc(1, sizeof(*g));
	uh_autofree char *pem = NULL;
	uh_autoclose int lfd = -1, mfd = -1;
	size_t len;
	uint32_t uid = uh_config_gate_uid(&d->cfg);
	struct uh_instance *i;

	if (g == NULL)
		abort();
	for (i = d->instances; i; i = i->next)
		if ((uint32_t)i->rec.uid == uid)
			return uh_errx(err, "api_listen: instance %s has uid %u, the HTTPS gate's; "
					    "raise uid_count or delete it",
				       i->rec.name, uid);
	if (access(d->cfg.api_gate, X_OK) < 0)
		return uh_err(err, errno, "api_listen: the gate %s", d->cfg.api_gate);
	lfd = uh_api_listen_tcp("api_listen", d->cfg.api_listen, err);
	if (lfd < 0)
		return -1;
	if (uh_api_cert_load(d, &pem, &len, g->fingerprint, sizeof(g->fingerprint), err) < 0)
		return -1;
	/* the key only in memory the gate reads; sealed so it cannot change under it */
	mfd = memfd_create("umlhost-gate-pem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0 || uh_write_full(mfd, pem, len) < 0 ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		return uh_err(err, errno, "api_listen: hand the key to the gate");
	explicit_bzero(pem, len);
	g->d = d;
	g->on_conn = on_conn;
	g->arg = arg;
	g->ctl_fd = -1;
	g->err_fd = -1;
	g->listen_fd = uh_steal_fd(&lfd);
	g->pem_fd = uh_steal_fd(&mfd);
	if (spawn(g, err) < 0) {
		close(g->listen_fd);
		close(g->pem_fd);
		return -1;
	}
	uh_daemon_event(d, "-", "api-listening",
			"https://%s (TLS in umlhost-gate pid %d, uid %u); certificate sha256 %s",
			d->cfg.api_listen, (int)g->pid, uid, g->fingerprint);
	*out = uh_steal_pointer(&g);
	return 0;
}

void uh_gate_stop(struct uh_gate *g)
{
	if (g == NULL)
		return;
	if (g->pid > 0) {
		kill(g->pid, SIGKILL); /* it holds nothing that needs a goodbye */
		waitpid(g->pid, NULL, 0);
		uh_child_unwatch(g->d, g->pid);
	}
	if (g->watch)
		uh_loop_unwatch(g->d->loop, g->watch);
	if (g->err_watch)
		uh_loop_unwatch(g->d->loop, g->err_watch);
	if (g->restart)
		uh_loop_cancel(g->d->loop, g->restart);
	uh_close(&g->ctl_fd);
	uh_close(&g->err_fd);
	uh_close(&g->listen_fd);
	uh_close(&g->pem_fd);
	free(g);
}
