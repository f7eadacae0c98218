#include "vm.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "exitcodes.h"
#include "fdb.h"
#include "foreign.h"
#include "locate.h"
#include "supervisor.h"
#include "util.h"

int
vm_addr_parse(struct subopt_list *l, struct vm_addr *a, int allow_all, char **cause)
{
	memset(a, 0, sizeof *a);
	for (size_t i = 0; i < l->n; i++) {
		struct subopt *o = &l->v[i];
		char **dst = NULL;

		if (subopt_key_is(o->key, ADDR_KEYS_PATH))
			dst = &a->path;
		else if (subopt_key_is(o->key, ADDR_KEYS_LABEL))
			dst = &a->label;
		else if (subopt_key_is(o->key, ADDR_KEYS_UUID))
			dst = &a->uuid;
		else if (subopt_key_is(o->key, ADDR_KEYS_FNAME))
			dst = &a->fname;
		else if (subopt_key_is(o->key, ADDR_KEYS_MAC))
			dst = &a->mac;
		else if (subopt_key_is(o->key, ADDR_KEYS_TCP))
			dst = &a->tcp;
		else if (subopt_key_is(o->key, ADDR_KEYS_PID))
			dst = &a->pid;
		else if (subopt_key_is(o->key, ADDR_KEYS_DR))
			dst = &a->dbrecord;
		else if (subopt_key_is(o->key, ADDR_KEYS_BASE)) {
			o->used = 1;
			if (o->arg == NULL || *o->arg == '\0')
				return fail(cause, EXIT_USAGE, "B: needs base paths ('B:/vm%%/mnt/vm')");
			for (size_t k = 0; k < o->nvals; k++)
				if (*o->vals[k] != '\0')
					strv_add(&a->bases, o->vals[k]);
			continue;
		} else if (strcmp(o->key, "ALL") == 0 && o->arg == NULL && allow_all) {
			a->all = 1;
			o->used = 1;
			continue;
		} else
			continue;
		o->used = 1;
		if (o->arg == NULL || *o->arg == '\0')
			return fail(cause, EXIT_USAGE, "machine-address '%s' needs a value ('%s:...')",
			    o->key, o->key);
		if (*dst != NULL)
			return fail(cause, EXIT_USAGE, "machine-address '%s' given twice", o->key);
		*dst = xstrdup(o->arg);
		if (a->text == NULL)
			a->text = xasprintf("%s:%s", o->key, o->arg);
	}
	if (a->label != NULL && a->label[0] == '-')
		return fail(cause, EXIT_USAGE, "label must not start with '-': '%s'", a->label);
	if (a->path != NULL && a->path[0] != '/')
		return fail(cause, EXIT_USAGE, "P: needs an absolute path: '%s'", a->path);
	if (a->dbrecord != NULL && (!str_is_uint(a->dbrecord) || atol(a->dbrecord) <= 0))
		return fail(cause, EXIT_USAGE, "DR: not a record number: '%s'", a->dbrecord);
	if (a->pid != NULL && (!str_is_uint(a->pid) || atoi(a->pid) <= 0))
		return fail(cause, EXIT_USAGE, "PID: not a process id: '%s'", a->pid);
	if (a->mac != NULL && strlen(a->mac) != 17)
		return fail(cause, EXIT_USAGE, "M: not a MAC address: '%s'", a->mac);
	if (!a->all && a->label == NULL && a->uuid == NULL && a->path == NULL &&
	    a->fname == NULL && a->mac == NULL && a->tcp == NULL && a->pid == NULL &&
	    a->dbrecord == NULL)
		return fail(cause, EXIT_USAGE, "no machine-address given (P:<path>, L:<label>, "
		    "U:<uuid>, F:<part of path>, M:<mac>, T:<ip>, PID:<pid>%s)",
		    allow_all ? " or ALL" : "");
	if (a->all && (a->label || a->uuid || a->path || a->fname || a->mac || a->tcp || a->pid))
		return fail(cause, EXIT_USAGE, "ALL cannot be combined with a machine-address");
	if (a->all)
		a->text = xstrdup("ALL");
	return 0;
}

void
vm_addr_free(struct vm_addr *a)
{
	free(a->label);
	free(a->uuid);
	free(a->path);
	free(a->fname);
	free(a->mac);
	free(a->tcp);
	free(a->pid);
	free(a->dbrecord);
	free(a->dbpath);
	strv_free(&a->bases);
	free(a->text);
	memset(a, 0, sizeof *a);
}

static int
same_file(const char *a, const char *b)
{
	char *ra, *rb;
	int same;

	if (strcmp(a, b) == 0)
		return 1;
	ra = realpath(a, NULL);
	rb = realpath(b, NULL);
	same = ra && rb && strcmp(ra, rb) == 0;
	free(ra);
	free(rb);
	return same;
}

static void
query_from(const struct vm_addr *a, struct vmdef_query *q)
{
	memset(q, 0, sizeof *q);
	q->label = a->label;
	q->uuid = a->uuid;
	q->path = a->path;
	q->fname = a->fname;
	q->mac = a->mac;
	q->tcp = a->tcp;
}

static int
matches(const struct vm_addr *a, const struct vmrun *r)
{
	if (a->all)
		return 1;
	if (a->pid && atoi(a->pid) != (int)r->qemu_pid)
		return 0;
	/* DR: the definition of that inventory record (vm_running looked it up) */
	if (a->dbrecord && (a->dbpath == NULL || r->def == NULL || !same_file(a->dbpath, r->def)))
		return 0;
	if (a->label && strcmp(a->label, r->label) != 0)
		return 0;
	if (a->uuid && (r->uuid == NULL || strcasecmp(a->uuid, r->uuid) != 0))
		return 0;
	if (a->path && (r->def == NULL || !same_file(a->path, r->def)))
		return 0;
	if (a->fname && (r->def == NULL || strstr(r->def, a->fname) == NULL))
		return 0;
	if (a->mac || a->tcp) {
		/* only the definition knows: read it (it may have changed since; it is data) */
		struct vmdef_query q = { .mac = a->mac, .tcp = a->tcp };
		struct vmdef *d = r->def ? vmdef_load(r->def, NULL) : NULL;
		int ok = d != NULL && vmdef_matches(d, &q);

		vmdef_free(d);
		return ok;
	}
	return 1;
}

/* A directory with no live owner and no live QEMU is a ghost: say so and remove it. */
static int
is_ghost(struct vmrun *r)
{
	int fd = rundir_trylock(r->dir);

	if (fd == -1)
		return 0;		/* owner alive */
	if (vmrun_qemu_alive(r)) {
		if (fd >= 0)
			close(fd);
		return 0;		/* unsupervised: re-adopted on contact */
	}
	log_warn("'%s': QEMU (pid %d) and its supervisor are gone; removing the stale runtime "
	    "directory '%s'", r->label, (int)r->qemu_pid, r->dir);
	rmdir_flat(r->dir);
	if (fd >= 0)
		close(fd);
	return 1;
}

static int adopt(struct ctx *, struct vmrun *, int lockfd, char **cause);

/*
 * Takes over a QEMU ctys did not start: a runtime directory whose qmp.sock is a link to
 * the QEMU's own QMP socket, and a supervisor that adopts it. Returns 1 when one was
 * adopted, 0 when none matches, -1 when the match cannot be adopted (said why).
 */
static int
adopt_foreign(struct ctx *ctx, const struct vm_addr *a)
{
	struct foreign *fv;
	size_t nf = foreign_scan(NULL, 0, &fv);
	struct foreign *f = NULL;
	char *cause = NULL, *dir = NULL, *id, *pseudo, *p, *buf;
	size_t len;
	int rc = 0, lockfd;

	for (size_t i = 0; i < nf; i++) {
		if ((a->pid && atoi(a->pid) != (int)fv[i].pid) ||
		    (a->label && (fv[i].label == NULL || strcmp(a->label, fv[i].label) != 0)) ||
		    (a->uuid && (fv[i].uuid == NULL || strcasecmp(a->uuid, fv[i].uuid) != 0)) ||
		    a->path || a->fname || a->mac || a->tcp)
			continue;
		if (f != NULL) {
			log_err("'%s' matches several QEMUs ctys did not start (pids %d, %d): name "
			    "one with PID:", a->text, (int)f->pid, (int)fv[i].pid);
			foreign_list_free(fv, nf);
			return -1;
		}
		f = &fv[i];
	}
	if (f == NULL) {
		foreign_list_free(fv, nf);
		return 0;
	}
	if (f->libvirt) {
		log_err("'%s' (pid %d) is managed by libvirt; ctys leaves it alone", a->text,
		    (int)f->pid);
		rc = -1;
	} else if (f->qmp == NULL) {
		log_err("'%s' (pid %d) serves no QMP on a UNIX socket (-qmp unix:...,server=on); "
		    "ctys cannot control it", a->text, (int)f->pid);
		rc = -1;
	}
	if (rc != 0) {
		foreign_list_free(fv, nf);
		return rc;
	}
	pseudo = xasprintf("foreign:%d:%llu", (int)f->pid, proc_starttime(f->pid));
	id = rundir_id(f->uuid, pseudo);
	if (rundir_claim(ctx->paths->run, id, f->label ? f->label : pseudo, f->uuid, "", &lockfd,
	    &dir, &cause) != 0) {
		log_err("%s", cause);
		rc = -1;
		goto out;
	}
	p = rundir_file(dir, "qmp.sock");
	if (symlink(f->qmp, p) == -1 || rundir_write_pid(dir, f->pid) == -1) {
		log_err("cannot prepare '%s': %s", dir, strerror(errno));
		free(p);
		rmdir_flat(dir);
		close(lockfd);
		rc = -1;
		goto out;
	}
	free(p);
	/* its command line, for INFO */
	p = xasprintf("/proc/%d/cmdline", (int)f->pid);
	if ((buf = file_read(p, 1 << 20, &len)) != NULL) {
		char *q = rundir_file(dir, "argv");

		file_write(q, buf, len, 0600);
		free(q);
	}
	free(buf);
	free(p);
	p = rundir_file(dir, "accel");
	file_write(p, f->accel, strlen(f->accel), 0600);
	free(p);
	{
		struct vmrun r;

		if (rundir_read(ctx->paths->run, id, &r) == 0) {
			log_warn("adopting QEMU pid %d ('%s'), which ctys did not start", (int)f->pid,
			    r.label);
			rc = adopt(ctx, &r, lockfd, &cause) == 0 ? 1 : -1;
			if (rc == -1) {
				log_err("%s", cause);
				rmdir_flat(dir);
			}
			vmrun_clear(&r);
		} else
			rc = -1;
	}
	close(lockfd);
out:
	free(cause);
	free(dir);
	free(id);
	free(pseudo);
	foreign_list_free(fv, nf);
	return rc;
}

/* The definition path of inventory record n (1-based), or NULL. */
static char *
db_record_path(struct ctx *ctx, long n)
{
	char *db = xasprintf("%s/enum.fdb", ctx->paths->db), *line = NULL, *path = NULL;
	FILE *f = fopen(db, "re");
	size_t cap = 0;
	ssize_t len;
	long i = 0;

	while (f != NULL && path == NULL && (len = getline(&line, &cap, f)) != -1) {
		struct fdb_record r;

		if (len == 0 || line[0] == '\n' || line[0] == '#' ||
		    fdb_parse_line(line, (size_t)len, &r, NULL) != 0)
			continue;
		if (++i == n && r.f[FDB_ID] != NULL)
			path = xstrdup(r.f[FDB_ID]);
		fdb_record_clear(&r);
	}
	if (f != NULL)
		fclose(f);
	free(line);
	free(db);
	return path;
}

int
vm_running(struct ctx *ctx, const struct vm_addr *a, struct vmrun **out, size_t *n)
{
	struct vmrun *all;
	size_t nall, k = 0;

	if (a->dbrecord != NULL && a->dbpath == NULL)
		((struct vm_addr *)a)->dbpath = db_record_path(ctx, atol(a->dbrecord));

	*out = NULL;
	*n = 0;
	if (rundir_list(ctx->paths->run, &all, &nall) == -1)
		return -1;
	for (size_t i = 0; i < nall; i++) {
		if (matches(a, &all[i]) && !is_ghost(&all[i])) {
			all[k++] = all[i];
			continue;
		}
		vmrun_clear(&all[i]);
	}
	if (k == 0) {
		free(all);
		if (!a->all && (a->label || a->uuid || a->pid) && adopt_foreign(ctx, a) == 1)
			return vm_running(ctx, a, out, n);
		return 0;
	}
	*out = all;
	*n = k;
	return 0;
}

static int
adopt(struct ctx *ctx, struct vmrun *r, int lockfd, char **cause)
{
	struct sup_config cfg = { 0 };
	char *accelp = rundir_file(r->dir, "accel"), *accel = file_read_line(accelp);
	char *polp = rundir_file(r->dir, "policy"), *pol = file_read(polp, 4096, NULL);
	pid_t pid;
	int rc;

	log_debug(1, "'%s': QEMU pid %d has no supervisor; adopting it", r->label,
	    (int)r->qemu_pid);
	cfg.dir = r->dir;
	cfg.deflockfd = -1;	/* QEMU holds the definition's lock already */
	cfg.id = r->id;
	cfg.label = r->label;
	cfg.uuid = r->uuid;
	cfg.def = r->def;
	cfg.accel = accel;
	cfg.state_dir = ctx->paths->state;
	cfg.lockfd = lockfd;
	cfg.create_timeout = 10;
	cfg.adopt_pid = r->qemu_pid;
	policy_read(pol, &cfg.policy);
	rc = supervisor_start(&cfg, &pid, cause);
	free(accelp);
	free(accel);
	free(polp);
	free(pol);
	return rc;
}

int
vm_connect(struct ctx *ctx, struct vmrun *r, struct ctl_client *c, char **cause)
{
	char *sock = rundir_file(r->dir, "ctl.sock");
	int lockfd, rc, tries;

	for (tries = 0; tries < 50; tries++) {
		if (ctl_open(c, sock, 5000, cause) == 0) {
			free(sock);
			return 0;
		}
		if (errno == ETIMEDOUT) {
			free(sock);
			return fail(cause, EXIT_TIMEOUT, "the supervisor of '%s' does not answer",
			    r->label);
		}
		lockfd = rundir_trylock(r->dir);
		if (lockfd == -1) {
			/* an owner lives but does not listen yet (starting up): wait a little */
			usleep(100 * 1000);
			continue;
		}
		if (lockfd == -2 && access(r->dir, F_OK) == -1) {
			free(sock);
			return fail(cause, EXIT_STATE, "'%s' is not running", r->label);
		}
		if (!vmrun_qemu_alive(r)) {
			if (lockfd >= 0) {
				log_warn("'%s': QEMU (pid %d) and its supervisor are gone; removing "
				    "the stale runtime directory '%s'", r->label, (int)r->qemu_pid,
				    r->dir);
				rmdir_flat(r->dir);
				close(lockfd);
			}
			free(sock);
			return fail(cause, EXIT_STATE, "'%s' is not running", r->label);
		}
		rc = adopt(ctx, r, lockfd, cause);
		if (lockfd >= 0)
			close(lockfd);
		if (rc != 0) {
			free(sock);
			return rc;
		}
	}
	free(sock);
	return fail(cause, EXIT_TIMEOUT, "cannot reach the supervisor of '%s'", r->label);
}

struct resolve {
	const struct vm_addr *a;
	struct vmdef_query q;
	struct strv found;	/* "path\tlabel" */
	struct strv warnings;
};

static int
resolve_one(struct vmdef *d, void *arg)
{
	struct resolve *r = arg;

	if (vmdef_matches(d, &r->q)) {
		char *label = vmdef_label(d);

		strv_addf(&r->found, "%s\t%s", d->path, label);
		free(label);
	}
	vmdef_free(d);
	return r->found.n > 20;		/* enough to say it is ambiguous */
}

static void
resolve_warn(const char *msg, void *arg)
{
	struct resolve *r = arg;

	strv_add(&r->warnings, msg);
}

/* "definition" of every JSON file dir/<x>/meta.json or dir/<x>.json (sub: "meta.json"). */
static void
definitions_in(const char *dir, const char *sub, struct strv *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *p, *t;
		json_object *o, *v;

		if (de->d_name[0] == '.')
			continue;
		p = sub ? xasprintf("%s/%s/%s", dir, de->d_name, sub) :
		    xasprintf("%s/%s", dir, de->d_name);
		if ((t = file_read(p, 4 << 20, NULL)) != NULL && (o = json_tokener_parse(t)) != NULL) {
			if (json_object_object_get_ex(o, "definition", &v) &&
			    json_object_is_type(v, json_type_string) && *json_object_get_string(v) == '/') {
				const char *def = json_object_get_string(v);
				size_t i;

				for (i = 0; i < out->n && strcmp(out->v[i], def) != 0; i++)
					;
				if (i == out->n)
					strv_add(out, def);
			}
			json_object_put(o);
		}
		free(t);
		free(p);
	}
	closedir(d);
}

struct dbmatch {
	const struct vm_addr *a;
	struct resolve *r;
	long index;		/* record number, for DR: */
	char host[256];
};

/* An inventory record that names this address: its definition (on this host) counts. */
static int
db_one(struct fdb_record *rec, void *arg)
{
	struct dbmatch *m = arg;
	const struct vm_addr *a = m->a;
	char **f = rec->f;
	int ok = 1;

	m->index++;
	if (a->dbrecord != NULL)
		ok = atol(a->dbrecord) == m->index;
	if (a->label && (f[FDB_LABEL] == NULL || strcmp(a->label, f[FDB_LABEL]) != 0))
		ok = 0;
	if (a->uuid && (f[FDB_UUID] == NULL || strcasecmp(a->uuid, f[FDB_UUID]) != 0))
		ok = 0;
	if (a->mac && (f[FDB_MAC] == NULL || strcasecmp(a->mac, f[FDB_MAC]) != 0))
		ok = 0;
	if (a->tcp && (f[FDB_TCP] == NULL || strcmp(a->tcp, f[FDB_TCP]) != 0))
		ok = 0;
	if (a->fname && (f[FDB_ID] == NULL || strstr(f[FDB_ID], a->fname) == NULL))
		ok = 0;
	if (ok && f[FDB_ID] != NULL && access(f[FDB_ID], R_OK) == 0 &&
	    (f[FDB_HOST] == NULL || strcmp(f[FDB_HOST], m->host) == 0 || a->dbrecord)) {
		size_t i;

		for (i = 0; i < m->r->found.n; i++)
			if (strncmp(m->r->found.v[i], f[FDB_ID], strlen(f[FDB_ID])) == 0 &&
			    m->r->found.v[i][strlen(f[FDB_ID])] == '\t')
				break;
		if (i == m->r->found.n)
			strv_addf(&m->r->found, "%s\t%s", f[FDB_ID], f[FDB_LABEL] ? f[FDB_LABEL] : "");
	}
	fdb_record_clear(rec);
	free(rec);
	return 0;
}

static void
db_warn(const char *msg, void *arg)
{
	(void)arg;
	log_debug(1, "%s", msg);
}

int
vm_resolve_definition(struct ctx *ctx, const struct vm_addr *a, char **def, char **cause)
{
	struct resolve r = { .a = a };
	struct vmrun *vms = NULL;
	const struct strv *bases;
	size_t n = 0;
	int rc;

	*def = NULL;
	query_from(a, &r.q);
	if (a->path != NULL) {
		struct vmdef *d;
		char *p = vmdef_locate(a->path);

		if (p == NULL)
			return fail(cause, EXIT_NOTFOUND, "no such VM definition: '%s'", a->path);
		r.q.path = NULL;	/* the located file stands for the path */
		if ((d = vmdef_load(p, cause)) == NULL) {
			free(p);
			return EXIT_FAIL;
		}
		rc = vmdef_matches(d, &r.q);
		vmdef_free(d);
		if (!rc) {
			rc = fail(cause, EXIT_NOTFOUND, "'%s' does not match '%s'", p, a->text);
			free(p);
			return rc;
		}
		*def = p;
		return 0;
	}
	/* a running VM knows its definition */
	vm_running(ctx, a, &vms, &n);
	if (n == 1 && vms[0].def != NULL) {
		*def = xstrdup(vms[0].def);
		vmrun_list_free(vms, n);
		return 0;
	}
	vmrun_list_free(vms, n);

	/* the inventory (ctys-vdbgen) */
	if (a->bases.n == 0) {
		struct dbmatch m = { .a = a, .r = &r };
		char *db = xasprintf("%s/enum.fdb", ctx->paths->db);

		if (gethostname(m.host, sizeof m.host) != 0)
			strlcpy_chk(m.host, "localhost", sizeof m.host);
		m.host[strcspn(m.host, ".")] = '\0';
		if (fdb_read(db, db_one, &m, db_warn, NULL) == -1 && a->dbrecord != NULL) {
			rc = fail(cause, EXIT_NOTFOUND, "DR: no inventory at '%s' (ctys-vdbgen makes "
			    "it)", db);
			free(db);
			return rc;
		}
		free(db);
		if (a->dbrecord != NULL && r.found.n == 0)
			return fail(cause, EXIT_NOTFOUND, "DR:%s: no such record of this host in the "
			    "inventory", a->dbrecord);
	}
	/* VMs ctys has run (suspended, or with an exit record) know their definitions too */
	if (a->bases.n == 0 && r.found.n == 0) {
		struct strv known = { 0 };
		char *exits = xasprintf("%s/exits", ctx->paths->state);

		definitions_in(ctx->paths->save, "meta.json", &known);
		definitions_in(exits, NULL, &known);
		free(exits);
		for (size_t i = 0; i < known.n; i++) {
			char *why = NULL;
			struct vmdef *d = vmdef_load(known.v[i], &why);

			free(why);
			if (d != NULL && d->magic_qemu && !d->magic_ignore)
				resolve_one(d, &r);
			else
				vmdef_free(d);
		}
		strv_free(&known);
	}
	bases = a->bases.n > 0 ? &a->bases : &ctx->conf->base_paths;
	if (r.found.n == 0)
		vmdef_scan((const char *const *)bases->v, bases->n, resolve_one, &r, resolve_warn);
	for (size_t i = 0; i < r.warnings.n; i++)
		log_debug(1, "%s", r.warnings.v[i]);
	if (r.found.n == 0) {
		char *list = xstrdup("");

		for (size_t i = 0; i < bases->n; i++) {
			char *t = xasprintf("%s%s%s", list, i ? ", " : "", bases->v[i]);

			free(list);
			list = t;
		}
		rc = fail(cause, EXIT_NOTFOUND, "no VM definition matches '%s' under %s", a->text,
		    list);
		free(list);
	} else if (r.found.n > 1) {
		char *list = xstrdup("");

		for (size_t i = 0; i < r.found.n; i++) {
			char *tab = strchr(r.found.v[i], '\t'), *t;

			*tab = '\0';
			t = xasprintf("%s\n  %-16s %s", list, tab + 1, r.found.v[i]);
			free(list);
			list = t;
		}
		rc = fail(cause, EXIT_AMBIGUOUS, "'%s' matches %s%zu VM definitions:%s", a->text,
		    r.found.n > 20 ? "more than " : "", r.found.n > 20 ? (size_t)20 : r.found.n,
		    list);
		free(list);
	} else {
		*strchr(r.found.v[0], '\t') = '\0';
		*def = xstrdup(r.found.v[0]);
		rc = 0;
	}
	strv_free(&r.found);
	strv_free(&r.warnings);
	return rc;
}
