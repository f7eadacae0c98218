#include "remote.h"

#include "exitcodes.h"
#include "util.h"

int
remote_run(struct ctx *ctx, const struct action_def *a, char **cause)
{
	const char *h = ctx->cli->hosts[0];

	if (h[0] == '-')
		return fail(cause, EXIT_USAGE, "refusing host name starting with '-': '%s'", h);
	if (!(a->flags & ACT_REMOTE_OK))
		return fail(cause, EXIT_USAGE, "%s cannot run on remote hosts", a->name);
	/* The transport (libssh fan-out) arrives with the multi-host work. */
	return fail(cause, EXIT_USAGE, "remote hosts are not yet supported: '%s'", h);
}
