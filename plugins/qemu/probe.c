#include "probe.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "exitcodes.h"
#include "linebuf.h"
#include "qmp.h"
#include "spawn.h"
#include "util.h"

#define PROBE_ERR_TAIL	4096		/* bytes of QEMU's stderr kept for messages */
#define PROBE_ERR_LINES	3		/* lines of it shown */
#define PROBE_HELP_MAX	65536		/* -netdev help output */
#define PROBE_CACHE_MAX	(4 * 1024 * 1024)

/* One child of the probe: the QMP session or the -netdev help run. */
struct child {
	const char	*binary;
	pid_t		 pid;		/* -1 once reaped */
	int		 status;	/* wait status once reaped */
	int		 killed;	/* we killed it (deadline) */
	int		 fd;		/* QMP socket (its stdin and stdout) or its stdout */
	int		 errfd;		/* its stderr, -1 at EOF */
	int		 out_eof;
	struct linebuf	 out;
	char		 err[PROBE_ERR_TAIL];
	size_t		 errlen;
	double		 deadline;	/* now_mono() */
};

static void
names_add(char ***v, size_t *n, const char *s)
{
	if ((*n & (*n - 1)) == 0)	/* 0, 1, 2, 4...: grow to the next power of two */
		*v = xreallocarray(*v, *n ? *n * 2 : 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
}

static void
names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
machine_add(struct qemu_caps *c, const char *name, const char *alias)
{
	size_t n = c->nmachines;

	if ((n & (n - 1)) == 0)
		c->machine_alias = xreallocarray(c->machine_alias, n ? n * 2 : 1,
		    sizeof *c->machine_alias);
	c->machine_alias[n] = alias != NULL ? xstrdup(alias) : NULL;
	names_add(&c->machines, &c->nmachines, name);
}

void
qemu_caps_free(struct qemu_caps *c)
{
	if (c == NULL)
		return;
	free(c->binary);
	free(c->version);
	for (size_t i = 0; i < c->nmachines; i++)
		free(c->machine_alias[i]);
	free(c->machine_alias);
	names_free(c->machines, c->nmachines);
	free(c->default_machine);
	names_free(c->commands, c->ncommands);
	names_free(c->types, c->ntypes);
	names_free(c->netdevs, c->nnetdevs);
	names_free(c->displays, c->ndisplays);
	free(c);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct machine {
	char	*name, *alias;
};

static int
cmp_machine(const void *a, const void *b)
{
	return strcmp(((const struct machine *)a)->name, ((const struct machine *)b)->name);
}

void
qemu_caps_sort(struct qemu_caps *c)
{
	struct machine *m;
	size_t i;

	if (c->ncommands > 1)
		qsort(c->commands, c->ncommands, sizeof *c->commands, cmp_str);
	if (c->ntypes > 1)
		qsort(c->types, c->ntypes, sizeof *c->types, cmp_str);
	if (c->nnetdevs > 1)
		qsort(c->netdevs, c->nnetdevs, sizeof *c->netdevs, cmp_str);
	if (c->ndisplays > 1)
		qsort(c->displays, c->ndisplays, sizeof *c->displays, cmp_str);
	if (c->nmachines > 1) {
		m = xreallocarray(NULL, c->nmachines, sizeof *m);
		for (i = 0; i < c->nmachines; i++) {
			m[i].name = c->machines[i];
			m[i].alias = c->machine_alias[i];
		}
		qsort(m, c->nmachines, sizeof *m, cmp_machine);
		for (i = 0; i < c->nmachines; i++) {
			c->machines[i] = m[i].name;
			c->machine_alias[i] = m[i].alias;
		}
		free(m);
	}
}

static int
has_sorted(char *const *v, size_t n, const char *name)
{
	if (v == NULL || n == 0 || name == NULL)
		return 0;
	return bsearch(&name, v, n, sizeof *v, cmp_str) != NULL;
}

int
qemu_caps_has_type(const struct qemu_caps *c, const char *type)
{
	return has_sorted(c->types, c->ntypes, type);
}

int
qemu_caps_has_command(const struct qemu_caps *c, const char *name)
{
	return has_sorted(c->commands, c->ncommands, name);
}

int
qemu_caps_has_netdev(const struct qemu_caps *c, const char *name)
{
	return has_sorted(c->netdevs, c->nnetdevs, name);
}

int
qemu_caps_has_display(const struct qemu_caps *c, const char *name)
{
	return has_sorted(c->displays, c->ndisplays, name);
}

int
qemu_caps_has_machine(const struct qemu_caps *c, const char *name)
{
	if (name == NULL)
		return 0;
	for (size_t i = 0; i < c->nmachines; i++) {
		if (strcmp(c->machines[i], name) == 0 ||
		    (c->machine_alias[i] != NULL && strcmp(c->machine_alias[i], name) == 0))
			return 1;
	}
	return 0;
}

/* The cache key. */

/*
 * Module directories: QEMU loads devices (qxl, virtio-gpu, usb-host...) from shared objects
 * packaged apart from the binary, so adding or removing one must invalidate the cache. A
 * directory's mtime changes when an entry is added, removed or renamed over.
 */
static char *
moddirs_stamp(void)
{
	struct utsname u;
	struct stat st;
	char *dirs[5], *s = xstrdup(""), *t;
	const char *env = getenv("QEMU_MODULE_DIR");
	size_t n = 0, i;

	if (env != NULL && *env != '\0')
		dirs[n++] = xstrdup(env);
	if (uname(&u) == 0)
		dirs[n++] = xasprintf("/usr/lib/%s-linux-gnu/qemu", u.machine);
	dirs[n++] = xstrdup("/usr/lib64/qemu");
	dirs[n++] = xstrdup("/usr/lib/qemu");
	for (i = 0; i < n; i++) {
		if (stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			t = xasprintf("%s%s%s@%lld.%09ld", s, *s ? ";" : "", dirs[i],
			    (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
			free(s);
			s = t;
		}
		free(dirs[i]);
	}
	return s;
}

int
probe_key_get(const char *binary, struct probe_key *k, char **cause)
{
	struct stat st;
	struct utsname u;

	memset(k, 0, sizeof *k);
	if (stat(binary, &st) == -1)
		return fail(cause, EXIT_QEMU, "cannot run '%s': %s", binary, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return fail(cause, EXIT_QEMU, "cannot run '%s': %s", binary, strerror(EISDIR));
	if (!S_ISREG(st.st_mode))
		return fail(cause, EXIT_QEMU, "cannot run '%s': not a regular file", binary);
	if (access(binary, X_OK) == -1)
		return fail(cause, EXIT_QEMU, "cannot run '%s': %s", binary, strerror(errno));
	k->binary = xstrdup(binary);
	k->size = (int64_t)st.st_size;
	k->mtime_sec = (int64_t)st.st_mtim.tv_sec;
	k->mtime_nsec = (int64_t)st.st_mtim.tv_nsec;
	k->ctime_sec = (int64_t)st.st_ctim.tv_sec;
	k->ctime_nsec = (int64_t)st.st_ctim.tv_nsec;
	k->kernel = xstrdup(uname(&u) == 0 ? u.release : "");
	k->moddirs = moddirs_stamp();
	return 0;
}

void
probe_key_free(struct probe_key *k)
{
	free(k->binary);
	free(k->kernel);
	free(k->moddirs);
	memset(k, 0, sizeof *k);
}

/* Which field differs, or NULL. */
static const char *
key_diff(const struct probe_key *a, const struct probe_key *b)
{
	if (strcmp(a->binary, b->binary) != 0)
		return "binary";
	if (a->size != b->size)
		return "size";
	if (a->mtime_sec != b->mtime_sec || a->mtime_nsec != b->mtime_nsec)
		return "mtime";
	if (a->ctime_sec != b->ctime_sec || a->ctime_nsec != b->ctime_nsec)
		return "ctime";
	if (strcmp(a->kernel, b->kernel) != 0)
		return "kernel";
	if (strcmp(a->moddirs, b->moddirs) != 0)
		return "module directories";
	return NULL;
}

char *
probe_cache_path(const char *cache_dir, const char *binary)
{
	return xasprintf("%s/qemu-caps/%016" PRIx64 ".json", cache_dir,
	    fnv1a64(binary, strlen(binary)));
}

/* The cache file. */

static json_object *
json_names(char *const *v, size_t n)
{
	json_object *a = json_object_new_array_ext((int)n);

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static json_object *
json_time(int64_t sec, int64_t nsec)
{
	json_object *a = json_object_new_array_ext(2);

	json_object_array_add(a, json_object_new_int64(sec));
	json_object_array_add(a, json_object_new_int64(nsec));
	return a;
}

char *
qemu_caps_to_json(const struct qemu_caps *c, const struct probe_key *k)
{
	json_object *o = json_object_new_object(), *key, *kvm, *m, *a;
	char *s;

	json_object_object_add(o, "format", json_object_new_int(PROBE_CACHE_FORMAT));
	key = json_object_new_object();
	json_object_object_add(key, "binary", json_object_new_string(k->binary));
	json_object_object_add(key, "size", json_object_new_int64(k->size));
	json_object_object_add(key, "mtime", json_time(k->mtime_sec, k->mtime_nsec));
	json_object_object_add(key, "ctime", json_time(k->ctime_sec, k->ctime_nsec));
	json_object_object_add(key, "kernel", json_object_new_string(k->kernel));
	json_object_object_add(key, "moddirs", json_object_new_string(k->moddirs));
	json_object_object_add(o, "key", key);
	json_object_object_add(o, "probed", json_object_new_int64((int64_t)time(NULL)));
	json_object_object_add(o, "binary", json_object_new_string(c->binary));
	json_object_object_add(o, "version", c->version != NULL ?
	    json_object_new_string(c->version) : NULL);
	kvm = json_object_new_object();
	json_object_object_add(kvm, "present", json_object_new_boolean(c->kvm_present));
	json_object_object_add(kvm, "enabled", json_object_new_boolean(c->kvm_enabled));
	json_object_object_add(o, "kvm", kvm);
	json_object_object_add(o, "default-machine", c->default_machine != NULL ?
	    json_object_new_string(c->default_machine) : NULL);
	a = json_object_new_array_ext((int)c->nmachines);
	for (size_t i = 0; i < c->nmachines; i++) {
		m = json_object_new_object();
		json_object_object_add(m, "name", json_object_new_string(c->machines[i]));
		if (c->machine_alias[i] != NULL)
			json_object_object_add(m, "alias",
			    json_object_new_string(c->machine_alias[i]));
		json_object_array_add(a, m);
	}
	json_object_object_add(o, "machines", a);
	json_object_object_add(o, "commands", json_names(c->commands, c->ncommands));
	json_object_object_add(o, "types", json_names(c->types, c->ntypes));
	json_object_object_add(o, "netdevs", json_names(c->netdevs, c->nnetdevs));
	json_object_object_add(o, "displays", json_names(c->displays, c->ndisplays));
	s = xasprintf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

/* Defensive getters: a member of the wanted type, or NULL. */
static json_object *
get_typed(json_object *o, const char *name, json_type t)
{
	json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, t))
		return NULL;
	return v;
}

static const char *
get_string(json_object *o, const char *name)
{
	json_object *v = get_typed(o, name, json_type_string);

	return v != NULL ? json_object_get_string(v) : NULL;
}

static int
get_int64(json_object *o, const char *name, int64_t *out)
{
	json_object *v = get_typed(o, name, json_type_int);

	if (v == NULL)
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

static int
get_time(json_object *o, const char *name, int64_t *sec, int64_t *nsec)
{
	json_object *a = get_typed(o, name, json_type_array), *s, *n;

	if (a == NULL || json_object_array_length(a) != 2)
		return -1;
	s = json_object_array_get_idx(a, 0);
	n = json_object_array_get_idx(a, 1);
	if (!json_object_is_type(s, json_type_int) || !json_object_is_type(n, json_type_int))
		return -1;
	*sec = json_object_get_int64(s);
	*nsec = json_object_get_int64(n);
	return 0;
}

/* An array of strings into *v; -1 if it is not one. */
static int
get_names(json_object *o, const char *name, char ***v, size_t *n)
{
	json_object *a = get_typed(o, name, json_type_array), *e;
	size_t len;

	if (a == NULL)
		return -1;
	len = json_object_array_length(a);
	for (size_t i = 0; i < len; i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string))
			return -1;
		names_add(v, n, json_object_get_string(e));
	}
	return 0;
}

static int
key_from_json(json_object *o, struct probe_key *k)
{
	const char *b = get_string(o, "binary"), *kern = get_string(o, "kernel");
	const char *mods = get_string(o, "moddirs");

	memset(k, 0, sizeof *k);
	if (b == NULL || kern == NULL || mods == NULL || get_int64(o, "size", &k->size) == -1 ||
	    get_time(o, "mtime", &k->mtime_sec, &k->mtime_nsec) == -1 ||
	    get_time(o, "ctime", &k->ctime_sec, &k->ctime_nsec) == -1)
		return -1;
	k->binary = xstrdup(b);
	k->kernel = xstrdup(kern);
	k->moddirs = xstrdup(mods);
	return 0;
}

static int
caps_from_object(json_object *o, struct qemu_caps *c)
{
	json_object *kvm, *ms, *m, *v;
	const char *s, *name;
	size_t len;

	if ((s = get_string(o, "binary")) == NULL)
		return -1;
	c->binary = xstrdup(s);
	if ((s = get_string(o, "version")) == NULL)
		return -1;
	c->version = xstrdup(s);
	if ((kvm = get_typed(o, "kvm", json_type_object)) == NULL)
		return -1;
	if ((v = get_typed(kvm, "present", json_type_boolean)) == NULL)
		return -1;
	c->kvm_present = json_object_get_boolean(v);
	if ((v = get_typed(kvm, "enabled", json_type_boolean)) == NULL)
		return -1;
	c->kvm_enabled = json_object_get_boolean(v);
	if ((s = get_string(o, "default-machine")) != NULL)
		c->default_machine = xstrdup(s);
	if ((ms = get_typed(o, "machines", json_type_array)) == NULL)
		return -1;
	len = json_object_array_length(ms);
	for (size_t i = 0; i < len; i++) {
		m = json_object_array_get_idx(ms, i);
		if ((name = get_string(m, "name")) == NULL)
			return -1;
		machine_add(c, name, get_string(m, "alias"));
	}
	if (get_names(o, "commands", &c->commands, &c->ncommands) == -1 ||
	    get_names(o, "types", &c->types, &c->ntypes) == -1 ||
	    get_names(o, "netdevs", &c->netdevs, &c->nnetdevs) == -1 ||
	    get_names(o, "displays", &c->displays, &c->ndisplays) == -1)
		return -1;
	return 0;
}

int
qemu_caps_from_json(const char *text, size_t len, const struct probe_key *want,
    struct qemu_caps **caps, char **cause)
{
	json_tokener *tok;
	json_object *o, *key;
	struct probe_key k;
	struct qemu_caps *c;
	const char *diff;
	size_t end;
	int64_t format;

	*caps = NULL;
	if (len > (size_t)INT32_MAX)
		return fail(cause, -1, "cache file too large");
	tok = json_tokener_new_ex(16);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		fail(cause, -1, "not JSON: %s", o == NULL &&
		    json_tokener_get_error(tok) == json_tokener_continue ? "truncated" :
		    json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(o);
		json_tokener_free(tok);
		return -1;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && isspace((unsigned char)text[end]))
		end++;
	if (end != len) {
		json_object_put(o);
		return fail(cause, -1, "not JSON: trailing bytes");
	}
	if (get_int64(o, "format", &format) == -1) {
		json_object_put(o);
		return fail(cause, -1, "no format number");
	}
	if (format != PROBE_CACHE_FORMAT) {
		json_object_put(o);
		return fail(cause, -1, "format %" PRId64 ", this ctys writes %d", format,
		    PROBE_CACHE_FORMAT);
	}
	memset(&k, 0, sizeof k);
	if ((key = get_typed(o, "key", json_type_object)) == NULL ||
	    key_from_json(key, &k) == -1) {
		probe_key_free(&k);
		json_object_put(o);
		return fail(cause, -1, "no valid key");
	}
	diff = want != NULL ? key_diff(&k, want) : NULL;
	probe_key_free(&k);
	if (diff != NULL) {
		json_object_put(o);
		return fail(cause, -1, "stale: the %s changed", diff);
	}
	c = xcalloc(1, sizeof *c);
	if (caps_from_object(o, c) == -1) {
		qemu_caps_free(c);
		json_object_put(o);
		return fail(cause, -1, "missing or malformed fields");
	}
	json_object_put(o);
	qemu_caps_sort(c);
	*caps = c;
	return 0;
}

/* The child processes of the probe. */

static void
child_init(struct child *ch, const char *binary, double deadline)
{
	memset(ch, 0, sizeof *ch);
	ch->binary = binary;
	ch->pid = -1;
	ch->status = -1;
	ch->fd = ch->errfd = -1;
	ch->deadline = deadline;
	linebuf_init(&ch->out, QMP_LINE_MAX);
}

/* qmp: stdin and stdout are one socket (writes to a dead QEMU are errors, not SIGPIPE). */
static int
child_start(struct child *ch, char *const *argv, int qmp, char **cause)
{
	struct spawn sp = { .argv = argv, .in = SPAWN_NULL, .out = SPAWN_PIPE,
	    .err = SPAWN_PIPE };
	int sv[2] = { -1, -1 }, rc;

	if (qmp) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
			return fail(cause, EXIT_QEMU, "socketpair: %s", strerror(errno));
		sp.in = sp.out = sv[1];
	}
	rc = spawn_start(&sp, cause);
	if (qmp)
		close(sv[1]);
	if (rc == -1) {
		if (qmp)
			close(sv[0]);
		return EXIT_QEMU;
	}
	ch->pid = sp.pid;
	ch->fd = qmp ? sv[0] : sp.out_pipe;
	ch->errfd = sp.err_pipe;
	return 0;
}

static void
child_err_read(struct child *ch)
{
	char buf[PROBE_ERR_TAIL];
	ssize_t n;
	size_t k;

	do
		n = read(ch->errfd, buf, sizeof buf);
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN) {
			close(ch->errfd);
			ch->errfd = -1;
		}
		return;
	}
	k = (size_t)n;		/* at most sizeof ch->err: keep the newest bytes */
	if (ch->errlen + k > sizeof ch->err) {
		size_t drop = ch->errlen + k - sizeof ch->err;

		memmove(ch->err, ch->err + drop, ch->errlen - drop);
		ch->errlen -= drop;
	}
	memcpy(ch->err + ch->errlen, buf, k);
	ch->errlen += k;
}

/*
 * Waits up to max seconds (and not past the deadline) for output and reads what came.
 * Returns 1 once the deadline has passed, else 0.
 */
static int
child_pump(struct child *ch, double max)
{
	struct pollfd pfd[2];
	nfds_t n = 0;
	double left = ch->deadline - now_mono();
	int ms;

	if (left <= 0)
		return 1;
	if (left > max)
		left = max;
	ms = (int)(left * 1000) + 1;
	if (!ch->out_eof) {
		pfd[n].fd = ch->fd;
		pfd[n++].events = POLLIN;
	}
	if (ch->errfd != -1) {
		pfd[n].fd = ch->errfd;
		pfd[n++].events = POLLIN;
	}
	if (n == 0) {
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

		nanosleep(&ts, NULL);
		return 0;
	}
	if (poll(pfd, n, ms) <= 0)
		return 0;	/* timeout or EINTR: the caller looks at the clock again */
	for (nfds_t i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == ch->errfd)
			child_err_read(ch);
		else {
			ssize_t r = linebuf_read(&ch->out, ch->fd);

			if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR))
				ch->out_eof = 1;
		}
	}
	return 0;
}

/* Reaps the child, waiting until the deadline (reading its stderr), then killing it. */
static void
child_reap(struct child *ch)
{
	pid_t r;
	int st;

	while (ch->pid != -1) {
		r = waitpid(ch->pid, &st, WNOHANG);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == ch->pid || r == -1) {
			ch->status = r == -1 ? -1 : st;
			ch->pid = -1;
			break;
		}
		if (now_mono() >= ch->deadline) {
			kill(ch->pid, SIGKILL);
			ch->status = spawn_wait(ch->pid);
			ch->pid = -1;
			ch->killed = 1;
			break;
		}
		child_pump(ch, 0.02);
	}
}

static void
child_kill(struct child *ch)
{
	if (ch->pid != -1) {
		kill(ch->pid, SIGKILL);
		ch->status = spawn_wait(ch->pid);
		ch->pid = -1;
		ch->killed = 1;
	}
}

static void
child_close(struct child *ch)
{
	child_kill(ch);
	if (ch->fd != -1)
		close(ch->fd);
	if (ch->errfd != -1)
		close(ch->errfd);
	ch->fd = ch->errfd = -1;
	linebuf_free(&ch->out);
}

/* The last lines of its stderr, printable, "; "-joined; "" when it said nothing. */
static char *
child_err_tail(struct child *ch)
{
	char *s = xstrndup(ch->err, ch->errlen), *p, *out;
	size_t len = ch->errlen, n = 0, start;

	for (p = s; p < s + len; p++) {
		if (*p == '\0' || *p == '\r' || *p == '\t')
			*p = ' ';
		else if (*p != '\n' && iscntrl((unsigned char)*p))
			*p = '?';
	}
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
	start = len;
	while (start > 0 && n < PROBE_ERR_LINES) {
		start--;
		if (s[start] == '\n') {
			if (++n == PROBE_ERR_LINES) {
				start++;
				break;
			}
		}
	}
	out = xstrdup(s + start);
	for (p = out; *p != '\0'; p++)
		if (*p == '\n')
			*p = ';';
	free(s);
	return out;
}

static char *
status_text(int st)
{
	if (st == -1)
		return xstrdup("status unknown");
	if (WIFEXITED(st))
		return xasprintf("exit status %d", WEXITSTATUS(st));
	if (WIFSIGNALED(st))
		return xasprintf("killed by signal %d", WTERMSIG(st));
	return xasprintf("wait status %d", st);
}

static int
child_timeout(struct child *ch, const char *what, char **cause)
{
	char *tail;

	child_kill(ch);
	tail = child_err_tail(ch);
	fail(cause, EXIT_QEMU, "QEMU '%s' did not answer the capability probe within %d s "
	    "(waiting for %s); killed it%s%s", ch->binary, PROBE_TIMEOUT, what,
	    *tail ? ": " : "", tail);
	free(tail);
	return EXIT_QEMU;
}

/* Its output ended early: reap it and say how it ended. */
static int
child_died(struct child *ch, const char *what, char **cause)
{
	char *tail, *st;

	/* stderr may still hold the reason: read it until EOF or the deadline */
	while (ch->errfd != -1 && child_pump(ch, 1.0) == 0)
		;
	child_reap(ch);
	tail = child_err_tail(ch);
	st = ch->killed ? xstrdup("killed after the time limit") : status_text(ch->status);
	fail(cause, EXIT_QEMU, "QEMU '%s' exited during the capability probe (%s, at %s)%s%s",
	    ch->binary, st, what, *tail ? ": " : "", tail);
	free(st);
	free(tail);
	return EXIT_QEMU;
}

/* Next stdout line: 1 with *line, 0 at EOF, -1 at the deadline (child killed, *cause). */
static int
child_line(struct child *ch, const char *what, char **line, size_t *len, char **cause)
{
	for (;;) {
		if ((*line = linebuf_next(&ch->out, len)) != NULL)
			return 1;
		if (ch->out.overflows > 0) {
			child_kill(ch);
			fail(cause, EXIT_QEMU, "QEMU '%s' sent a line longer than %d bytes "
			    "(in %s)", ch->binary, QMP_LINE_MAX, what);
			return -1;
		}
		if (ch->out_eof)
			return 0;
		if (child_pump(ch, 1.0)) {
			child_timeout(ch, what, cause);
			return -1;
		}
	}
}

/* The QMP session. */

static int
send_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads QMP messages until one of kind want (QMP_GREETING, or the reply to id). Returns 0
 * with *msg (the whole message; caller puts it) or EXIT_QEMU with *cause.
 */
static int
qmp_wait(struct child *ch, enum qmp_kind want, int id, const char *what, json_object **msg,
    char **cause)
{
	enum qmp_kind k;
	json_object *o;
	char *line, *why = NULL, *err;
	size_t len;
	int r;

	*msg = NULL;
	for (;;) {
		if ((r = child_line(ch, what, &line, &len, cause)) == -1)
			return EXIT_QEMU;
		if (r == 0)
			return child_died(ch, what, cause);
		log_debug(3, "probe recv: %.*s", (int)(len > 200 ? 200 : len), line);
		k = qmp_parse(line, len, &o, &why);
		if (k == QMP_BAD) {
			child_kill(ch);
			fail(cause, EXIT_QEMU, "QEMU '%s' does not speak QMP (%s, in %s): '%.60s'",
			    ch->binary, why, what, line);
			free(why);
			free(line);
			return EXIT_QEMU;
		}
		free(line);
		if (k == want && (want == QMP_GREETING || qmp_id(o) == id)) {
			*msg = o;
			return 0;
		}
		if (want == QMP_RETURN && k == QMP_ERROR && qmp_id(o) == id) {
			err = qmp_error_text(o);
			json_object_put(o);
			child_kill(ch);
			fail(cause, EXIT_QEMU, "QEMU '%s': %s failed: %s", ch->binary, what, err);
			free(err);
			return EXIT_QEMU;
		}
		json_object_put(o);	/* events, stray replies */
	}
}

/* Runs one command; *ret is the "return" member of the reply (owned by *msg). */
static int
qmp_call(struct child *ch, const char *cmd, json_object *args, int id, json_object **msg,
    json_object **ret, char **cause)
{
	char *line = qmp_command_line(cmd, args, id);
	int rc;

	rc = send_all(ch->fd, line, strlen(line));
	free(line);
	if (rc == -1)
		return child_died(ch, cmd, cause);
	if ((rc = qmp_wait(ch, QMP_RETURN, id, cmd, msg, cause)) != 0)
		return rc;
	json_object_object_get_ex(*msg, "return", ret);
	return 0;
}

static int
bad_reply(struct child *ch, const char *cmd, char **cause)
{
	child_kill(ch);
	return fail(cause, EXIT_QEMU, "QEMU '%s': unexpected reply to %s", ch->binary, cmd);
}

static void
greeting_version(json_object *g, struct qemu_caps *c)
{
	json_object *q, *v, *qq;
	int64_t ma, mi, mc;

	q = get_typed(g, "QMP", json_type_object);
	v = get_typed(q, "version", json_type_object);
	qq = get_typed(v, "qemu", json_type_object);
	if (get_int64(qq, "major", &ma) == 0 && get_int64(qq, "minor", &mi) == 0 &&
	    get_int64(qq, "micro", &mc) == 0)
		c->version = xasprintf("%" PRId64 ".%" PRId64 ".%" PRId64, ma, mi, mc);
	else
		c->version = xstrdup("unknown");
}

/* An array of {"name":...} objects into *v. */
static int
reply_names(json_object *ret, char ***v, size_t *n)
{
	const char *name;
	size_t len;

	if (ret == NULL || !json_object_is_type(ret, json_type_array))
		return -1;
	len = json_object_array_length(ret);
	for (size_t i = 0; i < len; i++) {
		if ((name = get_string(json_object_array_get_idx(ret, i), "name")) == NULL)
			return -1;
		names_add(v, n, name);
	}
	return 0;
}

static int
reply_machines(json_object *ret, struct qemu_caps *c)
{
	json_object *m, *def;
	const char *name;
	size_t len;

	if (ret == NULL || !json_object_is_type(ret, json_type_array))
		return -1;
	len = json_object_array_length(ret);
	for (size_t i = 0; i < len; i++) {
		m = json_object_array_get_idx(ret, i);
		if ((name = get_string(m, "name")) == NULL)
			return -1;
		machine_add(c, name, get_string(m, "alias"));
		def = get_typed(m, "is-default", json_type_boolean);
		if (def != NULL && json_object_get_boolean(def) && c->default_machine == NULL)
			c->default_machine = xstrdup(name);
	}
	return 0;
}

static int
reply_kvm(json_object *ret, struct qemu_caps *c)
{
	json_object *p = get_typed(ret, "present", json_type_boolean);
	json_object *e = get_typed(ret, "enabled", json_type_boolean);

	if (p == NULL || e == NULL)
		return -1;
	c->kvm_present = json_object_get_boolean(p);
	c->kvm_enabled = json_object_get_boolean(e);
	return 0;
}

static int
probe_qmp(const char *binary, const char *accel, double deadline, struct qemu_caps *c,
    char **cause)
{
	const char *const fixed[] = { "-machine", "none", "-accel", accel, "-S",
	    "-nodefaults", "-no-user-config", "-display", "none", "-qmp", "stdio" };
	static const struct {
		const char *cmd;
		int (*parse)(json_object *, struct qemu_caps *);
	} steps[] = {
		{ "query-kvm", reply_kvm },
		{ "query-machines", reply_machines },
		{ "query-commands", NULL },
		{ "qom-list-types", NULL },
	};
	struct child ch;
	char *argv[nitems(fixed) + 2];
	json_object *msg, *ret;
	char *why = NULL;
	int rc, id = 1, r;
	size_t i;

	argv[0] = (char *)binary;
	for (i = 0; i < nitems(fixed); i++)
		argv[i + 1] = (char *)fixed[i];
	argv[i + 1] = NULL;
	child_init(&ch, binary, deadline);
	if ((rc = child_start(&ch, argv, 1, cause)) != 0)
		goto out;
	if ((rc = qmp_wait(&ch, QMP_GREETING, 0, "the QMP greeting", &msg, cause)) != 0)
		goto out;
	greeting_version(msg, c);
	json_object_put(msg);
	if ((rc = qmp_call(&ch, "qmp_capabilities", NULL, id++, &msg, &ret, cause)) != 0)
		goto out;
	json_object_put(msg);
	for (i = 0; i < nitems(steps); i++) {
		if ((rc = qmp_call(&ch, steps[i].cmd, NULL, id++, &msg, &ret, cause)) != 0)
			goto out;
		if (steps[i].parse != NULL)
			r = steps[i].parse(ret, c);
		else if (strcmp(steps[i].cmd, "query-commands") == 0)
			r = reply_names(ret, &c->commands, &c->ncommands);
		else
			r = reply_names(ret, &c->types, &c->ntypes);
		json_object_put(msg);
		if (r == -1) {
			rc = bad_reply(&ch, steps[i].cmd, cause);
			goto out;
		}
	}
	/* quit: the reply may or may not come before the socket closes; either is fine */
	if (qmp_call(&ch, "quit", NULL, id++, &msg, &ret, &why) == 0)
		json_object_put(msg);
	free(why);
	rc = 0;
	child_reap(&ch);
	if (ch.killed)
		log_debug(1, "probe: QEMU '%s' did not exit after quit; killed it", binary);
out:
	child_close(&ch);
	return rc;
}

/*
 * BINARY -netdev help ("Available netdev backend types:") or -display help ("Available
 * display backend types:"): a header, then one name a line.
 */
static int
probe_list(const char *binary, const char *accel, double deadline, const char *opt,
    const char *kind, char ***names, size_t *nnames, char **cause)
{
	char *argv[] = { (char *)binary, "-machine", "none", "-accel", (char *)accel, (char *)opt,
	    "help", NULL };
	char what[32], hdr[64];
	struct child ch;
	char *line, *tail, *st;
	size_t len;
	int rc, r, header = 0;

	snprintf(what, sizeof what, "%s help", opt);
	snprintf(hdr, sizeof hdr, "%s backend types", kind);
	child_init(&ch, binary, deadline);
	if ((rc = child_start(&ch, argv, 0, cause)) != 0)
		goto out;
	while ((r = child_line(&ch, what, &line, &len, cause)) == 1) {
		if (strstr(line, hdr) != NULL)
			header = 1;
		else if (header && len > 0 && strspn(line, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == len)
			names_add(names, nnames, line);
		free(line);
	}
	if (r == -1) {
		rc = EXIT_QEMU;
		goto out;
	}
	while (ch.errfd != -1 && child_pump(&ch, 1.0) == 0)
		;
	child_reap(&ch);
	if (ch.killed) {
		rc = child_timeout(&ch, what, cause);
		goto out;
	}
	if (ch.status != 0 || !header) {
		tail = child_err_tail(&ch);
		st = status_text(ch.status);
		rc = fail(cause, EXIT_QEMU, "QEMU '%s': %s %s (%s)%s%s", binary, what,
		    header ? "failed" : "listed no backends", st, *tail ? ": " : "", tail);
		free(st);
		free(tail);
	}
out:
	child_close(&ch);
	return rc;
}

int
probe_run(const char *binary, struct qemu_caps **caps, char **cause)
{
	struct qemu_caps *c = xcalloc(1, sizeof *c);
	double deadline = now_mono() + PROBE_TIMEOUT;
	const char *accel = "tcg";
	int rc;

	*caps = NULL;
	c->binary = xstrdup(binary);
	rc = probe_qmp(binary, accel, deadline, c, cause);
	if (rc != 0 && *cause != NULL && strstr(*cause, "invalid accelerator") != NULL) {
		/* a KVM-only build (qemu-system-x86_64-microvm): qtest answers QMP as well */
		qemu_caps_free(c);
		c = xcalloc(1, sizeof *c);
		c->binary = xstrdup(binary);
		free(*cause);
		*cause = NULL;
		accel = "qtest";
		rc = probe_qmp(binary, accel, deadline, c, cause);
	}
	if (rc != 0 || (rc = probe_list(binary, accel, deadline, "-netdev", "netdev",
	    &c->netdevs, &c->nnetdevs, cause)) != 0 || (rc = probe_list(binary, accel, deadline,
	    "-display", "display", &c->displays, &c->ndisplays, cause)) != 0) {
		qemu_caps_free(c);
		return rc;
	}
	qemu_caps_sort(c);
	*caps = c;
	return 0;
}

/* Writes the cache file atomically; failures only cost a probe next time. */
static void
cache_write(const char *path, const struct qemu_caps *c, const struct probe_key *k)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/'), *tmp, *text;

	if (slash != NULL)
		*slash = '\0';
	if (mkdir_p(dir, 0700) == -1) {
		log_debug(1, "probe: cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return;
	}
	free(dir);
	text = qemu_caps_to_json(c, k);
	tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	if (file_write(tmp, text, strlen(text), 0600) == -1 || rename(tmp, path) == -1) {
		log_debug(1, "probe: cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(text);
}

int
probe_get(const char *binary, const char *cache_dir, struct qemu_caps **caps, char **cause)
{
	struct probe_key key, after;
	char *path = NULL, *text, *why = NULL;
	size_t len;
	int rc;

	*caps = NULL;
	if ((rc = probe_key_get(binary, &key, cause)) != 0)
		return rc;
	if (cache_dir != NULL) {
		path = probe_cache_path(cache_dir, binary);
		if ((text = file_read(path, PROBE_CACHE_MAX, &len)) != NULL) {
			rc = qemu_caps_from_json(text, len, &key, caps, &why);
			free(text);
			if (rc == 0) {
				log_debug(2, "probe: %s: cached in %s", binary, path);
				goto out;
			}
			log_debug(1, "probe: %s: ignoring the cache %s: %s", binary, path, why);
			free(why);
			why = NULL;
		} else if (errno != ENOENT)
			log_debug(1, "probe: %s: %s", path, strerror(errno));
	}
	log_debug(1, "probe: asking %s what it can do", binary);
	if ((rc = probe_run(binary, caps, cause)) != 0)
		goto out;
	/* a binary replaced while we probed: keep the answer, do not cache it */
	if (path != NULL && probe_key_get(binary, &after, &why) == 0) {
		if (key_diff(&key, &after) == NULL)
			cache_write(path, *caps, &key);
		probe_key_free(&after);
	}
	free(why);
out:
	free(path);
	probe_key_free(&key);
	return rc;
}
