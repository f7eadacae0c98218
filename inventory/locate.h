/*
 * Finding VM definitions on disk: the config file behind a machine-address ID, and a
 * walk of base paths that yields every definition once (both layouts of the original:
 * <label>.conf beside a <label>.ctys wrapper, and <label>/<label>.ctys beside <label>.sh).
 */
#ifndef CTYS_LOCATE_H
#define CTYS_LOCATE_H

#include <stddef.h>

#include "util.h"
#include "vmdef.h"

/*
 * The definition file for an ID, in the original's order: the ID with its extension
 * replaced by .conf, then by .ctys, then the ID's directory name plus .ctys, then the ID
 * itself. NULL if none exists.
 */
char *vmdef_locate(const char *id);

/* What a machine-address asks for; NULL fields are not constrained. */
struct vmdef_query {
	const char *label;	/* L: exact */
	const char *uuid;	/* U: case-insensitive */
	const char *path;	/* P: the same file */
	const char *fname;	/* F: substring of the definition's path */
	const char *mac;	/* M: any MAC<n>, case-insensitive */
	const char *tcp;	/* T: any IP<n> address (first %-field) */
};

int vmdef_matches(const struct vmdef *, const struct vmdef_query *);
/* The label: #@#LABEL, else LABEL=, else the file name without its extension. */
char *vmdef_label(const struct vmdef *);

/*
 * Walks the base paths (not following symlinks, not leaving each base's filesystem) and
 * calls fn for every QEMU definition found once (by device and inode; fn owns and frees
 * the definition); definitions marked
 * MAGICID-IGNORE are skipped. fn returns non-zero to stop. Unreadable directories and
 * definitions that cannot be read are reported once through warn (may be NULL).
 * Returns the number of definitions seen.
 */
size_t vmdef_scan(const char *const *bases, size_t nbases,
    int (*fn)(struct vmdef *, void *), void *arg, void (*warn)(const char *, void *));

/* "~" and "~/x" expanded with $HOME. */
char *path_expand_home(const char *);

#endif
