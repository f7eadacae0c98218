#!/bin/bash
# LIST and SHOW against real VMs in every state, a QEMU started by hand (foreign), a
# supervisor that is frozen, and a ghost; every output form checked field by field.
. "$(dirname "$0")/../lib.sh"

list() { "$CTYS" -a "LIST${1:+=$1}"; }
field() {	# JSON-LABEL FIELD: one field of one VM from LIST=JSON,INACTIVE
	list "${LISTOPTS:-JSON,INACTIVE,NOFOREIGN}" | python3 -c '
import json, sys
for vm in json.load(sys.stdin):
    if vm["label"] == sys.argv[1]:
        v = vm[sys.argv[2]]
        print("" if v is None else v)
        break
else:
    print("<missing>")' "$1" "$2"
}

a=$(make_vm "web;1 a")
b=$(make_vm paused1)
c=$(make_vm sleeper)
e=$(make_vm gone)
for d in "$a" "$b" "$c" "$e"; do expect 0 "" "$CTYS" -a "CREATE=p:$d"; done
wait_console sleeper CTYS-GUEST-READY 60 || exit 1
expect 0 "" "$CTYS" -a CANCEL=l:paused1,PAUSE
expect 0 "" "$CTYS" -a CANCEL=l:sleeper,SUSPEND
expect 0 "" "$CTYS" -a CANCEL=l:gone,FORCE

# states, from files alone
[ "$(field "web;1 a" state)" = running ] || fail "running: $(field "web;1 a" state)"
[ "$(field paused1 state)" = paused ] || fail "paused: $(field paused1 state)"
[ "$(field sleeper state)" = suspended ] || fail "suspended: $(field sleeper state)"
[ "$(field gone state)" = stopped ] && [ "$(field gone last_exit)" = cancel-quit ] ||
	fail "stopped: $(field gone state) $(field gone last_exit)"
[ "$(field paused1 managed)" = ctys ] || fail "managed: $(field paused1 managed)"
pid=$(field "web;1 a" pid)
[ -n "$pid" ] && kill -0 "$pid" || fail "pid: '$pid'"
list INACTIVE | grep -q '^Label ' || fail "no table header"
# (NOFOREIGN: tests running beside this one have QEMUs of their own)
list NOFOREIGN | grep -q sleeper && fail "a suspended VM listed without INACTIVE"

# MACHINE: the original's 22 fields, `;` inside a value escaped
out=$(list MACHINE,NOFOREIGN)
echo "$out" >"$T/machine.txt"
python3 - "$T/machine.txt" <<'PY' || fail "MACHINE: $out"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 2, lines
for l in lines:
    f = re.split(r'(?<!\\);', l)
    assert len(f) == 22, (len(f), l)
web = [l for l in lines if 'web\\;1 a' in l]
assert web, lines
f = re.split(r'(?<!\\);', web[0])
assert f[1] == 'QEMU-x86_64' and f[2] == 'web\\;1 a' and f[20] == 'tcg', f
PY
# TERSE with field switches in the given order; TAB_GEN widths; SORT
out=$(list TERSE,PID,LABEL,SORT:label,NOFOREIGN)
grep -q "^$pid;web\\\\;1 a$" <<<"$out" || fail "TERSE,PID,LABEL: $out"
out=$(list "TAB_GEN:label_6%state_8,NOFOREIGN")
grep -q '^Label   State   $' <<<"$out" || grep -q '^Label   State' <<<"$out" || fail "TAB_GEN header: $out"
grep -q '^web;1~  running' <<<"$out" || fail "TAB_GEN cut to width: $out"
expect 2 "TAB_GEN" "$CTYS" -a "LIST=TAB_GEN:labl_6"

# a QEMU started by hand is listed as foreign, with what its command line says
qemu-system-x86_64 -name guest=handmade -machine accel=tcg -m 64 -nodefaults -display none \
	-S -qmp "unix:$T/hand.qmp,server=on,wait=off" -daemonize -pidfile "$T/hand.pid" \
	-device "virtio-net-pci,mac=52:54:00:77:66:55" -netdev user,id=n0 2>/dev/null ||
	qemu-system-x86_64 -name guest=handmade -machine accel=tcg -m 64 -nodefaults -display none \
	-S -qmp "unix:$T/hand.qmp,server=on,wait=off" -daemonize -pidfile "$T/hand.pid"
[ "$(LISTOPTS=JSON field handmade managed)" = foreign ] || fail "foreign: $(list JSON)"
[ "$(LISTOPTS=JSON field handmade pid)" = "$(cat "$T/hand.pid")" ] || fail "foreign pid"
[ "$(LISTOPTS=JSON field handmade context)" = "$T/hand.qmp" ] || fail "foreign QMP socket: $(field handmade context)"
list NOFOREIGN | grep -q handmade && fail "NOFOREIGN listed a foreign QEMU"
# ... and taken over on first contact: ISACTIVE by pid adopts it, then it is ctys's
hpid=$(cat "$T/hand.pid")
expect 0 "adopting QEMU pid $hpid" "$CTYS" -a ISACTIVE=PID:$hpid
[ "$(field handmade managed)" = ctys ] || fail "adopted: $(field handmade managed)"
"$CTYS" -a INFO=l:handmade | grep -q "^qemu pid: *$hpid " || fail "INFO of the adopted QEMU"
expect 0 "" "$CTYS" -a CANCEL=l:handmade,FORCE
# (gone, or a zombie its parent, init here, has not reaped yet)
st=$(awk '{print $3}' "/proc/$hpid/stat" 2>/dev/null)
[ -z "$st" ] || [ "$st" = Z ] || fail "the adopted QEMU still runs (state $st)"
grep -q '"label":"handmade"' "$T"/state/ctys/exits/*.json || fail "no exit record for the adopted QEMU"

# a frozen supervisor costs LIST nothing
d=$(vmdir paused1)
spid=$(cat "$d/supervisor.pid")
kill -STOP "$spid"
start=$(date +%s%N)
list >/dev/null
took=$(( ($(date +%s%N) - start) / 1000000 ))
kill -CONT "$spid"
[ "$took" -lt 1000 ] || fail "LIST took ${took} ms with a frozen supervisor"
ok "LIST with a frozen supervisor: ${took} ms"

# a ghost: QEMU and supervisor dead; LIST shows it, the next command cleans it up
d=$(vmdir "web;1 a")
kill -9 "$(cat "$d/supervisor.pid")" "$pid"
sleep 0.5
[ "$(field "web;1 a" state)" = ghost ] || fail "ghost: $(field "web;1 a" state)"
"$CTYS" -a "ISACTIVE=l:web;1 a" >/dev/null 2>"$T/err"
grep -q "removing the stale runtime directory" "$T/err" || fail "ghost not reported: $(cat "$T/err")"
[ -d "$d" ] && fail "ghost directory left"

# SHOW: this host, and why KVM is not used
out=$("$CTYS" -a SHOW)
grep -q '^accelerator: *tcg (KVM is not used: ' <<<"$out" || fail "SHOW: $out"
grep -q "^qemu: .*qemu-system-x86_64 [0-9]" <<<"$out" || grep -q "qemu-system-x86_64 [0-9]" <<<"$out" ||
	fail "SHOW binaries: $out"
"$CTYS" -a SHOW=JSON | python3 -c 'import json,sys; o=json.load(sys.stdin); assert o["accelerator"]=="tcg" and o["binaries"]' ||
	fail "SHOW JSON"

expect 0 "" "$CTYS" -a CANCEL=ALL,FORCE
"$CTYS" -a CREATE=l:sleeper,FORCE >/dev/null 2>&1
expect 0 "" "$CTYS" -a CANCEL=ALL,FORCE
no_leftovers
