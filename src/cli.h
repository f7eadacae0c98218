/* The ctys command line: `ctys [-t TYPE] [-T TYPE,..|ALL] -a ACTION[=SUBOPTS] [opts] [--] [hosts]`. */
#ifndef CTYS_CLI_H
#define CTYS_CLI_H

#include "subopt.h"

struct cli {
	char *type;		/* -t, upper case; default QEMU */
	char *types;		/* -T list, upper case */
	char *action;		/* upper case */
	char *subopts_raw;	/* text after `=` (NULL when none) */
	struct subopt_list subopts;
	int debug;		/* -d */
	int quiet;		/* -q */
	int help;		/* -h */
	int version;		/* --version / -V */
	int wire;		/* --wire N: run for another host's ctys (remote.h) */
	char **hosts;		/* targets after the options */
	size_t nhosts;
};

/* Pure: parses argv (without running anything). Returns 0, or EXIT_USAGE with *cause. */
int cli_parse(int argc, char **argv, struct cli *, char **cause);
void cli_free(struct cli *);

#endif
