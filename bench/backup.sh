#!/bin/bash
# bench/backup.sh [RUNS=3] [SIZE=10G] [DATA_MB=200] [COW_MB=50]: umlhost's online backup
# against the 2004 seed's procedure on the same running instance, in one run.
#
# The instance: a busybox guest on a SIZE (sparse) template holding DATA_MB of random data; at
# boot it writes COW_MB of random data into its COW (uhmode=fill), as in
# ../shared/baseline/disk.sh. Two state directories: the machine's ext4 (no reflinks) and a
# loop-mounted XFS made here with reflink=1 (unmounted and removed at the end). On each:
#   seed whole : uml_mconsole stop; sysrq s; cp -fra --sparse=always TEMPLATE COW; go
#                (the pause window, as disk.sh measures it; measured: coreutils 9.1's cp
#                with --sparse=always does not reflink on XFS either)
#   seed cow   : the same copying only the COW
#   umlhost    : umlhost backup create (sync first, freeze = stop..go around a FICLONE or an
#                extent copy, archive in the helper); freeze_us from the daemon, total wall
#                time, archive bytes. Run 1 also hashes the template (cached afterwards).
# Caches are dropped before every copy. Then, once, the seed's compression of its whole-disk
# copy (`tar cfj`, no -S: ~4 min for 10G; SKIP_TAR=1 skips it and uses the baseline's 242 s).
# Targets (issue 7): freeze with reflink >= 100x shorter than the seed's whole-disk copy;
# without reflink <= the seed's COW-only copy; total >= 20x faster than `tar cfj`; archive <=
# 1.1x the seed's tar.bz2.
set -u
RUNS=${1:-3}
SIZE=${2:-10G}
DATA_MB=${3:-200}
COW_MB=${4:-50}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build}
UMLHOST=$BUILD/src/umlhost
UMLHOSTD=$BUILD/src/umlhostd
W=$(mktemp -d /var/tmp/uh-bench-backup.XXXXXX)
. "$SRC/bench/lib.sh"
CG=umlhost-bench-backup-$$
DPID=""
extra_cleanup() { mountpoint -q "$W/xfs" && umount "$W/xfs"; }
bench_traps
[ -x "$UMLHOSTD" ] || { echo "build first (meson compile -C build)"; exit 1; }
command -v mkfs.xfs > /dev/null || { echo "mkfs.xfs missing (apt-get install xfsprogs)"; exit 1; }
command -v uml_mconsole > /dev/null || { echo "uml_mconsole missing (apt-get install uml-utilities)"; exit 1; }
dc() { sync; echo 3 > /proc/sys/vm/drop_caches; }
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.4f", (b-a)/1e9}'; }
U() { "$UMLHOST" "$@"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

echo "## image: $SIZE sparse, $DATA_MB MB of random data, the guest writes $COW_MB MB into its COW"
mkdir -p "$W/extra"
for k in $(seq $((DATA_MB / 50))); do head -c 50M /dev/urandom > "$W/extra/rand$k"; done
bash "$SRC/scripts/busybox-image.sh" "$W/bb.img" "$SIZE" "$W/extra" > /dev/null
rm -rf "$W/extra"
echo "template: apparent $(du -B1M --apparent-size "$W/bb.img" | cut -f1) MiB, allocated $(du -B1M "$W/bb.img" | cut -f1) MiB"

mkdir -p "$W/xfs"
truncate -s 40G "$W/xfs.fs"
mkfs.xfs -q -m reflink=1 "$W/xfs.fs"
mount -o loop "$W/xfs.fs" "$W/xfs"

# run_fs NAME DIR: a daemon with its state in DIR, the instance, the seed's and our backups
run_fs() {
	local fs=$1 base=$2 r t0 t1 out
	export UMLHOST_SOCKET=$W/run-$fs/umlhost.sock
	printf 'cgroup_base = %s\n' "$CG" > "$W/conf"
	"$UMLHOSTD" --foreground --state-dir "$base/state" --run-dir "$W/run-$fs" \
		--config "$W/conf" > "$W/daemon-$fs.log" 2>&1 &
	DPID=$!
	for r in $(seq 100); do U list > /dev/null 2>&1 && break; sleep 0.05; done
	U template import bb "$W/bb.img" > /dev/null || { echo "template import failed"; exit 1; }
	U create b --template bb --memory 128M --kernel-arg rw --kernel-arg uhmode=fill \
		--kernel-arg fillmb="$COW_MB" > /dev/null
	U start b > /dev/null
	for r in $(seq 600); do U logs b 2> /dev/null | grep -q UH-FILL-DONE && break; sleep 0.2; done
	U logs b | grep -q UH-FILL-DONE || { echo "the guest did not write its data"; exit 1; }
	local tpl=$base/state/templates/bb.img cow=$base/state/instances/b/disk.cow
	local mc
	mc=$(find "$W/run-$fs" -name mconsole -type s | head -1)
	echo; echo "########## $fs ($(df --output=fstype "$base" | tail -1)) ##########"
	echo "COW: apparent $(du -B1M --apparent-size "$cow" | cut -f1) MiB, allocated $(du -B1M "$cow" | cut -f1) MiB"
	for what in whole cow; do
		for r in $(seq "$RUNS"); do
			rm -rf "$W/seed"; mkdir -p "$W/seed"; dc
			t0=$(now)
			# (uml_mconsole first looks for the name under ~/.uml and /tmp/uml: its warnings are noise)
			uml_mconsole "$mc" stop > /dev/null 2>&1; uml_mconsole "$mc" sysrq s > /dev/null 2>&1
			if [ $what = whole ]; then cp -fra --sparse=always "$tpl" "$cow" "$W/seed/"; else cp -fra --sparse=always "$cow" "$W/seed/"; fi
			uml_mconsole "$mc" go > /dev/null 2>&1
			t1=$(now)
			echo "seed $what run $r: pause $(secs "$t0" "$t1") s" | tee -a "$W/res-$fs"
		done
	done
	if [ "$fs" = ext4 ] && [ -z "${SKIP_TAR:-}" ]; then
		# the seed's compression of its whole-disk copy (the last `whole` copy: redo it)
		rm -rf "$W/seed"; mkdir -p "$W/seed/backup"
		cp -fra --sparse=always "$tpl" "$cow" "$W/seed/backup/"
		dc; t0=$(now)
		(cd "$W/seed" && tar cfj backup.tar.bz2 backup)
		t1=$(now)
		echo "seed tar cfj: $(secs "$t0" "$t1") s, $(stat -c %s "$W/seed/backup.tar.bz2") bytes" | tee -a "$W/res-$fs"
	fi
	rm -rf "$W/seed"
	for r in $(seq "$RUNS"); do
		dc; t0=$(now)
		out=$(U --json backup create b) || { echo "umlhost backup failed"; exit 1; }
		t1=$(now)
		echo "umlhost run $r: freeze $(echo "$out" | jget 'd["freeze_us"]/1e6') s (reflink $(echo "$out" | jget 'd["reflink"]')), total $(secs "$t0" "$t1") s, $(echo "$out" | jget 'd["bytes"]') bytes" | tee -a "$W/res-$fs"
		sleep 1.1 # archive names have a one-second stamp
	done
	a=$(U --json backup list b | jget 'd[-1]["archive"]')
	U backup verify "$a" > /dev/null && echo "the last archive verifies"
	U stop b > /dev/null
	kill "$DPID"; wait "$DPID" 2> /dev/null; DPID=""
	kill_under_w
}

run_fs ext4 "$W/ext4"
run_fs xfs "$W/xfs"

echo; echo "########## summary (medians; runs 2.. for umlhost's total: run 1 hashes the template) ##########"
python3 - "$W/res-ext4" "$W/res-xfs" << 'PY'
import re, statistics, sys
def load(p):
    d = {}
    for line in open(p):
        m = re.match(r"seed (whole|cow) run \d+: pause ([\d.]+) s", line)
        if m: d.setdefault("seed_" + m[1], []).append(float(m[2]))
        m = re.match(r"seed tar cfj: ([\d.]+) s, (\d+) bytes", line)
        if m: d["tar_s"], d["tar_bytes"] = float(m[1]), int(m[2])
        m = re.match(r"umlhost run (\d+): freeze ([\d.]+) s \(reflink (\w+)\), total ([\d.]+) s, (\d+) bytes", line)
        if m:
            d.setdefault("freeze", []).append(float(m[2])); d["reflink"] = m[3]
            d.setdefault("total", []).append((int(m[1]), float(m[4]))); d["bytes"] = int(m[5])
    return d
e, x = load(sys.argv[1]), load(sys.argv[2])
med = statistics.median
tar_s = e.get("tar_s", 242.0); tar_b = e.get("tar_bytes")
note = "" if "tar_s" in e else " (baseline figure, SKIP_TAR)"
for name, d in (("ext4", e), ("xfs", x)):
    tot = [t for r, t in d["total"] if r > 1] or [t for r, t in d["total"]]
    print(f"{name}: seed whole {med(d['seed_whole'])*1000:.1f} ms, seed cow {med(d['seed_cow'])*1000:.1f} ms, "
          f"umlhost freeze {med(d['freeze'])*1000:.2f} ms (reflink {d['reflink']}), total {med(tot):.2f} s "
          f"(run 1 {d['total'][0][1]:.2f} s), archive {d['bytes']} bytes")
def verdict(ok): return "PASS" if ok else "MISS"
r = med(e["seed_whole"]) / med(x["freeze"])
print(f"freeze with reflink (xfs) vs the seed's whole-disk copy (ext4, as in 2004): {r:.0f}x shorter, target >= 100x: {verdict(r >= 100)}")
r2 = med(x["seed_whole"]) / med(x["freeze"])
print(f"  (vs the seed's command on the same XFS: {r2:.0f}x)")
ok = med(e["freeze"]) <= med(e["seed_cow"])
print(f"freeze without reflink (ext4) {med(e['freeze'])*1000:.1f} ms vs the seed's COW-only copy {med(e['seed_cow'])*1000:.1f} ms: {verdict(ok)}")
for name, d in (("ext4", e), ("xfs", x)):
    tot = [t for r, t in d["total"] if r > 1] or [t for r, t in d["total"]]
    rt = (med(d["seed_whole"]) + tar_s) / med(tot)
    print(f"total ({name}): seed pause + tar cfj {med(d['seed_whole']) + tar_s:.1f} s{note} vs {med(tot):.2f} s: {rt:.0f}x faster, target >= 20x: {verdict(rt >= 20)}")
if tar_b:
    rs = e["bytes"] / tar_b
    print(f"archive size: {e['bytes']} vs tar.bz2 {tar_b} bytes = {rs:.3f}x, target <= 1.1x: {verdict(rs <= 1.1)}")
    print("  (umlhost's archive holds the COW; the template is named by version and sha256, the seed's holds both)")
PY
