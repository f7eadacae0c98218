/*
 * libFuzzer target: the query language of ctys-vhost. The input, split at NUL or newline,
 * is an argv for query_parse; a query that compiles is matched against fixed records, on
 * the raw line and on the decoded record (both must agree), and must not crash either
 * way. Each argument glibc's regcomp accepts is also a differential test of the ERE ->
 * PCRE2 translation: PCRE2 must compile it and match exactly where glibc's regexec does,
 * on the records, the arguments and the input itself.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdb.h"
#include "query.h"
#include "util.h"

#define MAXARGS	16

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const records[] = {
	"lab1;QEMU;web\\;1;/vm/web1/web1.ctys;11111111-2222-3333-4444-555555555555;"
	"00:50:56:13:11:30;10.0.0.1;1;5901;;5900;debian;12;Linux;6.1;;;VM;ACTIVE;;;;;;;;22;lab1;"
	";KVM;/usr/bin/qemu-system-x86_64;;eth0;01_11_011;255.255.0.0;10.0.0.254;br0;x86_64;pc;"
	"16;2;ctx;line1\\nline2;root;root;lab1%lab2;VNC;",
	"lab2;QEMU;db\\\\x;/vm/db.ctys;;;;;;;;;;;;;;;DISABLED;;;;;;;;;other;;;;;;;;;;;;;;;;;;;;;",
	"a;b\r",
};

/*
 * Repetitions glibc's regcomp expands into huge automata (a{1000}{1000}, and a++++...:
 * each `+` copies what it repeats; grep -E takes as long): not what is tested here.
 */
static int
tame(const char *s)
{
	int reps = 0;

	for (const char *p = s; *p != '\0'; p++) {
		if ((*p == '{' || *p == '+') && ++reps > 4)
			return 0;
		if ((*p == '{' || *p == ',') && p[1] >= '0' && p[1] <= '9' && atoi(p + 1) > 40)
			return 0;
	}
	return strlen(s) <= 200;
}

/* glibc and the PCRE2 translation agree on subject s (n bytes). */
static void
agree(const char *ere, regex_t *re, pcre2_code *code, pcre2_match_data *md, const char *s,
    size_t n)
{
	regmatch_t m = { 0, (regoff_t)n };
	char *t = xmalloc(n + 1);	/* NUL-terminated: sanitizers' regexec wants it */
	int g, rc, p;

	memcpy(t, s, n);
	t[n] = '\0';
	g = regexec(re, t, 1, &m, REG_STARTEND) == 0;
	free(t);
	rc = pcre2_match(code, (PCRE2_SPTR)s, n, 0, 0, md, NULL);
	p = rc >= 0;

	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
		return;		/* a PCRE2 resource limit: no verdict */
	/*
	 * glibc's quirk: an anchor inside the pattern next to a newline the pattern consumed
	 * matches there (`.^` in "a\nb") although REG_NEWLINE is off. PCRE2 keeps to POSIX:
	 * ^ and $ only at the ends. (A record line has no newline; a decoded field may.)
	 */
	if (memchr(s, '\n', n) != NULL && strpbrk(ere, "^$") != NULL)
		return;
	if (g != p) {
		fprintf(stderr, "ERE '%s' on '%.*s': glibc %d, pcre2 %d\n", ere, (int)n, s, g, p);
		abort();
	}
}

static void
differential(const char *ere, char **argv, int argc, const char *in, size_t inlen)
{
	regex_t re;
	pcre2_code *code;
	pcre2_match_data *md;
	char *pc, *why = NULL;
	int err;
	PCRE2_SIZE off;

	if (!tame(ere) || regcomp(&re, ere, REG_EXTENDED | REG_NOSUB) != 0)
		return;
	if ((pc = query_ere_to_pcre(ere, &why)) == NULL) {
		free(why);
		regfree(&re);
		return;
	}
	code = pcre2_compile((PCRE2_SPTR)pc, PCRE2_ZERO_TERMINATED, PCRE2_DOTALL |
	    PCRE2_DOLLAR_ENDONLY | PCRE2_NO_AUTO_CAPTURE | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP,
	    &err, &off, NULL);
	if (code == NULL) {
		fprintf(stderr, "ERE '%s' gave '%s', which PCRE2 refuses (%d at %zu)\n", ere, pc,
		    err, (size_t)off);
		abort();
	}
	md = pcre2_match_data_create(1, NULL);
	for (size_t i = 0; i < nitems(records); i++)
		agree(ere, &re, code, md, records[i], strlen(records[i]));
	for (int i = 0; i < argc; i++)
		agree(ere, &re, code, md, argv[i], strlen(argv[i]));
	agree(ere, &re, code, md, in, inlen);
	agree(ere, &re, code, md, "", 0);
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	free(pc);
	regfree(&re);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = xmalloc(size + 1), *argv[MAXARGS], *why = NULL;
	struct query *q;
	int argc = 0;

	if (size > 1024) {
		free(buf);
		return 0;
	}
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *p = buf, *end = buf + size; p <= end && argc < MAXARGS;) {
		char *e = p;

		while (e < end && *e != '\0' && *e != '\n')
			e++;
		*e = '\0';
		argv[argc++] = p;
		p = e + 1;
	}
	for (int i = 0; i < argc; i++)
		if (!tame(argv[i])) {
			free(buf);
			return 0;
		}
	if ((q = query_parse(argc, argv, &why)) == NULL) {
		if (why == NULL || *why == '\0')
			abort();	/* every error says why */
		free(why);
	} else {
		char *d = query_describe(q, 1);

		free(d);
		for (size_t i = 0; i < nitems(records); i++) {
			const char *l = records[i];
			struct fdb_record r;
			int raw = query_match(q, l, strlen(l), NULL);

			if (fdb_parse_line(l, strlen(l), &r, NULL) == 0) {
				if (query_match(q, l, strlen(l), &r) != raw)
					abort();
				fdb_record_clear(&r);
			}
		}
		/* the input itself as a line: any bytes */
		query_match(q, (const char *)data, size, NULL);
		query_free(q);
	}
	for (int i = 0; i < argc; i++)
		differential(argv[i], argv, argc, (const char *)data, size);
	free(buf);
	return 0;
}
