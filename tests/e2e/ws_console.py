#!/usr/bin/python3
"""ws_console.py CA BASE_URL STEP [ARGS...]: the console WebSocket driven by a real client
library (Debian's python3-websockets), one scenario step per call; it prints "ok - ..." or
"not ok - ..." lines that test_console_ws.sh counts. Steps:

  ticket TOKEN SERVER           print the ticket POST's status and body (as JSON)
  session TICKET MARKER         open, expect the hello (write mode), the replayed history,
                                type a command and read its answer; ping and resize
  refused TICKET STATUS [BIND]  the handshake is refused with STATUS (from address BIND)
  two TICKET1 TICKET2 MARKER    first viewer types; the second reads only until it takes over
  replay TICKET MARKER          a new viewer first receives the history holding MARKER
  hold TICKET SECONDS           open and wait: print the close code and reason (or "open")
  unmasked TICKET               a raw TLS client sends an unmasked frame: close 1002
"""
import asyncio
import json
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request

import websockets

CA, BASE = sys.argv[1], sys.argv[2]
HOST, PORT = BASE.split("//")[1].split(":")
PORT = int(PORT)
ctx = ssl.create_default_context(cafile=CA)
fails = 0


def check(desc, cond, got=None):
    global fails
    if cond:
        print("ok - " + desc)
    else:
        fails += 1
        print("not ok - " + desc)
        if got is not None:
            print("#   got: %r" % (got,))


def url(ticket):
    return "wss://%s:%d/v1/console?ticket=%s" % (HOST, PORT, ticket)


async def connect(ticket, bind=None):
    kw = {}
    if bind:  # from another loopback address than the ticket's
        kw["sock"] = socket.create_connection(("127.0.0.1", PORT), source_address=(bind, 0))
        kw["server_hostname"] = "localhost"
    return await websockets.connect(url(ticket), ssl=ctx, ping_interval=None, max_size=2**20,
                                    **kw)


async def read_until(ws, pred, timeout=20.0):
    """Read messages until pred(output_bytes, texts) holds; returns (output, texts, closed)."""
    out, texts = b"", []
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred(out, texts):
            return out, texts, None
        try:
            m = await asyncio.wait_for(ws.recv(), deadline - time.time())
        except asyncio.TimeoutError:
            break
        except websockets.exceptions.ConnectionClosed as e:
            return out, texts, e
        if isinstance(m, bytes):
            out += m
        else:
            texts.append(json.loads(m))
    return out, texts, None


def has_type(texts, t):
    return [m for m in texts if m.get("type") == t]


async def step_session(ticket, marker):
    ws = await connect(ticket)
    out, texts, _ = await read_until(ws, lambda o, t: has_type(t, "hello") and len(o) > 0, 10)
    hello = has_type(texts, "hello")
    check("the console opens with a ticket: hello, mode write",
          hello and hello[0].get("mode") == "write", texts)
    check("... and the console's history comes first (replayed output)", len(out) > 0)
    # the shell computes the answer: the typed line echoes "$((6*7))", only the shell says 42
    await ws.send(("echo %s-$((6*7))\n" % marker).encode())
    out, _, _ = await read_until(ws, lambda o, t: ("%s-42" % marker).encode() in o)
    check("typed into the guest's shell, its answer comes back", ("%s-42" % marker).encode() in out,
          out[-200:])
    await ws.send(b"uname -a\n")
    out, _, _ = await read_until(ws, lambda o, t: b"Linux" in o and b"GNU/Linux" in o or
                                 b"Linux" in o and b"\n" in o.split(b"Linux", 1)[1])
    check("... uname -a answers from the guest's kernel", b"Linux" in out, out[-200:])
    await ws.send(json.dumps({"type": "ping", "id": 7}))
    _, texts, _ = await read_until(ws, lambda o, t: has_type(t, "pong"), 5)
    check("a ping control message is answered with a pong (its id kept)",
          has_type(texts, "pong") and has_type(texts, "pong")[0].get("id") == 7, texts)
    await ws.send(json.dumps({"type": "resize", "cols": 120, "rows": 40}))
    _, texts, _ = await read_until(ws, lambda o, t: has_type(t, "resize"), 5)
    r = has_type(texts, "resize")
    check("a resize is acknowledged and says it cannot apply to a serial console",
          r and r[0].get("cols") == 120 and r[0].get("applied") is False, texts)
    await ws.send(json.dumps({"type": "resize", "cols": 0}))
    _, texts, _ = await read_until(ws, lambda o, t: has_type(t, "error"), 5)
    check("a bad control message gets an error message, the console stays open",
          has_type(texts, "error") and ws.open, texts)
    await ws.close()


async def step_refused(ticket, status, bind=None):
    try:
        ws = await connect(ticket, bind)
        await ws.close()
        got = 101
    except websockets.exceptions.InvalidStatusCode as e:
        got = e.status_code
    check("the console ticket is refused with %s%s" % (status, " from " + bind if bind else ""),
          got == int(status), got)


async def step_two(t1, t2, marker):
    a = await connect(t1)
    _, ta, _ = await read_until(a, lambda o, t: has_type(t, "hello"), 10)
    b = await connect(t2)
    _, tb, _ = await read_until(b, lambda o, t: has_type(t, "hello"), 10)
    check("the first viewer types, a second one reads only",
          has_type(ta, "hello")[0]["mode"] == "write" and has_type(tb, "hello")[0]["mode"] == "read-only",
          (ta, tb))
    await b.send(("echo %s-RO-$((2*3))\n" % marker).encode())
    out, tb, _ = await read_until(b, lambda o, t: has_type(t, "error"), 5)
    check("... its keystrokes are refused with a message naming take-over",
          has_type(tb, "error") and "takeover" in has_type(tb, "error")[0]["error"], tb)
    await asyncio.sleep(1)
    out_a, _, _ = await read_until(a, lambda o, t: False, 1)
    check("... and never reach the guest", ("%s-RO-6" % marker).encode() not in out_a)
    await b.send(json.dumps({"type": "takeover"}))
    _, tb, _ = await read_until(b, lambda o, t: has_type(t, "mode"), 5)
    _, ta, _ = await read_until(a, lambda o, t: has_type(t, "mode"), 5)
    check("take-over: the second types now, the first is told it reads only",
          has_type(tb, "mode") and has_type(tb, "mode")[0]["mode"] == "write" and
          has_type(ta, "mode") and has_type(ta, "mode")[0]["mode"] == "read-only", (ta, tb))
    await b.send(("echo %s-TK-$((3*3))\n" % marker).encode())
    want = ("%s-TK-9" % marker).encode()
    out_b, _, _ = await read_until(b, lambda o, t: want in o)
    out_a, _, _ = await read_until(a, lambda o, t: want in o)
    check("... its command runs, and both viewers see the answer", want in out_b and want in out_a)
    await a.close()
    await b.close()


async def step_replay(ticket, marker):
    ws = await connect(ticket)
    out, _, _ = await read_until(ws, lambda o, t: marker.encode() in o, 10)
    check("a new viewer first receives the history (it holds an earlier answer)",
          marker.encode() in out, out[-300:])
    await ws.close()


async def step_hold(ticket, seconds):
    ws = await connect(ticket)
    _, _, closed = await read_until(ws, lambda o, t: False, float(seconds))
    if closed is None:
        print("open")
        await ws.close()
    else:
        print("%d %s" % (closed.code, closed.reason))


def step_unmasked(ticket):
    raw = socket.create_connection(("127.0.0.1", PORT))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(("GET /v1/console?ticket=%s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % ticket).encode())
    s.settimeout(10)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, rest = buf.split(b"\r\n\r\n", 1)
    check("a raw client's handshake: 101 with RFC 6455's accept key",
          b" 101 " in head.split(b"\r\n")[0] and b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head, head)
    s.sendall(b"\x81\x02hi")  # a client frame without a mask
    deadline = time.time() + 10
    code = None
    while time.time() < deadline and code is None:
        while len(rest) >= 2:
            op, n = rest[0] & 0x0f, rest[1] & 0x7f
            hl = 2 if n < 126 else 4
            n = n if n < 126 else int.from_bytes(rest[2:4], "big")
            if len(rest) < hl + n:
                break
            if op == 8:
                code = int.from_bytes(rest[hl:hl + 2], "big")
                break
            rest = rest[hl + n:]
        if code is None:
            d = s.recv(65536)
            if not d:
                break
            rest += d
    check("an unmasked client frame closes the WebSocket with 1002", code == 1002, code)


def main():
    step, args = sys.argv[3], sys.argv[4:]
    if step == "ticket":
        req = urllib.request.Request(BASE + "/v1/servers/%s/console" % args[1], method="POST",
                                     headers={"Authorization": "Bearer " + args[0]})
        try:
            with urllib.request.urlopen(req, context=ctx) as r:
                print(json.dumps({"status": r.status, "body": json.load(r)}))
        except urllib.error.HTTPError as e:
            print(json.dumps({"status": e.code, "body": json.load(e)}))
        return
    if step == "hold":
        asyncio.run(step_hold(*args))
        return
    if step == "unmasked":
        step_unmasked(args[0])
    else:
        fn = {"session": step_session, "refused": step_refused, "two": step_two,
              "replay": step_replay, "hold": step_hold}[step]
        asyncio.run(fn(*args))
    print("# done", flush=True)
    sys.exit(1 if fails else 0)


main()
