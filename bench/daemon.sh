#!/bin/bash
# bench/daemon.sh [RUNS=7]: the issue-3 figures in one run, each against its target.
#  1. `umlhost start` -> ready vs the raw kernel -> mconsole answers, same image, same
#     kernel arguments, alternating runs; medians. Target: overhead <= 5%. The kernel is the
#     hosting kernel (Debian's runs only where the XSAVE area is at most 2696 bytes: issue 13).
#  2. umlhostd idle CPU and RSS with 32 running instances. Target: < 1% of a core, < 10 MB.
#     The 32 per-instance monitors are reported too (they are not the daemon, but they cost).
#  3. `umlhost --json list` with 1000 defined instances. Target: < 20 ms (median of 20).
# Needs root. Everything lives in a temp dir and is torn down; only our own pids are killed.
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-7}
# UH_BUILD: another build directory (bench/compare.sh runs a base revision's build)
B=${UH_BUILD:-$PWD/build}/src
[ -x "$B/umlhostd" ] || { echo "build first: meson setup build && ninja -C build"; exit 1; }
W=$(mktemp -d /tmp/uh-bench.XXXXXX)
export UMLHOST_SOCKET=$W/run/umlhost.sock
U() { "$B/umlhost" "$@"; }
source bench/lib.sh
DPID=""
CG=umlhost-bench-daemon
bench_traps
start_daemon() {
	# cgroups of its own, never a production daemon's `umlhost`
	echo "cgroup_base = $CG" > "$W/bench.conf"
	"$B/umlhostd" --foreground --config "$W/bench.conf" --state-dir "$W/state" --run-dir "$W/run" \
		"$@" >> "$W/daemon.log" 2>&1 &
	DPID=$!
	for i in $(seq 100); do U list > /dev/null 2>&1 && return 0; sleep 0.05; done
	echo "umlhostd did not start"; exit 1
}

bash scripts/busybox-image.sh "$W/base.img" 64M
start_daemon
U template import base "$W/base.img" > /dev/null
TPL=$W/state/templates/base.img
U kernel build hosting --config-fragment "$PWD/kernel/hosting.config" | grep -E '^kernel-build: (cached|done)'
KERNEL=$(U --json kernel list | python3 -c 'import json,sys; print([k["path"] for k in json.load(sys.stdin) if k["name"]=="hosting"][0])')

echo "## 1. start -> ready: umlhost start vs the raw hosting kernel (mem=64M, same image), $RUNS runs each"
U create b1 --template base --memory 64M > /dev/null
raw=(); ours=()
for r in $(seq "$RUNS"); do
	rm -f "$W/raw.cow"
	t=$(python3 - "$W" "$TPL" "$KERNEL" <<'PY'
import os, socket, struct, subprocess, sys, time
W, tpl, kernel = sys.argv[1], sys.argv[2], sys.argv[3]
note = f"{W}/raw-notify.sock"
try: os.unlink(note)
except FileNotFoundError: pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(note)
t0 = time.monotonic()
p = subprocess.Popen(["setarch", os.uname().machine, "-R", kernel, "umid=rawb",
    f"uml_dir={W}/rawuml", "mem=64M", f"ubd0={W}/raw.cow,{tpl}", "con=null", "con0=fd:0,fd:1",
    f"mconsole=notify:{note}", "panic=1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL, start_new_session=True)
msg = s.recv(1024)                       # mconsole is up
sock = msg[16:].split(b"\0")[0].decode()
c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); me = f"{W}/raw-client.sock"
try: os.unlink(me)
except FileNotFoundError: pass
c.bind(me)
c.sendto(struct.pack("<III512s", 0xcafebabe, 2, 7, b"version"), sock)
c.recv(1024)                             # ... and answers
t = time.monotonic() - t0
c.sendto(struct.pack("<III512s", 0xcafebabe, 2, 4, b"halt"), sock)
try: c.settimeout(2); c.recv(1024)
except OSError: pass
p.wait(timeout=10)
print(f"{t * 1000:.1f}")
PY
)
	raw+=("$t")
	t0=$(date +%s%N); U start b1 > /dev/null; t1=$(date +%s%N)
	ours+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b - a) / 1e6}')")
	U kill b1 > /dev/null
	echo "run $r: raw ${raw[-1]} ms, umlhost start ${ours[-1]} ms"
done
R=$(printf '%s\n' "${raw[@]}" | med); O=$(printf '%s\n' "${ours[@]}" | med)
awk -v r="$R" -v o="$O" 'BEGIN{ov = (o - r) / r * 100;
	printf "median: raw %.1f ms, umlhost start %.1f ms: overhead %+.1f%% (target <= 5%%: %s)\n",
	r, o, ov, (ov <= 5) ? "met" : "NOT met" }'

echo
echo "## 2. umlhostd idle with 32 running instances"
for i in $(seq 32); do U create "idle$i" --template base --memory 64M > /dev/null; done
jobs=(); for i in $(seq 32); do U start "idle$i" > /dev/null & jobs+=($!); done
wait "${jobs[@]}"
echo "running: $(U --json list | python3 -c 'import json,sys; print(sum(1 for i in json.load(sys.stdin) if i["state"] == "running"))')"
sleep 3
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' /proc/$DPID/stat; }
t0=$(ticks); s0=$(date +%s%N); sleep 30; t1=$(ticks); s1=$(date +%s%N)
rss=$(awk '/VmRSS/{print $2}' /proc/$DPID/status)
# two per instance: the monitor and, jailed, its pid-namespace init; RSS counts the libc pages
# they share, PSS splits them
mon_rss=0; mon_pss=0; mon_n=0
for p in $(pgrep -f "umlhost-monitor .*$W/"); do
	mon_rss=$((mon_rss + $(awk '/VmRSS/{print $2}' /proc/$p/status)))
	mon_pss=$((mon_pss + $(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup)))
	mon_n=$((mon_n + 1))
done
awk -v t=$((t1 - t0)) -v hz="$hz" -v ns=$((s1 - s0)) -v rss="$rss" -v mon="$mon_rss" -v pss="$mon_pss" -v n="$mon_n" 'BEGIN{
	cpu = t / hz / (ns / 1e9) * 100;
	printf "umlhostd over 30 s: CPU %.2f%% of a core (target < 1%%: %s), RSS %.1f MB (target < 10 MB: %s)\n",
		cpu, (cpu < 1) ? "met" : "NOT met", rss / 1024, (rss < 10240) ? "met" : "NOT met";
	printf "monitors (%d processes for 32 instances): RSS %.1f MB, PSS %.1f MB in all (PSS %.2f MB per instance)\n", n, mon / 1024, pss / 1024, pss / 1024 / 32 }'
jobs=(); for i in $(seq 32); do U kill "idle$i" > /dev/null & jobs+=($!); done
wait "${jobs[@]}"

echo
echo "## 3. umlhost --json list with 1000 defined instances"
for i in $(seq 1000); do echo "many$i"; done | xargs -P 2 -I{} "$B/umlhost" create {} --template base --memory 64M > /dev/null
n=$(U --json list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
lat=()
for r in $(seq 20); do
	t0=$(date +%s%N); U --json list > /dev/null; t1=$(date +%s%N)
	lat+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b - a) / 1e6}')")
done
L=$(printf '%s\n' "${lat[@]}" | med)
awk -v l="$L" -v n="$n" 'BEGIN{printf "%d instances: median %.2f ms per list (target < 20 ms: %s)\n",
	n, l, (l < 20) ? "met" : "NOT met"}'
