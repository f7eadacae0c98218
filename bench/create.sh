#!/usr/bin/env bash
# Benchmark: the cost of a ctys-managed VM start/stop compared with plain QEMU.
#
#   bench/create.sh [-n N]        (or BENCH_N=N; default 20 iterations)
#
# Per iteration, in alternating order (a then b on odd iterations, b then a on even ones):
#  (a) ctys:  `ctys -t QEMU -a CREATE=p:DEF,CONSOLE:NONE` + `ctys -a CANCEL=l:bench,FORCE`,
#      wall time of both commands together.
#  (b) plain QEMU: the argv that `CREATE=...,PRINT` shows, with the two fd-passed chardevs
#      (qmp, serial0) turned into path-based sockets, started in the background; a QMP client
#      connects (retrying until the socket exists), reads the greeting, sends qmp_capabilities,
#      query-status and quit; then the script waits for QEMU to exit.  Wall time from the
#      start of QEMU to its exit.
#      The client is one long-lived python3 process (started once, before any timing), driven
#      through a pipe, so interpreter start-up is not part of any measured iteration.
#
# One untimed warm-up round of each is run first.  This is a benchmark, not a test: the exit
# status is non-zero only if something failed to run, never because of the figures.
# Environment: CTYS_BIN (default build/bin/ctys), CTYS_GUEST (default build/guest).
set -u
set -o pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
CTYS=${CTYS_BIN:-$SRC/build/bin/ctys}
GUEST=${CTYS_GUEST:-$SRC/build/guest}
N=${BENCH_N:-20}
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

usage() { echo "usage: $0 [-n N]   (or BENCH_N=N)" >&2; exit 2; }
while getopts "n:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	*) usage ;;
	esac
done
case $N in '' | *[!0-9]* | 0) echo "$0: -n wants a positive integer, got '$N'" >&2; exit 2 ;; esac

die() { echo "$0: $*" >&2; exit 1; }
[ -x "$CTYS" ] || die "no ctys binary at $CTYS (build: cmake -S . -B build && cmake --build build -j2)"
[ -f "$GUEST/vmlinuz" ] && [ -f "$GUEST/initrd.gz" ] ||
	die "no guest in $GUEST (build: tests/guest/build.sh build/guest)"
command -v "$PY" >/dev/null || die "python3 not found"

T=$(mktemp -d /tmp/ctys-bench.XXXXXX) || die "mktemp failed"
export CTYS_RUNDIR=$T/run HOME=$T/home XDG_STATE_HOME=$T/state XDG_CACHE_HOME=$T/cache
export CTYS_SYSTEM_CONF=$T/no-system.conf
unset XDG_RUNTIME_DIR CTYS_CONF CTYS_QEMU_PATH
mkdir -p "$T/run" "$T/home" "$T/plain" && chmod 700 "$T/run" || die "cannot set up $T"

QPID=     # plain QEMU of the current iteration, if any
CLIPID=   # the QMP client coprocess

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	"$CTYS" -a CANCEL=ALL,FORCE >/dev/null 2>&1
	if [ -n "$QPID" ]; then kill -9 "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null; fi
	if [ -n "$CLIPID" ]; then
		kill "$CLIPID" 2>/dev/null
		wait "$CLIPID" 2>/dev/null
	fi
	# anything still running out of our private directory is ours: report it and remove it
	local left
	left=$(pgrep -f "$T" || true)
	if [ -n "$left" ]; then
		echo "$0: processes left behind, killing: $(echo $left)" >&2
		kill -9 $left 2>/dev/null
		rc=1
	fi
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DEF=$T/vms/bench/bench.ctys
mkdir -p "$(dirname "$DEF")"
cat >"$DEF" <<EOF
#@#MAGICID-QEMU
#@#LABEL = "bench"
MEMSIZE=256
KERNELIMAGE=$GUEST/vmlinuz
INITRDIMAGE=$GUEST/initrd.gz
APPEND="console=ttyS0 quiet loglevel=1 panic=-1"
EOF

# --- the plain-QEMU argv: PRINT's output with the fd chardevs made path-based -------------
line=$("$CTYS" -t QEMU -a "CREATE=p:$DEF,PRINT") || die "ctys CREATE=...,PRINT failed"
eval "PLAIN=($line)" || die "cannot parse PRINT output: $line"
replaced=0
for i in "${!PLAIN[@]}"; do
	a=${PLAIN[$i]}
	if [[ $a =~ ^socket,id=([A-Za-z0-9_]+),(.*,)?fd=[0-9]+(,.*)?$ ]]; then
		id=${BASH_REMATCH[1]}
		PLAIN[$i]=$(sed -E "s#(^|,)fd=[0-9]+(,|$)#\\1path=$T/plain/$id.sock\\2#" <<<"$a")
		replaced=$((replaced + 1))
	fi
done
[ "$replaced" = 2 ] || die "expected 2 fd-based chardevs in PRINT output, found $replaced: $line"

# --- the QMP client: one python3 process for the whole run --------------------------------
cat >"$T/qmpclient.py" <<'EOF'
import json, socket, sys, time

def run(path):
    deadline = time.monotonic() + 60
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() > deadline:
                raise RuntimeError("QMP socket never appeared")
            time.sleep(0.001)
    f = s.makefile("rwb", buffering=0)

    def reply():
        while True:
            l = f.readline()
            if not l:
                return None
            m = json.loads(l)
            if "event" not in m:
                return m

    g = reply()
    if not g or "QMP" not in g:
        raise RuntimeError("no QMP greeting: %r" % g)
    for cmd in ("qmp_capabilities", "query-status", "quit"):
        f.write(json.dumps({"execute": cmd}).encode() + b"\n")
        r = reply()
        if cmd != "quit" and (not r or "return" not in r):
            raise RuntimeError("%s: %r" % (cmd, r))
        if cmd == "query-status":
            ready = time.time()
    s.close()
    return ready

for path in sys.stdin:
    try:
        ready = run(path.rstrip("\n"))
        print("ok %d" % round(ready * 1e6), flush=True)
    except Exception as e:
        print("error %s" % e, flush=True)
EOF
coproc CLI { exec "$PY" -I -S "$T/qmpclient.py"; }
CLIPID=$CLI_PID


# Timestamps are read with ${EPOCHREALTIME} in this shell, never through $(...): a command
# substitution forks, and a fork here costs milliseconds.

# run_ctys: one CREATE+CANCEL; sets DT, and DT1 = the CREATE part (microseconds)
run_ctys() {
	local t0 tm t1
	t0=${EPOCHREALTIME/[.,]/}
	"$CTYS" -t QEMU -a "CREATE=p:$DEF,CONSOLE:NONE" >"$T/ctys.out" 2>&1 ||
		{ cat "$T/ctys.out" >&2; die "ctys CREATE failed"; }
	tm=${EPOCHREALTIME/[.,]/}
	"$CTYS" -a CANCEL=l:bench,FORCE >"$T/ctys.out" 2>&1 ||
		{ cat "$T/ctys.out" >&2; die "ctys CANCEL failed"; }
	t1=${EPOCHREALTIME/[.,]/}
	DT=$((t1 - t0)) DT1=$((tm - t0))
}

# run_plain: QEMU in the background, QMP handshake+query-status+quit, wait for exit; sets DT,
# and DT1 = start until query-status was answered (microseconds, as the client saw it)
run_plain() {
	local t0 t1 ans rc ready
	rm -f "$T"/plain/*.sock
	t0=${EPOCHREALTIME/[.,]/}
	"${PLAIN[@]}" </dev/null >"$T/plain/qemu.log" 2>&1 &
	QPID=$!
	echo "$T/plain/qmp.sock" >&"${CLI[1]}"
	read -r -t 90 ans <&"${CLI[0]}" || ans="error: no answer from the QMP client"
	wait "$QPID"
	rc=$?
	t1=${EPOCHREALTIME/[.,]/}
	QPID=
	read -r ans ready <<<"$ans"
	[ "$ans" = ok ] || { cat "$T/plain/qemu.log" >&2; die "plain QEMU: $ans $ready"; }
	[ "$rc" = 0 ] || { cat "$T/plain/qemu.log" >&2; die "plain QEMU exited with status $rc"; }
	DT=$((t1 - t0)) DT1=$((ready - t0))
}

echo "create+cancel benchmark: $N iterations, $(nproc) CPUs, $("${PLAIN[0]}" --version | head -n1)"
echo "  ctys:  $CTYS ($(git -C "$SRC" describe --always --dirty 2>/dev/null || echo "no git"), built $(date -r "$CTYS" '+%F %T'))"
shq() { local a; for a; do if [[ $a =~ ^[][A-Za-z0-9_,./=:+@%-]+$ ]]; then printf '%s ' "$a"; else printf '%s ' "${a@Q}"; fi; done; }
echo "  plain: $(shq "${PLAIN[@]}")"
echo "  QMP client for plain: $PY (one long-lived process)"

# warm-up (page cache, first-run effects), not counted
run_ctys
run_plain

A=() B=() A1=() B1=()
for ((k = 1; k <= N; k++)); do
	if ((k % 2)); then
		run_ctys; A+=("$DT") A1+=("$DT1")
		run_plain; B+=("$DT") B1+=("$DT1")
	else
		run_plain; B+=("$DT") B1+=("$DT1")
		run_ctys; A+=("$DT") A1+=("$DT1")
	fi
	printf '  %3d  ctys %.3f s  plain %.3f s\n' "$k" "${A[-1]}e-6" "${B[-1]}e-6"
done

# stats LIST...: "median mean min" in seconds
stats() {
	printf '%s\n' "$@" | sort -n | awk '
		{ v[NR] = $1 / 1e6; s += v[NR] }
		END {
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.3f %.3f %.3f\n", m, s / NR, v[1]
		}'
}
read -r am amean amin <<<"$(stats "${A[@]}")"
read -r bm bmean bmin <<<"$(stats "${B[@]}")"
read -r a1m _ <<<"$(stats "${A1[@]}")"
read -r b1m _ <<<"$(stats "${B1[@]}")"
ratio=$(awk -v a="$am" -v b="$bm" 'BEGIN { printf "%.2f", a / b }')
echo
printf '  %-10s %8s %8s %8s\n' "" median mean min
printf '  %-10s %8s %8s %8s  s\n' ctys "$am" "$amean" "$amin"
printf '  %-10s %8s %8s %8s  s\n' "plain QEMU" "$bm" "$bmean" "$bmin"
echo "  up (median): ctys CREATE returned after $a1m s; plain QEMU answered query-status after $b1m s"
echo "create+cancel: ctys median $am s, plain QEMU median $bm s, ratio $ratio (target <= 1.2)"
exit 0
