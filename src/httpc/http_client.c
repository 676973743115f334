#include "httpc/http_client.h"
#include "util/cleanup.h"
#include "util/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int uh_http_request(const char *socket_path, const char *method, const char *path,
		    const char *body, size_t body_len, uh_http_body_fn fn, void *arg, int *status,
		    struct uh_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct uh_http_parser *p = malloc(sizeof(*p));
	uh_autoclose int fd = -1;
	char head[1024];
	int n, r = 0;

	if (p == NULL)
		abort();
	uh_http_parser_init(p);
	if (strlen(socket_path) >= sizeof(addr.sun_path)) {
		uh_errx(err, "socket path %s is too long", socket_path);
		goto fail;
	}
	strcpy(addr.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		uh_err(err, errno, "cannot reach umlhostd at %s", socket_path);
		goto fail;
	}
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: umlhostd\r\nConnection: close\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		     method, path, body ? body_len : 0);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		uh_errx(err, "request path too long");
		goto fail;
	}
	if (uh_write_full(fd, head, (size_t)n) < 0 ||
	    (body && body_len && uh_write_full(fd, body, body_len) < 0)) {
		uh_err(err, errno, "send request to umlhostd");
		goto fail;
	}
	for (;;) {
		char buf[65536];
		ssize_t got = read(fd, buf, sizeof(buf));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			uh_err(err, errno, "read from umlhostd");
			goto fail;
		}
		if (got == 0) {
			r = uh_http_parser_eof(p, err);
			break;
		}
		r = uh_http_parser_feed(p, buf, (size_t)got, fn, arg, err);
		if (r != 0)
			break;
	}
	if (r < 0) {
		uh_err_prefix(err, "umlhostd's answer");
		goto fail;
	}
	*status = p->status;
	free(p);
	return 0;
fail:
	free(p);
	return -1;
}
