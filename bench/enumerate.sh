#!/usr/bin/env bash
# Benchmark: ENUMERATE (MACHINE) over a synthetic tree, against the floor
#   find <tree> \( -name '*.ctys' -o -name '*.conf' \) -print0 | xargs -0 cat >/dev/null
# and against a ctys-style scan (one awk filter process per candidate file, then one sed
# per #@# key per VM, as the original does), same run, warm cache.
#
#   bench/enumerate.sh [-r RUNS] [-s SAMPLE|-F]
#
# The tree: 100,000 files in 5,000 directories; 2,000 VM definitions of ~60 lines (half
# <label>/<label>.ctys, half <label>.conf beside a <label>.ctys wrapper); the rest other
# files (text, small images, logs, .cfg files). The ctys-style scan costs about a minute:
# by default it runs on SAMPLE (200) candidate files and is scaled to all of them (-F runs
# it whole). A benchmark, not a test: non-zero only if something failed to run.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
CTYS=${CTYS_BIN:-$SRC/build/bin/ctys}
RUNS=5 SAMPLE=200 FULL=0
while getopts "r:s:Fh" opt; do
	case $opt in
	r) RUNS=$OPTARG ;;
	s) SAMPLE=$OPTARG ;;
	F) FULL=1 ;;
	*) echo "usage: $0 [-r RUNS] [-s SAMPLE|-F]" >&2; exit 2 ;;
	esac
done
[ -x "$CTYS" ] || { echo "$0: no ctys at $CTYS" >&2; exit 1; }
W=$(mktemp -d /tmp/ctys-bench-enum.XXXXXX)
trap 'rm -rf "$W"' EXIT
export CTYS_RUNDIR=$W/run HOME=$W/home XDG_STATE_HOME=$W/state XDG_CACHE_HOME=$W/cache
export CTYS_SYSTEM_CONF=$W/none.conf
unset XDG_RUNTIME_DIR CTYS_CONF
mkdir -p "$HOME"
tree=$W/tree

echo "building the tree (100,000 files, 5,000 directories, 2,000 VM definitions)..."
python3 - "$tree" <<'PY'
import os, random, sys
root = sys.argv[1]
random.seed(7)
dirs = []
for i in range(5000):
    d = os.path.join(root, "g%02d" % (i % 50), "d%04d" % i)
    os.makedirs(d)
    dirs.append(d)
def definition(label, i):
    lines = ["#!/bin/bash", "#@#MAGICID-QEMU", '#@#LABEL = "%s"' % label,
             '#@#UUID = "%08x-0000-4000-8000-%012x"' % (i, i),
             "#@#MAC0 = 52:54:00:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255),
             '#@#IP0 = "10.%d.%d.%d%%255.255.0.0%%%%eth0%%22%%10.0.0.1"' % (i >> 16 & 255, i >> 8 & 255, i & 255),
             "#@#VMSTATE = ACTIVE", "#@#DIST = debian", "#@#DISTREL = 12", "#@#OS = Linux",
             "#@#OSREL = 6.1", "#@#CATEGORY = VM", "#@#VERSION = 01.11.001"]
    lines += ["# comment line %d of the original template" % k for k in range(20)]
    lines += ["MEMSIZE=${MEMSIZE:-512}", "SMP=${SMP:-1}", 'HDDBOOTIMAGE="${CTYSWRAPPERPATH}/%s.img"' % label,
              "HDA=${HDDBOOTIMAGE}", "ACCELERATOR=${ACCELERATOR:-QEMU}",
              "case ${ACCELERATOR} in", "  KVM) STARTERCALL=${STARTERCALL:-qemu-kvm};;",
              "  QEMU) STARTERCALL=${STARTERCALL:-qemu-system-x86_64};;", "esac",
              'ARCH=${ARCH:-x86_64}', 'if [ -n "${ARCH}" ]; then', '  CPU="${CPU:-qemu64}"', "fi",
              "NIC=virtio-net-pci", "MAC0=52:54:00:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255),
              'TIMEOPT="${TIMEOPT:--localtime} "', "KBD_LAYOUT=de", "VGADRIVER=std", "ARGSADD=;"]
    while len(lines) < 60:
        lines.append("# padding")
    return "\n".join(lines) + "\n"
n = 0
for i in range(2000):
    d = dirs[(i * 7) % 5000]
    label = "vm%04d" % i
    if i % 2:
        open(os.path.join(d, label + ".conf"), "w").write(definition(label, i))
        open(os.path.join(d, label + ".ctys"), "w").write("#!/bin/sh\n. ./%s.conf\n" % label)
        n += 2
    else:
        vd = os.path.join(d, label)
        os.mkdir(vd)
        open(os.path.join(vd, label + ".ctys"), "w").write(definition(label, i))
        open(os.path.join(vd, label + ".sh"), "w").write("#!/bin/sh\nexec ctys\n")
        n += 2
k = 0
while n < 100000:
    d = dirs[k % 5000]
    ext = (".txt", ".img", ".log", ".cfg")[k % 4]
    body = "key=value\n" * (k % 7) if ext != ".img" else "\0" * 64
    open(os.path.join(d, "f%06d%s" % (k, ext)), "w").write(body)
    n += 1
    k += 1
PY

median() { sort -n | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'; }
timeit() {	# CMD...: seconds, with $EPOCHREALTIME
	local s=$EPOCHREALTIME
	"$@" >/dev/null 2>&1
	echo "$s $EPOCHREALTIME" | awk '{print $2 - $1}'
}
floor() { find "$tree" \( -name '*.ctys' -o -name '*.conf' \) -print0 | xargs -0 cat >/dev/null; }
records=$("$CTYS" -a "ENUMERATE=B:$tree,MACHINE" | wc -l)
[ "$records" -eq 2000 ] || { echo "$0: ENUMERATE gave $records records, expected 2000" >&2; exit 1; }
floor; "$CTYS" -a "ENUMERATE=B:$tree,MACHINE" >/dev/null	# warm the cache

ctys_s=$(for r in $(seq 1 "$RUNS"); do timeit "$CTYS" -a "ENUMERATE=B:$tree,MACHINE"; done | median)
floor_s=$(for r in $(seq 1 "$RUNS"); do timeit floor; done | median)

# the original's way: an awk filter per candidate file, a sed per #@# key per VM
style() {
	local f keys k
	keys="LABEL UUID MAC0 IP0 VMSTATE DIST DISTREL OS OSREL CATEGORY VERSION"
	for f in "$@"; do
		awk '/^#@#MAGICID-QEMU/ {found = 1} END {exit !found}' "$f" || continue
		for k in $keys; do
			sed -n "s/^#@#$k *= *//p" "$f" >/dev/null
		done
	done
}
mapfile -t cands < <(find "$tree" \( -name '*.ctys' -o -name '*.conf' \))
if [ "$FULL" = 1 ]; then
	SAMPLE=${#cands[@]}
fi
s=$EPOCHREALTIME
style "${cands[@]:0:$SAMPLE}"
e=$EPOCHREALTIME
style_s=$(echo "$s $e ${#cands[@]} $SAMPLE" | awk '{printf "%.1f", ($2 - $1) * $3 / $4}')

echo "ENUMERATE=MACHINE, 2000 definitions in 100,000 files (median of $RUNS): ctys ${ctys_s} s"
echo "floor (find | xargs cat of ${#cands[@]} candidates): ${floor_s} s; ratio $(echo "scale=2; $ctys_s / $floor_s" | bc) (target <= 1.5)"
echo "ctys-style scan: ${style_s} s$([ "$FULL" = 1 ] || echo " (scaled from $SAMPLE of ${#cands[@]} files)"); speed-up $(echo "scale=0; $style_s / $ctys_s" | bc)x (target >= 100)"
