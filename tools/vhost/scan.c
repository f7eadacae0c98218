/* Reading enum.fdb for ctys-vhost (scan.h). */
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcodes.h"
#include "fdb.h"
#include "util.h"

int
vh_db_open(struct vh_db *db, const char *path, char **cause)
{
	struct stat st;
	int e = 0;

	db->path = NULL;
	if ((db->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return fail(cause, EXIT_NOTFOUND, "no database '%s': %s", path, strerror(errno));
	if (fstat(db->fd, &st) == -1)
		e = errno;
	else if (S_ISDIR(st.st_mode))
		e = EISDIR;
	if (e != 0) {
		close(db->fd);
		db->fd = -1;
		return fail(cause, EXIT_NOTFOUND, "database '%s': %s", path, strerror(e));
	}
	db->path = xstrdup(path);
	return 0;
}

void
vh_db_close(struct vh_db *db)
{
	if (db->fd != -1)
		close(db->fd);
	db->fd = -1;
	free(db->path);
	db->path = NULL;
}

/* One line (no newline): skipped, reported, or matched. Nonzero: stop. */
static int
scan_line(const struct vh_db *db, struct vh_scan *sc, const char *p, size_t len, long lineno)
{
	sc->lines++;
	/* what fdb_read skips: empty lines and comments */
	if (len == 0 || p[0] == '#')
		return 0;
	if (!query_line_ok(p, len)) {
		struct fdb_record r;
		char *why = NULL, *m;

		sc->bad++;
		if (sc->warn != NULL) {
			if (fdb_parse_line(p, len, &r, &why) == 0) {
				fdb_record_clear(&r);	/* cannot be: the checks agree */
				why = xstrdup("bad record");
			}
			m = xasprintf("%s:%ld: %s; line skipped", db->path, lineno, why);
			sc->warn(m, sc->warnarg);
			free(m);
		}
		free(why);
		return 0;
	}
	sc->records++;
	if (query_match(sc->q, p, len, NULL) != sc->complement) {
		struct query_hit h = { p, len, db->path, lineno };

		sc->hits++;
		return sc->hit(&h, sc->arg);
	}
	return 0;
}

int
vh_scan(const struct vh_db *db, struct vh_scan *sc)
{
	size_t cap = 256 * 1024, have = 0;
	char *buf = xmalloc(cap);
	long lineno = 0;
	int rc = 0;

	for (;;) {
		ssize_t n = read(db->fd, buf + have, cap - have);
		const char *p = buf, *end, *nl;

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = -1;
			break;
		}
		if (n == 0) {
			/* the last line, without its newline */
			if (have > 0)
				rc = scan_line(db, sc, buf, have, ++lineno) != 0;
			break;
		}
		have += (size_t)n;
		end = buf + have;
		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			if (scan_line(db, sc, p, (size_t)(nl - p), ++lineno) != 0) {
				free(buf);
				return 1;
			}
			p = nl + 1;
		}
		/* keep the partial line; a line longer than the buffer grows it */
		have = (size_t)(end - p);
		memmove(buf, p, have);
		if (have == cap)
			buf = xrealloc(buf, cap *= 2);
	}
	free(buf);
	return rc;
}
