#!/bin/bash
# The README's main command (run as root on Debian 12): install dependencies, build umlhost,
# start umlhostd, import a busybox template, create a routed network and two UML instances
# serving web pages on their own public IPs, fetch the pages from the "internet", talk to one
# over its console, kill one and fetch again, show list/stats/events, stop everything again.
# The network lives in two namespaces the demo creates (umlhost-demo-host, where umlhostd
# runs, and umlhost-demo-net, the internet); 192.0.2.0/24 exists only there.
#   scripts/demo.sh          run and clean up
#   scripts/demo.sh --keep   leave the daemon and instances running (prints how to reach them)
# Then a Debian bookworm server (Apache, SSH with a key given at create, cloud-init NoCloud) on
# its own address, fetched and logged into from the internet namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it installs packages and boots UML)"; exit 1; }
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
bash scripts/install-deps.sh
[ -d build ] || meson setup build > /dev/null
ninja -C build > /dev/null
B=$PWD/build/src
W=/tmp/umlhost-demo
export UMLHOST_SOCKET=$W/run/umlhost.sock
DPID=""
HN=umlhost-demo-host
IN=umlhost-demo-net
cleanup() {
	[ "$KEEP" = 1 ] && return
	if [ -n "$DPID" ]; then
		"$B/umlhost" stop web1 > /dev/null 2>&1 || true
		"$B/umlhost" stop web2 > /dev/null 2>&1 || true
		"$B/umlhost" stop deb1 > /dev/null 2>&1 || true
		kill "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	ip netns del "$HN" 2>/dev/null || true
	ip netns del "$IN" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
U() { echo "\$ umlhost $*"; "$B/umlhost" "$@"; }

if [ -S "$UMLHOST_SOCKET" ] && "$B/umlhost" list > /dev/null 2>&1; then
	echo "a demo daemon already runs on $UMLHOST_SOCKET; stop it first (kill its umlhostd)"
	exit 1
fi
rm -rf "$W"
mkdir -p "$W"
ip netns del "$HN" 2>/dev/null || true
ip netns del "$IN" 2>/dev/null || true

step "a host and an internet, as two network namespaces joined by a veth (up0 -- inet0)"
ip netns add "$HN"
ip netns add "$IN"
ip link add up0 netns "$HN" type veth peer name inet0 netns "$IN"
ip -n "$HN" link set lo up
ip -n "$HN" link set up0 up
ip -n "$HN" addr add 192.0.2.1/24 dev up0
ip -n "$IN" link set lo up
ip -n "$IN" link set inet0 up
ip -n "$IN" addr add 192.0.2.254/24 dev inet0
echo "host: up0 192.0.2.1/24    internet: inet0 192.0.2.254/24"

step "start umlhostd in the host namespace (state in $W/state, API socket $UMLHOST_SOCKET)"
nsenter --net=/run/netns/$HN "$B/umlhostd" --foreground --state-dir "$W/state" --run-dir "$W/run" > "$W/umlhostd.log" 2>&1 &
DPID=$!
for i in $(seq 100); do "$B/umlhost" list > /dev/null 2>&1 && break; sleep 0.05; done
grep -o 'host XSAVE area: .*' "$W/umlhostd.log" || true

step "a 64 MiB busybox image becomes a read-only template"
bash scripts/busybox-image.sh "$W/busybox.img" 64M
U template import busybox "$W/busybox.img"

step "the hosting kernel: Debian's kernel source with our patches (FPU state sized from the host at boot,"
echo "   so it runs on any x86-64 CPU), no hostfs, ~9x faster boot; built once, then cached"
echo "\$ umlhost kernel build hosting    # ~4 min the first time on 2 cores; progress below"
"$B/umlhost" kernel build hosting --config-fragment "$PWD/kernel/hosting.config" | grep -E '^kernel-build: |^built'
U kernel list
echo "# USABLE: can it run on this CPU (Debian's stock kernel only where the XSAVE area is at most 2696 bytes)"

step "a routed network: one public IP per instance, /32 route + proxy ARP on the uplink"
U network create pub --mode routed --pool 192.0.2.16/28 --uplink up0

step "two instances serving HTTP: each a COW over the template (instant), supervised, jailed"
U create web1 --template busybox --memory 64M --network pub --restart on-failure --kernel-arg uhmode=httpd
U create web2 --template busybox --memory 96M --network pub --kernel-arg uhmode=httpd
U start web1
U start web2
U list
fetch() { # fetch NAME: wait for its httpd, then GET its page from the internet namespace
	local ip
	ip=$("$B/umlhost" --json show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ip"])')
	for i in $(seq 100); do "$B/umlhost" logs "$1" | grep -q UH-HTTPD-UP && break; sleep 0.1; done
	echo "\$ ip netns exec $IN curl http://$ip/"
	ip netns exec "$IN" curl -s -m 10 --retry 3 --retry-connrefused "http://$ip/"
}

step "the internet fetches each instance's page from its own address"
fetch web1
fetch web2

step "type into web1's console (umlhost console web1 is interactive; Ctrl-] detaches)"
sleep 1.5
(sleep 0.5; printf 'uname -a; echo "hello from $(hostname) inside UML"\n'; sleep 1; printf '\035') |
	"$B/umlhost" console web1 2>/dev/null | tail -3

step "kill web1's kernel: the daemon restarts it (--restart on-failure)"
pid=$("$B/umlhost" --json show web1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
echo "\$ kill -9 $pid"
kill -9 "$pid"
for i in $(seq 50); do
	new=$("$B/umlhost" --json show web1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["pid"] if d["state"] == "running" else "")')
	[ -n "$new" ] && [ "$new" != "$pid" ] && break
	sleep 0.1
done
U list
fetch web1

step "a Debian bookworm server with Apache and SSH on its own address"
echo "# the template: mmdebstrap + mkfs.ext4 -d, no loop mount (~40 s once, then cached). On a host"
echo "# whose umlhostd reaches the Debian mirror, 'umlhost template build deb' does this itself;"
echo "# here the daemon lives in a namespace without one, so the builder runs beside it:"
echo "\$ umlhost-template-build --out debian.img && umlhost template import deb debian.img"
bash scripts/template-build.sh --out "$W/debian.img" --cache /var/cache/umlhost/templates |
	grep -E '^template-build: (suite|step|cached|done)'
"$B/umlhost" template import deb "$W/debian.img" > /dev/null
ssh-keygen -q -t ed25519 -N '' -C demo -f "$W/demo-key"
U create deb1 --template deb --memory 256M --network pub --ssh-key "$W/demo-key.pub"
t0=$(date +%s.%N)
U start deb1
ip=$("$B/umlhost" --json show deb1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["ip"])')
for i in $(seq 240); do ip netns exec "$IN" curl -s -m 1 -o /dev/null "http://$ip/" && break; sleep 0.5; done
printf '(HTTP 200 %.1f s after start, first boot: cloud-init makes its SSH host keys)\n' "$(echo "$(date +%s.%N) - $t0" | bc)"
echo "\$ ip netns exec $IN curl http://$ip/"
ip netns exec "$IN" curl -s -m 5 "http://$ip/"
echo "\$ ip netns exec $IN ssh -i demo-key root@$ip 'hostname; uname -r'"
sshed=0
for i in $(seq 60); do
	ip netns exec "$IN" ssh -i "$W/demo-key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o BatchMode=yes -o ConnectTimeout=3 "root@$ip" 'hostname; uname -r' 2> /dev/null && { sshed=1; break; }
	sleep 1
done
[ "$sshed" = 1 ] || { echo "demo.sh: deb1 did not answer SSH within 60 s"; exit 1; }
echo
echo "# an online backup of the running Debian server: frozen for milliseconds, then archived"
U backup create deb1
U backup verify "$("$B/umlhost" --json backup list deb1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["archive"])')"
U stats
U events | tail -8

if [ "$KEEP" = 1 ]; then
	echo
	echo "Left running. Try:  export UMLHOST_SOCKET=$UMLHOST_SOCKET"
	echo "  $B/umlhost list | console web1 | stop web1 | events --follow"
	echo "  ip netns exec $IN curl http://192.0.2.17/"
	echo "Clean up: kill the daemon, then ip netns del $HN; ip netns del $IN"
	echo "The daemon (pid $DPID) logs to $W/umlhostd.log; kill it and the instances keep running."
else
	step "stop them all (ctrl-alt-del, then halt, then kill after --timeout)"
	U stop web1
	U stop web2
	U stop deb1
	echo
	echo "Demo done. scripts/demo.sh --keep leaves it running to play with."
fi
