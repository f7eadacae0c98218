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
/* EXEC: a command in the guest, through its agent; the guest's exit status passes through. */
int qemu_exec(struct ctx *, struct subopt_list *);
int qemu_exec_remote(struct ctx *, struct subopt_list *, const struct remote_target *, size_t n);
/* Pure, for the tests: strict base64 (padded, no whitespace). 0 with *out, or -1. */
int exec_b64_decode(const char *in, size_t len, char **out, size_t *outlen);
/* CHANNEL: stdin/stdout relayed to a named channel of the guest (here or on one host). */
int qemu_channel(struct ctx *, struct subopt_list *);
int qemu_channel_remote(struct ctx *, struct subopt_list *, const struct remote_target *,
    size_t n);

#endif
