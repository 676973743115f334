#!/bin/bash
# End-to-end: SIGHUP re-reads the config file (issue 15, item 7). What a running daemon can
# change is applied at once (default_memory: the next create gets it) and named in a
# config-reloaded event; what needs a restart (uid_min) is kept as it was and named, and takes
# effect at the next start; a file with an error changes nothing and says which line. The
# daemon keeps its pid and keeps serving throughout. No instance boots here.
. "$(dirname "$0")/lib.sh"
need
make_image "$W/bb.img" 64M
conf() { printf 'default_memory = %s\nuid_min = %s\nuid_count = 100\nstop_timeout = %s\n' "$@" > "$W/uh.conf"; }
conf 64M 320000 30
NO_HOSTING_KERNEL=1 start_daemon --config "$W/uh.conf"
U template import bb "$W/bb.img" > /dev/null
U create r1 --template bb > /dev/null
field() { U --json show "$1" | jq_get "d[\"$2\"]"; }
check "before: the configured default memory (64) and the range's first uid" test "$(field r1 memory_mib),$(field r1 uid)" = 64,320000
pid=$DAEMON_PID

# ---- a live key and a restart-only key changed
conf 96M 330000 9
kill -HUP "$DAEMON_PID"
wait_cmd 10 bash -c "'$UMLHOST' events | grep -q config-reloaded" || not_ok "a config-reloaded event within 10 s"
ev=$(U events | grep config-reloaded | tail -n 1)
check "the event names what was applied and what waits for a restart" matches "$ev" \
	"*applied: default_memory, stop_timeout; needs a restart, kept as it was: uid_min*"
U create r2 --template bb > /dev/null
check "the next create gets the new default memory (96)" test "$(field r2 memory_mib)" = 96
check "but still a uid of the running range (uid_min needs a restart)" test "$(field r2 uid)" = 320001
check "the same daemon process, still serving" test "$DAEMON_PID" = "$pid" -a "$(U --json list | jq_get 'len(d)')" = 2

# ---- a file with an error: nothing changes, the line is named
printf 'default_memory = 128M\nbogus = 1\n' >> "$W/uh.conf"
kill -HUP "$DAEMON_PID"
wait_cmd 10 bash -c "'$UMLHOST' events | grep -q config-reload-failed" || not_ok "a config-reload-failed event within 10 s"
check "the failure names the file's line" matches "$(U events | grep config-reload-failed | tail -n 1)" \
	"*uh.conf: line 6: unknown setting 'bogus'; the running configuration is unchanged*"
U create r3 --template bb > /dev/null
check "nothing of that file was applied (96, not 128)" test "$(field r3 memory_mib)" = 96

# ---- the same file again (no change): nothing to apply
conf 96M 330000 9
kill -HUP "$DAEMON_PID"
wait_cmd 10 bash -c "test \$('$UMLHOST' events | grep -c config-reloaded) = 2" || not_ok "a second config-reloaded event"
check "an unchanged file applies nothing (uid_min still waits)" matches "$(U events | grep config-reloaded | tail -n 1)" \
	"*applied: nothing changed; needs a restart, kept as it was: uid_min*"

# ---- a restart takes the rest
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null
NO_HOSTING_KERNEL=1 start_daemon --config "$W/uh.conf"
U create r4 --template bb > /dev/null
check "after a restart the new range is used (330000)" test "$(field r4 uid)" = 330000
finish
