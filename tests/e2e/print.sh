#!/bin/bash
# smoke
# PRINT shows the QEMU command line and starts nothing.
. "$(dirname "$0")/../lib.sh"

def=$(make_vm "show me" "" "MAC0=52:54:00:aa:bb:cc" "SMP=2")
out=$("$CTYS" -a "CREATE=p:$def,PRINT") || fail "PRINT failed"
grep -q -- "-name 'guest=show me,debug-threads=on'" <<<"$out" || fail "label: $out"
grep -q -- "-smp 2 " <<<"$out" || fail "smp: $out"
grep -q -- "-machine [a-z0-9.-]*,accel=tcg" <<<"$out" || fail "this host must use TCG: $out"
grep -q -- "virtio-net-pci,netdev=net0,mac=52:54:00:aa:bb:cc" <<<"$out" || fail "nic: $out"
[ -z "$(ls -A "$T/run")" ] || fail "PRINT created a runtime directory"
expect 0 "accelerator: TCG, because" "$CTYS" -d 1 -a "CREATE=p:$def,PRINT"
out=$("$CTYS" --version) && grep -qE '^ctys [0-9]+\.[0-9]+\.[0-9]+$' <<<"$out" || fail "--version: $out"
"$CTYS" -a CREATE -h | grep -q "PRINT" || fail "CREATE -h lists no PRINT"
"$CTYS" -h | grep -q "ISACTIVE" || fail "-h lists no ISACTIVE"
no_leftovers
