/*
 * The query language of ctys-vhost (inventory/query.c): parsing and precedence, errors,
 * matching raw lines and decoded fields (escaped `;`), the ERE -> PCRE2 translation against
 * glibc's own matcher, the record check, and the -M modes.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "fdb.h"
#include "query.h"
#include "t.h"
#include "util.h"

/* Splits s at spaces into argv (no quoting: the tests need none). */
static int
split(char *s, char **argv, int max)
{
	int n = 0;

	for (char *w = strtok(s, " "); w != NULL && n < max; w = strtok(NULL, " "))
		argv[n++] = w;
	return n;
}

/* The tree of a query, or "ERR: <why>". */
static char *
tree(const char *text)
{
	char *copy = xstrdup(text), *argv[32], *why = NULL, *out;
	int argc = split(copy, argv, 32);
	struct query *q = query_parse(argc, argv, &why);

	if (q == NULL)
		out = xasprintf("ERR: %s", why);
	else
		out = query_describe(q, 0);
	query_free(q);
	free(why);
	free(copy);
	return out;
}

#define T_TREE(text, want) do { \
	char *t_t = tree(text); \
	T_STREQ(t_t, want); \
	free(t_t); \
} while (0)

/* An error whose text contains want. */
#define T_ERR(text, want) do { \
	char *t_t = tree(text); \
	if (strncmp(t_t, "ERR: ", 5) == 0 && strstr(t_t, want) != NULL) t_pass++; \
	else { t_fail++; fprintf(stderr, "%s:%d: FAILED: '%s' gave '%s', wanted an error " \
	    "with '%s'\n", __FILE__, __LINE__, text, t_t, want); } \
	free(t_t); \
} while (0)

static void
test_parse(void)
{
	T_TREE("", "TRUE");
	T_TREE("web", "/web/");
	T_TREE("a b", "(/a/ & /b/)");
	T_TREE("a AND b", "(/a/ & /b/)");
	T_TREE("a b c", "((/a/ & /b/) & /c/)");
	T_TREE("a OR b c", "(/a/ | (/b/ & /c/))");
	T_TREE("a b OR c", "((/a/ & /b/) | /c/)");
	T_TREE("a OR b OR c", "((/a/ | /b/) | /c/)");
	T_TREE("a AND b OR c AND d", "((/a/ & /b/) | (/c/ & /d/))");
	T_TREE("NOT a b", "(!/a/ & /b/)");
	T_TREE("a NOT b", "(/a/ & !/b/)");
	T_TREE("a OR NOT b", "(/a/ | !/b/)");
	T_TREE("NOT a OR b", "(!/a/ | /b/)");
	T_TREE("NOT NOT a", "!!/a/");
	T_TREE("a or b and not c", "(/a/ | (/b/ & !/c/))");	/* keywords: any case */
	T_TREE("F:3:web", "F3/web/");
	T_TREE("f:LABEL:^web$", "F3/^web$/");
	T_TREE("F:6:00:50:56", "F6/00:50:56/");	/* the regex may hold ':' */
	T_TREE("F:47:", "F47//");
	T_TREE("E:1:28", "E1=28");
	T_TREE("e:host:netname", "E1=28");
	T_TREE("NOT F:2:PM E:1:28", "(!F2/PM/ & E1=28)");

	T_ERR("OR a", "'OR' needs a term before it");
	T_ERR("AND a", "'AND' needs a term before it");
	T_ERR("a OR", "'OR' at the end");
	T_ERR("a AND", "'AND' needs a term after it");
	T_ERR("a AND OR b", "'AND' needs a term after it");
	T_ERR("a OR OR b", "'OR' needs a term after it");
	T_ERR("a OR AND b", "'OR' needs a term after it");
	T_ERR("NOT", "'NOT' at the end");
	T_ERR("a NOT", "'NOT' at the end");
	T_ERR("a(", "'a(': unmatched ( or \\(");
	T_ERR("*a", "'*a': invalid preceding regular expression");
	T_ERR("[a", "unmatched [");
	T_ERR("a{1", "unmatched \\{");
	T_ERR("x\\", "trailing backslash");
	T_ERR("F:3", "'F:3': expected F:<field>:<regex>");
	T_ERR("F:48:x", "'F:48:x': no field '48' (1 to 47");
	T_ERR("F:0:x", "no field '0'");
	T_ERR("F::x", "no field ''");
	T_ERR("F:lable:x", "no field 'lable'");
	T_ERR("F:3:(", "'F:3:(': unmatched (");
	T_ERR("E:1", "'E:1': expected E:<field>:<field>");
	T_ERR("E:1:99", "no field '99'");
	T_ERR("E:1:", "no field ''");
	T_ERR("E:1:2:3", "no field '2:3'");
}

/* A record line: the fields given (already encoded), the rest empty, ending in `;`. */
static char *
line(const char *const *f, size_t n)
{
	char *s = xstrdup(""), *t;

	for (size_t i = 0; i < FDB_NFIELDS; i++) {
		t = xasprintf("%s%s;", s, i < n && f[i] != NULL ? f[i] : "");
		free(s);
		s = t;
	}
	return s;
}

static char *rec_a, *rec_b, *rec_long;

/* Whether the query matches the line, evaluated on the raw line and on a decoded record
 * (the two must agree). */
static int
matches(const char *text, const char *ln)
{
	char *copy = xstrdup(text), *argv[32], *why = NULL;
	int argc = split(copy, argv, 32), m1, m2;
	struct query *q = query_parse(argc, argv, &why);
	struct fdb_record r;

	if (q == NULL) {
		fprintf(stderr, "query '%s': %s\n", text, why);
		free(why);
		free(copy);
		return -1;
	}
	m1 = query_match(q, ln, strlen(ln), NULL);
	if (fdb_parse_line(ln, strlen(ln), &r, NULL) != 0)
		m2 = m1;
	else {
		m2 = query_match(q, ln, strlen(ln), &r);
		fdb_record_clear(&r);
	}
	query_free(q);
	free(copy);
	if (m1 != m2) {
		fprintf(stderr, "query '%s': raw %d, decoded %d\n", text, m1, m2);
		return -2;
	}
	return m1;
}

static void
test_match(void)
{
	const char *a[] = { "lab1", "QEMU", "web\\;1", "/vm/web1/web1.ctys",
	    "11111111-2222-3333-4444-555555555555", "00:50:56:13:11:30", "10.0.0.1",
	    [18] = "ACTIVE", [27] = "lab1", [42] = "line1\\nline2" };
	const char *b[] = { "lab2", "QEMU", "db\\\\x", "/vm/db.ctys", [18] = "DISABLED",
	    [27] = "other", [29] = "KVM", [46] = "VNC" };
	char big[2000], *lf[FDB_NFIELDS] = { 0 };

	rec_a = line(a, nitems(a));
	rec_b = line(b, nitems(b));
	/* a label longer than the stack buffer of a decoded field, with escapes */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big + 1000, "\\;", 2);
	lf[0] = "lab3";
	lf[2] = big;
	lf[5] = "00:50:56:13:11:33";
	rec_long = line((const char *const *)lf, FDB_NFIELDS);

	T_INTEQ(matches("", rec_a), 1);
	T_INTEQ(matches("lab1", rec_a), 1);
	T_INTEQ(matches("lab1", rec_b), 0);
	/* the raw line has the escape, the decoded field does not */
	T_INTEQ(matches("web\\\\;1", rec_a), 1);
	T_INTEQ(matches("web;1", rec_a), 0);
	T_INTEQ(matches("F:3:^web;1$", rec_a), 1);
	T_INTEQ(matches("F:label:^web\\\\;1$", rec_a), 0);
	T_INTEQ(matches("F:3:^db\\\\x$", rec_b), 1);	/* `\\` decodes to one backslash */
	T_INTEQ(matches("F:43:^line1", rec_a), 1);	/* `\n` decodes to a newline */
	T_INTEQ(matches("F:43:line1$", rec_a), 0);	/* $ is the end of the value only */
	T_INTEQ(matches("F:43:line1.line2", rec_a), 1);
	T_INTEQ(matches("F:4:web1", rec_a), 1);
	T_INTEQ(matches("F:3:web1", rec_a), 0);
	T_INTEQ(matches("F:5:^$", rec_b), 1);		/* an empty field */
	T_INTEQ(matches("F:47:^VNC$", rec_b), 1);	/* the last field, before the final `;` */
	T_INTEQ(matches("F:6:00:50:56:13:11:30", rec_a), 1);
	T_INTEQ(matches("E:1:28", rec_a), 1);
	T_INTEQ(matches("E:1:28", rec_b), 0);
	T_INTEQ(matches("E:10:11", rec_a), 1);		/* both empty */
	T_INTEQ(matches("E:1:2", rec_a), 0);
	T_INTEQ(matches("NOT lab1", rec_a), 0);
	T_INTEQ(matches("NOT lab1", rec_b), 1);
	T_INTEQ(matches("lab1 ACTIVE", rec_a), 1);
	T_INTEQ(matches("lab1 DISABLED", rec_a), 0);
	T_INTEQ(matches("lab1 DISABLED OR KVM", rec_a), 0);
	T_INTEQ(matches("lab1 DISABLED OR KVM", rec_b), 1);
	T_INTEQ(matches("lab2 OR ACTIVE NOT E:1:28", rec_a), 0);
	T_INTEQ(matches("QEMU NOT F:3:web", rec_b), 1);
	T_INTEQ(matches("Lab1", rec_a), 0);		/* case-sensitive */
	T_INTEQ(matches("F:label:^x{1000};x{997}$", rec_long), 1);
	T_INTEQ(matches("F:label:^x{999};", rec_long), 0);
	T_INTEQ(matches("F:3:^x*;x*$", rec_long), 1);
	T_INTEQ(matches("E:3:3 F:6:33$", rec_long), 1);
	/* a short or broken line: missing fields are empty */
	{
		struct query *q;
		char *argv[] = { "F:5:^$" }, *why = NULL;

		q = query_parse(1, argv, &why);
		T_CHECK(q != NULL);
		T_INTEQ(query_match(q, "a;b", 3, NULL), 1);
		T_INTEQ(query_match(q, "a;b;c;d;e\r\n", 11, NULL), 0);
		T_INTEQ(query_match(q, NULL, 0, NULL), 1);
		query_free(q);
	}
}

/* The ERE through PCRE2 (the query) and through glibc's regexec agree on s. */
static void
agree(const char *ere, const char *s, int want)
{
	char *argv[1] = { (char *)ere }, *why = NULL;
	struct query *q = query_parse(1, argv, &why);
	regex_t re;
	int g, p;

	if (q == NULL) {
		t_fail++;
		fprintf(stderr, "FAILED: '%s': %s\n", ere, why);
		free(why);
		return;
	}
	T_INTEQ(regcomp(&re, ere, REG_EXTENDED | REG_NOSUB), 0);
	g = regexec(&re, s, 0, NULL, 0) == 0;
	p = query_match(q, s, strlen(s), NULL);
	if (g == want && p == want)
		t_pass++;
	else {
		char *d = query_describe(q, 1), *pc = query_ere_to_pcre(ere, &why);

		t_fail++;
		fprintf(stderr, "FAILED: '%s' on '%s': glibc %d, query %d, want %d (%s, %s)\n",
		    ere, s, g, p, want, d, pc ? pc : why);
		free(d);
		free(pc);
		free(why);
	}
	regfree(&re);
	query_free(q);
}

static void
test_ere(void)
{
	char *why = NULL, *p;

	agree("a**", "aaa", 1);
	agree("a*+b", "b", 1);
	agree("xa*+a", "xa", 1);	/* not PCRE2's possessive a*+ */
	agree("^a{2}{3}$", "aaaaaa", 1);
	agree("^a{2}{3}$", "aaaaa", 0);
	agree("^a{,2}b", "aab", 1);
	agree("^a{,2}b", "aaab", 0);
	agree("^a{,}b", "aaab", 1);
	agree("^x{0}y", "y", 1);
	agree("a+?c", "aac", 1);
	agree("[]a]", "]", 1);
	agree("[^]a]", "]a", 0);
	agree("[a-]", "-", 1);
	agree("[\\]", "\\", 1);
	agree("[\\n]", "n", 1);
	agree("[\\n]", "\n", 0);
	agree("^[[:alpha:]]+$", "abcXYZ", 1);
	agree("^[[:alpha:]]+$", "abc1", 0);
	agree("[[:space:]]", "\v", 1);
	agree("[[.-.]]", "-", 1);
	agree("[[=a=]]", "a", 1);
	agree("[]-a]", "^", 1);
	agree("[--z]", "a", 1);
	agree("[%--]", ",", 1);
	agree("\\<web\\>", "a web b", 1);
	agree("\\<web\\>", "webs", 0);
	agree("\\bweb\\b", "x;web;", 1);
	agree("\\Bweb", "aweb", 1);
	agree("^\\w+$", "a_1", 1);
	agree("\\W", "abc", 0);
	agree("\\s", "a b", 1);
	agree("\\S", " ", 0);
	agree("\\d", "d", 1);		/* glibc: an escaped ordinary character is itself */
	agree("\\d", "1", 0);
	agree("a)", "a)", 1);		/* an unmatched ')' is itself */
	agree("()", "", 1);
	agree("a||b", "b", 1);
	agree("(|a)+b", "b", 1);
	agree("\\`ab", "abc", 1);
	agree("\\`b", "ab", 0);
	agree("b\\'", "ab", 1);
	agree("(^a)", "ab", 1);
	agree("a^b", "a^b", 0);
	agree("a$b", "a$b", 0);
	agree("a\\$b", "a$b", 1);
	agree("^$", "", 1);
	agree("a.c", "a\nc", 1);	/* '.' matches a newline (no REG_NEWLINE) */
	agree("line1$", "line1\n", 0);
	agree("x(a|b)*y", "xababy", 1);
	agree("a{1}{2}", "aa", 1);
	agree("(a*)*", "b", 1);
	agree("(a+|b)*c", "abac", 1);
	agree("\\{", "{", 1);
	agree("}", "}", 1);
	agree("a]", "a]", 1);
	agree("#x", "#x", 1);
	agree("é", "café", 1);
	agree("caf.$", "caf\xc3", 1);	/* bytes, not characters */
	/* back-references: no PCRE2 translation, glibc matches them */
	agree("(a)\\1", "aa", 1);
	agree("(a)\\1", "ab", 0);
	p = query_ere_to_pcre("(a)\\1", &why);
	T_CHECK(p == NULL);
	T_STREQ(why, "a back-reference");
	free(why);
	why = NULL;
	{
		char *argv[] = { "(a)\\1" }, *d;
		struct query *q = query_parse(1, argv, &why);

		d = query_describe(q, 1);
		T_STREQ(d, "/(a)\\1/[posix: a back-reference]");
		free(d);
		query_free(q);
	}
	p = query_ere_to_pcre("a**", &why);
	T_STREQ(p, "(?:a*)*");
	free(p);
	p = query_ere_to_pcre("^(a|b.)[^]x-z]{,3}\\<", &why);
	T_STREQ(p, "^(a|b[^\\x{00}])[^\\]x-z]{0,3}\\b(?=\\w)");
	free(p);
}

static void
test_line_ok(void)
{
	const char *ok[] = { rec_a, rec_b, rec_long };
	struct fdb_record r;
	char *s;

	for (size_t i = 0; i < nitems(ok); i++) {
		T_INTEQ(query_line_ok(ok[i], strlen(ok[i])), 1);
		/* without the final `;`: 47 fields too; with one more: 48, the last not empty */
		s = xstrndup(ok[i], strlen(ok[i]) - 1);
		T_INTEQ(query_line_ok(s, strlen(s)), 1);
		free(s);
		s = xasprintf("%sx", ok[i]);
		T_INTEQ(query_line_ok(s, strlen(s)), 0);
		T_INTEQ(fdb_parse_line(s, strlen(s), &r, NULL), -1);
		free(s);
		s = xasprintf("%s\r", ok[i]);
		T_INTEQ(query_line_ok(s, strlen(s)), 1);
		free(s);
	}
	T_INTEQ(query_line_ok("a;b;c", 5), 0);
	T_INTEQ(query_line_ok("", 0), 0);
	/* an escaped `;` is no separator (s: the first 46 fields) */
	s = xstrdup(rec_b);
	*strrchr(s, ';') = '\0';
	*strrchr(s, ';') = '\0';
	{
		char *t = xasprintf("%s\\;x", s);

		T_INTEQ(query_line_ok(t, strlen(t)), 0);	/* 46 fields */
		T_INTEQ(fdb_parse_line(t, strlen(t), &r, NULL), -1);
		free(t);
		t = xasprintf("%s;a\\;b", s);
		T_INTEQ(query_line_ok(t, strlen(t)), 1);
		T_INTEQ(fdb_parse_line(t, strlen(t), &r, NULL), 0);
		fdb_record_clear(&r);
		free(t);
	}
	free(s);
}

/* Hits from lines "c a b a": their order after the mode, as a string. */
static int
reduce(const char *mode, const char *lines, char *out, size_t outlen)
{
	struct query_mode m = { 0 };
	struct query_hit v[16];
	size_t n = 0, len = 0;
	char *why = NULL;
	int rc;

	if (*mode != '\0' && query_mode_parse(mode, &m, &why) != 0) {
		snprintf(out, outlen, "ERR: %s", why);
		free(why);
		return -1;
	}
	for (const char *p = lines; *p != '\0' && n < nitems(v); p++) {
		if (*p == ' ')
			continue;
		v[n].line = p;
		v[n].len = 1;
		v[n].path = "db";
		v[n].lineno = (long)n + 1;
		n++;
	}
	rc = query_reduce(&m, v, &n);
	out[0] = '\0';
	for (size_t i = 0; i < n && len + 8 < outlen; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%s%c%ld", i ? " " : "",
		    *v[i].line, v[i].lineno);
	return rc;
}

#define T_REDUCE(mode, lines, wantrc, want) do { \
	char t_o[128]; \
	T_INTEQ(reduce(mode, lines, t_o, sizeof t_o), wantrc); \
	T_STREQ(t_o, want); \
} while (0)

static void
test_modes(void)
{
	struct query_mode m = { 0 };
	char *why = NULL;

	T_REDUCE("", "c a b a", 0, "c1 a2 b3 a4");
	T_REDUCE("ALL", "c a b a", 0, "c1 a2 b3 a4");
	T_REDUCE("FIRST", "c a b a", 0, "c1");
	T_REDUCE("first", "c a b a", 0, "c1");
	T_REDUCE("LAST", "c a b a", 0, "a4");
	T_REDUCE("SORT", "c a b a", 0, "a2 a4 b3 c1");	/* stable */
	T_REDUCE("USORT", "c a b a", 0, "a2 b3 c1");
	T_REDUCE("COMPLEMENT", "c a", 0, "c1 a2");	/* the scan chose the lines */
	T_REDUCE("LAST,SORT", "c a b", 0, "b3");
	T_REDUCE("FIRST", "", 0, "");
	T_REDUCE("UNIQUE", "b", 0, "b1");
	T_REDUCE("UNIQUE", "b b b", 0, "b1");		/* the same record, several times */
	T_REDUCE("UNIQUE", "b a", EXIT_AMBIGUOUS, "b1 a2");
	T_REDUCE("UNIQUE", "", EXIT_NOTFOUND, "");
	T_REDUCE("UNIQUE,FIRST", "b a", 0, "b1");
	T_REDUCE("UNIQUE,USORT", "b a b", EXIT_AMBIGUOUS, "a2 b1");
	T_REDUCE("ALL,SORT,COMPLEMENT", "b a", 0, "a2 b1");
	T_REDUCE("FIRST,LAST", "a", -1, "ERR: -M: FIRST and LAST exclude each other");
	T_REDUCE("SORT,USORT", "a", -1, "ERR: -M: SORT and USORT exclude each other");
	T_REDUCE("BEST", "a", -1, "ERR: -M: unknown mode 'BEST' (FIRST, LAST, ALL, "
	    "COMPLEMENT, SORT, USORT, UNIQUE)");
	T_REDUCE(",", "a", -1, "ERR: -M: no mode given");
	T_INTEQ(query_mode_parse("COMPLEMENT,UNIQUE,LAST,USORT", &m, &why), 0);
	T_CHECK(m.complement && m.unique && m.pick == QM_LAST && m.sort == QM_USORT);
	/* a long line sorts after its prefix */
	{
		struct query_hit v[2] = { { "ab", 2, "db", 1, }, { "a", 1, "db", 2 } };
		size_t n = 2;

		m = (struct query_mode){ QM_ALL, 0, QM_SORT, 0 };
		T_INTEQ(query_reduce(&m, v, &n), 0);
		T_INTEQ(v[0].lineno, 2);
	}
}

int
main(void)
{
	test_parse();
	test_match();
	test_ere();
	test_line_ok();
	test_modes();
	free(rec_a);
	free(rec_b);
	free(rec_long);
	return t_done();
}
