/*
 * ctys suboptions: `KEY[:ARG],KEY[:ARG]...`, `%` separating argument values.
 * Escapes: `,,` -> `,`  `%%` -> `%`  `::` or `\:` -> `:`.  Keys are case-insensitive
 * (stored upper case).  After the first unescaped `:` the rest is the argument, so a
 * MAC such as `M:00:50:56:13:11:30` keeps its colons.
 */
#ifndef CTYS_SUBOPT_H
#define CTYS_SUBOPT_H

#include <stddef.h>

struct subopt {
	char *key;	/* upper case, escapes resolved */
	char *raw;	/* the suboption as written, escapes kept (to pass it on) */
	char *arg;	/* NULL when no `:` was given; escapes resolved, `%` kept */
	char **vals;	/* arg split at unescaped `%`, escapes resolved */
	size_t nvals;
	char **fields;	/* arg split at every `%` (`%%` is an empty field), for the
			   positional values of KERNEL, INSTMODE, BOOTMODE */
	size_t nfields;
	int used;	/* set by the consumer; unused ones are reported */
};

struct subopt_list {
	struct subopt *v;
	size_t n;
};

/* Pure: parses s into *out. Returns 0, or -1 with *cause set. */
int subopt_parse(const char *s, struct subopt_list *out, char **cause);
void subopt_list_free(struct subopt_list *);
/*
 * The suboptions that want() keeps, as written (escapes kept), `,`-joined: to pass some of
 * them on to another ctys. Malloc'd; "" when none is kept.
 */
char *subopt_join_raw(const struct subopt_list *, int (*want)(const struct subopt *,
    const void *), const void *arg);
/* First suboption whose key is one of the `|`-separated names ("P|ID|PATHNAME"). */
struct subopt *subopt_find(struct subopt_list *, const char *names);
int subopt_key_is(const char *key, const char *names);

/* A table entry describing one accepted suboption of an action (drives -h and checks). */
struct subopt_spec {
	const char *names;	/* "KEY|ALIAS|..." */
	int arg;		/* SUBOPT_NOARG, SUBOPT_ARG, SUBOPT_OPTARG */
	const char *help;
	int later;		/* accepted by the grammar, not implemented yet */
};
enum { SUBOPT_NOARG, SUBOPT_ARG, SUBOPT_OPTARG };

/* Checks every suboption against a spec table; returns 0 or -1 with *cause. */
int subopt_check(const struct subopt_list *, const struct subopt_spec *, const char *action,
    char **cause);

#endif
