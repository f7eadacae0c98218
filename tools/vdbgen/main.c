/*
 * ctys-vdbgen: refreshes the file inventory (<dbdir>/enum.fdb) from ENUMERATE.
 *
 *   ctys-vdbgen [-p dbdir] [--replace|--append] [-d level] [B:path%path] [host|group...]
 *
 * With hosts, each runs ENUMERATE (over ssh, in parallel) and their records (one per host:
 * multipath registration) make the database; without, this host is scanned. *
 * Written atomically under an exclusive lock: the records go to a temporary file in the
 * database's directory, which is synced and renamed over enum.fdb; a refresh killed at
 * any moment leaves the previous database intact, two refreshes never interleave, and
 * readers never see a half-written file. Lines are sorted and unique (as the original's
 * `sort -u`); --append keeps the existing records (never duplicating an identical one).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "dispatch.h"
#include "enumerate.h"
#include "exitcodes.h"
#include "fdb.h"
#include "paths.h"
#include "remote.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: ctys-vdbgen [-p dbdir] [--replace|--append] [-d level] "
	    "[B:path%%path] [host...]\n");
	exit(EXIT_USAGE);
}

static int
add_line(struct fdb_record *r, void *arg)
{
	char *line = fdb_format(r);

	strv_add(arg, line);
	free(line);
	fdb_record_clear(r);
	free(r);
	return 0;
}

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Temporary files of refreshes that were killed: removed under the lock. */
static void
remove_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "enum.fdb.tmp.", 13) == 0) {
			char *p = xasprintf("%s/%s", dir, de->d_name);

			unlink(p);
			free(p);
		}
	closedir(d);
}

/*
 * The records of every host (ENUMERATE on each, in parallel): all or nothing, so that a
 * host that did not answer never loses its records from the database.
 */
static int
from_hosts(const struct conf *conf, const struct strv *hosts, const struct strv *bases,
    struct strv *lines, long *vms)
{
	struct remote_target *t = NULL;
	struct remote_result *res;
	char *cause = NULL, *action, *b;
	size_t n = 0, failed = 0;
	int rc;

	if ((rc = remote_targets(conf, hosts->v, hosts->n, &t, &n, &cause)) != 0) {
		log_err("%s", cause);
		free(cause);
		return rc;
	}
	b = xstrdup("");
	for (size_t i = 0; i < bases->n; i++) {
		char *x = xasprintf("%s%s%s", b, i ? "%" : "B:", bases->v[i]);

		free(b);
		b = x;
	}
	action = xasprintf("ENUMERATE=%s%sMATCHVSTAT:ALL,MACHINE", b, *b ? "," : "");
	free(b);
	res = xcalloc(n, sizeof *res);
	remote_exec(conf, t, n, "QEMU", action, res);
	free(action);
	*vms = 0;
	for (size_t i = 0; i < n; i++) {
		struct remote_result *r = &res[i];
		char *save = NULL, *line;

		if (r->err != NULL && r->errlen > 0)
			remote_put_lines(stderr, t[i].name, r->err, r->errlen);
		if (!r->ok || r->status != EXIT_OK) {
			if (!r->ok)
				log_err("%s", r->cause);
			else
				log_err("%s: ENUMERATE exited %d", t[i].name, r->status);
			failed++;
			continue;
		}
		for (line = strtok_r(r->out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (*line != '\0') {
				strv_add(lines, line);
				(*vms)++;
			}
	}
	remote_results_free(res, n);
	remote_targets_free(t, n);
	if (failed > 0)
		return failed < n ? EXIT_PARTIAL : EXIT_UNREACHABLE;
	return 0;
}

int
main(int argc, char **argv)
{
	struct conf conf;
	struct paths paths;
	struct ctx ctx = { NULL, &conf, &paths, 0 };
	struct strv bases = { 0 }, lines = { 0 }, hosts = { 0 };
	char *dbdir = NULL, *cause = NULL, *db, *lockp, *tmp;
	int append = 0, lockfd, fd, rc;
	long vms;
	FILE *f;

	log_prog = "ctys-vdbgen";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
			dbdir = xstrdup(argv[++i]);
		else if (strcmp(argv[i], "--append") == 0)
			append = 1;
		else if (strcmp(argv[i], "--replace") == 0)
			append = 0;
		else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
			log_level = atoi(argv[++i]);
		else if (strncasecmp(argv[i], "B:", 2) == 0) {
			char *dup = xstrdup(argv[i] + 2), *w, *save = NULL;

			for (w = strtok_r(dup, "%", &save); w; w = strtok_r(NULL, "%", &save))
				strv_add(&bases, w);
			free(dup);
		} else if (argv[i][0] == '-')
			usage();
		else
			strv_add(&hosts, argv[i]);
	}
	if ((rc = conf_load(&conf, &cause)) != 0 || (rc = paths_init(&paths, &conf, &cause)) != 0) {
		log_err("%s", cause);
		return rc;
	}
	if (dbdir == NULL)
		dbdir = xstrdup(paths.db);
	if (bases.n == 0)
		for (size_t i = 0; i < conf.base_paths.n; i++)
			strv_add(&bases, conf.base_paths.v[i]);
	if (mkdir_p(dbdir, 0755) == -1) {
		log_err("cannot create '%s': %s", dbdir, strerror(errno));
		return EXIT_FAIL;
	}
	db = xasprintf("%s/enum.fdb", dbdir);
	lockp = xasprintf("%s/enum.fdb.lock", dbdir);
	if ((lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1 ||
	    flock(lockfd, LOCK_EX) == -1) {
		log_err("cannot lock '%s': %s", lockp, strerror(errno));
		return EXIT_FAIL;
	}
	remove_stale(dbdir);
	if (append) {
		FILE *old = fopen(db, "re");
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		while (old != NULL && (n = getline(&line, &cap, old)) != -1) {
			while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
			if (n > 0)
				strv_add(&lines, line);
		}
		free(line);
		if (old != NULL)
			fclose(old);
	}
	if (hosts.n > 0) {
		if ((rc = from_hosts(&conf, &hosts, &bases, &lines, &vms)) != 0) {
			log_err("the database is left as it was");
			return rc;
		}
	} else
		vms = qemu_enumerate(&ctx, &bases, VST_ALL, add_line, &lines);
	qsort(lines.v, lines.n, sizeof *lines.v, cmp_line);
	tmp = xasprintf("%s/enum.fdb.tmp.XXXXXX", dbdir);
	if ((fd = mkstemp(tmp)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		log_err("cannot create a file in '%s': %s", dbdir, strerror(errno));
		return EXIT_FAIL;
	}
	fchmod(fd, 0644);
	{
		size_t written = 0;

		for (size_t i = 0; i < lines.n; i++) {
			if (i > 0 && strcmp(lines.v[i], lines.v[i - 1]) == 0)
				continue;
			fprintf(f, "%s\n", lines.v[i]);
			written++;
		}
		if (fflush(f) != 0 || fsync(fd) != 0 || fclose(f) != 0 || rename(tmp, db) != 0) {
			log_err("cannot write '%s': %s", db, strerror(errno));
			unlink(tmp);
			return EXIT_FAIL;
		}
		{
			int dfd = open(dbdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (dfd != -1) {
				fsync(dfd);
				close(dfd);
			}
		}
		if (hosts.n > 0)
			printf("%zu records from %ld lines of the hosts in %s\n", written, vms, db);
		else
			printf("%zu records of %ld VM definitions in %s\n", written, vms, db);
	}
	close(lockfd);
	free(tmp);
	free(db);
	free(lockp);
	free(dbdir);
	strv_free(&lines);
	strv_free(&bases);
	strv_free(&hosts);
	paths_free(&paths);
	conf_free(&conf);
	return EXIT_OK;
}
