#include "net/nft.h"

#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct script {
	char *buf;
	size_t len, used;
	int overflow;
};

static void add(struct script *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct script *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->buf + s->used, s->len - s->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= s->len - s->used)
		s->overflow = 1;
	else
		s->used += (size_t)n;
}

int uh_nft_guard_script(const struct uh_nft_guard *g, char *buf, size_t len)
{
	struct script s = {buf, len, 0, 0};
	char ip[UH_IP_STR], rule[96];

	uh_ip_format(&g->ip, ip);
	snprintf(rule, sizeof(rule), "add rule netdev " UH_NFT_TABLE " " UH_NFT_CHAIN_PREFIX "%s",
		 g->tap);
	add(&s, "add table netdev " UH_NFT_TABLE "\n");
	/* priority -500: before anything else an admin hooks there */
	add(&s,
	    "add chain netdev " UH_NFT_TABLE " " UH_NFT_CHAIN_PREFIX "%s { type filter hook "
	    "ingress device \"%s\" priority -500; policy accept; }\n",
	    g->tap, g->tap);
	add(&s, "%s ether saddr != %s counter drop\n", rule, g->mac);
	if (g->ip.family == AF_INET) {
		add(&s, "%s arp saddr ether != %s counter drop\n", rule, g->mac);
		add(&s, "%s arp saddr ip != %s counter drop\n", rule, ip);
		add(&s, "%s ip saddr != %s counter drop\n", rule, ip);
		add(&s, "%s udp sport 67 counter drop\n", rule); /* a DHCP server */
		add(&s, "%s ether type { ip, arp } accept\n", rule);
	} else {
		char hex[33], llhex[33], llstr[UH_IP_STR];
		struct uh_ip ll = {.family = AF_INET6};
		unsigned char m[6];

		/* its own link-local address: EUI-64 from its MAC (fe80::MAC with ff:fe in the
		 * middle and the universal/local bit flipped), not any of fe80::/10, where it
		 * could claim the router's */
		if (sscanf(g->mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4],
			   &m[5]) != 6)
			return -1;
		ll.a[0] = 0xfe;
		ll.a[1] = 0x80;
		ll.a[8] = m[0] ^ 0x02;
		ll.a[9] = m[1];
		ll.a[10] = m[2];
		ll.a[11] = 0xff;
		ll.a[12] = 0xfe;
		ll.a[13] = m[3];
		ll.a[14] = m[4];
		ll.a[15] = m[5];
		uh_ip_format(&ll, llstr);
		for (int i = 0; i < 16; i++) {
			snprintf(hex + 2 * i, 3, "%02x", g->ip.a[i]);
			snprintf(llhex + 2 * i, 3, "%02x", ll.a[i]);
		}
		/* its link-local (neighbour discovery) and :: (duplicate address detection) too */
		add(&s, "%s ip6 saddr != { %s, %s, :: } counter drop\n", rule, ip, llstr);
		add(&s, "%s icmpv6 type { nd-router-advert, nd-redirect } counter drop\n", rule);
		/* a neighbour advertisement's target (bits 64..191 of the ICMPv6 header; nft
		 * 1.0.6 has no name for it) must be one of its two addresses */
		add(&s,
		    "%s icmpv6 type nd-neighbor-advert @th,64,128 != 0x%s @th,64,128 != 0x%s "
		    "counter drop\n",
		    rule, hex, llhex);
		add(&s, "%s udp sport 547 counter drop\n", rule); /* a DHCPv6 server */
		add(&s, "%s ether type ip6 accept\n", rule);
	}
	add(&s, "%s counter drop\n", rule);
	return s.overflow ? -1 : 0;
}

/* libnftables is loaded for each script and unloaded after: with its dependencies (libnftnl,
 * libxtables, libgmp) it maps ~1 MB that the daemon would otherwise carry for months between
 * two instance starts. A script runs in milliseconds; the load adds ~1 ms. */
struct nft_lib {
	void *handle;
	struct nft_ctx *(*ctx_new)(uint32_t flags);
	void (*ctx_free)(struct nft_ctx *ctx);
	int (*buffer_output)(struct nft_ctx *ctx);
	int (*buffer_error)(struct nft_ctx *ctx);
	void (*output_set_flags)(struct nft_ctx *ctx, unsigned int flags);
	int (*run_cmd)(struct nft_ctx *ctx, const char *buf);
	const char *(*get_output)(struct nft_ctx *ctx);
	const char *(*get_error)(struct nft_ctx *ctx);
};

static int lib_open(struct nft_lib *l, struct uh_error *err)
{
	l->handle = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
	if (l->handle == NULL)
		return uh_errx(err, "nftables: %s (apt-get install libnftables1)", dlerror());
	*(void **)&l->ctx_new = dlsym(l->handle, "nft_ctx_new");
	*(void **)&l->ctx_free = dlsym(l->handle, "nft_ctx_free");
	*(void **)&l->buffer_output = dlsym(l->handle, "nft_ctx_buffer_output");
	*(void **)&l->buffer_error = dlsym(l->handle, "nft_ctx_buffer_error");
	*(void **)&l->output_set_flags = dlsym(l->handle, "nft_ctx_output_set_flags");
	*(void **)&l->run_cmd = dlsym(l->handle, "nft_run_cmd_from_buffer");
	*(void **)&l->get_output = dlsym(l->handle, "nft_ctx_get_output_buffer");
	*(void **)&l->get_error = dlsym(l->handle, "nft_ctx_get_error_buffer");
	if (!l->ctx_new || !l->ctx_free || !l->buffer_output || !l->buffer_error ||
	    !l->output_set_flags || !l->run_cmd || !l->get_output || !l->get_error) {
		dlclose(l->handle);
		return uh_errx(err, "nftables: libnftables.so.1 lacks a function we use");
	}
	return 0;
}

/* libnftables points libgmp's allocator at its own functions (mp_set_memory_functions, in
 * nft_ctx_new). libgmp stays loaded after the dlclose when the daemon links it too (GnuTLS,
 * through nettle's hogweed: the HTTPS certificate's key is made with it), and would then call
 * into unmapped code: found by a crash in gnutls_x509_privkey_generate after a guard script.
 * Give libgmp its own functions back before the unload. */
static void reset_gmp(void *handle)
{
	void (*set)(void *(*)(size_t), void *(*)(void *, size_t, size_t),
		    void (*)(void *, size_t));

	*(void **)&set = dlsym(handle, "__gmp_set_memory_functions");
	if (set)
		set(NULL, NULL, NULL);
}

/* Run an nft script; the error is nft's own first line. */
static int run(const char *script, char **output, struct uh_error *err)
{
	struct nft_lib l = {0};
	struct nft_ctx *ctx;
	int r = 0;

	if (lib_open(&l, err) < 0)
		return -1;
	ctx = l.ctx_new(NFT_CTX_DEFAULT);
	if (ctx == NULL) {
		dlclose(l.handle);
		return uh_errx(err, "nftables: cannot create a context");
	}
	l.buffer_output(ctx);
	l.buffer_error(ctx);
	if (output)
		l.output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	if (l.run_cmd(ctx, script) != 0) {
		const char *e = l.get_error(ctx);
		char line[400];
		size_t n = e ? strcspn(e, "\n") : 0;

		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1),
			 e ? e : "");
		r = uh_errx(err, "nftables: %s", line[0] ? line : "command failed");
	} else if (output) {
		*output = strdup(l.get_output(ctx));
		if (*output == NULL)
			abort();
	}
	l.ctx_free(ctx);
	reset_gmp(l.handle);
	dlclose(l.handle);
	return r;
}

int uh_nft_guard_add(const struct uh_nft_guard *g, struct uh_error *err)
{
	char script[4096];

	if (uh_nft_guard_script(g, script, sizeof(script)) < 0)
		return uh_errx(err, "nftables: rules for %s do not fit", g->tap);
	if (run(script, NULL, err) < 0)
		return uh_err_prefix(err, "anti-spoofing rules for %s", g->tap);
	return 0;
}

int uh_nft_guard_rules(const struct uh_nft_guard *g)
{
	char script[4096];
	const char *p;
	int n = 0;

	if (uh_nft_guard_script(g, script, sizeof(script)) < 0)
		return -1;
	for (p = script; (p = strstr(p, "add rule ")) != NULL; p++)
		n++;
	return n;
}

/* A rule's chain, if it is one of ours: the tap's name. */
static const char *guard_tap(const char *chain)
{
	size_t n = strlen(UH_NFT_CHAIN_PREFIX);

	return chain && strncmp(chain, UH_NFT_CHAIN_PREFIX, n) == 0 ? chain + n : NULL;
}

int uh_nft_guard_list(int (*fn)(const char *tap, int rules, void *arg), void *arg,
		      struct uh_error *err)
{
	char *out = NULL;
	json_t *root, *items, *it;
	size_t i;
	int r = 0;

	/* no table yet: no chains (listing one that does not exist is an error for nft) */
	if (run("list tables netdev", &out, err) < 0)
		return uh_err_prefix(err, "list anti-spoofing rules");
	if (strstr(out, "\"name\": \"" UH_NFT_TABLE "\"") == NULL) {
		free(out);
		return 0;
	}
	free(out);
	out = NULL;
	if (run("list table netdev " UH_NFT_TABLE, &out, err) < 0)
		return uh_err_prefix(err, "list anti-spoofing rules");
	root = json_loads(out, 0, NULL);
	free(out);
	items = json_object_get(root, "nftables");
	/* each chain, then the rules that name it as theirs (`nft flush chain` leaves a chain
	 * with none, its policy accept: not a guard any more) */
	json_array_foreach(items, i, it)
	{
		const char *tap = guard_tap(
			json_string_value(json_object_get(json_object_get(it, "chain"), "name")));
		size_t k;
		json_t *rule;
		int rules = 0;

		if (tap == NULL)
			continue;
		json_array_foreach(items, k, rule)
		{
			const char *of = guard_tap(json_string_value(
				json_object_get(json_object_get(rule, "rule"), "chain")));

			if (of && strcmp(of, tap) == 0)
				rules++;
		}
		if (fn(tap, rules, arg) != 0)
			break;
	}
	if (root == NULL)
		r = uh_errx(err, "list anti-spoofing rules: nft printed no JSON");
	json_decref(root);
	return r;
}

int uh_nft_guard_del(const char *tap, struct uh_error *err)
{
	char script[128];
	struct uh_error e;

	/* one command: a chain (or table) that is not there is what we wanted */
	snprintf(script, sizeof(script),
		 "delete chain netdev " UH_NFT_TABLE " " UH_NFT_CHAIN_PREFIX "%s\n", tap);
	if (run(script, NULL, &e) == 0 || strstr(e.msg, "No such file or directory"))
		return 0;
	*err = e;
	return uh_err_prefix(err, "remove anti-spoofing rules of %s", tap);
}
