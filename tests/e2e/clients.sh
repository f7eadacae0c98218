#!/bin/bash
# Several clients on one control socket: ISACTIVE in a loop while a CANCEL is under way,
# and an event subscriber, all get their answers.
. "$(dirname "$0")/../lib.sh"

def=$(make_vm busy ctys.noacpid)
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console busy CTYS-GUEST-READY 60 || exit 1
d=$(vmdir busy)
$SOCKIO events "$d/ctl.sock" 2 30 >"$T/events" &
evpid=$!
for i in $(seq 1 100); do grep -q subscribed "$T/events" 2>/dev/null && break; sleep 0.1; done
"$CTYS" -a CANCEL=l:busy,TIMEOUT:3 & cpid=$!
answers=0
for i in $(seq 1 15); do
	out=$("$CTYS" -a ISACTIVE=l:busy 2>&1); rc=$?
	kill -0 $cpid 2>/dev/null || break
	[ "$out" = 1 ] && [ $rc = 0 ] || fail "ISACTIVE during CANCEL: '$out' rc $rc"
	answers=$((answers + 1))
	sleep 0.1
done
wait $cpid || fail "CANCEL failed"
[ $answers -ge 5 ] || fail "only $answers ISACTIVE answers during CANCEL"
ok "$answers ISACTIVE answers while CANCEL waited"
wait $evpid || fail "event subscriber"
grep -q '"event":"POWERDOWN"' "$T/events" || fail "subscriber saw no POWERDOWN: $(cat "$T/events")"
grep -q '"event":"SHUTDOWN"' "$T/events" || fail "subscriber saw no SHUTDOWN"
no_leftovers
