#!/bin/bash
# End-to-end: the network plumbing of src/net (taps, addresses, routes, sysctls over netlink
# and ioctls), entirely inside a network namespace this test creates and deletes. Addresses
# come from 192.0.2.0/24 and 169.254.0.0/16 and exist only in that namespace.
source "$(dirname "$0")/lib.sh"
need
NETPROBE=${NETPROBE:?set NETPROBE to the net_probe test binary}
NS=uhnet-$$
ip netns add "$NS" || die "ip netns add failed"
trap 'ip netns del "$NS" 2>/dev/null; cleanup' EXIT
N() { ip netns exec "$NS" "$@"; }

run N "$NETPROBE" tap uhtap0 200123 up uhtap0 addr uhtap0 169.254.0.1/32 \
	route uhtap0 192.0.2.10/32 sysctl uhtap0 proxy_arp 1
check "tap + up + address + /32 route + proxy_arp: exit 0" test $rc = 0 || echo "#   $err_out"
check "the tap exists, is a tap, owned by uid 200123" \
	bash -c "ip netns exec $NS ip -d link show uhtap0 | grep -q 'tun type tap.*user 200123'"
check "it is persistent (outlived the process that made it) and up" \
	bash -c "ip netns exec $NS ip link show uhtap0 | grep -q 'UP'"
check "its address is 169.254.0.1/32" bash -c "ip netns exec $NS ip -4 addr show uhtap0 | grep -q 'inet 169.254.0.1/32'"
check "a /32 route to 192.0.2.10 through it" \
	bash -c "ip netns exec $NS ip route show 192.0.2.10 | grep -q '192.0.2.10 dev uhtap0'"
check "proxy_arp on it" test "$(N cat /proc/sys/net/ipv4/conf/uhtap0/proxy_arp)" = 1

run N "$NETPROBE" tap uhtap0 200123
check "creating it again: EEXIST, named" matches "$rc:$err_out" "1:net_probe: tap uhtap0: an interface of that name exists"
run N "$NETPROBE" addr uhtap0 169.254.0.1/32
check "the same address again: the kernel's error" matches "$rc:$err_out" "1:net_probe: uhtap0: 169.254.0.1/32: add address: File exists*"
run N "$NETPROBE" route nosuch0 192.0.2.11/32
check "a route via a missing interface: clear error" matches "$rc:$err_out" "1:net_probe: route 192.0.2.11/32 via nosuch0: no such interface"
run N "$NETPROBE" route uhtap0 192.0.2.10/40
check "an invalid prefix: the kernel's extended ack text" matches "$rc:$err_out" "1:net_probe: 192.0.2.10/40 via uhtap0: add route: Invalid argument (*)"

run N "$NETPROBE" unroute uhtap0 192.0.2.10/32 unaddr uhtap0 169.254.0.1/32 del uhtap0
check "route, address and tap removed" bash -c "test $rc = 0 && ! ip netns exec $NS ip link show uhtap0 2>/dev/null"
check "nothing of it in the namespace" bash -c "test -z \"\$(ip netns exec $NS ip route show 192.0.2.10)\""
check "the host never saw it" bash -c "! ip link show uhtap0 2>/dev/null"

finish
