/*
 * The query language of ctys-vhost over the file inventory (enum.fdb), pure: compiled once,
 * evaluated per record. Each argument is one term:
 *
 *   <regex>          a POSIX extended regular expression, matched against the whole raw
 *                    line (escapes and all, as the original grepped it)
 *   F:<n>:<regex>    field n (1-based, or a field name of fdb_schema) decoded, matches
 *   E:<n>:<m>        fields n and m, decoded, are equal
 *   NOT <term>       prefix, binds tightest
 *   <t> [AND] <t>    successive terms AND (the keyword may be left out)
 *   <t> OR <t>       lowest precedence; no parentheses (the original had none)
 *
 * Keywords and the F:/E: prefixes are case-insensitive, as in the original; matching is
 * case-sensitive and byte-wise (the C locale). No terms: every record matches.
 */
#ifndef CTYS_QUERY_H
#define CTYS_QUERY_H

#include <stddef.h>

#include "fdb.h"

struct query;

/* Compiles argv[0..argc). NULL with *why ("'F:99:x': no field 99 (1 to 47)") on error. */
struct query *query_parse(int argc, char **argv, char **why);
/*
 * Evaluates the query on one raw line (no newline; len bytes, need not be NUL-terminated).
 * F: and E: read the decoded fields of r, or, with r NULL, of the line itself (no
 * allocation unless a field has escapes and is long). 1 when it matches, 0 when not.
 * Not thread-safe: the compiled regexes share match state.
 */
int query_match(const struct query *, const char *line, size_t len,
    const struct fdb_record *r);
void query_free(struct query *);
/* The query as a tree, for -d and the tests: `(/a/ | (/b/ & !F3/c/))`, `E3=4`, `TRUE`;
 * with verbose each regex is followed by its engine: `/a/[pcre2-jit]`. */
char *query_describe(const struct query *, int verbose);
/* Regex matches that failed with an error (a PCRE2 resource limit): counted as no match. */
unsigned long query_errors(const struct query *);

/*
 * A POSIX extended regular expression (one glibc's regcomp accepted) as the PCRE2 pattern
 * that matches the same lines (compile it with PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY). NULL
 * with *why for what has no exact translation (back-references, a collating element of
 * more than one character, ...): those are matched by glibc's regexec instead.
 */
char *query_ere_to_pcre(const char *ere, char **why);

/*
 * Whether a raw line (no newline) is a record of 47 fields, as fdb_parse_line decides it,
 * without decoding it or allocating: 16 bytes at a time, for the scan of a large file.
 */
int query_line_ok(const char *line, size_t len);

/* -M: which records, in which order. */
enum { QM_ALL, QM_FIRST, QM_LAST };
enum { QM_UNSORTED, QM_SORT, QM_USORT };
struct query_mode {
	int pick;		/* QM_ALL, QM_FIRST, QM_LAST */
	int complement;		/* the records that do not match */
	int sort;		/* QM_SORT: by the whole line; QM_USORT: and unique */
	int unique;		/* exactly one record expected */
};
/* Adds the comma list s (FIRST, LAST, ALL, COMPLEMENT, SORT, USORT, UNIQUE; any case) to
 * *m (zeroed by the caller: ALL). EXIT_USAGE with *why for an unknown or conflicting one. */
int query_mode_parse(const char *s, struct query_mode *m, char **why);

/* A record found: its raw line (no newline), where it is. */
struct query_hit {
	const char *line;
	size_t len;
	const char *path;
	long lineno;
};
/*
 * Applies the mode to the hits (the matching records, or with COMPLEMENT the others, in
 * the order read): FIRST/LAST keep one, SORT/USORT order them by the line's bytes (USORT
 * drops repeated lines), UNIQUE wants exactly one distinct line (repeats of the same line
 * count once and are dropped). Returns 0, EXIT_NOTFOUND (UNIQUE, nothing) or
 * EXIT_AMBIGUOUS (UNIQUE, several: the hits are left for the caller to list).
 */
int query_reduce(const struct query_mode *, struct query_hit *v, size_t *n);

#endif
