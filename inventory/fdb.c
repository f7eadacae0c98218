#include "fdb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define F(name, title, sw) { name, title, sw, 0, 0 }
#define N(name, title, sw) { name, title, sw, 0, 1 }

static const struct pr_field fields[FDB_NFIELDS] = {
	[FDB_HOST] = F("host", "Host", "PM|HOST"),
	[FDB_STYPE] = F("type", "Type", "TYPE|STYPE"),
	[FDB_LABEL] = F("label", "Label", "LABEL"),
	[FDB_ID] = F("id", "Definition", "ID|PNAME"),
	[FDB_UUID] = F("uuid", "UUID", "UUID"),
	[FDB_MAC] = F("mac", "MAC", "MAC"),
	[FDB_TCP] = F("tcp", "TCP", "TCP"),
	[FDB_DISPLAY] = F("display", "Display", "DISPLAY"),
	[FDB_CPORT] = N("cport", "CPort", "CPORT"),
	[FDB_SPORT] = N("sport", "SPort", "SPORT"),
	[FDB_VNCBASE] = N("vncbase", "VNCBase", "VNCBASE"),
	[FDB_DIST] = F("dist", "Dist", "DIST"),
	[FDB_DISTREL] = F("distrel", "Distrel", "DISTREL"),
	[FDB_OS] = F("os", "OS", "OS"),
	[FDB_OSREL] = F("osrel", "OSrel", "OSREL"),
	[FDB_VERSION] = F("version", "Version", "VERSION|VERNO"),
	[FDB_SERNO] = F("serno", "SerNo", "SERNO"),
	[FDB_CATEGORY] = F("category", "Category", "CATEGORY|CAT"),
	[FDB_VMSTATE] = F("vmstate", "VMstate", "VMSTATE|VSTAT"),
	[FDB_HYPERREL] = F("hyperrel", "Hyperrel", "HYPERREL|HREL"),
	[FDB_STACKCAP] = F("stackcap", "StackCap", "STACKCAP|SCAP"),
	[FDB_STACKREQ] = F("stackreq", "StackReq", "STACKREQ|SREQ"),
	[FDB_HWCAP] = F("hwcap", "HWcap", "HWCAP"),
	[FDB_HWREQ] = F("hwreq", "HWreq", "HWREQ"),
	[FDB_EXECLOCATION] = F("execlocation", "ExecLocation", "EXECLOCATION|EXECLOC"),
	[FDB_RELOCCAP] = F("reloccap", "RelocCap", "RELOCCAP|RCAP"),
	[FDB_SSHPORT] = N("sshport", "SSHport", "SSHPORT"),
	[FDB_NETNAME] = F("netname", "Netname", "NETNAME"),
	[FDB_HYPERRELRUN] = F("hyperrelrun", "HyperrelRun", "HRX|HYPERRELRUN"),
	[FDB_ACCEL] = F("accel", "Accel", "ACCELERATOR|ACCEL"),
	[FDB_EXEPATH] = F("exepath", "Exepath", "EXEPATH|EXE"),
	[FDB_RSRV] = F("rsrv", "Rsrv", NULL),
	[FDB_IFNAME] = F("ifname", "IF", "IFNAME"),
	[FDB_CTYSRELEASE] = F("ctysrelease", "CtysRel", "CTYSRELEASE"),
	[FDB_NETMASK] = F("netmask", "Netmask", "NETMASK"),
	[FDB_GATEWAY] = F("gateway", "Gateway", "GATEWAY"),
	[FDB_RELAY] = F("relay", "Relay", "RELAY"),
	[FDB_ARCH] = F("arch", "Arch", "ARCH"),
	[FDB_PLATFORM] = F("platform", "Platform", "PLATFORM"),
	[FDB_VRAM] = N("vram", "VRAM", "VRAM"),
	[FDB_VCPU] = N("vcpu", "VCPU", "VCPU"),
	[FDB_CSTRG] = F("context", "Context", "CSTRG"),
	[FDB_USTRG] = F("userstring", "UserStr", "USTRG"),
	[FDB_UID] = F("uid", "UID", "UID"),
	[FDB_GID] = F("gid", "GID", "GID"),
	[FDB_DEFHOSTS] = F("defhosts", "DefHosts", "DEFHOSTS"),
	[FDB_DEFCONSOLE] = F("defconsole", "DefConsole", "DEFCONSOLE"),
};

static const int table_cols[] = { FDB_LABEL, FDB_HOST, FDB_TCP, FDB_MAC, FDB_VMSTATE,
    FDB_ACCEL, FDB_ID, -1 };
static const int machine_cols[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
	24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45,
	46, -1
};

const struct pr_schema fdb_schema = { fields, FDB_NFIELDS, table_cols, machine_cols };

void
fdb_record_clear(struct fdb_record *r)
{
	for (int i = 0; i < FDB_NFIELDS; i++)
		free(r->f[i]);
	memset(r, 0, sizeof *r);
}

int
fdb_parse_line(const char *line, size_t len, struct fdb_record *r, char **why)
{
	char *f[FDB_NFIELDS + 1];
	int n;

	memset(r, 0, sizeof *r);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if ((n = pr_decode(line, len, f, FDB_NFIELDS + 1)) == -1)
		return fail(why, -1, "more than %d fields", FDB_NFIELDS + 1);
	/* the original ends every record with a `;`: a 48th empty field is that */
	if (n == FDB_NFIELDS + 1 && f[FDB_NFIELDS][0] == '\0') {
		free(f[FDB_NFIELDS]);
		n--;
	}
	if (n != FDB_NFIELDS) {
		for (int i = 0; i < n; i++)
			free(f[i]);
		return fail(why, -1, "%d fields, not %d", n, FDB_NFIELDS);
	}
	for (int i = 0; i < FDB_NFIELDS; i++) {
		if (f[i][0] == '\0') {
			free(f[i]);
			f[i] = NULL;
		}
		r->f[i] = f[i];
	}
	return 0;
}

char *
fdb_format(const struct fdb_record *r)
{
	size_t cap = 256, len = 0;
	char *out = xmalloc(cap);

	out[0] = '\0';
	for (int i = 0; i < FDB_NFIELDS; i++) {
		char *e = pr_encode(r->f[i]);
		size_t el = strlen(e);

		while (len + el + 2 > cap)
			out = xrealloc(out, cap *= 2);
		memcpy(out + len, e, el);
		len += el;
		if (i + 1 < FDB_NFIELDS)
			out[len++] = ';';
		out[len] = '\0';
		free(e);
	}
	/* a last value ending in CR gets the original's final `;`: the reader strips CR/LF */
	if (len > 0 && out[len - 1] == '\r') {
		out[len++] = ';';
		out[len] = '\0';
	}
	return out;
}

long
fdb_read(const char *path, int (*fn)(struct fdb_record *, void *), void *arg,
    void (*warn)(const char *, void *), void *warnarg)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *why = NULL;
	size_t cap = 0;
	ssize_t n;
	long count = 0;
	int lineno = 0;

	if (f == NULL)
		return -1;
	while ((n = getline(&line, &cap, f)) != -1) {
		struct fdb_record *r;

		lineno++;
		if (n == 0 || line[0] == '\n' || line[0] == '#')
			continue;
		r = xcalloc(1, sizeof *r);
		if (fdb_parse_line(line, (size_t)n, r, &why) != 0) {
			if (warn != NULL) {
				char *m = xasprintf("%s:%d: %s; line skipped", path, lineno, why);

				warn(m, warnarg);
				free(m);
			}
			free(why);
			why = NULL;
			free(r);
			continue;
		}
		r->line = lineno;
		count++;
		if (fn(r, arg) != 0)
			break;
	}
	free(line);
	fclose(f);
	return count;
}
