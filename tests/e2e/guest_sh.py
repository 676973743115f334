#!/usr/bin/env python3
"""guest_sh.py CONSOLE_SOCKET COMMAND [TIMEOUT]: run COMMAND in a busybox guest's console
shell (through umlhost-monitor's console socket), print what it printed, exit with its
status. The command's end is found by a marker carrying its exit status."""
import re
import socket
import sys
import time

sock_path, command = sys.argv[1], sys.argv[2]
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
s = socket.socket(socket.AF_UNIX)
s.connect(sock_path)
s.settimeout(0.3)
try:  # drop the replayed console history
    while s.recv(65536):
        pass
except OSError:
    pass
tag = "UHRC%d" % int(time.time() * 1000 % 1000000)
s.sendall(("%s; echo %s=$?\n" % (command, tag)).encode())
out = b""
deadline = time.time() + timeout
pattern = re.compile((tag + r"=(\d+)").encode())
while time.time() < deadline:
    try:
        d = s.recv(65536)
        if not d:
            break
        out += d
    except OSError:
        pass
    m = pattern.search(out)
    if m:
        text = out[: m.start()].decode(errors="replace").replace("\r", "")
        # drop the echoed command line
        print(text.split("\n", 1)[1] if "\n" in text else "", end="")
        sys.exit(int(m.group(1)))
print(out.decode(errors="replace"))
print("guest_sh: no end marker within %.0f s" % timeout, file=sys.stderr)
sys.exit(124)
