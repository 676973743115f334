/* rtnetlink over libmnl: one socket, one request at a time, each acknowledged, with the
 * kernel's extended-ack text in the error ("Nexthop device is not up" rather than EINVAL). */
#ifndef UH_NET_NETLINK_H
#define UH_NET_NETLINK_H

#include <netinet/in.h>
#include <stdint.h>

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
/* Add (or delete) an IPv4 address prefix on an interface. */
int uh_nl_addr4(struct uh_nl *nl, const char *ifname, struct in_addr addr, int prefix, int add,
		struct uh_error *err);
/* Add (or delete) a route to dst/prefix through ifname (no gateway: on-link). */
int uh_nl_route4(struct uh_nl *nl, const char *ifname, struct in_addr dst, int prefix, int add,
		 struct uh_error *err);

/* /proc/sys/net/ipv4/conf/<ifname>/<key> = value (e.g. proxy_arp, forwarding). */
int uh_net_sysctl_if(const char *ifname, const char *key, const char *value, struct uh_error *err);

#endif
