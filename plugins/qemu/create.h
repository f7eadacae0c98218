/* CREATE's suboptions (BOOTMODE, KERNEL, INSTMODE, ARGSADD) -> struct qemu_opts. */
#ifndef CTYS_CREATE_H
#define CTYS_CREATE_H

#include "argv.h"
#include "subopt.h"
#include "vmdef.h"

/* The strings qemu_opts points to, owned here. */
struct create_opts {
	char *bootpath, *kernel, *initrd, *append, *inst_src, *inst_tgt, *argsadd;
	const char *inst_src_name, *inst_tgt_name;
	int inst_init;		/* INSTMODE's last value INIT: create a missing target disk */
};

/* Paths on the command line are relative to the caller's working directory. */
int create_opts_parse(struct subopt_list *, struct qemu_opts *, struct create_opts *,
    char **cause);
/* INSTMODE defaults from the definition (DEFAULTINSTMODE, -SOURCE, -TARGET). */
int create_opts_defaults(const struct vmdef *, struct qemu_opts *, struct create_opts *,
    char **cause);
void create_opts_free(struct create_opts *);
/*
 * INSTMODE's target disk: 0 when it exists or needs no file; with INIT, creates a
 * missing one with QEMU_IMG (default qemu-img) at DEFAULTINSTTARGETSIZE (default 8G),
 * never touching an existing file; without INIT, a missing one is EXIT_NOTFOUND. With
 * dry set, only checks (for PRINT).
 */
int create_inst_target(const struct vmdef *, const struct qemu_opts *,
    const struct create_opts *, int dry, char **cause);
/* A file named in a definition: relative paths are relative to its directory. */
char *def_file(const struct vmdef *, const char *path);

#endif
