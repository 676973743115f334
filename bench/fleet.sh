#!/bin/bash
# bench/fleet.sh [N=50]: `umlhost apply` of a fleet file of N busybox servers from nothing
# (issue 18): each created and started until its kernel is ready, on the hosting kernel,
# mem=64M. Printed with servers/second, for --parallel 1, 4 and 8, beside the baseline of the
# same N made the way a script would without a fleet file: `umlhost create` + `umlhost start`
# one after another from the CLI. Each run starts from an empty host (the servers of the run
# before deleted). Needs root. Everything lives in a temp dir and is torn down; only our own
# pids are killed.
set -u
cd "$(dirname "$0")/.."
N=${1:-50}
B=${UH_BUILD:-$PWD/build}/src
[ -x "$B/umlhostd" ] || { echo "build first: meson setup build && ninja -C build"; exit 1; }
W=$(mktemp -d /tmp/uh-bench.XXXXXX)
export UMLHOST_SOCKET=$W/run/umlhost.sock
U() { "$B/umlhost" "$@"; }
source bench/lib.sh
DPID=""
CG=umlhost-bench-fleet
bench_traps
echo "cgroup_base = $CG" > "$W/bench.conf"
"$B/umlhostd" --foreground --config "$W/bench.conf" --state-dir "$W/state" --run-dir "$W/run" \
	>> "$W/daemon.log" 2>&1 &
DPID=$!
for i in $(seq 100); do U list > /dev/null 2>&1 && break; sleep 0.05; done
bash scripts/busybox-image.sh "$W/base.img" 64M
U template import base "$W/base.img" > /dev/null
U kernel build hosting --config-fragment "$PWD/kernel/hosting.config" | grep -E '^kernel-build: (cached|done)'
printf 'defaults:\n  template: base\n  memory: 64M\n  kernel: hosting\nservers:\n  s{001..%03d}: {}\n' \
	"$N" > "$W/fleet.yaml"

empty() { # delete every server, stopping it first
	for n in $(U --json list | python3 -c 'import json,sys; print(" ".join(i["name"] for i in json.load(sys.stdin)))'); do
		U delete --force "$n" > /dev/null
	done
}
report() { # report LABEL START_NS END_NS
	python3 -c 'import sys; n, s = int(sys.argv[2]), (int(sys.argv[4]) - int(sys.argv[3])) / 1e9; print("%-40s %3d servers in %6.1f s   %5.2f servers/s" % (sys.argv[1], n, s, n / s))' \
		"$1" "$N" "$2" "$3"
}
running() { U --json list | python3 -c 'import json,sys; print(sum(i["state"] == "running" for i in json.load(sys.stdin)))'; }

echo "## $N busybox servers (mem=64M, hosting kernel) from nothing to running, $(nproc) cores"
t0=$(date +%s%N)
for i in $(seq -f '%03g' 1 "$N"); do
	U create "s$i" --template base --memory 64M --kernel hosting > /dev/null && U start "s$i" > /dev/null
done
t1=$(date +%s%N)
report "baseline: create + start, one by one" "$t0" "$t1"
[ "$(running)" = "$N" ] || echo "  (only $(running) running)"
for p in 1 4 8; do
	empty
	t0=$(date +%s%N)
	U apply "$W/fleet.yaml" --parallel "$p" > "$W/apply.out" 2>&1 || { echo "apply failed:"; tail -n 3 "$W/apply.out"; }
	t1=$(date +%s%N)
	report "umlhost apply --parallel $p" "$t0" "$t1"
	[ "$(running)" = "$N" ] || echo "  (only $(running) running)"
done
sleep 10 # the guests' first seconds take the CPUs
for k in 1 2 3 4 5; do
	t0=$(date +%s%N)
	U plan "$W/fleet.yaml" > /dev/null
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
done > "$W/plan.ms"
echo "plan of the applied file ($N running servers, nothing to do): median $(med < "$W/plan.ms") ms of 5"
