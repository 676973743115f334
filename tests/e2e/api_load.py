#!/usr/bin/python3
"""api_load.py CA PORT TOKEN PATH N [PER_ADDR]: N concurrent HTTPS requests to
https://localhost:PORT/PATH with a bearer token (CA "unix": PORT is the daemon's unix socket
instead, no TLS, no token: the same requests for comparison), from loopback source addresses 127.0.1.1,
127.0.1.2, ... (PER_ADDR connections each, default 8: the gate allows 16 unfinished
handshakes per address). Bounded: N connections at most, each one request. All connections
are made first; then every request is sent at once and each answer read. Prints one JSON
line: {"n", "ok" (200s), "statuses", "connect_s", "wall_s", "rps", "p50_ms", "p99_ms",
"max_ms"}. Exit status 0 when every request got an answer."""
import asyncio
import json
import resource
import ssl
import sys
import time

CA, PORT, TOKEN, PATH, N = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
PER_ADDR = int(sys.argv[6]) if len(sys.argv) > 6 else 8
ctx = None if CA == "unix" else ssl.create_default_context(cafile=CA)
PORT = PORT if ctx is None else int(PORT)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < N + 64:  # a connection is a descriptor
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, N + 64), hard))
REQ = ("GET %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
       "Connection: close\r\n\r\n" % (PATH, TOKEN)).encode()


async def one(i, go, conns):
    src = "127.0.1.%d" % (1 + i // PER_ADDR)
    try:
        if ctx is None:
            r, w = await asyncio.wait_for(asyncio.open_unix_connection(PORT), 60)
        else:
            r, w = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", PORT, ssl=ctx, server_hostname="localhost",
                                        local_addr=(src, 0)), 60)
    except Exception as e:  # noqa: BLE001 - reported, not raised
        conns.append(None)
        return ("connect: %s" % type(e).__name__, 0.0)
    conns.append(1)
    await go.wait()
    t0 = time.monotonic()
    try:
        w.write(REQ)
        await w.drain()
        data = await asyncio.wait_for(r.read(), 60)
        status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "garbled"
    except Exception as e:  # noqa: BLE001
        status = "read: %s" % type(e).__name__
    dt = time.monotonic() - t0
    w.close()
    try:
        await w.wait_closed()
    except Exception:  # noqa: BLE001
        pass
    return (status, dt)


async def main():
    go = asyncio.Event()
    conns = []
    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(one(i, go, conns)) for i in range(N)]
    while len(conns) < N:
        await asyncio.sleep(0.01)
    t1 = time.monotonic()
    go.set()
    res = await asyncio.gather(*tasks)
    t2 = time.monotonic()
    lat = sorted(dt for s, dt in res if s == "200")
    statuses = {}
    for s, _ in res:
        statuses[s] = statuses.get(s, 0) + 1

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else None
    out = {"n": N, "ok": len(lat), "statuses": statuses, "connect_s": round(t1 - t0, 2),
           "wall_s": round(t2 - t1, 3), "rps": round(len(lat) / (t2 - t1), 1) if t2 > t1 else 0,
           "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": pct(1.0)}
    print(json.dumps(out))
    return 0 if len(lat) == N else 1


sys.exit(asyncio.run(main()))
