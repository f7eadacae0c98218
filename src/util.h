/* Allocation that aborts on OOM, strings, logging, small file helpers. */
#ifndef CTYS_UTIL_H
#define CTYS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *, va_list);
/* Copies src into dst of size n; -1 (and dst untouched beyond n) when it would truncate. */
int strlcpy_chk(char *dst, const char *src, size_t n);
/* Sets *cause (freeing an old one) and returns status, for `return fail(cause, 3, ...)`. */
int fail(char **cause, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A growable NULL-terminated vector of owned strings (argv). */
struct strv {
	char **v;
	size_t n, cap;
};
void strv_add(struct strv *, const char *);
void strv_addf(struct strv *, const char *, ...) __attribute__((format(printf, 2, 3)));
void strv_free(struct strv *);
/* The strings joined with sep between them (malloc'd). */
char *strv_join(const struct strv *, const char *sep);

/* Logging: messages go to stderr prefixed with the program name. */
extern int log_level;
extern const char *log_prog;
extern int log_copy_fd;		/* when not -1, messages are copied there too */
void log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(int level, const char *, ...) __attribute__((format(printf, 2, 3)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Whole-file helpers; return -1 with errno set on failure. */
char *file_read(const char *path, size_t max, size_t *len);
int file_write(const char *path, const char *data, size_t len, mode_t mode);
/* Reads the first line of a small file, trailing newline stripped; NULL on error. */
char *file_read_line(const char *path);
int mkdir_p(const char *path, mode_t mode);
/* Removes a directory and the plain files and sockets in it (one level). */
int rmdir_flat(const char *path);

uint64_t fnv1a64(const void *, size_t);
double now_mono(void);
double now_real(void);
char *str_upper(char *);
int str_is_uint(const char *);
/* Quotes one word for a POSIX shell, for display only (PRINT, debug). */
char *sh_quote(const char *);

#endif
