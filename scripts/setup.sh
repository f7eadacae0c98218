#!/bin/bash
# Quick start, part 1: installs the Debian packages, builds ctys, builds the tiny demo guest,
# writes the demo VM definition, boots it with ctys, shows that it runs, and powers it off.
# Run as root on Debian 12 from the top of the source tree: scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
. scripts/deps.sh

ctys_apt_install $CTYS_BUILD_DEPS $CTYS_RUN_DEPS
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "setup: built $top/build/bin/ctys ($(build/bin/ctys --version))"
tests/guest/build.sh build/guest

def=$top/build/vms/demo/demo.ctys
ctys=$top/build/bin/ctys
# The demo VM, made by ctys-createConfVM: a definition in the original ctys format (data,
# never executed) and its wrapper. A demo from an earlier run is stopped and replaced.
if [ -f "$def" ] && [ "$("$ctys" -a ISACTIVE=p:"$def" 2>/dev/null)" = 1 ]; then
	"$ctys" -a CANCEL=p:"$def",FORCE
fi
rm -rf build/vms/demo
mkdir -p build/vms
echo "setup: \$ ctys-createConfVM --label demo --dir build/vms --mem 256 --kernel ... --initrd ... --append ..."
build/bin/ctys-createConfVM --label demo --dir build/vms --mem 256 \
	--kernel "$top/build/guest/vmlinuz" --initrd "$top/build/guest/initrd.gz" \
	--append "console=ttyS0 quiet loglevel=1 panic=-1"
echo "setup: demo VM definition: $def"

if [ "$("$ctys" -a ISACTIVE=l:demo)" = 1 ]; then
	"$ctys" -a CANCEL=l:demo,FORCE
fi
echo "setup: \$ ctys -t QEMU -a CREATE=p:$def,CONSOLE:NONE"
"$ctys" -d 1 -t QEMU -a CREATE=p:"$def",CONSOLE:NONE
echo "setup: \$ ctys -t QEMU -a ISACTIVE=l:demo"
"$ctys" -t QEMU -a ISACTIVE=l:demo
run=$(grep -lx demo /run/ctys/*/label 2>/dev/null | head -n1 | xargs -r dirname)
for _ in $(seq 1 300); do
	grep -q CTYS-GUEST-READY "$run/console.log" 2>/dev/null && break
	sleep 0.1
done
echo "setup: the guest's serial console ($run/console.log):"
grep -a -m1 CTYS-GUEST-READY "$run/console.log" | sed 's/^/    /'
echo "setup: \$ ctys -t QEMU -a LIST"
"$ctys" -t QEMU -a LIST
echo "setup: \$ ctys -t QEMU -a CANCEL=l:demo,POWEROFF"
"$ctys" -d 1 -t QEMU -a CANCEL=l:demo,POWEROFF
echo "setup: \$ ctys -t QEMU -a ISACTIVE=l:demo"
"$ctys" -t QEMU -a ISACTIVE=l:demo || true
cat <<EOF2

The demo VM booted under ctys and powered itself off on ACPI request. By hand:
  export PATH=$top/build/bin:\$PATH
  ctys -t QEMU -a CREATE=p:$def
  ctys -t QEMU -a ISACTIVE=l:demo
  ctys -t QEMU -a LIST                                # every VM on this host
  ctys -t QEMU -a INFO=l:demo                         # this one: state, sockets, argv, events
  tail /run/ctys/*/console.log                        # what the guest printed
  socat - UNIX-CONNECT:\$(dirname \$(grep -lx demo /run/ctys/*/label))/console.sock   # its serial console
  ctys -t QEMU -a CANCEL=l:demo,SUSPEND               # or PAUSE, RESET, REBOOT; CREATE ...,RESUME
  ctys -t QEMU -a CANCEL=l:demo                       # ACPI power-off, escalates after 20 s
Run every test: scripts/test.sh
EOF2
