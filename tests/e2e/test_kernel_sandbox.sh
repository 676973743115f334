#!/bin/bash
# End-to-end: a kernel source's code runs in the builder's sandbox, not as root (issue 14, item
# 6, second half). The daemon is configured (kernel_source, kernel_patches) with a hostile
# "kernel source" this test makes: its config step is a probe that reports who it runs as and
# tries what root could do (write /etc and /usr/src, reach a loopback listener, see the daemon
# and its socket, leave files in /var/tmp), then fails the build; with another fragment it goes
# through and forges its kernel release, which root must refuse to write into the kernel's info.
# The daemon runs builds as the last uid of its instance range, which no instance gets.
# No instance boots here (the real build and boot are test_kernel.sh's).
. "$(dirname "$0")/lib.sh"
need
command -v python3 > /dev/null || die "python3 missing"
TAG=$$
trap 'cleanup; rm -f "/etc/umlhost-probe-$TAG" "/usr/src/umlhost-probe-$TAG" "/var/tmp/umlhost-probe-$TAG"' EXIT

# a loopback listener that writes down whoever connects (network rule: loopback only)
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
with open(sys.argv[1], "a") as log:
    while True:
        c, a = s.accept(); log.write("connected\n"); log.flush(); c.close()
' "$W/listener.log" > "$W/listener.port" 2> /dev/null &
PIDS+=($!)
for i in $(seq 50); do [ -s "$W/listener.port" ] && break; sleep 0.1; done
PORT=$(head -n 1 "$W/listener.port")
[ -n "$PORT" ] || die "the loopback listener did not start"
touch "$W/listener.log"

# the daemon: builds from our source and series only, uids 299999-300002 (300001: the HTTPS
# gate's, 300002: the builder's)
mkdir -p "$W/evil/patches"
cat > "$W/uh.conf" << EOF
kernel_source = $W/evil/linux-source-evil.tar.xz
kernel_patches = $W/evil/patches
kernel_cache = $W/kcache
uid_min = 299999
uid_count = 4
EOF
NO_HOSTING_KERNEL=1 start_daemon --config "$W/uh.conf"

# ---- the hostile source: a patch series it takes, a config step that probes
S=$W/evil/tree/linux-evil
mkdir -p "$S/arch/x86/um/os-Linux" "$S/arch/x86/um/shared/sysdep" "$S/scripts/kconfig"
echo 'int host_fp_size = iov.iov_len;' > "$S/arch/x86/um/os-Linux/registers.c"
: > "$S/arch/x86/um/shared/sysdep/ptrace.h"
echo before > "$S/a.txt"
cat > "$S/Makefile" << 'EOF'
defconfig:
	@echo CONFIG_UML=y > .config
olddefconfig:
	@true
linux:
	@printf '#!/bin/sh\necho fake\n' > linux; chmod +x linux
kernelrelease:
	@echo '6.1.0 source=forged'
EOF
cat > "$S/scripts/kconfig/merge_config.sh" << EOF
#!/bin/sh
# merge_config.sh -m .config FRAGMENT: with CONFIG_PROBE=y the probe, then a failed build
if grep -q CONFIG_PROBE=y "\$3"; then
	exec >&2
	echo "PROBE uid=\$(id -u) gid=\$(id -g) groups=\$(id -G)"
	echo "PROBE capeff=\$(awk '/^CapEff/{print \$2}' /proc/self/status) capbnd=\$(awk '/^CapBnd/{print \$2}' /proc/self/status) nnp=\$(awk '/^NoNewPrivs/{print \$2}' /proc/self/status)"
	echo "PROBE net=\$(readlink /proc/self/ns/net) pid=\$(readlink /proc/self/ns/pid) mnt=\$(readlink /proc/self/ns/mnt)"
	touch /etc/umlhost-probe-$TAG 2> /dev/null && echo "PROBE wrote /etc" || echo "PROBE cannot write /etc"
	touch /usr/src/umlhost-probe-$TAG 2> /dev/null && echo "PROBE wrote /usr/src" || echo "PROBE cannot write /usr/src"
	echo x > /var/tmp/umlhost-probe-$TAG 2> /dev/null && echo "PROBE wrote /var/tmp"
	(echo hi > /dev/tcp/127.0.0.1/$PORT) 2> /dev/null && echo "PROBE reached loopback" || echo "PROBE cannot reach loopback"
	kill -0 $DAEMON_PID 2> /dev/null && echo "PROBE sees the daemon" || echo "PROBE does not see the daemon"
	[ -e "$UMLHOST_SOCKET" ] && echo "PROBE sees the socket" || echo "PROBE does not see the socket"
	echo "PROBE run=\$(ls -A /run | tr '\n' ' ')"
	exit 1
fi
cat "\$3" >> "\$2"
EOF
chmod +x "$S/scripts/kconfig/merge_config.sh"
cp -a "$S" "$S.orig"
echo after > "$S/a.txt"
(cd "$W/evil/tree" && diff -u linux-evil.orig/a.txt linux-evil/a.txt > "$W/evil/patches/0001-a.patch")
echo before > "$S/a.txt"
rm -rf "$S.orig"
tar -C "$W/evil/tree" -cJf "$W/evil/linux-source-evil.tar.xz" linux-evil
chmod 0644 "$W/evil/linux-source-evil.tar.xz"
echo "CONFIG_PROBE=y" > "$W/probe.config"
echo "CONFIG_FORGE=y" > "$W/forge.config"

# ---- the probe
run U kernel build evil --source "$W/evil/linux-source-evil.tar.xz" --config-fragment "$W/probe.config"
log=$out$err_out
check "the hostile build fails (its probe says so)" matches "$rc:$log" "1:*merge_config.sh failed*"
check "the builder said where it runs" matches "$log" "*sandbox: uid 300002, no capabilities*"
check "the source's code ran as the range's last uid (300002), no groups" matches "$log" "*PROBE uid=300002 gid=300002 groups=300002*"
check "with no capabilities, none to gain (bounding set empty, no_new_privs)" matches "$log" "*PROBE capeff=0000000000000000 capbnd=0000000000000000 nnp=1*"
host_ns() { readlink "/proc/$DAEMON_PID/ns/$1"; }
probe_ns=$(printf '%s\n' "$log" | sed -n 's/.*PROBE net=\([^ ]*\) pid=\([^ ]*\) mnt=\([^ ]*\).*/\1 \2 \3/p')
check "in its own network, pid and mount namespaces ($probe_ns)" test -n "$probe_ns" -a \
	"$(echo "$probe_ns" | cut -d' ' -f1)" != "$(host_ns net)" -a \
	"$(echo "$probe_ns" | cut -d' ' -f2)" != "$(host_ns pid)" -a \
	"$(echo "$probe_ns" | cut -d' ' -f3)" != "$(host_ns mnt)"
check "it could not write /etc" matches "$log" "*PROBE cannot write /etc*"
check "nor /usr/src" matches "$log" "*PROBE cannot write /usr/src*"
check "nothing left in /etc or /usr/src" test ! -e "/etc/umlhost-probe-$TAG" -a ! -e "/usr/src/umlhost-probe-$TAG"
check "what it wrote to /var/tmp stayed in its namespace" test ! -e "/var/tmp/umlhost-probe-$TAG"
check "it could not reach a loopback listener" matches "$log" "*PROBE cannot reach loopback*"
check "the listener saw no one" test ! -s "$W/listener.log"
check "it does not see the daemon's process" matches "$log" "*PROBE does not see the daemon*"
check "nor the daemon's socket" matches "$log" "*PROBE does not see the socket*"
check "its /run is empty of the host's sockets" test -z "$(printf '%s\n' "$log" | sed -n 's/.*PROBE run=//p' | tr -d ' ' | sed 's/mount//')"
ready() { U --json kernel list | jq_get '",".join(k["name"] for k in d if k["status"] == "ready")'; }
check "the failed build registered nothing" test "$(ready)" = stock
check "the build's work directory is closed to other builds (0700, root)" \
	test "$(stat -c '%a %u' "$W/state/kernels/.build-evil")" = "700 0"

# ---- run by hand as root (tests, benches): the same sandbox, as the default uid
run bash "$UH_SRC/scripts/kernel-build.sh" --source "$W/evil/linux-source-evil.tar.xz" --fragment "$W/probe.config" \
	--patches "$W/evil/patches" --out "$W/hand"
check "by hand, the source's code runs as uid 265535 too" matches "$rc:$out$err_out" "1:*PROBE uid=265535 gid=265535 groups=265535*PROBE cannot write /etc*"
run bash "$UH_SRC/scripts/kernel-build.sh" --source "$W/evil/linux-source-evil.tar.xz" --fragment "$W/probe.config" \
	--patches "$W/evil/patches" --out "$W/hand" --build-uid 65534
check "a build uid that is a user's is refused, naming the user" matches "$rc:$err_out" "1:*build uid 65534 is user nobody's*"

# ---- a build that goes through and forges its release: root refuses the word
U kernel rm evil > /dev/null 2>&1
run U kernel build evil2 --source "$W/evil/linux-source-evil.tar.xz" --config-fragment "$W/forge.config"
log=$out$err_out
check "a forged kernel release is refused by root after the build" matches "$rc:$log" "1:*the build's kernel release is not a plain word*"
check "nothing registered" test "$(ready)" = stock

# ---- the builder's uid is nobody's instance
make_image "$W/bb.img" 64M
U template import bb "$W/bb.img" > /dev/null
run U create i1 --template bb --memory 64M
run U create i2 --template bb --memory 64M
check "two instances get 299999 and 300000" test "$(U --json show i1 | jq_get 'd["uid"]'),$(U --json show i2 | jq_get 'd["uid"]')" = 299999,300000
run U create i3 --template bb --memory 64M
check "the third is refused: 300001 and 300002 are the gate's and the builder's" matches "$rc:$err_out" "1:*no free uid left in 299999-300000 (uid_min, uid_count; 300001 and 300002 are the HTTPS gate's and the kernel builder's)*"
# an instance made before the range's last uid was kept for builds may hold it: no build then
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null
sed -i 's/^uid_min = 299999$/uid_min = 299998/; s/^uid_count = 4$/uid_count = 3/' "$W/uh.conf"
NO_HOSTING_KERNEL=1 start_daemon --config "$W/uh.conf"
run U kernel build evil3 --source "$W/evil/linux-source-evil.tar.xz" --config-fragment "$W/probe.config"
check "a build whose uid an instance holds is refused, naming it" matches "$rc:$err_out" "1:*instance i2 has uid 300000, the kernel builder's*"
check "and nothing ran (no probe in any log)" test -z "$(grep -rl 'PROBE uid=300000' "$W/state/kernels" 2> /dev/null)"
echo "uid_count = 1" > "$W/one.conf"
run "$UMLHOSTD" -n --config "$W/one.conf" --state-dir "$W/state2" --run-dir "$W/run2"
check "uid_count 1 is refused (no room for the gate and the builder)" matches "$rc:$out$err_out" "1:*uid_count must be a number from 3 to*"
finish
