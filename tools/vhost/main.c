/*
 * ctys-vhost: the query tool of the file inventory (<dbdir>/enum.fdb), as the original's:
 * a query of regexes, F:, E:, AND, OR and NOT over the records of one or more databases,
 * the records found printed by the shared printer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "exitcodes.h"
#include "fdb.h"
#include "printer.h"
#include "query.h"
#include "scan.h"
#include "subopt.h"
#include "util.h"

#define BATCH		4096	/* MACHINE and TERSE rows printed at once */
#define AMBIG_SHOWN	20	/* records listed for an ambiguous UNIQUE */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ctys-vhost [-o OUTPUT[,...]] [-M MODE[,...]] [-p DBDIR[,DBDIR...]] [-d LEVEL]\n"
	    "                  [--] [QUERY...]\n"
	    "       ctys-vhost -h | -V\n"
	    "QUERY: terms that must all match (AND); OR between them, NOT before one:\n"
	    "  REGEX           a POSIX extended regex on the whole record line\n"
	    "  F:<n>:<regex>   field n (1-47 or a name) matches   E:<n>:<m>  fields n, m equal\n"
	    "-M: FIRST LAST ALL (default) COMPLEMENT SORT USORT UNIQUE\n"
	    "-o: MACHINE TERSE JSON TITLE TITLEIDX TAB_GEN:<field>_<title>_<width>%%...\n"
	    "    SORT:<field>[%%DESC][%%UNIQUE] and the field switches: LABEL TCP MAC ...\n"
	    "    (field switches alone print TERSE, as the original did)\n"
	    "-p: the database directories (their enum.fdb), default db_dir of ctys.conf, else\n"
	    "    ~/.ctys/db/default\n");
}

/* The original's -o names that the printer knows by another; MAXKEY is several. */
static const struct {
	const char *from, *to;
} aliases[] = {
	{ "L", "LABEL" }, { "H", "HOST" }, { "ST", "STYPE" }, { "I", "ID" }, { "IDS", "ID" },
	{ "P", "PNAME" }, { "U", "UUID" }, { "M", "MAC" }, { "T", "TCP" }, { "IP", "TCP" },
	{ "O", "OS" }, { "S", "SPORT" }, { "SERVERACCESS", "SPORT" }, { "VNCPORT", "CPORT" },
	{ "VNCDISPLAY", "DISPLAY" }, { "DISP", "DISPLAY" }, { "CONTEXTSTRING", "CSTRG" },
	{ "USERSTRING", "USTRG" }, { "USERID", "UID" }, { "GROUPID", "GID" },
	{ "SERIALNUMBER", "SERNO" }, { "HYREL", "HYPERREL" }, { "HYRELRUN", "HYPERRELRUN" },
	{ "PFORM", "PLATFORM" }, { "EXEP", "EXEPATH" }, { "GW", "GATEWAY" },
	{ "VER", "VERSION" }, { "TITLEIDXASC", "TITLEIDX" }, { "TAB", "TAB_GEN" },
};
static const char *const maxkey[] = { "HOST", "STYPE", "LABEL", "ID", "UUID", "MAC" };

static void
subopt_push(struct subopt_list *l, const struct subopt *o)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = *o;
}

/*
 * The -o suboptions for the printer: the original's aliases resolved; field switches with
 * no MACHINE, TERSE, JSON or TAB_GEN print TERSE (the original's `-o MAC` gave bare values).
 */
static int
output_opts(const char *spec, struct pr_opts *o, char **cause)
{
	struct subopt_list in = { NULL, 0 }, so = { NULL, 0 };
	int rc, format = 0, fields = 0;

	memset(o, 0, sizeof *o);
	if (spec == NULL)
		return pr_opts_parse(&fdb_schema, &so, o, cause);
	if (subopt_parse(spec, &in, cause) != 0)
		return EXIT_USAGE;
	for (size_t i = 0; i < in.n; i++) {
		struct subopt *s = &in.v[i];

		if (subopt_key_is(s->key, "MAXKEY")) {
			for (size_t j = 0; j < nitems(maxkey); j++) {
				struct subopt n = { 0 };

				n.key = xstrdup(maxkey[j]);
				subopt_push(&so, &n);
			}
			s->used = 1;
			subopt_push(&so, s);
			fields = 1;
			continue;
		}
		for (size_t j = 0; j < nitems(aliases); j++)
			if (strcmp(s->key, aliases[j].from) == 0) {
				free(s->key);
				s->key = xstrdup(aliases[j].to);
				break;
			}
		if (subopt_key_is(s->key, "MACHINE|TERSE|JSON|TAB_GEN"))
			format = 1;
		else if (!subopt_key_is(s->key, "TITLE|TITLEIDX|SORT"))
			fields = 1;
		subopt_push(&so, s);
	}
	free(in.v);
	if (fields && !format) {
		struct subopt n = { 0 };

		n.key = xstrdup("TERSE");
		n.used = 1;
		subopt_push(&so, &n);
	}
	rc = pr_opts_parse(&fdb_schema, &so, o, cause);
	for (size_t i = 0; rc == 0 && i < so.n; i++)
		if (!so.v[i].used)
			rc = fail(cause, EXIT_USAGE, "-o: unknown output '%s' (MACHINE, TERSE, "
			    "JSON, TITLE, TITLEIDX, TAB_GEN, SORT, or a field: LABEL, TCP, MAC, "
			    "...; see ctys-vhost(1))", so.v[i].key);
	if (rc != 0)
		pr_opts_free(o);
	subopt_list_free(&so);
	return rc;
}

/* The fields the output shows or sorts by: only those are kept of each record. */
static void
output_needs(const struct pr_opts *o, char *need)
{
	const int *cols = o->cols[0] != -1 ? o->cols : fdb_schema.table;
	int all = o->format == PR_MACHINE || (o->format == PR_JSON && o->cols[0] == -1);

	for (int i = 0; i < FDB_NFIELDS; i++)
		need[i] = (char)all;
	for (int i = 0; cols[i] != -1; i++)
		if (cols[i] >= 0 && cols[i] < FDB_NFIELDS)
			need[cols[i]] = 1;
	if (o->sort >= 0 && o->sort < FDB_NFIELDS)
		need[o->sort] = 1;
}

struct run {
	struct query_mode mode;
	struct pr_opts out;
	char need[FDB_NFIELDS];
	int direct;		/* every hit goes out as it comes (no -M to apply) */
	int batch;		/* rows may be printed in batches (MACHINE, TERSE) */
	int raw;		/* MACHINE: a canonical line is printed as it is */
	int printed;		/* a batch went out (its title with it) */
	struct pr_rows rows;
	struct query_hit *hits;	/* else the hits, their lines copied: */
	size_t n, cap;
	char **blocks;		/* into these */
	size_t nblocks, used, size;
	char *last;		/* or, for LAST, into this */
	size_t lastcap;
};

/* A copy of the line of a hit that outlives the scan buffer. */
static const char *
keep_line(struct run *r, const char *s, size_t n)
{
	char *p;

	if (r->mode.pick == QM_LAST) {
		if (n + 1 > r->lastcap)
			r->last = xrealloc(r->last, r->lastcap = n + 1);
		memcpy(r->last, s, n);
		return r->last;
	}
	if (r->nblocks == 0 || r->used + n > r->size) {
		r->size = n > (1 << 20) ? n : (1 << 20);
		r->blocks = xreallocarray(r->blocks, r->nblocks + 1, sizeof *r->blocks);
		r->blocks[r->nblocks++] = xmalloc(r->size);
		r->used = 0;
	}
	p = r->blocks[r->nblocks - 1] + r->used;
	memcpy(p, s, n);
	r->used += n;
	return p;
}

/* Decodes a hit into a row of the fields needed. */
static void
row_add(struct run *r, const struct query_hit *h)
{
	const char *vals[FDB_NFIELDS];
	struct fdb_record rec;

	if (fdb_parse_line(h->line, h->len, &rec, NULL) != 0)
		return;		/* cannot be: the scan checked it */
	for (int i = 0; i < FDB_NFIELDS; i++)
		vals[i] = r->need[i] ? rec.f[i] : NULL;
	pr_rows_add(&r->rows, vals);
	fdb_record_clear(&rec);
}

static void
flush_rows(struct run *r)
{
	struct pr_opts o = r->out;

	if (r->printed)
		o.title = 0;
	pr_print(stdout, &fdb_schema, &o, &r->rows);
	pr_rows_free(&r->rows);
	r->printed = 1;
}

/*
 * The length of the MACHINE record of a line that is written the canonical way (every
 * backslash one of the three escapes, no NUL, no CR at the end): the line itself, less
 * the original's final `;` (an empty 48th field). 0 when the printer must re-encode it.
 */
static size_t
machine_raw(const char *s, size_t len)
{
	int semis = 0;

	if (len == 0 || s[len - 1] == '\r')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == ';')
			semis++;
		else if (s[i] == '\0')
			return 0;
		else if (s[i] == '\\') {
			if (i + 1 == len || (s[i + 1] != '\\' && s[i + 1] != ';' && s[i + 1] != 'n'))
				return 0;
			i++;
		}
	}
	return semis == FDB_NFIELDS ? len - 1 : len;
}

/* One record out (or into the rows the printer gets). */
static void
emit(struct run *r, const struct query_hit *h)
{
	size_t n;

	if (r->raw && (n = machine_raw(h->line, h->len)) > 0) {
		if (r->rows.n > 0 || !r->printed)
			flush_rows(r);	/* what came before, and the title */
		fwrite(h->line, 1, n, stdout);
		putchar('\n');
		return;
	}
	row_add(r, h);
	if (r->batch && r->rows.n == BATCH)
		flush_rows(r);
}

static int
on_hit(const struct query_hit *h, void *arg)
{
	struct run *r = arg;
	struct query_hit k = *h;

	if (r->direct) {
		emit(r, h);
		return 0;
	}
	k.line = keep_line(r, h->line, h->len);
	if (r->mode.pick == QM_LAST && r->n == 1) {
		r->hits[0] = k;
		return 0;
	}
	if (r->n == r->cap)
		r->hits = xreallocarray(r->hits, r->cap = r->cap ? r->cap * 2 : 64,
		    sizeof *r->hits);
	r->hits[r->n++] = k;
	return r->mode.pick == QM_FIRST;
}

static void
on_warn(const char *msg, void *arg)
{
	(void)arg;
	log_warn("%s", msg);
}

/* The query as typed, for messages. */
static char *
query_text(int argc, char **argv)
{
	char *s = xstrdup(""), *t;

	for (int i = 0; i < argc; i++) {
		t = xasprintf("%s%s%s", s, i ? " " : "", argv[i]);
		free(s);
		s = t;
	}
	return s;
}

/*
 * Adds the databases of a -p list (`,` or `:` between them): <dir>/enum.fdb, or a file.
 * Returns how many.
 */
static size_t
db_paths(struct strv *dbs, const char *list)
{
	char *copy = xstrdup(list), *save = NULL;
	size_t n = dbs->n;

	for (char *w = strtok_r(copy, ",:", &save); w != NULL; w = strtok_r(NULL, ",:", &save)) {
		struct stat st;

		if (stat(w, &st) == 0 && !S_ISDIR(st.st_mode))
			strv_add(dbs, w);
		else
			strv_addf(dbs, "%s/enum.fdb", w);
	}
	free(copy);
	return dbs->n - n;
}

int
main(int argc, char **argv)
{
	struct run r;
	struct strv dbs = { NULL, 0, 0 };
	struct vh_db *db = NULL;
	struct query *q = NULL;
	char *cause = NULL, *ospec = NULL, *qtext = NULL;
	size_t n;
	int c, rc = EXIT_OK, stopped = 0;
	double t0 = now_mono();

	log_prog = "ctys-vhost";
	memset(&r, 0, sizeof r);
	r.rows.nfields = FDB_NFIELDS;
	/* the original's other options are refused by name, not misread */
	while ((c = getopt(argc, argv, "+o:M:p:d:hVc:C:i:I:l:L:R:sS:T:wWx:X")) != -1) {
		switch (c) {
		case 'o':
			if (ospec == NULL)
				ospec = xstrdup(optarg);
			else {
				char *t = xasprintf("%s,%s", ospec, optarg);

				free(ospec);
				ospec = t;
			}
			break;
		case 'M':
			if ((rc = query_mode_parse(optarg, &r.mode, &cause)) != 0)
				goto out;
			break;
		case 'p':
			if (db_paths(&dbs, optarg) == 0) {
				rc = fail(&cause, EXIT_USAGE, "-p: no database in '%s'", optarg);
				goto out;
			}
			break;
		case 'd':
			if (!str_is_uint(optarg)) {
				rc = fail(&cause, EXIT_USAGE, "-d: not a level: '%s'", optarg);
				goto out;
			}
			log_level = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			goto out;
		case 'V':
			printf("ctys-vhost %s\n", CTYS_VERSION);
			goto out;
		case '?':
			usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		default:
			rc = fail(&cause, EXIT_USAGE, "-%c of the original ctys-vhost is not "
			    "supported", c);
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "-M") == 0 ||
		    strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "-d") == 0)
			log_warn("'%s' after the query is a regular expression; options go first",
			    argv[i]);
	if ((rc = output_opts(ospec, &r.out, &cause)) != 0)
		goto out;
	output_needs(&r.out, r.need);
	if ((q = query_parse(argc, argv, &cause)) == NULL) {
		rc = EXIT_USAGE;
		goto out;
	}
	qtext = query_text(argc, argv);
	if (log_level > 0) {
		char *d = query_describe(q, 1);

		log_debug(1, "query: %s", d);
		free(d);
	}
	if (dbs.n == 0) {
		/* the configuration's db_dir (ctys.conf(5)), as ctys-vdbgen writes it */
		struct conf conf;
		char *dir = NULL;

		if (conf_load(&conf, &cause) != 0) {
			log_err("%s", cause);
			conf_free(&conf);
			return EXIT_USAGE;
		}
		if (conf.db_dir != NULL)
			dir = xstrdup(conf.db_dir);
		else
			dir = xasprintf("%s/.ctys/db/default", getenv("HOME") ? getenv("HOME") : "");
		strv_addf(&dbs, "%s/enum.fdb", dir);
		free(dir);
		conf_free(&conf);
	}
	db = xcalloc(dbs.n, sizeof *db);
	for (size_t i = 0; i < dbs.n; i++)
		db[i].fd = -1;
	for (size_t i = 0; i < dbs.n; i++)
		if ((rc = vh_db_open(&db[i], dbs.v[i], &cause)) != 0)
			goto out;
	/* every hit in file order: out as it comes; MACHINE and TERSE in batches */
	r.direct = r.mode.pick == QM_ALL && r.mode.sort == QM_UNSORTED && !r.mode.unique;
	r.batch = (r.out.format == PR_MACHINE || r.out.format == PR_TERSE) && r.out.sort == -1;
	r.raw = r.batch && r.out.format == PR_MACHINE;
	for (size_t i = 0; i < dbs.n && !stopped; i++) {
		struct vh_scan sc = { q, r.mode.complement, on_hit, &r, on_warn, NULL, 0, 0, 0, 0 };
		double t1 = now_mono();

		if ((stopped = vh_scan(&db[i], &sc)) == -1) {
			rc = fail(&cause, EXIT_FAIL, "reading '%s': %s", db[i].path,
			    strerror(errno));
			goto out;
		}
		log_debug(1, "%s: %ld lines, %ld records, %ld bad, %ld %s in %.3f s", db[i].path,
		    sc.lines, sc.records, sc.bad, sc.hits, r.mode.complement ? "not matching" :
		    "matching", now_mono() - t1);
	}
	if (query_errors(q) != 0)
		log_warn("%lu regex matches failed (a PCRE2 limit) and counted as no match",
		    query_errors(q));
	if (r.direct) {
		if (r.rows.n > 0 || !r.printed)
			flush_rows(&r);
	} else {
		n = r.n;
		rc = query_reduce(&r.mode, r.hits, &n);
		if (rc == EXIT_NOTFOUND) {
			fail(&cause, rc, "no record %s '%s'", r.mode.complement ? "fails" :
			    "matches", qtext);
			goto out;
		}
		if (rc == EXIT_AMBIGUOUS) {
			log_err("'%s' %s %zu records, UNIQUE wants one:", qtext,
			    r.mode.complement ? "fails" : "matches", n);
			for (size_t i = 0; i < n && i < AMBIG_SHOWN; i++)
				fprintf(stderr, "  %s:%ld: %.*s\n", r.hits[i].path,
				    r.hits[i].lineno, (int)r.hits[i].len, r.hits[i].line);
			if (n > AMBIG_SHOWN)
				fprintf(stderr, "  ... and %zu more\n", n - AMBIG_SHOWN);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			emit(&r, &r.hits[i]);
		if (r.rows.n > 0 || !r.printed)
			flush_rows(&r);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		rc = fail(&cause, EXIT_FAIL, "writing the output: %s", strerror(errno));
		goto out;
	}
	log_debug(1, "done in %.3f s", now_mono() - t0);
out:
	if (cause != NULL)
		log_err("%s", cause);
	free(cause);
	free(ospec);
	free(qtext);
	query_free(q);
	for (size_t i = 0; db != NULL && i < dbs.n; i++)
		vh_db_close(&db[i]);
	free(db);
	strv_free(&dbs);
	free(r.hits);
	for (size_t i = 0; i < r.nblocks; i++)
		free(r.blocks[i]);
	free(r.blocks);
	free(r.last);
	pr_rows_free(&r.rows);
	pr_opts_free(&r.out);
	return rc;
}
