#!/bin/bash
# `umlhost COMMAND --help` and `umlhost help COMMAND` for every command `umlhost help` lists:
# exit 0 and the command's own usage line, without a daemon.
set -u
UMLHOST=${UMLHOST:?}
fails=0 n=0
while IFS= read -r cmd; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	out=$("$UMLHOST" $cmd --help 2>&1) && [[ $out == "usage: umlhost $cmd"* ]] ||
		{ echo "not ok - umlhost $cmd --help: $(head -n 1 <<< "$out")"; fails=$((fails + 1)); continue; }
	# shellcheck disable=SC2086
	out=$("$UMLHOST" help $cmd 2>&1) && [[ $out == "usage: umlhost $cmd"* ]] ||
		{ echo "not ok - umlhost help $cmd: $(head -n 1 <<< "$out")"; fails=$((fails + 1)); continue; }
done < <("$UMLHOST" help | sed -n 's/^  \([a-z]\+\( [a-z]\+\)\?\) .*/\1/p' | sed 's/ [A-Z[].*//')
"$UMLHOST" help > /dev/null || { echo "not ok - umlhost help"; fails=$((fails + 1)); }
"$UMLHOST" frob 2> /dev/null; [ $? = 2 ] || { echo "not ok - an unknown command is a usage error"; fails=$((fails + 1)); }
echo "$n commands, $fails failed"
[ "$n" -ge 30 ] && [ "$fails" = 0 ]
