/* The shared printer: every output form, suboption parsing and errors, the `;` encoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "printer.h"
#include "subopt.h"
#include "t.h"
#include "util.h"

enum { F_LABEL, F_ID, F_PID, F_STATE, F_NOTE, F_HOST, NF };

static const struct pr_field fields[NF] = {
	[F_LABEL] = { "label", "Label", "LABEL", 0, 0 },
	[F_ID] = { "id", "Definition", "ID|PNAME", 0, 0 },
	[F_PID] = { "pid", "PID", "PID", 0, 1 },
	[F_STATE] = { "state", "State", "STATE", 6, 0 },
	[F_NOTE] = { "note", "Note", "NOTE", 0, 0 },
	[F_HOST] = { "host_name", "Host", NULL, 0, 0 },
};
static const int table[] = { F_LABEL, F_STATE, F_PID, F_ID, -1 };
static const int machine[] = { F_HOST, F_LABEL, F_ID, -2, F_PID, F_STATE, F_NOTE, -1 };
static const struct pr_schema schema = { fields, NF, table, machine };

static const char *const data[][NF] = {
	{ "web", "/vm/web.ctys", "1200", "running", "a;b", "h1" },
	{ "db one", "/vm/db.ctys", "99", "paused", "line1\nline2", "h2" },
	{ "Grüße-日本", NULL, NULL, "off", "back\\slash", "" },
	{ "zeta", "/vm/a-very-long-definition-path-that-goes-on/zeta.ctys", "1200", "running",
	  NULL, "h1" },
	{ "x", "", "n/a", "running", "", "h3" },
	{ "y", "/vm/y.ctys", "7.5", "stopped-long", " sp ", "h3" },
};

static struct pr_rows rows;

/* Renders the rows with the suboptions s; NULL (and *rc, *cause) when they are refused. */
static char *
render(const char *s, int *rcp, char **cause)
{
	struct subopt_list so;
	struct pr_opts o;
	char *out = NULL, *c = NULL;
	size_t len;
	FILE *f;
	int rc;

	if (subopt_parse(s, &so, &c) != 0) {
		fprintf(stderr, "subopt_parse %s: %s\n", s, c);
		free(c);
		return NULL;
	}
	rc = pr_opts_parse(&schema, &so, &o, &c);
	if (rcp != NULL)
		*rcp = rc;
	if (rc != 0) {
		if (cause != NULL)
			*cause = c;
		else
			free(c);
		subopt_list_free(&so);
		return NULL;
	}
	for (size_t i = 0; i < so.n; i++)
		T_CHECK(so.v[i].used || strcmp(so.v[i].key, "OTHER") == 0);
	f = open_memstream(&out, &len);
	pr_print(f, &schema, &o, &rows);
	fclose(f);
	pr_opts_free(&o);
	subopt_list_free(&so);
	return out;
}

/* Checks the output of the suboptions s against want. */
#define T_OUT(s, want) do { \
	char *t_out = render(s, NULL, NULL); \
	T_STREQ(t_out, want); \
	free(t_out); \
} while (0)

/* Checks that s is refused with EXIT_USAGE and the message want. */
#define T_REFUSED(s, want) do { \
	char *t_cause = NULL, *t_out; \
	int t_rc = -1; \
	t_out = render(s, &t_rc, &t_cause); \
	T_CHECK(t_out == NULL); \
	T_INTEQ(t_rc, EXIT_USAGE); \
	T_STREQ(t_cause, want); \
	free(t_out); \
	free(t_cause); \
} while (0)

#define TABLE_HEAD "Label       State   PID   Definition\n"
#define ROW_WEB "web         runni~  1200  /vm/web.ctys\n"
#define ROW_DB "db one      paused  99    /vm/db.ctys\n"
#define ROW_GR "Grüße-日本  off\n"
#define ROW_ZETA "zeta        runni~  1200  /vm/a-very-long-definition-path-that-go~\n"
#define ROW_X "x           runni~  n/a\n"
#define ROW_Y "y           stopp~  7.5   /vm/y.ctys\n"

static void
test_table(void)
{
	/* default columns; State has width 6, the rest as wide as their widest value (at
	   most 40); cut cells end in `~`; no line ends in a space */
	T_OUT("", TABLE_HEAD ROW_WEB ROW_DB ROW_GR ROW_ZETA ROW_X ROW_Y);
	T_OUT("TITLE,OTHER", TABLE_HEAD ROW_WEB ROW_DB ROW_GR ROW_ZETA ROW_X ROW_Y);
	T_OUT("TITLEIDX",
	    "1:Label     4:Sta~  3:PID  2:Definition\n"
	    "web         runni~  1200   /vm/web.ctys\n"
	    "db one      paused  99     /vm/db.ctys\n"
	    "Grüße-日本  off\n"
	    "zeta        runni~  1200   /vm/a-very-long-definition-path-that-go~\n"
	    "x           runni~  n/a\n"
	    "y           stopp~  7.5    /vm/y.ctys\n");
	/* field switches: these columns, in the command line's order; ID or PNAME */
	T_OUT("STATE,pname,LABEL",
	    "State   Definition                                Label\n"
	    "runni~  /vm/web.ctys                              web\n"
	    "paused  /vm/db.ctys                               db one\n"
	    "off                                               Grüße-日本\n"
	    "runni~  /vm/a-very-long-definition-path-that-go~  zeta\n"
	    "runni~                                            x\n"
	    "stopp~  /vm/y.ctys                                y\n");
	T_OUT("PID,ID",
	    "PID   Definition\n"
	    "1200  /vm/web.ctys\n"
	    "99    /vm/db.ctys\n"
	    "\n"
	    "1200  /vm/a-very-long-definition-path-that-go~\n"
	    "n/a\n"
	    "7.5   /vm/y.ctys\n");
	/* TAB_GEN: titles and widths; a newline shows as \n, a cut never splits a character */
	T_OUT("TAB_GEN:host_name_2%2_X_1%note_0",
	    "H~  X  Note\n"
	    "h1  ~  a;b\n"
	    "h2  ~  line1\\nline2\n"
	    "       back\\slash\n"
	    "h1  ~\n"
	    "h3\n"
	    "h3  ~   sp\n");
	T_OUT("TAB_GEN:label_7,SORT:label%UNIQUE",
	    "Label\nGrüße-~\ndb one\nweb\nx\ny\nzeta\n");
	T_OUT("TAB_GEN:label_8,SORT:label", "Label\nGrüße- ~\ndb one\nweb\nx\ny\nzeta\n");
	T_OUT("TAB_GEN:note_1,SORT:label", "~\n~\n~\n~\n\n~\n\n");
}

static void
test_machine(void)
{
	const char *rec =
	    "h1;web;/vm/web.ctys;;1200;running;a\\;b\n"
	    "h2;db one;/vm/db.ctys;;99;paused;line1\\nline2\n"
	    ";Grüße-日本;;;;off;back\\\\slash\n"
	    "h1;zeta;/vm/a-very-long-definition-path-that-goes-on/zeta.ctys;;1200;running;\n"
	    "h3;x;;;n/a;running;\n"
	    "h3;y;/vm/y.ctys;;7.5;stopped-long; sp \n";
	char *want;

	T_OUT("MACHINE", rec);
	/* the record is fixed: field switches change nothing (but are taken) */
	T_OUT("LABEL,MACHINE,PID", rec);
	want = xasprintf("Host;Label;Definition;;PID;State;Note\n%s", rec);
	T_OUT("MACHINE,TITLE", want);
	free(want);
	want = xasprintf("6:Host;1:Label;2:Definition;;3:PID;4:State;5:Note\n%s", rec);
	T_OUT("TITLEIDX,MACHINE", want);
	free(want);
	T_OUT("MACHINE,SORT:pid%DESC%UNIQUE",
	    "h1;web;/vm/web.ctys;;1200;running;a\\;b\n"
	    "h2;db one;/vm/db.ctys;;99;paused;line1\\nline2\n"
	    "h3;y;/vm/y.ctys;;7.5;stopped-long; sp \n"
	    "h3;x;;;n/a;running;\n"
	    ";Grüße-日本;;;;off;back\\\\slash\n");
}

static void
test_terse(void)
{
	T_OUT("TERSE",
	    "web;running;1200;/vm/web.ctys\n"
	    "db one;paused;99;/vm/db.ctys\n"
	    "Grüße-日本;off;;\n"
	    "zeta;running;1200;/vm/a-very-long-definition-path-that-goes-on/zeta.ctys\n"
	    "x;running;n/a;\n"
	    "y;stopped-long;7.5;/vm/y.ctys\n");
	T_OUT("TERSE,NOTE,label",
	    "a\\;b;web\nline1\\nline2;db one\nback\\\\slash;Grüße-日本\n;zeta\n;x\n sp ;y\n");
	T_OUT("TERSE,TITLEIDX,PNAME,label",
	    "2:Definition;1:Label\n"
	    "/vm/web.ctys;web\n"
	    "/vm/db.ctys;db one\n"
	    ";Grüße-日本\n"
	    "/vm/a-very-long-definition-path-that-goes-on/zeta.ctys;zeta\n"
	    ";x\n"
	    "/vm/y.ctys;y\n");
	/* TAB_GEN titles are the header's; widths do not apply; a title is encoded too */
	T_OUT("TERSE,TITLE,TAB_GEN:label_Name%pid_P;q_3,SORT:pid%UNIQUE",
	    "Name;P\\;q\ny;7.5\ndb one;99\nweb;1200\nGrüße-日本;\nx;n/a\n");
}

static void
test_json(void)
{
	struct pr_rows r = { NULL, 0, NF };
	const char *odd[NF] = { "bad \xff\xfe utf8", "/x", "99999999999999999999", "a\"b",
	    "c\\d/e", "\t" };
	const char *nums[NF] = { "007", NULL, "-3", NULL, NULL, NULL };
	const char *dec[NF] = { "1.50", NULL, "0.25", NULL, NULL, NULL };
	struct subopt_list so;
	struct pr_opts o;
	char *out, *cause = NULL;
	size_t len;
	FILE *f;

	T_OUT("JSON,PID,LABEL",
	    "[\n"
	    "  {\n    \"label\": \"web\",\n    \"pid\": 1200\n  },\n"
	    "  {\n    \"label\": \"db one\",\n    \"pid\": 99\n  },\n"
	    "  {\n    \"label\": \"Grüße-日本\",\n    \"pid\": null\n  },\n"
	    "  {\n    \"label\": \"zeta\",\n    \"pid\": 1200\n  },\n"
	    "  {\n    \"label\": \"x\",\n    \"pid\": \"n/a\"\n  },\n"
	    "  {\n    \"label\": \"y\",\n    \"pid\": 7.5\n  }\n"
	    "]\n");
	T_OUT("JSON,TITLE,SORT:pid%R%UNIQUE,TAB_GEN:note_X_3",
	    "[\n"
	    "  {\n    \"note\": \"a;b\"\n  },\n"
	    "  {\n    \"note\": \"line1\\nline2\"\n  },\n"
	    "  {\n    \"note\": \" sp \"\n  },\n"
	    "  {\n    \"note\": null\n  },\n"
	    "  {\n    \"note\": \"back\\\\slash\"\n  }\n"
	    "]\n");

	/* every field, schema order; numbers as numbers (only in numeric fields), invalid
	   UTF-8 replaced, big integers and decimals keep their digits, 007 is no number */
	pr_rows_add(&r, odd);
	pr_rows_add(&r, nums);
	pr_rows_add(&r, dec);
	T_INTEQ(subopt_parse("json", &so, &cause), 0);
	T_INTEQ(pr_opts_parse(&schema, &so, &o, &cause), 0);
	T_INTEQ(o.format, PR_JSON);
	f = open_memstream(&out, &len);
	pr_print(f, &schema, &o, &r);
	fclose(f);
	T_STREQ(out,
	    "[\n"
	    "  {\n"
	    "    \"label\": \"bad \xef\xbf\xbd\xef\xbf\xbd utf8\",\n"
	    "    \"id\": \"/x\",\n"
	    "    \"pid\": 99999999999999999999,\n"
	    "    \"state\": \"a\\\"b\",\n"
	    "    \"note\": \"c\\\\d/e\",\n"
	    "    \"host_name\": \"\\t\"\n"
	    "  },\n"
	    "  {\n"
	    "    \"label\": \"007\",\n"
	    "    \"id\": null,\n"
	    "    \"pid\": -3,\n"
	    "    \"state\": null,\n"
	    "    \"note\": null,\n"
	    "    \"host_name\": null\n"
	    "  },\n"
	    "  {\n"
	    "    \"label\": \"1.50\",\n"
	    "    \"id\": null,\n"
	    "    \"pid\": 0.25,\n"
	    "    \"state\": null,\n"
	    "    \"note\": null,\n"
	    "    \"host_name\": null\n"
	    "  }\n"
	    "]\n");
	free(out);
	pr_rows_free(&r);
	T_INTEQ(r.n, 0);
	/* no rows: an empty array; a table: its header */
	f = open_memstream(&out, &len);
	pr_print(f, &schema, &o, &r);
	fclose(f);
	T_STREQ(out, "[]\n");
	free(out);
	o.format = PR_TABLE;
	f = open_memstream(&out, &len);
	pr_print(f, &schema, &o, &r);
	fclose(f);
	T_STREQ(out, "Label  State   PID  Definition\n");
	free(out);
	pr_opts_free(&o);
	subopt_list_free(&so);
}

/* Parses s into *o; returns pr_opts_parse's status. */
static int
opts(const char *s, struct pr_opts *o, char **cause)
{
	struct subopt_list so;
	int rc;

	if (subopt_parse(s, &so, cause) != 0)
		return -1;
	rc = pr_opts_parse(&schema, &so, o, cause);
	subopt_list_free(&so);
	return rc;
}

static void
test_tabgen(void)
{
	struct pr_opts o;
	char *cause = NULL;

	/* <index>_<title>_<width>, the original syntax */
	T_INTEQ(opts("TAB_GEN:3_Proc_10%1_The label_12", &o, &cause), 0);
	T_INTEQ(o.cols[0], F_PID);
	T_INTEQ(o.widths[0], 10);
	T_STREQ(o.titles[0], "Proc");
	T_INTEQ(o.cols[1], F_LABEL);
	T_INTEQ(o.widths[1], 12);
	T_STREQ(o.titles[1], "The label");
	T_INTEQ(o.cols[2], -1);
	T_INTEQ(o.format, PR_TABLE);
	pr_opts_free(&o);
	/* names (case-insensitive, with `_` in them), name_width, index_width, index_title,
	   plain names and indexes; an empty title is the field's */
	T_INTEQ(opts("tab_gen:label_10%host_name%HOST_NAME_5%3_7%2_X%6_H_Y_2%4%note__3%LABEL_",
	    &o, &cause), 0);
	T_INTEQ(o.cols[0], F_LABEL);
	T_INTEQ(o.widths[0], 10);
	T_CHECK(o.titles[0] == NULL);
	T_INTEQ(o.cols[1], F_HOST);
	T_INTEQ(o.widths[1], 0);
	T_INTEQ(o.cols[2], F_HOST);
	T_INTEQ(o.widths[2], 5);
	T_CHECK(o.titles[2] == NULL);
	T_INTEQ(o.cols[3], F_PID);
	T_INTEQ(o.widths[3], 7);
	T_INTEQ(o.cols[4], F_ID);
	T_INTEQ(o.widths[4], 0);
	T_STREQ(o.titles[4], "X");
	T_INTEQ(o.cols[5], F_HOST);
	T_STREQ(o.titles[5], "H_Y");
	T_INTEQ(o.widths[5], 2);
	T_INTEQ(o.cols[6], F_STATE);
	T_INTEQ(o.cols[7], F_NOTE);
	T_CHECK(o.titles[7] == NULL);
	T_INTEQ(o.widths[7], 3);
	T_INTEQ(o.cols[8], F_LABEL);
	T_CHECK(o.titles[8] == NULL);
	T_INTEQ(o.cols[9], -1);
	pr_opts_free(&o);
	/* TAB_GEN and field switches add columns in the command line's order; `%%` is a % */
	T_INTEQ(opts("PID,TAB_GEN:label_A%%b,STATE,TERSE", &o, &cause), 0);
	T_INTEQ(o.cols[0], F_PID);
	T_INTEQ(o.cols[1], F_LABEL);
	T_STREQ(o.titles[1], "A%b");
	T_INTEQ(o.cols[2], F_STATE);
	T_INTEQ(o.cols[3], -1);
	T_INTEQ(o.format, PR_TERSE);
	T_INTEQ(o.sort, -1);
	T_INTEQ(o.title, 0);
	pr_opts_free(&o);
	T_INTEQ(opts("TITLE,TITLEIDX,TITLE", &o, &cause), 0);
	T_INTEQ(o.title, 2);
	pr_opts_free(&o);

	T_REFUSED("TAB_GEN:labl", "TAB_GEN: no field 'labl' (label, id, pid, state, note, "
	    "host_name; or 1 to 6)");
	T_REFUSED("TAB_GEN:labl_Name_10", "TAB_GEN: no field 'labl' (label, id, pid, state, "
	    "note, host_name; or 1 to 6)");
	T_REFUSED("TAB_GEN:7_Seven_3", "TAB_GEN: no field '7' (label, id, pid, state, note, "
	    "host_name; or 1 to 6)");
	T_REFUSED("TAB_GEN:0", "TAB_GEN: no field '0' (label, id, pid, state, note, host_name; "
	    "or 1 to 6)");
	T_REFUSED("TAB_GEN:label%", "TAB_GEN: an empty field");
	T_REFUSED("TAB_GEN", "TAB_GEN: no field '' (label, id, pid, state, note, host_name; "
	    "or 1 to 6)");
	T_REFUSED("TAB_GEN:label_1000", "TAB_GEN: width '1000' of 'label_1000' is over 999");
	T_REFUSED("TAB_GEN:label_99999999999", "TAB_GEN: width '99999999999' of "
	    "'label_99999999999' is over 999");
	T_REFUSED("MACHINE,TAB_GEN:label", "TAB_GEN and MACHINE exclude each other (the "
	    "MACHINE record is fixed)");
}

static void
test_conflicts(void)
{
	struct pr_opts o;
	char *cause = NULL, *s, *t;
	int i;

	T_REFUSED("MACHINE,JSON", "MACHINE and JSON exclude each other");
	T_REFUSED("terse,machine", "TERSE and MACHINE exclude each other");
	T_REFUSED("JSON,TERSE", "JSON and TERSE exclude each other");
	T_INTEQ(opts("MACHINE,MACHINE", &o, &cause), 0);
	T_INTEQ(o.format, PR_MACHINE);
	pr_opts_free(&o);
	/* at most 63 columns */
	s = xstrdup("LABEL");
	for (i = 1; i < 63; i++) {
		t = xasprintf("%s,%s", s, i % 2 ? "PID" : "ID");
		free(s);
		s = t;
	}
	T_INTEQ(opts(s, &o, &cause), 0);
	T_INTEQ(o.cols[62], F_ID);
	T_INTEQ(o.cols[63], -1);
	pr_opts_free(&o);
	t = xasprintf("%s,TAB_GEN:1_T", s);
	T_INTEQ(opts(t, &o, &cause), EXIT_USAGE);
	T_STREQ(cause, "too many columns (at most 63)");
	T_CHECK(o.titles[63] == NULL);
	pr_opts_free(&o);
	free(cause);
	free(s);
	free(t);
}

static void
test_sort(void)
{
	struct pr_opts o;
	char *cause = NULL;

	/* numeric: numbers by value, then the rest (bytes), stable for equal keys */
	T_OUT("SORT:pid", TABLE_HEAD ROW_Y ROW_DB ROW_WEB ROW_ZETA ROW_GR ROW_X);
	T_OUT("SORT:3%DESC", TABLE_HEAD ROW_WEB ROW_ZETA ROW_DB ROW_Y ROW_X ROW_GR);
	T_OUT("SORT:PID%r", TABLE_HEAD ROW_WEB ROW_ZETA ROW_DB ROW_Y ROW_X ROW_GR);
	T_OUT("SORT:pid%UNIQUE", TABLE_HEAD ROW_Y ROW_DB ROW_WEB ROW_GR ROW_X);
	/* others by bytes (no locale): upper case and ASCII first */
	T_OUT("SORT:label", TABLE_HEAD ROW_GR ROW_DB ROW_WEB ROW_X ROW_Y ROW_ZETA);
	T_OUT("SORT:label%DESC", TABLE_HEAD ROW_ZETA ROW_Y ROW_X ROW_WEB ROW_DB ROW_GR);
	/* not a column shown; UNIQUE keeps the first row of each value */
	T_OUT("TERSE,LABEL,SORT:host_name%UNIQUE", "Grüße-日本\nweb\ndb one\nx\n");
	T_OUT("TERSE,LABEL,SORT:6%R%UNIQUE", "x\ndb one\nweb\nGrüße-日本\n");
	T_OUT("TERSE,STATE,SORT:state%UNIQUE%ASC", "off\npaused\nrunning\nstopped-long\n");
	T_INTEQ(opts("SORT:Note%desc%unique", &o, &cause), 0);
	T_INTEQ(o.sort, F_NOTE);
	T_INTEQ(o.sort_desc, 1);
	T_INTEQ(o.sort_unique, 1);
	pr_opts_free(&o);

	T_REFUSED("SORT:nope", "SORT: no field 'nope' (label, id, pid, state, note, host_name; "
	    "or 1 to 6)");
	T_REFUSED("SORT", "SORT: no field '' (label, id, pid, state, note, host_name; or 1 to "
	    "6)");
	T_REFUSED("SORT:pid%UP", "SORT: unknown flag 'UP' (DESC, R, ASC, UNIQUE)");
	T_REFUSED("SORT:pid,SORT:label", "SORT: given twice");
}

static void
test_codec(void)
{
	static const struct {
		const char *in;
		int n;
		const char *f[4];
	} dec[] = {
		{ "", 1, { "" } },
		{ "a;b\\;c;;", 4, { "a", "b;c", "", "" } },
		{ "x\\ny\\\\z", 1, { "x\ny\\z" } },
		{ "C:\\dir\\q;\\", 2, { "C:\\dir\\q", "\\" } },	/* unknown escapes stay */
		{ "raw\nnewline", 1, { "raw\nnewline" } },
		{ ";;;", 4, { "", "", "", "" } },
		{ ";;;;", -1, { NULL } },
	};
	const char *vals[] = { "", "plain", "a;b", "back\\slash", "two\nlines", "\\;\\n",
	    ";;", "Grüße \xff", "trailing\\" };
	char *f[4], *e;
	int n;

	for (size_t i = 0; i < nitems(dec); i++) {
		n = pr_decode(dec[i].in, strlen(dec[i].in), f, 4);
		T_INTEQ(n, dec[i].n);
		for (int j = 0; j < n; j++) {
			T_STREQ(f[j], dec[i].f[j]);
			free(f[j]);
		}
	}
	/* a NUL byte is dropped; len bounds the line */
	T_INTEQ(pr_decode("a\0b;c;d", 5, f, 4), 2);
	T_STREQ(f[0], "ab");
	T_STREQ(f[1], "c");
	free(f[0]);
	free(f[1]);
	T_INTEQ(pr_decode("x;y", 3, f, 0), -1);

	e = pr_encode("a;b\\c\nd");
	T_STREQ(e, "a\\;b\\\\c\\nd");
	free(e);
	e = pr_encode(NULL);
	T_STREQ(e, "");
	free(e);
	for (size_t i = 0; i < nitems(vals); i++) {
		e = pr_encode(vals[i]);
		T_CHECK(strchr(e, '\n') == NULL);
		T_INTEQ(pr_decode(e, strlen(e), f, 1), 1);
		T_STREQ(f[0], vals[i]);
		free(f[0]);
		free(e);
	}
	/* every MACHINE line of the test rows decodes back to the row */
	{
		char *out = render("MACHINE", NULL, NULL), *line, *save = NULL;
		char *g[8];
		size_t r = 0;

		for (line = strtok_r(out, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save), r++) {
			T_INTEQ(pr_decode(line, strlen(line), g, 8), 7);
			T_STREQ(g[1], data[r][F_LABEL]);
			T_STREQ(g[2], data[r][F_ID] ? data[r][F_ID] : "");
			T_STREQ(g[3], "");
			T_STREQ(g[6], data[r][F_NOTE] ? data[r][F_NOTE] : "");
			for (int j = 0; j < 7; j++)
				free(g[j]);
		}
		T_INTEQ(r, nitems(data));
		free(out);
	}
}

static void
test_rows(void)
{
	struct pr_rows r = { NULL, 0, NF };
	const char *v[NF] = { "a", NULL, "1", NULL, NULL, NULL };

	for (int i = 0; i < 1000; i++)
		pr_rows_add(&r, v);
	T_INTEQ(r.n, 1000);
	T_STREQ(r.v[999][0], "a");
	T_CHECK(r.v[999][1] == NULL);
	T_CHECK(r.v[999][0] != v[0]);
	pr_rows_free(&r);
	T_INTEQ(r.n, 0);
	T_CHECK(r.v == NULL);
	T_INTEQ(r.nfields, NF);
}

static void
dump(const char *s)
{
	char *out = render(s, NULL, NULL);

	printf("=== %s\n%s", s, out ? out : "(refused)\n");
	free(out);
}

int
main(int argc, char **argv)
{
	rows.nfields = NF;
	for (size_t i = 0; i < nitems(data); i++)
		pr_rows_add(&rows, data[i]);
	if (argc > 1) {
		/* test_printer SUBOPTS...: shows the output (for writing tests) */
		for (int i = 1; i < argc; i++)
			dump(argv[i]);
		pr_rows_free(&rows);
		return 0;
	}
	test_table();
	test_machine();
	test_terse();
	test_json();
	test_tabgen();
	test_conflicts();
	test_sort();
	test_codec();
	test_rows();
	pr_rows_free(&rows);
	return t_done();
}
