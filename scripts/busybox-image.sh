#!/bin/bash
# busybox-image.sh IMAGE [SIZE=64M] [EXTRA_DIR]: build a small bootable ext4 image from
# busybox-static with mkfs.ext4 -d (no loop mount, no root needed). EXTRA_DIR's contents are
# copied into the image's /guestdata.
#
# The image's /sbin/init reads `uhmode=` from the kernel command line (the kernel hands unknown
# name=value parameters to init as environment variables):
#   idle    boot and wait (default)          tick    print UH-TICK n every 0.2 s
#   write   write files + SHA256SUMS to /guestdata, sync, print UH-WRITE-DONE (needs `rw`)
#   fill    write ${fillmb:-50} MiB of random data to /guestdata/fill, sync, UH-FILL-DONE
#   verify  check /guestdata/SHA256SUMS, print UH-VERIFY-OK N files or UH-VERIFY-FAILED
#   notify  write "hello-from-guest" to /proc/mconsole (reaches the mconsole=notify: socket)
#   panic   let init exit, so the kernel panics
#   records append checksummed records to /guestdata/records without pause (needs `rw`)
#   httpd   serve /www on port 80 (busybox httpd): index.html names the guest's address,
#           big.bin holds ${bigmb:-4} MiB of random data; a sink on port 5001 discards
#           whatever is sent to it
# With `umlhost.ip=ADDR/N [umlhost.gw=GW]` on the command line (umlhostd puts them there for
# an instance with a network) the first network interface gets that address and route; it
# prints UH-NET-UP ADDR.
# Every mode first prints UH-INIT-UP. /sbin/init is busybox init: /etc/uh-rc runs as its
# sysinit, and ctrl-alt-del (mconsole `cad`) powers the guest off, as a distribution's init
# would be configured for hosting. A root shell runs on the console. `init=/etc/uh-rc` runs the script as PID 1 instead (then
# `panic` mode really makes init exit).
set -euo pipefail
img=$1
size=${2:-64M}
extra=${3:-}
file -L /bin/busybox | grep -q 'statically linked' ||
	{ echo "busybox-image.sh: /bin/busybox is not static (apt-get install busybox-static)" >&2; exit 1; }
d=$(mktemp -d "${TMPDIR:-/tmp}/uh-root.XXXXXX")
trap 'rm -rf "$d"' EXIT
mkdir -p "$d"/{bin,sbin,proc,sys,dev,tmp,etc,guestdata,www}
cp /bin/busybox "$d/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$d/bin/$a"; done
echo "root:x:0:0:root:/:/bin/sh" > "$d/etc/passwd"
[ -n "$extra" ] && cp -a "$extra"/. "$d/guestdata/"
# IPv6 is a module in Debian's linux.uml: take it (and what it needs) along when there
mods=$(ls -d /usr/lib/uml/modules/*/kernel 2>/dev/null | head -n 1)
if [ -n "$mods" ]; then
	mkdir -p "$d/lib/modules"
	for m in lib/crc-ccitt.ko net/ipv6/ipv6.ko; do
		[ -f "$mods/$m" ] && cp "$mods/$m" "$d/lib/modules/"
	done
fi
cat > "$d/etc/inittab" <<'TAB'
::sysinit:/etc/uh-rc
::respawn:-/bin/sh
::ctrlaltdel:/bin/poweroff -f
::shutdown:/bin/sync
TAB
ln -sf ../bin/busybox "$d/sbin/init"
cat > "$d/etc/uh-rc" <<'INIT'
#!/bin/busybox sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys 2>/dev/null
mount -t devtmpfs dev /dev 2>/dev/null
echo "UH-INIT-UP"
ip link set lo up
for kv in $(cat /proc/cmdline); do
	case "$kv" in
	umlhost.ip=*) uh_ip=${kv#umlhost.ip=} ;;
	umlhost.gw=*) uh_gw=${kv#umlhost.gw=} ;;
	umlhost.name=*) hostname "${kv#umlhost.name=}" ;;
	umlhost.swap=*) swapon "${kv#umlhost.swap=}" && echo "UH-SWAP-ON" ;;
	esac
done
if [ -n "${uh_ip:-}" ]; then
	case "$uh_ip" in *:*) [ -d /proc/sys/net/ipv6 ] || for m in crc-ccitt ipv6; do
		insmod /lib/modules/$m.ko 2>/dev/null; done ;; esac
	# vec0 (vector transport) or eth0 (tuntap); a kernel may have others (dummy0, sit0)
	dev=eth0
	[ -e /sys/class/net/vec0 ] && dev=vec0
	ip link set "$dev" up
	ip addr add "$uh_ip" dev "$dev"
	if [ -n "${uh_gw:-}" ]; then
		case "$uh_gw" in *:*) fam=-6 ;; *) fam=-4 ;; esac
		ip $fam route add "$uh_gw" dev "$dev" 2>/dev/null
		ip $fam route add default via "$uh_gw" dev "$dev"
	fi
	echo "UH-NET-UP ${uh_ip%/*}"
fi
case "${uhmode:-idle}" in
records)
	# checksummed records appended without pause (needs `rw`): "SEQ SHA256-PREFIX-OF-rec-SEQ"
	(i=0; while :; do
		printf '%08d %s\n' $i "$(echo "rec-$i" | sha256sum | cut -c1-16)" >> /guestdata/records
		i=$((i + 1))
	done) &
	echo "UH-RECORDS-STARTED"
	;;
httpd)
	mount -t tmpfs www /www
	echo "hello from $(hostname) at ${uh_ip%/*}" > /www/index.html
	dd if=/dev/urandom of=/www/big.bin bs=1M count=${bigmb:-4} 2>/dev/null
	httpd -p 80 -h /www
	# a sink on port 5001 that reads in big blocks (busybox nc alone reads 1 KiB a call
	# and caps any transport at 14-33 MiB/s, measured)
	(while :; do nc -l -p 5001 -e dd of=/dev/null bs=1M 2>/dev/null; done) &
	echo "UH-HTTPD-UP"
	;;
write)
	mkdir -p /guestdata
	i=0
	while [ $i -lt 20 ]; do echo "guest file $i" > /guestdata/file$i; i=$((i + 1)); done
	dd if=/dev/urandom of=/guestdata/random.bin bs=1024 count=2048 2>/dev/null
	(cd /guestdata && sha256sum file* random.bin > /guestdata/SHA256SUMS)
	sync
	echo "UH-WRITE-DONE"
	;;
fill)
	dd if=/dev/urandom of=/guestdata/fill bs=1M count=${fillmb:-50} 2>/dev/null
	sync
	echo "UH-FILL-DONE"
	;;
verify)
	if (cd /guestdata && sha256sum -c SHA256SUMS >/dev/null 2>&1); then
		echo "UH-VERIFY-OK $(ls /guestdata | wc -l) files"
	else
		echo "UH-VERIFY-FAILED"
	fi
	;;
tick)
	(n=0; while :; do echo "UH-TICK $n"; n=$((n + 1)); sleep 0.2; done) &
	;;
notify)
	echo "hello-from-guest" > /proc/mconsole
	;;
panic)
	echo "UH-INIT-EXITING"
	exit 0
	;;
oom)
	# allocate far beyond the guest's memory: the guest's OOM killer must act
	(sleep 1; dd if=/dev/zero bs=1M count=4096 | tail -c 1 > /dev/null; echo UH-OOM-SURVIVED) &
	;;
esac
# as PID 1 (init=/etc/uh-rc) the script must not end; under busybox init it returns
[ $$ = 1 ] && while :; do sleep 3600; done
exit 0
INIT
chmod 755 "$d/etc/uh-rc"
truncate -s "$size" "$img"
mkfs.ext4 -q -F -d "$d" "$img"
