# bash completion for ctys and ctys-vhost                                 -*- shell-script -*-
#
# ctys -a <TAB>                 the actions (from `ctys -h`), followed by `=`
# ctys -a ACTION=<TAB>          its suboptions (from `ctys -a ACTION -h`); in a `,` list only the
#                               last one is completed
# ctys -a ACTION=...,l:<TAB>    VM labels: the inventory (ctys-vhost) and the running VMs (LIST)
# ctys -a ACTION=...,p:<TAB>    files (also B:/BASEPATH: directories)
# ctys -t <TAB>                 the types (QEMU)
# ctys ... <TAB>                hosts and groups of the configuration (`ctys -a SHOW=CONF`) and
#                               the Host aliases of ~/.ssh/config
# ctys-vhost -M/-o/-p <TAB>     modes, output forms, database directories
#
# Only read-only commands are run (-h, SHOW=CONF, LIST, ctys-vhost), with errors silenced.
# Works without the bash-completion package: the word is taken from COMP_LINE/COMP_POINT and
# the part up to the last COMP_WORDBREAKS character (`=`, `:` ...) is trimmed from the replies.

# _ctys_words WORD PREV: sets _ctys_cur (the whitespace-separated word before the cursor) and
# _ctys_prev; under `compgen -F` (no COMP_LINE, no COMP_WORDS) they are WORD and PREV, and the
# replies are whole words (_ctys_whole)
_ctys_words() {
	local line toks n
	_ctys_whole=
	if [[ -z ${COMP_LINE-} && ${#COMP_WORDS[@]} -eq 0 ]]; then
		_ctys_cur=${1-} _ctys_prev=${2-} _ctys_whole=1
		return
	fi
	if [[ -n ${COMP_LINE-} ]]; then
		line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}
	else
		line="${COMP_WORDS[*]:0:COMP_CWORD+1}"
	fi
	read -ra toks <<<"$line"
	n=${#toks[@]}
	if [[ -z $line || $line == *[[:space:]] ]]; then
		_ctys_cur=
		_ctys_prev=${toks[n-1]-}
	else
		_ctys_cur=${toks[n-1]-}
		_ctys_prev=${toks[n-2]-}
	fi
}

# _ctys_reply CUR CANDIDATE...: the candidates starting with CUR (if none, compared in upper
# case), less the part of CUR readline does not replace (up to its last word-break character)
_ctys_reply() {
	local cur=$1 c lead wb=${COMP_WORDBREAKS-$' \t\n"\'><=;|&(:'} i
	shift
	COMPREPLY=()
	for c in "$@"; do [[ $c == "$cur"* ]] && COMPREPLY+=("$c"); done
	if ((${#COMPREPLY[@]} == 0)); then
		for c in "$@"; do [[ ${c^^} == "${cur^^}"* ]] && COMPREPLY+=("$c"); done
	fi
	# the prefix readline keeps: everything up to and including the last break character
	lead=
	[[ -n ${_ctys_whole-} ]] && wb=
	for ((i = ${#cur} - 1; i >= 0; i--)); do
		if [[ $wb == *"${cur:i:1}"* ]]; then
			lead=${cur:0:i+1}
			break
		fi
	done
	if [[ -n $lead ]]; then
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=${COMPREPLY[i]#"$lead"}
		done
	fi
	# no space after an unfinished word
	for c in "${COMPREPLY[@]}"; do
		case $c in *[=:,%/]) compopt -o nospace 2>/dev/null; break ;; esac
	done
	return 0
}

_ctys_cmd() {	# the ctys in PATH
	command -v ctys 2>/dev/null || echo ctys
}

_ctys_actions() {
	timeout 2 "$(_ctys_cmd)" -h 2>&1 | sed -n '/^actions:/,/^$/s/^  \([A-Z][A-Z]*\) .*/\1/p'
}

# _ctys_subopts ACTION: its suboption names, with `:` after those that take an argument
_ctys_subopts() {
	timeout 2 "$(_ctys_cmd)" -a "$1" -h 2>&1 | awk '
		/^suboptions/ { on = 1; next }
		on && /^  [A-Z]/ {
			tok = $1; arg = ""
			if (tok ~ /^[^[]*:</) arg = ":"
			sub(/[:\[].*/, "", tok)
			n = split(tok, names, "|")
			for (i = 1; i <= n; i++) if (names[i] != "") print names[i] arg
		}'
}

_ctys_labels() {
	local vhost
	vhost=$(command -v ctys-vhost 2>/dev/null)
	{
		[[ -n $vhost ]] && timeout 2 "$vhost" -o LABEL -M USORT . 2>/dev/null
		timeout 2 "$(_ctys_cmd)" -a LIST=TERSE,LABEL 2>/dev/null
	} | sed '/^$/d' | sort -u
}

_ctys_hosts() {
	{
		timeout 2 "$(_ctys_cmd)" -a SHOW=CONF 2>/dev/null |
		    sed -n 's/^[[:space:]]*\(host\|group\)[[:space:]]*"\([^"]*\)".*/\2/p'
		[[ -r ~/.ssh/config ]] && awk 'tolower($1) == "host" {
			for (i = 2; i <= NF; i++) if ($i !~ /[*?!]/) print $i }' ~/.ssh/config 2>/dev/null
	} | sort -u
}

# _ctys_action_arg CUR: completes ACTION[=SUBOPT,...]
_ctys_action_arg() {
	local cur=$1 action subs head frag key val c
	local -a cands=()
	if [[ $cur != *=* ]]; then
		for c in $(_ctys_actions); do cands+=("$c="); done
		_ctys_reply "$cur" "${cands[@]}"
		return
	fi
	action=${cur%%=*}
	subs=${cur#*=}
	if [[ $subs == *,* ]]; then
		head=${cur%,*},
		frag=${subs##*,}
	else
		head=$action=
		frag=$subs
	fi
	if [[ $frag == *:* ]]; then
		key=${frag%%:*}
		val=${frag#*:}
		case ${key^^} in
		L | LABEL)
			for c in $(_ctys_labels); do cands+=("$head$key:$c"); done ;;
		I | ID | P | PNAME | PATHNAME)
			while IFS= read -r c; do
				[[ -d $c ]] && c+=/
				cands+=("$head$key:$c")
			done < <(compgen -f -- "$val") ;;
		B | BASE | BASEPATH)
			while IFS= read -r c; do cands+=("$head$key:$c/"); done < <(compgen -d -- "$val") ;;
		*) return 0 ;;
		esac
	else
		for c in $(_ctys_subopts "${action^^}"); do cands+=("$head$c"); done
	fi
	_ctys_reply "$cur" "${cands[@]}"
}

_ctys() {
	local _ctys_cur _ctys_prev _ctys_whole
	COMPREPLY=()
	_ctys_words "${2-}" "${3-}"
	# under compgen -F the previous word is unknown: ACTION=... is still recognised
	[[ -n $_ctys_whole && -z $_ctys_prev && $_ctys_cur == [A-Za-z]*=* ]] && _ctys_prev=-a
	case $_ctys_prev in
	-a) _ctys_action_arg "$_ctys_cur"; return 0 ;;
	-t) _ctys_reply "$_ctys_cur" QEMU; return 0 ;;
	-T) _ctys_reply "$_ctys_cur" QEMU ALL; return 0 ;;
	-d) _ctys_reply "$_ctys_cur" 0 1 2 3; return 0 ;;
	esac
	if [[ $_ctys_cur == -* ]]; then
		_ctys_reply "$_ctys_cur" -a -t -T -d -q -h --version --
	else
		_ctys_reply "$_ctys_cur" $(_ctys_hosts)
	fi
	return 0
}

_ctys_vhost() {
	local _ctys_cur _ctys_prev _ctys_whole c
	local -a cands=()
	COMPREPLY=()
	_ctys_words "${2-}" "${3-}"
	case $_ctys_prev in
	-M)
		_ctys_reply "$_ctys_cur" FIRST LAST ALL COMPLEMENT SORT USORT UNIQUE ;;
	-o)
		for c in MACHINE TERSE JSON TITLE TITLEIDX TAB_GEN: SORT: LABEL ID UUID MAC TCP HOST; do
			[[ $_ctys_cur == *,* ]] && c=${_ctys_cur%,*},$c
			cands+=("$c")
		done
		_ctys_reply "$_ctys_cur" "${cands[@]}" ;;
	-p)
		while IFS= read -r c; do cands+=("$c/"); done < <(compgen -d -- "$_ctys_cur")
		_ctys_reply "$_ctys_cur" "${cands[@]}" ;;
	*)
		[[ $_ctys_cur == -* ]] && _ctys_reply "$_ctys_cur" -o -M -p -d -h -V ;;
	esac
	return 0
}

complete -F _ctys ctys
complete -F _ctys_vhost ctys-vhost
