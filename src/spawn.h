/*
 * The one way ctys starts a child process: an argv vector (never a shell string),
 * posix_spawn (exec failures come back as an error, not as a silent child), explicit
 * stdin/stdout/stderr and explicit fds handed down at fixed numbers.
 */
#ifndef CTYS_SPAWN_H
#define CTYS_SPAWN_H

#include <sys/types.h>

enum { SPAWN_INHERIT = -1, SPAWN_NULL = -2, SPAWN_PIPE = -3 };

struct spawn_fd {
	int from;	/* our descriptor */
	int to;		/* its number in the child (must be >= 3) */
};

struct spawn {
	char *const *argv;	/* argv[0] is the program; a name without '/' is searched in PATH */
	int in, out, err;	/* SPAWN_INHERIT, SPAWN_NULL, SPAWN_PIPE or an fd */
	struct spawn_fd fds[8];
	int nfds;
	int new_session;	/* setsid() in the child */
	/* results */
	pid_t pid;
	int in_pipe, out_pipe, err_pipe;	/* our ends for SPAWN_PIPE, else -1 */
};

/* Starts the child. Returns 0, or -1 with *cause ("cannot run 'x': No such file..."). */
int spawn_start(struct spawn *, char **cause);
/* Waits for the child (EINTR-safe); returns the raw wait status, -1 on error. */
int spawn_wait(pid_t pid);
/*
 * Runs argv to completion, capturing up to max bytes of stdout (stderr discarded).
 * Returns 0 with *out (NUL-terminated) and *status set, or -1 with *cause.
 */
int spawn_capture(char *const *argv, size_t max, char **out, int *status, char **cause);

#endif
