/* CREATE: definition -> QEMU argv -> a supervised QEMU, ready when QMP answers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include "argv.h"
#include "detect.h"
#include "exitcodes.h"
#include "qemu.h"
#include "rundir.h"
#include "supervisor.h"
#include "vm.h"
#include "vmdef.h"

/* A file named in the definition: relative paths are relative to the definition's directory. */
static char *
def_file(const struct vmdef *d, const char *path)
{
	return path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", d->dir, path);
}

static const char *
disk_format(const struct vmdef *d, const char *path)
{
	unsigned char magic[4];
	char *p = def_file(d, path);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	free(p);
	if (fd == -1)
		return NULL;
	n = read(fd, magic, sizeof magic);
	close(fd);
	if (n == 4 && memcmp(magic, "QFI\xfb", 4) == 0)
		return "qcow2";
	return "raw";
}

static int
check_file(const struct vmdef *d, const char *key, const char *path, char **cause)
{
	char *p;
	int rc = 0;

	if (path == NULL)
		return 0;
	p = def_file(d, path);
	if (access(p, R_OK) == -1)
		rc = fail(cause, errno == ENOENT ? EXIT_NOTFOUND : EXIT_FAIL, "%s:%d: %s: %s: '%s'",
		    d->path, vmdef_line(d, key), key, errno == ENOENT ? "no such file" :
		    strerror(errno), p);
	free(p);
	return rc;
}

int
qemu_create(struct ctx *ctx, struct subopt_list *so)
{
	struct vm_addr addr;
	struct vmdef *d = NULL;
	struct host_facts facts;
	struct qemu_opts qo = { 0 };
	struct sup_config sc = { 0 };
	struct subopt *o;
	struct strv argv = { 0 };
	char *cause = NULL, *bin = NULL, *why = NULL, *label = NULL, *id = NULL, *dir = NULL;
	const char *hda, *console = "NONE";
	int rc, lockfd = -1;
	pid_t qpid;

	if ((rc = vm_addr_parse(so, &addr, 0, &cause)) != 0)
		goto out;
	if (addr.path == NULL) {
		rc = fail(&cause, EXIT_USAGE, "CREATE needs P:<definition path> (addressing by "
		    "label or UUID needs the inventory, not yet supported)");
		goto out;
	}
	if ((o = subopt_find(so, "CONSOLE")) != NULL) {
		console = o->arg;
		if (strcasecmp(console, "NONE") != 0) {
			rc = fail(&cause, EXIT_USAGE, "CONSOLE:%s is not supported yet (use NONE)",
			    console);
			goto out;
		}
	}
	if ((d = vmdef_load(addr.path, &cause)) == NULL) {
		rc = access(addr.path, F_OK) == -1 ? EXIT_NOTFOUND : EXIT_FAIL;
		if (rc == EXIT_NOTFOUND)
			fail(&cause, 0, "no such VM definition: '%s'", addr.path);
		goto out;
	}
	vmdef_print_diags(d);
	if (d->nerrors > 0) {
		rc = fail(&cause, EXIT_FAIL, "%s: %d error(s) in the definition", d->path,
		    d->nerrors);
		goto out;
	}
	if (!d->magic_qemu) {
		rc = fail(&cause, EXIT_FAIL, "%s: not a QEMU VM definition (no #@#MAGICID-QEMU)",
		    d->path);
		goto out;
	}
	hda = vmdef_get(d, "HDA") ? vmdef_get(d, "HDA") : vmdef_get(d, "HDDBOOTIMAGE");
	if ((rc = check_file(d, "KERNELIMAGE", vmdef_get(d, "KERNELIMAGE"), &cause)) != 0 ||
	    (rc = check_file(d, "INITRDIMAGE", vmdef_get(d, "INITRDIMAGE"), &cause)) != 0 ||
	    (rc = check_file(d, vmdef_get(d, "HDA") ? "HDA" : "HDDBOOTIMAGE", hda, &cause)) != 0)
		goto out;

	if ((rc = detect_binary(ctx->conf, vmdef_get(d, "STARTERCALL"),
	    vmdef_get(d, "ARCH") ? vmdef_get(d, "ARCH") : "x86_64", &bin, &cause)) != 0)
		goto out;
	detect_host_facts(&facts);
	qo.binary = bin;
	qo.accel = detect_accel(&facts, vmdef_get(d, "ARCH"), vmdef_get(d, "ACCELERATOR"), &why);
	if (why != NULL) {
		const char *want = vmdef_get(d, "ACCELERATOR");

		if (want != NULL && strcasecmp(want, "KVM") == 0)
			log_warn("%s: ACCELERATOR=KVM, but KVM is not usable here (%s); using TCG",
			    d->path, why);
		else
			log_debug(1, "accelerator: TCG, because %s", why);
	}
	qo.console = console;
	qo.hda_format = hda ? disk_format(d, hda) : NULL;
	qo.qmp_fd = QEMU_FD_QMP;
	qo.serial_fd = QEMU_FD_SERIAL;
	if ((rc = qemu_argv_build(d, &qo, &argv, &cause)) != 0)
		goto out;

	if (subopt_find(so, "PRINT") != NULL) {
		for (size_t i = 0; i < argv.n; i++) {
			char *q = sh_quote(argv.v[i]);

			printf("%s%s", i ? " " : "", q);
			free(q);
		}
		printf("\n");
		rc = EXIT_OK;
		goto out;
	}

	label = qemu_label(d);
	id = rundir_id(vmdef_get(d, "UUID"), d->path);
	{
		/* the longest socket path must fit sun_path (108 bytes with its NUL) */
		size_t need = strlen(ctx->paths->run) + 1 + strlen(id) + strlen("/console.sock");

		if (need >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			rc = fail(&cause, EXIT_FAIL, "runtime directory '%s' is too long for UNIX "
			    "socket paths (%zu of at most 107 bytes); set CTYS_RUNDIR or "
			    "runtime_dir to a shorter path", ctx->paths->run, need);
			goto out;
		}
	}
	if ((rc = rundir_claim(ctx->paths->run, id, label, vmdef_get(d, "UUID"), d->path,
	    &lockfd, &dir, &cause)) != 0)
		goto out;
	{
		char *p = rundir_file(dir, "accel");
		char *argvp = rundir_file(dir, "argv");
		struct strv flat = { 0 };
		size_t len = 0;
		char *buf;

		file_write(p, qo.accel, strlen(qo.accel), 0600);
		for (size_t i = 0; i < argv.n; i++)
			len += strlen(argv.v[i]) + 1;
		buf = xmalloc(len + 1);
		len = 0;
		for (size_t i = 0; i < argv.n; i++) {
			size_t l = strlen(argv.v[i]) + 1;

			memcpy(buf + len, argv.v[i], l);
			len += l;
		}
		file_write(argvp, buf, len, 0600);
		free(buf);
		free(p);
		free(argvp);
		strv_free(&flat);
	}
	sc.dir = dir;
	sc.id = id;
	sc.label = label;
	sc.uuid = vmdef_get(d, "UUID");
	sc.def = d->path;
	sc.accel = qo.accel;
	sc.workdir = d->dir;
	sc.state_dir = ctx->paths->state;
	sc.argv = argv;
	sc.lockfd = lockfd;
	sc.create_timeout = ctx->conf->create_timeout;
	rc = supervisor_start(&sc, &qpid, &cause);
	if (rc == 0)
		log_debug(1, "'%s' started: %s %s, pid %d, accelerator %s, runtime %s", label,
		    bin, supervisor_qemu_version(), (int)qpid, qo.accel, dir);
out:
	if (rc != 0 && cause != NULL)
		log_err("%s", cause);
	if (lockfd != -1)
		close(lockfd);
	strv_free(&argv);
	vmdef_free(d);
	vm_addr_free(&addr);
	free(cause);
	free(bin);
	free(why);
	free(label);
	free(id);
	free(dir);
	return rc;
}
