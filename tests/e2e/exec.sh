#!/bin/bash
# EXEC: a command run in the guest by its agent (qemu-ga in the tiny guest's agent
# initrd, through the supervisor's `agent` request). Its output as it is (control bytes,
# more than a control line holds), its exit status passed through (a signal as 128+n);
# ctys's own failures are 255: no VM, no agent, GUESTAGENT=off, a TIMEOUT, a bad command
# line, an agent answering garbage (none of it reaches ctys's messages) or nothing; the
# same on another host, the output not prefixed there.
. "$(dirname "$0")/../lib.sh"
. "$CTYS_SRC/tests/tools/sshhosts.sh"
trap 'sshhosts_stop; cleanup' EXIT
unset SSH_AUTH_SOCK	# the keys of this test only

AGENT="INITRDIMAGE=$CTYS_GUEST/initrd-agent.gz"
ga=$(make_vm ga "" "$AGENT")
noga=$(make_vm noga "")
off=$(make_vm off "" "$AGENT" GUESTAGENT=off)
junk=$(make_vm junk ctys.fakeagent=garbage "$AGENT")
mute=$(make_vm mute ctys.fakeagent=silent "$AGENT")
for d in "$ga" "$noga" "$off" "$junk" "$mute"; do
	expect 0 "" "$CTYS" -a CREATE=p:$d
done
for l in ga noga off junk mute; do
	wait_console $l CTYS-GUEST-READY 90 || exit 1
done
# the agent answers once the supervisor has synchronised with it
for ((i = 0; i < 100; i++)); do
	"$CTYS" -a EXEC=l:ga,CMD:true 2>/dev/null && break
	sleep 0.2
done

# the guest's kernel (the one the guest build used), its hostname
kver=$(sed -n 's/^kernel linux-image-\([^ ]*\) .*/\1/p' "$CTYS_GUEST/stamp")
start=$(date +%s.%N)
out=$("$CTYS" -a EXEC=l:ga,CMD:uname%-r)
rc=$?
[ $rc = 0 ] && [ -n "$kver" ] && [ "$out" = "$kver" ] || fail "uname -r ($rc): '$out', want '$kver'"
ok "EXEC uname -r: $out in $(echo "$(date +%s.%N) - $start" | bc) s"
[ "$("$CTYS" -a EXEC=l:ga,CMD:hostname)" = ctys-guest ] || fail "hostname"

# exit statuses pass through; a signal is 128+n; stdout and stderr apart
expect 7 "" "$CTYS" -a "EXEC=l:ga,CMD:sh%-c%exit 7"
expect 1 "" "$CTYS" -a EXEC=l:ga,CMD:false
expect 137 "" "$CTYS" -a 'EXEC=l:ga,CMD:sh%-c%kill -9 $$'
"$CTYS" -a "EXEC=l:ga,CMD:sh%-c%echo out; echo err >&2; exit 3" >"$T/o" 2>"$T/e"
rc=$?
[ $rc = 3 ] && [ "$(cat "$T/o")" = out ] && [ "$(cat "$T/e")" = err ] ||
	fail "stdout/stderr ($rc): $(cat "$T/o") / $(cat "$T/e")"
# words as given: spaces inside a word, `%%` a %, `,,` a comma
[ "$("$CTYS" -a 'EXEC=l:ga,CMD:printf%[%%s]%a b%100%%%x,,y')" = '[a b][100%][x,y]' ] ||
	fail "words: $("$CTYS" -a 'EXEC=l:ga,CMD:printf%[%%s]%a b%100%%%x,,y' 2>&1)"
# the guest's bytes as they are: escape sequences, invalid UTF-8, no newline
"$CTYS" -a 'EXEC=l:ga,CMD:printf%\033[31mred\001\377' >"$T/raw" || fail "raw output: exit $?"
[ "$(od -An -tx1 "$T/raw" | tr -d ' \n')" = 1b5b33316d72656401ff ] ||
	fail "raw output: $(od -An -tx1 "$T/raw")"
# more than one control-socket line (1 MiB) holds: base64 of 2 MB
"$CTYS" -a EXEC=l:ga,CMD:head%-c%2000000%/dev/zero >"$T/big" || fail "2 MB: exit $?"
cmp -s "$T/big" <(head -c 2000000 /dev/zero) || fail "2 MB: $(wc -c <"$T/big") bytes"

# ctys's own failures: 255, said once
start=$(date +%s)
expect 255 "did not end within 1 s (TIMEOUT); it goes on in the guest as pid" \
    "$CTYS" -a EXEC=l:ga,CMD:sleep%5,TIMEOUT:1
[ $(($(date +%s) - start)) -le 3 ] || fail "TIMEOUT:1 took $(($(date +%s) - start)) s"
expect 255 "Failed to execute child process" "$CTYS" -a EXEC=l:ga,CMD:/nonexistent
expect 255 "'L:nothing' is not running" "$CTYS" -a EXEC=l:nothing,CMD:true
expect 255 "EXEC needs the command" "$CTYS" -a EXEC=l:ga
expect 255 "unknown suboption 'BOGUS'" "$CTYS" -a EXEC=l:ga,CMD:true,BOGUS
expect 255 "TIMEOUT: seconds from 1 to" "$CTYS" -a EXEC=l:ga,CMD:true,TIMEOUT:x
expect 255 "EXEC needs suboptions" "$CTYS" -a EXEC
start=$(date +%s)
expect 255 "the guest agent is not connected" "$CTYS" -a EXEC=l:noga,CMD:true
[ $(($(date +%s) - start)) -le 3 ] || fail "no agent: $(($(date +%s) - start)) s"
expect 255 "no guest agent port (GUESTAGENT=off)" "$CTYS" -a EXEC=l:off,CMD:true
# an agent answering garbage (control bytes) or nothing: bounded by TIMEOUT, and nothing
# of the guest's passes into what ctys prints
start=$(date +%s)
"$CTYS" -a EXEC=l:junk,CMD:true,TIMEOUT:3 >"$T/junk.out" 2>"$T/junk.err"
rc=$?
took=$(($(date +%s) - start))
[ $rc = 255 ] && [ $took -le 6 ] && [ ! -s "$T/junk.out" ] && [ -s "$T/junk.err" ] ||
	fail "garbage agent ($rc, $took s): $(cat "$T/junk.err")"
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f\x80-\xff]' "$T/junk.err" &&
	fail "the guest's bytes in ctys's message: $(od -c "$T/junk.err" | head)"
ok "garbage agent -> $rc in $took s: $(cat "$T/junk.err")"
start=$(date +%s)
expect 255 "'mute': guest-exec: the guest agent" "$CTYS" -a EXEC=l:mute,CMD:true,TIMEOUT:3
took=$(($(date +%s) - start))
[ $took -le 6 ] || fail "silent agent: $took s"
expect 0 "" "$CTYS" -a CANCEL=ALL,FORCE
no_leftovers

# on another host: the output as it is (no host prefix), the status passed through;
# an unreachable host is 255 too
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
expect 0 "" "$CTYS" -a CREATE=p:$ga h1
for ((i = 0; i < 150; i++)); do
	"$CTYS" -a EXEC=l:ga,CMD:true h1 2>/dev/null && break
	sleep 0.2
done
"$CTYS" -a "EXEC=l:ga,CMD:sh%-c%echo out; echo err >&2; exit 3" h1 >"$T/o" 2>"$T/e"
rc=$?
[ $rc = 3 ] && [ "$(cat "$T/o")" = out ] && [ "$(cat "$T/e")" = err ] ||
	fail "on h1 ($rc): $(cat "$T/o") / $(cat "$T/e")"
expect 255 "'L:nothing' is not running" "$CTYS" -a EXEC=l:nothing,CMD:true h1
expect 255 "127.0.0.1:1" "$CTYS" -a EXEC=l:ga,CMD:true root@127.0.0.1:1
expect 255 "EXEC runs in one VM on one host, not on 2 hosts" \
    "$CTYS" -a EXEC=l:ga,CMD:true h1 root@127.0.0.1:1
expect 0 "" "$CTYS" -a CANCEL=l:ga,FORCE h1
sshhosts_stop
no_leftovers
