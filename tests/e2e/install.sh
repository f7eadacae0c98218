#!/bin/bash
# INSTMODE: the install source attached and booted once, the target disk made by
# QEMU_IMG when INIT asks for it, never overwritten, and failures that leave nothing.
. "$(dirname "$0")/../lib.sh"

def=$(make_vm inst "" "HDA=disk.qcow2" "DEFAULTINSTTARGETSIZE=64M" \
	"INSTSRCCDROM=$CTYS_GUEST/initrd.gz")
dir=$(dirname "$def")

# without INIT a missing target is an error, and nothing is created
expect 3 "HDA: no such file" "$CTYS" -a "CREATE=p:$def,INSTMODE"
[ ! -e "$dir/disk.qcow2" ] || fail "target created without INIT"
# PRINT never creates anything either
expect 0 "" "$CTYS" -a "CREATE=p:$def,INSTMODE:%%%%INIT,PRINT"
[ ! -e "$dir/disk.qcow2" ] || fail "PRINT created the target"

# INIT: the disk is made (qcow2, 64M), the guest boots with the CD attached, once
expect 0 "" "$CTYS" -a "CREATE=p:$def,INSTMODE:%%%%INIT"
wait_console inst CTYS-GUEST-READY 60 || exit 1
qemu-img info --force-share "$dir/disk.qcow2" | grep -q 'virtual size: 64 MiB' ||
	fail "target: $(qemu-img info --force-share "$dir/disk.qcow2")"
grep -q 'once=d' <(tr '\0' ' ' <"$(vmdir inst)/argv") || fail "no -boot once=d"
expect 0 "" "$CTYS" -a CANCEL=l:inst,FORCE
no_leftovers

# an existing target is never overwritten, INIT or not
qemu-img resize -q "$dir/disk.qcow2" 80M
ino=$(stat -c %i "$dir/disk.qcow2")
expect 0 "" "$CTYS" -a "CREATE=p:$def,INSTMODE:CD%%HDD%%INIT"
expect 0 "" "$CTYS" -a CANCEL=l:inst,FORCE
[ "$(stat -c %i "$dir/disk.qcow2")" = "$ino" ] || fail "target replaced"
qemu-img info "$dir/disk.qcow2" | grep -q 'virtual size: 80 MiB' || fail "target overwritten"
rm "$dir/disk.qcow2"

# a failing QEMU_IMG: its message, no half-made disk, no runtime directory
def2=$(make_vm inst2 "" "HDA=disk.img" "DEFAULTINSTTARGETSIZE=64M" \
	"INSTSRCCDROM=$CTYS_GUEST/initrd.gz" "QEMU_IMG=$T/qemu-img-full")
printf '#!/bin/sh\necho "qemu-img: No space left on device" >&2\nexit 1\n' >"$T/qemu-img-full"
chmod +x "$T/qemu-img-full"	# a fake: a full disk cannot be arranged here
expect 1 "No space left on device" "$CTYS" -a "CREATE=p:$def2,INSTMODE:%%%%INIT"
[ ! -e "$(dirname "$def2")/disk.img" ] || fail "half-made target left behind"
no_leftovers
# a bad size names its line
def3=$(make_vm inst3 "" "HDA=disk.img" "DEFAULTINSTTARGETSIZE=lots")
expect 1 "inst3.ctys:8: DEFAULTINSTTARGETSIZE: not a disk size" "$CTYS" -a "CREATE=p:$def3,INSTMODE:%%%%INIT"
