#!/usr/bin/env python3
"""Normalises enum.fdb records (stdin) for golden comparison: the fields that depend on the
machine become placeholders, but only when they hold what this machine must put there, so
a wrong value still shows. Records are split on unescaped ';' (escapes: \\\\ \\; \\n),
re-joined unchanged, sorted (bytewise).

usage: fdbnorm.py TREE-PREFIX USER GROUP HOST"""
import os
import re
import sys

HOST, ID, HRX, ACCEL, EXE, UID, GID = 0, 3, 28, 29, 30, 43, 44


def split(line):
    fields, cur, i = [], "", 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            cur += line[i:i + 2]
            i += 2
            continue
        if c == ";":
            fields.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    fields.append(cur)
    return fields


def main():
    prefix, user, group, host = sys.argv[1:5]
    out = []
    for line in sys.stdin.read().splitlines():
        f = split(line)
        if len(f) != 47:
            out.append("BAD(%d fields): %s" % (len(f), line))
            continue
        if f[HOST] == host:
            f[HOST] = "@HOST@"
        if f[ID].startswith(prefix + "/"):
            f[ID] = "@TREE@" + f[ID][len(prefix):]
        if re.fullmatch(r"QEMU-\d+\.\d+\.\d+", f[HRX]):
            f[HRX] = "@HRX@"
        if f[ACCEL] in ("QEMU", "KVM"):
            f[ACCEL] = "@ACCEL@"
        if f[EXE].startswith("/") and os.access(f[EXE], os.X_OK) and "qemu-system-" in f[EXE]:
            f[EXE] = "@EXE@"
        if f[UID] == user:
            f[UID] = "@USER@"
        if f[GID] == group:
            f[GID] = "@GROUP@"
        out.append(";".join(f))
    for line in sorted(out, key=lambda s: s.encode()):
        print(line)


main()
