#!/bin/bash
# Graphical consoles under a real X server (Xvfb): CONSOLE:SDL is QEMU's own window,
# CONSOLE:XTERM an xterm running the CLI attach; both windows must exist. Without a
# display, or without the program, a clear error.
. "$(dirname "$0")/../lib.sh"

for p in Xvfb xwininfo xterm; do
	command -v $p >/dev/null || { fail "$p is not installed (scripts/deps.sh)"; exit 1; }
done
# a display number of the server's own choosing (no race with another test's server)
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$T/xdisplay" >"$T/xvfb.log" 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null; cleanup' EXIT
for ((i = 0; i < 100; i++)); do [ -s "$T/xdisplay" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$T/xdisplay")"
xwininfo -root >/dev/null 2>&1 || { fail "Xvfb did not start: $(cat "$T/xvfb.log")"; exit 1; }

window() {	# NAME-PATTERN SECONDS: a top-level window whose name matches
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		xwininfo -root -tree 2>/dev/null | grep -q -- "$1" && return 0
		sleep 0.1
	done
	return 1
}

# CONSOLE:SDL: QEMU's window, titled with the guest's name
def=$(make_vm sdlvm)
if qemu-system-x86_64 -display help 2>/dev/null | grep -qx sdl; then
	SDL_VIDEODRIVER=x11 expect 0 "" "$CTYS" -a CREATE=p:$def,CONSOLE:SDL
	window '"QEMU (sdlvm' 30 || fail "no SDL window: $(xwininfo -root -tree | head -20)"
	expect 0 "" "$CTYS" -a CANCEL=l:sdlvm,FORCE
else
	fail "QEMU has no SDL display (package qemu-system-gui)"
fi

# CONSOLE:VNC: ctys-vncviewer on the VM's display, titled with the label
def=$(make_vm vncvm)
SDL_VIDEODRIVER=x11 expect 0 "" "$CTYS" -a CREATE=p:$def,CONSOLE:VNC
window '"vncvm"' 30 || fail "no viewer window: $(xwininfo -root -tree | head -20)"
expect 0 "" "$CTYS" -a CANCEL=l:vncvm,FORCE
for ((i = 0; i < 100; i++)); do window '"vncvm"' 0 || break; sleep 0.1; done
window '"vncvm"' 0 && fail "the viewer outlived the VM"

# CONSOLE:XTERM: an xterm titled with the label, attached to the console
def=$(make_vm xtvm)
expect 0 "" "$CTYS" -a CREATE=p:$def,CONSOLE:XTERM
xterm_state() {	# what to show when the xterm is not as expected
	echo "windows: $(xwininfo -root -tree | grep -c '^ *0x') top-level"
	echo "viewer.log (xterm's and its ctys's messages): $(cat "$(vmdir xtvm)/viewer.log" 2>&1)"
	ps -eo pid,ppid,stat,args | grep -E '[x]term|[c]tys -a'
}
window '"xtvm"' 30 || fail "no xterm window: $(xterm_state)"
# the xterm's ctys is the console writer
for ((i = 0; i < 100; i++)); do
	grep -q '"event":"CTYS_CONSOLE_ATTACH".*"writer":true' "$(vmdir xtvm)/events.jsonl" 2>/dev/null && break
	sleep 0.1
done
grep -q '"event":"CTYS_CONSOLE_ATTACH".*"writer":true' "$(vmdir xtvm)/events.jsonl" ||
	fail "the xterm did not attach: $(xterm_state)"
expect 0 "" "$CTYS" -a CANCEL=l:xtvm,FORCE
# the xterm ends with its console
for ((i = 0; i < 100; i++)); do window '"xtvm"' 0 || break; sleep 0.1; done
window '"xtvm"' 0 && fail "the xterm outlived the VM"

# no program: a clear error
expect 1 "CONSOLE:GTERM: gnome-terminal is not installed" env PATH=/nonexistent "$CTYS" -a CREATE=p:$def,CONSOLE:GTERM
no_leftovers
expect 0 "" "$CTYS" -a CANCEL=ALL,FORCE
no_leftovers
