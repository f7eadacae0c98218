#include "argv.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"

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

char *
qemu_label(const struct vmdef *d)
{
	const char *l = vmdef_get(d, "LABEL"), *base, *dot;

	if (l != NULL)
		return xstrdup(l);
	base = strrchr(d->path, '/');
	base = base ? base + 1 : d->path;
	dot = strrchr(base, '.');
	return dot && dot != base ? xstrndup(base, (size_t)(dot - base)) : xstrdup(base);
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

static int
bad(char **cause, const struct vmdef *d, const char *key, const char *what, const char *val)
{
	return fail(cause, EXIT_FAIL, "%s:%d: %s: %s: '%s'", d->path, vmdef_line(d, key), key,
	    what, val);
}

static int
check_uint(const struct vmdef *d, const char *key, long min, long max, char **cause)
{
	const char *v = vmdef_get(d, key);
	long n;

	if (v == NULL)
		return 0;
	if (!str_is_uint(v) || strlen(v) > 9)
		return bad(cause, d, key, "not a number", v);
	n = strtol(v, NULL, 10);
	if (n < min || n > max) {
		char *what = xasprintf("out of range %ld..%ld", min, max);
		int rc = bad(cause, d, key, what, v);

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

int
qemu_argv_build(const struct vmdef *d, const struct qemu_opts *o, struct strv *out,
    char **cause)
{
	const char *v, *kernel, *initrd, *append, *hda, *machine, *mac;
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
	if ((rc = check_uint(d, "MEMSIZE", 16, 16 * 1024 * 1024, cause)) != 0 ||
	    (rc = check_uint(d, "SMP", 1, 1024, cause)) != 0) {
		free(label);
		return rc;
	}
	mac = vmdef_get(d, "MAC0");
	if (mac != NULL && check_mac(mac) != 0) {
		free(label);
		return bad(cause, d, "MAC0", "not a MAC address (xx:xx:xx:xx:xx:xx)", mac);
	}

	strv_add(out, o->binary);
	e = qemu_escape(label);
	strv_add(out, "-name");
	strv_addf(out, "guest=%s,debug-threads=on", e);
	free(e);
	free(label);
	if ((v = vmdef_get(d, "UUID")) != NULL) {
		strv_add(out, "-uuid");
		strv_add(out, v);
	}
	machine = vmdef_get(d, "MACHINE");
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
	strv_add(out, "-display");
	strv_add(out, "none");
	strv_add(out, "-chardev");
	strv_addf(out, "socket,id=qmp,fd=%d,server=on,wait=off", o->qmp_fd);
	strv_add(out, "-mon");
	strv_add(out, "chardev=qmp,mode=control");
	strv_add(out, "-chardev");
	strv_addf(out, "socket,id=serial0,fd=%d,server=on,wait=off", o->serial_fd);
	strv_add(out, "-serial");
	strv_add(out, "chardev:serial0");

	kernel = vmdef_get(d, "KERNELIMAGE");
	initrd = vmdef_get(d, "INITRDIMAGE");
	append = vmdef_get(d, "APPEND");
	if (kernel != NULL) {
		strv_add(out, "-kernel");
		strv_add(out, kernel);
		if (initrd != NULL) {
			strv_add(out, "-initrd");
			strv_add(out, initrd);
		}
		if (append != NULL) {
			strv_add(out, "-append");
			strv_add(out, append);
		}
	}
	hda = vmdef_get(d, "HDA");
	if (hda == NULL)
		hda = vmdef_get(d, "HDDBOOTIMAGE");
	if (hda != NULL) {
		e = qemu_escape(hda);
		strv_add(out, "-drive");
		if (o->hda_format != NULL)
			strv_addf(out, "file=%s,index=0,media=disk,format=%s", e, o->hda_format);
		else
			strv_addf(out, "file=%s,index=0,media=disk", e);
		free(e);
	}
	if (mac != NULL) {
		strv_add(out, "-netdev");
		strv_add(out, "user,id=net0");
		strv_add(out, "-device");
		strv_addf(out, "virtio-net-pci,netdev=net0,mac=%s", mac);
	}
	return 0;
}
