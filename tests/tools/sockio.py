#!/usr/bin/env python3
"""Test helper for ctys sockets (what a user's script could do with a few lines of Python).

  sockio.py type SOCK TEXT WAITFOR [TIMEOUT]   write TEXT to a console stream, wait for WAITFOR
  sockio.py ctl SOCK JSON [TIMEOUT]            send one control request, print the reply line
  sockio.py events SOCK N [TIMEOUT]            subscribe, print N event lines
  sockio.py hang SOCK                          a server that accepts and never answers
"""
import json
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def type_and_wait(path, text, want, timeout):
    s = connect(path)
    s.settimeout(0.2)
    deadline = time.time() + timeout
    seen = b""
    s.sendall(text.encode().decode("unicode_escape").encode("latin-1"))
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        seen += chunk
        if want.encode() in seen:
            sys.stdout.write(seen.decode("utf-8", "replace"))
            return 0
    sys.stdout.write(seen.decode("utf-8", "replace"))
    sys.stderr.write("sockio: %r not seen within %ss\n" % (want, timeout))
    return 1


def read_line(f):
    line = f.readline()
    if not line:
        raise SystemExit("sockio: connection closed")
    return line


def ctl(path, req, timeout):
    s = connect(path)
    s.settimeout(timeout)
    f = s.makefile("rwb")
    hello = json.loads(read_line(f))
    assert "hello" in hello, hello
    f.write(req.encode() + b"\n")
    f.flush()
    while True:
        line = read_line(f)
        msg = json.loads(line)
        if "event" in msg:
            continue
        sys.stdout.write(line.decode())
        return 0 if msg.get("ok") else 1


def events(path, n, timeout):
    s = connect(path)
    s.settimeout(timeout)
    f = s.makefile("rwb")
    read_line(f)
    f.write(b'{"v":1,"id":1,"cmd":"subscribe"}\n')
    f.flush()
    while b'"ok":true' not in read_line(f):
        pass
    sys.stdout.write("# subscribed\n")
    sys.stdout.flush()
    got = 0
    while got < n:
        line = read_line(f)
        if b'"event"' in line:
            sys.stdout.write(line.decode())
            sys.stdout.flush()
            got += 1
    return 0


def hang(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    conns = []
    while True:
        c, _ = s.accept()
        conns.append(c)


def main(argv):
    cmd = argv[1]
    if cmd == "type":
        return type_and_wait(argv[2], argv[3], argv[4], float(argv[5]) if len(argv) > 5 else 15)
    if cmd == "ctl":
        return ctl(argv[2], argv[3], float(argv[4]) if len(argv) > 4 else 30)
    if cmd == "events":
        return events(argv[2], int(argv[3]), float(argv[4]) if len(argv) > 4 else 30)
    if cmd == "hang":
        return hang(argv[2])
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
