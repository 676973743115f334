/* API tokens. The secret exists once, in the answer to create; the store keeps its SHA-256
 * (auth/token.h says why that is enough). A token's rights are checked on every request
 * against its row, so a revoke or an expiry takes effect at the next request. */
#include "daemon/tokens.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/validate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEFAULT_EXPIRY_S (90 * 86400)
#define LAST_USED_STEP_S 60 /* last_used is written at most once a minute per token */

static json_t *list_json(const char *list)
{
	json_t *a = json_array();
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");

		json_array_append_new(a, json_stringn(p, len));
		p += len;
		if (*p == ',')
			p++;
	}
	return a;
}

static json_t *token_json(const struct uh_token_rec *t, time_t now)
{
	char scopes[UH_SCOPES_STR];

	uh_scopes_format(t->scopes, scopes);
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:o, s:o, s:b}", "id", t->id,
			 "customer", t->customer, "name", t->name, "scopes", list_json(scopes),
			 "servers", t->servers[0] ? list_json(t->servers) : json_null(), "from",
			 t->from[0] ? list_json(t->from) : json_null(), "created_at",
			 (json_int_t)t->created, "expires_at",
			 t->expires ? json_integer(t->expires) : json_null(), "last_used_at",
			 t->last_used ? json_integer(t->last_used) : json_null(), "expired",
			 t->expires && t->expires <= now);
}

/* --servers: names of the customer's instances (the provider's token: any instance). */
static int check_servers(struct uh_daemon *d, const char *customer, const char *list,
			 struct uh_error *err)
{
	const char *p = list;

	if (strlen(list) >= UH_TOKEN_SERVERS_MAX)
		return uh_errc(err, EINVAL, "--servers is too long");
	while (*p) {
		size_t len = strcspn(p, ",");
		char name[UH_KEY_MAX + 8];
		struct uh_instance *inst;

		snprintf(name, sizeof(name), "%.*s", (int)(len < sizeof(name) - 1 ? len : sizeof(name) - 1),
			 p);
		if (len == 0 || uh_validate_name("instance", name, err) < 0)
			return len == 0 ? uh_errc(err, EINVAL, "--servers: an empty name in '%s'", list)
					: uh_err_prefix(err, "--servers");
		inst = uh_instance_find(d, name);
		if (inst == NULL || (strcmp(customer, UH_ALL_CUSTOMERS) != 0 &&
				     strcmp(inst->rec.owner[0] ? inst->rec.owner : UH_PROVIDER,
					    customer) != 0))
			return uh_errc(err, ENOENT, "--servers: customer '%s' has no instance named "
						    "'%s'",
				       customer, name);
		p += len;
		if (*p == ',' && *++p == '\0')
			return uh_errc(err, EINVAL, "--servers: an empty name in '%s'", list);
	}
	return 0;
}

static int parse_expiry(const char *s, time_t now, int64_t *out, struct uh_error *err)
{
	int64_t secs;

	if (s == NULL) {
		*out = (int64_t)now + DEFAULT_EXPIRY_S;
		return 0;
	}
	if (strcmp(s, "never") == 0) {
		*out = 0;
		return 0;
	}
	if (uh_parse_duration(s, &secs) < 0)
		return uh_errc(err, EINVAL, "--expires '%.40s' is not a duration like 90d, 12h or 30m "
					    "(at most ten years), or never",
			       s);
	*out = (int64_t)now + secs;
	return 0;
}

static int customer_known(struct uh_daemon *d, const char *c, struct uh_error *err)
{
	struct uh_customer_rec rec;
	int r;

	if (strcmp(c, UH_ALL_CUSTOMERS) == 0 || strcmp(c, UH_PROVIDER) == 0)
		return 0;
	if (uh_validate_name("customer", c, err) < 0)
		return -1;
	r = uh_store_customer_get(d->store, c, &rec, err);
	if (r == 1)
		return uh_errc(err, ENOENT, "no customer named '%s'", c);
	return r;
}

int uh_token_create(struct uh_daemon *d, const struct uh_principal *who, json_t *params,
		    json_t **out, struct uh_error *err)
{
	const char *customer = json_string_value(json_object_get(params, "customer"));
	const char *name = json_string_value(json_object_get(params, "name"));
	const char *scopes = json_string_value(json_object_get(params, "scopes"));
	const char *servers = json_string_value(json_object_get(params, "servers"));
	const char *expires = json_string_value(json_object_get(params, "expires"));
	const char *from = json_string_value(json_object_get(params, "from"));
	char text[UH_TOKEN_STR];
	struct uh_token_rec t = {0};
	time_t now = time(NULL);
	int tries;

	if (customer == NULL)
		return uh_errx(err, "token create: --customer is required (a customer, or * for the "
				    "provider)");
	if (name == NULL)
		return uh_errx(err, "token create: --name is required");
	/* what needs no look at the host first, then whether the asker may mint this at all,
	 * and only then what exists: a customer's token learns nothing of other customers'
	 * names or servers from the errors */
	if (uh_validate_name("token", name, err) < 0)
		return uh_err_prefix(err, "token create");
	if (uh_scopes_parse(scopes, &t.scopes, err) < 0)
		return uh_err_prefix(err, "token create: --scopes");
	if ((t.scopes & UH_SCOPE_ADMIN) && strcmp(customer, UH_ALL_CUSTOMERS) != 0)
		return uh_errc(err, EINVAL, "token create: only the provider's tokens (--customer '*') "
					    "may have the scope admin");
	if (parse_expiry(expires, now, &t.expires, err) < 0 ||
	    (from && uh_access_from_parse(from, err) < 0))
		return uh_err_prefix(err, "token create");
	if (strlen(customer) >= sizeof(t.customer) ||
	    (servers && strlen(servers) >= sizeof(t.servers)))
		return uh_errc(err, EINVAL, "token create: --customer or --servers is too long");
	snprintf(t.customer, sizeof(t.customer), "%s", customer);
	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.servers, sizeof(t.servers), "%s", servers ? servers : "");
	snprintf(t.from, sizeof(t.from), "%s", from ? from : "");
	t.created = now;
	if (uh_access_may_mint(who, &t, err) < 0)
		return uh_err_prefix(err, "token create");
	if (customer_known(d, customer, err) < 0 ||
	    (servers && check_servers(d, customer, servers, err) < 0))
		return uh_err_prefix(err, "token create");
	/* 50 random bits of id: a clash is a once-in-a-lifetime event, but not an error */
	for (tries = 0;; tries++) {
		if (uh_token_new(t.id, text, t.hash, err) < 0)
			return uh_err_prefix(err, "token create");
		if (uh_store_token_put(d->store, &t, 0, err) == 0)
			break;
		if (err->errnum != EEXIST || tries == 3)
			return uh_err_prefix(err, "token create");
	}
	uh_daemon_event(d, "-", "token-created", "%s for customer %s (%s), scopes %s%s%s by %s",
			t.id, t.customer, t.name, scopes, servers ? ", servers " : "",
			servers ? servers : "", who->token_id[0] ? who->token_id : "the unix socket");
	*out = token_json(&t, now);
	json_object_set_new(*out, "token", json_string(text));
	explicit_bzero(text, sizeof(text));
	return 0;
}

/* A token `who` may see and revoke: the provider's admin, all; a customer's token:manage,
 * those it could have made itself (its customer's, no wider than itself: a token narrowed
 * to one server cannot list or revoke the customer's main token). */
static int may_manage(const struct uh_principal *who, const struct uh_token_rec *t)
{
	struct uh_error e;

	if (who->scopes & UH_SCOPE_ADMIN)
		return 1;
	return uh_access_may_mint(who, t, &e) == 0;
}

struct list_ctx {
	const struct uh_principal *who;
	json_t *arr;
	time_t now;
};

static int add_token(const struct uh_token_rec *t, void *arg)
{
	struct list_ctx *l = arg;

	if (may_manage(l->who, t))
		json_array_append_new(l->arr, token_json(t, l->now));
	return 0;
}

json_t *uh_token_list(struct uh_daemon *d, const struct uh_principal *who, const char *customer,
		      struct uh_error *err)
{
	struct list_ctx l = {who, json_array(), time(NULL)};

	if (!(who->scopes & (UH_SCOPE_ADMIN | UH_SCOPE_TOKEN_MANAGE))) {
		json_decref(l.arr);
		uh_errc(err, EACCES, "this token lacks the scope token:manage");
		return NULL;
	}
	if (uh_store_token_list(d->store, customer, add_token, &l, err) < 0) {
		json_decref(l.arr);
		return NULL;
	}
	return l.arr;
}

int uh_token_revoke(struct uh_daemon *d, const struct uh_principal *who, const char *id,
		    json_t **out, struct uh_error *err)
{
	struct uh_token_rec t;
	int r;

	if (id == NULL || strlen(id) != UH_TOKEN_ID_LEN)
		return uh_errc(err, ENOENT, "no token with id '%.20s'", id ? id : "");
	r = uh_store_token_get(d->store, id, &t, err);
	if (r < 0)
		return -1;
	if (r == 1 || !may_manage(who, &t))
		return uh_errc(err, ENOENT, "no token with id '%s'", id);
	if (uh_store_token_del(d->store, id, err) < 0)
		return -1;
	uh_daemon_event(d, "-", "token-revoked", "%s (customer %s, %s) by %s", t.id, t.customer,
			t.name, who->token_id[0] ? who->token_id : "the unix socket");
	*out = json_pack("{s:s}", "revoked", t.id);
	return 0;
}

int uh_token_valid(struct uh_daemon *d, const char *id)
{
	struct uh_token_rec t;
	struct uh_error err;

	return uh_store_token_get(d->store, id, &t, &err) == 0 &&
	       (t.expires == 0 || t.expires > time(NULL));
}

int uh_token_verify(struct uh_daemon *d, const char *bearer, size_t len, const char *client_ip,
		    struct uh_principal *p, struct uh_error *err)
{
	char id[UH_TOKEN_ID_LEN + 1], hash[UH_TOKEN_HASH_HEX];
	struct uh_token_rec t;
	time_t now = time(NULL);
	int r;

	if (uh_token_parse(bearer, len, id, hash, err) < 0)
		return uh_errc(err, EACCES, "invalid token");
	r = uh_store_token_get(d->store, id, &t, err);
	if (r < 0)
		return -1;
	if (r == 1 || !uh_token_hash_equal(hash, t.hash))
		return uh_errc(err, EACCES, "invalid token");
	if (t.expires && t.expires <= now)
		return uh_errc(err, EACCES, "token %s expired", t.id);
	if (!uh_access_from_allows(t.from, client_ip))
		return uh_errc(err, EACCES, "token %s may not be used from %s", t.id,
			       client_ip ? client_ip : "this address");
	if (now - t.last_used >= LAST_USED_STEP_S) {
		struct uh_error e;

		t.last_used = now;
		if (uh_store_token_put(d->store, &t, 1, &e) < 0)
			uh_warnx("token %s: record its use: %s", t.id, e.msg);
	}
	uh_principal_from_token(p, &t);
	return 0;
}
