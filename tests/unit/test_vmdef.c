#include <stdlib.h>

#include "t.h"
#include "util.h"
#include "vmconf.h"
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

static void
test_blocks(void)
{
	struct vmdef *d = parse(
	    "ACCELERATOR=${ACCELERATOR:-QEMU}\n"
	    "case ${ACCELERATOR} in\n"
	    "  KVM) STARTERCALL=qemu-kvm;;\n"
	    "  'QEMU'|TCG) STARTERCALL=\"${STARTERCALL:-qemu-system-x86_64}\"\n"
	    "     ;;\n"
	    "  *) STARTERCALL=never;;\n"
	    "esac\n"
	    "ARCH=' x86_64 '\n"
	    "if [ -n \"${ARCH}\" ]; then\n"
	    "  case ${ARCH// /} in\n"
	    "    i?86) CPU=qemu32;;\n"
	    "    x86_*) CPU=\"${CPU:-qemu64}\"; SET=${SET:=1};;\n"
	    "  esac\n"
	    "elif [ -z \"$ARCH\" ]; then CPU=none\n"
	    "else CPU=other; fi\n"
	    "if test \"$SMP\" = 4; then A=4; elif [ ! -n \"$SMP\" ]; then A=unset; fi\n"
	    "if [ 2 -lt 10 ]; then N=lt; else N=ge; fi\n"
	    "if [ -f /etc/passwd ]; then F=1; else F=2; fi\n"
	    "for i in 1 2; do L=$i; done\n"
	    "case $(uname) in Linux) U=1;; esac\n"
	    "Z=${ARCH%_64 }${#ARCH}\n");

	T_STREQ(vmdef_get(d, "STARTERCALL"), "qemu-system-x86_64");
	T_STREQ(vmdef_get(d, "CPU"), "qemu64");
	T_STREQ(vmdef_get(d, "SET"), "1");
	T_STREQ(vmdef_get(d, "A"), "unset");
	T_STREQ(vmdef_get(d, "N"), "lt");
	T_CHECK(vmdef_var(d, "F") == NULL);	/* -f is not evaluated: neither branch */
	T_CHECK(vmdef_var(d, "L") == NULL);
	T_CHECK(vmdef_var(d, "U") == NULL);
	T_STREQ(vmdef_get(d, "Z"), " x868");
	T_CHECK(has_diag(d, 18, "condition not evaluated (unsupported test)"));
	T_CHECK(has_diag(d, 19, "'for' loop not evaluated"));
	T_CHECK(has_diag(d, 20, "case subject not evaluated (command substitution"));
	T_INTEQ(d->ndiags, 3);
	vmdef_free(d);

	/* a branch not taken has no effects, not even ${V:=x}, and no warnings */
	d = parse("if [ -z x ]; then A=${B:=1}; echo hi; $(x); fi\nC=$B\n"
	    "case a in b) D=1;; esac\nif [ x ]\nthen\nE=1\nfi\nif [ x ]; then G=1\n");
	T_CHECK(vmdef_var(d, "A") == NULL && vmdef_var(d, "B") == NULL);
	T_CHECK(vmdef_get(d, "C") == NULL);
	T_CHECK(vmdef_var(d, "D") == NULL);
	T_STREQ(vmdef_get(d, "E"), "1");
	T_STREQ(vmdef_get(d, "G"), "1");
	T_CHECK(has_diag(d, 8, "'if' block is not closed"));
	T_INTEQ(d->ndiags, 1);
	vmdef_free(d);

	/* loops are skipped whole, nested ones too, one warning each outermost loop */
	d = parse("while true; do\n for j in 1; do K=1; done\n W=1\ndone\nAFTER=1\n"
	    "until x\ndo\n  case y in y) U=1;; esac\ndone; AFTER2=1\n");
	T_CHECK(vmdef_var(d, "K") == NULL && vmdef_var(d, "W") == NULL);
	T_CHECK(vmdef_var(d, "U") == NULL);
	T_STREQ(vmdef_get(d, "AFTER"), "1");
	T_STREQ(vmdef_get(d, "AFTER2"), "1");
	T_INTEQ(d->ndiags, 2);
	vmdef_free(d);
}

static void
test_vmconf(void)
{
	struct vmdef *d = parse(
	    "#@#MAGICID-QEMU\n"
	    "#@#LABEL = \"web 1\"\n"
	    "#@#VMSTATE = ACTIVE\n"
	    "#@#ARCH = i386\n"
	    "#@#IP0 = \"10.0.0.5%255.255.255.0%%eth0%22%10.0.0.1,10.0.1.5\"\n"
	    "#@#MAC0 = 52:54:00:00:00:01\n"
	    "ARCH=x86_64\n"
	    "MEMSIZE=512\n"
	    "MAC2=52:54:00:00:00:03\n"
	    "NETMODE2=none\n");
	struct vmconf c;

	vmconf_init(&c, d);
	T_STREQ(c.label, "web 1");
	T_STREQ(c.vmstate, "ACTIVE");
	T_STREQ(c.arch, "x86_64");	/* the variable wins over the magic key */
	T_STREQ(c.memsize, "512");
	T_CHECK(c.uuid == NULL);
	T_INTEQ(c.nnics, 3);
	T_STREQ(c.nics[0].mac, "52:54:00:00:00:01");
	T_INTEQ((int)c.nics[0].nips, 2);
	T_STREQ(c.nics[0].ips[0].addr, "10.0.0.5");
	T_STREQ(c.nics[0].ips[0].netmask, "255.255.255.0");
	T_CHECK(c.nics[0].ips[0].relay == NULL);
	T_STREQ(c.nics[0].ips[0].ifname, "eth0");
	T_STREQ(c.nics[0].ips[0].sshport, "22");
	T_STREQ(c.nics[0].ips[0].gateway, "10.0.0.1");
	T_STREQ(c.nics[0].ips[1].addr, "10.0.1.5");
	T_CHECK(c.nics[0].ips[1].netmask == NULL);
	T_CHECK(c.nics[1].mac == NULL);
	T_STREQ(c.nics[2].netmode, "none");
	T_STREQ(vmconf_get(&c, "LABEL"), "web 1");
	T_STREQ(vmconf_get(&c, "MEMSIZE"), "512");
	T_CHECK(vmconf_get(&c, "NOSUCHKEY") == NULL);
	vmconf_free(&c);
	vmdef_free(d);
}

int
main(void)
{
	test_magic();
	test_assign();
	test_hostile();
	test_blocks();
	test_vmconf();
	return t_done();
}
