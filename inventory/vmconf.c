#include "vmconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locate.h"
#include "util.h"

#define K(name, field) { name, offsetof(struct vmconf, field) }

const struct vmconf_key vmconf_keys[] = {
	K("UUID", uuid), K("DIST", dist), K("DISTREL", distrel), K("OS", os),
	K("OSREL", osrel), K("VERSION", version), K("SERNO", serno), K("CATEGORY", category),
	K("VMSTATE", vmstate), K("INST_HYPERREL", inst_hyperrel),
	K("INST_ACCELERATOR", inst_accelerator), K("CTYSRELEASE", ctysrelease),
	K("STACKCAP", stackcap), K("STACKREQ", stackreq), K("HWCAP", hwcap), K("HWREQ", hwreq),
	K("EXECLOCATION", execlocation), K("RELOCCAP", reloccap), K("PLATFORM", platform),
	K("CSTRG", cstrg), K("USTRG", ustrg), K("VNCACCESSDISPLAY", vncaccessdisplay),
	K("VNCACCESSPORT", vncaccessport), K("SPORT", sport), K("VNCBASEPORT", vncbaseport),
	K("DEFAULTHOSTS", defaulthosts), K("DEFAULTCONSOLE", defaultconsole),
	K("SSHPORT", sshport), K("GUESTGATEWAY", guestgateway), K("VRAM", vram),
	K("VCPU", vcpu),
	K("STARTERCALL", startercall), K("ACCELERATOR", accelerator),
	K("WRAPPERCALL", wrappercall), K("MACHINE", machine), K("ARCH", arch), K("CPU", cpu),
	K("SMP", smp), K("MEMSIZE", memsize), K("QEMUBIOS", qemubios),
	K("VGADRIVER", vgadriver), K("KBD_LAYOUT", kbd_layout), K("TIMEOPT", timeopt),
	K("ARGSADD", argsadd), K("KERNELIMAGE", kernelimage), K("INITRDIMAGE", initrdimage),
	K("APPEND", append),
	K("HDDBOOTIMAGE", hddbootimage), K("HDA", hda), K("HDB", hdb), K("HDC", hdc),
	K("HDD", hdd), K("FDA", fda), K("FDB", fdb), K("QEMU_IMG", qemu_img),
	K("DEFAULTBOOTMODE", defaultbootmode), K("DEFAULTINSTMODE", defaultinstmode),
	K("DEFAULTINSTSOURCE", defaultinstsource), K("DEFAULTINSTTARGET", defaultinsttarget),
	K("INSTSRCCDROM", instsrccdrom), K("INSTSRCFDD", instsrcfdd),
	K("INSTSRCUSB", instsrcusb), K("INSTSRCHDD", instsrchdd),
	K("NIC", nic), K("ON_POWEROFF", on_poweroff), K("ON_REBOOT", on_reboot),
	K("ON_CRASH", on_crash),
};
const size_t vmconf_nkeys = sizeof vmconf_keys / sizeof vmconf_keys[0];

static const char **
field(struct vmconf *c, size_t off)
{
	return (const char **)(void *)((char *)c + off);
}

/* `a%b%c...` into the six fields of an IP entry (missing ones NULL, "" kept as NULL). */
static void
ip_split(const char *s, size_t n, struct vmconf_ip *ip)
{
	char **f[] = { &ip->addr, &ip->netmask, &ip->relay, &ip->ifname, &ip->sshport,
	    &ip->gateway };
	size_t i = 0;

	memset(ip, 0, sizeof *ip);
	for (size_t k = 0; k < sizeof f / sizeof f[0] && i <= n; k++) {
		const char *e = memchr(s + i, '%', n - i);
		size_t len = e ? (size_t)(e - (s + i)) : n - i;

		if (len > 0)
			*f[k] = xstrndup(s + i, len);
		if (e == NULL)
			break;
		i += len + 1;
	}
}

void
vmconf_init(struct vmconf *c, const struct vmdef *d)
{
	char key[16];

	memset(c, 0, sizeof *c);
	c->def = d;
	c->label = vmdef_label(d);
	for (size_t i = 0; i < vmconf_nkeys; i++)
		*field(c, vmconf_keys[i].off) = vmdef_get(d, vmconf_keys[i].key);
	for (int n = 0; n < VMCONF_MAXNIC; n++) {
		struct vmconf_nic *nic = &c->nics[n];
		const char *ip, *p;

		snprintf(key, sizeof key, "MAC%d", n);
		nic->mac = vmdef_get(d, key);
		snprintf(key, sizeof key, "NETMODE%d", n);
		nic->netmode = vmdef_get(d, key);
		snprintf(key, sizeof key, "IP%d", n);
		nic->ip_raw = ip = vmdef_get(d, key);
		for (p = ip; p != NULL && *p != '\0';) {
			const char *e = strchr(p, ',');
			size_t len = e ? (size_t)(e - p) : strlen(p);

			if (len > 0) {
				nic->ips = xreallocarray(nic->ips, nic->nips + 1, sizeof *nic->ips);
				ip_split(p, len, &nic->ips[nic->nips++]);
			}
			p = e ? e + 1 : p + len;
		}
		if (nic->mac != NULL || nic->ip_raw != NULL)
			c->nnics = n + 1;
	}
}

void
vmconf_free(struct vmconf *c)
{
	if (c == NULL)
		return;
	for (int n = 0; n < VMCONF_MAXNIC; n++) {
		for (size_t i = 0; i < c->nics[n].nips; i++) {
			struct vmconf_ip *ip = &c->nics[n].ips[i];

			free(ip->addr);
			free(ip->netmask);
			free(ip->relay);
			free(ip->ifname);
			free(ip->sshport);
			free(ip->gateway);
		}
		free(c->nics[n].ips);
	}
	free(c->label);
	memset(c, 0, sizeof *c);
}

const char *
vmconf_get(const struct vmconf *c, const char *key)
{
	if (strcmp(key, "LABEL") == 0)
		return c->label;
	for (size_t i = 0; i < vmconf_nkeys; i++)
		if (strcmp(vmconf_keys[i].key, key) == 0)
			return *field((struct vmconf *)c, vmconf_keys[i].off);
	return NULL;
}
