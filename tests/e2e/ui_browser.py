#!/usr/bin/python3
"""ui_browser.py BASE A_TOKEN P_TOKEN SHOTS: the web panel in a real browser (Debian's
chromium, headless, driven by chromium-driver through python3-selenium) against a real
umlhostd. Customer A (servers a1, a2, both running) signs in; the provider (P_TOKEN) looks
at its view. Customer B's server is named "bobsite": that word must never reach A's page or
A's network answers. Prints "ok - ..." / "not ok - ..." lines (test_ui.sh counts them) and
one "# measured: ..." line; screenshots go to SHOTS."""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import ssl

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE, A_TOKEN, P_TOKEN, SHOTS = sys.argv[1:5]
SECRET_NAME = "bobsite"
fails = 0


def check(desc, cond, got=None):
    global fails
    print(("ok - " if cond else "not ok - ") + desc, flush=True)
    if not cond:
        fails += 1
        if got is not None:
            print("#   got: %r" % (got,), flush=True)


def browser(width=1280, height=900):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--ignore-certificate-errors", "--window-size=%d,%d" % (width, height),
              "--disable-extensions", "--no-first-run", "--user-data-dir=" + os.environ["UI_PROFILE"]):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(30)
    d.execute_cdp_cmd("Network.enable", {})
    return d


def wait(d, cond, timeout=20):
    try:
        return WebDriverWait(d, timeout, poll_frequency=0.2).until(lambda _: cond())
    except Exception:  # noqa: BLE001 - a timeout is the check's failure
        return None


# read in the page in one go: a row replaced between a find and a read is no stale element
def rows(d):
    return sorted(d.execute_script(
        "return [...document.querySelectorAll('tr[data-server]')].map((e) => e.dataset.server)"))


def state_of(d, name):
    return d.execute_script(
        "const e = document.querySelector(`tr[data-server=\"${arguments[0]}\"] [data-state]`);"
        "return e ? e.dataset.state : null", name)


def network_bodies(d, seen):
    """Every answer's body the page received so far (the DevTools protocol), by request id."""
    out = []
    for entry in d.get_log("performance"):
        m = json.loads(entry["message"])["message"]
        if m.get("method") == "Network.responseReceived":
            seen.setdefault(m["params"]["requestId"], m["params"]["response"])
        if m.get("method") == "Network.loadingFinished":
            rid = m["params"]["requestId"]
            try:
                b = d.execute_cdp_cmd("Network.getResponseBody", {"requestId": rid})
                out.append((seen.get(rid, {}).get("url", "?"), b.get("body", "")))
            except WebDriverException:
                pass
    return out


def expected(log):
    """The browser errors this test causes on purpose: the forged request's 403, and the
    event stream cut when the gate is killed."""
    m = log["message"]
    return "/actions/reboot" in m or ("/v1/events?follow=1" in m and "net::ERR_" in m)


def sign_in(d, token):
    d.get(BASE + "/ui/")
    box = wait(d, lambda: d.find_elements(By.ID, "token"))
    if not box:
        return False
    box[0].send_keys(token)
    d.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click()
    return True


def main():
    os.makedirs(SHOTS, exist_ok=True)
    d = browser()
    seen, bodies = {}, []
    try:
        check("the panel's page loads and asks for a token", sign_in(d, A_TOKEN))
        check("customer A signs in and sees exactly its servers (a1, a2)",
              wait(d, lambda: rows(d) == ["a1", "a2"]) is not None, rows(d))
        bodies += network_bodies(d, seen)
        doc = [r for r in seen.values() if r.get("url", "").rstrip("/").endswith("/ui")]
        csp = {k.lower(): v for k, v in (doc[0]["headers"] if doc else {}).items()}.get(
            "content-security-policy", "")
        directives = {x.strip().split(" ")[0]: x.strip() for x in csp.split(";") if x.strip()}
        check("the page comes with a strict Content-Security-Policy (scripts from itself only, "
              "no remote origin)",
              directives.get("script-src") == "script-src 'self'" and
              directives.get("default-src") == "default-src 'none'" and
              directives.get("connect-src") == "connect-src 'self'" and "http" not in csp, csp)
        cookies = {c["name"]: c for c in d.get_cookies()}
        s = cookies.get("__Host-uh_session", {})
        check("the session cookie is HttpOnly, Secure, SameSite=Strict",
              s.get("httpOnly") is True and s.get("secure") is True and s.get("sameSite") == "Strict", s)

        # ---- first load of the servers page, nothing cached: weight and speed
        d.execute_cdp_cmd("Network.clearBrowserCache", {})
        d.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        d.get(BASE + "/ui/")
        wait(d, lambda: rows(d) == ["a1", "a2"])
        wait(d, lambda: d.execute_script("return performance.getEntriesByName('servers-rendered').length") > 0)
        perf = d.execute_script("""
            const n = performance.getEntriesByType('navigation')[0];
            const r = performance.getEntriesByType('resource');
            const m = performance.getEntriesByName('servers-rendered')[0];
            return {bytes: n.transferSize + r.reduce((a, x) => a + x.transferSize, 0),
                    files: r.length + 1, rendered: m ? m.startTime : -1,
                    interactive: n.domInteractive};""")
        d.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": False})
        print("# measured: servers page, first load with no cache: %.1f KB transferred in %d "
              "files; servers listed (interactive) %.0f ms after navigation start (DOM "
              "interactive %.0f ms)" % (perf["bytes"] / 1024, perf["files"], perf["rendered"],
                                        perf["interactive"]), flush=True)
        check("first load of the servers page: under 300 KB transferred", perf["bytes"] < 300 * 1024, perf)
        check("... and interactive (servers listed) in under 1 s", 0 <= perf["rendered"] < 1000, perf)
        d.save_screenshot(os.path.join(SHOTS, "servers.png"))

        # ---- stop a1: the state changes without a reload
        d.execute_script("window.__sameDocument = 42;")
        d.find_element(By.CSS_SELECTOR, 'button[aria-label="Stop a1"]').click()
        check("stopping a1 from the page: its row shows it stopped, with no reload",
              wait(d, lambda: state_of(d, "a1") == "stopped", 40) is not None
              and d.execute_script("return window.__sameDocument") == 42,
              (state_of(d, "a1"), d.execute_script("return [location.href, window.__sameDocument]")))
        # started elsewhere (the CLI): the page learns it from the event stream alone
        subprocess.run([os.environ["UMLHOST"], "start", "a1"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        check("a1 started from the CLI: the page shows it running, from the event stream",
              wait(d, lambda: state_of(d, "a1") == "running", 40) is not None
              and d.execute_script("return window.__sameDocument") == 42, state_of(d, "a1"))
        # a lost connection: the TLS process killed under the open page (the daemon starts
        # it again in 1 s); the page says so, reconnects, and its stream works again
        os.kill(int(os.environ["GATE_PID"]), 9)
        status = lambda: d.execute_script(
            "const s = document.getElementById('status'); return s.hidden ? '' : s.textContent")
        check("a lost connection is said on the page",
              wait(d, lambda: "reconnecting" in status(), 20) is not None, status())
        check("... and it reconnects by itself",
              wait(d, lambda: status() == "", 40) is not None, status())
        subprocess.run([os.environ["UMLHOST"], "stop", "a1"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        check("... its event stream works again (a CLI stop shows, no reload)",
              wait(d, lambda: state_of(d, "a1") == "stopped", 40) is not None
              and d.execute_script("return window.__sameDocument") == 42, state_of(d, "a1"))

        # ---- a forged request without the CSRF token (its 403 is an error expected, as is
        # the event stream the gate's kill cut)
        errors = [l for l in d.get_log("browser") if l["level"] == "SEVERE" and not expected(l)]
        forged = d.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch('/v1/servers/a2/actions/reboot', {method: 'POST', credentials: 'same-origin'})
              .then(async (r) => done([r.status, await r.text()])).catch((e) => done([0, String(e)]));""")
        check("a request with the cookie but without the CSRF token is refused (403, csrf)",
              forged[0] == 403 and '"csrf"' in forged[1], forged)

        # ---- the server page: console, graph, backups
        d.get(BASE + "/ui/#/server/a2")
        ob = wait(d, lambda: d.find_elements(By.ID, "open-console"))
        ob[0].click()
        wait(d, lambda: d.find_elements(By.CSS_SELECTOR, ".xterm-helper-textarea"))
        check("the console opens as the one that types",
              wait(d, lambda: "You type here." in d.find_element(By.TAG_NAME, "main").text, 10) is not None)
        term = lambda: d.execute_script("return document.querySelector('.xterm-rows') ? document.querySelector('.xterm-rows').innerText : ''")
        check("... after the console's replayed history (the guest's boot line from before it opened)",
              wait(d, lambda: "UH-INIT-UP" in term(), 10) is not None, term()[:300])
        d.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys("uname -a; echo UH$((6*7))\n")
        # the shell computes 42: the typed line shows $((6*7)), only the guest's answer says UH42
        got = wait(d, lambda: re.search(r"uname -a; echo UH\$\(\(6\*7\)\)\s+(Linux \S+ \d+\.\d+[^\n]*)\s+UH42", term()), 20)
        check("the browser console runs uname -a in the guest and shows the answer",
              got is not None, term()[-300:])
        wait(d, lambda: d.find_elements(By.CSS_SELECTOR, "#graph .uplot, #graph p"), 15)
        check("the traffic graph is drawn from the daemon's history",
              len(d.find_elements(By.CSS_SELECTOR, "#graph .uplot")) == 1)
        d.find_element(By.ID, "backup-now").click()
        check("'Back up now' makes a backup and lists it",
              wait(d, lambda: d.find_elements(By.CSS_SELECTOR, "li[data-backup^='a2-']"), 60) is not None)
        d.set_window_size(1280, 1400)
        d.execute_script("document.getElementById('h-console').scrollIntoView()")
        time.sleep(0.5)
        d.save_screenshot(os.path.join(SHOTS, "server.png"))
        d.set_window_size(390, 844)
        d.get(BASE + "/ui/")
        wait(d, lambda: rows(d) == ["a1", "a2"])
        d.save_screenshot(os.path.join(SHOTS, "phone.png"))
        wide = d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        check("on a phone-sized screen the page does not scroll sideways (the table scrolls in its box)", wide)
        d.set_window_size(1280, 900)

        # ---- nothing of B, anywhere
        bodies += network_bodies(d, seen)
        for q in ("/v1/events", "/v1/events?since=-1000", "/v1/servers", "/v1/whoami"):
            bodies.append((q, d.execute_async_script("""
                const done = arguments[arguments.length - 1];
                fetch(arguments[0], {credentials: 'same-origin'}).then((r) => r.text()).then(done);""", q)))
        check("... A's event list holds its own servers' events", '"a1"' in bodies[-4][1], bodies[-4][1][:200])
        leaks = [u for u, b in bodies if SECRET_NAME in b]
        check("customer B's server name never appears in A's network answers (%d read)" % len(bodies),
              not leaks and len(bodies) > 10, leaks)
        check("... nor in A's page", SECRET_NAME not in d.page_source)
        unnamed = d.execute_script("""
            return [...document.querySelectorAll('button, input, select, a')]
              .filter((e) => !(e.getAttribute('aria-label') || e.textContent.trim() || e.labels?.length))
              .map((e) => e.outerHTML.slice(0, 80));""")
        check("every control has an accessible name", not unnamed, unnamed)
        errors += [l for l in d.get_log("browser") if l["level"] == "SEVERE" and not expected(l)]
        check("the browser's console shows no errors", not errors, errors)

        # ---- sign-out: the old cookie, replayed by another client, is refused
        old = {c["name"]: c["value"] for c in d.get_cookies()}.get("__Host-uh_session", "")
        d.find_element(By.ID, "signout").click()
        wait(d, lambda: d.find_elements(By.ID, "token"))
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            code = urllib.request.urlopen(urllib.request.Request(
                BASE + "/v1/servers", headers={"Cookie": "__Host-uh_session=" + old}), context=ctx).status
        except urllib.error.HTTPError as e:
            code = e.code
        check("signing out ends the session on the daemon (the old cookie gets 401)",
              old != "" and code == 401, (old[:8], code))
        sign_in(d, P_TOKEN)
        wait(d, lambda: d.find_elements(By.CSS_SELECTOR, 'nav a[href="#/provider"]'))
        d.get(BASE + "/ui/#/provider")
        ok = wait(d, lambda: d.find_elements(By.CSS_SELECTOR, "progress") and SECRET_NAME in d.page_source)
        check("the provider's view lists every customer's servers and the host's memory", ok is not None)
        d.save_screenshot(os.path.join(SHOTS, "provider.png"))
    finally:
        d.quit()
    print("# done", flush=True)
    sys.exit(1 if fails else 0)


main()
