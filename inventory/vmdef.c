#include "vmdef.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct sb {
	char *s;
	size_t n, cap;
};

static void
sb_addn(struct sb *b, const char *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = b->cap ? b->cap : 64;
		while (b->cap < b->n + n + 1)
			b->cap *= 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->n, p, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void
sb_addc(struct sb *b, char c)
{
	sb_addn(b, &c, 1);
}

static char *
sb_take(struct sb *b)
{
	char *s = b->s ? b->s : xstrdup("");

	memset(b, 0, sizeof *b);
	return s;
}

static void
diag(struct vmdef *d, int line, int error, const char *fmt, ...)
{
	va_list ap;
	struct vmdef_diag *g;

	d->diags = xreallocarray(d->diags, d->ndiags + 1, sizeof *d->diags);
	g = &d->diags[d->ndiags++];
	g->line = line;
	g->error = error;
	va_start(ap, fmt);
	g->msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (error)
		d->nerrors++;
}

static struct vmdef_kv *
kv_find(struct vmdef_kv *v, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].key, key) == 0)
			return &v[i];
	return NULL;
}

static void
var_set(struct vmdef *d, const char *key, const char *value, int line)
{
	struct vmdef_kv *kv = kv_find(d->vars, d->nvars, key);

	if (kv == NULL) {
		d->vars = xreallocarray(d->vars, d->nvars + 1, sizeof *d->vars);
		kv = &d->vars[d->nvars++];
		kv->key = xstrdup(key);
	} else
		free(kv->value);
	kv->value = xstrdup(value);
	kv->line = line;
}

static int
is_name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static int
is_name(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Parser state over one logical line (statements separated by `;`). */
struct lex {
	struct vmdef *d;
	const char *p, *end;
	int line;
	const char *bad;	/* set when an unsupported construct was met */
	int dry;		/* in a branch not taken: no assignments, no diagnostics */
	int pat;		/* building a glob pattern: quoted text is escaped */
	int dq;			/* inside double quotes: expansions are quoted text too */
};

/* parse_word modes */
#define W_BRACE	0x1	/* inside ${...}: blanks are text, stop at `}` */
#define W_PAT	0x2	/* a case pattern: stop at `|` and `)` */
#define W_SLASH	0x4	/* the pattern of ${V/pat/rep}: stop at `/` */
#define W_ASSIGN 0x8	/* the value of an assignment: `~` after `:` is expanded */

/* Longest value a glob pattern is matched against (keeps matching cheap). */
#define GLOB_MAX 4096

static int parse_word(struct lex *, struct sb *, int mode);

static const char *
lookup(struct vmdef *d, const char *name)
{
	struct vmdef_kv *kv = kv_find(d->vars, d->nvars, name);

	return kv ? kv->value : NULL;
}

static void
assign(struct lex *lx, const char *name, const char *value)
{
	if (!lx->dry)
		var_set(lx->d, name, value, lx->line);
}

static void
warn(struct lex *lx, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (lx->dry)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag(lx->d, lx->line, 0, "%s", msg);
	free(msg);
}

/* Text from quotes or an expansion: literal, even inside a pattern. */
static void
emit_lit(struct lex *lx, struct sb *out, const char *p, size_t n)
{
	if (!lx->pat) {
		sb_addn(out, p, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '*' || p[i] == '?' || p[i] == '[' || p[i] == ']' || p[i] == '\\')
			sb_addc(out, '\\');
		sb_addc(out, p[i]);
	}
}

/* The value of an expansion: a glob in a pattern unless double-quoted, as in the shell. */
static void
emit_exp(struct lex *lx, struct sb *out, const char *p, size_t n)
{
	if (lx->dq)
		emit_lit(lx, out, p, n);
	else
		sb_addn(out, p, n);
}

static int
has_glob(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

/* A sub-word of ${...} (default value, pattern, replacement), in its own mode. */
static char *
sub_word(struct lex *lx, int mode, int pattern)
{
	struct sb w = { 0 };
	int pat = lx->pat, dq = lx->dq, rc;

	lx->pat = pattern;
	if (pattern)
		lx->dq = 0;	/* a pattern stays a pattern inside "${V#pat}" */
	rc = parse_word(lx, &w, mode);
	lx->pat = pat;
	lx->dq = dq;
	if (rc == -1) {
		free(w.s);
		return NULL;
	}
	return sb_take(&w);
}

/* ${V#p} ${V##p} ${V%p} ${V%%p}: the value without the shortest/longest match. */
static char *
trim_match(const char *val, const char *pat, int suffix, int longest)
{
	size_t n = strlen(val);
	char *t = xstrdup(val);

	for (size_t k = 0; k <= n; k++) {
		size_t len = longest ? n - k : k;	/* length of the part tried */
		char *part = suffix ? xstrdup(val + n - len) : xstrndup(val, len);
		int m = fnmatch(pat, part, 0) == 0;

		free(part);
		if (m) {
			free(t);
			return suffix ? xstrndup(val, n - len) : xstrdup(val + len);
		}
	}
	return t;
}

/* ${V/p/r} ${V//p/r}: replaces the first/every longest match of p. */
static char *
replace_match(const char *val, const char *pat, const char *rep, int global)
{
	struct sb out = { 0 };
	size_t n = strlen(val), i = 0;
	int done = 0;

	sb_addn(&out, "", 0);
	while (i < n) {
		size_t best = 0;

		if (!done) {
			if (!has_glob(pat)) {
				size_t pl = strlen(pat);

				if (pl > 0 && strncmp(val + i, pat, pl) == 0)
					best = pl;
			} else {
				for (size_t j = n; j > i && best == 0; j--) {
					char *part = xstrndup(val + i, j - i);

					if (fnmatch(pat, part, 0) == 0)
						best = j - i;
					free(part);
				}
			}
		}
		if (best > 0) {
			sb_addn(&out, rep, strlen(rep));
			i += best;
			done = !global;
		} else
			sb_addc(&out, val[i++]);
	}
	return sb_take(&out);
}

/* ${V/#p/r} ${V/%p/r}: replaces the longest match of p at the start/end. */
static char *
replace_anchored(const char *val, const char *pat, const char *rep, int suffix)
{
	size_t n = strlen(val), pl = strlen(pat);

	for (size_t k = 0; k <= n; k++) {
		size_t len = n - k;	/* longest first */
		int m;

		if (!has_glob(pat))
			m = len == pl && strncmp(suffix ? val + k : val, pat, pl) == 0;
		else {
			char *part = suffix ? xstrdup(val + k) : xstrndup(val, len);

			m = fnmatch(pat, part, 0) == 0;
			free(part);
		}
		if (m)
			return suffix ? xasprintf("%.*s%s", (int)k, val, rep) :
			    xasprintf("%s%s", rep, val + len);
	}
	return xstrdup(val);
}

/* After `${`. */
static int
parse_brace(struct lex *lx, struct sb *out)
{
	char name[128], num[32], *w, *r = NULL, *res = NULL;
	size_t n = 0;
	const char *val;
	int length = 0, colon = 0, set;
	char op;

	if (lx->p + 1 < lx->end && *lx->p == '#' && is_name_start(lx->p[1])) {
		length = 1;
		lx->p++;
	}
	while (lx->p < lx->end && is_name(*lx->p) && n < sizeof name - 1)
		name[n++] = *lx->p++;
	name[n] = '\0';
	if (n == 0 || !is_name_start(name[0]) || lx->p >= lx->end) {
		lx->bad = "unsupported parameter expansion";
		return -1;
	}
	val = lookup(lx->d, name);
	if (length || *lx->p == '}') {
		if (*lx->p != '}') {
			lx->bad = "unsupported parameter expansion";
			return -1;
		}
		lx->p++;
		if (length) {
			snprintf(num, sizeof num, "%zu", val ? strlen(val) : 0);
			emit_exp(lx, out, num, strlen(num));
		} else if (val != NULL)
			emit_exp(lx, out, val, strlen(val));
		return 0;
	}
	if (*lx->p == ':') {
		colon = 1;
		lx->p++;
	}
	op = lx->p < lx->end ? *lx->p++ : '\0';
	if (op == '\0' || strchr(colon ? "-+=" : "-+=/#%", op) == NULL) {
		lx->bad = "unsupported parameter expansion";
		return -1;
	}
	set = val != NULL && (!colon || *val != '\0');
	if (op == '-' || op == '+' || op == '=') {
		if ((w = sub_word(lx, W_BRACE, 0)) == NULL)
			return -1;
		if (op == '=' && !set)
			assign(lx, name, w);
		res = xstrdup(op == '+' ? (set ? w : "") : (set ? val : w));
		free(w);
	} else if (op == '/') {
		int global = lx->p < lx->end && *lx->p == '/', anchor = 0;

		if (global)
			lx->p++;
		else if (lx->p < lx->end && (*lx->p == '#' || *lx->p == '%'))
			anchor = *lx->p++;
		if ((w = sub_word(lx, W_BRACE | W_SLASH, 1)) == NULL)
			return -1;
		if (lx->p < lx->end && *lx->p == '/') {
			lx->p++;
			if ((r = sub_word(lx, W_BRACE, 0)) == NULL) {
				free(w);
				return -1;
			}
		}
		if (val != NULL && strlen(val) > GLOB_MAX && has_glob(w)) {
			free(w);
			free(r);
			lx->bad = "pattern substitution on a very long value";
			return -1;
		}
		if (val == NULL)
			res = xstrdup("");
		else if (anchor)
			res = replace_anchored(val, w, r ? r : "", anchor == '%');
		else
			res = replace_match(val, w, r ? r : "", global);
		free(w);
		free(r);
	} else {	/* # ## % %% */
		int longest = lx->p < lx->end && *lx->p == op;

		if (longest)
			lx->p++;
		if ((w = sub_word(lx, W_BRACE, 1)) == NULL)
			return -1;
		if (val != NULL && strlen(val) > GLOB_MAX) {
			free(w);
			lx->bad = "pattern removal on a very long value";
			return -1;
		}
		res = val ? trim_match(val, w, op == '%', longest) : xstrdup("");
		free(w);
	}
	if (lx->p >= lx->end || *lx->p != '}') {
		free(res);
		lx->bad = "unterminated ${";
		return -1;
	}
	lx->p++;
	emit_exp(lx, out, res, strlen(res));
	free(res);
	return 0;
}

/* After `$`: a name, `{...}`, or something unsupported. */
static int
parse_dollar(struct lex *lx, struct sb *out)
{
	char name[128];
	size_t n = 0;
	const char *val;

	if (lx->p >= lx->end) {
		sb_addc(out, '$');
		return 0;
	}
	if (*lx->p == '(') {
		lx->bad = lx->p + 1 < lx->end && lx->p[1] == '(' ? "arithmetic $((...))" :
		    "command substitution $(...)";
		return -1;
	}
	if (*lx->p == '{') {
		lx->p++;
		return parse_brace(lx, out);
	}
	if (!lx->dq && *lx->p == '\'') {
		lx->bad = "ANSI-C quoting $'...'";
		return -1;
	}
	if (!lx->dq && *lx->p == '"')
		return 0;	/* $"..." (translated): the string itself */
	if (!is_name_start(*lx->p)) {
		if (strchr("0123456789#?@*!$-", *lx->p) != NULL) {
			lx->bad = "special parameter";
			return -1;
		}
		sb_addc(out, '$');
		return 0;
	}
	while (lx->p < lx->end && is_name(*lx->p) && n < sizeof name - 1)
		name[n++] = *lx->p++;
	name[n] = '\0';
	if ((val = lookup(lx->d, name)) != NULL)
		emit_exp(lx, out, val, strlen(val));
	return 0;
}

/*
 * One shell word (with quotes and expansions) up to an unquoted blank, `;` or end of
 * the line; the mode changes where it stops. Returns 0 or -1 (lx->bad says why).
 */
static int
parse_word(struct lex *lx, struct sb *out, int mode)
{
	const char *start = lx->p;
	int dq = lx->dq;

	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '~' && !lx->dq && (lx->p == start || ((mode & W_ASSIGN) &&
		    lx->p[-1] == ':'))) {
			lx->bad = "tilde expansion";
			return -1;
		}
		if ((mode & W_BRACE) && c == '}')
			return 0;
		if ((mode & W_SLASH) && c == '/')
			return 0;
		if (!(mode & W_BRACE)) {
			if (c == ' ' || c == '\t' || c == ';' || c == '\n')
				return 0;
			if ((mode & W_PAT) && (c == '|' || c == ')'))
				return 0;
			if (c == '|' || c == '&' || c == '<' || c == '>' || c == '(' || c == ')') {
				lx->bad = "shell operator";
				return -1;
			}
		}
		if (c == '`') {
			lx->bad = "command substitution `...`";
			return -1;
		}
		if (c == '\\') {
			lx->p++;
			if (lx->p < lx->end && *lx->p != '\n')
				emit_lit(lx, out, lx->p, 1);
			if (lx->p < lx->end)
				lx->p++;
			continue;
		}
		if (c == '\'') {
			const char *q = memchr(lx->p + 1, '\'', (size_t)(lx->end - lx->p - 1));

			if (q == NULL) {
				lx->bad = "unterminated single quote";
				return -1;
			}
			emit_lit(lx, out, lx->p + 1, (size_t)(q - lx->p - 1));
			lx->p = q + 1;
			continue;
		}
		if (c == '"') {
			lx->p++;
			lx->dq = 1;
			while (lx->p < lx->end && *lx->p != '"') {
				c = *lx->p;
				if (c == '`') {
					lx->bad = "command substitution `...`";
					lx->dq = dq;
					return -1;
				}
				if (c == '\\' && lx->p + 1 < lx->end &&
				    strchr("$`\"\\\n", lx->p[1]) != NULL) {
					if (lx->p[1] != '\n')
						emit_lit(lx, out, lx->p + 1, 1);
					lx->p += 2;
					continue;
				}
				if (c == '$') {
					lx->p++;
					if (parse_dollar(lx, out) == -1) {
						lx->dq = dq;
						return -1;
					}
					continue;
				}
				emit_lit(lx, out, &c, 1);
				lx->p++;
			}
			lx->dq = dq;
			if (lx->p >= lx->end) {
				lx->bad = "unterminated double quote";
				return -1;
			}
			lx->p++;
			continue;
		}
		if (c == '$') {
			lx->p++;
			if (parse_dollar(lx, out) == -1)
				return -1;
			continue;
		}
		sb_addc(out, c);
		lx->p++;
	}
	return 0;
}

static void
skip_blanks(struct lex *lx)
{
	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t'))
		lx->p++;
}

/*
 * Skips what could not be evaluated, up to the next unquoted `;` of this line (so the
 * `then`, `;;` or `fi` after it are still seen) or a comment.
 */
static void
skip_upto(struct lex *lx, const char *stops)
{
	int paren = 0;
	char q = 0;

	while (lx->p < lx->end) {
		char c = *lx->p;

		if (q != 0) {
			if (c == '\\' && q != '\'' && lx->p + 1 < lx->end)
				lx->p++;
			else if (c == q)
				q = 0;
			lx->p++;
			continue;
		}
		if (c == '\\') {
			lx->p += lx->p + 1 < lx->end ? 2 : 1;
			continue;
		}
		if (c == '\'' || c == '"' || c == '`')
			q = c;
		else if (c == '(')
			paren++;
		else if (c == ')' && paren > 0)
			paren--;
		else if (strchr(stops, c) != NULL && paren == 0)
			return;
		lx->p++;
	}
}

static void
skip_rest(struct lex *lx)
{
	skip_upto(lx, ";");
}

/* In a skipped loop or function: past one command (up to `;`, `&`, `|`, `&&`, `||`). */
static void
skip_command(struct lex *lx)
{
	skip_upto(lx, ";&|");
	while (lx->p < lx->end && (*lx->p == '&' || *lx->p == '|'))
		lx->p++;
}

/* `#@#KEY = value` (padded, quoted or not); the MAGICID markers. */
static void
parse_magic(struct vmdef *d, const char *s, size_t len, int line)
{
	size_t i = 0, k;
	char *key, *val;

	while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
		i++;
	if (i == 0)
		return;
	key = xstrndup(s, i);
	if (strcmp(key, "MAGICID-QEMU") == 0)
		d->magic_qemu = 1;
	else if (strcmp(key, "MAGICID-IGNORE") == 0)
		d->magic_ignore = 1;
	else if (strcmp(key, "MAGICID-NOENUM") == 0)
		d->magic_noenum = 1;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= len || s[i] != '=') {
		free(key);
		return;
	}
	i++;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < len && (s[i] == '"' || s[i] == '\'')) {
		char q = s[i++];

		for (k = i; k < len && s[k] != q; k++)
			;
		val = xstrndup(s + i, k - i);
	} else {
		for (k = len; k > i && (s[k - 1] == ' ' || s[k - 1] == '\t' || s[k - 1] == '\r');)
			k--;
		val = xstrndup(s + i, k - i);
	}
	if (kv_find(d->magic, d->nmagic, key) == NULL) {
		d->magic = xreallocarray(d->magic, d->nmagic + 1, sizeof *d->magic);
		d->magic[d->nmagic].key = key;
		d->magic[d->nmagic].value = val;
		d->magic[d->nmagic++].line = line;
	} else {
		free(key);
		free(val);
	}
}

/*
 * The static evaluator of `if [ ... ]; then ... [elif ...] [else ...] fi` and
 * `case WORD in pat|pat) ... ;; esac`: a stack of open blocks. Loops and everything
 * else that would need running are skipped whole (one warning).
 */
enum { F_IF, F_CASE };
enum { S_COND, S_BODY, S_IN, S_PAT, S_ARM };

struct frame {
	int kind, state;
	int outer;	/* the code around the block runs */
	int taken;	/* a branch ran, or the block could not be evaluated */
	int run;	/* the current branch runs */
	int cond;	/* if: the pending condition (1, 0, -1 unknown) */
	char *word;	/* case: the subject, NULL if it could not be evaluated */
	int line;
};

#define MAX_NEST 16

struct eval {
	struct frame f[MAX_NEST];
	int n;
	int skip;		/* depth inside a skipped loop block or function body */
	const char *skipname;
	int skipline;
	int fnbody;		/* a function header was read: its `{` comes next */
};

static const char *const block_open[] = { "case", "if", "for", "while", "until", "select", NULL };
static const char *const block_close[] = { "esac", "fi", "done", "done", "done", "done", NULL };

static int
word_is(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(end - p) >= n && strncmp(p, w, n) == 0 &&
	    (p + n == end || !is_name(p[n]));
}

static int
running(const struct eval *ev)
{
	return ev->n == 0 || ev->f[ev->n - 1].run;
}

static struct frame *
push(struct lex *lx, struct eval *ev, int kind, const char *name)
{
	struct frame *f;

	if (ev->n == MAX_NEST) {
		warn(lx, "blocks nested too deeply; '%s' block not evaluated, its assignments "
		    "are ignored", name);
		ev->skip = 1;
		ev->skipname = name;
		ev->skipline = lx->line;
		skip_rest(lx);	/* its `fi`/`esac` may follow on this line */
		return NULL;
	}
	f = &ev->f[ev->n++];
	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->outer = ev->n == 1 || ev->f[ev->n - 2].run;
	f->line = lx->line;
	return f;
}

static void
pop(struct eval *ev)
{
	free(ev->f[--ev->n].word);
}

/*
 * The condition after `if`/`elif`, up to `;` or the end of the line: `[ ... ]`,
 * `[[ ... ]]` or `test ...` with -n, -z, =, ==, !=, -eq.. -ge and `!`. Words are taken
 * as quoted (no splitting); in [[ ]] the right side of =, == and != is a glob pattern.
 * Returns 1, 0, or -1 with *why.
 */
static int
parse_cond(struct lex *lx, const char **why)
{
	struct sb sb;
	char *w[8];
	const char *wstart[8];
	int n = 0, rc = -1, neg = 0, k, dbl = 0;
	char **a;

	*why = NULL;
	for (;;) {
		const char *ws;

		skip_blanks(lx);
		if (lx->p >= lx->end || *lx->p == ';' || *lx->p == '#')
			break;
		if (n == (int)(sizeof w / sizeof w[0])) {
			*why = "condition too long";
			goto out;
		}
		memset(&sb, 0, sizeof sb);
		ws = lx->p;
		if (parse_word(lx, &sb, 0) == -1) {
			free(sb.s);
			*why = lx->bad;
			lx->p = ws;	/* skip_rest starts outside quotes */
			goto out;
		}
		wstart[n] = ws;
		w[n++] = sb_take(&sb);
	}
	a = w;
	k = n;
	if (k > 0 && (strcmp(a[0], "[") == 0 || strcmp(a[0], "[[") == 0)) {
		if (k < 2 || strcmp(a[k - 1], a[0][1] ? "]]" : "]") != 0) {
			*why = "unbalanced [";
			goto out;
		}
		dbl = a[0][1] != '\0';
		a++;
		k -= 2;
	} else if (k > 0 && strcmp(a[0], "test") == 0) {
		a++;
		k--;
	} else {
		*why = "only [ ... ] and test conditions are evaluated";
		goto out;
	}
	if (k > 0 && strcmp(a[0], "!") == 0) {
		neg = 1;
		a++;
		k--;
	}
	if (k == 1)
		rc = a[0][0] != '\0';
	else if (k == 2 && strcmp(a[0], "-n") == 0)
		rc = a[1][0] != '\0';
	else if (k == 2 && strcmp(a[0], "-z") == 0)
		rc = a[1][0] == '\0';
	else if (k == 3 && dbl && (strcmp(a[1], "=") == 0 || strcmp(a[1], "==") == 0 ||
	    strcmp(a[1], "!=") == 0)) {
		/* the pattern word again, now with quoted parts escaped */
		const char *save = lx->p;
		char *pat;

		lx->p = wstart[a + 2 - w];
		if ((pat = sub_word(lx, 0, 1)) == NULL)
			*why = lx->bad;
		else if (strlen(a[0]) > GLOB_MAX && has_glob(pat))
			*why = "pattern match on a very long value";
		else
			rc = (fnmatch(pat, a[0], 0) == 0) == (a[1][0] == '=');
		free(pat);
		lx->p = save;
	} else if (k == 3 && (strcmp(a[1], "=") == 0 || strcmp(a[1], "==") == 0))
		rc = strcmp(a[0], a[2]) == 0;
	else if (k == 3 && strcmp(a[1], "!=") == 0)
		rc = strcmp(a[0], a[2]) != 0;
	else if (k == 3 && a[1][0] == '-') {
		static const char *const ops[] = { "-eq", "-ne", "-lt", "-le", "-gt", "-ge" };
		long x, y;
		char *e1, *e2;
		int op = -1;

		for (int i = 0; i < 6; i++)
			if (strcmp(a[1], ops[i]) == 0)
				op = i;
		errno = 0;
		x = strtol(a[0], &e1, 10);
		y = strtol(a[2], &e2, 10);
		if (op < 0)
			*why = "unsupported test";
		else if (errno != 0 || e1 == a[0] || *e1 != '\0' || e2 == a[2] || *e2 != '\0')
			*why = "not a number in a numeric test";
		else {
			int r[] = { x == y, x != y, x < y, x <= y, x > y, x >= y };

			rc = r[op];
		}
	} else
		*why = "unsupported test";
	if (rc != -1 && neg)
		rc = !rc;
out:
	for (int i = 0; i < n; i++)
		free(w[i]);
	if (rc == -1)
		skip_rest(lx);
	return rc;
}

/* `pat|pat)` at the head of a case arm; the arm's body may follow on the line. */
static void
parse_pattern(struct lex *lx, struct frame *f)
{
	int match = 0, rc = 0;
	char *pat;

	if (*lx->p == '(')
		lx->p++;
	for (;;) {
		const char *ps;

		skip_blanks(lx);
		ps = lx->p;
		if ((pat = sub_word(lx, W_PAT, 1)) == NULL) {
			lx->p = ps;	/* skip_rest starts outside quotes */
			rc = -1;
			break;
		}
		if (f->word != NULL && fnmatch(pat, f->word, 0) == 0)
			match = 1;
		free(pat);
		skip_blanks(lx);
		if (lx->p < lx->end && *lx->p == '|') {
			lx->p++;
			continue;
		}
		if (lx->p < lx->end && *lx->p == ')') {
			lx->p++;
			break;
		}
		lx->bad = "expected ')' after a case pattern";
		rc = -1;
		break;
	}
	f->state = S_ARM;
	f->run = 0;
	if (rc == -1) {
		lx->dry = !f->outer || f->word == NULL;
		warn(lx, "case pattern not evaluated (%s); arm skipped", lx->bad);
		skip_rest(lx);
		return;
	}
	f->run = f->outer && f->word != NULL && !f->taken && match;
	if (f->run)
		f->taken = 1;
}

/* Block keywords: returns 1 when the statement was one (and consumed it). */
static int
parse_block(struct lex *lx, struct eval *ev)
{
	struct frame *f = ev->n > 0 ? &ev->f[ev->n - 1] : NULL;
	const char *why;
	int c;

	if (f != NULL && f->kind == F_CASE) {
		if (f->state == S_IN) {
			if (word_is(lx->p, lx->end, "in")) {
				lx->p += 2;
				f->state = S_PAT;
				return 1;
			}
			lx->dry = !f->outer;	/* no arm runs yet, but the block is read */
			warn(lx, "case: 'in' expected; block skipped");
			f->taken = 1;
			f->state = S_PAT;
		}
		if (f->state != S_IN && word_is(lx->p, lx->end, "esac")) {
			lx->p += 4;
			pop(ev);
			return 1;
		}
		if (f->state == S_PAT) {
			parse_pattern(lx, f);
			return 1;
		}
	}
	if (f != NULL && f->kind == F_IF) {
		if (word_is(lx->p, lx->end, "then")) {
			lx->p += 4;
			if (f->state != S_COND) {
				warn(lx, "'then' without a condition");
				return 1;
			}
			f->state = S_BODY;
			f->run = f->outer && !f->taken && f->cond == 1;
			if (f->run || f->cond == -1)
				f->taken = 1;
			return 1;
		}
		if (word_is(lx->p, lx->end, "elif")) {
			lx->p += 4;
			lx->dry = !f->outer || f->taken;
			c = parse_cond(lx, &why);
			if (c == -1 && !lx->dry)
				warn(lx, "condition not evaluated (%s); the rest of the 'if' block is "
				    "skipped", why);
			f->cond = lx->dry ? 0 : c;
			f->state = S_COND;
			f->run = 0;
			return 1;
		}
		if (word_is(lx->p, lx->end, "else")) {
			lx->p += 4;
			f->run = f->outer && !f->taken;
			f->taken = 1;
			f->state = S_BODY;
			return 1;
		}
		if (word_is(lx->p, lx->end, "fi")) {
			lx->p += 2;
			pop(ev);
			return 1;
		}
	}
	if (word_is(lx->p, lx->end, "if")) {
		lx->p += 2;
		if ((f = push(lx, ev, F_IF, "if")) == NULL)
			return 1;
		f->state = S_COND;
		lx->dry = !f->outer;
		f->cond = parse_cond(lx, &why);
		if (f->cond == -1)
			warn(lx, "condition not evaluated (%s); the 'if' block is skipped", why);
		return 1;
	}
	if (word_is(lx->p, lx->end, "case")) {
		struct sb w = { 0 };
		const char *ws;

		lx->p += 4;
		if ((f = push(lx, ev, F_CASE, "case")) == NULL)
			return 1;
		f->state = S_IN;
		lx->dry = !f->outer;
		skip_blanks(lx);
		ws = lx->p;
		if (parse_word(lx, &w, 0) == -1) {
			free(w.s);
			lx->p = ws;	/* skip_rest starts outside quotes */
			warn(lx, "case subject not evaluated (%s); the 'case' block is skipped",
			    lx->bad);
			f->taken = 1;
			f->state = S_PAT;
			skip_rest(lx);
			return 1;
		}
		f->word = sb_take(&w);
		skip_blanks(lx);
		if (word_is(lx->p, lx->end, "in")) {
			lx->p += 2;
			f->state = S_PAT;
		}
		return 1;
	}
	for (int i = 0; block_open[i] != NULL; i++) {
		if (word_is(lx->p, lx->end, block_open[i])) {
			warn(lx, "'%s' loop not evaluated; its assignments are ignored",
			    block_open[i]);
			ev->skip = 1;
			ev->skipname = block_open[i];
			ev->skipline = lx->line;
			skip_rest(lx);
			return 1;
		}
	}
	static const char *const stray[] = { "then", "elif", "else", "fi", "esac", "in", "do",
	    "done", NULL };
	for (int i = 0; stray[i] != NULL; i++) {
		if (word_is(lx->p, lx->end, stray[i])) {
			warn(lx, "'%s' outside its block, skipped", stray[i]);
			lx->p += strlen(stray[i]);
			skip_rest(lx);
			return 1;
		}
	}
	return 0;
}

/* A brace group's `{` or `}` at lx->p (a reserved word: a blank or the end after it). */
static int
brace_is(const struct lex *lx, char c)
{
	return lx->p < lx->end && *lx->p == c &&
	    (lx->p + 1 == lx->end || strchr(" \t;&|)", lx->p[1]) != NULL);
}

/*
 * `NAME() ...` or `function NAME ...`: advances past the header and returns 1 for a
 * function definition.
 */
static int
parse_funchead(struct lex *lx)
{
	const char *p = lx->p, *name;
	int kw = word_is(p, lx->end, "function");

	if (kw)
		for (p += 8; p < lx->end && (*p == ' ' || *p == '\t'); p++)
			;
	for (name = p; p < lx->end && !isspace((unsigned char)*p) &&
	    strchr("(){};|&<>\"'$`=\\", *p) == NULL; p++)
		;
	if (p == name)
		return 0;
	while (p < lx->end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < lx->end && *p == '(') {
		for (p++; p < lx->end && (*p == ' ' || *p == '\t'); p++)
			;
		if (p >= lx->end || *p != ')')
			return 0;
		p++;
	} else if (!kw)
		return 0;
	lx->p = p;
	return 1;
}

/*
 * `A=1 cmd` or `A=1 | cmd`: assignments that only go to a command's environment (or to a
 * subshell), never to the shell's variables. Returns that command's word, else NULL.
 * Looks ahead without assigning anything.
 */
static const char *
env_command(struct lex *lx)
{
	const char *save = lx->p, *bad = lx->bad, *cmd = NULL;
	int dry = lx->dry, first = 1;

	lx->dry = 1;
	while (lx->p < lx->end && *lx->p != ';' && *lx->p != '#') {
		const char *start = lx->p, *q;
		struct sb val = { 0 };
		int rc;

		while (lx->p < lx->end && is_name(*lx->p))
			lx->p++;
		if (lx->p == start || !is_name_start(*start) || lx->p >= lx->end ||
		    *lx->p != '=') {
			/* not `&&`, `||` or a redirection: the assignments stay in the shell */
			for (q = start; q < lx->end && isdigit((unsigned char)*q); q++)
				;
			if (!first && !(q < lx->end && (*q == '<' || *q == '>')) &&
			    !(start + 1 < lx->end && start[0] == '&' && strchr("&>", start[1])) &&
			    !(start + 1 < lx->end && start[0] == '|' && start[1] == '|'))
				cmd = start;
			break;
		}
		lx->p++;
		rc = parse_word(lx, &val, W_ASSIGN);
		free(val.s);
		if (rc == -1)
			break;
		skip_blanks(lx);
		first = 0;
	}
	lx->p = save;
	lx->bad = bad;
	lx->dry = dry;
	return cmd;
}

/* One statement starting at lx->p; advances past it (to `;`, `#` or the end). */
static void
parse_statement(struct lex *lx, struct eval *ev)
{
	int prefix = 0;
	const char *stmt, *cmd;
	struct vmdef_kv *pend = NULL;	/* export/readonly: assigned once all are expanded */
	size_t npend = 0;

	skip_blanks(lx);
	if (lx->p >= lx->end || *lx->p == '#' || *lx->p == ';')
		return;
	if (ev->skip > 0) {
		/* inside a skipped loop or function: only count nesting, statement by statement */
		while (word_is(lx->p, lx->end, "do") || word_is(lx->p, lx->end, "then") ||
		    word_is(lx->p, lx->end, "else")) {
			lx->p += *lx->p == 'd' ? 2 : 4;
			skip_blanks(lx);
		}
		if (brace_is(lx, '{'))
			ev->skip++;
		else if (brace_is(lx, '}'))
			ev->skip--;
		for (int i = 0; block_open[i] != NULL; i++) {
			if (word_is(lx->p, lx->end, block_open[i])) {
				ev->skip++;
				break;
			}
			if (word_is(lx->p, lx->end, block_close[i])) {
				ev->skip--;
				break;
			}
		}
		skip_command(lx);
		return;
	}
	if (ev->fnbody) {
		ev->fnbody = 0;
		if (brace_is(lx, '{')) {
			ev->skip = 1;
			lx->p++;
			return;
		}
	}
	lx->dry = !running(ev);
	if (parse_block(lx, ev))
		return;
	lx->dry = !running(ev);
	stmt = lx->p;
	if (parse_funchead(lx)) {
		warn(lx, "function definition not evaluated; its body is ignored");
		ev->skipname = "function";
		ev->skipline = lx->line;
		skip_blanks(lx);
		if (brace_is(lx, '{')) {
			ev->skip = 1;	/* the body: skipped command by command */
			lx->p++;
		} else if (lx->p >= lx->end || *lx->p == '#')
			ev->fnbody = 1;
		else
			skip_rest(lx);
		return;
	}
	if (word_is(lx->p, lx->end, "export") || word_is(lx->p, lx->end, "readonly") ||
	    word_is(lx->p, lx->end, "local")) {
		while (lx->p < lx->end && is_name(*lx->p))
			lx->p++;
		skip_blanks(lx);
		prefix = 1;
	} else if (word_is(lx->p, lx->end, ":")) {
		/* `: ${K:=default}`: the words are expanded for their assignments only */
		for (lx->p++, skip_blanks(lx); lx->p < lx->end && *lx->p != ';' && *lx->p != '#';
		    skip_blanks(lx)) {
			struct sb w = { 0 };
			const char *ws = lx->p;

			if (parse_word(lx, &w, 0) == -1) {
				warn(lx, "':' not evaluated (%s), skipped", lx->bad);
				lx->p = ws;
				skip_rest(lx);
			} else if (lx->p == ws)
				skip_rest(lx);	/* a newline the line joiner left unquoted */
			free(w.s);
		}
		return;
	} else if (!lx->dry && (cmd = env_command(lx)) != NULL) {
		const char *e = cmd;

		while (e < lx->end && !isspace((unsigned char)*e) && *e != ';')
			e++;
		warn(lx, "not an assignment, skipped with the assignments before it: '%.*s'",
		    (int)(e - cmd > 40 ? 40 : e - cmd), cmd);
		lx->p = stmt;
		skip_rest(lx);
		return;
	}
	while (lx->p < lx->end && *lx->p != ';' && *lx->p != '#') {
		const char *start = lx->p;
		char name[128];
		size_t n = 0;
		struct sb val = { 0 };
		char *v;

		while (lx->p < lx->end && is_name(*lx->p) && n < sizeof name - 1)
			name[n++] = *lx->p++;
		name[n] = '\0';
		if (prefix && n > 0 && is_name_start(name[0]) && (lx->p >= lx->end ||
		    *lx->p == ' ' || *lx->p == '\t' || *lx->p == ';')) {
			skip_blanks(lx);	/* `export NAME`: nothing to assign */
			continue;
		}
		if (n == 0 || !is_name_start(name[0]) || lx->p >= lx->end || *lx->p != '=') {
			const char *e = start;

			while (e < lx->end && !isspace((unsigned char)*e) && *e != ';')
				e++;
			warn(lx, "not an assignment, skipped: '%.*s'",
			    (int)(e - start > 40 ? 40 : e - start), start);
			lx->p = start;
			skip_rest(lx);
			break;
		}
		lx->p++;
		lx->bad = NULL;
		start = lx->p;
		if (parse_word(lx, &val, W_ASSIGN) == -1) {
			warn(lx, "%s: %s not evaluated; assignment skipped", name, lx->bad);
			free(val.s);
			lx->p = start;	/* skip_rest starts outside quotes */
			skip_rest(lx);
			break;
		}
		v = sb_take(&val);
		if (prefix) {
			/* `export A=1 B=$A`: every word is expanded before any is assigned */
			pend = xreallocarray(pend, npend + 1, sizeof *pend);
			pend[npend].key = xstrdup(name);
			pend[npend++].value = v;
		} else {
			assign(lx, name, v);
			free(v);
		}
		skip_blanks(lx);
	}
	for (size_t i = 0; i < npend; i++) {
		assign(lx, pend[i].key, pend[i].value);
		free(pend[i].key);
		free(pend[i].value);
	}
	free(pend);
}

struct vmdef *
vmdef_parse(const char *buf, size_t len, const char *path)
{
	struct vmdef *d = xcalloc(1, sizeof *d);
	const char *p = buf, *end = buf + len, *slash, *nul;
	struct eval ev;
	int line = 0;

	memset(&ev, 0, sizeof ev);
	d->path = xstrdup(path ? path : "");
	slash = strrchr(d->path, '/');
	d->dir = slash ? xstrndup(d->path, slash == d->path ? 1 : (size_t)(slash - d->path)) :
	    xstrdup(".");
	var_set(d, "CTYSWRAPPERPATH", d->dir, 0);

	if ((nul = memchr(buf, '\0', len)) != NULL) {
		int l = 1;

		for (const char *c = buf; c < nul; c++)
			l += *c == '\n';
		diag(d, l, 1, "NUL byte: not a text file");
		return d;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *lend = nl ? nl : end;
		const char *s = p;
		int first = ++line;

		while (s < lend && (*s == ' ' || *s == '\t'))
			s++;
		if (lend - s >= 3 && strncmp(s, "#@#", 3) == 0) {
			size_t l = (size_t)(lend - s - 3);

			if (l > 0 && s[3 + l - 1] == '\r')
				l--;
			parse_magic(d, s + 3, l, line);
			p = nl ? nl + 1 : end;
			continue;
		}
		/* join continuation lines (backslash-newline) and multi-line quotes */
		struct sb stmt = { 0 };
		const char *q = p;
		char quote = 0;
		for (;;) {
			const char *e = memchr(q, '\n', (size_t)(end - q));
			const char *le = e ? e : end;

			for (const char *c = q; c < le; c++) {
				if (quote == 0 && *c == '#' && (c == q || isspace((unsigned char)c[-1])
				    || c[-1] == ';'))
					break;
				if (quote == 0 && *c == '\\' && c + 1 < le) {
					c++;
					continue;
				}
				if (quote == 0 && (*c == '"' || *c == '\'')) {
					quote = *c;
				} else if (quote != 0 && *c == quote) {
					quote = 0;
				} else if (quote == '"' && *c == '\\' && c + 1 < le)
					c++;
			}
			sb_addn(&stmt, q, (size_t)(le - q));
			int cont = (le > q && le[-1] == '\\' && quote == 0) || quote != 0;
			if (!cont || e == NULL) {
				q = e ? e + 1 : end;
				break;
			}
			if (quote == 0)
				stmt.n--;	/* drop the backslash */
			else
				sb_addc(&stmt, '\n');
			stmt.s[stmt.n] = '\0';
			q = e + 1;
			line++;
		}
		p = q;
		if (stmt.n > 0 && stmt.s[stmt.n - 1] == '\r')
			stmt.s[--stmt.n] = '\0';

		struct lex lx = { d, stmt.s ? stmt.s : "", NULL, first, NULL, 0, 0, 0 };
		lx.end = lx.p + stmt.n;
		while (lx.p < lx.end) {
			const char *before = lx.p;

			parse_statement(&lx, &ev);
			if (lx.p < lx.end && *lx.p == '#')
				break;
			if (lx.p + 1 < lx.end && lx.p[0] == ';' && lx.p[1] == ';') {
				/* `;;` ends a case arm */
				struct frame *f = ev.n > 0 ? &ev.f[ev.n - 1] : NULL;

				if (ev.skip == 0 && f != NULL && f->kind == F_CASE && f->state == S_ARM) {
					f->state = S_PAT;
					f->run = 0;
				}
				lx.p += 2;
			} else if (lx.p < lx.end && *lx.p == ';')
				lx.p++;
			if (lx.p == before)
				lx.p++;
		}
		free(stmt.s);
	}
	if (ev.skip > 0)
		diag(d, ev.skipline, 0, "'%s' block is not closed", ev.skipname);
	while (ev.n > 0) {
		struct frame *f = &ev.f[ev.n - 1];

		diag(d, f->line, 0, "'%s' block is not closed", f->kind == F_IF ? "if" : "case");
		pop(&ev);
	}
	return d;
}

struct vmdef *
vmdef_load(const char *path, char **cause)
{
	size_t len;
	char *buf = file_read(path, VMDEF_MAX_SIZE, &len);
	struct vmdef *d;

	if (buf == NULL) {
		if (errno == EFBIG)
			fail(cause, 0, "%s: larger than %d bytes, not a VM definition", path,
			    VMDEF_MAX_SIZE);
		else
			fail(cause, 0, "%s: %s", path, strerror(errno));
		return NULL;
	}
	d = vmdef_parse(buf, len, path);
	free(buf);
	return d;
}

void
vmdef_free(struct vmdef *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->nmagic; i++) {
		free(d->magic[i].key);
		free(d->magic[i].value);
	}
	for (size_t i = 0; i < d->nvars; i++) {
		free(d->vars[i].key);
		free(d->vars[i].value);
	}
	for (size_t i = 0; i < d->ndiags; i++)
		free(d->diags[i].msg);
	free(d->magic);
	free(d->vars);
	free(d->diags);
	free(d->path);
	free(d->dir);
	free(d);
}

const struct vmdef_kv *
vmdef_var(const struct vmdef *d, const char *name)
{
	return kv_find(d->vars, d->nvars, name);
}

const struct vmdef_kv *
vmdef_magic(const struct vmdef *d, const char *name)
{
	return kv_find(d->magic, d->nmagic, name);
}

const char *
vmdef_get(const struct vmdef *d, const char *name)
{
	const struct vmdef_kv *kv = vmdef_var(d, name);

	if (kv != NULL && *kv->value != '\0')
		return kv->value;
	kv = vmdef_magic(d, name);
	if (kv != NULL && *kv->value != '\0')
		return kv->value;
	return NULL;
}

int
vmdef_line(const struct vmdef *d, const char *name)
{
	const struct vmdef_kv *kv = vmdef_var(d, name);

	if (kv == NULL || *kv->value == '\0')
		kv = vmdef_magic(d, name);
	return kv ? kv->line : 0;
}

void
vmdef_print_diags(const struct vmdef *d)
{
	for (size_t i = 0; i < d->ndiags; i++)
		fprintf(stderr, "%s:%d: %s%s\n", d->path, d->diags[i].line,
		    d->diags[i].error ? "" : "warning: ", d->diags[i].msg);
}
