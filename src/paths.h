/* Where ctys keeps runtime sockets, persistent state and caches. */
#ifndef CTYS_PATHS_H
#define CTYS_PATHS_H

#include "conf.h"

struct paths {
	char *run;	/* 0700, owned by us: one subdirectory per running VM */
	char *state;	/* exit records, suspend images */
	char *cache;	/* QEMU capability cache */
	char *save;	/* suspended VMs: save_dir, else <state>/saves */
	char *db;	/* the inventory's directory: db_dir, else ~/.ctys/db/default */
};

/*
 * Runtime: $CTYS_RUNDIR, the configuration's runtime_dir, $XDG_RUNTIME_DIR/ctys,
 * /run/ctys for root, else /tmp/ctys-<uid>. Created 0700; owner and mode checked.
 * Returns 0 or EXIT_FAIL with *cause.
 */
int paths_init(struct paths *, const struct conf *, char **cause);
/* Creates (if needed) and checks a private directory: ours, a directory, no group/other bits. */
int paths_private_dir(const char *path, char **cause);
void paths_free(struct paths *);

#endif
