/* tokens.c: API tokens: made (the secret shown once, its hash kept), listed, revoked, and
 * checked for each HTTPS request. Called by the API; calls the store and auth/. */
#ifndef UH_DAEMON_TOKENS_H
#define UH_DAEMON_TOKENS_H

#include "auth/access.h"
#include "daemon/daemon.h"

/* {"customer", "name", "scopes", "servers"?, "expires"? ("90d" default, or "never"),
 * "from"?}, asked by `who` (auth/access.c's minting rule). *out holds the secret: the only
 * time it exists outside the caller's hands. */
int uh_token_create(struct uh_daemon *d, const struct uh_principal *who, json_t *params,
		    json_t **out, struct uh_error *err);
/* The tokens `who` may manage (the provider: all, or one customer's): never a hash. */
json_t *uh_token_list(struct uh_daemon *d, const struct uh_principal *who, const char *customer,
		      struct uh_error *err);
/* Revoke now: the next request with it is refused. A token `who` may not manage is ENOENT. */
int uh_token_revoke(struct uh_daemon *d, const struct uh_principal *who, const char *id,
		    json_t **out, struct uh_error *err);
/* A presented bearer token from client_ip: its principal, or EACCES with a reason that
 * does not tell a guesser which part was wrong (malformed, unknown id, wrong secret: all
 * "invalid token"); expired and wrong address are named (the secret was right). */
/* Still good: not revoked, not expired (an open stream checks at each piece it sends). */
int uh_token_valid(struct uh_daemon *d, const char *id);
int uh_token_verify(struct uh_daemon *d, const char *bearer, size_t len, const char *client_ip,
		    struct uh_principal *p, struct uh_error *err);

#endif
