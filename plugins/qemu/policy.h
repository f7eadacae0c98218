/*
 * What happens when the guest powers off, reboots or crashes (libvirt's on_poweroff,
 * on_reboot, on_crash): the definition's ON_POWEROFF, ON_REBOOT, ON_CRASH, each destroy,
 * restart or preserve. QEMU is run so that it never decides alone (-action
 * shutdown=pause,panic=pause, reboot=shutdown unless reboots restart); the supervisor
 * carries the policy out. A CANCEL from the host always wins.
 */
#ifndef CTYS_POLICY_H
#define CTYS_POLICY_H

#include "vmdef.h"

enum { POL_DESTROY, POL_RESTART, POL_PRESERVE };

struct qemu_policy {
	int poweroff;	/* default destroy */
	int reboot;	/* default restart */
	int crash;	/* default destroy */
};

/* From the definition; EXIT_FAIL with "file:line: ON_X: ..." for a bad value. */
int policy_from_def(const struct vmdef *, struct qemu_policy *, char **cause);
/* "destroy", "restart", "preserve"; -1 for anything else (case-insensitive). */
int policy_parse(const char *);
const char *policy_name(int);
/* "poweroff=destroy reboot=restart crash=destroy\n" and back (the runtime directory's
 * `policy` file, read by a re-adopting supervisor; unknown or missing parts: defaults). */
char *policy_format(const struct qemu_policy *);
void policy_read(const char *text, struct qemu_policy *);
void policy_defaults(struct qemu_policy *);

#endif
