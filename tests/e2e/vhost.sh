#!/bin/bash
# ctys-vhost over a database written by hand in the original's format (escaped `;`, a
# broken line): the query language, every -M mode, the output forms, bad lines reported
# with file:line, missing databases. No VM.
# smoke
. "$(dirname "$0")/../lib.sh"
VHOST=${CTYS_BUILD:?}/bin/ctys-vhost
DB=$T/db
mkdir -p "$DB"

# rec N=VALUE...: a record of 47 fields (the others empty) and the original's final `;`
rec() {
	local f=() i kv
	for ((i = 1; i <= 47; i++)); do f[i]=; done
	for kv in "$@"; do f[${kv%%=*}]=${kv#*=}; done
	local IFS=';'
	printf '%s;\n' "${f[*]}"
}
{
	echo '# enum.fdb, written by hand'
	rec 1=lab1 2=QEMU 3=web1 4=/vm/web1/web1.ctys 5=11111111-2222-3333-4444-555555555555 \
	    6=00:50:56:13:11:30 7=10.0.0.1 12=debian 19=ACTIVE 28=lab1 30=KVM
	rec 1=lab1 2=QEMU '3=web\;2' 4=/vm/web2/web2.ctys 6=00:50:56:13:11:31 7=10.0.0.2 \
	    12=CentOS 19=DISABLED 28=lab9
	echo 'lab2;QEMU;broken;only;five'
	rec 1=lab2 2=QEMU '3=db\\x' 4=/vm/db/db.ctys 6=00:50:56:13:11:32 12=ubuntu 19=ACTIVE \
	    28=lab2 30=KVM
	echo
	rec 1=lab0 2=QEMU '3=multi\nline' 4=/vm/ml/ml.ctys 12=debian '43=a\;b' 47=VNC
} >"$DB/enum.fdb"

vh() {
	"$VHOST" -p "$DB" "$@"
}

# same "WANT" CMD...: the command succeeds and prints WANT (lines joined by spaces)
same() {
	local want=$1 got rc
	shift
	got=$("$@" 2>"$T/stderr")
	rc=$?
	got=$(paste -sd' ' <<<"$got")
	if [ "$rc" != 0 ]; then
		fail "'$*' exited $rc: $(cat "$T/stderr")"
	elif [ "$got" == "$want" ]; then
		ok "$* -> $want"
	else
		fail "'$*' printed '$got', expected '$want'"
	fi
}

# the query language (labels as TERSE prints them: `\;` `\\` `\n` escaped)
same 'web1 web\;2' vh -o LABEL web
same 'web\;2' vh -o LABEL lab1 DISABLED
same 'web1' vh -o LABEL lab1 AND ACTIVE
same 'db\\x multi\nline' vh -o LABEL db OR multi
same 'web\;2 db\\x multi\nline' vh -o LABEL lab2 OR lab1 DISABLED OR lab0
same 'web\;2 db\\x' vh -o LABEL lab1 DISABLED OR lab2
same 'db\\x multi\nline' vh -o LABEL NOT lab1
same 'web\;2' vh -o LABEL lab1 NOT ACTIVE
same 'web1 web\;2 multi\nline' vh -o LABEL NOT db or not QEMU
same 'web\;2' vh -o LABEL 'F:3:^web;2$'
same '' vh -o LABEL 'web;2'			# the raw line has `web\;2`
same 'web\;2' vh -o LABEL 'web\\;2'
same 'db\\x' vh -o LABEL 'F:label:^db\\x$'
same 'multi\nline' vh -o LABEL 'F:43:^a;b$' F:3:multi.line
same 'web1 db\\x' vh -o LABEL E:1:28
same 'web\;2 multi\nline' vh -o LABEL NOT E:host:netname
same '' vh -o LABEL WEB1			# case-sensitive
same 'web1 web\;2 db\\x multi\nline' vh -o LABEL
same 'web1;10.0.0.1' vh -o LABEL,TCP web1
same 'lab1;web1;00:50:56:13:11:30' vh -o H,L,M F:3:web1	# the original's short names

# -M
same 'web1' vh -o LABEL -M FIRST lab
same 'multi\nline' vh -o LABEL -M LAST QEMU
same 'web1 web\;2 db\\x multi\nline' vh -o LABEL -M ALL QEMU
same 'db\\x multi\nline' vh -o LABEL -M COMPLEMENT web
same 'multi\nline web1 web\;2 db\\x' vh -o LABEL -M SORT QEMU
same 'web1 web\;2 web1 web\;2' "$VHOST" -p "$DB,$DB" -o LABEL web
same 'web1 web\;2' "$VHOST" -p "$DB,$DB" -o LABEL -M USORT web
same 'web\;2' vh -o LABEL -M FIRST,COMPLEMENT ACTIVE
same 'multi\nline' vh -o LABEL -M LAST,COMPLEMENT ACTIVE
same 'web1' vh -o LABEL -M UNIQUE web1
same 'web1' "$VHOST" -p "$DB:$DB" -o LABEL -M UNIQUE web1	# the same record twice
expect 11 "'web' matches 2 records, UNIQUE wants one" vh -M UNIQUE web
expect 11 "$DB/enum.fdb:3: lab1;QEMU;web\\;2;" vh -M UNIQUE web
expect 3 "no record matches 'nothing'" vh -M UNIQUE nothing
expect 0 "" vh nothing
expect 2 "-M: FIRST and LAST exclude each other" vh -M FIRST,LAST web
expect 2 "-M: unknown mode 'BEST'" vh -M BEST web

# the bad line: reported with file and line, skipped, the rest used
expect 0 "$DB/enum.fdb:4: 5 fields, not 47; line skipped" vh -o LABEL web
same 'lab2;QEMU;db\\x' vh -o TERSE,HOST,TYPE,LABEL lab2

# output forms
out=$(vh -o MACHINE QEMU 2>/dev/null)
if python3 -c '
import sys
def fields(line):
    out, cur, i = [], [], 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line) and line[i + 1] in "\\;n":
            cur.append("\n" if line[i + 1] == "n" else line[i + 1]); i += 2; continue
        if c == ";":
            out.append("".join(cur)); cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out
lines = sys.stdin.read().splitlines()
assert len(lines) == 4, lines
recs = [fields(l) for l in lines]
assert all(len(r) == 47 for r in recs), [len(r) for r in recs]
assert recs[1][2] == "web;2" and recs[2][2] == "db\\x" and recs[3][2] == "multi\nline"
assert recs[3][42] == "a;b" and recs[3][46] == "VNC" and recs[0][29] == "KVM"
' <<<"$out"; then
	ok "-o MACHINE: 47 fields a record, decoded as docs/output.md says"
else
	fail "-o MACHINE: $out"
fi
if vh -o JSON 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [r["label"] for r in d] == ["web1", "web;2", "db\\x", "multi\nline"], d
assert len(d[0]) == 47 and d[0]["tcp"] == "10.0.0.1" and d[1]["uuid"] is None
assert d[3]["userstring"] == "a;b"
'; then
	ok "-o JSON parses, every field, values decoded"
else
	fail "-o JSON: $(vh -o JSON 2>&1)"
fi
# a raw backslash of the original (no escape) is written the canonical way; order is kept
mkdir -p "$T/db2"
{
	rec 1=h 3=a 4='c:\temp\x' 7=10.0.0.9
	rec 1=h 3=b 4=/vm/b 7=10.0.0.8
	rec 1=h 3=c 4='c:\\temp' 7=10.0.0.7
} >"$T/db2/enum.fdb"
same 'h;;a;c:\\temp\\x;;;10.0.0.9 h;;b;/vm/b;;;10.0.0.8 h;;c;c:\\temp;;;10.0.0.7' \
    sh -c "'$VHOST' -p '$T/db2' -o MACHINE | sed 's/;*\$//'"
same 'c:\temp\x c:\temp' sh -c "'$VHOST' -p '$T/db2' -o JSON temp | python3 -c 'import json,sys; print(*[r[\"id\"] for r in json.load(sys.stdin)])'"
same 'Label;TCP a;10.0.0.9' "$VHOST" -p "$T/db2" -o TERSE,TITLE,LABEL,TCP 'F:4:temp.x$'
same '' "$VHOST" -p "$T/db2" -o MACHINE nothing
same '1:Host;2:Type;3:Label' sh -c "'$VHOST' -p '$T/db2' -o MACHINE,TITLEIDX nothing | cut -d';' -f1-3"

same '[ { "label": "web1", "tcp": "10.0.0.1" } ]' sh -c "'$VHOST' -p '$DB' -o JSON,LABEL,TCP web1 | tr -s ' \n' ' ' | sed 's/ $//'"
table=$(vh web1 2>/dev/null)
if [ "$(head -n1 <<<"$table" | awk '{print $1}')" == Label ] && grep -q '^web1 .*10\.0\.0\.1' <<<"$table"; then
	ok "default: the table, with its header"
else
	fail "default table: $table"
fi
same 'Name        IP web1        10.0.0.1' vh -o TAB_GEN:label_Name_10%tcp_IP_8 web1
same '3:Label;7:TCP web1;10.0.0.1' vh -o TERSE,TITLEIDX,LABEL,TCP web1
expect 2 "-o: unknown output 'BOGUS'" vh -o BOGUS web
expect 2 "TAB_GEN: no field 'labl'" vh -o TAB_GEN:labl web

# bad queries
expect 2 "'a(': unmatched ( or \\(" vh 'a('
expect 2 "'F:99:x': no field '99' (1 to 47" vh F:99:x
expect 2 "'OR' needs a term before it" vh OR web
expect 2 "'NOT' at the end" vh web NOT
expect 2 "not supported" vh -C LIST web

# databases: missing ones, the default, several
expect 3 "no database '$T/nodb/enum.fdb'" "$VHOST" -p "$T/nodb" web
expect 3 "no database '$T/nodb/enum.fdb'" "$VHOST" -p "$DB,$T/nodb" web
expect 3 "no database '$HOME/.ctys/db/default/enum.fdb'" "$VHOST" web
mkdir -p "$HOME/.ctys/db/default"
rec 1=home 3=mine >"$HOME/.ctys/db/default/enum.fdb"
same 'mine' "$VHOST" -o LABEL
same 'mine web1' "$VHOST" -p "$HOME/.ctys/db/default,$DB" -o LABEL 'mine|web1'
same 'web1' "$VHOST" -p "$DB/enum.fdb" -o LABEL web1	# the file itself
exit 0
