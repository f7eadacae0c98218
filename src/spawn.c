#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

/* Adds the file action for one of stdin/out/err; *child is a pipe end to close after spawning. */
static int
std_action(posix_spawn_file_actions_t *fa, int how, int target, int *ours, int *child)
{
	int p[2];

	*ours = *child = -1;
	switch (how) {
	case SPAWN_INHERIT:
		return 0;
	case SPAWN_NULL:
		return posix_spawn_file_actions_addopen(fa, target, "/dev/null",
		    target == 0 ? O_RDONLY : O_WRONLY, 0);
	case SPAWN_PIPE:
		if (pipe2(p, O_CLOEXEC) == -1)
			return errno;
		*ours = target == 0 ? p[1] : p[0];
		*child = target == 0 ? p[0] : p[1];
		return posix_spawn_file_actions_adddup2(fa, *child, target);
	default:
		return posix_spawn_file_actions_adddup2(fa, how, target);
	}
}

int
spawn_start(struct spawn *sp, char **cause)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int rc, childside[3] = { -1, -1, -1 }, *ours[3], moved[8], maxto = 2, i;
	int how[3] = { sp->in, sp->out, sp->err };

	sp->pid = -1;
	sp->in_pipe = sp->out_pipe = sp->err_pipe = -1;
	ours[0] = &sp->in_pipe;
	ours[1] = &sp->out_pipe;
	ours[2] = &sp->err_pipe;
	if (sp->nfds < 0 || sp->nfds > (int)nitems(sp->fds))
		return fail(cause, -1, "spawn: too many descriptors");
	for (i = 0; i < sp->nfds; i++)
		if (sp->fds[i].to > maxto)
			maxto = sp->fds[i].to;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	for (i = 0; i < 3; i++) {
		rc = std_action(&fa, how[i], i, ours[i], &childside[i]);
		if (rc != 0) {
			fail(cause, -1, "spawn: %s", strerror(rc));
			goto out;
		}
	}
	/* Move passed fds above every target first so that no dup2 clobbers another source. */
	for (i = 0; i < sp->nfds; i++) {
		moved[i] = fcntl(sp->fds[i].from, F_DUPFD_CLOEXEC, maxto + 1);
		if (moved[i] == -1) {
			rc = errno;
			while (i-- > 0)
				close(moved[i]);
			fail(cause, -1, "spawn: %s", strerror(rc));
			goto out;
		}
	}
	for (i = 0; i < sp->nfds; i++)
		posix_spawn_file_actions_adddup2(&fa, moved[i], sp->fds[i].to);
	if (sp->new_session)
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
		    POSIX_SPAWN_SETSIGDEF);
	else
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	{
		sigset_t none, all;

		sigemptyset(&none);
		sigfillset(&all);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &all);
	}
	if (strchr(sp->argv[0], '/') != NULL)
		rc = posix_spawn(&sp->pid, sp->argv[0], &fa, &attr, sp->argv, environ);
	else
		rc = posix_spawnp(&sp->pid, sp->argv[0], &fa, &attr, sp->argv, environ);
	for (i = 0; i < sp->nfds; i++)
		close(moved[i]);
	if (rc != 0) {
		sp->pid = -1;
		fail(cause, -1, "cannot run '%s': %s", sp->argv[0], strerror(rc));
	}
out:
	for (i = 0; i < 3; i++) {
		if (childside[i] != -1)
			close(childside[i]);
		if (rc != 0 && *ours[i] != -1) {
			close(*ours[i]);
			*ours[i] = -1;
		}
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc == 0 ? 0 : -1;
}

int
spawn_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return status;
}

int
spawn_capture(char *const *argv, size_t max, char **out, int *status, char **cause)
{
	struct spawn sp = { .argv = argv, .in = SPAWN_NULL, .out = SPAWN_PIPE, .err = SPAWN_NULL };
	char *buf = xmalloc(max + 1);
	size_t len = 0;
	ssize_t n;
	char sink[4096];

	if (spawn_start(&sp, cause) == -1) {
		free(buf);
		return -1;
	}
	for (;;) {
		if (len < max)
			n = read(sp.out_pipe, buf + len, max - len);
		else
			n = read(sp.out_pipe, sink, sizeof sink);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len < max)
			len += (size_t)n;
	}
	close(sp.out_pipe);
	buf[len] = '\0';
	*status = spawn_wait(sp.pid);
	*out = buf;
	return 0;
}
