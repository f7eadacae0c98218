# Shared by the end-to-end tests: a private runtime dir, HOME and state per test, the tiny
# guest, helpers, and a cleanup trap that leaves no QEMU, supervisor or directory behind.
# Logs are shown only when a test fails.
set -u
: "${CTYS_BIN:?}" "${CTYS_GUEST:?}" "${CTYS_SRC:?}"
CTYS=$CTYS_BIN
SOCKIO="python3 $CTYS_SRC/tests/tools/sockio.py"
T=$(mktemp -d /tmp/ctys-test.XXXXXX)
export CTYS_RUNDIR=$T/run HOME=$T/home XDG_STATE_HOME=$T/state XDG_CACHE_HOME=$T/cache
export CTYS_SYSTEM_CONF=$T/no-system.conf
unset XDG_RUNTIME_DIR CTYS_CONF CTYS_QEMU_PATH
mkdir -p "$HOME"
FAILED=0
TESTNAME=$(basename "$0" .sh)

fail() {
	echo "FAIL: $TESTNAME: $*" >&2
	FAILED=1
}

ok() {
	echo "ok: $*"
}

show_logs() {
	local f
	for f in "$T"/run/*/supervisor.log "$T"/run/*/qemu.log "$T"/run/*/console.log \
	    "$T"/state/ctys/exits/*.json; do
		[ -f "$f" ] || continue
		echo "--- $f" >&2
		tail -n 40 "$f" >&2
	done
}

cleanup() {
	local rc=$?
	[ "$FAILED" = 0 ] || rc=1
	[ $rc = 0 ] || show_logs
	"$CTYS" -a CANCEL=ALL,FORCE >/dev/null 2>&1
	# anything of this test still alive is a bug: report it, then remove it
	local left
	left=$(pgrep -f "$T" || true)
	if [ -n "$left" ]; then
		echo "FAIL: $TESTNAME: processes left behind: $(ps -o pid=,args= -p "$(echo $left | tr ' ' ',')")" >&2
		kill -9 $left 2>/dev/null
		rc=1
	fi
	rm -rf "$T"
	if [ $rc = 0 ]; then echo "PASS: $TESTNAME"; else echo "FAIL: $TESTNAME"; fi
	exit $rc
}
trap cleanup EXIT

# make_vm NAME [EXTRA-APPEND] [more definition lines...]: a definition under $T/vms/NAME/
make_vm() {
	local name=$1 append=${2:-}
	shift 2 2>/dev/null || shift $#
	local dir=$T/vms/$name
	mkdir -p "$dir"
	{
		echo "#@#MAGICID-QEMU"
		echo "#@#LABEL = \"$name\""
		echo "MEMSIZE=192"
		echo "KERNELIMAGE=$CTYS_GUEST/vmlinuz"
		echo "INITRDIMAGE=$CTYS_GUEST/initrd.gz"
		echo "APPEND=\"console=ttyS0 quiet loglevel=1 panic=-1 ctys.test=$T $append\""
		for l in "$@"; do echo "$l"; done
	} >"$dir/$name.ctys"
	echo "$dir/$name.ctys"
}

# vmdir LABEL: the runtime directory of a running VM
vmdir() {
	grep -lx -- "$1" "$T"/run/*/label 2>/dev/null | head -n1 | xargs -r dirname
}

# wait_console LABEL PATTERN [SECONDS]
wait_console() {
	local d i n=${3:-30}
	for ((i = 0; i < n * 10; i++)); do
		d=$(vmdir "$1")
		if [ -n "$d" ] && grep -q -- "$2" "$d/console.log" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	fail "'$2' did not appear on the console of '$1' within ${n}s"
	return 1
}

# expect RC "STDERR-SUBSTRING" CMD...: exit status and message of a command
expect() {
	local want=$1 msg=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "'$*' exited $rc, expected $want: $out"
		return 1
	fi
	if [ -n "$msg" ] && ! grep -qF -- "$msg" <<<"$out"; then
		fail "'$*' said '$out', expected '$msg'"
		return 1
	fi
	ok "$* -> $rc${msg:+ ($msg)}"
}

# no_leftovers: no runtime directory and no QEMU of this test
no_leftovers() {
	if [ -n "$(ls -A "$T/run" 2>/dev/null)" ]; then
		fail "runtime directory not empty: $(ls -A "$T/run")"
	fi
	if pgrep -f "$T" >/dev/null; then
		fail "a process of this test is still running"
	fi
}

# alive PID: the process exists and is not a zombie
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

exit_record() {
	cat "$T"/state/ctys/exits/*.json 2>/dev/null
}
