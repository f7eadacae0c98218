#include "paths.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcodes.h"

int
paths_private_dir(const char *path, char **cause)
{
	struct stat st;

	if (mkdir_p(path, 0700) == -1)
		return fail(cause, EXIT_FAIL, "cannot create directory '%s': %s", path,
		    strerror(errno));
	if (lstat(path, &st) == -1)
		return fail(cause, EXIT_FAIL, "'%s': %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(cause, EXIT_FAIL, "'%s' is not a directory", path);
	if (st.st_uid != getuid())
		return fail(cause, EXIT_FAIL, "'%s' is owned by uid %u, not by us (uid %u)", path,
		    (unsigned)st.st_uid, (unsigned)getuid());
	if ((st.st_mode & 077) != 0)
		return fail(cause, EXIT_FAIL, "'%s' has unsafe permissions %04o (must be 0700)",
		    path, (unsigned)(st.st_mode & 07777));
	return 0;
}

static char *
xdg(const char *var, const char *fallback)
{
	const char *v = getenv(var), *home = getenv("HOME");

	if (v != NULL && *v == '/')
		return xasprintf("%s/ctys", v);
	return xasprintf("%s/%s/ctys", home ? home : "/", fallback);
}

int
paths_init(struct paths *p, const struct conf *c, char **cause)
{
	const char *v;
	int rc;

	memset(p, 0, sizeof *p);
	if ((v = getenv("CTYS_RUNDIR")) != NULL && *v != '\0')
		p->run = xstrdup(v);
	else if (c->runtime_dir != NULL)
		p->run = xstrdup(c->runtime_dir);
	else if ((v = getenv("XDG_RUNTIME_DIR")) != NULL && *v == '/')
		p->run = xasprintf("%s/ctys", v);
	else if (getuid() == 0)
		p->run = xstrdup("/run/ctys");
	else
		p->run = xasprintf("/tmp/ctys-%u", (unsigned)getuid());
	p->state = c->state_dir ? xstrdup(c->state_dir) : xdg("XDG_STATE_HOME", ".local/state");
	p->cache = c->cache_dir ? xstrdup(c->cache_dir) : xdg("XDG_CACHE_HOME", ".cache");
	p->save = c->save_dir ? xstrdup(c->save_dir) : xasprintf("%s/saves", p->state);
	p->db = c->db_dir ? xstrdup(c->db_dir) : xasprintf("%s/.ctys/db/default",
	    getenv("HOME") ? getenv("HOME") : "/");
	if ((rc = paths_private_dir(p->run, cause)) != 0)
		return rc;
	return 0;
}

void
paths_free(struct paths *p)
{
	free(p->run);
	free(p->state);
	free(p->cache);
	free(p->save);
	free(p->db);
	memset(p, 0, sizeof *p);
}
