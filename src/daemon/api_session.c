/* The web panel's sign-in: a token pasted once becomes a session cookie.
 *
 * POST /ui/session {"token": "uh_..."} checks the token as a bearer token would be checked
 * (failed checks count against the address like any other) and answers a cookie
 *   uh_session=<64 hex>; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=<the token's life>
 * and a CSRF token the page keeps in memory. Later requests with the cookie act as the token:
 * its principal is read again from the store at every request (a revoke, an expiry or a
 * narrowing acts at once; so does its --from), and every request that is not GET or HEAD
 * must carry X-CSRF-Token equal to the session's, compared in constant time. GET /ui/session
 * gives a reloaded page its CSRF token back (a cross-site page can send the cookie nowhere:
 * SameSite=Strict; and cannot read the answer: no CORS). DELETE /ui/session signs out (the
 * session goes, the token stays). Sessions live in the daemon's memory only: a restart signs
 * everyone out, and nothing of them is on disk. At most SESSIONS_MAX; the least recently used
 * goes first. */
#include "daemon/api.h"
#include "daemon/tokens.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define SESSIONS_MAX 1024
#define PER_TOKEN 8	/* a token's sessions (browsers); its oldest goes for a ninth */
#define PER_CUSTOMER 64 /* and a customer's: nobody signs the others out by signing in */
#define NEVER_S (30 * 86400) /* a token that never expires: a session of 30 days */
/* __Host-: only this origin over HTTPS may set it (no sibling subdomain plants one) */
#define COOKIE "__Host-uh_session"

struct ui_session {
	char id[UH_SESSION_ID_LEN + 1];
	char csrf[UH_SESSION_ID_LEN + 1];
	char token_id[16];
	char customer[UH_KEY_MAX];
	int64_t expires; /* unix seconds */
	int64_t used_ms;
	struct ui_session *next;
};

static void random_hex(char *out, size_t bytes)
{
	uint8_t raw[64];

	if (bytes > sizeof(raw) || getrandom(raw, bytes, 0) != (ssize_t)bytes)
		abort();
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
}

static int same(const char *a, const char *b)
{
	unsigned char diff = 0;
	size_t n = strlen(a);

	if (b == NULL || strlen(b) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

static void session_drop(struct api *api, struct ui_session *s)
{
	struct ui_session **pp;

	for (pp = &api->sessions; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	explicit_bzero(s, sizeof(*s));
	free(s);
}

static void sessions_expire(struct api *api)
{
	struct ui_session *s, *next, *lru = NULL;
	int64_t now = time(NULL);
	int n = 0;

	for (s = api->sessions; s; s = next) {
		next = s->next;
		if (s->expires <= now) {
			session_drop(api, s);
			continue;
		}
		n++;
		if (lru == NULL || s->used_ms < lru->used_ms)
			lru = s;
	}
	if (n >= SESSIONS_MAX && lru)
		session_drop(api, lru);
}

/* Before a new session of this token and customer: their oldest go past their bounds. */
static void bound(struct api *api, const char *token_id, const char *customer)
{
	for (;;) {
		struct ui_session *s, *tok_lru = NULL, *cust_lru = NULL;
		int by_token = 0, by_customer = 0;

		for (s = api->sessions; s; s = s->next) {
			if (strcmp(s->token_id, token_id) == 0) {
				by_token++;
				if (tok_lru == NULL || s->used_ms < tok_lru->used_ms)
					tok_lru = s;
			}
			if (strcmp(s->customer, customer) == 0) {
				by_customer++;
				if (cust_lru == NULL || s->used_ms < cust_lru->used_ms)
					cust_lru = s;
			}
		}
		if (by_token >= PER_TOKEN)
			session_drop(api, tok_lru);
		else if (by_customer >= PER_CUSTOMER)
			session_drop(api, cust_lru);
		else
			return;
	}
}

/* The session the request's cookie names, or NULL. */
static struct ui_session *from_cookie(struct req *r)
{
	const char *c = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE);
	struct ui_session *s;

	if (c == NULL || strlen(c) != UH_SESSION_ID_LEN)
		return NULL;
	for (s = r->api->sessions; s; s = s->next)
		if (same(s->id, c))
			return s;
	return NULL;
}

int uh_api_session_has_cookie(struct req *r)
{
	return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE) != NULL;
}

int uh_api_session_authenticate(struct req *r, const char *method, struct uh_error *err)
{
	struct ui_session *s;
	struct uh_token_rec t;

	sessions_expire(r->api);
	s = from_cookie(r);
	if (s == NULL)
		return uh_errc(err, EACCES, "not signed in (or the session ended): sign in again");
	if (uh_store_token_get(r->api->d->store, s->token_id, &t, err) != 0 ||
	    (t.expires && t.expires <= time(NULL))) {
		session_drop(r->api, s);
		return uh_errc(err, EACCES, "the token of this session was revoked or expired: "
					    "sign in again");
	}
	uh_principal_from_token(&r->who, &t);
	if (!uh_access_from_allows(r->who.from, r->client))
		return uh_errc(err, EACCES, "this token may not be used from %s", r->client);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	    !same(s->csrf, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token")))
		return uh_errc(err, EPERM, "the CSRF token is missing or wrong (reload the page)");
	s->used_ms = uh_now_ms();
	r->session = 1;
	return 0;
}

/* Set-Cookie for a session (max_age 0: removed) */
static void set_cookie(struct MHD_Response *resp, const char *id, int64_t max_age)
{
	char c[256];

	snprintf(c, sizeof(c), COOKIE "=%s; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=%lld",
		 id, (long long)max_age);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, c);
}

static enum MHD_Result answer(struct req *r, int status, json_t *body, const char *cookie,
			      int64_t max_age)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct MHD_Response *resp;
	enum MHD_Result ret;

	json_decref(body);
	if (text == NULL)
		abort();
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	set_cookie(resp, cookie, max_age);
	uh_api_last_status = status;
	ret = MHD_queue_response(r->conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* After POST /ui/session's token passed (api_remote.c): the session for r->who */
enum MHD_Result uh_api_session_start(struct req *r)
{
	struct ui_session *s;
	int64_t now = time(NULL);

	sessions_expire(r->api);
	bound(r->api, r->who.token_id, r->who.customer);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		abort();
	random_hex(s->id, UH_SESSION_ID_LEN / 2);
	random_hex(s->csrf, UH_SESSION_ID_LEN / 2);
	snprintf(s->token_id, sizeof(s->token_id), "%s", r->who.token_id);
	snprintf(s->customer, sizeof(s->customer), "%s", r->who.customer);
	s->expires = r->who.expires ? r->who.expires : now + NEVER_S;
	s->used_ms = uh_now_ms();
	s->next = r->api->sessions;
	r->api->sessions = s;
	uh_daemon_event(r->api->d, "-", "ui-signed-in", "token %s (customer %s) from %s",
			r->who.token_id, r->who.customer, r->client);
	return answer(r, 201,
		      json_pack("{s:s, s:s, s:I}", "csrf", s->csrf, "customer", r->who.customer,
				"expires_at", (json_int_t)s->expires),
		      s->id, s->expires - now);
}

/* GET /ui/session: the signed-in page's CSRF token (after a reload), or that it is not */
enum MHD_Result uh_api_session_get(struct req *r)
{
	struct ui_session *s = r->session ? from_cookie(r) : NULL;

	if (s == NULL)
		return uh_api_send_json(r->conn, 200, json_pack("{s:b}", "signed_in", 0));
	return uh_api_send_json(r->conn, 200,
				json_pack("{s:b, s:s, s:s, s:I}", "signed_in", 1, "csrf", s->csrf,
					  "customer", r->who.customer, "expires_at",
					  (json_int_t)s->expires));
}

/* DELETE /ui/session: sign out */
enum MHD_Result uh_api_session_logout(struct req *r)
{
	struct ui_session *s = r->session ? from_cookie(r) : NULL;

	if (s == NULL)
		return uh_api_send_error(r->conn, 404, "not_found", "no session: sign in");
	session_drop(r->api, s);
	return answer(r, 200, json_pack("{s:b}", "signed_out", 1), "", 0);
}

void uh_api_sessions_free(struct api *api)
{
	while (api->sessions)
		session_drop(api, api->sessions);
}
