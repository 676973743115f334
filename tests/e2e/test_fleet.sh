#!/bin/bash
# End-to-end: the fleet file's plan and export (issue 18, first part) against a real daemon
# and kernels: the export of a host plans nothing; each kind of edit is planned in its class
# (restart, live, create, rename, replace blocked until --allow-replace); a file's syntax
# error and an unknown key are exit 1 naming FILE:LINE:COLUMN; a stop moves the revision.
. "$(dirname "$0")/lib.sh"
need
make_image "$W/bb.img" 64M
start_daemon
U template import bb "$W/bb.img" > /dev/null
U customer create alice > /dev/null
U create s1 --template bb --memory 64M > /dev/null
U create s2 --template bb --memory 128M --owner alice --restart on-failure > /dev/null
U start s1 > /dev/null

U export > "$W/fleet.yaml"
check "export writes the host's servers as a fleet file" \
	bash -c "grep -q '^  s1:' '$W/fleet.yaml' && grep -q 'memory: \"128M\"' '$W/fleet.yaml'"
run U plan "$W/fleet.yaml"
check "plan of the export: nothing to do (exit 0)" \
	test "$rc:$(tail -n 1 <<< "$out" | cut -d' ' -f1-3)" = "0:0 changes planned,"
rev1=$(U --json plan "$W/fleet.yaml" | jq_get 'd["revision"]')

# edits, each in its class
sed -e 's/memory: "128M"/memory: "256M"/' -e 's/restart: "on-failure"/restart: "always"/' \
	"$W/fleet.yaml" > "$W/edit.yaml"
printf '  s3:\n    template: "bb"\n    memory: 64M\n' >> "$W/edit.yaml"
run U plan "$W/edit.yaml"
check "memory and the restart policy of s2: a restart, each field named (exit 3)" \
	bash -c "[ $rc = 3 ] && grep -q '^~   s2 (restart)' <<< '$out' && grep -q 'memory: \"128M\" -> \"256M\"  (restart)' <<< '$out' && grep -q 'restart: \"on-failure\" -> \"always\"  (live)' <<< '$out'"
check "... a new server: create" contains "$out" "+   s3 (create)"
check "... and nothing else" test "$(grep -c '^[-+~]' <<< "$out")" = 2

sed -e 's/^  s2:/  s4:\n    renamed_from: "s2"/' "$W/fleet.yaml" > "$W/rename.yaml"
run U plan "$W/rename.yaml"
check "renamed_from: a rename of the same server, not a destroy and a create" \
	bash -c "[ $rc = 3 ] && grep -q '^~>  s4 (renamed from s2, live)' <<< '$out' && [ \$(grep -c '^[-+~]' <<< '$out') = 1 ]"

sed -e '0,/template_version: 1/s//template_version: 2/' "$W/fleet.yaml" > "$W/replace.yaml"
run U plan "$W/replace.yaml"
check "a template version: replace, blocked until --allow-replace names the server" \
	bash -c "[ $rc = 3 ] && grep -q '^-/+ s1 (replace)' <<< '$out' && grep -q 'blocked: replacing destroys its disk: --allow-replace s1' <<< '$out'"
run U plan "$W/replace.yaml" --allow-replace s1
check "... and while the host lacks that version, the plan says so (blocked)" \
	contains "$out" "blocked: template bb version 2 is not on this host (umlhost template import or build)"
U template import bb "$W/bb.img" --new-version > /dev/null
run U plan "$W/replace.yaml" --allow-replace other --allow-replace s1
check "... which unblocks it (the flag given more than once: all count)" bash -c "[ $rc = 3 ] && ! grep -q blocked: <<< '$out' && grep -q '1 change planned, 0 blocked' <<< '$out'"

# errors name file, line and column
printf 'servers:\n  s1:\n    memroy: 64M\n' > "$W/bad.yaml"
run U plan "$W/bad.yaml"
check "an unknown key: exit 1, FILE:LINE:COLUMN and what is expected" \
	matches "$rc:$err_out" "1:*$W/bad.yaml:3:5: servers: s1: unknown key 'memroy' (expected one of: template,*"
printf 'servers:\n  s1: {memory: 64M\n' > "$W/syntax.yaml"
run U plan "$W/syntax.yaml"
check "a syntax error: exit 1 naming the place" \
	bash -c "[ $rc = 1 ] && [[ '$err_out' == *'$W/syntax.yaml:3:1:'* ]]"
run U plan "$W/none.yaml"
check "a missing file: exit 1 naming it" bash -c "[ $rc = 1 ] && [[ '$err_out' == *'none.yaml'* ]]"
run U plan
check "no file: usage, exit 2" test "$rc" = 2

# the state moves: a stop changes the revision, and the plan shows the way back
U stop s1 > /dev/null
run U plan "$W/fleet.yaml"
check "after a stop: the plan starts it again (live)" \
	bash -c "[ $rc = 3 ] && grep -q 'state: \"stopped\" -> \"running\"  (live)' <<< '$out'"
rev2=$(U --json plan "$W/fleet.yaml" | jq_get 'd["revision"]')
check "... and the state's revision moved" bash -c "[ -n '$rev1' ] && [ '$rev1' != '$rev2' ]"
finish
