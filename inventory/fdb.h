/*
 * The file inventory: enum.fdb, one record per VM (per MAC/IP, per host), 47 fields
 * separated by `;`, in the original ctys's order, so existing databases are read as they
 * are. A `;`, newline or backslash inside a value is escaped as the printer does it
 * (src/record.h: `\;`, `\n`, `\\`), which the original never wrote; queries see the raw
 * line (as the original's grep-based ctys-vhost did), results are decoded fields.
 */
#ifndef CTYS_FDB_H
#define CTYS_FDB_H

#include <stddef.h>

#include "printer.h"

#define FDB_NFIELDS 47

/* Field indexes, 0-based (the original numbers them from 1). */
enum {
	FDB_HOST, FDB_STYPE, FDB_LABEL, FDB_ID, FDB_UUID, FDB_MAC, FDB_TCP, FDB_DISPLAY,
	FDB_CPORT, FDB_SPORT, FDB_VNCBASE, FDB_DIST, FDB_DISTREL, FDB_OS, FDB_OSREL,
	FDB_VERSION, FDB_SERNO, FDB_CATEGORY, FDB_VMSTATE, FDB_HYPERREL, FDB_STACKCAP,
	FDB_STACKREQ, FDB_HWCAP, FDB_HWREQ, FDB_EXECLOCATION, FDB_RELOCCAP, FDB_SSHPORT,
	FDB_NETNAME, FDB_HYPERRELRUN, FDB_ACCEL, FDB_EXEPATH, FDB_RSRV, FDB_IFNAME,
	FDB_CTYSRELEASE, FDB_NETMASK, FDB_GATEWAY, FDB_RELAY, FDB_ARCH, FDB_PLATFORM,
	FDB_VRAM, FDB_VCPU, FDB_CSTRG, FDB_USTRG, FDB_UID, FDB_GID, FDB_DEFHOSTS,
	FDB_DEFCONSOLE
};

/* The printer schema of a record: names (JSON keys, TAB_GEN/SORT names), titles, field
 * switches, MACHINE = all 47 in order. */
extern const struct pr_schema fdb_schema;

/* One record: 47 strings (NULL = empty). */
struct fdb_record {
	char *f[FDB_NFIELDS];
	int line;		/* where it was read (1-based), 0 if built */
};

/* Parses one line into *r (decoded fields). 0, or -1 with *why when it has not 47 fields. */
int fdb_parse_line(const char *line, size_t len, struct fdb_record *r, char **why);
/* The line for a record (encoded, no newline). */
char *fdb_format(const struct fdb_record *);
void fdb_record_clear(struct fdb_record *);

/*
 * Reads a database file: every good record through fn (which owns it), every bad line
 * reported through warn as "path:line: ..." and skipped. Returns the number of records,
 * or -1 when the file cannot be read (errno set).
 */
long fdb_read(const char *path, int (*fn)(struct fdb_record *, void *), void *arg,
    void (*warn)(const char *msg, void *), void *warnarg);

#endif
