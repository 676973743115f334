#include "auth/access.h"
#include "net/addr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void uh_principal_admin(struct uh_principal *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->customer, sizeof(p->customer), UH_ALL_CUSTOMERS);
	p->scopes = UH_SCOPE_ALL;
}

void uh_principal_from_token(struct uh_principal *p, const struct uh_token_rec *t)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->customer, sizeof(p->customer), "%s", t->customer);
	snprintf(p->token_id, sizeof(p->token_id), "%s", t->id);
	/* admin is the provider's alone, whatever a hand-edited row says */
	p->scopes = strcmp(t->customer, UH_ALL_CUSTOMERS) == 0 ? t->scopes
							       : t->scopes & ~UH_SCOPE_ADMIN;
	snprintf(p->servers, sizeof(p->servers), "%s", t->servers);
	snprintf(p->from, sizeof(p->from), "%s", t->from);
	p->expires = t->expires;
}

int uh_name_in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (n == 0)
		return 0;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == n && memcmp(p, name, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int uh_access_visible(const struct uh_principal *p, const char *server, const char *owner)
{
	const char *o = owner && owner[0] ? owner : UH_PROVIDER;

	if (strcmp(p->customer, UH_ALL_CUSTOMERS) != 0 && strcmp(p->customer, o) != 0)
		return 0;
	return p->servers[0] == '\0' || uh_name_in_list(p->servers, server);
}

int uh_access_scope(const struct uh_principal *p, unsigned int scope, const char **missing,
		    struct uh_error *err)
{
	/* admin holds every scope */
	if ((p->scopes & UH_SCOPE_ADMIN) || (p->scopes & scope) == scope)
		return 0;
	for (unsigned int bit = 1; bit <= UH_SCOPE_ADMIN; bit <<= 1)
		if ((scope & bit) && !(p->scopes & bit)) {
			if (missing)
				*missing = uh_scope_name(bit);
			return uh_errc(err, EACCES, "this token lacks the scope %s",
				       uh_scope_name(bit));
		}
	return uh_errc(err, EACCES, "this token lacks a scope");
}

int uh_access_check(const struct uh_principal *p, const char *server, const char *owner,
		    unsigned int scope, const char **missing, struct uh_error *err)
{
	if (missing)
		*missing = NULL;
	if (!uh_access_visible(p, server, owner))
		return uh_errc(err, ENOENT, "no instance named '%s'", server);
	return uh_access_scope(p, scope, missing, err);
}

/* The first name of `list` that is not in `within` ("" within: anything), "" when list is
 * "" (all) and within is not, or NULL when every one is. */
static const char *list_outside(const char *list, const char *within, char name[UH_KEY_MAX])
{
	const char *p = list;

	if (within[0] == '\0')
		return NULL;
	if (list[0] == '\0')
		return ""; /* "all" is wider than a list */
	while (*p) {
		size_t len = strcspn(p, ",");

		snprintf(name, UH_KEY_MAX, "%.*s", (int)(len < UH_KEY_MAX ? len : UH_KEY_MAX - 1),
			 p);
		if (!uh_name_in_list(within, name))
			return name;
		p += len;
		if (*p == ',')
			p++;
	}
	return NULL;
}

static int cidr_within(const struct uh_cidr *c, const char *list)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		struct uh_cidr outer;
		struct uh_error e;

		if (uh_cidr_parse(s, &outer, &e) == 0 && outer.ip.family == c->ip.family &&
		    outer.prefix <= c->prefix && uh_cidr_contains(&outer, &c->ip))
			return 1;
	}
	return 0;
}

int uh_access_may_mint(const struct uh_principal *minter, const struct uh_token_rec *want,
		       struct uh_error *err)
{
	char name[UH_KEY_MAX];
	const char *out;

	if (strcmp(minter->customer, UH_ALL_CUSTOMERS) == 0 &&
	    (minter->scopes & UH_SCOPE_ADMIN))
		return 0; /* the provider's admin mints anything */
	if (!(minter->scopes & UH_SCOPE_TOKEN_MANAGE))
		return uh_errc(err, EACCES, "this token lacks the scope token:manage");
	if (strcmp(want->customer, minter->customer) != 0)
		return uh_errc(err, EACCES, "a token can only be made for its own customer (%s)",
			       minter->customer);
	if (want->scopes & ~minter->scopes) {
		char extra[UH_SCOPES_STR];

		uh_scopes_format(want->scopes & ~minter->scopes, extra);
		return uh_errc(err, EACCES, "a new token cannot have scopes its maker lacks: %s",
			       extra);
	}
	out = list_outside(want->servers, minter->servers, name);
	if (out && out[0] == '\0')
		return uh_errc(err, EACCES, "a new token cannot reach every server: its maker is "
					    "limited to %s (give --servers)",
			       minter->servers);
	if (out)
		return uh_errc(err, EACCES, "a new token cannot reach server %s: its maker is "
					    "limited to %s",
			       out, minter->servers);
	if (minter->expires && (want->expires == 0 || want->expires > minter->expires))
		return uh_errc(err, EACCES, "a new token cannot outlive the token that makes it");
	if (minter->from[0]) {
		char buf[256], *save = NULL;

		if (want->from[0] == '\0')
			return uh_errc(err, EACCES, "a new token must be limited to its maker's "
						    "addresses (%s)",
				       minter->from);
		snprintf(buf, sizeof(buf), "%s", want->from);
		for (char *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
			struct uh_cidr c;

			if (uh_cidr_parse(s, &c, err) < 0)
				return -1;
			if (!cidr_within(&c, minter->from))
				return uh_errc(err, EACCES, "--from %s is outside its maker's "
							    "addresses (%s)",
					       s, minter->from);
		}
	}
	return 0;
}

int uh_access_from_parse(const char *list, struct uh_error *err)
{
	char buf[256], *save = NULL;
	int n = 0;

	if (strlen(list) >= sizeof(buf))
		return uh_errc(err, EINVAL, "--from is too long (at most 8 networks)");
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		struct uh_cidr c;

		if (++n > 8)
			return uh_errc(err, EINVAL, "--from names more than 8 networks");
		if (uh_cidr_parse(s, &c, err) < 0)
			return uh_err_prefix(err, "--from");
	}
	if (n == 0 || list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,"))
		return uh_errc(err, EINVAL, "--from: an empty network in '%s'", list);
	return 0;
}

int uh_access_from_allows(const char *list, const char *client_ip)
{
	char buf[256], *save = NULL;
	struct uh_ip ip;
	struct uh_error e;

	if (list[0] == '\0')
		return 1;
	if (client_ip == NULL || uh_ip_parse(client_ip, &ip, &e) < 0)
		return 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		struct uh_cidr c;

		if (uh_cidr_parse(s, &c, &e) == 0 && c.ip.family == ip.family &&
		    uh_cidr_contains(&c, &ip))
			return 1;
	}
	return 0;
}
