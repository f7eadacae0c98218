#!/bin/bash
# CANCEL modes that keep the VM (PAUSE, RESET, REBOOT) and CREATE RESUME/REUSE, against
# the real guest: its console and the supervisor's events say what really happened.
. "$(dirname "$0")/../lib.sh"

state() { $SOCKIO ctl "$(vmdir "$1")/ctl.sock" '{"v":1,"id":1,"cmd":"status"}' |
	sed -n 's/.*"state":"\([a-z-]*\)".*/\1/p'; }
ready_count() { grep -c CTYS-GUEST-READY "$(vmdir "$1")/console.log"; }
wait_ready_count() {	# LABEL N SECONDS: the guest has come up N times
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(ready_count "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "'$1' did not come up $2 times within $3 s (console: $(tail -c 300 "$(vmdir "$1")/console.log"))"
	return 1
}
wait_event() {	# LABEL REGEX SECONDS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -qE "$2" "$(vmdir "$1")/events.jsonl" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no event /$2/ for '$1' within $3 s: $(tail -n 5 "$(vmdir "$1")/events.jsonl")"
	return 1
}

def=$(make_vm modes)
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console modes CTYS-GUEST-READY 60 || exit 1
d=$(vmdir modes)

# PAUSE stops the CPUs: the guest does not answer; CREATE RESUME continues it
expect 0 "" "$CTYS" -a CANCEL=l:modes,PAUSE
[ "$(state modes)" = paused ] || fail "after PAUSE: $(state modes)"
$SOCKIO type "$d/console.sock" 'echo paused-$((40+2))\n' paused-42 2 >/dev/null &&
	fail "a paused guest answered"
expect 0 "" "$CTYS" -a CREATE=l:modes,RESUME
[ "$(state modes)" = running ] || fail "after RESUME: $(state modes)"
for ((i = 0; i < 200; i++)); do grep -q paused-42 "$d/console.log" && break; sleep 0.1; done
grep -q paused-42 "$d/console.log" || fail "the guest did not go on after RESUME"
# the console clients of the test were recorded coming and going
grep -q '"event":"CTYS_CONSOLE_ATTACH","ts":[0-9.]*,"data":{"pid":[1-9][0-9]*,"writer":true}' \
	"$d/events.jsonl" || fail "no console attach event"
grep -q '"event":"CTYS_CONSOLE_DETACH"' "$d/events.jsonl" || fail "no console detach event"
# INFO of the running VM, as text and as JSON
out=$("$CTYS" -a INFO=l:modes) || fail "INFO: $out"
grep -q '^state: *running$' <<<"$out" && grep -q "^console: *$d/console.sock$" <<<"$out" &&
	grep -q '^argv: .*-name guest=modes' <<<"$out" || fail "INFO: $out"
"$CTYS" -a INFO=l:modes,JSON | python3 -c 'import json,sys; o=json.load(sys.stdin); assert o["state"]=="running" and o["argv"][0].endswith("qemu-system-x86_64"), o' ||
	fail "INFO JSON"
# REUSE: an already running VM is fine; without it, exit 4
expect 0 "" "$CTYS" -a CREATE=l:modes,REUSE
expect 4 "" "$CTYS" -a CREATE=p:$def

# RESET: a hard reset, the guest boots again
expect 0 "" "$CTYS" -a CANCEL=l:modes,RESET
wait_ready_count modes 2 60 || exit 1
grep -q '"event":"RESET"' "$d/events.jsonl" || fail "no RESET event"

# REBOOT: the power button; the guest goes down by itself, is reset and continues
expect 0 "" "$CTYS" -a CANCEL=l:modes,REBOOT
wait_ready_count modes 3 60 || exit 1
grep -q '"event":"CTYS_REBOOTED","ts":[0-9.]*,"data":{"how":"acpi"}' "$d/events.jsonl" ||
	fail "REBOOT not by ACPI: $(grep REBOOT "$d/events.jsonl")"
[ "$(state modes)" = running ] || fail "after REBOOT: $(state modes)"
expect 2 "exclude each other" "$CTYS" -a CANCEL=l:modes,PAUSE,RESET
expect 0 "" "$CTYS" -a CANCEL=l:modes,FORCE
no_leftovers

# REBOOT of a guest that ignores the button: reset after TIMEOUT
def=$(make_vm deaf ctys.noacpid)
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console deaf CTYS-GUEST-READY 60 || exit 1
expect 0 "" "$CTYS" -a CANCEL=l:deaf,REBOOT:2
wait_ready_count deaf 2 60 || exit 1
grep -q '"event":"CTYS_REBOOTED","ts":[0-9.]*,"data":{"how":"reset"}' "$(vmdir deaf)/events.jsonl" ||
	fail "REBOOT after timeout not by reset"
expect 0 "" "$CTYS" -a CANCEL=l:deaf,FORCE
no_leftovers
