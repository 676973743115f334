/* libFuzzer target: the address and pool parsers get arbitrary bytes (an API caller's
 * --pool, --ip and --gateway reach them unfiltered), and what they accept must hold up: a
 * parsed pool formats back to itself, contains its own addresses, and the anti-spoofing script
 * built for any parsed address fits and names it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "net/addr.h"
#include "net/nft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[128], back[UH_CIDR_STR], script[4096];
	struct uh_cidr c, c2;
	struct uh_ip ip, nth;
	struct uh_error err;
	uint8_t mac[6];
	char macs[UH_MAC_STR], tap[16];

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (uh_cidr_parse(s, &c, &err) == 0) {
		uh_cidr_format(&c, back);
		if (uh_cidr_parse(back, &c2, &err) != 0 || !uh_ip_equal(&c.ip, &c2.ip) ||
		    c.prefix != c2.prefix)
			__builtin_trap();
		if (!uh_cidr_overlap(&c, &c2) || !uh_cidr_contains(&c, &c.ip))
			__builtin_trap();
		for (uint64_t k = 0; k < 4 && k < uh_cidr_walk_size(&c); k++)
			if (uh_cidr_nth(&c, k, &nth) == 0 && !uh_cidr_contains(&c, &nth))
				__builtin_trap();
	}
	if (uh_ip_parse(s, &ip, &err) == 0) {
		char a[UH_IP_STR];
		struct uh_nft_guard g = {"uh-00000000", "02:75:00:00:00:00", ip};

		uh_ip_format(&ip, a);
		uh_mac_for(&ip, mac);
		uh_mac_format(mac, macs);
		uh_tap_name_for(mac, tap);
		if ((mac[0] & 3) != 2 || strlen(tap) >= 16 || strncmp(tap, "uh-", 3) != 0)
			__builtin_trap();
		g.tap = tap;
		g.mac = macs;
		if (uh_nft_guard_script(&g, script, sizeof(script)) != 0 || !strstr(script, a))
			__builtin_trap();
	}
	return 0;
}
