#!/bin/bash
# umlhost-template-build: a Debian root filesystem image for UML instances, built with
# mmdebstrap into a staging directory and made into a sparse ext4 image with mkfs.ext4 -d
# (no loop mount, nothing mounted at all).
#
#   template-build.sh --out IMAGE [--suite bookworm] [--packages a,b,c] [--size 2G]
#                     [--mirror URL] [--work DIR] [--cache DIR]
#
# The UML fixes (the seed's §7.4 did them by hand): fstab on /dev/ubda (ext4, journaled), a
# root shell on the UML console for the host's admin (umlhost console; customers come in over
# SSH), the hostname, address and default route from the kernel command line
# (umlhost.name=, umlhost.ip=, umlhost.gw= — a first-boot unit, umlhost-guest.service, before
# the network target), no SSH host keys baked in (each instance generates its own before sshd
# starts: copied keys let one customer impersonate another, the seed's §5.8), kmod, a web page
# naming the instance. With --cache DIR the finished image is kept under DIR/KEY (KEY = the
# inputs' hash) and reused. Progress: "template-build: ..." lines on stdout.
set -euo pipefail
SUITE=bookworm PACKAGES="" SIZE=2G MIRROR="" OUT="" WORK="" CACHE=""
while [ $# -gt 0 ]; do
	case "$1" in
	--suite) SUITE=$2; shift 2 ;;
	--packages) PACKAGES=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--mirror) MIRROR=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	*) echo "template-build: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
say() { echo "template-build: $*"; }
fail() { echo "template-build: error: $*"; echo "template-build: error: $*" >&2; exit 1; }
[ -n "$OUT" ] || fail "--out IMAGE is required"
case "$SUITE" in *[!a-z0-9-]* | "") fail "invalid suite '$SUITE'" ;; esac
case "$PACKAGES" in *[!a-z0-9.+,-]*) fail "invalid package list '$PACKAGES'" ;; esac
for t in mmdebstrap mkfs.ext4; do
	command -v $t > /dev/null || fail "$t missing (apt-get install mmdebstrap e2fsprogs)"
done
# the mirror: the host's own apt source unless given
if [ -z "$MIRROR" ]; then
	MIRROR=$(grep -h -o -m1 -E '^URIs: *https?://[^ ]+' /etc/apt/sources.list.d/*.sources 2> /dev/null |
		head -n 1 | sed 's/^URIs: *//') || true
	[ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $2 ~ /^http/ {print $2; exit}' /etc/apt/sources.list 2> /dev/null) || true
	[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
fi
# what every template has: systemd as init, the tools the first-boot unit uses, sshd, apache
BASE=systemd-sysv,udev,kmod,iproute2,procps,openssh-server,apache2,cloud-init
INCLUDE=$BASE${PACKAGES:+,$PACKAGES}
selfhash=$(sha256sum "$0" | cut -c1-12)
key=$(printf '%s\n' "$SUITE" "$INCLUDE" "$SIZE" "$MIRROR" "$selfhash" | sha256sum | cut -c1-16)
say "suite $SUITE, mirror $MIRROR, packages $INCLUDE, size $SIZE, key $key"
if [ -n "$CACHE" ] && [ -s "$CACHE/$key.img" ]; then
	say "cached: $CACHE/$key.img"
	cp --sparse=always "$CACHE/$key.img" "$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	say "done (from the cache)"
	exit 0
fi

own_work=0
if [ -z "$WORK" ]; then
	WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/umlhost-template.XXXXXX")
	own_work=1
fi
ROOT=$WORK/root
cleanup() {
	rm -f "$OUT.tmp"
	rm -rf --one-file-system "$ROOT"
	[ "$own_work" = 1 ] && rm -rf "$WORK"
	return 0
}
trap cleanup EXIT
rm -rf --one-file-system "$ROOT"
mkdir -p "$ROOT"

say "step 1/4: mmdebstrap $SUITE (minbase + $INCLUDE)"
# mmdebstrap installs the extra packages with apt (debootstrap's own resolver fails to
# configure cloud-init's python dependencies in minbase, measured); its "E:" line names what
# was wrong (suite, package, mirror)
if ! mmdebstrap --mode=root --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOT" "$MIRROR" \
	> "$WORK/mmdebstrap.log" 2>&1; then
	sed 's/^/  /' "$WORK/mmdebstrap.log" | tail -n 40
	if grep -q 'No space left on device' "$WORK/mmdebstrap.log"; then
		fail "no space left on device in $WORK (a template needs about 1 GB while it is built)"
	fi
	# apt's own "E:" lines name the suite, package or mirror; mmdebstrap's last one only says
	# that it failed
	why=$(grep -h '^E: ' "$WORK/mmdebstrap.log" | grep -v -E 'mmdebstrap failed|failed to run|run_setup|setup failed' |
		head -n 2 | tr '\n' ' ' || true)
	[ -n "$why" ] || why=$(grep -h '^E: ' "$WORK/mmdebstrap.log" | tail -n 1 || true)
	fail "mmdebstrap $SUITE from $MIRROR: ${why:-failed (see above)}"
fi
sed 's/^/  /' "$WORK/mmdebstrap.log" | grep -E '^  I: (running|finished|download|extract|install|.*done)' || true
[ -x "$ROOT/sbin/init" ] || [ -L "$ROOT/sbin/init" ] || fail "mmdebstrap left no /sbin/init"

say "step 2/4: UML fixes"
# pass 0: ext4's journal makes a boot-time fsck of a cleanly stopped root pointless, and it cost
# ~1 s of every boot under UML (measured)
echo "/dev/ubda / ext4 defaults,errors=remount-ro 0 0" > "$ROOT/etc/fstab"
echo "localhost" > "$ROOT/etc/hostname"
# mmdebstrap leaves no /etc/hosts and the build host's resolv.conf: Apache's start then waited
# 5 s for a DNS answer about its own name from a resolver the guest cannot reach (measured).
# The instance's name goes into /etc/hosts at boot; the resolver is the provider's to set.
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$ROOT/etc/hosts"
rm -f "$ROOT/etc/resolv.conf"
echo "# no resolver configured (umlhost template): add your nameserver here" > "$ROOT/etc/resolv.conf"
# no host keys in the template: every instance makes its own before sshd's config test
rm -f "$ROOT"/etc/ssh/ssh_host_*
mkdir -p "$ROOT/etc/systemd/system/ssh.service.d"
cat > "$ROOT/etc/systemd/system/ssh.service.d/umlhost-hostkeys.conf" << 'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF
# root on the UML console (the host admin's `umlhost console`), autologin: the console is not
# reachable from the network
mkdir -p "$ROOT/etc/systemd/system/getty.target.wants" "$ROOT/etc/systemd/system/console-getty.service.d"
ln -sf /lib/systemd/system/console-getty.service "$ROOT/etc/systemd/system/getty.target.wants/"
cat > "$ROOT/etc/systemd/system/console-getty.service.d/umlhost.conf" << 'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud console 115200,38400,9600 $TERM
EOF
# the first-boot unit: name, address, route from the kernel command line
cat > "$ROOT/usr/local/sbin/umlhost-guest-setup" << 'EOF'
#!/bin/sh
# umlhost-guest-setup: hostname, address and default route from the kernel command line
# (umlhost.name= umlhost.ip=ADDR/N umlhost.gw=GW umlhost.swap=DEV), written by umlhostd.
name="" ip="" gw=""
for kv in $(cat /proc/cmdline); do
	case "$kv" in
	umlhost.name=*) name=${kv#umlhost.name=} ;;
	umlhost.ip=*) ip=${kv#umlhost.ip=} ;;
	umlhost.gw=*) gw=${kv#umlhost.gw=} ;;
	umlhost.swap=*) swapon "${kv#umlhost.swap=}" ;;
	esac
done
if [ -n "$name" ]; then
	hostname "$name"
	[ "$(cat /etc/hostname 2>/dev/null)" = "$name" ] || echo "$name" > /etc/hostname
	# its own name resolves locally (Debian's 127.0.1.1 convention): no DNS wait at boot
	grep -q "^127.0.1.1[[:space:]]$name\$" /etc/hosts 2>/dev/null ||
		{ grep -v '^127.0.1.1[[:space:]]' /etc/hosts; printf '127.0.1.1\t%s\n' "$name"; } > /etc/hosts.new &&
		mv /etc/hosts.new /etc/hosts
fi
ip link set lo up
if [ -n "$ip" ]; then
	dev=eth0
	[ -e /sys/class/net/vec0 ] && dev=vec0
	ip link set "$dev" up
	ip addr replace "$ip" dev "$dev"
	if [ -n "$gw" ]; then
		case "$gw" in *:*) fam=-6 ;; *) fam=-4 ;; esac
		ip $fam route replace "$gw" dev "$dev"
		ip $fam route replace default via "$gw" dev "$dev"
	fi
fi
page=/var/www/html/index.html
if [ -n "$name" ] && grep -q umlhost-placeholder "$page" 2>/dev/null; then
	echo "hello from $name at ${ip%/*}" > "$page"
fi
exit 0
EOF
chmod 755 "$ROOT/usr/local/sbin/umlhost-guest-setup"
cat > "$ROOT/etc/systemd/system/umlhost-guest.service" << 'EOF'
[Unit]
Description=umlhost: hostname, address and route from the kernel command line
DefaultDependencies=no
After=local-fs.target systemd-remount-fs.service
Before=network-pre.target network.target apache2.service ssh.service
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/umlhost-guest-setup

[Install]
WantedBy=sysinit.target
EOF
mkdir -p "$ROOT/etc/systemd/system/sysinit.target.wants"
ln -sf /etc/systemd/system/umlhost-guest.service "$ROOT/etc/systemd/system/sysinit.target.wants/"
echo "umlhost-placeholder" > "$ROOT/var/www/html/index.html"
# cloud-init: NoCloud only (the per-instance seed disk umlhostd attaches, vfat labelled
# CIDATA); the network is umlhost-guest.service's (from the kernel command line: a routed /32
# with an on-link gateway, which cloud-init's renderers got wrong or slow in probes)
mkdir -p "$ROOT/etc/cloud/cloud.cfg.d"
cat > "$ROOT/etc/cloud/cloud.cfg.d/99-umlhost.cfg" << 'EOF'
datasource_list: [ NoCloud, None ]
network: {config: disabled}
# minbase has no locales package: the default en_US.UTF-8 fails cloud-config (measured)
locale: C.UTF-8
# provisioning is the first boot's: cloud-init then stays out of later boots (it sits before
# sysinit.target and cost every boot ~12 s before Apache answered, measured)
runcmd:
  - [touch, /etc/cloud/cloud-init.disabled]
EOF
# Debian's stock linux.uml has vfat (the seed) as a module: its modules go along, for
# instances on the stock kernel (the hosting kernel has vfat built in)
for m in /usr/lib/uml/modules/*; do
	[ -d "$m" ] && mkdir -p "$ROOT/lib/modules" && cp -a "$m" "$ROOT/lib/modules/"
done
# nothing waits for a network that is configured already
ln -sf /dev/null "$ROOT/etc/systemd/system/systemd-networkd-wait-online.service"
# no timers that start apt or scrubbing in a fresh instance, nor units with nothing to do in a
# UML guest (no LVM, no binfmt users, no virtual terminals)
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
	systemd-binfmt.service getty-static.service; do
	ln -sf /dev/null "$ROOT/etc/systemd/system/$u"
done
chroot "$ROOT" apt-get clean > /dev/null 2>&1 || true
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin

say "step 3/4: mkfs.ext4 -d (sparse $SIZE image, no loop mount)"
truncate -s "$SIZE" "$OUT.tmp"
mkfs.ext4 -q -F -L root -d "$ROOT" "$OUT.tmp" 2> "$WORK/mkfs.log" || {
	cat "$WORK/mkfs.log"
	if grep -q 'No space left' "$WORK/mkfs.log"; then
		fail "no space left on device for $OUT (or $SIZE is too small for the files)"
	fi
	fail "mkfs.ext4: $(tail -n 1 "$WORK/mkfs.log")"
}
say "step 4/4: store"
sync -f "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
if [ -n "$CACHE" ]; then
	mkdir -p "$CACHE"
	cp --sparse=always "$OUT" "$CACHE/$key.img.tmp" && mv "$CACHE/$key.img.tmp" "$CACHE/$key.img"
	say "cached as $CACHE/$key.img"
fi
say "done: $OUT ($(du -h --apparent-size "$OUT" | cut -f1) virtual, $(du -h "$OUT" | cut -f1) used)"
