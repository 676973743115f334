#!/bin/bash
# bench/net.sh [MIB=200] [RUNS=3]: host<->instance TCP throughput for both UML transports,
# through umlhostd as shipped (routed network, fresh tap per start, jailed kernel), inside a
# network namespace this script creates and deletes (no traffic leaves it).
#   guest->host: HTTP download of MIB MiB from the guest's busybox httpd
#   host->guest: MIB MiB (at most 200) sent to the guest's sink (nc -e dd bs=1M)
# Baseline (issue 5, ../shared/baseline/net.sh, stock options): vector guest->host 1.1-1.3 GB/s
# but host->guest stalls after ~2 MiB; tuntap guest->host 190-320 MB/s, host->guest 5-32 MB/s.
# Targets: host->guest >= 500 MB/s, guest->host >= 1000 MB/s. Figures are MB/s (10^6 B/s).
set -u
MIB=${1:-200}
RUNS=${2:-3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
UMLHOST=$BUILD/src/umlhost
UMLHOSTD=$BUILD/src/umlhostd
W=$(mktemp -d /tmp/uh-bench-net.XXXXXX)
. "$SRC/bench/lib.sh"
NS=uhbn$$
CG=umlhost-bench-net-$$
export UMLHOST_SOCKET=$W/run/umlhost.sock
DPID=""
bench_traps
[ -x "$UMLHOSTD" ] || { echo "build first (meson compile -C build)"; exit 1; }
ip netns add "$NS"
ip -n "$NS" link set lo up
bash "$SRC/scripts/busybox-image.sh" "$W/bb.img" 64M > /dev/null

cat > "$W/client.py" << 'PY'
import socket, sys, time, urllib.request
host, mib, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def mbps(n, dt): return n / dt / 1e6
down = []
for r in range(runs):
    t0 = time.monotonic(); n = 0
    with urllib.request.urlopen(f"http://{host}/big.bin", timeout=60) as f:
        while True:
            d = f.read(1 << 20)
            if not d: break
            n += len(d)
    down.append(mbps(n, time.monotonic() - t0))
up = []
buf = b"\0" * (1 << 20)
for r in range(runs):
    sent = 0
    try:
        s = socket.create_connection((host, 5001), timeout=20)
        t0 = time.monotonic()
        for i in range(min(mib, 200)):
            s.sendall(buf); sent += 1
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536): pass   # the sink closes once dd has read everything
        up.append(mbps(sent << 20, time.monotonic() - t0)); s.close()
    except OSError as e:
        up.append(-sent)   # a stall: how many MiB got through
    time.sleep(0.3)
def fmt(v): return " ".join(f"{x:.0f}" if x >= 0 else f"STALL@{-x:.0f}MiB" for x in v)
def med(v): v = sorted(v); return v[len(v)//2]
print(f"guest->host {fmt(down)}  median {med(down):.0f}")
print(f"host->guest {fmt(up)}  median {med(up):.0f}")
PY

i=0
for transport in tuntap vector; do
	i=$((i + 1))
	printf 'cgroup_base = %s\nnet_transport = %s\n' "$CG" "$transport" > "$W/conf"
	nsenter --net=/run/netns/$NS "$UMLHOSTD" --foreground --state-dir "$W/state" \
		--run-dir "$W/run" --config "$W/conf" >> "$W/daemon.log" 2>&1 &
	DPID=$!
	for k in $(seq 100); do "$UMLHOST" list > /dev/null 2>&1 && break; sleep 0.05; done
	if [ $i = 1 ]; then
		"$UMLHOST" template import bb "$W/bb.img" > /dev/null
		"$UMLHOST" network create bench --mode routed --pool 192.0.2.0/28 > /dev/null
	fi
	"$UMLHOST" create "t$i" --template bb --network bench --memory 512M \
		--kernel-arg uhmode=httpd --kernel-arg "bigmb=$MIB" > /dev/null || exit 1
	"$UMLHOST" start "t$i" > /dev/null || exit 1
	for k in $(seq 600); do "$UMLHOST" logs "t$i" | grep -q UH-HTTPD-UP && break; sleep 0.1; done
	ip=$("$UMLHOST" --json show "t$i" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ip"])')
	echo "== $transport ($(tr '\0' ' ' < /proc/$("$UMLHOST" --json show "t$i" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')/cmdline | grep -o '[a-z0-9]*[=:]transport=tap[^ ]*\|eth0=tuntap[^ ]*'))"
	ip netns exec "$NS" busybox ping -c 20 -i 0.01 -q "$ip" | tail -1
	ip netns exec "$NS" timeout 300 python3 "$W/client.py" "$ip" "$MIB" "$RUNS" | tee "$W/$transport.out"
	"$UMLHOST" stop "t$i" > /dev/null
	kill "$DPID"
	wait "$DPID" 2> /dev/null
	DPID=""
done
verdict() { # verdict FILE DIRECTION TARGET
	local m
	m=$(grep "^$2 " "$1" | grep -o 'median [0-9]*' | cut -d' ' -f2)
	printf '%-7s %-12s median %5s MB/s  target >= %4s: %s\n' "${1##*/}" "$2" "${m:-?}" "$3" \
		"$([ -n "$m" ] && [ "$m" -ge "$3" ] && echo PASS || echo MISS)"
}
echo "== summary (vector is the default transport)"
verdict "$W/vector.out" host-\>guest 500 | sed 's/\.out//'
verdict "$W/vector.out" guest-\>host 1000 | sed 's/\.out//'
verdict "$W/tuntap.out" host-\>guest 500 | sed 's/\.out//'
verdict "$W/tuntap.out" guest-\>host 1000 | sed 's/\.out//'
# the same machine, the baseline's procedure (stock transport options, an old-style sink)
BASE=$SRC/../shared/baseline/net.sh
if [ "${BASELINE:-1}" = 1 ] && [ -f "$BASE" ]; then
	echo "== baseline: $BASE $MIB (stock options, busybox nc sink)"
	bash "$BASE" "$MIB" 2>&1 | grep -E '^==|MB/s'
fi
