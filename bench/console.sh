#!/usr/bin/env bash
# Benchmark: the round trip of one character typed into the CLI console and echoed by the
# guest's shell, against the same round trip on a raw connection to the supervisor's
# console socket, same run, same VM.
#
#   bench/console.sh [-n ROUNDS]      (default 200)
#
# Target: the CLI within 1 ms of the raw round trip. Medians in milliseconds are printed.
# A benchmark, not a test: non-zero only if something failed to run.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
CTYS=${CTYS_BIN:-$SRC/build/bin/ctys}
GUEST=${CTYS_GUEST:-$SRC/build/guest}
N=200
while getopts "n:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	*) echo "usage: $0 [-n ROUNDS]" >&2; exit 2 ;;
	esac
done
die() { echo "$0: $*" >&2; exit 1; }
[ -x "$CTYS" ] || die "no ctys at $CTYS"
[ -f "$GUEST/vmlinuz" ] || die "no guest in $GUEST (tests/guest/build.sh $GUEST)"
W=$(mktemp -d /tmp/ctys-bench-console.XXXXXX)
export CTYS_RUNDIR=$W/run HOME=$W/home XDG_STATE_HOME=$W/state XDG_CACHE_HOME=$W/cache
export CTYS_SYSTEM_CONF=$W/none.conf
unset XDG_RUNTIME_DIR CTYS_CONF
mkdir -p "$HOME" "$W/vm"
trap '"$CTYS" -a CANCEL=ALL,FORCE >/dev/null 2>&1; rm -rf "$W"' EXIT
cat >"$W/vm/echo.ctys" <<DEF
#@#MAGICID-QEMU
LABEL=echo
MEMSIZE=192
KERNELIMAGE=$GUEST/vmlinuz
INITRDIMAGE=$GUEST/initrd.gz
APPEND="console=ttyS0 quiet loglevel=1"
DEF
"$CTYS" -a CREATE=p:"$W/vm/echo.ctys" || die "CREATE failed"
dir=$(dirname "$(grep -lx echo "$W"/run/*/label)")
for _ in $(seq 1 600); do grep -q CTYS-GUEST-READY "$dir/console.log" 2>/dev/null && break; sleep 0.1; done
grep -q CTYS-GUEST-READY "$dir/console.log" || die "the guest did not boot"

python3 - "$CTYS" "$dir/console.sock" "$N" <<'PY'
import os, socket, statistics, subprocess, sys, time
ctys, sock, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

def rounds(send, recv):
    # one key, then its erase: the shell echoes "a", then "\b \b"
    times = []
    for i in range(n):
        for key, want in ((b"a", b"a"), (b"\x7f", b"\b")):
            t = time.perf_counter()
            send(key)
            seen = b""
            while want not in seen:
                seen += recv()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)

s = socket.socket(socket.AF_UNIX)
s.connect(sock)
s.settimeout(5)
time.sleep(0.3)
try:
    while s.recv(65536):
        s.settimeout(0.3)
except socket.timeout:
    pass
s.settimeout(5)
raw = rounds(s.sendall, lambda: s.recv(4096))
s.close()

p = subprocess.Popen([ctys, "-a", "CREATE=l:echo,REUSE,CONSOLE:CLI,ESCAPE:none"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
fd = p.stdout.fileno()
time.sleep(0.5)
os.set_blocking(fd, False)
try:
    while os.read(fd, 65536):
        pass
except BlockingIOError:
    pass
os.set_blocking(fd, True)
def send(b):
    p.stdin.write(b); p.stdin.flush()
cli = rounds(send, lambda: os.read(fd, 4096))
p.stdin.close()
p.wait(timeout=10)
print("raw console.sock round trip: median %.3f ms (%d keys)" % (raw, 2 * n))
print("CLI console round trip:      median %.3f ms" % cli)
print("difference: %+.3f ms (target: within 1 ms)" % (cli - raw))
PY
