/* Who owns and who may: customer create|list|rm, chown, token create|list|revoke. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const struct option token_opts[] = {{"customer", required_argument, NULL, 'c'},
					   {"name", required_argument, NULL, 'n'},
					   {"scopes", required_argument, NULL, 's'},
					   {"servers", required_argument, NULL, 'S'},
					   {"expires", required_argument, NULL, 'e'},
					   {"from", required_argument, NULL, 'f'},
					   {"json", no_argument, NULL, 'j'},
					   {NULL, 0, NULL, 0}};
static const struct uh_cli_doc token_docs[] = {
	{"C", "the customer it acts for; * for the provider (all customers)", 1},
	{"N", "a name to tell it by", 1},
	{"S1,S2", "server:read server:power server:console backup:read backup:create "
		  "backup:restore metrics:read token:manage, and admin (provider only)", 1},
	{"a,b", "only these servers of the customer (default: all of them)", 0},
	{"90d|12h|never", "when it stops working (default 90d)", 0},
	{"CIDR,...", "only from these networks", 0},
	{NULL, NULL, 0},
};
static const struct option list_opts[] = {{"customer", required_argument, NULL, 'c'},
					  {"json", no_argument, NULL, 'j'},
					  {NULL, 0, NULL, 0}};
static const struct uh_cli_doc list_docs[] = {
	{"C", "only this customer's tokens", 0},
	{NULL, NULL, 0},
};

const struct uh_cli_command uh_cli_cmd_customer_create = {
	"customer create", "NAME", "a customer: owns instances, holds API tokens", NULL, NULL,
	uh_cmd_customer};
const struct uh_cli_command uh_cli_cmd_customer_list = {
	"customer list", "", "the customers, their servers and how many tokens each has", NULL,
	NULL, uh_cmd_customer};
const struct uh_cli_command uh_cli_cmd_customer_rm = {
	"customer rm", "NAME", "remove a customer that owns no instance (its tokens are revoked)",
	NULL, NULL, uh_cmd_customer};
const struct uh_cli_command uh_cli_cmd_chown = {
	"chown", "NAME CUSTOMER", "give an instance to another customer", NULL, NULL, uh_cmd_chown};
const struct uh_cli_command uh_cli_cmd_token_create = {
	"token create", "", "an API token; its secret is printed once and never again",
	token_opts, token_docs, uh_cmd_token};
const struct uh_cli_command uh_cli_cmd_token_list = {
	"token list", "", "API tokens (never their secrets)", list_opts, list_docs, uh_cmd_token};
const struct uh_cli_command uh_cli_cmd_token_revoke = {
	"token revoke", "ID", "revoke a token at once", NULL, NULL, uh_cmd_token};

/* Print the answer as JSON, or the line `fmt` makes of it. */
static int done(struct uh_cli *cli, json_t *resp, const char *line)
{
	if (cli->json)
		uh_cli_print_json(resp);
	else {
		puts(line);
		json_decref(resp);
	}
	return UH_EXIT_OK;
}

static void join(json_t *arr, char *out, size_t len)
{
	size_t k, used = 0;
	json_t *v;

	out[0] = '\0';
	if (!json_is_array(arr)) {
		snprintf(out, len, "all");
		return;
	}
	json_array_foreach(arr, k, v)
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s",
					 k ? "," : "", json_string_value(v));
	if (used == 0)
		snprintf(out, len, "-");
}

int uh_cmd_customer(struct uh_cli *cli, int argc, char **argv)
{
	const char *val[1] = {NULL};
	char *pos[1] = {NULL}, url[128], line[256], servers[512];
	json_t *resp = NULL, *c;
	struct uh_error err;
	size_t k;

	if (argc >= 2 && strcmp(argv[1], "create") == 0) {
		if (uh_cli_getopt(cli, &uh_cli_cmd_customer_create, "", argc - 1, argv + 1, val, pos,
				  1) != 1)
			return uh_cli_usage_of(cli, &uh_cli_cmd_customer_create);
		if (uh_client_call(cli, "POST", "/v1/customers", json_pack("{s:s}", "name", pos[0]),
				   &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		snprintf(line, sizeof(line), "created customer %s", uh_cli_str(resp, "name"));
		return done(cli, resp, line);
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (uh_cli_getopt(cli, &uh_cli_cmd_customer_list, "", argc - 1, argv + 1, val, pos,
				  0) != 0)
			return uh_cli_usage_of(cli, &uh_cli_cmd_customer_list);
		if (uh_client_call(cli, "GET", "/v1/customers", NULL, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json) {
			uh_cli_print_json(resp);
			return UH_EXIT_OK;
		}
		printf("%-20s %-7s %s\n", "CUSTOMER", "TOKENS", "SERVERS");
		json_array_foreach(resp, k, c) {
			join(json_object_get(c, "servers"), servers, sizeof(servers));
			printf("%-20s %-7lld %s\n", uh_cli_str(c, "name"),
			       (long long)json_integer_value(json_object_get(c, "tokens")), servers);
		}
		json_decref(resp);
		return UH_EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "rm") == 0) {
		if (uh_cli_getopt(cli, &uh_cli_cmd_customer_rm, "", argc - 1, argv + 1, val, pos,
				  1) != 1 ||
		    strlen(pos[0]) > 64)
			return uh_cli_usage_of(cli, &uh_cli_cmd_customer_rm);
		snprintf(url, sizeof(url), "/v1/customers/%s", pos[0]);
		if (uh_client_call(cli, "DELETE", url, NULL, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		snprintf(line, sizeof(line), "removed customer %s (%lld token(s) revoked)", pos[0],
			 (long long)json_integer_value(json_object_get(resp, "tokens_revoked")));
		return done(cli, resp, line);
	}
	return uh_cli_usage(cli, "unknown customer subcommand (umlhost help customer)");
}

int uh_cmd_chown(struct uh_cli *cli, int argc, char **argv)
{
	const char *val[1] = {NULL};
	char *pos[2] = {NULL, NULL}, url[128], line[256];
	json_t *resp = NULL;
	struct uh_error err;

	if (uh_cli_getopt(cli, &uh_cli_cmd_chown, "", argc, argv, val, pos, 2) != 2 ||
	    strlen(pos[0]) > 64)
		return uh_cli_usage_of(cli, &uh_cli_cmd_chown);
	snprintf(url, sizeof(url), "/v1/instances/%s/owner", pos[0]);
	if (uh_client_call(cli, "POST", url, json_pack("{s:s}", "owner", pos[1]), &resp, &err) < 0)
		return uh_cli_fail(cli, &err);
	snprintf(line, sizeof(line), "%s now belongs to %s", pos[0], uh_cli_str(resp, "owner"));
	return done(cli, resp, line);
}

static int token_create(struct uh_cli *cli, int argc, char **argv)
{
	static const char *const keys[] = {"customer", "name", "scopes", "servers", "expires",
					   "from"};
	const char *val[7] = {NULL};
	json_t *body, *resp = NULL;
	struct uh_error err;
	char scopes[256], exp[32];

	if (uh_cli_getopt(cli, &uh_cli_cmd_token_create, "", argc, argv, val, NULL, 0) != 0)
		return uh_cli_usage_of(cli, &uh_cli_cmd_token_create);
	if (val[0] == NULL || val[1] == NULL || val[2] == NULL)
		return uh_cli_usage(cli, "token create needs --customer, --name and --scopes");
	body = json_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (val[i])
			json_object_set_new(body, keys[i], json_string(val[i]));
	if (uh_client_call(cli, "POST", "/v1/tokens", body, &resp, &err) < 0)
		return uh_cli_fail(cli, &err);
	if (cli->json) {
		uh_cli_print_json(resp);
		return UH_EXIT_OK;
	}
	join(json_object_get(resp, "scopes"), scopes, sizeof(scopes));
	if (json_is_integer(json_object_get(resp, "expires_at")))
		uh_cli_time(json_object_get(resp, "expires_at"), exp, sizeof(exp));
	else
		snprintf(exp, sizeof(exp), "never");
	printf("token %s for %s (%s), scopes %s, expires %s\n", uh_cli_str(resp, "id"),
	       uh_cli_str(resp, "customer"), uh_cli_str(resp, "name"), scopes, exp);
	printf("%s\n", uh_cli_str(resp, "token"));
	fprintf(stderr, "umlhost: this is the only time the secret is shown: keep it now\n");
	json_decref(resp);
	return UH_EXIT_OK;
}

int uh_cmd_token(struct uh_cli *cli, int argc, char **argv)
{
	const char *val[2] = {NULL, NULL};
	char *pos[1] = {NULL}, url[160], line[128], scopes[256], servers[512], exp[32], used[32];
	json_t *resp = NULL, *t;
	struct uh_error err;
	size_t k;

	if (argc >= 2 && strcmp(argv[1], "create") == 0)
		return token_create(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (uh_cli_getopt(cli, &uh_cli_cmd_token_list, "", argc - 1, argv + 1, val, pos, 0) !=
			    0 ||
		    (val[0] && strlen(val[0]) > 64))
			return uh_cli_usage_of(cli, &uh_cli_cmd_token_list);
		snprintf(url, sizeof(url), "/v1/tokens%s%s", val[0] ? "?customer=" : "",
			 val[0] ? val[0] : "");
		if (uh_client_call(cli, "GET", url, NULL, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		if (cli->json) {
			uh_cli_print_json(resp);
			return UH_EXIT_OK;
		}
		printf("%-11s %-12s %-16s %-20s %-20s %s\n", "ID", "CUSTOMER", "NAME", "EXPIRES",
		       "LAST USED", "SCOPES / SERVERS");
		json_array_foreach(resp, k, t) {
			join(json_object_get(t, "scopes"), scopes, sizeof(scopes));
			join(json_object_get(t, "servers"), servers, sizeof(servers));
			if (json_is_true(json_object_get(t, "expired")))
				snprintf(exp, sizeof(exp), "expired");
			else if (json_is_integer(json_object_get(t, "expires_at")))
				uh_cli_time(json_object_get(t, "expires_at"), exp, sizeof(exp));
			else
				snprintf(exp, sizeof(exp), "never");
			if (json_is_integer(json_object_get(t, "last_used_at")))
				uh_cli_time(json_object_get(t, "last_used_at"), used, sizeof(used));
			else
				snprintf(used, sizeof(used), "never");
			printf("%-11s %-12s %-16s %-20s %-20s %s / %s\n", uh_cli_str(t, "id"),
			       uh_cli_str(t, "customer"), uh_cli_str(t, "name"), exp, used, scopes,
			       servers);
		}
		json_decref(resp);
		return UH_EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "revoke") == 0) {
		if (uh_cli_getopt(cli, &uh_cli_cmd_token_revoke, "", argc - 1, argv + 1, val, pos,
				  1) != 1 ||
		    strlen(pos[0]) > 64)
			return uh_cli_usage_of(cli, &uh_cli_cmd_token_revoke);
		snprintf(url, sizeof(url), "/v1/tokens/%s", pos[0]);
		if (uh_client_call(cli, "DELETE", url, NULL, &resp, &err) < 0)
			return uh_cli_fail(cli, &err);
		snprintf(line, sizeof(line), "revoked token %s", pos[0]);
		return done(cli, resp, line);
	}
	return uh_cli_usage(cli, "unknown token subcommand (umlhost help token)");
}
