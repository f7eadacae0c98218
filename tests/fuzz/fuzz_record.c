/*
 * libFuzzer target: the `;`-separated record encoding of the printer (MACHINE, TERSE). Any
 * bytes are a line for pr_decode; the fields it gives, encoded and joined again, decode to
 * the same fields, and to the very input when that was written the canonical way. The
 * input is also a value: pr_decode(pr_encode(v)) is v, one field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "printer.h"
#include "util.h"

#define MAXF 64

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Written by pr_encode and `;` joins: no NUL, no raw newline, every `\` a known escape. */
static int
canonical(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0' || s[i] == '\n')
			return 0;
		if (s[i] == '\\') {
			if (i + 1 == len || strchr("\\;n", s[i + 1]) == NULL || s[i + 1] == '\0')
				return 0;
			i++;
		}
	}
	return 1;
}

static void
roundtrip(const char *line, size_t len)
{
	char *f[MAXF], *g[MAXF], *joined, *p;
	int n, m;

	if ((n = pr_decode(line, len, f, MAXF)) < 0)
		return;
	if (n == 0)
		abort();
	joined = xstrdup("");
	for (int i = 0; i < n; i++) {
		char *e = pr_encode(f[i]);

		if (strchr(e, '\n') != NULL)
			abort();
		p = xasprintf("%s%s%s", joined, i ? ";" : "", e);
		free(joined);
		free(e);
		joined = p;
	}
	if ((m = pr_decode(joined, strlen(joined), g, MAXF)) != n)
		abort();
	for (int i = 0; i < n; i++) {
		if (strcmp(f[i], g[i]) != 0)
			abort();
		free(f[i]);
		free(g[i]);
	}
	if (canonical(line, len) && (strlen(joined) != len || memcmp(joined, line, len) != 0))
		abort();
	free(joined);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *v, *e, *f[2];
	int n;

	roundtrip(s, size);
	/* too many fields: -1, nothing left allocated */
	if ((n = pr_decode(s, size, f, 2)) > 0)
		while (n > 0)
			free(f[--n]);
	v = xstrndup(s, size);
	e = pr_encode(v);
	if (strchr(e, '\n') != NULL || pr_decode(e, strlen(e), f, 1) != 1 || strcmp(f[0], v) != 0)
		abort();
	free(f[0]);
	free(e);
	free(v);
	return 0;
}
