#include "vmdef.h"

#include <ctype.h>
#include <errno.h>
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

/* Parser state over one logical statement. */
struct lex {
	struct vmdef *d;
	const char *p, *end;
	int line;
	const char *bad;	/* set when an unsupported construct was met */
};

static int parse_word(struct lex *, struct sb *, int stop_brace, int in_dquote);

static const char *
lookup(struct vmdef *d, const char *name)
{
	struct vmdef_kv *kv = kv_find(d->vars, d->nvars, name);

	return kv ? kv->value : NULL;
}

/* After `$`: a name, `{...}`, or something unsupported. */
static int
parse_dollar(struct lex *lx, struct sb *out)
{
	char name[128];
	size_t n = 0;

	if (lx->p >= lx->end) {
		sb_addc(out, '$');
		return 0;
	}
	if (*lx->p == '(') {
		lx->bad = "command substitution $(...)";
		return -1;
	}
	if (*lx->p == '{') {
		const char *val;
		char op = 0;
		int colon = 0;

		lx->p++;
		while (lx->p < lx->end && is_name(*lx->p) && n < sizeof name - 1)
			name[n++] = *lx->p++;
		name[n] = '\0';
		if (n == 0 || !is_name_start(name[0])) {
			lx->bad = "unsupported parameter expansion";
			return -1;
		}
		if (lx->p < lx->end && *lx->p == ':') {
			colon = 1;
			lx->p++;
		}
		if (lx->p < lx->end && strchr("-+=", *lx->p) != NULL)
			op = *lx->p++;
		else if (colon || (lx->p < lx->end && *lx->p != '}')) {
			lx->bad = "unsupported parameter expansion";
			return -1;
		}
		val = lookup(lx->d, name);
		if (op == 0) {
			if (lx->p >= lx->end || *lx->p != '}') {
				lx->bad = "unterminated ${";
				return -1;
			}
			lx->p++;
			if (val != NULL)
				sb_addn(out, val, strlen(val));
			return 0;
		}
		struct sb word = { 0 };
		if (parse_word(lx, &word, 1, 0) == -1) {
			free(word.s);
			return -1;
		}
		if (lx->p >= lx->end || *lx->p != '}') {
			free(word.s);
			lx->bad = "unterminated ${";
			return -1;
		}
		lx->p++;
		char *w = sb_take(&word);
		int set = val != NULL && (!colon || *val != '\0');

		switch (op) {
		case '-':
			sb_addn(out, set ? val : w, strlen(set ? val : w));
			break;
		case '=':
			if (!set)
				var_set(lx->d, name, w, lx->line);
			sb_addn(out, set ? val : w, strlen(set ? val : w));
			break;
		case '+':
			if (set)
				sb_addn(out, w, strlen(w));
			break;
		}
		free(w);
		return 0;
	}
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
	const char *val = lookup(lx->d, name);
	if (val != NULL)
		sb_addn(out, val, strlen(val));
	return 0;
}

/*
 * One shell word (with quotes and expansions) up to unquoted blank, `;`, end of
 * statement, or `}` when stop_brace. Returns 0 or -1 (lx->bad says why).
 */
static int
parse_word(struct lex *lx, struct sb *out, int stop_brace, int in_dquote)
{
	(void)in_dquote;
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (stop_brace && c == '}')
			return 0;
		if (!stop_brace && (c == ' ' || c == '\t' || c == ';' || c == '\n'))
			return 0;
		if (!stop_brace && (c == '|' || c == '&' || c == '<' || c == '>' || c == '(' ||
		    c == ')')) {
			lx->bad = "shell operator";
			return -1;
		}
		if (c == '`') {
			lx->bad = "command substitution `...`";
			return -1;
		}
		if (c == '\\') {
			lx->p++;
			if (lx->p < lx->end && *lx->p != '\n')
				sb_addc(out, *lx->p);
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
			sb_addn(out, lx->p + 1, (size_t)(q - lx->p - 1));
			lx->p = q + 1;
			continue;
		}
		if (c == '"') {
			lx->p++;
			while (lx->p < lx->end && *lx->p != '"') {
				c = *lx->p;
				if (c == '`') {
					lx->bad = "command substitution `...`";
					return -1;
				}
				if (c == '\\' && lx->p + 1 < lx->end &&
				    strchr("$`\"\\\n", lx->p[1]) != NULL) {
					if (lx->p[1] != '\n')
						sb_addc(out, lx->p[1]);
					lx->p += 2;
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

static const char *const block_open[] = { "case", "if", "for", "while", "until", "select", NULL };
static const char *const block_close[] = { "esac", "fi", "done", "done", "done", "done", NULL };

static int
word_is(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(end - p) >= n && strncmp(p, w, n) == 0 &&
	    (p + n == end || !is_name(p[n]));
}

/* One statement starting at lx->p; advances past it (to `;`, newline or end). */
static void
parse_statement(struct lex *lx, int *depth, const char **blockname)
{
	struct vmdef *d = lx->d;

	skip_blanks(lx);
	if (lx->p >= lx->end || *lx->p == '#' || *lx->p == ';')
		return;
	if (*depth > 0) {
		/* inside a skipped block: only count nesting */
		for (int i = 0; block_open[i] != NULL; i++) {
			if (word_is(lx->p, lx->end, block_open[i]))
				(*depth)++;
			else if (word_is(lx->p, lx->end, block_close[i]))
				(*depth)--;
		}
		lx->p = lx->end;
		return;
	}
	for (int i = 0; block_open[i] != NULL; i++) {
		if (word_is(lx->p, lx->end, block_open[i])) {
			diag(d, lx->line, 0, "'%s' block not evaluated; its assignments are "
			    "ignored", block_open[i]);
			*blockname = block_open[i];
			*depth = 1;
			lx->p = lx->end;
			return;
		}
	}
	if (word_is(lx->p, lx->end, "export") || word_is(lx->p, lx->end, "readonly") ||
	    word_is(lx->p, lx->end, "local")) {
		while (lx->p < lx->end && is_name(*lx->p))
			lx->p++;
		skip_blanks(lx);
	}
	while (lx->p < lx->end && *lx->p != ';' && *lx->p != '#') {
		const char *start = lx->p;
		char name[128];
		size_t n = 0;

		while (lx->p < lx->end && is_name(*lx->p) && n < sizeof name - 1)
			name[n++] = *lx->p++;
		name[n] = '\0';
		if (n == 0 || !is_name_start(name[0]) || lx->p >= lx->end || *lx->p != '=') {
			const char *e = start;

			while (e < lx->end && !isspace((unsigned char)*e) && *e != ';')
				e++;
			diag(d, lx->line, 0, "not an assignment, skipped: '%.*s'",
			    (int)(e - start > 40 ? 40 : e - start), start);
			lx->p = lx->end;
			return;
		}
		lx->p++;
		struct sb val = { 0 };
		lx->bad = NULL;
		if (parse_word(lx, &val, 0, 0) == -1) {
			diag(d, lx->line, 0, "%s: %s not evaluated; assignment skipped", name,
			    lx->bad);
			free(val.s);
			lx->p = lx->end;
			return;
		}
		char *v = sb_take(&val);
		var_set(d, name, v, lx->line);
		free(v);
		skip_blanks(lx);
	}
}

struct vmdef *
vmdef_parse(const char *buf, size_t len, const char *path)
{
	struct vmdef *d = xcalloc(1, sizeof *d);
	const char *p = buf, *end = buf + len, *slash;
	int line = 0, depth = 0;
	const char *blockname = NULL;
	int blockline = 0;

	d->path = xstrdup(path ? path : "");
	slash = strrchr(d->path, '/');
	d->dir = slash ? xstrndup(d->path, slash == d->path ? 1 : (size_t)(slash - d->path)) :
	    xstrdup(".");
	var_set(d, "CTYSWRAPPERPATH", d->dir, 0);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *lend = nl ? nl : end;
		const char *s = p;
		int first = ++line;

		if (memchr(p, '\0', (size_t)(lend - p)) != NULL) {
			diag(d, line, 1, "NUL byte: not a text file");
			break;
		}
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

		struct lex lx = { d, stmt.s ? stmt.s : "", NULL, first, NULL };
		lx.end = lx.p + stmt.n;
		int was = depth;
		while (lx.p < lx.end) {
			const char *before = lx.p;

			parse_statement(&lx, &depth, &blockname);
			if (was == 0 && depth > 0)
				blockline = first;
			was = depth;
			if (lx.p < lx.end && *lx.p == '#')
				break;
			if (lx.p < lx.end && *lx.p == ';') {
				lx.p++;
				/* `;;` inside case arms is consumed by the block skipper */
			}
			if (lx.p == before)
				lx.p++;
		}
		free(stmt.s);
	}
	if (depth > 0)
		diag(d, blockline, 0, "'%s' block is not closed", blockname);
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
