/* API tokens as text: what a customer holds (`uh_<id>_<secret>`), what the store keeps (the id and
 * a SHA-256 of the secret, never the secret), and scopes as a bit set. Pure apart from the
 * random bytes of a new token: no daemon, no store, no files; unit-tested and fuzzed.
 *
 * Why a plain SHA-256 and not a slow password hash: the secret is 32 random bytes (256 bits),
 * not something a person chose, so there is nothing to guess offline; a slow hash would only
 * make every API request slower. (GitHub and the Kubernetes bootstrap tokens do the same.) */
#ifndef UH_AUTH_TOKEN_H
#define UH_AUTH_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define UH_TOKEN_ID_LEN 10     /* base32 characters: 50 random bits, unique, not secret */
#define UH_TOKEN_SECRET_BYTES 32
#define UH_TOKEN_SECRET_LEN 52 /* base32 of 32 bytes, no padding */
/* "uh_" id "_" secret, and the terminating NUL */
#define UH_TOKEN_STR (3 + UH_TOKEN_ID_LEN + 1 + UH_TOKEN_SECRET_LEN + 1)
#define UH_TOKEN_HASH_HEX 65   /* SHA-256 as lowercase hex, NUL */

/* The scopes. A token's rights are the customer's servers, narrowed by the token's servers,
 * and these. */
enum uh_scope {
	UH_SCOPE_SERVER_READ = 1u << 0,
	UH_SCOPE_SERVER_POWER = 1u << 1,
	UH_SCOPE_SERVER_CONSOLE = 1u << 2,
	UH_SCOPE_BACKUP_READ = 1u << 3,
	UH_SCOPE_BACKUP_CREATE = 1u << 4,
	UH_SCOPE_BACKUP_RESTORE = 1u << 5,
	UH_SCOPE_METRICS_READ = 1u << 6,
	UH_SCOPE_TOKEN_MANAGE = 1u << 7,
	UH_SCOPE_ADMIN = 1u << 8, /* the provider's only: everything the unix socket can do */
};
#define UH_SCOPE_ALL 0x1ffu
#define UH_SCOPES_STR 160 /* every scope's name, comma-separated */

/* One scope's name ("server:power"), or NULL for a value that is not exactly one scope. */
const char *uh_scope_name(unsigned int scope);
/* "server:read,server:power" -> the bit set. Unknown, empty or repeated names are refused,
 * naming the one at fault and the known ones. */
int uh_scopes_parse(const char *s, unsigned int *out, struct uh_error *err);
void uh_scopes_format(unsigned int scopes, char out[UH_SCOPES_STR]);

/* A new token: random id and secret (getrandom), the text to hand out once, and the hash to
 * keep. */
int uh_token_new(char id[UH_TOKEN_ID_LEN + 1], char text[UH_TOKEN_STR],
		 char hash[UH_TOKEN_HASH_HEX], struct uh_error *err);
/* A presented token ("uh_<id>_<secret>", exactly): its id and the hash of its secret. Anything
 * else is refused with a one-line reason that never repeats the input. */
int uh_token_parse(const char *text, size_t len, char id[UH_TOKEN_ID_LEN + 1],
		   char hash[UH_TOKEN_HASH_HEX], struct uh_error *err);
/* Equal hashes, in time that does not depend on where they differ. */
int uh_token_hash_equal(const char *a, const char *b);

/* RFC 4648 base32, lowercase, no padding: out must hold (len * 8 + 4) / 5 + 1 bytes. */
void uh_base32(const uint8_t *in, size_t len, char *out);

#endif
