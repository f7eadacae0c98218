/*
 * The ssh transport (libssh): one connection to one host, public-key authentication,
 * known_hosts verification, commands run with their output collected, and UNIX sockets
 * on the remote host reached through the connection. Thread-safe per connection: the
 * fan-out in remote.c runs one connection per worker thread.
 *
 * Threads: connections are independent (no shared mutable state; ssh_global_init once).
 * One connection may also be used by several threads at once: ssh_conn_exec and
 * ssh_conn_forward_unix may run concurrently on it, and its forwards keep pumping while
 * another thread runs commands (a mutex in the connection serialises the libssh calls; it
 * is held for one round trip at most, e.g. opening a channel, never while waiting for a
 * command or for data). Only ssh_conn_close must not race with other calls on the same
 * connection; it ends the connection's forwards and waits for their threads.
 */
#ifndef CTYS_SSH_H
#define CTYS_SSH_H

#include <stddef.h>

/* Where and how to connect. NULL/0 members take libssh's (and ~/.ssh/config's) defaults. */
struct ssh_target {
	const char *name;	/* the target as the user named it, for messages */
	const char *address;	/* host name or address to connect to */
	int port;		/* 0: from the ssh config, else 22 */
	const char *user;	/* NULL: from the ssh config, else the local user */
	const char *identity;	/* a private key file tried first; NULL: none extra */
	const char *known_hosts;	/* NULL: ~/.ssh/known_hosts */
	const char *ssh_config;	/* NULL: ~/.ssh/config when it exists; "" none */
	int accept_new;		/* unknown host key: 1 accept and record it, 0 refuse */
	int connect_timeout;	/* seconds (connect, key exchange, authentication); 0: 10 */
};

/* What a remote command gave. */
struct ssh_result {
	char *out;		/* its standard output (NUL-terminated; may contain NULs) */
	size_t outlen;
	char *err;		/* its standard error */
	size_t errlen;
	int status;		/* exit status; -1 when none came (killed, channel lost) */
	char *signal;		/* the signal that killed it ("KILL"), when one was reported */
};

struct ssh_conn;

/* Call once before any thread uses the transport (ssh_init). */
void ssh_global_init(void);

/*
 * Connects, verifies the host key and authenticates (ssh-agent, then target->identity,
 * then the default identities). NULL with *cause on failure; the cause names the target
 * and says what to do: "lab2: the host key of 10.0.0.2 has changed (possible impostor);
 * if the change is expected, remove the old key from FILE".
 * *timed_out is set when the failure was a timeout (may be NULL).
 *
 * The ssh configuration is read first (target->ssh_config: Host aliases, HostName, Port,
 * User, IdentityFile, UserKnownHostsFile...); port, user and known_hosts of the target
 * override it. An explicit known_hosts replaces the system-wide file too. The timeout is
 * always connect_timeout (ConnectTimeout of the configuration is not used). Never
 * prompts: passphrase-protected keys work only through the agent.
 */
struct ssh_conn *ssh_conn_open(const struct ssh_target *, int *timed_out, char **cause);
void ssh_conn_close(struct ssh_conn *);

/*
 * Runs cmd (one shell command line, quoted by the caller) and collects its output and
 * exit status. timeout: seconds for the whole command, 0 none. Returns 0, -1 with *cause
 * on a transport failure, -2 with *cause on timeout. res is filled on 0 (free with
 * ssh_result_free). The command's standard input is empty (EOF at once). On timeout the
 * command is sent SIGTERM (an ssh "signal" request) and its channel is closed; OpenSSH's
 * sshd refuses "signal" for root logins (no privilege separation after login) and does
 * not kill a command whose channel closes, so such a command runs on until it writes to
 * its closed output: wrap long commands in timeout(1) on the remote side if that matters.
 * With timeout 0 a host that stops answering in the middle of a command blocks forever.
 */
int ssh_conn_exec(struct ssh_conn *, const char *cmd, int timeout, struct ssh_result *res,
    char **cause);
void ssh_result_free(struct ssh_result *);

/*
 * A UNIX-domain stream socket on the remote host, reached through the connection
 * (direct-streamlocal, no helper process there). Returns a local file descriptor (one end
 * of a socketpair, close-on-exec) that behaves like a connected socket to remote_path; a
 * detached thread pumps bytes until both directions have ended, the remote end closes or
 * the descriptor is closed. EOF is passed on each way: shutdown(fd, SHUT_WR) becomes an
 * ssh EOF, and the remote's EOF a shutdown of the other end. -1 with *cause on failure.
 * The connection must stay open while the descriptor is used; ssh_conn_close ends the
 * pump (the descriptor then reads EOF).
 */
int ssh_conn_forward_unix(struct ssh_conn *, const char *remote_path, char **cause);

#endif
