#!/bin/bash
# The README's main command (run as root on Debian 12): install dependencies, build umlhost,
# then boot a real UML instance on a COW over a busybox image, drive it with
# `umlhost mconsole`, and merge its COW into a new image with `umlhost cow merge`.
# Until the daemon lands (issue 3) this shows the two foundations: the COW and mconsole tools.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it installs packages and boots UML)"; exit 1; }
bash scripts/install-deps.sh
[ -d build ] || meson setup build > /dev/null
ninja -C build > /dev/null
U=$PWD/build/src/umlhost
W=$(mktemp -d /tmp/umlhost-demo.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "a 64 MiB busybox template image, and a COW over it (instant, sparse)"
bash scripts/busybox-image.sh "$W/template.img" 64M
"$U" cow create "$W/web1.cow" "$W/template.img"
"$U" cow info "$W/web1.cow"

step "boot linux.uml on the COW; wait for its mconsole=notify: ready message"
"$U" mconsole --listen "$W/notify.sock" --count 1 --timeout 30 > "$W/ready" &
LPID=$!
sleep 0.2
setsid setarch "$(uname -m)" -R /usr/bin/linux.uml umid=web1 uml_dir="$W/uml" mem=64M \
	con=null con0=null,fd:1 ubd0="$W/web1.cow","$W/template.img" rw uhmode=write \
	mconsole=notify:"$W/notify.sock" > "$W/console.log" 2>&1 < /dev/null &
PID=$!
wait "$LPID"
cat "$W/ready"

step "talk to it: umlhost mconsole web1 ..."
M() { echo "\$ umlhost mconsole web1 $*"; "$U" mconsole --uml-dir "$W/uml" web1 "$@"; }
M version
M proc meminfo | head -4
for i in $(seq 300); do grep -q UH-WRITE-DONE "$W/console.log" && break; sleep 0.1; done
echo "(the guest has written 20 files, random.bin and SHA256SUMS to /guestdata)"
M sysrq s
M stop
M go
M halt
for i in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
PID=""

step "what the guest wrote lives only in its COW; the template is untouched"
"$U" cow info "$W/web1.cow" | grep allocated_sectors

step "merge COW + template into a new standalone image (like uml_moo, but in ms)"
time "$U" cow merge "$W/web1.cow" "$W/web1.img"
ls -ls "$W/web1.img"
echo
echo "Demo done: the COW and mconsole tools work against a real UML kernel."
