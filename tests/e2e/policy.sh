#!/bin/bash
# ON_POWEROFF / ON_REBOOT / ON_CRASH: what the guest does itself, carried out by the
# supervisor; a host CANCEL always wins; an unsupervised guest that powers off does not
# linger once any ctys command re-adopts it.
. "$(dirname "$0")/../lib.sh"

ready_count() { grep -c CTYS-GUEST-READY "$(vmdir "$1")/console.log" 2>/dev/null; }
wait_ready_count() {	# LABEL N SECONDS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(ready_count "$1")" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.1
	done
	fail "'$1' did not come up $2 times within $3 s"
	return 1
}
wait_gone() {	# LABEL SECONDS
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		"$CTYS" -a ISACTIVE=l:$1 >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	fail "'$1' still runs after $2 s"
	return 1
}
guest() { $SOCKIO type "$(vmdir "$1")/console.sock" "$2\n" "$3" 20 >/dev/null; }
how() { sed -n 's/.*"how":"\([a-z-]*\)".*/\1/p' "$T"/state/ctys/exits/*.json 2>/dev/null | tail -n1; }

# the default: a guest power-off ends the VM
def=$(make_vm plain)
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console plain CTYS-GUEST-READY 60 || exit 1
guest plain 'poweroff -f' '' || true
wait_gone plain 30 && [ "$(how)" = guest-poweroff ] || fail "default power-off: $(how)"
out=$("$CTYS" -a INFO=p:$def) || fail "INFO of a stopped VM: $out"
grep -q '^state: *stopped$' <<<"$out" && grep -q '^last exit: *guest-poweroff$' <<<"$out" ||
	fail "INFO after a guest power-off: $out"
no_leftovers
rm -f "$T"/state/ctys/exits/*.json

# ON_POWEROFF=restart: the guest powers off and comes back; CANCEL still stops it
def=$(make_vm phoenix "" "ON_POWEROFF=restart")
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console phoenix CTYS-GUEST-READY 60 || exit 1
guest phoenix 'poweroff -f' '' || true
wait_ready_count phoenix 2 60 || exit 1
grep -q '"event":"CTYS_POLICY","ts":[0-9.]*,"data":{"after":"poweroff","policy":"restart"}' \
	"$(vmdir phoenix)/events.jsonl" || fail "no restart policy event"
expect 0 "" "$CTYS" -a CANCEL=l:phoenix,TIMEOUT:30
[ "$(how)" = cancel-poweroff ] || fail "CANCEL of a restart VM: $(how)"
grep -q '"restarts":1' "$T"/state/ctys/exits/*.json || fail "restarts not recorded"
no_leftovers
rm -f "$T"/state/ctys/exits/*.json

# ON_REBOOT=destroy: a guest reboot ends the VM
def=$(make_vm once "" "ON_REBOOT=destroy")
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console once CTYS-GUEST-READY 60 || exit 1
guest once 'reboot -f' '' || true
wait_gone once 30 && [ "$(how)" = guest-reboot ] || fail "ON_REBOOT=destroy: $(how)"
no_leftovers
rm -f "$T"/state/ctys/exits/*.json
def=$(make_vm badpol "" "ON_CRASH=explode")
expect 1 "badpol.ctys:7: ON_CRASH: not a policy (destroy, restart, preserve): 'explode'" \
	"$CTYS" -a CREATE=p:$def

# the supervisor is killed, then the guest powers off: the next ctys command re-adopts
# the VM and applies ON_POWEROFF (destroy), instead of leaving QEMU in "shutdown"
def=$(make_vm orphan)
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console orphan CTYS-GUEST-READY 60 || exit 1
d=$(vmdir orphan)
kill -9 "$(cat "$d/supervisor.pid")"
# QEMU's serial socket takes a new client once the supervisor's connection is gone
for ((i = 0; i < 50; i++)); do
	$SOCKIO type "$d/serial.sock" '\npoweroff -f\n' 'poweroff' 3 >/dev/null 2>&1 && break
	sleep 0.1
done
sleep 1
"$CTYS" -a ISACTIVE=l:orphan >/dev/null 2>&1
wait_gone orphan 30 && [ "$(how)" = guest-poweroff ] || fail "orphan: $(how)"
no_leftovers
rm -f "$T"/state/ctys/exits/*.json

# a kernel panic (pvpanic) with ON_CRASH=preserve stays, paused in guest-panicked
# (under TCG the panic notification takes its time: see test-machine-facts)
def=$(make_vm crash "" "ON_CRASH=preserve")
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console crash CTYS-GUEST-READY 60 || exit 1
guest crash 'echo c >/proc/sysrq-trigger' '' || true
for ((i = 0; i < 1200; i++)); do
	grep -q '"event":"GUEST_PANICKED"' "$(vmdir crash)/events.jsonl" && break
	sleep 0.1
done
st=$($SOCKIO ctl "$(vmdir crash)/ctl.sock" '{"v":1,"id":1,"cmd":"status"}')
grep -q '"state":"guest-panicked"' <<<"$st" || fail "after the panic: $st"
ok "panicked after $((i / 10)) s"
sleep 1
"$CTYS" -a ISACTIVE=l:crash >/dev/null || fail "a preserved crash was destroyed"
expect 0 "" "$CTYS" -a CANCEL=l:crash,FORCE
no_leftovers
