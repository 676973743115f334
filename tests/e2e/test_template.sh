#!/bin/bash
# Debian templates through the daemon: `template build` (mmdebstrap from the host's Debian
# mirror + mkfs.ext4 -d, progress shown), versions (a rebuild is version 2; instances stay on
# the version their COW is pinned to; a version in use cannot be removed), Debian instances
# booting systemd with sshd and apache, and broken inputs (unknown suite, missing package,
# unreachable mirror, a full disk) leaving nothing registered and no staging behind.
# The builds need the Debian mirror, so this daemon runs in the host's network namespace and
# its instances have no network (HTTP from outside is test_kernel.sh's and the demo's part).
# Built images are cached by their inputs' hash in /var/cache/umlhost/templates.
. "$(dirname "$0")/lib.sh"
need
command -v mmdebstrap > /dev/null || die "mmdebstrap missing (apt-get install mmdebstrap)"
CACHE=/var/cache/umlhost/templates
printf 'template_cache = %s\n' "$CACHE" > "$W/t.conf"
start_daemon --config "$W/t.conf"
use_hosting_kernel

run U template build deb
check "template build succeeds" matches "$rc:$out" "0:*built template deb version 1*"
check "the build showed its progress" matches "$out" "*template-build: suite bookworm*"
check "template list: deb version 1, the newest" test "$(U --json template list | jq_get '",".join("%s:%s:%s" % (t["name"], t["version"], t["newest"]) for t in d)')" = "deb:1:True"
img=$(U --json template list | jq_get 'd[0]["path"]')
check "the image is read-only and sparse" test "$(stat -c %a "$img")" = 444 -a "$(( $(stat -c %b "$img") * 512 ))" -lt "$(stat -c %s "$img")"
check "no SSH host key baked into the template" test -z "$(debugfs -R 'ls -l /etc/ssh' "$img" 2> /dev/null | grep ssh_host_)"
check "the build log is kept" test -s "$W/state/templates/deb.build.log"

U create d1 --template deb --memory 256M > /dev/null
check "d1 is on version 1" test "$(U --json show d1 | jq_get 'd["template_version"]')" = 1

run U template build deb
check "building deb again makes version 2" matches "$rc:$out" "0:*built template deb version 2*"
U create d2 --template deb --memory 256M > /dev/null
check "new instances get version 2" test "$(U --json show d2 | jq_get 'd["template_version"]')" = 2
check "d1 stays on version 1" test "$(U --json show d1 | jq_get 'd["template_version"]')" = 1
check "template list shows who uses which version" test "$(U --json template list | jq_get '" ".join("%s:%s" % (t["version"], ",".join(t["instances"])) for t in d)')" = "1:d1 2:d2"

for n in d1 d2; do run U start "$n"; check "$n (Debian) starts" test "$rc" = 0; done
for n in d1 d2; do
	# the console's root shell exists once the getty has logged in
	wait_log "$n" "(automatic login)" 90 || not_ok "$n: console login"
	run guest_sh "$n" 'systemctl is-system-running --wait; systemctl --failed --no-legend --plain | cat; systemctl is-active apache2 ssh; hostname; ls /etc/ssh/ssh_host_ed25519_key.pub' 90
	check "$n: systemd running (no failed unit), apache and sshd active, its own hostname" matches "$out" "*running*active*active*$n*ssh_host_ed25519_key.pub*"
done
k1=$(guest_sh d1 'cat /etc/ssh/ssh_host_ed25519_key.pub' | cut -d' ' -f2)
k2=$(guest_sh d2 'cat /etc/ssh/ssh_host_ed25519_key.pub' | cut -d' ' -f2)
check "each instance made its own SSH host key" test -n "$k1" -a -n "$k2" -a "$k1" != "$k2"
U stop d1 > /dev/null
U stop d2 > /dev/null

run U template rm deb --version 1
check "removing version 1 while d1 uses it is refused" matches "$rc:$err_out" "1:*version 1 is used by instance d1*"
run U template rm deb
check "removing the template while used is refused" test "$rc" = 1
U delete d1 > /dev/null
run U template rm deb --version 1
check "version 1 is removed once unused" test "$rc" = 0 -a ! -e "$img"
check "version 2 stays" test "$(U --json template list | jq_get '",".join("%s:%s" % (t["name"], t["version"]) for t in d)')" = "deb:2"

# ---- broken inputs: a clear error, nothing registered, no staging left
nothing_left() { # nothing_left NAME: no template NAME, no work dir, no image in its build dir
	! U --json template list | grep -q "\"name\": \"$1\", \"version\"" &&
		[ ! -e "$W/state/templates/.build-$1/work" ] && [ ! -e "$W/state/templates/.build-$1/image" ] &&
		! ls "$W/state/templates/" | grep -q "^$1[.@]"
}
run U template build bad1 --suite nosuchsuite
check "an unknown suite fails naming it" matches "$rc:$err_out" "1:*bad1: build failed:*nosuchsuite*"
check "unknown suite: nothing registered, staging removed" nothing_left bad1
run U template build bad2 --packages no-such-package-umlhost
check "a missing package fails naming it" matches "$rc:$err_out" "1:*bad2: build failed:*no-such-package-umlhost*"
check "missing package: nothing registered, staging removed" nothing_left bad2
run U template build bad3 --mirror http://127.0.0.1:9/debian
check "an unreachable mirror fails naming it" matches "$rc:$err_out" "1:*bad3: build failed:*127.0.0.1:9*"
check "unreachable mirror: nothing registered, staging removed" nothing_left bad3
run U template build bad4 --suite 'x;rm'
check "a suite with shell characters is refused before anything runs" matches "$rc:$err_out" "1:*invalid suite*"
run U template rm bad1
check "a failed build is forgotten with template rm" test "$rc" = 0 -a ! -e "$W/state/templates/.build-bad1"

# a full disk: a second daemon whose state lives on a 200 MiB tmpfs
mkdir -p "$W/small"
mount -t tmpfs -o size=200m umlhost-test "$W/small" || die "mount tmpfs"
# disk_reserve 16M: the build starts (with the default 1G it is refused at once, naming the
# free space: test_state_full.sh) and the disk fills up under mmdebstrap
printf 'cgroup_base = %s\ndisk_reserve = 16M\n' "$CGROUP_BASE-small" > "$W/small.conf"
"$UMLHOSTD" --foreground --state-dir "$W/small/state" --run-dir "$W/small/run" --config "$W/small.conf" >> "$W/daemon-small.log" 2>&1 &
SMALL_PID=$!
PIDS+=("$SMALL_PID")
for i in $(seq 100); do UMLHOST_SOCKET=$W/small/run/umlhost.sock U list > /dev/null 2>&1 && break; sleep 0.05; done
run env UMLHOST_SOCKET="$W/small/run/umlhost.sock" "$UMLHOST" template build full
check "a full disk fails the build with a clear error" matches "$rc:$err_out" "1:*full: build failed:*"
check "full disk: the error says so" matches "$err_out" "*o space left*"
check "full disk: no staging left, no image" test -z "$(ls -A "$W/small/state/templates/.build-full" 2> /dev/null | grep -v build.log)"
kill "$SMALL_PID"
wait "$SMALL_PID" 2> /dev/null
umount "$W/small"
finish
