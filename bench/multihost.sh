#!/usr/bin/env bash
# Benchmark: `ctys -a LIST=MACHINE` across 32 ssh hosts (libssh, one process, up to
# ssh_parallel connections at once) against OpenSSH running the same remote command on
# the same hosts, same run:
#
#   serial    for h in h1..hN; do ssh h ctys -a LIST=MACHINE; done
#   parallel  xargs -P N: the same ssh commands, all at once
#
# The hosts are sshd's on loopback addresses, each in its own namespaces
# (tests/tools/sshhosts.sh); every connection does a full key exchange and public-key
# authentication (no ControlMaster), and OpenSSH is made to negotiate what libssh does
# (KexAlgorithms curve25519-sha256; both then use an ed25519 host key, an ed25519 client
# key and chacha20-poly1305): the script checks and prints what each negotiated.
#
# Wall times are medians of RUNS rounds (the kinds interleaved, order rotating, after a
# warm-up round of ctys and parallel OpenSSH); the serial loop, 2-3x longer than the
# others, runs in the first SERIAL rounds only. CPU time, means per host:
#   client  user+sys of the client side: bash's `times` in a subshell that runs it (ctys;
#           or xargs/the loop and every ssh)
#   hosts   utime+stime+cutime+cstime of every host's sshd listener (PID 1 of its
#           namespace: every connection's sshd, login shell and remote ctys is reaped by
#           it), read once every connection's processes are gone
#   other   every CPU's busy time during the run (/proc/stat) minus the two above: kernel
#           threads, and whatever else runs on the machine (large: rerun when quieter)
#
#   bench/multihost.sh [-n HOSTS] [-r RUNS] [-s SERIAL]   (defaults 32, 5, 3; root only)
#
# About 70 s on a quiet 2-CPU machine: 15 s to start the hosts, the rest the rounds.
#
# A benchmark, not a test: non-zero only if something failed to run.
set -u
set -o pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
CTYS=${CTYS_BIN:-$SRC/build/bin/ctys}
N=32 RUNS=5 SRUNS=3
while getopts "n:r:s:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	s) SRUNS=$OPTARG ;;
	*) echo "usage: $0 [-n HOSTS] [-r RUNS] [-s SERIAL]" >&2; exit 2 ;;
	esac
done
die() { echo "$0: $*" >&2; exit 1; }
[ "$N" -ge 1 ] 2>/dev/null && [ "$RUNS" -ge 1 ] 2>/dev/null && [ "$SRUNS" -ge 1 ] 2>/dev/null ||
	die "HOSTS, RUNS and SERIAL must be at least 1"
[ "$SRUNS" -le "$RUNS" ] || SRUNS=$RUNS
T0=$EPOCHREALTIME
[ "$(id -u)" = 0 ] || die "root only (the test hosts are sshd's in namespaces)"
[ -x "$CTYS" ] || die "no ctys at $CTYS (build first)"
case $CTYS in /*) ;; *) CTYS=$(cd "$(dirname "$CTYS")" && pwd)/$(basename "$CTYS") ;; esac
command -v xargs >/dev/null || die "xargs is needed"

. "$SRC/tests/tools/sshhosts.sh"
W=$(mktemp -d /tmp/ctys-bench-multihost.XXXXXX)
cleanup() {
	sshhosts_stop
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# this client: a private environment, no agent, no system or user configuration
export HOME=$W/home CTYS_RUNDIR=$W/run XDG_STATE_HOME=$W/state XDG_CACHE_HOME=$W/cache
export CTYS_CONF=$W/ctys.conf CTYS_SYSTEM_CONF=/nonexistent
unset SSH_AUTH_SOCK XDG_RUNTIME_DIR
mkdir -p "$HOME" "$W/bin" && mkdir -m 700 "$CTYS_RUNDIR" || die "cannot create $W"
# a copy of the binary, on every side: the build tree may be rebuilt while this runs
cp "$CTYS" "$W/bin/ctys" && "$W/bin/ctys" --version >/dev/null || die "$CTYS does not run"
echo "$("$W/bin/ctys" --version) ($CTYS, copied)"
CTYS=$W/bin/ctys

echo "starting $N sshd hosts..."
sshhosts_start "$W/hosts" "$N" || die "the test hosts did not start"
S=$SSHHOSTS_DIR
hosts=$(for ((i = 1; i <= N; i++)); do printf '"h%d", ' "$i"; done)
cat >"$CTYS_CONF" <<EOF
remote_ctys = "$CTYS"
ssh_known_hosts = "$S/known_hosts"
ssh_config = "$S/ssh_config"
ssh_identity = "$S/id_ed25519"
group "all" { members = {${hosts%, }} }
EOF
CMD=("$CTYS" -a LIST=MACHINE)
SSHOPTS=(-F "$S/ssh_config" -n -o ControlMaster=no -o ControlPath=none
	-o KexAlgorithms=curve25519-sha256 -o UpdateHostKeys=no)
for ((i = 1; i <= N; i++)); do echo "h$i"; done >"$W/hostlist"

# the three ways; each writes its output to $W/out.<kind>
run_ctys() { "${CMD[@]}" all >"$W/out.ctys"; }
run_serial() {
	local h rc=0
	for h in $(cat "$W/hostlist"); do
		ssh "${SSHOPTS[@]}" "$h" "${CMD[@]}" || rc=1
	done >"$W/out.serial"
	return $rc
}
run_parallel() {
	xargs -P "$N" -I{} ssh "${SSHOPTS[@]}" {} "${CMD[@]}" <"$W/hostlist" >"$W/out.parallel"
}

# what each client negotiates (libssh logs it through LogLevel in its ssh_config)
{ echo "LogLevel DEBUG2"; cat "$S/ssh_config"; } >"$S/ssh_config.debug"
sed "s|^ssh_config = .*|ssh_config = \"$S/ssh_config.debug\"|" "$CTYS_CONF" >"$W/ctys-debug.conf"
neg=$(CTYS_CONF=$W/ctys-debug.conf "$CTYS" -a LIST=MACHINE h1 2>&1 >/dev/null |
	sed -n 's/.*Negotiated \([^,]*\),\([^,]*\),\([^,]*\),\([^,]*\),\([^,]*\),\([^,]*\),.*/kex \1, host key \2, cipher \3 \/ \4, MAC \5 \/ \6/p' | head -1)
[ -n "$neg" ] || die "could not see what libssh negotiated"
echo "libssh (ctys):  $neg"
ov=$(ssh -v "${SSHOPTS[@]}" h1 true 2>&1 | tr -d '\r') || die "ssh h1 failed: $ov"
okex=$(sed -n 's/^debug1: kex: algorithm: //p' <<<"$ov" | head -1)
ohk=$(sed -n 's/^debug1: kex: host key algorithm: //p' <<<"$ov" | head -1)
oc=$(sed -n 's/^debug1: kex: client->server cipher: \([^ ]*\) MAC: \([^ ]*\).*/\1, MAC \2/p' <<<"$ov" | head -1)
echo "OpenSSH (ssh):  kex $okex, host key $ohk, cipher $oc ($(ssh -V 2>&1 | cut -d, -f1))"
case $neg in
"kex $okex, host key $ohk, cipher ${oc%%,*} "*) ;;
*) echo "warning: OpenSSH and libssh do not negotiate the same algorithms" >&2 ;;
esac

# the hosts' CPU: every host's sshd listener with its reaped children, in clock ticks,
# once every connection's sshd has ended and been reaped
HZ=$(getconf CLK_TCK)
hosts_quiet() {
	local i t c
	for ((i = 1; i <= N; i++)); do
		for ((t = 0; t < 500; t++)); do
			c=
			read -r c <"/proc/${SSHHOST_PID[i]}/task/${SSHHOST_PID[i]}/children" 2>/dev/null
			[ -z "$c" ] && break
			sleep 0.01
		done
	done
}
hosts_ticks() {
	local i f s=0
	hosts_quiet
	for ((i = 1; i <= N; i++)); do
		read -r -a f <"/proc/${SSHHOST_PID[i]}/stat" || die "h$i's sshd is gone"
		s=$((s + f[13] + f[14] + f[15] + f[16]))
	done
	echo "$s"
}
accepted() { cat "$S"/h*/sshd.log | grep -c 'Accepted publickey'; }
# every CPU's busy ticks (user nice system irq softirq steal), from /proc/stat
busy_ticks() {
	local cpu u ni sy id io irq sirq st rest
	read -r cpu u ni sy id io irq sirq st rest </proc/stat
	echo $((u + ni + sy + irq + sirq + st))
}

# one timed round of a kind: wall seconds, client CPU seconds, hosts' CPU seconds
declare -A WALL CCPU HCPU BUSY
measure() {
	local kind=$1 h0 h1 a0 a1 b0 b1 s e rc
	h0=$(hosts_ticks)
	a0=$(accepted)
	b0=$(busy_ticks)
	s=$EPOCHREALTIME
	# a subshell starts with no children's times: `times` gives what this kind cost here
	(
		"run_$kind"
		rc=$?
		times >"$W/times"
		exit $rc
	)
	rc=$?
	e=$EPOCHREALTIME
	b1=$(busy_ticks)
	h1=$(hosts_ticks)
	a1=$(accepted)
	[ -n "$h0" ] && [ -n "$h1" ] || die "a host's sshd is gone"
	[ "$rc" = 0 ] || die "$kind failed (exit $rc): $(head -c 2000 "$W/out.$kind")"
	[ $((a1 - a0)) = "$N" ] || die "$kind: $((a1 - a0)) logins on the hosts, expected $N"
	WALL[$kind]+="$(awk -v s="$s" -v e="$e" 'BEGIN {printf "%.4f", e - s}') "
	CCPU[$kind]+="$(tr -s ' ms\n' '   ' <"$W/times" |
		awk '{printf "%.3f", 60 * ($1 + $3 + $5 + $7) + $2 + $4 + $6 + $8}') "
	HCPU[$kind]+="$(awk -v t=$((h1 - h0)) -v hz="$HZ" 'BEGIN {printf "%.3f", t / hz}') "
	BUSY[$kind]+="$(awk -v t=$((b1 - b0)) -v hz="$HZ" 'BEGIN {printf "%.3f", t / hz}') "
}

same() {
	cmp -s <(sort "$W/out.ctys") <(sort "$W/out.$1") ||
		die "ctys and $1 OpenSSH print different lines: $(diff <(sort "$W/out.ctys") <(sort "$W/out.$1") | head)"
}
# warm-up (page cache, the hosts' first logins), untimed
measure ctys
measure parallel
same parallel
nlines=$(wc -l <"$W/out.ctys")
WALL=() CCPU=() HCPU=() BUSY=()

b0=$(busy_ticks)
sleep 2
b1=$(busy_ticks)
echo "$(nproc) CPUs, busy $(((b1 - b0) * 100 / (2 * HZ * $(nproc))))% over 2 s with nothing of ours running;" \
    "$RUNS rounds of ctys and parallel OpenSSH, $SRUNS of them with the serial loop..."
kinds=(ctys parallel serial)
last() { awk '{print $NF}' <<<"$1"; }
for ((r = 0; r < RUNS; r++)); do
	for ((j = 0; j < 3; j++)); do
		k=${kinds[(r + j) % 3]}
		[ "$k" = serial ] && ((r >= SRUNS)) && continue
		measure "$k"
		[ "$k" = ctys ] || same "$k"
	done
	echo "  round $((r + 1)): ctys $(last "${WALL[ctys]}") s, parallel $(last "${WALL[parallel]}") s$(
	    ((r < SRUNS)) && echo ", serial $(last "${WALL[serial]}") s")"
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'; }
stats() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1; s+=$1} END {printf "%8.3f %8.3f %8.3f %8.3f", a[int((NR+1)/2)], s/NR, a[1], a[NR]}'; }
mean() { tr ' ' '\n' | grep . | awk '{s+=$1} END {printf "%.4f", s/NR}'; }
NCPU=$(nproc)
label() {
	case $1 in
	ctys) echo "ctys (libssh, $N at once)" ;;
	parallel) echo "OpenSSH parallel (xargs -P$N)" ;;
	serial) echo "OpenSSH serial loop" ;;
	esac
}

echo
echo "LIST=MACHINE on $N hosts, $nlines lines each way (the same set), $RUNS rounds ($SRUNS serial):"
printf '  %-34s %8s %8s %8s %8s %6s\n' "wall (seconds)" median mean min max busy
for k in ctys parallel serial; do
	# busy: every CPU's busy time during the runs over CPUs x wall time
	printf '  %-34s %s %5.0f%%\n' "$(label $k)" "$(stats <<<"${WALL[$k]}")" \
	    "$(echo "100 * $(mean <<<"${BUSY[$k]}") / $(mean <<<"${WALL[$k]}") / $NCPU" | bc -l)"
done
echo
printf '  %-34s %8s %8s %8s %8s\n' "CPU-s per host (mean)" client hosts total other
for k in ctys parallel serial; do
	c=$(echo "$(mean <<<"${CCPU[$k]}") / $N" | bc -l)
	h=$(echo "$(mean <<<"${HCPU[$k]}") / $N" | bc -l)
	# other: CPU time of everything else on the machine during the runs (should be ~0)
	o=$(echo "($(mean <<<"${BUSY[$k]}") - $(mean <<<"${CCPU[$k]}") - $(mean <<<"${HCPU[$k]}")) / $N" | bc -l)
	printf '  %-34s %8.4f %8.4f %8.4f %8.4f\n' "$(label $k)" "$c" "$h" "$(echo "$c + $h" | bc -l)" "$o"
	eval "cpu_$k=$(printf '%.4f' "$(echo "$c + $h" | bc -l)")"
done
echo "  (client: ctys, or xargs/the loop and the ssh's; hosts: sshd's, login shells, remote" \
    "ctys; other: the rest of the machine meanwhile)"
wc_=$(median <<<"${WALL[ctys]}")
wp=$(median <<<"${WALL[parallel]}")
ws=$(median <<<"${WALL[serial]}")
rp=$(printf '%.3f' "$(echo "$wc_ / $wp" | bc -l)")
rs=$(printf '%.2f' "$(echo "$ws / $wc_" | bc -l)")
met() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo met; else echo "NOT met"; fi; }
echo
echo "CPU floor on $NCPU CPUs (total CPU per host x $N / CPUs): ctys" \
    "$(printf '%.3f' "$(echo "$cpu_ctys * $N / $NCPU" | bc -l)") s, OpenSSH parallel" \
    "$(printf '%.3f' "$(echo "$cpu_parallel * $N / $NCPU" | bc -l)") s"
echo "ctys/parallel OpenSSH: $rp (target <= 1.1: $(met "$rp <= 1.1"));" \
    "serial OpenSSH/ctys: $rs (target >= 3: $(met "$rs >= 3"))"
echo "multihost: ctys ${wc_} s, OpenSSH parallel ${wp} s, serial ${ws} s; ratio ${rp}, speed-up ${rs}x;" \
    "CPU per host: ctys ${cpu_ctys} s, OpenSSH ${cpu_parallel} s"
echo "(this script took $(awk -v s="$T0" -v e="$EPOCHREALTIME" 'BEGIN {printf "%.0f", e - s}') s)"
