/*
 * The shared listing printer (printer.h; the user's view is docs/output.md). Everything is
 * computed from the rows at print time: the sort order, column widths, the cut of cells.
 */
#include "printer.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "exitcodes.h"
#include "util.h"

#define PR_MAXCOLS	((int)nitems(((struct pr_opts *)NULL)->cols) - 1)
#define PR_AUTOWIDTH	40	/* a column as wide as its widest value: at most this */
#define PR_MAXWIDTH	999	/* a TAB_GEN width */

static const char *const pr_format_names[] = { "table", "MACHINE", "TERSE", "JSON" };

/* The value of field f in row r; NULL when empty or out of range. */
static const char *
pr_val(const struct pr_rows *rows, size_t r, int f)
{
	const char *v;

	if (f < 0 || (size_t)f >= rows->nfields)
		return NULL;
	v = rows->v[r][f];
	return v != NULL && *v != '\0' ? v : NULL;
}

/* A 1..9 digit decimal number (no sign) in s[0..len); -1 otherwise. */
static int
pr_digits(const char *s, size_t len)
{
	int v = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The field named (case-insensitive) or numbered (1-based) by s[0..len); -1 when none. */
static int
pr_field_find(const struct pr_schema *sc, const char *s, size_t len)
{
	int n;

	for (size_t i = 0; i < sc->nfields; i++) {
		const char *name = sc->fields[i].name;

		if (strlen(name) == len && strncasecmp(name, s, len) == 0)
			return (int)i;
	}
	if ((n = pr_digits(s, len)) >= 1 && (size_t)n <= sc->nfields)
		return n - 1;
	return -1;
}

/* The usage error for an unknown field, listing the valid names. */
static int
pr_no_field(const struct pr_schema *sc, char **cause, const char *what, const char *s,
    size_t len)
{
	char *list = xstrdup(""), *p;
	int rc;

	for (size_t i = 0; i < sc->nfields; i++) {
		p = xasprintf("%s%s%s", list, i ? ", " : "", sc->fields[i].name);
		free(list);
		list = p;
	}
	rc = fail(cause, EXIT_USAGE, "%s: no field '%.*s' (%s; or 1 to %zu)", what, (int)len, s,
	    list, sc->nfields);
	free(list);
	return rc;
}

static int
pr_add_col(struct pr_opts *o, int f, int width, char *title, char **cause)
{
	int n = 0;

	while (o->cols[n] != -1)
		n++;
	if (n >= PR_MAXCOLS) {
		free(title);
		return fail(cause, EXIT_USAGE, "too many columns (at most %d)", PR_MAXCOLS);
	}
	o->cols[n] = f;
	o->widths[n] = width;
	o->titles[n] = title;
	o->cols[n + 1] = -1;
	return 0;
}

/*
 * One TAB_GEN item: <field>[_<title>][_<width>], the field a name or a 1-based index. The
 * whole item naming a field wins; else a trailing `_<digits>` is the width, and the field
 * is the longest `_`-bounded prefix naming one (names may hold `_`), the rest the title.
 */
static int
pr_tabgen_item(const struct pr_schema *sc, struct pr_opts *o, const char *item, char **cause)
{
	size_t len = strlen(item), flen;
	const char *us;
	char *title = NULL;
	int f, width = 0;

	if (len == 0)
		return fail(cause, EXIT_USAGE, "TAB_GEN: an empty field");
	if ((f = pr_field_find(sc, item, len)) >= 0)
		return pr_add_col(o, f, 0, NULL, cause);
	if ((us = strrchr(item, '_')) != NULL && us[1] != '\0' &&
	    strspn(us + 1, "0123456789") == strlen(us + 1)) {
		width = pr_digits(us + 1, strlen(us + 1));
		if (width < 0 || width > PR_MAXWIDTH)
			return fail(cause, EXIT_USAGE, "TAB_GEN: width '%s' of '%s' is over %d",
			    us + 1, item, PR_MAXWIDTH);
		len = (size_t)(us - item);
	}
	flen = len;
	while ((f = pr_field_find(sc, item, flen)) < 0) {
		const char *p = memrchr(item, '_', flen);

		if (p == NULL)
			return pr_no_field(sc, cause, "TAB_GEN", item, flen);
		flen = (size_t)(p - item);
	}
	if (flen + 1 < len)
		title = xstrndup(item + flen + 1, len - flen - 1);
	return pr_add_col(o, f, width, title, cause);
}

static int
pr_sort_parse(const struct pr_schema *sc, struct pr_opts *o, const struct subopt *so,
    char **cause)
{
	if (o->sort != -1)
		return fail(cause, EXIT_USAGE, "SORT: given twice");
	if (so->nvals == 0 || *so->vals[0] == '\0')
		return pr_no_field(sc, cause, "SORT", "", 0);
	if ((o->sort = pr_field_find(sc, so->vals[0], strlen(so->vals[0]))) < 0)
		return pr_no_field(sc, cause, "SORT", so->vals[0], strlen(so->vals[0]));
	for (size_t i = 1; i < so->nvals; i++) {
		if (subopt_key_is(so->vals[i], "DESC|R"))
			o->sort_desc = 1;
		else if (subopt_key_is(so->vals[i], "ASC"))
			o->sort_desc = 0;
		else if (subopt_key_is(so->vals[i], "UNIQUE"))
			o->sort_unique = 1;
		else
			return fail(cause, EXIT_USAGE, "SORT: unknown flag '%s' (DESC, R, ASC, "
			    "UNIQUE)", so->vals[i]);
	}
	return 0;
}

static int
pr_opts_parse1(const struct pr_schema *sc, struct subopt_list *sl, struct pr_opts *o,
    char **cause)
{
	int rc, tabgen = 0;

	for (size_t i = 0; i < sl->n; i++) {
		struct subopt *so = &sl->v[i];
		int format = -1, f;

		if (subopt_key_is(so->key, "MACHINE"))
			format = PR_MACHINE;
		else if (subopt_key_is(so->key, "TERSE"))
			format = PR_TERSE;
		else if (subopt_key_is(so->key, "JSON"))
			format = PR_JSON;
		if (format != -1) {
			so->used = 1;
			if (o->format != PR_TABLE && o->format != format)
				return fail(cause, EXIT_USAGE, "%s and %s exclude each other",
				    pr_format_names[o->format], pr_format_names[format]);
			o->format = format;
			continue;
		}
		if (subopt_key_is(so->key, "TITLE")) {
			so->used = 1;
			if (o->title == 0)
				o->title = 1;
			continue;
		}
		if (subopt_key_is(so->key, "TITLEIDX")) {
			so->used = 1;
			o->title = 2;
			continue;
		}
		if (subopt_key_is(so->key, "TAB_GEN")) {
			so->used = 1;
			tabgen = 1;
			if (so->nvals == 0)
				return pr_no_field(sc, cause, "TAB_GEN", "", 0);
			for (size_t j = 0; j < so->nvals; j++)
				if ((rc = pr_tabgen_item(sc, o, so->vals[j], cause)) != 0)
					return rc;
			continue;
		}
		if (subopt_key_is(so->key, "SORT")) {
			so->used = 1;
			if ((rc = pr_sort_parse(sc, o, so, cause)) != 0)
				return rc;
			continue;
		}
		for (f = 0; (size_t)f < sc->nfields; f++)
			if (sc->fields[f].sw != NULL && subopt_key_is(so->key, sc->fields[f].sw))
				break;
		if ((size_t)f < sc->nfields) {
			so->used = 1;
			if ((rc = pr_add_col(o, f, 0, NULL, cause)) != 0)
				return rc;
		}
	}
	if (tabgen && o->format == PR_MACHINE)
		return fail(cause, EXIT_USAGE, "TAB_GEN and MACHINE exclude each other (the "
		    "MACHINE record is fixed)");
	return 0;
}

int
pr_opts_parse(const struct pr_schema *sc, struct subopt_list *sl, struct pr_opts *o,
    char **cause)
{
	int rc;

	memset(o, 0, sizeof *o);
	o->format = PR_TABLE;
	o->cols[0] = -1;
	o->sort = -1;
	if ((rc = pr_opts_parse1(sc, sl, o, cause)) != 0)
		pr_opts_free(o);
	return rc;
}

void
pr_opts_free(struct pr_opts *o)
{
	for (size_t i = 0; i < nitems(o->titles); i++) {
		free(o->titles[i]);
		o->titles[i] = NULL;
	}
}

void
pr_rows_add(struct pr_rows *rows, const char *const *vals)
{
	char **r = xcalloc(rows->nfields ? rows->nfields : 1, sizeof *r);

	/* capacity: the next power of two, grown when n reaches one */
	if (rows->n == 0 || (rows->n & (rows->n - 1)) == 0)
		rows->v = xreallocarray(rows->v, rows->n ? rows->n * 2 : 1, sizeof *rows->v);
	for (size_t i = 0; i < rows->nfields; i++)
		r[i] = vals[i] != NULL ? xstrdup(vals[i]) : NULL;
	rows->v[rows->n++] = r;
}

void
pr_rows_free(struct pr_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++) {
		for (size_t j = 0; j < rows->nfields; j++)
			free(rows->v[i][j]);
		free(rows->v[i]);
	}
	free(rows->v);
	rows->v = NULL;
	rows->n = 0;
}

/* A decimal as JSON writes it: -?(0|[1-9][0-9]*)(\.[0-9]+)?; 2 when it has a fraction. */
static int
pr_is_number(const char *s)
{
	int frac = 0;

	if (s == NULL)
		return 0;
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		s += strspn(s, "0123456789");
	else
		return 0;
	if (*s == '.') {
		size_t n = strspn(s + 1, "0123456789");

		if (n == 0)
			return 0;
		s += 1 + n;
		frac = 1;
	}
	return *s == '\0' ? 1 + frac : 0;
}

struct pr_sortctx {
	const struct pr_rows *rows;
	int field, numeric, desc;
};

/* Numbers first (numerically), then the rest (bytes); desc reverses within each group. */
static int
pr_cmp(const struct pr_sortctx *c, size_t a, size_t b)
{
	const char *va = pr_val(c->rows, a, c->field), *vb = pr_val(c->rows, b, c->field);
	int r;

	if (c->numeric) {
		int na = pr_is_number(va) != 0, nb = pr_is_number(vb) != 0;

		if (na != nb)
			return na ? -1 : 1;
		if (na) {
			double da = strtod(va, NULL), db = strtod(vb, NULL);

			r = (da > db) - (da < db);
			return c->desc ? -r : r;
		}
	}
	r = strcmp(va ? va : "", vb ? vb : "");
	r = (r > 0) - (r < 0);
	return c->desc ? -r : r;
}

/* A stable merge sort of row indexes. */
static void
pr_msort(const struct pr_sortctx *c, size_t *v, size_t *tmp, size_t n)
{
	size_t h = n / 2, i = 0, j = h, k = 0;

	if (n < 2)
		return;
	pr_msort(c, v, tmp, h);
	pr_msort(c, v + h, tmp, n - h);
	while (i < h && j < n)
		tmp[k++] = pr_cmp(c, v[j], v[i]) < 0 ? v[j++] : v[i++];
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof *v);
}

/* The rows to print, in order (sorted, one per value with UNIQUE). */
static size_t *
pr_order(const struct pr_schema *sc, const struct pr_opts *o, const struct pr_rows *rows,
    size_t *np)
{
	size_t *v = xcalloc(rows->n + 1, sizeof *v), *tmp, n = rows->n;
	struct pr_sortctx c = { rows, o->sort, 0, o->sort_desc };

	for (size_t i = 0; i < n; i++)
		v[i] = i;
	if (o->sort >= 0 && (size_t)o->sort < sc->nfields) {
		c.numeric = sc->fields[o->sort].numeric;
		tmp = xcalloc(n + 1, sizeof *tmp);
		pr_msort(&c, v, tmp, n);
		free(tmp);
		if (o->sort_unique && n > 0) {
			size_t k = 1;

			for (size_t i = 1; i < n; i++)
				if (pr_cmp(&c, v[k - 1], v[i]) != 0)
					v[k++] = v[i];
			n = k;
		}
	}
	*np = n;
	return v;
}

struct pr_col {
	int field;		/* -2: an empty MACHINE field */
	int width;
	const char *title;
};

/* The columns of the chosen form; *n of them (malloc'd). */
static struct pr_col *
pr_columns(const struct pr_schema *sc, const struct pr_opts *o, size_t *np)
{
	struct pr_col *c;
	const int *list = NULL;
	size_t n = 0;

	if (o->format == PR_MACHINE)
		list = sc->machine;
	else if (o->cols[0] != -1)
		list = o->cols;
	else
		list = sc->table;
	if (list != NULL)
		while (list[n] != -1)
			n++;
	else
		n = sc->nfields;
	c = xcalloc(n + 1, sizeof *c);
	for (size_t i = 0; i < n; i++) {
		int f = list != NULL ? list[i] : (int)i;

		if (f < 0 || (size_t)f >= sc->nfields) {
			c[i].field = -2;
			c[i].title = "";
			continue;
		}
		c[i].field = f;
		c[i].title = sc->fields[f].title != NULL ? sc->fields[f].title : sc->fields[f].name;
		c[i].width = sc->fields[f].width;
		if (list == o->cols) {
			if (o->titles[i] != NULL)
				c[i].title = o->titles[i];
			if (o->widths[i] > 0)
				c[i].width = o->widths[i];
		}
	}
	*np = n;
	return c;
}

static void
pr_sep_line(FILE *f, const struct pr_col *c, size_t n, int title, const struct pr_rows *rows,
    size_t r)
{
	for (size_t i = 0; i < n; i++) {
		char *e;

		if (i > 0)
			fputc(';', f);
		if (title == 0) {
			e = pr_encode(c[i].field >= 0 ? pr_val(rows, r, c[i].field) : NULL);
			fputs(e, f);
		} else {
			e = pr_encode(c[i].title);
			if (title == 2 && c[i].field >= 0)
				fprintf(f, "%d:", c[i].field + 1);
			fputs(e, f);
		}
		free(e);
	}
	fputc('\n', f);
}

/* The bytes of a valid UTF-8 character at s, 0 when s is not one. */
static size_t
pr_u8len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2;
	else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		n = 3;
		if (u[0] == 0xe0)
			lo = 0xa0;
		else if (u[0] == 0xed)
			hi = 0x9f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 4;
		if (u[0] == 0xf0)
			lo = 0x90;
		else if (u[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (u[1] < lo || u[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (u[i] < 0x80 || u[i] > 0xbf)
			return 0;
	return n;
}

/* Columns a code point takes on a terminal: 0 for combining marks, 2 for East Asian wide
 * and emoji, else 1 (a small wcwidth that needs no locale). */
static int
pr_cpwidth(uint32_t cp)
{
	static const uint32_t zero[][2] = {
		{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd }, { 0x0610, 0x061a },
		{ 0x064b, 0x065f }, { 0x200b, 0x200f }, { 0x20d0, 0x20ff }, { 0xfe00, 0xfe0f },
		{ 0xfe20, 0xfe2f },
	};
	static const uint32_t wide[][2] = {
		{ 0x1100, 0x115f }, { 0x231a, 0x231b }, { 0x2e80, 0x303e }, { 0x3041, 0x33ff },
		{ 0x3400, 0x4dbf }, { 0x4e00, 0x9fff }, { 0xa000, 0xa4cf }, { 0xac00, 0xd7a3 },
		{ 0xf900, 0xfaff }, { 0xfe30, 0xfe4f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 },
		{ 0x1f300, 0x1f64f }, { 0x1f900, 0x1f9ff }, { 0x20000, 0x3fffd },
	};

	for (size_t i = 0; i < nitems(zero); i++)
		if (cp >= zero[i][0] && cp <= zero[i][1])
			return 0;
	for (size_t i = 0; i < nitems(wide); i++)
		if (cp >= wide[i][0] && cp <= wide[i][1])
			return 2;
	return 1;
}

/*
 * One display unit of a table cell at s: a character (its columns in *w), `\n` for a
 * newline, `?` for another control character or a byte that is not UTF-8. Returns the bytes
 * taken.
 */
static size_t
pr_unit(const char *s, char *out, size_t *olen, int *w)
{
	unsigned char c = (unsigned char)*s;
	size_t n = pr_u8len(s);

	*w = 1;
	*olen = 1;
	if (c == '\n') {
		memcpy(out, "\\n", 2);
		*olen = *w = 2;
		return 1;
	}
	if (n == 0 || c < 0x20 || c == 0x7f || (c == 0xc2 && (unsigned char)s[1] < 0xa0)) {
		*out = '?';
		return n ? n : 1;
	}
	memcpy(out, s, n);
	*olen = n;
	if (n > 1) {
		uint32_t cp = (unsigned char)s[0] & (0xff >> (n + 1));

		for (size_t i = 1; i < n; i++)
			cp = cp << 6 | ((unsigned char)s[i] & 0x3f);
		*w = pr_cpwidth(cp);
	}
	return n;
}

static int
pr_cell_width(const char *s)
{
	char u[4];
	size_t ulen;
	int w, total = 0;

	while (s != NULL && *s != '\0') {
		s += pr_unit(s, u, &ulen, &w);
		total += w;
	}
	return total;
}

/* A table line in progress: spaces are held back so that no line ends in one. */
struct pr_line {
	FILE *f;
	int spaces;
};

static void
pr_put(struct pr_line *l, const char *s, size_t len)
{
	if (len == 1 && *s == ' ') {
		l->spaces++;
		return;
	}
	for (; l->spaces > 0; l->spaces--)
		fputc(' ', l->f);
	fwrite(s, 1, len, l->f);
}

/* A cell: padded to width, or cut to width - 1 columns and a `~`. */
static void
pr_cell(struct pr_line *l, const char *s, int width)
{
	char u[4];
	size_t ulen;
	int w, used = 0, cut = pr_cell_width(s) > width;

	while (s != NULL && *s != '\0') {
		size_t n = pr_unit(s, u, &ulen, &w);

		if (used + w > width - cut)
			break;
		pr_put(l, u, ulen);
		used += w;
		s += n;
	}
	if (cut && width > 0) {
		l->spaces += width - 1 - used;
		pr_put(l, "~", 1);
		used = width;
	}
	l->spaces += width - used;
}

static void
pr_table(FILE *f, const struct pr_opts *o, struct pr_col *c, size_t nc,
    const struct pr_rows *rows, const size_t *order, size_t n)
{
	struct pr_line l = { f, 0 };
	char **titles = xcalloc(nc + 1, sizeof *titles);

	for (size_t i = 0; i < nc; i++) {
		titles[i] = o->title == 2 && c[i].field >= 0 ?
		    xasprintf("%d:%s", c[i].field + 1, c[i].title) : xstrdup(c[i].title);
		if (c[i].width > 0)
			continue;
		c[i].width = pr_cell_width(titles[i]);
		for (size_t r = 0; r < n; r++) {
			int w = pr_cell_width(pr_val(rows, order[r], c[i].field));

			if (w > c[i].width)
				c[i].width = w;
		}
		if (c[i].width > PR_AUTOWIDTH)
			c[i].width = PR_AUTOWIDTH;
	}
	for (size_t i = 0; i < nc; i++) {
		l.spaces += i > 0 ? 2 : 0;
		pr_cell(&l, titles[i], c[i].width);
		free(titles[i]);
	}
	free(titles);
	fputc('\n', f);
	for (size_t r = 0; r < n; r++) {
		l.spaces = 0;
		for (size_t i = 0; i < nc; i++) {
			l.spaces += i > 0 ? 2 : 0;
			pr_cell(&l, pr_val(rows, order[r], c[i].field), c[i].width);
		}
		fputc('\n', f);
	}
}

/* A JSON string of s, each byte that is not UTF-8 replaced by U+FFFD. */
static json_object *
pr_json_string(const char *s)
{
	size_t len = strlen(s), n = 0;
	char *buf = xmalloc(len * 3 + 1);
	json_object *j;

	while (*s != '\0') {
		size_t k = pr_u8len(s);

		if (k == 0) {
			memcpy(buf + n, "\xef\xbf\xbd", 3);
			n += 3;
			s++;
			continue;
		}
		memcpy(buf + n, s, k);
		n += k;
		s += k;
	}
	j = json_object_new_string_len(buf, (int)n);
	free(buf);
	return j;
}

static json_object *
pr_json_value(const char *v, int numeric)
{
	int kind;

	if (v == NULL)
		return NULL;
	if (numeric && (kind = pr_is_number(v)) != 0) {
		if (kind == 1) {
			long long ll;

			errno = 0;
			ll = strtoll(v, NULL, 10);
			if (errno == 0)
				return json_object_new_int64(ll);
		}
		/* the text as given: JSON's number syntax, exact digits */
		return json_object_new_double_s(strtod(v, NULL), v);
	}
	return pr_json_string(v);
}

static void
pr_json(FILE *f, const struct pr_schema *sc, const struct pr_opts *o,
    const struct pr_rows *rows, const size_t *order, size_t n)
{
	char *pick = xcalloc(sc->nfields + 1, 1);
	json_object *a;

	if (n == 0) {
		fputs("[]\n", f);
		free(pick);
		return;
	}
	for (size_t i = 0; i < sc->nfields; i++)
		pick[i] = o->cols[0] == -1;
	for (int i = 0; o->cols[i] != -1; i++)
		if (o->cols[i] >= 0 && (size_t)o->cols[i] < sc->nfields)
			pick[o->cols[i]] = 1;
	a = json_object_new_array();
	for (size_t r = 0; r < n; r++) {
		json_object *obj = json_object_new_object();

		for (size_t i = 0; i < sc->nfields; i++)
			if (pick[i])
				json_object_object_add(obj, sc->fields[i].name,
				    pr_json_value(pr_val(rows, order[r], (int)i),
				    sc->fields[i].numeric));
		json_object_array_add(a, obj);
	}
	fprintf(f, "%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(a);
	free(pick);
}

void
pr_print(FILE *f, const struct pr_schema *sc, const struct pr_opts *o,
    const struct pr_rows *rows)
{
	size_t n, nc, *order = pr_order(sc, o, rows, &n);
	struct pr_col *c;

	if (o->format == PR_JSON) {
		pr_json(f, sc, o, rows, order, n);
		free(order);
		return;
	}
	c = pr_columns(sc, o, &nc);
	if (o->format == PR_TABLE)
		pr_table(f, o, c, nc, rows, order, n);
	else {
		if (o->title != 0)
			pr_sep_line(f, c, nc, o->title, rows, 0);
		for (size_t r = 0; r < n; r++)
			pr_sep_line(f, c, nc, 0, rows, order[r]);
	}
	free(c);
	free(order);
}
