#!/bin/bash
# bench/fpu.sh [RUNS=5]: what the FPU patch series (kernel/patches, issue 13) costs per
# system call and per context switch inside a guest, side by side in one run:
#   patched    the hosting kernel: FPU state sized from the host at boot
#   fixed      the same source and config without the series, the size hard-coded to this
#              host's (what a kernel built for exactly this CPU would do: the fastest a
#              fixed size can be, and the only unpatched 6.1 that runs here at all unless
#              the host's area is at most 2696 bytes)
#   stock      Debian's linux.uml, where it can run on this CPU
# Each boots a busybox image whose init runs bench/guest/switch_cost (getppid; a pipe round
# trip between two processes and between two threads) and powers off; kernels alternate,
# RUNS boots each, in ABBA order; medians of the guest's medians. Baseline: "fixed"; target: within noise
# (the probe runs once at boot; the per-switch work is the same ptrace calls of the same
# length). The "fixed" kernel is built once (minutes on 2 cores) and cached like the other.
set -u
RUNS=${1:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/uh-bench-fpu.XXXXXX)
. "$SRC/bench/lib.sh"
trap 'kill_under_w; rm -rf "$W"' EXIT
trap 'exit 130' INT TERM

host=$(host_xsave)
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), XSAVE area $host bytes" \
	"($(grep -o -E 'amx_tile|avx512f' /proc/cpuinfo | sort -u | paste -sd' ' -))"
echo "patched kernel:"
PATCHED=$(hosting_kernel_into "$W/patched") || exit 1

# the unpatched source with this host's size in place of 2696: one generated patch
mkdir -p "$W/fixed-series"
cat > "$W/fixed-series/0001-fixed-fpu-size.patch" << EOF
Hard-code this host's XSAVE size ($host bytes) where linux-source-6.1 has 2696 (bench only).
--- a/arch/x86/um/user-offsets.c
+++ b/arch/x86/um/user-offsets.c
@@ -39,7 +39,7 @@
 	DEFINE(HOST_ORIG_AX, ORIG_EAX);
 #else
 #ifdef FP_XSTATE_MAGIC1
-	DEFINE_LONGS(HOST_FP_SIZE, 2696);
+	DEFINE_LONGS(HOST_FP_SIZE, $host);
 #else
 	DEFINE(HOST_FP_SIZE, sizeof(struct _fpstate) / sizeof(unsigned long));
 #endif
EOF
# thread_info (in the kernel stack) holds a copy: a larger area needs a larger stack, as the
# quick check in issue 13 found on an 11008-byte host
cp "$SRC/kernel/hosting.config" "$W/fixed.config"
[ "$host" -gt 2696 ] && echo "CONFIG_KERNEL_STACK_ORDER=3" >> "$W/fixed.config"
echo "fixed kernel ($host bytes):"
bash "$SRC/scripts/kernel-build.sh" --fragment "$W/fixed.config" \
	--patches "$W/fixed-series" --out "$W/fixed" --cache /var/cache/umlhost/kernels |
	grep -E '^kernel-build: (source|done|cached|error)'
[ -x "$W/fixed/linux" ] || { echo "the fixed kernel did not build"; exit 1; }
KERNELS="patched=$PATCHED fixed=$W/fixed/linux"
if [ "$host" -le 2696 ]; then
	KERNELS="$KERNELS stock=/usr/bin/linux.uml"
else
	echo "stock: cannot run on this CPU (Debian's kernel holds 2696 bytes): not measured"
fi

mkdir -p "$W/extra"
gcc -O2 -static -pthread -o "$W/extra/switch_cost" "$SRC/bench/guest/switch_cost.c" || exit 1
cat > "$W/extra/run.sh" << 'EOF'
#!/bin/sh
mount -t proc proc /proc
/guestdata/switch_cost 20000
poweroff -f
EOF
chmod +x "$W/extra/run.sh"
bash "$SRC/scripts/busybox-image.sh" "$W/bb.img" 64M "$W/extra" > /dev/null

python3 - "$RUNS" "$W" $KERNELS << 'PY'
import os, re, subprocess, sys, statistics
runs, W = int(sys.argv[1]), sys.argv[2]
kernels = [a.split("=", 1) for a in sys.argv[3:]]
res = {name: [] for name, _ in kernels}
for r in range(runs):
    # alternating, the order reversed every other round (ABBA): neither kernel always runs
    # first after the other's teardown
    for name, k in (kernels if r % 2 == 0 else kernels[::-1]):
        cow = f"{W}/{name}.cow"
        p = subprocess.run(["setarch", "x86_64", "-R", k, f"umid=fpu{r}{name}", f"uml_dir={W}/u",
                            "mem=128M", f"ubd0={cow},{W}/bb.img", "con=null", "con0=null,fd:1",
                            "init=/guestdata/run.sh"], capture_output=True, text=True,
                           timeout=300, start_new_session=True)
        os.unlink(cow)
        m = re.search(r"syscall ([\d.]+) us, procs ([\d.]+) us, threads ([\d.]+) us", p.stdout)
        if not m:
            print(f"  {name} run {r}: no figures:", p.stdout[-300:]); continue
        res[name].append(tuple(float(x) for x in m.groups()))
print(f"{'kernel':8s} {'getppid':>9s} {'procs rt':>9s} {'threads rt':>11s}   (us; median of {runs} boots)")
med = {}
for name, v in res.items():
    if not v: continue
    med[name] = [statistics.median(x[i] for x in v) for i in range(3)]
    print(f"{name:8s} {med[name][0]:9.2f} {med[name][1]:9.2f} {med[name][2]:11.2f}")
if "patched" in med and "fixed" in med:
    d = [100 * (med["patched"][i] / med["fixed"][i] - 1) for i in range(3)]
    print(f"patched vs fixed: getppid {d[0]:+.1f}%, process round trip {d[1]:+.1f}%, "
          f"thread round trip {d[2]:+.1f}% (target: within noise, |d| < 5%: "
          f"{'PASS' if all(abs(x) < 5 for x in d) else 'MISS'})")
PY
