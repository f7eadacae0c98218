/*
 * QEMU processes ctys did not start (by hand, by quickemu, by libvirt), read from
 * /proc/<pid>/comm and cmdline: what LIST shows of them, and what adopting one needs
 * (its QMP socket).
 */
#ifndef CTYS_FOREIGN_H
#define CTYS_FOREIGN_H

#include <sys/types.h>

#include "util.h"

struct foreign {
	pid_t pid;
	char *exe;		/* argv[0] */
	char *label;		/* -name guest=X or -name X */
	char *uuid;		/* -uuid */
	char *accel;		/* -accel, -machine accel=, -enable-kvm; "tcg" if none */
	char *display;		/* -vnc */
	char *qmp;		/* a UNIX socket QEMU serves QMP on (-qmp unix:, or a
				   -chardev socket,server with -mon mode=control) */
	char *monitor;		/* -monitor unix: or a chardev socket (HMP or QMP) */
	char *macs;		/* comma-separated */
	int libvirt;		/* managed by libvirt: read-only, never touched */
};

/*
 * Every QEMU process but those in skip[] (ctys's own). Returns the count; *out freed
 * with foreign_list_free.
 */
size_t foreign_scan(const pid_t *skip, size_t nskip, struct foreign **out);
/* Parses one NUL-separated command line (exported for tests). */
void foreign_parse(const char *cmd, size_t len, struct foreign *);
void foreign_clear(struct foreign *);
void foreign_list_free(struct foreign *, size_t);

#endif
