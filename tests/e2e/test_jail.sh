#!/bin/bash
# End-to-end: the jail. Process state of every host process of an instance, its mounts, uids
# per instance and file permissions between them, hostfs from guest root, and docs/jail.md
# against the code.
source "$(dirname "$0")/lib.sh"
need
make_image "$W/base.img" 64M
start_daemon
U template import base "$W/base.img" > /dev/null
# j1 runs Debian's kernel where it can run on this CPU: it has hostfs, whose view from guest
# root is checked below (the hosting kernel has no hostfs to check)
STOCK=$(stock_usable)
JK=hosting
[ "$STOCK" = yes ] && JK=stock
U create j1 --template base --memory 64M --kernel "$JK" > /dev/null
U create j2 --template base --memory 64M > /dev/null
U start j1 > /dev/null
U start j2 > /dev/null
uid1=$(U --json show j1 | jq_get 'd["uid"]')
uid2=$(U --json show j2 | jq_get 'd["uid"]')
p1=$(inst_pid j1)
check "instances get their own uids ($uid1, $uid2) from the range" \
	bash -c "test $uid1 -ge 200000 && test $uid2 -ge 200000 && test $uid1 != $uid2"
check "the disk belongs to the instance's uid, mode 0600" \
	test "$(stat -c '%u %a' "$W/state/instances/j1/disk.cow")" = "$uid1 600"

# every host process of the instance: the kernel, its helpers, its guest processes, the reaper
procs() { ps -e -o pid=,sid=,ppid= | awk -v s="$1" '$2 == s {print $1}'; echo "$(awk '{print $4}' /proc/$1/stat)"; }
wait_log j1 UH-INIT-UP 30
n=0; bad=0
for p in $(procs "$p1"); do
	[ -r /proc/$p/status ] || continue
	n=$((n + 1))
	st=/proc/$p/status
	awk '/^Uid:/ {print $2, $3, $4, $5}' $st | grep -qx "$uid1 $uid1 $uid1 $uid1" || { echo "#   $p uid: $(grep ^Uid $st)"; bad=$((bad + 1)); }
	awk '/^Gid:/ {print $2, $3, $4, $5}' $st | grep -qx "$uid1 $uid1 $uid1 $uid1" || { echo "#   $p gid"; bad=$((bad + 1)); }
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -q "^$c:[[:space:]]*0000000000000000$" $st || { echo "#   $p $(grep ^$c $st)"; bad=$((bad + 1)); }
	done
	grep -q "^NoNewPrivs:[[:space:]]*1$" $st || { echo "#   $p no NoNewPrivs"; bad=$((bad + 1)); }
	grep -q "^Seccomp:[[:space:]]*2$" $st || { echo "#   $p $(grep ^Seccomp: $st)"; bad=$((bad + 1)); }
done
check "all $n host processes of j1: its uid/gid, every capability set 0, NoNewPrivs 1, Seccomp 2" \
	bash -c "test $n -ge 3 && test $bad = 0"

# mounts the kernel sees: exactly the jail
awk '{print $5}' /proc/$p1/mountinfo | sort > "$W/mounts"
kpath=$(U --json kernel list | jq_get "[k['path'] for k in d if k['name']=='$(U --json show j1 | jq_get 'd["kernel"]')'][0]")
{ echo /; echo /dev; echo /dev/null; echo /ram; echo "$kpath"; echo /lib/x86_64-linux-gnu/libc.so.6
  echo /lib64/ld-linux-x86-64.so.2; echo "$W/state/templates/base.img"
  echo "$W/state/instances/j1/disk.cow"; echo "$W/run/i/j1"; } | sort > "$W/expected"
check "the kernel's mountinfo holds only the jail" cmp -s "$W/mounts" "$W/expected" || diff "$W/mounts" "$W/expected"
check "no /dev/net/tun in the jail of an instance without a network" test ! -e "/proc/$p1/root/dev/net/tun"
check "the jail's /dev holds only null" test "$(ls "/proc/$p1/root/dev")" = null
check "/ is read-only inside" bash -c "awk '\$5 == \"/\" {print \$6}' /proc/$p1/mountinfo | grep -q '^ro'"
check "the template is mounted read-only inside" \
	bash -c "awk '\$5 == \"$W/state/templates/base.img\" {print \$6}' /proc/$p1/mountinfo | grep -q '^ro'"
check "pid namespace: the kernel is not in the host's" \
	test "$(readlink /proc/$p1/ns/pid)" != "$(readlink /proc/self/ns/pid)"
check "mount namespace of its own" test "$(readlink /proc/$p1/ns/mnt)" != "$(readlink /proc/self/ns/mnt)"

# one instance's uid cannot open the other's disk
run setpriv --reuid="$uid1" --regid="$uid1" --clear-groups cat "$W/state/instances/j2/disk.cow"
check "j1's uid cannot read j2's disk (EACCES)" matches "$rc:$err_out" "1:*Permission denied*"
run setpriv --reuid="$uid1" --regid="$uid1" --clear-groups sh -c "echo x >> '$W/state/templates/base.img'"
check "... nor write the template" matches "$rc:$err_out" "[12]:*Permission denied*"

# hostfs from guest root shows nothing of the host (only with a kernel that has hostfs)
if [ "$STOCK" = yes ]; then
	(sleep 1
	 printf 'mount -t hostfs none /tmp; echo HOSTFS-ROOT:; ls /tmp; echo :END\n'; sleep 1
	 printf 'cat /tmp/etc/shadow && echo SHADOW-READ\n'; sleep 0.5
	 printf 'ls %s/state/instances/ | sed s/^/INST:/\n' "$W"; sleep 0.5
	 printf 'echo x >> /tmp%s/state/templates/base.img || echo TEMPLATE-RO\n' "$W"; sleep 0.5
	 printf 'umount /tmp; mount -t hostfs -o /etc none /tmp && ls /tmp | sed s/^/ETC:/; umount /tmp\n'; sleep 0.5
	 printf 'mount -t hostfs -o ../../.. none /tmp && ls /tmp | sed s/^/UP:/; umount /tmp\n'; sleep 1
	 printf '\035') | U console j1 > "$W/hostfs.out" 2>&1
	tr -d '\r' < "$W/hostfs.out" > "$W/h"
	check "hostfs mounts, but its root is the jail (dev lib lib64 ram tmp usr)" \
		bash -c "sed -n '/^HOSTFS-ROOT:/,/^:END/p' '$W/h' | tr -s ' \n' ' ' | grep -q 'HOSTFS-ROOT: dev lib lib64 ram tmp usr :END'"
	check "no /etc/shadow through hostfs" bash -c "! grep -q '^SHADOW-READ' '$W/h'"
	check "no other instance's disk through hostfs" bash -c "! grep -q '^INST:j2' '$W/h'"
	check "the template is not writable through hostfs" grep -q '^TEMPLATE-RO' "$W/h"
	check "-o /etc shows no host /etc" bash -c "! grep -q '^ETC:' '$W/h'"
	check "-o ../../.. escapes nowhere (no host root entries)" bash -c "! grep -qE '^UP:(etc|home|root|var|boot)$' '$W/h'"
else
	echo "# Debian's kernel (the one with hostfs) cannot run on this CPU: hostfs from guest root is not checked here; the jail's mounts are checked above from the host (mountinfo), and the hosting kernel has no hostfs (test_kernel.sh)"
fi

# cgroups: limits written, the kernel inside, usage read from them, gone after stop
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	CGM=/sys/fs/cgroup/$CGROUP_BASE/j1; CGP=$CGM; MEMF=memory.max
else
	CGM=/sys/fs/cgroup/memory/$CGROUP_BASE/j1; CGP=/sys/fs/cgroup/pids/$CGROUP_BASE/j1; MEMF=memory.limit_in_bytes
fi
check "memory limit = mem + 25% + 64M (144M for 64M)" test "$(cat $CGM/$MEMF)" = $((144 << 20))
check "pids.max = the default 1024" test "$(cat $CGP/pids.max)" = 1024
check "the kernel runs in its cgroup" grep -qx "$p1" $CGP/cgroup.procs
[ "$MEMF" = memory.max ] && USAGE=memory.current || USAGE=memory.usage_in_bytes
s1=$(U --json stats j1 | jq_get 'd["memory_bytes"]'); s2=$(cat $CGM/$USAGE)
check "stats memory comes from the cgroup ($s1 ~ $s2)" \
	python3 -c "import sys; a, b = $s1, $s2; sys.exit(0 if a > 0 and abs(a - b) < 0.05 * b else 1)"
U create lim --template base --memory 64M --cpu-quota 50% --pids-max 64 > /dev/null
U start lim > /dev/null
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	check "--cpu-quota 50% -> cpu.max" test "$(cat /sys/fs/cgroup/$CGROUP_BASE/lim/cpu.max)" = "50000 100000"
	check "--pids-max 64 -> pids.max" test "$(cat /sys/fs/cgroup/$CGROUP_BASE/lim/pids.max)" = 64
else
	check "--cpu-quota 50% -> cpu.cfs_quota_us" test "$(cat /sys/fs/cgroup/cpu/$CGROUP_BASE/lim/cpu.cfs_quota_us)" = 50000
	check "--pids-max 64 -> pids.max" test "$(cat /sys/fs/cgroup/pids/$CGROUP_BASE/lim/pids.max)" = 64
fi
run U create badq --template base --cpu-quota 0%
check "--cpu-quota 0%: clear error" matches "$rc:$err_out" "1:*--cpu-quota must be a percentage*"
run U create badp --template base --pids-max 3
check "--pids-max 3: clear error" matches "$rc:$err_out" "1:*--pids-max must be a number from 16*"

# a guest fork bomb stops at pids.max; the instance and the host carry on
wait_log lim UH-INIT-UP 30
(sleep 1; printf 'i=0; while [ $i -lt 300 ]; do sleep 300 & i=$((i+1)); done 2>/dev/null; echo BOMB-DONE\n'
 sleep 6; printf '\035') | U console lim > "$W/bomb.out" 2>&1
[ -e /sys/fs/cgroup/cgroup.controllers ] && LP=/sys/fs/cgroup/$CGROUP_BASE/lim || LP=/sys/fs/cgroup/pids/$CGROUP_BASE/lim
check "fork bomb: processes capped at pids.max ($(cat $LP/pids.current 2>/dev/null || wc -l < $LP/cgroup.procs) <= 64)" \
	test "$(cat $LP/pids.current 2>/dev/null || wc -l < $LP/cgroup.procs)" -le 64
check "fork bomb: the cap was hit (pids.events / failures)" \
	bash -c "grep -q 'max [1-9]' $LP/pids.events 2>/dev/null || test \$(cat $LP/pids.current) -ge 60"
check "fork bomb: the instance still answers" bash -c "'$UMLHOST' mconsole '$W/run/i/lim/u/lim/mconsole' version | grep -q '^OK'"
check "fork bomb: the other instance is untouched" test "$(inst_state j1)" = running

# a guest that allocates beyond its memory: its own OOM killer acts, the instance lives.
# Always overcommit, and one buffer that one read fills: the kernel's OOM killer is certain
# and quick (a shell growing a string could instead fail its own malloc, or take long).
(sleep 1; printf 'echo 1 > /proc/sys/vm/overcommit_memory; dd if=/dev/zero of=/dev/null bs=150000000 count=1 &\n'
 for i in $(seq 60); do U logs j2 | grep -q "Out of memory" && break; sleep 0.5; done
 # the shell may be slow just after an OOM on a loaded host: wait for its answer, not 1 s
 printf 'echo AFTER-OOM-$((40+2))\n'
 for i in $(seq 40); do grep -q AFTER-OOM-42 "$W/oom.out" 2> /dev/null && break; sleep 0.5; done
 printf '\035') | U console j2 > "$W/oom.out" 2>&1
check "guest OOM: the guest's OOM killer acted" bash -c "'$UMLHOST' logs j2 | grep -qE 'Out of memory: Killed process|oom-kill:'"
check "guest OOM: the instance keeps running" test "$(inst_state j2)" = running
check "guest OOM: its shell still works" grep -q "AFTER-OOM-42" "$W/oom.out"
check "guest OOM: the host did not kill the kernel (same pid)" test "$(inst_pid j2)" != None
{ grep -q "AFTER-OOM-42" "$W/oom.out" && U logs j2 | grep -qE 'Out of memory: Killed process|oom-kill:'; } || { tail -n 12 "$W/oom.out" | sed 's/^/#   console: /'; U logs j2 | tail -n 12 | sed 's/^/#   log: /'; }

U stop lim > /dev/null
check "after stop: the instance's cgroups are gone" bash -c "! ls -d /sys/fs/cgroup/*/$CGROUP_BASE/lim /sys/fs/cgroup/$CGROUP_BASE/lim 2>/dev/null | grep -q ."

# a failing jail step reaches the user, naming the step
kill -TERM "$DAEMON_PID"; wait_exit "$DAEMON_PID" 10
printf 'jail_libs = /nonexistent/libc.so.6\n' > "$W/badjail.conf"
start_daemon --config "$W/badjail.conf"
U create j3 --template base --memory 64M > /dev/null
run U start j3
check "a failing jail step: start fails naming it" matches "$rc:$err_out" "1:*last console lines: umlhost-monitor: jail: bind /nonexistent/libc.so.6: No such file or directory*"

# docs/jail.md and the code list the same steps in the same order
doc=$(grep -oE '^[0-9]+\. \*\*[^*]+\*\*' "$UH_SRC/docs/jail.md" | sed 's/\*\*//g' | sed 's/^[0-9]*\. //')
code=$(grep -oE '/\* [0-9]+\. ' "$UH_SRC/src/jail/jail.c" | wc -l)
check "docs/jail.md and jail.c have the same number of steps ($(echo "$doc" | wc -l) / $code)" \
	test "$(echo "$doc" | wc -l)" = "$code"
i=0; order_ok=1
while read -r title; do
	i=$((i + 1))
	line=$(grep -E "/\* $i\. " "$UH_SRC/src/jail/jail.c")
	key=${title%% *}; key=${key%%/*}; key=${key#/}
	echo "$line" | grep -qi -- "$key" || { echo "#   step $i: doc '$title', code '$line'"; order_ok=0; }
done <<< "$doc"
check "each documented step names the code's step of the same number" test $order_ok = 1

finish
