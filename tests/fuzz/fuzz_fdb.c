/*
 * libFuzzer target: the inventory record (inventory/fdb.c). Any bytes are a line: when
 * fdb_parse_line takes it, fdb_format writes a line (no newline in it) that parses to the
 * same 47 fields; whether it takes it is also what ctys-vhost's fast check
 * (query_line_ok) says, without decoding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fdb.h"
#include "query.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
same(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct fdb_record r, r2;
	char *why = NULL, *s;
	int ok = fdb_parse_line(line, size, &r, &why) == 0;

	if (query_line_ok(line, size) != ok)
		abort();
	if (!ok) {
		if (why == NULL)
			abort();
		free(why);
		return 0;
	}
	s = fdb_format(&r);
	if (strchr(s, '\n') != NULL)
		abort();
	if (fdb_parse_line(s, strlen(s), &r2, NULL) != 0)
		abort();
	for (int i = 0; i < FDB_NFIELDS; i++) {
		if (!same(r.f[i], r2.f[i]))
			abort();
		if (r.f[i] != NULL && r.f[i][0] == '\0')
			abort();	/* an empty field is NULL */
	}
	if (!query_line_ok(s, strlen(s)))
		abort();
	fdb_record_clear(&r);
	fdb_record_clear(&r2);
	free(s);
	return 0;
}
