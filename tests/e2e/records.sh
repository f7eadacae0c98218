#!/bin/bash
# Golden records: definitions covering every key that reaches the inventory, in the
# original template's style (padded and unquoted magic keys, commented-out keys, parameter
# expansions, case/if blocks) and both layouts, with spaces, ';', quotes and UTF-8 in
# values. ENUMERATE (MACHINE, default filter and MATCHVSTAT:ALL) and the round trip through
# ctys-vdbgen and ctys-vhost must give tests/golden/records/*.fdb, machine-dependent fields
# normalised (tests/tools/fdbnorm.py). CTYS_GOLDEN_UPDATE=1 rewrites the golden files.
# Also: an unreadable directory is reported once (ctys run as nobody) and the scan goes on.
# smoke
. "$(dirname "$0")/../lib.sh"
G=$CTYS_SRC/tests/golden/records
cp -r "$G/tree" "$T/tree"
norm() { python3 "$CTYS_SRC/tests/tools/fdbnorm.py" "$T/tree" "$(id -un)" "$(id -gn)" "$(hostname)"; }

check() {	# NAME GOLDEN-FILE: stdin against the golden file
	local got
	got=$(norm)
	if [ "${CTYS_GOLDEN_UPDATE:-}" = 1 ]; then
		printf '%s\n' "$got" >"$2"
		ok "$1: $2 rewritten"
	elif [ "$got" = "$(cat "$2")" ]; then
		ok "$1"
	else
		fail "$1 differs from $2:
$(diff <(printf '%s\n' "$got") "$2")"
	fi
}

"$CTYS" -a "ENUMERATE=B:$T/tree,MACHINE" | check "ENUMERATE MACHINE" "$G/default.fdb"
"$CTYS" -a "ENUMERATE=B:$T/tree,MACHINE,MATCHVSTAT:ALL" | check "MATCHVSTAT:ALL" "$G/all.fdb"
# the same records through the database and the query tool
"$CTYS_BUILD/bin/ctys-vdbgen" -p "$T/db" "B:$T/tree" >/dev/null || fail "ctys-vdbgen"
"$CTYS_BUILD/bin/ctys-vhost" -p "$T/db" -M ALL -o MACHINE . | check "ctys-vdbgen (every state) + ctys-vhost" "$G/all.fdb"
# decoded values in JSON: the ';' and the UTF-8 as they were written
"$CTYS" -a "ENUMERATE=B:$T/tree,JSON,SORT:label" | python3 -c '
import json, sys
v = {r["label"]: r for r in json.load(sys.stdin)}
assert v["web1"]["context"] == "rack 4; shelf 2", v["web1"]
assert v["web1"]["userstring"] == "owner: Jürgen Größe", v["web1"]
assert v["legacy vm"]["userstring"] == "single; quoted", v["legacy vm"]
assert v["Straße 3"]["mac"] == "52:54:00:bb:00:03", v["Straße 3"]
' || fail "ENUMERATE JSON values"

# a definition with unsafe or broken lines: reported with file:line, the rest of it used;
# a file over the size limit: skipped with a warning; the scan goes on past both
mkdir -p "$T/tree/bad" "$T/tree/big"
printf '#@#MAGICID-QEMU\n#@#LABEL="bad"\nMEMSIZE=$(reboot)\nSMP="unterminated\n' >"$T/tree/bad/bad.ctys"
{ printf '#@#MAGICID-QEMU\n#@#LABEL="big"\n'; head -c 300000 /dev/zero | tr '\0' '#'; } >"$T/tree/big/big.ctys"
out=$("$CTYS" -a "ENUMERATE=B:$T/tree,TERSE,LABEL,SORT:label" 2>"$T/err")
[ "$out" = "$(printf 'Straße 3\nbad\nlegacy vm\noff\nweb1\nweb1\nweb1')" ] || fail "scan past bad files: $out"
grep -qF "$T/tree/bad/bad.ctys:3: warning: MEMSIZE: command substitution" "$T/err" &&
	grep -qF "$T/tree/bad/bad.ctys:4: warning: SMP: unterminated double quote" "$T/err" &&
	grep -qF "$T/tree/big/big.ctys: larger than 256 KiB, skipped" "$T/err" ||
	fail "warnings: $(cat "$T/err")"

# an unreadable directory: reported once (though three base paths reach it), the rest
# scanned. As nobody, in a tree outside the 0700 test directory, with a copy of ctys.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	U=$(mktemp -d /tmp/ctys-unread.XXXXXX)
	trap 'rm -rf "$U"; cleanup' EXIT
	chmod 755 "$U"
	mkdir -p "$U/tree/ok/ok" "$U/tree/secret/vm" "$U/home"
	printf '#@#MAGICID-QEMU\n#@#LABEL="ok"\n' >"$U/tree/ok/ok/ok.ctys"
	printf '#@#MAGICID-QEMU\n#@#LABEL="sec"\n' >"$U/tree/secret/vm/vm.ctys"
	chmod 700 "$U/tree/secret"
	chown nobody "$U/home"
	cp "$CTYS" "$U/ctys"
	out=$(cd / && setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
	    env HOME="$U/home" CTYS_RUNDIR="$U/home/run" \
	    "$U/ctys" -a "ENUMERATE=B:$U/tree%$U/tree%$U/tree/secret,TERSE,LABEL" 2>"$U/err")
	[ "$out" = ok ] || fail "unreadable directory: records '$out'"
	[ "$(grep -c "$U/tree/secret: cannot read directory: Permission denied" "$U/err")" = 1 ] &&
		[ "$(wc -l <"$U/err")" = 1 ] || fail "unreadable directory not reported once: $(cat "$U/err")"
else
	echo "skip: the unreadable-directory check needs root (to become nobody)"
fi
