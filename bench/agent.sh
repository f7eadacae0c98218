#!/usr/bin/env bash
# Benchmark: LIST with N VMs whose guest agents answer (their addresses, OS and hostname
# cached by the supervisors in status.json) against LIST with N VMs without an agent
# (GUESTAGENT=off), same run. LIST must not ask any agent: the two should be the same.
#
#   bench/agent.sh [-n VMS] [-r RUNS]     (defaults 10 and 30)
#
# The guests boot (the tiny test guest, TCG); the agents must all have answered, and all
# guests are paused, before the timing starts. Medians in milliseconds and the ratio are printed. A benchmark, not a
# test: non-zero only if something failed to run.
set -u
set -o pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
CTYS=${CTYS_BIN:-$SRC/build/bin/ctys}
GUEST=${CTYS_GUEST:-$SRC/build/guest}
N=10 RUNS=30
while getopts "n:r:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	*) echo "usage: $0 [-n VMS] [-r RUNS]" >&2; exit 2 ;;
	esac
done
die() { echo "$0: $*" >&2; exit 1; }
[ -x "$CTYS" ] || die "no ctys at $CTYS (build first)"
[ -s "$GUEST/initrd-agent.gz" ] || die "no test guest in $GUEST (tests/guest/build.sh $GUEST)"

W=$(mktemp -d /tmp/ctys-bench-agent.XXXXXX)
export CTYS_RUNDIR=$W/run HOME=$W/home XDG_STATE_HOME=$W/state XDG_CACHE_HOME=$W/cache
export CTYS_SYSTEM_CONF=$W/none.conf
unset XDG_RUNTIME_DIR CTYS_CONF
mkdir -p "$HOME"
cleanup() {
	"$CTYS" -a CANCEL=ALL,FORCE >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT

start() {	# PREFIX INITRD AGENT(on|off)
	for i in $(seq 1 "$N"); do
		d=$W/vms/$1$i
		mkdir -p "$d"
		cat >"$d/$1$i.ctys" <<DEF
#@#MAGICID-QEMU
#@#LABEL = "$1$i"
#@#MAC0 = "52:54:00:be:$(printf %02x "$i"):$([ "$3" = on ] && echo 01 || echo 02)"
#@#IP0 = "10.9.9.$i"
GUESTAGENT=$3
MEMSIZE=128
KERNELIMAGE=$GUEST/vmlinuz
INITRDIMAGE=$GUEST/$2
APPEND="console=ttyS0 quiet loglevel=1 panic=-1"
DEF
		"$CTYS" -a "CREATE=p:$d/$1$i.ctys" || die "CREATE $1$i failed"
	done
}
median_ms() {	# ARGS...: median wall time of `ctys ARGS` over RUNS
	for r in $(seq 1 "$RUNS"); do
		s=$EPOCHREALTIME; "$CTYS" "$@" >/dev/null; e=$EPOCHREALTIME
		echo "$s $e"
	done | awk '{print ($2 - $1) * 1000}' | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'
}

echo "booting $N VMs with the guest agent..."
start ga initrd-agent.gz on
for t in $(seq 1 600); do
	n=$(grep -l '"ips":\["10\.' "$W"/run/*/status.json 2>/dev/null | wc -l)
	[ "$n" -ge "$N" ] && break
	sleep 0.5
done
[ "$n" -ge "$N" ] || die "only $n of $N agents answered"
# paused, so that ten TCG guests do not take the CPU from the measurement (status.json
# keeps what the agents said)
"$CTYS" -a CANCEL=ALL,PAUSE >/dev/null || die "PAUSE failed"
agent_machine=$(median_ms -a LIST=MACHINE,NOFOREIGN)
agent_table=$(median_ms -a LIST=NOFOREIGN)
ips=$("$CTYS" -a LIST=TERSE,IPFROM,NOFOREIGN | grep -c '^agent$')
"$CTYS" -a CANCEL=ALL,FORCE >/dev/null

echo "booting $N VMs without an agent..."
start plain initrd.gz off
for t in $(seq 1 600); do
	n=$(grep -l CTYS-GUEST-READY "$W"/run/*/console.log 2>/dev/null | wc -l)
	[ "$n" -ge "$N" ] && break
	sleep 0.5
done
[ "$n" -ge "$N" ] || die "only $n of $N guests booted"
"$CTYS" -a CANCEL=ALL,PAUSE >/dev/null || die "PAUSE failed"
plain_machine=$(median_ms -a LIST=MACHINE,NOFOREIGN)
plain_table=$(median_ms -a LIST=NOFOREIGN)

printf '%-34s %10s %10s\n' "LIST, $N VMs (median of $RUNS)" "MACHINE" "table"
printf '%-34s %8s ms %8s ms\n' "agents answering (cached)" "$agent_machine" "$agent_table"
printf '%-34s %8s ms %8s ms\n' "no agent (GUESTAGENT=off)" "$plain_machine" "$plain_table"
echo "addresses from the agents: $ips of $N VMs"
awk -v a="$agent_machine" -v p="$plain_machine" \
    'BEGIN { printf "ratio (agents / none): %.2f (target: about 1; LIST asks no agent)\n", a / p }'
