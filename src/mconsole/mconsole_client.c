#include "mconsole/mconsole_client.h"
#include "mconsole/mconsole_proto.h"
#include "util/cleanup.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct uh_mc_client {
	int fd;
	struct sockaddr_un peer;
	struct sockaddr_un self;
	char *bind_dir;
};

static unsigned int client_seq;

static int set_path(struct sockaddr_un *sa, const char *path, struct uh_error *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return uh_errx(err, "socket path %s is longer than %zu bytes", path,
			       sizeof(sa->sun_path) - 1);
	strcpy(sa->sun_path, path);
	return 0;
}

static void client_close(struct uh_mc_client *c)
{
	if (c->fd >= 0 && c->self.sun_path[0] != '\0')
		unlink(c->self.sun_path);
	uh_close(&c->fd);
	c->self.sun_path[0] = '\0';
}

/* (Re)bind a fresh socket. A fresh one per timeout also drops late replies to an abandoned
 * request, which would otherwise be read as the answer to the next one. */
static int client_open(struct uh_mc_client *c, struct uh_error *err)
{
	char path[sizeof(c->self.sun_path) + 64];

	client_close(c);
	snprintf(path, sizeof(path), "%s/.umlhost-mc.%d.%u", c->bind_dir, (int)getpid(),
		 __atomic_add_fetch(&client_seq, 1, __ATOMIC_RELAXED));
	if (set_path(&c->self, path, err) < 0)
		return -1;
	c->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return uh_err(err, errno, "mconsole client socket");
	unlink(path);
	if (bind(c->fd, (struct sockaddr *)&c->self, sizeof(c->self)) < 0) {
		int e = errno;

		c->self.sun_path[0] = '\0';
		uh_close(&c->fd);
		return uh_err(err, e, "bind mconsole client socket %s", path);
	}
	/* a jailed kernel runs as another uid and must be able to send its reply here; the
	 * directory the socket sits in is what limits who can reach it */
	chmod(path, 0666);
	return 0;
}

int uh_mc_client_new(const char *sock_path, const char *bind_dir, struct uh_mc_client **out,
		     struct uh_error *err)
{
	struct uh_mc_client *c = calloc(1, sizeof(*c));
	uh_autofree char *copy = strdup(sock_path);

	if (c == NULL || copy == NULL)
		abort();
	c->fd = -1;
	if (set_path(&c->peer, sock_path, err) < 0)
		goto fail;
	/* say what is missing before binding next to it fails less clearly */
	if (access(sock_path, F_OK) < 0) {
		uh_err(err, errno, "mconsole %s (is the instance running?)", sock_path);
		goto fail;
	}
	c->bind_dir = strdup(bind_dir ? bind_dir : dirname(copy));
	if (c->bind_dir == NULL)
		abort();
	if (client_open(c, err) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	uh_mc_client_free(c);
	return -1;
}

void uh_mc_client_free(struct uh_mc_client *c)
{
	if (c == NULL)
		return;
	client_close(c);
	free(c->bind_dir);
	free(c);
}

void uh_mc_result_clear(struct uh_mc_result *res)
{
	free(res->text);
	memset(res, 0, sizeof(*res));
}

static void append(struct uh_mc_result *res, const char *s, size_t n)
{
	char *t = realloc(res->text, res->len + n + 1);

	if (t == NULL)
		abort();
	memcpy(t + res->len, s, n);
	res->len += n;
	t[res->len] = '\0';
	res->text = t;
}

int uh_mc_client_fd(const struct uh_mc_client *c)
{
	return c->fd;
}

void uh_mc_abandon(struct uh_mc_client *c)
{
	client_close(c); /* a fresh socket next time: a late reply must not answer another request */
}

int uh_mc_send(struct uh_mc_client *c, const char *cmd, struct uh_mc_result *res,
	       struct uh_error *err)
{
	struct uh_mc_request req;

	memset(res, 0, sizeof(*res));
	res->more = 1;
	append(res, "", 0);
	if (uh_mc_request_build(&req, cmd, err) < 0)
		goto fail;
	if (c->fd < 0 && client_open(c, err) < 0)
		goto fail;
	{
		/* a reply that came after its request was given up on (or a second reply to a
		 * request sent again) must not be taken for this command's */
		uint8_t stale[UH_MC_REPLY_HDR + UH_MC_MAX_DATA + 1];

		while (recv(c->fd, stale, sizeof(stale), MSG_DONTWAIT) >= 0)
			;
	}
	if (sendto(c->fd, &req, sizeof(req), 0, (struct sockaddr *)&c->peer, sizeof(c->peer)) <
	    0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			uh_err(err, errno, "mconsole %s (is the instance running?)",
			       c->peer.sun_path);
		else
			uh_err(err, errno, "mconsole %s: send", c->peer.sun_path);
		goto fail;
	}
	return 0;
fail:
	uh_mc_result_clear(res);
	return -1;
}

int uh_mc_receive(struct uh_mc_client *c, struct uh_mc_result *res, struct uh_error *err)
{
	/* one byte more than the largest legal reply, so an oversized one is detected */
	uint8_t buf[UH_MC_REPLY_HDR + UH_MC_MAX_DATA + 1];
	struct uh_mc_reply_chunk chunk;

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return uh_err(err, errno, "mconsole %s: receive", c->peer.sun_path);
		if (uh_mc_reply_parse(buf, (size_t)n, &chunk, err) < 0) {
			client_close(c);
			return uh_err_prefix(err, "mconsole %s", c->peer.sun_path);
		}
		if (!res->started)
			res->err = chunk.err != 0; /* only the first datagram carries err */
		res->started = 1;
		/* a kernel that runs a customer's code keeps sending `more`: bounded */
		if (res->len + chunk.len > UH_MC_MAX_REPLY) {
			client_close(c);
			return uh_errx(err, "mconsole %s: a reply over %d bytes", c->peer.sun_path,
				       UH_MC_MAX_REPLY);
		}
		append(res, chunk.data, chunk.len);
		if (!chunk.more) {
			res->more = 0;
			return 1;
		}
	}
}

int uh_mc_command(struct uh_mc_client *c, const char *cmd, int timeout_ms,
		  struct uh_mc_result *res, struct uh_error *err)
{
	int64_t deadline = uh_now_ms() + timeout_ms;

	if (uh_mc_send(c, cmd, res, err) < 0)
		return -1;
	for (;;) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int64_t left = deadline - uh_now_ms();
		int r;

		if (left <= 0) {
			uh_err(err, ETIMEDOUT, "mconsole %s: no reply to '%s' within %d ms",
			       c->peer.sun_path, cmd, timeout_ms);
			uh_mc_abandon(c);
			goto fail;
		}
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			uh_err(err, errno, "mconsole %s: poll", c->peer.sun_path);
			goto fail;
		}
		if (r == 0)
			continue;
		r = uh_mc_receive(c, res, err);
		if (r < 0)
			goto fail;
		if (r == 1)
			return 0;
	}
fail:
	uh_mc_result_clear(res);
	return -1;
}

int uh_mc_umid_socket(const char *uml_dir, const char *umid, char **out, struct uh_error *err)
{
	const char *home;

	if (umid[0] == '\0' || strchr(umid, '/') != NULL || strcmp(umid, ".") == 0 ||
	    strcmp(umid, "..") == 0)
		return uh_errx(err, "invalid umid '%s'", umid);
	if (uml_dir == NULL) {
		home = getenv("HOME");
		if (home == NULL || home[0] == '\0')
			return uh_errx(err, "HOME is not set; pass --uml-dir");
		if (asprintf(out, "%s/.uml/%s/mconsole", home, umid) < 0)
			abort();
	} else if (asprintf(out, "%s/%s/mconsole", uml_dir, umid) < 0) {
		abort();
	}
	return 0;
}
