/* Streams (api.h): `events` and `logs` with follow=1. A follower's connection is suspended
 * while there is nothing new and resumed when an event is recorded (the daemon's on_event
 * hook) or its log file grew (the server's tick). */
#include "daemon/api.h"
#include "util/scrub.h"
#include "daemon/tokens.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"

#include <fcntl.h>

#include <string.h>
#include <sys/stat.h>

/* ---- streaming followers */

void uh_api_follower_fill(struct follower *f);

static ssize_t follower_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct follower *f = cls;
	size_t n;

	/* a token revoked or expired while its stream is open: the stream ends */
	if (f->who.token_id[0] && !uh_token_valid(f->api->d, f->who.token_id))
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (f->off >= f->len)
		uh_api_follower_fill(f);
	if (f->off >= f->len && f->api->stopping)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (f->off >= f->len) {
		/* nothing new: park the connection until there is */
		f->suspended = 1;
		MHD_suspend_connection(f->conn);
		return 0;
	}
	n = f->len - f->off < max ? f->len - f->off : max;
	memcpy(buf, f->buf + f->off, n);
	f->off += n;
	return (ssize_t)n;
}

static void follower_free(void *cls)
{
	struct follower *f = cls, **pp;

	for (pp = &f->api->followers; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	free(f->buf);
	free(f);
}

static int add_event_line(const struct uh_event_rec *ev, void *arg)
{
	struct follower *f = arg;
	char msg[sizeof(ev->message)];
	uh_autojson json_t *o = NULL;
	uh_autofree char *s = NULL;
	size_t n;

	/* a customer reads no host path in its events (an archive's, a disk's) */
	snprintf(msg, sizeof(msg), "%s", ev->message);
	if (!(f->who.scopes & UH_SCOPE_ADMIN))
		uh_scrub_paths(msg, sizeof(msg));
	o = json_pack("{s:I, s:I, s:s, s:s, s:s}", "id", (json_int_t)ev->id, "ts_ms",
		      (json_int_t)ev->ts_ms, "instance", ev->instance, "type", ev->type, "message",
		      msg);
	s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	/* a customer's stream: events of the servers it sees, by their owner when each
	 * happened; none of the host's */
	if (!(f->who.scopes & UH_SCOPE_ADMIN) &&
	    (ev->owner[0] == '\0' || !uh_access_visible(&f->who, ev->instance, ev->owner))) {
		f->last_id = ev->id;
		return 0;
	}
	if (s == NULL) { /* not encodable (an event stored before its text was escaped) */
		f->last_id = ev->id;
		return 0;
	}
	n = strlen(s);
	f->buf = realloc(f->buf, f->len + n + 1);
	if (f->buf == NULL)
		abort();
	memcpy(f->buf + f->len, s, n);
	f->buf[f->len + n] = '\n';
	f->len += n + 1;
	f->last_id = ev->id;
	return 0;
}

void uh_api_follower_fill(struct follower *f)
{
	struct uh_error err;

	free(f->buf);
	f->buf = NULL;
	f->len = f->off = 0;
	if (f->kind == FOLLOW_EVENTS) {
		int64_t before;
		int batches = 0;

		/* 200 at a time; again while a customer's filter left nothing of a batch, up to
		 * 10000 rows a call (the loop is not held longer; the stream goes on next time) */
		do {
			before = f->last_id;
			if (uh_store_event_list(f->api->d->store, f->last_id, 200, add_event_line, f,
						&err) < 0)
				uh_warnx("events: %s", err.msg);
		} while (f->len == 0 && f->last_id != before && ++batches < 50);
		return;
	}
	{
		uh_autoclose int fd = open(f->path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		ssize_t n;

		if (fd < 0 || fstat(fd, &st) < 0)
			return;
		if (st.st_size < f->offset)
			f->offset = 0; /* rotated */
		if (st.st_size == f->offset)
			return;
		f->len = (size_t)(st.st_size - f->offset);
		if (f->len > (1 << 20))
			f->len = 1 << 20;
		f->buf = malloc(f->len);
		if (f->buf == NULL)
			abort();
		n = uh_pread_full(fd, f->buf, f->len, f->offset);
		f->len = n > 0 ? (size_t)n : 0;
		f->offset += (off_t)f->len;
	}
}

void uh_api_followers_wake(struct api *api, enum follow_kind kind)
{
	struct follower *f;

	for (f = api->followers; f; f = f->next) {
		if (f->kind != kind || !f->suspended)
			continue;
		if (kind == FOLLOW_LOGS) {
			struct stat st;
			if (stat(f->path, &st) < 0 || st.st_size == f->offset)
				continue;
		}
		f->suspended = 0;
		MHD_resume_connection(f->conn);
		uh_api_kick(api);
	}
}

void uh_api_on_event(struct uh_daemon *d)
{
	uh_api_followers_wake(d->http, FOLLOW_EVENTS);
}

enum MHD_Result uh_api_follow_start(struct req *r, enum follow_kind kind, int64_t since,
				    const char *path, off_t offset)
{
	struct follower *f = calloc(1, sizeof(*f));
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (f == NULL)
		abort();
	f->api = r->api;
	f->conn = r->conn;
	f->kind = kind;
	f->last_id = since;
	f->offset = offset;
	f->who = r->who;
	if (path)
		snprintf(f->path, sizeof(f->path), "%s", path);
	f->next = r->api->followers;
	r->api->followers = f;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, follower_read, f,
						 follower_free);
	MHD_add_response_header(resp, "Content-Type",
				kind == FOLLOW_EVENTS ? "application/x-ndjson" : "text/plain");
	ret = MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}
