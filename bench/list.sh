#!/usr/bin/env bash
# Benchmark: LIST (MACHINE) with 50 ctys VMs running, against the same run's baseline:
# 50 plain QEMUs started without ctys, each asked `query-status` over its own QMP socket
# by a small Python client (its interpreter start not counted: the loop only).
#
#   bench/list.sh [-n VMS] [-r RUNS]     (defaults 50 and 30)
#
# The VMs are started paused (-S: no guest needs to boot). Medians in milliseconds and
# the ratio are printed. A benchmark, not a test: non-zero only if something failed to run.
set -u
set -o pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
CTYS=${CTYS_BIN:-$SRC/build/bin/ctys}
QEMU=${QEMU:-/usr/bin/qemu-system-x86_64}
N=50 RUNS=30
while getopts "n:r:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	*) echo "usage: $0 [-n VMS] [-r RUNS]" >&2; exit 2 ;;
	esac
done
die() { echo "$0: $*" >&2; exit 1; }
[ -x "$CTYS" ] || die "no ctys at $CTYS (build first)"
command -v python3 >/dev/null || die "python3 is needed for the baseline client"

W=$(mktemp -d /tmp/ctys-bench-list.XXXXXX)
export CTYS_RUNDIR=$W/run HOME=$W/home XDG_STATE_HOME=$W/state XDG_CACHE_HOME=$W/cache
export CTYS_SYSTEM_CONF=$W/none.conf
unset XDG_RUNTIME_DIR CTYS_CONF
mkdir -p "$HOME" "$W/plain"
cleanup() {
	"$CTYS" -a CANCEL=ALL,FORCE >/dev/null 2>&1
	for p in "$W"/plain/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	sleep 0.5
	rm -rf "$W"
}
trap cleanup EXIT

echo "starting $N ctys VMs and $N plain QEMUs (paused, 64 MiB, TCG)..."
for i in $(seq 1 "$N"); do
	mkdir -p "$W/vms/b$i"
	printf '#@#MAGICID-QEMU\nLABEL=bench%d\nMEMSIZE=64\nARGSADD=-S\n' "$i" >"$W/vms/b$i/b$i.ctys"
	"$CTYS" -t QEMU -a "CREATE=p:$W/vms/b$i/b$i.ctys" || die "CREATE b$i failed"
	"$QEMU" -name "guest=plain$i" -machine accel=tcg -m 64 -nodefaults -display none -S \
		-qmp "unix:$W/plain/$i.qmp,server=on,wait=off" -daemonize -pidfile "$W/plain/$i.pid" ||
		die "plain QEMU $i failed"
done
n=$("$CTYS" -a LIST=MACHINE,NOFOREIGN | wc -l)
[ "$n" -eq "$N" ] || die "LIST shows $n VMs, expected $N"

# ctys: LIST=MACHINE, each run a whole process (fork, exec, read the runtime dirs, /proc)
# (timed with bash's $EPOCHREALTIME: no `date` process in the measurement)
ctys_ms=$(for r in $(seq 1 "$RUNS"); do
	s=$EPOCHREALTIME; "$CTYS" -a LIST=MACHINE >/dev/null; e=$EPOCHREALTIME
	echo "$s $e"
done | awk '{print ($2 - $1) * 1000}' | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}')
# the floor: starting any process here (ctys --version)
floor_ms=$(for r in $(seq 1 "$RUNS"); do
	s=$EPOCHREALTIME; "$CTYS" --version >/dev/null; e=$EPOCHREALTIME
	echo "$s $e"
done | awk '{print ($2 - $1) * 1000}' | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}')

base_ms=$(python3 - "$W/plain" "$N" "$RUNS" <<'PY'
import json, socket, sys, time
d, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def ask(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    f = s.makefile("rwb")
    f.readline()                                   # greeting
    f.write(b'{"execute":"qmp_capabilities"}\n'); f.flush(); f.readline()
    f.write(b'{"execute":"query-status"}\n'); f.flush()
    r = json.loads(f.readline())
    s.close()
    return r["return"]["status"]
times = []
for _ in range(runs):
    t = time.perf_counter()
    st = [ask("%s/%d.qmp" % (d, i)) for i in range(1, n + 1)]
    times.append((time.perf_counter() - t) * 1000)
    assert all(x == "prelaunch" for x in st), st
times.sort()
print("%.2f" % times[(len(times) - 1) // 2])
PY
) || die "baseline failed"

ratio=$(echo "scale=2; $ctys_ms / $base_ms" | bc)
echo "LIST=MACHINE of $N VMs (median of $RUNS): ctys ${ctys_ms} ms (of which starting a process: ${floor_ms} ms, ctys --version)"
echo "baseline: query-status over $N QMP sockets, Python loop only: ${base_ms} ms"
echo "ratio ctys/baseline: ${ratio} (target: LIST < 25 ms and < baseline)"
