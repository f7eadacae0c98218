/* Finding running VMs by machine-address and reaching their supervisors. */
#ifndef CTYS_VM_H
#define CTYS_VM_H

#include "ctl.h"
#include "dispatch.h"
#include "rundir.h"

struct vm_addr {
	char *label;	/* L:, LABEL: */
	char *uuid;	/* U:, UUID: */
	char *path;	/* P:, ID:, I:, PATHNAME:, PNAME: */
	int all;	/* ALL */
	char *text;	/* as the user wrote it, for messages */
};

#define ADDR_KEYS_PATH "ID|I|PATHNAME|PNAME|P"
#define ADDR_KEYS_LABEL "LABEL|L"
#define ADDR_KEYS_UUID "UUID|U"

/* Takes the machine-address suboptions. Returns 0 or EXIT_USAGE with *cause. */
int vm_addr_parse(struct subopt_list *, struct vm_addr *, int allow_all, char **cause);
void vm_addr_free(struct vm_addr *);
/*
 * The running VMs matching the address (all of them for ALL), from the runtime
 * directories alone. Ghosts met on the way are reported and removed.
 */
int vm_running(struct ctx *, const struct vm_addr *, struct vmrun **out, size_t *n);
/*
 * Connects to the VM's supervisor; a QEMU whose supervisor died is re-adopted by a new
 * one first. Returns 0, EXIT_STATE (it is gone), or another EXIT_* with *cause.
 */
int vm_connect(struct ctx *, struct vmrun *, struct ctl_client *, char **cause);

#endif
