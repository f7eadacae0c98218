#!/bin/bash
# Graphical consoles under a real X server (Xvfb): CONSOLE:SDL is QEMU's own window,
# CONSOLE:XTERM an xterm running the CLI attach; both windows must exist. Without a
# display, or without the program, a clear error.
. "$(dirname "$0")/../lib.sh"

for p in Xvfb xwininfo xterm; do
	command -v $p >/dev/null || { fail "$p is not installed (scripts/deps.sh)"; exit 1; }
done
# a free display number
for n in $(seq 90 120); do [ -e /tmp/.X11-unix/X$n ] || [ -e /tmp/.X$n-lock ] || break; done
Xvfb ":$n" -screen 0 1024x768x24 -nolisten tcp >"$T/xvfb.log" 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null; cleanup' EXIT
export DISPLAY=":$n"
for ((i = 0; i < 100; i++)); do xwininfo -root >/dev/null 2>&1 && break; sleep 0.1; done
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
window '"xtvm"' 30 || fail "no xterm window: $(xwininfo -root -tree | head -20)"
# the xterm's ctys is the console writer
for ((i = 0; i < 100; i++)); do
	grep -q '"event":"CTYS_CONSOLE_ATTACH".*"writer":true' "$(vmdir xtvm)/events.jsonl" 2>/dev/null && break
	sleep 0.1
done
grep -q '"event":"CTYS_CONSOLE_ATTACH".*"writer":true' "$(vmdir xtvm)/events.jsonl" ||
	fail "the xterm did not attach"
expect 0 "" "$CTYS" -a CANCEL=l:xtvm,FORCE
# the xterm ends with its console
for ((i = 0; i < 100; i++)); do window '"xtvm"' 0 || break; sleep 0.1; done
window '"xtvm"' 0 && fail "the xterm outlived the VM"

# no program: a clear error
expect 1 "CONSOLE:GTERM: gnome-terminal is not installed" env PATH=/nonexistent "$CTYS" -a CREATE=p:$def,CONSOLE:GTERM
no_leftovers
expect 0 "" "$CTYS" -a CANCEL=ALL,FORCE
no_leftovers
