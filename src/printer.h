/*
 * The one printer of every listing (LIST, SHOW; ENUMERATE and ctys-vhost later): a table
 * of string records rendered as the default table, MACHINE (the fields in the schema's
 * machine order, `;`-separated, one record a line), TERSE (the chosen fields,
 * `;`-separated, no header), TITLE/TITLEIDX (a header line, with field indexes), TAB_GEN
 * (chosen fields with given titles and widths), the field switches, SORT and JSON (an
 * array of objects keyed by the fields' names).
 *
 * Separator encoding, the same everywhere: in `;`-separated output a value's `\` is
 * written `\\`, `;` as `\;`, a newline as `\n` (the original ctys never wrote a
 * backslash, and `%` already means something in its IP values). pr_decode undoes it.
 * Table cells wider than their column are cut, ending in `~`; JSON gets raw values.
 */
#ifndef CTYS_PRINTER_H
#define CTYS_PRINTER_H

#include <stddef.h>
#include <stdio.h>

#include "record.h"
#include "subopt.h"

struct pr_field {
	const char *name;	/* JSON key and TAB_GEN/SORT name: "label" (lower case) */
	const char *title;	/* column title: "Label" */
	const char *sw;		/* field switch suboption(s) selecting it: "LABEL" or
				   "ID|PNAME"; NULL: none */
	int width;		/* default table width; 0: as wide as the widest value */
	int numeric;		/* sorts numerically, JSON number when it parses */
};

struct pr_schema {
	const struct pr_field *fields;
	size_t nfields;
	const int *table;	/* default table columns (indexes), -1 terminated */
	const int *machine;	/* MACHINE record order, -1 terminated (-2: an empty field) */
};

/* What a listing prints: parsed from the action's suboptions. */
struct pr_opts {
	int format;		/* PR_TABLE (default), PR_MACHINE, PR_TERSE, PR_JSON */
	int title;		/* 0, 1 TITLE (header), 2 TITLEIDX (header with indexes) */
	int cols[64];		/* chosen columns (field switches or TAB_GEN), -1 ended */
	int widths[64];		/* TAB_GEN widths (0: default) */
	char *titles[64];	/* TAB_GEN titles (NULL: the field's) */
	int sort;		/* SORT: column index, -1 none */
	int sort_desc;		/* SORT:<name>%DESC or %R */
	int sort_unique;	/* SORT:<name>%UNIQUE: one line per distinct value */
};
enum { PR_TABLE, PR_MACHINE, PR_TERSE, PR_JSON };

/*
 * Takes the printer's suboptions (MACHINE, TERSE, JSON, TITLE, TITLEIDX, TAB_GEN:..,
 * SORT:.., and every field switch of the schema) from so, marking them used. Returns 0,
 * or EXIT_USAGE with *cause ("TAB_GEN: no field 'labl' (label, id, ...)").
 */
int pr_opts_parse(const struct pr_schema *, struct subopt_list *so, struct pr_opts *,
    char **cause);
void pr_opts_free(struct pr_opts *);

/* A growing set of records, each nfields strings (NULL: empty). */
struct pr_rows {
	char ***v;
	size_t n;
	size_t nfields;
};
/* Appends a row; vals[i] are copied. */
void pr_rows_add(struct pr_rows *, const char *const *vals);
void pr_rows_free(struct pr_rows *);

/* Renders the rows (sorted as asked) to f. */
void pr_print(FILE *f, const struct pr_schema *, const struct pr_opts *,
    const struct pr_rows *);

#endif
