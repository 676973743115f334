#!/bin/bash
# End-to-end: the console over the HTTPS API (issue 16): a one-time ticket, then a WebSocket
# driven by a real client library (python3-websockets) against a real daemon and busybox
# guests, on loopback only. A customer token works (no separate login); typed commands run in
# the guest and their answers come back; the history is replayed first; a second viewer reads
# only until it takes over; a replayed, expired or moved ticket is refused, as is another
# customer's server (404) or a token without server:console (403); a revoked token or a
# stopped server ends an open console; an unmasked frame closes it with 1002.
. "$(dirname "$0")/lib.sh"
need
PY=/usr/bin/python3
$PY -c 'import websockets' 2> /dev/null || die "python3-websockets missing (apt-get install python3-websockets)"
api_daemon
WS() { $PY "$UH_SRC/tests/e2e/ws_console.py" "$CERT" "$BASE" "$@"; }
ticket() { WS ticket "$1" "$2"; }
tid() { jq_get 'd["body"].get("ticket", "")' <<< "$1"; }

U customer create alice > /dev/null
U customer create bob > /dev/null
U create a1 --template bb --memory 64M --owner alice > /dev/null
U create b1 --template bb --memory 64M --owner bob > /dev/null
U start a1 > /dev/null
U start b1 > /dev/null
wait_log a1 UH-INIT-UP 30 || not_ok "a1 boots"
A_CON=$(tok --customer alice --name con --scopes server:read,server:console)
A_READ=$(tok --customer alice --name ro --scopes server:read)
B_CON=$(tok --customer bob --name con --scopes server:read,server:console)

# ---- tickets
r=$(ticket "$A_CON" a1)
check "a customer token gets a console ticket for its server (201, 64 hex digits, 30 s)" \
	test "$(jq_get '"%s %d %d %s" % (d["status"], len(d["body"]["ticket"]), d["body"]["expires_in"], all(c in "0123456789abcdef" for c in d["body"]["ticket"]))' <<< "$r")" = "201 64 30 True"
T1=$(tid "$r")
EXPIRING=$(tid "$(ticket "$A_CON" a1)") # used after 30 s
EXPIRING_AT=$(date +%s)
r=$(ticket "$A_READ" a1)
check "without server:console: 403 naming the scope" \
	test "$(jq_get '"%s %s" % (d["status"], d["body"].get("missing_scope"))' <<< "$r")" = "403 server:console"
r=$(ticket "$B_CON" a1)
check "another customer's server: 404, as a missing one" \
	test "$(jq_get '"%s %s" % (d["status"], d["body"]["error"])' <<< "$r")" = "404 no instance named 'a1'"
r=$(ticket "$A_CON" b1)
check "... either way round" test "$(jq_get 'd["status"]' <<< "$r")" = 404

# ---- the console
py_checks WS session "$T1" MARK$$
py_checks WS refused "$T1" 401
T=$(tid "$(ticket "$A_CON" a1)")
py_checks WS refused "$T" 401 127.0.0.2
py_checks WS refused "$T" 401 # the wrong address used it up
py_checks WS refused "$(printf '%064d' 0)" 401
py_checks WS replay "$(tid "$(ticket "$A_CON" a1)")" "MARK$$-42"
py_checks WS two "$(tid "$(ticket "$A_CON" a1)")" "$(tid "$(ticket "$A_CON" a1)")" TWO$$
py_checks WS unmasked "$(tid "$(ticket "$A_CON" a1)")"
ev=$(U events | grep console-)
check "each console session is in the events: who, from where, typing or not" \
	matches "$ev" "*console-attached*token ${A_CON:3:10} from 127.0.0.1, typing*console-attached*read-only*console-detached*"

# ---- ending: revoked token, stopped server, expired ticket
T=$(tid "$(ticket "$B_CON" b1)")
WS hold "$T" 20 > "$W/hold.out" &
HOLD=$!
PIDS+=("$HOLD")
sleep 2
U token revoke "${B_CON:3:10}" > /dev/null
wait "$HOLD"
check "revoking the token ends its open console within 5 s (1008)" \
	matches "$(cat "$W/hold.out")" "1008 the token was revoked*"
T=$(tid "$(ticket "$A_CON" a1)")
WS hold "$T" 30 > "$W/hold.out" &
HOLD=$!
PIDS+=("$HOLD")
sleep 2
U stop a1 > /dev/null
wait "$HOLD"
check "stopping the server closes its console (1001, saying why)" \
	matches "$(cat "$W/hold.out")" "1001 the server's console closed*"
r=$(ticket "$A_CON" a1)
check "a stopped server has no console: 409" test "$(jq_get 'd["status"]' <<< "$r")" = 409
left=$((EXPIRING_AT + 31 - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
U start a1 > /dev/null
py_checks WS refused "$EXPIRING" 401
check "the gate and the daemon still serve after all of it" \
	test "$(curl -sS --cacert "$CERT" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A_CON" "$BASE/v1/servers")" = 200
finish
