#!/usr/bin/env python3
"""A datagram socket that pretends to be an mconsole but misbehaves, for the client's error
paths: `silent` never answers, `oversized` answers with a too-long datagram, `magic` bounces
the request back (a request magic where a reply is expected). Prints READY once bound."""
import os, socket, struct, sys

mode, path = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("READY", flush=True)
while True:
    data, addr = s.recvfrom(4096)
    if mode == "silent" or not addr:
        continue
    if mode == "oversized":
        s.sendto(struct.pack("<III", 0, 0, 1000) + b"x" * 1000, addr)
    elif mode == "magic":
        s.sendto(data, addr)
