#!/bin/bash
# bench/density.sh [MAX=400] [OFF_MAX=100] [STEP=50]: how many idle Debian web servers one host
# holds (issue 19). Servers from the default Debian template (scripts/template-build.sh:
# systemd, sshd, Apache, cloud-init's first boot with an SSH key), mem=256M, on the hosting
# kernel, routed /32s in a network namespace this script creates (192.0.2.0/24 and
# 198.51.100.0/24), started 10 at a time, each answering HTTP before the next ten start. After
# each step of STEP servers: 60 s idle, host caches dropped, then host memory per server
# ((MemAvailable with no servers - MemAvailable now) / N: the daemon, monitors and kernels all
# included) and the p99 of one HTTP request to each server. Two runs, side by side: the levers
# off (reclaim_interval = 0) up to OFF_MAX, then on (the daemon's defaults: reclaim every 10 s,
# floor 32M) up to MAX or the first failure (a start refused, a server not answering). Both
# with memory_overcommit = 500: a start still needs its memory available on the host now.
# Baseline (issue 19): 112 MiB per idle server (12 servers, mem=256M), about 210 per host.
# Target: >= 400 servers at <= 55 MiB each. Needs root; everything is torn down.
set -u
cd "$(dirname "$0")/.."
MAX=${1:-400} OFF_MAX=${2:-100} STEP=${3:-50}
SRC=$PWD
B=${UH_BUILD:-$PWD/build}/src
[ -x "$B/umlhostd" ] || { echo "build first: meson setup build && ninja -C build"; exit 1; }
W=$(mktemp -d /tmp/uh-bench-density.XXXXXX)
# the curves: outside $W, whose processes (tee among them) bench_cleanup kills
O=$(mktemp -d /tmp/uh-density-out.XXXXXX)
extra_cleanup() { rm -rf "$O"; }
export UMLHOST_SOCKET=$W/run/umlhost.sock
U() { "$B/umlhost" "$@"; }
source bench/lib.sh
NS=uhbd$$
CG=umlhost-bench-density-$$
DPID=""
bench_traps
echo "Debian image: scripts/template-build.sh (cache /var/cache/umlhost/templates)"
bash scripts/template-build.sh --out "$W/debian.img" --cache /var/cache/umlhost/templates |
	grep -E '^template-build: (cached|done)' || exit 1
ip netns add "$NS"
ip -n "$NS" link set lo up
ssh-keygen -q -t ed25519 -N '' -f "$W/key"
avail_mib() { awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo; }
settle() { sleep "${SETTLE:-60}"; sync; echo 3 > /proc/sys/vm/drop_caches; sleep 2; }

daemon_up() { # daemon_up RECLAIM_INTERVAL: a fresh daemon and state
	rm -rf "$W/state" "$W/run"
	printf 'cgroup_base = %s\nmemory_overcommit = 500\nreclaim_interval = %s\nstart_timeout = 120\n' \
		"$CG" "$1" > "$W/conf"
	nsenter --net=/run/netns/$NS "$B/umlhostd" --foreground --state-dir "$W/state" \
		--run-dir "$W/run" --config "$W/conf" >> "$W/daemon.log" 2>&1 &
	DPID=$!
	for k in $(seq 100); do U list > /dev/null 2>&1 && break; sleep 0.05; done
	U kernel build hosting --config-fragment "$SRC/kernel/hosting.config" > /dev/null || return 1
	U template import deb "$W/debian.img" > /dev/null || return 1
	U network create pub1 --mode routed --pool 192.0.2.0/24 > /dev/null || return 1
	U network create pub2 --mode routed --pool 198.51.100.0/24 > /dev/null
}
daemon_down() { # every server killed with its daemon (kill_under_w), cgroups removed
	kill -9 "$DPID" 2> /dev/null
	wait "$DPID" 2> /dev/null
	kill_under_w
	sleep 2
	remove_cgroups "$CG"
	DPID=""
}
# http_all: one request to each running server from the namespace; prints "ok p99_ms max_ms"
http_all() {
	U --json list | python3 -c 'import json,sys; print("\n".join(i["ip"] for i in json.load(sys.stdin) if i["state"] == "running" and i["ip"]))' > "$W/ips"
	ip netns exec "$NS" python3 - "$W/ips" << 'PY'
import sys, time, urllib.request
ips = open(sys.argv[1]).read().split()
ok, t = 0, []
for ip in ips:
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://{ip}/", timeout=10) as r:
            ok += r.status == 200 and b"hello from" in r.read()
    except Exception:
        pass
    t.append((time.monotonic() - t0) * 1000)
t.sort()
p99 = t[min(len(t) - 1, int(len(t) * 0.99))] if t else 0
print(ok, "%.0f" % p99, "%.0f" % (t[-1] if t else 0))
PY
}
wait_http() { # wait_http IP...: each answers 200 within 300 s
	ip netns exec "$NS" python3 - "$@" << 'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 300
for ip in sys.argv[1:]:
    while True:
        try:
            with urllib.request.urlopen(f"http://{ip}/", timeout=2) as r:
                if r.status == 200: break
        except Exception:
            pass
        if time.monotonic() > deadline:
            print("no answer from", ip); sys.exit(1)
        time.sleep(0.5)
PY
}

# run LABEL RECLAIM_INTERVAL LIMIT: prints the curve; its last line "LABEL: N reached"
run() {
	local label=$1 limit=$3 n=0 avail0 avail per ips i name net fail="" line
	daemon_up "$2" || { echo "$label: the daemon could not be set up"; return 1; }
	sleep 5
	sync; echo 3 > /proc/sys/vm/drop_caches; sleep 2
	avail0=$(avail_mib)
	echo "## $label (reclaim_interval $2): MemAvailable with the daemon and no servers: $avail0 MiB"
	printf '%6s %12s %14s %10s %10s %10s %12s\n' N MiB/server reclaimed/srv answering p99_ms max_ms daemon_rss
	while [ "$n" -lt "$limit" ] && [ -z "$fail" ]; do
		for i in $(seq $((n + 1)) $((n + STEP))); do
			name=$(printf 'd%03d' "$i")
			net=pub1; [ "$i" -gt 200 ] && net=pub2
			if ! U create "$name" --template deb --memory 256M --network $net \
				--ssh-key "$W/key.pub" > /dev/null 2> "$W/err" || ! U start "$name" > /dev/null 2> "$W/err"; then
				fail="$name: $(cat "$W/err")"
				break
			fi
			ips="${ips:-} $(U --json show "$name" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ip"])')"
			if [ $((i % 10)) = 0 ]; then
				wait_http $ips > "$W/err" || { fail="$(cat "$W/err")"; break; }
				ips=""
			fi
			n=$i
		done
		[ -n "$fail" ] && break
		settle
		avail=$(avail_mib)
		per=$(( (avail0 - avail) / n ))
		read -r okn p99 mx < <(http_all)
		rec=$(U --json stats | python3 -c 'import json,sys; s=json.load(sys.stdin); print(int(sum(i.get("memory_reclaimed_bytes",0) for i in s) / max(1,len(s)) / 1048576))' 2> /dev/null || echo "?")
		printf '%6d %12d %14s %10s %10s %10s %9s kB\n' "$n" "$per" "$rec" "$okn/$n" "$p99" "$mx" \
			"$(awk '/^VmRSS:/ {print $2}' /proc/$DPID/status)"
		[ "$okn" = "$n" ] || { fail="$((n - okn)) servers did not answer"; break; }
	done
	[ -n "$fail" ] && echo "$label: stopped at the first failure: $fail"
	if [ "$n" -gt 0 ]; then
		local c0 c1
		c0=$(awk '{print $14 + $15}' /proc/$DPID/stat)
		sleep 30
		c1=$(awk '{print $14 + $15}' /proc/$DPID/stat)
		echo "$label: umlhostd at $n servers: RSS $(awk '/^VmRSS:/ {print $2}' /proc/$DPID/status) kB, CPU $(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz / 30 * 100}')% over 30 s idle, $(ls /proc/$DPID/fd | wc -l) fds"
	fi
	echo "$label: $n reached"
	daemon_down
}
echo "# $(nproc) cores, $(awk '/^MemTotal:/ {print int($2/1048576)}' /proc/meminfo) GiB, host XSAVE $(host_xsave) bytes"
run "levers off" 0 "$OFF_MAX" | tee "$O/off.txt"
run "levers on" 10 "$MAX" | tee "$O/on.txt"
echo "## side by side (baseline, issue 19: 112 MiB per idle server; target <= 55 MiB at >= 400)"
python3 - "$O/off.txt" "$O/on.txt" << 'PY'
import re, sys
def curve(path):
    return {int(m.group(1)): (m.group(2), m.group(3)) for m in
            (re.match(r"^ +(\d+) +(\d+) +\S+ +\S+ +(\d+) ", l) for l in open(path)) if m}
off, on = curve(sys.argv[1]), curve(sys.argv[2])
print("%6s %16s %16s %12s %12s" % ("N", "off MiB/server", "on MiB/server", "off p99 ms", "on p99 ms"))
for n in sorted(set(off) | set(on)):
    print("%6d %16s %16s %12s %12s" % (n, off.get(n, ("-",))[0], on.get(n, ("-",))[0],
                                       off.get(n, ("-", "-"))[1], on.get(n, ("-", "-"))[1]))
PY
grep -h 'reached' "$O/off.txt" "$O/on.txt"
