/* The CLI's API client: HTTP/1.1 over the daemon's unix socket (src/httpc). */
#include "cli/cli.h"
#include "httpc/http_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/umlhost/umlhost.sock"

struct buf {
	char *data;
	size_t len;
};

static int collect(int status, const char *p, size_t len, void *arg)
{
	struct buf *b = arg;

	b->data = realloc(b->data, b->len + len + 1);
	if (b->data == NULL)
		abort();
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

const char *uh_cli_socket(const struct uh_cli *cli)
{
	return cli->socket && cli->socket[0] ? cli->socket : DEFAULT_SOCKET;
}

static int check_socket(const char *sock, struct uh_error *err)
{
	struct stat st;

	if (stat(sock, &st) < 0 && errno == EACCES)
		return uh_errc(err, EACCES, "permission denied: cannot reach %s (root and the umlhost "
					    "group only)",
			       sock);
	if (stat(sock, &st) < 0)
		return uh_err(err, errno, "cannot reach umlhostd at %s (is it running? "
					  "--socket or UMLHOST_SOCKET name another)",
			      sock);
	if (access(sock, W_OK) < 0)
		return uh_errc(err, EACCES, "permission denied: %s is for root and the umlhost "
					    "group only",
			       sock);
	return 0;
}

/* A status >= 400 carries {"error", "code"}: make it the error. */
static void error_from(int status, const char *data, size_t len, struct uh_error *err)
{
	json_t *j = len ? json_loadb(data, len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "error"));
	const char *code = json_string_value(json_object_get(j, "code"));

	uh_errx(err, "%s", msg ? msg : "request failed");
	err->errnum = status == 404 ? ENOENT : status == 403 ? EACCES
		    : status == 409 ? EEXIST : status == 504 ? ETIMEDOUT : 0;
	if (code && strcmp(code, "busy") == 0)
		err->errnum = EBUSY;
	json_decref(j);
}

int uh_client_call(const struct uh_cli *cli, const char *method, const char *path, json_t *body,
		   json_t **resp, struct uh_error *err)
{
	struct buf b = {0};
	char *payload = NULL;
	json_error_t je;
	int status = 0, ret = -1;

	*resp = NULL;
	if (check_socket(uh_cli_socket(cli), err) < 0)
		return -1;
	if (body)
		payload = json_dumps(body, JSON_COMPACT);
	if (uh_http_request(uh_cli_socket(cli), method, path, payload,
			    payload ? strlen(payload) : 0, collect, &b, &status, err) < 0)
		goto out;
	if (status >= 400) {
		error_from(status, b.data, b.len, err);
		goto out;
	}
	*resp = b.len ? json_loadb(b.data, b.len, 0, &je) : json_object();
	if (*resp == NULL) {
		uh_errx(err, "umlhostd answered %d with something that is not JSON", status);
		goto out;
	}
	ret = 0;
out:
	free(payload);
	free(b.data);
	return ret;
}

int uh_client_call_raw(const struct uh_cli *cli, const char *path, char **out, size_t *len,
		       struct uh_error *err)
{
	struct buf b = {0};
	int status = 0;

	if (check_socket(uh_cli_socket(cli), err) < 0)
		return -1;
	if (uh_http_request(uh_cli_socket(cli), "GET", path, NULL, 0, collect, &b, &status,
			    err) < 0) {
		free(b.data);
		return -1;
	}
	if (status >= 400) {
		error_from(status, b.data, b.len, err);
		free(b.data);
		return -1;
	}
	*out = b.data;
	*len = b.len;
	return 0;
}

struct stream {
	int (*fn)(const char *data, size_t len, void *arg);
	void *arg;
	struct buf err_body;
};

static int stream_write(int status, const char *p, size_t len, void *arg)
{
	struct stream *s = arg;

	if (status >= 400)
		return collect(status, p, len, &s->err_body);
	return s->fn(p, len, s->arg);
}

int uh_client_stream(const struct uh_cli *cli, const char *path,
		     int (*fn)(const char *data, size_t len, void *arg), void *arg,
		     struct uh_error *err)
{
	struct stream s = {.fn = fn, .arg = arg};
	int status = 0, ret = -1;

	if (check_socket(uh_cli_socket(cli), err) < 0)
		return -1;
	if (uh_http_request(uh_cli_socket(cli), "GET", path, NULL, 0, stream_write, &s, &status,
			    err) < 0)
		goto out;
	if (status >= 400) {
		error_from(status, s.err_body.data, s.err_body.len, err);
		goto out;
	}
	ret = 0;
out:
	free(s.err_body.data);
	return ret;
}
