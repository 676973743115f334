# Shared helpers for the benchmarks. Source it after setting W (the bench's work dir).
# med: median of the numbers on stdin.
med() { sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# kill_under_w: kill, by pid, every process whose command line names a path under $W (the
# daemons, monitors and UML kernels this bench started; instances outlive their daemon).
kill_under_w() {
	local p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		{ tr '\0' ' ' < /proc/$p/cmdline; } 2>/dev/null | grep -qF "$W/" && kill -9 "$p" 2>/dev/null
	done
	return 0
}
# remove_cgroups BASE: the (empty) cgroups a bench daemon left under BASE.
remove_cgroups() {
	local d
	for d in /sys/fs/cgroup/*/"$1"/* /sys/fs/cgroup/"$1"/*; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
	for d in /sys/fs/cgroup/*/"$1" /sys/fs/cgroup/"$1"; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
	return 0
}
# bench_traps: at exit, bench_cleanup: kill the bench's daemon ($DPID) and every process
# under $W, remove its cgroups ($CG) and network namespace ($NS, if it has one), run the
# bench's own extra_cleanup if it defines one (an unmount), then remove $W.
bench_cleanup() {
	[ -n "${DPID:-}" ] && kill -9 "$DPID" 2> /dev/null
	kill_under_w
	sleep 0.5
	remove_cgroups "$CG"
	[ -n "${NS:-}" ] && ip netns del "$NS" 2> /dev/null
	declare -F extra_cleanup > /dev/null && extra_cleanup
	rm -rf "$W"
}
bench_traps() {
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}
# hosting_kernel_into DIR: build the hosting kernel (kernel/hosting.config + kernel/patches),
# or take it from /var/cache/umlhost/kernels; prints its path. The benches boot it where they
# used to boot Debian's stock kernel: that one runs only where the host's XSAVE area is at
# most 2696 bytes (issue 13).
hosting_kernel_into() {
	bash "$SRC/scripts/kernel-build.sh" --fragment "$SRC/kernel/hosting.config" \
		--patches "$SRC/kernel/patches" --out "$1" --cache /var/cache/umlhost/kernels |
		grep -E '^kernel-build: (source|done|cached)' >&2
	[ -x "$1/linux" ] || { echo "bench: the hosting kernel could not be built" >&2; return 1; }
	echo "$1/linux"
}
# host_xsave: the host's user XSAVE size in bytes (CPUID 0xD EBX, which is what the host's
# ptrace hands out: tests/unit/test_kernel_fpu.c checks the two agree)
host_xsave() {
	printf '#include <cpuid.h>\n#include <stdio.h>\nint main(void){unsigned a,b,c,d;__cpuid_count(0xd,0,a,b,c,d);printf("%%u\\n",b);return 0;}\n' > "$W/xsave.c"
	gcc -o "$W/xsave" "$W/xsave.c" && "$W/xsave"
}
# stock_runs_here: yes when Debian's linux.uml (2696 bytes of FPU state) can run on this CPU:
# where the host's area is at most that (the host clamps a longer buffer, refuses a shorter)
stock_runs_here() { [ "$(host_xsave)" -le 2696 ] && echo yes || echo no; }
