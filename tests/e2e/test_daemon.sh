#!/bin/bash
# End-to-end: umlhostd supervising real UML instances (busybox images): templates, 16
# instances in parallel, console and logs, bad input, the RAM budget, a modified template,
# permissions, the config check.
source "$(dirname "$0")/lib.sh"
need
make_image "$W/base.img" 64M

# --- config check
printf 'stop_timeout = 20\n# comment\nmemory_reserve = 1G\n' > "$W/good.conf"
run "$UMLHOSTD" -n --config "$W/good.conf"
check "-n with a valid config: 'configuration OK', exit 0" matches "$rc:$out" "0:configuration OK"
printf 'stop_timeout = 20\n\nfrobnicate = 1\n' > "$W/bad.conf"
run "$UMLHOSTD" -n --config "$W/bad.conf"
check "-n with an unknown key: exit 1 naming the line" matches "$rc:$err_out" "1:*bad.conf: line 3: unknown setting 'frobnicate'*"

start_daemon
run U template import base "$W/base.img"
check "template import" test "$rc" = 0
tpl=$W/state/templates/base.img
check "template copy is read-only" test "$(stat -c %a "$tpl")" = 444
check "template copy keeps the image's mtime" test "$(stat -c %Y "$tpl")" = "$(stat -c %Y "$W/base.img")"
check "template copy is sparse like the image" test "$(stat -c %b "$tpl")" -le "$(( $(stat -c %b "$W/base.img") + 8 ))"
check "template copy has the same bytes" cmp -s "$tpl" "$W/base.img"
run U template import base "$W/base.img"
check "importing the same name again: exit 1, exists" matches "$rc:$err_out" "1:*already exists*"
run U template import bad /etc/hostname
check "a non-ext4 file is refused" matches "$rc:$err_out" "1:*not an ext2/3/4 filesystem image*"
# a FIFO must not hang the daemon in open() (issue 14, item 8); a symlink is refused by name
mkfifo "$W/fifo"
run timeout 10 "$UMLHOST" template import fifo "$W/fifo"
check "a FIFO is refused at once, not waited on" matches "$rc:$err_out" "1:*is not a regular file*"
run timeout 5 "$UMLHOST" list
check "the daemon still answers after the FIFO" test "$rc" = 0
# (the CLI resolves paths itself; an API caller may send a symlink as it is)
ln -s "$W/base.img" "$W/link.img"
out=$(curl -s --unix-socket "$UMLHOST_SOCKET" -X POST -H 'Content-Type: application/json' \
	-d "{\"name\": \"viasymlink\", \"image\": \"$W/link.img\"}" http://umlhost/v1/templates)
check "a symlink sent to the API is refused" contains "$out" "is a symlink; give the file itself"

# --- 16 instances in parallel
N=16
jobs=(); for i in $(seq $N); do U create "vm$i" --template base --memory 64M > /dev/null & jobs+=($!); done
wait "${jobs[@]}"
check "16 creates" test "$(U --json list | jq_get 'len(d)')" = $N
start=$(date +%s%N)
jobs=(); for i in $(seq $N); do (U start "vm$i" > "$W/start.$i" 2>&1; echo $? > "$W/start.$i.rc") & jobs+=($!); done
wait "${jobs[@]}"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
fails=0; for i in $(seq $N); do [ "$(cat "$W/start.$i.rc")" = 0 ] || { fails=$((fails + 1)); cat "$W/start.$i"; }; done
check "16 parallel starts all succeed (${ms} ms)" test $fails = 0
U --json list > "$W/list.json"
python3 - "$W/list.json" $N <<'PY'
import json, sys
l = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert len(l) == n, len(l)
assert all(i["state"] == "running" for i in l), [i["state"] for i in l]
pids = [i["pid"] for i in l]
assert all(isinstance(p, int) for p in pids) and len(set(pids)) == n, pids
for f in ("name", "state", "pid", "memory_mib", "template", "network", "ip", "mac", "tap", "uid",
          "autostart", "restart", "restarts", "started_at", "disk", "kernel"):
    assert all(f in i for i in l), f
PY
check "list --json: 16 running, 16 distinct pids, every INTERFACE.md field" test $? = 0
pids=$(python3 -c "import json; print(' '.join(str(i['pid']) for i in json.load(open('$W/list.json'))))")
alive=0; for p in $pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
check "each listed pid is a live process" test $alive = $N
check "the listed pid is the UML kernel (its cmdline)" \
	bash -c "tr '\\0' ' ' < /proc/${pids%% *}/cmdline | grep -q '/linux umid=vm'"

# --- console and logs on one of them
check "logs show the guest's console" wait_log vm1 UH-INIT-UP 30
wait_log vm2 UH-INIT-UP 30
wait_log vm3 UH-INIT-UP 30
(sleep 1; printf 'echo con$((6*7))sole\n'; sleep 1.5; printf '\035') | U console vm1 > "$W/console.out" 2>&1
check "console attach: a command typed reaches the guest's shell" grep -q "con42sole" "$W/console.out"
check "console shows history on attach" grep -q "UH-INIT-UP" "$W/console.out"
(U logs vm2 --follow > "$W/follow.out" 2>&1 &
 echo $! > "$W/follow.pid")
sleep 0.5
printf 'echo fol$((2+3))low\n\035' | U console vm2 > /dev/null 2>&1
wait_for "$W/follow.out" "fol5low" 10
check "logs --follow streams new console output" test $? = 0
kill "$(cat "$W/follow.pid")" 2>/dev/null
(sleep 2; printf '\035') | U console vm3 > "$W/v1" 2>&1 &
v1=$!
(sleep 2; printf '\035') | U console vm3 > "$W/v2" 2>&1
wait $v1
check "two viewers at once both see the console" bash -c "grep -q UH-INIT-UP '$W/v1' && grep -q UH-INIT-UP '$W/v2'"

# --- stats
U --json stats vm1 > "$W/stats.json"
python3 - "$W/stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["cpu_seconds"] > 0 and s["memory_bytes"] > 10 * 2**20 and s["disk_bytes"] > 0, s
for f in ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets"): assert f in s
PY
check "stats: cpu seconds, memory (> 10 MiB), disk bytes" test $? = 0

# --- reboot and restart
p1=$(inst_pid vm1)
run U reboot vm1
check "reboot answers" test $rc = 0
check "reboot keeps the same pid (UML re-execs itself)" test "$(inst_pid vm1)" = "$p1"
run U restart vm1
p2=$(inst_pid vm1)
check "restart: running again with a new pid ($p1 -> $p2)" bash -c "test $rc = 0 && test '$p2' != '$p1' && test '$p2' != None"

# --- stop all; nothing left behind
start=$(date +%s%N)
jobs=(); for i in $(seq $N); do U stop "vm$i" > /dev/null & jobs+=($!); done
wait "${jobs[@]}"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "16 parallel stops: all stopped (${ms} ms)" test "$(U --json list | jq_get 'sum(1 for i in d if i["state"] == "stopped")')" = $N
left=0; for p in $pids $p2; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
check "no UML process of theirs left" test $left = 0
leftover() {
	local p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = "$DAEMON_PID" ] && continue
		if { tr '\0' ' ' < /proc/$p/cmdline; } 2>/dev/null | grep -qF "$W/run/i"; then
			echo "#   left: $p $(tr '\0' ' ' < /proc/$p/cmdline)"
			return 1
		fi
	done
	return 0
}
check "no process of an instance left (monitor, kernel, helpers)" leftover
check "no run directory left under run/i" test -z "$(ls -A "$W/run/i")"
check "no mount under the test dir" bash -c "! grep -qF '$W' /proc/mounts"
check "events: 16 started and 16 stopped" \
	bash -c "test \$('$UMLHOST' events | grep -c ' started ') -ge 16 && test \$('$UMLHOST' events | grep -c ' stopped ') -ge 16"

# --- bad input: a clear one-line error, exit 1, nothing created
before=$(ls "$W/state/instances" | wc -l)
bad() { # bad DESCRIPTION EXPECTED-TEXT ARGS...
	local d=$1 t=$2; shift 2
	run U "$@"
	check "$d: exit 1, says '$t'" matches "$rc:$err_out" "1:*$t*"
	check "$d: one line" test "$(printf '%s\n' "$err_out" | wc -l)" = 1
}
bad "name ../x" "invalid instance name '../x'" create ../x --template base
bad "name A" "invalid instance name 'A'" create A --template base
bad "33-character name" "at most 32" create abcdefghijklmnopqrstuvwxyz0123456 --template base
bad "unknown template" "unknown template 'nosuch'" create okname --template nosuch
bad "--memory 0" "below the minimum" create okname --template base --memory 0
bad "--memory 100T" "exceeds the host's RAM + swap" create okname --template base --memory 100T
bad "--memory junk" "invalid size" create okname --template base --memory lots
bad "duplicate name" "instance 'vm1' already exists" create vm1 --template base
bad "managed kernel argument" "managed by umlhost" create okname --template base --kernel-arg mem=1G
bad "start of an unknown instance" "no instance named 'ghost'" start ghost
check "nothing created by the bad input" test "$(ls "$W/state/instances" | wc -l)" = "$before"
check "no instance 'okname' in the list" bash -c "! '$UMLHOST' list | grep -q okname"

# --- a kernel that boots to its mconsole, then panics (root missing): start succeeds, then
# the crash is seen (restart=no: crashed) and nothing of it stays
U create noroot --template base --memory 64M --kernel-arg root=/dev/ubdz > /dev/null
run U start noroot
check "kernel with a missing root: start returns once the mconsole answered" test $rc = 0
check "... then its panic makes it crashed" wait_state noroot crashed 20
check "... with the panic as an event" bash -c "'$UMLHOST' events | grep -qE 'noroot +panic +VFS: Unable to mount root fs'"
check "... and no process of it left" bash -c "! pgrep -f '[l]inux.uml umid=noroot ' > /dev/null"
U delete noroot > /dev/null

# --- delete
run U delete vm16
check "delete a stopped instance" test $rc = 0
check "its files are gone" test ! -e "$W/state/instances/vm16"
U start vm15 > /dev/null
run U delete vm15
check "delete of a running instance without --force is refused" matches "$rc:$err_out" "1:*is running; stop it first or use --force*"
p=$(inst_pid vm15)
run U delete vm15 --force
check "delete --force kills and deletes" bash -c "test $rc = 0 && ! kill -0 $p 2>/dev/null && test ! -e '$W/state/instances/vm15'"
bad "template rm while instances use it" "is used by instance" template rm base

# --- the RAM budget
host_mib=$(awk '/MemTotal|SwapTotal/ {s += $2} END {print int(s / 1024)}' /proc/meminfo)
kill -TERM "$DAEMON_PID"; wait_exit "$DAEMON_PID" 10
printf 'memory_reserve = %dM\nconsole_log_max = 4K\n' $((host_mib - 200)) > "$W/budget.conf"
start_daemon --config "$W/budget.conf"
U create big1 --template base --memory 128M > /dev/null
U create big2 --template base --memory 128M > /dev/null
run U start big1
check "budget: the first 128M instance fits in 200M" test $rc = 0
run U start big2
check "budget: the second is refused, naming the numbers" matches "$rc:$err_out" "1:umlhost: big2: memory 128M exceeds the free budget (72M of 200M); stop an instance or lower --memory"
check "budget: the refused instance stays stopped" test "$(inst_state big2)" = stopped
U stop big1 > /dev/null
run U start big2
check "budget: after stopping one, the other starts" test $rc = 0
wait_log big2 UH-INIT-UP 30
check "console log capped at console_log_max (4K) with one rotated copy" bash -c "test \$(stat -c %s '$W/state/instances/big2/console.log') -le 4096 && test -s '$W/state/instances/big2/console.log.1' && test \$(stat -c %s '$W/state/instances/big2/console.log.1') -le 4096"
check "logs returns both parts" bash -c "test \$('$UMLHOST' logs big2 | wc -c) -gt 4096"
U kill big2 > /dev/null

# --- a modified template is refused with a message (not a silent UML death)
chmod 644 "$tpl"; touch -m -d '2001-01-01' "$tpl"; chmod 444 "$tpl"
run U start vm2
check "modified template: start fails, saying so" matches "$rc:$err_out" "1:umlhost: vm2: template 'base' (*) was modified after the instance was created*"
check "modified template: still stopped" test "$(inst_state vm2)" = stopped

# --- permissions: a caller that is neither root nor in the group
chmod 711 "$W"
run setpriv --reuid=65534 --regid=65534 --clear-groups "$UMLHOST" list
check "non-root caller: refused by the socket's mode" matches "$rc:$err_out" "1:*permission denied*"
chmod 666 "$UMLHOST_SOCKET"
run setpriv --reuid=65534 --regid=65534 --clear-groups "$UMLHOST" list
check "non-root caller on an open socket: the daemon refuses by peer uid" matches "$rc:$err_out" "1:*permission denied: uid 65534 is neither root nor in group umlhost*"
check "the denial is logged with the uid" grep -q "denied GET /v1/instances to uid 65534" "$W/daemon.log"

# --- a kernel that dies before its mconsole answers: start fails with its last console lines
kill -TERM "$DAEMON_PID"; wait_exit "$DAEMON_PID" 10
# (its comment carries the patched kernels' boot-line format, so the daemon takes it for a
# kernel that sizes its FPU state at boot and lets it run on any CPU)
printf '#!/bin/sh\n# UML: host FPU state is %%d bytes\necho "fake kernel: starting"\necho "fake kernel: no usable root device, giving up"\nexit 3\n' > "$W/fake-kernel"
chmod 755 "$W/fake-kernel"
printf 'kernel = %s\njail = no  # the fake kernel is a shell script: it needs /bin/sh\n' "$W/fake-kernel" > "$W/fake.conf"
start_daemon --config "$W/fake.conf"
make_image "$W/fresh.img" 64M
U template import fresh "$W/fresh.img" > /dev/null
U create doomed --template fresh --memory 64M --kernel stock > /dev/null
run U start doomed
check "kernel dying at boot: start fails, exit 1" test $rc = 1
check "... naming the exit and the kernel's last console lines" matches "$err_out" "umlhost: doomed: the kernel ended (exited 3) before its mconsole answered; last console lines: *fake kernel: starting | fake kernel: no usable root device, giving up"
check "... and the instance is stopped" test "$(inst_state doomed)" = stopped

finish
