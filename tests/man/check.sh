#!/bin/bash
# check.sh SRC: the man pages against the code, so they cannot drift: each renders without a
# groff warning, and umlhost-fleet(5) names every key of the fleet file's tables
# (src/fleet/fleet.c) and every option of plan and apply (src/cli/cmd_fleet.c).
SRC=${1:-$(dirname "$0")/../..}
for t in groff man; do
	command -v $t > /dev/null || { echo "not ok - $t missing (scripts/install-deps.sh)"; exit 1; }
done
fails=0
for page in "$SRC"/man/*.[1-8]; do
	warn=$(groff -man -ww -z -Tutf8 "$page" 2>&1)
	if [ -n "$warn" ]; then
		echo "not ok - $(basename "$page"): groff warns: $warn"
		fails=$((fails + 1))
	else
		echo "ok - $(basename "$page") renders without a warning"
	fi
done
page=$SRC/man/umlhost-fleet.5
keys=$(grep -oE '\{"[a-z_]+", K_[A-Z]+\}' "$SRC/src/fleet/fleet.c" | cut -d'"' -f2 | sort -u)
opts=$(sed -n '/^static const struct option \(plan\|apply\)_opts/,/};/p' "$SRC/src/cli/cmd_fleet.c" |
	grep -oE '\{"[a-z-]+",' | cut -d'"' -f2 | sort -u)
[ "$(wc -w <<< "$keys")" -ge 25 ] || { echo "not ok - fewer keys than expected read from fleet.c"; exit 1; }
[ "$(wc -w <<< "$opts")" -ge 4 ] || { echo "not ok - fewer options than expected read from cmd_fleet.c"; exit 1; }
text=$(MANWIDTH=200 man -l "$page" 2> /dev/null)
# a key counts where the page sets it in bold (.B, .BR, .RB): an ordinary word ("state",
# "count", "restart") in a sentence does not
for k in $keys networks templates customers defaults servers; do
	grep -qE "^\.(B|BR|RB) (.*[ \"])?$k([ \",]|\$)" "$page" ||
		{ echo "not ok - umlhost-fleet(5) does not name the key $k (in bold)"; fails=$((fails + 1)); }
done
for o in $opts; do
	grep -q -- "--$o" <<< "$text" || { echo "not ok - umlhost-fleet(5) does not name --$o"; fails=$((fails + 1)); }
done
echo "$(wc -w <<< "$keys") keys and $(wc -w <<< "$opts") options checked; $fails failed"
[ "$fails" = 0 ]
