#!/bin/bash
# smoke
# The QEMU capability probe against the real binary: what it finds, the cache (reused
# while the binary is unchanged, re-probed when it changes or the cache is corrupt), and
# a binary that is not a working QEMU.
. "$(dirname "$0")/../lib.sh"

QEMU=/usr/bin/qemu-system-x86_64
caps=$XDG_CACHE_HOME/ctys/qemu-caps
def=$(make_vm probe)

# first use probes and caches; what it found is real
out=$("$CTYS" -d 2 -a "CREATE=p:$def,PRINT" 2>&1) || fail "CREATE PRINT: $out"
grep -q "probe: asking $QEMU what it can do" <<<"$out" || fail "no probe on first use: $out"
f=$(ls "$caps"/*.json 2>/dev/null | head -n1)
[ -n "$f" ] || fail "no cache file in $caps"
[ "$(stat -c %a "$caps")" = 700 ] || fail "cache directory is not 0700"
ver=$($QEMU --version | sed -n 's/^QEMU emulator version \([0-9.]*\).*/\1/p')
grep -q "\"version\":\"$ver\"" "$f" || fail "cached version is not $ver: $(head -c 300 "$f")"
for t in '"name":"pc-q35-7.2"' '"virtio-net-pci"' '"query-status"' '"user"'; do
	grep -qF "$t" "$f" || fail "cache lacks $t"
done
out=$("$CTYS_BUILD/tests/probe_tool" "$QEMU" "$XDG_CACHE_HOME/ctys" 2>&1) || fail "probe_tool: $out"
grep -q "^default-machine pc-i440fx-" <<<"$out" || fail "default machine: $out"

# second use: from the cache, file untouched
m1=$(stat -c %Y.%y "$f")
out=$("$CTYS" -d 2 -a "CREATE=p:$def,PRINT" 2>&1) || fail "CREATE PRINT (cached): $out"
grep -q "probe: $QEMU: cached in" <<<"$out" || fail "cache not used: $out"
grep -q "probe: asking" <<<"$out" && fail "probed again although unchanged"
[ "$(stat -c %Y.%y "$f")" = "$m1" ] || fail "cache file rewritten"

# a corrupt cache file is ignored (with a reason) and replaced
echo '{"format":1,"key":' >"$f"
out=$("$CTYS" -d 1 -a "CREATE=p:$def,PRINT" 2>&1) || fail "CREATE PRINT (corrupt cache): exit $?: $out"
grep -q "ignoring the cache" <<<"$out" || fail "corrupt cache not reported: $out"
grep -q '"version"' "$f" || fail "corrupt cache not replaced"

# a changed binary is probed again: a copy of QEMU, then touched
mkdir -p "$T/bin"
cp "$QEMU" "$T/bin/qemu-system-x86_64"
# a copied QEMU looks for its modules beside itself; point it at the real ones
export QEMU_MODULE_DIR=/usr/lib/x86_64-linux-gnu/qemu
def2=$(make_vm probe2 "" "STARTERCALL=$T/bin/qemu-system-x86_64")
out=$("$CTYS" -d 2 -a "CREATE=p:$def2,PRINT" 2>&1) || fail "copy: $out"
grep -q "probe: asking $T/bin/qemu-system-x86_64" <<<"$out" || fail "copy not probed: $out"
[ "$(ls "$caps" | wc -l)" = 2 ] || fail "expected one cache file per binary: $(ls "$caps")"
touch -d '2001-01-01' "$T/bin/qemu-system-x86_64"
out=$("$CTYS" -d 2 -a "CREATE=p:$def2,PRINT" 2>&1) || fail "touched copy: $out"
grep -q "ignoring the cache .*mtime" <<<"$out" || fail "changed binary not re-probed: $out"

# not a working QEMU: a clear error naming the binary, exit 5, nothing left behind.
# (A fake stands in here: the real QEMU cannot be made to fail its QMP handshake.)
printf '#!/bin/sh\necho "qemu: something is broken" >&2\nexit 1\n' >"$T/bin/qemu-broken"
chmod +x "$T/bin/qemu-broken"
def3=$(make_vm probe3 "" "STARTERCALL=$T/bin/qemu-broken")
expect 5 "$T/bin/qemu-broken" "$CTYS" -a "CREATE=p:$def3"
no_leftovers
