#!/bin/bash
# bench/jail.sh [RUNS=7]: boot overhead of the jail. Two daemons side by side, one with
# `jail = no`, one jailed (namespaces, pivot_root, uid, no capabilities, cgroups); `umlhost
# start` -> ready on the same busybox image, alternating runs; medians. Target: <= 5%.
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-7}
B=$PWD/build/src
[ -x "$B/umlhostd" ] || { echo "build first: meson setup build && ninja -C build"; exit 1; }
W=$(mktemp -d /tmp/uh-bjail.XXXXXX)
source bench/lib.sh
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	kill_under_w
	sleep 0.3
	remove_cgroups umlhost-bench
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bash scripts/busybox-image.sh "$W/base.img" 64M
for mode in no yes; do
	mkdir -p "$W/$mode"
	printf 'jail = %s\ncgroup_base = umlhost-bench\n' "$mode" > "$W/$mode.conf"
	"$B/umlhostd" --foreground --config "$W/$mode.conf" --state-dir "$W/$mode/state" \
		--run-dir "$W/$mode/run" > "$W/$mode.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 100); do UMLHOST_SOCKET=$W/$mode/run/umlhost.sock "$B/umlhost" list > /dev/null 2>&1 && break; sleep 0.05; done
	UMLHOST_SOCKET=$W/$mode/run/umlhost.sock "$B/umlhost" template import base "$W/base.img" > /dev/null
	UMLHOST_SOCKET=$W/$mode/run/umlhost.sock "$B/umlhost" create "b$mode" --template base --memory 64M > /dev/null
done
plain=(); jailed=()
for r in $(seq "$RUNS"); do
	for mode in no yes; do
		export UMLHOST_SOCKET=$W/$mode/run/umlhost.sock
		t0=$(date +%s%N); "$B/umlhost" start "b$mode" > /dev/null; t1=$(date +%s%N)
		"$B/umlhost" kill "b$mode" > /dev/null
		ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b - a) / 1e6}')
		[ $mode = no ] && plain+=("$ms") || jailed+=("$ms")
	done
	echo "run $r: unjailed ${plain[-1]} ms, jailed ${jailed[-1]} ms"
done
P=$(printf '%s\n' "${plain[@]}" | med); J=$(printf '%s\n' "${jailed[@]}" | med)
awk -v p="$P" -v j="$J" 'BEGIN{ov = (j - p) / p * 100;
	printf "median: unjailed %.1f ms, jailed %.1f ms: overhead %+.1f%% (target <= 5%%: %s)\n",
	p, j, ov, (ov <= 5) ? "met" : "NOT met" }'
