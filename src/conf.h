/*
 * The tool's own configuration (libconfuse): /etc/ctys/ctys.conf, then the user's
 * ~/.ctys/ctys.conf (or $CTYS_CONF), then environment variables, then the command line.
 */
#ifndef CTYS_CONF_H
#define CTYS_CONF_H

#include "util.h"

struct conf {
	struct strv qemu_path;	/* directories searched for QEMU binaries */
	char *runtime_dir;	/* NULL: derived (see paths.h) */
	char *state_dir;
	char *cache_dir;
	char *save_dir;
	char *db_dir;		/* the inventory (enum.fdb); NULL: ~/.ctys/db/default */		/* suspended VMs' states; NULL: <state_dir>/saves */
	int cancel_timeout;	/* seconds of ACPI grace before escalation */
	int create_timeout;	/* seconds to wait for QMP after starting QEMU */
	struct strv base_paths;	/* scan bases for machine-addresses */
	char *netmode;
	char *console_escape;	/* the CLI console's escape key: "^]" */
	char *vnc_listen;	/* VNC:TCP binds here: "127.0.0.1" */		/* NETMODE<n> default: user, bridge:<br>, tap:<if>, ... */
	struct strv files;	/* configuration files actually read */
};

/* Loads system, user and environment settings. Returns 0 or EXIT_USAGE with *cause. */
int conf_load(struct conf *, char **cause);
void conf_free(struct conf *);

#endif
