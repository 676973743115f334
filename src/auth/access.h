/* Who is asking and what they may see and do: the one rule every answer goes through. Pure:
 * a principal (from the unix socket's peer, or from a verified token) against a server's
 * name and owner. Unit-tested.
 *
 * The rule: a server is visible when the principal's customer owns it (the provider, "*",
 * owns every one) and, when the token names servers, it is one of them. Not visible means
 * not there: the API answers 404, as for a name that does not exist, so one customer cannot
 * learn another's server names. Visible but without the scope the action needs: 403 naming
 * the missing scope (never an empty 200). */
#ifndef UH_AUTH_ACCESS_H
#define UH_AUTH_ACCESS_H

#include <stdint.h>

#include "auth/token.h"
#include "store/store.h"
#include "util/error.h"

#define UH_PROVIDER "provider" /* the customer of the host's own servers */
#define UH_ALL_CUSTOMERS "*"   /* a provider token's customer */

struct uh_principal {
	char customer[UH_KEY_MAX];     /* "*" for the provider */
	char token_id[16];	       /* "" for the unix socket */
	unsigned int scopes;	       /* enum uh_scope */
	char servers[UH_TOKEN_SERVERS_MAX]; /* "": every server of the customer */
	char from[256];		       /* CIDRs the token may come from ("": anywhere) */
	int64_t expires;	       /* unix seconds, 0: never */
};

/* The unix socket's caller (root or the group): the provider with every scope. */
void uh_principal_admin(struct uh_principal *p);
/* A token's principal (its record, already verified). */
void uh_principal_from_token(struct uh_principal *p, const struct uh_token_rec *t);

/* Whether `name` is one of a comma-separated list. */
int uh_name_in_list(const char *list, const char *name);

/* The visibility rule above. */
int uh_access_visible(const struct uh_principal *p, const char *server, const char *owner);
/* May p do what `scope` allows on this server? 0, or -1 with ENOENT ("no instance named X",
 * the same words as a missing one) or EACCES naming the scope; *missing (may be NULL) is then
 * the scope's name. */
int uh_access_check(const struct uh_principal *p, const char *server, const char *owner,
		    unsigned int scope, const char **missing, struct uh_error *err);
/* A host-wide action (no server): the scope alone. */
int uh_access_scope(const struct uh_principal *p, unsigned int scope, const char **missing,
		    struct uh_error *err);

/* What a token create asks for, checked against the principal that asks: a customer's
 * token:manage mints only for its own customer, scopes within its own (never admin), servers
 * within its own list, an expiry no later than its own, and from-addresses within its own. */
int uh_access_may_mint(const struct uh_principal *minter, const struct uh_token_rec *want,
		       struct uh_error *err);

/* "203.0.113.0/24,2001:db8::/32": each must parse, host bits clear; at most 8. */
int uh_access_from_parse(const char *list, struct uh_error *err);
/* Whether the client address (text) is within one of the list's CIDRs ("" allows all). */
int uh_access_from_allows(const char *list, const char *client_ip);

#endif
