/* The API's own header, shared by its files and nothing else: a request, a follower, the
 * server's state, and the calls between the files.
 *   api.c         the server: the socket, libmicrohttpd in the loop, authorisation, a request's
 *                 life (body gathered, handed to the router, freed)
 *   api_routes.c  the route table and one handler per route (domain calls, JSON in and out)
 *   api_follow.c  streams: events and console logs with follow=1
 *   api_http.c    answers: JSON, text, errors by errno class; operations that finish later
 * Calls point down that list. */
#ifndef UH_DAEMON_API_H
#define UH_DAEMON_API_H

#include "auth/access.h"
#include "daemon/daemon.h"
#include "daemon/route.h"

#include <microhttpd.h>
#include <stdint.h>
#include <sys/types.h>

#define UH_API_MAX_BODY (1 << 20)
#define UH_API_MAX_REMOTE_BODY (64 << 10) /* the HTTPS listener's */
#define UH_CONSOLE_TICKET_LEN 64	  /* hex digits */

struct req {
	struct api *api;
	struct MHD_Connection *conn;
	int remote;		     /* came through the HTTPS listener (a token), not the socket */
	char client[64];	     /* remote: the client's address */
	char limit_key[72];	     /* and what its failed checks are counted by */
	char *what;		     /* remote mutations: "METHOD URL", for the audit */
	const char *route;	     /* the route table's pattern it matched (metrics) */
	/* an operation's result as this caller may see it (the customer view: no host
	 * paths); NULL: as it is */
	json_t *(*shape)(struct req *r, json_t *result);
	char *body;
	size_t len;
	uid_t uid;
	int authorized;
	struct uh_principal who; /* what the caller may see and do (auth/access.h) */
	char console[UH_KEY_MAX]; /* GET /v1/console: the server its ticket was for */
	int anonymous;		  /* the panel's files and sign-in: no credential yet */
	int session;		  /* authenticated by the panel's session cookie */
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
	struct uh_principal who; /* events: only those of servers it may see */
	struct follower *next;
};

struct api {
	struct uh_daemon *d;
	struct MHD_Daemon *mhd;
	struct MHD_Daemon *mhd_remote; /* the HTTPS listener's connections (api_remote.c) */
	struct uh_watch *watch_remote;
	struct uh_gate *gate;
	struct MHD_Daemon *mhd_metrics; /* metrics_listen (api_metrics.c) */
	struct uh_watch *watch_metrics;
	int metrics_fd;
	struct auth_fail *fails; /* failed token checks by client address */
	int listen_fd;
	struct uh_watch *watch;
	struct uh_timer *tick;
	struct req *pending;
	struct follower *followers;
	struct console_ticket *tickets;	  /* api_console.c */
	struct console_session *consoles;
	struct ui_session *sessions; /* api_session.c */
	int ui_dir;		     /* the panel's files (api_ui.c), -1 if not installed */
	int stopping;
	struct uh_timer *kick;
	uint64_t completed, completed_at_trim; /* requests finished; at the last heap trim */
	int64_t last_completed_ms;
};


/* api_remote.c: the HTTPS listener's side: its server, started with the gate; a request's
 * token checked (failed checks limited by address); mutations audited */
int uh_api_remote_start(struct api *api, MHD_AccessHandlerCallback handler,
			MHD_RequestCompletedCallback completed, struct uh_error *err);
void uh_api_remote_stop(struct api *api);
void uh_api_remote_authenticate(struct req *r, const char *url, const char *method);
/* A token presented to sign in: r->who filled, or -1 with r->status and r->resp set (401,
 * 429: the failed check counted for the address). */
int uh_api_remote_check_token(struct req *r, const char *token, struct uh_error *err);
/* POST /ui/session {"token"}: checked as a bearer token is, then a session (api_session.c) */
enum MHD_Result uh_api_remote_sign_in(struct req *r, json_t *body);

/* api_session.c: the panel's session cookies and CSRF tokens */
#define UH_SESSION_ID_LEN 64 /* hex digits */
int uh_api_session_has_cookie(struct req *r);
/* The cookie's session: r->who from its token, read again now; a request that is not GET
 * or HEAD needs its X-CSRF-Token (EPERM when missing or wrong, EACCES for the rest). */
int uh_api_session_authenticate(struct req *r, const char *method, struct uh_error *err);
enum MHD_Result uh_api_session_start(struct req *r);
enum MHD_Result uh_api_session_get(struct req *r);
enum MHD_Result uh_api_session_logout(struct req *r);
void uh_api_sessions_free(struct api *api);

/* api_ui.c: the panel's files under /ui/, with their security headers */
void uh_api_ui_init(struct api *api);
enum MHD_Result uh_api_ui_file(struct req *r, const char *name);
void uh_api_remote_audit(struct req *r);

/* api_servers.c: the customer's view (every server through uh_access_visible) */
enum MHD_Result uh_api_whoami(struct req *r, const struct uh_route_args *a);
enum MHD_Result uh_api_servers(struct req *r, const struct uh_route_args *a);
enum MHD_Result uh_api_server_get(struct req *r, const struct uh_route_args *a, int stats);
enum MHD_Result uh_api_server_action(struct req *r, const struct uh_route_args *a);
enum MHD_Result uh_api_server_console(struct req *r, const struct uh_route_args *a);
enum MHD_Result uh_api_server_backups(struct req *r, const struct uh_route_args *a,
				      const char *method);
enum MHD_Result uh_api_metrics(struct req *r, int host);

/* api_metrics.c: metrics_listen's plain /metrics */
int uh_api_metrics_start(struct api *api, struct uh_error *err);
void uh_api_metrics_stop(struct api *api);

/* api_console.c: the console over a WebSocket: tickets, the upgrade, the relays */
enum MHD_Result uh_api_console_ticket(struct req *r, struct uh_instance *inst);
/* A ticket exchanged, once, for who asked for it and the server; -1 (EACCES, ENOENT) when
 * it is unknown, used, expired, from another client, or its token or server went. */
int uh_api_console_take(struct api *api, const char *ticket, const char *client,
			struct uh_principal *who, char server[UH_KEY_MAX], struct uh_error *err);
enum MHD_Result uh_api_console_open(struct req *r);
void uh_api_console_tick(struct api *api);
void uh_api_console_stop(struct api *api);

/* api_http.c: answers; one round of both servers (the socket's, the HTTPS listener's); the
 * status the last answer was queued with (the daemon is one thread) */
void uh_api_run(struct api *api);
extern int uh_api_last_status;
enum MHD_Result uh_api_send_text(struct MHD_Connection *c, int status, const char *type,
				 char *text /* owned */, size_t len);
/* body is taken over */
enum MHD_Result uh_api_send_json(struct MHD_Connection *c, int status, json_t *body);
enum MHD_Result uh_api_send_error(struct MHD_Connection *c, int status, const char *code,
				  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* An operation's error: its status from the errno class, its {"error", "code"} body. */
enum MHD_Result uh_api_send_err(struct req *r, struct uh_error *err);
/* A resumed connection is served on the next MHD_run: make that now. */
void uh_api_kick(struct api *api);
/* The uh_done_fn of a request whose answer comes later. */
void uh_api_op_done(void *ctx, const struct uh_error *err, json_t *result);
/* Before starting something that answers through uh_api_op_done (maybe at once); after it:
 * answer now, or park the connection until it does. */
void uh_api_async_begin(struct req *r);
enum MHD_Result uh_api_async_wait(struct req *r);
/* An instance operation, answered when it is done. */
enum MHD_Result uh_api_run_op(struct req *r, const char *name, enum uh_op_type type, int timeout,
			      int force);

/* api_follow.c: streams */
/* Stream events after `since`, or the log file at path from offset, until the client goes. */
enum MHD_Result uh_api_follow_start(struct req *r, enum follow_kind kind, int64_t since,
				    const char *path, off_t offset);
/* Fill f->buf with what is new for it (events: from the store). */
void uh_api_follower_fill(struct follower *f);
/* Resume the suspended followers of `kind` that have something new. */
void uh_api_followers_wake(struct api *api, enum follow_kind kind);
/* The daemon's on_event hook: event followers wake. */
void uh_api_on_event(struct uh_daemon *d);

/* api_routes.c: find the route, parse its body, run its handler. */
enum MHD_Result uh_api_dispatch(struct req *r, const char *method, const char *url);

#endif
