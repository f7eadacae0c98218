/*
 * ENUMERATE: the inventory records of every VM definition under the base paths, one per
 * MAC/IP of a VM (one for a VM without either), filled from the definition (vmconf.h) and
 * from this host (its name; the QEMU binary, its version and the accelerator from the
 * detection and the capability cache, asked once per binary, never per file).
 */
#ifndef CTYS_ENUMERATE_H
#define CTYS_ENUMERATE_H

#include "dispatch.h"
#include "fdb.h"

/* MATCHVSTAT: which #@#VMSTATE values are enumerated. */
enum {
	VST_ACTIVE = 1, VST_DISABLED = 2, VST_EMPTY = 4, VST_BACKUP = 8, VST_TEMPLATE = 16,
	VST_TESTDUMMY = 32, VST_CUSTOM = 64,
	VST_DEFAULT = VST_ACTIVE | VST_DISABLED | VST_EMPTY,
	VST_ALL = 127
};

/* Parses `ACTIVE%DISABLED%EMPTY...`; 0 with *mask, or EXIT_USAGE with *cause. */
int enumerate_vstat(const char *spec, unsigned *mask, char **cause);

/*
 * Calls fn for every record (fn owns it; non-zero stops). Warnings (unreadable
 * directories, definitions with errors, with file:line) go to stderr. Returns the number
 * of definitions enumerated.
 */
long qemu_enumerate(struct ctx *, const struct strv *bases, unsigned vstat,
    int (*fn)(struct fdb_record *, void *), void *arg);

#endif
