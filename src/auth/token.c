#include "auth/token.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <nettle/sha2.h>

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

static const char *const scope_names[] = {
	"server:read",	  "server:power",  "server:console", "backup:read", "backup:create",
	"backup:restore", "metrics:read", "token:manage",   "admin",
};
#define N_SCOPES (sizeof(scope_names) / sizeof(scope_names[0]))

const char *uh_scope_name(unsigned int scope)
{
	for (size_t i = 0; i < N_SCOPES; i++)
		if (scope == 1u << i)
			return scope_names[i];
	return NULL;
}

void uh_scopes_format(unsigned int scopes, char out[UH_SCOPES_STR])
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < N_SCOPES; i++)
		if (scopes & (1u << i))
			n += (size_t)snprintf(out + n, UH_SCOPES_STR - n, "%s%s", n ? "," : "",
					      scope_names[i]);
}

int uh_scopes_parse(const char *s, unsigned int *out, struct uh_error *err)
{
	char known[UH_SCOPES_STR];
	unsigned int set = 0;
	const char *p = s;

	uh_scopes_format(UH_SCOPE_ALL, known);
	if (s == NULL || *s == '\0')
		return uh_errc(err, EINVAL, "no scopes given (known: %s)", known);
	while (*p) {
		size_t len = strcspn(p, ",");
		size_t i;

		for (i = 0; i < N_SCOPES; i++)
			if (strlen(scope_names[i]) == len && memcmp(p, scope_names[i], len) == 0)
				break;
		if (len == 0)
			return uh_errc(err, EINVAL, "an empty scope in '%.200s'", s);
		if (i == N_SCOPES)
			return uh_errc(err, EINVAL, "unknown scope '%.*s' (known: %s)",
				       (int)(len > 40 ? 40 : len), p, known);
		if (set & (1u << i))
			return uh_errc(err, EINVAL, "scope '%s' is given twice", scope_names[i]);
		set |= 1u << i;
		p += len;
		if (*p == ',' && *++p == '\0')
			return uh_errc(err, EINVAL, "an empty scope in '%.200s'", s);
	}
	*out = set;
	return 0;
}

void uh_base32(const uint8_t *in, size_t len, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

static void hash_hex(const char *secret, size_t len, char hash[UH_TOKEN_HASH_HEX])
{
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, len, (const uint8_t *)secret);
	sha256_digest(&ctx, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(hash + 2 * i, 3, "%02x", digest[i]);
}

static int random_bytes(uint8_t *buf, size_t len, struct uh_error *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return uh_err(err, errno, "getrandom");
		done += (size_t)n;
	}
	return 0;
}

int uh_token_new(char id[UH_TOKEN_ID_LEN + 1], char text[UH_TOKEN_STR],
		 char hash[UH_TOKEN_HASH_HEX], struct uh_error *err)
{
	uint8_t idb[7], sec[UH_TOKEN_SECRET_BYTES];
	char ids[16], secs[UH_TOKEN_SECRET_LEN + 1];

	if (random_bytes(idb, sizeof(idb), err) < 0 || random_bytes(sec, sizeof(sec), err) < 0)
		return -1;
	uh_base32(idb, sizeof(idb), ids); /* 12 characters; the first 10 are the id */
	uh_base32(sec, sizeof(sec), secs);
	memcpy(id, ids, UH_TOKEN_ID_LEN);
	id[UH_TOKEN_ID_LEN] = '\0';
	snprintf(text, UH_TOKEN_STR, "uh_%s_%s", id, secs);
	hash_hex(secs, UH_TOKEN_SECRET_LEN, hash);
	explicit_bzero(sec, sizeof(sec));
	explicit_bzero(secs, sizeof(secs));
	return 0;
}

static int all_base32(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '2' && s[i] <= '7')))
			return 0;
	return 1;
}

int uh_token_parse(const char *text, size_t len, char id[UH_TOKEN_ID_LEN + 1],
		   char hash[UH_TOKEN_HASH_HEX], struct uh_error *err)
{
	const char *sec = text + 3 + UH_TOKEN_ID_LEN + 1;

	if (len != UH_TOKEN_STR - 1 || memcmp(text, "uh_", 3) != 0 ||
	    text[3 + UH_TOKEN_ID_LEN] != '_')
		return uh_errc(err, EACCES, "not an umlhost token (uh_<id>_<secret>, %d characters)",
			       UH_TOKEN_STR - 1);
	if (!all_base32(text + 3, UH_TOKEN_ID_LEN) || !all_base32(sec, UH_TOKEN_SECRET_LEN))
		return uh_errc(err, EACCES, "a malformed token (letters a-z and digits 2-7 only)");
	memcpy(id, text + 3, UH_TOKEN_ID_LEN);
	id[UH_TOKEN_ID_LEN] = '\0';
	hash_hex(sec, UH_TOKEN_SECRET_LEN, hash);
	return 0;
}

int uh_token_hash_equal(const char *a, const char *b)
{
	unsigned char diff = 0;

	for (size_t i = 0; i < UH_TOKEN_HASH_HEX - 1; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}
