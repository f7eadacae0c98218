#include "subopt.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct sbuf {
	char *s;
	size_t n, cap;
};

static void
sbuf_add(struct sbuf *b, char c)
{
	if (b->n + 2 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 32;
		b->s = xrealloc(b->s, b->cap);
	}
	b->s[b->n++] = c;
	b->s[b->n] = '\0';
}

static char *
sbuf_take(struct sbuf *b)
{
	char *s = b->s ? b->s : xstrdup("");

	b->s = NULL;
	b->n = b->cap = 0;
	return s;
}

static void
subopt_clear(struct subopt *o)
{
	free(o->key);
	free(o->raw);
	free(o->arg);
	for (size_t j = 0; j < o->nvals; j++)
		free(o->vals[j]);
	free(o->vals);
	for (size_t j = 0; j < o->nfields; j++)
		free(o->fields[j]);
	free(o->fields);
	memset(o, 0, sizeof *o);
}

/* Parses one suboption (the text between unescaped commas, already unescaped for `,,`). */
static int
parse_one(const char *s, size_t len, struct subopt *o, char **cause)
{
	struct sbuf key = { 0 }, arg = { 0 }, val = { 0 }, fld = { 0 };
	int inarg = 0, pct;
	size_t i;

	memset(o, 0, sizeof *o);
	for (i = 0; i < len; i++) {
		char c = s[i];

		pct = 0;
		if ((c == ':' && i + 1 < len && s[i + 1] == ':') ||
		    (c == '\\' && i + 1 < len && s[i + 1] == ':')) {
			i++;
			c = ':';
			goto literal;
		}
		if (!inarg && c == ':') {
			inarg = 1;
			o->arg = NULL;
			continue;
		}
		if (inarg && c == '%') {
			/* fields: every `%` separates, so `%%` is an empty field */
			o->fields = xreallocarray(o->fields, o->nfields + 2, sizeof *o->fields);
			o->fields[o->nfields++] = sbuf_take(&fld);
			if (i + 1 < len && s[i + 1] == '%') {
				o->fields[o->nfields++] = xstrdup("");
				i++;
				pct = 1;
				goto literal;
			}
			sbuf_add(&arg, '%');
			o->vals = xreallocarray(o->vals, o->nvals + 1, sizeof *o->vals);
			o->vals[o->nvals++] = sbuf_take(&val);
			continue;
		}
literal:
		if (inarg) {
			sbuf_add(&arg, c);
			sbuf_add(&val, c);
			if (!pct)
				sbuf_add(&fld, c);
		} else
			sbuf_add(&key, c);
	}
	o->key = str_upper(sbuf_take(&key));
	if (inarg) {
		o->arg = sbuf_take(&arg);
		o->vals = xreallocarray(o->vals, o->nvals + 1, sizeof *o->vals);
		o->vals[o->nvals++] = sbuf_take(&val);
		o->fields = xreallocarray(o->fields, o->nfields + 1, sizeof *o->fields);
		o->fields[o->nfields++] = sbuf_take(&fld);
	} else
		free(fld.s);
	if (*o->key == '\0') {
		subopt_clear(o);
		return fail(cause, -1, "empty suboption name in '%.*s'", (int)len, s);
	}
	for (char *p = o->key; *p != '\0'; p++) {
		if (iscntrl((unsigned char)*p)) {
			subopt_clear(o);
			return fail(cause, -1, "control character in suboption name");
		}
	}
	return 0;
}

int
subopt_parse(const char *s, struct subopt_list *out, char **cause)
{
	struct sbuf cur = { 0 };
	size_t i, start = 0, len = strlen(s);

	out->v = NULL;
	out->n = 0;
	if (len == 0)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] == ',' && i + 1 < len && s[i + 1] == ',') {
			/* `,,` is a literal comma: keep it escaped from `:`/`%` handling */
			sbuf_add(&cur, ',');
			i++;
			continue;
		}
		if (i == len || s[i] == ',') {
			struct subopt o;
			char *text = sbuf_take(&cur);
			int rc = parse_one(text, strlen(text), &o, cause);

			free(text);
			if (rc == -1) {
				subopt_list_free(out);
				return -1;
			}
			o.raw = xstrndup(s + start, i - start);
			start = i + 1;
			out->v = xreallocarray(out->v, out->n + 1, sizeof *out->v);
			out->v[out->n++] = o;
			continue;
		}
		sbuf_add(&cur, s[i]);
	}
	return 0;
}

char *
subopt_join_raw(const struct subopt_list *l, int (*want)(const struct subopt *, const void *),
    const void *arg)
{
	struct strv kept = { 0 };
	char *out;

	for (size_t i = 0; i < l->n; i++)
		if (want(&l->v[i], arg))
			strv_add(&kept, l->v[i].raw);
	out = strv_join(&kept, ",");
	strv_free(&kept);
	return out;
}

void
subopt_list_free(struct subopt_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		subopt_clear(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
subopt_key_is(const char *key, const char *names)
{
	size_t klen = strlen(key);

	for (const char *p = names; *p != '\0';) {
		size_t n = strcspn(p, "|");

		if (n == klen && strncasecmp(p, key, n) == 0)
			return 1;
		p += n;
		if (*p == '|')
			p++;
	}
	return 0;
}

struct subopt *
subopt_find(struct subopt_list *l, const char *names)
{
	for (size_t i = 0; i < l->n; i++)
		if (subopt_key_is(l->v[i].key, names))
			return &l->v[i];
	return NULL;
}

int
subopt_check(const struct subopt_list *l, const struct subopt_spec *spec, const char *action,
    char **cause)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct subopt *o = &l->v[i];
		const struct subopt_spec *sp;

		for (sp = spec; sp->names != NULL; sp++)
			if (subopt_key_is(o->key, sp->names))
				break;
		if (sp->names == NULL)
			return fail(cause, -1, "unknown suboption '%s' for %s", o->key, action);
		if (sp->later)
			return fail(cause, -1, "%s suboption '%s' is not supported yet", action, o->key);
		if (sp->arg == SUBOPT_ARG && (o->arg == NULL || *o->arg == '\0'))
			return fail(cause, -1, "%s suboption '%s' needs an argument ('%s:...')", action,
			    o->key, o->key);
		if (sp->arg == SUBOPT_NOARG && o->arg != NULL)
			return fail(cause, -1, "%s suboption '%s' takes no argument", action, o->key);
	}
	return 0;
}
