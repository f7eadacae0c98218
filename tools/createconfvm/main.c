/*
 * ctys-createConfVM: writes a new VM directory <dir>/<label>/ with <label>.ctys (the
 * definition: #@#MAGICID-QEMU, a fresh UUID, a locally administered MAC, the install
 * metadata keys) and <label>.sh (the wrapper, from wrappers/wrapper.sh.in), and creates
 * its disk with `qemu-img create -f qcow2`. Never overwrites an existing VM.
 *
 *   ctys-createConfVM --label NAME [--dir DIR] [--mem MB] [--smp N] [--disk SIZE]
 *       [--kernel K [--initrd I] [--append A]] [--iso ISO] [--mac MAC] [--arch ARCH]
 *       [--vmstate STATE]
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "exitcodes.h"
#include "spawn.h"
#include "util.h"

#ifndef CTYS_WRAPPER_TEMPLATE
#define CTYS_WRAPPER_TEMPLATE "/usr/share/ctys/wrapper.sh.in"
#endif

static void
usage(void)
{
	fprintf(stderr, "usage: ctys-createConfVM --label NAME [--dir DIR] [--mem MB] [--smp N] "
	    "[--disk SIZE]\n       [--kernel K [--initrd I] [--append A]] [--iso ISO] "
	    "[--mac MAC] [--arch ARCH] [--vmstate STATE]\n");
	exit(EXIT_USAGE);
}

/* A value written into the definition: double-quoted, `"`, `\\`, `$` and ` escaped. */
static char *
sh_dq(const char *s)
{
	char *out = xmalloc(strlen(s) * 2 + 3), *o = out;

	*o++ = '"';
	for (; *s; s++) {
		if (strchr("\"\\$`", *s) != NULL)
			*o++ = '\\';
		*o++ = *s;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

static int
bad_label(const char *l)
{
	if (*l == '\0' || *l == '-' || strchr(l, '/') != NULL || strcmp(l, ".") == 0 ||
	    strcmp(l, "..") == 0)
		return 1;
	for (; *l; l++)
		if ((unsigned char)*l < 0x20 || *l == 0x7f)
			return 1;
	return 0;
}

static int
num_ok(const char *s)
{
	return s != NULL && str_is_uint(s) && strlen(s) < 8 && atoi(s) > 0;
}

/* The wrapper: the template with @LABEL@ and @DEFINITION@ (in single quotes) filled in. */
static char *
wrapper_text(const char *tmpl, const char *label, const char *def)
{
	struct strv parts = { 0 };
	char *q_label, *q_def, *out;
	const char *p = tmpl;
	size_t n = 0;

	/* single-quote safe: ' becomes '\'' */
	{
		struct strv t = { 0 };
		const char *srcs[2] = { label, def };

		for (int k = 0; k < 2; k++) {
			char *o = xmalloc(strlen(srcs[k]) * 4 + 1), *w = o;

			for (const char *c = srcs[k]; *c; c++) {
				if (*c == '\'') {
					memcpy(w, "'\\''", 4);
					w += 4;
				} else
					*w++ = *c;
			}
			*w = '\0';
			strv_add(&t, o);
			free(o);
		}
		q_label = xstrdup(t.v[0]);
		q_def = xstrdup(t.v[1]);
		strv_free(&t);
	}
	while (*p) {
		const char *a = strstr(p, "@LABEL@"), *b = strstr(p, "@DEFINITION@"), *m;
		size_t len;

		m = a && (!b || a < b) ? a : b;
		if (m == NULL) {
			strv_add(&parts, p);
			break;
		}
		len = (size_t)(m - p);
		{
			char *seg = xstrndup(p, len);

			strv_add(&parts, seg);
			free(seg);
		}
		strv_add(&parts, m == a ? q_label : q_def);
		p = m + (m == a ? 7 : 12);
	}
	for (size_t i = 0; i < parts.n; i++)
		n += strlen(parts.v[i]);
	out = xmalloc(n + 1);
	out[0] = '\0';
	for (size_t i = 0; i < parts.n; i++)
		strcat(out, parts.v[i]);
	strv_free(&parts);
	free(q_label);
	free(q_def);
	return out;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "label", required_argument, NULL, 'l' }, { "dir", required_argument, NULL, 'D' },
		{ "mem", required_argument, NULL, 'm' }, { "smp", required_argument, NULL, 's' },
		{ "disk", required_argument, NULL, 'k' }, { "kernel", required_argument, NULL, 'K' },
		{ "initrd", required_argument, NULL, 'I' }, { "append", required_argument, NULL, 'A' },
		{ "iso", required_argument, NULL, 'i' }, { "mac", required_argument, NULL, 'M' },
		{ "arch", required_argument, NULL, 'a' }, { "vmstate", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	const char *label = NULL, *dir = ".", *mem = "512", *smp = "1", *disk = NULL;
	const char *kernel = NULL, *initrd = NULL, *append = NULL, *iso = NULL, *mac = NULL;
	const char *arch = "x86_64", *vmstate = "ACTIVE";
	char *vdir, *def, *wrap, *img = NULL, macbuf[18], uuidbuf[37], datebuf[32], host[256];
	char *text, *tmpl, *w, *q;
	struct passwd *pw = getpwuid(getuid());
	unsigned char r[5];
	uuid_t u;
	time_t now = time(NULL);
	int c, fd;
	FILE *f;

	log_prog = "ctys-createConfVM";
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': label = optarg; break;
		case 'D': dir = optarg; break;
		case 'm': mem = optarg; break;
		case 's': smp = optarg; break;
		case 'k': disk = optarg; break;
		case 'K': kernel = optarg; break;
		case 'I': initrd = optarg; break;
		case 'A': append = optarg; break;
		case 'i': iso = optarg; break;
		case 'M': mac = optarg; break;
		case 'a': arch = optarg; break;
		case 'S': vmstate = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || label == NULL)
		usage();
	if (bad_label(label) || (strchr(label, '"') && strchr(label, '\''))) {
		log_err("--label: not a label (empty, leading '-', '/' or control characters): '%s'",
		    label);
		return EXIT_USAGE;
	}
	if (!num_ok(mem) || !num_ok(smp)) {
		log_err("--mem and --smp want positive numbers: '%s', '%s'", mem, smp);
		return EXIT_USAGE;
	}
	if ((initrd || append) && !kernel) {
		log_err("--initrd and --append need --kernel");
		return EXIT_USAGE;
	}
	if (mac != NULL && strlen(mac) != 17) {
		log_err("--mac: not a MAC address: '%s'", mac);
		return EXIT_USAGE;
	}
	vdir = xasprintf("%s/%s", dir, label);
	if (mkdir(vdir, 0755) == -1) {
		log_err("cannot create '%s': %s%s", vdir, strerror(errno), errno == EEXIST ?
		    " (a VM of that name exists; ctys-createConfVM never overwrites one)" : "");
		return errno == EEXIST ? EXIT_STATE : EXIT_FAIL;
	}
	def = xasprintf("%s/%s.ctys", vdir, label);
	wrap = xasprintf("%s/%s.sh", vdir, label);
	uuid_generate(u);
	uuid_unparse_lower(u, uuidbuf);
	if (mac == NULL) {
		/* locally administered, unicast: 02:xx:xx:xx:xx:xx */
		if (getentropy(r, sizeof r) == -1) {
			log_err("getentropy: %s", strerror(errno));
			return EXIT_FAIL;
		}
		snprintf(macbuf, sizeof macbuf, "02:%02x:%02x:%02x:%02x:%02x", r[0], r[1], r[2], r[3],
		    r[4]);
		mac = macbuf;
	}
	strftime(datebuf, sizeof datebuf, "%Y-%m-%d %H:%M:%S", localtime(&now));
	if (gethostname(host, sizeof host) != 0)
		strlcpy_chk(host, "localhost", sizeof host);
	if (disk != NULL)
		img = xasprintf("%s/%s.qcow2", vdir, label);

	if ((f = fopen(def, "wx")) == NULL) {
		log_err("cannot create '%s': %s", def, strerror(errno));
		return EXIT_FAIL;
	}
	fprintf(f, "#!/bin/sh\n# ctys VM definition, written by ctys-createConfVM (read as data, "
	    "never executed)\n");
	fprintf(f, "#@#MAGICID-QEMU\n");
	/* a magic comment's quotes have no escapes: the other kind of quote if needed */
	fprintf(f, strchr(label, '"') ? "#@#LABEL            = '%s'\n" :
	    "#@#LABEL            = \"%s\"\n", label);
	fprintf(f, "#@#UUID             = \"%s\"\n", uuidbuf);
	fprintf(f, "#@#MAC0             = %s\n", mac);
	fprintf(f, "#@#VMSTATE          = %s\n", vmstate);
	fprintf(f, "#@#ARCH             = %s\n", arch);
	fprintf(f, "#@#CTYSRELEASE      = \"ctys %s\"\n", CTYS_VERSION);
	fprintf(f, "#@#INST_EDITOR      = \"%s\"\n", pw ? pw->pw_name : "?");
	fprintf(f, "#@#INST_DATE        = \"%s\"\n", datebuf);
	fprintf(f, "#@#INST_HOST        = \"%s\"\n", host);
	fprintf(f, "#@#INST_CTYSREL     = \"ctys %s\"\n", CTYS_VERSION);
	fprintf(f, "MEMSIZE=%s\nSMP=%s\nARCH=%s\n", mem, smp, arch);
	fprintf(f, "MAC0=%s\n", mac);
	if (img != NULL) {
		q = sh_dq(label);
		q[strlen(q) - 1] = '\0';	/* the escaped label, without its quotes */
		fprintf(f, "HDA=\"${CTYSWRAPPERPATH}/%s.qcow2\"\n", q + 1);
		free(q);
	}
	if (kernel != NULL) {
		q = sh_dq(kernel);
		fprintf(f, "KERNELIMAGE=%s\n", q);
		free(q);
	}
	if (initrd != NULL) {
		q = sh_dq(initrd);
		fprintf(f, "INITRDIMAGE=%s\n", q);
		free(q);
	}
	if (append != NULL) {
		q = sh_dq(append);
		fprintf(f, "APPEND=%s\n", q);
		free(q);
	}
	if (iso != NULL) {
		q = sh_dq(iso);
		fprintf(f, "INSTSRCCDROM=%s\nDEFAULTINSTMODE=CD\n", q);
		free(q);
	}
	if (fclose(f) != 0) {
		log_err("cannot write '%s': %s", def, strerror(errno));
		return EXIT_FAIL;
	}
	/* the wrapper, from the template */
	tmpl = file_read(getenv("CTYS_WRAPPER_TEMPLATE") ? getenv("CTYS_WRAPPER_TEMPLATE") :
	    CTYS_WRAPPER_TEMPLATE, 1 << 20, NULL);
#ifdef CTYS_WRAPPER_TEMPLATE_SRC
	if (tmpl == NULL)	/* run from the build tree */
		tmpl = file_read(CTYS_WRAPPER_TEMPLATE_SRC, 1 << 20, NULL);
#endif
	if (tmpl == NULL) {
		log_err("no wrapper template at '%s': %s", CTYS_WRAPPER_TEMPLATE, strerror(errno));
		return EXIT_FAIL;
	}
	{
		char *abs = realpath(def, NULL);

		text = wrapper_text(tmpl, label, abs ? abs : def);
		free(abs);
	}
	if ((fd = open(wrap, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0) {
		log_err("cannot write '%s': %s", wrap, strerror(errno));
		return EXIT_FAIL;
	}
	free(text);
	free(tmpl);
	if (img != NULL) {
		char *av[] = { "qemu-img", "create", "-q", "-f", "qcow2", img, (char *)disk, NULL };
		struct spawn sp = { 0 };
		char *cause = NULL;
		int st;

		sp.argv = av;
		sp.in = SPAWN_NULL;
		sp.out = SPAWN_NULL;
		sp.err = SPAWN_INHERIT;
		if (spawn_start(&sp, &cause) != 0 || (st = spawn_wait(sp.pid)) == -1 ||
		    !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			log_err("qemu-img create of '%s' failed%s%s", img, cause ? ": " : "",
			    cause ? cause : "");
			return EXIT_FAIL;
		}
	}
	w = realpath(def, NULL);
	printf("%s\n", w ? w : def);
	free(w);
	free(img);
	free(def);
	free(wrap);
	free(vdir);
	return EXIT_OK;
}
