#!/usr/bin/env bash
# Benchmark: ctys-vhost on a 1,000,000-record inventory against grep -E of the same
# expression, same run, warm cache: `ctys-vhost -M ALL -o MACHINE <regex>` and
# `grep -E <regex>`, both to a file, for a regex that matches a few records including
# the last one.
#
#   bench/vhost.sh [-n RECORDS] [-r RUNS]      (defaults 1000000 and 5)
#
# A benchmark, not a test: non-zero only if something failed to run.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
VHOST=${VHOST_BIN:-$SRC/build/bin/ctys-vhost}
N=1000000 RUNS=5
while getopts "n:r:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	*) echo "usage: $0 [-n RECORDS] [-r RUNS]" >&2; exit 2 ;;
	esac
done
[ -x "$VHOST" ] || { echo "$0: no ctys-vhost at $VHOST" >&2; exit 1; }
W=$(mktemp -d /tmp/ctys-bench-vhost.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/db"
echo "writing $N records..."
python3 - "$W/db/enum.fdb" "$N" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for i in range(n):
        label = "needle-%d" % i if i in (17, n // 2, n - 1) else "vm%07d" % i
        rec = ["host%02d" % (i % 40), "QEMU", label, "/vm/pool%03d/%s/%s.ctys" % (i % 500, label, label),
               "%08x-0000-4000-8000-%012x" % (i, i), "52:54:00:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255),
               "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255), "", "", "", "", "debian", "12", "Linux", "6.1",
               "01.11.001", "", "VM", "ACTIVE", "", "", "", "", "", "", "", "22", "", "QEMU-7.2.22", "QEMU",
               "/usr/bin/qemu-system-x86_64", "", "eth0", "ctys 0.1.0", "255.255.0.0", "10.0.0.1", "", "x86_64",
               "", "512", "1", "", "", "root", "root", "", ""]
        f.write(";".join(rec) + "\n")
PY
re='needle-[0-9]+;'
median() { sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'; }
# output to a file, not /dev/null: GNU grep stops at the first match when its output is
# /dev/null, which would not be the same work
t() { local s=$EPOCHREALTIME; "$@" >"$W/out"; echo "$s $EPOCHREALTIME" | awk '{print $2 - $1}'; }
got=$("$VHOST" -p "$W/db" -M ALL -o MACHINE "$re" | wc -l)
want=$(grep -cE "$re" "$W/db/enum.fdb")
[ "$got" = "$want" ] || { echo "$0: ctys-vhost found $got records, grep $want" >&2; exit 1; }
cat "$W/db/enum.fdb" >/dev/null
v=$(for r in $(seq 1 "$RUNS"); do t "$VHOST" -p "$W/db" -M ALL -o MACHINE "$re"; done | median)
g=$(for r in $(seq 1 "$RUNS"); do t grep -E "$re" "$W/db/enum.fdb"; done | median)
echo "ctys-vhost -M ALL -o MACHINE over $N records ($got matches, median of $RUNS): ${v} s"
echo "grep -E of the same expression: ${g} s; ratio $(echo "scale=2; $v / $g" | bc) (target <= 2)"
