#include <stdlib.h>

#include "cli.h"
#include "exitcodes.h"
#include "subopt.h"
#include "t.h"
#include "util.h"

static void
test_basic(void)
{
	struct subopt_list l;
	char *cause = NULL;

	T_INTEQ(subopt_parse("p:/vm/a.ctys,console:none,PRINT", &l, &cause), 0);
	T_INTEQ(l.n, 3);
	T_STREQ(l.v[0].key, "P");
	T_STREQ(l.v[0].arg, "/vm/a.ctys");
	T_STREQ(l.v[1].key, "CONSOLE");
	T_STREQ(l.v[1].arg, "none");
	T_STREQ(l.v[2].key, "PRINT");
	T_CHECK(l.v[2].arg == NULL);
	T_CHECK(subopt_find(&l, "ID|I|P") == &l.v[0]);
	T_CHECK(subopt_find(&l, "nope") == NULL);
	subopt_list_free(&l);
}

static void
test_escapes(void)
{
	struct subopt_list l;
	char *cause = NULL;

	/* `,,` -> `,`   `%%` -> `%`   `::` and `\:` -> `:` */
	T_INTEQ(subopt_parse("l:a,,b%%c::d\\:e,x", &l, &cause), 0);
	T_INTEQ(l.n, 2);
	T_STREQ(l.v[0].arg, "a,b%c:d:e");
	T_INTEQ(l.v[0].nvals, 1);
	T_STREQ(l.v[0].vals[0], "a,b%c:d:e");
	T_STREQ(l.v[1].key, "X");
	subopt_list_free(&l);

	T_INTEQ(subopt_parse("KERNEL:/k%/i%console=ttyS0 quiet", &l, &cause), 0);
	T_INTEQ(l.v[0].nvals, 3);
	T_STREQ(l.v[0].vals[0], "/k");
	T_STREQ(l.v[0].vals[1], "/i");
	T_STREQ(l.v[0].vals[2], "console=ttyS0 quiet");
	subopt_list_free(&l);

	/* positional fields: every `%` separates, `%%` is an empty field */
	T_INTEQ(subopt_parse("KERNEL:/k%%a,,b,INSTMODE:%%%%INIT,L:x", &l, &cause), 0);
	T_INTEQ(l.v[0].nfields, 3);
	T_STREQ(l.v[0].fields[0], "/k");
	T_STREQ(l.v[0].fields[1], "");
	T_STREQ(l.v[0].fields[2], "a,b");
	T_INTEQ(l.v[0].nvals, 1);
	T_STREQ(l.v[0].vals[0], "/k%a,b");
	T_INTEQ(l.v[1].nfields, 5);
	T_STREQ(l.v[1].fields[0], "");
	T_STREQ(l.v[1].fields[3], "");
	T_STREQ(l.v[1].fields[4], "INIT");
	T_INTEQ(l.v[2].nfields, 1);
	T_STREQ(l.v[2].fields[0], "x");
	subopt_list_free(&l);
	T_INTEQ(subopt_parse("PRINT", &l, &cause), 0);
	T_INTEQ(l.v[0].nfields, 0);
	T_CHECK(l.v[0].fields == NULL);
	subopt_list_free(&l);

	/* a MAC keeps its colons */
	T_INTEQ(subopt_parse("m:00:50:56:13:11:30", &l, &cause), 0);
	T_STREQ(l.v[0].key, "M");
	T_STREQ(l.v[0].arg, "00:50:56:13:11:30");
	subopt_list_free(&l);

	T_INTEQ(subopt_parse("timeout:5,,,force", &l, &cause), 0);
	T_INTEQ(l.n, 2);
	T_STREQ(l.v[0].arg, "5,");
	T_STREQ(l.v[1].key, "FORCE");
	subopt_list_free(&l);

	T_INTEQ(subopt_parse("a,,", &l, &cause), 0);
	T_INTEQ(l.n, 1);
	T_STREQ(l.v[0].key, "A,");
	subopt_list_free(&l);
}

static void
test_errors(void)
{
	struct subopt_list l;
	char *cause = NULL;

	T_INTEQ(subopt_parse("a,,,", &l, &cause), -1);
	T_STREQ(cause, "empty suboption name in ''");
	free(cause);
	cause = NULL;
	T_INTEQ(subopt_parse(":x", &l, &cause), -1);
	free(cause);
	cause = NULL;
	T_INTEQ(subopt_parse("", &l, &cause), 0);
	T_INTEQ(l.n, 0);
}

static void
test_check(void)
{
	static const struct subopt_spec spec[] = {
		{ "P|ID", SUBOPT_ARG, "path", 0 },
		{ "PRINT", SUBOPT_NOARG, "print", 0 },
		{ "RESET", SUBOPT_NOARG, "reset", 1 },
		{ NULL, 0, NULL, 0 }
	};
	struct subopt_list l;
	char *cause = NULL;

	subopt_parse("id:/x,print", &l, &cause);
	T_INTEQ(subopt_check(&l, spec, "CREATE", &cause), 0);
	subopt_list_free(&l);
	subopt_parse("p:/x,bogus", &l, &cause);
	T_INTEQ(subopt_check(&l, spec, "CREATE", &cause), -1);
	T_STREQ(cause, "unknown suboption 'BOGUS' for CREATE");
	subopt_list_free(&l);
	subopt_parse("p", &l, &cause);
	T_INTEQ(subopt_check(&l, spec, "CREATE", &cause), -1);
	T_STREQ(cause, "CREATE suboption 'P' needs an argument ('P:...')");
	subopt_list_free(&l);
	subopt_parse("print:1", &l, &cause);
	T_INTEQ(subopt_check(&l, spec, "CREATE", &cause), -1);
	T_STREQ(cause, "CREATE suboption 'PRINT' takes no argument");
	subopt_list_free(&l);
	subopt_parse("reset", &l, &cause);
	T_INTEQ(subopt_check(&l, spec, "CANCEL", &cause), -1);
	T_STREQ(cause, "CANCEL suboption 'RESET' is not supported yet");
	subopt_list_free(&l);
	free(cause);
}

static void
test_cli(void)
{
	struct cli c;
	char *cause = NULL;
	char *a1[] = { "ctys", "-t", "qemu", "-a", "cancel=l:web1,force", "-d", "2", "--",
	    "host1", "host2", NULL };
	char *a2[] = { "ctys", "-a", "CREATE", "-h", NULL };
	char *a3[] = { "ctys", "-x", NULL };
	char *a4[] = { "ctys", "-a", NULL };
	char *a5[] = { "ctys", "-d", "lots", NULL };
	char *a6[] = { "ctys", "-aISACTIVE=l:a", "-a", "LIST", NULL };

	T_INTEQ(cli_parse(10, a1, &c, &cause), 0);
	T_STREQ(c.type, "QEMU");
	T_STREQ(c.action, "CANCEL");
	T_STREQ(c.subopts_raw, "l:web1,force");
	T_INTEQ(c.subopts.n, 2);
	T_INTEQ(c.debug, 2);
	T_INTEQ(c.nhosts, 2);
	T_STREQ(c.hosts[1], "host2");
	cli_free(&c);
	T_INTEQ(cli_parse(4, a2, &c, &cause), 0);
	T_CHECK(c.help && c.subopts_raw == NULL);
	cli_free(&c);
	T_INTEQ(cli_parse(2, a3, &c, &cause), EXIT_USAGE);
	T_STREQ(cause, "unknown option '-x' (see 'ctys -h')");
	cli_free(&c);
	T_INTEQ(cli_parse(2, a4, &c, &cause), EXIT_USAGE);
	T_STREQ(cause, "option '-a' needs an argument");
	cli_free(&c);
	T_INTEQ(cli_parse(3, a5, &c, &cause), EXIT_USAGE);
	T_STREQ(cause, "-d: not a debug level: 'lots'");
	cli_free(&c);
	T_INTEQ(cli_parse(4, a6, &c, &cause), EXIT_USAGE);
	T_STREQ(cause, "only one -a ACTION may be given");
	cli_free(&c);
	free(cause);
}

static void
test_util(void)
{
	char buf[4];
	char *q;

	T_INTEQ(strlcpy_chk(buf, "abc", sizeof buf), 0);
	T_INTEQ(strlcpy_chk(buf, "abcd", sizeof buf), -1);
	q = sh_quote("it's a b");
	T_STREQ(q, "'it'\\''s a b'");
	free(q);
	q = sh_quote("plain/path-1.2,x=y");
	T_STREQ(q, "plain/path-1.2,x=y");
	free(q);
	q = sh_quote("");
	T_STREQ(q, "''");
	free(q);
}

int
main(void)
{
	test_basic();
	test_escapes();
	test_errors();
	test_check();
	test_cli();
	test_util();
	return t_done();
}
