#!/bin/bash
# End-to-end: umlhost mconsole against a real booted instance, and against peers that fail.
source "$(dirname "$0")/lib.sh"
need
make_image "$W/base.img" 64M
MC() { "$UMLHOST" mconsole --uml-dir "$UML_DIR" "$@"; }

boot_uml mc1 "$W/con.log" ubd0="$W/disk.cow","$W/base.img" uhmode=tick
wait_for "$W/con.log" UH-TICK 60 || { cat "$W/con.log"; die "instance did not boot"; }
SOCK=$UML_DIR/mc1/mconsole

# version: same line as the stock uml_mconsole prints
out=$(MC mc1 version); rc=$?
check "version exits 0" test $rc = 0
check "version answers 'OK Linux ... 6.1'" bash -c "[[ '$out' == 'OK Linux '*' 6.1.'* ]]"
check "version output identical to uml_mconsole's" test "$out" = "$(uml_mconsole "$SOCK" version 2>/dev/null)"
check "a socket path works like a umid" test "$("$UMLHOST" mconsole "$SOCK" version)" = "$out"

# proc meminfo: a reply spread over several datagrams
MC mc1 proc meminfo > "$W/meminfo"
check "proc meminfo exits 0" test $? = 0
check "proc meminfo is longer than one 512-byte datagram" test "$(wc -c < "$W/meminfo")" -gt 600
check "proc meminfo has its first (MemTotal) and a late field (Committed_AS)" \
	bash -c "grep -q '^MemTotal:' '$W/meminfo' && grep -q '^Committed_AS:' '$W/meminfo'"
check "MemTotal equals what uml_mconsole reads" \
	test "$(grep '^MemTotal' "$W/meminfo")" = "$(uml_mconsole "$SOCK" proc meminfo 2>/dev/null | grep '^MemTotal')"

# sysrq s: the guest syncs, the console says so
out=$(MC mc1 sysrq s)
check "sysrq s answers OK" bash -c "[[ '$out' == OK* ]]"
check "guest console shows the emergency sync" wait_for "$W/con.log" "Emergency Sync complete" 10

# help, config, remove, log, cad-free commands, stack's error path
check "help lists every command" bash -c "MC() { '$UMLHOST' mconsole --uml-dir '$UML_DIR' \"\$@\"; }; MC mc1 help | grep -q 'stack <pid>'"
check "config ubd0 shows the disk" bash -c "'$UMLHOST' mconsole '$SOCK' config ubd0 | grep -qF 'OK $W/disk.cow,$W/base.img'"
truncate -s 8M "$W/extra.img"
check "config ubd1=FILE hot-adds a disk" bash -c "'$UMLHOST' mconsole '$SOCK' config ubd1='$W/extra.img' | grep -q '^OK'"
check "config ubd1 shows it" bash -c "sleep 0.5; '$UMLHOST' mconsole '$SOCK' config ubd1 | grep -qF 'OK $W/extra.img'"
check "remove ubd1 unplugs it" bash -c "'$UMLHOST' mconsole '$SOCK' remove ubd1 | grep -q '^OK'"
run MC mc1 remove ubd5
check "remove of a missing device: ERR and exit 1" matches "$rc:$out" "1:ERR*"
check "log answers OK" bash -c "'$UMLHOST' mconsole '$SOCK' log umlhost-was-here | grep -q '^OK'"
run MC mc1 stack 99999
check "stack reaches its handler (no such pid: ERR)" matches "$rc:$out" "1:ERR Couldn't find that pid"
run MC mc1 frobnicate
check "unknown command: 'ERR Unknown command', exit 1" matches "$rc:$out" "1:ERR Unknown command"
MC mc1 --json version > "$W/v.json"
check "--json reply is one JSON document" python3 -c "import json; d=json.load(open('$W/v.json')); assert d['ok'] is True and d['reply'].startswith('Linux')"

# stop/go: a stopped guest does nothing (its ticks stop) but mconsole still answers
out=$(MC mc1 stop)
check "stop answers OK" bash -c "[[ '$out' == OK* ]]"
sleep 0.5
t1=$(grep -c UH-TICK "$W/con.log")
sleep 1.5
t2=$(grep -c UH-TICK "$W/con.log")
check "no guest progress while stopped ($t1 = $t2 ticks)" test "$t1" = "$t2"
check "mconsole answers while stopped" bash -c "'$UMLHOST' mconsole '$SOCK' version | grep -q '^OK Linux'"
out=$(MC mc1 go)
check "go answers OK" bash -c "[[ '$out' == OK* ]]"
sleep 1.5
t3=$(grep -c UH-TICK "$W/con.log")
check "guest runs again after go ($t2 -> $t3 ticks)" test "$t3" -gt "$t2"
run MC mc1 go
check "go when not stopped: ERR Not stopped" matches "$rc:$out" "1:ERR Not stopped"

# reboot: the kernel re-execs itself and boots again
check "reboot answers OK" bash -c "'$UMLHOST' mconsole '$SOCK' reboot | grep -q '^OK'"
check "the guest boots a second time" bash -c "for i in \$(seq 300); do [ \$(grep -c UH-INIT-UP '$W/con.log') -ge 2 ] && exit 0; sleep 0.1; done; exit 1"
wait_for "$W/con.log" "mconsole (version 2) initialized" 10
sleep 1

# halt: the process exits
out=$(MC mc1 halt)
check "halt answers OK" bash -c "[[ '$out' == OK* ]]"
check "UML process exits within 5 s of halt" wait_exit "$BOOT_PID" 5

# failures within the deadline, with a clear message
start=$(date +%s%N)
MC nosuch version 2> "$W/err"; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "unknown umid: exit 1 in ${ms} ms (< 2000)" bash -c "test $rc = 1 && test $ms -lt 2000"
check "unknown umid: message names the socket and the cause" grep -qF "nosuch/mconsole (is the instance running?): No such file or directory" "$W/err"

python3 "$(dirname "$0")/fake_peer.py" silent "$W/silent.sock" > "$W/peer.out" &
PIDS+=($!)
wait_for "$W/peer.out" READY 10
start=$(date +%s%N)
"$UMLHOST" mconsole --timeout 1 "$W/silent.sock" version 2> "$W/err"; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "silent peer: exit 1 after the 1 s deadline (${ms} ms)" bash -c "test $rc = 1 && test $ms -ge 900 && test $ms -lt 3000"
check "silent peer: message says no reply within the deadline" grep -q "no reply to 'version' within 1000 ms" "$W/err"

python3 "$(dirname "$0")/fake_peer.py" oversized "$W/big.sock" > "$W/peer2.out" &
PIDS+=($!)
wait_for "$W/peer2.out" READY 10
"$UMLHOST" mconsole --timeout 2 "$W/big.sock" version 2> "$W/err"; rc=$?
check "oversized reply: exit 1, 'oversized mconsole reply'" bash -c "test $rc = 1 && grep -q 'oversized mconsole reply' '$W/err'"

python3 "$(dirname "$0")/fake_peer.py" magic "$W/magic.sock" > "$W/peer3.out" &
PIDS+=($!)
wait_for "$W/peer3.out" READY 10
"$UMLHOST" mconsole --timeout 2 "$W/magic.sock" version 2> "$W/err"; rc=$?
check "bounced request: exit 1, 'wrong magic'" bash -c "test $rc = 1 && grep -q 'wrong magic' '$W/err'"
check "client sockets are cleaned up" bash -c "! ls -A '$W' '$UML_DIR' | grep -q umlhost-mc"

"$UMLHOST" mconsole mc1 2> /dev/null; rc=$?
check "missing command: usage error, exit 2" test $rc = 2

finish
