#!/bin/bash
# hosting-kernel.sh: print the path of the hosting kernel the tests boot (kernel/hosting.config
# + kernel/patches), building it first if /var/cache/umlhost/kernels (KERNEL_CACHE) does not
# hold it for these inputs yet: minutes on 2 cores the first time, a copy afterwards. A lock
# keeps tests started side by side from building it twice. tests/run.sh calls it before the
# tests; lib.sh calls it for a test run on its own.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${KERNEL_CACHE:-/var/cache/umlhost/kernels}
out=$CACHE/.e2e-hosting
mkdir -p "$CACHE" || exit 1
(
	flock 9
	bash "$SRC/scripts/kernel-build.sh" --fragment "$SRC/kernel/hosting.config" \
		--patches "$SRC/kernel/patches" --out "$out" --cache "$CACHE" > "$out.log" 2>&1
) 9> "$out.lock" || {
	echo "hosting-kernel.sh: the build failed; its log's end:" >&2
	tail -n 30 "$out.log" >&2
	exit 1
}
echo "$out/linux"
