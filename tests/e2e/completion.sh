#!/bin/bash
# smoke
# The bash completion (completion/ctys.bash) in a plain, non-interactive bash without the
# bash-completion package: COMP_* set by hand, _ctys called, COMPREPLY checked. It completes
# an action, the suboptions of one, a label from the inventory, a host and a group of the
# configuration and an ssh Host alias; and the same through `compgen -F`.
. "$(dirname "$0")/../lib.sh"

: "${CTYS_BUILD:?}"
COMPLETION=$CTYS_SRC/completion/ctys.bash

# the inventory of this test's HOME: one VM, not running
make_vm complabel >/dev/null
"$CTYS_BUILD/bin/ctys-vdbgen" "B:$T/vms" >"$T/vdbgen.out" 2>&1 ||
    fail "ctys-vdbgen failed: $(cat "$T/vdbgen.out")"

mkdir -p "$HOME/.ctys" "$HOME/.ssh"
cat >"$HOME/.ctys/ctys.conf" <<'EOF'
host "lab1" { address = "127.0.0.1" }
group "lab" { members = {"lab1"} }
EOF
printf 'Host sshbox *.wild\n  HostName 127.0.0.1\n' >"$HOME/.ssh/config"

# complete LINE [WORDBREAKS]: the replies of _ctys for LINE (cursor at its end), one a line.
# COMP_WORDS is split on spaces only; the script takes its word from COMP_LINE.
complete_line() {
	local line=$1 wb=${2-}
	bash -c '
		PATH=$1/bin:$PATH
		. "$2" || exit 9
		[ -n "$4" ] && COMP_WORDBREAKS=$4
		COMP_LINE=$3
		COMP_POINT=${#COMP_LINE}
		read -ra COMP_WORDS <<<"$COMP_LINE"
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		[[ $COMP_LINE == *" " ]] && { COMP_WORDS+=(""); COMP_CWORD=$((COMP_CWORD + 1)); }
		_ctys ctys "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' complete "$CTYS_BUILD" "$COMPLETION" "$line" "$wb"
}

# want LINE EXPECTED [WORDBREAKS]: EXPECTED is one of the replies (and there are replies)
want() {
	local out t0 t1 ms
	t0=$(date +%s%N)
	out=$(complete_line "$1" "${3-}")
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	if [ -z "$out" ]; then
		fail "'$1' completed nothing (expected '$2')"
	elif ! grep -qxF -- "$2" <<<"$out"; then
		fail "'$1' completed to '$(echo $out)', expected '$2' among them"
	else
		ok "'$1' -> '$2' (${ms}ms)"
	fi
	[ "$ms" -lt 2000 ] || fail "'$1' took ${ms}ms"
}

# with bash's default COMP_WORDBREAKS (`=` and `:` break words): the replies replace only
# the part after the last of them
want "ctys -a LI" "LIST="
want "ctys -a CANC" "CANCEL="
want "ctys -a CANCEL=" "FORCE"
want "ctys -a CANCEL=l:" "complabel"
want "ctys -a CANCEL=l:comp" "complabel"
want "ctys -a CANCEL=LABEL:c" "complabel"
want "ctys -a CANCEL=l:x,FO" "x,FORCE"
want "ctys -a CANCEL=l:x,LA" "x,LABEL:"
want "ctys -a LIST=TERSE,LAB" "TERSE,LABEL"
want "ctys -t Q" "QEMU"
want "ctys -a LIST la" "lab1"
want "ctys -a LIST la" "lab"
want "ctys -a LIST " "sshbox"
# without `=` and `:` among the word breaks: the whole word is replaced
want "ctys -a CANCEL=l:" "CANCEL=l:complabel" $' \t\n'
want "ctys -a CANCEL=l:x,FO" "CANCEL=l:x,FORCE" $' \t\n'

# a wildcard Host is not offered; nothing is offered for an unknown action
out=$(complete_line "ctys -a LIST ")
grep -q 'wild' <<<"$out" && fail "a wildcard ssh Host was offered: $(echo $out)"
out=$(complete_line "ctys -a NOSUCH=")
[ -z "$out" ] || fail "suboptions offered for an unknown action: $(echo $out)"

# through compgen: `compgen -F _ctys -- WORD` (no command line: the word alone, ACTION=...
# recognised by its `=`), and the replies for a command line filtered by compgen -W as
# readline would (each must match the word readline replaces)
out=$(PATH=$CTYS_BUILD/bin:$PATH bash -c '
	. "$1" || exit 9
	complete -p ctys | grep -q -- "-F _ctys ctys" || exit 8
	compgen -F _ctys -- LIST=TER 2>/dev/null
	compgen -F _ctys -- CANCEL=l:comp 2>/dev/null
	compgen -F _ctys -- CANCEL=l:x,FO 2>/dev/null
	compgen -F _ctys -- la 2>/dev/null
	COMP_LINE="ctys -a LI"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(ctys -a LI); COMP_CWORD=2
	_ctys ctys LI -a
	compgen -W "${COMPREPLY[*]}" -- LI
	COMP_LINE="ctys -a CANCEL=l:co"; COMP_POINT=${#COMP_LINE}
	COMP_WORDS=(ctys -a CANCEL = l : co); COMP_CWORD=6
	_ctys ctys co :
	compgen -W "${COMPREPLY[*]}" -- co
' complete "$COMPLETION")
for w in LIST=TERSE CANCEL=l:complabel CANCEL=l:x,FORCE lab1 lab LIST= complabel; do
	if grep -qxF -- "$w" <<<"$out"; then
		ok "compgen: $w"
	else
		fail "compgen did not give '$w': $(echo $out)"
	fi
done

# completing changed nothing: no VM runs
[ -z "$(ls -A "$T/run" 2>/dev/null)" ] || fail "completion left runtime state: $(ls -A "$T/run")"
