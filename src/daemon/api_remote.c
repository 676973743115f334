/* The HTTPS listener's side of the API. Its connections come from umlhost-gate (api_gate.c),
 * already decrypted, into a second libmicrohttpd server that has no listening socket of its
 * own (MHD_add_connection with the client's real address). The routes are the socket's; what
 * differs is who asks: a bearer token, checked here on every request against the store (a
 * revoke or an expiry acts at the next request), with failed checks limited per client
 * address, and every mutation audited (token, customer, address, what, status). */
#include "daemon/api.h"
#include "daemon/api_gate.h"
#include "daemon/tokens.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/ratelimit.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

/* Failed token checks: FAIL_BURST at once, then FAIL_PER_MIN a minute, per address; past
 * that, the address is answered 429 for a minute without a look at its token. */
#define FAIL_BURST 10
#define FAIL_PER_MIN 10
#define FAIL_TABLE 256

struct auth_fail {
	char addr[64];
	struct uh_ratelimit rl;
	int64_t blocked_until_ms;
	int64_t last_ms;
	struct auth_fail *next;
};

static struct auth_fail *fail_entry(struct api *api, const char *addr, int make)
{
	struct auth_fail *f, *oldest = NULL;
	int n = 0;

	for (f = api->fails; f; f = f->next, n++) {
		if (strcmp(f->addr, addr) == 0)
			return f;
		if (f->blocked_until_ms < uh_now_ms() &&
		    (oldest == NULL || f->last_ms < oldest->last_ms))
			oldest = f;
	}
	if (!make)
		return NULL;
	if (n >= FAIL_TABLE) {
		/* reuse the least recent that is not blocked: a flood of addresses stays bounded
		 * and cannot unblock one; when all are blocked, this one is not recorded */
		if (oldest == NULL)
			return NULL;
		f = oldest;
	} else {
		f = calloc(1, sizeof(*f));
		if (f == NULL)
			abort();
		f->next = api->fails;
		api->fails = f;
	}
	snprintf(f->addr, sizeof(f->addr), "%s", addr);
	uh_ratelimit_init(&f->rl, FAIL_BURST, FAIL_PER_MIN, uh_now_ms());
	f->blocked_until_ms = 0;
	return f;
}

/* The client's address, and what failed checks are counted by: the address, or for IPv6
 * its /64 (one host usually holds a whole /64). */
static void client_address(struct MHD_Connection *c, char *out, size_t len, char *key,
			   size_t key_len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, len, "unknown");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
	if (sa && sa->sa_family == AF_INET6) {
		struct in6_addr net = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		char p[64];

		inet_ntop(AF_INET6, &net, out, (socklen_t)len);
		memset(net.s6_addr + 8, 0, 8);
		inet_ntop(AF_INET6, &net, p, sizeof(p));
		snprintf(key, key_len, "%s/64", p);
		return;
	}
	snprintf(key, key_len, "%s", out);
}

static void refuse(struct req *r, int status, const char *code, const char *msg)
{
	struct uh_error e;

	uh_errx(&e, "%s", msg);
	r->status = status;
	r->resp = uh_api_error_body(&e, code);
}

/* A failed check of a credential (a token, a ticket): counted for the address, answered 401
 * (429 once the address is blocked). */
static void failed(struct req *r, struct uh_error *err)
{
	int64_t now = uh_now_ms();
	struct auth_fail *f = fail_entry(r->api, r->limit_key, 0);

	if (f && now < f->blocked_until_ms) {
		refuse(r, 429, "rate_limited",
		       "too many failed token checks from this address; try again in a minute");
		return;
	}
	f = fail_entry(r->api, r->limit_key, 1);
	if (f == NULL) {
		refuse(r, 401, "unauthorized", err->msg);
		return;
	}
	f->last_ms = now;
	/* the one that takes the last token closes the door: the next attempt is a 429 */
	if (!uh_ratelimit_take(&f->rl, now) || f->rl.tokens_milli < 1000) {
		f->blocked_until_ms = now + 60000;
		uh_warnx("api: %s: too many failed token checks; refused for a minute", r->client);
	}
	refuse(r, 401, "unauthorized", err->msg);
}

int uh_api_remote_check_token(struct req *r, const char *token, struct uh_error *err)
{
	/* a right token passes even from a blocked address (others behind the same NAT, the
	 * customer's own script): the block is against guessing, and a guess learns nothing
	 * more than 429 */
	if (uh_token_verify(r->api->d, token, strlen(token), r->client, &r->who, err) == 0)
		return 0;
	failed(r, err);
	return -1;
}

enum MHD_Result uh_api_remote_sign_in(struct req *r, json_t *body)
{
	const char *tok = json_string_value(json_object_get(body, "token"));
	struct uh_error err;

	const char *type = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
	const char *site = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-Fetch-Site");

	if (!r->remote)
		return uh_api_send_error(r->conn, 404, "not_found",
					 "sessions are the HTTPS listener's (the socket needs none)");
	/* only the panel itself signs in: another site's form cannot send JSON, and a browser
	 * says where a request comes from (a login CSRF would sign the user in as someone
	 * else) */
	if (type == NULL || strncasecmp(type, "application/json", 16) != 0 ||
	    (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0))
		return uh_api_send_error(r->conn, 403, "permission_denied",
					 "sign in from the panel's own page (JSON, same origin)");
	if (tok == NULL) {
		uh_errx(&err, "sign in with {\"token\": \"uh_...\"}");
		failed(r, &err); /* counted: anonymous requests cost the daemon a look */
		return uh_api_send_json(r->conn, r->status, uh_steal_pointer(&r->resp));
	}
	if (uh_api_remote_check_token(r, tok, &err) < 0)
		return uh_api_send_json(r->conn, r->status, uh_steal_pointer(&r->resp));
	return uh_api_session_start(r);
}

void uh_api_remote_authenticate(struct req *r, const char *url, const char *method)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	struct uh_error err;

	client_address(r->conn, r->client, sizeof(r->client), r->limit_key, sizeof(r->limit_key));
	/* the console's WebSocket: a browser cannot send a bearer token there; its one-time
	 * ticket (api_console.c) stands for the token that asked for it, on this URL alone */
	if (strcmp(url, "/v1/console") == 0) {
		const char *t = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "ticket");

		if (uh_api_console_take(r->api, t, r->client, &r->who, r->console, &err) == 0)
			r->authorized = 1;
		else
			failed(r, &err);
		return;
	}
	/* a page asking whether it is signed in: by its cookie if it has a good one, else as
	 * nobody (an answer, not an error) */
	if (get && strcmp(url, "/ui/session") == 0) {
		if (h == NULL && uh_api_session_has_cookie(r) &&
		    uh_api_session_authenticate(r, method, &err) == 0) {
			r->authorized = 1;
			return;
		}
		memset(&r->who, 0, sizeof(r->who));
		r->authorized = 1;
		r->anonymous = 1;
		return;
	}
	/* the panel's files and its sign-in need no credential yet: such a request may reach
	 * only the routes marked for it (api_routes.c), with no scope and no server */
	if ((get && strncmp(url, "/ui", 3) == 0 && (url[3] == '\0' || url[3] == '/')) ||
	    (strcmp(url, "/ui/session") == 0 && strcmp(method, "POST") == 0)) {
		r->authorized = 1;
		r->anonymous = 1;
		return;
	}
	/* the panel's later requests: its session cookie (api_session.c) */
	if (h == NULL && uh_api_session_has_cookie(r)) {
		if (uh_api_session_authenticate(r, method, &err) == 0)
			r->authorized = 1;
		else
			refuse(r, err.errnum == EPERM ? 403 : 401,
			       err.errnum == EPERM ? "csrf" : "unauthorized", err.msg);
		return;
	}
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		refuse(r, 401, "unauthorized", "an API token is needed: Authorization: Bearer uh_...");
		return;
	}
	if (uh_api_remote_check_token(r, h + 7, &err) == 0)
		r->authorized = 1;
}

void uh_api_remote_audit(struct req *r)
{
	uh_daemon_event(r->api->d, "-", "api-request", "token %s (customer %s) from %s: %s -> %d",
			r->who.token_id, r->who.customer, r->client, r->what, r->status);
}

/* ---- the server */

static void on_conn(void *arg, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct api *api = arg;

	/* it closes fd itself, also when it refuses it (its connection limit) */
	if (MHD_add_connection(api->mhd_remote, fd, addr, len) != MHD_YES)
		uh_warnx("api: a connection from the gate was refused (connection limit)");
	MHD_run(api->mhd_remote);
}

static void readable(void *arg, uint32_t events)
{
	struct api *api = arg;

	MHD_run(api->mhd_remote);
}

int uh_api_remote_start(struct api *api, MHD_AccessHandlerCallback handler,
			MHD_RequestCompletedCallback completed, struct uh_error *err)
{
	struct uh_daemon *d = api->d;
	const union MHD_DaemonInfo *info;

	/* slow clients: a connection idle for 60 s is closed (suspended ones, waiting for an
	 * operation or a stream, are not idle); 32 KiB for a request's headers */
	api->mhd_remote = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET |
			MHD_USE_ITC | MHD_ALLOW_UPGRADE,
		0, NULL, NULL, handler, api, MHD_OPTION_NOTIFY_COMPLETED, completed, api,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)2000, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
		MHD_OPTION_END);
	if (api->mhd_remote == NULL)
		return uh_errx(err, "api_listen: cannot start its HTTP server");
	info = MHD_get_daemon_info(api->mhd_remote, MHD_DAEMON_INFO_EPOLL_FD);
	api->watch_remote = uh_loop_watch(d->loop, info->epoll_fd, EPOLLIN, readable, api);
	if (uh_gate_start(d, on_conn, api, &api->gate, err) < 0) {
		uh_api_remote_stop(api);
		return -1;
	}
	return 0;
}

void uh_api_remote_stop(struct api *api)
{
	struct auth_fail *f;

	uh_gate_stop(api->gate);
	api->gate = NULL;
	if (api->watch_remote)
		uh_loop_unwatch(api->d->loop, api->watch_remote);
	api->watch_remote = NULL;
	if (api->mhd_remote)
		MHD_stop_daemon(api->mhd_remote);
	api->mhd_remote = NULL;
	uh_api_sessions_free(api);
	while ((f = api->fails) != NULL) {
		api->fails = f->next;
		free(f);
	}
}
