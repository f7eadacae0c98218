#include "supervisor.h"
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "argv.h"
#include "ctl.h"
#include "exitcodes.h"
#include "linebuf.h"
#include "policy.h"
#include "qmp.h"
#include "rundir.h"
#include "spawn.h"

#define CLIENT_OUT_MAX (4 * 1024 * 1024)
#define SERIAL_OUT_MAX (256 * 1024)
#define CONSOLE_LOG_MAX (1024 * 1024)
#define EVENT_RING 32
#define MAX_WAITERS 64
#define QUIT_GRACE 5.0
#define TERM_GRACE 3.0
#define KILL_GRACE 5.0
#define REPRESS_EVERY 3.0	/* a guest still booting misses the first power button press */

enum { Q_NONE, Q_GREETING, Q_CAPS, Q_STATUS, Q_READY, Q_CLOSED };
enum { ST_NONE, ST_ACPI, ST_QUIT, ST_TERM, ST_KILL };
enum { REQ_CLIENT, REQ_CAPS, REQ_STATUS, REQ_CANCEL, REQ_INTERNAL, REQ_MIGRATE,
    REQ_MIGPOLL };
enum { MIG_NONE, MIG_SAVE, MIG_RESTORE };
#define MIGPOLL_EVERY 0.1
#define MIG_BANDWIDTH 17179869184LL	/* 16 GiB/s: no throttle for a stopped guest */

struct client {
	int fd;
	int console;		/* a console.sock stream or an attached console, else control */
	int attached;		/* a control client upgraded by "console": framed output */
	int rw;			/* an attached console that types (one at a time) */
	int tied;		/* CLI0: QEMU quits when this client leaves */
	int closing;		/* told why it is closed; dropped once its output is out */
	int subscribed;
	pid_t pid;
	struct linebuf in;
	char *out;
	size_t outlen;
	int dead;
	struct client *next;
};

struct pending {
	int qid;
	int passfd;		/* sent with the command (SCM_RIGHTS), then closed; -1 none */
	char *line;
	int kind;
	struct client *c;
	int cid;
	struct pending *next;
};

struct waiter {
	struct client *c;
	int cid;
};

struct ga_wait {			/* a client's request to the guest agent */
	struct ga_wait *next;
	struct sup *s;
	struct client *c;	/* NULL when it went away meanwhile */
	int cid;
};

struct sup {
	struct sup_config *cfg;
	pid_t qemu_pid;
	int pidfd;
	int child;
	int qmp_fd;
	struct linebuf qmp_in;
	int qstage;
	struct pending *queue;
	int inflight;
	int qmp_next_id;
	int ctl_lfd, con_lfd;
	int ser_fd;
	char *ser_out;
	size_t ser_outlen;
	struct client *clients;
	struct client *writer;
	int sigfd;
	int notify_fd;
	char state[40];
	char qemu_version[32];	/* from the QMP greeting */
	double started;
	double create_deadline;
	json_object *ring[EVENT_RING];
	int nring;
	int events_fd;
	int log_fd;
	off_t log_size;
	int cancel_mode;	/* 0, 'P' poweroff, 'F' force */
	int stage;
	int acpi_timeout;	/* seconds the guest gets to power off */
	double deadline;
	double repress;		/* when the power button is pressed again */
	double cancel_started;
	pid_t cancel_by;
	struct waiter waiters[MAX_WAITERS];
	int nwaiters;
	int shutdown_seen, shutdown_guest;
	char shutdown_reason[64];
	int detach;		/* SIGTERM: leave QEMU running */
	const char *end_cause;	/* a policy's destroy: guest-poweroff, guest-reboot, crash */
	int restarts;		/* restarts by policy */
	int rebooting;		/* CANCEL REBOOT: waiting for the guest to go down */
	double reboot_deadline;
	struct waiter rwaiters[MAX_WAITERS];
	int nrwaiters;
	int mig;		/* MIG_SAVE (CANCEL SUSPEND) or MIG_RESTORE (CREATE RESUME) */
	int mig_fd;		/* our copy of the state file */
	double mig_poll;	/* when query-migrate is asked next */
	char *mig_part;		/* SUSPEND: the state file being written */
	char *exe, *macs, *ports;	/* facts from the runtime directory, for LIST */
	char *def_ips;		/* the definition's #@#IP<n> addresses */
	int agent_fd;		/* connected to the guest agent's chardev; -1: none */
	struct agent *agent;	/* its protocol (agent.c) */
	int ga_synced;		/* the agent was in step at the last look */
	double ga_refresh;	/* when its network interfaces are asked again */
	json_object *ga;	/* what the agent said: version, os, hostname, interfaces */
	int ga_shutdown;	/* CANCEL POWEROFF asked the agent (guest-shutdown) */
	int ga_asked;		/* ...at all (for the exit record) */
	int ga_addr;		/* the guest has had an address beyond link-local */
	struct ga_wait *gawait;	/* clients waiting for an agent reply */
	json_object *channels;	/* named channel -> opened by the guest (VSERPORT_CHANGE) */
};

static char *
vmfile(struct sup *s, const char *name)
{
	return rundir_file(s->cfg->dir, name);
}

static void
set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* --- clients ---------------------------------------------------------------------- */

static void
client_send(struct client *c, const char *data, size_t len)
{
	ssize_t n;

	if (c->dead)
		return;
	if (c->outlen == 0) {
		n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			c->dead = 1;
			return;
		}
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
	}
	if (len == 0)
		return;
	/* one big reply (a guest agent's output) is fine; a client that does not read while
	 * more comes is dropped, not waited for */
	if (c->outlen > 0 && c->outlen + len > CLIENT_OUT_MAX) {
		c->dead = 1;
		return;
	}
	c->out = xrealloc(c->out, c->outlen + len);
	memcpy(c->out + c->outlen, data, len);
	c->outlen += len;
}

static void
client_flush(struct client *c)
{
	ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n == -1 && errno != EAGAIN && errno != EINTR) {
		c->dead = 1;
		return;
	}
	if (n > 0) {
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	if (c->closing && c->outlen == 0)
		c->dead = 1;
}

/*
 * An attached console's output is framed (docs/control-socket.md): a type byte ('D' the
 * guest's output, 'C' closed: why, as text), a 4-byte big-endian length, the payload.
 */
static void
client_frame(struct client *c, char type, const char *data, size_t len)
{
	char *buf = xmalloc(len + 5);

	buf[0] = type;
	buf[1] = (char)(len >> 24);
	buf[2] = (char)(len >> 16);
	buf[3] = (char)(len >> 8);
	buf[4] = (char)len;
	memcpy(buf + 5, data, len);
	client_send(c, buf, len + 5);
	free(buf);
}

/* Output to a console client, raw or framed. */
static void
console_out(struct client *c, const char *data, size_t len)
{
	if (c->attached)
		client_frame(c, 'D', data, len);
	else
		client_send(c, data, len);
}

/* Closes a console client, telling an attached one why. */
static void
console_close(struct client *c, const char *why)
{
	if (c->attached) {
		client_frame(c, 'C', why, strlen(why));
		c->closing = 1;
		if (c->outlen == 0)
			c->dead = 1;
	} else
		c->dead = 1;
}

static void
client_json(struct client *c, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *line = xasprintf("%s\n", s);

	client_send(c, line, strlen(line));	/* one send: the reader wakes once */
	free(line);
}

static void
reply_ok(struct client *c, int cid, json_object *data)
{
	json_object *o = json_object_new_object();

	if (c == NULL) {
		json_object_put(data);
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "v", json_object_new_int(CTL_VERSION));
	json_object_object_add(o, "id", json_object_new_int(cid));
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	if (data != NULL)
		json_object_object_add(o, "data", data);
	client_json(c, o);
	json_object_put(o);
}

static void
reply_err(struct client *c, int cid, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
reply_err(struct client *c, int cid, int status, const char *fmt, ...)
{
	json_object *o;
	va_list ap;
	char *msg;

	if (c == NULL)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	o = json_object_new_object();
	json_object_object_add(o, "v", json_object_new_int(CTL_VERSION));
	json_object_object_add(o, "id", json_object_new_int(cid));
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	json_object_object_add(o, "status", json_object_new_int(status));
	client_json(c, o);
	json_object_put(o);
	free(msg);
}

static void
client_free(struct sup *s, struct client *c)
{
	for (struct pending *p = s->queue; p != NULL; p = p->next)
		if (p->c == c)
			p->c = NULL;
	for (int i = 0; i < s->nwaiters; i++)
		if (s->waiters[i].c == c)
			s->waiters[i].c = NULL;
	for (int i = 0; i < s->nrwaiters; i++)
		if (s->rwaiters[i].c == c)
			s->rwaiters[i].c = NULL;
	for (struct ga_wait *w = s->gawait; w != NULL; w = w->next)
		if (w->c == c)
			w->c = NULL;
	if (s->writer == c)
		s->writer = NULL;
	close(c->fd);
	linebuf_free(&c->in);
	free(c->out);
	free(c);
}

static void record_event(struct sup *, const char *, json_object *, double);
static void cancel_stage(struct sup *, int stage);
static void on_vserport(struct sup *, json_object *);

/* A console client came or went: who (pid) and whether it may type. */
static void
console_event(struct sup *s, struct client *c, const char *name)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "pid", json_object_new_int(c->pid));
	json_object_object_add(d, "writer", json_object_new_boolean(s->writer == c));
	record_event(s, name, d, now_real());
	json_object_put(d);
}

static void
reap_clients(struct sup *s)
{
	struct client **pp = &s->clients, *c;

	while ((c = *pp) != NULL) {
		if (c->dead) {
			if (c->console)
				console_event(s, c, "CTYS_CONSOLE_DETACH");
			if (c->tied && s->cancel_mode == 0 && s->end_cause == NULL) {
				/* CLI0: the console was the VM's life */
				log_debug(1, "the tied console (pid %d) left: quitting QEMU", (int)c->pid);
				s->cancel_mode = 'T';
				s->cancel_by = c->pid;
				s->cancel_started = now_mono();
				cancel_stage(s, ST_QUIT);
			}
			*pp = c->next;
			client_free(s, c);
		} else
			pp = &c->next;
	}
	if (s->writer == NULL) {
		/* an interactive console first, else the oldest console client still connected */
		struct client *oldest = NULL;

		for (c = s->clients; c != NULL; c = c->next)
			if (c->console && !c->closing && (!c->attached || c->rw))
				oldest = c;
		s->writer = oldest;
	}
}

/* --- state, events ------------------------------------------------------------------ */

static json_object *
status_json(struct sup *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "label", json_object_new_string(s->cfg->label));
	json_object_object_add(o, "id", json_object_new_string(s->cfg->id));
	json_object_object_add(o, "uuid", json_object_new_string(s->cfg->uuid ? s->cfg->uuid : ""));
	json_object_object_add(o, "definition", json_object_new_string(s->cfg->def ? s->cfg->def : ""));
	json_object_object_add(o, "state", json_object_new_string(s->state));
	json_object_object_add(o, "qemu_pid", json_object_new_int(s->qemu_pid));
	json_object_object_add(o, "supervisor_pid", json_object_new_int(getpid()));
	json_object_object_add(o, "accel", json_object_new_string(s->cfg->accel ? s->cfg->accel : ""));
	json_object_object_add(o, "adopted", json_object_new_boolean(!s->child));
	json_object_object_add(o, "qemu_version", json_object_new_string(s->qemu_version));
	json_object_object_add(o, "started", json_object_new_double(s->started));
	if (s->exe != NULL)
		json_object_object_add(o, "exe", json_object_new_string(s->exe));
	if (s->macs != NULL)
		json_object_object_add(o, "macs", json_object_new_string(s->macs));
	if (s->ports != NULL)
		json_object_object_add(o, "ports", json_object_new_string(s->ports));
	if (s->def_ips != NULL)
		json_object_object_add(o, "def_ips", json_object_new_string(s->def_ips));
	if (s->agent != NULL) {
		json_object *g = s->ga != NULL ? json_object_get(s->ga) : json_object_new_object();

		json_object_object_add(g, "connected", json_object_new_boolean(
		    agent_synced(s->agent)));
		json_object_object_add(o, "agent", g);
	}
	if (s->channels != NULL)
		json_object_object_add(o, "channels", json_object_get(s->channels));
	return o;
}

/* What the runtime directory says of this VM, kept in the status for LIST. */
static void
load_facts(struct sup *s)
{
	char *p = vmfile(s, "argv"), *buf;
	size_t len;

	if ((buf = file_read(p, 1 << 20, &len)) != NULL)
		rundir_argv_facts(buf, len, &s->exe, &s->macs);
	free(buf);
	free(p);
	p = vmfile(s, "ips");
	s->def_ips = file_read_line(p);
	free(p);
	p = vmfile(s, "ports");
	if ((buf = file_read(p, 65536, &len)) != NULL) {
		while (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		for (char *c = buf; *c; c++)
			if (*c == '\n')
				*c = ',';
		s->ports = buf;
	}
	free(p);
}

/*
 * status.json in the runtime directory: what `status` answers, rewritten (atomically) on
 * every change of state, so that LIST reads files and never waits for a supervisor.
 */
/* Writes o to path (0600) through path.tmp and a rename: readers see all or nothing. */
static void
json_write_atomic(const char *path, json_object *o, int flags)
{
	char *tmp = xasprintf("%s.tmp", path);
	const char *js = json_object_to_json_string_ext(o, flags | JSON_C_TO_STRING_NOSLASHESCAPE);

	if (file_write(tmp, js, strlen(js), 0600) == 0)
		rename(tmp, path);
	free(tmp);
}

static void
publish_status(struct sup *s)
{
	json_object *o = status_json(s);
	char *p = vmfile(s, "status.json");

	json_write_atomic(p, o, JSON_C_TO_STRING_PLAIN);
	free(p);
	json_object_put(o);
}

static void
record_event(struct sup *s, const char *name, json_object *data, double ts)
{
	json_object *ev = json_object_new_object();
	const char *line;

	json_object_object_add(ev, "v", json_object_new_int(CTL_VERSION));
	json_object_object_add(ev, "event", json_object_new_string(name));
	json_object_object_add(ev, "ts", json_object_new_double(ts));
	if (data != NULL)
		json_object_object_add(ev, "data", json_object_get(data));
	line = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s->events_fd != -1) {
		char *l = xasprintf("%s\n", line);

		if (write(s->events_fd, l, strlen(l)) == -1)
			log_debug(1, "events.jsonl: %s", strerror(errno));
		free(l);
	}
	for (struct client *c = s->clients; c != NULL; c = c->next)
		if (c->subscribed && !c->console)
			client_json(c, ev);
	if (s->nring == EVENT_RING) {
		json_object_put(s->ring[0]);
		memmove(s->ring, s->ring + 1, (EVENT_RING - 1) * sizeof s->ring[0]);
		s->nring--;
	}
	s->ring[s->nring++] = ev;
}

static struct pending *qmp_enqueue(struct sup *, const char *, json_object *, int,
    struct client *, int, int);
static void cancel_stage(struct sup *, int stage);

/* Power the guest on again after a power-off, reboot or panic (libvirt's way). */
static void
restart(struct sup *s)
{
	qmp_enqueue(s, "system_reset", NULL, REQ_INTERNAL, NULL, 0, 0);
	qmp_enqueue(s, "cont", NULL, REQ_INTERNAL, NULL, 0, 0);
	s->shutdown_seen = 0;
	s->shutdown_guest = 0;
	s->shutdown_reason[0] = '\0';
}

/* The definition's ON_POWEROFF / ON_REBOOT / ON_CRASH for what the guest did. */
static void
apply_policy(struct sup *s, const char *what, int pol)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "after", json_object_new_string(what));
	json_object_object_add(d, "policy", json_object_new_string(policy_name(pol)));
	record_event(s, "CTYS_POLICY", d, now_real());
	json_object_put(d);
	log_debug(1, "guest %s: %s", what, policy_name(pol));
	switch (pol) {
	case POL_DESTROY:
		s->end_cause = strcmp(what, "poweroff") == 0 ? "guest-poweroff" :
		    strcmp(what, "reboot") == 0 ? "guest-reboot" : "crash";
		s->cancel_started = now_mono();
		cancel_stage(s, ST_QUIT);
		break;
	case POL_RESTART:
		s->restarts++;
		restart(s);
		break;
	case POL_PRESERVE:
		break;
	}
}

static void
reboot_done(struct sup *s, const char *how)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "how", json_object_new_string(how));
	record_event(s, "CTYS_REBOOTED", d, now_real());
	restart(s);
	s->rebooting = 0;
	for (int i = 0; i < s->nrwaiters; i++)
		reply_ok(s->rwaiters[i].c, s->rwaiters[i].cid, json_object_get(d));
	s->nrwaiters = 0;
	json_object_put(d);
}

static void
on_shutdown(struct sup *s)
{
	if (!s->shutdown_guest)
		return;		/* the host's (quit, a signal): QEMU exits by itself */
	if (s->rebooting) {
		reboot_done(s, "acpi");
		return;
	}
	if (s->cancel_mode != 0 || s->end_cause != NULL) {
		/* our power-off worked (a host CANCEL is never overridden by a policy) */
		if (s->stage == ST_ACPI)
			qmp_enqueue(s, "quit", NULL, REQ_INTERNAL, NULL, 0, 1);
		return;
	}
	if (strcmp(s->shutdown_reason, "guest-reset") == 0)
		apply_policy(s, "reboot", s->cfg->policy.reboot);
	else if (strcmp(s->shutdown_reason, "guest-panic") == 0)
		apply_policy(s, "crash", s->cfg->policy.crash);
	else
		apply_policy(s, "poweroff", s->cfg->policy.poweroff);
}

static void
on_panic(struct sup *s)
{
	if (s->rebooting) {
		s->rebooting = 0;
		for (int i = 0; i < s->nrwaiters; i++)
			reply_err(s->rwaiters[i].c, s->rwaiters[i].cid, EXIT_FAIL,
			    "the guest crashed while rebooting");
		s->nrwaiters = 0;
	}
	if (s->cancel_mode != 0 || s->end_cause != NULL) {
		if (s->stage == ST_ACPI)
			qmp_enqueue(s, "quit", NULL, REQ_INTERNAL, NULL, 0, 1);
		return;
	}
	apply_policy(s, "crash", s->cfg->policy.crash);
}

static void
on_qmp_event(struct sup *s, json_object *o)
{
	json_object *ev, *data = NULL, *ts, *v;
	const char *name;
	double t = now_real();

	json_object_object_get_ex(o, "event", &ev);
	json_object_object_get_ex(o, "data", &data);
	name = json_object_get_string(ev);
	if (json_object_object_get_ex(o, "timestamp", &ts)) {
		json_object *sec, *usec;

		if (json_object_object_get_ex(ts, "seconds", &sec) &&
		    json_object_object_get_ex(ts, "microseconds", &usec))
			t = (double)json_object_get_int64(sec) +
			    (double)json_object_get_int64(usec) / 1e6;
	}
	if (strcmp(name, "STOP") == 0) {
		/* the STOP that follows SHUTDOWN or GUEST_PANICKED keeps the finer state */
		if (strcmp(s->state, "shutdown") != 0 && strcmp(s->state, "guest-panicked") != 0)
			strlcpy_chk(s->state, "paused", sizeof s->state);
	}
	else if (strcmp(name, "RESUME") == 0)
		strlcpy_chk(s->state, "running", sizeof s->state);
	else if (strcmp(name, "SHUTDOWN") == 0) {
		s->shutdown_seen = 1;
		if (data && json_object_object_get_ex(data, "guest", &v))
			s->shutdown_guest = json_object_get_boolean(v);
		if (data && json_object_object_get_ex(data, "reason", &v))
			strlcpy_chk(s->shutdown_reason, json_object_get_string(v),
			    sizeof s->shutdown_reason);
		strlcpy_chk(s->state, "shutdown", sizeof s->state);
	} else if (strcmp(name, "GUEST_PANICKED") == 0)
		strlcpy_chk(s->state, "guest-panicked", sizeof s->state);
	else if (strcmp(name, "VSERPORT_CHANGE") == 0)
		on_vserport(s, data);
	record_event(s, name, data, t);
	publish_status(s);
	if (strcmp(name, "SHUTDOWN") == 0)
		on_shutdown(s);
	else if (strcmp(name, "GUEST_PANICKED") == 0)
		on_panic(s);
}

/* --- the guest agent --------------------------------------------------------------- */

#define GA_REFRESH	30.0	/* seconds between asking the guest's addresses again */
#define GA_TIMEOUT	5000	/* ms for the supervisor's own agent questions */
#define GA_MAX_IFS	32
#define GA_MAX_IPS	16

/* A string from the guest, made printable and bounded, or NULL. */
static json_object *
ga_str(json_object *o, const char *key, size_t max)
{
	json_object *v;
	json_object *r;
	char *p;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	p = agent_printable(json_object_get_string(v), max);
	r = json_object_new_string(p);
	free(p);
	return r;
}

static void
ga_set(struct sup *s, const char *key, json_object *v)
{
	if (v == NULL)
		return;
	if (s->ga == NULL)
		s->ga = json_object_new_object();
	json_object_object_add(s->ga, key, v);
	json_object_object_add(s->ga, "updated", json_object_new_double(now_real()));
	publish_status(s);
}

static void
ga_version_cb(void *arg, int status, json_object *ret, const char *err)
{
	(void)err;
	if (status == 0)
		ga_set(arg, "version", ga_str(ret, "version", 64));
}

static void
ga_host_cb(void *arg, int status, json_object *ret, const char *err)
{
	(void)err;
	if (status == 0)
		ga_set(arg, "hostname", ga_str(ret, "host-name", 255));
}

static void
ga_os_cb(void *arg, int status, json_object *ret, const char *err)
{
	static const char *const keys[] = { "pretty-name", "name", "version", "id",
	    "kernel-release", "machine" };
	json_object *os;

	(void)err;
	if (status != 0 || !json_object_is_type(ret, json_type_object))
		return;
	os = json_object_new_object();
	for (size_t i = 0; i < nitems(keys); i++) {
		json_object *v = ga_str(ret, keys[i], 128);

		if (v != NULL)
			json_object_object_add(os, keys[i], v);
	}
	ga_set(arg, "os", os);
}

/* guest-network-get-interfaces: the guest's addresses (loopback left out), bounded. */
static void
ga_net_cb(void *arg, int status, json_object *ret, const char *err)
{
	json_object *ifs;

	(void)err;
	if (status != 0 || !json_object_is_type(ret, json_type_array))
		return;
	ifs = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(ret) &&
	    json_object_array_length(ifs) < GA_MAX_IFS; i++) {
		json_object *in = json_object_array_get_idx(ret, i), *ips, *out, *list, *name;

		if (!json_object_is_type(in, json_type_object) ||
		    (name = ga_str(in, "name", 32)) == NULL)
			continue;
		if (strcmp(json_object_get_string(name), "lo") == 0) {
			json_object_put(name);
			continue;
		}
		out = json_object_new_object();
		json_object_object_add(out, "name", name);
		list = json_object_new_array();
		if (json_object_object_get_ex(in, "ip-addresses", &ips) &&
		    json_object_is_type(ips, json_type_array))
			for (size_t k = 0; k < json_object_array_length(ips) &&
			    json_object_array_length(list) < GA_MAX_IPS; k++) {
				json_object *a = json_object_array_get_idx(ips, k), *ip, *pfx;

				if ((ip = ga_str(a, "ip-address", 64)) == NULL)
					continue;
				if (json_object_object_get_ex(a, "prefix", &pfx) &&
				    json_object_is_type(pfx, json_type_int)) {
					char *t = xasprintf("%s/%d", json_object_get_string(ip),
					    json_object_get_int(pfx));

					json_object_put(ip);
					ip = json_object_new_string(t);
					free(t);
				}
				if (strncasecmp(json_object_get_string(ip), "fe80:", 5) != 0)
					((struct sup *)arg)->ga_addr = 1;
				json_object_array_add(list, ip);
			}
		json_object_object_add(out, "ips", list);
		{
			json_object *hw = ga_str(in, "hardware-address", 32);

			if (hw != NULL)
				json_object_object_add(out, "mac", hw);
		}
		json_object_array_add(ifs, out);
	}
	ga_set(arg, "interfaces", ifs);
}

/* The agent came in step: what it knows, once; the addresses again now and then. */
static void
ga_watch(struct sup *s)
{
	int synced;

	if (s->agent == NULL)
		return;
	synced = agent_synced(s->agent);
	if (synced != s->ga_synced) {
		s->ga_synced = synced;
		publish_status(s);
		if (synced) {
			agent_call(s->agent, "guest-info", NULL, GA_TIMEOUT, 0, ga_version_cb, s);
			agent_call(s->agent, "guest-get-osinfo", NULL, GA_TIMEOUT, 0, ga_os_cb, s);
			agent_call(s->agent, "guest-get-host-name", NULL, GA_TIMEOUT, 0, ga_host_cb,
			    s);
			s->ga_refresh = 0;
		}
	}
	if (synced && now_mono() >= s->ga_refresh) {
		agent_call(s->agent, "guest-network-get-interfaces", NULL, GA_TIMEOUT, 0,
		    ga_net_cb, s);
		/* soon after boot the addresses are still coming (DHCP): ask again sooner */
		s->ga_refresh = now_mono() + (s->ga_addr ? GA_REFRESH : 3.0);
	}
}

/* A client's `agent` request answered. */
static void
ga_client_cb(void *arg, int status, json_object *ret, const char *err)
{
	struct ga_wait *w = arg, **pp;

	if (w->c != NULL) {
		if (status == 0)
			reply_ok(w->c, w->cid, ret != NULL ? json_object_get(ret) : NULL);
		else
			reply_err(w->c, w->cid, status, "%s", err ? err : "the guest agent failed");
	}
	for (pp = &w->s->gawait; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	free(w);
}

static void
cmd_agent(struct sup *s, struct client *c, int cid, json_object *req)
{
	json_object *exe, *args = NULL, *v;
	struct ga_wait *w;
	int timeout = 10000, i;

	if (!json_object_object_get_ex(req, "execute", &exe) ||
	    !json_object_is_type(exe, json_type_string)) {
		reply_err(c, cid, EXIT_USAGE, "agent: missing \"execute\"");
		return;
	}
	if (s->agent == NULL) {
		reply_err(c, cid, EXIT_STATE, "'%s' has no guest agent port (GUESTAGENT=off)",
		    s->cfg->label);
		return;
	}
	if (json_object_object_get_ex(req, "timeout", &v))
		timeout = json_object_get_int(v);
	if (timeout < 1 || timeout > 86400000) {
		reply_err(c, cid, EXIT_USAGE, "agent: timeout out of range");
		return;
	}
	for (w = s->gawait, i = 0; w != NULL; w = w->next)
		i++;
	if (i >= MAX_WAITERS) {
		reply_err(c, cid, EXIT_FAIL, "too many guest agent requests");
		return;
	}
	w = xcalloc(1, sizeof *w);
	w->s = s;
	w->c = c;
	w->cid = cid;
	w->next = s->gawait;
	s->gawait = w;
	if (json_object_object_get_ex(req, "arguments", &args))
		json_object_get(args);
	agent_call(s->agent, json_object_get_string(exe), args, timeout, 0, ga_client_cb, w);
}

/* CANCEL POWEROFF through the agent: no answer is its success (the SHUTDOWN event). */
static void
ga_shutdown_cb(void *arg, int status, json_object *ret, const char *err)
{
	struct sup *s = arg;

	(void)ret;
	if (status != 0 && s->stage == ST_ACPI) {
		log_debug(1, "guest-shutdown: %s; the power button instead", err ? err : "");
		s->ga_shutdown = 0;
		qmp_enqueue(s, "system_powerdown", NULL, REQ_CANCEL, NULL, 0, 0);
		s->repress = now_mono() + REPRESS_EVERY;
	}
}

/* The named channels of the argv: "chN" -> name, all closed at first. */
static void
channels_init(struct sup *s)
{
	for (size_t i = 0; i < s->cfg->argv.n; i++) {
		const char *a = s->cfg->argv.v[i], *n;

		if (strncmp(a, "virtserialport,", 15) == 0 && strstr(a, "chardev=ch") != NULL &&
		    (n = strstr(a, ",name=")) != NULL) {
			if (s->channels == NULL)
				s->channels = json_object_new_object();
			json_object_object_add(s->channels, n + 6, json_object_new_boolean(0));
		}
	}
}

/* VSERPORT_CHANGE {"id": chardev id, "open": bool}: the agent's port, or a channel. */
static void
on_vserport(struct sup *s, json_object *data)
{
	json_object *id, *open;
	const char *cid;

	if (data == NULL || !json_object_object_get_ex(data, "id", &id) ||
	    !json_object_object_get_ex(data, "open", &open))
		return;
	cid = json_object_get_string(id);
	if (strcmp(cid, "qga0") == 0) {
		if (s->agent != NULL)
			agent_port(s->agent, json_object_get_boolean(open));
		return;
	}
	/* chN: the N-th channel of the argv */
	if (s->channels != NULL && strncmp(cid, "ch", 2) == 0) {
		int k = 0, want = atoi(cid + 2);

		json_object_object_foreach(s->channels, name, val) {
			(void)val;
			if (k++ == want) {
				json_object_object_add(s->channels, name,
				    json_object_new_boolean(json_object_get_boolean(open)));
				break;
			}
		}
	}
}

/* --- QMP ------------------------------------------------------------------------------ */

static struct pending *
qmp_enqueue(struct sup *s, const char *cmd, json_object *args, int kind, struct client *c,
    int cid, int front)
{
	struct pending *p = xcalloc(1, sizeof *p), **pp;

	p->passfd = -1;
	p->qid = s->qmp_next_id++;
	p->line = qmp_command_line(cmd, args, p->qid);
	p->kind = kind;
	p->c = c;
	p->cid = cid;
	if (front && s->queue != NULL && !s->inflight) {
		p->next = s->queue;
		s->queue = p;
		return p;
	}
	if (front && s->queue != NULL) {
		p->next = s->queue->next;
		s->queue->next = p;
		return p;
	}
	for (pp = &s->queue; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = p;
	return p;
}

/* A client waiting for the end of something; -1 when too many wait already. */
static int
add_waiter(struct waiter *w, int *n, struct client *c, int cid)
{
	if (*n == MAX_WAITERS)
		return -1;
	w[*n].c = c;
	w[(*n)++].cid = cid;
	return 0;
}

/* --- SUSPEND (save the state to a file, stop QEMU) and its restore ------------------- */

static void finish_migration(struct sup *, int ok, const char *why);
static void notify(struct sup *, int ok, int status, const char *msg);

/* Hands fd to QEMU under a name (QMP getfd over SCM_RIGHTS); our fd is closed after. */
static void
qmp_pass_fd(struct sup *s, const char *name, int fd)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "fdname", json_object_new_string(name));
	qmp_enqueue(s, "getfd", a, REQ_INTERNAL, NULL, 0, 0)->passfd = fd;
}

static void
migration_params(struct sup *s)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "max-bandwidth", json_object_new_int64(MIG_BANDWIDTH));
	qmp_enqueue(s, "migrate-set-parameters", a, REQ_INTERNAL, NULL, 0, 0);
}

/*
 * The disks and kernel files of the argv with their size and mtime, so that a restore
 * can refuse when one changed (a guest resumed on different disks corrupts them).
 */
static json_object *
argv_files(struct sup *s)
{
	json_object *arr = json_object_new_array();
	const struct strv *a = &s->cfg->argv;

	for (size_t i = 0; i + 1 < a->n; i++) {
		const char *v = a->v[i + 1];
		struct sb { char *s; } f = { NULL };
		struct stat st;

		if (strcmp(a->v[i], "-kernel") == 0 || strcmp(a->v[i], "-initrd") == 0)
			f.s = xstrdup(v);
		else if (strcmp(a->v[i], "-drive") == 0 && strncmp(v, "file=", 5) == 0) {
			/* the value up to the first single comma; ",," is a comma */
			char *o = f.s = xmalloc(strlen(v));
			const char *c = v + 5;

			while (*c != '\0' && !(c[0] == ',' && c[1] != ',')) {
				if (c[0] == ',' && c[1] == ',')
					c++;
				*o++ = *c++;
			}
			*o = '\0';
		}
		if (f.s == NULL)
			continue;
		if (f.s[0] != '/' && s->cfg->workdir != NULL) {
			char *abs = xasprintf("%s/%s", s->cfg->workdir, f.s);

			free(f.s);
			f.s = abs;
		}
		if (stat(f.s, &st) == 0) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "path", json_object_new_string(f.s));
			json_object_object_add(o, "size", json_object_new_int64(st.st_size));
			json_object_object_add(o, "mtime", json_object_new_double((double)st.st_mtim.tv_sec
			    + st.st_mtim.tv_nsec / 1e9));
			json_object_array_add(arr, o);
		}
		free(f.s);
	}
	return arr;
}

/* CANCEL SUSPEND: stop, migrate to <save_dir>/state.img, then quit. */
static void
start_suspend(struct sup *s, struct client *c, int cid)
{
	json_object *a;
	int fd;

	if (mkdir_p(s->cfg->save_dir, 0700) == -1) {
		reply_err(c, cid, EXIT_FAIL, "cannot create '%s': %s", s->cfg->save_dir,
		    strerror(errno));
		return;
	}
	free(s->mig_part);
	s->mig_part = xasprintf("%s/state.img.part", s->cfg->save_dir);
	if ((fd = open(s->mig_part, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1) {
		reply_err(c, cid, EXIT_FAIL, "cannot create '%s': %s", s->mig_part,
		    strerror(errno));
		return;
	}
	s->mig = MIG_SAVE;
	s->mig_fd = fd;
	add_waiter(s->waiters, &s->nwaiters, c, cid);
	if (c != NULL && s->cancel_by == 0)
		s->cancel_by = c->pid;
	s->cancel_started = now_mono();
	qmp_enqueue(s, "stop", NULL, REQ_INTERNAL, NULL, 0, 0);
	migration_params(s);
	qmp_pass_fd(s, "ctys-save", dup(fd));
	a = json_object_new_object();
	json_object_object_add(a, "uri", json_object_new_string("fd:ctys-save"));
	qmp_enqueue(s, "migrate", a, REQ_MIGRATE, NULL, 0, 0);
	s->mig_poll = now_mono() + MIGPOLL_EVERY;
	log_debug(1, "suspend: saving to %s", s->mig_part);
}

/* CREATE RESUME of a suspended VM: QEMU started with -incoming defer; feed it the file. */
static int
start_restore(struct sup *s)
{
	json_object *a;
	int fd;

	if ((fd = open(s->cfg->restore, O_RDONLY | O_CLOEXEC)) == -1) {
		char *m = xasprintf("cannot open the saved state '%s': %s", s->cfg->restore,
		    strerror(errno));

		notify(s, 0, EXIT_FAIL, m);
		free(m);
		return -1;
	}
	s->mig = MIG_RESTORE;
	s->mig_fd = -1;
	migration_params(s);
	qmp_pass_fd(s, "ctys-restore", fd);
	a = json_object_new_object();
	json_object_object_add(a, "uri", json_object_new_string("fd:ctys-restore"));
	qmp_enqueue(s, "migrate-incoming", a, REQ_MIGRATE, NULL, 0, 0);
	s->mig_poll = now_mono() + MIGPOLL_EVERY;
	log_debug(1, "restore: loading %s", s->cfg->restore);
	return 0;
}

static void
write_save_meta(struct sup *s)
{
	json_object *o = json_object_new_object();
	char *p, *argvp;
	size_t len = 0;
	char *buf;

	json_object_object_add(o, "label", json_object_new_string(s->cfg->label));
	json_object_object_add(o, "uuid", json_object_new_string(s->cfg->uuid ? s->cfg->uuid : ""));
	json_object_object_add(o, "definition", json_object_new_string(s->cfg->def ? s->cfg->def : ""));
	json_object_object_add(o, "saved", json_object_new_double(now_real()));
	json_object_object_add(o, "qemu_version", json_object_new_string(s->qemu_version));
	json_object_object_add(o, "accel", json_object_new_string(s->cfg->accel ? s->cfg->accel : ""));
	json_object_object_add(o, "workdir", json_object_new_string(s->cfg->workdir ? s->cfg->workdir : "/"));
	json_object_object_add(o, "files", argv_files(s));
	p = xasprintf("%s/meta.json", s->cfg->save_dir);
	json_write_atomic(p, o, JSON_C_TO_STRING_PRETTY);
	free(p);
	json_object_put(o);
	/* the exact argv: a restore needs the identical device set */
	for (size_t i = 0; i < s->cfg->argv.n; i++)
		len += strlen(s->cfg->argv.v[i]) + 1;
	buf = xmalloc(len + 1);
	len = 0;
	for (size_t i = 0; i < s->cfg->argv.n; i++) {
		size_t l = strlen(s->cfg->argv.v[i]) + 1;

		memcpy(buf + len, s->cfg->argv.v[i], l);
		len += l;
	}
	argvp = xasprintf("%s/argv", s->cfg->save_dir);
	file_write(argvp, buf, len, 0600);
	free(argvp);
	free(buf);
}

static void
finish_migration(struct sup *s, int ok, const char *why)
{
	int mig = s->mig;

	s->mig = MIG_NONE;
	if (mig == MIG_SAVE) {
		char *img = xasprintf("%s/state.img", s->cfg->save_dir);

		if (ok && fsync(s->mig_fd) == -1)
			ok = 0, why = strerror(errno);
		close(s->mig_fd);
		s->mig_fd = -1;
		if (ok) {
			write_save_meta(s);
			ok = rename(s->mig_part, img) == 0;
			if (!ok)
				why = strerror(errno);
		}
		free(img);
		if (!ok) {
			unlink(s->mig_part);
			for (int i = 0; i < s->nwaiters; i++)
				reply_err(s->waiters[i].c, s->waiters[i].cid, EXIT_FAIL,
				    "suspend failed: %s", why);
			s->nwaiters = 0;
			qmp_enqueue(s, "cont", NULL, REQ_INTERNAL, NULL, 0, 0);
			record_event(s, "CTYS_SUSPEND_FAILED", NULL, now_real());
			return;
		}
		record_event(s, "CTYS_SUSPENDED", NULL, now_real());
		s->cancel_mode = 'S';
		cancel_stage(s, ST_QUIT);
		return;
	}
	if (!ok) {
		char *m = xasprintf("restoring '%s' failed: %s (the saved state is kept)",
		    s->cfg->restore, why);

		notify(s, 0, EXIT_QEMU, m);
		free(m);
		s->cancel_mode = 'F';
		cancel_stage(s, ST_QUIT);
		return;
	}
	/* the state is in QEMU now; run it and say so; the saved state has served */
	qmp_enqueue(s, "cont", NULL, REQ_INTERNAL, NULL, 0, 0);
	qmp_enqueue(s, "query-status", NULL, REQ_STATUS, NULL, 0, 0);
	record_event(s, "CTYS_RESTORED", NULL, now_real());
	{
		char *dir = xstrdup(s->cfg->restore), *slash = strrchr(dir, '/');

		if (slash != NULL) {
			*slash = '\0';
			rmdir_flat(dir);
		}
		free(dir);
	}
}

static void
on_migrate_reply(struct sup *s, struct pending *p, json_object *o, json_object *ret,
    int is_error)
{
	json_object *v;
	const char *st;

	if (is_error) {
		char *e = qmp_error_text(o);

		finish_migration(s, 0, e);
		free(e);
		return;
	}
	if (p->kind == REQ_MIGRATE)
		return;
	if (!json_object_object_get_ex(ret, "status", &v))
		return;		/* not started yet */
	st = json_object_get_string(v);
	if (strcmp(st, "completed") == 0)
		finish_migration(s, 1, NULL);
	else if (strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0) {
		const char *why = "migration failed";

		if (json_object_object_get_ex(ret, "error-desc", &v))
			why = json_object_get_string(v);
		finish_migration(s, 0, why);
	}
}

static void qmp_lost(struct sup *);

static void
qmp_pump(struct sup *s)
{
	struct pending *p = s->queue;
	size_t len, off = 0;

	if (s->inflight || p == NULL || s->qmp_fd == -1 || s->qstage < Q_CAPS)
		return;
	len = strlen(p->line);
	log_debug(2, "qmp send: %.*s", (int)len - 1, p->line);
	while (off < len) {
		ssize_t n;

		if (p->passfd != -1) {
			/* the descriptor rides with the first byte of the command (getfd) */
			char cbuf[CMSG_SPACE(sizeof(int))];
			struct iovec iov = { p->line, len };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof cbuf };
			struct cmsghdr *cm;

			memset(cbuf, 0, sizeof cbuf);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &p->passfd, sizeof(int));
			n = sendmsg(s->qmp_fd, &mh, MSG_NOSIGNAL);
			if (n > 0) {
				close(p->passfd);
				p->passfd = -1;
			}
		} else
			n = send(s->qmp_fd, p->line + off, len - off, MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = s->qmp_fd, .events = POLLOUT };

			poll(&pfd, 1, 1000);
			continue;
		}
		if (n == -1) {
			qmp_lost(s);
			return;
		}
		off += (size_t)n;
	}
	s->inflight = 1;
}

static void
on_qmp_reply(struct sup *s, json_object *o, int is_error)
{
	struct pending *p = s->queue;
	json_object *ret = NULL, *v;

	if (p == NULL || !s->inflight || qmp_id(o) != p->qid) {
		log_debug(1, "qmp: unexpected reply id %d", qmp_id(o));
		return;
	}
	s->queue = p->next;
	s->inflight = 0;
	json_object_object_get_ex(o, "return", &ret);
	switch (p->kind) {
	case REQ_CAPS:
		if (is_error) {
			char *e = qmp_error_text(o);
			notify(s, 0, EXIT_QEMU, e);
			free(e);
			break;
		}
		s->qstage = Q_STATUS;
		if (s->cfg->restore != NULL && !s->cfg->adopt_pid) {
			start_restore(s);
			break;
		}
		qmp_enqueue(s, "query-status", NULL, REQ_STATUS, NULL, 0, 1);
		break;
	case REQ_STATUS:
		if (!is_error && json_object_object_get_ex(ret, "status", &v)) {
			strlcpy_chk(s->state, json_object_get_string(v), sizeof s->state);
			publish_status(s);
		}
		if (s->qstage == Q_STATUS) {
			s->qstage = Q_READY;
			notify(s, 1, 0, NULL);
			/* adopted: what happened while nobody watched gets its policy now */
			if (!s->child && strcmp(s->state, "shutdown") == 0) {
				s->shutdown_seen = s->shutdown_guest = 1;
				apply_policy(s, "poweroff", s->cfg->policy.poweroff);
			} else if (!s->child && strcmp(s->state, "guest-panicked") == 0)
				apply_policy(s, "crash", s->cfg->policy.crash);
		}
		break;
	case REQ_CANCEL:
		if (is_error) {
			char *e = qmp_error_text(o);
			log_debug(1, "cancel: QMP said: %s", e);
			free(e);
			if (s->stage == ST_ACPI || s->stage == ST_QUIT)
				cancel_stage(s, ST_TERM);
		}
		break;
	case REQ_MIGRATE:
	case REQ_MIGPOLL:
		if (s->mig != MIG_NONE)
			on_migrate_reply(s, p, o, ret, is_error);
		break;
	case REQ_INTERNAL:
		if (is_error) {
			char *e = qmp_error_text(o);
			log_debug(1, "qmp: %s", e);
			free(e);
		}
		break;
	case REQ_CLIENT:
		if (is_error) {
			char *e = qmp_error_text(o);
			reply_err(p->c, p->cid, EXIT_FAIL, "QEMU: %s", e);
			free(e);
		} else
			reply_ok(p->c, p->cid, ret ? json_object_get(ret) : NULL);
		break;
	}
	free(p->line);
	free(p);
}

static void
on_qmp_line(struct sup *s, const char *line, size_t len)
{
	json_object *o;
	char *why = NULL;
	enum qmp_kind k = qmp_parse(line, len, &o, &why);

	log_debug(2, "qmp recv: %.*s", (int)(len > 400 ? 400 : len), line);
	switch (k) {
	case QMP_BAD:
		log_debug(1, "%s", why);
		free(why);
		return;
	case QMP_GREETING:
		{
			json_object *q, *v, *qq, *ma, *mi, *mc;

			if (json_object_object_get_ex(o, "QMP", &q) &&
			    json_object_object_get_ex(q, "version", &v) &&
			    json_object_object_get_ex(v, "qemu", &qq) &&
			    json_object_object_get_ex(qq, "major", &ma) &&
			    json_object_object_get_ex(qq, "minor", &mi) &&
			    json_object_object_get_ex(qq, "micro", &mc))
				snprintf(s->qemu_version, sizeof s->qemu_version, "%d.%d.%d",
				    json_object_get_int(ma), json_object_get_int(mi),
				    json_object_get_int(mc));
		}
		if (s->qstage == Q_GREETING) {
			s->qstage = Q_CAPS;
			qmp_enqueue(s, "qmp_capabilities", NULL, REQ_CAPS, NULL, 0, 1);
		}
		break;
	case QMP_EVENT:
		on_qmp_event(s, o);
		break;
	case QMP_RETURN:
	case QMP_ERROR:
		on_qmp_reply(s, o, k == QMP_ERROR);
		break;
	}
	json_object_put(o);
}

static void
qmp_lost(struct sup *s)
{
	if (s->qmp_fd != -1)
		close(s->qmp_fd);
	s->qmp_fd = -1;
	s->qstage = Q_CLOSED;
	/* fail what waits for QMP; QEMU's exit (pidfd) finishes the rest */
	while (s->queue != NULL) {
		struct pending *p = s->queue;

		s->queue = p->next;
		if (p->kind == REQ_CLIENT)
			reply_err(p->c, p->cid, EXIT_FAIL, "QEMU's monitor connection closed");
		if (p->passfd != -1)
			close(p->passfd);
		free(p->line);
		free(p);
	}
	s->inflight = 0;
}

/* --- cancel ------------------------------------------------------------------------- */

static void
qemu_signal(struct sup *s, int sig)
{
	if (s->pidfd != -1)
		pidfd_send_signal(s->pidfd, sig, NULL, 0);
	else if (s->child)
		kill(s->qemu_pid, sig);
}

static void
cancel_stage(struct sup *s, int stage)
{
	double now = now_mono();

	s->stage = stage;
	switch (stage) {
	case ST_ACPI:
		s->deadline = now + s->acpi_timeout;
		s->repress = now + REPRESS_EVERY;
		if (s->agent != NULL && agent_synced(s->agent)) {
			/* the guest's own shutdown first; the power button if it fails */
			json_object *a = json_object_new_object();

			json_object_object_add(a, "mode", json_object_new_string("powerdown"));
			s->ga_shutdown = s->ga_asked = 1;
			agent_call(s->agent, "guest-shutdown", a, GA_TIMEOUT, AGENT_NOREPLY,
			    ga_shutdown_cb, s);
			break;
		}
		qmp_enqueue(s, "system_powerdown", NULL, REQ_CANCEL, NULL, 0, 0);
		break;
	case ST_QUIT:
		if (s->qmp_fd == -1) {
			cancel_stage(s, ST_TERM);
			return;
		}
		qmp_enqueue(s, "quit", NULL, REQ_CANCEL, NULL, 0, 1);
		s->deadline = now + QUIT_GRACE;
		break;
	case ST_TERM:
		qemu_signal(s, SIGTERM);
		s->deadline = now + TERM_GRACE;
		break;
	case ST_KILL:
		qemu_signal(s, SIGKILL);
		s->deadline = now + KILL_GRACE;
		break;
	}
	log_debug(1, "cancel: stage %d", stage);
}

/* The guest is not running (paused, powered off, panicked): ACPI cannot reach it. */
static int
guest_stopped(struct sup *s)
{
	return strcmp(s->state, "running") != 0;
}

/*
 * CANCEL modes that keep the VM: RESET (system_reset; a stopped guest runs again), PAUSE
 * (stop), REBOOT (libvirt's way: the power button; when the guest has gone down, reset
 * and continue; system_reset after the timeout).
 */
static void
cmd_keep(struct sup *s, struct client *c, int cid, const char *mode, int timeout)
{
	if (s->qstage != Q_READY) {
		reply_err(c, cid, EXIT_STATE, "QEMU's monitor is not ready");
		return;
	}
	if (s->cancel_mode != 0 || s->end_cause != NULL) {
		reply_err(c, cid, EXIT_STATE, "the VM is being stopped");
		return;
	}
	if (strcmp(mode, "pause") == 0) {
		qmp_enqueue(s, "stop", NULL, REQ_CLIENT, c, cid, 0);
		return;
	}
	if (strcmp(mode, "reset") == 0) {
		if (guest_stopped(s) && strcmp(s->state, "paused") != 0) {
			qmp_enqueue(s, "system_reset", NULL, REQ_INTERNAL, NULL, 0, 0);
			qmp_enqueue(s, "cont", NULL, REQ_CLIENT, c, cid, 0);
			s->shutdown_seen = 0;
		} else
			qmp_enqueue(s, "system_reset", NULL, REQ_CLIENT, c, cid, 0);
		return;
	}
	if (add_waiter(s->rwaiters, &s->nrwaiters, c, cid) == -1) {
		reply_err(c, cid, EXIT_FAIL, "too many reboot requests");
		return;
	}
	if (s->rebooting)
		return;
	if (guest_stopped(s)) {
		reboot_done(s, "reset");
		return;
	}
	s->rebooting = 1;
	s->reboot_deadline = now_mono() + timeout;
	s->repress = now_mono() + REPRESS_EVERY;
	qmp_enqueue(s, "system_powerdown", NULL, REQ_INTERNAL, NULL, 0, 0);
}

static void
cmd_cancel(struct sup *s, struct client *c, int cid, json_object *req)
{
	json_object *v;
	const char *mode = "poweroff";
	int timeout = 20;

	if (json_object_object_get_ex(req, "mode", &v))
		mode = json_object_get_string(v);
	if (json_object_object_get_ex(req, "timeout", &v))
		timeout = json_object_get_int(v);
	if (timeout < 0 || timeout > 86400) {
		reply_err(c, cid, EXIT_USAGE, "timeout out of range: %d", timeout);
		return;
	}
	if (strcmp(mode, "reset") == 0 || strcmp(mode, "pause") == 0 ||
	    strcmp(mode, "reboot") == 0) {
		cmd_keep(s, c, cid, mode, timeout);
		return;
	}
	if (strcmp(mode, "suspend") == 0) {
		if (s->qstage != Q_READY)
			reply_err(c, cid, EXIT_STATE, "QEMU's monitor is not ready");
		else if (s->cancel_mode != 0 || s->end_cause != NULL || s->mig != MIG_NONE)
			reply_err(c, cid, EXIT_STATE, "the VM is being stopped");
		else if (s->nwaiters == MAX_WAITERS)
			reply_err(c, cid, EXIT_FAIL, "too many cancel requests");
		else
			start_suspend(s, c, cid);
		return;
	}
	if (strcmp(mode, "poweroff") != 0 && strcmp(mode, "force") != 0) {
		reply_err(c, cid, EXIT_USAGE, "unknown cancel mode '%s'", mode);
		return;
	}
	if (s->mig == MIG_SAVE) {
		reply_err(c, cid, EXIT_STATE, "the VM is being suspended");
		return;
	}
	if (add_waiter(s->waiters, &s->nwaiters, c, cid) == -1) {
		reply_err(c, cid, EXIT_FAIL, "too many cancel requests");
		return;
	}
	if (c != NULL && s->cancel_by == 0)
		s->cancel_by = c->pid;
	if (s->end_cause != NULL)
		return;		/* a policy is already destroying it: wait for the end */
	if (strcmp(mode, "force") == 0) {
		if (s->cancel_mode != 'F') {
			s->cancel_mode = 'F';
			if (s->cancel_started == 0)
				s->cancel_started = now_mono();
			if (s->stage < ST_QUIT)
				cancel_stage(s, ST_QUIT);
		}
		return;
	}
	if (s->cancel_mode == 0) {
		s->cancel_mode = 'P';
		s->cancel_started = now_mono();
		s->acpi_timeout = timeout;
		cancel_stage(s, ST_ACPI);
	}
}

/* --- control requests ---------------------------------------------------------------- */

#define REPLAY_DEFAULT	8192
#define REPLAY_MAX	(256 * 1024)

/* The last n bytes of the console log (the current file; the rotated one before it). */
static char *
console_tail(struct sup *s, size_t n, size_t *len)
{
	char *p = vmfile(s, "console.log"), *buf = file_read(p, CONSOLE_LOG_MAX * 2, len), *t;

	free(p);
	if (buf == NULL) {
		*len = 0;
		return NULL;
	}
	if (*len <= n)
		return buf;
	t = xmalloc(n);
	memcpy(t, buf + *len - n, n);
	free(buf);
	*len = n;
	return t;
}

/*
 * "console": this control connection becomes a console (docs/control-socket.md): after
 * the reply, framed output (the recent log replayed first), and raw keystrokes in. mode
 * "rw" types (one writer; another gets EXIT_STATE naming it, unless force, which takes
 * over and tells the first one), "ro" watches. tied: QEMU quits when this client leaves.
 */
static void
cmd_console(struct sup *s, struct client *c, int cid, json_object *req)
{
	json_object *v, *d;
	const char *mode = "rw";
	int force = 0, tied = 0, replay = REPLAY_DEFAULT;
	char *tail;
	size_t len;

	if (json_object_object_get_ex(req, "mode", &v))
		mode = json_object_get_string(v);
	if (json_object_object_get_ex(req, "force", &v))
		force = json_object_get_boolean(v);
	if (json_object_object_get_ex(req, "tied", &v))
		tied = json_object_get_boolean(v);
	if (json_object_object_get_ex(req, "replay", &v))
		replay = json_object_get_int(v);
	if (strcmp(mode, "rw") != 0 && strcmp(mode, "ro") != 0) {
		reply_err(c, cid, EXIT_USAGE, "console mode is rw or ro, not '%s'", mode);
		return;
	}
	if (replay < 0 || replay > REPLAY_MAX) {
		reply_err(c, cid, EXIT_USAGE, "replay out of range (0..%d): %d", REPLAY_MAX, replay);
		return;
	}
	if (s->ser_fd == -1) {
		reply_err(c, cid, EXIT_STATE, "the VM has no serial console");
		return;
	}
	if (strcmp(mode, "rw") == 0) {
		for (struct client *x = s->clients; x != NULL; x = x->next) {
			if (x == c || !x->attached || !x->rw || x->closing || x->dead)
				continue;
			if (!force) {
				reply_err(c, cid, EXIT_STATE, "console in use by pid %d", (int)x->pid);
				return;
			}
			{
				char *why = xasprintf("taken over by pid %d", (int)c->pid);

				console_close(x, why);
				free(why);
			}
			if (s->writer == x)
				s->writer = NULL;
		}
	}
	d = json_object_new_object();
	tail = console_tail(s, (size_t)replay, &len);
	json_object_object_add(d, "replay", json_object_new_int((int)len));
	json_object_object_add(d, "label", json_object_new_string(s->cfg->label));
	reply_ok(c, cid, d);
	c->attached = 1;
	c->console = 1;
	c->rw = strcmp(mode, "rw") == 0;
	c->tied = tied;
	if (c->rw)
		s->writer = c;
	if (len > 0)
		client_frame(c, 'D', tail, len);
	free(tail);
	console_event(s, c, "CTYS_CONSOLE_ATTACH");
}

static void
on_ctl_line(struct sup *s, struct client *c, const char *line, size_t len)
{
	json_object *req, *v;
	char *why = NULL;
	enum ctl_kind k = ctl_msg_parse(line, len, &req, &why);
	const char *cmd;
	int cid;

	if (k != CTL_REQUEST) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "v", json_object_new_int(CTL_VERSION));
		json_object_object_add(o, "id", json_object_new_int(0));
		json_object_object_add(o, "ok", json_object_new_boolean(0));
		json_object_object_add(o, "error", json_object_new_string(why ? why :
		    "not a request"));
		json_object_object_add(o, "status", json_object_new_int(EXIT_USAGE));
		client_json(c, o);
		json_object_put(o);
		json_object_put(req);
		free(why);
		return;
	}
	json_object_object_get_ex(req, "cmd", &v);
	cmd = json_object_get_string(v);
	json_object_object_get_ex(req, "id", &v);
	cid = json_object_get_int(v);

	if (strcmp(cmd, "status") == 0)
		reply_ok(c, cid, status_json(s));
	else if (strcmp(cmd, "subscribe") == 0) {
		c->subscribed = 1;
		reply_ok(c, cid, NULL);
	} else if (strcmp(cmd, "qmp") == 0) {
		json_object *exe, *args = NULL;

		if (!json_object_object_get_ex(req, "execute", &exe) ||
		    !json_object_is_type(exe, json_type_string))
			reply_err(c, cid, EXIT_USAGE, "qmp: missing \"execute\"");
		else if (s->qstage != Q_READY)
			reply_err(c, cid, EXIT_STATE, "QEMU's monitor is not ready");
		else {
			if (json_object_object_get_ex(req, "arguments", &args))
				json_object_get(args);
			qmp_enqueue(s, json_object_get_string(exe), args, REQ_CLIENT, c, cid, 0);
		}
	} else if (strcmp(cmd, "agent") == 0)
		cmd_agent(s, c, cid, req);
	else if (strcmp(cmd, "cancel") == 0)
		cmd_cancel(s, c, cid, req);
	else if (strcmp(cmd, "console") == 0)
		cmd_console(s, c, cid, req);
	else if (strcmp(cmd, "close-consoles") == 0) {
		int n = 0;
		char *reason = xasprintf("closed by CANCEL CLIENT (pid %d)", (int)c->pid);
		json_object *d = json_object_new_object();

		for (struct client *x = s->clients; x != NULL; x = x->next)
			if (x->console && !x->closing && !x->dead) {
				console_close(x, reason);
				n++;
			}
		free(reason);
		json_object_object_add(d, "closed", json_object_new_int(n));
		reply_ok(c, cid, d);
	}
	else
		reply_err(c, cid, EXIT_USAGE, "unknown command '%s'", cmd);
	json_object_put(req);
}

static void
accept_client(struct sup *s, int lfd, int console)
{
	struct client *c;
	struct ucred cred;
	socklen_t clen = sizeof cred;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd == -1)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1 ||
	    (cred.uid != getuid() && cred.uid != 0)) {
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->console = console;
	c->pid = cred.pid;
	linebuf_init(&c->in, CTL_LINE_MAX);
	c->next = s->clients;
	s->clients = c;
	if (console) {
		if (s->writer == NULL)
			s->writer = c;
		console_event(s, c, "CTYS_CONSOLE_ATTACH");
		return;
	}
	json_object *o = json_object_new_object();
	json_object *h = status_json(s);

	json_object_object_add(h, "version", json_object_new_string(CTYS_VERSION));
	json_object_object_add(o, "v", json_object_new_int(CTL_VERSION));
	json_object_object_add(o, "hello", h);
	client_json(c, o);
	json_object_put(o);
}

/* --- serial console ------------------------------------------------------------------ */

static void
console_log(struct sup *s, const char *buf, size_t n)
{
	if (s->log_fd == -1)
		return;
	if (s->log_size + (off_t)n > CONSOLE_LOG_MAX) {
		char *cur = vmfile(s, "console.log"), *old = vmfile(s, "console.log.1");

		rename(cur, old);
		close(s->log_fd);
		s->log_fd = open(cur, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		s->log_size = 0;
		free(cur);
		free(old);
		if (s->log_fd == -1)
			return;
	}
	if (write(s->log_fd, buf, n) > 0)
		s->log_size += (off_t)n;
}

static void
serial_read(struct sup *s)
{
	char buf[16384];
	ssize_t n = read(s->ser_fd, buf, sizeof buf);

	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(s->ser_fd);
		s->ser_fd = -1;
		return;
	}
	console_log(s, buf, (size_t)n);
	for (struct client *c = s->clients; c != NULL; c = c->next)
		if (c->console && !c->closing)
			console_out(c, buf, (size_t)n);
}

static void
serial_flush(struct sup *s)
{
	ssize_t n = write(s->ser_fd, s->ser_out, s->ser_outlen);

	if (n > 0) {
		memmove(s->ser_out, s->ser_out + n, s->ser_outlen - (size_t)n);
		s->ser_outlen -= (size_t)n;
	}
}

static void
console_input(struct sup *s, struct client *c)
{
	char buf[4096];
	ssize_t n = read(c->fd, buf, sizeof buf);

	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->dead = 1;
		return;
	}
	if (c != s->writer || s->ser_fd == -1 || c->closing)
		return;		/* read-only viewer */
	if (s->ser_outlen + (size_t)n > SERIAL_OUT_MAX)
		return;		/* the guest is not reading: drop, never block */
	s->ser_out = xrealloc(s->ser_out, s->ser_outlen + (size_t)n);
	memcpy(s->ser_out + s->ser_outlen, buf, (size_t)n);
	s->ser_outlen += (size_t)n;
	serial_flush(s);
}

static void
ctl_input(struct sup *s, struct client *c)
{
	ssize_t n;

	if (c->attached) {
		console_input(s, c);	/* after "console": raw keystrokes */
		return;
	}
	n = linebuf_read(&c->in, c->fd);
	char *line;
	size_t len;

	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->dead = 1;
		return;
	}
	while ((line = linebuf_next(&c->in, &len)) != NULL) {
		if (len > 0)
			on_ctl_line(s, c, line, len);
		free(line);
	}
}

/* --- start, finish -------------------------------------------------------------------- */

static void
notify(struct sup *s, int ok, int status, const char *msg)
{
	json_object *o;

	if (s->notify_fd == -1)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "qemu_pid", json_object_new_int(s->qemu_pid));
	json_object_object_add(o, "qemu_version", json_object_new_string(s->qemu_version));
	if (!ok) {
		json_object_object_add(o, "status", json_object_new_int(status));
		json_object_object_add(o, "error", json_object_new_string(msg ? msg : ""));
	}
	ctl_write(s->notify_fd, o);
	json_object_put(o);
	close(s->notify_fd);
	s->notify_fd = -1;
}

/* The last lines of qemu.log, trimmed, for error messages and the exit record. */
static char *
log_tail(struct sup *s, size_t max)
{
	char *p = vmfile(s, "qemu.log"), *buf;
	size_t len;

	buf = file_read(p, 64 * 1024 * 1024, &len);
	free(p);
	if (buf == NULL)
		return xstrdup("");
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	if (len > max) {
		char *t = xstrdup(buf + len - max), *nl = strchr(t, '\n');
		char *r = xstrdup(nl ? nl + 1 : t);

		free(t);
		free(buf);
		return r;
	}
	return buf;
}

static const char *
exit_how(struct sup *s, int known, int wstatus)
{
	if (s->cancel_mode == 'S')
		return "suspended";
	if (s->cancel_mode == 'T')
		return "console-closed";
	if (s->cancel_mode != 0) {
		switch (s->stage) {
		case ST_ACPI:
			return "cancel-poweroff";
		case ST_QUIT:
			return "cancel-quit";
		case ST_TERM:
			return "cancel-sigterm";
		default:
			return "cancel-sigkill";
		}
	}
	if (s->end_cause != NULL)
		return s->end_cause;
	if (s->shutdown_seen && s->shutdown_guest)
		return "guest-poweroff";
	if (s->shutdown_seen)
		return "host-shutdown";
	if (!known)
		return "unknown";
	if (WIFSIGNALED(wstatus))
		return "killed";
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0)
		return "qemu-error";
	return "exited";
}

static void
write_exit_record(struct sup *s, const char *how, int known, int wstatus)
{
	json_object *o = json_object_new_object(), *evs = json_object_new_array();
	char *dir = xasprintf("%s/exits", s->cfg->state_dir), *path, *tail;

	json_object_object_add(o, "label", json_object_new_string(s->cfg->label));
	json_object_object_add(o, "id", json_object_new_string(s->cfg->id));
	json_object_object_add(o, "uuid", json_object_new_string(s->cfg->uuid ? s->cfg->uuid : ""));
	json_object_object_add(o, "definition", json_object_new_string(s->cfg->def ? s->cfg->def : ""));
	json_object_object_add(o, "how", json_object_new_string(how));
	json_object_object_add(o, "started", json_object_new_double(s->started));
	json_object_object_add(o, "ended", json_object_new_double(now_real()));
	json_object_object_add(o, "qemu_pid", json_object_new_int(s->qemu_pid));
	if (known && WIFEXITED(wstatus))
		json_object_object_add(o, "exit_status", json_object_new_int(WEXITSTATUS(wstatus)));
	if (known && WIFSIGNALED(wstatus))
		json_object_object_add(o, "signal", json_object_new_int(WTERMSIG(wstatus)));
	if (s->restarts > 0)
		json_object_object_add(o, "restarts", json_object_new_int(s->restarts));
	if (s->cancel_mode != 0) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "mode", json_object_new_string(s->cancel_mode == 'F' ?
		    "force" : s->cancel_mode == 'S' ? "suspend" : s->cancel_mode == 'T' ? "cli0" :
		    "poweroff"));
		json_object_object_add(c, "by_pid", json_object_new_int(s->cancel_by));
		json_object_object_add(c, "seconds", json_object_new_double(now_mono() -
		    s->cancel_started));
		if (s->cancel_mode == 'P')	/* how the guest was asked first */
			json_object_object_add(c, "via", json_object_new_string(s->ga_asked ?
			    "guest-agent" : "acpi"));
		json_object_object_add(o, "cancel", c);
	}
	for (int i = 0; i < s->nring; i++)
		json_object_array_add(evs, json_object_get(s->ring[i]));
	json_object_object_add(o, "events", evs);
	tail = log_tail(s, 2000);
	json_object_object_add(o, "qemu_log_tail", json_object_new_string(tail));
	free(tail);

	if (mkdir_p(dir, 0700) == 0) {
		path = xasprintf("%s/%s.json", dir, s->cfg->id);
		json_write_atomic(path, o, JSON_C_TO_STRING_PRETTY);
		free(path);
	}
	free(dir);
	json_object_put(o);
}

static void __attribute__((noreturn))
finish(struct sup *s, int known, int wstatus)
{
	const char *how = exit_how(s, known, wstatus);
	char *tail = NULL;

	log_debug(1, "QEMU exited: %s", how);
	if (s->notify_fd != -1) {
		char *t = log_tail(s, 1500);

		tail = xasprintf("QEMU exited before it was ready%s%s", *t ? ":\n" : "", t);
		free(t);
	}
	write_exit_record(s, how, known, wstatus);
	rmdir_flat(s->cfg->dir);
	if (tail != NULL) {
		notify(s, 0, EXIT_QEMU, tail);
		free(tail);
	}
	{
		char *why = xasprintf("the VM ended (%s)", how);

		for (struct client *c = s->clients; c != NULL; c = c->next)
			if (c->attached && !c->closing)
				client_frame(c, 'C', why, strlen(why));
		free(why);
	}
	for (int i = 0; i < s->nwaiters; i++) {
		json_object *d = json_object_new_object();

		json_object_object_add(d, "how", json_object_new_string(how));
		json_object_object_add(d, "seconds", json_object_new_double(now_mono() -
		    s->cancel_started));
		reply_ok(s->waiters[i].c, s->waiters[i].cid, d);
	}
	/* last words to every client, each given at most a second */
	for (struct client *c = s->clients; c != NULL; c = c->next) {
		struct timeval tv = { 1, 0 };

		if (c->outlen == 0 || c->dead)
			continue;
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		(void)send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
	}
	_exit(0);
}

static int
start_qemu(struct sup *s, char **cause)
{
	char *qmp = vmfile(s, "qmp.sock"), *ser = vmfile(s, "serial.sock");
	char *logp = vmfile(s, "qemu.log"), *qga = vmfile(s, "qga.sock");
	int qmp_l = -1, ser_l = -1, qga_l = -1, logfd = -1, rc = -1;
	struct spawn sp = { 0 };

	if ((qmp_l = unix_listen(qmp, 1)) == -1 || (ser_l = unix_listen(ser, 1)) == -1) {
		fail(cause, 0, "cannot create QEMU's sockets in '%s': %s", s->cfg->dir,
		    strerror(errno));
		goto out;
	}
	/* connect now: the connections wait in the backlog until QEMU accepts them */
	if ((s->qmp_fd = unix_connect(qmp)) == -1 || (s->ser_fd = unix_connect(ser)) == -1) {
		fail(cause, 0, "cannot connect to QEMU's sockets: %s", strerror(errno));
		goto out;
	}
	/* the guest agent's socket: ours, connected before QEMU accepts, like QMP's */
	if (s->cfg->agent && ((qga_l = unix_listen(qga, 1)) == -1 ||
	    (s->agent_fd = unix_connect(qga)) == -1)) {
		fail(cause, 0, "cannot create the guest agent's socket: %s", strerror(errno));
		goto out;
	}
	if ((logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) == -1) {
		fail(cause, 0, "%s: %s", logp, strerror(errno));
		goto out;
	}
	sp.argv = s->cfg->argv.v;
	sp.in = SPAWN_NULL;
	sp.out = logfd;
	sp.err = logfd;
	sp.fds[0] = (struct spawn_fd){ qmp_l, QEMU_FD_QMP };
	sp.fds[1] = (struct spawn_fd){ ser_l, QEMU_FD_SERIAL };
	sp.nfds = 2;
	if (s->cfg->deflockfd != -1)
		sp.fds[sp.nfds++] = (struct spawn_fd){ s->cfg->deflockfd, QEMU_FD_DEFLOCK };
	if (qga_l != -1)
		sp.fds[sp.nfds++] = (struct spawn_fd){ qga_l, QEMU_FD_QGA };
	if (spawn_start(&sp, cause) == -1)
		goto out;
	s->qemu_pid = sp.pid;
	s->child = 1;
	s->pidfd = (int)pidfd_open(sp.pid, 0);
	rundir_write_pid(s->cfg->dir, sp.pid);
	rc = 0;
out:
	if (qmp_l != -1)
		close(qmp_l);
	if (ser_l != -1)
		close(ser_l);
	if (qga_l != -1)
		close(qga_l);
	if (logfd != -1)
		close(logfd);
	free(qmp);
	free(ser);
	free(qga);
	free(logp);
	return rc;
}

static int
adopt_qemu(struct sup *s, char **cause)
{
	char *qmp = vmfile(s, "qmp.sock"), *ser = vmfile(s, "serial.sock");
	int rc = -1;

	s->qemu_pid = s->cfg->adopt_pid;
	s->child = 0;
	if ((s->pidfd = (int)pidfd_open(s->qemu_pid, 0)) == -1) {
		fail(cause, 0, "QEMU pid %d: %s", (int)s->qemu_pid, strerror(errno));
		goto out;
	}
	if ((s->qmp_fd = unix_connect(qmp)) == -1) {
		fail(cause, 0, "cannot connect to QEMU's monitor '%s': %s", qmp, strerror(errno));
		goto out;
	}
	if ((s->ser_fd = unix_connect(ser)) == -1)
		log_debug(1, "serial: %s", strerror(errno));
	{
		char *qga = vmfile(s, "qga.sock");

		/* QEMU still listens there when the VM has the agent's port */
		if (access(qga, F_OK) == 0 && (s->agent_fd = unix_connect(qga)) == -1)
			log_debug(1, "guest agent: %s", strerror(errno));
		free(qga);
	}
	rc = 0;
out:
	free(qmp);
	free(ser);
	return rc;
}

/* Closes every descriptor the caller of ctys handed down, but the locks and the report pipe. */
static void
close_inherited(int keep1, int keep2, int keep3)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int fds[1024], n = 0;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < (int)nitems(fds)) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd > 2 && fd != keep1 && fd != keep2 &&
		    fd != keep3 && fd != dirfd(d))
			fds[n++] = fd;
	}
	closedir(d);
	while (n-- > 0)
		close(fds[n]);
}

static void __attribute__((noreturn))
sup_main(struct sup_config *cfg, int notify_fd)
{
	struct sup sv, *s = &sv;
	sigset_t mask;
	char *p, *cause = NULL;
	int devnull;

	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	s->notify_fd = notify_fd;
	s->qmp_fd = s->ser_fd = s->ctl_lfd = s->con_lfd = s->pidfd = s->agent_fd = -1;
	s->events_fd = s->log_fd = s->mig_fd = -1;
	s->qmp_next_id = 1;
	s->qstage = Q_GREETING;
	s->started = now_real();
	strlcpy_chk(s->state, "starting", sizeof s->state);
	linebuf_init(&s->qmp_in, QMP_LINE_MAX);
	log_prog = "ctys-supervisor";

	setsid();
	devnull = open("/dev/null", O_RDWR);
	p = vmfile(s, "supervisor.log");
	int logfd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0600);
	free(p);
	dup2(devnull, 0);
	dup2(logfd != -1 ? logfd : devnull, 1);
	dup2(logfd != -1 ? logfd : devnull, 2);
	if (devnull > 2)
		close(devnull);
	if (logfd > 2)
		close(logfd);
	close_inherited(cfg->lockfd, notify_fd, cfg->deflockfd);
	/* relative paths of a definition are relative to its directory; nothing else keeps
	 * the caller's working directory (and its mount) busy */
	if (cfg->workdir == NULL || chdir(cfg->workdir) == -1)
		(void)chdir("/");

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	p = vmfile(s, "supervisor.pid");
	{
		char *pid = xasprintf("%d\n", (int)getpid());

		file_write(p, pid, strlen(pid), 0600);
		free(pid);
	}
	free(p);
	p = vmfile(s, "events.jsonl");
	s->events_fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	free(p);
	p = vmfile(s, "console.log");
	s->log_fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	{
		struct stat st;

		if (s->log_fd != -1 && fstat(s->log_fd, &st) == 0)
			s->log_size = st.st_size;
	}
	free(p);

	p = vmfile(s, "ctl.sock");
	s->ctl_lfd = unix_listen(p, 64);
	free(p);
	p = vmfile(s, "console.sock");
	s->con_lfd = unix_listen(p, 16);
	free(p);
	if (s->ctl_lfd == -1 || s->con_lfd == -1) {
		char *m = xasprintf("cannot create the control sockets in '%s': %s", cfg->dir,
		    strerror(errno));

		notify(s, 0, EXIT_FAIL, m);
		if (!cfg->adopt_pid)
			rmdir_flat(cfg->dir);
		_exit(1);
	}
	if ((cfg->adopt_pid ? adopt_qemu(s, &cause) : start_qemu(s, &cause)) == -1) {
		notify(s, 0, EXIT_QEMU, cause);
		if (!cfg->adopt_pid) {
			if (s->child) {
				qemu_signal(s, SIGKILL);
				waitpid(s->qemu_pid, NULL, 0);
			}
			rmdir_flat(cfg->dir);
		}
		_exit(1);
	}
	if (s->ser_fd != -1)
		set_nonblock(s->ser_fd);
	set_nonblock(s->qmp_fd);
	s->create_deadline = now_mono() + cfg->create_timeout;
	if (s->agent_fd != -1)
		s->agent = agent_new(s->agent_fd, cfg->adopt_pid ? -1 : 0);
	channels_init(s);
	record_event(s, cfg->adopt_pid ? "CTYS_ADOPTED" : "CTYS_STARTED", NULL, now_real());
	load_facts(s);
	publish_status(s);

	for (;;) {
		struct pollfd pfd[512];
		struct client *cmap[512];
		int n = 0, timeout = -1, i;
		double now = now_mono(), next = 0;

		reap_clients(s);
		qmp_pump(s);
		if (s->notify_fd != -1)
			next = s->create_deadline;
		if (s->stage != ST_NONE && (next == 0 || s->deadline < next))
			next = s->deadline;
		if (s->stage == ST_ACPI && s->repress < next)
			next = s->repress;
		if (s->mig != MIG_NONE && (next == 0 || s->mig_poll < next))
			next = s->mig_poll;
		if (s->rebooting) {
			if (next == 0 || s->reboot_deadline < next)
				next = s->reboot_deadline;
			if (s->repress < next)
				next = s->repress;
		}
		if (s->agent != NULL && agent_next(s->agent) > 0 &&
		    (next == 0 || agent_next(s->agent) < next))
			next = agent_next(s->agent);
		if (s->agent != NULL && s->ga_synced && (next == 0 || s->ga_refresh < next))
			next = s->ga_refresh;
		if (next > 0)
			timeout = next <= now ? 0 : (int)((next - now) * 1000) + 1;

		pfd[n] = (struct pollfd){ s->sigfd, POLLIN, 0 }; cmap[n++] = NULL;
		pfd[n] = (struct pollfd){ s->pidfd, POLLIN, 0 }; cmap[n++] = NULL;
		pfd[n] = (struct pollfd){ s->qmp_fd, POLLIN, 0 }; cmap[n++] = NULL;
		pfd[n] = (struct pollfd){ s->ser_fd, POLLIN | (s->ser_outlen ? POLLOUT : 0), 0 };
		cmap[n++] = NULL;
		pfd[n] = (struct pollfd){ s->ctl_lfd, POLLIN, 0 }; cmap[n++] = NULL;
		pfd[n] = (struct pollfd){ s->con_lfd, POLLIN, 0 }; cmap[n++] = NULL;
		pfd[n] = (struct pollfd){ s->agent ? agent_fd(s->agent) : -1,
		    s->agent ? agent_events(s->agent) : 0, 0 };
		cmap[n++] = NULL;
		for (struct client *c = s->clients; c != NULL && n < (int)nitems(pfd);
		    c = c->next) {
			pfd[n] = (struct pollfd){ c->fd, POLLIN | (c->outlen ? POLLOUT : 0), 0 };
			cmap[n++] = c;
		}
		if (poll(pfd, (nfds_t)n, timeout) == -1 && errno != EINTR)
			fatal("poll: %s", strerror(errno));

		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(s->sigfd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					s->detach = 1;
			}
		}
		if (s->detach) {
			/* leave QEMU running; the next ctys command re-adopts it */
			log_debug(1, "signalled: leaving QEMU pid %d running", (int)s->qemu_pid);
			p = vmfile(s, "ctl.sock");
			unlink(p);
			free(p);
			p = vmfile(s, "console.sock");
			unlink(p);
			free(p);
			_exit(0);
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			int st = 0, known = 0;

			if (s->child && waitpid(s->qemu_pid, &st, 0) == s->qemu_pid)
				known = 1;
			/* drain what QEMU said last, for the event record */
			if (s->qmp_fd != -1) {
				char *line;
				size_t len;

				while (linebuf_read(&s->qmp_in, s->qmp_fd) > 0)
					;
				while ((line = linebuf_next(&s->qmp_in, &len)) != NULL) {
					on_qmp_line(s, line, len);
					free(line);
				}
			}
			if (s->ser_fd != -1)
				serial_read(s);
			finish(s, known, st);
		}
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = linebuf_read(&s->qmp_in, s->qmp_fd);
			char *line;
			size_t len;

			while ((line = linebuf_next(&s->qmp_in, &len)) != NULL) {
				on_qmp_line(s, line, len);
				free(line);
			}
			if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR))
				qmp_lost(s);
		}
		if (s->ser_fd != -1 && (pfd[3].revents & (POLLIN | POLLHUP | POLLERR)))
			serial_read(s);
		if (s->ser_fd != -1 && (pfd[3].revents & POLLOUT))
			serial_flush(s);
		if (pfd[4].revents & POLLIN)
			accept_client(s, s->ctl_lfd, 0);
		if (pfd[5].revents & POLLIN)
			accept_client(s, s->con_lfd, 1);
		if (s->agent != NULL && agent_run(s->agent, pfd[6].revents) == -1) {
			log_debug(1, "the guest agent's socket closed");
			agent_free(s->agent);
			s->agent = NULL;
			s->agent_fd = -1;
			publish_status(s);
		}
		ga_watch(s);
		for (i = 7; i < n; i++) {
			struct client *c = cmap[i];

			if (c->dead)
				continue;
			if (pfd[i].revents & POLLOUT)
				client_flush(c);
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				if (c->console)
					console_input(s, c);
				else
					ctl_input(s, c);
			}
		}

		now = now_mono();
		if (s->notify_fd != -1 && now >= s->create_deadline) {
			char *m = xasprintf("QEMU's monitor did not answer within %d s",
			    cfg->create_timeout);

			notify(s, 0, EXIT_TIMEOUT, m);
			free(m);
			s->cancel_mode = 'F';
			cancel_stage(s, ST_KILL);
		}
		/* guest-shutdown asked: the power button only after half the time */
		if (s->ga_shutdown && s->stage == ST_ACPI &&
		    now >= s->deadline - s->acpi_timeout / 2.0) {
			log_debug(1, "guest-shutdown: no SHUTDOWN yet; the power button too");
			s->ga_shutdown = 0;
			s->repress = now;
		}
		if (s->stage == ST_ACPI && !s->ga_shutdown && now >= s->repress &&
		    now < s->deadline && s->qstage == Q_READY && !s->shutdown_seen) {
			qmp_enqueue(s, "system_powerdown", NULL, REQ_CANCEL, NULL, 0, 0);
			s->repress = now + REPRESS_EVERY;
		}
		if (s->mig != MIG_NONE && now >= s->mig_poll) {
			/* one query at a time */
			int asked = 0;

			for (struct pending *q = s->queue; q != NULL; q = q->next)
				asked |= q->kind == REQ_MIGPOLL;
			if (!asked)
				qmp_enqueue(s, "query-migrate", NULL, REQ_MIGPOLL, NULL, 0, 0);
			s->mig_poll = now + MIGPOLL_EVERY;
		}
		if (s->rebooting && now >= s->reboot_deadline)
			reboot_done(s, "reset");
		else if (s->rebooting && now >= s->repress && s->qstage == Q_READY) {
			qmp_enqueue(s, "system_powerdown", NULL, REQ_INTERNAL, NULL, 0, 0);
			s->repress = now + REPRESS_EVERY;
		}
		if (s->stage != ST_NONE && now >= s->deadline) {
			if (s->stage < ST_KILL)
				cancel_stage(s, s->stage + 1);
			else
				s->deadline = now + KILL_GRACE;
		}
	}
}

static char started_version[32];

const char *
supervisor_qemu_version(void)
{
	return started_version;
}

int
supervisor_start(struct sup_config *cfg, pid_t *qemu_pid, char **cause)
{
	int p[2], rc;
	pid_t pid;
	struct linebuf lb;
	char *line = NULL;
	double deadline;

	*qemu_pid = -1;
	if (pipe2(p, O_CLOEXEC) == -1)
		return fail(cause, EXIT_FAIL, "pipe: %s", strerror(errno));
	fflush(NULL);
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return fail(cause, EXIT_FAIL, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(p[0]);
		sup_main(cfg, p[1]);
	}
	close(p[1]);
	linebuf_init(&lb, 1024 * 1024);
	deadline = now_mono() + cfg->create_timeout + 15;
	rc = fail(cause, EXIT_FAIL, "the supervisor exited without a word (see %s/supervisor.log)",
	    cfg->dir);
	for (;;) {
		struct pollfd pfd = { p[0], POLLIN, 0 };
		int ms = (int)((deadline - now_mono()) * 1000);
		ssize_t n;

		if (ms <= 0) {
			rc = fail(cause, EXIT_TIMEOUT, "the supervisor did not report");
			break;
		}
		if (poll(&pfd, 1, ms) == -1 && errno != EINTR)
			break;
		n = linebuf_read(&lb, p[0]);
		if ((line = linebuf_next(&lb, NULL)) != NULL)
			break;
		if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN)) {
			/* EOF before a report: the supervisor died or failed early */
			waitpid(pid, NULL, WNOHANG);
			break;
		}
	}
	close(p[0]);
	linebuf_free(&lb);
	if (line != NULL) {
		json_object *o = json_tokener_parse(line), *v;

		if (o != NULL && json_object_object_get_ex(o, "ok", &v) &&
		    json_object_get_boolean(v)) {
			json_object_object_get_ex(o, "qemu_pid", &v);
			*qemu_pid = json_object_get_int(v);
			if (json_object_object_get_ex(o, "qemu_version", &v))
				strlcpy_chk(started_version, json_object_get_string(v),
				    sizeof started_version);
			rc = 0;
		} else if (o != NULL) {
			rc = EXIT_QEMU;
			if (json_object_object_get_ex(o, "status", &v))
				rc = json_object_get_int(v);
			json_object_object_get_ex(o, "error", &v);
			fail(cause, 0, "%s", v ? json_object_get_string(v) : "QEMU failed");
			waitpid(pid, NULL, 0);
		}
		json_object_put(o);
		free(line);
	}
	return rc;
}
