#!/bin/bash
# bench/api.sh [N=1000]: the HTTPS API under load (issue 16), against the same requests on the
# daemon's unix socket in the same run (the issue names no baseline: the socket is what the
# TLS process, the hand-over and the token check add to). Each figure: N requests, all sent
# at once over N connections (made first), GET /v1/servers with 8 defined servers; the
# client (tests/e2e/api_load.py) spreads its connections over 127.0.1.x, 8 per address.
# Prints requests/s, p50 and p99, and the daemon's RSS and descriptors before and after.
# Needs root. Loopback only; everything lives in a temp dir and is torn down.
set -u
cd "$(dirname "$0")/.."
N=${1:-1000}
B=${UH_BUILD:-$PWD/build}/src
[ -x "$B/umlhostd" ] || { echo "build first: meson setup build && ninja -C build"; exit 1; }
W=$(mktemp -d /tmp/uh-bench.XXXXXX)
export UMLHOST_SOCKET=$W/run/umlhost.sock
U() { "$B/umlhost" "$@"; }
source bench/lib.sh
DPID=""
CG=umlhost-bench-api
bench_traps
for PORT in $(shuf -i 20000-60000 -n 20); do
	ss -Hltn "sport = :$PORT" | grep -q . || break
done
printf 'cgroup_base = %s\napi_listen = 127.0.0.1:%s\nuid_min = 400000\nuid_count = 100\n' \
	"$CG" "$PORT" > "$W/bench.conf"
"$B/umlhostd" --foreground --config "$W/bench.conf" --state-dir "$W/state" --run-dir "$W/run" \
	>> "$W/daemon.log" 2>&1 &
DPID=$!
for i in $(seq 100); do U list > /dev/null 2>&1 && break; sleep 0.05; done
bash scripts/busybox-image.sh "$W/base.img" 64M
U template import base "$W/base.img" > /dev/null
U customer create alice > /dev/null
for i in 1 2 3 4; do
	U create "a$i" --template base --memory 64M --owner alice > /dev/null
	U create "p$i" --template base --memory 64M > /dev/null
done
TOK=$(U --json token create --customer alice --name load --scopes server:read |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
CA=$W/state/tls/cert.pem
rss() { awk '/^VmRSS/{print $2}' /proc/$DPID/status; }
fds() { ls /proc/$DPID/fd | wc -l; }
load() { /usr/bin/python3 tests/e2e/api_load.py "$@"; }
fig() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%-28s %5d/%-5d %8.0f req/s   p50 %7.1f ms   p99 %7.1f ms   (connecting %.1f s)" % (sys.argv[2], d["ok"], d["n"], d["rps"], d["p50_ms"] or 0, d["p99_ms"] or 0, d["connect_s"]))' "$1" "$2"; }

load "$CA" "$PORT" "$TOK" /v1/servers 200 > /dev/null # warm-up: caches, the store's pages
rss0=$(rss) fds0=$(fds)
echo "## $N concurrent requests, GET /v1/servers (alice's 4 of 8 servers)"
fig "$(load unix "$UMLHOST_SOCKET" - /v1/servers "$N")" "unix socket (baseline)"
fig "$(load "$CA" "$PORT" "$TOK" /v1/servers "$N")" "HTTPS + token"
fig "$(load "$CA" "$PORT" "$TOK" /v1/servers 100)" "HTTPS + token, 100 at once"
sleep 2
rss1=$(rss) fds1=$(fds)
echo "## the daemon after the runs (2 s later)"
echo "RSS: $rss0 kB before, $rss1 kB after ($((rss1 - rss0)) kB; target: within 2048)"
echo "descriptors: $fds0 before, $fds1 after"
