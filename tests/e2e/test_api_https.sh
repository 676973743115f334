#!/bin/bash
# End-to-end: the HTTPS API with customer tokens (issue 16, part 2), on loopback only. A real
# daemon, real TLS (curl, the certificate checked against the daemon's), real kernels: two
# customers and three servers; each token sees and powers its own servers only; another
# customer's server is a 404 in the words of a missing one; a missing scope is 403 naming it;
# revoke, expiry and --from act at the next request; the TLS side runs in umlhost-gate with
# no rights and comes back when killed; failed token checks are limited per address.
. "$(dirname "$0")/lib.sh"
need
command -v openssl > /dev/null || die "openssl missing (apt-get install openssl)"
api_daemon

# ---- the listener, its certificate and its process
ev=$(U events | grep api-listening)
check "the daemon says where it listens and the certificate's fingerprint" \
	matches "$ev" "*https://127.0.0.1:$PORT (TLS in umlhost-gate pid *, uid 400098); certificate sha256 *"
fp=$(openssl x509 -in "$CERT" -noout -fingerprint -sha256 | cut -d= -f2)
check "... the fingerprint is the certificate's (openssl agrees)" contains "$ev" "$fp"
check "the key is 0600 root" test "$(stat -c %a:%u "$W/state/tls/key.pem")" = 600:0
gate=$(echo "$ev" | sed -n 's/.*umlhost-gate pid \([0-9]*\).*/\1/p')
st=/proc/$gate/status
check "umlhost-gate runs as uid 400098, no capabilities, no_new_privs, seccomp" \
	test "$(awk '/^Uid:/{print $2}' $st):$(awk '/^CapEff:/{print $2}' $st):$(awk '/^NoNewPrivs:/{print $2}' $st):$(awk '/^Seccomp:/{print $2}' $st)" = "400098:0000000000000000:1:2"
check "... and holds no file but its sockets (no key, no database)" \
	bash -c "! ls -l /proc/$gate/fd | grep -v -E 'socket:|anon_inode:|/dev/null|pipe:' | grep -q -- '->'"

# ---- customers, servers, tokens (made by the provider on the socket)
U customer create alice > /dev/null
U customer create bob > /dev/null
U create a1 --template bb --memory 64M --owner alice > /dev/null
U create a2 --template bb --memory 64M --owner alice > /dev/null
U create b1 --template bb --memory 64M --owner bob > /dev/null
A_RW=$(tok --customer alice --name rw --scopes server:read,server:power)
A_RO=$(tok --customer alice --name ro --scopes server:read)
A_ONE=$(tok --customer alice --name one --scopes server:read --servers a2)
B_RW=$(tok --customer bob --name rw --scopes server:read,server:power)
OPS=$(tok --customer '*' --name ops --scopes admin)

r=$(api "" GET /v1/servers -D "$W/hdr")
check "no token: 401 with WWW-Authenticate: Bearer" \
	bash -c "test '$(status "$r")' = 401 && grep -qi '^WWW-Authenticate: Bearer' '$W/hdr'"
r=$(api "$A_RW" GET /v1/servers)
check "alice's list: her two servers, nothing of bob's" \
	test "$(status "$r"):$(body "$r" | jq_get '",".join(s["name"] for s in d)')" = "200:a1,a2"
check "... a server's JSON has no host paths, uids or pids" \
	bash -c "! echo '$(body "$r")' | grep -q -E '\"(disk|log|uid|pid|tap|console)\"'"
r=$(api "$B_RW" GET /v1/servers)
check "bob's list: b1 only" test "$(body "$r" | jq_get '",".join(s["name"] for s in d)')" = b1
r=$(api "$A_ONE" GET /v1/servers)
check "a token narrowed to a2 sees a2 only" test "$(body "$r" | jq_get '",".join(s["name"] for s in d)')" = a2
r=$(api "$A_ONE" GET /v1/servers/a1)
check "... and a1 is not there for it (404)" test "$(status "$r")" = 404
r1=$(api "$A_RW" GET /v1/servers/b1)
r2=$(api "$A_RW" GET /v1/servers/nosuch)
check "bob's server for alice: 404, the words of a missing one" \
	test "$(status "$r1"):$(body "$r1" | jq_get 'd["error"]')" = "404:no instance named 'b1'"
check "... the same answer as a name that does not exist" \
	test "$(body "$r2" | jq_get 'd["error"]')" = "no instance named 'nosuch'"
r=$(api "$A_RW" GET /v1/servers/b1/stats)
check "bob's server's stats for alice: 404" test "$(status "$r")" = 404
r=$(api "$A_RW" GET /v1/whoami)
check "whoami: alice, her servers, the actions her buttons may offer" \
	test "$(body "$r" | jq_get 'd["customer"], [s["name"] for s in d["servers"]], d["servers"][0]["actions"]')" = "alice ['a1', 'a2'] ['read', 'start', 'stop', 'reboot']"

# ---- power: scope, visibility, and it really happens
r=$(api "$A_RO" POST /v1/servers/a1/actions/start)
check "start with a read-only token: 403 naming the missing scope" \
	test "$(status "$r"):$(body "$r" | jq_get 'd["missing_scope"]')" = "403:server:power"
check "... a1 did not start" test "$(inst_state a1)" = stopped
r=$(api "$A_RW" POST /v1/servers/b1/actions/start)
check "alice starting bob's server: 404, b1 stays stopped" \
	test "$(status "$r"):$(inst_state b1)" = "404:stopped"
r=$(api "$A_RW" POST /v1/servers/a1/actions/start)
check "alice starts a1 with her token: 200, running" test "$(status "$r"):$(inst_state a1)" = "200:running"
check "... the answer is the customer's view (no host paths, pid or uid)" \
	bash -c "echo '$(body "$r")' | grep -q '\"customer\": *\"alice\"' && ! echo '$(body "$r")' | grep -qE '\"(disk|log|uid|pid|tap|console)\"'"
wait_log a1 UH-INIT-UP 30 || not_ok "a1 boots"
r=$(api "$A_RW" POST /v1/servers/a1/actions/dance)
check "an unknown action: 404 naming the known ones" \
	test "$(status "$r"):$(body "$r" | jq_get 'd["error"]')" = "404:no action 'dance' (start, stop or reboot)"
r=$(api "$A_RW" GET /v1/servers/a1/stats)
check "a1's stats for alice" test "$(status "$r"):$(body "$r" | jq_get 'd["name"]')" = "200:a1"
check "the start is audited: token, customer, address, what, status" \
	matches "$(U events | grep api-request)" "*token ${A_RW:3:10} (customer alice) from 127.0.0.1: POST /v1/servers/a1/actions/start -> 200*"

# ---- the provider's routes need admin
r=$(api "$A_RW" GET /v1/instances)
check "the admin routes for a customer token: 403, missing admin" \
	test "$(status "$r"):$(body "$r" | jq_get 'd["missing_scope"]')" = "403:admin"
api "$A_RW" GET /v1/events > "$W/ev.a"
check "alice's events: a1's (its start), nothing of b1's or the host's" \
	bash -c "test \"\$(tail -n 1 '$W/ev.a')\" = 200 && grep -q '\"instance\":\"a1\",\"type\":\"started\"' '$W/ev.a' && ! grep -qE '\"instance\":\"(b1|-|)\"' '$W/ev.a'"
api "$B_RW" GET /v1/events > "$W/ev.b"
check "bob's events: b1's creation, nothing of alice's or the host's" \
	bash -c "test \"\$(tail -n 1 '$W/ev.b')\" = 200 && grep -q '\"instance\":\"b1\"' '$W/ev.b' && ! grep -qE 'a1|a2|\"instance\":\"-\"' '$W/ev.b'"
r=$(api "$A_RW" GET /v1/templates)
check "... the host's templates are admin's: 403" test "$(status "$r")" = 403
r=$(api "$OPS" GET /v1/instances)
check "the provider's admin token: every instance" \
	test "$(status "$r"):$(body "$r" | jq_get 'len(d)')" = "200:3"
r=$(api "$OPS" GET /v1/servers)
check "... and every customer's server in the customer view" \
	test "$(body "$r" | jq_get '",".join(s["name"] + ":" + s["customer"] for s in d)')" = "a1:alice,a2:alice,b1:bob"

# ---- Prometheus: the provider's /metrics, a customer's /v1/metrics
MET=$(tok --customer '*' --name prom --scopes metrics:read)
A_MET=$(tok --customer alice --name graphs --scopes server:read,metrics:read)
api "$MET" GET /metrics > "$W/metrics.out"
check "/metrics for the provider's metrics:read token: 200" test "$(tail -n 1 "$W/metrics.out")" = 200
sed -i '$d' "$W/metrics.out"
U --json stats b1 > "$W/b1.stats"
U --json show a1 > "$W/a1.show"
api "$OPS" GET /v1/servers/a1 | sed '$d' > "$W/a1.server"
# Prometheus's own parser (Debian's python3-prometheus-client), not ours
/usr/bin/python3 - "$W" > "$W/prom.check" 2>&1 << 'PY'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
w = sys.argv[1]
fams = {f.name: f for f in text_string_to_metric_families(open(w + "/metrics.out").read())}
def val(fam, **labels):
    for s in fams[fam].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise SystemExit("no sample %s %s" % (fam, labels))
b1 = json.load(open(w + "/b1.stats"))
a1 = json.load(open(w + "/a1.show"))
srv = json.load(open(w + "/a1.server"))
print("parsed", len(fams))
print("servers", sorted({s.labels["server"] for s in fams["umlhost_server_info"].samples}))
print("instance-label", any("instance" in s.labels for f in fams.values() for s in f.samples))
print("b1-disk", val("umlhost_server_disk_allocated_bytes", server="b1") == b1["disk_bytes"])
print("b1-net", val("umlhost_server_network_receive_bytes", server="b1") == b1["rx_bytes"])
print("a1-limit", val("umlhost_server_memory_limit_bytes", server="a1") == a1["memory_limit_bytes"])
print("a1-boot", val("umlhost_server_boot_time_seconds", server="a1") == srv["started_at"])
print("a1-running", val("umlhost_server_state", server="a1", state="running") == 1)
print("b1-stopped", val("umlhost_server_state", server="b1", state="stopped") == 1)
print("api", val("umlhost_api_requests", route="/v1/servers", code="200") >= 1)
print("build", "umlhost_build_info" in fams)
PY
check "/metrics parses with Prometheus's parser" grep -q '^parsed ' "$W/prom.check"
grep -q '^parsed ' "$W/prom.check" || sed 's/^/#   /' "$W/prom.check"
check "... every server, no label named instance" \
	test "$(grep -E '^(servers|instance-label)' "$W/prom.check" | tr '\n' ' ')" = "servers ['a1', 'a2', 'b1'] instance-label False "
check "... its values are umlhost stats' and show's (disk, traffic, limit, boot time, state)" \
	test "$(grep -cE '^(b1-disk|b1-net|a1-limit|a1-boot|a1-running|b1-stopped) True$' "$W/prom.check")" = 6
check "... the API's requests and the build are counted" \
	test "$(grep -cE '^(api|build) True$' "$W/prom.check")" = 2
api "$A_MET" GET /v1/metrics > "$W/metrics.alice"
check "alice's /v1/metrics: her servers' series, nothing of b1 or the host" \
	bash -c "test \"\$(tail -n 1 '$W/metrics.alice')\" = 200 && grep -q 'server=\"a1\"' '$W/metrics.alice' && ! grep -qE 'b1|umlhost_host_|umlhost_api_' '$W/metrics.alice'"
r=$(api "$A_MET" GET /metrics)
check "... the host's /metrics is not hers (403)" test "$(status "$r")" = 403
r=$(api "$A_RW" GET /v1/metrics)
check "... and without metrics:read: 403 naming it" \
	test "$(status "$r"):$(body "$r" | jq_get 'd["missing_scope"]')" = "403:metrics:read"

# ---- revoke, expiry, --from: at the next request (and an open stream ends)
FOLLOW=$(tok --customer alice --name follow --scopes server:read)
curl -sS -N --cacert "$CERT" -H "Authorization: Bearer $FOLLOW" "$BASE/v1/events?follow=1" \
	> "$W/follow.out" 2>&1 &
fpid=$!
PIDS+=("$fpid")
for i in $(seq 50); do grep -q '"instance":"a1"' "$W/follow.out" && break; sleep 0.1; done
check "a customer's event stream shows her server's events" grep -q '"instance":"a1"' "$W/follow.out"
U token revoke "${FOLLOW:3:10}" > /dev/null
wait_exit "$fpid" 10
check "... and ends when its token is revoked" bash -c "! kill -0 $fpid 2> /dev/null"
U token revoke "${A_RO:3:10}" > /dev/null
r=$(api "$A_RO" GET /v1/servers)
check "a revoked token: 401 at once" test "$(status "$r"):$(body "$r" | jq_get 'd["error"]')" = "401:invalid token"
SHORT=$(tok --customer alice --name short --scopes server:read --expires 2s)
r=$(api "$SHORT" GET /v1/servers)
check "a 2-second token works at first" test "$(status "$r")" = 200
sleep 3
r=$(api "$SHORT" GET /v1/servers)
check "... and is refused once expired, saying so" matches "$(status "$r"):$(body "$r")" "401:*expired*"
FAR=$(tok --customer alice --name far --scopes server:read --from 198.51.100.0/24)
r=$(api "$FAR" GET /v1/servers)
check "--from 198.51.100.0/24 used from 127.0.0.1: 401 naming the address" \
	matches "$(status "$r"):$(body "$r")" "401:*may not be used from 127.0.0.1*"
NEAR=$(tok --customer alice --name near --scopes server:read --from 127.0.0.0/8)
r=$(api "$NEAR" GET /v1/servers)
check "--from 127.0.0.0/8 from 127.0.0.1: allowed" test "$(status "$r")" = 200

# ---- the unix socket is as it was; the gate comes back when killed; plain HTTP gets nothing
check "the unix socket still works (provider admin)" test "$(U list | grep -c '^[ab][12] ')" = 3
kill -9 "$gate"
for i in $(seq 50); do
	new=$(U events | grep api-gate-exited | tail -n 1)
	[ -n "$new" ] && break
	sleep 0.1
done
check "a killed gate is noticed" matches "$new" "*umlhost-gate (pid $gate) was killed by signal 9; starting it again in 1 s*"
for i in $(seq 40); do r=$(api "$A_RW" GET /v1/servers 2> /dev/null); [ "$(status "$r")" = 200 ] && break; sleep 0.25; done
check "... and HTTPS answers again" test "$(status "$r")" = 200
plain=$(curl -s -m 5 -w '%{http_code}' "http://127.0.0.1:$PORT/v1/servers" 2> /dev/null)
check "plain HTTP on the TLS port: no HTTP answer" test "${plain:-000}" = 000
check "... and the daemon is fine" test "$(U list | grep -c '^[ab][12] ')" = 3

# ---- failed token checks are limited per address (from 127.0.0.2: the others' tests go on)
bad=uh_aaaaaaaaaa_$(printf 'a%.0s' $(seq 52))
codes=""
for i in $(seq 12); do
	codes+="$(curl -s --cacert "$CERT" --interface 127.0.0.2 -o /dev/null -w '%{http_code}' \
		-H "Authorization: Bearer $bad" "$BASE/v1/servers") "
done
check "ten bad tokens from one address are 401, then 429" \
	matches "$codes" "401 401 401 401 401 401 401 401 401 401 429 429 "
check "... which logs the address once" test "$(grep -c '127.0.0.2: too many failed token checks' "$W/daemon.log")" = 1
r=$(curl -s --cacert "$CERT" --interface 127.0.0.2 -w '\n%{http_code}' -H "Authorization: Bearer $A_RW" "$BASE/v1/servers")
check "... a right token from that address still works (no lock-out behind a NAT)" test "$(status "$r")" = 200
r=$(api "$A_RW" GET /v1/servers)
check "... while 127.0.0.1 is served" test "$(status "$r")" = 200

# ---- the gate's limit: 16 unfinished handshakes per address (connections that never say
# hello, from 127.0.0.3); that address's next connection is refused, others are served
/usr/bin/python3 - "$PORT" > "$W/held" << 'PY' &
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1])), source_address=("127.0.0.3", 0))
         for _ in range(16)]
print("held", flush=True)
time.sleep(6)
PY
HOLD=$!
PIDS+=("$HOLD")
for i in $(seq 50); do grep -q held "$W/held" && break; sleep 0.1; done
at() { curl -s -m 3 --cacert "$CERT" --interface "$1" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A_RW" "$BASE/v1/servers"; }
c3=$(at 127.0.0.3) c1=$(at 127.0.0.1)
check "16 silent connections from one address: its next is refused, another address is served" \
	test "$c3:$c1" = "000:200"
wait "$HOLD"
for i in $(seq 20); do c3=$(at 127.0.0.3); [ "$c3" = 200 ] && break; sleep 0.25; done
check "... once they are gone, that address is served again" test "$c3" = 200
U kill a1 > /dev/null
finish
