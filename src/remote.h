/* Running actions on other hosts (over ssh). The one place remote execution lives. */
#ifndef CTYS_REMOTE_H
#define CTYS_REMOTE_H

#include "dispatch.h"

/* Runs action a on ctx->cli->hosts. Returns an exit status with *cause on failure. */
int remote_run(struct ctx *, const struct action_def *a, char **cause);

#endif
