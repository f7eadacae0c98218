#!/bin/bash
# Build a tiny real Linux test guest from Debian 12 packages only.
#
#   tests/guest/build.sh OUTDIR
#
# Produces OUTDIR/vmlinuz, OUTDIR/initrd.gz (busybox userland) and
# OUTDIR/initrd-agent.gz (the same plus qemu-ga). Nothing is installed on the
# host for the guest itself: the kernel, busybox-static and qemu-guest-agent
# packages are fetched with `apt-get download` into OUTDIR/debs (a cache) and
# unpacked with `dpkg -x`. Only the shared libraries qemu-ga needs are taken
# from the host (installed with apt-get if missing).
# See tests/guest/README.md for what the guest does.
set -euo pipefail

KERNEL_META=linux-image-cloud-amd64
BUSYBOX_PKG=busybox-static
QGA_PKG=qemu-guest-agent
# Load order matters (no modules.dep, no modprobe in the guest).
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
virtio_console evdev button pvpanic pvpanic-pci failover net_failover virtio_net virtio_blk"

log() { printf 'guest: %s\n' "$*" >&2; }
die() { printf 'guest: error: %s\n' "$*" >&2; exit 1; }

if [ $# -ne 1 ] || [ -z "$1" ]; then echo "usage: $0 OUTDIR" >&2; exit 2; fi
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
SELF=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPT_SHA=$(sha256sum "$SELF" | cut -d' ' -f1)

# ---------------------------------------------------------------- apt helpers
# Retry apt-get while another process holds the dpkg/apt locks.
apt_retry() {
    local i out rc
    for i in $(seq 1 60); do
        rc=0
        out=$(apt-get -o DPkg::Lock::Timeout=120 "$@" 2>&1) || rc=$?
        if [ $rc -eq 0 ]; then return 0; fi
        if grep -iE 'could not get lock|unable to lock|lock-frontend|is another process using it' <<<"$out" >/dev/null; then
            [ "$i" -eq 1 ] && log "apt/dpkg is locked by another process, waiting..."
            sleep 5
            continue
        fi
        printf '%s\n' "$out" >&2
        return $rc
    done
    log "gave up waiting for the apt/dpkg lock"
    return 1
}

APT_SHOW=""
apt_show() {  # fills APT_SHOW with candidate records of the packages we need
    APT_SHOW=$(apt-cache show --no-all-versions "$KERNEL_META" "$BUSYBOX_PKG" "$QGA_PKG" 2>/dev/null || true)
}
# field PKG FIELD -> value from APT_SHOW
field() {
    awk -v p="$1" -v f="$2:" '
        /^Package: / { cur = $2 }
        cur == p && $1 == f && !done { sub(/^[^:]*: */, ""); print; done = 1 }' <<<"$APT_SHOW"
}

KPKG="" KVER="" BBVER="" QGAVER=""
resolve_versions() {
    apt_show
    if ! grep -x "Package: $KERNEL_META" <<<"$APT_SHOW" >/dev/null; then
        return 1
    fi
    local dep
    dep=$(field "$KERNEL_META" Depends | tr ',' '\n' | grep -oE 'linux-image-[0-9][^ ]*( \(= [^)]*\))?' | head -n1 || true)
    KPKG=${dep%% *}
    KVER=$(printf '%s' "$dep" | sed -n 's/.*(= \(.*\))/\1/p')
    if [ -z "$KPKG" ]; then   # fall back to apt-cache depends, as documented
        KPKG=$(apt-cache depends "$KERNEL_META" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ && !k { k = $2 } END { print k }')
    fi
    [ -n "$KPKG" ] || return 1
    if [ -z "$KVER" ]; then
        KVER=$(apt-cache policy "$KPKG" 2>/dev/null | awk '/Candidate:/ && !v { v = $2 } END { print v }')
    fi
    BBVER=$(field "$BUSYBOX_PKG" Version)
    QGAVER=$(field "$QGA_PKG" Version)
    [ -n "$KVER" ] && [ "$KVER" != "(none)" ] && [ -n "$BBVER" ]
}

# fetch PKG VERSION -> prints the path of the cached .deb
fetch() {
    local pkg=$1 ver=$2 f
    f="$OUT/debs/${pkg}_${ver//:/%3a}_amd64.deb"
    if [ ! -s "$f" ]; then
        log "downloading $pkg $ver"
        mkdir -p "$OUT/debs"
        (cd "$OUT/debs" && apt_retry -q -o APT::Sandbox::User=root download "$pkg=$ver") \
            || die "apt-get download $pkg=$ver failed"
        # shellcheck disable=SC2012
        [ -s "$f" ] || f=$(ls -t "$OUT/debs/${pkg}_"*"_amd64.deb" 2>/dev/null | sed -n 1p || true)
        [ -s "$f" ] || die "downloaded $pkg but cannot find its .deb in $OUT/debs"
        find "$OUT/debs" -maxdepth 1 -name "${pkg}_*.deb" ! -path "$f" -delete  # older versions
    fi
    printf '%s\n' "$f"
}

outputs_exist() {
    [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.gz" ] && [ -s "$OUT/initrd-agent.gz" ]
}

# ---------------------------------------------------------------- up to date?
exec 9>"$OUT/.lock"
flock 9     # one build per OUTDIR at a time; the loser then sees "up to date"

if ! resolve_versions; then
    log "apt-cache knows no $KERNEL_META; running apt-get update"
    if apt_retry -q update >/dev/null && resolve_versions; then
        :
    elif outputs_exist && [ -f "$OUT/stamp" ] && grep -qx "script-sha256 $SCRIPT_SHA" "$OUT/stamp"; then
        echo "guest: up to date (package lists unavailable; kept the existing build)"
        exit 0
    else
        die "cannot resolve $KERNEL_META / $BUSYBOX_PKG with apt-cache (apt-get update failed?)"
    fi
fi

STAMP="script-sha256 $SCRIPT_SHA
kernel $KPKG $KVER
busybox $BUSYBOX_PKG $BBVER
agent $QGA_PKG ${QGAVER:-none}"

if outputs_exist && [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ]; then
    echo "guest: up to date"
    exit 0
fi

# ---------------------------------------------------------------- build
for tool in dpkg apt-get gzip sha256sum find ldd; do
    command -v "$tool" >/dev/null || die "host tool '$tool' is missing"
done

WORK=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

KDEB=$(fetch "$KPKG" "$KVER")
BBDEB=$(fetch "$BUSYBOX_PKG" "$BBVER")

log "unpacking $(basename "$KDEB")"
dpkg -x "$KDEB" "$WORK/kernel"
dpkg -x "$BBDEB" "$WORK/busybox"

BB="$WORK/busybox/bin/busybox"
[ -x "$BB" ] || BB=$(find "$WORK/busybox" -type f -name busybox -perm -u+x -print -quit)
{ [ -n "$BB" ] && [ -x "$BB" ]; } || die "no busybox binary in $(basename "$BBDEB")"

VMLINUZ=$(find "$WORK/kernel/boot" -name 'vmlinuz-*' -type f -print -quit)
[ -n "$VMLINUZ" ] || die "no vmlinuz in $(basename "$KDEB")"
KMODDIR=$(find "$WORK/kernel/lib/modules" "$WORK/kernel/usr/lib/modules" -mindepth 1 -maxdepth 1 -type d -print -quit 2>/dev/null || true)
[ -n "$KMODDIR" ] || die "no /lib/modules/<version> in $(basename "$KDEB")"

# ---- root filesystem (common part)
R="$WORK/root"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,var/log,lib/modules}
mkdir -p "$R/etc/acpi/PWRF" "$R/etc/udhcpc"
ln -s ../run "$R/var/run"
chmod 1777 "$R/tmp"
cp "$BB" "$R/bin/busybox"
chmod 755 "$R/bin/busybox"
# applet links, at build time (no `busybox --install` at every boot)
"$BB" --list-full | while read -r applet; do
    if [ -z "$applet" ] || [ -e "$R/$applet" ] || [ -L "$R/$applet" ]; then continue; fi
    mkdir -p "$R/$(dirname "$applet")"
    ln -s /bin/busybox "$R/$applet"
done
[ -e "$R/bin/sh" ] || [ -L "$R/bin/sh" ] || ln -s busybox "$R/bin/sh"

# kernel modules: uncompressed .ko, flat in /lib/modules
missing=""
for m in $MODULES; do
    src=$(find "$KMODDIR/kernel" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" \) -print -quit)
    if [ -z "$src" ]; then missing="$missing $m"; continue; fi
    case "$src" in
        *.ko)     cp "$src" "$R/lib/modules/$m.ko" ;;
        *.ko.xz)  "$BB" xzcat "$src" > "$R/lib/modules/$m.ko" ;;
        *.ko.gz)  gzip -dc "$src" > "$R/lib/modules/$m.ko" ;;
        *.ko.zst) command -v zstd >/dev/null || die "$src is zstd-compressed and zstd is missing"
                  zstd -qdc "$src" > "$R/lib/modules/$m.ko" ;;
    esac
done
[ -z "$missing" ] || log "note: modules not in this kernel (the guest skips them):$missing"
for m in virtio_ring virtio virtio_pci virtio_console evdev button; do
    [ -f "$R/lib/modules/$m.ko" ] || die "essential module $m.ko not found in $(basename "$KDEB")"
done

cat > "$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
EOF
cat > "$R/etc/group" <<'EOF'
root:x:0:
EOF
cat > "$R/etc/os-release" <<EOF
NAME="ctys test guest"
ID=ctys-guest
PRETTY_NAME="ctys test guest (Debian $KPKG, busybox $BBVER)"
VERSION_ID=1
EOF
echo ctys-guest > "$R/etc/hostname"

cat > "$R/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
# ACPI power button (QMP system_powerdown): power off at once.
# (plain `poweroff` does nothing: /init is a shell script, not an init daemon)
sync
exec poweroff -f
EOF
chmod 755 "$R/etc/acpi/PWRF/00000080"

cat > "$R/etc/udhcpc/default.script" <<'EOF'
#!/bin/sh
# udhcpc event script: configure address, default route and DNS.
[ -n "$1" ] || exit 1
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set dev "$interface" up
    ;;
bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" broadcast "${broadcast:-+}" dev "$interface"
    if [ -n "$router" ]; then
        while ip route del default dev "$interface" 2>/dev/null; do :; done
        for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    fi
    if [ -n "$dns" ]; then
        : > /etc/resolv.conf
        [ -n "$domain" ] && echo "search $domain" >> /etc/resolv.conf
        for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    fi
    ;;
esac
exit 0
EOF
chmod 755 "$R/etc/udhcpc/default.script"

cat > "$R/init" <<'EOF'
#!/bin/sh
# ctys test guest /init (busybox sh). See tests/guest/README.md.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root TERM=${TERM:-vt100}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /dev/virtio-ports
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=755 tmpfs /run
hostname -F /etc/hostname 2>/dev/null
ip link set lo up 2>/dev/null

CMDLINE=$(cat /proc/cmdline)
has_opt() { case " $CMDLINE " in *" $1 "*) return 0;; esac; return 1; }
CONSOLE=/dev/ttyS0
[ -c "$CONSOLE" ] || CONSOLE=/dev/console
log() { echo "<4>ctys-guest: $*" > /dev/kmsg 2>/dev/null; echo "$*" >> /run/ctys-init.log; }

# --- kernel modules, in dependency order (only those shipped)
failed=""
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
         virtio_console evdev button pvpanic pvpanic-pci \
         failover net_failover virtio_net virtio_blk; do
    [ -f /lib/modules/$m.ko ] || continue
    insmod /lib/modules/$m.ko 2>/dev/null || failed="$failed $m"
done
[ -z "$failed" ] || log "insmod failed:$failed"

# --- /dev/virtio-ports/NAME links (no udev here); names arrive asynchronously
vport_links() {  # returns 1 while some port has no name yet
    ok=0
    for p in /sys/class/virtio-ports/vport*; do
        [ -e "$p" ] || continue
        n=; read -r n < "$p/name" 2>/dev/null
        if [ -z "$n" ]; then ok=1; continue; fi
        [ -e "/dev/virtio-ports/$n" ] || ln -sf "../${p##*/}" "/dev/virtio-ports/$n"
    done
    return $ok
}
# (builtins only in these loops: every fork is slow under TCG)
have_vser() { for d in /sys/bus/virtio/drivers/virtio_console/virtio*; do [ -e "$d" ] && return 0; done; return 1; }
have_ports() { for d in /sys/class/virtio-ports/vport*; do [ -e "$d" ] && return 0; done; return 1; }
# QEMU adds all ports of a virtio-serial device at once, their names follow:
# "settled" = every port has a name (or, after ~1 s, there are no ports at all).
ports_settled=1
if have_vser; then
    ports_settled=0 i=0
    while [ $i -lt 20 ]; do
        if have_ports && vport_links; then ports_settled=1; break; fi
        usleep 50000; i=$((i+1))
    done
    have_ports || ports_settled=1
    ( i=0; while [ $i -lt 20 ]; do usleep 250000; vport_links; i=$((i+1)); done ) \
        </dev/null >/dev/null 2>&1 &
fi
wait_port() {  # wait_port NAME TENTHS
    i=0
    while [ ! -e "/dev/virtio-ports/$1" ] && [ $i -lt "$2" ]; do
        vport_links; usleep 100000; i=$((i+1))
    done
    [ -e "/dev/virtio-ports/$1" ]
}

# --- ACPI power button -> poweroff -f (unless ctys.noacpid)
if ! has_opt ctys.noacpid; then
    acpid -c /etc/acpi -l /run/acpid.log -p /run/acpid.pid </dev/null >/dev/null 2>&1
fi

# --- network: DHCP on eth0 in the background
if [ -e /sys/class/net/eth0 ]; then
    ip link set eth0 up 2>/dev/null
    udhcpc -f -i eth0 -s /etc/udhcpc/default.script -t 10 -T 1 -A 3 \
        </dev/null >/run/udhcpc.log 2>&1 &
fi

# --- echo loops for channel tests: ctys.echo=NAME (may be given several times)
echo_loop() {
    wait_port "$1" 100 || { log "ctys.echo: no port $1"; return; }
    # a virtio port can be opened only once in the guest: open it read-write once
    exec <>"/dev/virtio-ports/$1" >&0
    while true; do
        while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "$line"; done
        usleep 200000   # EOF: host side not connected; keep the port, poll again
    done
}
for w in $CMDLINE; do
    case "$w" in
        ctys.echo=?*) ( echo_loop "${w#ctys.echo=}" ) </dev/null >/dev/null 2>&1 & ;;
    esac
done

# --- a misbehaving guest agent, for the host's robustness tests:
#     ctys.fakeagent=garbage|huge|silent instead of qemu-ga (busybox only)
fake_agent() {  # fake_agent MODE
    wait_port org.qemu.guest_agent.0 100 || { log "ctys.fakeagent: no agent port"; return; }
    exec <>/dev/virtio-ports/org.qemu.guest_agent.0 >&0
    case "$1" in
    garbage)  # every line answered with a line that is no JSON, with control bytes
        while true; do
            while IFS= read -r line || [ -n "$line" ]; do
                printf '}{not json\001\033[2J\033]0;owned\007\r\377\n'
            done
            usleep 200000
        done ;;
    huge)     # the first request answered with 64 MiB and no newline; then silence
        IFS= read -r line
        yes 0123456789abcdef | tr -d '\n' | head -c 67108864
        while true; do sleep 3600; done ;;
    silent)   # reads every request, answers none
        while true; do
            while IFS= read -r line || [ -n "$line" ]; do :; done
            usleep 200000
        done ;;
    *)  log "ctys.fakeagent: unknown mode '$1' (garbage, huge, silent)" ;;
    esac
}
FAKEAGENT=
for w in $CMDLINE; do
    case "$w" in ctys.fakeagent=?*) FAKEAGENT=${w#ctys.fakeagent=} ;; esac
done
if [ -n "$FAKEAGENT" ] && have_vser; then
    ( fake_agent "$FAKEAGENT" ) </dev/null >/dev/null 2>&1 &
fi

# --- qemu guest agent (initrd-agent variant only)
if [ -z "$FAKEAGENT" ] && [ -x /usr/sbin/qemu-ga ] && have_vser; then
    if [ -e /dev/virtio-ports/org.qemu.guest_agent.0 ] ||
       { [ $ports_settled = 0 ] && wait_port org.qemu.guest_agent.0 20; }; then
        qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /run \
            -l /run/qemu-ga.log </dev/null >/dev/null 2>&1 &
        qga=$!
        i=0   # until it has opened its port (at most ~2 s)
        while [ $i -lt 40 ] && ! ls -l /proc/$qga/fd 2>/dev/null | grep -q vport; do
            usleep 50000; i=$((i+1))
        done
    else
        log "qemu-ga: no port org.qemu.guest_agent.0"
    fi
fi

echo CTYS-GUEST-READY > "$CONSOLE"

# --- interactive shell on the serial console, forever
export PS1='guest# '
cd /root
while true; do
    setsid sh -c "exec sh <$CONSOLE >$CONSOLE 2>&1"
    usleep 100000
done
EOF
chmod 755 "$R/init"

# ---- agent part (kept aside, added to a copy of the root)
AGENT_OK=0
AGENT_WHY=""
if [ -z "$QGAVER" ]; then
    AGENT_WHY="apt-cache knows no $QGA_PKG package"
else
    QGADEB=$(fetch "$QGA_PKG" "$QGAVER")
    dpkg -x "$QGADEB" "$WORK/qga"
    QGA="$WORK/qga/usr/sbin/qemu-ga"
    [ -x "$QGA" ] || die "no usr/sbin/qemu-ga in $(basename "$QGADEB")"
    if ldd "$QGA" 2>&1 | grep 'not found' >/dev/null; then
        deps=$(dpkg-deb -f "$QGADEB" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/ //g' | grep . || true)
        log "qemu-ga needs libraries missing on this host:$(ldd "$QGA" | awk '/not found/ { printf " %s", $1 }')"
        log "installing them: apt-get install -y --no-install-recommends ${deps//$'\n'/ }"
        # shellcheck disable=SC2086
        apt_retry -q install -y --no-install-recommends $deps >/dev/null || true
    fi
    if ldd "$QGA" 2>&1 | grep 'not found' >/dev/null; then
        AGENT_WHY="qemu-ga's shared libraries are missing on this host:$(ldd "$QGA" | awk '/not found/ { printf " %s", $1 }')
       (they come with qemu-system-x86; try: apt-get install qemu-system-x86)"
    else
        A="$WORK/agent"
        mkdir -p "$A/usr/sbin" "$A/sbin"
        cp "$QGA" "$A/usr/sbin/qemu-ga"
        # the libraries at the paths ldd reports (plus the loader)
        ldd "$QGA" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
        while read -r lib; do
            mkdir -p "$A$(dirname "$lib")"
            cp -L "$lib" "$A$lib"
        done
        cat > "$A/sbin/shutdown" <<'EOF'
#!/bin/sh
# qemu-ga's guest-shutdown runs `shutdown -h|-r|-H -P +0 MSG`; busybox has no shutdown.
sync
case " $* " in
    *" -r "*) exec reboot -f ;;
    *" -H "*) exec halt -f ;;
    *)        exec poweroff -f ;;
esac
EOF
        chmod 755 "$A/sbin/shutdown"
        AGENT_OK=1
    fi
fi

# ---- archives
mkcpio() {  # mkcpio DIR OUTFILE
    (cd "$1" &&
     find . -exec touch -h -d @0 {} + &&
     find . | LC_ALL=C sort | "$BB" cpio -o -H newc -R 0:0 2>/dev/null) | gzip -9 -n > "$2"
}
log "building initrd.gz"
mkcpio "$R" "$WORK/initrd.gz"
if [ "$AGENT_OK" = 1 ]; then
    log "building initrd-agent.gz"
    cp -a "$WORK/agent/." "$R/"
    mkcpio "$R" "$WORK/initrd-agent.gz"
fi

cp "$VMLINUZ" "$WORK/vmlinuz"
rm -f "$OUT/stamp"
mv -f "$WORK/vmlinuz" "$OUT/vmlinuz"
mv -f "$WORK/initrd.gz" "$OUT/initrd.gz"
if [ "$AGENT_OK" = 1 ]; then
    mv -f "$WORK/initrd-agent.gz" "$OUT/initrd-agent.gz"
else
    rm -f "$OUT/initrd-agent.gz"
fi
printf '%s\n' "$STAMP" > "$OUT/stamp"

sz() { du -k "$1" | cut -f1; }
log "kernel $KPKG $KVER: vmlinuz $(sz "$OUT/vmlinuz") KiB, initrd.gz $(sz "$OUT/initrd.gz") KiB$(
    [ "$AGENT_OK" = 1 ] && printf ', initrd-agent.gz %s KiB' "$(sz "$OUT/initrd-agent.gz")")"
if [ "$AGENT_OK" != 1 ]; then
    log "WARNING: initrd-agent.gz NOT built: $AGENT_WHY"
    log "         initrd.gz (without the guest agent) was built."
fi
echo "guest: built in $OUT"
