#!/bin/bash
# smoke
# The CLI console: a real pseudo-terminal, escape to detach (the terminal restored), the
# monitor escape, replay on re-attach, one writer (FORCE takes over), CANCEL CLIENT and
# SERVER seen by an attached console, and CLI0 tied to the VM.
. "$(dirname "$0")/../lib.sh"
PTY="python3 $CTYS_SRC/tests/tools/ptyrun.py"

def=$(make_vm con)
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console con CTYS-GUEST-READY 60 || exit 1

# where clients connect: the VNC display's socket, the console stream
d=$(vmdir con)
h=$(hostname -s)
[ "$("$CTYS" -a GETCLIENTPORT=l:con)" = "CLIENTPORT(VNC,$h,con)=$d/vnc.sock" ] ||
	fail "GETCLIENTPORT: $("$CTYS" -a GETCLIENTPORT=l:con)"
[ -S "$d/vnc.sock" ] || fail "no VNC socket"
[ "$("$CTYS" -a GETCLIENTPORT=l:con,CLI)" = "CLIENTPORT(CLI,$h,con)=$d/console.sock" ] ||
	fail "GETCLIENTPORT CLI: $("$CTYS" -a GETCLIENTPORT=l:con,CLI)"
[ "$("$CTYS" -a LIST=TERSE,DISPLAY,NOFOREIGN)" = "$d/vnc.sock" ] || fail "LIST DISPLAY"

# in a terminal: type, read, ask the monitor, detach with Ctrl-] d; stty unchanged
out=$($PTY 60 sh -c "stty -g >$T/before; '$CTYS' -a CREATE=l:con,REUSE,CONSOLE:CLI; echo rc=\$?; stty -g >$T/after" <<'S'
expect guest#
send echo $((6*7))\r
expect 42
send \x1dm
expect (qemu)
send info status\n
expect VM status: running
send \x1d?
expect detach
send \x1dd
expect rc=0
S
) || fail "CLI in a terminal: $out"
grep -q '\[detached\]' <<<"$out" || fail "no detach message: $out"
cmp -s "$T/before" "$T/after" || fail "terminal settings changed: $(cat "$T/before") / $(cat "$T/after")"
"$CTYS" -a ISACTIVE=l:con >/dev/null || fail "the VM stopped after a detach"

# re-attach (pipes): the recent output is replayed first
out=$(sleep 1 | "$CTYS" -a CREATE=l:con,REUSE,CONSOLE:CLI 2>&1)
grep -q '^42' <<<"$out" || fail "no replay on re-attach: $out"

# one writer: a second interactive attach is refused, FORCE takes over and says so
"$CTYS" -a CREATE=l:con,REUSE,CONSOLE:CLI < <(sleep 30) >"$T/first.out" 2>&1 &
first=$!
sleep 1.5
expect 4 "console in use by pid" "$CTYS" -a CREATE=l:con,REUSE,CONSOLE:CLI </dev/null
out=$( (printf 'echo forced-$((2+3))\n'; sleep 1.5) | "$CTYS" -a CREATE=l:con,REUSE,CONSOLE:CLI,FORCE 2>&1)
grep -q 'forced-5' <<<"$out" || fail "FORCE attach could not type: $out"
wait $first
grep -q '\[taken over by pid [0-9]*\]' "$T/first.out" || fail "the first console was not told: $(cat "$T/first.out")"

# CANCEL CLIENT closes the consoles, the VM goes on; SERVER ends the VM and the console says so
"$CTYS" -a CREATE=l:con,REUSE,CONSOLE:CLI < <(sleep 30) >"$T/c1.out" 2>&1 &
c1=$!
sleep 1.5
expect 0 "" "$CTYS" -a CANCEL=l:con,CLIENT
wait $c1
grep -q '\[closed by CANCEL CLIENT (pid [0-9]*)\]' "$T/c1.out" || fail "CANCEL CLIENT: $(cat "$T/c1.out")"
"$CTYS" -a ISACTIVE=l:con >/dev/null || fail "CANCEL CLIENT stopped the VM"
"$CTYS" -a CREATE=l:con,REUSE,CONSOLE:CLI < <(sleep 30) >"$T/c2.out" 2>&1 &
c2=$!
sleep 1.5
expect 0 "" "$CTYS" -a CANCEL=l:con,POWEROFF
wait $c2
grep -q '\[the VM ended (cancel-poweroff)\]' "$T/c2.out" || fail "SERVER: $(cat "$T/c2.out")"
no_leftovers

# CLI0: when its console leaves, the VM ends
def=$(make_vm tied)
out=$( (sleep 10; printf 'echo tied-$((3*3))\n'; sleep 1) | "$CTYS" -a CREATE=p:$def,CONSOLE:CLI0 2>&1)
grep -q 'tied-9' <<<"$out" || fail "CLI0: $out"
for ((i = 0; i < 100; i++)); do "$CTYS" -a ISACTIVE=l:tied >/dev/null 2>&1 || break; sleep 0.1; done
"$CTYS" -a ISACTIVE=l:tied >/dev/null 2>&1 && fail "CLI0: the VM outlived its console"
grep -q '"how":"console-closed"' "$T"/state/ctys/exits/*.json || fail "CLI0 exit record: $(exit_record)"
expect 2 "ESCAPE: not an escape key" "$CTYS" -a CREATE=p:$def,CONSOLE:CLI,ESCAPE:xyz
no_leftovers
