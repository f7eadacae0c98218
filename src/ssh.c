/*
 * The ssh transport over libssh's blocking API.
 *
 * A connection may be used by several threads at once (a command while a forward pumps,
 * two forwards): every libssh call on its session is made with conn->lock held, and
 * nobody sleeps inside libssh with the lock held except for the short blocking calls
 * (channel open, exec request, flush). Waiting is done outside the lock, in poll() on
 * the session's socket and on an eventfd per channel. Whichever thread reads the socket
 * processes every packet in it, so each channel has callbacks that, run by that thread,
 * kick the eventfd of the channel's owner: the data stays in libssh's channel buffer
 * (the callback consumes nothing) and the owner reads it under the lock when it wakes.
 */
#include "ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dlfcn.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

/*
 * libssh (with libcrypto, GSSAPI and the rest behind it) is loaded when the first
 * connection is made, not when ctys starts: a command that stays on this host, and the
 * ctys that another host runs, do not pay its ~5 ms of loading. Each function used is
 * called through a pointer filled by dlsym; the names below stand for those calls.
 */
#define SSH_DL_LIBRARY	"libssh.so.4"
#define SSH_DL_FUNCS(X) \
	X(ssh_add_channel_callbacks) \
	X(ssh_channel_close) \
	X(ssh_channel_free) \
	X(ssh_channel_is_closed) \
	X(ssh_channel_new) \
	X(ssh_channel_open_forward_unix) \
	X(ssh_channel_open_session) \
	X(ssh_channel_read_nonblocking) \
	X(ssh_channel_request_exec) \
	X(ssh_channel_request_send_signal) \
	X(ssh_channel_send_eof) \
	X(ssh_channel_window_size) \
	X(ssh_channel_write) \
	X(ssh_clean_pubkey_hash) \
	X(ssh_connect) \
	X(ssh_disconnect) \
	X(ssh_event_add_session) \
	X(ssh_event_dopoll) \
	X(ssh_event_free) \
	X(ssh_event_new) \
	X(ssh_event_remove_session) \
	X(ssh_free) \
	X(ssh_get_error) \
	X(ssh_get_fd) \
	X(ssh_get_fingerprint_hash) \
	X(ssh_get_poll_flags) \
	X(ssh_get_publickey_hash) \
	X(ssh_get_server_publickey) \
	X(ssh_get_status) \
	X(ssh_init) \
	X(ssh_is_connected) \
	X(ssh_key_free) \
	X(ssh_key_type) \
	X(ssh_key_type_to_char) \
	X(ssh_new) \
	X(ssh_options_get) \
	X(ssh_options_get_port) \
	X(ssh_options_parse_config) \
	X(ssh_options_set) \
	X(ssh_pki_import_privkey_file) \
	X(ssh_remove_channel_callbacks) \
	X(ssh_session_is_known_server) \
	X(ssh_session_update_known_hosts) \
	X(ssh_string_free_char) \
	X(ssh_userauth_agent) \
	X(ssh_userauth_publickey) \
	X(ssh_userauth_publickey_auto)
#define SSH_DL_PTR(f) static __typeof__(f) *dl_##f;
SSH_DL_FUNCS(SSH_DL_PTR)
#define ssh_add_channel_callbacks (*dl_ssh_add_channel_callbacks)
#define ssh_channel_close (*dl_ssh_channel_close)
#define ssh_channel_free (*dl_ssh_channel_free)
#define ssh_channel_is_closed (*dl_ssh_channel_is_closed)
#define ssh_channel_new (*dl_ssh_channel_new)
#define ssh_channel_open_forward_unix (*dl_ssh_channel_open_forward_unix)
#define ssh_channel_open_session (*dl_ssh_channel_open_session)
#define ssh_channel_read_nonblocking (*dl_ssh_channel_read_nonblocking)
#define ssh_channel_request_exec (*dl_ssh_channel_request_exec)
#define ssh_channel_request_send_signal (*dl_ssh_channel_request_send_signal)
#define ssh_channel_send_eof (*dl_ssh_channel_send_eof)
#define ssh_channel_window_size (*dl_ssh_channel_window_size)
#define ssh_channel_write (*dl_ssh_channel_write)
#define ssh_clean_pubkey_hash (*dl_ssh_clean_pubkey_hash)
#define ssh_connect (*dl_ssh_connect)
#define ssh_disconnect (*dl_ssh_disconnect)
#define ssh_event_add_session (*dl_ssh_event_add_session)
#define ssh_event_dopoll (*dl_ssh_event_dopoll)
#define ssh_event_free (*dl_ssh_event_free)
#define ssh_event_new (*dl_ssh_event_new)
#define ssh_event_remove_session (*dl_ssh_event_remove_session)
#define ssh_free (*dl_ssh_free)
#define ssh_get_error (*dl_ssh_get_error)
#define ssh_get_fd (*dl_ssh_get_fd)
#define ssh_get_fingerprint_hash (*dl_ssh_get_fingerprint_hash)
#define ssh_get_poll_flags (*dl_ssh_get_poll_flags)
#define ssh_get_publickey_hash (*dl_ssh_get_publickey_hash)
#define ssh_get_server_publickey (*dl_ssh_get_server_publickey)
#define ssh_get_status (*dl_ssh_get_status)
#define ssh_init (*dl_ssh_init)
#define ssh_is_connected (*dl_ssh_is_connected)
#define ssh_key_free (*dl_ssh_key_free)
#define ssh_key_type (*dl_ssh_key_type)
#define ssh_key_type_to_char (*dl_ssh_key_type_to_char)
#define ssh_new (*dl_ssh_new)
#define ssh_options_get (*dl_ssh_options_get)
#define ssh_options_get_port (*dl_ssh_options_get_port)
#define ssh_options_parse_config (*dl_ssh_options_parse_config)
#define ssh_options_set (*dl_ssh_options_set)
#define ssh_pki_import_privkey_file (*dl_ssh_pki_import_privkey_file)
#define ssh_remove_channel_callbacks (*dl_ssh_remove_channel_callbacks)
#define ssh_session_is_known_server (*dl_ssh_session_is_known_server)
#define ssh_session_update_known_hosts (*dl_ssh_session_update_known_hosts)
#define ssh_string_free_char (*dl_ssh_string_free_char)
#define ssh_userauth_agent (*dl_ssh_userauth_agent)
#define ssh_userauth_publickey (*dl_ssh_userauth_publickey)
#define ssh_userauth_publickey_auto (*dl_ssh_userauth_publickey_auto)

#include "util.h"

#define SSH_DEFAULT_TIMEOUT	10
#define SSH_CHUNK		65536
#define SSH_SLICE		(1024 * 1024)	/* bytes read per turn of the lock */
#define SSH_WINDOW_POLL_MS	20		/* no callback tells a window grew */

/* What a channel's callbacks saw; efd wakes the thread that owns the channel. */
struct ssh_watch {
	struct ssh_channel_callbacks_struct cb;
	int		 efd;
	int		 eof;
	int		 closed;
	int		 got_status;
	int		 status;
	char		*signal;
};

struct ssh_fwd {
	struct ssh_conn	*c;
	ssh_channel	 ch;
	struct ssh_watch w;
	int		 fd;		/* our end of the socketpair, non-blocking */
	int		 stop;		/* ssh_conn_close asks the pump to end */
	char		*path;
	struct ssh_fwd	*next;
};

struct ssh_conn {
	pthread_mutex_t	 lock;		/* held for every libssh call on s */
	pthread_cond_t	 idle;		/* a forward ended */
	ssh_session	 s;
	ssh_event	 ev;		/* holds s: ssh_event_dopoll processes its packets */
	int		 fd;		/* the session's socket, polled without the lock */
	char		*name;
	char		*where;		/* "address:port", for messages */
	struct ssh_fwd	*fwds;		/* forwards still pumping */
	int		 nfwd;
	pthread_t	*tids;		/* every pump started: joined by ssh_conn_close, so
					   that their thread-exit cleanups (OpenSSL's) are over */
	size_t		 ntids;
};

/* A growable byte buffer, always NUL-terminated once used. */
struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;
static char *ssh_dl_error;	/* why libssh could not be loaded; NULL: loaded */

static void
ssh_init_once(void)
{
	void *h = dlopen(SSH_DL_LIBRARY, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		ssh_dl_error = xasprintf("cannot load %s (Debian: libssh-4): %s", SSH_DL_LIBRARY,
		    dlerror());
		return;
	}
#define SSH_DL_SYM(f) \
	if ((dl_##f = (__typeof__(dl_##f))dlsym(h, #f)) == NULL) { \
		ssh_dl_error = xasprintf("%s has no %s: too old", SSH_DL_LIBRARY, #f); \
		return; \
	}
	SSH_DL_FUNCS(SSH_DL_SYM)
#undef SSH_DL_SYM
	if (ssh_init() != SSH_OK)
		ssh_dl_error = xstrdup("libssh: initialisation failed");
}

void
ssh_global_init(void)
{
	pthread_once(&ssh_once, ssh_init_once);
}

static void
sbuf_reserve(struct sbuf *b, size_t more)
{
	if (b->cap - b->len > more)
		return;
	while (b->cap - b->len <= more)
		b->cap = b->cap ? b->cap * 2 : 2 * SSH_CHUNK;
	b->p = xrealloc(b->p, b->cap);
}

static char *
sbuf_finish(struct sbuf *b, size_t *len)
{
	sbuf_reserve(b, 1);
	b->p[b->len] = '\0';
	*len = b->len;
	return b->p;
}

/* The channel callbacks: note what happened and wake the owner. */
static void
watch_kick(struct ssh_watch *w)
{
	uint64_t one = 1;

	if (write(w->efd, &one, sizeof one) == -1) {
		/* full counter: the owner is awake anyway */
	}
}

static int
watch_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr,
    void *arg)
{
	(void)s; (void)ch; (void)data; (void)len; (void)is_stderr;
	watch_kick(arg);
	return 0;	/* leave it in the channel's buffer for its owner */
}

static void
watch_eof(ssh_session s, ssh_channel ch, void *arg)
{
	struct ssh_watch *w = arg;

	(void)s; (void)ch;
	w->eof = 1;
	watch_kick(w);
}

static void
watch_close(ssh_session s, ssh_channel ch, void *arg)
{
	struct ssh_watch *w = arg;

	(void)s; (void)ch;
	w->closed = 1;
	watch_kick(w);
}

static void
watch_status(ssh_session s, ssh_channel ch, int status, void *arg)
{
	struct ssh_watch *w = arg;

	(void)s; (void)ch;
	w->got_status = 1;
	w->status = status;
	watch_kick(w);
}

static void
watch_signal(ssh_session s, ssh_channel ch, const char *sig, int core, const char *msg,
    const char *lang, void *arg)
{
	struct ssh_watch *w = arg;

	(void)s; (void)ch; (void)core; (void)msg; (void)lang;
	free(w->signal);
	w->signal = xstrdup(sig != NULL ? sig : "?");
	watch_kick(w);
}

static int
watch_init(struct ssh_watch *w)
{
	memset(w, 0, sizeof *w);
	w->status = -1;
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return -1;
	ssh_callbacks_init(&w->cb);
	w->cb.userdata = w;
	w->cb.channel_data_function = watch_data;
	w->cb.channel_eof_function = watch_eof;
	w->cb.channel_close_function = watch_close;
	w->cb.channel_exit_status_function = watch_status;
	w->cb.channel_exit_signal_function = watch_signal;
	return 0;
}

static void
watch_free(struct ssh_watch *w)
{
	if (w->efd != -1)
		close(w->efd);
	w->efd = -1;
	free(w->signal);
	w->signal = NULL;
}

/* Called with the lock held: what poll() must wait for on the session's socket. */
static short
conn_events(struct ssh_conn *c)
{
	short ev = POLLIN;

	if (ssh_get_poll_flags(c->s) & SSH_WRITE_PENDING)
		ev |= POLLOUT;
	return ev;
}

/*
 * Called without the lock: sleeps until the session's socket or the watch's eventfd (or
 * fd, when not -1) is ready, or ms passes (-1: no limit). Returns fd's revents.
 */
static short
conn_wait(struct ssh_conn *c, struct ssh_watch *w, short sev, int fd, short ev, int ms)
{
	struct pollfd pfd[3];
	uint64_t v;
	int n = 2;

	pfd[0].fd = c->fd;
	pfd[0].events = sev;
	pfd[1].fd = w->efd;
	pfd[1].events = POLLIN;
	if (fd != -1) {
		pfd[2].fd = fd;
		pfd[2].events = ev;
		n = 3;
	}
	for (int i = 0; i < n; i++)
		pfd[i].revents = 0;
	if (poll(pfd, n, ms) == -1)
		return 0;
	if (pfd[1].revents & POLLIN) {
		if (read(w->efd, &v, sizeof v) == -1) {
			/* already drained */
		}
	}
	return n == 3 ? pfd[2].revents : 0;
}

/*
 * Called with the lock held: reads and processes what has arrived (all of it, up to a
 * bound, so others get the lock too) and writes what libssh had to keep back. Reading a
 * channel does not do this once the channel has seen EOF, and nothing else would read
 * the exit status, the close or a window adjustment. -1 when the connection is lost.
 */
static int
conn_process(struct ssh_conn *c)
{
	for (int i = 0; i < 64; i++) {
		if (ssh_event_dopoll(c->ev, 0) != SSH_OK)
			break;
	}
	if (!ssh_is_connected(c->s) ||
	    (ssh_get_status(c->s) & (SSH_CLOSED | SSH_CLOSED_ERROR)))
		return -1;
	return 0;
}

/* libssh's message, or a fallback, for a cause. */
static const char *
conn_error(ssh_session s)
{
	const char *e = ssh_get_error(s);

	return e != NULL && *e != '\0' ? e : "unknown error";
}

/* "host" on port 22, else "[host]:port": as known_hosts names it. */
static char *
host_known_name(const char *host, unsigned int port)
{
	if (port == 22)
		return xstrdup(host);
	return xasprintf("[%s]:%u", host, port);
}

/* The SHA256 fingerprint of the server's key, "SHA256:...", or NULL. */
static char *
host_fingerprint(ssh_session s, const char **type)
{
	ssh_key key = NULL;
	unsigned char *hash = NULL;
	size_t hlen;
	char *fp, *r = NULL;

	*type = "unknown";
	if (ssh_get_server_publickey(s, &key) != SSH_OK)
		return NULL;
	*type = ssh_key_type_to_char(ssh_key_type(key));
	if (*type == NULL)
		*type = "unknown";
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
		if ((fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen)) != NULL) {
			r = xstrdup(fp);
			ssh_string_free_char(fp);
		}
		ssh_clean_pubkey_hash(&hash);
	}
	ssh_key_free(key);
	return r;
}

/* Compares the server's key with known_hosts; 0 to go on, -1 with *cause to refuse. */
static int
host_verify(ssh_session s, const char *name, const char *known, int accept_new,
    char **cause)
{
	enum ssh_known_hosts_e k;
	const char *type;
	char *file = NULL, *fp = NULL;
	int rc = -1;

	if (ssh_options_get(s, SSH_OPTIONS_KNOWNHOSTS, &file) != SSH_OK)
		file = NULL;
	k = ssh_session_is_known_server(s);
	switch (k) {
	case SSH_KNOWN_HOSTS_OK:
		rc = 0;
		break;
	case SSH_KNOWN_HOSTS_CHANGED:
		fail(cause, -1, "%s: the host key of %s has changed (possible impostor); if the "
		    "change is expected, remove the old key from %s", name, known,
		    file ? file : "known_hosts");
		break;
	case SSH_KNOWN_HOSTS_OTHER:
		fp = host_fingerprint(s, &type);
		fail(cause, -1, "%s: %s offers a host key of type %s but %s holds a key of "
		    "another type for it (possible impostor); if the change is expected, remove "
		    "the old key from %s", name, known, type, file ? file : "known_hosts",
		    file ? file : "known_hosts");
		break;
	case SSH_KNOWN_HOSTS_UNKNOWN:
	case SSH_KNOWN_HOSTS_NOT_FOUND:
		if (accept_new) {
			if (ssh_session_update_known_hosts(s) != SSH_OK) {
				fail(cause, -1, "%s: cannot record the host key of %s: %s", name,
				    known, conn_error(s));
				break;
			}
			log_debug(1, "ssh: %s: recorded the host key of %s in %s", name, known,
			    file ? file : "known_hosts");
			rc = 0;
			break;
		}
		fp = host_fingerprint(s, &type);
		fail(cause, -1, "%s: unknown host key of %s (%s %s); add it to %s or set "
		    "ssh_unknown_hosts = accept-new", name, known, type, fp ? fp : "?",
		    file ? file : "known_hosts");
		break;
	case SSH_KNOWN_HOSTS_ERROR:
	default:
		fail(cause, -1, "%s: cannot check the host key of %s: %s", name, known,
		    conn_error(s));
		break;
	}
	free(fp);
	ssh_string_free_char(file);
	return rc;
}

/* Adds an item to a ", "-separated list. */
static void
sbuf_item(struct sbuf *b, const char *item)
{
	size_t n = strlen(item);

	sbuf_reserve(b, n + 2);
	if (b->len > 0) {
		memcpy(b->p + b->len, ", ", 2);
		b->len += 2;
	}
	memcpy(b->p + b->len, item, n + 1);
	b->len += n;
}

/* Public-key authentication: agent, target->identity, default keys. */
static int
conn_auth(ssh_session s, const struct ssh_target *t, const char *name, int timeout,
    int *timed_out, char **cause)
{
	struct sbuf tried = { 0 };
	ssh_key key = NULL;
	const char *sock = getenv("SSH_AUTH_SOCK");
	char *user = NULL, *what;
	int rc = SSH_AUTH_DENIED, ret = -1;

	if (sock != NULL && *sock != '\0') {
		rc = ssh_userauth_agent(s, NULL);
		sbuf_item(&tried, "agent");
	}
	if (rc != SSH_AUTH_SUCCESS && rc != SSH_AUTH_ERROR && rc != SSH_AUTH_AGAIN &&
	    t->identity != NULL && *t->identity != '\0') {
		if (ssh_pki_import_privkey_file(t->identity, NULL, NULL, NULL, &key) != SSH_OK) {
			what = xasprintf("%s (unreadable or passphrase-protected)", t->identity);
			sbuf_item(&tried, what);
			free(what);
		} else {
			rc = ssh_userauth_publickey(s, NULL, key);
			ssh_key_free(key);
			sbuf_item(&tried, t->identity);
		}
	}
	if (rc != SSH_AUTH_SUCCESS && rc != SSH_AUTH_ERROR && rc != SSH_AUTH_AGAIN) {
		rc = ssh_userauth_publickey_auto(s, NULL, NULL);
		sbuf_item(&tried, "default keys");
	}
	if (ssh_options_get(s, SSH_OPTIONS_USER, &user) != SSH_OK)
		user = NULL;
	switch (rc) {
	case SSH_AUTH_SUCCESS:
		ret = 0;
		break;
	case SSH_AUTH_AGAIN:
		if (timed_out != NULL)
			*timed_out = 1;
		fail(cause, -1, "%s: authentication as %s: no answer within %d s", name,
		    user ? user : "?", timeout);
		break;
	case SSH_AUTH_ERROR:
		fail(cause, -1, "%s: authentication as %s failed: %s", name, user ? user : "?",
		    conn_error(s));
		break;
	case SSH_AUTH_PARTIAL:
		fail(cause, -1, "%s: the server wants more than a public key from %s (tried: %s)",
		    name, user ? user : "?", tried.p ? tried.p : "nothing");
		break;
	default:
		fail(cause, -1, "%s: public-key authentication as %s failed (tried: %s)", name,
		    user ? user : "?", tried.p ? tried.p : "nothing");
		break;
	}
	ssh_string_free_char(user);
	free(tried.p);
	return ret;
}

struct ssh_conn *
ssh_conn_open(const struct ssh_target *t, int *timed_out, char **cause)
{
	struct ssh_conn *c;
	ssh_session s;
	const char *name;
	char *host = NULL, *known = NULL;
	unsigned int port = 22;
	long tmo;
	bool no = false;
	int timeout;
	const char *e;

	if (timed_out != NULL)
		*timed_out = 0;
	name = t->name != NULL ? t->name : t->address;
	ssh_global_init();
	if (ssh_dl_error != NULL) {
		fail(cause, -1, "%s: %s", name ? name : "ssh", ssh_dl_error);
		return NULL;
	}
	if (t->address == NULL || *t->address == '\0') {
		fail(cause, -1, "%s: no host name", name ? name : "ssh");
		return NULL;
	}
	if (*t->address == '-') {
		fail(cause, -1, "%s: bad host name '%s'", name, t->address);
		return NULL;
	}
	if (t->user != NULL && *t->user == '-') {
		fail(cause, -1, "%s: bad user name '%s'", name, t->user);
		return NULL;
	}
	ssh_global_init();
	timeout = t->connect_timeout > 0 ? t->connect_timeout : SSH_DEFAULT_TIMEOUT;
	if ((s = ssh_new()) == NULL)
		fatal("ssh_new: out of memory");
	if (ssh_options_set(s, SSH_OPTIONS_HOST, t->address) != SSH_OK) {
		fail(cause, -1, "%s: bad host name '%s': %s", name, t->address, conn_error(s));
		goto bad;
	}
	/* the configuration first: what the target says explicitly wins over it */
	if (t->ssh_config == NULL) {
		if (ssh_options_parse_config(s, NULL) != 0) {
			fail(cause, -1, "%s: cannot read the ssh configuration: %s", name,
			    conn_error(s));
			goto bad;
		}
	} else if (*t->ssh_config == '\0') {
		ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
	} else {
		if (access(t->ssh_config, R_OK) == -1) {
			fail(cause, -1, "%s: cannot read %s: %s", name, t->ssh_config,
			    strerror(errno));
			goto bad;
		}
		if (ssh_options_parse_config(s, t->ssh_config) != 0) {
			fail(cause, -1, "%s: %s: %s", name, t->ssh_config, conn_error(s));
			goto bad;
		}
	}
	if (t->port > 0) {
		port = (unsigned int)t->port;
		ssh_options_set(s, SSH_OPTIONS_PORT, &port);
	}
	if (t->user != NULL && ssh_options_set(s, SSH_OPTIONS_USER, t->user) != SSH_OK) {
		fail(cause, -1, "%s: bad user name '%s'", name, t->user);
		goto bad;
	}
	if (t->known_hosts != NULL) {
		ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, t->known_hosts);
		ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
	}
	tmo = timeout;
	ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &tmo);

	if (ssh_options_get(s, SSH_OPTIONS_HOST, &host) != SSH_OK)
		host = NULL;
	ssh_options_get_port(s, &port);

	log_debug(2, "ssh: %s: connecting to %s port %u", name, host ? host : t->address, port);
	if (ssh_connect(s) != SSH_OK) {
		e = conn_error(s);
		if (strncmp(e, "Timeout connecting", 18) == 0) {
			if (timed_out != NULL)
				*timed_out = 1;
			fail(cause, -1, "%s: cannot connect to %s:%u: no answer within %d s", name,
			    host ? host : t->address, port, timeout);
		} else {
			fail(cause, -1, "%s: cannot connect to %s:%u: %s", name,
			    host ? host : t->address, port, e);
		}
		goto bad;
	}
	known = host_known_name(host ? host : t->address, port);
	if (host_verify(s, name, known, t->accept_new, cause) != 0)
		goto bad_connected;
	if (conn_auth(s, t, name, timeout, timed_out, cause) != 0)
		goto bad_connected;

	c = xcalloc(1, sizeof *c);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->idle, NULL);
	if ((c->ev = ssh_event_new()) == NULL || ssh_event_add_session(c->ev, s) != SSH_OK)
		fatal("ssh_event_new: out of memory");
	c->s = s;
	c->fd = ssh_get_fd(s);
	c->name = xstrdup(name);
	c->where = xasprintf("%s:%u", host ? host : t->address, port);
	log_debug(2, "ssh: %s: connected to %s", name, c->where);
	ssh_string_free_char(host);
	free(known);
	return c;

bad_connected:
	ssh_disconnect(s);
bad:
	ssh_string_free_char(host);
	free(known);
	ssh_free(s);
	return NULL;
}

void
ssh_conn_close(struct ssh_conn *c)
{
	struct ssh_fwd *f;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	for (f = c->fwds; f != NULL; f = f->next) {
		f->stop = 1;
		watch_kick(&f->w);
	}
	while (c->nfwd > 0)
		pthread_cond_wait(&c->idle, &c->lock);
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < c->ntids; i++)
		pthread_join(c->tids[i], NULL);
	free(c->tids);
	ssh_event_remove_session(c->ev, c->s);
	ssh_event_free(c->ev);
	ssh_disconnect(c->s);
	ssh_free(c->s);
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->lock);
	free(c->name);
	free(c->where);
	free(c);
}

void
ssh_result_free(struct ssh_result *r)
{
	if (r == NULL)
		return;
	free(r->out);
	free(r->err);
	free(r->signal);
	memset(r, 0, sizeof *r);
	r->status = -1;
}

/*
 * Reads what one stream of the channel has, up to about max bytes, into b. Returns 1 at
 * its end, 0 when more may come, -1 on a transport error. Lock held.
 */
static int
chan_drain(ssh_channel ch, int is_stderr, struct sbuf *b, size_t max, size_t *got)
{
	int n;

	while (*got < max) {
		sbuf_reserve(b, SSH_CHUNK);
		n = ssh_channel_read_nonblocking(ch, b->p + b->len, SSH_CHUNK, is_stderr);
		if (n == SSH_EOF)
			return 1;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		*got += (size_t)n;
	}
	return 0;
}

/* Closes and frees a channel that has callbacks; lock held. */
static void
chan_free(ssh_channel ch, struct ssh_watch *w)
{
	ssh_remove_channel_callbacks(ch, &w->cb);
	if (!ssh_channel_is_closed(ch))
		ssh_channel_close(ch);
	ssh_channel_free(ch);
}

int
ssh_conn_exec(struct ssh_conn *c, const char *cmd, int timeout, struct ssh_result *res,
    char **cause)
{
	struct ssh_watch w;
	struct sbuf out = { 0 }, err = { 0 };
	ssh_channel ch = NULL;
	double deadline = timeout > 0 ? now_mono() + timeout : 0, left;
	size_t got;
	int rc = -1, oeof = 0, eeof = 0, r, ms;
	short sev;

	memset(res, 0, sizeof *res);
	res->status = -1;
	if (watch_init(&w) == -1)
		return fail(cause, -1, "%s: %s", c->name, strerror(errno));
	pthread_mutex_lock(&c->lock);
	if ((ch = ssh_channel_new(c->s)) == NULL) {
		fail(cause, -1, "%s: cannot open a channel to %s: %s", c->name, c->where,
		    conn_error(c->s));
		goto out;
	}
	ssh_add_channel_callbacks(ch, &w.cb);
	if (ssh_channel_open_session(ch) != SSH_OK) {
		fail(cause, -1, "%s: cannot open a session on %s: %s", c->name, c->where,
		    conn_error(c->s));
		goto out;
	}
	if (ssh_channel_request_exec(ch, cmd) != SSH_OK) {
		fail(cause, -1, "%s: cannot run a command on %s: %s", c->name, c->where,
		    conn_error(c->s));
		goto out;
	}
	ssh_channel_send_eof(ch);	/* no input: like ssh -n */
	for (;;) {
		if (conn_process(c) == -1)
			goto lost;
		got = 0;
		if (!oeof) {
			if ((r = chan_drain(ch, 0, &out, SSH_SLICE, &got)) == -1)
				goto lost;
			oeof = r;
		}
		if (!eeof) {
			if ((r = chan_drain(ch, 1, &err, 2 * SSH_SLICE, &got)) == -1)
				goto lost;
			eeof = r;
		}
		if (oeof && eeof && (w.got_status || w.closed || ssh_channel_is_closed(ch)))
			break;
		ms = -1;
		if (deadline > 0) {
			if ((left = deadline - now_mono()) <= 0) {
				ssh_channel_request_send_signal(ch, "TERM");
				fail(cause, -2, "%s: the command did not finish within %d s",
				    c->name, timeout);
				rc = -2;
				goto out;
			}
			ms = (int)(left * 1000) + 1;
		}
		if (got >= SSH_SLICE)
			ms = 0;		/* more is waiting: just let others have the lock */
		sev = conn_events(c);
		pthread_mutex_unlock(&c->lock);
		conn_wait(c, &w, sev, -1, 0, ms);
		pthread_mutex_lock(&c->lock);
	}
	res->status = w.got_status ? w.status : -1;
	if (w.signal != NULL) {
		res->signal = w.signal;
		w.signal = NULL;
	}
	res->out = sbuf_finish(&out, &res->outlen);
	res->err = sbuf_finish(&err, &res->errlen);
	out.p = err.p = NULL;
	rc = 0;
	goto out;

lost:
	fail(cause, -1, "%s: lost the connection to %s: %s", c->name, c->where,
	    conn_error(c->s));
out:
	if (ch != NULL)
		chan_free(ch, &w);
	pthread_mutex_unlock(&c->lock);
	watch_free(&w);
	free(out.p);
	free(err.p);
	return rc;
}

/* Unlinks a finished forward from its connection; lock held. */
static void
fwd_unlink(struct ssh_fwd *f)
{
	struct ssh_conn *c = f->c;
	struct ssh_fwd **pp;

	for (pp = &c->fwds; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	c->nfwd--;
	pthread_cond_broadcast(&c->idle);
}

/*
 * The pump of one forward: channel -> socketpair and socketpair -> channel, each side's
 * end of data passed on (remote EOF: shutdown(SHUT_WR) of the pair; local EOF:
 * ssh_channel_send_eof), with flow control both ways (nothing more is read from one side
 * while the other has not taken the last chunk). Ends when both directions have ended,
 * when the channel closes, when the local peer is gone, or when the connection closes.
 */
static void *
fwd_pump(void *arg)
{
	struct ssh_fwd *f = arg;
	struct ssh_conn *c = f->c;
	char *tl, *tr;
	size_t tloff = 0, tllen = 0, troff = 0, trlen = 0;
	uint32_t win;
	ssize_t n;
	int reof = 0, leof = 0, lgone = 0, shut = 0, eofsent = 0, ms, r;
	short ev, rev, sev;

	tl = xmalloc(SSH_CHUNK);
	tr = xmalloc(SSH_CHUNK);
	pthread_mutex_lock(&c->lock);
	for (;;) {
		if (f->stop)
			break;
		if (conn_process(c) == -1) {
			log_debug(1, "ssh: %s: forward to %s: lost the connection: %s", c->name,
			    f->path, conn_error(c->s));
			goto done;
		}
		/* remote -> local */
		for (;;) {
			if (tllen == 0 && !reof) {
				r = ssh_channel_read_nonblocking(f->ch, tl, SSH_CHUNK, 0);
				if (r == SSH_EOF)
					reof = 1;
				else if (r < 0) {
					log_debug(1, "ssh: %s: forward to %s: %s", c->name, f->path,
					    conn_error(c->s));
					goto done;
				} else {
					tloff = 0;
					tllen = (size_t)r;
				}
			}
			if (tllen == 0)
				break;
			n = send(f->fd, tl + tloff, tllen, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				goto done;	/* the local peer is gone */
			}
			tloff += (size_t)n;
			tllen -= (size_t)n;
		}
		if (reof && tllen == 0 && !shut) {
			shutdown(f->fd, SHUT_WR);
			shut = 1;
		}
		/* local -> remote */
		for (;;) {
			if (trlen == 0 && !leof) {
				n = recv(f->fd, tr, SSH_CHUNK, MSG_DONTWAIT);
				if (n == -1) {
					if (errno == EINTR)
						continue;
					if (errno != EAGAIN && errno != EWOULDBLOCK)
						leof = lgone = 1;
				} else if (n == 0)
					leof = 1;
				else {
					troff = 0;
					trlen = (size_t)n;
				}
			}
			if (trlen == 0)
				break;
			if (ssh_channel_is_closed(f->ch))
				goto done;
			if ((win = ssh_channel_window_size(f->ch)) == 0)
				break;
			r = ssh_channel_write(f->ch, tr + troff, trlen < win ? trlen : win);
			if (r < 0) {
				log_debug(1, "ssh: %s: forward to %s: %s", c->name, f->path,
				    conn_error(c->s));
				goto done;
			}
			troff += (size_t)r;
			trlen -= (size_t)r;
		}
		if (leof && trlen == 0 && !eofsent) {
			if (!ssh_channel_is_closed(f->ch))
				ssh_channel_send_eof(f->ch);
			eofsent = 1;
		}
		if (shut && eofsent)
			break;		/* both directions ended */
		if (shut && ssh_channel_is_closed(f->ch))
			break;		/* the remote end is gone and all it sent is delivered */
		if (lgone && trlen == 0)
			break;		/* nobody left to deliver to */

		ev = 0;
		if (!leof && trlen == 0)
			ev |= POLLIN;
		if (tllen > 0)
			ev |= POLLOUT;
		ms = trlen > 0 ? SSH_WINDOW_POLL_MS : -1;
		sev = conn_events(c);
		pthread_mutex_unlock(&c->lock);
		rev = conn_wait(c, &f->w, sev, lgone ? -1 : f->fd, ev, ms);
		pthread_mutex_lock(&c->lock);
		if ((rev & (POLLHUP | POLLERR)) && !shut)
			lgone = 1;	/* closed, not just shut for writing: read what's left */
	}
done:
	chan_free(f->ch, &f->w);
	fwd_unlink(f);
	pthread_mutex_unlock(&c->lock);
	close(f->fd);
	watch_free(&f->w);
	free(f->path);
	free(f);
	free(tl);
	free(tr);
	return NULL;
}

int
ssh_conn_forward_unix(struct ssh_conn *c, const char *remote_path, char **cause)
{
	struct ssh_fwd *f;
	pthread_attr_t attr;
	pthread_t tid;
	int sp[2], e;

	f = xcalloc(1, sizeof *f);
	f->c = c;
	f->fd = -1;
	if (watch_init(&f->w) == -1) {
		free(f);
		return fail(cause, -1, "%s: %s", c->name, strerror(errno));
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		e = errno;
		watch_free(&f->w);
		free(f);
		return fail(cause, -1, "%s: socketpair: %s", c->name, strerror(e));
	}
	if (fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK) == -1)
		fatal("fcntl: %s", strerror(errno));
	f->fd = sp[0];
	f->path = xstrdup(remote_path);

	pthread_mutex_lock(&c->lock);
	if ((f->ch = ssh_channel_new(c->s)) == NULL) {
		fail(cause, -1, "%s: cannot open a channel to %s: %s", c->name, c->where,
		    conn_error(c->s));
		goto bad;
	}
	ssh_add_channel_callbacks(f->ch, &f->w.cb);
	if (ssh_channel_open_forward_unix(f->ch, remote_path, "127.0.0.1", 0) != SSH_OK) {
		e = strstr(conn_error(c->s), "open failed") != NULL;
		fail(cause, -1, "%s: cannot reach %s on %s: %s%s", c->name, remote_path, c->where,
		    conn_error(c->s), e ? " (nothing listening there, or sshd does not allow "
		    "stream-local forwarding)" : "");
		goto bad;
	}
	pthread_attr_init(&attr);
	e = pthread_create(&tid, &attr, fwd_pump, f);
	pthread_attr_destroy(&attr);
	if (e != 0) {
		fail(cause, -1, "%s: cannot start a thread: %s", c->name, strerror(e));
		goto bad;
	}
	c->tids = xreallocarray(c->tids, c->ntids + 1, sizeof *c->tids);
	c->tids[c->ntids++] = tid;
	f->next = c->fwds;
	c->fwds = f;
	c->nfwd++;
	pthread_mutex_unlock(&c->lock);
	log_debug(2, "ssh: %s: forwarding to %s", c->name, remote_path);
	return sp[1];

bad:
	if (f->ch != NULL)
		chan_free(f->ch, &f->w);
	pthread_mutex_unlock(&c->lock);
	close(sp[0]);
	close(sp[1]);
	watch_free(&f->w);
	free(f->path);
	free(f);
	return -1;
}
