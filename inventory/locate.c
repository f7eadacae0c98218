#include "locate.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCAN_MAX_FILE (256 * 1024)

static int
is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

char *
vmdef_locate(const char *id)
{
	const char *slash = strrchr(id, '/'), *dot = strrchr(id, '.');
	size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - id) : strlen(id);
	char *c;

	c = xasprintf("%.*s.conf", (int)stem, id);
	if (is_file(c))
		return c;
	free(c);
	c = xasprintf("%.*s.ctys", (int)stem, id);
	if (is_file(c))
		return c;
	free(c);
	if (slash != NULL && slash != id) {
		c = xasprintf("%.*s.ctys", (int)(slash - id), id);
		if (is_file(c))
			return c;
		free(c);
	}
	return is_file(id) ? xstrdup(id) : NULL;
}

char *
path_expand_home(const char *p)
{
	const char *home = getenv("HOME");

	if (p[0] == '~' && (p[1] == '\0' || p[1] == '/') && home != NULL)
		return xasprintf("%s%s", home, p + 1);
	return xstrdup(p);
}

static int
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (strcmp(a, b) == 0)
		return 1;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	    sa.st_ino == sb.st_ino;
}

char *
vmdef_label(const struct vmdef *d)
{
	const char *l = vmdef_get(d, "LABEL"), *base, *dot;

	if (l != NULL)
		return xstrdup(l);
	base = strrchr(d->path, '/');
	base = base ? base + 1 : d->path;
	dot = strrchr(base, '.');
	return dot && dot != base ? xstrndup(base, (size_t)(dot - base)) : xstrdup(base);
}

/* Does any numbered key KEY0..KEY9 (variable or magic) satisfy want? */
static int
any_numbered(const struct vmdef *d, const char *key, const char *want, int ip)
{
	char k[16];

	for (int n = 0; n < 10; n++) {
		const char *v;

		snprintf(k, sizeof k, "%s%d", key, n);
		if ((v = vmdef_get(d, k)) == NULL)
			continue;
		if (!ip && strcasecmp(v, want) == 0)
			return 1;
		if (ip) {
			/* "ip%netmask%relay%ifname%sshport%gateway[,ip%...]" */
			for (const char *p = v; *p;) {
				size_t len = strcspn(p, "%,");

				if (len == strlen(want) && strncmp(p, want, len) == 0)
					return 1;
				p += strcspn(p, ",");
				if (*p == ',')
					p++;
			}
		}
	}
	return 0;
}

int
vmdef_matches(const struct vmdef *d, const struct vmdef_query *q)
{
	char *label;
	const char *u;
	int ok = 1;

	if (q->label != NULL) {
		label = vmdef_label(d);
		ok = strcmp(label, q->label) == 0;
		free(label);
	}
	if (ok && q->uuid != NULL)
		ok = (u = vmdef_get(d, "UUID")) != NULL && strcasecmp(u, q->uuid) == 0;
	if (ok && q->path != NULL)
		ok = same_file(q->path, d->path);
	if (ok && q->fname != NULL)
		ok = strstr(d->path, q->fname) != NULL;
	if (ok && q->mac != NULL)
		ok = any_numbered(d, "MAC", q->mac, 0);
	if (ok && q->tcp != NULL)
		ok = any_numbered(d, "IP", q->tcp, 1);
	return ok;
}

/* nftw has no user argument: the scan state lives here (one scan at a time). */
static struct {
	int (*fn)(struct vmdef *, void *);
	void *arg;
	void (*warn)(const char *, void *);
	struct { dev_t dev; ino_t ino; } *seen;
	size_t nseen, count;
	int stop;
} scan;

static int
seen_before(const struct stat *st)
{
	for (size_t i = 0; i < scan.nseen; i++)
		if (scan.seen[i].dev == st->st_dev && scan.seen[i].ino == st->st_ino)
			return 1;
	scan.seen = xreallocarray(scan.seen, scan.nseen + 1, sizeof *scan.seen);
	scan.seen[scan.nseen].dev = st->st_dev;
	scan.seen[scan.nseen++].ino = st->st_ino;
	return 0;
}

static void
scan_warn(const char *fmt, const char *path, const char *what)
{
	char *m;

	if (scan.warn == NULL)
		return;
	m = xasprintf(fmt, path, what);
	scan.warn(m, scan.arg);
	free(m);
}

static int
scan_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t len = strlen(path);
	struct vmdef *d;
	char *buf, *conf;
	size_t n;

	(void)ftw;
	if (type == FTW_DNR) {
		scan_warn("%s: cannot read directory: %s", path, strerror(EACCES));
		return 0;
	}
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	if (!(len > 5 && strcmp(path + len - 5, ".ctys") == 0) &&
	    !(len > 5 && strcmp(path + len - 5, ".conf") == 0))
		return 0;
	if (st->st_size > SCAN_MAX_FILE) {
		if (len > 5 && strcmp(path + len - 5, ".ctys") == 0)
			scan_warn("%s: %s, skipped", path, "larger than 256 KiB");
		return 0;
	}
	/* a .ctys beside a .conf of the same name is the man-page layout's wrapper */
	if (strcmp(path + len - 5, ".ctys") == 0) {
		conf = xasprintf("%.*s.conf", (int)(len - 5), path);
		if (is_file(conf)) {
			free(conf);
			return 0;
		}
		free(conf);
	}
	if ((buf = file_read(path, SCAN_MAX_FILE, &n)) == NULL) {
		scan_warn("%s: %s", path, strerror(errno));
		return 0;
	}
	if (memmem(buf, n, "#@#MAGICID-QEMU", 15) == NULL || seen_before(st)) {
		free(buf);
		return 0;
	}
	d = vmdef_parse(buf, n, path);
	free(buf);
	if (d->magic_ignore || !d->magic_qemu) {
		vmdef_free(d);
		return 0;
	}
	scan.count++;
	if (scan.fn(d, scan.arg) != 0) {
		scan.stop = 1;
		return FTW_STOP;
	}
	return 0;
}

size_t
vmdef_scan(const char *const *bases, size_t nbases, int (*fn)(struct vmdef *, void *),
    void *arg, void (*warn)(const char *, void *))
{
	size_t count;

	memset(&scan, 0, sizeof scan);
	scan.fn = fn;
	scan.arg = arg;
	scan.warn = warn;
	for (size_t i = 0; i < nbases && !scan.stop; i++) {
		char *b = path_expand_home(bases[i]);
		struct stat st;

		if (stat(b, &st) == 0)
			nftw(b, scan_entry, 32, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL);
		free(b);
	}
	count = scan.count;
	free(scan.seen);
	memset(&scan, 0, sizeof scan);
	return count;
}
