/*
 * The tool's own configuration (libconfuse): /etc/ctys/ctys.conf, then the user's
 * ~/.ctys/ctys.conf (or $CTYS_CONF), then environment variables, then the command line.
 */
#ifndef CTYS_CONF_H
#define CTYS_CONF_H

#include <stdio.h>

#include "util.h"

/* A host of the configuration: `host "lab1" { address = ... }`. */
struct conf_host {
	char *name;
	char *address;		/* NULL: the name */
	int port;		/* 0: from ~/.ssh/config, else 22 */
	char *user;		/* NULL: from ~/.ssh/config, else the local user */
	char *identity;		/* a private key tried first */
	char *ctys;		/* the ctys program there; NULL: remote_ctys */
	int connect_timeout;	/* seconds; 0: ssh_connect_timeout */
	int command_timeout;	/* seconds (0: none); -1: ssh_command_timeout */
	char *from;		/* the file that defined it */
};

/* A host group: `group "lab" { members = {"lab1", "user@h2:2222", "othergroup"} }`. */
struct conf_group {
	char *name;
	struct strv members;
	char *from;
};

/* Where one setting's value came from (SHOW=CONF). */
struct conf_src {
	const char *key;
	char *from;		/* "default", a file, or "environment CTYS_..." */
};

struct conf {
	struct strv qemu_path;	/* directories searched for QEMU binaries */
	char *runtime_dir;	/* NULL: derived (see paths.h) */
	char *state_dir;
	char *cache_dir;
	char *save_dir;		/* suspended VMs' states; NULL: <state_dir>/saves */
	char *db_dir;		/* the inventory (enum.fdb); NULL: ~/.ctys/db/default */
	int cancel_timeout;	/* seconds of ACPI grace before escalation */
	int create_timeout;	/* seconds to wait for QMP after starting QEMU */
	struct strv base_paths;	/* scan bases for machine-addresses */
	char *netmode;		/* NETMODE<n> default: user, bridge:<br>, tap:<if>, ... */
	char *console_escape;	/* the CLI console's escape key: "^]" */
	char *vnc_listen;	/* VNC:TCP binds here: "127.0.0.1" */
	/* other hosts (ssh) */
	char *remote_ctys;	/* the ctys program on other hosts: "ctys" (from PATH) */
	int ssh_connect_timeout;	/* seconds: connect, key exchange, authentication */
	int ssh_command_timeout;	/* seconds a remote command may take; 0: no limit */
	int ssh_parallel;	/* connections at once */
	int ssh_accept_new;	/* ssh_unknown_hosts: "refuse" (0) or "accept-new" (1) */
	char *ssh_known_hosts;	/* NULL: ~/.ssh/known_hosts */
	char *ssh_config;	/* NULL: ~/.ssh/config; "": none */
	char *ssh_identity;	/* a private key tried for every host */
	struct conf_host *hosts;
	size_t nhosts;
	struct conf_group *groups;
	size_t ngroups;
	struct strv files;	/* configuration files actually read */
	struct conf_src *src;	/* where each setting came from */
	size_t nsrc;
};

/* Loads system, user and environment settings. Returns 0 or EXIT_USAGE with *cause. */
int conf_load(struct conf *, char **cause);
void conf_free(struct conf *);
const struct conf_host *conf_host_find(const struct conf *, const char *name);
const struct conf_group *conf_group_find(const struct conf *, const char *name);
/* The effective configuration, each setting with where it came from (SHOW=CONF). */
void conf_show(FILE *, const struct conf *);

#endif
