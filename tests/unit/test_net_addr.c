/* Unit tests of address parsing, pool arithmetic, MAC/tap names and the guard rules' text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "net/addr.h"
#include "net/nft.h"

static struct uh_cidr cidr(const char *s)
{
	struct uh_cidr c;
	struct uh_error err;

	assert_int_equal(uh_cidr_parse(s, &c, &err), 0);
	return c;
}

static struct uh_ip ip(const char *s)
{
	struct uh_ip a;
	struct uh_error err;

	assert_int_equal(uh_ip_parse(s, &a, &err), 0);
	return a;
}

static void test_parse(void **state)
{
	struct uh_cidr c;
	struct uh_ip a;
	struct uh_error err;
	char buf[UH_CIDR_STR];

	c = cidr("192.0.2.16/28");
	assert_int_equal(c.ip.family, AF_INET);
	assert_int_equal(c.prefix, 28);
	uh_cidr_format(&c, buf);
	assert_string_equal(buf, "192.0.2.16/28");
	c = cidr("2001:db8:0:1::/64");
	assert_int_equal(c.ip.family, AF_INET6);
	uh_cidr_format(&c, buf);
	assert_string_equal(buf, "2001:db8:0:1::/64");
	assert_int_equal(uh_cidr_parse("192.0.2.17/28", &c, &err), -1);
	assert_non_null(strstr(err.msg, "did you mean 192.0.2.16/28"));
	assert_int_equal(uh_cidr_parse("192.0.2.0", &c, &err), -1);
	assert_non_null(strstr(err.msg, "no /prefix"));
	assert_int_equal(uh_cidr_parse("192.0.2.0/33", &c, &err), -1);
	assert_non_null(strstr(err.msg, "bad prefix length '33'"));
	assert_int_equal(uh_cidr_parse("192.0.2.0/", &c, &err), -1);
	assert_int_equal(uh_cidr_parse("192.0.2.0/2x", &c, &err), -1);
	assert_int_equal(uh_cidr_parse("example.com/24", &c, &err), -1);
	assert_non_null(strstr(err.msg, "not an IPv4 or IPv6 address"));
	assert_int_equal(uh_cidr_parse("2001:db8::/129", &c, &err), -1);
	assert_int_equal(uh_cidr_parse("0.0.0.0/0", &c, &err), 0);
	assert_int_equal(uh_ip_parse("192.0.2.300", &a, &err), -1);
	assert_int_equal(uh_ip_parse("", &a, &err), -1);
}

static void test_hostport(void **state)
{
	struct uh_ip ip;
	struct uh_error err;
	int port;

	(void)state;
	assert_int_equal(uh_hostport_parse("127.0.0.1:8443", &ip, &port, &err), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_int_equal(port, 8443);
	assert_int_equal(uh_hostport_parse("[::1]:443", &ip, &port, &err), 0);
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(port, 443);
	assert_int_equal(uh_hostport_parse("::1:443", &ip, &port, &err), -1); /* brackets */
	assert_int_equal(uh_hostport_parse("[127.0.0.1]:443", &ip, &port, &err), -1);
	assert_int_equal(uh_hostport_parse("127.0.0.1", &ip, &port, &err), -1);
	assert_int_equal(uh_hostport_parse("127.0.0.1:", &ip, &port, &err), -1);
	assert_int_equal(uh_hostport_parse("127.0.0.1:0", &ip, &port, &err), -1);
	assert_int_equal(uh_hostport_parse("127.0.0.1:65536", &ip, &port, &err), -1);
	assert_non_null(strstr(err.msg, "1 to 65535"));
	assert_int_equal(uh_hostport_parse("127.0.0.1:84x", &ip, &port, &err), -1);
	assert_int_equal(uh_hostport_parse(":8443", &ip, &port, &err), -1);
	assert_int_equal(uh_hostport_parse("localhost:8443", &ip, &port, &err), -1);
}

static void test_pools(void **state)
{
	struct uh_cidr p = cidr("192.0.2.16/28"), p6 = cidr("2001:db8:0:1::100/120");
	struct uh_ip a = ip("192.0.2.17"), out;
	char s[UH_IP_STR];

	assert_true(uh_cidr_contains(&p, &a));
	assert_false(uh_cidr_contains(&p, &(struct uh_ip){0}));
	a = ip("192.0.2.32");
	assert_false(uh_cidr_contains(&p, &a));
	a = ip("2001:db8:0:1::101");
	assert_false(uh_cidr_contains(&p, &a)); /* other family */
	assert_true(uh_cidr_contains(&p6, &a));
	/* network and broadcast are not instance addresses; /31 and /32 have none */
	a = ip("192.0.2.16");
	assert_false(uh_cidr_usable(&p, &a));
	a = ip("192.0.2.31");
	assert_false(uh_cidr_usable(&p, &a));
	a = ip("192.0.2.30");
	assert_true(uh_cidr_usable(&p, &a));
	{
		struct uh_cidr one = cidr("192.0.2.7/32"), two = cidr("192.0.2.6/31");
		a = ip("192.0.2.7");
		assert_true(uh_cidr_usable(&one, &a));
		assert_true(uh_cidr_usable(&two, &a));
	}
	a = ip("2001:db8:0:1::100");
	assert_false(uh_cidr_usable(&p6, &a)); /* subnet-router anycast */
	/* nth with carries across bytes */
	assert_int_equal(uh_cidr_nth(&p, 1, &out), 0);
	uh_ip_format(&out, s);
	assert_string_equal(s, "192.0.2.17");
	assert_int_equal(uh_cidr_nth(&p, 16, &out), -1);
	{
		struct uh_cidr big = cidr("10.0.0.0/8");
		assert_int_equal(uh_cidr_nth(&big, 0x10203, &out), 0);
		uh_ip_format(&out, s);
		assert_string_equal(s, "10.1.2.3");
		assert_int_equal(uh_cidr_walk_size(&big), 1 << 20);
	}
	assert_int_equal(uh_cidr_nth(&p6, 255, &out), 0);
	uh_ip_format(&out, s);
	assert_string_equal(s, "2001:db8:0:1::1ff");
	{
		struct uh_cidr v6 = cidr("2001:db8::/64");
		assert_int_equal(uh_cidr_walk_size(&v6), 1 << 20); /* never walked to its end */
		assert_int_equal(uh_cidr_nth(&v6, 0x1ffff, &out), 0);
		uh_ip_format(&out, s);
		assert_string_equal(s, "2001:db8::1:ffff");
	}
	assert_int_equal(uh_cidr_walk_size(&p), 16);
}

static void test_overlap(void **state)
{
	struct uh_cidr a = cidr("192.0.2.0/24"), b = cidr("192.0.2.16/28"), c = cidr("192.0.3.0/24"),
		       d = cidr("2001:db8::/32"), e = cidr("0.0.0.0/0");

	assert_true(uh_cidr_overlap(&a, &b));
	assert_true(uh_cidr_overlap(&b, &a));
	assert_false(uh_cidr_overlap(&a, &c));
	assert_false(uh_cidr_overlap(&a, &d));
	assert_true(uh_cidr_overlap(&e, &c));
	assert_true(uh_cidr_overlap(&a, &a));
}

static void test_mac_and_tap(void **state)
{
	uint8_t mac[6], mac2[6];
	char s[UH_MAC_STR], tap[16];
	struct uh_ip a = ip("192.0.2.17"), b = ip("2001:db8::101"), c = ip("2001:db8::102");

	uh_mac_for(&a, mac);
	uh_mac_format(mac, s);
	assert_string_equal(s, "02:75:c0:00:02:11");
	uh_tap_name_for(mac, tap);
	assert_string_equal(tap, "uh-c0000211");
	assert_true(strlen(tap) < 16);
	uh_mac_for(&b, mac);
	assert_int_equal(mac[0], 0x02); /* locally administered, unicast */
	assert_int_equal(mac[1], 0x76);
	uh_mac_for(&b, mac2);
	assert_memory_equal(mac, mac2, 6); /* deterministic */
	uh_mac_for(&c, mac2);
	assert_memory_not_equal(mac, mac2, 6);
}

static void test_guard_script(void **state)
{
	char buf[4096];
	struct uh_nft_guard g4 = {"uh-c0000211", "02:75:c0:00:02:11", ip("192.0.2.17")};
	struct uh_nft_guard g6 = {"uh-7314be6a", "02:76:73:14:be:6a", ip("2001:db8:0:1::101")};

	assert_int_equal(uh_nft_guard_script(&g4, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "add chain netdev umlhost guard-uh-c0000211 { type filter hook "
				    "ingress device \"uh-c0000211\" priority -500; policy accept; }"));
	assert_non_null(strstr(buf, "ether saddr != 02:75:c0:00:02:11 counter drop"));
	assert_non_null(strstr(buf, "arp saddr ip != 192.0.2.17 counter drop"));
	assert_non_null(strstr(buf, "ip saddr != 192.0.2.17 counter drop"));
	assert_non_null(strstr(buf, "udp sport 67 counter drop"));
	assert_non_null(strstr(buf, "ether type { ip, arp } accept"));
	assert_null(strstr(buf, "ip6"));
	/* the last rule drops whatever was not accepted */
	assert_non_null(strstr(buf, "guard-uh-c0000211 counter drop\n"));
	assert_int_equal(uh_nft_guard_script(&g6, buf, sizeof(buf)), 0);
	/* its own link-local only (EUI-64 of 02:76:73:14:be:6a), not all of fe80::/10 */
	assert_non_null(strstr(buf, "ip6 saddr != { 2001:db8:0:1::101, fe80::76:73ff:fe14:be6a, :: } "
				    "counter drop"));
	assert_null(strstr(buf, "fe80::/10"));
	assert_non_null(strstr(buf, "nd-router-advert"));
	assert_non_null(strstr(buf, "@th,64,128 != 0x20010db8000000010000000000000101 "
				    "@th,64,128 != 0xfe80000000000000007673fffe14be6a"));
	assert_non_null(strstr(buf, "ether type ip6 accept"));
	assert_null(strstr(buf, "arp"));
	assert_int_equal(uh_nft_guard_script(&g4, buf, 100), -1); /* too small: no partial script */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),	    cmocka_unit_test(test_pools),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_overlap),	    cmocka_unit_test(test_mac_and_tap),
		cmocka_unit_test(test_guard_script),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
