/*
 * LIST: every VM on this host, from files alone (no supervisor is asked, so a hung one
 * costs nothing): the runtime directories and the status.json each supervisor keeps
 * current; with INACTIVE also suspended VMs (their saved state) and stopped ones (their
 * exit records); and every QEMU process ctys does not manage, from /proc (foreign, or
 * libvirt's, shown read-only). Printed by the shared printer (src/printer.h).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "exitcodes.h"
#include "foreign.h"
#include "printer.h"
#include "qemu.h"
#include "rundir.h"
#include "saved.h"
#include "vm.h"

enum {
	F_HOST, F_TYPE, F_LABEL, F_ID, F_UUID, F_MAC, F_TCP, F_DISPLAY, F_CPORT, F_SPORT,
	F_PID, F_UID, F_GID, F_CSTYPE, F_JOBID, F_IFNAME, F_RESERVED, F_CONTEXT, F_EXEPATH,
	F_HRX, F_ACCEL, F_ARCH,
	/* beyond the original's 22 */
	F_STATE, F_UPTIME, F_MANAGED, F_SPID, F_PORTS, F_CONSOLE, F_LAST, F_RID, F_IPFROM,
	F_GUEST, F_CHANNELS,
	NF
};

static const struct pr_field fields[NF] = {
	[F_HOST] = { "host", "Host", "PM|HOST", 0, 0 },
	[F_TYPE] = { "type", "Type", "TYPE", 0, 0 },
	[F_LABEL] = { "label", "Label", "LABEL", 0, 0 },
	[F_ID] = { "id", "Definition", "ID|PNAME", 0, 0 },
	[F_UUID] = { "uuid", "UUID", "UUID", 36, 0 },
	[F_MAC] = { "mac", "MAC", "MAC", 17, 0 },
	[F_TCP] = { "tcp", "TCP", "TCP", 0, 0 },
	[F_DISPLAY] = { "display", "Display", "DISPLAY", 0, 0 },
	[F_CPORT] = { "cport", "CPort", "CPORT", 0, 1 },
	[F_SPORT] = { "sport", "SPort", "SPORT", 0, 1 },
	[F_PID] = { "pid", "PID", "PID", 0, 1 },
	[F_UID] = { "uid", "User", "UID", 0, 0 },
	[F_GID] = { "gid", "Group", "GID", 0, 0 },
	[F_CSTYPE] = { "cstype", "C/S", NULL, 0, 0 },
	[F_JOBID] = { "jobid", "Job", "JOBID", 0, 0 },
	[F_IFNAME] = { "ifname", "IF", "IFNAME", 0, 0 },
	[F_RESERVED] = { "reserved", "Reserved", NULL, 0, 0 },
	[F_CONTEXT] = { "context", "Context", "CSTRG", 0, 0 },
	[F_EXEPATH] = { "exepath", "Exepath", "EXEPATH", 0, 0 },
	[F_HRX] = { "hyperrel", "Hyperrel", "HRX", 0, 0 },
	[F_ACCEL] = { "accel", "Accel", "ACCELERATOR", 0, 0 },
	[F_ARCH] = { "arch", "Arch", "ARCH", 0, 0 },
	[F_STATE] = { "state", "State", "STATE", 0, 0 },
	[F_UPTIME] = { "uptime", "Uptime", "UPTIME", 0, 1 },
	[F_MANAGED] = { "managed", "By", "MANAGED", 0, 0 },
	[F_SPID] = { "supervisor_pid", "SPID", "SPID", 0, 1 },
	[F_PORTS] = { "ports", "Ports", "PORTS", 0, 0 },
	[F_CONSOLE] = { "console", "Console", "CONSOLE", 0, 0 },
	[F_LAST] = { "last_exit", "Last exit", "LAST", 0, 0 },
	[F_RID] = { "rid", "RID", "RID", 16, 0 },
	[F_IPFROM] = { "ip_from", "IP from", "IPFROM", 0, 0 },
	[F_GUEST] = { "guest", "Guest", "GUEST", 0, 0 },
	[F_CHANNELS] = { "channels", "Channels", "CHANNELS", 0, 0 },
};

static const int table_cols[] = { F_LABEL, F_STATE, F_MANAGED, F_ACCEL, F_PID, F_UPTIME,
    F_TCP, F_PORTS, F_ID, -1 };
static const int machine_cols[] = { F_HOST, F_TYPE, F_LABEL, F_ID, F_UUID, F_MAC, F_TCP,
    F_DISPLAY, F_CPORT, F_SPORT, F_PID, F_UID, F_GID, F_CSTYPE, F_JOBID, F_IFNAME,
    F_RESERVED, F_CONTEXT, F_EXEPATH, F_HRX, F_ACCEL, F_ARCH, -1 };

const struct pr_schema qemu_list_schema = { fields, NF, table_cols, machine_cols };

struct lister {
	struct ctx *ctx;
	struct strv orphans;	/* runtime dirs whose QEMU lives without a supervisor */
	struct pr_rows rows;
	char host[256];
	double now;
	pid_t *mine;		/* QEMU pids ctys manages (not foreign) */
	size_t nmine;
	struct strv seen;	/* ids listed (running or suspended) */
};

static void
set(char **v, int f, const char *s)
{
	free(v[f]);
	v[f] = s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

static void
setf(char **v, int f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
setf(char **v, int f, const char *fmt, ...)
{
	va_list ap;

	free(v[f]);
	va_start(ap, fmt);
	v[f] = xvasprintf(fmt, ap);
	va_end(ap);
}

static void
add_row(struct lister *l, char **v)
{
	pr_rows_add(&l->rows, (const char *const *)v);
	for (int i = 0; i < NF; i++) {
		free(v[i]);
		v[i] = NULL;
	}
}

/* "QEMU-x86_64" from ".../qemu-system-x86_64" (the original's session type). */
static void
type_arch(char **v, const char *exe)
{
	const char *b = exe ? strrchr(exe, '/') : NULL, *a;

	b = b ? b + 1 : exe;
	if (b != NULL && (a = strstr(b, "qemu-system-")) != NULL) {
		setf(v, F_TYPE, "QEMU-%s", a + 12);
		set(v, F_ARCH, a + 12);
	} else
		set(v, F_TYPE, "QEMU");
}

static void
owner(char **v, const char *path)
{
	static uid_t last_uid = (uid_t)-1;
	static gid_t last_gid = (gid_t)-1;
	static char uname[64], gname[64];
	struct stat st;
	struct passwd *pw;
	struct group *gr;

	if (stat(path, &st) == -1)
		return;
	/* one user owns most VMs: ask NSS once */
	if (st.st_uid != last_uid) {
		last_uid = st.st_uid;
		if ((pw = getpwuid(st.st_uid)) != NULL)
			snprintf(uname, sizeof uname, "%s", pw->pw_name);
		else
			snprintf(uname, sizeof uname, "%u", (unsigned)st.st_uid);
	}
	if (st.st_gid != last_gid) {
		last_gid = st.st_gid;
		if ((gr = getgrgid(st.st_gid)) != NULL)
			snprintf(gname, sizeof gname, "%s", gr->gr_name);
		else
			snprintf(gname, sizeof gname, "%u", (unsigned)st.st_gid);
	}
	set(v, F_UID, uname);
	set(v, F_GID, gname);
}

/* MACs and the binary from a NUL-separated argv. */
static void
from_argv(char **v, const char *buf, size_t len)
{
	char *exe, *macs;

	rundir_argv_facts(buf, len, &exe, &macs);
	set(v, F_EXEPATH, exe);
	type_arch(v, exe);
	set(v, F_MAC, macs);
	free(exe);
	free(macs);
}

static char *
read_trim(const char *dir, const char *name)
{
	char *p = rundir_file(dir, name), *t = file_read(p, 65536, NULL);
	size_t n;

	free(p);
	if (t == NULL)
		return NULL;
	n = strlen(t);
	while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == ' '))
		t[--n] = '\0';
	for (char *c = t; *c; c++)
		if (*c == '\n')
			*c = ',';
	return t;
}

static void
managed_row(struct lister *l, struct vmrun *r)
{
	char *v[NF] = { 0 }, *p, *t, *buf;
	json_object *st = NULL, *x;
	size_t len;
	int lockfd;

	set(v, F_HOST, l->host);
	set(v, F_LABEL, r->label);
	set(v, F_ID, r->def);
	set(v, F_UUID, r->uuid);
	set(v, F_RID, r->id);
	set(v, F_CSTYPE, "SERVER");
	set(v, F_MANAGED, "ctys");
	owner(v, r->dir);
	p = rundir_file(r->dir, "status.json");
	if ((t = file_read(p, 65536, NULL)) != NULL)
		st = json_tokener_parse(t);
	free(t);
	free(p);
	if (st != NULL) {
		if (json_object_object_get_ex(st, "state", &x))
			set(v, F_STATE, json_object_get_string(x));
		if (json_object_object_get_ex(st, "accel", &x))
			set(v, F_ACCEL, json_object_get_string(x));
		if (json_object_object_get_ex(st, "qemu_version", &x) &&
		    *json_object_get_string(x) != '\0')
			setf(v, F_HRX, "QEMU-%s", json_object_get_string(x));
		if (json_object_object_get_ex(st, "supervisor_pid", &x))
			setf(v, F_SPID, "%d", json_object_get_int(x));
		if (json_object_object_get_ex(st, "started", &x))
			setf(v, F_UPTIME, "%.0f", l->now - json_object_get_double(x));
		json_object_put(st);
	}
	if (r->qemu_pid > 0)
		setf(v, F_PID, "%d", (int)r->qemu_pid);
	p = rundir_file(r->dir, "argv");
	if ((buf = file_read(p, 1 << 20, &len)) != NULL)
		from_argv(v, buf, len);
	free(buf);
	free(p);
	if ((t = read_trim(r->dir, "ports")) != NULL)
		set(v, F_PORTS, t);
	free(t);
	p = rundir_file(r->dir, "console.sock");
	set(v, F_CONSOLE, p);
	free(p);
	/* the supervisor's lock: if we can take it, nobody supervises this VM */
	if ((lockfd = rundir_trylock(r->dir)) >= 0) {
		close(lockfd);
		set(v, F_STATE, vmrun_qemu_alive(r) ? "unsupervised" : "ghost");
		if (vmrun_qemu_alive(r))
			strv_add(&l->orphans, r->id);
	} else if (v[F_STATE] == NULL)
		set(v, F_STATE, "starting");
	l->mine = xreallocarray(l->mine, l->nmine + 1, sizeof *l->mine);
	l->mine[l->nmine++] = r->qemu_pid;
	strv_add(&l->seen, r->id);
	add_row(l, v);
}

static const char *jstr(json_object *, const char *);

/*
 * One VM from its status.json alone (what its supervisor keeps current); 0, or -1 when
 * there is none yet (a VM being started: the slower path reads the directory).
 */
/*
 * The guest's addresses: what its agent said (cached by the supervisor in status.json),
 * else the definition's #@#IP<n>; ip_from says which. Link-local IPv6 is left out.
 */
static void
guest_addresses(char **v, json_object *st)
{
	json_object *ga, *ifs, *x;
	struct strv ips = { 0 }, names = { 0 };

	if (json_object_object_get_ex(st, "agent", &ga)) {
		if (json_object_object_get_ex(ga, "os", &x) &&
		    json_object_object_get_ex(x, "pretty-name", &x))
			set(v, F_GUEST, json_object_get_string(x));
		if (json_object_object_get_ex(ga, "interfaces", &ifs) &&
		    json_object_is_type(ifs, json_type_array))
			for (size_t i = 0; i < json_object_array_length(ifs); i++) {
				json_object *in = json_object_array_get_idx(ifs, i), *a, *n;
				int any = 0;

				if (!json_object_object_get_ex(in, "ips", &a) ||
				    !json_object_is_type(a, json_type_array))
					continue;
				for (size_t k = 0; k < json_object_array_length(a); k++) {
					const char *ip = json_object_get_string(
					    json_object_array_get_idx(a, k));

					if (ip == NULL || strncasecmp(ip, "fe80:", 5) == 0)
						continue;
					strv_addf(&ips, "%.*s", (int)strcspn(ip, "/"), ip);
					any = 1;
				}
				if (any && json_object_object_get_ex(in, "name", &n))
					strv_add(&names, json_object_get_string(n));
			}
	}
	/* the named channels, "+" marking those the guest has opened */
	if (json_object_object_get_ex(st, "channels", &x) &&
	    json_object_is_type(x, json_type_object)) {
		struct strv ch = { 0 };
		char *j;

		json_object_object_foreach(x, name, open)
			strv_addf(&ch, "%s%s", name, json_object_get_boolean(open) ? "+" : "");
		j = strv_join(&ch, ",");
		set(v, F_CHANNELS, j);
		free(j);
		strv_free(&ch);
	}
	if (ips.n > 0) {
		char *j = strv_join(&ips, ","), *k = strv_join(&names, ",");

		set(v, F_TCP, j);
		set(v, F_IFNAME, k);
		set(v, F_IPFROM, "agent");
		free(j);
		free(k);
	} else if (json_object_object_get_ex(st, "def_ips", &x)) {
		set(v, F_TCP, json_object_get_string(x));
		set(v, F_IPFROM, "definition");
	}
	strv_free(&ips);
	strv_free(&names);
}

static int
status_row(struct lister *l, const char *id)
{
	char *dir = xasprintf("%s/%s", l->ctx->paths->run, id), *p, *t, *v[NF] = { 0 };
	json_object *st, *x;
	int lockfd;
	pid_t qpid = 0;

	p = rundir_file(dir, "status.json");
	t = file_read(p, 65536, NULL);
	free(p);
	if (t == NULL || (st = json_tokener_parse(t)) == NULL) {
		free(t);
		free(dir);
		return -1;
	}
	free(t);
	set(v, F_HOST, l->host);
	set(v, F_LABEL, jstr(st, "label"));
	set(v, F_ID, jstr(st, "definition"));
	set(v, F_UUID, jstr(st, "uuid"));
	set(v, F_RID, id);
	set(v, F_CSTYPE, "SERVER");
	set(v, F_MANAGED, "ctys");
	set(v, F_STATE, jstr(st, "state"));
	set(v, F_ACCEL, jstr(st, "accel"));
	set(v, F_EXEPATH, jstr(st, "exe"));
	type_arch(v, jstr(st, "exe"));
	set(v, F_MAC, jstr(st, "macs"));
	set(v, F_PORTS, jstr(st, "ports"));
	if (jstr(st, "qemu_version") && *jstr(st, "qemu_version"))
		setf(v, F_HRX, "QEMU-%s", jstr(st, "qemu_version"));
	if (json_object_object_get_ex(st, "qemu_pid", &x) && (qpid = json_object_get_int(x)) > 0)
		setf(v, F_PID, "%d", (int)qpid);
	if (json_object_object_get_ex(st, "supervisor_pid", &x))
		setf(v, F_SPID, "%d", json_object_get_int(x));
	if (json_object_object_get_ex(st, "started", &x))
		setf(v, F_UPTIME, "%.0f", l->now - json_object_get_double(x));
	guest_addresses(v, st);
	json_object_put(st);
	owner(v, dir);
	p = rundir_file(dir, "console.sock");
	set(v, F_CONSOLE, p);
	free(p);
	if ((t = read_trim(dir, "vnc")) != NULL) {
		/* "unix <path>" or "tcp <host>:<port>" */
		char *sp = strchr(t, ' ');

		set(v, F_DISPLAY, sp ? sp + 1 : t);
		if (sp && strncmp(t, "tcp", 3) == 0 && strrchr(sp, ':'))
			set(v, F_SPORT, strrchr(sp, ':') + 1);
		free(t);
	}
	/* the supervisor's lock: if we can take it, nobody supervises this VM */
	if ((lockfd = rundir_trylock(dir)) >= 0) {
		struct vmrun r;

		close(lockfd);
		if (rundir_read(l->ctx->paths->run, id, &r) == 0 && vmrun_qemu_alive(&r)) {
			set(v, F_STATE, "unsupervised");
			strv_add(&l->orphans, id);
		} else
			set(v, F_STATE, "ghost");
		vmrun_clear(&r);
	}
	l->mine = xreallocarray(l->mine, l->nmine + 1, sizeof *l->mine);
	l->mine[l->nmine++] = qpid;
	strv_add(&l->seen, id);
	add_row(l, v);
	free(dir);
	return 0;
}

static int
seen(struct lister *l, const char *id)
{
	for (size_t i = 0; i < l->seen.n; i++)
		if (strcmp(l->seen.v[i], id) == 0)
			return 1;
	return 0;
}

static json_object *
json_file(const char *path)
{
	char *t = file_read(path, 4 << 20, NULL);
	json_object *o = t ? json_tokener_parse(t) : NULL;

	free(t);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static const char *
jstr(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* INACTIVE: suspended VMs, then stopped ones with an exit record. */
static void
inactive_rows(struct lister *l)
{
	DIR *d;
	struct dirent *de;
	char *exits = xasprintf("%s/exits", l->ctx->paths->state);

	if ((d = opendir(l->ctx->paths->save)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *v[NF] = { 0 }, *dir, *img, *meta;
			json_object *o;

			if (de->d_name[0] == '.' || seen(l, de->d_name))
				continue;
			dir = saved_dir(l->ctx->paths->save, de->d_name);
			img = saved_image(dir);
			meta = xasprintf("%s/meta.json", dir);
			if (img != NULL && (o = json_file(meta)) != NULL) {
				set(v, F_HOST, l->host);
				set(v, F_LABEL, jstr(o, "label"));
				set(v, F_ID, jstr(o, "definition"));
				set(v, F_UUID, jstr(o, "uuid"));
				set(v, F_ACCEL, jstr(o, "accel"));
				set(v, F_STATE, "suspended");
				set(v, F_MANAGED, "ctys");
				set(v, F_RID, de->d_name);
				set(v, F_CSTYPE, "SERVER");
				if (jstr(o, "qemu_version") && *jstr(o, "qemu_version"))
					setf(v, F_HRX, "QEMU-%s", jstr(o, "qemu_version"));
				owner(v, img);
				strv_add(&l->seen, de->d_name);
				add_row(l, v);
				json_object_put(o);
			}
			free(meta);
			free(img);
			free(dir);
		}
		closedir(d);
	}
	if ((d = opendir(exits)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *v[NF] = { 0 }, *p, *id;
			size_t n = strlen(de->d_name);
			json_object *o;

			if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
				continue;
			id = xstrndup(de->d_name, n - 5);
			p = xasprintf("%s/%s", exits, de->d_name);
			if (!seen(l, id) && (o = json_file(p)) != NULL) {
				set(v, F_HOST, l->host);
				set(v, F_LABEL, jstr(o, "label"));
				set(v, F_ID, jstr(o, "definition"));
				set(v, F_UUID, jstr(o, "uuid"));
				set(v, F_STATE, "stopped");
				set(v, F_LAST, jstr(o, "how"));
				set(v, F_MANAGED, "ctys");
				set(v, F_RID, id);
				set(v, F_CSTYPE, "SERVER");
				owner(v, p);
				add_row(l, v);
				json_object_put(o);
			}
			free(p);
			free(id);
		}
		closedir(d);
	}
	free(exits);
}

/* Every QEMU process ctys does not manage: foreign, or libvirt's (read-only). */
static void
foreign_rows(struct lister *l)
{
	struct foreign *fv;
	size_t n = foreign_scan(l->mine, l->nmine, &fv);

	for (size_t i = 0; i < n; i++) {
		struct foreign *f = &fv[i];
		char *v[NF] = { 0 }, path[64];

		set(v, F_HOST, l->host);
		setf(v, F_PID, "%d", (int)f->pid);
		set(v, F_CSTYPE, "SERVER");
		set(v, F_STATE, "running");
		set(v, F_EXEPATH, f->exe);
		type_arch(v, f->exe);
		snprintf(path, sizeof path, "/proc/%d", (int)f->pid);
		owner(v, path);
		set(v, F_LABEL, f->label);
		set(v, F_UUID, f->uuid);
		set(v, F_ACCEL, f->accel);
		set(v, F_DISPLAY, f->display);
		set(v, F_CONTEXT, f->qmp ? f->qmp : f->monitor);
		set(v, F_MAC, f->macs);
		set(v, F_MANAGED, f->libvirt ? "libvirt" : "foreign");
		add_row(l, v);
	}
	foreign_list_free(fv, n);
}

int
qemu_list(struct ctx *ctx, struct subopt_list *so)
{
	struct lister l = { .ctx = ctx };
	struct pr_opts po;
	char *cause = NULL;
	int rc, inactive = 0, foreign = 1;
	struct subopt *o;

	if ((rc = pr_opts_parse(&qemu_list_schema, so, &po, &cause)) != 0) {
		log_err("%s", cause);
		free(cause);
		return rc;
	}
	if (po.sort < 0)
		po.sort = F_LABEL;	/* a stable order by default */
	if ((o = subopt_find(so, "INACTIVE")) != NULL) {
		o->used = 1;
		inactive = 1;
	}
	if ((o = subopt_find(so, "NOFOREIGN")) != NULL) {
		o->used = 1;
		foreign = 0;
	}
	l.rows.nfields = NF;
	l.now = now_real();
	if (gethostname(l.host, sizeof l.host) != 0)
		strlcpy_chk(l.host, "localhost", sizeof l.host);
	l.host[strcspn(l.host, ".")] = '\0';
	{
		DIR *d = opendir(ctx->paths->run);
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL) {
			struct vmrun r;

			if (de->d_name[0] == '.' || status_row(&l, de->d_name) == 0)
				continue;
			if (rundir_read(ctx->paths->run, de->d_name, &r) == 0) {
				managed_row(&l, &r);
				vmrun_clear(&r);
			}
		}
		if (d != NULL)
			closedir(d);
	}
	if (inactive)
		inactive_rows(&l);
	if (foreign)
		foreign_rows(&l);
	pr_print(stdout, &qemu_list_schema, &po, &l.rows);
	fflush(stdout);
	/* a VM without its supervisor gets one again (its policy applies), after the answer */
	for (size_t i = 0; i < l.orphans.n; i++) {
		struct vmrun r;
		struct ctl_client c;

		if (rundir_read(ctx->paths->run, l.orphans.v[i], &r) != 0)
			continue;
		if (vm_connect(ctx, &r, &c, &cause) == 0)
			ctl_close(&c);
		free(cause);
		cause = NULL;
		vmrun_clear(&r);
	}
	strv_free(&l.orphans);
	pr_rows_free(&l.rows);
	pr_opts_free(&po);
	strv_free(&l.seen);
	free(l.mine);
	return EXIT_OK;
}
