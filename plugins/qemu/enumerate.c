#include "enumerate.h"

#include <sys/stat.h>

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "detect.h"
#include "exitcodes.h"
#include "locate.h"
#include "printer.h"
#include "probe.h"
#include "qemu.h"
#include "vmconf.h"

static const struct {
	const char *name;
	unsigned bits;
} vstats[] = {
	{ "ACTIVE", VST_ACTIVE }, { "DISABLED", VST_DISABLED }, { "EMPTY", VST_EMPTY },
	{ "BACKUP", VST_BACKUP }, { "TEMPLATE", VST_TEMPLATE }, { "TESTDUMMY", VST_TESTDUMMY },
	{ "CUSTOM", VST_CUSTOM }, { "PRESENT", VST_ALL & ~VST_EMPTY },
	{ "ENABLED", VST_ACTIVE | VST_EMPTY }, { "ALL", VST_ALL },
};

int
enumerate_vstat(const char *spec, unsigned *mask, char **cause)
{
	char *dup = xstrdup(spec), *w, *save = NULL;
	int rc = 0;

	*mask = 0;
	for (w = strtok_r(dup, "%", &save); w != NULL; w = strtok_r(NULL, "%", &save)) {
		size_t i;

		for (i = 0; i < nitems(vstats) && strcasecmp(w, vstats[i].name) != 0; i++)
			;
		if (i == nitems(vstats)) {
			rc = fail(cause, EXIT_USAGE, "MATCHVSTAT: not a VM state: '%s' (ACTIVE, "
			    "DISABLED, EMPTY, BACKUP, TEMPLATE, TESTDUMMY, CUSTOM, PRESENT, ENABLED, "
			    "ALL)", w);
			break;
		}
		*mask |= vstats[i].bits;
	}
	free(dup);
	return rc;
}

static unsigned
vstat_of(const char *v)
{
	if (v == NULL || *v == '\0')
		return VST_EMPTY;
	for (size_t i = 0; i < 6; i++)
		if (strcasecmp(v, vstats[i].name) == 0)
			return vstats[i].bits;
	return VST_CUSTOM;
}

/* What this host runs a definition with, asked once per (STARTERCALL, ARCH). */
struct hostqemu {
	char *key;
	char *exe, *hrx, *accel;
};

struct enumr {
	struct ctx *ctx;
	unsigned vstat;
	int (*fn)(struct fdb_record *, void *);
	void *arg;
	char host[256];
	struct host_facts facts;
	struct hostqemu *hq;
	size_t nhq;
	long count;
	int stop;
};

static struct hostqemu *
host_qemu(struct enumr *e, const char *startercall, const char *arch, const char *want)
{
	char *key = xasprintf("%s|%s|%s", startercall ? startercall : "", arch ? arch : "",
	    want ? want : "");
	struct hostqemu *h;
	struct qemu_caps *caps = NULL;
	char *cause = NULL, *why = NULL;

	for (size_t i = 0; i < e->nhq; i++)
		if (strcmp(e->hq[i].key, key) == 0) {
			free(key);
			return &e->hq[i];
		}
	e->hq = xreallocarray(e->hq, e->nhq + 1, sizeof *e->hq);
	h = &e->hq[e->nhq++];
	memset(h, 0, sizeof *h);
	h->key = key;
	if (detect_binary(e->ctx->conf, startercall, arch ? arch : "x86_64", &h->exe, &cause) == 0 &&
	    probe_get(h->exe, e->ctx->paths->cache, &caps, &cause) == 0) {
		h->hrx = xasprintf("QEMU-%s", caps->version);
		qemu_caps_free(caps);
	}
	h->accel = xstrdup(strcmp(detect_accel(&e->facts, arch ? arch : e->facts.host_arch, want,
	    &why), "kvm") == 0 ? "KVM" : "QEMU");
	free(why);
	free(cause);
	return h;
}

static void
owner_names(const char *path, char **uid, char **gid)
{
	struct stat st;
	struct passwd *pw;
	struct group *gr;

	*uid = *gid = NULL;
	if (stat(path, &st) == -1)
		return;
	*uid = (pw = getpwuid(st.st_uid)) ? xstrdup(pw->pw_name) :
	    xasprintf("%u", (unsigned)st.st_uid);
	*gid = (gr = getgrgid(st.st_gid)) ? xstrdup(gr->gr_name) :
	    xasprintf("%u", (unsigned)st.st_gid);
}

static char *
dup0(const char *s)
{
	return s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

/* One record of a definition for NIC n and its IP entry ip (either may be absent). */
static int
emit(struct enumr *e, const struct vmconf *c, const struct vmconf_nic *nic,
    const struct vmconf_ip *ip, struct hostqemu *h, const char *uid, const char *gid)
{
	struct fdb_record *r = xcalloc(1, sizeof *r);
	char **f = r->f;

	f[FDB_HOST] = xstrdup(e->host);
	f[FDB_STYPE] = xstrdup("QEMU");
	f[FDB_LABEL] = xstrdup(c->label);
	f[FDB_ID] = xstrdup(c->def->path);
	f[FDB_UUID] = dup0(c->uuid);
	f[FDB_MAC] = nic ? dup0(nic->mac) : NULL;
	f[FDB_TCP] = ip ? dup0(ip->addr) : NULL;
	f[FDB_DISPLAY] = dup0(c->vncaccessdisplay);
	f[FDB_CPORT] = dup0(c->vncaccessport);
	f[FDB_SPORT] = dup0(c->sport);
	f[FDB_VNCBASE] = dup0(c->vncbaseport);
	f[FDB_DIST] = dup0(c->dist);
	f[FDB_DISTREL] = dup0(c->distrel);
	f[FDB_OS] = dup0(c->os);
	f[FDB_OSREL] = dup0(c->osrel);
	f[FDB_VERSION] = dup0(c->version);
	f[FDB_SERNO] = dup0(c->serno);
	f[FDB_CATEGORY] = dup0(c->category);
	f[FDB_VMSTATE] = dup0(c->vmstate);
	f[FDB_HYPERREL] = dup0(c->inst_hyperrel);
	f[FDB_STACKCAP] = dup0(c->stackcap);
	f[FDB_STACKREQ] = dup0(c->stackreq);
	f[FDB_HWCAP] = dup0(c->hwcap);
	f[FDB_HWREQ] = dup0(c->hwreq);
	f[FDB_EXECLOCATION] = dup0(c->execlocation);
	f[FDB_RELOCCAP] = dup0(c->reloccap);
	f[FDB_SSHPORT] = dup0(ip && ip->sshport ? ip->sshport : c->sshport);
	f[FDB_HYPERRELRUN] = h ? dup0(h->hrx) : NULL;
	f[FDB_ACCEL] = h ? dup0(h->accel) : NULL;
	f[FDB_EXEPATH] = h ? dup0(h->exe) : NULL;
	f[FDB_IFNAME] = ip ? dup0(ip->ifname) : NULL;
	f[FDB_CTYSRELEASE] = dup0(c->ctysrelease);
	f[FDB_NETMASK] = ip ? dup0(ip->netmask) : NULL;
	f[FDB_GATEWAY] = ip && ip->gateway ? dup0(ip->gateway) : dup0(c->guestgateway);
	f[FDB_RELAY] = ip ? dup0(ip->relay) : NULL;
	f[FDB_ARCH] = dup0(c->arch ? c->arch : "x86_64");
	f[FDB_PLATFORM] = dup0(c->platform);
	f[FDB_VRAM] = dup0(c->memsize ? c->memsize : c->vram);
	f[FDB_VCPU] = dup0(c->smp ? c->smp : c->vcpu);
	f[FDB_CSTRG] = dup0(c->cstrg);
	f[FDB_USTRG] = dup0(c->ustrg);
	f[FDB_UID] = dup0(uid);
	f[FDB_GID] = dup0(gid);
	f[FDB_DEFHOSTS] = dup0(c->defaulthosts);
	f[FDB_DEFCONSOLE] = dup0(c->defaultconsole);
	if (e->fn(r, e->arg) != 0)
		e->stop = 1;
	return e->stop;
}

static int
one_definition(struct vmdef *d, void *arg)
{
	struct enumr *e = arg;
	struct vmconf c;
	struct hostqemu *h;
	char *uid, *gid;
	int any = 0;

	if (d->magic_noenum || d->nerrors > 0) {
		if (d->nerrors > 0)
			vmdef_print_diags(d);
		vmdef_free(d);
		return 0;
	}
	vmconf_init(&c, d);
	if ((vstat_of(c.vmstate) & e->vstat) == 0) {
		vmconf_free(&c);
		vmdef_free(d);
		return 0;
	}
	vmdef_print_diags(d);
	h = host_qemu(e, c.startercall, c.arch, c.accelerator);
	owner_names(d->path, &uid, &gid);
	for (int n = 0; n < c.nnics && !e->stop; n++) {
		const struct vmconf_nic *nic = &c.nics[n];

		if (nic->mac == NULL && nic->nips == 0)
			continue;
		if (nic->nips == 0) {
			emit(e, &c, nic, NULL, h, uid, gid);
			any = 1;
		}
		for (size_t i = 0; i < nic->nips && !e->stop; i++) {
			emit(e, &c, nic, &nic->ips[i], h, uid, gid);
			any = 1;
		}
	}
	if (!any && !e->stop)
		emit(e, &c, NULL, NULL, h, uid, gid);
	e->count++;
	free(uid);
	free(gid);
	vmconf_free(&c);
	vmdef_free(d);
	return e->stop;
}

static void
scan_warn(const char *msg, void *arg)
{
	(void)arg;
	log_warn("%s", msg);
}

long
qemu_enumerate(struct ctx *ctx, const struct strv *bases, unsigned vstat,
    int (*fn)(struct fdb_record *, void *), void *arg)
{
	struct enumr e = { .ctx = ctx, .vstat = vstat, .fn = fn, .arg = arg };

	if (gethostname(e.host, sizeof e.host) != 0)
		strlcpy_chk(e.host, "localhost", sizeof e.host);
	e.host[strcspn(e.host, ".")] = '\0';
	detect_host_facts(&e.facts);
	vmdef_scan((const char *const *)bases->v, bases->n, one_definition, &e, scan_warn);
	for (size_t i = 0; i < e.nhq; i++) {
		free(e.hq[i].key);
		free(e.hq[i].exe);
		free(e.hq[i].hrx);
		free(e.hq[i].accel);
	}
	free(e.hq);
	return e.count;
}

struct collect {
	struct pr_rows rows;
};

static int
collect_one(struct fdb_record *r, void *arg)
{
	struct collect *c = arg;

	pr_rows_add(&c->rows, (const char *const *)r->f);
	fdb_record_clear(r);
	free(r);
	return 0;
}

/* ENUMERATE[=B:paths,MATCHVSTAT:..,<printer suboptions>] */
int
qemu_enumerate_action(struct ctx *ctx, struct subopt_list *so)
{
	struct collect c = { 0 };
	struct pr_opts po;
	struct strv bases = { 0 };
	struct subopt *o;
	unsigned vstat = VST_DEFAULT;
	char *cause = NULL;
	int rc;

	if ((rc = pr_opts_parse(&fdb_schema, so, &po, &cause)) != 0) {
		log_err("%s", cause);
		free(cause);
		return rc;
	}
	if ((o = subopt_find(so, "MATCHVSTAT")) != NULL &&
	    (rc = enumerate_vstat(o->arg, &vstat, &cause)) != 0) {
		log_err("%s", cause);
		free(cause);
		pr_opts_free(&po);
		return rc;
	}
	if ((o = subopt_find(so, "BASEPATH|BASE|B")) != NULL) {
		for (size_t k = 0; k < o->nvals; k++)
			if (*o->vals[k] != '\0')
				strv_add(&bases, o->vals[k]);
	} else
		for (size_t k = 0; k < ctx->conf->base_paths.n; k++)
			strv_add(&bases, ctx->conf->base_paths.v[k]);
	c.rows.nfields = FDB_NFIELDS;
	qemu_enumerate(ctx, &bases, vstat, collect_one, &c);
	pr_print(stdout, &fdb_schema, &po, &c.rows);
	pr_rows_free(&c.rows);
	pr_opts_free(&po);
	strv_free(&bases);
	return EXIT_OK;
}
