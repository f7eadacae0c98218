#!/bin/bash
# smoke
# Two CREATEs of one VM at the same moment: exactly one starts it, the other exits 4.
. "$(dirname "$0")/../lib.sh"

def=$(make_vm twin)
for round in 1 2 3; do
	"$CTYS" -a CREATE=p:$def 2>"$T/e1" & p1=$!
	"$CTYS" -a CREATE=p:$def 2>"$T/e2" & p2=$!
	wait $p1; r1=$?
	wait $p2; r2=$?
	if ! { [ $r1 = 0 ] && [ $r2 = 4 ]; } && ! { [ $r1 = 4 ] && [ $r2 = 0 ]; }; then
		fail "round $round: exit statuses $r1 and $r2 (want 0 and 4): $(cat "$T/e1" "$T/e2")"
	fi
	grep -q "'twin' is already running" "$T/e1" "$T/e2" || fail "no 'already running' message"
	n=$(pgrep -fc "ctys.test=$T")
	[ "$n" = 1 ] || fail "round $round: $n QEMUs running"
	expect 0 "" "$CTYS" -a CANCEL=l:twin,FORCE
	no_leftovers
done
ok "3 rounds"
