#!/bin/bash
# Hosting kernels end to end: build from Debian's linux-source-6.1 with kernel/hosting.config
# (through the daemon, progress shown; cached under /var/cache/umlhost/kernels by input hash,
# so only a change of source or fragment rebuilds), boot busybox on it, hostfs gone, a rolling
# upgrade of six instances that answer on their addresses, and a broken kernel (no ext4: it
# panics once its mconsole is up) that stops the rollout after the first instance, which goes
# back to its old kernel. The daemon runs in a network namespace this test creates.
# Debian's stock kernel runs only on CPUs whose XSAVE area is at most 2696 bytes: where it cannot,
# its checks say so, and the upgrade starts from a second built kernel instead.
. "$(dirname "$0")/lib.sh"
need
[ -r /usr/src/linux-source-6.1.tar.xz ] || die "/usr/src/linux-source-6.1.tar.xz missing (apt-get install linux-source-6.1)"
H=uhk$$
trap 'cleanup; ip netns del "$H" 2> /dev/null' EXIT
ip netns add "$H" || die "cannot create a network namespace"
ip -n "$H" link set lo up
hx() { ip netns exec "$H" "$@"; }

make_image "$W/bb.img" 64M
DAEMON_NETNS=$H NO_HOSTING_KERNEL=1 start_daemon
run U template import bb "$W/bb.img"

# ---- build (the daemon runs the builder; the CLI follows its log)
run U kernel build hosting --config-fragment "$UH_SRC/kernel/hosting.config"
check "kernel build succeeds" matches "$rc:$out" "0:*built kernel hosting*"
check "the build showed its progress" matches "$out" "*kernel-build: source linux-source-6.1=*"
check "kernel list: stock and hosting" test "$(U --json kernel list | jq_get '",".join(k["name"]+":"+k["status"] for k in d)')" = "stock:ready,hosting:ready"
check "the built kernel is the default for new instances" test "$(U --json kernel list | jq_get '[k["name"] for k in d if k["default"]][0]')" = hosting
KPATH=$(U --json kernel list | jq_get '[k["path"] for k in d if k["name"]=="hosting"][0]')
check "stored with its .config and build log" test -s "$(dirname "$KPATH")/config" -a -s "$(dirname "$KPATH")/build.log"
check "hostfs is off in its .config" grep -qx '# CONFIG_HOSTFS is not set' "$(dirname "$KPATH")/config"
check "reproducible build identity (fixed user@host)" bash -c "strings '$KPATH' | grep -q 'umlhost@umlhost'"

run U kernel build hosting --config-fragment "$UH_SRC/kernel/hosting.config"
check "building an existing name is refused" matches "$rc:$err_out" "1:*kernel 'hosting' exists*"
run U kernel build k2 --source "$W/bb.img"
check "a file that is not Debian's kernel source is refused (root would run its Makefile)" matches "$rc:$err_out" "1:*--source $W/bb.img: only Debian's kernel source tarballs*"
run U kernel build k2 --source /usr/src/linux-source-9.99.tar.xz
check "a missing source is a clear error" matches "$rc:$err_out" "1:*source /usr/src/linux-source-9.99.tar.xz: No such file or directory*"

check "nothing registered by the failed request" test "$(U --json kernel list | jq_get 'len(d)')" = 2
run U kernel rm stock
check "stock cannot be removed" matches "$rc:$err_out" "1:*'stock' is Debian's kernel*"
run U create bad --template bb --kernel nosuch
check "an unknown kernel is refused at create" matches "$rc:$err_out" "1:*unknown kernel 'nosuch'*"

# ---- it boots busybox, and hostfs is not there
run U create h1 --template bb --memory 64M
check "new instances get the hosting kernel" test "$(U --json show h1 | jq_get 'd["kernel"]')" = hosting
STOCK=$(stock_usable)
[ "$STOCK" = yes ] || echo "# the stock kernel cannot run on this CPU: its hostfs check is skipped here (test_fpu.sh checks its refusal)"
U start h1 > /dev/null
wait_log h1 UH-INIT-UP 20 || not_ok "h1 reached init"
if [ "$STOCK" = yes ]; then
	run U create s1 --template bb --memory 64M --kernel stock
	U start s1 > /dev/null
	wait_log s1 UH-INIT-UP 20 || not_ok "s1 reached init"
fi
check "h1 runs the hosting kernel binary" test "$(readlink "/proc/$(inst_pid h1)/exe")" = "$KPATH"
run guest_sh h1 'mount -t tmpfs t /tmp; mkdir /tmp/h; mount -t hostfs none /tmp/h'
check "mount -t hostfs fails on the hosting kernel" matches "$rc:$out" "[1-9]*:*No such device*"
check "no hostfs in /proc/filesystems (hosting)" test "$(guest_sh h1 'grep -c hostfs /proc/filesystems')" = 0
[ "$STOCK" = yes ] &&
	check "the stock kernel has hostfs (so the check above means something)" test "$(guest_sh s1 'grep -c hostfs /proc/filesystems')" = 1
check "the hosting kernel has IPv6 built in" test "$(guest_sh h1 'test -d /proc/sys/net/ipv6 && echo yes')" = yes
U stop h1 > /dev/null
U delete h1 > /dev/null
if [ "$STOCK" = yes ]; then
	U stop s1 > /dev/null
	U delete s1 > /dev/null
fi

# ---- it boots Debian bookworm (systemd, sshd, apache) too; the image is built by
# scripts/template-build.sh (debootstrap + mkfs.ext4 -d) and cached by its inputs' hash
bash "$UH_SRC/scripts/template-build.sh" --out "$W/debian.img" --cache /var/cache/umlhost/templates > "$W/debian-build.log" 2>&1
check "a Debian bookworm image is built (or taken from the cache)" test -s "$W/debian.img" || tail -n 5 "$W/debian-build.log"
run U network create pub --mode routed --pool 192.0.2.0/28
U template import deb "$W/debian.img" > /dev/null
U create d1 --template deb --memory 256M --network pub --ip 192.0.2.14 > /dev/null
run U start d1
check "the Debian instance starts on the hosting kernel" test "$rc:$(U --json show d1 | jq_get 'd["kernel"]')" = 0:hosting
page=""
for i in $(seq 120); do
	page=$(hx curl -s -m 1 http://192.0.2.14/ 2> /dev/null) && [ -n "$page" ] && break
	sleep 0.5
done
check "Debian's apache answers with a page naming the instance" test "$page" = "hello from d1 at 192.0.2.14"
wait_log d1 "(automatic login)" 90 || not_ok "d1: console login"
run guest_sh d1 'systemctl is-system-running --wait; mount -t hostfs none /mnt' 60
check "systemd reached running, no failed unit" matches "$out" "*running*"
check "mount -t hostfs fails in Debian on the hosting kernel" matches "$out" "*unknown filesystem type 'hostfs'*"
U stop d1 > /dev/null
U delete d1 > /dev/null

# ---- a rolling upgrade over six running instances, each answering on its address: from
# the stock kernel where it runs, else from a second build (the same binary, from the cache)
FROM=stock
if [ "$STOCK" != yes ]; then
	FROM=prev
	run U kernel build prev --config-fragment "$UH_SRC/kernel/hosting.config"
	check "a second kernel to upgrade from (stock cannot run here)" test "$rc" = 0
fi
echo "# upgrading from kernel $FROM"
for i in 1 2 3 4 5 6; do
	U create "u$i" --template bb --memory 64M --kernel "$FROM" --network pub --kernel-arg uhmode=httpd > /dev/null
	U start "u$i" > /dev/null
done
for i in 1 2 3 4 5 6; do wait_log "u$i" UH-HTTPD-UP 30 || not_ok "u$i: httpd up"; done
since=$(U --json events | jq_get 'd[-1]["id"]')
run U upgrade --kernel hosting --all --parallel 2
check "the upgrade succeeds" matches "$rc:$out" "0:*upgrade to kernel hosting done*"
check "all six on the new kernel" test "$(U --json list | jq_get '",".join(sorted(set(i["kernel"] for i in d)))')" = hosting
ok_pages=0
for i in 1 2 3 4 5 6; do
	page=$(hx curl -s -m 5 --retry 3 --retry-connrefused "http://192.0.2.$i/")
	[ "$page" = "hello from u$i at 192.0.2.$i" ] && ok_pages=$((ok_pages + 1))
done
check "all six answer after the upgrade" test "$ok_pages" = 6
restarts=$(U events --since "$since" | grep -c ' upgrading ')
check "each instance was restarted once ($restarts upgrading events, 6 upgraded)" test "$restarts" = 6 -a "$(U events --since "$since" | grep -c ' upgraded ')" = 6
check "running on the hosting binary" test "$(readlink "/proc/$(inst_pid u4)/exe")" = "$KPATH"

# ---- a broken kernel: no ext4, so it panics after its mconsole came up
grep -v -e EXT4 -e JBD2 "$UH_SRC/kernel/hosting.config" > "$W/broken.config"
echo '# CONFIG_EXT4_FS is not set' >> "$W/broken.config"
run U kernel build broken --config-fragment "$W/broken.config"
check "the broken kernel builds" test "$rc" = 0
first=$(U --json list | jq_get '[i["name"] for i in d][0]')
pid_before=$(inst_pid u2)
run U --json upgrade --kernel broken --all --parallel 1
check "the upgrade to a broken kernel fails" test "$rc" = 1
check "it names the first instance" test "$(echo "$out" | jq_get 'd["report"]["failed"]["instance"]')" = "$first"
check "that instance is back on its old kernel and running" test "$(U --json show "$first" | jq_get 'd["kernel"]+":"+d["state"]')" = hosting:running
check "the rollout stopped: nothing else touched" test "$(echo "$out" | jq_get 'len(d["report"]["skipped"])')" = 5 -a "$(inst_pid u2)" = "$pid_before"
check "the rolled-back instance answers again" matches "$(hx curl -s -m 5 --retry 5 --retry-connrefused "http://$(U --json show "$first" | jq_get 'd["ip"]')/")" "hello from $first*"
check "everything still on hosting" test "$(U --json list | jq_get '",".join(sorted(set(i["kernel"] for i in d)))')" = hosting

run U kernel rm hosting
check "a kernel in use cannot be removed" matches "$rc:$err_out" "1:*kernel hosting is used by instance*"
run U kernel rm broken
check "an unused kernel is removed" test "$rc" = 0 -a ! -e "$W/state/kernels/broken"
for i in 1 2 3 4 5 6; do U stop "u$i" > /dev/null; done
finish
