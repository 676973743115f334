#!/bin/bash
# umlhost-kernel-build: build a UML kernel from Debian's kernel source (run by umlhostd for
# `umlhost kernel build`; runnable by hand).
#
#   kernel-build.sh --source TARBALL --fragment FILE --out DIR [--patches DIR] [--work DIR]
#                   [--cache DIR] [--jobs N] [--build-uid UID]
#
# Extracts TARBALL (linux-source-6.1's /usr/src/linux-source-6.1.tar.xz by default), applies
# our patch series (every DIR/*.patch in name order, exactly: no fuzz, a patch that does not
# apply fails the build; DIR defaults to kernel-patches/ beside this script, else
# ../kernel/patches/ from it), runs `make ARCH=um defconfig`, merges FILE over it, checks that
# every line of FILE holds in the final .config, builds `linux` reproducibly
# (KBUILD_BUILD_TIMESTAMP from the tarball's mtime, fixed user and host) and writes OUT/linux,
# OUT/config and OUT/info (source version, fragment sha256, patches, fpu_size, cache key,
# kernel release). fpu_size is "host" when the kernel sizes its FPU state from the host at
# boot (the series' first two patches), else the fixed size the source holds: umlhostd refuses
# to start a kernel that cannot run on the host's CPU. With --cache, the result is kept under
# CACHE/KEY (KEY = source version + fragment hash + patch series hash + this script's hash)
# and reused when the inputs are the same; ccache (if installed) keeps compiled objects under
# CACHE/ccache/SOURCE-uUID, one per source so that one source's build cannot plant objects in
# another's.
#
# Run as root, everything that runs the source's code (its Makefile, its scripts, the built
# binary) runs in a sandbox: new mount, network, IPC, UTS and PID namespaces (util-linux's
# unshare), as UID (default 265535, the last uid of umlhostd's default instance range, which
# umlhostd keeps for builds and passes here) with no capabilities, no supplementary groups and
# no_new_privs (setpriv). It sees /tmp as a fresh tmpfs holding only its work directory (the
# one writable place), its inputs (read-only) and its ccache; /var/tmp, /dev/shm and /run
# are empty tmpfs (no host sockets); the network namespace has only a down loopback.
# What it leaves (linux, .config, release) is checked by root (regular files, bounded sizes,
# plain words) before it is copied out. Run as another user, the build runs as that user.
# Progress goes to stdout as "kernel-build: ..." lines; make's output too.
set -euo pipefail
say() { echo "kernel-build: $*"; }
fail() { echo "kernel-build: error: $*" >&2; echo "kernel-build: error: $*"; exit 1; }

# ---- the compile stage: the source's code runs here (in the sandbox when started by root)
#   --stage compile SOURCE IN BUILD CCACHE JOBS
# IN holds fragment and patches/; BUILD is the only place written (src/, out/, .tmp/).
compile_stage() {
	local SOURCE=$1 IN=$2 BUILD=$3 CCACHE=$4 JOBS=$5
	local p fpu_size bad line opt cc release
	say "compiling as uid $(id -u) gid $(id -g) in network namespace $(readlink /proc/self/ns/net)"
	mkdir -p "$BUILD/src" "$BUILD/out" "$BUILD/.tmp"
	export TMPDIR=$BUILD/.tmp
	say "step 1/5: extract $(basename "$SOURCE"), apply the patches"
	tar -xf "$SOURCE" -C "$BUILD/src" --strip-components=1 --no-same-owner
	cd "$BUILD/src"
	for p in "$IN"/patches/*.patch; do
		say "  patch $(basename "$p")"
		if ! out=$(patch -p1 --forward --batch --fuzz=0 --no-backup-if-mismatch < "$p" 2>&1); then
			printf '%s\n' "$out" | sed 's/^/    /'
			fail "patch $(basename "$p") does not apply to this source"
		fi
	done
	# what the patched source holds per process: sized at boot, or a constant
	if grep -q 'host_fp_size = iov.iov_len' arch/x86/um/os-Linux/registers.c &&
		! grep -q 'unsigned long fp\[MAX_FP_NR\]' arch/x86/um/shared/sysdep/ptrace.h; then
		fpu_size=host
	else
		fpu_size=$(sed -n 's/.*DEFINE_LONGS(HOST_FP_SIZE, \([0-9][0-9]*\)).*/\1/p' arch/x86/um/user-offsets.c | tail -n 1)
		[ -n "$fpu_size" ] || fail "cannot tell how this source sizes the FPU state"
	fi
	say "  FPU state per process: $fpu_size"
	say "step 2/5: defconfig + fragment"
	make -s ARCH=um defconfig || fail "make defconfig failed"
	scripts/kconfig/merge_config.sh -m .config "$IN/fragment" > /dev/null || fail "merge_config.sh failed"
	make -s ARCH=um olddefconfig || fail "make olddefconfig failed"
	# every line of the fragment must hold (a dependency can silently drop an option)
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF -- "$line" .config || { say "fragment line not in .config: $line"; bad=1; } ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			grep -q "^$opt=" .config && { say "fragment wants $opt off, .config has it on"; bad=1; } ;;
		esac
	done < "$IN/fragment"
	[ $bad = 0 ] || fail "the fragment does not apply to this source (see above)"

	say "step 3/5: build ARCH=um with $JOBS jobs"
	cc=gcc
	if command -v ccache > /dev/null && [ -n "$CCACHE" ]; then
		export CCACHE_DIR=$CCACHE CCACHE_BASEDIR=$BUILD/src CCACHE_NOHASHDIR=1
		cc="ccache gcc"
	fi
	# make's own output is the progress: one line per compiled file
	make ARCH=um CC="$cc" -j"$JOBS" linux 2>&1 | sed -u 's/^/  /' || fail "make failed"
	[ -x linux ] || fail "make produced no linux binary"

	say "step 4/5: check the binary"
	release=$(make -s ARCH=um kernelrelease) || fail "make kernelrelease failed"
	./linux --version > /dev/null 2>&1 || true
	cp linux "$BUILD/out/linux"
	cp .config "$BUILD/out/config"
	printf '%s\n' "$release" > "$BUILD/out/release"
	printf '%s\n' "$fpu_size" > "$BUILD/out/fpu_size"
}

# ---- the sandbox stage: root in fresh namespaces sets up the view, then drops to the uid
#   --stage sandbox WORK SOURCE CCACHE UID JOBS
sandbox_stage() {
	local WORK=$1 SOURCE=$2 CCACHE=$3 UID_=$4 JOBS=$5 sb src rc
	sb=$WORK/sb
	src=$sb/source/$(basename "$SOURCE")
	# the new /tmp is assembled under WORK/sb, then moved over /tmp (WORK may be under /tmp)
	mount -t tmpfs -o mode=0755,nosuid,nodev,size=16m tmpfs "$sb"
	mkdir "$sb/in" "$sb/source" "$sb/build" "$sb/ccache"
	touch "$src"
	mount --bind -o ro "$SOURCE" "$src"
	mount --bind -o ro "$WORK/in" "$sb/in"
	mount --bind "$WORK/build" "$sb/build"
	[ -n "$CCACHE" ] && mount --bind "$CCACHE" "$sb/ccache"
	mount --move "$sb" /tmp
	local d
	for d in /var/tmp /dev/shm; do
		mount -t tmpfs -o mode=1777,nosuid,nodev,size=64m tmpfs "$d"
	done
	mount -t tmpfs -o mode=0755,nosuid,nodev,size=1m tmpfs /run
	cd /tmp/build
	rc=0
	setpriv --reuid="$UID_" --regid="$UID_" --clear-groups --no-new-privs --inh-caps=-all \
		--bounding-set=-all -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp/build LANG=C.UTF-8 \
		KBUILD_BUILD_TIMESTAMP="$KBUILD_BUILD_TIMESTAMP" KBUILD_BUILD_USER=umlhost KBUILD_BUILD_HOST=umlhost \
		bash /tmp/in/kernel-build.sh --stage compile "/tmp/source/$(basename "$SOURCE")" /tmp/in /tmp/build \
		"${CCACHE:+/tmp/ccache}" "$JOBS" || rc=$?
	# this shell is the namespace's init: when it returns, whatever the build left running dies
	return $rc
}

case "${1:-}" in
--stage)
	case "$2" in
	compile) shift 2; compile_stage "$@"; exit 0 ;;
	sandbox) shift 2; sandbox_stage "$@"; exit $? ;;
	*) fail "unknown stage '$2'" ;;
	esac ;;
esac

SOURCE=/usr/src/linux-source-6.1.tar.xz
FRAGMENT="" OUT="" WORK="" CACHE="" PATCHES="" JOBS=$(nproc) BUILD_UID=265535
while [ $# -gt 0 ]; do
	case "$1" in
	--source) SOURCE=$2; shift 2 ;;
	--fragment) FRAGMENT=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--patches) PATCHES=$2; shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--jobs) JOBS=$2; shift 2 ;;
	--build-uid) BUILD_UID=$2; shift 2 ;;
	*) echo "kernel-build: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[ -n "$FRAGMENT" ] && [ -n "$OUT" ] || fail "--fragment and --out are required"
[ -r "$SOURCE" ] || fail "kernel source $SOURCE not readable (apt-get install linux-source-6.1)"
[ -r "$FRAGMENT" ] || fail "config fragment $FRAGMENT not readable"
[[ $JOBS =~ ^[1-9][0-9]{0,3}$ ]] || fail "--jobs must be a number, not '$JOBS'"
if [ -z "$PATCHES" ]; then
	here=$(dirname "$(readlink -f "$0")")
	for d in "$here/kernel-patches" "$here/../kernel/patches"; do
		[ -d "$d" ] && { PATCHES=$(readlink -f "$d"); break; }
	done
	[ -n "$PATCHES" ] || fail "no patch series beside $0 (give --patches DIR)"
fi
patches=()
for p in "$PATCHES"/*.patch; do
	[ -f "$p" ] && patches+=("$p")
done
[ ${#patches[@]} -gt 0 ] || fail "no *.patch in $PATCHES"
for t in make gcc flex bison bc tar xz patch; do
	command -v $t > /dev/null || fail "$t missing (apt-get install build-essential flex bison bc xz-utils)"
done
sandbox=0
if [ "$(id -u)" = 0 ]; then
	sandbox=1
	for t in unshare setpriv; do
		command -v $t > /dev/null || fail "$t missing (apt-get install util-linux)"
	done
	# the build uid must be nobody's: a user with it could reach into the build
	[[ $BUILD_UID =~ ^[1-9][0-9]{3,9}$ ]] || fail "--build-uid must be a uid of 1000 or more, not '$BUILD_UID'"
	if who=$(getent passwd "$BUILD_UID"); then
		fail "build uid $BUILD_UID is user ${who%%:*}'s (give --build-uid a uid no one has)"
	fi
	if who=$(getent group "$BUILD_UID"); then
		fail "build gid $BUILD_UID is group ${who%%:*}'s (give --build-uid a uid no one has)"
	fi
	for f in /etc/subuid /etc/subgid; do
		[ -r "$f" ] || continue
		if who=$(awk -F: -v u="$BUILD_UID" '$2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ &&
			u >= $2 && u < $2 + $3 { print FILENAME ":" FNR ": " $0; exit }' "$f") && [ -n "$who" ]; then
			fail "build uid $BUILD_UID is in a subordinate range ($who; give --build-uid a uid outside it)"
		fi
	done
fi

# the source's version: the Debian package's when the tarball is the package's
srcver=""
if owner=$(dpkg -S "$(readlink -f "$SOURCE")" 2> /dev/null); then
	pkg=${owner%%:*}
	srcver="$pkg=$(dpkg-query -W -f='${Version}' "$pkg")"
fi
[ -n "$srcver" ] || srcver="sha256:$(sha256sum "$SOURCE" | cut -c1-16)"
srcword=$(printf '%s' "$srcver" | tr -c 'A-Za-z0-9.+\n-' '_')
fraghash=$(sha256sum "$FRAGMENT" | cut -d' ' -f1)
# the series: names and contents, in the order they are applied
patchhash=$(for p in "${patches[@]}"; do basename "$p"; cat "$p"; done | sha256sum | cut -c1-12)
patchnames=$(for p in "${patches[@]}"; do basename "$p" .patch; done | paste -sd, -)
selfhash=$(sha256sum "$0" | cut -c1-8)
key=$srcword-${fraghash:0:16}-p$patchhash-$selfhash
say "source $srcver, fragment sha256 ${fraghash:0:16}, ${#patches[@]} patches ($patchhash), key $key"

mkdir -p "$OUT"
if [ -n "$CACHE" ] && [ -s "$CACHE/$key/linux" ] && [ -s "$CACHE/$key/info" ]; then
	say "cached: $CACHE/$key"
	cp "$CACHE/$key/linux" "$CACHE/$key/config" "$CACHE/$key/info" "$OUT/"
	say "done (from the cache)"
	exit 0
fi

own_work=0
if [ -z "$WORK" ]; then
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/umlhost-kernel.XXXXXX")
	own_work=1
fi
cleanup() { [ "$own_work" = 1 ] && rm -rf "$WORK"; return 0; }
trap cleanup EXIT
# WORK is root's and closed (0700): other builds running as the same uid cannot reach this
# one's files; WORK/build is the builder's, WORK/in (fragment, patches, this script) root's
mkdir -p "$WORK"
chmod 0700 "$WORK"
rm -rf "$WORK/in" "$WORK/build" "$WORK/sb"
mkdir -p "$WORK/in/patches" "$WORK/build" "$WORK/sb"
cp "$FRAGMENT" "$WORK/in/fragment"
cp "${patches[@]}" "$WORK/in/patches/"
cp "$0" "$WORK/in/kernel-build.sh"
chmod -R a+rX "$WORK/in"
ccache_dir=""
if command -v ccache > /dev/null && [ -n "$CACHE" ]; then
	ccache_dir=$CACHE/ccache/$srcword-u$(id -u)
	[ $sandbox = 1 ] && ccache_dir=$CACHE/ccache/$srcword-u$BUILD_UID
	mkdir -p "$CACHE/ccache"
	if [ ! -d "$ccache_dir" ]; then
		mkdir -m 0700 "$ccache_dir.tmp.$$"
		[ $sandbox = 1 ] && chown "$BUILD_UID:$BUILD_UID" "$ccache_dir.tmp.$$"
		mv -T "$ccache_dir.tmp.$$" "$ccache_dir" 2> /dev/null || rm -rf "$ccache_dir.tmp.$$"
	fi
fi
export KBUILD_BUILD_TIMESTAMP
KBUILD_BUILD_TIMESTAMP=$(date -u -d "@$(stat -c %Y "$SOURCE")" '+%Y-%m-%d %H:%M:%S UTC')
export KBUILD_BUILD_USER=umlhost KBUILD_BUILD_HOST=umlhost
if [ $sandbox = 1 ]; then
	chown "$BUILD_UID:$BUILD_UID" "$WORK/build"
	chmod 0700 "$WORK/build"
	say "sandbox: uid $BUILD_UID, no capabilities, new mount/network/IPC/UTS/PID namespaces"
	unshare --mount --net --ipc --uts --pid --fork --kill-child --mount-proc \
		bash "$WORK/in/kernel-build.sh" --stage sandbox "$WORK" "$(readlink -f "$SOURCE")" \
		"$ccache_dir" "$BUILD_UID" "$JOBS" || exit 1
else
	bash "$WORK/in/kernel-build.sh" --stage compile "$SOURCE" "$WORK/in" "$WORK/build" \
		"$ccache_dir" "$JOBS" || exit 1
fi

# ---- what the build left is the builder's: trust nothing of it but plain files and words
o=$WORK/build/out
[ -d "$o" ] && [ ! -L "$o" ] || fail "the build left no output directory"
for f in linux config release fpu_size; do
	[ -f "$o/$f" ] && [ ! -L "$o/$f" ] || fail "the build left no regular file $f"
done
[ "$(stat -c %s "$o/linux")" -lt $((512 << 20)) ] || fail "the built linux is larger than 512 MiB"
[ "$(stat -c %s "$o/config")" -lt $((4 << 20)) ] || fail "the built .config is larger than 4 MiB"
release=$(head -c 128 "$o/release" | head -n 1)
[[ $release =~ ^[A-Za-z0-9._+-]+$ ]] || fail "the build's kernel release is not a plain word"
fpu_size=$(head -c 16 "$o/fpu_size" | head -n 1)
[[ $fpu_size =~ ^(host|[1-9][0-9]{0,5})$ ]] || fail "the build's FPU state size is not 'host' or a number"
grep -q '^CONFIG_HOSTFS=y' "$o/config" && fail "hostfs is on"

say "step 5/5: store"
cp "$o/linux" "$OUT/linux.tmp"
chmod 0755 "$OUT/linux.tmp"
mv "$OUT/linux.tmp" "$OUT/linux"
cp "$o/config" "$OUT/config"
printf 'source=%s\nfragment_sha256=%s\npatches=%s\nfpu_size=%s\nkey=%s\nrelease=%s\ntimestamp=%s\n' \
	"$srcver" "$fraghash" "$patchnames" "$fpu_size" "$key" "$release" "$KBUILD_BUILD_TIMESTAMP" > "$OUT/info"
if [ -n "$CACHE" ]; then
	mkdir -p "$CACHE"
	# a private temp name: two builders of the same key may finish at once
	tmp=$(mktemp -d "$CACHE/.$key.XXXXXX")
	cp "$OUT/linux" "$OUT/config" "$OUT/info" "$tmp/"
	sync -f "$tmp/linux"
	rm -rf "$CACHE/$key"
	mv -T "$tmp" "$CACHE/$key" 2> /dev/null || rm -rf "$tmp"
	say "cached as $CACHE/$key"
fi
say "done: $(stat -c %s "$OUT/linux") bytes, release $release"
