/*
 * The runtime directory is the truth about what runs: one 0700 subdirectory per VM
 * under the runtime root, named by a short id, holding:
 *   lock          flock()ed by the owner (creator, then supervisor) for its lifetime
 *   label uuid definition     what the VM is
 *   qemu.pid      "PID STARTTIME" (start time from /proc, against pid reuse)
 *   supervisor.pid
 *   ctl.sock      the supervisor's control socket (JSON lines)
 *   console.sock  the raw serial console stream (many readers, one writer)
 *   qmp.sock serial.sock      QEMU's own sockets; only the supervisor connects
 *   qemu.log console.log events.jsonl supervisor.log
 */
#ifndef CTYS_RUNDIR_H
#define CTYS_RUNDIR_H

#include <sys/types.h>

struct vmrun {
	char *id;
	char *dir;
	char *label, *uuid, *def;
	pid_t qemu_pid;
	unsigned long long qemu_start;
};

/* 16 hex digits from the UUID (if any) or the definition's real path. */
char *rundir_id(const char *uuid, const char *defpath);
char *rundir_file(const char *dir, const char *name);
/*
 * Atomically creates <run>/<id> (built aside, locked, renamed into place). Returns 0 with
 * *lockfd held, EXIT_STATE when the directory exists (owner alive), or EXIT_FAIL.
 * A ghost (no owner, QEMU dead) is removed with a message and the claim retried.
 */
int rundir_claim(const char *run, const char *id, const char *label, const char *uuid,
    const char *def, int *lockfd, char **dir, char **cause);
/* Reads the directory of one VM. 0, or -1 when it is not a VM directory. */
int rundir_read(const char *run, const char *id, struct vmrun *);
/* All VM directories, sorted by label. */
int rundir_list(const char *run, struct vmrun **out, size_t *n);
void vmrun_clear(struct vmrun *);
void vmrun_list_free(struct vmrun *, size_t);
/* Tries the owner lock without blocking: fd holding it, -1 if someone else holds it. */
int rundir_trylock(const char *dir);
/* Start time of a process (clock ticks since boot), 0 if it does not exist. */
unsigned long long proc_starttime(pid_t);
/* The recorded QEMU is still the same live process. */
int vmrun_qemu_alive(const struct vmrun *);
/*
 * From a NUL-separated QEMU argv (the runtime directory's `argv`): the QEMU binary (after
 * a WRAPPERCALL prefix) and the NICs' MACs, comma-separated (NULL when none).
 */
void rundir_argv_facts(const char *buf, size_t len, char **exe, char **macs);
/* Writes "PID STARTTIME" into qemu.pid. */
int rundir_write_pid(const char *dir, pid_t);

#endif
