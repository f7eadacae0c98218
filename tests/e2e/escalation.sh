#!/bin/bash
# A guest that ignores the ACPI power button: CANCEL POWEROFF waits TIMEOUT, then quits QEMU.
# FORCE does not wait at all.
. "$(dirname "$0")/../lib.sh"

def=$(make_vm deaf ctys.noacpid)
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console deaf CTYS-GUEST-READY 60 || exit 1
start=$(date +%s.%N)
expect 0 "" "$CTYS" -a CANCEL=l:deaf,TIMEOUT:2
took=$(echo "$(date +%s.%N) - $start" | bc)
(( $(echo "$took >= 2 && $took < 8" | bc) )) || fail "escalation took ${took}s, expected 2..8"
ok "escalated after ${took}s"
grep -q '"how":"cancel-quit"' <<<"$(exit_record)" || fail "exit record: $(exit_record)"
no_leftovers

rm -f "$T"/state/ctys/exits/*.json
expect 0 "" "$CTYS" -a CREATE=p:$def
start=$(date +%s.%N)
expect 0 "" "$CTYS" -a CANCEL=p:$def,FORCE
took=$(echo "$(date +%s.%N) - $start" | bc)
(( $(echo "$took < 2" | bc) )) || fail "FORCE took ${took}s"
grep -q '"mode":"force"' <<<"$(exit_record)" || fail "exit record: $(exit_record)"
no_leftovers
expect 2 "POWEROFF and FORCE exclude each other" "$CTYS" -a CANCEL=ALL,FORCE,POWEROFF
expect 2 "not a number of seconds: 'soon'" "$CTYS" -a CANCEL=ALL,TIMEOUT:soon
