/* The `;` record encoding shared by every listing and the inventory (record.h). */
#include "record.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

char *
pr_encode(const char *s)
{
	size_t n = 0;
	char *out, *p;

	if (s == NULL)
		return xstrdup("");
	for (const char *q = s; *q != '\0'; q++)
		n += (*q == '\\' || *q == ';' || *q == '\n') ? 2 : 1;
	p = out = xmalloc(n + 1);
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == ';' || *s == '\n') {
			*p++ = '\\';
			*p++ = *s == '\n' ? 'n' : *s;
		} else
			*p++ = *s;
	}
	*p = '\0';
	return out;
}

int
pr_decode(const char *line, size_t len, char **fields, int max)
{
	char *buf = xmalloc(len + 1);
	size_t n = 0;
	int nf = 0;

	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? line[i] : '\0';

		if (i == len || c == ';') {
			if (nf >= max) {
				while (nf > 0)
					free(fields[--nf]);
				free(buf);
				return -1;
			}
			fields[nf++] = xstrndup(buf, n);
			n = 0;
			continue;
		}
		if (c == '\0')
			continue;	/* a NUL cannot be in a value: dropped */
		if (c == '\\' && i + 1 < len && (line[i + 1] == '\\' || line[i + 1] == ';' ||
		    line[i + 1] == 'n')) {
			c = line[++i] == 'n' ? '\n' : line[i];
		}
		/* any other backslash is itself (the original ctys wrote them raw) */
		buf[n++] = c;
	}
	free(buf);
	return nf;
}
