#!/bin/bash
# smoke
# ctys-vncviewer: --screenshot over the VM's UNIX socket and over VNC:TCP with the password
# (pixels compared with QMP screendump), wrong and missing passwords, bad targets; the
# window under a private Xvfb: it follows the guest's resolution, sleeps when idle, its
# keys and mouse reach QEMU (QEMU's input trace), and it ends with its VM.
. "$(dirname "$0")/../lib.sh"
: "${CTYS_BUILD:?}"
V=$CTYS_BUILD/bin/ctys-vncviewer
XPID='' VPID=''

# Xvfb and a viewer in the background are ours to stop, whatever happens
stop_bg() {
	local p
	for p in $VPID $XPID; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	VPID='' XPID=''
}
trap 'rc=$?; stop_bg; (exit $rc); cleanup' EXIT

# pngcmp A B: both decode (PNG: 8-bit RGB/RGBA; or binary PPM), same size, >= 99% of the
# pixels within 8 per channel, and the picture is not blank
cat >"$T/pngcmp.py" <<'PY'
import struct, sys, zlib

def png(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        assert zlib.crc32(typ + body) == struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0], "bad CRC"
        pos += 12 + n
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        elif typ == b"IEND":
            break
    w, h, depth, ctype, _, _, inter = hdr
    assert depth == 8 and ctype in (2, 6) and inter == 0, "unexpected PNG format %r" % (hdr,)
    bpp = 3 if ctype == 2 else 4
    raw, stride, prev, px = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        off = y * (stride + 1)
        f, line = raw[off], bytearray(raw[off + 1:off + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        px += [tuple(line[i:i + 3]) for i in range(0, stride, bpp)]
        prev = line
    return w, h, px

def ppm(data):
    parts, pos = [], 2
    while len(parts) < 3:
        while data[pos:pos + 1].isspace(): pos += 1
        end = pos
        while not data[end:end + 1].isspace(): end += 1
        parts.append(int(data[pos:end])); pos = end
    w, h, _ = parts
    body = data[pos + 1:]
    return w, h, [tuple(body[i:i + 3]) for i in range(0, w * h * 3, 3)]

def load(path):
    data = open(path, "rb").read()
    return ppm(data) if data[:2] == b"P6" else png(data)

(w1, h1, a), (w2, h2, b) = load(sys.argv[1]), load(sys.argv[2])
if (w1, h1) != (w2, h2):
    sys.exit("size %dx%d != %dx%d" % (w1, h1, w2, h2))
same = sum(1 for p, q in zip(a, b) if max(abs(x - y) for x, y in zip(p, q)) <= 8)
lit = sum(1 for p in a if max(p) > 64)
print("%dx%d, %.2f%% of the pixels equal, %d lit" % (w1, h1, 100.0 * same / len(a), lit))
sys.exit(0 if same >= 0.99 * len(a) and lit > 100 else 1)
PY
pngcmp() { python3 "$T/pngcmp.py" "$@"; }

# xinput WINDOW X Y EVENT...: the X server's XTEST extension types into a window (keysym
# names, buttonN, move), as a user would
cat >"$T/xinput.py" <<'PY'
import ctypes, sys, time
x11, xt = ctypes.CDLL("libX11.so.6"), ctypes.CDLL("libXtst.so.6")
P, U, I, UL = ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong
x11.XOpenDisplay.restype, x11.XOpenDisplay.argtypes = P, [ctypes.c_char_p]
x11.XStringToKeysym.restype, x11.XStringToKeysym.argtypes = UL, [ctypes.c_char_p]
x11.XKeysymToKeycode.argtypes = [P, UL]
x11.XSetInputFocus.argtypes = [P, UL, I, UL]
x11.XSync.argtypes, x11.XCloseDisplay.argtypes = [P, I], [P]
xt.XTestFakeKeyEvent.argtypes = xt.XTestFakeButtonEvent.argtypes = [P, U, I, UL]
xt.XTestFakeMotionEvent.argtypes = [P, I, I, I, UL]
d = x11.XOpenDisplay(None) or sys.exit("cannot open the display")
win, x, y = int(sys.argv[1], 0), int(sys.argv[2]), int(sys.argv[3])
def sync():
    x11.XSync(d, 0)
    time.sleep(0.05)
xt.XTestFakeMotionEvent(d, -1, x, y, 0); sync()
x11.XSetInputFocus(d, win, 2, 0); sync()          # RevertToParent, CurrentTime
for ev in sys.argv[4:]:
    if ev.startswith("button"):
        for down in (1, 0):
            xt.XTestFakeButtonEvent(d, int(ev[6:]), down, 0); sync()
    elif ev == "move":
        xt.XTestFakeMotionEvent(d, -1, x + 20, y + 10, 0); sync()
    else:
        kc = x11.XKeysymToKeycode(d, x11.XStringToKeysym(ev.encode()))
        for down in (1, 0):
            xt.XTestFakeKeyEvent(d, kc, down, 0); sync()
x11.XCloseDisplay(d)
PY

# screendump FILE: QEMU's own picture of the display, through the supervisor
screendump() {
	$SOCKIO ctl "$d/ctl.sock" "{\"v\":1,\"id\":1,\"cmd\":\"qmp\",\"execute\":\"screendump\",\"arguments\":{\"filename\":\"$1\",\"format\":\"png\"}}" >/dev/null
}

# --- two VMs: vncu shows on a UNIX socket, vnct on TCP
def=$(make_vm vncu)
def2=$(make_vm vnct)
expect 0 "" "$CTYS" -a CREATE=p:$def,CONSOLE:NONE
# vnct waits before its first instruction (-S): its display changes size once it runs
expect 0 "" "$CTYS" -a "CREATE=p:$def2,CONSOLE:NONE,VNC:TCP,ARGSADD:S%-S"
# --- VNC:TCP with the password of vnc.password, a window under a private X server; vnct
# boots while vncu is tested
d=$(vmdir vnct)
read -r kind hp <"$d/vnc"
[ "$kind" = tcp ] && [[ $hp == 127.0.0.1:59[0-9][0-9] ]] || fail "vnc file of VNC:TCP: $kind $hp"
[ "$(stat -c %a "$d/vnc.password")" = 600 ] || fail "vnc.password is not 0600"
mkdir -p "$T/xfb"
Xvfb -displayfd 3 -nolisten tcp -screen 0 1024x768x24 -fbdir "$T/xfb" 3>"$T/xdisplay" \
	>"$T/xvfb.log" 2>&1 &
XPID=$!
for ((i = 0; i < 100; i++)); do [ -s "$T/xdisplay" ] && break; sleep 0.1; done
[ -s "$T/xdisplay" ] || { fail "Xvfb did not start: $(cat "$T/xvfb.log")"; exit 1; }
export DISPLAY=:$(cat "$T/xdisplay")
title="ctys-test-$$"
onscreen() { xwininfo -root -tree | grep -F "\"$title\"" | grep -q " $1+"; }
SDL_VIDEODRIVER=x11 "$V" -v --title "$title" "$d" 2>"$T/viewer.err" &
VPID=$!
for ((i = 0; i < 200; i++)); do grep -q "window 0x" "$T/viewer.err" && break; sleep 0.1; done
win=$(sed -n 's/.*window \(0x[0-9a-f]*\) \([0-9]*x[0-9]*\)$/\1 \2/p' "$T/viewer.err")
# QEMU's own 640x480 "not initialized" picture until the guest's firmware sets a mode
[ "${win#* }" = 640x480 ] || fail "no 640x480 window: $(cat "$T/viewer.err")"
onscreen 640x480 || fail "the window is not on the X server: $(xwininfo -root -tree | head -20)"
$SOCKIO ctl "$d/ctl.sock" '{"v":1,"id":1,"cmd":"qmp","execute":"cont"}' >/dev/null || fail "cont"

# --- the UNIX socket display of vncu; no X server, no window for a screenshot
wait_console vncu CTYS-GUEST-READY 60 || exit 1
d=$(vmdir vncu)
grep -qx "unix $d/vnc.sock" "$d/vnc" || fail "vnc file: $(cat "$d/vnc")"
start=$(date +%s.%N)
out=$(env -u DISPLAY SDL_VIDEODRIVER=offscreen "$V" --screenshot "$T/u.png" "$d/vnc.sock" 2>&1)
rc=$?
took=$(echo "$(date +%s.%N) - $start" | bc)
[ $rc = 0 ] || fail "screenshot over the UNIX socket: rc $rc: $out"
screendump "$T/u-qmp.png" || fail "screendump"
out=$(pngcmp "$T/u.png" "$T/u-qmp.png") || fail "UNIX socket screenshot differs from screendump: $out"
ok "screenshot over the UNIX socket in ${took}s: $out"
# the runtime directory and unix:PATH name the same display; no SDL_VIDEODRIVER either
env -u DISPLAY -u SDL_VIDEODRIVER "$V" --screenshot "$T/u2.png" --settle 200 "$d" ||
	fail "screenshot by runtime directory"
"$V" --screenshot "$T/u3.png" --settle 200 "unix:$d/vnc.sock" || fail "screenshot by unix:PATH"
out=$(pngcmp "$T/u2.png" "$T/u3.png") || fail "runtime dir vs unix: $out"
# ... and a machine-address, resolved by ctys
"$V" --screenshot "$T/u4.png" --settle 200 "l:vncu" || fail "screenshot by machine-address"
out=$(pngcmp "$T/u2.png" "$T/u4.png") || fail "runtime dir vs l:vncu: $out"
expect 3 "'l:nosuchvm': ctys found no running VM there" "$V" --screenshot "$T/x.png" l:nosuchvm

# --- bad inputs
expect 3 "'$d/nosuch.sock': no such socket" "$V" --screenshot "$T/x.png" "$d/nosuch.sock"
expect 1 "not a VNC server" "$V" --screenshot "$T/x.png" "$d/ctl.sock"
expect 1 "'$d/label': not a socket" "$V" --screenshot "$T/x.png" "$d/label"
expect 3 "no display here" "$V" --screenshot "$T/x.png" --runtime-dir "$T"
expect 3 "no such runtime directory" "$V" --screenshot "$T/x.png" --runtime-dir "$T/nosuch"
expect 2 "one TARGET" "$V" --screenshot "$T/x.png"
expect 2 "not a port number" "$V" --screenshot "$T/x.png" 127.0.0.1:http
expect 2 "--settle goes with --screenshot" "$V" --settle 10 "$d"
expect 2 "--timeout" "$V" --timeout soon "$d"
expect 1 "cannot open a window" env -u DISPLAY -u WAYLAND_DISPLAY SDL_VIDEODRIVER=x11 "$V" "$d"
# a server that accepts and never speaks: the timeout, exit 6
$SOCKIO hang "$T/hang.sock" & hpid=$!
for ((i = 0; i < 50; i++)); do [ -S "$T/hang.sock" ] && break; sleep 0.1; done
expect 6 "no answer from the VNC server within 1s" "$V" --screenshot "$T/x.png" --timeout 1 "$T/hang.sock"
kill $hpid; wait $hpid 2>/dev/null
[ ! -e "$T/x.png" ] || fail "a failed screenshot left a file"
ls "$T"/*.png.* >/dev/null 2>&1 && fail "temporary files left: $(ls "$T"/*.png.*)"

# --- vnct: its window follows the guest to its own resolution
wait_console vnct CTYS-GUEST-READY 60 || exit 1
d=$(vmdir vnct)
for ((i = 0; i < 100; i++)); do onscreen 720x400 && break; sleep 0.1; done
onscreen 720x400 || fail "the window did not follow the guest to 720x400: $(cat "$T/viewer.err")"
grep -q "window resized to 720x400" "$T/viewer.err" || fail "no resize: $(cat "$T/viewer.err")"
ok "window ${win% *} followed the guest from 640x480 to 720x400"

"$V" --screenshot "$T/t.png" --password-file "$d/vnc.password" "$hp" || fail "TCP screenshot"
screendump "$T/t-qmp.png" || fail "screendump"
out=$(pngcmp "$T/t.png" "$T/t-qmp.png") || fail "TCP screenshot differs from screendump: $out"
ok "screenshot over TCP with the password: $out"
"$V" --screenshot "$T/t2.png" --settle 200 "$d" || fail "TCP screenshot by runtime directory"
echo wrongpw >"$T/wrong"
expect 1 "authentication failed" "$V" --screenshot "$T/x.png" --password-file "$T/wrong" "$hp"
expect 1 "wants a password" "$V" --screenshot "$T/x.png" "$hp"
expect 3 "no such password file" "$V" --screenshot "$T/x.png" --password-file "$T/nosuch" "$hp"

# idle: the viewer sleeps (only the guest's blinking cursor changes)
t0=$(awk '{print $14 + $15}' "/proc/$VPID/stat")
sleep 2
t1=$(awk '{print $14 + $15}' "/proc/$VPID/stat")
[ $((t1 - t0)) -le 20 ] || fail "the idle viewer used $((t1 - t0)) ticks of CPU in 2 s"
ok "$((t1 - t0)) CPU ticks in 2 s idle"

# keyboard and mouse reach QEMU: its input trace events go to qemu.log
$SOCKIO ctl "$d/ctl.sock" '{"v":1,"id":1,"cmd":"qmp","execute":"trace-event-set-state","arguments":{"name":"input_event_*","enable":true}}' >/dev/null &&
$SOCKIO ctl "$d/ctl.sock" '{"v":1,"id":1,"cmd":"qmp","execute":"trace-event-set-state","arguments":{"name":"vnc_key_event_map","enable":true}}' >/dev/null ||
	fail "trace-event-set-state"
geo=$(xwininfo -id "${win% *}")
wx=$(sed -n 's/.*Absolute upper-left X: *//p' <<<"$geo")
wy=$(sed -n 's/.*Absolute upper-left Y: *//p' <<<"$geo")
python3 "$T/xinput.py" "${win% *}" $((wx + 100)) $((wy + 50)) a Shift_L Return F1 KP_1 button1 button3 button4 button5 move ||
	fail "xinput"
want="sym 0x61 -> keycode 0x1e [a]|qcode shift, down 1|qcode ret, down 0|qcode f1, down 1"
want+="|qcode kp_1, down 1|button left, down 1|button right, down 0|button wheel-up, down 1"
want+="|button wheel-down, down 0"
for ((i = 0; i < 50; i++)); do
	missing=$(tr '|' '\n' <<<"$want" | while read -r w; do grep -qF -- "$w" "$d/qemu.log" || echo "$w"; done)
	# the move: 20 pixels right for a relative (PS/2) mouse, or any absolute position
	grep -qE "input_event_rel con -?[0-9]+, axis x, value 20|input_event_abs" "$d/qemu.log" ||
		missing+=" motion"
	[ -z "$missing" ] && break
	sleep 0.1
done
[ -z "$missing" ] || fail "input that did not reach QEMU: $missing; qemu.log: $(tail -n 20 "$d/qemu.log")"
ok "keys, buttons, wheel and motion reached QEMU"

# the VM goes: the viewer says so and ends
alive "$VPID" || fail "the viewer died: $(cat "$T/viewer.err")"
"$CTYS" -a CANCEL=l:vnct,FORCE >/dev/null || fail "CANCEL vnct"
for ((i = 0; i < 100; i++)); do alive "$VPID" || break; sleep 0.1; done
if alive "$VPID"; then
	fail "the viewer still runs 10 s after its VM was cancelled"
else
	wait "$VPID"
	rc=$?
	VPID=''
	[ $rc = 0 ] || fail "viewer exit status $rc after CANCEL: $(cat "$T/viewer.err")"
	grep -q "'vnct': the VM is gone; display closed" "$T/viewer.err" ||
		fail "no disconnect message: $(cat "$T/viewer.err")"
	ok "the viewer ended with its VM: $(tail -n1 "$T/viewer.err")"
fi
stop_bg

expect 0 "" "$CTYS" -a CANCEL=l:vncu,FORCE
no_leftovers
