#!/bin/bash
# The guest agent (qemu-ga in the tiny guest's agent initrd) through the supervisor: LIST
# shows the guest's addresses from the agent (else the definition's #@#IP), INFO its OS
# and hostname, CANCEL POWEROFF goes through guest-shutdown (else ACPI), GUESTAGENT=off
# leaves the port out; a misbehaving agent (the real guest answering garbage, one huge
# line, or nothing: ctys.fakeagent=) cannot stall LIST, INFO or the supervisor.
. "$(dirname "$0")/../lib.sh"

agent_vm() {	# NAME MAC-SUFFIX INITRD [EXTRA-APPEND] [definition lines...]
	local name=$1 mac=$2 initrd=$3 append=${4:-}
	shift 4 2>/dev/null || shift $#
	make_vm "$name" "$append" "#@#MAC0 = \"52:54:00:c7:00:$mac\"" '#@#IP0 = "10.9.9.9"' \
	    "INITRDIMAGE=$CTYS_GUEST/$initrd" "$@"
}
status() {	# LABEL: its status.json
	cat "$(vmdir "$1")/status.json"
}
wait_agent() {	# LABEL SECONDS: the agent's addresses are in the status
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		status "$1" 2>/dev/null | grep -q '"ips":\[ *"10.0.2.15' && return 0
		sleep 0.1
	done
	return 1
}

ga=$(agent_vm ga 01 initrd-agent.gz)
noga=$(agent_vm noga 02 initrd.gz)
off=$(agent_vm off 03 initrd-agent.gz "" GUESTAGENT=off)
expect 0 "" "$CTYS" -a CREATE=p:$ga
expect 0 "" "$CTYS" -a CREATE=p:$noga
expect 0 "" "$CTYS" -a CREATE=p:$off

# the agent's addresses (DHCP on user networking) in LIST; the definition's without it
wait_agent ga 90 || fail "no addresses from the agent: $(status ga)"
out=$("$CTYS" -a LIST=TERSE,LABEL,TCP,IPFROM,IFNAME,SORT:label,NOFOREIGN)
grep -qx 'ga;10.0.2.15[^;]*;agent;eth0' <<<"$out" || fail "LIST ga: $out"
grep -qx 'noga;10.9.9.9;definition;' <<<"$out" || fail "LIST noga: $out"
grep -qx 'off;10.9.9.9;definition;' <<<"$out" || fail "LIST off: $out"
out=$("$CTYS" -a INFO=l:ga)
grep -q '^agent: *connected, qemu-ga ' <<<"$out" && grep -q '^hostname: *ctys-guest' <<<"$out" &&
	grep -q '^guest os: *ctys test guest.*(kernel ' <<<"$out" &&
	grep -q '^addresses: *eth0 10.0.2.15/24' <<<"$out" || fail "INFO ga: $out"
out=$("$CTYS" -a INFO=l:noga)
grep -q '^agent: *not connected' <<<"$out" &&
	grep -q '^addresses: *10.9.9.9 (the definition' <<<"$out" || fail "INFO noga: $out"
[ -S "$(vmdir ga)/qga.sock" ] && [ ! -e "$(vmdir off)/qga.sock" ] || fail "qga.sock"
grep -q 'org.qemu.guest_agent.0' "$(vmdir off)/argv" && fail "GUESTAGENT=off has the port"
# a request to an agent that is not there: said at once, not after a timeout
start=$(date +%s%N)
out=$(python3 "$CTYS_SRC/tests/tools/sockio.py" ctl "$(vmdir noga)/ctl.sock" \
    '{"v":1,"id":1,"cmd":"agent","execute":"guest-ping","timeout":20000}' 25)
[ $((($(date +%s%N) - start) / 1000000)) -lt 3000 ] && grep -q '"status":4' <<<"$out" &&
	grep -q 'not connected' <<<"$out" || fail "agent request without an agent: $out"
out=$(python3 "$CTYS_SRC/tests/tools/sockio.py" ctl "$(vmdir off)/ctl.sock" \
    '{"v":1,"id":1,"cmd":"agent","execute":"guest-ping"}' 10)
grep -q 'no guest agent port (GUESTAGENT=off)' <<<"$out" || fail "GUESTAGENT=off request: $out"

# POWEROFF: guest-shutdown with the agent, the power button without
expect 0 "" "$CTYS" -a CANCEL=l:ga,POWEROFF:20
expect 0 "" "$CTYS" -a CANCEL=l:noga,POWEROFF:20
expect 0 "" "$CTYS" -a CANCEL=l:off,POWEROFF:20
for l in ga noga off; do
	f=$(grep -l "\"label\":\"$l\"" "$T"/state/ctys/exits/*.json | head -n1)
	via=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cancel"]["via"])' "$f")
	want=acpi
	[ $l = ga ] && want=guest-agent
	[ "$via" = $want ] || fail "$l: powered off via '$via', not $want"
done
no_leftovers

# a misbehaving agent: the guest answers garbage, one huge line, or nothing; LIST and
# INFO stay quick, requests end by their timeout, the supervisor answers throughout
for mode in garbage huge silent; do
	def=$(agent_vm "fake-$mode" 1${#mode} initrd-agent.gz "ctys.fakeagent=$mode")
	expect 0 "" "$CTYS" -a CREATE=p:$def
done
for mode in garbage huge silent; do
	wait_console "fake-$mode" CTYS-GUEST-READY 90 || fail "fake-$mode did not boot"
done
sleep 2
for mode in garbage huge silent; do
	d=$(vmdir "fake-$mode")
	start=$(date +%s%N)
	out=$(python3 "$CTYS_SRC/tests/tools/sockio.py" ctl "$d/ctl.sock" \
	    '{"v":1,"id":1,"cmd":"agent","execute":"guest-info","timeout":3000}' 20)
	ms=$((($(date +%s%N) - start) / 1000000))
	grep -q '"ok":false' <<<"$out" && [ $ms -lt 15000 ] ||
		fail "fake-$mode: an agent request: $out ($ms ms)"
	start=$(date +%s%N)
	out=$(python3 "$CTYS_SRC/tests/tools/sockio.py" ctl "$d/ctl.sock" '{"v":1,"id":2,"cmd":"status"}' 5)
	ms=$((($(date +%s%N) - start) / 1000000))
	grep -q '"state":"running"' <<<"$out" && [ $ms -lt 5000 ] ||
		fail "fake-$mode: the supervisor did not answer at once: $out ($ms ms)"
	grep -q '"connected":false' <<<"$out" || fail "fake-$mode: an agent in step? $out"
done
start=$(date +%s%N)
out=$("$CTYS" -a LIST=TERSE,LABEL,STATE,IPFROM,NOFOREIGN)
ms=$((($(date +%s%N) - start) / 1000000))
[ "$(grep -c ';running;definition' <<<"$out")" = 3 ] && [ $ms -lt 3000 ] ||
	fail "LIST with misbehaving agents: $out ($ms ms)"
expect 0 "" "$CTYS" -a CANCEL=ALL,POWEROFF:5
no_leftovers
