#include "locate.h"

#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <search.h>
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

/* The state of one walk. */
struct devino {
	dev_t dev;
	ino_t ino;
};

struct scan {
	int (*fn)(struct vmdef *, void *);
	void *arg;
	void (*warn)(const char *, void *);
	void *files, *dirs;	/* tsearch trees of struct devino: what was met already */
	size_t count;
	int stop;
};

static int
devino_cmp(const void *a, const void *b)
{
	const struct devino *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* 1 when (dev, ino) is in the tree already; else it is added. */
static int
seen_before(void **tree, dev_t dev, ino_t ino)
{
	struct devino *k = xmalloc(sizeof *k), **found;

	k->dev = dev;
	k->ino = ino;
	found = tsearch(k, tree, devino_cmp);
	if (found == NULL)
		fatal("out of memory");
	if (*found != k) {
		free(k);
		return 1;
	}
	return 0;
}

static void
scan_warn(struct scan *sc, const char *fmt, const char *path, const char *what)
{
	char *m;

	if (sc->warn == NULL)
		return;
	m = xasprintf(fmt, path, what);
	sc->warn(m, sc->arg);
	free(m);
}

/* One candidate file (.ctys or .conf): read, filtered on the magic, parsed, handed on. */
static void
scan_file(struct scan *sc, const char *path, size_t len)
{
	struct stat st;
	struct vmdef *d;
	char *buf, *conf;
	ssize_t n;
	size_t got = 0;
	int fd;

	/* a .ctys beside a .conf of the same name is the man-page layout's wrapper */
	if (strcmp(path + len - 5, ".ctys") == 0) {
		conf = xasprintf("%.*s.conf", (int)(len - 5), path);
		if (is_file(conf)) {
			free(conf);
			return;
		}
		free(conf);
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) == -1) {
		if (errno != ELOOP)	/* a symbolic link: not followed */
			scan_warn(sc, "%s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	if (st.st_size > SCAN_MAX_FILE) {
		if (strcmp(path + len - 5, ".ctys") == 0)
			scan_warn(sc, "%s: %s, skipped", path, "larger than 256 KiB");
		close(fd);
		return;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (memmem(buf, got, "#@#MAGICID-QEMU", 15) == NULL || seen_before(&sc->files, st.st_dev, st.st_ino)) {
		free(buf);
		return;
	}
	d = vmdef_parse(buf, got, path);
	free(buf);
	if (d->magic_ignore || !d->magic_qemu) {
		vmdef_free(d);
		return;
	}
	sc->count++;
	if (sc->fn(d, sc->arg) != 0)
		sc->stop = 1;
}

size_t
vmdef_scan(const char *const *bases, size_t nbases, int (*fn)(struct vmdef *, void *),
    void *arg, void (*warn)(const char *, void *))
{
	struct scan sc = { .fn = fn, .arg = arg, .warn = warn };

	/*
	 * fts without stat: only directories are stat'ed (for cycles and the file system
	 * boundary); files are told apart by their names, and only candidates are opened.
	 */
	for (size_t i = 0; i < nbases && !sc.stop; i++) {
		char *b = path_expand_home(bases[i]);
		char *const paths[] = { b, NULL };
		struct stat st;
		FTS *fts;
		FTSENT *e;

		if (stat(b, &st) == -1 || (fts = fts_open(paths, FTS_PHYSICAL | FTS_NOSTAT |
		    FTS_XDEV | FTS_NOCHDIR, NULL)) == NULL) {
			free(b);
			continue;
		}
		while (!sc.stop && (e = fts_read(fts)) != NULL) {
			size_t len = e->fts_pathlen;

			switch (e->fts_info) {
			case FTS_D:	/* met through an earlier base path: walked once */
				/* (FTS_NOSTAT leaves fts_statp unset; fts_dev/fts_ino are kept) */
				if (seen_before(&sc.dirs, e->fts_dev, e->fts_ino))
					fts_set(fts, e, FTS_SKIP);
				break;
			case FTS_DNR:
			case FTS_ERR:
				scan_warn(&sc, "%s: cannot read directory: %s", e->fts_path,
				    strerror(e->fts_errno));
				break;
			case FTS_DC:	/* a directory cycle (bind mounts): not again */
				break;
			case FTS_NSOK:
			case FTS_F:
				if (len > 5 && (strcmp(e->fts_path + len - 5, ".ctys") == 0 ||
				    strcmp(e->fts_path + len - 5, ".conf") == 0))
					scan_file(&sc, e->fts_path, len);
				break;
			default:
				break;
			}
		}
		fts_close(fts);
		free(b);
	}
	tdestroy(sc.files, free);
	tdestroy(sc.dirs, free);
	return sc.count;
}
