#!/usr/bin/env python3
"""Runs a command in a pseudo-terminal and plays a script against it (test helper).

  ptyrun.py TIMEOUT CMD [ARG...] < SCRIPT

SCRIPT lines: `expect TEXT` (wait until TEXT appeared in the output), `send TEXT` (type
TEXT; \\r, \\x1d... escapes allowed). Exits 0 when the script ran through and the command
ended, 1 otherwise; the whole output is printed at the end.
"""
import os
import pty
import select
import sys
import time

timeout = float(sys.argv[1])
script = [l.rstrip("\n") for l in sys.stdin if l.strip()]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out = b""
deadline = time.time() + timeout


def pump(wait):
    global out
    r, _, _ = select.select([fd], [], [], wait)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        out += data
    return True


ok = True
for line in script:
    verb, _, arg = line.partition(" ")
    arg = arg.encode().decode("unicode_escape").encode("latin-1")
    if verb == "send":
        time.sleep(0.2)
        os.write(fd, arg)
    elif verb == "expect":
        start = len(out) if False else 0
        while arg not in out:
            if time.time() > deadline or not pump(0.1):
                sys.stderr.write("ptyrun: %r not seen\n" % arg)
                ok = False
                break
        if not ok:
            break
while time.time() < deadline:
    if not pump(0.1):
        break
    done, _ = os.waitpid(pid, os.WNOHANG)
    if done:
        while pump(0.05):
            pass
        break
else:
    ok = False
    os.kill(pid, 9)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(0 if ok else 1)
