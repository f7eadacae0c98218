#!/bin/bash
# smoke
# The ssh transport (src/ssh.c, through tests/unit/ssh_tool) against real sshds: three
# "hosts" on loopback addresses, each in its own PID/UTS namespace (tests/tools/sshhosts.sh).
# Commands (quoting, stderr, status, MBs of output, timeout), host-key checks (changed,
# unknown, accept-new), connection failures (refused, a stopped sshd), OpenSSH config
# aliases, UNIX-socket forwarding, one connection shared by threads, many connections.
. "$(dirname "$0")/../lib.sh"
. "$CTYS_SRC/tests/tools/sshhosts.sh"

unset SSH_AUTH_SOCK
TOOL=$CTYS_BUILD/tests/ssh_tool
D=$T/ssh
ECHO_PID=

ssh_cleanup() {
	local rc=$?
	if [ -n "$ECHO_PID" ]; then
		kill "$ECHO_PID" 2>/dev/null
		wait "$ECHO_PID" 2>/dev/null
	fi
	if [ $rc != 0 ] || [ "$FAILED" != 0 ]; then
		for f in "$D"/h*/sshd.log; do
			[ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
		done
	fi
	sshhosts_stop
	(exit $rc)
	cleanup
}
trap ssh_cleanup EXIT

[ -x "$TOOL" ] || { fail "$TOOL missing"; exit 1; }
[ -x /usr/sbin/sshd ] || { fail "/usr/sbin/sshd missing: install openssh-server"; exit 1; }
sshhosts_start "$D" 3 || { fail "the ssh hosts did not start"; exit 1; }
ok "3 hosts: ${SSHHOST_ADDR[*]} port ${SSHHOST_PORT[1]}"

CFG=(--config "$D/ssh_config")
# the same hosts by address, without any ssh config
direct() {
	local i=$1
	shift
	"$TOOL" --config '' --user root --identity "$D/id_ed25519" --port "${SSHHOST_PORT[i]}" "$@"
}
# khname I: host i as known_hosts names it
khname() {
	if [ "${SSHHOST_PORT[$1]}" = 22 ]; then
		echo "${SSHHOST_ADDR[$1]}"
	else
		echo "[${SSHHOST_ADDR[$1]}]:${SSHHOST_PORT[$1]}"
	fi
}
ms() {
	echo $((${EPOCHREALTIME/./} / 1000))
}

# each host is its own machine: hostname, its own PID namespace, SetEnv's HOME
out=$("$TOOL" "${CFG[@]}" exec h1 'hostname; cat /proc/1/comm; echo "$HOME"; echo "$CTYS_RUNDIR"' 2>&1)
[ "$out" = "h1
sshd
$D/h1/home
$D/h1/run" ] || fail "h1 environment: $out"
out=$("$TOOL" "${CFG[@]}" exec h2 hostname 2>&1)
[ "$out" = h2 ] && ok "the ssh config's alias h2 reaches h2" || fail "alias h2: $out"
out=$(sshhosts_ssh 3 'hostname; echo $HOME' 2>&1)
[ "$out" = "h3
$D/h3/home" ] && ok "OpenSSH with the same ssh_config: h3" || fail "OpenSSH to h3: $out"
out=$(direct 3 --known-hosts "$D/known_hosts" exec "${SSHHOST_ADDR[3]}" hostname 2>&1)
[ "$out" = h3 ] && ok "by address without a config" || fail "h3 by address: $out"

# an argument arrives verbatim: spaces, quotes, ;, $(), backquotes, UTF-8
arg="it's a \"test\"; \$(touch $T/pwned) \`touch $T/pwned\` \\ * ünïcødé ✓ 日本"
q=${arg//\'/\'\\\'\'}
out=$("$TOOL" "${CFG[@]}" exec h1 "printf %s '$q'" 2>&1)
[ "$out" = "$arg" ] && ok "argument round trip" || fail "argument: sent '$arg', got '$out'"
[ -e "$T/pwned" ] && fail "the quoted argument was executed"

# stdout, stderr and the exit status are kept apart
"$TOOL" "${CFG[@]}" exec h2 'echo out; echo err >&2; exit 7' >"$T/o" 2>"$T/e"
rc=$?
[ $rc = 7 ] && [ "$(cat "$T/o")" = out ] && [ "$(cat "$T/e")" = err ] &&
	ok "stdout, stderr, exit 7" || fail "exec h2: exit $rc, out '$(cat "$T/o")', err '$(cat "$T/e")'"
expect 255 "h1: killed by signal KILL" "$TOOL" "${CFG[@]}" exec h1 'kill -KILL $$'

# megabytes on both streams at once
"$TOOL" "${CFG[@]}" exec h3 'head -c 3000000 /dev/zero | tr "\0" x; head -c 1000000 /dev/zero | tr "\0" y >&2; exit 3' \
    >"$T/o" 2>"$T/e"
rc=$?
n=$(tr -d x <"$T/o" | wc -c)
[ $rc = 3 ] && [ "$(wc -c <"$T/o")" = 3000000 ] && [ "$n" = 0 ] && [ "$(wc -c <"$T/e")" = 1000000 ] &&
	ok "3 MB stdout + 1 MB stderr" || fail "large output: exit $rc, $(wc -c <"$T/o") + $(wc -c <"$T/e") bytes"

# a command that does not finish in time
t0=$(ms)
expect 124 "h1: the command did not finish within 1 s" "$TOOL" "${CFG[@]}" exec h1 'exec sleep 4' 1
t=$(($(ms) - t0))
[ $t -lt 2500 ] || fail "command timeout took $t ms"

# nothing listening there
refused=${SSHHOST_ADDR[1]%.*}.250
expect 255 "$refused: cannot connect to $refused:${SSHHOST_PORT[1]}: Connection refused" \
    direct 1 --known-hosts "$D/known_hosts" exec "$refused" true

# a stopped sshd: the kernel accepts, nobody answers; a timeout, not a hang
kill -STOP "${SSHHOST_PID[3]}"
t0=$(ms)
expect 124 "h3: cannot connect to ${SSHHOST_ADDR[3]}:${SSHHOST_PORT[3]}: no answer within 2 s" \
    "$TOOL" "${CFG[@]}" --timeout 2 exec h3 true
t=$(($(ms) - t0))
kill -CONT "${SSHHOST_PID[3]}"
[ $t -ge 1900 ] && [ $t -lt 4000 ] && ok "stopped sshd: gave up after $t ms" ||
	fail "stopped sshd: took $t ms (timeout 2 s)"
out=$("$TOOL" "${CFG[@]}" exec h3 hostname 2>&1)
[ "$out" = h3 ] || fail "h3 after SIGCONT: $out"

# a changed host key: h2's entry holds h1's key
kh=$T/known_hosts.changed
grep -vF "$(khname 2) " "$D/known_hosts" >"$kh"
echo "$(khname 2) $(cut -d' ' -f1,2 "$D/h1/ssh_host_ed25519_key.pub")" >>"$kh"
expect 255 "h2: the host key of $(khname 2) has changed (possible impostor); if the change is expected, remove the old key from $kh" \
    "$TOOL" "${CFG[@]}" --known-hosts "$kh" exec h2 true

# an unknown host: refused with its fingerprint, or accepted and recorded
kh=$T/new/known_hosts
fp=$(ssh-keygen -lf "$D/h3/ssh_host_ed25519_key.pub" | cut -d' ' -f2)
expect 255 "h3: unknown host key of $(khname 3) (ssh-ed25519 $fp); add it to $kh or set ssh_unknown_hosts = accept-new" \
    "$TOOL" "${CFG[@]}" --known-hosts "$kh" exec h3 true
[ -e "$kh" ] && fail "refused host recorded in $kh"
expect 0 "" "$TOOL" "${CFG[@]}" --known-hosts "$kh" --accept-new exec h3 true
grep -qF "$(khname 3) ssh-ed25519 " "$kh" && ok "accept-new recorded h3" || fail "not recorded: $(cat "$kh" 2>&1)"
expect 0 "" "$TOOL" "${CFG[@]}" --known-hosts "$kh" exec h3 true

# a key that is not authorized
ssh-keygen -q -t ed25519 -N '' -f "$T/stranger"
expect 255 "${SSHHOST_ADDR[1]}: public-key authentication as root failed (tried: $T/stranger, default keys)" \
    "$TOOL" --config '' --user root --identity "$T/stranger" --known-hosts "$D/known_hosts" \
    --port "${SSHHOST_PORT[1]}" exec "${SSHHOST_ADDR[1]}" true

# a UNIX socket on h1, reached through the connection: an echo server that answers
# every chunk and says "bye" after the client's EOF
sock=$D/echo.sock
python3 -c '
import socket, sys, threading
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(16)
def serve(c):
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
        c.sendall(b"bye\n")
    except OSError:
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$sock" 2>/dev/null &
ECHO_PID=$!
for ((i = 0; i < 100; i++)); do [ -S "$sock" ] && break; sleep 0.05; done
out=$(printf 'hello ünïcødé\n' | "$TOOL" "${CFG[@]}" forward h1 "$sock" 2>&1)
[ "$out" = "hello ünïcødé
bye" ] && ok "forward: a line there and back, EOF both ways" || fail "forward: '$out'"
head -c 2000000 /dev/urandom >"$T/big"
"$TOOL" "${CFG[@]}" forward h2 "$sock" <"$T/big" >"$T/big.out" 2>"$T/e"
{ head -c 2000000 "$T/big.out" | cmp -s - "$T/big"; } && [ "$(tail -c 4 "$T/big.out")" = bye ] &&
	ok "forward: 2 MB there and back" || fail "forward: 2 MB came back wrong: $(wc -c <"$T/big.out") bytes $(cat "$T/e")"
expect 255 "h1: cannot reach $D/none.sock on ${SSHHOST_ADDR[1]}:${SSHHOST_PORT[1]}" \
    "$TOOL" "${CFG[@]}" forward h1 "$D/none.sock" </dev/null

# one connection, several threads: commands while a forward pumps; closing it ends a forward
expect 0 "ok" "$TOOL" "${CFG[@]}" shared h2 "$sock" 10
# many connections at once, one per thread (remote.c's fan-out)
expect 0 "ok 16" "$TOOL" "${CFG[@]}" parallel h1 16 hostname
