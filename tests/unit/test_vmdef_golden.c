/*
 * Golden files for the definition parser (as vmd's .conf/.ok pairs): every
 * tests/golden/vmdef/NAME.ctys or NAME.conf is parsed as if it were /vm/NAME.ctys
 * (CTYSWRAPPERPATH is /vm) and a dump of what vmdef_parse read is compared with NAME.out:
 *
 *   magic: QEMU IGNORE NOENUM          the MAGICID flags set, or "(none)"
 *   #@#KEY = "value" @line             magic keys, in file order (first one wins)
 *   KEY="value" @line                  variables, in order of first assignment
 *   line N: warning: msg               diagnostics (or "error:")
 *
 * Values are quoted with C escapes (\" \\ \n \r \t \xHH), so spaces and line ends show.
 * CTYS_GOLDEN_UPDATE=1 rewrites the .out files.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "util.h"
#include "vmdef.h"

static void
put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\r')
			fputs("\\r", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* The canonical dump of a parsed definition. */
static char *
dump(const struct vmdef *d)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (f == NULL) {
		perror("open_memstream");
		exit(1);
	}
	fputs("magic:", f);
	if (d->magic_qemu)
		fputs(" QEMU", f);
	if (d->magic_ignore)
		fputs(" IGNORE", f);
	if (d->magic_noenum)
		fputs(" NOENUM", f);
	if (!d->magic_qemu && !d->magic_ignore && !d->magic_noenum)
		fputs(" (none)", f);
	fputc('\n', f);
	for (size_t i = 0; i < d->nmagic; i++) {
		fprintf(f, "#@#%s = ", d->magic[i].key);
		put_quoted(f, d->magic[i].value);
		fprintf(f, " @%d\n", d->magic[i].line);
	}
	for (size_t i = 0; i < d->nvars; i++) {
		fprintf(f, "%s=", d->vars[i].key);
		put_quoted(f, d->vars[i].value);
		fprintf(f, " @%d\n", d->vars[i].line);
	}
	for (size_t i = 0; i < d->ndiags; i++)
		fprintf(f, "line %d: %s: %s\n", d->diags[i].line,
		    d->diags[i].error ? "error" : "warning", d->diags[i].msg);
	fclose(f);
	return s;
}

/* NAME.ctys or NAME.conf: its length without the extension, or 0. */
static size_t
input_base(const char *name)
{
	size_t l = strlen(name);

	if (l > 5 && (strcmp(name + l - 5, ".ctys") == 0 || strcmp(name + l - 5, ".conf") == 0))
		return l - 5;
	return 0;
}

static void
check(const char *dir, const char *name, size_t baselen)
{
	char *path = xasprintf("%s/%s", dir, name), *vpath, *exp, *buf, *got, *want;
	size_t len;
	struct vmdef *d;

	if ((buf = file_read(path, VMDEF_MAX_SIZE, &len)) == NULL) {
		perror(path);
		t_fail++;
		free(path);
		return;
	}
	vpath = xasprintf("/vm/%s", name);
	d = vmdef_parse(buf, len, vpath);
	got = dump(d);
	exp = xasprintf("%s/%.*s.out", dir, (int)baselen, name);
	if (getenv("CTYS_GOLDEN_UPDATE") != NULL)
		file_write(exp, got, strlen(got), 0644);
	want = file_read(exp, 1 << 20, NULL);
	if (want == NULL || strcmp(want, got) != 0) {
		fprintf(stderr, "%s: parse differs.\n--- want\n%s--- got\n%s", name,
		    want ? want : "(missing file)\n", got);
		t_fail++;
	} else
		t_pass++;
	/* parsing is pure: the same bytes give the same result */
	{
		struct vmdef *again = vmdef_parse(buf, len, vpath);
		char *got2 = dump(again);

		T_STREQ(got2, got);
		free(got2);
		vmdef_free(again);
	}
	free(want);
	free(exp);
	free(got);
	vmdef_free(d);
	free(vpath);
	free(buf);
	free(path);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	DIR *dp;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, inputs = 0;

	if (argc != 2 || (dp = opendir(argv[1])) == NULL) {
		fprintf(stderr, "usage: test_vmdef_golden GOLDEN_DIR\n");
		return 2;
	}
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dp);
	qsort(names, n, sizeof *names, cmp_name);
	for (size_t i = 0; i < n; i++) {
		size_t b = input_base(names[i]), l = strlen(names[i]);

		if (b > 0) {
			/* NAME.conf and NAME.ctys would share NAME.out */
			for (size_t j = 0; j < i; j++) {
				if (input_base(names[j]) == b && strncmp(names[j], names[i], b) == 0) {
					fprintf(stderr, "%s and %s share one .out\n", names[j],
					    names[i]);
					t_fail++;
				}
			}
			check(argv[1], names[i], b);
			inputs++;
		} else if (l > 4 && strcmp(names[i] + l - 4, ".out") == 0) {
			/* an expected output without its definition is stale */
			char *c = xasprintf("%.*s.ctys", (int)(l - 4), names[i]);
			char *f = xasprintf("%.*s.conf", (int)(l - 4), names[i]);
			int found = 0;

			for (size_t j = 0; j < n; j++)
				found |= strcmp(names[j], c) == 0 || strcmp(names[j], f) == 0;
			if (!found) {
				fprintf(stderr, "%s: no definition for it\n", names[i]);
				t_fail++;
			}
			free(c);
			free(f);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	T_CHECK(inputs >= 20);
	return t_done();
}
