#!/bin/bash
# The README's main command (run as root on Debian 12): install dependencies, build umlhost,
# start umlhostd, import a busybox template, create and start two UML instances, talk to one
# over its console, show list/stats/events, then stop everything again.
#   scripts/demo.sh          run and clean up
#   scripts/demo.sh --keep   leave the daemon and instances running (prints how to reach them)
# Networking and a web server in the instance come with the network and template issues.
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
cleanup() {
	[ "$KEEP" = 1 ] && return
	if [ -n "$DPID" ]; then
		"$B/umlhost" stop web1 > /dev/null 2>&1 || true
		"$B/umlhost" stop web2 > /dev/null 2>&1 || true
		kill "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
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

step "start umlhostd (state in $W/state, API socket $UMLHOST_SOCKET)"
"$B/umlhostd" --foreground --state-dir "$W/state" --run-dir "$W/run" > "$W/umlhostd.log" 2>&1 &
DPID=$!
for i in $(seq 100); do "$B/umlhost" list > /dev/null 2>&1 && break; sleep 0.05; done

step "a 64 MiB busybox image becomes a read-only template"
bash scripts/busybox-image.sh "$W/busybox.img" 64M
U template import busybox "$W/busybox.img"

step "two instances: each a COW over the template (instant), supervised"
U create web1 --template busybox --memory 64M --restart on-failure
U create web2 --template busybox --memory 96M
U start web1
U start web2
U list

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
U stats
U events | tail -8

if [ "$KEEP" = 1 ]; then
	echo
	echo "Left running. Try:  export UMLHOST_SOCKET=$UMLHOST_SOCKET"
	echo "  $B/umlhost list | console web1 | stop web1 | events --follow"
	echo "The daemon (pid $DPID) logs to $W/umlhostd.log; kill it and the instances keep running."
else
	step "stop both (ctrl-alt-del, then halt, then kill after --timeout)"
	U stop web1
	U stop web2
	echo
	echo "Demo done. scripts/demo.sh --keep leaves it running to play with."
fi
