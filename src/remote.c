#include "remote.h"

#include <ctype.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "ssh.h"
#include "util.h"

/* ---- targets ---- */

static void
target_clear(struct remote_target *t)
{
	free(t->name);
	free(t->address);
	free(t->user);
	free(t->identity);
	free(t->ctys);
	strv_free(&t->opts);
}

void
remote_targets_free(struct remote_target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		target_clear(&t[i]);
	free(t);
}

static int
host_char(int c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_';
}

/* Options in parentheses: the words between them, each an argv word for the remote ctys. */
static int
split_opts(const char *s, size_t len, struct strv *out, const char *word, char **cause)
{
	size_t i = 0;

	while (i < len) {
		size_t j;

		while (i < len && isspace((unsigned char)s[i]))
			i++;
		if (i == len)
			break;
		for (j = i; j < len && !isspace((unsigned char)s[j]); j++)
			if (iscntrl((unsigned char)s[j]))
				return fail(cause, EXIT_USAGE, "'%s': a control character in the "
				    "options", word);
		strv_add(out, "");
		free(out->v[out->n - 1]);
		out->v[out->n - 1] = xstrndup(s + i, j - i);
		i = j;
	}
	return 0;
}

struct expand {
	const struct conf *conf;
	struct remote_target *v;
	size_t n;
	const char *stack[32];	/* the groups being expanded: cycles */
	int depth;
};

static int expand_word(struct expand *, const char *word, const struct strv *opts,
    char **cause);

/* `[user@]host[:port]` or `[user@][v6addr][:port]`, host a configured host or a name. */
static int
add_host(struct expand *e, const char *spec, const struct strv *opts, char **cause)
{
	struct remote_target t = { 0 };
	const char *at = strchr(spec, '@'), *h = at ? at + 1 : spec, *end, *colon = NULL;
	const struct conf_host *ch;
	char *host;

	if (*spec == '-' || *h == '-')
		return fail(cause, EXIT_USAGE, "refusing host name starting with '-': '%s'", spec);
	if (at != NULL) {
		if (at == spec)
			return fail(cause, EXIT_USAGE, "'%s': an empty user name", spec);
		for (const char *p = spec; p < at; p++)
			if (!host_char((unsigned char)*p))
				return fail(cause, EXIT_USAGE, "'%s': not a user name", spec);
	}
	if (*h == '[') {		/* an IPv6 address */
		if ((end = strchr(h, ']')) == NULL)
			return fail(cause, EXIT_USAGE, "'%s': no ']' after the address", spec);
		host = xstrndup(h + 1, (size_t)(end - h - 1));
		for (const char *p = host; *p; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.') {
				free(host);
				return fail(cause, EXIT_USAGE, "'%s': not an IPv6 address", spec);
			}
		end++;
		if (*end == ':')
			colon = end;
		else if (*end != '\0') {
			free(host);
			return fail(cause, EXIT_USAGE, "'%s': not a host", spec);
		}
	} else {
		colon = strchr(h, ':');
		host = colon ? xstrndup(h, (size_t)(colon - h)) : xstrdup(h);
		for (const char *p = host; *p; p++)
			if (!host_char((unsigned char)*p)) {
				free(host);
				return fail(cause, EXIT_USAGE, "'%s': not a host name", spec);
			}
	}
	if (*host == '\0') {
		free(host);
		return fail(cause, EXIT_USAGE, "'%s': an empty host name", spec);
	}
	if (colon != NULL) {
		if (!str_is_uint(colon + 1) || strlen(colon + 1) > 5 || atoi(colon + 1) < 1 ||
		    atoi(colon + 1) > 65535) {
			free(host);
			return fail(cause, EXIT_USAGE, "'%s': not a port: '%s'", spec, colon + 1);
		}
		t.port = atoi(colon + 1);
	}
	/* a group (only when named bare) */
	if (at == NULL && colon == NULL && conf_group_find(e->conf, host) != NULL) {
		const struct conf_group *g = conf_group_find(e->conf, host);
		int rc = 0;

		for (int i = 0; i < e->depth; i++)
			if (strcmp(e->stack[i], g->name) == 0) {
				char *path = xstrdup("");

				for (int k = i; k < e->depth; k++) {
					char *p = xasprintf("%s%s -> ", path, e->stack[k]);

					free(path);
					path = p;
				}
				rc = fail(cause, EXIT_USAGE, "host groups form a cycle: %s%s (%s)",
				    path, g->name, g->from);
				free(path);
				free(host);
				return rc;
			}
		if (e->depth == (int)nitems(e->stack)) {
			free(host);
			return fail(cause, EXIT_USAGE, "host groups nested too deep at '%s'",
			    g->name);
		}
		e->stack[e->depth++] = g->name;
		for (size_t i = 0; i < g->members.n && rc == 0; i++)
			rc = expand_word(e, g->members.v[i], opts, cause);
		e->depth--;
		free(host);
		return rc;
	}
	ch = conf_host_find(e->conf, host);
	t.name = xstrdup(spec);
	t.address = xstrdup(ch && ch->address ? ch->address : host);
	if (t.port == 0 && ch != NULL)
		t.port = ch->port;
	t.user = at ? xstrndup(spec, (size_t)(at - spec)) : ch && ch->user ? xstrdup(ch->user) :
	    NULL;
	t.identity = ch && ch->identity ? xstrdup(ch->identity) : e->conf->ssh_identity ?
	    xstrdup(e->conf->ssh_identity) : NULL;
	t.ctys = xstrdup(ch && ch->ctys ? ch->ctys : e->conf->remote_ctys ?
	    e->conf->remote_ctys : "ctys");
	for (size_t i = 0; opts && i < opts->n; i++)
		strv_add(&t.opts, opts->v[i]);
	t.connect_timeout = ch && ch->connect_timeout > 0 ? ch->connect_timeout :
	    e->conf->ssh_connect_timeout;
	t.command_timeout = ch && ch->command_timeout >= 0 ? ch->command_timeout :
	    e->conf->ssh_command_timeout;
	free(host);
	/* a host named twice (directly and through a group) runs once, first place */
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->v[i].address, t.address) == 0 && e->v[i].port == t.port &&
		    !!e->v[i].user == !!t.user && (t.user == NULL ||
		    strcmp(e->v[i].user, t.user) == 0)) {
			target_clear(&t);
			return 0;
		}
	e->v = xreallocarray(e->v, e->n + 1, sizeof *e->v);
	e->v[e->n++] = t;
	return 0;
}

/* One target word: `spec` or `spec(opts)`; opts of a group's word reach its members. */
static int
expand_word(struct expand *e, const char *word, const struct strv *inherited, char **cause)
{
	const char *paren = strchr(word, '(');
	struct strv opts = { 0 };
	char *spec;
	int rc;

	if (paren != NULL) {
		size_t len = strlen(word);

		if (word[len - 1] != ')')
			return fail(cause, EXIT_USAGE, "'%s': options in parentheses must end "
			    "the word: host(-d 2)", word);
		if ((rc = split_opts(paren + 1, len - (size_t)(paren - word) - 2, &opts, word,
		    cause)) != 0)
			return rc;
		spec = xstrndup(word, (size_t)(paren - word));
	} else
		spec = xstrdup(word);
	for (size_t i = 0; inherited && i < inherited->n; i++)
		strv_add(&opts, inherited->v[i]);
	rc = add_host(e, spec, &opts, cause);
	free(spec);
	strv_free(&opts);
	return rc;
}

int
remote_targets(const struct conf *conf, char *const *words, size_t nwords,
    struct remote_target **out, size_t *n, char **cause)
{
	struct expand e = { .conf = conf };
	struct strv global = { 0 };
	int rc = 0;

	/* `(opts)` alone: options for every host */
	for (size_t i = 0; i < nwords && rc == 0; i++) {
		size_t len = strlen(words[i]);

		if (words[i][0] == '(') {
			if (words[i][len - 1] != ')')
				rc = fail(cause, EXIT_USAGE, "'%s': no closing ')'", words[i]);
			else
				rc = split_opts(words[i] + 1, len - 2, &global, words[i], cause);
		}
	}
	for (size_t i = 0; i < nwords && rc == 0; i++)
		if (words[i][0] != '(')
			rc = expand_word(&e, words[i], &global, cause);
	strv_free(&global);
	if (rc == 0 && e.n == 0)
		rc = fail(cause, EXIT_USAGE, "no host among the targets");
	if (rc != 0) {
		remote_targets_free(e.v, e.n);
		return rc;
	}
	*out = e.v;
	*n = e.n;
	return 0;
}

/* ---- the fan-out ---- */

struct job {
	const struct conf *conf;
	const struct remote_target *targets;
	struct remote_result *res;
	size_t n, next;
	const char *type, *action;
	pthread_mutex_t lock;
};

/* The remote command line: every word quoted, here and nowhere else. */
char *
remote_command(const struct remote_target *t, const char *type, const char *action)
{
	struct strv w = { 0 };
	char *cmd, *p;
	size_t len = 0;

	strv_add(&w, t->ctys);
	strv_add(&w, "--wire");
	strv_addf(&w, "%d", CTYS_WIRE);
	strv_add(&w, "-t");
	strv_add(&w, type);
	for (size_t i = 0; i < t->opts.n; i++)
		strv_add(&w, t->opts.v[i]);
	strv_add(&w, "-a");
	strv_add(&w, action);
	for (size_t i = 0; i < w.n; i++) {
		char *q = sh_quote(w.v[i]);

		free(w.v[i]);
		w.v[i] = q;
		len += strlen(q) + 1;
	}
	cmd = p = xmalloc(len + 1);
	for (size_t i = 0; i < w.n; i++)
		p += sprintf(p, "%s%s", i ? " " : "", w.v[i]);
	strv_free(&w);
	return cmd;
}

struct remote_session {
	const struct conf *conf;
	const struct remote_target *t;
	struct ssh_conn *c;
};

struct remote_session *
remote_session_open(const struct conf *conf, const struct remote_target *t, int *status,
    char **cause)
{
	struct remote_session *rs;
	struct ssh_target st = { 0 };
	struct ssh_conn *c;
	int timed_out = 0;

	st.name = t->name;
	st.address = t->address;
	st.port = t->port;
	st.user = t->user;
	st.identity = t->identity;
	st.known_hosts = conf->ssh_known_hosts;
	st.ssh_config = conf->ssh_config;
	st.accept_new = conf->ssh_accept_new;
	st.connect_timeout = t->connect_timeout;
	ssh_global_init();
	if ((c = ssh_conn_open(&st, &timed_out, cause)) == NULL) {
		*status = timed_out ? EXIT_TIMEOUT : EXIT_UNREACHABLE;
		return NULL;
	}
	rs = xcalloc(1, sizeof *rs);
	rs->conf = conf;
	rs->t = t;
	rs->c = c;
	return rs;
}

void
remote_session_run(struct remote_session *rs, const char *type, const char *action,
    struct remote_result *r)
{
	const struct remote_target *t = rs->t;
	struct ssh_result sr = { 0 };
	char *cmd = remote_command(t, type, action), *cause = NULL;
	int rc;

	memset(r, 0, sizeof *r);
	log_debug(2, "%s: %s", t->name, cmd);
	rc = ssh_conn_exec(rs->c, cmd, t->command_timeout, &sr, &cause);
	free(cmd);
	if (rc != 0) {
		r->status = rc == -2 ? EXIT_TIMEOUT : EXIT_UNREACHABLE;
		r->cause = cause;
		return;
	}
	r->out = sr.out;
	r->outlen = sr.outlen;
	r->err = sr.err;
	r->errlen = sr.errlen;
	sr.out = sr.err = NULL;
	if (sr.status == 127 && r->outlen == 0)
		r->cause = xasprintf("%s: no program '%s' there (install ctys on it, or name "
		    "its path: remote_ctys, or ctys in the host's section)", t->name, t->ctys);
	else if (sr.status == EXIT_USAGE && r->err != NULL &&
	    strstr(r->err, "unknown option '--wire'") != NULL)
		r->cause = xasprintf("%s: the ctys there ('%s') is older than this one: update "
		    "it", t->name, t->ctys);
	else if (sr.status == -1)
		r->cause = xasprintf("%s: the remote ctys ended without an exit status%s%s",
		    t->name, sr.signal ? ", by signal " : "", sr.signal ? sr.signal : "");
	else {
		r->ok = 1;
		r->status = sr.status;
	}
	if (!r->ok)
		r->status = EXIT_UNREACHABLE;
	ssh_result_free(&sr);
}

int
remote_session_forward(struct remote_session *rs, const char *path, char **cause)
{
	return ssh_conn_forward_unix(rs->c, path, cause);
}

void
remote_session_close(struct remote_session *rs)
{
	if (rs == NULL)
		return;
	ssh_conn_close(rs->c);
	free(rs);
}

static void
run_one(struct job *j, size_t i)
{
	struct remote_result *r = &j->res[i];
	struct remote_session *rs;

	if ((rs = remote_session_open(j->conf, &j->targets[i], &r->status, &r->cause)) == NULL)
		return;
	remote_session_run(rs, j->type, j->action, r);
	remote_session_close(rs);
}

static void *
worker(void *arg)
{
	struct job *j = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&j->lock);
		i = j->next++;
		pthread_mutex_unlock(&j->lock);
		if (i >= j->n)
			return NULL;
		run_one(j, i);
	}
}

void
remote_exec(const struct conf *conf, const struct remote_target *targets, size_t n, const char *type,
    const char *action, struct remote_result *res)
{
	struct job j = { conf, targets, res, n, 0, type, action, PTHREAD_MUTEX_INITIALIZER };
	size_t nthreads = (size_t)(conf->ssh_parallel > 0 ? conf->ssh_parallel : 1), started = 0;
	pthread_t *th;

	memset(res, 0, n * sizeof *res);
	ssh_global_init();	/* before the threads */
	if (nthreads > n)
		nthreads = n;
	th = xcalloc(nthreads, sizeof *th);
	for (size_t i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, &j) == 0)
			started++;
		else
			break;
	if (started == 0)
		worker(&j);	/* no thread to be had: one after the other, here */
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	pthread_mutex_destroy(&j.lock);
}

void
remote_results_free(struct remote_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].out);
		free(r[i].err);
		free(r[i].cause);
	}
	free(r);
}

/* ---- merging ---- */

int
remote_rows(const struct pr_schema *sc, const struct remote_target *t, const char *json,
    struct pr_rows *rows, char **cause)
{
	json_object *a = json_tokener_parse(json);
	const char **vals;
	size_t n, host = sc->nfields;

	if (a == NULL || !json_object_is_type(a, json_type_array)) {
		json_object_put(a);
		return fail(cause, -1, "%s: the remote ctys did not answer with a JSON listing",
		    t->name);
	}
	for (size_t i = 0; i < sc->nfields; i++)
		if (strcmp(sc->fields[i].name, "host") == 0)
			host = i;
	n = json_object_array_length(a);
	vals = xcalloc(sc->nfields, sizeof *vals);
	for (size_t r = 0; r < n; r++) {
		json_object *o = json_object_array_get_idx(a, r), *v;

		if (!json_object_is_type(o, json_type_object))
			continue;
		for (size_t i = 0; i < sc->nfields; i++) {
			vals[i] = NULL;
			if (json_object_object_get_ex(o, sc->fields[i].name, &v) && v != NULL &&
			    !json_object_is_type(v, json_type_null))
				vals[i] = json_object_get_string(v);
		}
		if (host < sc->nfields && (vals[host] == NULL || *vals[host] == '\0'))
			vals[host] = t->name;
		pr_rows_add(rows, vals);
	}
	free(vals);
	json_object_put(a);
	return 0;
}

/* Writes text with every line prefixed by "name: " (when prefix is not NULL). */
void
remote_put_lines(FILE *f, const char *prefix, const char *s, size_t len)
{
	size_t i = 0;

	if (prefix == NULL) {
		fwrite(s, 1, len, f);
		return;
	}
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) : len;

		fprintf(f, "%s: %.*s\n", prefix, (int)(end - i), s + i);
		i = end + 1;
	}
}

/*
 * The action as the remote side gets it: for a listing, the suboptions that are not the
 * printer's (those are applied here, to the merged rows) and JSON.
 */
static int
not_used(const struct subopt *o, const void *arg)
{
	(void)arg;
	return !o->used;
}

static char *
wire_action(const struct ctx *ctx, const struct subopt_list *so, int listing)
{
	struct cli *cli = ctx->cli;
	char *rest, *s;

	if (!listing)
		return cli->subopts_raw ? xasprintf("%s=%s", cli->action, cli->subopts_raw) :
		    xstrdup(cli->action);
	rest = subopt_join_raw(so, not_used, NULL);
	s = xasprintf("%s=%s%sJSON", cli->action, rest, *rest ? "," : "");
	free(rest);
	return s;
}

int
remote_run(struct ctx *ctx, const struct action_def *a, const struct plugin_action *pa)
{
	struct remote_target *t = NULL;
	struct remote_result *res;
	struct pr_opts po;
	struct pr_rows rows = { 0 };
	char *cause = NULL, *action;
	size_t n = 0, answered = 0, failed = 0;
	int rc, listing = pa->schema != NULL, same = 1, any_ok = 0;

	if (!(a->flags & ACT_REMOTE_OK)) {
		log_err("%s cannot run on other hosts", a->name);
		return EXIT_USAGE;
	}
	if ((rc = remote_targets(ctx->conf, ctx->cli->hosts, ctx->cli->nhosts, &t, &n,
	    &cause)) != 0) {
		log_err("%s", cause);
		free(cause);
		return rc;
	}
	if (pa->remote != NULL && (rc = pa->remote(ctx, &ctx->cli->subopts, t, n)) != -1) {
		remote_targets_free(t, n);
		return rc;
	}
	if (listing) {
		if ((rc = pr_opts_parse(pa->schema, &ctx->cli->subopts, &po, &cause)) != 0) {
			log_err("%s", cause);
			free(cause);
			remote_targets_free(t, n);
			return rc;
		}
		rows.nfields = pa->schema->nfields;
	}
	action = wire_action(ctx, &ctx->cli->subopts, listing);
	log_debug(1, "on %zu host(s): -t %s -a %s", n, ctx->cli->type, action);
	res = xcalloc(n, sizeof *res);
	remote_exec(ctx->conf, t, n, ctx->cli->type, action, res);
	free(action);
	for (size_t i = 0; i < n; i++) {
		struct remote_result *r = &res[i];

		if (r->err != NULL && r->errlen > 0)
			remote_put_lines(stderr, t[i].name, r->err, r->errlen);
		if (r->ok && listing && r->status == EXIT_OK &&
		    remote_rows(pa->schema, &t[i], r->out, &rows, &r->cause) != 0) {
			r->ok = 0;
			r->status = EXIT_UNREACHABLE;
		}
		if (!r->ok) {
			log_err("%s", r->cause);
			failed++;
			continue;
		}
		answered++;
		if (!listing && r->outlen > 0)
			remote_put_lines(stdout, n > 1 ? t[i].name : NULL, r->out, r->outlen);
		if (r->status == EXIT_OK)
			any_ok = 1;
	}
	if (listing) {
		pr_print(stdout, pa->schema, &po, &rows);
		pr_rows_free(&rows);
		pr_opts_free(&po);
	}
	fflush(stdout);
	/* the exit status: see ctys(1), EXIT STATUS */
	if (failed > 0)
		rc = answered > 0 ? EXIT_PARTIAL : n == 1 ? res[0].status : EXIT_UNREACHABLE;
	else {
		rc = res[0].status;
		for (size_t i = 1; i < n; i++)
			if (res[i].status != rc)
				same = 0;
		if (!same)
			rc = strcmp(a->name, "ISACTIVE") == 0 ? (any_ok ? EXIT_OK : EXIT_FAIL) :
			    EXIT_PARTIAL;
	}
	remote_results_free(res, n);
	remote_targets_free(t, n);
	return rc;
}
