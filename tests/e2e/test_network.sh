#!/bin/bash
# Networking end to end, entirely inside two network namespaces this test creates and deletes:
# "host" runs umlhostd with a routed network on a veth uplink (up0) and a bridge (br0, with
# a second veth); "internet" is the other end of both veths. Instances are busybox guests
# serving HTTP on 192.0.2.0/24, 198.51.100.0/24 and 2001:db8:0:1::/64, addresses that exist
# only in these namespaces.
. "$(dirname "$0")/lib.sh"
need
command -v nft > /dev/null || die "nft missing (apt-get install nftables)"
command -v curl > /dev/null || die "curl missing (apt-get install curl)"

routed_pair
ip link add up1 netns "$H" type veth peer name inet1 netns "$I" || die "veth"
hx ip addr add 2001:db8:0:1::1/64 dev up0 nodad
hx ip link add br0 type bridge
hx ip link set up1 master br0
hx ip link set up1 up
hx ip link set br0 up
ix ip addr add 2001:db8:0:1::ffff/64 dev inet0 nodad
ix ip link set inet1 up
ix ip addr add 198.51.100.254/24 dev inet1

make_image "$W/bb.img" 64M
DAEMON_NETNS=$H start_daemon
use_hosting_kernel
run U template import bb "$W/bb.img"

# ---- bad input: clear errors, nothing created
run U network create pub --mode routed --pool 192.0.2.16/28 --uplink nosuch0
check "an uplink that does not exist is refused" matches "$rc:$err_out" "1:*uplink 'nosuch0' does not exist*"
run U network create pub --mode routed --pool 192.0.2.17/28 --uplink up0
check "a pool with host bits set is refused" matches "$rc:$err_out" "1:*host bits set*192.0.2.16/28*"
run U network create pub --mode routed --pool 192.0.2.16/28 --uplink up0
check "a routed network is created" test "$rc" = 0
run U network create pub2 --mode routed --pool 192.0.2.0/24 --uplink up0
check "an overlapping pool is refused, naming the other network" matches "$rc:$err_out" "1:*overlaps network pub (192.0.2.16/28)*"
run U network create lan --mode bridge --bridge up0 --pool 198.51.100.0/24
check "a bridge network on a non-bridge is refused" matches "$rc:$err_out" "1:*'up0' is not a bridge*"
run U network create lan --mode bridge --bridge br0 --pool 198.51.100.0/24 --gateway 203.0.113.1
check "a gateway outside the pool is refused" matches "$rc:$err_out" "1:*gateway 203.0.113.1 is outside the pool*"
check "nothing half-created: one network" test "$(U --json network list | jq_get 'len(d)')" = 1

run U create bad1 --template bb --network pub --ip 192.0.2.99
check "an address outside the pool is refused" matches "$rc:$err_out" "1:*address 192.0.2.99 is outside network pub's pool 192.0.2.16/28*"
run U create bad2 --template bb --network pub --ip 192.0.2.16
check "the pool's network address is refused" matches "$rc:$err_out" "1:*not an instance address*"
run U create bad3 --template bb --network nosuch
check "an unknown network is refused" matches "$rc:$err_out" "1:*unknown network 'nosuch'*"

# ---- three routed instances serving HTTP
run U create a1 --template bb --network pub --kernel-arg uhmode=httpd
check "a1 gets the pool's first address" matches "$rc:$out" "0:*192.0.2.17 on pub*"
run U create a3 --template bb --network pub --ip 192.0.2.30 --kernel-arg uhmode=httpd
check "--ip picks an address" matches "$rc:$out" "0:*192.0.2.30 on pub*"
run U create a2 --template bb --network pub --kernel-arg uhmode=httpd
check "a2 gets the next free address" matches "$rc:$out" "0:*192.0.2.18 on pub*"
run U create bad4 --template bb --network pub --ip 192.0.2.30
check "a taken address is refused" matches "$rc:$err_out" "1:*address 192.0.2.30 is already taken*"
check "nothing half-created: three instances" test "$(U --json list | jq_get 'len(d)')" = 3
check "MAC derived from the address" test "$(U --json show a1 | jq_get 'd["mac"]')" = "02:75:c0:00:02:11"
TAP1=$(U --json show a1 | jq_get 'd["tap"]')
TAP2=$(U --json show a2 | jq_get 'd["tap"]')
TAP3=$(U --json show a3 | jq_get 'd["tap"]')
check "no tap before start" test -z "$(hx ip -o link show type tun)"

for n in a1 a2 a3; do run U start "$n"; check "$n starts" test "$rc" = 0; done
for n in a1 a2 a3; do wait_log "$n" UH-HTTPD-UP 30 || not_ok "$n: httpd up"; done
check "three taps, owned by the instances' uids" test "$(hx ip -o link show type tun | grep -c ' uh-')" = 3
check "the tap belongs to the instance's uid" test "$(hx cat "/sys/class/net/$TAP1/owner")" = "$(U --json show a1 | jq_get 'd["uid"]')"
P1=$(U --json show a1 | jq_get 'd["pid"]')
check "its jail has a /dev/net/tun of its own, owned by its uid" test "$(stat -c '%u %t:%T %a' "/proc/$P1/root/dev/net/tun")" = "$(U --json show a1 | jq_get 'd["uid"]') a:c8 600"
check "a /32 route to each instance through its tap" test "$(hx ip -4 route show 192.0.2.17/32)" = "192.0.2.17 dev $TAP1 proto static scope link "
check "proxy ARP on the uplink" test "$(hx cat /proc/sys/net/ipv4/conf/up0/proxy_arp)" = 1
for ip in 192.0.2.17 192.0.2.18 192.0.2.30; do
	page=$(ix curl -s -m 10 --retry 3 --retry-connrefused "http://$ip/")
	check "internet fetches the page of $ip" matches "$page" "hello from a? at $ip"
done
check "each page names its own instance" test "$(ix curl -s -m 5 http://192.0.2.30/)" = "hello from a3 at 192.0.2.30"

# ---- accounting: a download shows up in stats
tx0=$(U --json stats a2 | jq_get 'd["tx_bytes"]')
size=$(ix curl -s -m 30 -o /dev/null -w '%{size_download}' http://192.0.2.18/big.bin)
tx1=$(U --json stats a2 | jq_get 'd["tx_bytes"]')
check "downloaded big.bin (4 MiB) from a2" test "$size" = 4194304
check "stats tx_bytes grew by at least the file ($tx0 -> $tx1)" test $((tx1 - tx0)) -ge 4194304
rx1=$(U --json stats a2 | jq_get 'd["rx_packets"]')
check "stats rx_packets counted the requests' packets" test "$rx1" -gt 0

# ---- anti-spoofing: a2 forges a1's address, then a forged MAC
ix nft -f - << 'EOF'
table inet probe {
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		ip saddr 192.0.2.17 icmp type echo-request counter
		ip saddr 192.0.2.18 icmp type echo-request counter
	}
}
EOF
hx nft -f - << EOF
table ip probe {
	chain fw {
		type filter hook forward priority 0; policy accept;
		ip saddr 192.0.2.17 iifname != "$TAP1" counter
		ip saddr 192.0.2.18 oifname "$TAP3" counter
	}
}
EOF
# counters in rule order: the Nth "packets N" of a ruleset listing
counter() { "$1" nft list table "$2" probe | grep -o 'packets [0-9]*' | sed -n "$3p" | cut -d' ' -f2; }
run guest_sh a2 'ping -c 2 -W 2 192.0.2.254'
check "a2's own traffic flows (ping the internet)" matches "$out" "*2 packets received*"
check "the internet counted a2's pings" test "$(counter ix inet 2)" -ge 2
run guest_sh a2 'ip addr add 192.0.2.17/32 dev vec0; ping -c 3 -W 1 -I 192.0.2.17 192.0.2.254; ping -c 3 -W 1 -I 192.0.2.17 192.0.2.30; arping -c 2 -U -s 192.0.2.17 -I vec0 169.254.0.1; ip addr del 192.0.2.17/32 dev vec0'
check "a2's pings with a1's address are not answered" matches "$out" "*0 packets received*"
check "nothing with a1's address reached the internet" test "$(counter ix inet 1)" = 0
check "nothing with a1's address was forwarded from a2 (to a3 or out)" test "$(counter hx ip 1)" = 0
drops=$(hx nft list chain netdev umlhost "guard-$TAP2" | grep -E 'ip saddr !=|arp saddr ip !=' | grep -o 'packets [0-9]*' | awk '{s+=$2} END{print s}')
check "a2's guard chain dropped the forged packets ($drops)" test "$drops" -ge 6
check "the host did not learn a1's address at a2's tap" test -z "$(hx ip neigh show 192.0.2.17 dev "$TAP2")"
before=$(counter ix inet 2)
# the address changes only on a down link; the routes go with it
relink='ip route add 169.254.0.1 dev vec0; ip route add default via 169.254.0.1'
run guest_sh a2 "ip link set vec0 down; ip link set vec0 address 02:00:00:00:00:99; ip link set vec0 up; $relink; ip link show vec0; ping -c 3 -W 1 192.0.2.254; ping -c 3 -W 1 192.0.2.30; ip link set vec0 down; ip link set vec0 address 02:75:c0:00:02:12; ip link set vec0 up; $relink"
check "a2's MAC was forged" matches "$out" "*02:00:00:00:00:99*"
check "with a forged MAC nothing reaches the internet" test "$(counter ix inet 2)" = "$before"
check "with a forged MAC nothing reaches the neighbour a3" test "$(counter hx ip 2)" = 0
run guest_sh a2 'ping -c 2 -W 2 192.0.2.254'
check "with its own MAC back, a2 reaches the internet again" matches "$out" "*2 packets received*"
hx nft delete table ip probe
ix nft delete table inet probe

# ---- `nft flush ruleset` in the daemon's namespace (Debian's nftables.conf starts with one)
# removes every guard; within guard_check_seconds (10) they are back and a forged packet is
# dropped again (issue 14, item 3)
# flush and look in one shell: the daemon's periodic check may fall between two `ip netns exec`
# on a loaded machine and remake the guards before the test has seen them gone
after=$(hx sh -c 'nft flush ruleset && nft list tables')
check "the flush removed the guards" test -z "$(printf '%s' "$after" | grep umlhost)"
for i in $(seq 75); do [ "$(hx nft list table netdev umlhost 2> /dev/null | grep -c 'chain guard-')" = 3 ] && break; sleep 0.2; done
check "within the check period all three guard chains are back" test "$(hx nft list table netdev umlhost 2> /dev/null | grep -c 'chain guard-')" = 3
check "an event per restored guard" test "$(U events | grep -c 'guard-restored')" = 3
run guest_sh a2 'ip addr add 192.0.2.17/32 dev vec0; ping -c 3 -W 1 -I 192.0.2.17 192.0.2.254; ip addr del 192.0.2.17/32 dev vec0'
drops=$(hx nft list chain netdev umlhost "guard-$TAP2" | grep -E 'ip saddr !=' | grep -o 'packets [0-9]*' | awk '{s+=$2} END{print s}')
check "the restored guard drops a forged address again ($drops)" test "${drops:-0}" -ge 3
run guest_sh a2 'ping -c 2 -W 2 192.0.2.254'
check "and a2's own traffic still flows" matches "$out" "*2 packets received*"

# ---- `nft flush chain` empties one guard and leaves the chain (policy accept): noticed by
# its rule count and made again within the check period
rules_of() { hx nft list chain netdev umlhost "guard-$1" 2> /dev/null | grep -c -E ' (drop|accept)$'; }
whole=$(rules_of "$TAP2")
after=$(hx sh -c "nft flush chain netdev umlhost guard-$TAP2 && nft list chain netdev umlhost guard-$TAP2" | grep -c -E ' (drop|accept)$')
check "the flush emptied a2's guard ($whole rules -> $after)" test "$after" = 0 -a "$whole" -gt 3
for i in $(seq 75); do [ "$(rules_of "$TAP2")" = "$whole" ] && break; sleep 0.2; done
check "within the check period a2's guard is whole again ($(rules_of "$TAP2") rules)" test "$(rules_of "$TAP2")" = "$whole"
check "an event says it was changed" matches "$(U events | grep ' a2 ' | grep guard-restored | tail -n 1)" "*was changed (rules flushed or edited); made again*"
run guest_sh a2 'ip addr add 192.0.2.17/32 dev vec0; ping -c 3 -W 1 -I 192.0.2.17 192.0.2.254; ip addr del 192.0.2.17/32 dev vec0'
drops=$(hx nft list chain netdev umlhost "guard-$TAP2" | grep -E 'ip saddr !=' | grep -o 'packets [0-9]*' | awk '{s+=$2} END{print s}')
check "the remade guard drops a forged address again ($drops)" test "${drops:-0}" -ge 3

# ---- re-adoption after a daemon crash: nothing duplicated, still serving
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null
DAEMON_NETNS=$H start_daemon
check "after a daemon restart still three taps" test "$(hx ip -o link show type tun | grep -c ' uh-')" = 3
check "after a daemon restart still one route per instance" test "$(hx ip -4 route show | grep -c ' dev uh-')" = 3
check "after a daemon restart still three guard chains" test "$(hx nft list table netdev umlhost | grep -c 'chain guard-')" = 3
check "a1 still serves after the daemon restart" matches "$(ix curl -s -m 5 http://192.0.2.17/)" "hello from a1*"
check "traffic totals survive the daemon restart" test "$(U --json stats a2 | jq_get 'd["tx_bytes"]')" -ge "$tx1"

# ---- a crashed daemon's leftovers: an instance that died while it was down, an orphan
# chain, a tap of ours nobody owns
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null
kill -9 "$(cut -d' ' -f1 "$W/run/i/a3/uml.pid")"
hx ip tuntap add dev uh-deadbeef mode tap
hx ip link set dev uh-deadbeef alias "umlhost:ghost:$W/state"
hx ip tuntap add dev uh-orphan mode tap
hx nft add chain netdev umlhost guard-uh-orphan "{ type filter hook ingress device uh-orphan priority -500; policy accept; }"
hx ip link del uh-orphan
hx ip tuntap add dev uh-notours mode tap
hx ip link set dev uh-notours alias "umlhost:x:/some/other/state"
sleep 0.5
DAEMON_NETNS=$H start_daemon
wait_state a3 crashed 10 || true
check "a3 (killed while the daemon was down) is found crashed" test "$(inst_state a3)" = crashed
check "a3's tap is gone" test -z "$(hx ip -o link show dev "$TAP3" 2> /dev/null)"
check "a3's guard chain is gone" test -z "$(hx nft list table netdev umlhost | grep "guard-$TAP3")"
check "our orphan tap is removed" test -z "$(hx ip -o link show dev uh-deadbeef 2> /dev/null)"
check "an orphan guard chain is removed" test -z "$(hx nft list table netdev umlhost | grep 'guard-uh-orphan')"
check "another daemon's tap is left alone" test -n "$(hx ip -o link show dev uh-notours 2> /dev/null)"
hx ip link del uh-notours

# ---- bridge mode
run U network create lan --mode bridge --bridge br0 --pool 198.51.100.0/24 --gateway 198.51.100.1
check "a bridge network is created" test "$rc" = 0
run U create b1 --template bb --network lan --kernel-arg uhmode=httpd
check "b1 skips the network address and the gateway" matches "$rc:$out" "0:*198.51.100.2 on lan*"
run U start b1
check "b1 starts" test "$rc" = 0
wait_log b1 UH-HTTPD-UP 30 || not_ok "b1: httpd up"
TAPB=$(U --json show b1 | jq_get 'd["tap"]')
check "b1's tap is a port of br0" matches "$(hx ip -o link show dev "$TAPB")" "* master br0 *"
check "internet fetches b1's page through the bridge" test "$(ix curl -s -m 10 --retry 3 --retry-connrefused http://198.51.100.2/)" = "hello from b1 at 198.51.100.2"
run guest_sh b1 'ip addr add 198.51.100.77/24 dev vec0; ping -c 2 -W 1 -I 198.51.100.77 198.51.100.254; ip addr del 198.51.100.77/24 dev vec0'
check "on the bridge a forged address gets nowhere either" matches "$out" "*0 packets received*"

# ---- IPv6, routed: /128 route + proxy NDP on the uplink
run U network create pub6 --mode routed --pool 2001:db8:0:1::100/120 --uplink up0
check "an IPv6 routed network is created" test "$rc" = 0
run U create v1 --template bb --network pub6 --kernel-arg uhmode=httpd
check "v1 gets the IPv6 pool's first address" matches "$rc:$out" "0:*2001:db8:0:1::101 on pub6*"
run U start v1
check "v1 starts" test "$rc" = 0
wait_log v1 UH-HTTPD-UP 30 || not_ok "v1: httpd up"
check "a proxy NDP entry on the uplink" matches "$(hx ip -6 neigh show proxy)" "*2001:db8:0:1::101 dev up0*"
check "v1 configured its address from the kernel command line" wait_log v1 'UH-NET-UP 2001:db8:0:1::101' 5
check "internet fetches v1's page over IPv6" matches "$(ix curl -s -m 10 --retry 5 --retry-connrefused --retry-delay 1 'http://[2001:db8:0:1::101]/')" "hello from v1 at 2001:db8:0:1::101"

# ---- after stopping everything nothing of umlhost remains
for n in a1 a2 b1 v1; do run U stop "$n"; check "$n stops" test "$rc" = 0; done
check "no tap remains" test -z "$(hx ip -o link show type tun)"
check "no route through a tap remains" test -z "$({ hx ip route show; hx ip -6 route show; } | grep uh-)"
check "no proxy NDP entry remains" test -z "$(hx ip -6 neigh show proxy)"
check "no guard chain remains" test -z "$(hx nft list table netdev umlhost | grep chain)"

# ---- rm: refused while used, then released
run U network rm pub
check "a network in use cannot be removed" matches "$rc:$err_out" "1:*used by instance a1*"
for n in a1 a2 a3; do U delete "$n" > /dev/null; done
run U create a4 --template bb --network pub
check "a deleted instance's address is free again" matches "$rc:$out" "0:*192.0.2.17 on pub*"
U delete a4 > /dev/null
run U network rm pub
check "an unused network is removed" test "$rc" = 0
finish
