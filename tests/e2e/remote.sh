#!/bin/bash
# Across hosts: three sshd "hosts" on this machine (tests/tools/sshhosts.sh: each in its own
# PID and UTS namespace, with its own hostname and runtime directory), reached through
# libssh. Remote CREATE, LIST merged from several hosts with the host column, ISACTIVE,
# CANCEL, ENUMERATE and ctys-vdbgen across hosts (one record per host), a label with
# spaces and ';' intact; a host refusing connections, a hanging one (SIGSTOPped sshd) and
# one with a changed host key: the others still answer, exit status 7; all failing: 8.
. "$(dirname "$0")/../lib.sh"
. "$CTYS_SRC/tests/tools/sshhosts.sh"
trap 'sshhosts_stop; cleanup' EXIT
unset SSH_AUTH_SOCK	# the keys of this test only
VDBGEN=$CTYS_BUILD/bin/ctys-vdbgen

sshhosts_start "$T/sh" 3 || { fail "the test hosts did not start"; exit 1; }
S=$T/sh
mkdir -p "$HOME/.ctys"
cat >"$HOME/.ctys/ctys.conf" <<EOF
remote_ctys = "$CTYS"
ssh_known_hosts = "$S/known_hosts"
ssh_config = "$S/ssh_config"
ssh_identity = "$S/id_ed25519"
ssh_connect_timeout = 3
group "lab" { members = {"h1", "h2", "h3"} }
group "loop" { members = {"h1", "loop"} }
EOF

def=$(make_vm "web 1;x")
def2=$(make_vm db2)

# CREATE on two hosts; each VM runs in its host (its own namespace and runtime directory)
expect 0 "" "$CTYS" -a "CREATE=p:$def" h1
expect 0 "" "$CTYS" -a "CREATE=p:$def2" h2
[ -n "$(ls "$S/h1/run")" ] && [ -n "$(ls "$S/h2/run")" ] && [ -z "$(ls "$S/h3/run")" ] ||
	fail "runtime directories: h1: $(ls "$S/h1/run") h2: $(ls "$S/h2/run") h3: $(ls "$S/h3/run")"
[ -z "$(ls "$T/run" 2>/dev/null)" ] || fail "a VM started here, not there"
expect 4 "h1: ctys:" "$CTYS" -a "CREATE=p:$def" h1
# shared storage: another host never starts it a second time (the lock beside the
# definition decides, held by the supervisor and QEMU), and says where it runs
expect 4 "h2: ctys: 'web 1;x' runs already on h1 ($def.lock is locked)" "$CTYS" -a "CREATE=p:$def" h2
expect 4 "runs already on h2" "$CTYS" -a "CREATE=p:$def2"

# LIST across the group: one answer, host column filled, sorted as asked
out=$("$CTYS" -a "LIST=TERSE,HOST,LABEL,STATE,SORT:label" lab)
rc=$?
[ $rc = 0 ] && [ "$out" = "$(printf 'h2;db2;running\nh1;web 1\\;x;running')" ] ||
	fail "LIST lab ($rc): $out"
out=$("$CTYS" -a "LIST=JSON" h1 h2) || fail "LIST JSON"
python3 -c '
import json, sys
v = json.loads(sys.argv[1])
assert sorted((r["host"], r["label"]) for r in v) == [("h1", "web 1;x"), ("h2", "db2")], v
' "$out" || fail "LIST JSON: $out"
# the default table: one header
[ "$("$CTYS" -a LIST lab | grep -c '^Label')" = 1 ] || fail "LIST table: $("$CTYS" -a LIST lab)"

# ISACTIVE: the label with a space and ';' travels intact; across hosts: 0 when it runs on any
expect 0 "" "$CTYS" -a "ISACTIVE=l:web 1;x" h1
expect 1 "" "$CTYS" -a "ISACTIVE=l:web 1;x" h2
out=$("$CTYS" -a "ISACTIVE=l:web 1;x" h1 h2 h3)
rc=$?
[ $rc = 0 ] && [ "$out" = "$(printf 'h1: 1\nh2: 0\nh3: 0')" ] || fail "ISACTIVE across ($rc): $out"

# per-host options reach that host only; SHOW=CONF says where settings came from
out=$("$CTYS" -a "ISACTIVE=l:db2" 'h2(-V)' h3 2>&1)
[ "$out" = "$(printf 'h2: ctys %s\nh3: 0' "$("$CTYS" -V | cut -d' ' -f2)")" ] || fail "per-host options: $out"
out=$("$CTYS" -a SHOW=CONF)
grep -qF "group \"lab\" { members = {\"h1\", \"h2\", \"h3\"} }	# $HOME/.ctys/ctys.conf" <<<"$out" &&
	grep -qF "ssh_connect_timeout = 3	# $HOME/.ctys/ctys.conf" <<<"$out" &&
	grep -qF "ssh_parallel = 32	# default" <<<"$out" || fail "SHOW=CONF: $out"
expect 2 "host groups form a cycle: loop -> loop" "$CTYS" -a LIST loop

# ENUMERATE and ctys-vdbgen across hosts: the same definitions seen from three hosts are
# three records each (multipath registration)
out=$("$CTYS" -a "ENUMERATE=B:$T/vms,TERSE,HOST,LABEL,SORT:host" lab) || fail "ENUMERATE lab"
[ "$(echo "$out" | sort)" = "$(printf 'h1;db2\nh1;web 1\\;x\nh2;db2\nh2;web 1\\;x\nh3;db2\nh3;web 1\\;x')" ] ||
	fail "ENUMERATE lab: $out"
expect 0 "6 records" "$VDBGEN" -p "$T/db" "B:$T/vms" lab
[ "$(cut -d';' -f1 "$T/db/enum.fdb" | sort | uniq -c | awk '{print $1 $2}' | tr '\n' ' ')" = "2h1 2h2 2h3 " ] ||
	fail "database: $(cat "$T/db/enum.fdb")"

# failures: a refused connection, a hanging host, a changed host key; the rest answers
kill -STOP "${SSHHOST_PID[3]}"
cp "$S/known_hosts" "$T/known_hosts.good"
ssh-keygen -q -t ed25519 -N '' -f "$T/otherkey"
awk -v a="${SSHHOST_ADDR[2]}" -v k="$(cut -d' ' -f1,2 "$T/otherkey.pub")" \
    '$1 == a || index($1, "[" a "]:") == 1 { $0 = $1 " " k } { print }' "$T/known_hosts.good" >"$S/known_hosts"
start=$(date +%s)
out=$("$CTYS" -a "LIST=TERSE,HOST,LABEL" h1 h2 h3 root@127.0.0.1:1 2>"$T/err")
rc=$?
took=$(($(date +%s) - start))
[ $rc = 7 ] && [ "$out" = 'h1;web 1\;x' ] || fail "partial LIST ($rc): $out / $(cat "$T/err")"
grep -q "h2: .*host key .*changed.*$S/known_hosts" "$T/err" || fail "changed key: $(cat "$T/err")"
grep -q "h3: .*no answer within 3 s" "$T/err" || fail "hanging host: $(cat "$T/err")"
grep -q "root@127.0.0.1:1: .*onnection refused" "$T/err" || fail "refused: $(cat "$T/err")"
[ $took -le 8 ] || fail "the hanging host held the others: $took s"
expect 8 "h2:" "$CTYS" -a "LIST" h2 root@127.0.0.1:1
expect 6 "h3:" "$CTYS" -a "LIST" h3
# a missing remote ctys: said by host, with what to do
expect 8 "h1: no program '/nonexistent/ctys' there" env CTYS_CONF="$T/c2.conf" sh -c '
	sed "s|^remote_ctys = .*|remote_ctys = \"/nonexistent/ctys\"|" "$HOME/.ctys/ctys.conf" >"$CTYS_CONF"
	exec "$0" -a LIST h1' "$CTYS"
# an old ctys there (from before --wire): a stand-in script, as no older ctys is built
# here; it answers an unknown option as ctys always did
printf '#!/bin/sh\necho "ctys: unknown option '"'"'$1'"'"' (see '"'"'ctys -h'"'"')" >&2\nexit 2\n' >"$T/oldctys"
chmod +x "$T/oldctys"
expect 8 "h1: the ctys there ('$T/oldctys') is older than this one: update it" \
    env CTYS_CONF="$T/c3.conf" sh -c '
	sed "s|^remote_ctys = .*|remote_ctys = \"$1\"|" "$HOME/.ctys/ctys.conf" >"$CTYS_CONF"
	exec "$0" -a LIST h1' "$CTYS" "$T/oldctys"
kill -CONT "${SSHHOST_PID[3]}"
cp "$T/known_hosts.good" "$S/known_hosts"

# the CLI console of a VM on another host, through the ssh connection (no port opened
# there, no helper process): type and read back, the monitor, detach, re-attach
wait_host_console() {	# HOST-RUNDIR LABEL PATTERN
	local i f
	for ((i = 0; i < 600; i++)); do
		f=$(grep -lx -- "$2" "$1"/*/label 2>/dev/null | head -n1)
		[ -n "$f" ] && grep -q -- "$3" "$(dirname "$f")/console.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
wait_host_console "$S/h1/run" "web 1;x" CTYS-GUEST-READY || fail "the guest on h1 did not boot"
out=$(python3 "$CTYS_SRC/tests/tools/ptyrun.py" 60 sh -c "'$CTYS' -a 'CREATE=l:web 1;x,REUSE,CONSOLE:CLI' h1; echo rc=\$?" <<'P'
send \r
expect guest#
send hostname; echo $((6*7))\r
expect 42
send \x1dm
expect (qemu)
send info status\n
expect VM status: running
send \x1dd
expect rc=0
P
) || fail "CLI console on h1: $out"
grep -q '\[detached\]' <<<"$out" || fail "no detach: $out"
out=$(sleep 1 | "$CTYS" -a "CREATE=l:web 1;x,REUSE,CONSOLE:CLI" h1 2>&1)
grep -q '^42' <<<"$out" || fail "no replay on re-attach over ssh: $out"
expect 2 "CONSOLE:CLI attaches to one host, not 2" "$CTYS" -a "CREATE=l:web 1;x,REUSE,CONSOLE:CLI" h1 h2
expect 2 "CONSOLE:SDL is QEMU's own window" "$CTYS" -a "CREATE=l:web 1;x,REUSE,CONSOLE:SDL" h1
# its display: ctys-vncviewer resolves the machine-address there and reads the VNC socket
# through the connection
expect 0 "" "$CTYS_BUILD/bin/ctys-vncviewer" --host h1 --screenshot "$T/h1.png" "l:web 1;x"
[ "$(head -c 8 "$T/h1.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] ||
	fail "no PNG from the display on h1"
expect 4 "h1: ctys: 'L:nothing' is not running" "$CTYS_BUILD/bin/ctys-vncviewer" --host h1 --screenshot "$T/x.png" "l:nothing"

# CANCEL there; nothing left behind on any host
expect 0 "" "$CTYS" -a "CANCEL=l:web 1;x,FORCE" h1
expect 0 "" "$CTYS" -a "CANCEL=ALL,FORCE" lab
[ -z "$(ls "$S/h1/run")$(ls "$S/h2/run")" ] || fail "runtime left: $(ls "$S"/h*/run)"
out=$("$CTYS" -a "LIST=TERSE,HOST,LABEL" lab)
[ -z "$out" ] || fail "VMs left: $out"
sshhosts_stop
no_leftovers
