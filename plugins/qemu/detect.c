#include "detect.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "exitcodes.h"
#include "util.h"

void
detect_host_facts(struct host_facts *f)
{
	struct utsname u;
	DIR *d;
	struct dirent *de;
	int fd;

	memset(f, 0, sizeof *f);
	if (uname(&u) == 0)
		strlcpy_chk(f->host_arch, u.machine, sizeof f->host_arch);
	f->kvm_dev = access("/dev/kvm", F_OK) == 0;
	if (f->kvm_dev) {
		if ((fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) == -1)
			f->kvm_open_errno = errno;
		else
			close(fd);
	}
	f->kvm_intel = access("/sys/module/kvm_intel", F_OK) == 0;
	f->kvm_amd = access("/sys/module/kvm_amd", F_OK) == 0;
	if ((d = opendir("/sys/module")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, "kvm_", 4) == 0 &&
			    strcmp(de->d_name, "kvm_intel") != 0 &&
			    strcmp(de->d_name, "kvm_amd") != 0) {
				strlcpy_chk(f->other_kvm, de->d_name, sizeof f->other_kvm);
				break;
			}
		}
		closedir(d);
	}
}

const char *
detect_qemu_arch(const char *arch)
{
	static const struct { const char *in, *out; } map[] = {
		{ "x86_64", "x86_64" }, { "amd64", "x86_64" }, { "x86-64", "x86_64" },
		{ "i386", "i386" }, { "i486", "i386" }, { "i586", "i386" }, { "i686", "i386" },
		{ "x86", "i386" }, { "aarch64", "aarch64" }, { "arm64", "aarch64" },
		{ "arm", "arm" }, { "armv7l", "arm" }, { "ppc64le", "ppc64" }, { "ppc64", "ppc64" },
		{ "riscv64", "riscv64" }, { "s390x", "s390x" }, { "mips64", "mips64" },
	};

	for (size_t i = 0; i < nitems(map); i++)
		if (strcasecmp(map[i].in, arch) == 0)
			return map[i].out;
	return arch;
}

const char *
detect_accel(const struct host_facts *f, const char *guest_arch, const char *want, char **reason)
{
	const char *host = detect_qemu_arch(f->host_arch);
	const char *guest = detect_qemu_arch(guest_arch && *guest_arch ? guest_arch : f->host_arch);
	int x86 = strcmp(host, "x86_64") == 0 || strcmp(host, "i386") == 0;

	*reason = NULL;
	if (want != NULL && (strcasecmp(want, "QEMU") == 0 || strcasecmp(want, "TCG") == 0)) {
		*reason = xstrdup("the definition asks for TCG (ACCELERATOR=QEMU)");
		return "tcg";
	}
	if (strcmp(host, guest) != 0 && !(strcmp(host, "x86_64") == 0 &&
	    strcmp(guest, "i386") == 0)) {
		*reason = xasprintf("guest architecture %s differs from host %s", guest, host);
		return "tcg";
	}
	if (!f->kvm_dev) {
		*reason = xstrdup("/dev/kvm does not exist");
		return "tcg";
	}
	if (f->kvm_open_errno != 0) {
		*reason = xasprintf("cannot open /dev/kvm read-write: %s",
		    strerror(f->kvm_open_errno));
		return "tcg";
	}
	if (x86 && !f->kvm_intel && !f->kvm_amd) {
		if (f->other_kvm[0] != '\0')
			*reason = xasprintf("/dev/kvm is provided by %s, not kvm_intel or kvm_amd: "
			    "it cannot run a stock guest", f->other_kvm);
		else
			*reason = xstrdup("neither kvm_intel nor kvm_amd is loaded");
		return "tcg";
	}
	return "kvm";
}

static int
executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static char *
search(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->qemu_path.n; i++) {
		char *p = xasprintf("%s/%s", c->qemu_path.v[i], name);

		if (executable(p))
			return p;
		free(p);
	}
	return NULL;
}

static char *
path_list(const struct conf *c)
{
	char *s = xstrdup(""), *t;

	for (size_t i = 0; i < c->qemu_path.n; i++) {
		t = xasprintf("%s%s%s", s, i ? ":" : "", c->qemu_path.v[i]);
		free(s);
		s = t;
	}
	return s;
}

int
detect_binary(const struct conf *c, const char *startercall, const char *arch, char **path,
    char **cause)
{
	char *name, *list;
	int rc;

	*path = NULL;
	if (startercall != NULL && *startercall != '\0') {
		if (strchr(startercall, '/') != NULL) {
			if (!executable(startercall))
				return fail(cause, EXIT_QEMU, "STARTERCALL '%s' is not an executable "
				    "file", startercall);
			*path = xstrdup(startercall);
			return 0;
		}
		if ((*path = search(c, startercall)) != NULL)
			return 0;
		list = path_list(c);
		rc = fail(cause, EXIT_QEMU, "STARTERCALL '%s' not found in %s", startercall, list);
		free(list);
		return rc;
	}
	name = xasprintf("qemu-system-%s", detect_qemu_arch(arch));
	*path = search(c, name);
	if (*path == NULL && strcmp(detect_qemu_arch(arch), "x86_64") == 0) {
		if ((*path = search(c, "qemu-kvm")) == NULL)
			*path = search(c, "kvm");
	}
	if (*path != NULL) {
		free(name);
		return 0;
	}
	list = path_list(c);
	rc = fail(cause, EXIT_QEMU, "no QEMU binary '%s' found in %s (on Debian: apt-get install "
	    "qemu-system-%s)", name, list, strcmp(detect_qemu_arch(arch), "x86_64") == 0 ||
	    strcmp(detect_qemu_arch(arch), "i386") == 0 ? "x86" :
	    strcmp(detect_qemu_arch(arch), "aarch64") == 0 ? "arm" : "misc");
	free(list);
	free(name);
	return rc;
}
