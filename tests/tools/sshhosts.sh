# Several ssh "hosts" on one machine, for tests and benchmarks (source it from bash).
#
#   sshhosts_start DIR N   starts hosts h1..hN, each an sshd on its own loopback address
#                          (127.A.B.i, A and B random per call) in its own PID, mount and
#                          UTS namespace (hostname h<i>; it sees only its own processes)
#   sshhosts_wait_ready    waits until every host sends its ssh banner (start does it too)
#   sshhosts_stop          stops every host and waits for them; nothing is left running
#
# N is at most 254. SSHHOSTS_PORT=P makes every host listen on port P instead of 22.
# Call sshhosts_start in the shell that will call sshhosts_stop (not in $(...)): the hosts
# are its background jobs. Root only (sshd must switch users, unshare needs privileges).
# Only Debian packages: openssh-server, openssh-client, util-linux.
#
# After sshhosts_start:
#   SSHHOST_ADDR[i] SSHHOST_PORT[i]  where host i listens
#   SSHHOST_PID[i]                   its sshd (PID 1 of its namespace): SIGSTOP/SIGKILL it
#   SSHHOST_N                        N
#   SSHHOSTS_DIR                     DIR, holding:
#     id_ed25519[.pub]   the client key, authorized on every host (authorized_keys)
#     known_hosts        every host's key ("addr" or "[addr]:port" when the port is not 22)
#     ssh_config         Host h1..hN (HostName, Port, User root, IdentityFile,
#                        UserKnownHostsFile ...), for `ssh -F` and ssh_options_parse_config
#     h<i>/              the host: sshd_config, host key, sshd.log, and what its sessions get
#                        through SetEnv: HOME=h<i>/home, CTYS_RUNDIR=h<i>/run,
#                        XDG_STATE_HOME=h<i>/state, XDG_CACHE_HOME=h<i>/cache,
#                        CTYS_SYSTEM_CONF=h<i>/no-system.conf, PATH=the caller's PATH
#   sshhosts_ssh I CMD...            runs a command on host i with OpenSSH (for setup)

SSHHOSTS_DIR=
SSHHOST_N=0
declare -ga SSHHOST_ADDR=() SSHHOST_PORT=() SSHHOST_PID=() SSHHOST_JOB=()

# _sshhosts_alive PID: the process exists and is not a zombie
_sshhosts_alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}
declare -ga SSHHOST_ADDR=() SSHHOST_PORT=() SSHHOST_PID=() SSHHOST_JOB=()

sshhosts_start() {
	local dir=$1 n=$2 a b i port addr h
	if [ -z "$dir" ] || ! [ "$n" -ge 1 ] 2>/dev/null || [ "$n" -gt 254 ]; then
		echo "usage: sshhosts_start DIR N" >&2
		return 2
	fi
	[ -x /usr/sbin/sshd ] || { echo "sshhosts: /usr/sbin/sshd missing (openssh-server)" >&2; return 1; }
	mkdir -p "$dir" /run/sshd || return 1
	dir=$(cd "$dir" && pwd) || return 1
	SSHHOSTS_DIR=$dir
	SSHHOST_N=$n
	SSHHOST_ADDR=() SSHHOST_PORT=() SSHHOST_PID=() SSHHOST_JOB=()
	a=$((RANDOM % 254 + 1))
	b=$((RANDOM % 254 + 1))
	# port 22 unless something answers there already (an sshd on the wildcard address)
	port=${SSHHOSTS_PORT:-22}
	if [ "$port" = 22 ] && (exec 3<>"/dev/tcp/127.$a.$b.1/22") 2>/dev/null; then
		port=$((20000 + RANDOM % 20000))
	fi
	rm -f "$dir/id_ed25519" "$dir/id_ed25519.pub"
	ssh-keygen -q -t ed25519 -N '' -C sshhosts-client -f "$dir/id_ed25519" || return 1
	cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
	: >"$dir/known_hosts"
	: >"$dir/ssh_config"
	for ((i = 1; i <= n; i++)); do
		addr=127.$a.$b.$i
		h=$dir/h$i
		mkdir -p "$h/home" "$h/run" "$h/state" "$h/cache"
		chmod 700 "$h/run"	# a runtime root must be private (ctys checks)
		rm -f "$h/ssh_host_ed25519_key" "$h/ssh_host_ed25519_key.pub"
		ssh-keygen -q -t ed25519 -N '' -C "h$i" -f "$h/ssh_host_ed25519_key" || return 1
		SSHHOST_ADDR[i]=$addr
		SSHHOST_PORT[i]=$port
		cat >"$h/sshd_config" <<EOF
ListenAddress $addr:$port
HostKey $h/ssh_host_ed25519_key
PidFile $h/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
UseDNS no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
MaxStartups 200
MaxSessions 200
MaxAuthTries 20
Subsystem sftp /usr/lib/openssh/sftp-server
SetEnv HOME="$h/home" CTYS_RUNDIR="$h/run" XDG_STATE_HOME="$h/state" XDG_CACHE_HOME="$h/cache" CTYS_SYSTEM_CONF="$h/no-system.conf" PATH="$PATH"
EOF
		if [ "$port" = 22 ]; then
			echo "$addr $(cut -d' ' -f1,2 "$h/ssh_host_ed25519_key.pub")" >>"$dir/known_hosts"
		else
			echo "[$addr]:$port $(cut -d' ' -f1,2 "$h/ssh_host_ed25519_key.pub")" >>"$dir/known_hosts"
		fi
		cat >>"$dir/ssh_config" <<EOF
Host h$i
	HostName $addr
	Port $port
	User root
	IdentityFile $dir/id_ed25519
	IdentitiesOnly yes
	UserKnownHostsFile $dir/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	ConnectTimeout 5

EOF
		# sshd is PID 1 of the new PID namespace: when it ends, the kernel ends the rest
		unshare --pid --fork --mount-proc --uts /bin/sh -c \
		    'hostname "$0" && exec /usr/sbin/sshd -D -f "$1" -E "$2"' \
		    "h$i" "$h/sshd_config" "$h/sshd.log" </dev/null >>"$h/sshd.log" 2>&1 &
		SSHHOST_JOB[i]=$!
	done
	# the sshd of each host: the child of its unshare
	for ((i = 1; i <= n; i++)); do
		local t pid=
		for ((t = 0; t < 100; t++)); do
			pid=$(cat "/proc/${SSHHOST_JOB[i]}/task/${SSHHOST_JOB[i]}/children" 2>/dev/null)
			pid=${pid%% *}
			[ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/sbin/sshd ] && break
			pid=
			_sshhosts_alive "${SSHHOST_JOB[i]}" || break
			sleep 0.02
		done
		if [ -z "$pid" ]; then
			echo "sshhosts: h$i did not start: $(tail -n 5 "$dir/h$i/sshd.log")" >&2
			sshhosts_stop
			return 1
		fi
		SSHHOST_PID[i]=$pid
	done
	sshhosts_wait_ready || { sshhosts_stop; return 1; }
}

# sshhosts_wait_ready [SECONDS]: every host answers with its ssh banner
sshhosts_wait_ready() {
	local i t banner max=${1:-10}
	for ((i = 1; i <= SSHHOST_N; i++)); do
		for ((t = 0; ; t++)); do
			banner=$(timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1" && head -c 4 <&3' \
			    "${SSHHOST_ADDR[i]}" "${SSHHOST_PORT[i]}" 2>/dev/null)
			[ "$banner" = SSH- ] && break
			if ((t >= max * 20)); then
				echo "sshhosts: h$i (${SSHHOST_ADDR[i]}:${SSHHOST_PORT[i]}) does not answer:" \
				    "$(tail -n 5 "$SSHHOSTS_DIR/h$i/sshd.log")" >&2
				return 1
			fi
			sleep 0.05
		done
	done
}

# sshhosts_ssh I CMD...: OpenSSH to host i (through the generated ssh_config)
sshhosts_ssh() {
	local i=$1
	shift
	ssh -F "$SSHHOSTS_DIR/ssh_config" "h$i" "$@"
}

sshhosts_stop() {
	local i t
	for ((i = 1; i <= SSHHOST_N; i++)); do
		[ -n "${SSHHOST_PID[i]:-}" ] || continue
		kill -CONT "${SSHHOST_PID[i]}" 2>/dev/null
		kill -TERM "${SSHHOST_PID[i]}" 2>/dev/null
	done
	for ((i = 1; i <= SSHHOST_N; i++)); do
		[ -n "${SSHHOST_JOB[i]:-}" ] || continue
		for ((t = 0; t < 100; t++)); do
			_sshhosts_alive "${SSHHOST_JOB[i]}" || break
			sleep 0.02
		done
		if _sshhosts_alive "${SSHHOST_JOB[i]}"; then
			kill -KILL "${SSHHOST_PID[i]:-${SSHHOST_JOB[i]}}" "${SSHHOST_JOB[i]}" 2>/dev/null
		fi
		wait "${SSHHOST_JOB[i]}" 2>/dev/null
	done
	SSHHOST_PID=() SSHHOST_JOB=()
	SSHHOST_N=0
}
