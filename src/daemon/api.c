/* The API: HTTP/1.1 + JSON on a unix socket (the same API can later be served over TCP to a
 * web panel). libmicrohttpd runs inside the daemon's loop (its epoll fd is watched there);
 * requests that wait for an instance operation are suspended and resumed when it finishes;
 * `events` and `logs` with follow=1 stream, suspended while there is nothing new.
 * Callers are authorised by peer credentials: root, or a member of the configured group. */
#include "daemon/api.h"
#include "daemon/metrics.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>

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
	if (r->authorized)
		uh_principal_admin(&r->who); /* the socket's callers are the provider's admins */
}

/* Both servers' requests: the socket's (remote 0) and the HTTPS listener's (remote 1). */
static enum MHD_Result handle(struct api *api, int remote, struct MHD_Connection *conn,
			      const char *url, const char *method, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct req *r = *con_cls;
	enum MHD_Result ret;

	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			abort();
		r->api = api;
		r->conn = conn;
		r->remote = remote;
		if (remote) {
			r->uid = (uid_t)-1; /* a token is nobody on this host: no file checks pass */
			uh_api_remote_authenticate(r, url, method);
		} else {
			authorise(r);
		}
		if (remote && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
		    asprintf(&r->what, "%s %s", method, url) < 0)
			abort();
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		/* an unauthenticated body is never kept (a flood of them would fill memory);
		 * a token's requests are small: 64 KiB */
		if (remote && !r->authorized) {
			*upload_size = 0;
			return MHD_YES;
		}
		/* before sign-in, a body is a sign-in: a token in a little JSON */
		if (r->anonymous && r->len + *upload_size > 1024) {
			*upload_size = 0;
			r->len = UH_API_MAX_BODY + 1;
			return MHD_YES;
		}
		if (r->len + *upload_size > (remote ? UH_API_MAX_REMOTE_BODY : UH_API_MAX_BODY)) {
			*upload_size = 0;
			r->len = UH_API_MAX_BODY + 1; /* marked too large: refused below */
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
		return uh_api_send_json(conn, r->status, uh_steal_pointer(&r->resp));
	if (r->in_op)
		return MHD_YES;
	if (remote && !r->authorized) /* the token's check said why (401, 429) */
		return uh_api_send_json(conn, r->status, uh_steal_pointer(&r->resp));
	if (!r->authorized) {
		uh_warnx("api: denied %s %s to uid %d (neither root nor in group %s)", method, url,
			 (int)r->uid, r->api->d->cfg.group);
		return uh_api_send_error(conn, 403, "permission_denied",
				  "permission denied: uid %d is neither root nor in group %s",
				  (int)r->uid, r->api->d->cfg.group);
	}
	if (r->len > UH_API_MAX_BODY) {
		r->status = 413;
		return uh_api_send_error(conn, 413, "invalid", "request body larger than %d bytes",
					 remote ? UH_API_MAX_REMOTE_BODY : UH_API_MAX_BODY);
	}
	uh_api_last_status = 0;
	ret = uh_api_dispatch(r, method, url);
	if (!r->in_op)
		r->status = uh_api_last_status ? uh_api_last_status : 200;
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	return handle(cls, 0, conn, url, method, upload, upload_size, con_cls);
}

static enum MHD_Result handler_remote(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version, const char *upload,
				      size_t *upload_size, void **con_cls)
{
	return handle(cls, 1, conn, url, method, upload, upload_size, con_cls);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	if (r == NULL)
		return;
	/* who did what: not for requests of nobody (the panel's files, a sign-in that failed:
	 * a flood of those must not push the real audit lines out of the events) */
	if (r->what && r->authorized && !r->anonymous)
		uh_api_remote_audit(r);
	if (r->authorized)
		uh_metrics_count_request(r->route ? r->route : "none", r->status);
	r->api->completed++;
	r->api->last_completed_ms = uh_now_ms();
	free(r->what);
	free(r->body);
	json_decref(r->resp);
	free(r);
	*con_cls = NULL;
}

/* ---- plumbing into the loop */

static void mhd_readable(void *arg, uint32_t events)
{
	uh_api_run(arg);
}

static void mhd_tick(void *arg)
{
	struct api *api = arg;

	/* connection timeouts, and log files that grew (log followers have no other wake-up) */
	uh_api_followers_wake(api, FOLLOW_LOGS);
	uh_api_console_tick(api);
	uh_api_run(api);
	/* a burst of connections leaves the heap full of freed connection pools (libmicrohttpd
	 * allocates 32 KiB per connection): once it has been quiet for a second, give them back,
	 * so the daemon that runs for months does not keep the size of its busiest moment */
	if (api->completed != api->completed_at_trim && uh_now_ms() - api->last_completed_ms > 1000) {
		api->completed_at_trim = api->completed;
		malloc_trim(0);
	}
	api->tick = uh_loop_after(api->d->loop, 250, mhd_tick, api);
}

int uh_api_start(struct uh_daemon *d, struct uh_error *err)
{
	uh_autofree struct api *api = calloc(1, sizeof(*api));
	uh_autoclose int fd = -1;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	const union MHD_DaemonInfo *info;

	if (api == NULL)
		abort();
	api->d = d;
	if (strlen(d->cfg.socket) >= sizeof(addr.sun_path))
		return uh_errx(err, "socket path %s is too long", d->cfg.socket);
	strcpy(addr.sun_path, d->cfg.socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return uh_err(err, errno, "socket");
	unlink(addr.sun_path); /* the run-dir lock proves no other daemon owns it */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return uh_err(err, errno, "bind %s", d->cfg.socket);
	/* root and the group only; the peer check below is the real gate */
	if (d->have_group) {
		if (chown(addr.sun_path, 0, d->group_gid) < 0 || chmod(addr.sun_path, 0660) < 0)
			uh_warn("set owner of %s", addr.sun_path);
	} else {
		chmod(addr.sun_path, 0600);
	}
	if (listen(fd, 128) < 0)
		return uh_err(err, errno, "listen %s", d->cfg.socket);
	api->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE,
				    0, NULL, NULL,
				    handler, api, MHD_OPTION_LISTEN_SOCKET, fd,
				    MHD_OPTION_NOTIFY_COMPLETED, completed, api,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000, MHD_OPTION_END);
	if (api->mhd == NULL)
		return uh_errx(err, "cannot start the HTTP server on %s", d->cfg.socket);
	api->listen_fd = uh_steal_fd(&fd); /* libmicrohttpd's now; closed after MHD_stop_daemon */
	info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	api->watch = uh_loop_watch(d->loop, info->epoll_fd, EPOLLIN, mhd_readable, api);
	api->tick = uh_loop_after(d->loop, 250, mhd_tick, api);
	if ((d->cfg.api_listen[0] && uh_api_remote_start(api, handler_remote, completed, err) < 0) ||
	    (d->cfg.metrics_listen[0] && uh_api_metrics_start(api, err) < 0)) {
		uh_api_remote_stop(api);
		uh_loop_unwatch(d->loop, api->watch);
		uh_loop_cancel(d->loop, api->tick);
		MHD_stop_daemon(api->mhd);
		close(api->listen_fd);
		return -1;
	}
	uh_api_ui_init(api);
	d->on_event = uh_api_on_event; /* followers get events from here on */
	d->http = uh_steal_pointer(&api);
	return 0;
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
				if (op->done == uh_api_op_done)
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
		uh_api_run(api);
		for (f = api->followers; f; f = f->next)
			suspended |= f->suspended;
		for (r = api->pending; r; r = r->next)
			suspended |= r->suspended;
		if (!suspended && k >= 2)
			break;
		usleep(1000);
	}
	uh_api_console_stop(api);
	uh_api_run(api);
	uh_loop_unwatch(d->loop, api->watch);
	uh_loop_cancel(d->loop, api->tick);
	uh_loop_cancel(d->loop, api->kick);
	uh_api_remote_stop(api);
	uh_api_metrics_stop(api);
	MHD_stop_daemon(api->mhd);
	close(api->listen_fd);
	if (api->ui_dir >= 0)
		close(api->ui_dir);
	unlink(d->cfg.socket);
	free(api);
	d->http = NULL;
	d->on_event = NULL;
}

