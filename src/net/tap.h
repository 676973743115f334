/* TAP devices for instances: persistent (they outlive the descriptor that made them),
 * owned by the instance's uid/gid so the jailed kernel can attach through /dev/net/tun, and
 * made fresh on every start (offload settings a transport left on an old tap break TCP for the
 * next, measured). Creation is the TUNSETIFF/TUNSETPERSIST ioctls; everything else netlink. */
#ifndef UH_NET_TAP_H
#define UH_NET_TAP_H

#include <sys/types.h>

#include "util/error.h"

/* Create the persistent tap `ifname` owned by uid/gid. Fails with EEXIST if it exists. */
int uh_tap_create(const char *ifname, uid_t uid, gid_t gid, struct uh_error *err);

#endif
