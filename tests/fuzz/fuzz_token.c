/* libFuzzer target: what an HTTPS client controls of authentication: the bearer token
 * (auth/token.c's parser: exact length, prefix, base32 only), and the scope and --from lists
 * (auth/access.c) as a token request carries them. A parsed token's id must be the input's,
 * its hash 64 hex digits; a parsed scope list must format back to a list that parses to the
 * same set. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/access.h"
#include "auth/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[UH_TOKEN_ID_LEN + 1], hash[UH_TOKEN_HASH_HEX], fmt[UH_SCOPES_STR];
	struct uh_error err;
	unsigned int set, again;
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (uh_token_parse((const char *)data, size, id, hash, &err) == 0) {
		if (size != UH_TOKEN_STR - 1 || memcmp(id, data + 3, UH_TOKEN_ID_LEN) != 0 ||
		    strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64)
			abort();
	}
	if (uh_scopes_parse(s, &set, &err) == 0) {
		uh_scopes_format(set, fmt);
		if (set == 0 || uh_scopes_parse(fmt, &again, &err) != 0 || again != set)
			abort();
	}
	/* an accepted --from list: every entry parsed, so the check must not crash on it */
	if (uh_access_from_parse(s, &err) == 0) {
		(void)uh_access_from_allows(s, "203.0.113.1");
		(void)uh_access_from_allows(s, "2001:db8::1");
	}
	(void)uh_access_from_allows(s, "198.51.100.7"); /* and on what a hand edit left */
	free(s);
	return 0;
}
