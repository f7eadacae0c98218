#!/bin/bash
# smoke
# CREATE -> boot marker on the serial log -> ISACTIVE -> type into the console ->
# CANCEL POWEROFF -> the guest powers itself off -> nothing left, exit record written.
. "$(dirname "$0")/../lib.sh"

def=$(make_vm web1)
expect 0 "" "$CTYS" -t QEMU -a CREATE=p:$def,CONSOLE:NONE
wait_console web1 CTYS-GUEST-READY 60 || exit 1
ok "guest booted"
out=$("$CTYS" -a ISACTIVE=l:web1); rc=$?
[ "$out" = 1 ] && [ $rc = 0 ] || fail "ISACTIVE by label: '$out' rc $rc"
out=$("$CTYS" -a ISACTIVE=p:$def); rc=$?
[ "$out" = 1 ] && [ $rc = 0 ] || fail "ISACTIVE by path: '$out' rc $rc"
d=$(vmdir web1)
[ "$(stat -c %a "$T/run")" = 700 ] || fail "runtime root is not 0700"
[ -S "$d/ctl.sock" ] && [ -S "$d/console.sock" ] || fail "sockets missing in $d"

# the console stream: type a command, read the answer
out=$($SOCKIO type "$d/console.sock" 'echo $((6*7))\n' 42 20) || fail "console: no 42: $out"
ok "console answered 42"

# control socket: status and a QMP pass-through
st=$($SOCKIO ctl "$d/ctl.sock" '{"v":1,"id":1,"cmd":"status"}')
grep -q '"state":"running"' <<<"$st" || fail "status is not running: $st"
grep -qE '"qemu_version":"[0-9]+\.[0-9]+\.[0-9]+"' <<<"$st" || fail "no QEMU version: $st"
grep -q '"accel":"tcg"' <<<"$st" || fail "this host must run TCG: $st"
$SOCKIO ctl "$d/ctl.sock" '{"v":1,"id":2,"cmd":"qmp","execute":"query-name"}' |
	grep -q '"name":"web1"' || fail "qmp query-name"

qpid=$(cut -d' ' -f1 "$d/qemu.pid")
start=$(date +%s.%N)
expect 0 "" "$CTYS" -a CANCEL=l:web1,POWEROFF
took=$(echo "$(date +%s.%N) - $start" | bc)
ok "CANCEL POWEROFF took ${took}s"
alive "$qpid" && fail "QEMU $qpid still runs after CANCEL"
no_leftovers
rec=$(exit_record)
grep -q '"how":"cancel-poweroff"' <<<"$rec" || fail "exit record: how: $rec"
grep -q '"event":"POWERDOWN"' <<<"$rec" || fail "exit record has no POWERDOWN"
grep -q '"guest":true' <<<"$rec" || fail "exit record: no SHUTDOWN guest:true"
grep -q '"exit_status":0' <<<"$rec" || fail "exit record: exit status"
out=$("$CTYS" -a ISACTIVE=l:web1); rc=$?
[ "$out" = 0 ] && [ $rc = 1 ] || fail "ISACTIVE after CANCEL: '$out' rc $rc"
expect 4 "'L:web1' is not running" "$CTYS" -a CANCEL=l:web1

# a CANCEL right after CREATE: the booting guest misses the first power button press;
# the supervisor presses it again until the guest reacts, long before the timeout
rm -f "$T"/state/ctys/exits/*.json
expect 0 "" "$CTYS" -a CREATE=p:$def
expect 0 "" "$CTYS" -a CANCEL=l:web1,TIMEOUT:60
grep -q '"how":"cancel-poweroff"' <<<"$(exit_record)" || fail "early CANCEL: $(exit_record)"
no_leftovers
