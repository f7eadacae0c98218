#include "argv.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exitcodes.h"
#include "locate.h"
#include "policy.h"
#include "probe.h"

#define MAX_NICS 10

static const char *const media_names[] = {
	[MEDIA_NONE] = "NONE", [MEDIA_CD] = "CD", [MEDIA_DVD] = "DVD", [MEDIA_FDD] = "FDD",
	[MEDIA_HDD] = "HDD", [MEDIA_VHDD] = "VHDD", [MEDIA_USB] = "USB", [MEDIA_PXE] = "PXE",
};

int
qemu_media_parse(const char *s)
{
	for (int i = MEDIA_CD; i <= MEDIA_PXE; i++)
		if (strcasecmp(s, media_names[i]) == 0)
			return i;
	return MEDIA_NONE;
}

const char *
qemu_media_name(int m)
{
	return m >= MEDIA_NONE && m <= MEDIA_PXE ? media_names[m] : "?";
}

char *
qemu_escape(const char *s)
{
	size_t n = strlen(s), extra = 0;
	char *out, *o;

	for (const char *p = s; *p; p++)
		extra += *p == ',';
	o = out = xmalloc(n + extra + 1);
	for (const char *p = s; *p; p++) {
		*o++ = *p;
		if (*p == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

int
split_words(const char *s, struct strv *out, char **why)
{
	char *w = xmalloc(strlen(s) + 1);

	while (*s != '\0') {
		size_t n = 0;
		int any = 0;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\n') {
			char q = *s;

			any = 1;
			if (q == '\'' || q == '"') {
				const char *e = strchr(s + 1, q);

				if (e == NULL) {
					free(w);
					return fail(why, -1, "unterminated %c quote", q);
				}
				memcpy(w + n, s + 1, (size_t)(e - s - 1));
				n += (size_t)(e - s - 1);
				s = e + 1;
			} else if (q == '\\' && s[1] != '\0') {
				w[n++] = s[1];
				s += 2;
			} else
				w[n++] = *s++;
		}
		if (any) {
			w[n] = '\0';
			strv_add(out, w);
		}
	}
	free(w);
	return 0;
}

char *
qemu_label(const struct vmdef *d)
{
	return vmdef_label(d);
}

int
qemu_label_check(const char *label, char **why)
{
	if (*label == '\0')
		return fail(why, -1, "empty label");
	if (label[0] == '-')
		return fail(why, -1, "label must not start with '-': '%s'", label);
	if (strchr(label, '/') != NULL)
		return fail(why, -1, "label must not contain '/': '%s'", label);
	for (const char *p = label; *p; p++)
		if (iscntrl((unsigned char)*p))
			return fail(why, -1, "label contains a control character");
	return 0;
}

/* Building state: the argv and what has been attached where. */
struct build {
	const struct vmdef *d;
	const struct qemu_opts *o;
	struct strv *out;
	char **cause;
	char *ide[4];		/* what occupies IDE index 0..3 (owned; for conflicts) */
	int usb;		/* a USB controller was added */
	int fda;		/* floppy A is taken by boot/install media */
	char boot_order[8], boot_once[8];
};

static int
bad(struct build *b, const char *key, const char *what, const char *val)
{
	return fail(b->cause, EXIT_FAIL, "%s:%d: %s: %s: '%s'", b->d->path,
	    vmdef_line(b->d, key), key, what, val);
}

static int
check_uint(struct build *b, const char *key, long min, long max)
{
	const char *v = vmdef_get(b->d, key);
	long n;

	if (v == NULL)
		return 0;
	if (!str_is_uint(v) || strlen(v) > 9)
		return bad(b, key, "not a number", v);
	n = strtol(v, NULL, 10);
	if (n < min || n > max) {
		char *what = xasprintf("out of range %ld..%ld", min, max);
		int rc = bad(b, key, what, v);

		free(what);
		return rc;
	}
	return 0;
}

static int
check_mac(const char *m)
{
	if (strlen(m) != 17)
		return -1;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? m[i] != ':' : !isxdigit((unsigned char)m[i]))
			return -1;
	}
	return 0;
}

/*
 * A QOM type the binary must have (when capabilities are known); key: the definition
 * key behind it (for file:line), or NULL when it comes from the command line.
 */
static int
need_type(struct build *b, const char *type, const char *key, const char *why)
{
	if (b->o->caps == NULL || qemu_caps_has_type(b->o->caps, type))
		return 0;
	if (key != NULL && vmdef_line(b->d, key) > 0)
		return fail(b->cause, EXIT_QEMU, "%s:%d: %s: %s needs the device '%s', which %s "
		    "does not have", b->d->path, vmdef_line(b->d, key), key, why, type,
		    b->o->binary);
	return fail(b->cause, EXIT_QEMU, "%s: %s needs the device '%s', which %s does not have",
	    b->d->path, why, type, b->o->binary);
}

/* Path of a file named in the definition or on the command line, as QEMU will see it. */
static void
add_drive(struct build *b, const char *file, const char *extra)
{
	char *e = qemu_escape(file);
	const char *fmt = b->o->disk_format ? b->o->disk_format(file, b->o->arg) : NULL;

	strv_add(b->out, "-drive");
	if (fmt != NULL)
		strv_addf(b->out, "file=%s,format=%s,%s", e, fmt, extra);
	else
		strv_addf(b->out, "file=%s,%s", e, extra);
	free(e);
}

static int
add_ide(struct build *b, int index, const char *file, const char *what, int cdrom)
{
	char *extra;

	if (b->ide[index] != NULL)
		return fail(b->cause, EXIT_FAIL, "%s: %s and %s both need IDE slot %d%s",
		    b->d->path, b->ide[index], what, index,
		    index == 2 ? " (the CD drive is always slot 2, where HDC would be)" : "");
	b->ide[index] = xstrdup(what);
	extra = xasprintf("index=%d,media=%s%s", index, cdrom ? "cdrom" : "disk",
	    cdrom ? ",readonly=on" : "");
	add_drive(b, file, extra);
	free(extra);
	return 0;
}

static int
add_usb_stick(struct build *b, const char *file, int boot)
{
	char *e;
	int rc;

	if ((rc = need_type(b, "qemu-xhci", NULL, "a USB stick")) != 0 ||
	    (rc = need_type(b, "usb-storage", NULL, "a USB stick")) != 0)
		return rc;
	if (!b->usb) {
		strv_add(b->out, "-device");
		strv_add(b->out, "qemu-xhci,id=xhci");
		b->usb = 1;
	}
	e = qemu_escape(file);
	strv_add(b->out, "-drive");
	strv_addf(b->out, "file=%s,if=none,id=usbstick,format=raw", e);
	strv_add(b->out, "-device");
	strv_addf(b->out, "usb-storage,bus=xhci.0,drive=usbstick%s", boot ? ",bootindex=0" : "");
	free(e);
	return 0;
}

static void
boot_add(char *order, char c)
{
	size_t n = strlen(order);

	if (strchr(order, c) == NULL && n + 1 < 8) {
		order[n] = c;
		order[n + 1] = '\0';
	}
}

/*
 * Attaches boot or install media of a mode. path may be NULL (then the definition's
 * INSTSRC* / FDA / HDA give it). once: boot from it this time only (INSTMODE).
 */
static int
add_media(struct build *b, int mode, const char *path, int once, const char *what)
{
	char *boot = once ? b->boot_once : b->boot_order;
	const char *d;
	char *w;
	int rc;

	switch (mode) {
	case MEDIA_CD:
	case MEDIA_DVD:
		if ((d = path ? path : vmdef_get(b->d, "INSTSRCCDROM")) == NULL)
			return fail(b->cause, EXIT_USAGE, "%s %s needs an image: %s:%s%%<path> or "
			    "INSTSRCCDROM in %s", what, qemu_media_name(mode), what,
			    qemu_media_name(mode), b->d->path);
		w = xasprintf("%s %s", what, qemu_media_name(mode));
		rc = add_ide(b, 2, d, w, 1);
		free(w);
		if (rc != 0)
			return rc;
		boot_add(boot, 'd');
		return 0;
	case MEDIA_FDD:
		if ((d = path ? path : vmdef_get(b->d, "FDA")) == NULL &&
		    (d = vmdef_get(b->d, "INSTSRCFDD")) == NULL)
			return fail(b->cause, EXIT_USAGE, "%s FDD needs an image: %s:FDD%%<path>, FDA "
			    "or INSTSRCFDD in %s", what, what, b->d->path);
		if (path != NULL || vmdef_get(b->d, "FDA") == NULL) {
			add_drive(b, d, "if=floppy,index=0");
			b->fda = 1;
		}
		boot_add(boot, 'a');
		return 0;
	case MEDIA_HDD:
	case MEDIA_VHDD:
		if (once) {
			/*
			 * An install source on a disk: the BIOS boot-once picks only the first
			 * disk, so it is a separate disk that boots first for this run.
			 */
			if ((d = path ? path : vmdef_get(b->d, "INSTSRCHDD")) == NULL)
				return fail(b->cause, EXIT_USAGE, "%s HDD as install source needs an "
				    "image: %s:HDD%%<path> or INSTSRCHDD in %s", what, what, b->d->path);
			if ((rc = need_type(b, "virtio-blk-pci", NULL, "an HDD install source")) != 0)
				return rc;
			add_drive(b, d, "if=none,id=instsrc");
			strv_add(b->out, "-device");
			strv_add(b->out, "virtio-blk-pci,drive=instsrc,bootindex=0");
			return 0;
		}
		if (path != NULL) {
			w = xasprintf("%s %s", what, qemu_media_name(mode));
			rc = add_ide(b, 0, path, w, 0);
			free(w);
			if (rc != 0)
				return rc;
		}
		boot_add(boot, 'c');
		return 0;
	case MEDIA_USB:
		if ((d = path ? path : vmdef_get(b->d, "INSTSRCUSB")) == NULL)
			return fail(b->cause, EXIT_USAGE, "%s USB needs an image: %s:USB%%<path> or "
			    "INSTSRCUSB in %s", what, what, b->d->path);
		return add_usb_stick(b, d, 1);
	case MEDIA_PXE:
		if (vmdef_get(b->d, "MAC0") == NULL)
			return fail(b->cause, EXIT_USAGE, "%s PXE needs a network card: MAC0 in %s",
			    what, b->d->path);
		boot_add(boot, 'n');
		return 0;
	}
	return 0;
}

static const char *
nic_model(const char *nic)
{
	static char buf[64];
	const char *m;
	size_t n;

	if (nic == NULL || *nic == '\0')
		return "virtio-net-pci";
	if ((m = strstr(nic, "model=")) != NULL)
		nic = m + 6;
	n = strcspn(nic, ", ");
	if (n == 0 || n >= sizeof buf)
		return "virtio-net-pci";
	memcpy(buf, nic, n);
	buf[n] = '\0';
	if (strcmp(buf, "virtio") == 0)
		return "virtio-net-pci";
	return buf;
}

int
qemu_agent_wanted(const struct vmdef *d, const struct qemu_caps *caps)
{
	const char *v = vmdef_get(d, "GUESTAGENT");

	if (v != NULL && (strcasecmp(v, "off") == 0 || strcasecmp(v, "no") == 0 ||
	    strcmp(v, "0") == 0))
		return 0;
	return caps == NULL || qemu_caps_has_type(caps, "virtio-serial-pci");
}

/* A channel name: what virtserialport names usually are (org.example.backup.0). */
static int
channel_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > 64 || *n == '.' || *n == '-')
		return 0;
	for (; *n; n++)
		if (!isalnum((unsigned char)*n) && *n != '.' && *n != '_' && *n != '-')
			return 0;
	return 1;
}

int
qemu_channels(const struct vmdef *d, struct strv *names, char **cause)
{
	const char *v = vmdef_get(d, "CHANNELS");
	char *dup, *w, *save = NULL;
	int rc = 0;

	if (v == NULL)
		return 0;
	dup = xstrdup(v);
	for (w = strtok_r(dup, " \t,", &save); w && rc == 0; w = strtok_r(NULL, " \t,", &save)) {
		if (!channel_name_ok(w))
			rc = fail(cause, EXIT_FAIL, "%s:%d: CHANNELS: not a channel name (letters, "
			    "digits, '.', '_', '-'; at most 64): '%s'", d->path,
			    vmdef_line(d, "CHANNELS"), w);
		else if (strcmp(w, QEMU_AGENT_PORT) == 0)
			rc = fail(cause, EXIT_FAIL, "%s:%d: CHANNELS: '%s' is the guest agent's "
			    "(GUESTAGENT)", d->path, vmdef_line(d, "CHANNELS"), w);
		else {
			for (size_t i = 0; i < names->n; i++)
				if (strcmp(names->v[i], w) == 0)
					rc = fail(cause, EXIT_FAIL, "%s:%d: CHANNELS: '%s' twice",
					    d->path, vmdef_line(d, "CHANNELS"), w);
			if (rc == 0)
				strv_add(names, w);
		}
	}
	free(dup);
	if (rc != 0)
		strv_free(names);
	return rc;
}

/*
 * The guest agent's port (its socket the supervisor's, handed over as a descriptor) and
 * the named channels (sockets in the runtime directory, QEMU listening), on one
 * virtio-serial controller.
 */
static int
add_guest_ports(struct build *b)
{
	struct strv *out = b->out, names = { 0 };
	const char *v = vmdef_get(b->d, "GUESTAGENT");
	int rc;

	if (v != NULL && strcasecmp(v, "on") != 0 && strcasecmp(v, "yes") != 0 &&
	    strcmp(v, "1") != 0 && strcasecmp(v, "off") != 0 && strcasecmp(v, "no") != 0 &&
	    strcmp(v, "0") != 0)
		return bad(b, "GUESTAGENT", "on or off", v);
	if ((rc = qemu_channels(b->d, &names, b->cause)) != 0)
		return rc;
	if (names.n > 0 && (rc = need_type(b, "virtio-serial-pci", "CHANNELS",
	    "a channel")) != 0) {
		strv_free(&names);
		return rc;
	}
	if (b->o->agent_fd < 0 && names.n == 0)
		return 0;
	strv_add(out, "-device");
	strv_add(out, "virtio-serial-pci,id=vser0");
	if (b->o->agent_fd >= 0) {
		strv_add(out, "-chardev");
		strv_addf(out, "socket,id=qga0,fd=%d,server=on,wait=off", b->o->agent_fd);
		strv_add(out, "-device");
		strv_add(out, "virtserialport,bus=vser0.0,chardev=qga0,id=qga0,name=" QEMU_AGENT_PORT);
	}
	for (size_t i = 0; i < names.n; i++) {
		char *path = xasprintf("%s/channels/%s.sock", b->o->rundir ? b->o->rundir : ".",
		    names.v[i]), *q = qemu_escape(path);

		strv_add(out, "-chardev");
		strv_addf(out, "socket,id=ch%zu,path=%s,server=on,wait=off", i, q);
		strv_add(out, "-device");
		strv_addf(out, "virtserialport,bus=vser0.0,chardev=ch%zu,id=ch%zu,name=%s", i, i,
		    names.v[i]);
		free(q);
		free(path);
	}
	strv_free(&names);
	return 0;
}

static int
add_nics(struct build *b)
{
	const char *nic = vmdef_get(b->d, "NIC"), *model = nic_model(nic);
	char key[16], nkey[16];
	int rc;

	for (int n = 0; n < MAX_NICS; n++) {
		const char *mac, *mode;
		char *why = NULL;

		snprintf(key, sizeof key, "MAC%d", n);
		snprintf(nkey, sizeof nkey, "NETMODE%d", n);
		if ((mac = vmdef_get(b->d, key)) == NULL)
			continue;
		if (check_mac(mac) != 0)
			return bad(b, key, "not a MAC address (xx:xx:xx:xx:xx:xx)", mac);
		mode = vmdef_get(b->d, nkey);
		if (mode == NULL)
			mode = b->o->netmode ? b->o->netmode : "user";
		if (strcasecmp(mode, "none") == 0)
			continue;
		if ((rc = need_type(b, model, nic != NULL ? "NIC" : NULL, "the network card")) != 0)
			return rc;
		strv_add(b->out, "-netdev");
		if (strcasecmp(mode, "user") == 0) {
			const char *sp = vmdef_get(b->d, "SSHPORT");

			if (sp != NULL && (!str_is_uint(sp) || atoi(sp) < 1 || atoi(sp) > 65535))
				return bad(b, "SSHPORT", "not a port", sp);
			if (n == 0 && b->o->ssh_port > 0)
				strv_addf(b->out, "user,id=net%d,hostfwd=tcp:127.0.0.1:%d-:%s", n,
				    b->o->ssh_port, sp ? sp : "22");
			else
				strv_addf(b->out, "user,id=net%d", n);
		} else if (strncasecmp(mode, "bridge:", 7) == 0 || strncasecmp(mode, "tap:", 4) == 0) {
			int bridge = tolower((unsigned char)mode[0]) == 'b';
			const char *ifn = mode + (bridge ? 7 : 4);

			if (*ifn == '\0' || strchr(ifn, ',') != NULL || strlen(ifn) > 15)
				return bad(b, nkey, "not an interface name", mode);
			if (b->o->netif_check != NULL &&
			    b->o->netif_check(ifn, bridge, &why, b->o->arg) != 0) {
				rc = fail(b->cause, EXIT_FAIL, "%s:%d: %s: %s", b->d->path,
				    vmdef_line(b->d, nkey), nkey, why);
				free(why);
				return rc;
			}
			if (bridge)
				strv_addf(b->out, "bridge,id=net%d,br=%s", n, ifn);
			else
				strv_addf(b->out, "tap,id=net%d,ifname=%s,script=no,downscript=no", n,
				    ifn);
		} else if (strncasecmp(mode, "vde:", 4) == 0 && mode[4] != '\0') {
			char *e;

			if (b->o->caps != NULL && !qemu_caps_has_netdev(b->o->caps, "vde"))
				return fail(b->cause, EXIT_QEMU, "%s:%d: %s: %s was built without VDE "
				    "support", b->d->path, vmdef_line(b->d, nkey), nkey, b->o->binary);
			e = qemu_escape(mode + 4);
			strv_addf(b->out, "vde,id=net%d,sock=%s", n, e);
			free(e);
		} else
			return bad(b, nkey, "not a network mode (user, bridge:<br>, tap:<if>, "
			    "vde:<socket>, none)", mode);
		strv_add(b->out, "-device");
		strv_addf(b->out, "%s,netdev=net%d,mac=%s", model, n, mac);
	}
	return 0;
}

static int
add_words(struct build *b, const char *key, const char *val)
{
	char *why = NULL;
	int rc = 0;

	if (split_words(val, b->out, &why) != 0) {
		rc = bad(b, key, why, val);
		free(why);
	}
	return rc;
}

static int
add_timeopt(struct build *b)
{
	const char *t = vmdef_get(b->d, "TIMEOPT");
	struct strv w = { 0 };
	char *why = NULL;
	int rc = 0;

	if (t == NULL)
		return 0;
	if (split_words(t, &w, &why) != 0) {
		rc = bad(b, "TIMEOPT", why, t);
		free(why);
		strv_free(&w);
		return rc;
	}
	for (size_t i = 0; i < w.n; i++) {
		if (strcmp(w.v[i], "-localtime") == 0) {
			strv_add(b->out, "-rtc");
			strv_add(b->out, "base=localtime");
		} else if (strcmp(w.v[i], "-utc") == 0) {
			strv_add(b->out, "-rtc");
			strv_add(b->out, "base=utc");
		} else if (strcmp(w.v[i], "-rtc") == 0 && i + 1 < w.n) {
			strv_add(b->out, "-rtc");
			strv_add(b->out, w.v[++i]);
		} else {
			rc = bad(b, "TIMEOPT", "not a time option (-localtime, -utc, -rtc ...)", t);
			break;
		}
	}
	strv_free(&w);
	return rc;
}

static int
add_disks(struct build *b)
{
	static const char *const keys[] = { "HDA", "HDB", "HDC", "HDD" };
	const char *f;
	int rc;

	for (int i = 0; i < 4; i++) {
		f = vmdef_get(b->d, keys[i]);
		if (i == 0 && f == NULL)
			f = vmdef_get(b->d, "HDDBOOTIMAGE");
		/* HDA gives way to a BOOTMODE/INSTMODE HDD image; other slots do not */
		if (f == NULL || (i == 0 && b->ide[0] != NULL))
			continue;
		if ((rc = add_ide(b, i, f, keys[i], 0)) != 0)
			return rc;
	}
	if ((f = vmdef_get(b->d, "FDA")) != NULL && !b->fda)
		add_drive(b, f, "if=floppy,index=0");
	if ((f = vmdef_get(b->d, "FDB")) != NULL)
		add_drive(b, f, "if=floppy,index=1");
	return 0;
}

/*
 * The supervisor, not QEMU, decides what a guest power-off, reboot or panic leads to
 * (policy.h): QEMU pauses instead (-action, QEMU >= 6.0; older: -no-shutdown), and the
 * guest gets a pvpanic device so that a crash is reported.
 */
static int
add_policy(struct build *b)
{
	struct qemu_policy pol;
	int rc;

	if ((rc = policy_from_def(b->d, &pol, b->cause)) != 0)
		return rc;
	if (b->o->caps == NULL || qemu_caps_has_command(b->o->caps, "set-action")) {
		strv_add(b->out, "-action");
		strv_addf(b->out, "shutdown=pause,panic=pause%s",
		    pol.reboot == POL_RESTART ? "" : ",reboot=shutdown");
	} else {
		strv_add(b->out, "-no-shutdown");
		if (pol.reboot != POL_RESTART)
			strv_add(b->out, "-no-reboot");
	}
	if (b->o->caps == NULL || qemu_caps_has_type(b->o->caps, "pvpanic-pci")) {
		strv_add(b->out, "-device");
		strv_add(b->out, "pvpanic-pci");
	}
	return 0;
}

/* A machine name or alias (NULL: the default) as the versioned type it stands for. */
static const char *
machine_resolve(const struct qemu_caps *c, const char *name)
{
	if (name == NULL)
		return c->default_machine;
	for (size_t i = 0; i < c->nmachines; i++)
		if (c->machine_alias[i] != NULL && strcmp(c->machine_alias[i], name) == 0)
			return c->machines[i];
	return name;
}

/*
 * VGADRIVER: a -vga type (std by default), or the original's "-vga X" words. The type
 * must exist in the binary.
 */
static int
add_vga(struct build *b)
{
	static const struct {
		const char *name, *type;
	} vga[] = {
		{ "std", "VGA" }, { "cirrus", "cirrus-vga" }, { "vmware", "vmware-svga" },
		{ "qxl", "qxl-vga" }, { "virtio", "virtio-vga" }, { "none", NULL },
	};
	const char *v = vmdef_get(b->d, "VGADRIVER"), *name;
	struct strv w = { 0 };
	char *why = NULL;
	int rc = 0, k;

	if (v != NULL && v[0] == '-') {
		if (split_words(v, &w, &why) != 0) {
			rc = bad(b, "VGADRIVER", why, v);
			free(why);
			strv_free(&w);
			return rc;
		}
		if (w.n != 2 || strcmp(w.v[0], "-vga") != 0) {
			strv_free(&w);
			return bad(b, "VGADRIVER", "not a display adapter (std, cirrus, vmware, qxl, "
			    "virtio, none, or \"-vga X\")", v);
		}
		name = w.v[1];
	} else
		name = v != NULL ? v : "std";
	for (k = 0; k < (int)nitems(vga); k++)
		if (strcmp(vga[k].name, name) == 0)
			break;
	if (k == (int)nitems(vga))
		rc = bad(b, "VGADRIVER", "not a display adapter (std, cirrus, vmware, qxl, "
		    "virtio, none)", v);
	else if (vga[k].type != NULL && b->o->caps != NULL &&
	    !qemu_caps_has_type(b->o->caps, vga[k].type))
		rc = fail(b->cause, EXIT_QEMU, "%s:%d: VGADRIVER: %s has no '%s' display adapter "
		    "(device %s)", b->d->path, vmdef_line(b->d, "VGADRIVER"), b->o->binary,
		    name, vga[k].type);
	else {
		strv_add(b->out, "-vga");
		strv_add(b->out, name);
	}
	strv_free(&w);
	return rc;
}

int
qemu_argv_build(const struct vmdef *d, const struct qemu_opts *o, struct strv *out,
    char **cause)
{
	struct build b = { .d = d, .o = o, .out = out, .cause = cause };
	const char *v, *kernel, *initrd, *append, *machine;
	char *label, *why = NULL, *e;
	int rc;

	memset(out, 0, sizeof *out);
	label = qemu_label(d);
	if (qemu_label_check(label, &why) != 0) {
		rc = fail(cause, EXIT_FAIL, "%s:%d: LABEL: %s", d->path, vmdef_line(d, "LABEL"),
		    why);
		free(why);
		free(label);
		return rc;
	}
	if ((rc = check_uint(&b, "MEMSIZE", 16, 16 * 1024 * 1024)) != 0 ||
	    (rc = check_uint(&b, "SMP", 1, 1024)) != 0)
		goto fail;

	if ((v = vmdef_get(d, "WRAPPERCALL")) != NULL && (rc = add_words(&b, "WRAPPERCALL", v)) != 0)
		goto fail;
	strv_add(out, o->binary);
	e = qemu_escape(label);
	strv_add(out, "-name");
	strv_addf(out, "guest=%s,debug-threads=on", e);
	free(e);
	if ((v = vmdef_get(d, "UUID")) != NULL) {
		strv_add(out, "-uuid");
		strv_add(out, v);
	}
	machine = vmdef_get(d, "MACHINE");
	if (machine != NULL && o->caps != NULL && !qemu_caps_has_machine(o->caps, machine)) {
		rc = fail(cause, EXIT_QEMU, "%s:%d: MACHINE: %s has no machine type '%s' (its "
		    "default is '%s')", d->path, vmdef_line(d, "MACHINE"), o->binary, machine,
		    o->caps->default_machine ? o->caps->default_machine : "?");
		goto fail;
	}
	/* the versioned type behind an alias or the default: the argv says what runs */
	if (o->caps != NULL)
		machine = machine_resolve(o->caps, machine);
	strv_add(out, "-machine");
	if (machine != NULL) {
		e = qemu_escape(machine);
		strv_addf(out, "%s,accel=%s", e, o->accel);
		free(e);
	} else
		strv_addf(out, "accel=%s", o->accel);
	if ((v = vmdef_get(d, "CPU")) != NULL) {
		strv_add(out, "-cpu");
		strv_add(out, v);
	} else if (strcmp(o->accel, "kvm") == 0) {
		strv_add(out, "-cpu");
		strv_add(out, "host");
	}
	strv_add(out, "-m");
	strv_add(out, (v = vmdef_get(d, "MEMSIZE")) ? v : "512");
	strv_add(out, "-smp");
	strv_add(out, (v = vmdef_get(d, "SMP")) ? v : "1");
	strv_add(out, "-nodefaults");
	strv_add(out, "-no-user-config");
	if ((v = vmdef_get(d, "QEMUBIOS")) != NULL) {
		strv_add(out, "-L");
		strv_add(out, v);
	}
	strv_add(out, "-display");
	if (o->console != NULL && strcasecmp(o->console, "SDL") == 0) {
		if (o->caps != NULL && !qemu_caps_has_display(o->caps, "sdl")) {
			rc = fail(cause, EXIT_QEMU, "CONSOLE:SDL: %s has no SDL display (Debian: "
			    "install qemu-system-gui)", o->binary);
			goto fail;
		}
		strv_add(out, "sdl");
	} else
		strv_add(out, "none");
	if (o->vnc != NULL) {
		strv_add(out, "-vnc");
		strv_add(out, o->vnc);
	}
	if ((rc = add_vga(&b)) != 0)
		goto fail;
	if ((v = vmdef_get(d, "KBD_LAYOUT")) != NULL) {
		strv_add(out, "-k");
		strv_add(out, v);
	}
	if ((rc = add_timeopt(&b)) != 0)
		goto fail;
	strv_add(out, "-chardev");
	strv_addf(out, "socket,id=qmp,fd=%d,server=on,wait=off", o->qmp_fd);
	strv_add(out, "-mon");
	strv_add(out, "chardev=qmp,mode=control");
	strv_add(out, "-chardev");
	strv_addf(out, "socket,id=serial0,fd=%d,server=on,wait=off", o->serial_fd);
	strv_add(out, "-serial");
	strv_add(out, "chardev:serial0");
	if ((rc = add_policy(&b)) != 0)
		goto fail;
	if ((rc = add_guest_ports(&b)) != 0)
		goto fail;

	/* kernel: the KERNEL suboption replaces the definition's three values */
	kernel = o->kernel ? o->kernel : vmdef_get(d, "KERNELIMAGE");
	initrd = o->kernel ? o->initrd : vmdef_get(d, "INITRDIMAGE");
	append = o->kernel ? o->append : vmdef_get(d, "APPEND");
	if (kernel != NULL) {
		strv_add(out, "-kernel");
		strv_add(out, kernel);
		if (initrd != NULL && *initrd != '\0') {
			strv_add(out, "-initrd");
			strv_add(out, initrd);
		}
		if (append != NULL && *append != '\0') {
			strv_add(out, "-append");
			strv_add(out, append);
		}
	}

	/* boot media: BOOTMODE, else DEFAULTBOOTMODE (HDD); install media: INSTMODE */
	if (o->instmode) {
		if ((rc = add_media(&b, o->inst_src_mode, o->inst_src, 1, "INSTMODE")) != 0)
			goto fail;
		if (o->inst_tgt_mode != MEDIA_NONE &&
		    (rc = add_media(&b, o->inst_tgt_mode, o->inst_tgt, 0, "INSTMODE")) != 0)
			goto fail;
	}
	if (o->bootmode != MEDIA_NONE) {
		if ((rc = add_media(&b, o->bootmode, o->bootpath, 0, "BOOTMODE")) != 0)
			goto fail;
	} else if (kernel == NULL && (v = vmdef_get(d, "DEFAULTBOOTMODE")) != NULL) {
		int m = qemu_media_parse(v);

		if (m == MEDIA_NONE) {
			rc = bad(&b, "DEFAULTBOOTMODE", "not a boot mode (CD, DVD, FDD, HDD, VHDD, "
			    "USB, PXE)", v);
			goto fail;
		}
		if ((rc = add_media(&b, m, NULL, 0, "DEFAULTBOOTMODE")) != 0)
			goto fail;
	}
	if ((rc = add_disks(&b)) != 0)
		goto fail;
	if (b.boot_order[0] != '\0' || b.boot_once[0] != '\0') {
		strv_add(out, "-boot");
		if (b.boot_order[0] != '\0' && b.boot_once[0] != '\0')
			strv_addf(out, "order=%s,once=%s", b.boot_order, b.boot_once);
		else if (b.boot_order[0] != '\0')
			strv_addf(out, "order=%s", b.boot_order);
		else
			strv_addf(out, "once=%s", b.boot_once);
	}
	if ((rc = add_nics(&b)) != 0)
		goto fail;
	if ((v = vmdef_get(d, "ARGSADD")) != NULL && (rc = add_words(&b, "ARGSADD", v)) != 0)
		goto fail;
	if (o->argsadd != NULL && split_words(o->argsadd, out, &why) != 0) {
		rc = fail(cause, EXIT_USAGE, "ARGSADD: %s: '%s'", why, o->argsadd);
		free(why);
		goto fail;
	}
	rc = 0;
fail:
	for (int i = 0; i < 4; i++)
		free(b.ide[i]);
	free(label);
	if (rc != 0)
		strv_free(out);
	return rc;
}
