/* The console over the API: a one-time ticket (POST /v1/servers/{}/console), then a WebSocket
 * (GET /v1/console?ticket=...) relaying the instance's console both ways.
 *
 * Why a ticket: a browser cannot put a bearer token on a WebSocket request, and a token in a
 * URL ends up in logs and histories. The ticket is 32 random bytes, good once, for 30 s,
 * for the token that asked, that server and that client address; at use the token must still
 * be valid and the server still the token's to see. It authenticates exactly one URL.
 *
 * The relay: the daemon attaches to the monitor's console socket (monitor.c replays the last
 * 64 KiB first, then everything) and sends that as binary frames; the client's binary frames
 * are keystrokes; text frames are JSON control messages:
 *   in:  {"type":"ping"} -> {"type":"pong"}; {"type":"resize","cols":N,"rows":M};
 *        {"type":"takeover"} (this viewer types, the one who did is told it reads only)
 *   out: {"type":"hello","server":...,"mode":"write"|"read-only"}, {"type":"mode",...},
 *        {"type":"resize",...,"applied":false} (the console is a serial line: pipes, not a
 *        pty, so there is no window size to set; `stty cols N rows M` in the guest does it),
 *        {"type":"error","error":"..."}
 * One viewer of a server types; a second reads only until it asks to take over (or until no
 * one types: then its first keystroke makes it the one).
 * A viewer that cannot keep up (1 MiB unsent) is dropped; it never slows the console or the
 * loop. Every 5 s each session's token is checked again: revoked, expired or the server no
 * longer its own (chown) ends it with 1008. */
#include "daemon/api.h"
#include "daemon/tokens.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "ws/frame.h"
#include "ws/handshake.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define TICKET_TTL_MS 30000
#define TICKETS_MAX 256
#define SESSIONS_MAX 64
#define SESSIONS_PER_SERVER 8
#define PER_TOKEN 8 /* tickets waiting, and consoles open, of one token: one customer cannot
		     * take the host's share */
#define FRAME_MAX (64 << 10)
#define OUT_MAX (1 << 20)
#define CHECK_MS 5000
#define PING_MS 30000
#define CLOSING_MS 5000 /* a close frame sent: the client has this long to answer */

struct console_ticket {
	char id[UH_CONSOLE_TICKET_LEN + 1];
	char server[UH_KEY_MAX];
	char client[64];
	struct uh_principal who;
	int64_t expires_ms;
	struct console_ticket *next;
};

struct console_session {
	struct api *api;
	struct MHD_UpgradeResponseHandle *urh;
	int sock, con;
	struct uh_watch *wsock, *wcon;
	uint32_t sock_events;
	char server[UH_KEY_MAX];
	char client[64];
	struct uh_principal who;
	struct uh_ws_reader rd;
	uint8_t *out;
	size_t out_len, out_cap;
	int writer, told_read_only;
	int64_t closing_since_ms; /* 0, or when our close frame was queued */
	int64_t last_ping_ms, last_check_ms;
	struct console_session *next;
};

/* ---- tickets */

static void tickets_expire(struct api *api)
{
	struct console_ticket **pp = &api->tickets, *t;
	int64_t now = uh_now_ms();

	while ((t = *pp) != NULL) {
		if (t->expires_ms <= now) {
			*pp = t->next;
			explicit_bzero(t, sizeof(*t));
			free(t);
		} else {
			pp = &t->next;
		}
	}
}

static int ticket_eq(const char *a, const char *b)
{
	unsigned char diff = 0;

	if (strlen(b) != UH_CONSOLE_TICKET_LEN)
		return 0;
	for (size_t i = 0; i < UH_CONSOLE_TICKET_LEN; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

static int server_running(struct uh_instance *inst)
{
	return uh_instance_active(inst) && inst->rec.pid > 0;
}

int uh_api_console_take(struct api *api, const char *ticket, const char *client,
			struct uh_principal *who, char server[UH_KEY_MAX], struct uh_error *err)
{
	struct console_ticket **pp, *t = NULL;
	struct uh_instance *inst;
	int rc = -1;

	tickets_expire(api);
	for (pp = &api->tickets; ticket && *pp; pp = &(*pp)->next)
		if (ticket_eq((*pp)->id, ticket)) {
			t = *pp;
			*pp = t->next; /* good once, whatever follows */
			break;
		}
	if (t == NULL)
		return uh_errc(err, EACCES, "invalid, used or expired console ticket");
	if (strcmp(t->client, client) != 0) {
		uh_errc(err, EACCES, "the console ticket was issued to another address");
		goto out;
	}
	if (t->who.token_id[0] && !uh_token_valid(api->d, t->who.token_id)) {
		uh_errc(err, EACCES, "the token that asked for this console ticket is no longer "
				     "valid");
		goto out;
	}
	inst = uh_instance_find(api->d, t->server);
	if (inst == NULL || !uh_access_visible(&t->who, inst->rec.name, inst->rec.owner)) {
		uh_errc(err, ENOENT, "no instance named '%s'", t->server);
		goto out;
	}
	*who = t->who;
	snprintf(server, UH_KEY_MAX, "%s", t->server);
	rc = 0;
out:
	explicit_bzero(t, sizeof(*t));
	free(t);
	return rc;
}

/* POST /v1/servers/{}/console */
enum MHD_Result uh_api_console_ticket(struct req *r, struct uh_instance *inst)
{
	struct console_ticket *t;
	uint8_t raw[UH_CONSOLE_TICKET_LEN / 2];
	int n = 0, mine = 0;
	json_t *o;

	if (!server_running(inst))
		return uh_api_send_error(r->conn, 409, "conflict", "%s is %s: no console to attach to",
					 inst->rec.name, uh_state_name(inst->state));
	tickets_expire(r->api);
	for (t = r->api->tickets; t; t = t->next) {
		n++;
		mine += strcmp(t->who.token_id, r->who.token_id) == 0;
	}
	if (n >= TICKETS_MAX || mine >= PER_TOKEN)
		return uh_api_send_error(r->conn, 503, "busy",
					 "too many console tickets waiting%s; try again in 30 s",
					 mine >= PER_TOKEN ? " for this token" : "");
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		abort();
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		abort();
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(t->id + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	snprintf(t->server, sizeof(t->server), "%s", inst->rec.name);
	snprintf(t->client, sizeof(t->client), "%s", r->client);
	t->who = r->who;
	t->expires_ms = uh_now_ms() + TICKET_TTL_MS;
	t->next = r->api->tickets;
	r->api->tickets = t;
	o = json_pack("{s:s, s:s, s:i, s:s+}", "ticket", t->id, "server", t->server, "expires_in",
		      TICKET_TTL_MS / 1000, "url", "/v1/console?ticket=", t->id);
	return uh_api_send_json(r->conn, 201, o);
}

/* ---- sessions */

static int session_count(struct api *api, const char *server)
{
	int n = 0;

	for (struct console_session *s = api->consoles; s; s = s->next)
		n += server == NULL || strcmp(s->server, server) == 0;
	return n;
}

static int token_sessions(struct api *api, const char *token_id)
{
	int n = 0;

	for (struct console_session *s = api->consoles; s; s = s->next)
		n += token_id[0] && strcmp(s->who.token_id, token_id) == 0;
	return n;
}

static void session_free(struct console_session *s)
{
	struct console_session **pp;
	struct api *api = s->api;

	for (pp = &api->consoles; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	uh_loop_unwatch(api->d->loop, s->wsock);
	uh_loop_unwatch(api->d->loop, s->wcon);
	if (s->con >= 0)
		close(s->con);
	uh_ws_reader_free(&s->rd);
	free(s->out);
	/* libmicrohttpd closes the socket and forgets the connection at its next round */
	MHD_upgrade_action(s->urh, MHD_UPGRADE_ACTION_CLOSE);
	uh_daemon_event(api->d, s->server, "console-detached", "%s%s from %s",
			s->who.token_id[0] ? "token " : "the unix socket",
			s->who.token_id, s->client[0] ? s->client : "the host");
	free(s);
	uh_api_kick(api);
}

static void flush(struct console_session *s)
{
	size_t off = 0;
	uint32_t want;

	while (off < s->out_len) {
		ssize_t n = send(s->sock, s->out + off, s->out_len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) { /* the client is gone */
			s->out_len = 0;
			s->closing_since_ms = 1;
			return;
		}
		off += (size_t)n;
	}
	memmove(s->out, s->out + off, s->out_len - off);
	s->out_len -= off;
	want = EPOLLIN | (s->out_len ? EPOLLOUT : 0);
	if (want != s->sock_events && uh_loop_modify(s->api->d->loop, s->wsock, want) == 0)
		s->sock_events = want;
}

static void queue(struct console_session *s, enum uh_ws_opcode op, const void *data, size_t len)
{
	uint8_t h[UH_WS_HEADER_MAX];
	size_t hl = uh_ws_header(h, op, len);

	if (s->closing_since_ms && op != UH_WS_CLOSE)
		return;
	if (s->out_len + hl + len > OUT_MAX) {
		/* it does not read what it asked for: it goes, the console does not wait */
		uh_warnx("console %s: the viewer at %s does not keep up; dropped", s->server,
			 s->client[0] ? s->client : "the host");
		s->out_len = 0;
		s->closing_since_ms = 1; /* finished at the end of this round */
		return;
	}
	if (s->out_len + hl + len > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 16384;

		while (cap < s->out_len + hl + len)
			cap *= 2;
		s->out = realloc(s->out, cap);
		if (s->out == NULL)
			abort();
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, h, hl);
	memcpy(s->out + s->out_len + hl, data, len);
	s->out_len += hl + len;
	flush(s);
}

static void queue_json(struct console_session *s, json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (text == NULL)
		abort();
	queue(s, UH_WS_TEXT, text, strlen(text));
	free(text);
}

static void close_with(struct console_session *s, int code, const char *why)
{
	uint8_t p[125];
	size_t n = strlen(why) > sizeof(p) - 2 ? sizeof(p) - 2 : strlen(why);

	if (s->closing_since_ms)
		return;
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	memcpy(p + 2, why, n);
	queue(s, UH_WS_CLOSE, p, n + 2);
	if (!s->closing_since_ms)
		s->closing_since_ms = uh_now_ms();
}

/* A session done with: freed now if nothing is left to send, or once it is sent. */
static int finished(struct console_session *s)
{
	if (s->closing_since_ms && (s->out_len == 0 || s->closing_since_ms == 1 ||
				    uh_now_ms() - s->closing_since_ms > CLOSING_MS)) {
		session_free(s);
		return 1;
	}
	return 0;
}

static void set_mode(struct console_session *s, int writer, const char *why)
{
	s->writer = writer;
	s->told_read_only = 0;
	queue_json(s, json_pack("{s:s, s:s, s:s}", "type", "mode", "mode",
				writer ? "write" : "read-only", "why", why));
}

static struct console_session *writer_of(struct api *api, const char *server)
{
	for (struct console_session *s = api->consoles; s; s = s->next)
		if (s->writer && strcmp(s->server, server) == 0)
			return s;
	return NULL;
}

static void keystrokes(struct console_session *s, const uint8_t *data, size_t len)
{
	if (!s->writer) {
		if (writer_of(s->api, s->server) != NULL) {
			if (!s->told_read_only)
				queue_json(s, json_pack("{s:s, s:s}", "type", "error", "error",
							"read-only: another viewer types; send "
							"{\"type\":\"takeover\"} to take over"));
			s->told_read_only = 1;
			return;
		}
		set_mode(s, 1, "no one else types");
	}
	/* the monitor reads its viewers at once; a full socket means a guest that does not
	 * read its console: what does not fit is lost, as on a serial line */
	if (len && send(s->con, data, len, MSG_DONTWAIT | MSG_NOSIGNAL) < (ssize_t)len)
		queue_json(s, json_pack("{s:s, s:s}", "type", "error", "error",
					"the console did not take all input (the guest does not "
					"read it)"));
}

static void control(struct console_session *s, const uint8_t *data, size_t len)
{
	json_error_t je;
	uh_autojson json_t *m = json_loadb((const char *)data, len, 0, &je);
	const char *type = json_string_value(json_object_get(m, "type"));
	struct console_session *w;

	if (type == NULL) {
		queue_json(s, json_pack("{s:s, s:s}", "type", "error", "error",
					"a control message is a JSON object with a \"type\" (ping, "
					"resize, takeover)"));
	} else if (strcmp(type, "ping") == 0) {
		queue_json(s, json_pack("{s:s, s:O?}", "type", "pong", "id", json_object_get(m, "id")));
	} else if (strcmp(type, "resize") == 0) {
		json_int_t cols = json_integer_value(json_object_get(m, "cols"));
		json_int_t rows = json_integer_value(json_object_get(m, "rows"));

		if (cols < 1 || cols > 10000 || rows < 1 || rows > 10000)
			queue_json(s, json_pack("{s:s, s:s}", "type", "error", "error",
						"resize needs cols and rows, each 1 to 10000"));
		else
			queue_json(s, json_pack("{s:s, s:I, s:I, s:b, s:s}", "type", "resize",
						"cols", cols, "rows", rows, "applied", 0, "why",
						"the console is a serial line with no window size; "
						"stty cols N rows M in the guest sets it"));
	} else if (strcmp(type, "takeover") == 0) {
		if ((w = writer_of(s->api, s->server)) != NULL && w != s)
			set_mode(w, 0, "another viewer took over");
		if (!s->writer)
			set_mode(s, 1, "taken over");
	} else {
		queue_json(s, json_pack("{s:s, s:s}", "type", "error", "error",
					"unknown control message type (ping, resize, takeover)"));
	}
}

/* Closing: what the client still sends is read and dropped (a level-triggered socket left
 * unread would wake the loop at every turn until the close is done). */
static void drain(struct console_session *s)
{
	uint8_t buf[16384];
	ssize_t n;

	while ((n = recv(s->sock, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		s->out_len = 0;
		s->closing_since_ms = 1;
	}
}

static void client_readable(struct console_session *s)
{
	uint8_t buf[16384];
	struct uh_ws_msg m;

	if (s->closing_since_ms) {
		drain(s);
		return;
	}
	for (;;) {
		size_t room = uh_ws_room(&s->rd);
		ssize_t n;
		int k;

		while ((k = uh_ws_read(&s->rd, &m)) == 1 && !s->closing_since_ms) {
			switch (m.opcode) {
			case UH_WS_BINARY:
				keystrokes(s, m.data, m.len);
				break;
			case UH_WS_TEXT:
				control(s, m.data, m.len);
				break;
			case UH_WS_PING:
				queue(s, UH_WS_PONG, m.data, m.len);
				break;
			case UH_WS_CLOSE:
				close_with(s, m.close_code == 1005 ? UH_WS_CLOSE_NORMAL : m.close_code,
					   "");
				break;
			default:
				break;
			}
		}
		if (k < 0) {
			close_with(s, s->rd.close_code, s->rd.error);
			drain(s);
			return;
		}
		if (s->closing_since_ms) {
			drain(s);
			return;
		}
		room = uh_ws_room(&s->rd);
		n = recv(s->sock, buf, room < sizeof(buf) ? room : sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) { /* gone without a close frame */
			s->out_len = 0;
			s->closing_since_ms = 1;
			return;
		}
		if (uh_ws_feed(&s->rd, buf, (size_t)n) < 0) {
			close_with(s, s->rd.close_code, s->rd.error);
			drain(s);
			return;
		}
	}
}

static void on_client(void *arg, uint32_t events)
{
	struct console_session *s = arg;

	if (events & EPOLLOUT)
		flush(s);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_readable(s);
	finished(s);
}

static void on_console(void *arg, uint32_t events)
{
	struct console_session *s = arg;
	char buf[16384];
	ssize_t n = recv(s->con, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		queue(s, UH_WS_BINARY, buf, (size_t)n);
	} else {
		uh_loop_unwatch(s->api->d->loop, s->wcon);
		s->wcon = NULL;
		close_with(s, UH_WS_CLOSE_GOING_AWAY, "the server's console closed (it stopped)");
	}
	finished(s);
}

static int attach(struct api *api, const char *server, struct uh_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct uh_instance *inst = uh_instance_find(api->d, server);
	uh_autoclose int fd = -1;

	if (inst == NULL || !server_running(inst))
		return uh_errc(err, EBUSY, "%s is not running: no console to attach to", server);
	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/console.sock",
			     inst->run_dir) >= sizeof(addr.sun_path))
		return uh_errx(err, "%s: console socket path too long", server);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return uh_err(err, errno, "%s: attach to its console", server);
	return uh_steal_fd(&fd);
}

static void upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
		     size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct api *api = cls;
	struct req *r = con_cls;
	struct console_session *s = calloc(1, sizeof(*s));
	struct uh_error err;

	if (s == NULL)
		abort();
	s->api = api;
	s->urh = urh;
	s->sock = sock;
	s->con = -1;
	snprintf(s->server, sizeof(s->server), "%s", r->console);
	snprintf(s->client, sizeof(s->client), "%s", r->client);
	s->who = r->who;
	s->last_ping_ms = s->last_check_ms = uh_now_ms();
	if (uh_ws_reader_init(&s->rd, FRAME_MAX) < 0)
		abort();
	s->next = api->consoles;
	api->consoles = s;
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	s->sock_events = EPOLLIN;
	s->wsock = uh_loop_watch(api->d->loop, sock, EPOLLIN, on_client, s);
	if (s->wsock == NULL) {
		/* nothing can be sent without a watch: just go (the next tick frees it) */
		s->closing_since_ms = 1;
		return;
	}
	s->con = attach(api, s->server, &err);
	if (s->con < 0) {
		close_with(s, UH_WS_CLOSE_ERROR, err.msg);
		return; /* freed by the next tick: not inside libmicrohttpd's call */
	}
	s->wcon = uh_loop_watch(api->d->loop, s->con, EPOLLIN, on_console, s);
	s->writer = writer_of(api, s->server) == NULL;
	uh_daemon_event(api->d, s->server, "console-attached", "%s%s from %s, %s",
			s->who.token_id[0] ? "token " : "the unix socket", s->who.token_id,
			s->client[0] ? s->client : "the host", s->writer ? "typing" : "read-only");
	queue_json(s, json_pack("{s:s, s:s, s:s}", "type", "hello", "server", s->server, "mode",
				s->writer ? "write" : "read-only"));
	if (extra_len && uh_ws_feed(&s->rd, (const uint8_t *)extra, extra_len) < 0)
		close_with(s, s->rd.close_code, s->rd.error);
	else
		client_readable(s);
}

/* GET /v1/console?ticket=: the ticket was taken by the HTTPS listener's authentication
 * (r->console names the server); the socket's callers present theirs here. */
enum MHD_Result uh_api_console_open(struct req *r)
{
	const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						      "Sec-WebSocket-Key");
	const char *ver = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						      "Sec-WebSocket-Version");
	char accept[UH_WS_ACCEPT_LEN];
	struct MHD_Response *resp;
	struct uh_error err;
	enum MHD_Result ret;

	if (!r->remote && !r->console[0] &&
	    uh_api_console_take(r->api,
				MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "ticket"),
				r->client, &r->who, r->console, &err) < 0)
		return uh_api_send_err(r, &err);
	if (!uh_ws_header_has(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Upgrade"),
			      "websocket") ||
	    !uh_ws_header_has(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Connection"),
			      "upgrade"))
		return uh_api_send_error(r->conn, 400, "invalid",
					 "this is a WebSocket: Upgrade: websocket expected");
	if (ver == NULL || strcmp(ver, "13") != 0) {
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Sec-WebSocket-Version", "13");
		ret = MHD_queue_response(r->conn, 426, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (uh_ws_accept(key, accept) < 0)
		return uh_api_send_error(r->conn, 400, "invalid",
					 "Sec-WebSocket-Key is not the base64 of 16 bytes");
	if (session_count(r->api, NULL) >= SESSIONS_MAX ||
	    session_count(r->api, r->console) >= SESSIONS_PER_SERVER ||
	    token_sessions(r->api, r->who.token_id) >= PER_TOKEN)
		return uh_api_send_error(r->conn, 503, "busy", "too many consoles open%s",
					 session_count(r->api, NULL) >= SESSIONS_MAX ? " on this host"
					 : token_sessions(r->api, r->who.token_id) >= PER_TOKEN
						 ? " for this token"
						 : " on this server");
	resp = MHD_create_response_for_upgrade(upgraded, r->api);
	if (resp == NULL)
		abort();
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	uh_api_last_status = 101;
	ret = MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* every few seconds: tokens still good, servers still theirs; pings; stuck closes */
void uh_api_console_tick(struct api *api)
{
	struct console_session *s, *next;
	int64_t now = uh_now_ms();

	tickets_expire(api);
	for (s = api->consoles; s; s = next) {
		struct uh_instance *inst = uh_instance_find(api->d, s->server);

		next = s->next;
		if (!s->closing_since_ms && now - s->last_check_ms >= CHECK_MS) {
			s->last_check_ms = now;
			if (s->who.token_id[0] && !uh_token_valid(api->d, s->who.token_id))
				close_with(s, UH_WS_CLOSE_POLICY, "the token was revoked or expired");
			else if (inst == NULL ||
				 !uh_access_visible(&s->who, inst->rec.name, inst->rec.owner))
				close_with(s, UH_WS_CLOSE_POLICY, "the server is no longer yours");
		}
		if (!s->closing_since_ms && now - s->last_ping_ms >= PING_MS) {
			/* keeps the gate's idle timer from closing an idle console */
			queue(s, UH_WS_PING, "", 0);
			s->last_ping_ms = now;
		}
		finished(s);
	}
}

void uh_api_console_stop(struct api *api)
{
	struct console_ticket *t;

	while (api->consoles) {
		close_with(api->consoles, UH_WS_CLOSE_GOING_AWAY, "umlhostd is shutting down");
		session_free(api->consoles);
	}
	while ((t = api->tickets) != NULL) {
		api->tickets = t->next;
		explicit_bzero(t, sizeof(*t));
		free(t);
	}
}
