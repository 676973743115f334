#!/bin/bash
# End-to-end: a full state filesystem (issue 14, item 13). The state directory is a small tmpfs
# this test mounts. The daemon holds a reserve for its database (db-reserve, a quarter of
# disk_reserve); filled up, the filesystem makes the database's next write fail (the test
# empties the database's WAL first, so that the next write needs new blocks): the reserve is
# given back and the write goes through, so memory and database agree. With the reserve
# spent, what needs space and what cannot be recorded is refused with one line, nothing
# changed, and memory still equals the database, across a daemon restart. Room again: the
# reserve is taken back and everything works.
. "$(dirname "$0")/lib.sh"
need
command -v sqlite3 > /dev/null || die "sqlite3 missing (apt-get install sqlite3)"
mkdir -p "$W/state"
mount -t tmpfs -o size=320m,mode=0755 umlhost-e2e-state "$W/state" || die "cannot mount a tmpfs"
trap 'cleanup; umount -l "$W/state" 2> /dev/null; rm -rf "$W"' EXIT
make_image "$W/bb.img" 64M
echo "disk_reserve = 32M" > "$W/full.conf"
start_daemon --config "$W/full.conf"
check "the database's reserve is held (8 MiB, a quarter of disk_reserve)" \
	test "$(( $(stat -c %b "$W/state/db-reserve") * 512 ))" = $((8 << 20))
U template import bb "$W/bb.img" > /dev/null
U create v --template bb --memory 64M > /dev/null
U start v > /dev/null
wait_log v UH-INIT-UP 30 || not_ok "v boots"

db() { sqlite3 "$W/state/state.db" "$@"; }
# fill: everything but nothing; then empty the WAL so the database must grow to write
fill() {
	local k
	db "PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null # first: it frees the WAL's blocks
	for k in 1 2 3 4 5 6 7 8; do
		fallocate -l "$(( $(df --output=avail -B1 "$W/state" | tail -n 1) ))" "$W/state/filler.$k" 2> /dev/null || break
	done
	dd if=/dev/zero of="$W/state/filler.tail" bs=4k 2> /dev/null
	dd if=/dev/zero of="$W/state/filler.last" bs=512 2> /dev/null
}
fill
check "the filesystem is full" test "$(df --output=avail -B1 "$W/state" | tail -n 1)" -eq 0

# creating needs space: refused while less than disk_reserve is free
run U create w --template bb --memory 64M
check "create is refused, naming the free space and disk_reserve" \
	matches "$rc:$err_out" "1:*w: create: the state filesystem $W/state has 0M free, less than it keeps (disk_reserve 32M)*; free space there first"
check "... nothing of w was made" test ! -e "$W/state/instances/w" -a "$(db "SELECT count(*) FROM instances WHERE name='w'")" = 0

# the next state write finds the filesystem full: the reserve is used, the write goes through
run U stop v
check "stop works on a full filesystem (the reserve pays for the record)" test "$rc" = 0
check "memory and database agree: stopped" test "$(inst_state v):$(db "SELECT state FROM instances WHERE name='v'")" = "stopped:stopped"
check "the reserve was given back" test "$(stat -c %b "$W/state/db-reserve")" = 0
wait_cmd 15 bash -c "'$UMLHOST' events | grep -q state-reserve-used" || not_ok "state-reserve-used event"
check "an event says so" matches "$(U events | grep state-reserve-used)" "*filled up: its reserve for the database was used*"

# the reserve is spent and the filesystem full again: nothing that must be recorded runs
fill
run U start v
check "start is refused with one line, nothing changed" \
	matches "$rc:$err_out" "1:*v: start refused, nothing changed: its state cannot be recorded: state database *full"
check "memory and database agree: still stopped, no kernel" \
	test "$(inst_state v):$(db "SELECT state FROM instances WHERE name='v'"):$(inst_pid v)" = "stopped:stopped:None"
check "no kernel process of v runs" test -z "$(pgrep -f "umid=v " || true)"
kill -TERM "$DAEMON_PID"; wait_exit "$DAEMON_PID" 10
start_daemon --config "$W/full.conf"
check "after a daemon restart: the same (stopped)" test "$(inst_state v)" = stopped

# room again: the reserve comes back, start works
rm -f "$W/state"/filler.*
wait_cmd 15 bash -c "'$UMLHOST' events | grep -q state-reserve-restored" || not_ok "state-reserve-restored event"
check "the reserve is held again" test "$(( $(stat -c %b "$W/state/db-reserve") * 512 ))" = $((8 << 20))
run U start v
check "start works again" test "$rc" = 0
check "running, in memory and in the database" test "$(inst_state v):$(db "SELECT state FROM instances WHERE name='v'")" = "running:running"
U stop v > /dev/null
finish
