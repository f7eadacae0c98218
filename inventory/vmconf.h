/*
 * Every key of a VM definition in one struct: what the inventory record (47 fields),
 * LIST/INFO and the QEMU command line need, named. Built from a parsed definition
 * (vmdef.h); the strings are borrowed from it and live as long as it does. A key that is
 * unset or empty is NULL. Shell variables win over #@# magic keys of the same name.
 */
#ifndef CTYS_VMCONF_H
#define CTYS_VMCONF_H

#include <stddef.h>

#include "vmdef.h"

#define VMCONF_MAXNIC	10	/* MAC0..MAC9 / IP0..IP9 / NETMODE0..9 */

/* One `ip%netmask%relay%ifname%sshport%gateway` entry of #@#IP<n>. */
struct vmconf_ip {
	char *addr, *netmask, *relay, *ifname, *sshport, *gateway;	/* owned */
};

struct vmconf_nic {
	const char *mac;	/* MAC<n> */
	const char *netmode;	/* NETMODE<n> (ctys): user, bridge:<br>, tap:<if>, ... */
	const char *ip_raw;	/* IP<n> as written */
	struct vmconf_ip *ips;	/* IP<n> split at `,`, each at `%` */
	size_t nips;
};

struct vmconf {
	const struct vmdef *def;
	char *label;		/* owned: #@#LABEL, LABEL=, or the file name */

	/* identity and install metadata (#@# keys) */
	const char *uuid, *dist, *distrel, *os, *osrel, *version, *serno, *category;
	const char *vmstate;	/* ACTIVE, DISABLED, BACKUP, TEMPLATE, TESTDUMMY or NULL */
	const char *inst_hyperrel, *inst_accelerator, *ctysrelease;
	const char *stackcap, *stackreq, *hwcap, *hwreq, *execlocation, *reloccap;
	const char *platform, *cstrg, *ustrg;
	const char *vncaccessdisplay, *vncaccessport, *sport, *vncbaseport;
	const char *defaulthosts, *defaultconsole, *sshport, *guestgateway;
	const char *vram, *vcpu;

	/* the machine */
	const char *startercall, *accelerator, *wrappercall, *machine, *arch, *cpu;
	const char *smp, *memsize, *qemubios, *vgadriver, *kbd_layout, *timeopt, *argsadd;
	const char *kernelimage, *initrdimage, *append;
	const char *on_poweroff, *on_reboot, *on_crash;	/* destroy, restart, preserve */

	/* storage and boot */
	const char *hddbootimage, *hda, *hdb, *hdc, *hdd, *fda, *fdb, *qemu_img;
	const char *defaultbootmode, *defaultinstmode, *defaultinstsource, *defaultinsttarget;
	const char *instsrccdrom, *instsrcfdd, *instsrcusb, *instsrchdd;

	/* network */
	const char *nic;	/* model, or the legacy "-net nic,model=X" */
	struct vmconf_nic nics[VMCONF_MAXNIC];
	int nnics;		/* highest n with MAC<n> or IP<n>, plus one */
};

/* Fills *c from d (never fails; d must outlive c). */
void vmconf_init(struct vmconf *c, const struct vmdef *d);
void vmconf_free(struct vmconf *c);

/* The table behind the struct, for dumps and the inventory: key name -> field. */
struct vmconf_key {
	const char *key;
	size_t off;		/* offsetof(struct vmconf, field) */
};
extern const struct vmconf_key vmconf_keys[];
extern const size_t vmconf_nkeys;
/* The value of a named key in *c (NULL if unset or unknown). */
const char *vmconf_get(const struct vmconf *c, const char *key);

#endif
