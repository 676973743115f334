/* The CLI's API client: HTTP/1.1 over the daemon's unix socket, with libcurl. */
#include "cli/cli.h"

#include <curl/curl.h>
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

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;

	b->data = realloc(b->data, b->len + len + 1);
	if (b->data == NULL)
		abort();
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
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

static CURL *make_handle(const struct uh_cli *cli, const char *method, const char *path,
			 struct curl_slist **hdrs, char *url, size_t url_len)
{
	CURL *c = curl_easy_init();

	if (c == NULL)
		abort();
	snprintf(url, url_len, "http://umlhostd%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, uh_cli_socket(cli));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	*hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	return c;
}

int uh_client_call(const struct uh_cli *cli, const char *method, const char *path, json_t *body,
		   json_t **resp, struct uh_error *err)
{
	struct curl_slist *hdrs = NULL;
	struct buf b = {0};
	char url[1024], *payload = NULL;
	long status = 0;
	json_error_t je;
	CURLcode rc;
	CURL *c;
	int ret = -1;

	*resp = NULL;
	if (check_socket(uh_cli_socket(cli), err) < 0)
		return -1;
	c = make_handle(cli, method, path, &hdrs, url, sizeof(url));
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		uh_errx(err, "cannot reach umlhostd at %s: %s", uh_cli_socket(cli),
			curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	*resp = b.len ? json_loadb(b.data, b.len, 0, &je) : json_object();
	if (*resp == NULL) {
		uh_errx(err, "umlhostd answered %ld with something that is not JSON", status);
		goto out;
	}
	if (status >= 400) {
		const char *msg = json_string_value(json_object_get(*resp, "error"));
		const char *code = json_string_value(json_object_get(*resp, "code"));

		uh_errx(err, "%s", msg ? msg : "request failed");
		err->errnum = status == 404 ? ENOENT : status == 403 ? EACCES
				: status == 409 ? EEXIST : status == 504 ? ETIMEDOUT : 0;
		if (code && strcmp(code, "busy") == 0)
			err->errnum = EBUSY;
		json_decref(*resp);
		*resp = NULL;
		goto out;
	}
	ret = 0;
out:
	free(payload);
	free(b.data);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return ret;
}

struct stream {
	int (*fn)(const char *data, size_t len, void *arg);
	void *arg;
	long status;
	CURL *c;
	struct buf err_body;
};

static size_t stream_write(char *p, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	size_t len = size * n;

	if (s->status == 0)
		curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->status >= 400)
		return collect(p, size, n, &s->err_body);
	if (s->fn(p, len, s->arg) != 0)
		return 0; /* stop */
	return len;
}

int uh_client_stream(const struct uh_cli *cli, const char *path,
		     int (*fn)(const char *data, size_t len, void *arg), void *arg,
		     struct uh_error *err)
{
	struct curl_slist *hdrs = NULL;
	struct stream s = {.fn = fn, .arg = arg};
	char url[1024];
	CURLcode rc;
	int ret = -1;

	if (check_socket(uh_cli_socket(cli), err) < 0)
		return -1;
	s.c = make_handle(cli, "GET", path, &hdrs, url, sizeof(url));
	curl_easy_setopt(s.c, CURLOPT_WRITEFUNCTION, stream_write);
	curl_easy_setopt(s.c, CURLOPT_WRITEDATA, &s);
	rc = curl_easy_perform(s.c);
	if (s.status >= 400) {
		json_t *j = s.err_body.len ? json_loadb(s.err_body.data, s.err_body.len, 0, NULL)
					   : NULL;
		const char *msg = json_string_value(json_object_get(j, "error"));
		uh_errx(err, "%s", msg ? msg : "request failed");
		if (s.status == 404)
			err->errnum = ENOENT;
		json_decref(j);
	} else if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) {
		uh_errx(err, "umlhostd at %s: %s", uh_cli_socket(cli), curl_easy_strerror(rc));
	} else {
		ret = 0;
	}
	free(s.err_body.data);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(s.c);
	return ret;
}
