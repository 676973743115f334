#!/bin/bash
# End-to-end: the mconsole=notify: listener sees boot-ready, guest user messages and panics.
source "$(dirname "$0")/lib.sh"
need
make_image "$W/base.img" 64M

# 1. boot ready ("socket" with the mconsole path) and a guest's write to /proc/mconsole
"$UMLHOST" mconsole --listen "$W/notify.sock" --count 2 --timeout 60 > "$W/n1.out" 2> "$W/n1.err" &
L=$!; PIDS+=($L)
wait_for "$W/n1.out" "listening" 10 || die "listener did not start"
boot_uml nt1 "$W/con1.log" ubd0="$W/a.cow","$W/base.img" uhmode=notify mconsole=notify:"$W/notify.sock"
wait_exit "$L" 60; rc=$?
check "listener got both messages and exited" test $rc = 0
check "first message: socket ready with the instance's mconsole path" \
	grep -qxF "socket $UML_DIR/nt1/mconsole" "$W/n1.out"
check "second message: the guest's /proc/mconsole write" grep -qxF "user hello-from-guest" "$W/n1.out"
check "the notified socket answers" bash -c "'$UMLHOST' mconsole '$UML_DIR/nt1/mconsole' version | grep -q '^OK'"
"$UMLHOST" mconsole "$UML_DIR/nt1/mconsole" halt > /dev/null
wait_exit "$BOOT_PID" 10

# 2. a panicking guest (its init exits): the listener hears "panic", panic= makes UML exit
"$UMLHOST" --json mconsole --listen "$W/notify2.sock" --count 2 --timeout 60 > "$W/n2.json" &
L=$!; PIDS+=($L)
sleep 0.3
boot_uml nt2 "$W/con2.log" ubd0="$W/b.cow","$W/base.img" uhmode=panic init=/etc/uh-rc panic=1 mconsole=notify:"$W/notify2.sock"
wait_exit "$L" 60
check "listener exited after two messages" test $? = 0
python3 - "$W/n2.json" <<'PY'
import json, sys
msgs = json.load(open(sys.argv[1]))
assert [m["type"] for m in msgs] == ["socket", "panic"], msgs
assert "Attempted to kill init" in msgs[1]["data"], msgs
PY
check "JSON: socket then panic, with the kernel's panic message" test $? = 0
check "a panicked UML with panic=1 exits on its own" wait_exit "$BOOT_PID" 30

# 3. a listener with nothing to hear times out cleanly
start=$(date +%s%N)
run "$UMLHOST" mconsole --listen "$W/quiet.sock" --count 1 --timeout 1
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "quiet listener: exit 1 after its 1 s deadline (${ms} ms)" bash -c "test $rc = 1 && test $ms -lt 3000"
check "quiet listener: says how many messages arrived" contains "$err_out" "0 of 1 messages within 1000 ms"
check "listener removes its socket file" test ! -e "$W/quiet.sock"

finish
