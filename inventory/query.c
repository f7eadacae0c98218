/*
 * The query language of ctys-vhost (query.h): parsed once into a tree, evaluated per line.
 *
 * The regex engine, chosen by measurement (1,000,000 generated records of 47 fields, 428 MB,
 * in the page cache; one core of the 2-core development VM; per-line matching, the time
 * of the matching loop alone; GNU grep 3.8 -E over the same file for reference):
 *
 *   pattern                           glibc regexec   PCRE2 JIT   grep -E
 *   vm0999999                         0.53 s          0.11 s      0.29 s
 *   vm099999[0-9];                    0.43 s          0.09 s      0.16 s
 *   user string 99999[89]             0.51 s          0.05 s      0.13 s
 *   10\.15\.66\.(6[0-3])              0.88 s          0.08 s      0.22 s
 *   vm(0000001|0500000|0999999);      0.69 s          0.17 s      0.55 s
 *   debian;12;Linux.*SN000000;        0.88 s          0.10 s      0.39 s
 *
 * glibc alone is 1.3 to 4 times slower than grep; PCRE2 with its JIT is 4 to 11 times
 * faster than glibc, and faster than grep. A literal prefilter (memmem of the longest
 * literal, then the regex on the lines found) helped glibc when the literal is rare (0.08 s
 * for the first) but cost up to 0.86 s when it is a common prefix ("user string "), and
 * gave PCRE2 nothing it does not do itself (its start-of-match optimizations search for a
 * first or required byte): no prefilter. The whole of `ctys-vhost -o MACHINE <regex>` on
 * these takes 0.13 to 0.19 s, where grep -E takes 0.13 to 0.39 s.
 *
 * So the patterns stay POSIX EREs (what the original's awk and grep took), checked by
 * glibc's regcomp (its error messages; what it refuses is refused), then translated to the
 * equivalent PCRE2 pattern (query_ere_to_pcre) and matched with the JIT. The few EREs without
 * an exact translation (back-references, which POSIX EREs do not even have) are matched by
 * glibc's regexec. The fuzz target fuzz_query checks that both engines agree.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "query.h"

#include <pcre2.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exitcodes.h"
#include "util.h"

struct rx {
	pcre2_code *code;	/* NULL: glibc's regexec on posix */
	pcre2_match_data *md;
	int jit;
	regex_t posix;
	int have_posix;
	char *why;		/* why not PCRE2 */
	unsigned long errors;
};

enum { Q_TRUE, Q_RE, Q_FIELD, Q_EQ, Q_NOT, Q_AND, Q_OR };

struct qnode {
	int type;
	int f1, f2;		/* 0-based fields of F: and E: */
	char *text;		/* the regex as given */
	struct rx rx;
	struct qnode *a, *b;
};

struct query {
	struct qnode *root;
	pcre2_match_context *mc;
	pcre2_jit_stack *js;
};

/* ------------------------------------------------------------------ ERE -> PCRE2 */

struct obuf {
	char *s;
	size_t n, cap;
};

static void
ob_putn(struct obuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		while (b->n + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 64;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void
ob_puts(struct obuf *b, const char *s)
{
	ob_putn(b, s, strlen(s));
}

static void
ob_insert(struct obuf *b, size_t at, const char *s)
{
	size_t n = strlen(s);

	ob_putn(b, s, n);	/* grows; the bytes are moved into place below */
	memmove(b->s + at + n, b->s + at, b->n - n - at);
	memcpy(b->s + at, s, n);
}

/* One byte as a PCRE2 literal, inside a class or not. */
static void
ob_lit(struct obuf *b, unsigned char c)
{
	char buf[8];

	if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		ob_putn(b, (const char *)&c, 1);
	else if (c >= 0x20 && c < 0x7f) {
		buf[0] = '\\';
		buf[1] = (char)c;
		ob_putn(b, buf, 2);
	} else {
		snprintf(buf, sizeof buf, "\\x{%02x}", c);
		ob_puts(b, buf);
	}
}

static const char *const posix_classes[] = { "alnum", "alpha", "blank", "cntrl", "digit",
    "graph", "lower", "print", "punct", "space", "upper", "xdigit" };

/*
 * One element of a bracket expression at *pp: a byte (*c) or a character class (*cls).
 * [.x.] and [=x=] are the byte x (the C locale has no multi-character ones).
 */
static int
br_elem(const char **pp, int *c, const char **cls, char **why)
{
	const char *p = *pp, *end;

	*cls = NULL;
	if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
		char close[3] = { p[1], ']', '\0' };
		size_t n;

		if ((end = strstr(p + 2, close)) == NULL)
			return fail(why, -1, "an unterminated '[%c'", p[1]);
		n = (size_t)(end - (p + 2));
		if (p[1] == ':') {
			for (size_t i = 0; i < nitems(posix_classes); i++)
				if (strlen(posix_classes[i]) == n &&
				    strncmp(posix_classes[i], p + 2, n) == 0)
					*cls = posix_classes[i];
			if (*cls == NULL)
				return fail(why, -1, "the class '%.*s'", (int)n, p + 2);
		} else if (n != 1)
			return fail(why, -1, "the collating element '%.*s'", (int)n, p + 2);
		else
			*c = (unsigned char)p[2];
		*pp = end + 2;
		return 0;
	}
	if (*p == '\0')
		return fail(why, -1, "an unterminated '['");
	*c = (unsigned char)*p;
	*pp = p + 1;
	return 0;
}

/* A bracket expression at *pp ('['), as a PCRE2 class where every byte is escaped. */
static int
br_class(const char **pp, struct obuf *o, char **why)
{
	const char *p = *pp + 1, *cls;
	int first = 1, lo, hi;

	ob_puts(o, "[");
	if (*p == '^') {
		ob_puts(o, "^");
		p++;
	}
	for (;;) {
		if (*p == ']' && !first) {
			p++;
			break;
		}
		first = 0;
		if (br_elem(&p, &lo, &cls, why) != 0)
			return -1;
		if (cls != NULL) {
			ob_puts(o, "[:");
			ob_puts(o, cls);
			ob_puts(o, ":]");
			continue;
		}
		if (p[0] == '-' && p[1] != ']' && p[1] != '\0') {
			p++;
			if (br_elem(&p, &hi, &cls, why) != 0)
				return -1;
			if (cls != NULL || hi < lo)
				return fail(why, -1, "a range to a class or out of order");
			ob_lit(o, (unsigned char)lo);
			ob_puts(o, "-");
			ob_lit(o, (unsigned char)hi);
		} else
			ob_lit(o, (unsigned char)lo);
	}
	ob_puts(o, "]");
	*pp = p;
	return 0;
}

/* An interval {m}, {m,}, {m,n}, {,n} at *pp as PCRE2 writes it ({,n} is {0,n}). */
static int
interval(const char **pp, char *out, size_t outlen, char **why)
{
	const char *p = *pp + 1;
	long m = -1, n = -1;
	int comma = 0;

	if (*p >= '0' && *p <= '9')
		for (m = 0; *p >= '0' && *p <= '9' && m <= 65535; p++)
			m = m * 10 + (*p - '0');
	if (*p == ',') {
		comma = 1;
		p++;
		if (*p >= '0' && *p <= '9')
			for (n = 0; *p >= '0' && *p <= '9' && n <= 65535; p++)
				n = n * 10 + (*p - '0');
	}
	if (*p != '}' || (m == -1 && !comma) || m > 65535 || n > 65535 ||
	    (n != -1 && m > n))
		return fail(why, -1, "the interval '%.*s'", (int)(p - *pp + 1), *pp);
	if (m == -1)
		m = 0;
	if (!comma)
		snprintf(out, outlen, "{%ld}", m);
	else if (n == -1)
		snprintf(out, outlen, "{%ld,}", m);
	else
		snprintf(out, outlen, "{%ld,%ld}", m, n);
	*pp = p + 1;
	return 0;
}

enum { A_NONE, A_PLAIN, A_QUANT, A_ASSERT };

char *
query_ere_to_pcre(const char *ere, char **why)
{
	struct obuf o = { 0 };
	size_t groups[128], atom = 0;
	int depth = 0, kind = A_NONE;
	const char *p = ere;
	char q[32];

	ob_puts(&o, "");
	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;

		switch (c) {
		case '(':
			if (depth == (int)nitems(groups)) {
				fail(why, -1, "groups nested too deep");
				goto bad;
			}
			groups[depth++] = o.n;
			ob_puts(&o, "(");
			kind = A_NONE;
			p++;
			continue;
		case ')':
			atom = o.n;
			if (depth == 0)
				ob_lit(&o, c);	/* an unmatched ')' is itself */
			else {
				atom = groups[--depth];
				ob_puts(&o, ")");
			}
			kind = A_PLAIN;
			p++;
			continue;
		case '|':
			ob_puts(&o, "|");
			kind = A_NONE;
			p++;
			continue;
		case '^':
		case '$':
			atom = o.n;
			ob_putn(&o, p, 1);
			kind = A_ASSERT;
			p++;
			continue;
		case '.':
			atom = o.n;
			ob_puts(&o, "[^\\x{00}]");	/* glibc's '.' never matches a NUL */
			kind = A_PLAIN;
			p++;
			continue;
		case '[':
			atom = o.n;
			if (br_class(&p, &o, why) != 0)
				goto bad;
			kind = A_PLAIN;
			continue;
		case '*':
		case '+':
		case '?':
		case '{':
			if (c == '{') {
				if (interval(&p, q, sizeof q, why) != 0)
					goto bad;
			} else {
				q[0] = (char)c;
				q[1] = '\0';
				p++;
			}
			if (kind == A_NONE) {
				fail(why, -1, "a repetition of nothing");
				goto bad;
			}
			/* PCRE2 reads `a**`, `a*+` (possessive), `^*` otherwise: group first */
			if (kind != A_PLAIN) {
				ob_insert(&o, atom, "(?:");
				ob_puts(&o, ")");
			}
			ob_puts(&o, q);
			kind = A_QUANT;
			continue;
		case '\\':
			c = (unsigned char)p[1];
			atom = o.n;
			p += 2;
			kind = A_PLAIN;
			switch (c) {
			case '\0':
				fail(why, -1, "a trailing backslash");
				goto bad;
			case 'w': case 'W': case 's': case 'S':
				ob_putn(&o, p - 2, 2);
				break;
			case 'b': case 'B':
				ob_putn(&o, p - 2, 2);
				kind = A_ASSERT;
				break;
			case '<':
				ob_puts(&o, "\\b(?=\\w)");
				kind = A_ASSERT;
				break;
			case '>':
				ob_puts(&o, "\\b(?<=\\w)");
				kind = A_ASSERT;
				break;
			case '`':
				ob_puts(&o, "\\A");
				kind = A_ASSERT;
				break;
			case '\'':
				ob_puts(&o, "\\z");
				kind = A_ASSERT;
				break;
			case '1': case '2': case '3': case '4': case '5': case '6': case '7':
			case '8': case '9':
				fail(why, -1, "a back-reference");
				goto bad;
			default:
				ob_lit(&o, c);	/* any other escaped character is itself */
				break;
			}
			continue;
		default:
			atom = o.n;
			ob_lit(&o, c);
			kind = A_PLAIN;
			p++;
			continue;
		}
	}
	if (depth != 0) {
		fail(why, -1, "an unmatched '('");
		goto bad;
	}
	return o.s;
bad:
	free(o.s);
	return NULL;
}

/* ------------------------------------------------------------------ compiling */

static void
rx_clear(struct rx *rx)
{
	if (rx->md != NULL)
		pcre2_match_data_free(rx->md);
	if (rx->code != NULL)
		pcre2_code_free(rx->code);
	if (rx->have_posix)
		regfree(&rx->posix);
	free(rx->why);
	memset(rx, 0, sizeof *rx);
}

/* Checks pat with regcomp (its verdict and messages), then compiles it for PCRE2. */
static int
rx_compile(struct rx *rx, const char *pat, const char *term, char **why)
{
	char *pc, msg[256];
	int rc, err;
	PCRE2_SIZE off;

	memset(rx, 0, sizeof *rx);
	if ((rc = regcomp(&rx->posix, pat, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &rx->posix, msg, sizeof msg);
		if (msg[0] >= 'A' && msg[0] <= 'Z')
			msg[0] = (char)(msg[0] - 'A' + 'a');
		return fail(why, -1, "'%s': %s", term, msg);
	}
	rx->have_posix = 1;
	if ((pc = query_ere_to_pcre(pat, &rx->why)) == NULL)
		return 0;
	rx->code = pcre2_compile((PCRE2_SPTR)pc, PCRE2_ZERO_TERMINATED, PCRE2_DOTALL |
	    PCRE2_DOLLAR_ENDONLY | PCRE2_NO_AUTO_CAPTURE | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP,
	    &err, &off, NULL);
	if (rx->code == NULL) {
		PCRE2_UCHAR m[256];

		pcre2_get_error_message(err, m, sizeof m);
		free(rx->why);
		rx->why = xasprintf("pcre2: %s at %zu of '%s'", (const char *)m, (size_t)off, pc);
		free(pc);
		return 0;
	}
	free(pc);
	rx->md = pcre2_match_data_create(1, NULL);
	if (rx->md == NULL)
		fatal("out of memory");
	rx->jit = pcre2_jit_compile(rx->code, PCRE2_JIT_COMPLETE) == 0;
	regfree(&rx->posix);
	rx->have_posix = 0;
	return 0;
}

static void
node_free(struct qnode *n)
{
	if (n == NULL)
		return;
	node_free(n->a);
	node_free(n->b);
	rx_clear(&n->rx);
	free(n->text);
	free(n);
}

static struct qnode *
node_new(int type, struct qnode *a, struct qnode *b)
{
	struct qnode *n = xcalloc(1, sizeof *n);

	n->type = type;
	n->a = a;
	n->b = b;
	return n;
}

enum { T_TERM, T_AND, T_OR, T_NOT };

static int
keyword(const char *s)
{
	if (strcasecmp(s, "AND") == 0)
		return T_AND;
	if (strcasecmp(s, "OR") == 0)
		return T_OR;
	if (strcasecmp(s, "NOT") == 0)
		return T_NOT;
	return T_TERM;
}

struct parser {
	int argc, i;
	char **argv;
	char **why;
};

/* A field by number (1 to 47) or name (fdb_schema, any case); -1 when neither. */
static int
field_lookup(const char *s, size_t len)
{
	long n = 0;

	if (len > 0 && len <= 2 && strspn(s, "0123456789") >= len) {
		for (size_t i = 0; i < len; i++)
			n = n * 10 + (s[i] - '0');
		return n >= 1 && n <= FDB_NFIELDS ? (int)n - 1 : -1;
	}
	for (int i = 0; i < FDB_NFIELDS; i++)
		if (strlen(fdb_schema.fields[i].name) == len &&
		    strncasecmp(fdb_schema.fields[i].name, s, len) == 0)
			return i;
	return -1;
}

static struct qnode *
no_field(struct parser *p, const char *term, const char *s, size_t len)
{
	fail(p->why, -1, "'%s': no field '%.*s' (1 to %d, or a name: host, type, label, id, "
	    "...)", term, (int)len, s, FDB_NFIELDS);
	return NULL;
}

static struct qnode *
p_term(struct parser *p, const char *s)
{
	struct qnode *n;
	const char *colon;

	if ((s[0] == 'F' || s[0] == 'f') && s[1] == ':') {
		if ((colon = strchr(s + 2, ':')) == NULL) {
			fail(p->why, -1, "'%s': expected F:<field>:<regex>", s);
			return NULL;
		}
		n = node_new(Q_FIELD, NULL, NULL);
		if ((n->f1 = field_lookup(s + 2, (size_t)(colon - s - 2))) < 0) {
			node_free(n);
			return no_field(p, s, s + 2, (size_t)(colon - s - 2));
		}
		n->text = xstrdup(colon + 1);
		if (rx_compile(&n->rx, colon + 1, s, p->why) != 0) {
			node_free(n);
			return NULL;
		}
		return n;
	}
	if ((s[0] == 'E' || s[0] == 'e') && s[1] == ':') {
		if ((colon = strchr(s + 2, ':')) == NULL) {
			fail(p->why, -1, "'%s': expected E:<field>:<field>", s);
			return NULL;
		}
		n = node_new(Q_EQ, NULL, NULL);
		if ((n->f1 = field_lookup(s + 2, (size_t)(colon - s - 2))) < 0) {
			node_free(n);
			return no_field(p, s, s + 2, (size_t)(colon - s - 2));
		}
		if ((n->f2 = field_lookup(colon + 1, strlen(colon + 1))) < 0) {
			node_free(n);
			return no_field(p, s, colon + 1, strlen(colon + 1));
		}
		return n;
	}
	n = node_new(Q_RE, NULL, NULL);
	n->text = xstrdup(s);
	if (rx_compile(&n->rx, s, s, p->why) != 0) {
		node_free(n);
		return NULL;
	}
	return n;
}

static struct qnode *
p_unary(struct parser *p)
{
	struct qnode *n;
	const char *s;

	if (p->i >= p->argc) {
		fail(p->why, -1, "a term is missing at the end");
		return NULL;
	}
	s = p->argv[p->i];
	switch (keyword(s)) {
	case T_NOT:
		if (++p->i >= p->argc) {
			fail(p->why, -1, "'%s' at the end: a term must follow it", s);
			return NULL;
		}
		if ((n = p_unary(p)) == NULL)
			return NULL;
		return node_new(Q_NOT, n, NULL);
	case T_AND:
	case T_OR:
		fail(p->why, -1, "'%s' needs a term before it", s);
		return NULL;
	}
	p->i++;
	return p_term(p, s);
}

static struct qnode *
p_and(struct parser *p)
{
	struct qnode *a, *b;

	if ((a = p_unary(p)) == NULL)
		return NULL;
	while (p->i < p->argc && keyword(p->argv[p->i]) != T_OR) {
		if (keyword(p->argv[p->i]) == T_AND) {
			const char *s = p->argv[p->i++];

			if (p->i >= p->argc || keyword(p->argv[p->i]) == T_OR ||
			    keyword(p->argv[p->i]) == T_AND) {
				fail(p->why, -1, "'%s' needs a term after it", s);
				node_free(a);
				return NULL;
			}
		}
		if ((b = p_unary(p)) == NULL) {
			node_free(a);
			return NULL;
		}
		a = node_new(Q_AND, a, b);
	}
	return a;
}

static struct qnode *
p_or(struct parser *p)
{
	struct qnode *a, *b;

	if ((a = p_and(p)) == NULL)
		return NULL;
	while (p->i < p->argc) {
		const char *s = p->argv[p->i++];	/* an OR: p_and stops only there */

		if (p->i >= p->argc) {
			fail(p->why, -1, "'%s' at the end: a term must follow it", s);
			node_free(a);
			return NULL;
		}
		if (keyword(p->argv[p->i]) == T_OR || keyword(p->argv[p->i]) == T_AND) {
			fail(p->why, -1, "'%s' needs a term after it", s);
			node_free(a);
			return NULL;
		}
		if ((b = p_and(p)) == NULL) {
			node_free(a);
			return NULL;
		}
		a = node_new(Q_OR, a, b);
	}
	return a;
}

struct query *
query_parse(int argc, char **argv, char **why)
{
	struct parser p = { argc, 0, argv, why };
	struct query *q = xcalloc(1, sizeof *q);

	if (argc <= 0)
		q->root = node_new(Q_TRUE, NULL, NULL);
	else if ((q->root = p_or(&p)) == NULL) {
		free(q);
		return NULL;
	}
	if ((q->mc = pcre2_match_context_create(NULL)) == NULL ||
	    (q->js = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL)) == NULL)
		fatal("out of memory");
	pcre2_jit_stack_assign(q->mc, NULL, q->js);
	return q;
}

void
query_free(struct query *q)
{
	if (q == NULL)
		return;
	node_free(q->root);
	pcre2_jit_stack_free(q->js);
	pcre2_match_context_free(q->mc);
	free(q);
}

/* ------------------------------------------------------------------ matching */

static int
rx_match(const struct query *q, struct rx *rx, const char *s, size_t len)
{
	regmatch_t m;
	int rc;

	if (s == NULL)
		s = "";
	if (rx->code != NULL) {
		rc = rx->jit ? pcre2_jit_match(rx->code, (PCRE2_SPTR)s, len, 0, 0, rx->md, q->mc) :
		    pcre2_match(rx->code, (PCRE2_SPTR)s, len, 0, 0, rx->md, q->mc);
		if (rc >= 0)
			return 1;
		if (rc != PCRE2_ERROR_NOMATCH)
			rx->errors++;
		return 0;
	}
	/* a NUL-terminated copy: sanitizers' regexec reads to the NUL despite REG_STARTEND */
	{
		char buf[1024], *t = len < sizeof buf ? buf : xmalloc(len + 1);

		memcpy(t, s, len);
		t[len] = '\0';
		m.rm_so = 0;
		m.rm_eo = (regoff_t)len;
		rc = regexec(&rx->posix, t, 1, &m, REG_STARTEND) == 0;
		if (t != buf)
			free(t);
		return rc;
	}
}

/* The line being matched. */
struct lctx {
	const char *line;
	size_t len;		/* without the trailing CR/LF (fdb_parse_line's view) */
	size_t rawlen;		/* as given */
	const struct fdb_record *r;
};

/* A decoded field value: in the line itself, in buf, or in heap (freed by the caller). */
struct fval {
	const char *s;
	size_t len;
	char *heap;
};

/* Field f of the line, decoded as pr_decode does it (escapes `\\` `\;` `\n`, NULs dropped). */
static void
field_value(const struct lctx *c, int f, char *buf, size_t bufsize, struct fval *v)
{
	size_t start = 0, i, n;
	int cur = 0, plain = 1;
	char *out;

	v->heap = NULL;
	if (c->r != NULL) {
		v->s = c->r->f[f] != NULL ? c->r->f[f] : "";
		v->len = strlen(v->s);
		return;
	}
	for (i = 0; i < c->len; i++) {
		char ch = c->line[i];

		if (ch == '\\' || ch == '\0') {
			if (cur == f)
				plain = 0;
			if (ch == '\\' && i + 1 < c->len && (c->line[i + 1] == '\\' ||
			    c->line[i + 1] == ';' || c->line[i + 1] == 'n'))
				i++;
		} else if (ch == ';') {
			if (cur == f)
				break;
			cur++;
			start = i + 1;
		}
	}
	if (cur != f) {
		v->s = "";
		v->len = 0;
		return;
	}
	v->s = c->line + start;
	v->len = i - start;
	if (plain)
		return;
	out = v->len < bufsize ? buf : (v->heap = xmalloc(v->len + 1));
	for (i = 0, n = 0; i < v->len; i++) {
		char ch = v->s[i];

		if (ch == '\0')
			continue;
		if (ch == '\\' && i + 1 < v->len && (v->s[i + 1] == '\\' || v->s[i + 1] == ';' ||
		    v->s[i + 1] == 'n'))
			ch = v->s[++i] == 'n' ? '\n' : v->s[i];
		out[n++] = ch;
	}
	out[n] = '\0';
	v->s = out;
	v->len = n;
}

static int
eval(const struct query *q, struct qnode *n, const struct lctx *c)
{
	char b1[512], b2[512];
	struct fval v1, v2;
	int r;

	switch (n->type) {
	case Q_TRUE:
		return 1;
	case Q_RE:
		return rx_match(q, &n->rx, c->line, c->rawlen);
	case Q_FIELD:
		field_value(c, n->f1, b1, sizeof b1, &v1);
		r = rx_match(q, &n->rx, v1.s, v1.len);
		free(v1.heap);
		return r;
	case Q_EQ:
		field_value(c, n->f1, b1, sizeof b1, &v1);
		field_value(c, n->f2, b2, sizeof b2, &v2);
		r = v1.len == v2.len && memcmp(v1.s, v2.s, v1.len) == 0;
		free(v1.heap);
		free(v2.heap);
		return r;
	case Q_NOT:
		return !eval(q, n->a, c);
	case Q_AND:
		return eval(q, n->a, c) && eval(q, n->b, c);
	case Q_OR:
		return eval(q, n->a, c) || eval(q, n->b, c);
	}
	return 0;
}

int
query_match(const struct query *q, const char *line, size_t len, const struct fdb_record *r)
{
	struct lctx c = { line != NULL ? line : "", len, len, r };

	while (c.len > 0 && (c.line[c.len - 1] == '\n' || c.line[c.len - 1] == '\r'))
		c.len--;
	return eval(q, q->root, &c);
}

static unsigned long
node_errors(const struct qnode *n)
{
	return n == NULL ? 0 : n->rx.errors + node_errors(n->a) + node_errors(n->b);
}

unsigned long
query_errors(const struct query *q)
{
	return node_errors(q->root);
}

static char *
node_describe(const struct qnode *n, int verbose)
{
	char *a, *b, *s, *eng = NULL;

	if (verbose && (n->type == Q_RE || n->type == Q_FIELD))
		eng = n->rx.code != NULL ? xstrdup(n->rx.jit ? "[pcre2-jit]" : "[pcre2]") :
		    xasprintf("[posix: %s]", n->rx.why != NULL ? n->rx.why : "?");
	switch (n->type) {
	case Q_RE:
		s = xasprintf("/%s/%s", n->text, eng ? eng : "");
		break;
	case Q_FIELD:
		s = xasprintf("F%d/%s/%s", n->f1 + 1, n->text, eng ? eng : "");
		break;
	case Q_EQ:
		s = xasprintf("E%d=%d", n->f1 + 1, n->f2 + 1);
		break;
	case Q_NOT:
		a = node_describe(n->a, verbose);
		s = xasprintf("!%s", a);
		free(a);
		break;
	case Q_AND:
	case Q_OR:
		a = node_describe(n->a, verbose);
		b = node_describe(n->b, verbose);
		s = xasprintf("(%s %s %s)", a, n->type == Q_AND ? "&" : "|", b);
		free(a);
		free(b);
		break;
	default:
		s = xstrdup("TRUE");
		break;
	}
	free(eng);
	return s;
}

char *
query_describe(const struct query *q, int verbose)
{
	return node_describe(q->root, verbose);
}

/* ------------------------------------------------------------------ records */

typedef unsigned char vu8 __attribute__((vector_size(16)));

/* The sum of the 16 byte lanes of v. */
static size_t
lanes_sum(vu8 v)
{
	uint64_t w[2];
	size_t s = 0;

	memcpy(w, &v, sizeof w);
	for (int i = 0; i < 2; i++) {
		uint64_t x = (w[i] & 0x00ff00ff00ff00ffULL) + ((w[i] >> 8) & 0x00ff00ff00ff00ffULL);

		s += (size_t)((x * 0x0001000100010001ULL) >> 48);
	}
	return s;
}

/*
 * The `;` in s[0..len), 16 bytes at a time; *special when there is a backslash or a NUL
 * (then the count is not the field count: the exact one decides).
 */
static size_t
count_semis(const char *s, size_t len, int *special)
{
	const vu8 semi = { ';', ';', ';', ';', ';', ';', ';', ';', ';', ';', ';', ';', ';',
	    ';', ';', ';' };
	const vu8 bs = { '\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\',
	    '\\', '\\', '\\', '\\', '\\' };
	const vu8 zero = { 0 };
	vu8 acc = { 0 }, sp = { 0 };
	size_t i = 0, total = 0;
	uint64_t w[2];
	int k = 0;

	for (; i + 16 <= len; i += 16) {
		vu8 v;

		memcpy(&v, s + i, sizeof v);
		acc -= (vu8)(v == semi);	/* -(-1): one more in the lane */
		sp |= (vu8)((v == bs) | (v == zero));
		if (++k == 255) {
			total += lanes_sum(acc);
			acc = zero;
			k = 0;
		}
	}
	total += lanes_sum(acc);
	memcpy(w, &sp, sizeof w);
	*special = (w[0] | w[1]) != 0;
	for (; i < len; i++) {
		total += s[i] == ';';
		*special |= s[i] == '\\' || s[i] == '\0';
	}
	return total;
}

int
query_line_ok(const char *s, size_t len)
{
	size_t semis, cur = 0;
	int special, nf = 1;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	semis = count_semis(s, len, &special);
	if (!special) {
		/* the original ends each record with a `;`: an empty 48th field */
		return semis == FDB_NFIELDS - 1 || (semis == FDB_NFIELDS && s[len - 1] == ';');
	}
	/* escapes or NULs: count as pr_decode splits */
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == ';') {
			if (++nf > FDB_NFIELDS + 1)
				return 0;
			cur = 0;
			continue;
		}
		if (c == '\0')
			continue;
		if (c == '\\' && i + 1 < len && (s[i + 1] == '\\' || s[i + 1] == ';' ||
		    s[i + 1] == 'n'))
			i++;
		cur++;
	}
	return nf == FDB_NFIELDS || (nf == FDB_NFIELDS + 1 && cur == 0);
}

/* ------------------------------------------------------------------ -M */

int
query_mode_parse(const char *s, struct query_mode *m, char **why)
{
	static const char *const picks[] = { "ALL", "FIRST", "LAST" };
	char *copy = xstrdup(s), *save = NULL, *w;
	int rc = 0, pick = -1, sort = -1;

	for (w = strtok_r(copy, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
		int np = -1, ns = -1;

		if (strcasecmp(w, "ALL") == 0)
			np = QM_ALL;
		else if (strcasecmp(w, "FIRST") == 0)
			np = QM_FIRST;
		else if (strcasecmp(w, "LAST") == 0)
			np = QM_LAST;
		else if (strcasecmp(w, "SORT") == 0)
			ns = QM_SORT;
		else if (strcasecmp(w, "USORT") == 0)
			ns = QM_USORT;
		else if (strcasecmp(w, "COMPLEMENT") == 0)
			m->complement = 1;
		else if (strcasecmp(w, "UNIQUE") == 0)
			m->unique = 1;
		else {
			rc = fail(why, EXIT_USAGE, "-M: unknown mode '%s' (FIRST, LAST, ALL, "
			    "COMPLEMENT, SORT, USORT, UNIQUE)", w);
			break;
		}
		if (np != -1) {
			if (pick != -1 && pick != np) {
				rc = fail(why, EXIT_USAGE, "-M: %s and %s exclude each other",
				    picks[pick], picks[np]);
				break;
			}
			pick = m->pick = np;
		}
		if (ns != -1) {
			if (sort != -1 && sort != ns) {
				rc = fail(why, EXIT_USAGE, "-M: SORT and USORT exclude each other");
				break;
			}
			sort = m->sort = ns;
		}
	}
	if (rc == 0 && pick == -1 && sort == -1 && !m->complement && !m->unique)
		rc = fail(why, EXIT_USAGE, "-M: no mode given");
	free(copy);
	return rc;
}

static int
hit_cmp(const struct query_hit *a, const struct query_hit *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int r = memcmp(a->line, b->line, n);

	if (r != 0)
		return r;
	return (a->len > b->len) - (a->len < b->len);
}

static int
hit_same(const struct query_hit *a, const struct query_hit *b)
{
	return a->len == b->len && memcmp(a->line, b->line, a->len) == 0;
}

/* A stable merge sort by the lines' bytes. */
static void
hit_sort(struct query_hit *v, struct query_hit *tmp, size_t n)
{
	size_t h = n / 2, i = 0, j = h, k = 0;

	if (n < 2)
		return;
	hit_sort(v, tmp, h);
	hit_sort(v + h, tmp, n - h);
	while (i < h && j < n)
		tmp[k++] = hit_cmp(&v[j], &v[i]) < 0 ? v[j++] : v[i++];
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof *v);
}

int
query_reduce(const struct query_mode *m, struct query_hit *v, size_t *np)
{
	size_t n = *np;

	if (n > 1 && m->pick == QM_FIRST)
		n = 1;
	else if (n > 1 && m->pick == QM_LAST) {
		v[0] = v[n - 1];
		n = 1;
	}
	if (m->sort != QM_UNSORTED && n > 1) {
		struct query_hit *tmp = xcalloc(n, sizeof *tmp);

		hit_sort(v, tmp, n);
		free(tmp);
		if (m->sort == QM_USORT) {
			size_t k = 1;

			for (size_t i = 1; i < n; i++)
				if (!hit_same(&v[k - 1], &v[i]))
					v[k++] = v[i];
			n = k;
		}
	}
	*np = n;
	if (!m->unique)
		return 0;
	if (n == 0)
		return EXIT_NOTFOUND;
	for (size_t i = 1; i < n; i++)
		if (!hit_same(&v[0], &v[i]))
			return EXIT_AMBIGUOUS;
	*np = 1;
	return 0;
}
