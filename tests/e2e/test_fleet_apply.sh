#!/bin/bash
# End-to-end: a fleet file applied (issue 18). 20 busybox servers of 3 customers on a routed
# network, 2 of them stopped: apply creates and starts them and the 18 running ones answer
# HTTP from the test's own "internet" namespace; the plan after it is empty. Then edits (the
# memory of 5, a rename, 2 removed, a template version): planned in their classes, applied
# without the flags (the rest done, those refused by name), then with them (done; the renamed
# server kept its disk). A saved plan is refused once the host moved; an export plans nothing.
# Everything runs inside two network namespaces this test creates and deletes.
. "$(dirname "$0")/lib.sh"
need
command -v curl > /dev/null || die "curl missing (apt-get install curl)"

routed_pair

make_image "$W/bb.img" 64M
make_image "$W/bb2.img" 64M
DAEMON_NETNS=$H start_daemon
use_hosting_kernel
U template import bb "$W/bb.img" > /dev/null

fleet() { # fleet FILE SERVERS: the test's file with these servers
	cat > "$1" << EOF
# twenty web servers of three customers
networks:
  pub:
    mode: routed
    pool: 192.0.2.64/26
    uplink: up0
templates:
  bb: {version: latest}
customers: [alice, bob, carol]
defaults:
  template: bb
  memory: 64M
  network: pub
  kernel_args: [uhmode=httpd]
servers:
$2
EOF
}
fleet "$W/f1.yaml" "  a{01..08}:
    owner: alice
  b{01..06}:
    owner: bob
  c{01..04}:
    owner: carol
  s{1..2}:
    owner: carol
    state: stopped"

run U apply "$W/f1.yaml" --parallel 4
check "apply creates the network, 3 customers and 20 servers (exit 0)" \
	test "$rc:$(tail -n 1 <<< "$out" | cut -d' ' -f1-9)" = "0:24 done, 0 refused, 0 failed, 0 not begun"
[ "$rc" = 0 ] || echo "$out$err_out" | sed 's/^/#   /'
states=$(U --json list | jq_get '",".join(sorted(set("%s:%s" % (i["state"], i["owner"]) for i in d)))')
check "18 running, the 2 stopped ones stopped, owners as written" \
	test "$(U --json list | jq_get 'str(sum(i["state"] == "running" for i in d)) + ":" + str(sum(i["state"] == "stopped" for i in d))'):$states" = \
	"18:2:running:alice,running:bob,running:carol,stopped:carol"
check "every server is marked as the file's (managed)" \
	test "$(U --json list | jq_get 'sum(i["managed"] for i in d)')" = 20
check "each step an event (one fleet-apply per server)" \
	test "$(U --json events | jq_get 'len(set(e["instance"] for e in d if e["type"] == "fleet-apply" and e["instance"]))')" = 20
for n in $(U --json list | jq_get '" ".join(i["name"] for i in d if i["state"] == "running")'); do
	wait_log "$n" UH-HTTPD-UP 60 || not_ok "$n: httpd up"
done
answered=0
for pair in $(U --json list | jq_get '" ".join(i["name"] + "=" + i["ip"] for i in d if i["state"] == "running")'); do
	n=${pair%%=*} ip=${pair#*=}
	page=$(ix curl -s -m 10 --retry 3 --retry-connrefused "http://$ip/")
	[ "$page" = "hello from $n at $ip" ] && answered=$((answered + 1))
done
check "all 18 running servers answer HTTP from the internet namespace ($answered)" test "$answered" = 18
run U plan "$W/f1.yaml"
check "plan again: nothing to do (exit 0)" test "$rc" = 0

# the renamed server's disk: a file written before must be there after
run guest_sh b06 'mount -o remount,rw / && echo kept-across-the-rename > /marker; sync; cat /marker'
check "(b06 wrote its marker)" contains "$out" "kept-across-the-rename"

# ---- edits: memory of a01-a05, b06 renamed to shop, c03 and c04 removed, a08 on bb version 2
run U template import bb "$W/bb2.img"
check "importing over a template's name is refused without --new-version" \
	matches "$rc:$err_out" "1:*template 'bb' already exists (import --new-version*"
run U template import bb "$W/bb2.img" --new-version
check "template import --new-version: version 2 of bb" \
	test "$rc:$(U --json template list | jq_get '",".join("%s:%s" % (t["name"], t["version"]) for t in d)')" = "0:bb:1,bb:2"
fleet "$W/f2.yaml" "  a{01..05}:
    owner: alice
    memory: 96M
  a{06..07}:
    owner: alice
  a08:
    owner: alice
    template_version: 2
  b{01..05}:
    owner: bob
  shop:
    renamed_from: b06
    owner: bob
  c{01..02}:
    owner: carol
  s{1..2}:
    owner: carol
    state: stopped"
run U plan "$W/f2.yaml"
lines=$(grep -E '^(\+|-|~|-/\+|~>) ' <<< "$out" | sed 's/ \+/ /g' | sort | tr '\n' '|')
check "plan lists exactly those, in their classes (exit 3)" test "$rc:$lines" = \
	"3:- c03 (destroy)|- c04 (destroy)|-/+ a08 (replace)|~ a01 (restart)|~ a02 (restart)|~ a03 (restart)|~ a04 (restart)|~ a05 (restart)|~> shop (renamed from b06, restart)|"
check "... the removals and the replace blocked, naming the flags" \
	test "$(grep -c 'blocked: destroying needs --prune' <<< "$out"):$(grep -c 'blocked: replacing destroys its disk: --allow-replace a08' <<< "$out")" = 2:1
U --json plan "$W/f2.yaml" > "$W/saved.json"

pid_a06=$(inst_pid a06)
run U apply "$W/f2.yaml"
check "apply without the flags: the rest done, exit 3 (changes refused)" test "$rc" = 3
check "... the two removals refused, naming --prune" \
	test "$(grep -c '^refused   destroy c0[34]: destroying needs --prune' <<< "$out")" = 2
check "... the replace refused, naming --allow-replace a08" \
	contains "$out" "refused   replace a08: replacing destroys its disk: --allow-replace a08"
check "... 5 memory changes and the rename done" \
	test "$(grep -c '^done      update a0[1-5]$' <<< "$out"):$(grep -c '^done      rename shop$' <<< "$out")" = 5:1
check "a01-a05 run with 96M now (restarted)" \
	test "$(U --json list | jq_get '",".join("%s:%s:%s" % (i["name"], i["memory_mib"], i["state"]) for i in d if i["name"] < "a06")')" = \
	"a01:96:running,a02:96:running,a03:96:running,a04:96:running,a05:96:running"
check "an untouched server was not restarted (a06, same pid)" test "$(inst_pid a06)" = "$pid_a06"
check "b06 is gone, shop is there (bob's, running)" \
	test "$(U --json list | jq_get '",".join("%s:%s:%s" % (i["name"], i["owner"], i["state"]) for i in d if i["name"] in ("b06", "shop"))')" = "shop:bob:running"
wait_log shop UH-HTTPD-UP 60 || not_ok "shop: httpd up"
run guest_sh shop 'cat /marker'
check "the renamed server kept its disk (the marker written as b06)" contains "$out" "kept-across-the-rename"
check "c03, c04 and a08 untouched" \
	test "$(U --json list | jq_get '",".join("%s:%s" % (i["name"], i["template_version"]) for i in d if i["name"] in ("c03", "c04", "a08"))')" = "a08:1,c03:1,c04:1"

run U apply "$W/f2.yaml" --plan "$W/saved.json"
check "the saved plan is refused: the host moved since it was made" \
	matches "$rc:$err_out" "1:*the host changed since the plan was made*nothing applied*"

ip_a08=$(U --json show a08 | jq_get 'd["ip"]')
run U apply "$W/f2.yaml" --prune --allow-replace a08
check "with --prune and --allow-replace: done (exit 0)" \
	test "$rc:$(tail -n 1 <<< "$out" | cut -d' ' -f1-6)" = "0:3 done, 0 refused, 0 failed,"
check "c03 and c04 destroyed" test "$(U --json list | jq_get 'len([i for i in d if i["name"] in ("c03", "c04")])')" = 0
check "a08 replaced: version 2, its address kept, running" \
	test "$(U --json show a08 | jq_get '"%s:%s:%s" % (d["template_version"], d["ip"], d["state"])')" = "2:$ip_a08:running"
wait_log a08 UH-HTTPD-UP 60 || not_ok "a08: httpd up"
check "a08 answers on its address again" \
	test "$(ix curl -s -m 10 --retry 3 --retry-connrefused "http://$ip_a08/")" = "hello from a08 at $ip_a08"
run U plan "$W/f2.yaml"
check "applied: the plan of the same file is empty (exit 0)" test "$rc" = 0
check "18 servers now" test "$(U --json list | jq_get 'len(d)')" = 18

# ---- a saved plan applies while nothing moved, and not after an unrelated stop
sed -e 's/memory: 96M/memory: 80M/' "$W/f2.yaml" > "$W/f3.yaml"
U --json plan "$W/f3.yaml" > "$W/saved3.json"
U stop c01 > /dev/null
run U apply "$W/f3.yaml" --plan "$W/saved3.json"
check "a saved plan after an unrelated stop: refused, nothing applied" \
	matches "$rc:$err_out:$(U --json show a01 | jq_get 'd["memory_mib"]')" "1:*the host changed since the plan was made*:96"
U start c01 > /dev/null
U --json plan "$W/f3.yaml" > "$W/saved3.json"
sed -i 's/memory: 80M/memory: 72M/' "$W/f3.yaml"
run U apply "$W/f3.yaml" --plan "$W/saved3.json"
check "a saved plan of another file's text: refused" \
	matches "$rc:$err_out" "1:*no longer plans what the saved plan says*"

# a saved plan applies while nothing a plan compares moved, traffic or not: the daemon writes
# each running server's counters every 30 s (the record's own revision moves with them)
sed -i 's/memory: 72M/memory: 80M/' "$W/f3.yaml"
U --json plan "$W/f3.yaml" > "$W/saved4.json"
for ip in $(U --json list | jq_get '" ".join(i["ip"] for i in d if i["state"] == "running")'); do
	ix curl -s -m 5 -o /dev/null "http://$ip/"
done
sleep 32
run U apply "$W/f3.yaml" --plan "$W/saved4.json"
check "a saved plan applies after 32 s of traffic samples (exit 0, a01 has 80M)" \
	test "$rc:$(U --json show a01 | jq_get 'd["memory_mib"]')" = 0:80
[ "$rc" = 0 ] || echo "$out$err_out" | sed 's/^/#   /'

# a change that cannot be made is refused before its server is stopped for it: memory within
# the host's RAM + swap (create's limit) but over the budget (checked at start)
pid_a01=$(inst_pid a01)
big=$(($(awk '/^(MemTotal|SwapTotal):/ {s += $2} END {print int(s / 1024)}' /proc/meminfo) - 600))
sed "s/memory: 80M/memory: ${big}M/" "$W/f3.yaml" > "$W/f5.yaml"
run U apply "$W/f5.yaml" --parallel 1
check "memory over the budget: refused at its check (exit 1)" \
	matches "$rc:$err_out" "1:*apply: update a0? failed at its check:*"
check "... and nothing was stopped for it (a01 runs, same pid)" \
	test "$(inst_state a01):$(inst_pid a01)" = "running:$pid_a01"

# ---- a failure stops it, and says what was and was not done
fleet "$W/f4.yaml" "  zz{1..3}:
    owner: nobody-here
  a01:
    owner: alice
    memory: 96M"
run U apply "$W/f4.yaml" --parallel 1
check "a server that cannot be made: exit 1, named with the reason" \
	matches "$rc:$err_out" "1:*apply: create zz1 failed at its create:*nobody-here*"
check "... the rest not begun, listed" test "$(grep -c '^not begun create zz[23]$' <<< "$out")" = 2
check "... and nothing half-made" test "$(U --json list | jq_get 'len([i for i in d if i["name"].startswith("zz")])')" = 0

# ---- export round trip
U export > "$W/export.yaml"
run U plan "$W/export.yaml"
check "export, then plan: nothing to do" test "$rc" = 0
check "the export does not carry the managed mark (not a key of the file)" \
	bash -c "! grep -q managed '$W/export.yaml'"
finish
