#!/bin/bash
# bench/compare.sh REV SCRIPT [ARGS...]: the same benchmark against revision REV and against
# this tree, in one run, with the figures side by side. REV is built in a git worktree under
# /tmp (removed afterwards); SCRIPT is run from this tree with UH_BUILD pointing at REV's
# build, then at this tree's build/. Used to show a refactoring left the figures alone
# (issue 15: bench/daemon.sh against 3e33a93). Needs root like the scripts it runs.
set -u
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bench/compare.sh REV SCRIPT [ARGS...]"; exit 2; }
REV=$1; SCRIPT=$2; shift 2
[ -x build/src/umlhostd ] || { echo "build first: meson setup build && ninja -C build"; exit 1; }
WT=$(mktemp -d /tmp/uh-bench-base.XXXXXX)
trap 'git worktree remove --force "$WT" > /dev/null 2>&1; rm -rf "$WT"' EXIT
git worktree add --detach "$WT" "$REV" > /dev/null 2>&1 || { echo "no revision $REV"; exit 1; }
(cd "$WT" && meson setup build > /dev/null && ninja -C build > /dev/null) ||
	{ echo "$REV does not build"; exit 1; }
base=$(git rev-parse --short "$REV"); head=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- src || head="$head+changes"
echo "## $SCRIPT $*: $base (base) first, then $head"
UH_BUILD=$WT/build bash "$SCRIPT" "$@" > "$WT/base.out" 2>&1
UH_BUILD=$PWD/build bash "$SCRIPT" "$@" > "$WT/head.out" 2>&1
# the figure lines (they say "target"), the base's and this tree's one under the other
paste -d '\n' <(grep -E 'target|^running|monitors' "$WT/base.out" | sed "s/^/$base: /") \
	<(grep -E 'target|^running|monitors' "$WT/head.out" | sed "s/^/$head: /")
echo
echo "## full output of each run"
sed "s/^/$base | /" "$WT/base.out"
sed "s/^/$head | /" "$WT/head.out"
