#!/bin/bash
# Run every test tier and end with one summary line, "N passed, N failed":
#   0. the hosting kernel the end-to-end tests boot (tests/e2e/hosting-kernel.sh);
#   1. unit tests (cmocka) and end-to-end tests (real UML instances) via meson test;
#   2. the unit tests again under AddressSanitizer + UBSan;
#   3. every libFuzzer target for FUZZ_SECONDS (default 60) each, from the seed corpora.
# Needs root (the end-to-end tests boot UML instances). Build dirs: build/, build-asan/,
# build-fuzz/ under the source tree.
set -u
cd "$(dirname "$0")/.."
SRC=$(pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
passed=0
failed=0

count_meson() { # count_meson BUILD_DIR: add meson's per-test results to the totals
	local log=$1/meson-logs/testlog.json p f
	[ -f "$log" ] || { failed=$((failed + 1)); return; }
	p=$(grep -c '"result": "OK"' "$log")
	f=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\|UNEXPECTEDPASS\)"' "$log")
	passed=$((passed + p))
	failed=$((failed + f))
}

setup() { # setup DIR [meson options]: configure once, reconfigure when options change
	local dir=$1; shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" > /dev/null
	else
		meson setup "$dir" "$@" > /dev/null
	fi
}

echo "== the hosting kernel every end-to-end test boots (built once, then from the cache)"
if UML=$(bash tests/e2e/hosting-kernel.sh); then
	echo "ok - hosting kernel: $UML ($(sed -n 's/^fpu_size=/FPU state: /p' "$(dirname "$UML")/info"))"
	passed=$((passed + 1))
	export UML
else
	echo "not ok - the hosting kernel did not build"
	failed=$((failed + 1))
	export UML=/nonexistent/hosting-kernel # the end-to-end tests fail at once, not build again
fi

echo "== build and run unit + end-to-end tests"
if setup build && ninja -C build; then
	meson test -C build --print-errorlogs --num-processes 2
	count_meson build
else
	echo "build failed"
	failed=$((failed + 1))
fi

echo "== unit tests under AddressSanitizer + UBSan"
if setup build-asan -Db_sanitize=address,undefined -Db_lundef=false && ninja -C build-asan; then
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --suite unit --print-errorlogs
	count_meson build-asan
else
	echo "ASan build failed"
	failed=$((failed + 1))
fi

echo "== fuzz targets, ${FUZZ_SECONDS}s each"
if CC=clang setup build-fuzz -Dfuzz=true -Dtests=false && ninja -C build-fuzz; then
	for target in fuzz_cow_header:cow fuzz_mconsole_reply:mconsole fuzz_http_response:http fuzz_net_addr:net fuzz_backup_archive:backup fuzz_backup_manifest:manifest fuzz_backup_target:target fuzz_kernel_args:kargs fuzz_route:route fuzz_token:token fuzz_ws_frame:ws fuzz_fleet:fleet; do
		name=${target%%:*}
		seeds=$SRC/tests/fuzz/seeds/${target##*:}
		corpus=$(mktemp -d /tmp/uh-fuzz.XXXXXX)
		cp "$seeds"/* "$corpus"/
		if build-fuzz/tests/fuzz/$name -max_total_time="$FUZZ_SECONDS" -timeout=10 \
			-artifact_prefix="$corpus/" "$corpus" > "$corpus.log" 2>&1; then
			echo "ok - $name: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$corpus.log")"
			passed=$((passed + 1))
		else
			echo "not ok - $name crashed:"; tail -40 "$corpus.log"
			ls "$corpus"/crash-* 2>/dev/null
			failed=$((failed + 1))
		fi
		rm -rf "$corpus" "$corpus.log"
	done
else
	echo "fuzz build failed"
	failed=$((failed + 1))
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
