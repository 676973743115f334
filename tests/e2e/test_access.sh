#!/bin/bash
# End-to-end: customers, owners and API tokens over the unix socket (issue 16, its first
# part: the model and the admin's commands; the HTTPS listener that takes the tokens comes
# next). A real daemon and a real kernel: ownership changes under a running instance without
# touching it; a token's secret is printed once and only its SHA-256 is in the state
# database; every refusal is one line and leaves nothing behind; revoke and customer rm take
# tokens away; all of it survives a daemon restart.
. "$(dirname "$0")/lib.sh"
need
command -v sqlite3 > /dev/null || die "sqlite3 missing (apt-get install sqlite3)"
make_image "$W/bb.img" 64M
start_daemon
db() { sqlite3 "$W/state/state.db" "$@"; }
U template import bb "$W/bb.img" > /dev/null

# customers
run U customer create alice
check "customer create alice" matches "$rc:$out" "0:created customer alice"
U customer create bob > /dev/null
run U customer create alice
check "a second alice: one line, already exists" matches "$rc:$err_out" "1:umlhost: customer 'alice' already exists"
run U customer create Alice
check "a bad customer name is refused" test "$rc" = 1 -a "$(echo "$err_out" | wc -l)" = 1
run U customer create provider
check "provider is built in" matches "$rc:$err_out" "1:*built in*"
check "customer list: provider, alice, bob" \
	test "$(U --json customer list | jq_get '",".join(c["name"] for c in d)')" = "provider,alice,bob"

# owners
U create w1 --template bb --memory 64M --owner alice > /dev/null
U create p1 --template bb --memory 64M > /dev/null
run U create w2 --template bb --memory 64M --owner nobody
check "create --owner nobody: refused, naming it" matches "$rc:$err_out" "1:*no customer named 'nobody'*"
check "... and no w2 was made" bash -c "! '$UMLHOST' list | grep -q '^w2 '"
check "w1 belongs to alice" test "$(U --json show w1 | jq_get 'd["owner"]')" = alice
check "an instance without --owner is the provider's" test "$(U --json show p1 | jq_get 'd["owner"]')" = provider
U start w1 > /dev/null
wait_log w1 UH-INIT-UP 30 || not_ok "w1 boots"
pid=$(inst_pid w1)
run U chown w1 bob
check "chown a running instance" matches "$rc:$out" "0:w1 now belongs to bob"
check "... it still runs, same kernel" test "$(inst_state w1):$(inst_pid w1)" = "running:$pid"
check "... the record says bob" test "$(db "SELECT owner FROM instances WHERE name='w1'")" = bob
check "... an event says so" matches "$(U events | grep owner-changed)" "*owner-changed*w1: alice -> bob*"
run U chown w1 nobody
check "chown to an unknown customer: refused, owner unchanged" \
	test "$rc:$(U --json show w1 | jq_get 'd["owner"]')" = "1:bob"
run U chown nosuch alice
check "chown of an unknown instance: 404-class error" matches "$rc:$err_out" "1:*no instance named 'nosuch'*"

# tokens: the secret once, only its hash kept
run U --json token create --customer alice --name ci --scopes server:read,server:power --expires 30d
check "token create" test "$rc" = 0
tok=$(echo "$out" | jq_get 'd["token"]')
tid=$(echo "$out" | jq_get 'd["id"]')
check "the secret has the documented form uh_<id>_<52 base32>" \
	bash -c "[[ '$tok' =~ ^uh_${tid}_[a-z2-7]{52}$ ]]"
secret=${tok##*_}
check "the database holds the SHA-256 of the secret" \
	test "$(db "SELECT hash FROM tokens WHERE id='$tid'")" = "$(printf %s "$secret" | sha256sum | cut -d' ' -f1)"
check "... and the secret nowhere (database and its WAL)" \
	bash -c "! grep -q -a '$secret' '$W/state/'state.db*"
check "... nor in the events or the daemon's log" \
	bash -c "! '$UMLHOST' events | grep -q '$secret' && ! grep -q '$secret' '$W/daemon.log'"
run U token create --customer bob --name web --scopes server:read --servers w1
check "token create prints the secret once, on its own line" \
	bash -c "echo '$out' | sed -n 2p | grep -qE '^uh_[a-z2-7]{10}_[a-z2-7]{52}$' && echo '$err_out' | grep -q 'only time'"
lst=$(U --json token list)
check "token list: both, without any secret or hash" \
	bash -c "echo '$lst' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d)==2; assert all(\"token\" not in t and \"hash\" not in t for t in d)'"
check "token list --customer bob: bob's only" \
	test "$(U --json token list --customer bob | jq_get '",".join(t["customer"] for t in d)')" = bob
check "--expires 30d: 30 days after creation" \
	test "$(U --json token list --customer alice | jq_get 'round((d[0]["expires_at"]-d[0]["created_at"])/86400)')" = 30
check "no --expires: 90 days" \
	test "$(U --json token list --customer bob | jq_get 'round((d[0]["expires_at"]-d[0]["created_at"])/86400)')" = 90

# refusals: one line each, nothing made
n=$(db "SELECT count(*) FROM tokens")
refuse() { # refuse DESCRIPTION EXPECTED ARGS...
	local what=$1 want=$2
	shift 2
	run U token create "$@"
	check "$what" matches "$rc:$err_out" "1:*$want*"
}
refuse "an unknown scope is named" "unknown scope 'server:reboot'" --customer alice --name x --scopes server:reboot
refuse "admin only for the provider" "only the provider's tokens" --customer alice --name x --scopes admin
refuse "a server that is not the customer's" "customer 'alice' has no instance named 'w1'" --customer alice --name x --scopes server:read --servers w1
refuse "a bad --from" "--from" --customer alice --name x --scopes server:read --from 203.0.113.7/24
refuse "a bad --expires" "--expires '5x'" --customer alice --name x --scopes server:read --expires 5x
refuse "an unknown customer" "no customer named 'carol'" --customer carol --name x --scopes server:read
run U token create --customer alice --scopes server:read
check "--name is required (usage, exit 2)" test "$rc" = 2
check "... none of them made a token" test "$(db "SELECT count(*) FROM tokens")" = "$n"
run U --json token create --customer '*' --name ops --scopes admin,metrics:read --expires never --from 203.0.113.0/24
check "a provider token with admin, no expiry, one network" \
	test "$rc:$(echo "$out" | jq_get 'd["expires_at"], d["from"]')" = "0:None ['203.0.113.0/24']"

# revoke; customer rm
run U token revoke "$tid"
check "revoke" matches "$rc:$out" "0:revoked token $tid"
check "... it is gone from the database" test "$(db "SELECT count(*) FROM tokens WHERE id='$tid'")" = 0
run U token revoke "$tid"
check "revoking again: no such token" matches "$rc:$err_out" "1:*no token with id '$tid'*"
U token create --customer alice --name second --scopes server:read > /dev/null
run U customer rm bob
check "customer rm bob while bob owns w1: refused, naming w1" matches "$rc:$err_out" "1:*still owns 1 instance (w1)*"
run U customer rm alice
check "customer rm alice: her tokens go with her" matches "$rc:$out" "0:removed customer alice (1 token(s) revoked)"
check "... none of alice's tokens left" test "$(db "SELECT count(*) FROM tokens WHERE customer='alice'")" = 0

# everything survives a restart
kill -TERM "$DAEMON_PID"; wait_exit "$DAEMON_PID" 20
start_daemon
check "after a restart: w1 still bob's and running" \
	test "$(U --json show w1 | jq_get 'd["owner"]'):$(inst_state w1)" = "bob:running"
check "... bob's token and the provider's are there" \
	test "$(U --json token list | jq_get '",".join(sorted(t["name"] for t in d))')" = "ops,web"
U kill w1 > /dev/null
finish
