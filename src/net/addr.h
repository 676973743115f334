/* IP addresses, pools and the names derived from them. Pure functions (no system calls), unit
 * tested: parsing what an admin types, pool arithmetic for allocation, and the deterministic
 * MAC and tap name of an instance. */
#ifndef UH_NET_ADDR_H
#define UH_NET_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct uh_ip {
	int family; /* AF_INET or AF_INET6 */
	uint8_t a[16]; /* network byte order; IPv4 in the first 4 bytes */
};

struct uh_cidr {
	struct uh_ip ip; /* the network address (host bits cleared) */
	int prefix;
};

#define UH_IP_STR 46     /* INET6_ADDRSTRLEN */
#define UH_CIDR_STR 50
#define UH_MAC_STR 18
#define UH_TAP_PREFIX "uh-"

/* "192.0.2.7" or "2001:db8::7". */
int uh_ip_parse(const char *s, struct uh_ip *ip, struct uh_error *err);
/* "192.0.2.0/24"; the host bits must be zero (a typo in a pool should not be guessed at). */
int uh_cidr_parse(const char *s, struct uh_cidr *c, struct uh_error *err);
void uh_ip_format(const struct uh_ip *ip, char out[UH_IP_STR]);
/* "192.0.2.7:8443" or "[2001:db8::7]:8443": an address and a port 1-65535. */
int uh_hostport_parse(const char *s, struct uh_ip *ip, int *port, struct uh_error *err);
void uh_cidr_format(const struct uh_cidr *c, char out[UH_CIDR_STR]);
int uh_ip_equal(const struct uh_ip *a, const struct uh_ip *b);
int uh_ip_len(int family); /* 4 or 16 */

int uh_cidr_contains(const struct uh_cidr *c, const struct uh_ip *ip);
int uh_cidr_overlap(const struct uh_cidr *a, const struct uh_cidr *b);
/* Whether `ip` may be given to an instance: inside the pool and, for IPv4 pools of /30 and
 * wider, neither the network nor the broadcast address; for IPv6 not the subnet-router
 * anycast address (host part zero). */
int uh_cidr_usable(const struct uh_cidr *c, const struct uh_ip *ip);
/* The n-th address of the pool (0 = network address). -1 when n is beyond it. */
int uh_cidr_nth(const struct uh_cidr *c, uint64_t n, struct uh_ip *out);
/* How many addresses a search walks: the pool's size, capped at 2^20 (an IPv6 /64 is never
 * walked to its end). */
uint64_t uh_cidr_walk_size(const struct uh_cidr *c);

/* The instance's MAC: locally administered, unicast, derived from its address so that it is
 * stable across restarts and unique wherever the address is: IPv4 02:75:a:b:c:d, IPv6
 * 02:76 + the last four bytes of an FNV-1a hash of the address. */
void uh_mac_for(const struct uh_ip *ip, uint8_t mac[6]);
void uh_mac_format(const uint8_t mac[6], char out[UH_MAC_STR]);
/* The tap's name from the MAC's last four bytes: "uh-c000020a" (IFNAMSIZ-safe). */
void uh_tap_name_for(const uint8_t mac[6], char out[16]);

#endif
