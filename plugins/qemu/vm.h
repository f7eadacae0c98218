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
	char *fname;	/* F:, FNAME:, FILENAME: substring of the definition path */
	char *mac;	/* M:, MAC: */
	char *tcp;	/* T:, TCP: an IP address of #@#IP<n> */
	char *pid;	/* PID: the QEMU process (also one ctys did not start) */
	char *dbrecord;	/* DR: the n-th record (1-based) of the inventory */
	char *dbpath;	/* its definition, looked up once */
	struct strv bases;	/* B:, BASE:, BASEPATH: p1%p2 (scan only these) */
	int all;	/* ALL */
	char *text;	/* as the user wrote it, for messages */
};

#define ADDR_KEYS_PATH "ID|I|PATHNAME|PNAME|P"
#define ADDR_KEYS_LABEL "LABEL|L"
#define ADDR_KEYS_UUID "UUID|U"
#define ADDR_KEYS_FNAME "FILENAME|FNAME|F"
#define ADDR_KEYS_MAC "MAC|M"
#define ADDR_KEYS_TCP "TCP|T"
#define ADDR_KEYS_BASE "BASEPATH|BASE|B"
#define ADDR_KEYS_PID "PID"
#define ADDR_KEYS_DR "DBRECORD|DBREC|DR"

/* Takes the machine-address suboptions. Returns 0 or EXIT_USAGE with *cause. */
int vm_addr_parse(struct subopt_list *, struct vm_addr *, int allow_all, char **cause);
void vm_addr_free(struct vm_addr *);
/*
 * The running VMs matching the address (all of them for ALL), from the runtime
 * directories. Ghosts met on the way are reported and removed. When none matches an
 * L:, U: or PID: address, a QEMU ctys did not start that matches it (and serves QMP on a
 * UNIX socket, and is not libvirt's) is adopted: it gets a runtime directory and a
 * supervisor, and from then on is handled like any other.
 */
int vm_running(struct ctx *, const struct vm_addr *, struct vmrun **out, size_t *n);
/*
 * Connects to the VM's supervisor; a QEMU whose supervisor died is re-adopted by a new
 * one first. Returns 0, EXIT_STATE (it is gone), or another EXIT_* with *cause.
 */
int vm_connect(struct ctx *, struct vmrun *, struct ctl_client *, char **cause);
/*
 * The one definition a machine-address names, for CREATE: P: directly (the original's
 * config search order), else a running VM's, else (without B:) one ctys ran before (a
 * saved state or an exit record names its definition), else a scan of the base paths (B:,
 * or the configuration's base_paths). Returns 0 with *def (path), EXIT_NOTFOUND, or
 * EXIT_AMBIGUOUS with the candidates in *cause.
 */
int vm_resolve_definition(struct ctx *, const struct vm_addr *, char **def, char **cause);

#endif
