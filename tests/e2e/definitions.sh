#!/bin/bash
# Definitions as people write them: both layouts, every machine-address form, ambiguity,
# hostile content that must never run, the wrapper, and a template-style definition with
# a data disk beside it that boots and powers off.
. "$(dirname "$0")/../lib.sh"

vms=$T/pool
mkdir -p "$vms/web1" "$vms/db" "$vms/copy"
# code 01.11 layout: <label>/<label>.ctys (the config) beside <label>.sh (a wrapper)
cat >"$vms/web1/web1.ctys" <<DEF
#!/bin/bash
#@#MAGICID-QEMU
#@#LABEL                     = "web1"
#@#UUID                      = "2b1a0c9e-6f0e-4c55-8a2c-0d3d6b2d7a01"
#@#MAC0                      =  52:54:00:10:00:01
#@#IP0                       = "10.0.2.15%255.255.255.0%%eth0%22%10.0.2.2"
#@#INST_EDITOR               =  someone else
#_@#VNCBASEPORT = 
#@#VMSTATE                   = ACTIVE
SMP=\${SMP:-1}
MEMSIZE=\${MEMSIZE:-192}
TIMEOPT="\${TIMEOPT:--localtime} "
KERNELIMAGE="$CTYS_GUEST/vmlinuz"
INITRDIMAGE="$CTYS_GUEST/initrd.gz"
APPEND="console=ttyS0 quiet loglevel=1 ctys.test=$T"
HDDBOOTIMAGE="\${CTYSWRAPPERPATH}/data.img"
HDA=\${HDDBOOTIMAGE}
ARGSADD=;
MAC0=52:54:00:10:00:01
ACCELERATOR=\${ACCELERATOR:-QEMU}
case \${ACCELERATOR} in
  KVM)  STARTERCALL=\${STARTERCALL:-qemu-kvm};;
  QEMU|TCG) STARTERCALL="\${STARTERCALL:-qemu-system-x86_64}"
        ;;
esac
ARCH=" x86_64"
if [ -n "\${ARCH}" ]; then
  case \${ARCH// /} in
    i?86) CPU=qemu32;;
    x86_64) CPU="\${CPU:-qemu64}";;
    *) CPU=max;;
  esac
else
  CPU=broken
fi
PWNED=\$(touch $T/pwned)
EVIL=\`touch $T/pwned\`; touch $T/pwned
DEF
echo 'echo wrapper must not run; touch '"$T"'/pwned' >"$vms/web1/web1.sh"
truncate -s 16M "$vms/web1/data.img"
# man-page layout: <label>.conf (the config) beside <label>.ctys (a wrapper)
cat >"$vms/db/db.conf" <<DEF
#@#MAGICID-QEMU
#@#LABEL = "db one"
#@#UUID = "7c0e1d7e-0000-4000-8000-00000000d0b1"
MEMSIZE=192
KERNELIMAGE=$CTYS_GUEST/vmlinuz
INITRDIMAGE=$CTYS_GUEST/initrd.gz
APPEND="console=ttyS0 quiet ctys.test=$T"
DEF
printf '#!/bin/sh\n#@#MAGICID-QEMU\n#@#LABEL = "wrapper"\ntouch %s/pwned\n' "$T" >"$vms/db/db.ctys"
# two definitions with one label: ambiguous
for i in 1 2; do
	mkdir -p "$vms/copy/c$i"
	printf '#@#MAGICID-QEMU\nLABEL=twin\nMEMSIZE=128\n' >"$vms/copy/c$i/twin.ctys"
done
# an ignored template is never found
mkdir -p "$vms/tmpl"
printf '#@#MAGICID-QEMU\n#@#MAGICID-IGNORE\nLABEL=web1\n' >"$vms/tmpl/tmpl.ctys"
# a symlink loop must not hang the scan
ln -s .. "$vms/copy/loop"

B="B:$vms"
expect 0 "" "$CTYS" -a "CREATE=l:web1,$B,PRINT"
out=$("$CTYS" -a "CREATE=l:web1,$B,PRINT")
grep -q -- "-drive file=$vms/web1/data.img,format=raw,index=0,media=disk" <<<"$out" || fail "data disk: $out"
grep -q -- "-rtc base=localtime" <<<"$out" || fail "TIMEOPT: $out"
# the case/if blocks of the template were evaluated statically
grep -q -- "-cpu qemu64" <<<"$out" || fail "case/if blocks: $out"
grep -q -- "^/usr/bin/qemu-system-x86_64 " <<<"$out" || fail "STARTERCALL from the case block: $out"
grep -q -- "hostfwd=tcp:127.0.0.1:[0-9]*-:22" <<<"$out" || fail "ssh forward: $out"
expect 0 "" "$CTYS" -a "CREATE=u:2B1A0C9E-6F0E-4C55-8A2C-0D3D6B2D7A01,$B,PRINT"
expect 0 "" "$CTYS" -a "CREATE=m:52:54:00:10:00:01,$B,PRINT"
expect 0 "" "$CTYS" -a "CREATE=t:10.0.2.15,$B,PRINT"
expect 0 "" "$CTYS" -a "CREATE=f:web1/web1,$B,PRINT"
expect 0 "" "$CTYS" -a "CREATE=p:$vms/web1/web1.sh,PRINT"
out=$("$CTYS" -a "CREATE=l:db one,$B,PRINT") || fail "label with a space"
grep -q -- "guest=db one" <<<"$out" || fail "db label: $out"
expect 0 "" "$CTYS" -a "CREATE=p:$vms/db/db.ctys,PRINT"
out=$("$CTYS" -a "CREATE=p:$vms/db/db.ctys,PRINT")
grep -q "guest=db one" <<<"$out" || fail "P: of a wrapper must find the .conf: $out"
expect 11 "'L:twin' matches 2 VM definitions:" "$CTYS" -a "CREATE=l:twin,$B,PRINT"
"$CTYS" -a "CREATE=l:twin,$B,PRINT" 2>&1 | grep -q "$vms/copy/c2/twin.ctys" || fail "candidates not listed"
expect 0 "" "$CTYS" -a "CREATE=l:twin,f:c2/,$B,PRINT"
expect 3 "no VM definition matches 'L:nosuch' under $vms" "$CTYS" -a "CREATE=l:nosuch,$B,PRINT"
expect 3 "does not match" "$CTYS" -a "CREATE=p:$vms/web1/web1.ctys,l:other,PRINT"
expect 2 "M: not a MAC address: '52:54'" "$CTYS" -a "CREATE=m:52:54,$B"
# base paths from the configuration
mkdir -p "$HOME/.ctys"
echo "base_paths = {\"$vms\", \"$T/missing\"}" >"$HOME/.ctys/ctys.conf"
expect 0 "" "$CTYS" -a "CREATE=l:web1,PRINT"
# the configured default network mode applies to NICs without NETMODE<n>
echo 'netmode = "none"' >>"$HOME/.ctys/ctys.conf"
"$CTYS" -a "CREATE=l:web1,PRINT" 2>/dev/null | grep -q -- "-netdev" && fail "netmode none in the configuration ignored"
sed -i '/netmode/d' "$HOME/.ctys/ctys.conf"

# boot the template-style definition with its data disk, found by label; power it off
expect 0 "" "$CTYS" -a CREATE=l:web1
wait_console web1 CTYS-GUEST-READY 60 || exit 1
d=$(vmdir web1)
grep -q '^ssh tcp 127.0.0.1:[0-9]*$' "$d/ports" || fail "forwarded port not recorded: $(cat "$d/ports")"
expect 0 "" "$CTYS" -a CANCEL=m:52:54:00:10:00:01
grep -q '"how":"cancel-poweroff"' <<<"$(exit_record)" || fail "exit record: $(exit_record)"
[ ! -e "$T/pwned" ] || fail "something in a definition or wrapper was executed"
"$CTYS" -a "CREATE=l:web1,PRINT" 2>&1 | grep -q "web1.ctys:36: warning: PWNED: command substitution" ||
	fail "no warning for the command substitution"

# the wrapper written from wrappers/wrapper.sh.in translates the original's options
sed -e "s|@LABEL@|web1|" -e "s|@DEFINITION@|$vms/web1/web1.ctys|" \
	"$CTYS_SRC/wrappers/wrapper.sh.in" >"$T/web1.sh"
chmod +x "$T/web1.sh"
out=$(CTYS=$CTYS "$T/web1.sh" --print --kernelmode="$CTYS_GUEST/vmlinuz%$CTYS_GUEST/initrd.gz%console=ttyS0,115200" \
	--argsadd="-device virtio-rng-pci,id=rng0") || fail "wrapper --print: $out"
grep -q -- "-append console=ttyS0,115200" <<<"$out" || fail "wrapper kernelmode: $out"
grep -q -- "-device virtio-rng-pci,id=rng0" <<<"$out" || fail "wrapper argsadd: $out"
CTYS=$CTYS "$T/web1.sh" --check || fail "wrapper --check"
CTYS=$CTYS expect 2 "unknown option '--frobnicate'" "$T/web1.sh" --frobnicate
no_leftovers
