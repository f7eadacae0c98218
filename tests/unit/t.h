/* A minimal test harness: each test binary prints "N passed, N failed" and exits non-zero on failure. */
#ifndef CTYS_T_H
#define CTYS_T_H

#include <stdio.h>
#include <string.h>

static int t_pass, t_fail;

#define T_CHECK(cond) do { \
	if (cond) t_pass++; \
	else { t_fail++; fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define T_STREQ(a, b) do { \
	const char *t_a = (a), *t_b = (b); \
	if (t_a != NULL && t_b != NULL && strcmp(t_a, t_b) == 0) t_pass++; \
	else { t_fail++; fprintf(stderr, "%s:%d: FAILED: %s == %s: '%s' != '%s'\n", __FILE__, \
	    __LINE__, #a, #b, t_a ? t_a : "(null)", t_b ? t_b : "(null)"); } \
} while (0)

#define T_INTEQ(a, b) do { \
	long t_a = (long)(a), t_b = (long)(b); \
	if (t_a == t_b) t_pass++; \
	else { t_fail++; fprintf(stderr, "%s:%d: FAILED: %s == %s: %ld != %ld\n", __FILE__, \
	    __LINE__, #a, #b, t_a, t_b); } \
} while (0)

static inline int
t_done(void)
{
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail != 0;
}

#endif
