/*
 * The per-VM supervisor: started by CREATE (or by any command that finds a running QEMU
 * without one), detached from the terminal. It starts QEMU as its own child, holds the
 * only QMP connection and the serial chardev, serves the control socket and the console
 * stream, records events, carries out CANCEL with escalation, and when QEMU exits writes
 * the exit record, removes the runtime directory and exits.
 */
#ifndef CTYS_SUPERVISOR_H
#define CTYS_SUPERVISOR_H

#include <sys/types.h>

#include "policy.h"
#include "util.h"

struct sup_config {
	const char *dir;	/* the VM's runtime directory (claimed, lock held) */
	const char *id, *label, *uuid, *def;
	const char *state_dir;	/* exit records go to <state_dir>/exits/<id>.json */
	const char *accel;
	const char *workdir;	/* QEMU's working directory: the definition's directory */
	struct strv argv;	/* QEMU argv (fds at QEMU_FD_QMP / QEMU_FD_SERIAL) */
	int lockfd;		/* held by the caller, inherited by the supervisor */
	int deflockfd;		/* the lock beside the definition (-1: none): the supervisor
				   and QEMU (at QEMU_FD_DEFLOCK) hold it */
	int create_timeout;	/* seconds until QMP must answer */
	int agent;		/* the VM has the guest agent's port (QEMU_FD_QGA in its argv) */
	pid_t adopt_pid;	/* > 0: QEMU already runs; connect to it instead of starting */
	struct qemu_policy policy;	/* ON_POWEROFF, ON_REBOOT, ON_CRASH */
	const char *save_dir;	/* CANCEL SUSPEND writes state.img, argv, meta.json here */
	const char *restore;	/* QEMU runs with -incoming defer: load this state file */
};

/*
 * Forks the supervisor and waits until it reports QEMU ready (0, *qemu_pid set) or failed
 * (EXIT_QEMU / EXIT_TIMEOUT with *cause including the tail of qemu.log). The caller's
 * lockfd may be closed afterwards; the supervisor keeps the lock.
 */
int supervisor_start(struct sup_config *, pid_t *qemu_pid, char **cause);
/* After a successful supervisor_start: the QEMU version from its QMP greeting ("7.2.19"). */
const char *supervisor_qemu_version(void);

#endif
