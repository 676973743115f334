#!/bin/bash
# End-to-end: a customer's own backups, stats history and the plain metrics listener (issue
# 16), on loopback only, over real TLS against a real daemon and busybox guests. Backups: a
# customer makes, lists and restores its server's backups by id (no host paths), another
# customer sees none of them (404), a missing scope is 403; a restore over the server keeps a
# safety backup and brings the guest's file back; an error a customer sees names no host
# path. History: per-"minute" rows (2 s here: UMLHOST_STATS_MINUTE_SECONDS) with the guest's
# CPU in them, none of them shown to a new owner after a chown. metrics_listen: plain /metrics,
# CPU by mode, parsed by Prometheus's own parser.
. "$(dirname "$0")/lib.sh"
need
MPORT=$(free_port) || die "no free loopback port"
export UMLHOST_STATS_MINUTE_SECONDS=2
api_daemon "metrics_listen = 127.0.0.1:$MPORT"

U customer create alice > /dev/null
U customer create bob > /dev/null
U create a1 --template bb --memory 64M --owner alice --kernel-arg rw > /dev/null
U create a2 --template bb --memory 64M --owner alice > /dev/null
U create b1 --template bb --memory 64M --owner bob > /dev/null
U start a1 > /dev/null
U start b1 > /dev/null
wait_log a1 UH-INIT-UP 30 || not_ok "a1 boots"
A_BK=$(tok --customer alice --name bk --scopes server:read,backup:read,backup:create,backup:restore)
A_RD=$(tok --customer alice --name rd --scopes server:read,backup:read)
B_BK=$(tok --customer bob --name bk --scopes server:read,backup:read,backup:create,backup:restore)

# ---- backups
run guest_sh a1 'echo v1-$((40+2)) > /guestdata/mark; sync; cat /guestdata/mark'
check "the guest wrote its file" contains "$out" "v1-42"
r=$(api "$A_BK" POST /v1/servers/a1/backups)
ID=$(body "$r" | jq_get 'd.get("id", "")')
check "a customer backs up its server: 201 with an id, no host path in the answer" \
	bash -c "test '$(status "$r")' = 201 && [[ '$ID' == a1-20*Z ]] && ! grep -q / <<< '$(body "$r")'"
r=$(api "$A_RD" GET /v1/servers/a1/backups)
body "$r" > "$W/list.json"
check "... its list has it by id, and names no path" \
	bash -c "test '$(status "$r")' = 200 && grep -q '\"$ID\"' '$W/list.json' && ! grep -q / '$W/list.json'"
r=$(api "$A_RD" POST /v1/servers/a1/backups)
check "without backup:create: 403 naming it" \
	test "$(status "$r"):$(body "$r" | jq_get 'd["missing_scope"]')" = "403:backup:create"
r=$(api "$A_RD" POST "/v1/servers/a1/backups/$ID/restore")
check "without backup:restore: 403 naming it" \
	test "$(status "$r"):$(body "$r" | jq_get 'd["missing_scope"]')" = "403:backup:restore"
r=$(api "$B_BK" GET /v1/servers/a1/backups)
check "another customer's server's backups: 404, as a missing server" \
	test "$(status "$r"):$(body "$r" | jq_get 'd["error"]')" = "404:no instance named 'a1'"
r=$(api "$B_BK" POST "/v1/servers/a1/backups/$ID/restore")
check "... nor can it restore them (404)" test "$(status "$r")" = 404
r=$(api "$B_BK" POST "/v1/servers/b1/backups/$ID/restore")
check "... nor restore one over its own server (404: not b1's backup)" \
	test "$(status "$r"):$(body "$r" | jq_get 'd["error"]')" = "404:b1 has no backup '$ID'"
r=$(api "$B_BK" GET /v1/servers/b1/backups)
check "... and its own server's list holds none of a1's" \
	test "$(status "$r"):$(body "$r")" = "200:[]"

run guest_sh a1 'echo v2 > /guestdata/mark; sync; cat /guestdata/mark'
check "the guest changed its file" contains "$out" "v2"
sleep 1 # the safety backup gets its own second
pid_before=$(inst_pid a1)
r=$(api "$A_BK" POST "/v1/servers/a1/backups/$ID/restore" --max-time 120)
SID=$(body "$r" | jq_get 'd.get("safety_backup", "")')
check "restore over the server: 200, restored from the id, a safety backup made, running again" \
	test "$(status "$r"):$(body "$r" | jq_get 'd["restored"]+":"+d["state"]'):$([ -n "$SID" ] && [ "$SID" != "$ID" ] && echo new)" = "200:$ID:running:new"
got=""
for i in $(seq 30); do
	got=$(guest_sh a1 'cat /guestdata/mark' 5 2> /dev/null) && [[ $got == *v1-42* ]] && break
	sleep 1
done
check "... the guest's file is as it was at the backup (v1), in a new kernel" \
	bash -c "[[ '$got' == *v1-42* ]] && test '$(inst_pid a1)' != '$pid_before'"
check "... still alice's server" test "$(U --json show a1 | jq_get 'd["owner"]')" = alice
r=$(api "$A_RD" GET /v1/servers/a1/backups)
check "... and the list holds the backup and the safety backup" \
	bash -c "grep -q '\"$ID\"' <<< '$(body "$r")' && grep -q '\"$SID\"' <<< '$(body "$r")'"
check "the restore is in the events" matches "$(U events | grep restore)" "*restore-over*$ID*restored-over*$ID*$SID*"
r=$(api "$A_BK" POST /v1/servers/a1/backups/a1-nope/restore)
check "restoring an unknown id: 404 naming it" \
	test "$(status "$r"):$(body "$r" | jq_get 'd["error"]')" = "404:a1 has no backup 'a1-nope'"
for i in 1 2 3 4; do
	r=$(api "$A_BK" POST /v1/servers/a1/backups)
	[ "$(status "$r")" = 429 ] && break
	sleep 1
done
check "a customer's backups and restores of one server are bounded (3 at once, then one a minute: 429)" \
	test "$(status "$r"):$(body "$r" | jq_get 'd["error"]')" = "429:a1: at most 3 backups or restores at once, then one a minute; try again in a minute"
api "$A_RD" GET /v1/events | sed '$d' > "$W/events.alice"
check "a customer's events name no host path (its backups' are '[host path]')" \
	bash -c "grep -q 'host path' '$W/events.alice' && ! grep -q '$W' '$W/events.alice' && ! grep -q '\"b1\"' '$W/events.alice'"
check "... while the provider's events keep the paths" test "$(U events | grep -c "$W/state/backups/a1/")" -ge 1
# a failure a customer sees names no host path; the admin's names it
mkdir -p "$W/state/backups"
: > "$W/state/backups/a2"
r=$(api "$A_BK" POST /v1/servers/a2/backups)
check "a failed backup's error, as the customer sees it, holds no host path" \
	bash -c "test '$(status "$r")' -ge 400 && grep -q 'host path' <<< '$(body "$r")' && ! grep -q '$W' <<< '$(body "$r")'"
run U backup create a2
check "... and as the admin sees it, names the path" contains "$err_out" "$W/state/backups/a2"
rm -f "$W/state/backups/a2"

# ---- stats history
guest_sh a1 'end=$(($(date +%s) + 3)); while [ $(date +%s) -lt $end ]; do :; done; echo spun' 30 > /dev/null
sleep 5
api "$A_RD" GET /v1/servers/a1/stats | sed '$d' > "$W/stats.json"
hist=$(jq_get '"%d %d %s %s %s" % (d["history"]["minutes"]["period_seconds"], d["history"]["hours"]["period_seconds"], len(d["history"]["minutes"]["ts"]) >= 2, d["history"]["minutes"]["ts"] == sorted(set(d["history"]["minutes"]["ts"])) and all(t % 2 == 0 for t in d["history"]["minutes"]["ts"]), sum(d["history"]["minutes"]["cpu_seconds"]) > 0.2)' < "$W/stats.json")
check "a server's stats carry its history: 2 s rows (test scale), hours, the guest's CPU in them" \
	test "$hist" = "2 3600 True True True"
check "... as columns of equal length" \
	test "$(jq_get 'len({len(v) for k, v in d["history"]["minutes"].items() if k != "period_seconds"})' < "$W/stats.json")" = 1
check "... ?history=0 leaves it out" \
	test "$(api "$A_RD" GET '/v1/servers/a1/stats?history=0' | sed '$d' | jq_get '"history" in d')" = False
r=$(api "$B_BK" GET /v1/servers/a1/stats)
check "... another customer's: 404" test "$(status "$r")" = 404
chowned=$(date +%s)
U chown a1 bob > /dev/null
sleep 3
api "$B_BK" GET /v1/servers/a1/stats | sed '$d' > "$W/stats.bob"
check "after a chown, the new owner sees none of the rows from before" \
	test "$(jq_get "all(t >= $chowned - 2 for t in d['history']['minutes']['ts'])" < "$W/stats.bob")" = True
U chown a1 alice > /dev/null

# ---- metrics_listen
curl -sS -o "$W/m.out" -w '%{http_code}' "http://127.0.0.1:$MPORT/metrics" > "$W/m.code"
U --json stats a1 > "$W/a1.stats"
check "metrics_listen serves /metrics in plain HTTP: 200" test "$(cat "$W/m.code")" = 200
/usr/bin/python3 - "$W" > "$W/prom.check" 2>&1 << 'PY'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
w = sys.argv[1]
fams = {f.name: f for f in text_string_to_metric_families(open(w + "/m.out").read())}
cpu = {s.labels["mode"]: s.value for s in fams["umlhost_server_cpu_seconds"].samples
       if s.labels["server"] == "a1"}
st = json.load(open(w + "/a1.stats"))
print("modes", sorted(cpu))
# the scrape is cached for up to 5 s, stats are read now: close, not equal
print("sum", abs(cpu["user"] + cpu["system"] - st["cpu_seconds"]) < 3 and cpu["user"] + cpu["system"] > 0.2)
print("drops", "umlhost_server_network_receive_drops" in fams and "umlhost_server_network_transmit_drops" in fams)
PY
check "... parsed by Prometheus's parser: CPU by mode (user, system) adding up to umlhost stats'" \
	test "$(tr '\n' ' ' < "$W/prom.check")" = "modes ['system', 'user'] sum True drops True "
grep -q '^modes' "$W/prom.check" || sed 's/^/#   /' "$W/prom.check"
check "... and only /metrics (404 elsewhere, 405 for a POST)" \
	test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/v1/servers"):$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MPORT/metrics")" = "404:405"

# ---- load: 1,000 concurrent HTTPS requests (tests/e2e/api_load.py, from 127.0.1.x)
LOAD() { /usr/bin/python3 "$UH_SRC/tests/e2e/api_load.py" "$CERT" "$PORT" "$A_RD" /v1/servers "$1"; }
gate=$(U events | sed -n 's/.*umlhost-gate pid \([0-9]*\).*/\1/p' | tail -n 1)
LOAD 200 > /dev/null # warm-up
sleep 2
rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
rss0=$(rss "$DAEMON_PID") fds0=$(ls "/proc/$DAEMON_PID/fd" | wc -l) gfds0=$(ls "/proc/$gate/fd" | wc -l)
LOAD 1000 > "$W/load.json"
check "1,000 concurrent HTTPS requests are all answered 200" \
	test "$(jq_get '"%d %d" % (d["n"], d["ok"])' < "$W/load.json")" = "1000 1000"
grep -q '"ok": 1000' "$W/load.json" || sed 's/^/#   /' "$W/load.json"
sleep 3
rss1=$(rss "$DAEMON_PID")
check "... the daemon's RSS is back within 2 MB ($rss0 kB before, $rss1 kB after)" \
	test $((rss1 - rss0)) -le 2048
check "... and no descriptor is left behind, in the daemon or the gate" \
	test "$(ls "/proc/$DAEMON_PID/fd" | wc -l):$(ls "/proc/$gate/fd" | wc -l)" = "$fds0:$gfds0"
finish
