#!/bin/bash
# umlhost-kernel-build: build a UML kernel from Debian's kernel source (run by umlhostd for
# `umlhost kernel build`; runnable by hand).
#
#   kernel-build.sh --source TARBALL --fragment FILE --out DIR [--patches DIR] [--work DIR]
#                   [--cache DIR] [--jobs N]
#
# Extracts TARBALL (linux-source-6.1's /usr/src/linux-source-6.1.tar.xz by default), applies
# our patch series (every DIR/*.patch in name order, exactly: no fuzz, a patch that does not
# apply fails the build; DIR defaults to kernel-patches/ beside this script, else
# ../kernel/patches/ from it), runs `make ARCH=um defconfig`, merges FILE over it, checks that every line of FILE holds in the
# final .config, builds `linux` reproducibly (KBUILD_BUILD_TIMESTAMP from the tarball's
# mtime, fixed user and host) and writes OUT/linux, OUT/config and OUT/info (source version,
# fragment sha256, patches, fpu_size, cache key, kernel release). fpu_size is "host" when the
# kernel sizes its FPU state from the host at boot (the series' first two patches), else
# the fixed size the source holds: umlhostd refuses to start a kernel that cannot run on the
# host's CPU. With --cache, the result is kept under CACHE/KEY (KEY = source version +
# fragment hash + patch series hash + this script's hash) and reused when the inputs are
# the same; ccache (if installed) keeps compiled objects under CACHE/ccache.
# Progress goes to stdout as "kernel-build: ..." lines; make's output too.
set -euo pipefail
SOURCE=/usr/src/linux-source-6.1.tar.xz
FRAGMENT="" OUT="" WORK="" CACHE="" PATCHES="" JOBS=$(nproc)
while [ $# -gt 0 ]; do
	case "$1" in
	--source) SOURCE=$2; shift 2 ;;
	--fragment) FRAGMENT=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--patches) PATCHES=$2; shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--jobs) JOBS=$2; shift 2 ;;
	*) echo "kernel-build: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
say() { echo "kernel-build: $*"; }
fail() { echo "kernel-build: error: $*" >&2; echo "kernel-build: error: $*"; exit 1; }
[ -n "$FRAGMENT" ] && [ -n "$OUT" ] || fail "--fragment and --out are required"
[ -r "$SOURCE" ] || fail "kernel source $SOURCE not readable (apt-get install linux-source-6.1)"
[ -r "$FRAGMENT" ] || fail "config fragment $FRAGMENT not readable"
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

# the source's version: the Debian package's when the tarball is the package's
srcver=""
if owner=$(dpkg -S "$(readlink -f "$SOURCE")" 2> /dev/null); then
	pkg=${owner%%:*}
	srcver="$pkg=$(dpkg-query -W -f='${Version}' "$pkg")"
fi
[ -n "$srcver" ] || srcver="sha256:$(sha256sum "$SOURCE" | cut -c1-16)"
fraghash=$(sha256sum "$FRAGMENT" | cut -d' ' -f1)
# the series: names and contents, in the order they are applied
patchhash=$(for p in "${patches[@]}"; do basename "$p"; cat "$p"; done | sha256sum | cut -c1-12)
patchnames=$(for p in "${patches[@]}"; do basename "$p" .patch; done | paste -sd, -)
selfhash=$(sha256sum "$0" | cut -c1-8)
key=$(printf '%s' "$srcver" | tr -c 'A-Za-z0-9.+\n-' '_')-${fraghash:0:16}-p$patchhash-$selfhash
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
mkdir -p "$WORK/src"
say "step 1/5: extract $SOURCE, apply ${#patches[@]} patches"
tar -xf "$SOURCE" -C "$WORK/src" --strip-components=1
cd "$WORK/src"
for p in "${patches[@]}"; do
	say "  patch $(basename "$p")"
	if ! out=$(patch -p1 --forward --batch --fuzz=0 --no-backup-if-mismatch < "$p" 2>&1); then
		printf '%s\n' "$out" | sed 's/^/    /'
		fail "patch $(basename "$p") does not apply to $srcver"
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
make -s ARCH=um defconfig
scripts/kconfig/merge_config.sh -m .config "$FRAGMENT" > /dev/null
make -s ARCH=um olddefconfig
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
done < "$FRAGMENT"
[ $bad = 0 ] || fail "the fragment does not apply to this source (see above)"

say "step 3/5: build ARCH=um with $JOBS jobs"
export KBUILD_BUILD_TIMESTAMP
KBUILD_BUILD_TIMESTAMP=$(date -u -d "@$(stat -c %Y "$SOURCE")" '+%Y-%m-%d %H:%M:%S UTC')
export KBUILD_BUILD_USER=umlhost KBUILD_BUILD_HOST=umlhost
cc=gcc
if command -v ccache > /dev/null && [ -n "$CACHE" ]; then
	export CCACHE_DIR=$CACHE/ccache CCACHE_BASEDIR=$WORK/src CCACHE_NOHASHDIR=1
	mkdir -p "$CCACHE_DIR"
	cc="ccache gcc"
fi
# make's own output is the progress: one line per compiled file
make ARCH=um CC="$cc" -j"$JOBS" linux 2>&1 | sed -u 's/^/  /'
[ "${PIPESTATUS[0]}" = 0 ] || fail "make failed"
[ -x linux ] || fail "make produced no linux binary"

say "step 4/5: check the binary"
release=$(make -s ARCH=um kernelrelease)
./linux --version > /dev/null 2>&1 || true
grep -q '^CONFIG_HOSTFS=y' .config && fail "hostfs is on"

say "step 5/5: store"
cp linux "$OUT/linux.tmp"
mv "$OUT/linux.tmp" "$OUT/linux"
cp .config "$OUT/config"
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
