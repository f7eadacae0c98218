/*
 * `;`-separated records, as the original ctys wrote them (LIST MACHINE, enum.fdb): in a
 * value, a backslash is written `\\`, `;` as `\;`, a newline as `\n` (the original never
 * wrote a backslash, and `%` already means something in its IP values). Any other
 * backslash reads as itself, so the original's records read back unchanged.
 */
#ifndef CTYS_RECORD_H
#define CTYS_RECORD_H

#include <stddef.h>

/* One value encoded (malloc'd; NULL gives ""). */
char *pr_encode(const char *);
/*
 * Splits a line into at most max decoded fields (each malloc'd); returns the number of
 * fields, or -1 (nothing allocated) when the line has more than max. NUL bytes are dropped.
 */
int pr_decode(const char *line, size_t len, char **fields, int max);

#endif
