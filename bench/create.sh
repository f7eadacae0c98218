#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions run from the EXIT trap (ours, cleanup)
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
#      through a pipe, so interpreter start-up is not part of any measured iteration.  Its only
#      polling is the connect() retry (every 1 ms) while QEMU has not created the socket yet.
#
# Untimed warm-up rounds of each are run first (BENCH_WARMUP, default 2): page cache, and
# ctys's QEMU capability cache (the first CREATE of a QEMU binary probes it; that one-off cost,
# measured by the PRINT below, is reported as "cold probe" but is not part of the figures).
# Output: per iteration, then per side median/mean/min/max, the two phases (up: until QMP
# answered query-status; down: the rest) and the ratio ctys/plain of the medians.  The ctys
# phases are split further with the timestamps of the supervisor's exit record (see
# record_phases), and `ctys --version` is timed after each iteration: the cost of merely
# starting a ctys process here, which the ctys side pays twice (CREATE, CANCEL).
# Everything runs in a private mktemp directory (runtime dir, HOME, XDG state and cache, so no
# user or system configuration is read) that is removed on exit, with no QEMU left running.
# This is a benchmark, not a test: the exit status is non-zero only if something failed to
# run, never because of the figures.
# Environment: CTYS_BIN (default build/bin/ctys), CTYS_GUEST (default build/guest).
set -u
set -o pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
CTYS=${CTYS_BIN:-$SRC/build/bin/ctys}
GUEST=${CTYS_GUEST:-$SRC/build/guest}
N=${BENCH_N:-20}
WARMUP=${BENCH_WARMUP:-2}
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

usage() { echo "usage: $0 [-n N]   (or BENCH_N=N)" >&2; exit 2; }
while getopts "n:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	*) usage ;;
	esac
done
case $N in '' | *[!0-9]* | 0) echo "$0: -n wants a positive integer, got '$N'" >&2; exit 2 ;; esac
case $WARMUP in '' | *[!0-9]*) echo "$0: BENCH_WARMUP wants a number, got '$WARMUP'" >&2; exit 2 ;; esac
((BASH_VERSINFO[0] >= 5)) || { echo "$0: needs bash 5 (EPOCHREALTIME)" >&2; exit 1; }

die() { echo "$0: $*" >&2; exit 1; }
[ -x "$CTYS" ] || die "no ctys binary at $CTYS (build: cmake -S . -B build && cmake --build build -j2)"
if [ ! -f "$GUEST/vmlinuz" ] || [ ! -f "$GUEST/initrd.gz" ]; then
	die "no guest in $GUEST (build: tests/guest/build.sh build/guest)"
fi
command -v "$PY" >/dev/null || die "python3 not found"

T=$(mktemp -d /tmp/ctys-bench.XXXXXX) || die "mktemp failed"
export CTYS_RUNDIR=$T/run HOME=$T/home XDG_STATE_HOME=$T/state XDG_CACHE_HOME=$T/cache
export CTYS_SYSTEM_CONF=$T/no-system.conf
unset XDG_RUNTIME_DIR CTYS_CONF CTYS_QEMU_PATH CTYS_BASE_PATHS CTYS_CANCEL_TIMEOUT CTYS_CREATE_TIMEOUT
{ mkdir -p "$T/run" "$T/home" "$T/plain" && chmod 700 "$T/run"; } || die "cannot set up $T"

QPID=     # plain QEMU of the current iteration, if any
CLIPID=   # the QMP client coprocess

# ours: the processes (other than this shell) that run in or name our private directory: the
# plain QEMU and the QMP client have it in their argv; ctys's supervisor and QEMU run in the
# definition's directory.  Nothing else on the machine can match.
ours() {
	local d p cwd
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
		cwd=$(readlink "$d/cwd" 2>/dev/null) || continue
		if [[ $cwd == "$T" || $cwd == "$T"/* ]] || tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qF "$T"; then
			echo "$p"
		fi
	done
}

cleanup() {
	local rc=$? left
	trap - EXIT INT TERM
	cd /
	"$CTYS" -a CANCEL=ALL,FORCE >/dev/null 2>&1
	if [ -n "$QPID" ]; then kill -9 "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null; fi
	if [ -n "$CLIPID" ]; then
		kill "$CLIPID" 2>/dev/null
		wait "$CLIPID" 2>/dev/null
	fi
	# a supervisor answers CANCEL just before it exits: give it a moment (poll, 2 s at most)
	for _ in $(seq 200); do
		left=$(ours)
		[ -z "$left" ] && break
		sleep 0.01
	done
	if [ -n "$left" ]; then
		echo "$0: processes left behind, killing: ${left//$'\n'/ }" >&2
		# shellcheck disable=SC2086  # a list of pids
		kill -9 $left 2>/dev/null
		rc=1
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DEF=$T/vms/bench/bench.ctys
mkdir -p "$(dirname "$DEF")"
# The demo guest of scripts/setup.sh, with its own label and absolute file names.
cat >"$DEF" <<EOF
#!/bin/bash
#@#MAGICID-QEMU
#@#LABEL      = "bench"
#@#DIST       = "busybox"
#@#OS         = "Linux"
MEMSIZE=256
SMP=1
KERNELIMAGE="$GUEST/vmlinuz"
INITRDIMAGE="$GUEST/initrd.gz"
APPEND="console=ttyS0 quiet loglevel=1 panic=-1"
EOF

# --- the plain-QEMU argv: PRINT's output with the fd chardevs made path-based -------------
# PRINT prints the command line on one line, shell-quoted (the -append value is in '...').
# The first PRINT of a QEMU binary probes it (QMP + -netdev help) and fills the cache.
t0=${EPOCHREALTIME/[.,]/}
line=$("$CTYS" -t QEMU -a "CREATE=p:$DEF,PRINT") || die "ctys CREATE=...,PRINT failed"
t1=${EPOCHREALTIME/[.,]/}
PROBE=$((t1 - t0))
[ "$(printf '%s\n' "$line" | wc -l)" = 1 ] || die "PRINT printed more than one line: $line"
eval "PLAIN=($line)" || die "cannot parse PRINT output: $line"
[ -x "${PLAIN[0]}" ] || die "PRINT's first word is not an executable: ${PLAIN[0]}"
replaced=0
for i in "${!PLAIN[@]}"; do
	a=${PLAIN[$i]}
	if [[ $a =~ ^socket,id=([A-Za-z0-9_]+),(.*,)?fd=[0-9]+(,.*)?$ ]]; then
		id=${BASH_REMATCH[1]}
		PLAIN[i]=$(sed -E "s#(^|,)fd=[0-9]+(,|$)#\\1path=$T/plain/$id.sock\\2#" <<<"$a")
		replaced=$((replaced + 1))
	fi
done
[ "$replaced" = 2 ] || die "expected 2 fd-based chardevs in PRINT output, found $replaced: $line"

# --- the QMP client: one python3 process for the whole run --------------------------------
cat >"$T/qmpclient.py" <<'EOF'
import json, signal, socket, sys, time

signal.signal(signal.SIGINT, signal.SIG_IGN)    # ^C is the script's business; it kills us

def alive(pid):
    # the shell has not reaped QEMU yet: a dead one is a zombie
    try:
        with open("/proc/%d/stat" % pid) as st:
            return st.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False

def run(path, pid):
    deadline = time.monotonic() + 60
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if not alive(pid):
                raise RuntimeError("QEMU exited before its QMP socket appeared")
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

for req in sys.stdin:
    try:
        pid, path = req.rstrip("\n").split(" ", 1)
        ready = run(path, int(pid))
        print("ok %d" % round(ready * 1e6), flush=True)
    except Exception as e:
        print("error %s" % e, flush=True)
EOF
coproc CLI { exec "$PY" -I -S "$T/qmpclient.py"; }
# shellcheck disable=SC2153  # set by coproc
CLIPID=$CLI_PID


# Timestamps are read with ${EPOCHREALTIME} in this shell, never through $(...): a command
# substitution forks, and a fork here costs milliseconds.

# us SECONDS.FRACTION: microseconds, in ${US} (no fork)
us() {
	local i=${1%%.*} f=${1#*.}000000
	[[ $1 == *.* ]] || f=000000
	US=$((10#$i * 1000000 + 10#${f:0:6}))
}

# record_phases T0 TM T1: splits one ctys round with the supervisor's exit record (which the
# run writes anyway): "started" (supervisor's first instant), "ended" and cancel.seconds (the
# record is written right after QEMU was reaped; the cancel request came in `seconds` before).
# Sets P_PRE (CREATE: ctys start, definition, rundir, fork), P_UP (supervisor start until
# CREATE returned), P_CPRE (CANCEL: ctys start, lookup, connect, request), P_SUP (supervisor:
# quit until QEMU reaped and the record written), P_POST (rundir removal, reply, ctys exit).
# All are -1 when the record cannot be read.
record_phases() {
	local rec f started ended secs
	P_PRE=-1 P_UP=-1 P_CPRE=-1 P_SUP=-1 P_POST=-1
	for f in "$XDG_STATE_HOME"/ctys/exits/*.json; do
		[ -f "$f" ] || return 0
		read -r -d '' rec <"$f"
		rm -f "$f"
	done
	[[ $rec =~ \"started\":\ *([0-9.]+) ]] || return 0
	started=${BASH_REMATCH[1]}
	[[ $rec =~ \"ended\":\ *([0-9.]+) ]] || return 0
	ended=${BASH_REMATCH[1]}
	[[ $rec =~ \"cancel\":\ *\{[^}]*\"seconds\":\ *([0-9.]+) ]] || return 0
	secs=${BASH_REMATCH[1]}
	us "$started"; started=$US
	us "$ended"; ended=$US
	us "$secs"; secs=$US
	P_PRE=$((started - $1)) P_UP=$(($2 - started))
	P_CPRE=$((ended - secs - $2)) P_SUP=$secs P_POST=$(($3 - ended))
}

# run_ctys: one CREATE+CANCEL; sets DT, DT1 = the CREATE part (microseconds), and P_*
run_ctys() {
	local t0 tm t1
	rm -f "$XDG_STATE_HOME"/ctys/exits/*.json
	t0=${EPOCHREALTIME/[.,]/}
	"$CTYS" -t QEMU -a "CREATE=p:$DEF,CONSOLE:NONE" >"$T/ctys.out" 2>&1 ||
		{ cat "$T/ctys.out" >&2; die "ctys CREATE failed"; }
	tm=${EPOCHREALTIME/[.,]/}
	"$CTYS" -a CANCEL=l:bench,FORCE >"$T/ctys.out" 2>&1 ||
		{ cat "$T/ctys.out" >&2; die "ctys CANCEL failed"; }
	t1=${EPOCHREALTIME/[.,]/}
	DT=$((t1 - t0)) DT1=$((tm - t0))
	record_phases "$t0" "$tm" "$t1"
}

# run_floor: the cost of starting a ctys process that does nothing (`ctys --version`) on this
# machine; the ctys side starts two of them more than the plain side.  Sets DT.
run_floor() {
	local t0 t1
	t0=${EPOCHREALTIME/[.,]/}
	"$CTYS" --version >/dev/null || die "ctys --version failed"
	t1=${EPOCHREALTIME/[.,]/}
	DT=$((t1 - t0))
}

# run_plain: QEMU in the background, QMP handshake+query-status+quit, wait for exit; sets DT,
# and DT1 = start until query-status was answered (microseconds, as the client saw it)
run_plain() {
	local t0 t1 ans rc ready
	rm -f "$T"/plain/*.sock
	t0=${EPOCHREALTIME/[.,]/}
	"${PLAIN[@]}" </dev/null >"$T/plain/qemu.log" 2>&1 &
	QPID=$!
	echo "$QPID $T/plain/qmp.sock" >&"${CLI[1]}"
	read -r -t 90 ans <&"${CLI[0]}" || ans="error no answer from the QMP client"
	read -r ans ready <<<"$ans"
	# a QEMU that did not get its quit would keep running: do not wait for it
	[ "$ans" = ok ] || { cat "$T/plain/qemu.log" >&2; die "plain QEMU: $ans $ready"; }
	wait "$QPID"
	rc=$?
	t1=${EPOCHREALTIME/[.,]/}
	QPID=
	[ "$rc" = 0 ] || { cat "$T/plain/qemu.log" >&2; die "plain QEMU exited with status $rc"; }
	DT=$((t1 - t0)) DT1=$((ready - t0))
}

accel=
for a in "${PLAIN[@]}"; do [[ $a =~ accel=([a-z]+) ]] && accel=${BASH_REMATCH[1]}; done
echo "create+cancel benchmark: $N iterations ($WARMUP warm-up each), $(date '+%F %T %Z'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  QEMU:  $("${PLAIN[0]}" --version | head -n1), accelerator ${accel:-?}"
echo "  ctys:  $CTYS ($(git -C "$SRC" describe --always --dirty 2>/dev/null || echo "no git"), built $(date -r "$CTYS" '+%F %T'))"
shq() { local a; for a; do if [[ $a =~ ^[][A-Za-z0-9_,./=:+@%-]+$ ]]; then printf '%s ' "$a"; else printf '%s ' "${a@Q}"; fi; done; }
echo "  plain: $(shq "${PLAIN[@]}")"
echo "  QMP client for plain: $PY (one long-lived process)"
printf '  cold probe: the first ctys command on this QEMU binary (CREATE=...,PRINT) took %.3f s (not counted)\n' "${PROBE}e-6"

# other QEMUs (tests run by others, say) share the CPUs and disturb the figures: count them
others() { local n; n=$(pgrep -c -x qemu-system-x86 || true); echo "${n:-0}"; }
OTHERS0=$(others)
# the tree may be rebuilt while we run (others work in it): say so if the binary changes
BUILT0=$(stat -c %Y.%s "$CTYS")

# warm-up (page cache, first-run effects), not counted
for ((k = 0; k < WARMUP; k++)); do
	run_ctys
	run_plain
done

# phases: keeps the P_* of the last ctys round, if its exit record could be read
phases() {
	((P_PRE >= 0)) || return 0
	PPRE+=("$P_PRE") PUP+=("$P_UP") PCPRE+=("$P_CPRE") PSUP+=("$P_SUP") PPOST+=("$P_POST")
}
A=() B=() A1=() B1=() A2=() B2=() F=() PPRE=() PUP=() PCPRE=() PSUP=() PPOST=()
for ((k = 1; k <= N; k++)); do
	if ((k % 2)); then
		run_ctys; A+=("$DT") A1+=("$DT1") A2+=("$((DT - DT1))"); phases
		run_plain; B+=("$DT") B1+=("$DT1") B2+=("$((DT - DT1))")
	else
		run_plain; B+=("$DT") B1+=("$DT1") B2+=("$((DT - DT1))")
		run_ctys; A+=("$DT") A1+=("$DT1") A2+=("$((DT - DT1))"); phases
	fi
	run_floor; F+=("$DT")
	printf '  %3d  ctys %.3f s (up %.3f + down %.3f)  plain %.3f s (up %.3f + down %.3f)\n' "$k" \
	    "${A[-1]}e-6" "${A1[-1]}e-6" "${A2[-1]}e-6" "${B[-1]}e-6" "${B1[-1]}e-6" "${B2[-1]}e-6"
done

# stats LIST (microseconds): "median mean min max" in seconds, 4 decimals
stats() {
	printf '%s\n' "$@" | sort -n | awk '
		{ v[NR] = $1 / 1e6; s += v[NR] }
		END {
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.4f %.4f %.4f %.4f\n", m, s / NR, v[1], v[NR]
		}'
}
row() { # NAME LIST...
	local name=$1 m mean min max
	shift
	read -r m mean min max <<<"$(stats "$@")"
	printf '  %-24s %8.3f %8.3f %8.3f %8.3f\n' "$name" "$m" "$mean" "$min" "$max"
	MED=$m
}
echo
echo "  QEMU processes running besides this benchmark's: $OTHERS0 at the start, $(others) at the end; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-24s %8s %8s %8s %8s  (seconds)\n' "" median mean min max
row "ctys CREATE+CANCEL" "${A[@]}"; am=$MED
row "  CREATE (up)" "${A1[@]}"; a1m=$MED
if ((${#PPRE[@]})); then
	row "    ctys until fork" "${PPRE[@]}"
	row "    supervisor..ready" "${PUP[@]}"
fi
row "  CANCEL FORCE (down)" "${A2[@]}"; a2m=$MED
if ((${#PPRE[@]})); then
	row "    ctys until request" "${PCPRE[@]}"
	row "    quit..reaped" "${PSUP[@]}"
	row "    cleanup, reply, exit" "${PPOST[@]}"
fi
row "plain QEMU" "${B[@]}"; bm=$MED
row "  until query-status" "${B1[@]}"; b1m=$MED
row "  quit until exit" "${B2[@]}"; b2m=$MED
row "ctys --version (floor)" "${F[@]}"; fm=$MED
ratio=$(awk -v a="$am" -v b="$bm" 'BEGIN { printf "%.2f", a / b }')
echo "  difference of the medians: up $(awk -v a="$a1m" -v b="$b1m" 'BEGIN { printf "%+.1f", (a - b) * 1000 }') ms," \
    "down $(awk -v a="$a2m" -v b="$b2m" 'BEGIN { printf "%+.1f", (a - b) * 1000 }') ms;" \
    "starting a ctys process costs $(awk -v f="$fm" 'BEGIN { printf "%.1f", f * 1000 }') ms here"
[ "$(stat -c %Y.%s "$CTYS")" = "$BUILT0" ] ||
	echo "  WARNING: $CTYS was replaced during the run; the ctys figures mix two builds"
echo "create+cancel: ctys median $(printf %.3f "$am") s, plain QEMU median $(printf %.3f "$bm") s, ratio $ratio (target <= 1.2)"
exit 0
