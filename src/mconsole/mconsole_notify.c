#include "mconsole/mconsole_notify.h"
#include "util/cleanup.h"
#include "util/timeutil.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct uh_mc_listener {
	int fd;
	struct sockaddr_un addr;
};

int uh_mc_listener_new(const char *path, struct uh_mc_listener **out, struct uh_error *err)
{
	struct uh_mc_listener *l = calloc(1, sizeof(*l));

	if (l == NULL)
		abort();
	l->fd = -1;
	l->addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(l->addr.sun_path)) {
		uh_errx(err, "notify socket path %s is too long", path);
		goto fail;
	}
	strcpy(l->addr.sun_path, path);
	l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0) {
		uh_err(err, errno, "notify socket");
		goto fail;
	}
	unlink(path);
	if (bind(l->fd, (struct sockaddr *)&l->addr, sizeof(l->addr)) < 0) {
		uh_err(err, errno, "bind notify socket %s", path);
		l->addr.sun_path[0] = '\0';
		goto fail;
	}
	*out = l;
	return 0;
fail:
	uh_mc_listener_free(l);
	return -1;
}

void uh_mc_listener_free(struct uh_mc_listener *l)
{
	if (l == NULL)
		return;
	if (l->fd >= 0 && l->addr.sun_path[0] != '\0')
		unlink(l->addr.sun_path);
	uh_close(&l->fd);
	free(l);
}

int uh_mc_listener_fd(const struct uh_mc_listener *l)
{
	return l->fd;
}

int uh_mc_listener_recv(struct uh_mc_listener *l, int timeout_ms, struct uh_mc_notify *msg,
			struct uh_error *err)
{
	uint8_t buf[UH_MC_NOTIFY_HDR + UH_MC_MAX_DATA + 1];
	int64_t deadline = uh_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
		int wait = -1, r;
		ssize_t n;

		if (timeout_ms >= 0) {
			int64_t left = deadline - uh_now_ms();
			wait = left > 0 ? (int)left : 0;
		}
		r = poll(&pfd, 1, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return uh_err(err, errno, "poll notify socket");
		if (r == 0)
			return 0;
		n = recv(l->fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return uh_err(err, errno, "receive on notify socket");
		if (uh_mc_notify_parse(buf, (size_t)n, msg, err) < 0)
			return -1;
		return 1;
	}
}
