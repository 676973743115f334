#!/bin/bash
# End-to-end: the kernel process's system calls. A small static program (tests/jail/jail_probe.c)
# is registered as a kernel, so the daemon starts it exactly as it starts UML: the monitor, the
# instance's jail (uid, namespaces, /dev/net/tun for a networked instance) and its seccomp
# filter. It tries each call the kernel must not make (sockets other than AF_UNIX, namespace
# flags in clone, clone3, tun requests that change the tap) and the ones UML needs, and prints
# what it got. A second run with `seccomp = off` is the control: there the same calls succeed,
# so the refusals are the filter's. All of it inside a network namespace this test creates.
. "$(dirname "$0")/lib.sh"
need
H=uhj$$
trap 'cleanup; ip netns del "$H" 2> /dev/null' EXIT
ip netns add "$H" || die "cannot create a network namespace"
ip netns exec "$H" ip link add up0 type veth peer name up0p || die "veth uplink"
ip netns exec "$H" ip link set up0 up

gcc -O2 -Wall -static -o "$W/jail_probe" "$UH_SRC/tests/jail/jail_probe.c" || die "building jail_probe failed"
make_image "$W/bb.img" 64M
echo "seccomp = enforce" > "$W/probe.conf"
DAEMON_NETNS=$H start_daemon --config "$W/probe.conf"
U template import bb "$W/bb.img" > /dev/null
U network create pub --mode routed --pool 192.0.2.16/28 --uplink up0 > /dev/null || die "network create"
# "probe" is a kernel the daemon trusts (built, from the cache) whose binary is the probe
U kernel build probe --config-fragment "$UH_SRC/kernel/hosting.config" > /dev/null || die "kernel build probe"
install -m 0755 "$W/jail_probe" "$W/state/kernels/probe/linux"

# probe_run NAME: start NAME, wait for this run's report, print it (one line per call)
probe_run() {
	local before ends
	before=$(U logs "$1" 2> /dev/null | wc -l)
	ends=$(U logs "$1" 2> /dev/null | grep -c '^PROBE-END')
	# the probe is no kernel: it exits without a mconsole, so start reports a failed start
	U start "$1" > /dev/null 2>&1
	for i in $(seq 300); do
		[ "$(U logs "$1" | grep -c '^PROBE-END')" -gt "$ends" ] && break
		sleep 0.1
	done
	U kill "$1" > /dev/null 2>&1
	U logs "$1" | tail -n +$((before + 1)) | awk '/^PROBE /{print $2, $3, $4} /^PROBE-END/{exit}'
}

U create p1 --template bb --memory 64M --kernel probe --network pub > /dev/null || die "create p1"
report=$(probe_run p1)
echo "$report" | sed 's/^/#   /'
check "the probe ran in the jail (not as root) and reported" test "$(echo "$report" | wc -l)" -ge 20
for want in socket-unix socketpair-unix clone-plain clone-vm-files open-dev-net-tun ioctl-TUNGETFEATURES; do
	check "allowed: $want" test "$(echo "$report" | awk -v n=$want '$1 == n {print $3}')" = ok
done
for name in socket-inet socket-inet6 socket-netlink socket-packet socket-vsock socket-inet-highbits \
	socketpair-inet clone-newnet clone-newuser clone-newns clone-newpid unshare-net setns mount \
	ioctl-TUNSETPERSIST ioctl-TUNSETOWNER ioctl-TUNSETGROUP ioctl-TUNSETLINK ioctl-TUNSETQUEUE \
	ioctl-TUNATTACHFILTER ioctl-TUNSETSTEERINGEBPF ioctl-TUNSETPERSIST-highbits; do
	check "refused: $name (EPERM)" test "$(echo "$report" | awk -v n=$name '$1 == n {print $3}')" = EPERM
done
check "clone3: ENOSYS, so libc falls back to clone" \
	test "$(echo "$report" | awk '$1 == "clone3" {print $3}')" = ENOSYS

# the control: the same jail without the filter lets the calls through (a uid without
# capabilities may still open inet sockets and create user namespaces)
kill -TERM "$DAEMON_PID"; wait_exit "$DAEMON_PID" 10
echo "seccomp = off" > "$W/probe.conf"
DAEMON_NETNS=$H start_daemon --config "$W/probe.conf"
report=$(probe_run p1)
check "control, no filter: socket-inet succeeds" \
	test "$(echo "$report" | awk '$1 == "socket-inet" {print $3}')" = ok
check "control, no filter: clone-newuser succeeds" \
	test "$(echo "$report" | awk '$1 == "clone-newuser" {print $3}')" = ok
check "control, no filter: clone3 is a real call (not ENOSYS)" \
	test "$(echo "$report" | awk '$1 == "clone3" {print $3}')" != ENOSYS
check "control, no filter: TUNSETPERSIST reaches the tun driver (not EPERM)" \
	test "$(echo "$report" | awk '$1 == "ioctl-TUNSETPERSIST" {print $3}')" != EPERM
U delete p1 --force > /dev/null 2>&1
finish
