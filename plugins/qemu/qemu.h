/* The QEMU plugin's actions. */
#ifndef CTYS_QEMU_H
#define CTYS_QEMU_H

#include "dispatch.h"

int qemu_create(struct ctx *, struct subopt_list *);
int qemu_cancel(struct ctx *, struct subopt_list *);
int qemu_isactive(struct ctx *, struct subopt_list *);
int qemu_info(struct ctx *, struct subopt_list *);
int qemu_list(struct ctx *, struct subopt_list *);
/* CREATE on another host with a console here (CLI, CLI0 through the ssh connection). */
int qemu_create_remote(struct ctx *, struct subopt_list *, const struct remote_target *, size_t n);
extern const struct pr_schema qemu_list_schema;	/* LIST's fields */
int qemu_show(struct ctx *, struct subopt_list *);
int qemu_getclientport(struct ctx *, struct subopt_list *);
int qemu_enumerate_action(struct ctx *, struct subopt_list *);

#endif
