# The Debian 12 packages ctys needs, in one place (sourced by setup.sh and test.sh).
# Build: compiler, CMake, pkg-config and the chosen libraries (DEVELOPERS.md).
CTYS_BUILD_DEPS="gcc make cmake pkg-config libconfuse-dev libssh-dev libvncserver-dev
libsdl2-dev uuid-dev libjson-c-dev libpng-dev libpcre2-dev"
# Run: QEMU itself (and qemu-img), procps for the tests' pgrep.
CTYS_RUN_DEPS="qemu-system-x86 qemu-utils procps"
# Tests: clang + its runtimes for libFuzzer, python3 for socket helpers, bc for timings,
# an X server and tools for the graphical consoles, QEMU's SDL display, sshd and ssh for
# the ssh hosts of the remote tests (tests/tools/sshhosts.sh).
CTYS_TEST_DEPS="clang libclang-rt-14-dev python3 bc man-db xvfb xauth x11-utils xterm qemu-system-gui
openssh-server openssh-client"

# ctys_apt_install PKG...: installs what is missing (apt-get update once, only if needed).
ctys_apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "setup: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
