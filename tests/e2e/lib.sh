# Shared helpers for the end-to-end tests. Source it from a test script.
# Every test works in its own directory under /tmp, boots the hosting kernel (see below) on a
# busybox image it builds with mkfs.ext4 -d (no loop mounts), and kills only what it started.
set -u
UMLHOST=${UMLHOST:?set UMLHOST to the umlhost binary}
UH_SRC=${UH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# Debian's kernel: it runs only on CPUs whose XSAVE area is at most 2696 bytes (issue 13), so tests
# never assume it boots; they ask the daemon (`kernel list`: usable) before using it.
STOCK_UML=/usr/bin/linux.uml
KERNEL_CACHE=${KERNEL_CACHE:-/var/cache/umlhost/kernels}
# The hosting kernel (kernel/hosting.config + kernel/patches) sizes the FPU state from the
# host at boot and runs on any x86-64 CPU: every test boots it (hosting-kernel.sh builds it
# once and keeps it in $KERNEL_CACHE).
if [ -z "${UML:-}" ]; then
	UML=$(bash "$UH_SRC/tests/e2e/hosting-kernel.sh") || { echo "FATAL: no hosting kernel"; exit 1; }
fi
W=$(mktemp -d /tmp/uh-e2e.XXXXXX)
UML_DIR=$W/uml
mkdir -p "$UML_DIR"
PIDS=()
FAILS=0
CHECKS=0

ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
not_ok() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
	local d=$1; shift
	if "$@"; then
		ok "$d"
	else
		not_ok "$d"
		case "$1" in
		matches|contains) echo "#   got: $2" ;;
		esac
	fi
}
die() { echo "FATAL: $*"; FAILS=$((FAILS + 1)); exit 1; }

need() {
	[ "$(id -u)" = 0 ] || die "end-to-end tests need root"
	[ -x "$UML" ] || die "$UML missing (the hosting kernel: scripts/kernel-build.sh)"
	file -L /bin/busybox | grep -q 'statically linked' || die "/bin/busybox is not static (apt-get install busybox-static)"
}

# make_image PATH [SIZE] [EXTRA_DIR]: a bootable busybox ext4 image (scripts/busybox-image.sh).
make_image() {
	bash "$UH_SRC/scripts/busybox-image.sh" "$@" || die "building the busybox image failed"
}

# boot_uml NAME LOG ARGS...: start linux.uml in its own session, address-space randomisation
# off (small mem= boots fail sometimes with it on); sets BOOT_PID.
boot_uml() {
	local name=$1 log=$2; shift 2
	setsid setarch "$(uname -m)" -R "$UML" umid="$name" uml_dir="$UML_DIR" mem=64M \
		con=null con0=null,fd:1 "$@" > "$log" 2>&1 < /dev/null &
	BOOT_PID=$!
	PIDS+=("$BOOT_PID")
}

# wait_for FILE PATTERN SECONDS: wait until FILE contains PATTERN (fixed string).
wait_for() {
	local f=$1 p=$2 t=$3 i
	for i in $(seq $((t * 10))); do
		grep -qF -- "$p" "$f" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_cmd SECONDS COMMAND...: wait until the command succeeds.
wait_cmd() {
	local t=$1 i
	shift
	for i in $(seq $((t * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# wait_exit PID SECONDS: wait for a process to be gone.
wait_exit() {
	local pid=$1 t=$2 i
	for i in $(seq $((t * 20))); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.05
	done
	return 1
}

# Every host process of a UML started by boot_uml (its session).
session_pids() { ps -e -o pid=,sid= | awk -v s="$1" '$2==s{print $1}'; }

# stop_pid PID: kill a process we started, and its whole session if it leads one (a UML
# kernel's helper processes share its session).
stop_pid() {
	local pid=$1 p
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	for p in $(session_pids "$pid"); do kill -9 "$p" 2>/dev/null; done
	kill -9 "$pid" 2>/dev/null
	wait_exit "$pid" 5
}

# Processes the daemon started for this test (monitors, UML kernels) outlive it by design;
# find them by their command lines, which all name paths under $W.
kill_test_processes() {
	local p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = $$ ] && continue
		{ tr '\0' ' ' < /proc/$p/cmdline; } 2>/dev/null | grep -qF "$W/" && kill -9 "$p" 2>/dev/null
	done
	return 0
}

# each test run's daemon keeps its instances' cgroups under a base of its own
CGROUP_BASE=umlhost-e2e-$(echo "${W##*.}" | tr "A-Z" "a-z")
remove_cgroups() {
	local d
	for d in /sys/fs/cgroup/$CGROUP_BASE/* /sys/fs/cgroup/*/$CGROUP_BASE/*; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	for d in /sys/fs/cgroup/$CGROUP_BASE /sys/fs/cgroup/*/$CGROUP_BASE; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	return 0
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	kill_test_processes
	sleep 0.2
	kill_test_processes
	sleep 0.2
	remove_cgroups
	rm -rf "$W"
}

# guest_sh NAME COMMAND [TIMEOUT]: run a command in a daemon instance's busybox console shell;
# its output on stdout, its exit status as ours.
guest_sh() { python3 "$UH_SRC/tests/e2e/guest_sh.py" "$W/run/i/$1/console.sock" "$2" "${3:-30}"; }

# ---- the daemon
UMLHOSTD=${UMLHOSTD:-$(dirname "$UMLHOST")/umlhostd}
export UMLHOST_SOCKET=$W/run/umlhost.sock
# start_daemon [ARGS...]: start umlhostd on $W/state and $W/run, wait until it serves.
start_daemon() {
	local a conf=""
	for a in "$@"; do [ "$conf" = next ] && conf=$a; [ "$a" = --config ] && conf=next; done
	if [ -z "$conf" ]; then
		conf=$W/base.conf
		: > "$conf"
		set -- --config "$conf" "$@"
	fi
	grep -q '^cgroup_base' "$conf" || echo "cgroup_base = $CGROUP_BASE" >> "$conf"
	# MONITOR: a monitor from another build (an ASan daemon with a plain monitor)
	[ -n "${MONITOR:-}" ] && ! grep -q '^monitor' "$conf" && echo "monitor = $MONITOR" >> "$conf"
	# DAEMON_NETNS: run it in that network namespace only (nsenter, not `ip netns exec`,
	# which also remounts /sys and hides the cgroup hierarchies)
	${DAEMON_NETNS:+nsenter --net=/run/netns/$DAEMON_NETNS} \
		"$UMLHOSTD" --foreground --state-dir "$W/state" --run-dir "$W/run" "$@" >> "$W/daemon.log" 2>&1 &
	DAEMON_PID=$!
	PIDS+=("$DAEMON_PID")
	local i
	for i in $(seq 100); do
		if [ -S "$UMLHOST_SOCKET" ] && "$UMLHOST" version > /dev/null 2>&1 && "$UMLHOST" list > /dev/null 2>&1; then
			[ "${NO_HOSTING_KERNEL:-0}" = 1 ] || use_hosting_kernel
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$W/daemon.log"
	die "umlhostd did not come up"
}
U() { "$UMLHOST" "$@"; }
# use_hosting_kernel: register the hosting kernel with the running daemon (its builder finds
# it in $KERNEL_CACHE); new instances then get it by default. Every test that starts a daemon
# does this (start_daemon), unless NO_HOSTING_KERNEL=1: the stock kernel may not run here.
use_hosting_kernel() {
	"$UMLHOST" --json kernel list 2> /dev/null | grep -q '"name": "hosting"' && return 0
	"$UMLHOST" kernel build hosting --config-fragment "$UH_SRC/kernel/hosting.config" > "$W/kernel-build.log" 2>&1 ||
		die "no hosting kernel: $(tail -n 1 "$W/kernel-build.log")"
}
# stock_usable: can Debian's kernel run on this CPU, as the daemon sees it (yes/no)
stock_usable() {
	"$UMLHOST" --json kernel list | jq_get '"yes" if [k for k in d if k["name"]=="stock"][0]["usable"] is not False else "no"'
}
jq_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# pid of an instance, or "None"
inst_pid() { U --json show "$1" | jq_get 'd["pid"]'; }
inst_state() { U --json show "$1" | jq_get 'd["state"]'; }
# wait_log NAME TEXT SECONDS: until the instance's console log holds TEXT
wait_log() {
	local i
	for i in $(seq $(($3 * 10))); do
		"$UMLHOST" logs "$1" 2>/dev/null | grep -qF -- "$2" && return 0
		sleep 0.1
	done
	return 1
}
# wait_state NAME STATE SECONDS
wait_state() {
	local i
	for i in $(seq $(($3 * 10))); do
		[ "$(inst_state "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# finish: print the summary line and exit with the right status.
finish() {
	echo "$((CHECKS - FAILS)) passed, $FAILS failed"
	# what CI shows of a failure: the daemon's own account of it
	if [ "$FAILS" != 0 ] && [ -s "$W/daemon.log" ]; then
		echo "# the daemon's log, last 40 lines:"
		tail -40 "$W/daemon.log" | sed 's/^/#   /'
	fi
	[ "$FAILS" = 0 ]
	exit $?
}

# run CMD...: run a command, keep its stdout in $out, its stderr in $err_out, status in $rc.
run() {
	local ef=$W/.run.err
	out=$("$@" 2> "$ef")
	rc=$?
	err_out=$(cat "$ef")
}
# matches STRING GLOB: shell pattern match, for use with check.
matches() { [[ $1 == $2 ]]; }
# routed_pair: two network namespaces of this test joined by a veth: "host" ($H: up0 at
# 192.0.2.1/24, where the daemon runs with DAEMON_NETNS=$H) and "internet" ($I: inet0 at
# 192.0.2.254/24); hx and ix run a command in them. Both are deleted at exit (after cleanup).
routed_pair() {
	H=uhh$$ I=uhi$$
	trap 'cleanup; ip netns del "$H" 2> /dev/null; ip netns del "$I" 2> /dev/null' EXIT
	ip netns add "$H" && ip netns add "$I" || die "cannot create network namespaces"
	ip link add up0 netns "$H" type veth peer name inet0 netns "$I" || die "veth"
	hx ip link set lo up && hx ip link set up0 up && hx ip addr add 192.0.2.1/24 dev up0 &&
		ix ip link set lo up && ix ip link set inet0 up &&
		ix ip addr add 192.0.2.254/24 dev inet0 || die "addresses in the namespaces"
}
hx() { ip netns exec "$H" "$@"; }
ix() { ip netns exec "$I" "$@"; }

# flip_byte FILE OFFSET: change one byte for certain (all its bits inverted). Writing a fixed
# value instead changes nothing when the byte already holds it (1 time in 256 in compressed
# data: e2e_backup's tampered archive once verified as intact that way)
flip_byte() {
	python3 - "$1" "$2" << 'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xFF]))
PY
}
contains() { [[ $1 == *"$2"* ]]; }

# ---- the HTTPS API (issue 16)
# free_port: a loopback TCP port nothing listens on.
free_port() {
	local p
	for p in $(shuf -i 20000-60000 -n 20); do
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}
# api_daemon [CONFIG LINES...]: a daemon with the HTTPS API on 127.0.0.1:$PORT (instances'
# uids from 400000, the gate's 400098) and the busybox template bb; sets PORT, CERT, BASE.
api_daemon() {
	PORT=$(free_port) || die "no free loopback port"
	printf 'api_listen = 127.0.0.1:%s\nuid_min = 400000\nuid_count = 100\n' "$PORT" > "$W/uh.conf"
	local line
	for line in "$@"; do echo "$line" >> "$W/uh.conf"; done
	make_image "$W/bb.img" 64M
	start_daemon --config "$W/uh.conf"
	U template import bb "$W/bb.img" > /dev/null
	CERT=$W/state/tls/cert.pem
	BASE=https://localhost:$PORT
}
# api TOKEN METHOD PATH [curl args]: the status on the last line, the body before it
api() {
	local tok=$1 m=$2 p=$3
	shift 3
	curl -sS --cacert "$CERT" -X "$m" ${tok:+-H "Authorization: Bearer $tok"} \
		-w '\n%{http_code}' "$@" "$BASE$p"
}
status() { tail -n 1 <<< "$1"; }
body() { sed '$d' <<< "$1"; }
# tok ARGS...: `umlhost token create ARGS`'s secret
tok() { U --json token create "$@" | jq_get 'd["token"]'; }
# py_checks CMD...: run a client that prints "ok - ..." / "not ok - ..." lines and "# done" at
# its end; its lines count as this test's checks, and a client that dies before its end (a
# traceback) is a failed check of its own
py_checks() {
	local line done=0
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		"ok - "*) CHECKS=$((CHECKS + 1)) ;;
		"not ok - "*) CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)) ;;
		"# done") done=1 ;;
		esac
	done < <("$@" 2>&1)
	[ "$done" = 1 ] || not_ok "the client ran to its end: $(basename "$2") ${3:-}"
}
