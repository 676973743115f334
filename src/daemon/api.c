/* The API: HTTP/1.1 + JSON on a unix socket (the same API can later be served over TCP to a
 * web panel). libmicrohttpd runs inside the daemon's loop (its epoll fd is watched there);
 * requests that wait for an instance operation are suspended and resumed when it finishes;
 * `events` and `logs` with follow=1 stream, suspended while there is nothing new.
 * Callers are authorised by peer credentials: root, or a member of the configured group. */
#include "daemon/daemon.h"
#include "daemon/route.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"
#include "uh_build.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <microhttpd.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_BODY (1 << 20)

struct req {
	struct api *api;
	struct MHD_Connection *conn;
	char *body;
	size_t len;
	uid_t uid;
	int authorized;
	int suspended;
	int in_op;
	int have_response;
	int status;
	int ok; /* the route's status on success (200, 201 for what it makes) */
	json_t *resp;
	struct req *next; /* in api->pending while an operation runs */
};

enum follow_kind { FOLLOW_EVENTS, FOLLOW_LOGS };

struct follower {
	struct api *api;
	struct MHD_Connection *conn;
	enum follow_kind kind;
	int64_t last_id; /* events */
	char path[PATH_MAX];
	off_t offset; /* logs */
	char *buf;
	size_t len, off;
	int suspended;
	struct follower *next;
};

struct api {
	struct uh_daemon *d;
	struct MHD_Daemon *mhd;
	int listen_fd;
	struct uh_watch *watch;
	struct uh_timer *tick;
	struct req *pending;
	struct follower *followers;
	int stopping;
	struct uh_timer *kick;
};

/* ---- responses */

static enum MHD_Result send_text(struct MHD_Connection *c, int status, const char *type,
				 char *text /* owned */, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, (unsigned int)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(body);
	if (s == NULL)
		abort();
	return send_text(c, status, "application/json", s, strlen(s));
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *code,
				  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *code,
				  const char *fmt, ...)
{
	struct uh_error e = {0};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	return send_json(c, status, uh_api_error_body(&e, code));
}

/* ---- asynchronous operations */

/* An operation's error: its status from the errno class, its {"error", "code"} body. */
static enum MHD_Result send_err(struct req *r, struct uh_error *err)
{
	return send_json(r->conn, uh_api_error_status(err), uh_api_error_body(err, NULL));
}

static void mhd_kick_due(void *arg)
{
	struct api *api = arg;

	api->kick = NULL;
	MHD_run(api->mhd);
}

/* A resumed connection is served on the next MHD_run: make that now, not at the next tick. */
static void mhd_kick(struct api *api)
{
	if (api->kick == NULL)
		api->kick = uh_loop_after(api->d->loop, 0, mhd_kick_due, api);
}

static void op_done(void *ctx, const struct uh_error *err, json_t *result)
{
	struct req *r = ctx, **pp;

	r->status = err ? uh_api_error_status(err) : r->ok;
	r->resp = err ? uh_api_error_body(err, NULL) : result ? result : json_object();
	r->have_response = 1;
	for (pp = &r->api->pending; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	if (r->suspended) {
		r->suspended = 0;
		MHD_resume_connection(r->conn);
		mhd_kick(r->api);
	}
}

/* Before starting something that answers through op_done (maybe at once). */
static void async_begin(struct req *r)
{
	r->in_op = 1;
	r->next = r->api->pending;
	r->api->pending = r;
}

/* After starting it: answer now, or park the connection until op_done. */
static enum MHD_Result async_wait(struct req *r)
{
	if (r->have_response)
		return send_json(r->conn, r->status, uh_steal_pointer(&r->resp));
	r->suspended = 1;
	MHD_suspend_connection(r->conn);
	return MHD_YES;
}

static enum MHD_Result run_op(struct req *r, const char *name, enum uh_op_type type, int timeout,
			      int force)
{
	async_begin(r);
	uh_instance_submit(r->api->d, name, type, timeout, force, op_done, r);
	return async_wait(r);
}

/* ---- streaming followers */

static void follower_fill(struct follower *f);

static ssize_t follower_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct follower *f = cls;
	size_t n;

	if (f->off >= f->len)
		follower_fill(f);
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
	json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s}", "id", (json_int_t)ev->id, "ts_ms",
			      (json_int_t)ev->ts_ms, "instance", ev->instance, "type", ev->type,
			      "message", ev->message);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	size_t n;

	json_decref(o);
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
	free(s);
	return 0;
}

static void follower_fill(struct follower *f)
{
	struct uh_error err;

	free(f->buf);
	f->buf = NULL;
	f->len = f->off = 0;
	if (f->kind == FOLLOW_EVENTS) {
		if (uh_store_event_list(f->api->d->store, f->last_id, 200, add_event_line, f,
					&err) < 0)
			uh_warnx("events: %s", err.msg);
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

static void wake_followers(struct api *api, enum follow_kind kind)
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
		mhd_kick(api);
	}
}

static void on_event(struct uh_daemon *d)
{
	wake_followers(d->http, FOLLOW_EVENTS);
}

static enum MHD_Result start_follow(struct req *r, enum follow_kind kind, int64_t since,
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

/* ---- handlers */

static int64_t query_int(struct MHD_Connection *c, const char *key, int64_t def)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);

	return v ? strtoll(v, NULL, 10) : def;
}

static int query_flag(struct MHD_Connection *c, const char *key)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);

	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static json_t *parse_body(struct req *r, struct uh_error *err)
{
	json_error_t je;
	json_t *j;

	if (r->len == 0)
		return json_object();
	j = json_loadb(r->body, r->len, 0, &je);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		uh_errx(err, "request body is not a JSON object: %s", je.text);
		return NULL;
	}
	return j;
}

static enum MHD_Result get_logs(struct req *r, struct uh_instance *inst)
{
	char rotated[PATH_MAX + 4];
	char *text = NULL;
	size_t len = 0;
	int k;
	struct stat st;

	snprintf(rotated, sizeof(rotated), "%s.1", inst->log_path);
	if (query_flag(r->conn, "follow")) {
		/* the history first (the current file), then whatever comes */
		return start_follow(r, FOLLOW_LOGS, 0, inst->log_path, 0);
	}
	for (k = 0; k < 2; k++) {
		const char *p = k == 0 ? rotated : inst->log_path;
		uh_autoclose int fd = open(p, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		text = realloc(text, len + (size_t)st.st_size + 1);
		if (text == NULL)
			abort();
		n = uh_pread_full(fd, text + len, (size_t)st.st_size, 0);
		if (n > 0)
			len += (size_t)n;
	}
	if (text == NULL)
		text = strdup("");
	return send_text(r->conn, 200, "text/plain", text, len);
}

/* ---- the routes: one handler each; the router matches, parses the body, frees it */

struct api_route;
typedef enum MHD_Result (*route_fn)(struct req *r, const struct api_route *rt,
				    const struct uh_route_args *a, json_t *body);
struct api_route {
	struct uh_route route; /* first: uh_route_find's table */
	route_fn fn;
	unsigned flags;
	int arg; /* the handler's own: an operation, templates or kernels, a status */
	/* h_make's: what makes the thing from the body (an instance, a network, a build) */
	int (*make)(struct uh_daemon *d, json_t *params, json_t **out, struct uh_error *err);
};
#define ROUTE_BODY 1u /* a JSON object body (400 if it is not one), freed after the handler */

static enum MHD_Result h_version(struct req *r, const struct api_route *rt,
				 const struct uh_route_args *a, json_t *body)
{
	return send_json(r->conn, 200, json_pack("{s:s}", "version", UMLHOST_VERSION));
}

static enum MHD_Result h_instances(struct req *r, const struct api_route *rt,
				   const struct uh_route_args *a, json_t *body)
{
	struct uh_instance *i;
	json_t *arr = json_array();

	/* arg: the records, or their traffic (/v1/stats) */
	for (i = r->api->d->instances; i; i = i->next)
		json_array_append_new(arr, rt->arg ? uh_instance_stats(i) : uh_instance_json(i));
	return send_json(r->conn, 200, arr);
}

/* POST of something made from the body at once: 201 (a build that goes on: 202, rt->arg) */
static enum MHD_Result h_make(struct req *r, const struct api_route *rt,
			      const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = NULL;

	if (rt->make(r->api->d, body, &out, &err) < 0)
		return send_err(r, &err);
	return send_json(r->conn, rt->arg, out);
}

static enum MHD_Result h_instance_get(struct req *r, const struct api_route *rt,
				      const struct uh_route_args *a, json_t *body)
{
	struct uh_instance *inst = uh_instance_find(r->api->d, a->v[0]);

	if (inst == NULL)
		return send_error(r->conn, 404, "not_found", "no instance named '%s'", a->v[0]);
	switch (rt->arg) {
	case 1:
		return send_json(r->conn, 200, uh_instance_stats(inst));
	case 2:
		return get_logs(r, inst);
	default:
		return send_json(r->conn, 200, uh_instance_json(inst));
	}
}

static enum MHD_Result h_instance_op(struct req *r, const struct api_route *rt,
				     const struct uh_route_args *a, json_t *body)
{
	if (rt->arg == UH_OP_DELETE)
		return run_op(r, a->v[0], UH_OP_DELETE, 0, query_flag(r->conn, "force"));
	return run_op(r, a->v[0], (enum uh_op_type)rt->arg,
		      (int)json_integer_value(json_object_get(body, "timeout")), 0);
}

static enum MHD_Result h_instance_backup(struct req *r, const struct api_route *rt,
					 const struct uh_route_args *a, json_t *body)
{
	r->ok = 201;
	async_begin(r);
	uh_backup_create(r->api->d, a->v[0], json_string_value(json_object_get(body, "to")), 0,
			 op_done, r);
	return async_wait(r);
}

static enum MHD_Result h_instance_disk(struct req *r, const struct api_route *rt,
				       const struct uh_route_args *a, json_t *body)
{
	async_begin(r);
	if (rt->arg == 0)
		uh_disk_flatten(r->api->d, a->v[0], op_done, r);
	else
		uh_disk_resize(r->api->d, a->v[0], json_string_value(json_object_get(body, "size")),
			       op_done, r);
	return async_wait(r);
}

/* A build log from ?offset= on: the CLI polls it while the build runs. */
static enum MHD_Result send_log_from(struct req *r, const char *path)
{
	int64_t off = query_int(r->conn, "offset", 0);
	uh_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *text;
	ssize_t got;
	size_t n;

	if (fd < 0 || fstat(fd, &st) < 0)
		return send_error(r->conn, 404, "not_found", "no build log");
	if (off < 0 || off > st.st_size)
		off = st.st_size;
	n = (size_t)(st.st_size - off);
	if (n > (1 << 20))
		n = 1 << 20;
	text = malloc(n + 1);
	if (text == NULL)
		abort();
	got = uh_pread_full(fd, text, n, off);
	return send_text(r->conn, 200, "text/plain", text, got > 0 ? (size_t)got : 0);
}

/* The things builds make: templates and kernels, each a list, an import or build, GET
 * (status), GET .../log (the build log), DELETE (a template's ?version=N, or all of it). */
struct built_ops {
	json_t *(*list)(struct uh_daemon *d, struct uh_error *err);
	json_t *(*get)(struct uh_daemon *d, const char *name, struct uh_error *err);
	int (*log_path)(struct uh_daemon *d, const char *name, char *out, size_t len,
			struct uh_error *err);
	int (*remove)(struct uh_daemon *d, const char *name, int version, int force,
		      struct uh_error *err);
	int versions;
};

static int kernel_remove(struct uh_daemon *d, const char *name, int version, int force,
			 struct uh_error *err)
{
	return uh_kernel_remove(d, name, err);
}

static int template_remove(struct uh_daemon *d, const char *name, int version, int force,
			   struct uh_error *err)
{
	/* a failed build is forgotten first, as for kernels */
	if (uh_template_forget_build(d, name))
		return 0;
	return uh_template_remove(d, name, version, force, err);
}

enum { BUILT_TEMPLATES, BUILT_KERNELS };
static const struct built_ops built[] = {
	[BUILT_TEMPLATES] = {uh_template_list, uh_template_get_json, uh_template_log_path,
			     template_remove, 1},
	[BUILT_KERNELS] = {uh_kernel_list, uh_kernel_get_json, uh_kernel_log_path, kernel_remove,
			   0},
};

static enum MHD_Result h_built_list(struct req *r, const struct api_route *rt,
				    const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = built[rt->arg].list(r->api->d, &err);

	if (out == NULL)
		return send_json(r->conn, 500, uh_api_error_body(&err, NULL));
	return send_json(r->conn, 200, out);
}

static enum MHD_Result h_built_get(struct req *r, const struct api_route *rt,
				   const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = built[rt->arg].get(r->api->d, a->v[0], &err);

	return out ? send_json(r->conn, 200, out) : send_err(r, &err);
}

static enum MHD_Result h_built_log(struct req *r, const struct api_route *rt,
				   const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	char path[PATH_MAX];

	if (built[rt->arg].log_path(r->api->d, a->v[0], path, sizeof(path), &err) < 0)
		return send_err(r, &err);
	return send_log_from(r, path);
}

static enum MHD_Result h_built_delete(struct req *r, const struct api_route *rt,
				      const struct uh_route_args *a, json_t *body)
{
	const struct built_ops *ops = &built[rt->arg];
	int version = ops->versions ? (int)query_int(r->conn, "version", 0) : 0;
	struct uh_error err;

	if (ops->remove(r->api->d, a->v[0], version, query_flag(r->conn, "force"), &err) < 0)
		return send_err(r, &err);
	return send_json(r->conn, 200,
			 ops->versions ? json_pack("{s:s, s:i}", "deleted", a->v[0], "version",
						   version)
				       : json_pack("{s:s}", "deleted", a->v[0]));
}

static enum MHD_Result h_template_import(struct req *r, const struct api_route *rt,
					 const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = NULL;

	if (uh_template_import(r->api->d, json_string_value(json_object_get(body, "name")) ?: "",
			       json_string_value(json_object_get(body, "image")), r->uid, &out,
			       &err) < 0)
		return send_err(r, &err);
	return send_json(r->conn, 201, out);
}

static enum MHD_Result h_upgrade(struct req *r, const struct api_route *rt,
				 const struct uh_route_args *a, json_t *body)
{
	async_begin(r);
	uh_upgrade_start(r->api->d, body, op_done, r);
	return async_wait(r);
}

static enum MHD_Result h_backups(struct req *r, const struct api_route *rt,
				 const struct uh_route_args *a, json_t *body)
{
	const char *inst = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "instance");
	const char *from = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "from");

	if (from == NULL)
		return send_json(r->conn, 200, uh_backup_list(r->api->d, inst));
	async_begin(r);
	uh_backup_list_from(r->api->d, inst, from, op_done, r);
	return async_wait(r);
}

enum { ARCHIVE_RESTORE, ARCHIVE_VERIFY, ARCHIVE_PRUNE };

static enum MHD_Result h_archives(struct req *r, const struct api_route *rt,
				  const struct uh_route_args *a, json_t *body)
{
	struct uh_daemon *d = r->api->d;
	const char *archive = json_string_value(json_object_get(body, "archive"));

	async_begin(r);
	switch (rt->arg) {
	case ARCHIVE_RESTORE:
		uh_backup_restore(d, archive, json_string_value(json_object_get(body, "as")),
				  op_done, r);
		break;
	case ARCHIVE_VERIFY:
		uh_backup_verify(d, archive, op_done, r);
		break;
	default:
		uh_backup_prune(d, json_string_value(json_object_get(body, "instance")),
				(int)json_integer_value(json_object_get(body, "keep")),
				json_string_value(json_object_get(body, "from")), op_done, r);
	}
	return async_wait(r);
}

static enum MHD_Result h_networks(struct req *r, const struct api_route *rt,
				  const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = uh_network_list(r->api->d, &err);

	if (out == NULL)
		return send_json(r->conn, 500, uh_api_error_body(&err, NULL));
	return send_json(r->conn, 200, out);
}

static enum MHD_Result h_network_delete(struct req *r, const struct api_route *rt,
					const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;

	if (uh_network_remove(r->api->d, a->v[0], &err) < 0)
		return send_err(r, &err);
	return send_json(r->conn, 200, json_pack("{s:s}", "deleted", a->v[0]));
}

static enum MHD_Result h_events(struct req *r, const struct api_route *rt,
				const struct uh_route_args *a, json_t *body)
{
	int64_t since = query_int(r->conn, "since", 0);
	struct follower tmp = {.api = r->api, .kind = FOLLOW_EVENTS, .last_id = since};

	if (query_flag(r->conn, "follow"))
		return start_follow(r, FOLLOW_EVENTS, since, NULL, 0);
	follower_fill(&tmp);
	return send_text(r->conn, 200, "application/x-ndjson", tmp.buf ? tmp.buf : strdup(""),
			 tmp.len);
}

/* In match order: a literal segment before a "{}" in the same place. */
static const struct api_route routes[] = {
	{{"GET", "/v1/version"}, h_version, 0, 0, NULL},
	{{"GET", "/v1/instances"}, h_instances, 0, 0, NULL},
	{{"POST", "/v1/instances"}, h_make, ROUTE_BODY, 201, uh_instance_create},
	{{"GET", "/v1/instances/{}"}, h_instance_get, 0, 0, NULL},
	{{"DELETE", "/v1/instances/{}"}, h_instance_op, 0, UH_OP_DELETE, NULL},
	{{"GET", "/v1/instances/{}/stats"}, h_instance_get, 0, 1, NULL},
	{{"GET", "/v1/instances/{}/logs"}, h_instance_get, 0, 2, NULL},
	{{"POST", "/v1/instances/{}/start"}, h_instance_op, ROUTE_BODY, UH_OP_START, NULL},
	{{"POST", "/v1/instances/{}/stop"}, h_instance_op, ROUTE_BODY, UH_OP_STOP, NULL},
	{{"POST", "/v1/instances/{}/kill"}, h_instance_op, ROUTE_BODY, UH_OP_KILL, NULL},
	{{"POST", "/v1/instances/{}/restart"}, h_instance_op, ROUTE_BODY, UH_OP_RESTART, NULL},
	{{"POST", "/v1/instances/{}/reboot"}, h_instance_op, ROUTE_BODY, UH_OP_REBOOT, NULL},
	{{"POST", "/v1/instances/{}/backup"}, h_instance_backup, ROUTE_BODY, 0, NULL},
	{{"POST", "/v1/instances/{}/flatten"}, h_instance_disk, ROUTE_BODY, 0, NULL},
	{{"POST", "/v1/instances/{}/resize"}, h_instance_disk, ROUTE_BODY, 1, NULL},
	{{"GET", "/v1/stats"}, h_instances, 0, 1, NULL},
	{{"GET", "/v1/templates"}, h_built_list, 0, BUILT_TEMPLATES, NULL},
	{{"POST", "/v1/templates"}, h_template_import, ROUTE_BODY, 0, NULL},
	{{"POST", "/v1/templates/build"}, h_make, ROUTE_BODY, 202, uh_template_build_start},
	{{"GET", "/v1/templates/{}"}, h_built_get, 0, BUILT_TEMPLATES, NULL},
	{{"DELETE", "/v1/templates/{}"}, h_built_delete, 0, BUILT_TEMPLATES, NULL},
	{{"GET", "/v1/templates/{}/log"}, h_built_log, 0, BUILT_TEMPLATES, NULL},
	{{"GET", "/v1/kernels"}, h_built_list, 0, BUILT_KERNELS, NULL},
	{{"POST", "/v1/kernels"}, h_make, ROUTE_BODY, 202, uh_kernel_build_start},
	{{"GET", "/v1/kernels/{}"}, h_built_get, 0, BUILT_KERNELS, NULL},
	{{"DELETE", "/v1/kernels/{}"}, h_built_delete, 0, BUILT_KERNELS, NULL},
	{{"GET", "/v1/kernels/{}/log"}, h_built_log, 0, BUILT_KERNELS, NULL},
	{{"POST", "/v1/upgrade"}, h_upgrade, ROUTE_BODY, 0, NULL},
	{{"GET", "/v1/backups"}, h_backups, 0, 0, NULL},
	{{"POST", "/v1/backups/restore"}, h_archives, ROUTE_BODY, ARCHIVE_RESTORE, NULL},
	{{"POST", "/v1/backups/verify"}, h_archives, ROUTE_BODY, ARCHIVE_VERIFY, NULL},
	{{"POST", "/v1/backups/prune"}, h_archives, ROUTE_BODY, ARCHIVE_PRUNE, NULL},
	{{"GET", "/v1/networks"}, h_networks, 0, 0, NULL},
	{{"POST", "/v1/networks"}, h_make, ROUTE_BODY, 201, uh_network_create},
	{{"DELETE", "/v1/networks/{}"}, h_network_delete, 0, 0, NULL},
	{{"GET", "/v1/events"}, h_events, 0, 0, NULL},
};

const struct uh_route *uh_api_routes(size_t *n, size_t *stride)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	*stride = sizeof(routes[0]);
	return &routes[0].route;
}

static enum MHD_Result dispatch(struct req *r, const char *method, const char *url)
{
	struct uh_route_args args;
	struct uh_error err;
	char allow[64];
	json_t *body = NULL;
	enum MHD_Result ret;
	int i = uh_route_find(routes, sizeof(routes) / sizeof(routes[0]), sizeof(routes[0]),
			      method, url, &args, allow, sizeof(allow));

	if (i == UH_ROUTE_NONE)
		return send_error(r->conn, 404, "not_found", "no route for %s %s", method, url);
	if (i == UH_ROUTE_METHOD)
		return send_error(r->conn, 405, "invalid", "method %s not allowed on %s (%s)",
				  method, url, allow);
	if ((routes[i].flags & ROUTE_BODY) && (body = parse_body(r, &err)) == NULL)
		return send_json(r->conn, 400, uh_api_error_body(&err, "invalid"));
	r->ok = 200;
	ret = routes[i].fn(r, &routes[i], &args, body);
	json_decref(body);
	return ret;
}

/* ---- authorisation */

static int in_group(uid_t uid, gid_t gid, gid_t group)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int n = 256, i;

	if (gid == group)
		return 1;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return 0;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == group)
			return 1;
	return 0;
}

static void authorise(struct req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct uh_daemon *d = r->api->d;

	r->uid = (uid_t)-1;
	if (ci == NULL || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return;
	r->uid = cred.uid;
	r->authorized = cred.uid == 0 || (d->have_group && in_group(cred.uid, cred.gid,
								     d->group_gid));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct req *r = *con_cls;

	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			abort();
		r->api = cls;
		r->conn = conn;
		authorise(r);
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->len + *upload_size > MAX_BODY) {
			*upload_size = 0;
			r->len = MAX_BODY + 1;
			return MHD_YES;
		}
		r->body = realloc(r->body, r->len + *upload_size);
		if (r->body == NULL)
			abort();
		memcpy(r->body + r->len, upload, *upload_size);
		r->len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->have_response)
		return send_json(conn, r->status, uh_steal_pointer(&r->resp));
	if (r->in_op)
		return MHD_YES;
	if (!r->authorized) {
		uh_warnx("api: denied %s %s to uid %d (neither root nor in group %s)", method, url,
			 (int)r->uid, r->api->d->cfg.group);
		return send_error(conn, 403, "permission_denied",
				  "permission denied: uid %d is neither root nor in group %s",
				  (int)r->uid, r->api->d->cfg.group);
	}
	if (r->len > MAX_BODY)
		return send_error(conn, 413, "invalid", "request body larger than %d bytes",
				  MAX_BODY);
	return dispatch(r, method, url);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	if (r == NULL)
		return;
	free(r->body);
	json_decref(r->resp);
	free(r);
	*con_cls = NULL;
}

/* ---- plumbing into the loop */

static void mhd_readable(void *arg, uint32_t events)
{
	struct api *api = arg;

	MHD_run(api->mhd);
}

static void mhd_tick(void *arg)
{
	struct api *api = arg;

	/* connection timeouts, and log files that grew (log followers have no other wake-up) */
	wake_followers(api, FOLLOW_LOGS);
	MHD_run(api->mhd);
	api->tick = uh_loop_after(api->d->loop, 250, mhd_tick, api);
}

int uh_api_start(struct uh_daemon *d, struct uh_error *err)
{
	struct api *api = calloc(1, sizeof(*api));
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	const union MHD_DaemonInfo *info;

	if (api == NULL)
		abort();
	api->d = d;
	api->listen_fd = -1;
	if (strlen(d->cfg.socket) >= sizeof(addr.sun_path)) {
		uh_errx(err, "socket path %s is too long", d->cfg.socket);
		goto fail;
	}
	strcpy(addr.sun_path, d->cfg.socket);
	api->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (api->listen_fd < 0) {
		uh_err(err, errno, "socket");
		goto fail;
	}
	unlink(addr.sun_path); /* the run-dir lock proves no other daemon owns it */
	if (bind(api->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		uh_err(err, errno, "bind %s", d->cfg.socket);
		goto fail;
	}
	/* root and the group only; the peer check below is the real gate */
	if (d->have_group) {
		if (chown(addr.sun_path, 0, d->group_gid) < 0 || chmod(addr.sun_path, 0660) < 0)
			uh_warn("set owner of %s", addr.sun_path);
	} else {
		chmod(addr.sun_path, 0600);
	}
	if (listen(api->listen_fd, 128) < 0) {
		uh_err(err, errno, "listen %s", d->cfg.socket);
		goto fail;
	}
	api->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
				    handler, api, MHD_OPTION_LISTEN_SOCKET, api->listen_fd,
				    MHD_OPTION_NOTIFY_COMPLETED, completed, api,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000, MHD_OPTION_END);
	if (api->mhd == NULL) {
		uh_errx(err, "cannot start the HTTP server on %s", d->cfg.socket);
		goto fail;
	}
	info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	api->watch = uh_loop_watch(d->loop, info->epoll_fd, EPOLLIN, mhd_readable, api);
	api->tick = uh_loop_after(d->loop, 250, mhd_tick, api);
	d->http = api;
	d->on_event = on_event;
	return 0;
fail:
	if (api->listen_fd >= 0)
		close(api->listen_fd);
	free(api);
	return -1;
}

void uh_api_stop(struct uh_daemon *d)
{
	struct api *api = d->http;
	struct follower *f;
	struct req *r;

	if (api == NULL)
		return;
	/* operations still queued must not call back into freed requests */
	{
		struct uh_instance *i;
		struct uh_op *op;
		for (i = d->instances; i; i = i->next)
			for (op = i->ops; op; op = op->next)
				if (op->done == op_done)
					op->done = NULL;
	}
	/* libmicrohttpd refuses to stop with suspended connections: answer them first */
	for (r = api->pending; r; r = r->next) {
		struct uh_error e;
		uh_errx(&e, "umlhostd is shutting down");
		r->status = 503;
		r->resp = uh_api_error_body(&e, "shutting_down");
		r->have_response = 1;
		if (r->suspended) {
			r->suspended = 0;
			MHD_resume_connection(r->conn);
		}
	}
	for (f = api->followers; f; f = f->next) {
		if (f->suspended) {
			f->suspended = 0;
			MHD_resume_connection(f->conn);
		}
	}
	api->stopping = 1;
	/* let the resumed connections answer and finish their streams */
	for (int k = 0; k < 20; k++) {
		int suspended = 0;
		MHD_run(api->mhd);
		for (f = api->followers; f; f = f->next)
			suspended |= f->suspended;
		for (r = api->pending; r; r = r->next)
			suspended |= r->suspended;
		if (!suspended && k >= 2)
			break;
		usleep(1000);
	}
	uh_loop_unwatch(d->loop, api->watch);
	uh_loop_cancel(d->loop, api->tick);
	uh_loop_cancel(d->loop, api->kick);
	MHD_stop_daemon(api->mhd);
	close(api->listen_fd);
	unlink(d->cfg.socket);
	free(api);
	d->http = NULL;
	d->on_event = NULL;
}
