/*
 * Running actions on other hosts (over ssh): the one place remote execution lives.
 * Targets are the words after the options: hosts, `[user@]host[:port]`, configured host
 * groups, each optionally with its own ctys options in parentheses (`h2(-d 2)`), and
 * `(opts)` alone for options given to every host. The remote side runs the same ctys,
 * with an argv quoted once, here; results come back in host order.
 */
#ifndef CTYS_REMOTE_H
#define CTYS_REMOTE_H

#include "conf.h"
#include "dispatch.h"
#include "printer.h"

/* The wire protocol this ctys speaks (`ctys --wire N` on the remote side). */
#define CTYS_WIRE 1

struct remote_target {
	char *name;		/* as the user (or the group) named it: for messages */
	char *address;		/* what ssh connects to */
	int port;		/* 0: the ssh config's, else 22 */
	char *user;		/* NULL: the ssh config's, else the local user */
	char *identity;		/* NULL: ssh_identity */
	char *ctys;		/* the remote program: the host's ctys, else remote_ctys */
	struct strv opts;	/* ctys options for this host: per-host, then global */
	int connect_timeout;	/* seconds: the host's, else ssh_connect_timeout */
	int command_timeout;	/* seconds (0: none): the host's, else ssh_command_timeout */
};

/* Expands the target words (hosts, groups, options). 0, or EXIT_USAGE with *cause. */
int remote_targets(const struct conf *, char *const *words, size_t nwords,
    struct remote_target **out, size_t *n, char **cause);
void remote_targets_free(struct remote_target *, size_t);

/* The shell command line run on t: `ctys --wire 1 -t type <opts> -a action`, quoted. */
char *remote_command(const struct remote_target *t, const char *type, const char *action);

/* What one host gave. */
struct remote_result {
	int ok;			/* the command ran there (status is its exit status) */
	int status;		/* its exit status; when !ok, the host's failure status */
	char *out, *err;	/* its output (NUL-terminated) */
	size_t outlen, errlen;
	char *cause;		/* when !ok: why, naming the host */
};

/*
 * Runs `ctys --wire 1 -t type <opts> -a <action>` on every target in parallel (at most
 * ssh_parallel at once), each with its own connection. res[i] belongs to targets[i].
 */
void remote_exec(const struct conf *, const struct remote_target *, size_t n, const char *type,
    const char *action, struct remote_result *res);
void remote_results_free(struct remote_result *, size_t);

/*
 * One connection to one target, for actions that talk to it more than once (a console:
 * CREATE, then INFO, then the supervisor's socket through the same connection).
 */
struct remote_session;
/* NULL with *status (EXIT_UNREACHABLE, EXIT_TIMEOUT) and *cause naming the target. */
struct remote_session *remote_session_open(const struct conf *, const struct remote_target *,
    int *status, char **cause);
/* Runs the action there; r as remote_exec fills it. */
void remote_session_run(struct remote_session *, const char *type, const char *action,
    struct remote_result *r);
/* A descriptor connected to a UNIX socket there (-1 with *cause). */
int remote_session_forward(struct remote_session *, const char *path, char **cause);
void remote_session_close(struct remote_session *);

/*
 * Adds the rows of a listing that a host printed as JSON (its action run with JSON and
 * no other printer options) to rows; an empty host field becomes the target's name.
 * Returns 0, or -1 with *cause (what the host sent is not such a listing).
 */
int remote_rows(const struct pr_schema *, const struct remote_target *, const char *json,
    struct pr_rows *rows, char **cause);

/* Writes s (len bytes) with every line prefixed by "prefix: " (NULL: as it is). */
void remote_put_lines(FILE *, const char *prefix, const char *s, size_t len);

/* Runs action a on ctx->cli->hosts and prints the merged answer; returns the exit status. */
int remote_run(struct ctx *, const struct action_def *a, const struct plugin_action *pa);

#endif
