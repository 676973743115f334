/* rtnetlink over libmnl: one socket, one request at a time, each acknowledged, with the
 * kernel's extended-ack text in the error ("Nexthop device is not up" rather than EINVAL). */
#ifndef UH_NET_NETLINK_H
#define UH_NET_NETLINK_H

#include <netinet/in.h>
#include <stdint.h>

#include "net/addr.h"
#include "util/error.h"

struct uh_nl;

int uh_nl_open(struct uh_nl **out, struct uh_error *err);
void uh_nl_close(struct uh_nl *nl);

/* Interface index of `ifname`, 0 when it does not exist. */
unsigned int uh_nl_ifindex(const char *ifname);
/* Set an interface up or down. */
int uh_nl_link_set_up(struct uh_nl *nl, const char *ifname, int up, struct uh_error *err);
/* Delete an interface. */
int uh_nl_link_del(struct uh_nl *nl, const char *ifname, struct uh_error *err);
/* Add (or delete) an address prefix on an interface (IPv6: no duplicate detection). */
int uh_nl_addr(struct uh_nl *nl, const char *ifname, const struct uh_ip *ip, int prefix, int add,
	       struct uh_error *err);
/* Add (or delete) a route to dst/prefix through ifname (no gateway: on-link). */
int uh_nl_route(struct uh_nl *nl, const char *ifname, const struct uh_ip *dst, int prefix,
		int add, struct uh_error *err);
/* Add (or delete) a permanent neighbour proxy entry (IPv6 proxy NDP) for ip on ifname. */
int uh_nl_neigh_proxy(struct uh_nl *nl, const char *ifname, const struct uh_ip *ip, int add,
		      struct uh_error *err);
/* Enslave ifname to a bridge (master NULL: release it). */
int uh_nl_link_set_master(struct uh_nl *nl, const char *ifname, const char *master,
			  struct uh_error *err);
/* The interface's alias (ifalias): umlhost marks the taps it owns with it. */
int uh_nl_link_set_alias(struct uh_nl *nl, const char *ifname, const char *alias,
			 struct uh_error *err);

struct uh_link_info {
	unsigned int index;
	char name[16];
	char alias[256];
	char kind[16]; /* "bridge", "tun", "veth"; "" for a plain device */
	unsigned int master; /* ifindex of its bridge, 0 if none */
	int up;
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets; /* as the host sees the interface */
	uint64_t rx_dropped, tx_dropped;
};

/* Every interface; fn returning non-zero stops the walk. */
int uh_nl_link_list(struct uh_nl *nl, int (*fn)(const struct uh_link_info *l, void *arg),
		    void *arg, struct uh_error *err);
/* One interface; ENODEV when it does not exist. */
int uh_nl_link_get(struct uh_nl *nl, const char *ifname, struct uh_link_info *out,
		   struct uh_error *err);

/* /proc/sys/net/{ipv4,ipv6}/conf/<ifname>/<key> = value (proxy_arp, proxy_ndp, forwarding). */
int uh_net_sysctl_if(int family, const char *ifname, const char *key, const char *value,
		     struct uh_error *err);

#endif
