#!/bin/bash
# CANCEL SUSPEND saves the whole VM (RAM included) and stops QEMU; CREATE RESUME restores
# it with the saved command line; a disk changed meanwhile blocks the restore unless FORCE;
# CREATE FORCE discards the saved state.
. "$(dirname "$0")/../lib.sh"

def=$(make_vm sleeper "" "HDA=data.img")
truncate -s 8M "$(dirname "$def")/data.img"
saves=$T/state/ctys/saves
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console sleeper CTYS-GUEST-READY 60 || exit 1
# a value in the guest's RAM (its root is a RAM-backed file system)
$SOCKIO type "$(vmdir sleeper)/console.sock" 'echo kept-$((6*7)) >/run/mark; echo w$((1+1))k\n' w2k 20 >/dev/null ||
	fail "could not write into the guest"

expect 0 "" "$CTYS" -a CANCEL=l:sleeper,SUSPEND
no_leftovers
grep -q '"how":"suspended"' <<<"$(exit_record)" || fail "exit record: $(exit_record)"
[ -f "$saves"/*/state.img ] && [ -f "$saves"/*/argv ] && [ -f "$saves"/*/meta.json ] ||
	fail "saved state incomplete: $(ls -la "$saves"/*)"
[ "$(stat -c %a "$saves"/*)" = 700 ] || fail "save directory is not 0700"
expect 1 "" "$CTYS" -a ISACTIVE=l:sleeper
out=$("$CTYS" -a INFO=p:$def) || fail "INFO of a suspended VM: $out"
grep -q '^state: *suspended$' <<<"$out" && grep -q '^saved state: *.*/state.img$' <<<"$out" ||
	fail "INFO of a suspended VM: $out"
expect 4 "'sleeper' is suspended" "$CTYS" -a CREATE=p:$def

# restore: the RAM value is there, the saved state is gone
expect 0 "" "$CTYS" -a CREATE=p:$def,RESUME
out=$($SOCKIO type "$(vmdir sleeper)/console.sock" 'cat /run/mark\n' kept-42 20) ||
	fail "the guest's RAM was not restored: $out"
[ -z "$(ls -A "$saves" 2>/dev/null)" ] || fail "saved state left after the restore: $(ls "$saves")"
grep -q '"event":"CTYS_RESTORED"' "$(vmdir sleeper)/events.jsonl" || fail "no CTYS_RESTORED event"

# a disk changed after the suspend: refused, unless FORCE
expect 0 "" "$CTYS" -a CANCEL=l:sleeper,S4
touch "$(dirname "$def")/data.img"
expect 4 "data.img' was modified since the suspend (FORCE restores anyway)" \
	"$CTYS" -a CREATE=p:$def,RESUME
no_leftovers
expect 0 "" "$CTYS" -a CREATE=p:$def,RESUME,FORCE
$SOCKIO type "$(vmdir sleeper)/console.sock" 'cat /run/mark\n' kept-42 20 >/dev/null ||
	fail "FORCE restore lost the RAM"

# FORCE without RESUME: the saved state is discarded, the guest boots afresh
expect 0 "" "$CTYS" -a CANCEL=l:sleeper,SUSPEND
expect 0 "discarding the saved state" "$CTYS" -a CREATE=p:$def,FORCE
[ -z "$(ls -A "$saves" 2>/dev/null)" ] || fail "FORCE left the saved state"
wait_console sleeper CTYS-GUEST-READY 60 || exit 1
out=$($SOCKIO type "$(vmdir sleeper)/console.sock" 'cat /run/mark || echo no-mark\n' no-mark 20) ||
	fail "a fresh boot still has the old RAM: $out"
expect 0 "" "$CTYS" -a CANCEL=l:sleeper,FORCE
no_leftovers
