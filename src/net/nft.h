/* Anti-spoofing with libnftables: one chain per instance tap in the `netdev umlhost` table,
 * hooked at the tap's ingress (before bridging and routing), so that only the instance's own
 * MAC and address leave it: no forged Ethernet or IP source, no ARP for someone else's
 * address, no DHCP server, no IPv6 router advertisements or redirects, no neighbour
 * advertisements for foreign targets, nothing but IPv4+ARP (or IPv6) at all. Every rule
 * counts what it drops. */
#ifndef UH_NET_NFT_H
#define UH_NET_NFT_H

#include <stddef.h>

#include "net/addr.h"
#include "util/error.h"

#define UH_NFT_TABLE "umlhost"
#define UH_NFT_CHAIN_PREFIX "guard-"

struct uh_nft_guard {
	const char *tap;
	const char *mac; /* "02:75:c0:00:02:0a" */
	struct uh_ip ip;
};

/* The nft script that creates the chain (pure; unit tested). -1 if it does not fit. */
int uh_nft_guard_script(const struct uh_nft_guard *g, char *buf, size_t len);
/* Create the table if needed and the tap's chain, in one transaction. */
int uh_nft_guard_add(const struct uh_nft_guard *g, struct uh_error *err);
/* Delete the tap's chain; 0 when it did not exist. */
int uh_nft_guard_del(const char *tap, struct uh_error *err);
/* How many rules the tap's chain holds when whole (what uh_nft_guard_script adds). */
int uh_nft_guard_rules(const struct uh_nft_guard *g);
/* Call fn with the tap name of every guard chain in the table and the rules it holds now. */
int uh_nft_guard_list(int (*fn)(const char *tap, int rules, void *arg), void *arg,
		      struct uh_error *err);

#endif
