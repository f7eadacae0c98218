#!/bin/bash
# Relative paths in a definition are relative to its directory, whatever the caller's cwd;
# the supervisor keeps none of the caller's descriptors (a $(...) around CREATE returns).
. "$(dirname "$0")/../lib.sh"

dir=$T/vms/rel
mkdir -p "$dir"
ln -s "$CTYS_GUEST/vmlinuz" "$dir/kernel"
ln -s "$CTYS_GUEST/initrd.gz" "$dir/initrd"
cat >"$dir/rel.ctys" <<DEF
#@#MAGICID-QEMU
LABEL=rel
MEMSIZE=192
KERNELIMAGE=kernel
INITRDIMAGE=initrd
APPEND="console=ttyS0 quiet ctys.test=$T"
DEF
cd /
start=$(date +%s)
out=$(timeout 30 "$CTYS" -a CREATE=p:$dir/rel.ctys 3>&1 4>&2) || fail "CREATE with relative paths failed: $out"
(( $(date +%s) - start < 20 )) || fail "\$(ctys CREATE) waited for the VM: a descriptor was inherited"
wait_console rel CTYS-GUEST-READY 60 || exit 1
sup=$(cat "$(vmdir rel)/supervisor.pid")
[ "$(readlink /proc/$sup/cwd)" = "$dir" ] || fail "supervisor cwd: $(readlink /proc/$sup/cwd)"
extra=$(ls /proc/$sup/fd | wc -l)
ok "supervisor has $extra descriptors"
expect 0 "" "$CTYS" -a CANCEL=l:rel
sed -i 's/^KERNELIMAGE=kernel/KERNELIMAGE=nokernel/' "$dir/rel.ctys"
expect 3 "$dir/rel.ctys:4: KERNELIMAGE: no such file: '$dir/nokernel'" "$CTYS" -a CREATE=p:$dir/rel.ctys
no_leftovers
