/* Newline framing for JSON-lines protocols (QMP, the control socket), with a size bound. */
#ifndef CTYS_LINEBUF_H
#define CTYS_LINEBUF_H

#include <stddef.h>
#include <sys/types.h>

struct linebuf {
	char *buf;
	size_t len, cap, max;
	size_t cur;	/* length of the unterminated line at the end */
	int skipping;	/* inside an over-long line being discarded */
	int overflows;	/* over-long lines dropped so far */
};

void linebuf_init(struct linebuf *, size_t max);
void linebuf_free(struct linebuf *);
/* Appends bytes (pure; used by the fuzzers and by linebuf_read). */
void linebuf_feed(struct linebuf *, const char *, size_t);
/* One read(2) into the buffer: >0 bytes, 0 EOF, -1 error (errno; EAGAIN included). */
ssize_t linebuf_read(struct linebuf *, int fd);
/* Next complete line without its newline, NUL-terminated, owned by the caller; NULL if none. */
char *linebuf_next(struct linebuf *, size_t *len);
/* What is buffered beyond the lines taken (a protocol switching to bytes); empties it. */
char *linebuf_rest(struct linebuf *, size_t *len);

#endif
