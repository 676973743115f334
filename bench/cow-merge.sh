#!/bin/bash
# bench/cow-merge.sh [RUNS=3]: `umlhost cow merge` vs `uml_moo` on the same COW, side by side.
# The case from issue 2 (and ../shared/MEASURED.md): a 10 GiB virtual disk holding ~250 MB of
# data, with a ~50 MB COW written by a real UML guest. Caches are dropped before every merge.
# Both outputs are compared with cmp. Prints per-run times, medians and the speed-up ratio.
# Target: >= 15x faster than uml_moo. Needs root (drop_caches, booting UML).
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SIZE=${SIZE:-10G}
DATA_MB=${DATA_MB:-250}
COW_MB=${COW_MB:-50}
UMLHOST=${UMLHOST:-build/src/umlhost}
[ -x "$UMLHOST" ] || { echo "build first: meson setup build && ninja -C build"; exit 1; }
W=$(mktemp -d /var/tmp/uh-bench-merge.XXXXXX)
SRC=$PWD
. bench/lib.sh
UPID=""
cleanup() {
	[ -n "$UPID" ] && kill -9 "$UPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
dc() { sync; echo 3 > /proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b - a}'; }

echo "## setup: ${SIZE} image with ${DATA_MB} MB of random data, ${COW_MB} MB written through a COW"
mkdir -p "$W/data"
for i in $(seq $((DATA_MB / 50))); do head -c 50M /dev/urandom > "$W/data/rand$i"; done
bash scripts/busybox-image.sh "$W/base.img" "$SIZE" "$W/data"
rm -rf "$W/data"
"$UMLHOST" cow create "$W/disk.cow" "$W/base.img"
KERNEL=$(hosting_kernel_into "$W/k") || exit 1 # Debian's may not run on this CPU (issue 13)
setsid setarch "$(uname -m)" -R "$KERNEL" umid=benchmerge uml_dir="$W/uml" mem=128M \
	con=null con0=null,fd:1 ubd0="$W/disk.cow","$W/base.img" rw uhmode=fill fillmb="$COW_MB" \
	> "$W/con.log" 2>&1 < /dev/null &
UPID=$!
for i in $(seq 1200); do grep -q UH-FILL-DONE "$W/con.log" && break; sleep 0.1; done
grep -q UH-FILL-DONE "$W/con.log" || { tail "$W/con.log"; echo "guest did not fill"; exit 1; }
"$UMLHOST" mconsole --uml-dir "$W/uml" benchmerge halt > /dev/null
for i in $(seq 100); do kill -0 "$UPID" 2>/dev/null || break; sleep 0.1; done
wait "$UPID" 2>/dev/null; UPID=""
echo "backing: apparent $(du -m --apparent-size "$W/base.img" | cut -f1) MiB, allocated $(du -m "$W/base.img" | cut -f1) MiB"
echo "cow:     allocated $(du -m "$W/disk.cow" | cut -f1) MiB, $("$UMLHOST" cow info "$W/disk.cow" | awk '/allocated_sectors/{print $2}') sectors"

moo=(); ours=(); oursync=()
for r in $(seq "$RUNS"); do
	rm -f "$W/moo.img" "$W/ours.img"
	dc; t0=$(now); uml_moo "$W/disk.cow" "$W/moo.img" > /dev/null; t1=$(now)
	sync; t2=$(now)
	m=$(secs "$t0" "$t1"); ms=$(secs "$t0" "$t2")
	dc; t0=$(now); "$UMLHOST" cow merge "$W/disk.cow" "$W/ours.img"; t1=$(now)
	o=$(secs "$t0" "$t1")
	same=identical; cmp -s "$W/moo.img" "$W/ours.img" || same=DIFFERENT
	echo "run $r: uml_moo ${m}s (${ms}s incl. sync) | umlhost cow merge ${o}s (fsync included) | outputs $same"
	moo+=("$m"); moosync+=("$ms"); ours+=("$o")
	[ "$same" = identical ] || exit 1
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
M=$(med "${moo[@]}"); MS=$(med "${moosync[@]}"); O=$(med "${ours[@]}")
echo "median: uml_moo ${M}s (${MS}s with sync), umlhost ${O}s"
awk -v m="$M" -v ms="$MS" -v o="$O" 'BEGIN{
	printf "speed-up: %.1fx vs uml_moo (%.1fx vs uml_moo+sync); target >= 15x: %s\n",
		m / o, ms / o, (m / o >= 15) ? "met" : "NOT met" }'
echo "allocated: uml_moo output $(du -m "$W/moo.img" | cut -f1) MiB, umlhost output $(du -m "$W/ours.img" | cut -f1) MiB"
