#include <stdlib.h>

#include "t.h"
#include "util.h"
#include "vmdef.h"

static struct vmdef *
parse(const char *s)
{
	return vmdef_parse(s, strlen(s), "/vm/demo/demo.ctys");
}

static int
has_diag(const struct vmdef *d, int line, const char *sub)
{
	for (size_t i = 0; i < d->ndiags; i++)
		if (d->diags[i].line == line && strstr(d->diags[i].msg, sub) != NULL)
			return 1;
	return 0;
}

static void
test_magic(void)
{
	struct vmdef *d = parse(
	    "#!/bin/bash\n"
	    "#@#MAGICID-QEMU\n"
	    "#@#LABEL                     = \"web 1\"\n"
	    "#@#INST_EDITOR               =  someone else  \n"
	    "#_@#VNCBASEPORT = 5900\n"
	    "#@#LABEL = second\n"
	    "#@#UUID='0c7f1b5e-4a2d-4d2a-9c55-5b0c8f0d9a11'\n");

	T_CHECK(d->magic_qemu);
	T_CHECK(!d->magic_ignore);
	T_STREQ(vmdef_magic(d, "LABEL")->value, "web 1");
	T_INTEQ(vmdef_magic(d, "LABEL")->line, 3);
	T_STREQ(vmdef_magic(d, "INST_EDITOR")->value, "someone else");
	T_CHECK(vmdef_magic(d, "VNCBASEPORT") == NULL);
	T_STREQ(vmdef_get(d, "UUID"), "0c7f1b5e-4a2d-4d2a-9c55-5b0c8f0d9a11");
	vmdef_free(d);
	d = parse("#@#MAGICID-QEMU\n#@#MAGICID-IGNORE\n#@#MAGICID-NOENUM\n");
	T_CHECK(d->magic_ignore && d->magic_noenum);
	vmdef_free(d);
}

static void
test_assign(void)
{
	struct vmdef *d = parse(
	    "LABEL=demo\n"
	    "export MEMSIZE=256\n"
	    "SMP=${SMP:-2}\n"
	    "TIMEOPT=\"${TIMEOPT:--localtime} \"\n"
	    "HDDBOOTIMAGE=\"${CTYSWRAPPERPATH}/disk.img\"\n"
	    "HDA=${HDDBOOTIMAGE}\n"
	    "ARGSADD=;\n"
	    "Q='single $quoted'; R=\"a\\\"b\" # comment\n"
	    "APPEND=\"console=ttyS0 \\\n  quiet\"\n"
	    "PLUS=${LABEL:+yes}${NOPE:+no}\n"
	    "DEF=${UNSET-dflt}${LABEL-x}\n"
	    "ASSIGN=${NEW:=v}$NEW\n"
	    "A=1 B=$A\n"
	    "MAC0=00:50:56:13:11:30\n");

	T_INTEQ(d->ndiags, 0);
	T_STREQ(vmdef_get(d, "LABEL"), "demo");
	T_STREQ(vmdef_get(d, "MEMSIZE"), "256");
	T_STREQ(vmdef_get(d, "SMP"), "2");
	T_STREQ(vmdef_get(d, "TIMEOPT"), "-localtime ");
	T_STREQ(vmdef_get(d, "HDDBOOTIMAGE"), "/vm/demo/disk.img");
	T_STREQ(vmdef_get(d, "HDA"), "/vm/demo/disk.img");
	T_CHECK(vmdef_var(d, "ARGSADD") != NULL && vmdef_get(d, "ARGSADD") == NULL);
	T_STREQ(vmdef_get(d, "Q"), "single $quoted");
	T_STREQ(vmdef_get(d, "R"), "a\"b");
	T_STREQ(vmdef_get(d, "APPEND"), "console=ttyS0   quiet");
	T_INTEQ(vmdef_line(d, "APPEND"), 9);
	T_STREQ(vmdef_get(d, "PLUS"), "yes");
	T_STREQ(vmdef_get(d, "DEF"), "dfltdemo");
	T_STREQ(vmdef_get(d, "ASSIGN"), "vv");
	T_STREQ(vmdef_get(d, "B"), "1");
	T_STREQ(vmdef_get(d, "MAC0"), "00:50:56:13:11:30");
	T_INTEQ(vmdef_line(d, "MAC0"), 15);
	vmdef_free(d);
}

static void
test_hostile(void)
{
	struct vmdef *d = parse(
	    "A=$(touch /tmp/ctys-pwned)\n"
	    "B=`touch /tmp/ctys-pwned`\n"
	    "C=x; rm -rf /tmp/ctys-pwned\n"
	    "echo hello\n"
	    ". /etc/profile\n"
	    "D=\"$(id)\"\n"
	    "case ${ACCELERATOR} in\n"
	    "  KVM) STARTERCALL=qemu-kvm;;\n"
	    "esac\n"
	    "E=ok\n");

	T_CHECK(vmdef_var(d, "A") == NULL);
	T_CHECK(vmdef_var(d, "B") == NULL);
	T_STREQ(vmdef_get(d, "C"), "x");
	T_CHECK(vmdef_var(d, "D") == NULL);
	T_CHECK(vmdef_var(d, "STARTERCALL") == NULL);
	T_STREQ(vmdef_get(d, "E"), "ok");
	T_CHECK(has_diag(d, 1, "command substitution"));
	T_CHECK(has_diag(d, 2, "command substitution"));
	T_CHECK(has_diag(d, 3, "not an assignment, skipped: 'rm'"));
	T_CHECK(has_diag(d, 4, "not an assignment"));
	T_CHECK(has_diag(d, 5, "not an assignment"));
	T_CHECK(d->ndiags == 6);	/* the case block is evaluated: no arm matches */
	T_INTEQ(d->nerrors, 0);
	vmdef_free(d);

	d = vmdef_parse("A=1\n\0B=2\n", 10, "/x.ctys");
	T_INTEQ(d->nerrors, 1);
	vmdef_free(d);
	d = parse("A=\"unterminated\nB=2\n");
	T_CHECK(vmdef_var(d, "A") == NULL);
	vmdef_free(d);
}

int
main(void)
{
	test_magic();
	test_assign();
	test_hostile();
	return t_done();
}
