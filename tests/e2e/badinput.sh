#!/bin/bash
# smoke
# Bad inputs: each has its message and exit status, and leaves nothing behind.
. "$(dirname "$0")/../lib.sh"

expect 3 "no such VM definition: '$T/nope.ctys'" "$CTYS" -a CREATE=p:$T/nope.ctys
expect 2 "P: needs an absolute path: 'rel.ctys'" "$CTYS" -a CREATE=p:rel.ctys
expect 2 "unknown suboption 'BOGUS' for CREATE" "$CTYS" -a CREATE=p:/x,BOGUS
expect 2 "unknown action 'FLY'" "$CTYS" -a FLY
expect 2 "unknown type 'VMW'" "$CTYS" -t VMW -a CREATE=p:/x
expect 2 "CREATE needs suboptions" "$CTYS" -a CREATE
expect 2 "label must not start with '-': '-rf'" "$CTYS" -a CANCEL=l:-rf
expect 2 "refusing host name starting with '-': '-oProxyCommand=x'" "$CTYS" -a ISACTIVE=l:x -- -oProxyCommand=x
expect 2 "'h;1': not a host name" "$CTYS" -a ISACTIVE=l:x 'h;1'
expect 2 "'h1(-d 2': options in parentheses must end the word" "$CTYS" -a LIST 'h1(-d 2'
expect 2 "--wire 9: this ctys" "$CTYS" --wire 9 -a LIST
expect 2 "--host takes a machine-address as TARGET (not --runtime-dir or --password-file)" \
    "$CTYS_BUILD/bin/ctys-vncviewer" --host h1 --runtime-dir /x
expect 2 "CONSOLE:VNC needs a display: DISPLAY is not set" env -u DISPLAY -u WAYLAND_DISPLAY "$CTYS" -a CREATE=p:/x,CONSOLE:VNC
expect 2 "CONSOLE:TELNET: not a console" "$CTYS" -a CREATE=p:/x,CONSOLE:TELNET
expect 2 "CANCEL suboption 'STACK' is not supported yet" "$CTYS" -a CANCEL=l:x,STACK

def=$(make_vm nokernel "" "KERNELIMAGE=$T/missing-vmlinuz")
expect 3 "$def:7: KERNELIMAGE: no such file: '$T/missing-vmlinuz'" "$CTYS" -a CREATE=p:$def
def=$(make_vm dash "" '#@#LABEL = "-x"' 'LABEL="-x"')
expect 1 "$def:8: LABEL: label must not start with '-': '-x'" "$CTYS" -a CREATE=p:$def
def=$(make_vm badmem "" "MEMSIZE=lots")
expect 1 "$def:7: MEMSIZE: not a number: 'lots'" "$CTYS" -a CREATE=p:$def
mkdir -p "$T/vms/notqemu"
echo "LABEL=x" >"$T/vms/notqemu/x.ctys"
expect 1 "not a QEMU VM definition (no #@#MAGICID-QEMU)" "$CTYS" -a CREATE=p:$T/vms/notqemu/x.ctys

def=$(make_vm noqemu)
CTYS_QEMU_PATH=$T/empty expect 5 "no QEMU binary 'qemu-system-x86_64' found in $T/empty (on Debian: apt-get install qemu-system-x86)" "$CTYS" -a CREATE=p:$def
def=$(make_vm nostarter "" "STARTERCALL=qemu-system-none")
expect 5 "STARTERCALL 'qemu-system-none' not found" "$CTYS" -a CREATE=p:$def

# a machine type the binary lacks is refused before QEMU starts (capability probe)
def=$(make_vm badmachine "" "MACHINE=no-such-machine")
expect 5 "badmachine.ctys:7: MACHINE: /usr/bin/qemu-system-x86_64 has no machine type 'no-such-machine'" \
	"$CTYS" -a CREATE=p:$def
no_leftovers
# QEMU itself refuses (a device it cannot build): the tail of qemu.log, status 5, nothing
# left behind
def=$(make_vm baddevice "" "ARGSADD='-device virtio-rng-pci,no_such_prop=1'")
expect 5 "no_such_prop" "$CTYS" -a CREATE=p:$def
no_leftovers
grep -q '"how":"qemu-error"' <<<"$(exit_record)" || fail "no exit record for the failed start"

# a network bridge that does not exist is named, with the line, before QEMU starts
def=$(make_vm nobridge "" "MAC0=52:54:00:00:00:09" "NETMODE0=bridge:ctysnobr0")
expect 1 "nobridge.ctys:8: NETMODE0: bridge 'ctysnobr0' does not exist (ip link add ctysnobr0 type bridge)" \
	"$CTYS" -a CREATE=p:$def
no_leftovers

# a broken configuration file is named with its line
mkdir -p "$HOME/.ctys"
printf 'cancel_timeout = 5\nno_such_option = 1\n' >"$HOME/.ctys/ctys.conf"
expect 2 "$HOME/.ctys/ctys.conf:2: no such option 'no_such_option'" "$CTYS" -a ISACTIVE=l:x
printf 'netmode = "magic"\n' >"$HOME/.ctys/ctys.conf"
expect 2 "$HOME/.ctys/ctys.conf:1: netmode: not a network mode" "$CTYS" -a ISACTIVE=l:x
rm "$HOME/.ctys/ctys.conf"
# an unsafe runtime directory is refused
mkdir -p "$T/unsafe" && chmod 755 "$T/unsafe"
CTYS_RUNDIR=$T/unsafe expect 1 "'$T/unsafe' has unsafe permissions 0755 (must be 0700)" "$CTYS" -a ISACTIVE=l:x
no_leftovers
# a runtime root too long for socket paths is refused before anything starts
long=$T/$(printf 'd%.0s' $(seq 1 100))
mkdir -p "$long" && chmod 700 "$long"
def=$(make_vm longpath)
CTYS_RUNDIR=$long expect 1 "is too long for UNIX socket paths" "$CTYS" -a CREATE=p:$def
[ -z "$(ls -A "$long")" ] || fail "a directory was left in the long runtime root"
