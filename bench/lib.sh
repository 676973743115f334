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
