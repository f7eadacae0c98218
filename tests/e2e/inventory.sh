#!/bin/bash
# ENUMERATE and ctys-vdbgen: records from definitions in both layouts, VMSTATE and NOENUM
# filters, the 47-field record with escapes, an atomic database that survives a refresh
# killed at any moment, and CREATE by label (and DR:) through the database, no base path.
. "$(dirname "$0")/../lib.sh"
VDBGEN=$CTYS_BUILD/bin/ctys-vdbgen

pool=$T/pool
mkdir -p "$pool/web/web1" "$pool/db" "$pool/tmpl"
cat >"$pool/web/web1/web1.ctys" <<DEF
#@#MAGICID-QEMU
#@#LABEL = "web;1 ü"
#@#UUID = "2b1a0c9e-6f0e-4c55-8a2c-0d3d6b2d7a01"
#@#MAC0 = 52:54:00:10:00:01
#@#IP0 = "10.0.2.15%255.255.255.0%%eth0%22%10.0.2.2,10.0.3.15"
#@#VMSTATE = ACTIVE
#@#DIST = debian
MEMSIZE=192
SMP=1
KERNELIMAGE=$CTYS_GUEST/vmlinuz
INITRDIMAGE=$CTYS_GUEST/initrd.gz
APPEND="console=ttyS0 quiet ctys.test=$T"
DEF
printf '#@#MAGICID-QEMU\n#@#LABEL = "db"\n#@#VMSTATE = BACKUP\nMEMSIZE=128\n' >"$pool/db/db.conf"
printf '#!/bin/sh\necho wrapper\n' >"$pool/db/db.ctys"
printf '#@#MAGICID-QEMU\n#@#MAGICID-NOENUM\nLABEL=hidden\n' >"$pool/tmpl/hidden.ctys"

# ENUMERATE: the default VMSTATE filter (ACTIVE, DISABLED, empty), one record per IP
out=$("$CTYS" -a "ENUMERATE=B:$pool,TERSE,LABEL,TCP,VMSTATE")
[ "$(echo "$out" | sort)" = "$(printf 'web\\;1 ü;10.0.2.15;ACTIVE\nweb\\;1 ü;10.0.3.15;ACTIVE')" ] ||
	fail "ENUMERATE default: $out"
out=$("$CTYS" -a "ENUMERATE=B:$pool,MATCHVSTAT:ALL,TERSE,LABEL,SORT:label")
[ "$out" = "$(printf 'db\nweb\\;1 ü\nweb\\;1 ü')" ] || fail "MATCHVSTAT:ALL (db via its .conf, NOENUM out): $out"
out=$("$CTYS" -a "ENUMERATE=B:$pool,MACHINE")
python3 - "$out" <<'PY' || fail "MACHINE: $out"
import re, sys
for l in sys.argv[1].splitlines():
    f = re.split(r'(?<!\\);', l)
    assert len(f) == 47, (len(f), l)
    assert f[2] == 'web\\;1 ü' and f[5] == '52:54:00:10:00:01' and f[39] == '192', f
    assert f[29] in ('QEMU', 'KVM') and f[30].endswith('qemu-system-x86_64'), f
PY
"$CTYS" -a "ENUMERATE=B:$pool,JSON" | python3 -c 'import json,sys; v=json.load(sys.stdin); assert v[0]["label"]=="web;1 ü", v' ||
	fail "ENUMERATE JSON"
expect 2 "MATCHVSTAT: not a VM state: 'SLEEPY'" "$CTYS" -a "ENUMERATE=B:$pool,MATCHVSTAT:SLEEPY"

# ctys-vdbgen: the database; --append never duplicates
expect 0 "" "$VDBGEN" "B:$pool"
db=$HOME/.ctys/db/default/enum.fdb
[ "$(wc -l <"$db")" = 3 ] || fail "database: $(cat "$db")"
expect 0 "" "$VDBGEN" --append "B:$pool"
[ "$(wc -l <"$db")" = 3 ] || fail "--append duplicated: $(cat "$db")"
expect 2 "'bad;host': not a host name" "$VDBGEN" "B:$pool" 'bad;host'

# a refresh killed at any moment leaves the previous database intact
good=$(md5sum <"$db")
for i in $(seq 1 15); do
	"$VDBGEN" "B:$pool" >/dev/null 2>&1 &
	p=$!
	sleep "0.0$((RANDOM % 10))"
	kill -9 $p 2>/dev/null
	wait $p 2>/dev/null
	[ "$(md5sum <"$db")" = "$good" ] || fail "database changed by a killed refresh (round $i)"
done
# two refreshes at once: a whole database at the end
"$VDBGEN" "B:$pool" >/dev/null & "$VDBGEN" "B:$pool" >/dev/null; wait
[ "$(md5sum <"$db")" = "$good" ] || fail "concurrent refreshes: $(cat "$db")"
"$VDBGEN" "B:$pool" >/dev/null
[ -z "$(ls "$(dirname "$db")" | grep tmp)" ] || fail "temporary files left: $(ls "$(dirname "$db")")"

# CREATE by label through the database: no base path given or configured
echo 'base_paths = {"/nonexistent"}' >"$HOME/.ctys/ctys.conf"
expect 0 "" "$CTYS" -a "CREATE=l:web;1 ü"
wait_console "web;1 ü" CTYS-GUEST-READY 60 || exit 1
expect 0 "" "$CTYS" -a "CANCEL=l:web;1 ü,FORCE"
# DR: the record number (sorted database: db is record 1, web the 2nd and 3rd)
out=$("$CTYS" -a "CREATE=DR:2,PRINT") || fail "CREATE DR:2: $out"
grep -q -- "-name 'guest=web;1 ü" <<<"$out" || fail "DR:2 is not web: $out"
expect 3 "DR:9: no such record" "$CTYS" -a "CREATE=DR:9,PRINT"
no_leftovers

# ctys-createConfVM: a new VM in the original's layout, found by ENUMERATE, never overwritten
NEWVM=$CTYS_BUILD/bin/ctys-createConfVM
out=$("$NEWVM" --label 'new "one"' --dir "$pool" --mem 128 --disk 32M --kernel "$CTYS_GUEST/vmlinuz") ||
	fail "createConfVM: $out"
d="$pool/new \"one\""
[ -f "$d/new \"one\".ctys" ] && [ -x "$d/new \"one\".sh" ] && [ -f "$d/new \"one\".qcow2" ] ||
	fail "createConfVM files: $(ls -la "$d")"
qemu-img info "$d/new \"one\".qcow2" | grep -q 'file format: qcow2' || fail "disk not qcow2"
out=$("$CTYS" -a "ENUMERATE=B:$pool,TERSE,LABEL,MAC,UUID,VRAM" | grep '^new')
[[ "$out" =~ ^new\ \"one\"\;0[26ae]:[0-9a-f:]{14}\;[0-9a-f-]{36}\;128$ ]] || fail "new VM record: $out"
"$CTYS" -a "CREATE=l:new \"one\",B:$pool,PRINT" | grep -q -- "-m 128" || fail "new VM argv"
CTYS=$CTYS "$d/new \"one\".sh" --print | grep -q -- "-m 128" || fail "the written wrapper"
expect 4 "never overwrites" "$NEWVM" --label 'new "one"' --dir "$pool"
expect 2 "not a label" "$NEWVM" --label -x --dir "$pool"
