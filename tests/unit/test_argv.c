/*
 * Golden files for the QEMU command line (as Proxmox's cfg2cmd tests): every
 * tests/golden/argv/NAME.ctys is parsed as if it lived at /vm/NAME/NAME.ctys and its argv
 * compared with NAME.argv (one argument a line), or its error with NAME.err.
 * A line "# test-subopts: ..." gives CREATE suboptions; "# test-caps: FILE" the binary's
 * capabilities (a probe cache file beside the goldens: qemu-7.2.caps is the real probe of
 * Debian 12's QEMU, qemu-7.2-minimal.caps the same without vde, qxl and usb-storage);
 * without it nothing is checked against the binary. NAME containing "kvm" runs with
 * KVM. The ssh port is 2222; disks ending in .qcow2 are qcow2, others raw.
 * CTYS_GOLDEN_UPDATE=1 rewrites the expected files.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "create.h"
#include "probe.h"
#include "subopt.h"
#include "t.h"
#include "util.h"
#include "vmdef.h"

static const char *
fake_format(const char *path, void *arg)
{
	size_t n = strlen(path);

	(void)arg;
	return n > 6 && strcmp(path + n - 6, ".qcow2") == 0 ? "qcow2" : "raw";
}

static void
check(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name), *buf, *vpath, *base, *exp_argv, *exp_err;
	char *got, *want, *cause = NULL;
	size_t len;
	struct vmdef *d;
	struct qemu_opts o = { .binary = "/usr/bin/qemu-system-x86_64", .accel = "tcg",
	    .console = "NONE", .qmp_fd = 3, .serial_fd = 4, .agent_fd = -1,
	    .rundir = "/run/ctys/0123456789abcdef", .disk_format = fake_format };
	struct create_opts co = { 0 };
	struct subopt_list so = { 0 };
	struct strv argv = { 0 };
	struct qemu_caps *caps = NULL;
	const char *tag;
	int rc, update = getenv("CTYS_GOLDEN_UPDATE") != NULL;

	base = xstrndup(name, strlen(name) - 5);
	if (strstr(base, "kvm") != NULL)
		o.accel = "kvm";
	buf = file_read(path, 1 << 20, &len);
	vpath = xasprintf("/vm/%s/%s.ctys", base, base);
	d = vmdef_parse(buf, len, vpath);
	rc = 0;
	if ((tag = strstr(buf, "# test-caps: ")) != NULL) {
		char *f = xstrndup(tag + 13, strcspn(tag + 13, "\n"));
		char *cpath = xasprintf("%s/%s", dir, f), *text;
		size_t clen;

		if ((text = file_read(cpath, 1 << 22, &clen)) == NULL ||
		    qemu_caps_from_json(text, clen, NULL, &caps, &cause) != 0) {
			fprintf(stderr, "%s: cannot use %s: %s\n", name, cpath, cause ? cause : "");
			exit(1);
		}
		o.caps = caps;
		free(text);
		free(cpath);
		free(f);
	}
	/* as create.c decides it */
	o.agent_fd = qemu_agent_wanted(d, o.caps) ? QEMU_FD_QGA : -1;
	if ((tag = strstr(buf, "# test-subopts: ")) != NULL) {
		char *line = xstrndup(tag + 16, strcspn(tag + 16, "\n"));

		rc = subopt_parse(line, &so, &cause) == 0 ? 0 : 2;
		free(line);
		if (rc == 0)
			rc = create_opts_parse(&so, &o, &co, &cause);
	}
	if (rc == 0)
		rc = create_opts_defaults(d, &o, &co, &cause);
	if (vmdef_get(d, "MAC0") != NULL)
		o.ssh_port = 2222;
	if (rc == 0)
		rc = qemu_argv_build(d, &o, &argv, &cause);
	exp_argv = xasprintf("%s/%s.argv", dir, base);
	exp_err = xasprintf("%s/%s.err", dir, base);
	if (rc == 0) {
		size_t n = 0;

		for (size_t i = 0; i < argv.n; i++)
			n += strlen(argv.v[i]) + 1;
		got = xcalloc(1, n + 1);
		for (size_t i = 0; i < argv.n; i++) {
			strcat(got, argv.v[i]);
			strcat(got, "\n");
		}
	} else
		got = xasprintf("%d %s\n", rc, cause);
	if (update)
		file_write(rc == 0 ? exp_argv : exp_err, got, strlen(got), 0644);
	want = file_read(rc == 0 ? exp_argv : exp_err, 1 << 20, NULL);
	if (want == NULL || strcmp(want, got) != 0) {
		fprintf(stderr, "%s: %s differs.\n--- want\n%s--- got\n%s", name,
		    rc == 0 ? "argv" : "error", want ? want : "(missing file)\n", got);
		t_fail++;
	} else
		t_pass++;
	free(want);
	free(got);
	free(exp_argv);
	free(exp_err);
	strv_free(&argv);
	create_opts_free(&co);
	subopt_list_free(&so);
	vmdef_free(d);
	qemu_caps_free(caps);
	free(vpath);
	free(buf);
	free(base);
	free(path);
	free(cause);
}

int
main(int argc, char **argv)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (argc != 2 || (d = opendir(argv[1])) == NULL) {
		fprintf(stderr, "usage: test_argv GOLDEN_DIR\n");
		return 2;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > 5 && strcmp(de->d_name + l - 5, ".ctys") == 0) {
			check(argv[1], de->d_name);
			n++;
		}
	}
	closedir(d);
	T_CHECK(n >= 5);
	return t_done();
}
