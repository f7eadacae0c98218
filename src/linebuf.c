#include "linebuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

void
linebuf_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof *lb);
	lb->max = max;
}

void
linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	memset(lb, 0, sizeof *lb);
}

static void
append(struct linebuf *lb, const char *p, size_t n)
{
	if (lb->len + n + 1 > lb->cap) {
		size_t want = lb->len + n + 1;

		lb->cap = lb->cap ? lb->cap : 256;
		while (lb->cap < want)
			lb->cap *= 2;
		lb->buf = xrealloc(lb->buf, lb->cap);
	}
	memcpy(lb->buf + lb->len, p, n);
	lb->len += n;
}

void
linebuf_feed(struct linebuf *lb, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) + 1 : n;
		size_t body = nl ? seg - 1 : seg;

		if (lb->skipping) {
			lb->skipping = nl == NULL;
		} else if (lb->cur + body > lb->max) {
			/* an over-long line: drop it whole, up to its newline */
			lb->len -= lb->cur;
			lb->cur = 0;
			lb->overflows++;
			lb->skipping = nl == NULL;
		} else {
			append(lb, p, seg);
			lb->cur = nl ? 0 : lb->cur + seg;
		}
		p += seg;
		n -= seg;
	}
}

ssize_t
linebuf_read(struct linebuf *lb, int fd)
{
	char tmp[16384];
	ssize_t n;

	do
		n = read(fd, tmp, sizeof tmp);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		linebuf_feed(lb, tmp, (size_t)n);
	return n;
}

char *
linebuf_next(struct linebuf *lb, size_t *lenp)
{
	char *nl, *line;
	size_t n;

	if (lb->len == 0 || (nl = memchr(lb->buf, '\n', lb->len)) == NULL)
		return NULL;
	n = (size_t)(nl - lb->buf);
	line = xmalloc(n + 1);		/* the line may hold NUL bytes: copy exactly n */
	memcpy(line, lb->buf, n);
	line[n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	memmove(lb->buf, nl + 1, lb->len - (size_t)(nl + 1 - lb->buf));
	lb->len -= (size_t)(nl + 1 - lb->buf);
	if (lenp != NULL)
		*lenp = n;
	return line;
}

char *
linebuf_rest(struct linebuf *lb, size_t *lenp)
{
	char *rest = xmalloc(lb->len + 1);

	memcpy(rest, lb->buf, lb->len);
	rest[lb->len] = '\0';
	*lenp = lb->len;
	lb->len = 0;
	lb->cur = 0;
	return rest;
}
