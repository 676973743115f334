#include "net/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int uh_ip_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

int uh_ip_parse(const char *s, struct uh_ip *ip, struct uh_error *err)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->a) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->a) == 1) {
		ip->family = AF_INET6;
		return 0;
	}
	return uh_errx(err, "'%s' is not an IPv4 or IPv6 address", s);
}

int uh_hostport_parse(const char *s, struct uh_ip *ip, int *port, struct uh_error *err)
{
	char host[UH_IP_STR + 2];
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return uh_errx(err, "'%.80s' is not [IPv6]:PORT", s);
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || strchr(s, ':') != colon)
			return uh_errx(err, "'%.80s' is not ADDR:PORT ([ADDR]:PORT for IPv6)", s);
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return uh_errx(err, "'%.80s' has no address before the port", s);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (uh_ip_parse(host, ip, err) < 0)
		return -1;
	if (s[0] == '[' && ip->family != AF_INET6)
		return uh_errx(err, "'%.80s': brackets are for IPv6 addresses", s);
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno || p < 1 || p > 65535)
		return uh_errx(err, "'%.80s': the port must be a number from 1 to 65535", s);
	*port = (int)p;
	return 0;
}

/* Keep the first `prefix` bits of ip, clear the rest. */
static void mask(struct uh_ip *ip, int prefix)
{
	int len = uh_ip_len(ip->family);

	for (int i = 0; i < len; i++) {
		int bits = prefix - i * 8;

		if (bits >= 8)
			continue;
		ip->a[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

int uh_cidr_parse(const char *s, struct uh_cidr *c, struct uh_error *err)
{
	char buf[64], *slash, *end;
	struct uh_ip net;
	long prefix;

	if (strlen(s) >= sizeof(buf))
		return uh_errx(err, "'%.64s...' is not a network (A.B.C.D/N or X:X::/N)", s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash == NULL)
		return uh_errx(err, "'%s' is not a network: no /prefix (e.g. 192.0.2.0/24)", s);
	*slash = '\0';
	if (uh_ip_parse(buf, &c->ip, err) < 0)
		return uh_err_prefix(err, "network '%s'", s);
	prefix = strtol(slash + 1, &end, 10);
	if (slash[1] == '\0' || *end != '\0' || prefix < 0 || prefix > uh_ip_len(c->ip.family) * 8)
		return uh_errx(err, "network '%s': bad prefix length '%s'", s, slash + 1);
	c->prefix = (int)prefix;
	net = c->ip;
	mask(&net, c->prefix);
	if (!uh_ip_equal(&net, &c->ip)) {
		char want[UH_IP_STR];

		uh_ip_format(&net, want);
		return uh_errx(err, "network '%s' has host bits set (did you mean %s/%d?)", s, want,
			       c->prefix);
	}
	return 0;
}

void uh_ip_format(const struct uh_ip *ip, char out[UH_IP_STR])
{
	if (inet_ntop(ip->family == AF_INET6 ? AF_INET6 : AF_INET, ip->a, out, UH_IP_STR) == NULL)
		strcpy(out, "?");
}

void uh_cidr_format(const struct uh_cidr *c, char out[UH_CIDR_STR])
{
	char ip[UH_IP_STR];

	uh_ip_format(&c->ip, ip);
	snprintf(out, UH_CIDR_STR, "%s/%d", ip, c->prefix);
}

int uh_ip_equal(const struct uh_ip *a, const struct uh_ip *b)
{
	return a->family == b->family && memcmp(a->a, b->a, (size_t)uh_ip_len(a->family)) == 0;
}

int uh_cidr_contains(const struct uh_cidr *c, const struct uh_ip *ip)
{
	struct uh_ip net = *ip;

	if (ip->family != c->ip.family)
		return 0;
	mask(&net, c->prefix);
	return uh_ip_equal(&net, &c->ip);
}

int uh_cidr_overlap(const struct uh_cidr *a, const struct uh_cidr *b)
{
	/* two prefixes overlap exactly when the shorter one contains the other's network */
	if (a->ip.family != b->ip.family)
		return 0;
	return a->prefix <= b->prefix ? uh_cidr_contains(a, &b->ip) : uh_cidr_contains(b, &a->ip);
}

static int host_bits(const struct uh_cidr *c)
{
	return uh_ip_len(c->ip.family) * 8 - c->prefix;
}

/* The low 64 bits of the host part. */
static uint64_t host_part(const struct uh_cidr *c, const struct uh_ip *ip)
{
	int len = uh_ip_len(c->ip.family), hb = host_bits(c);
	uint64_t v = 0;

	for (int i = len - 8 < 0 ? 0 : len - 8; i < len; i++)
		v = v << 8 | ip->a[i];
	return hb >= 64 ? v : v & ((1ULL << hb) - 1);
}

int uh_cidr_usable(const struct uh_cidr *c, const struct uh_ip *ip)
{
	int hb = host_bits(c);
	uint64_t h;

	if (!uh_cidr_contains(c, ip))
		return 0;
	h = host_part(c, ip);
	if (c->ip.family == AF_INET) {
		if (hb >= 2 && (h == 0 || h == (1ULL << hb) - 1))
			return 0;
		return 1;
	}
	/* host part entirely zero: the subnet-router anycast address */
	return hb == 0 || !uh_ip_equal(ip, &c->ip);
}

uint64_t uh_cidr_walk_size(const struct uh_cidr *c)
{
	int hb = host_bits(c);

	return hb >= 20 ? 1ULL << 20 : 1ULL << hb;
}

int uh_cidr_nth(const struct uh_cidr *c, uint64_t n, struct uh_ip *out)
{
	int len = uh_ip_len(c->ip.family), hb = host_bits(c);
	unsigned carry = 0;

	if (hb < 64 && n >= (1ULL << hb))
		return -1;
	*out = c->ip;
	for (int i = len - 1; i >= 0 && (n || carry); i--) {
		unsigned v = out->a[i] + (unsigned)(n & 0xff) + carry;

		out->a[i] = (uint8_t)v;
		carry = v >> 8;
		n >>= 8;
	}
	return 0;
}

void uh_mac_for(const struct uh_ip *ip, uint8_t mac[6])
{
	mac[0] = 0x02; /* locally administered, unicast */
	if (ip->family == AF_INET) {
		mac[1] = 0x75;
		memcpy(mac + 2, ip->a, 4);
		return;
	}
	{
		uint32_t h = 2166136261u;

		for (int i = 0; i < 16; i++)
			h = (h ^ ip->a[i]) * 16777619u;
		mac[1] = 0x76;
		mac[2] = (uint8_t)(h >> 24);
		mac[3] = (uint8_t)(h >> 16);
		mac[4] = (uint8_t)(h >> 8);
		mac[5] = (uint8_t)h;
	}
}

void uh_mac_format(const uint8_t mac[6], char out[UH_MAC_STR])
{
	snprintf(out, UH_MAC_STR, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

void uh_tap_name_for(const uint8_t mac[6], char out[16])
{
	snprintf(out, 16, UH_TAP_PREFIX "%02x%02x%02x%02x", mac[2], mac[3], mac[4], mac[5]);
}
