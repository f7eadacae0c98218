#!/bin/bash
# The supervisor is SIGKILLed: QEMU keeps running; ISACTIVE and CANCEL still work because the
# next command starts a new supervisor that adopts the QEMU. A ghost directory is cleaned.
. "$(dirname "$0")/../lib.sh"

def=$(make_vm orphan)
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console orphan CTYS-GUEST-READY 60 || exit 1
d=$(vmdir orphan)
spid=$(cat "$d/supervisor.pid")
qpid=$(cut -d' ' -f1 "$d/qemu.pid")
kill -9 "$spid"
sleep 0.3
alive "$qpid" || fail "QEMU died with its supervisor"
out=$("$CTYS" -a ISACTIVE=l:orphan); rc=$?
[ "$out" = 1 ] && [ $rc = 0 ] || fail "ISACTIVE after supervisor death: '$out' rc $rc"
nspid=$(cat "$d/supervisor.pid")
[ "$nspid" != "$spid" ] && kill -0 "$nspid" || fail "no new supervisor"
grep -q CTYS_ADOPTED "$d/events.jsonl" || fail "no adoption event"
# the adopted console still works
$SOCKIO type "$d/console.sock" 'echo adopted-$((40+2))\n' adopted-42 20 >/dev/null ||
	fail "console after adoption"
expect 4 "'orphan' is already running" "$CTYS" -a CREATE=p:$def
expect 0 "" "$CTYS" -a CANCEL=l:orphan
alive "$qpid" && fail "QEMU still runs"
no_leftovers

# both dead: a ghost directory is reported and removed by the next command
expect 0 "" "$CTYS" -a CREATE=p:$def
d=$(vmdir orphan)
qpid=$(cut -d' ' -f1 "$d/qemu.pid")
kill -9 "$(cat "$d/supervisor.pid")" "$qpid"
sleep 0.3
expect 1 "removing the stale runtime directory" "$CTYS" -a ISACTIVE=l:orphan
no_leftovers
expect 0 "" "$CTYS" -a CREATE=p:$def
expect 0 "" "$CTYS" -a CANCEL=ALL,FORCE
no_leftovers
