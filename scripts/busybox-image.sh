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
mkdir -p "$d"/{bin,sbin,proc,sys,dev,tmp,etc,guestdata}
cp /bin/busybox "$d/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$d/bin/$a"; done
echo "root:x:0:0:root:/:/bin/sh" > "$d/etc/passwd"
[ -n "$extra" ] && cp -a "$extra"/. "$d/guestdata/"
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
case "${uhmode:-idle}" in
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
