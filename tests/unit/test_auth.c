/* Unit tests of auth/: the token format (made, parsed, hashed; every refusal), scopes, the
 * visibility rule, the minting rule and --from. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/access.h"
#include "auth/token.h"

static void test_base32(void **state)
{
	char out[16];

	(void)state;
	/* RFC 4648 test vectors, lowercase, no padding */
	uh_base32((const uint8_t *)"", 0, out);
	assert_string_equal(out, "");
	uh_base32((const uint8_t *)"f", 1, out);
	assert_string_equal(out, "my");
	uh_base32((const uint8_t *)"foob", 4, out);
	assert_string_equal(out, "mzxw6yq");
	uh_base32((const uint8_t *)"foobar", 6, out);
	assert_string_equal(out, "mzxw6ytboi");
}

static void test_token_roundtrip(void **state)
{
	char id[UH_TOKEN_ID_LEN + 1], text[UH_TOKEN_STR], hash[UH_TOKEN_HASH_HEX];
	char id2[UH_TOKEN_ID_LEN + 1], hash2[UH_TOKEN_HASH_HEX];
	char other[UH_TOKEN_STR], oid[UH_TOKEN_ID_LEN + 1], ohash[UH_TOKEN_HASH_HEX];
	struct uh_error err;

	(void)state;
	assert_int_equal(uh_token_new(id, text, hash, &err), 0);
	assert_int_equal(strlen(text), UH_TOKEN_STR - 1);
	assert_memory_equal(text, "uh_", 3);
	assert_memory_equal(text + 3, id, UH_TOKEN_ID_LEN);
	assert_int_equal(strlen(hash), 64);
	/* the stored hash is not the secret */
	assert_null(strstr(text, hash));
	assert_int_equal(uh_token_parse(text, strlen(text), id2, hash2, &err), 0);
	assert_string_equal(id, id2);
	assert_true(uh_token_hash_equal(hash, hash2));
	/* another token: another id, another hash */
	assert_int_equal(uh_token_new(oid, other, ohash, &err), 0);
	assert_string_not_equal(id, oid);
	assert_false(uh_token_hash_equal(hash, ohash));
	/* one character of the secret changed: a different hash */
	text[40] = text[40] == 'a' ? 'b' : 'a';
	assert_int_equal(uh_token_parse(text, strlen(text), id2, hash2, &err), 0);
	assert_false(uh_token_hash_equal(hash, hash2));
}

static void test_token_refusals(void **state)
{
	char id[UH_TOKEN_ID_LEN + 1], text[UH_TOKEN_STR], hash[UH_TOKEN_HASH_HEX], bad[128];
	struct uh_error err;

	(void)state;
	assert_int_equal(uh_token_new(id, text, hash, &err), 0);
	/* shorter, longer, no prefix, wrong separator, upper case, a digit base32 lacks */
	assert_int_equal(uh_token_parse(text, strlen(text) - 1, id, hash, &err), -1);
	assert_int_equal(err.errnum, EACCES);
	assert_non_null(strstr(err.msg, "not an umlhost token"));
	snprintf(bad, sizeof(bad), "%sa", text);
	assert_int_equal(uh_token_parse(bad, strlen(bad), id, hash, &err), -1);
	snprintf(bad, sizeof(bad), "xx%s", text + 2);
	assert_int_equal(uh_token_parse(bad, strlen(bad), id, hash, &err), -1);
	snprintf(bad, sizeof(bad), "%s", text);
	bad[13] = '-';
	assert_int_equal(uh_token_parse(bad, strlen(bad), id, hash, &err), -1);
	snprintf(bad, sizeof(bad), "%s", text);
	bad[20] = 'A';
	assert_int_equal(uh_token_parse(bad, strlen(bad), id, hash, &err), -1);
	assert_non_null(strstr(err.msg, "malformed"));
	bad[20] = '1';
	assert_int_equal(uh_token_parse(bad, strlen(bad), id, hash, &err), -1);
	/* the message never repeats the input */
	assert_null(strstr(err.msg, bad + 14));
	/* a NUL inside */
	snprintf(bad, sizeof(bad), "%s", text);
	bad[30] = '\0';
	assert_int_equal(uh_token_parse(bad, strlen(text), id, hash, &err), -1);
}

static void test_scopes(void **state)
{
	unsigned int s;
	char out[UH_SCOPES_STR];
	struct uh_error err;

	(void)state;
	assert_int_equal(uh_scopes_parse("server:read,server:power", &s, &err), 0);
	assert_int_equal(s, UH_SCOPE_SERVER_READ | UH_SCOPE_SERVER_POWER);
	uh_scopes_format(s, out);
	assert_string_equal(out, "server:read,server:power");
	uh_scopes_format(UH_SCOPE_ALL, out);
	assert_string_equal(out, "server:read,server:power,server:console,backup:read,"
				 "backup:create,backup:restore,metrics:read,token:manage,admin");
	assert_int_equal(uh_scopes_parse("server:reed", &s, &err), -1);
	assert_non_null(strstr(err.msg, "unknown scope 'server:reed' (known: server:read,"));
	assert_int_equal(uh_scopes_parse("", &s, &err), -1);
	assert_non_null(strstr(err.msg, "no scopes given"));
	assert_int_equal(uh_scopes_parse("server:read,", &s, &err), -1);
	assert_non_null(strstr(err.msg, "an empty scope"));
	assert_int_equal(uh_scopes_parse(",server:read", &s, &err), -1);
	assert_int_equal(uh_scopes_parse("server:read,,admin", &s, &err), -1);
	assert_int_equal(uh_scopes_parse("admin,admin", &s, &err), -1);
	assert_non_null(strstr(err.msg, "given twice"));
	assert_string_equal(uh_scope_name(UH_SCOPE_BACKUP_RESTORE), "backup:restore");
	assert_null(uh_scope_name(UH_SCOPE_SERVER_READ | UH_SCOPE_ADMIN));
}

static void principal(struct uh_principal *p, const char *customer, unsigned int scopes,
		      const char *servers)
{
	struct uh_token_rec t = {0};

	snprintf(t.id, sizeof(t.id), "aaaaaaaaaa");
	snprintf(t.customer, sizeof(t.customer), "%s", customer);
	snprintf(t.servers, sizeof(t.servers), "%s", servers);
	t.scopes = scopes;
	uh_principal_from_token(p, &t);
}

static void test_visible(void **state)
{
	struct uh_principal a, a1, prov, admin;
	const char *missing;
	struct uh_error err;

	(void)state;
	principal(&a, "alice", UH_SCOPE_SERVER_READ, "");
	principal(&a1, "alice", UH_SCOPE_SERVER_READ | UH_SCOPE_SERVER_POWER, "web1,db");
	principal(&prov, "*", UH_SCOPE_SERVER_READ, "");
	uh_principal_admin(&admin);
	/* the customer's own, and only those */
	assert_true(uh_access_visible(&a, "web1", "alice"));
	assert_true(uh_access_visible(&a, "web2", "alice"));
	assert_false(uh_access_visible(&a, "shop", "bob"));
	assert_false(uh_access_visible(&a, "host1", "provider"));
	assert_false(uh_access_visible(&a, "host1", "")); /* no owner: the provider's */
	/* narrowed by the token's servers; "web" is not "web1" */
	assert_true(uh_access_visible(&a1, "web1", "alice"));
	assert_true(uh_access_visible(&a1, "db", "alice"));
	assert_false(uh_access_visible(&a1, "web", "alice"));
	assert_false(uh_access_visible(&a1, "web2", "alice"));
	/* a token naming another customer's server still cannot see it */
	principal(&a1, "alice", UH_SCOPE_SERVER_READ, "shop");
	assert_false(uh_access_visible(&a1, "shop", "bob"));
	/* the provider sees every customer's */
	assert_true(uh_access_visible(&prov, "shop", "bob"));
	assert_true(uh_access_visible(&admin, "host1", "provider"));
	/* the check: not visible is ENOENT in the words of a missing name; a scope is EACCES */
	assert_int_equal(uh_access_check(&a, "shop", "bob", UH_SCOPE_SERVER_READ, &missing, &err),
			 -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_string_equal(err.msg, "no instance named 'shop'");
	assert_null(missing);
	assert_int_equal(
		uh_access_check(&a, "web1", "alice", UH_SCOPE_SERVER_POWER, &missing, &err), -1);
	assert_int_equal(err.errnum, EACCES);
	assert_string_equal(missing, "server:power");
	assert_int_equal(uh_access_check(&a, "web1", "alice", UH_SCOPE_SERVER_READ, &missing, &err),
			 0);
	/* admin holds every scope; a customer's row that says admin does not */
	assert_int_equal(uh_access_scope(&admin, UH_SCOPE_METRICS_READ, NULL, &err), 0);
	principal(&a, "alice", UH_SCOPE_ADMIN, "");
	assert_int_equal(uh_access_scope(&a, UH_SCOPE_SERVER_READ, &missing, &err), -1);
	assert_int_equal(uh_access_scope(&a, UH_SCOPE_ADMIN, &missing, &err), -1);
	assert_string_equal(missing, "admin");
}

static void test_mint(void **state)
{
	struct uh_principal m, admin;
	struct uh_token_rec want = {0};
	struct uh_error err;

	(void)state;
	uh_principal_admin(&admin);
	principal(&m, "alice", UH_SCOPE_SERVER_READ | UH_SCOPE_SERVER_POWER |
				       UH_SCOPE_TOKEN_MANAGE, "web1,web2");
	m.expires = 1000;
	snprintf(m.from, sizeof(m.from), "203.0.113.0/24");
	snprintf(want.customer, sizeof(want.customer), "alice");
	want.scopes = UH_SCOPE_SERVER_READ;
	snprintf(want.servers, sizeof(want.servers), "web1");
	want.expires = 900;
	snprintf(want.from, sizeof(want.from), "203.0.113.8/29");
	assert_int_equal(uh_access_may_mint(&m, &want, &err), 0);
	assert_int_equal(uh_access_may_mint(&admin, &want, &err), 0);
	/* each way of being wider is refused, naming it */
	want.scopes = UH_SCOPE_SERVER_READ | UH_SCOPE_BACKUP_RESTORE;
	assert_int_equal(uh_access_may_mint(&m, &want, &err), -1);
	assert_non_null(strstr(err.msg, "backup:restore"));
	want.scopes = UH_SCOPE_SERVER_READ;
	snprintf(want.servers, sizeof(want.servers), "web1,web3");
	assert_int_equal(uh_access_may_mint(&m, &want, &err), -1);
	assert_non_null(strstr(err.msg, "server web3"));
	want.servers[0] = '\0';
	assert_int_equal(uh_access_may_mint(&m, &want, &err), -1);
	assert_non_null(strstr(err.msg, "every server"));
	snprintf(want.servers, sizeof(want.servers), "web2");
	want.expires = 0;
	assert_int_equal(uh_access_may_mint(&m, &want, &err), -1);
	assert_non_null(strstr(err.msg, "outlive"));
	want.expires = 1001;
	assert_int_equal(uh_access_may_mint(&m, &want, &err), -1);
	want.expires = 1000;
	snprintf(want.from, sizeof(want.from), "198.51.100.0/24");
	assert_int_equal(uh_access_may_mint(&m, &want, &err), -1);
	assert_non_null(strstr(err.msg, "outside"));
	snprintf(want.from, sizeof(want.from), "203.0.0.0/16"); /* wider than the maker's /24 */
	assert_int_equal(uh_access_may_mint(&m, &want, &err), -1);
	want.from[0] = '\0';
	assert_int_equal(uh_access_may_mint(&m, &want, &err), -1);
	snprintf(want.from, sizeof(want.from), "203.0.113.0/24");
	snprintf(want.customer, sizeof(want.customer), "bob");
	assert_int_equal(uh_access_may_mint(&m, &want, &err), -1);
	assert_non_null(strstr(err.msg, "its own customer"));
	snprintf(want.customer, sizeof(want.customer), "alice");
	assert_int_equal(uh_access_may_mint(&m, &want, &err), 0);
	/* without token:manage, nothing */
	m.scopes &= ~UH_SCOPE_TOKEN_MANAGE;
	assert_int_equal(uh_access_may_mint(&m, &want, &err), -1);
	assert_non_null(strstr(err.msg, "token:manage"));
}

static void test_from(void **state)
{
	struct uh_error err;

	(void)state;
	assert_int_equal(uh_access_from_parse("203.0.113.0/24", &err), 0);
	assert_int_equal(uh_access_from_parse("203.0.113.0/24,2001:db8::/32", &err), 0);
	assert_int_equal(uh_access_from_parse("203.0.113.1/24", &err), -1); /* host bits */
	assert_non_null(strstr(err.msg, "--from"));
	assert_int_equal(uh_access_from_parse("203.0.113.0/24,", &err), -1);
	assert_int_equal(uh_access_from_parse("nonsense", &err), -1);
	assert_int_equal(uh_access_from_parse("1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8,5.0.0.0/8,"
					      "6.0.0.0/8,7.0.0.0/8,8.0.0.0/8,9.0.0.0/8",
					      &err),
			 -1);
	assert_true(uh_access_from_allows("", "192.0.2.1"));
	assert_true(uh_access_from_allows("203.0.113.0/24", "203.0.113.77"));
	assert_false(uh_access_from_allows("203.0.113.0/24", "203.0.114.1"));
	assert_false(uh_access_from_allows("203.0.113.0/24", "2001:db8::1"));
	assert_true(uh_access_from_allows("203.0.113.0/24,2001:db8::/32", "2001:db8::1"));
	assert_false(uh_access_from_allows("203.0.113.0/24", NULL));
	assert_false(uh_access_from_allows("203.0.113.0/24", "garbage"));
	assert_true(uh_name_in_list("a,web1,b", "web1"));
	assert_false(uh_name_in_list("a,web10,b", "web1"));
	assert_false(uh_name_in_list("", "web1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base32),	  cmocka_unit_test(test_token_roundtrip),
		cmocka_unit_test(test_token_refusals), cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_visible),	  cmocka_unit_test(test_mint),
		cmocka_unit_test(test_from),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
