#!/bin/bash
# End-to-end: the state's compare-and-swap (issue 15, item 5). Every instance record carries
# the revision it was read at; a write of an older revision loses (ESTALE) and changes nothing.
# On one host the daemon's memory is the truth: someone who edits the database behind it
# (sqlite3 by hand) makes the next admin operation refuse once (409 conflict, nothing changed,
# event store-conflict), and a retry lands over the edit; a fact the host already reached (a
# kernel that ended) is written over the edit at once. A row deleted by hand is written again.
. "$(dirname "$0")/lib.sh"
need
command -v sqlite3 > /dev/null || die "sqlite3 missing (apt-get install sqlite3)"
make_image "$W/bb.img" 64M
start_daemon
db() { sqlite3 "$W/state/state.db" "$@"; }
U template import bb "$W/bb.img" > /dev/null
U create v --template bb --memory 64M --restart no > /dev/null
check "a new record is revision 1" test "$(db "SELECT rev FROM instances WHERE name='v'")" = 1

# an admin's operation against a record changed behind the daemon: refused once
db "UPDATE instances SET rev=rev+1, memory_mib=96 WHERE name='v'"
run U start v
check "start is refused with one line naming the conflict" \
	matches "$rc:$err_out" "1:*v: start refused, nothing changed: its state cannot be recorded: instance 'v' was changed in the state database by someone else (revision 2 there, 1 here)"
check "... nothing changed: stopped, no kernel, the edit still there" \
	test "$(inst_state v):$(inst_pid v):$(db "SELECT state||','||memory_mib FROM instances WHERE name='v'")" = "stopped:None:stopped,96"
check "... an event says so" matches "$(U events | grep store-conflict)" "*changed in the state database by someone else*this host's state goes over it*"
run U start v
check "the retry lands (the daemon took the store's revision)" test "$rc" = 0
wait_log v UH-INIT-UP 30 || not_ok "v boots after the retry"
check "the host's state went over the edit: running, memory 64" \
	test "$(db "SELECT state||','||memory_mib FROM instances WHERE name='v'")" = "running,64"

# the status code itself, on a fresh conflict
db "UPDATE instances SET rev=rev+1 WHERE name='v'"
out=$(curl -s -w ' %{http_code}' --unix-socket "$UMLHOST_SOCKET" -X POST \
	-H 'Content-Type: application/json' -d '{}' http://localhost/v1/instances/v/stop)
check "a lost compare-and-swap is 409 with code conflict" matches "$out" '*"code":"conflict"* 409'
check "... and v still runs" test "$(inst_state v)" = running

# a fact written while the record was changed by hand: goes over it at once
db "UPDATE instances SET rev=rev+7, restarts=41 WHERE name='v'"
pid=$(inst_pid v)
n=$(U events | grep -c store-conflict)
kill -9 "$pid"
wait_state v crashed 20 || not_ok "v is crashed after its kernel was killed"
check "the exit is recorded over the edit (crashed, restarts 0)" \
	test "$(db "SELECT state||','||restarts FROM instances WHERE name='v'")" = "crashed,0"
check "... with one more store-conflict event" test "$(U events | grep -c store-conflict)" = $((n + 1))

# a row deleted by hand: the next admin operation is refused once, then the row is back
db "DELETE FROM instances WHERE name='v'"
run U start v
check "start after the row was deleted by hand: refused, naming it" \
	matches "$rc:$err_out" "1:*instance 'v' was removed from the state database by someone else"
run U start v
check "... the retry starts it and writes the row again" test "$rc" = 0 -a "$(db "SELECT state FROM instances WHERE name='v'")" = running
U kill v > /dev/null
wait_state v stopped 20 || not_ok "v stops"

# work that must know its write landed (a flatten's new disk): a hand edit does not make it
# fail (it would redo the whole merge on every retry)
db "UPDATE instances SET rev=rev+3 WHERE name='v'"
run U disk flatten v
check "a flatten over a hand-edited record lands at once" \
	test "$rc:$(db "SELECT flat FROM instances WHERE name='v'")" = "0:1"
# a row with a state no version writes (edited by hand) does not stop the daemon
db "UPDATE instances SET state='bogus' WHERE name='v'"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null
start_daemon
check "a daemon over a row with an unknown state starts; the row is taken as stopped" \
	test "$(inst_state v)" = stopped
check "... and says so" grep -q "instance 'v': unknown state 'bogus' in the state database; taken as stopped" "$W/daemon.log"
finish
