#!/bin/bash
# Issue 13, end to end: instances run on any x86-64 CPU. The hosting kernel (with
# kernel/patches) sizes each guest process's FPU state from the host at boot and says so in
# one line; umlhostd measures the host's XSAVE area at start and refuses, in one line naming
# both sizes and the fix, a kernel that cannot run on this CPU (Debian's stock kernel where
# the area is larger than its 2696 bytes; here also a built kernel whose info records a
# fixed size smaller than this host's), at
# create and at start, without a crash loop and leaving nothing behind. A static guest
# program keeps 4 threads in 2 processes switching thousands of times with every vector
# register the CPU has loaded and checks them after each switch.
. "$(dirname "$0")/lib.sh"
need
command -v gcc > /dev/null || die "gcc missing"

# ---- the guest program, built static on the host, in the test image
mkdir -p "$W/extra"
gcc -O2 -Wall -static -pthread -o "$W/extra/fpu_check" "$UH_SRC/tests/guest/fpu_check.c" ||
	die "building fpu_check failed"
make_image "$W/bb.img" 64M "$W/extra"
isa=$(grep -q avx512f /proc/cpuinfo && echo avx512 || { grep -qw avx /proc/cpuinfo && echo avx || echo sse; })
echo "# this CPU: $(grep -o -E 'amx_tile|avx512f' /proc/cpuinfo | sort -u | paste -sd' ' -) ($isa vector registers are checked)"
[ "$isa" = avx512 ] || echo "# no AVX-512 on this CPU: zmm16-31 and k1-7 are not checked here, $isa registers are"

start_daemon
run U template import bb "$W/bb.img"

# ---- the daemon measured the host's XSAVE area and logs it
host=$(sed -n 's/.*host XSAVE area: \([0-9]*\) bytes.*/\1/p' "$W/daemon.log" | tail -n 1)
check "umlhostd logs the host's XSAVE size at start" matches "$host" "[1-9]*"
echo "# host XSAVE area: $host bytes"

# ---- kernel list: the USABLE column
run U kernel list
check "kernel list has a USABLE column" matches "$out" "NAME*STATUS*USABLE*DEFAULT*"
check "the hosting kernel is usable here" matches "$(echo "$out" | grep '^hosting ')" "hosting*ready*yes*"
check "the hosting kernel's FPU state is sized at boot (fpu_size host)" \
	test "$(U --json kernel list | jq_get '[k["fpu_size"] for k in d if k["name"]=="hosting"][0]')" = host
stock=$(stock_usable)
if [ "$host" -le 2696 ]; then
	check "stock is usable on a $host-byte host (the host clamps its 2696-byte buffer)" test "$stock" = yes
else
	check "stock is not usable on a $host-byte host" test "$stock" = no
	check "kernel list shows stock as not usable" matches "$(echo "$out" | grep '^stock ')" "stock*ready*no*"
fi

# ---- the hosting kernel boots, logs the size it probed, and keeps vector state per thread
run U create f1 --template bb --memory 128M
run U start f1
check "f1 starts on the hosting kernel" test "$rc:$(U --json show f1 | jq_get 'd["kernel"]')" = 0:hosting
wait_log f1 UH-INIT-UP 20 || not_ok "f1 reached init"
check "the kernel logs the FPU size it probed, equal to the host's" \
	contains "$(U logs f1)" "UML: host FPU state is $host bytes"
run guest_sh f1 '/guestdata/fpu_check -p 2 -t 2 -n 8000; echo "rc=$?"' 300
echo "$out" | grep fpu-check | sed 's/^/# /'
line=$(echo "$out" | grep 'fpu-check: isa=')
switches=$(echo "$line" | sed -n 's/.*switches=\([0-9]*\).*/\1/p')
check "fpu_check ran 4 threads in 2 processes, 32000 rounds" matches "$line" "*processes=2 threads=4 rounds=32000 *"
check "at least 10000 context switches ($switches)" test "${switches:-0}" -ge 10000
check "zero mismatches of $isa registers across the switches" matches "$line" "fpu-check: isa=$isa *mismatches=0"
check "fpu_check exited 0" contains "$out" "rc=0"
U stop f1 > /dev/null

# ---- a kernel that cannot run here: refused at create, refused at start, nothing left.
# "fixed" is the hosting kernel registered again with its info file saying it holds a fixed
# size smaller than this host's area (Debian's 2696 on an AMX host, else 832, what a kernel
# built for an AVX2-only CPU would hold): the daemon judges by the info file, so this runs
# on every CPU with XSAVE.
run U kernel build fixed --config-fragment "$UH_SRC/kernel/hosting.config"
check "a second kernel from the cache" test "$rc" = 0
wrong=2696
[ "$host" -le 2696 ] && wrong=832
[ "$host" -le 832 ] && wrong=512
sed -i "s/^fpu_size=.*/fpu_size=$wrong/" "$W/state/kernels/fixed/info"
check "kernel list shows it as not usable" matches "$(U kernel list | grep '^fixed ')" "fixed*ready*no*"
reason="kernel 'fixed' cannot run on this host: it moves $wrong bytes of FPU state per process and this CPU's XSAVE area is $host bytes, more than that (every guest would die at init); build one that sizes it at boot: umlhost kernel build hosting"
run U create x1 --template bb --memory 64M --kernel fixed
check "create with it fails with the one-line reason" test "$rc:$err_out" = "1:umlhost: x1: $reason"
check "nothing of x1 was created" test ! -e "$W/state/instances/x1" -a "$(U --json list | jq_get '[i["name"] for i in d if i["name"]=="x1"]')" = "[]"

# An instance whose kernel became unusable (its state came from another host: CI and admins
# move between CPUs) is refused at start. f1 is switched over in the state while the daemon
# is down, with restart=always and autostart, the settings most likely to loop.
U stop f1 > /dev/null 2>&1
since=$(U --json events | jq_get 'd[-1]["id"]')
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2> /dev/null
sqlite3 "$W/state/state.db" "UPDATE instances SET kernel='fixed', restart='always', autostart=1 WHERE name='f1'" ||
	not_ok "switch f1 to the kernel in the state"
start_daemon
sleep 3 # autostart and any restart timer would have fired by now
run U start f1
check "start fails with the one-line reason" test "$rc:$err_out" = "1:umlhost: f1: $reason"
sleep 2
f1_events() { U --json events --since "$since" | jq_get "' '.join(e['type'] for e in d if e['instance']=='f1')"; }
echo "# f1's events since the switch: $(f1_events)"
check "no crash loop: the autostart's and our start's refusals, nothing else" \
	test "$(f1_events)" = "start-refused start-refused"
check "no kernel of f1 runs" test "$(inst_pid f1)" = None
check "f1 is stopped, not crashed" test "$(inst_state f1)" = stopped
check "no process holds a file of f1's" test -z "$(find /proc/[0-9]*/fd -lname "$W/state/instances/f1/*" 2> /dev/null)"
check "no cgroup of f1" test -z "$(ls -d /sys/fs/cgroup/$CGROUP_BASE/f1 /sys/fs/cgroup/*/$CGROUP_BASE/f1 2> /dev/null)"

# ---- Debian's stock kernel on this CPU
if [ "$stock" = no ]; then
	run U create s1 --template bb --memory 64M --kernel stock
	check "create --kernel stock fails with the one-line reason" \
		test "$rc:$err_out" = "1:umlhost: s1: kernel 'stock' cannot run on this host: it moves 2696 bytes of FPU state per process and this CPU's XSAVE area is $host bytes, more than that (every guest would die at init); build one that sizes it at boot: umlhost kernel build hosting"
	check "nothing of s1 was created" test ! -e "$W/state/instances/s1"
else
	echo "# the stock kernel runs on this CPU (XSAVE area $host <= 2696 bytes): its refusal cannot be shown here; the 'fixed' kernel above showed the mechanism"
	run U create s1 --template bb --memory 64M --kernel stock
	run U start s1
	check "the stock kernel starts here" test "$rc" = 0
	wait_log s1 UH-INIT-UP 20 || not_ok "s1 reached init"
	run guest_sh s1 '/guestdata/fpu_check -p 2 -t 2 -n 4000; echo "rc=$?"' 300
	check "and keeps vector state too (its 2696-byte buffer, clamped by the host)" contains "$out" "mismatches=0"
	U stop s1 > /dev/null
fi
finish
