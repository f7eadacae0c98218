/* Which QEMU binary and which accelerator this host really has. */
#ifndef CTYS_DETECT_H
#define CTYS_DETECT_H

#include "conf.h"

/* Facts about the host that decide whether KVM can run a guest (gathered, then decided). */
struct host_facts {
	char host_arch[32];
	int kvm_dev;		/* /dev/kvm exists */
	int kvm_open_errno;	/* 0 when /dev/kvm opened read-write */
	int kvm_intel, kvm_amd;	/* modules present */
	char other_kvm[64];	/* another kvm_* module, e.g. kvm_pvm */
};

void detect_host_facts(struct host_facts *);
/*
 * Pure: "kvm" or "tcg" for a guest arch and a wanted accelerator (KVM, QEMU, TCG or NULL
 * for automatic). *reason (owned by the caller) says why KVM is not used, if it is not.
 */
const char *detect_accel(const struct host_facts *, const char *guest_arch, const char *want,
    char **reason);
/* Maps ARCH values (x86_64, amd64, i386, i686, aarch64, ...) to the qemu-system suffix. */
const char *detect_qemu_arch(const char *arch);
/*
 * Finds the binary: STARTERCALL (a path, or a name searched in qemu_path), else
 * qemu-system-<arch>, else kvm and qemu-kvm. Returns 0 with *path, or EXIT_QEMU with *cause.
 */
int detect_binary(const struct conf *, const char *startercall, const char *arch, char **path,
    char **cause);

#endif
