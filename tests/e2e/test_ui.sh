#!/bin/bash
# End-to-end: the web panel (issue 17) in a real browser: Debian's chromium, headless, driven
# by chromium-driver through python3-selenium (tests/e2e/ui_browser.py), against a real daemon
# and real busybox guests, on loopback only. Customer A signs in and sees exactly its servers,
# stops one and sees it stop without a reload, runs uname -a in the browser console, makes a
# backup and sees it listed; B's server name reaches neither A's page nor A's network answers;
# a request without the CSRF token is refused; the page has a strict CSP, no console errors,
# and loads in under 300 KB and 1 s (printed); a lost connection (the TLS process killed)
# reconnects by itself. The provider signs in and sees every server.
# Screenshots go to $UI_SHOTS (docs/screenshots when refreshing the README's).
. "$(dirname "$0")/lib.sh"
need
PY=/usr/bin/python3
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] ||
	die "chromium and chromium-driver missing (apt-get install chromium chromium-driver)"
$PY -c 'import selenium' 2> /dev/null || die "python3-selenium missing (apt-get install python3-selenium)"
[ -f "$(dirname "$UMLHOST")/../ui/xterm.mjs" ] ||
	die "the panel's libraries are not in the build: npm ci --prefix ui, then ninja -C build"
export UMLHOST_STATS_MINUTE_SECONDS=2 # graph points within seconds
api_daemon
U customer create alice > /dev/null
U customer create bob > /dev/null
U create a1 --template bb --memory 64M --owner alice > /dev/null
U create a2 --template bb --memory 64M --owner alice > /dev/null
U create bobsite --template bb --memory 64M --owner bob > /dev/null
for s in a1 a2 bobsite; do U start "$s" > /dev/null; done
wait_log a2 UH-INIT-UP 30 || not_ok "a2 boots"
A=$(tok --customer alice --name panel --scopes server:read,server:power,server:console,backup:read,backup:create,backup:restore,metrics:read)
P=$(tok --customer '*' --name ops --scopes admin)
sleep 3 # a few history points
export UI_PROFILE=$W/chromium
GATE_PID=$(U events | sed -n 's/.*umlhost-gate pid \([0-9]*\).*/\1/p' | tail -n 1)
export GATE_PID
SHOTS=${UI_SHOTS:-$W/shots}
touch "$W/started"
py_checks $PY "$UH_SRC/tests/e2e/ui_browser.py" "$BASE" "$A" "$P" "$SHOTS"
check "the browser run left its four screenshots" \
	test "$(find "$SHOTS" -name '*.png' -newer "$W/started" 2> /dev/null | wc -l)" -ge 4
check "a sign-in is in the events (token, customer, address)" \
	matches "$(U events | grep ui-signed-in)" "*token ${A:3:10} (customer alice) from 127.0.0.1*"
finish
