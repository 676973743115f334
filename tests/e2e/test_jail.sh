#!/bin/bash
# End-to-end: the jail. Process state of every host process of an instance, its mounts, uids
# per instance and file permissions between them, hostfs from guest root, and docs/jail.md
# against the code.
source "$(dirname "$0")/lib.sh"
need
make_image "$W/base.img" 64M
start_daemon
U template import base "$W/base.img" > /dev/null
U create j1 --template base --memory 64M > /dev/null
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
done
check "all $n host processes of j1: its uid/gid, every capability set 0, NoNewPrivs 1" \
	bash -c "test $n -ge 3 && test $bad = 0"

# mounts the kernel sees: exactly the jail
awk '{print $5}' /proc/$p1/mountinfo | sort > "$W/mounts"
{ echo /; echo /dev/null; echo /ram; echo /usr/bin/linux.uml; echo /lib/x86_64-linux-gnu/libc.so.6
  echo /lib64/ld-linux-x86-64.so.2; echo "$W/state/templates/base.img"
  echo "$W/state/instances/j1/disk.cow"; echo "$W/run/i/j1"; } | sort > "$W/expected"
check "the kernel's mountinfo holds only the jail" cmp -s "$W/mounts" "$W/expected" || diff "$W/mounts" "$W/expected"
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

# hostfs from guest root shows nothing of the host
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
