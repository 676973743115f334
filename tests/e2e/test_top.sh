#!/bin/bash
# End-to-end: `umlhost top` on a real terminal (tmux), against a real daemon with two running
# instances: the screen lists them with their state and owner, a key press stops the selected
# one (and the daemon says it stopped), q quits. Without a daemon: a plain one-line error, no
# screen.
. "$(dirname "$0")/lib.sh"
need
command -v tmux > /dev/null || die "tmux missing (apt-get install tmux)"
make_image "$W/bb.img" 64M
start_daemon
U template import bb "$W/bb.img" > /dev/null
U customer create carol > /dev/null
U create t1 --template bb --memory 64M > /dev/null
U create t2 --template bb --memory 64M --owner carol > /dev/null
U start t1 > /dev/null
U start t2 > /dev/null
wait_log t2 UH-INIT-UP 30 || not_ok "t2 boots"

run env UMLHOST_SOCKET="$W/run/nosuch.sock" "$UMLHOST" top
check "no daemon: exit 1 with one line, no screen" test "$rc:$(echo "$err_out" | wc -l)" = "1:1"

TM=(tmux -L "uh-top-$$" -f /dev/null)
"${TM[@]}" new-session -d -s top -x 150 -y 30 \
	"UMLHOST_SOCKET='$UMLHOST_SOCKET' '$UMLHOST' top --interval 0.5; sleep 30"
PIDS+=("$("${TM[@]}" display -p -t top '#{pid}')") # the tmux server: cleanup kills it
screen() { "${TM[@]}" capture-pane -p -t top; }
wait_screen() { # wait_screen REGEX SECONDS
	local i
	for i in $(seq $(($2 * 10))); do screen | grep -qE "$1" && return 0; sleep 0.1; done
	return 1
}
wait_screen '^t2 +running' 10
screen > "$W/screen1"
check "top lists both instances, running" \
	bash -c "grep -qE '^t1 +running' '$W/screen1' && grep -qE '^t2 +running' '$W/screen1'"
check "... with their owners" bash -c "grep -E '^t1 ' '$W/screen1' | grep -q provider && grep -E '^t2 ' '$W/screen1' | grep -q carol"
wait_screen '^t1 +running +[0-9]+\.[0-9] ' 5
check "... and a CPU % from two samples" bash -c "screen() { ${TM[*]} capture-pane -p -t top; }; screen | grep -qE '^t1 +running +[0-9]+\.[0-9] '"
# t1 is selected (sorted by name); down to t2, then t: stop it
"${TM[@]}" send-keys -t top j
sleep 0.3
"${TM[@]}" send-keys -t top t
wait_state t2 stopped 40
check "the t key stopped the selected instance (t2), not t1" \
	test "$(inst_state t2):$(inst_state t1)" = "stopped:running"
wait_screen '^t2 +stopped' 5
check "... and the screen shows it" bash -c "${TM[*]} capture-pane -p -t top | grep -qE '^t2 +stopped'"
check "... with the answer on the message line" bash -c "${TM[*]} capture-pane -p -t top | grep -q 'stop t2: done'"
"${TM[@]}" send-keys -t top q
sleep 0.5
check "q quits top (the screen is the shell's again)" bash -c "! ${TM[*]} capture-pane -p -t top | grep -q 'umlhost top:'"
"${TM[@]}" kill-server 2> /dev/null
U kill t1 > /dev/null
finish
