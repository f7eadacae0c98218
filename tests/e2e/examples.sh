#!/bin/bash
# smoke
# Runs every example of README.md marked `<!-- example -->` (or `<!-- example exit=N -->`)
# against the tiny guest, from a directory laid out like the source tree after setup.sh,
# so that no documented command can rot.
. "$(dirname "$0")/../lib.sh"

work=$T/work
mkdir -p "$work/build/vms/demo" "$T/bin"
for b in "$(dirname "$CTYS")"/*; do ln -s "$b" "$T/bin/"; done
export PATH=$T/bin:$PATH TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
def=$(make_vm demo)
mv "$def" "$work/build/vms/demo/demo.ctys"
n=0
extract() {	# FILE -> blocks separated by NUL, each prefixed with its expected exit status
	awk '
		/<!-- example( exit=[0-9]+)? -->/ { want = 0; if (match($0, /exit=[0-9]+/)) want = substr($0, RSTART + 5, RLENGTH - 5); armed = 1; next }
		armed && /^```/ && !inblock { inblock = 1; printf "%s\n", want; next }
		inblock && /^```/ { inblock = 0; armed = 0; printf "%c", 0; next }
		inblock { print }
	' "$1"
}
for doc in "$CTYS_SRC/README.md"; do
	while IFS= read -r -d '' block; do
		want=${block%%$'\n'*}
		code=${block#*$'\n'}
		n=$((n + 1))
		out=$(cd "$work" && bash -e -c "$code" 2>&1); rc=$?
		if [ "$rc" != "$want" ]; then
			fail "$(basename "$doc") example $n exited $rc (want $want):"$'\n'"$code"$'\n'"--- output:"$'\n'"$out"
		else
			ok "$(basename "$doc") example $n"
		fi
	done < <(extract "$doc")
done
[ $n -ge 4 ] || fail "only $n examples found"
"$CTYS" -a CANCEL=ALL,FORCE
no_leftovers
