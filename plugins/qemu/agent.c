#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "util.h"

#define SYNC_TIMEOUT	3.0	/* seconds an answer to guest-sync may take */
#define SYNC_RETRY	5.0	/* seconds between syncs while the agent does not answer */
#define OUT_MAX		(1u << 20)	/* requests waiting to be written */

struct req {
	struct req *next;
	char *line;		/* the request, as written */
	int flags;
	double deadline;
	agent_done done;
	void *arg;
};

struct agent {
	int fd;
	int port;		/* -1 unknown, 0 closed, 1 open */
	char *in;		/* bytes read, not yet a whole line */
	size_t inlen;
	int skip_line;		/* an over-long line: drop up to its newline */
	char *out;		/* bytes to write */
	size_t outlen;
	int synced;
	unsigned long long sync_id;	/* the sync being waited for (0: none) */
	int ff_seen;		/* the 0xFF before the sync's answer came */
	double sync_deadline, next_sync;
	struct req *queue;	/* waiting; the first is in flight when inflight */
	int inflight;
	unsigned long long ids;
};

static void
finish(struct req *r, int status, json_object *ret, const char *err)
{
	if (r->done != NULL)
		r->done(r->arg, status, ret, err);
	free(r->line);
	free(r);
}

static struct req *
pop(struct agent *a)
{
	struct req *r = a->queue;

	if (r != NULL) {
		a->queue = r->next;
		a->inflight = 0;
	}
	return r;
}

static void
queue_write(struct agent *a, const char *data, size_t len)
{
	if (a->outlen + len > OUT_MAX)
		return;		/* the guest does not read: what is queued is enough */
	a->out = xrealloc(a->out, a->outlen + len);
	memcpy(a->out + a->outlen, data, len);
	a->outlen += len;
}

/* The stream may be out of step: sync before the next request. */
static void
desync(struct agent *a)
{
	a->synced = 0;
	a->sync_id = 0;
	a->ff_seen = 0;
	a->next_sync = now_mono();
}

static void
send_sync(struct agent *a)
{
	char *line;

	a->sync_id = ((unsigned long long)getpid() << 32 | (unsigned long long)++a->ids) &
	    0x7fffffffffffULL;
	a->ff_seen = 0;
	/* 0xFF first: the agent drops what it was parsing */
	line = xasprintf("\xff{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":%llu}}\n",
	    a->sync_id);
	queue_write(a, line, strlen(line));
	free(line);
	a->sync_deadline = now_mono() + SYNC_TIMEOUT;
	a->next_sync = now_mono() + SYNC_RETRY;
}

/* Sends the next request when the stream is in step; syncs when it is not. */
static void
advance(struct agent *a)
{
	double now = now_mono();

	if (a->port == 0)
		return;
	if (!a->synced) {
		if (a->sync_id == 0 && now >= a->next_sync && a->outlen == 0)
			send_sync(a);
		return;
	}
	while (!a->inflight && a->queue != NULL) {
		struct req *r = a->queue;

		queue_write(a, r->line, strlen(r->line));
		if (r->flags & AGENT_NOREPLY) {
			/* done when written; its failure answer would be out of step */
			pop(a);
			finish(r, 0, NULL, NULL);
			desync(a);
			return;
		}
		a->inflight = 1;
	}
}

struct agent *
agent_new(int fd, int port_open)
{
	struct agent *a = xcalloc(1, sizeof *a);

	a->fd = fd;
	a->port = port_open;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	desync(a);
	return a;
}

void
agent_free(struct agent *a)
{
	struct req *r;

	if (a == NULL)
		return;
	while ((r = pop(a)) != NULL)
		finish(r, EXIT_FAIL, NULL, "the supervisor is leaving");
	if (a->fd != -1)
		close(a->fd);
	free(a->in);
	free(a->out);
	free(a);
}

int
agent_fd(const struct agent *a)
{
	return a->fd;
}

short
agent_events(const struct agent *a)
{
	return (short)(POLLIN | (a->outlen > 0 ? POLLOUT : 0));
}

double
agent_next(const struct agent *a)
{
	double next = 0;

	if (a->port == 0)
		return 0;
	/* every request's own deadline: a later one may have the shorter timeout */
	for (const struct req *r = a->queue; r != NULL; r = r->next)
		if (next == 0 || r->deadline < next)
			next = r->deadline;
	if (!a->synced) {
		double t = a->sync_id != 0 ? a->sync_deadline : a->next_sync;

		if (next == 0 || t < next)
			next = t;
	}
	return next;
}

int
agent_port_open(const struct agent *a)
{
	return a->port;
}

int
agent_synced(const struct agent *a)
{
	return a->synced;
}

void
agent_port(struct agent *a, int open)
{
	struct req *r;

	a->port = open;
	desync(a);
	if (!open) {
		/* nobody will answer: end what waits */
		while ((r = pop(a)) != NULL)
			finish(r, EXIT_STATE, NULL, "the guest closed the agent's port");
		a->outlen = 0;
	}
	advance(a);
}

static int
printable_len(int c)
{
	return c >= 0x20 && c != 0x7f ? 1 : 4;
}

char *
agent_printable(const char *s, size_t max)
{
	size_t n = 0, len = 0;
	char *out;

	for (const char *p = s; *p && len < max; p++, len++)
		n += (size_t)printable_len((unsigned char)*p);
	out = xmalloc(n + 4);
	n = 0;
	len = 0;
	for (const char *p = s; *p && len < max; p++, len++) {
		unsigned char c = (unsigned char)*p;

		if (printable_len(c) == 1)
			out[n++] = (char)c;
		else
			n += (size_t)sprintf(out + n, "\\x%02x", c);
	}
	if (s[len] != '\0') {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

int
agent_reply_parse(const char *line, size_t len, json_object **ret, char **err)
{
	json_tokener *tok;
	json_object *o, *v, *d;
	int rc = -1;

	*ret = NULL;
	*err = NULL;
	if (len == 0 || len > AGENT_LINE_MAX || memchr(line, '\0', len) != NULL)
		return -1;
	tok = json_tokener_new_ex(64);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) < len) {
		/* trailing bytes other than spaces: not one reply */
		size_t end = o != NULL ? json_tokener_get_parse_end(tok) : 0;

		while (o != NULL && end < len && (line[end] == ' ' || line[end] == '\r' ||
		    line[end] == '\t'))
			end++;
		if (o == NULL || end < len) {
			json_object_put(o);
			json_tokener_free(tok);
			return -1;
		}
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -1;
	}
	if (json_object_object_get_ex(o, "return", &v)) {
		*ret = json_object_get(v);
		rc = 1;
	} else if (json_object_object_get_ex(o, "error", &v) &&
	    json_object_is_type(v, json_type_object)) {
		const char *desc = json_object_object_get_ex(v, "desc", &d) &&
		    json_object_is_type(d, json_type_string) ? json_object_get_string(d) :
		    "(no description)";

		*err = agent_printable(desc, 512);
		rc = 2;
	}
	json_object_put(o);
	return rc;
}

/* One whole line from the agent. */
static void
on_line(struct agent *a, const char *line, size_t len)
{
	json_object *ret = NULL;
	char *err = NULL;
	int kind = agent_reply_parse(line, len, &ret, &err);
	struct req *r;

	if (!a->synced) {
		/* only the answer to our sync counts; stale replies are dropped */
		if (a->sync_id != 0 && a->ff_seen && kind == 1 &&
		    json_object_is_type(ret, json_type_int) &&
		    (unsigned long long)json_object_get_int64(ret) == a->sync_id) {
			a->synced = 1;
			a->sync_id = 0;
		}
		json_object_put(ret);
		free(err);
		return;
	}
	if (!a->inflight || kind == -1) {
		/* unasked for, or not a reply: out of step */
		if (a->inflight && (r = pop(a)) != NULL)
			finish(r, EXIT_FAIL, NULL, "the guest agent answered garbage");
		json_object_put(ret);
		free(err);
		desync(a);
		return;
	}
	r = pop(a);
	if (kind == 1)
		finish(r, 0, ret, NULL);
	else
		finish(r, EXIT_FAIL, NULL, err);
	json_object_put(ret);
	free(err);
}

static void
take_input(struct agent *a, const char *buf, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (a->sync_id != 0 && !a->ff_seen) {
			/* before the sync's answer: everything up to its 0xFF is stale */
			const char *ff = memchr(buf + i, 0xff, n - i);

			if (ff == NULL)
				return;
			i = (size_t)(ff - buf) + 1;
			a->ff_seen = 1;
			a->inlen = 0;
			a->skip_line = 0;
			continue;
		}
		{
			const char *nl = memchr(buf + i, '\n', n - i);
			size_t take = nl ? (size_t)(nl - (buf + i)) : n - i;

			if (a->skip_line) {
				if (nl != NULL)
					a->skip_line = 0;
			} else if (a->inlen + take > AGENT_LINE_MAX) {
				/* too long to be a reply: dropped, and the stream is out of step */
				a->inlen = 0;
				a->skip_line = nl == NULL;
				if (a->inflight) {
					struct req *r = pop(a);

					finish(r, EXIT_FAIL, NULL, "the guest agent's reply is too long");
				}
				desync(a);
			} else {
				a->in = xrealloc(a->in, a->inlen + take + 1);
				memcpy(a->in + a->inlen, buf + i, take);
				a->inlen += take;
				if (nl != NULL) {
					a->in[a->inlen] = '\0';
					on_line(a, a->in, a->inlen);
					a->inlen = 0;
				}
			}
			i += take + (nl != NULL);
		}
	}
}

int
agent_run(struct agent *a, short revents)
{
	double now = now_mono();

	if (revents & POLLIN) {
		char buf[65536];
		ssize_t n;
		int rounds = 0;

		/* bounded per round: a flood does not starve the supervisor's other work */
		while (rounds++ < 64 && (n = read(a->fd, buf, sizeof buf)) > 0)
			take_input(a, buf, (size_t)n);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return -1;
	} else if (revents & (POLLHUP | POLLERR))
		return -1;
	if ((revents & POLLOUT) && a->outlen > 0) {
		ssize_t n = write(a->fd, a->out, a->outlen);

		if (n > 0) {
			memmove(a->out, a->out + n, a->outlen - (size_t)n);
			a->outlen -= (size_t)n;
		} else if (n == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
	}
	/* deadlines */
	if (!a->synced && a->sync_id != 0 && now >= a->sync_deadline) {
		a->sync_id = 0;		/* no answer: again after SYNC_RETRY */
		a->ff_seen = 0;
	}
	for (struct req **pp = &a->queue; *pp != NULL;) {
		struct req *r = *pp;

		if (now < r->deadline) {
			pp = &r->next;
			continue;
		}
		if (pp == &a->queue && a->inflight) {
			a->inflight = 0;
			desync(a);	/* its answer may still come: out of step */
		}
		*pp = r->next;
		finish(r, EXIT_TIMEOUT, NULL, a->synced ? "the guest agent did not answer in time" :
		    "the guest agent does not answer (is qemu-ga running in the guest?)");
	}
	advance(a);
	return 0;
}

void
agent_call(struct agent *a, const char *execute, json_object *args, int timeout_ms,
    int flags, agent_done done, void *arg)
{
	json_object *o;
	struct req *r, **pp;

	if (a->port == 0) {
		json_object_put(args);
		if (done != NULL)
			done(arg, EXIT_STATE, NULL, "the guest agent is not connected (no qemu-ga "
			    "in the guest, or it has not started yet)");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "execute", json_object_new_string(execute));
	if (args != NULL)
		json_object_object_add(o, "arguments", args);
	r = xcalloc(1, sizeof *r);
	r->line = xasprintf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	r->flags = flags;
	r->deadline = now_mono() + (timeout_ms > 0 ? timeout_ms : 10000) / 1000.0;
	r->done = done;
	r->arg = arg;
	for (pp = &a->queue; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = r;
	advance(a);
}
