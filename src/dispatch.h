/*
 * One table of actions drives dispatch and help; plugins register their handlers for
 * those actions through one struct. The core knows no QEMU details.
 */
#ifndef CTYS_DISPATCH_H
#define CTYS_DISPATCH_H

#include "cli.h"
#include "conf.h"
#include "paths.h"
#include "printer.h"
#include "subopt.h"

struct remote_target;		/* remote.h */

/* Flags of an action, checked once by the dispatcher. */
#define ACT_REMOTE_OK	0x01	/* may run on the hosts given after the options */
#define ACT_NEEDS_ARG	0x02	/* needs `=SUBOPTS` (a machine-address at least) */
/* its exit status is another program's (EXEC): ctys's own failures are EXIT_OWN, 255 */
#define ACT_OWN_255	0x04

struct ctx {
	struct cli *cli;
	struct conf *conf;
	struct paths *paths;
	int passed;	/* ACT_OWN_255: the status is the other program's, not ctys's */
};

struct action_def {
	const char *name;
	const char *summary;
	int flags;
};

struct plugin_action {
	const char *action;	/* a name from the action table */
	int (*run)(struct ctx *, struct subopt_list *);
	const struct subopt_spec *subopts;
	const char *usage;	/* the suboption synopsis, for -h */
	const struct pr_schema *schema;	/* a listing's: rows from several hosts are merged */
	/* on other hosts, when the generic run is not enough (a console); -1: generic */
	int (*remote)(struct ctx *, struct subopt_list *, const struct remote_target *, size_t n);
};

struct plugin {
	const char *name;	/* the -t TYPE, upper case */
	const char *desc;
	const struct plugin_action *actions;
	int (*init)(struct ctx *, char **cause);
	void (*fini)(void);
};

extern const struct action_def action_table[];
/* NULL-terminated; defined with the binary (main.c), so the core names no plugin. */
extern const struct plugin *const plugin_list[];

const struct action_def *action_find(const char *name);
/* Runs the whole program for argv; returns the exit status. */
int dispatch_main(int argc, char **argv);

#endif
