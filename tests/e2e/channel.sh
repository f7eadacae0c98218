#!/bin/bash
# Named channels: CHANNEL relays stdin/stdout to a virtserialport of the guest, where a
# loop (ctys.echo=NAME) echoes every line. Text with UTF-8 and a tab round-trips, a
# thousand lines too (nothing lost or reordered); PRINT names the socket; an unknown
# channel is exit 3 with the VM's channels, a bad NAME 2, a VM that does not run 4; the
# same relay to a VM on another host through the ssh connection (tests/tools/sshhosts.sh).
. "$(dirname "$0")/../lib.sh"
. "$CTYS_SRC/tests/tools/sshhosts.sh"
trap 'sshhosts_stop; cleanup' EXIT
unset SSH_AUTH_SOCK	# the keys of this test only

# chat OUT LINES CMD...: CMD's stdin (this function's) stays open until OUT has LINES lines
# (at most 30 s): QEMU closes a channel's connection when it reads the end of the input,
# and an answer still on its way would be lost
chat() {
	local out=$1 lines=$2 i
	shift 2
	{
		cat
		for ((i = 0; i < 300; i++)); do
			[ "$(wc -l <"$out")" -ge "$lines" ] && break
			sleep 0.1
		done
	} | "$@" >"$out"
}

def=$(make_vm ch ctys.echo=test.echo 'CHANNELS="test.echo org.example.other.0"')
expect 0 "" "$CTYS" -a CREATE=p:$def
wait_console ch CTYS-GUEST-READY 60 || exit 1
d=$(vmdir ch)

out=$( (echo hello; sleep 2) | "$CTYS" -a CHANNEL=l:ch,NAME:test.echo 2>"$T/err")
rc=$?
[ $rc = 0 ] && [ "$out" = hello ] && [ ! -s "$T/err" ] ||
	fail "CHANNEL hello ($rc): '$out' $(cat "$T/err")"
# LIST: the channels, those the guest opened (its echo loop) marked +
out=$("$CTYS" -a LIST=TERSE,LABEL,CHANNELS,NOFOREIGN)
[ "$out" = 'ch;test.echo+,org.example.other.0' ] || fail "LIST CHANNELS: $out"

# UTF-8, a tab, a carriage return: bytes as they are
printf 'grüße\tß € \\x\r\n' >"$T/text"
chat "$T/text.out" 1 "$CTYS" -a CHANNEL=l:ch,NAME:test.echo <"$T/text" ||
	fail "CHANNEL text: exit $?"
cmp -s "$T/text" "$T/text.out" || fail "text changed: $(od -c "$T/text.out" | head -n 5)"

# many lines at once: in order, none lost (the relay's buffers, QEMU's and the guest's)
seq 1 1000 | sed 's/$/ abcdefghijklmnopqrstuvwxyz0123456789/' >"$T/many"
start=$(date +%s.%N)
chat "$T/many.out" 1000 "$CTYS" -a CHANNEL=l:ch,NAME:test.echo <"$T/many" ||
	fail "CHANNEL 1000 lines: exit $?"
cmp -s "$T/many" "$T/many.out" || fail "1000 lines: $(wc -l <"$T/many.out") came back"
ok "1000 lines round trip in $(echo "$(date +%s.%N) - $start" | bc) s"

# the socket, for other programs; the channels QEMU listens on
[ "$("$CTYS" -a CHANNEL=l:ch,NAME:test.echo,PRINT)" = "$d/channels/test.echo.sock" ] ||
	fail "PRINT: $("$CTYS" -a CHANNEL=l:ch,NAME:test.echo,PRINT 2>&1)"
expect 3 "'ch' has no channel 'nosuch' (its channels: org.example.other.0 test.echo)" \
    "$CTYS" -a CHANNEL=l:ch,NAME:nosuch </dev/null
expect 2 "NAME: not a channel name" "$CTYS" -a CHANNEL=l:ch,NAME:../ctl </dev/null
expect 2 "CHANNEL needs the channel's name" "$CTYS" -a CHANNEL=l:ch </dev/null
# a channel nobody opened in the guest: QEMU reads nothing (not even the end of the
# input) until the guest does, so the relay waits, and says why
expect 124 "no program in the guest has channel 'org.example.other.0' open (yet" \
    timeout 2 "$CTYS" -a CHANNEL=l:ch,NAME:org.example.other.0 </dev/null

# a VM without channels says so
def2=$(make_vm plain)
expect 0 "" "$CTYS" -a CREATE=p:$def2
expect 3 "'plain' has no channel 'test.echo' (it has none: CHANNELS in its definition)" \
    "$CTYS" -a CHANNEL=l:plain,NAME:test.echo </dev/null
expect 0 "" "$CTYS" -a CANCEL=l:plain,FORCE

# the relay ends when the VM does: exit 0, after what came
"$CTYS" -a CHANNEL=l:ch,NAME:test.echo < <(echo before; sleep 30) >"$T/end.out" 2>&1 &
relay=$!
for ((i = 0; i < 100; i++)); do grep -q before "$T/end.out" && break; sleep 0.1; done
expect 0 "" "$CTYS" -a CANCEL=l:ch,FORCE
wait $relay
rc=$?
[ $rc = 0 ] && [ "$(cat "$T/end.out")" = before ] || fail "relay at the VM's end ($rc): $(cat "$T/end.out")"
expect 4 "'L:ch' is not running" "$CTYS" -a CHANNEL=l:ch,NAME:test.echo </dev/null
no_leftovers

# on another host: found there, relayed through the ssh connection
sshhosts_start "$T/sh" 1 || { fail "the test host did not start"; exit 1; }
S=$T/sh
mkdir -p "$HOME/.ctys"
cat >"$HOME/.ctys/ctys.conf" <<EOF
remote_ctys = "$CTYS"
ssh_known_hosts = "$S/known_hosts"
ssh_config = "$S/ssh_config"
ssh_identity = "$S/id_ed25519"
ssh_connect_timeout = 5
EOF
expect 0 "" "$CTYS" -a CREATE=p:$def h1
for ((i = 0; i < 600; i++)); do
	grep -q CTYS-GUEST-READY "$S"/h1/run/*/console.log 2>/dev/null && break
	sleep 0.1
done
[ -z "$(ls "$T/run" 2>/dev/null)" ] || fail "the VM runs here, not on h1"
out=$( (echo hello-h1; sleep 2) | "$CTYS" -a CHANNEL=l:ch,NAME:test.echo h1)
rc=$?
[ $rc = 0 ] && [ "$out" = hello-h1 ] || fail "CHANNEL on h1 ($rc): '$out'"
chat "$T/many.h1" 1000 "$CTYS" -a CHANNEL=l:ch,NAME:test.echo h1 <"$T/many" ||
	fail "CHANNEL 1000 lines on h1: exit $?"
cmp -s "$T/many" "$T/many.h1" || fail "1000 lines on h1: $(wc -l <"$T/many.h1") came back"
out=$("$CTYS" -a CHANNEL=l:ch,NAME:test.echo,PRINT h1)
case $out in "$S"/h1/run/*/channels/test.echo.sock) ;; *) fail "PRINT on h1: $out" ;; esac
expect 3 "h1: ctys: 'ch' has no channel 'nosuch' (its channels: org.example.other.0 test.echo)" \
    "$CTYS" -a CHANNEL=l:ch,NAME:nosuch h1 </dev/null
expect 4 "h1: ctys: 'L:nothing' is not running" "$CTYS" -a CHANNEL=l:nothing,NAME:test.echo h1 </dev/null
expect 2 "CHANNEL connects to one host, not 2" "$CTYS" -a CHANNEL=l:ch,NAME:test.echo h1 root@127.0.0.1:1 </dev/null
expect 0 "" "$CTYS" -a CANCEL=l:ch,FORCE h1
[ -z "$(ls "$S/h1/run")" ] || fail "runtime left on h1: $(ls "$S/h1/run")"
sshhosts_stop
no_leftovers
