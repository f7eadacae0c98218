#include "vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "exitcodes.h"
#include "supervisor.h"
#include "util.h"

int
vm_addr_parse(struct subopt_list *l, struct vm_addr *a, int allow_all, char **cause)
{
	memset(a, 0, sizeof *a);
	for (size_t i = 0; i < l->n; i++) {
		struct subopt *o = &l->v[i];
		char **dst = NULL;

		if (subopt_key_is(o->key, ADDR_KEYS_PATH))
			dst = &a->path;
		else if (subopt_key_is(o->key, ADDR_KEYS_LABEL))
			dst = &a->label;
		else if (subopt_key_is(o->key, ADDR_KEYS_UUID))
			dst = &a->uuid;
		else if (strcmp(o->key, "ALL") == 0 && o->arg == NULL && allow_all) {
			a->all = 1;
			o->used = 1;
			continue;
		} else
			continue;
		o->used = 1;
		if (o->arg == NULL || *o->arg == '\0')
			return fail(cause, EXIT_USAGE, "machine-address '%s' needs a value ('%s:...')",
			    o->key, o->key);
		if (*dst != NULL)
			return fail(cause, EXIT_USAGE, "machine-address '%s' given twice", o->key);
		*dst = xstrdup(o->arg);
		if (a->text == NULL)
			a->text = xasprintf("%s:%s", o->key, o->arg);
	}
	if (a->label != NULL && a->label[0] == '-')
		return fail(cause, EXIT_USAGE, "label must not start with '-': '%s'", a->label);
	if (a->path != NULL && a->path[0] != '/')
		return fail(cause, EXIT_USAGE, "P: needs an absolute path: '%s'", a->path);
	if (!a->all && a->label == NULL && a->uuid == NULL && a->path == NULL)
		return fail(cause, EXIT_USAGE, "no machine-address given (P:<path>, L:<label>, "
		    "U:<uuid>%s)", allow_all ? " or ALL" : "");
	if (a->all && (a->label || a->uuid || a->path))
		return fail(cause, EXIT_USAGE, "ALL cannot be combined with a machine-address");
	if (a->all)
		a->text = xstrdup("ALL");
	return 0;
}

void
vm_addr_free(struct vm_addr *a)
{
	free(a->label);
	free(a->uuid);
	free(a->path);
	free(a->text);
	memset(a, 0, sizeof *a);
}

static int
same_file(const char *a, const char *b)
{
	char *ra, *rb;
	int same;

	if (strcmp(a, b) == 0)
		return 1;
	ra = realpath(a, NULL);
	rb = realpath(b, NULL);
	same = ra && rb && strcmp(ra, rb) == 0;
	free(ra);
	free(rb);
	return same;
}

static int
matches(const struct vm_addr *a, const struct vmrun *r)
{
	if (a->all)
		return 1;
	if (a->label && strcmp(a->label, r->label) != 0)
		return 0;
	if (a->uuid && (r->uuid == NULL || strcasecmp(a->uuid, r->uuid) != 0))
		return 0;
	if (a->path && (r->def == NULL || !same_file(a->path, r->def)))
		return 0;
	return 1;
}

/* A directory with no live owner and no live QEMU is a ghost: say so and remove it. */
static int
is_ghost(struct vmrun *r)
{
	int fd = rundir_trylock(r->dir);

	if (fd == -1)
		return 0;		/* owner alive */
	if (vmrun_qemu_alive(r)) {
		if (fd >= 0)
			close(fd);
		return 0;		/* unsupervised: re-adopted on contact */
	}
	log_warn("'%s': QEMU (pid %d) and its supervisor are gone; removing the stale runtime "
	    "directory '%s'", r->label, (int)r->qemu_pid, r->dir);
	rmdir_flat(r->dir);
	if (fd >= 0)
		close(fd);
	return 1;
}

int
vm_running(struct ctx *ctx, const struct vm_addr *a, struct vmrun **out, size_t *n)
{
	struct vmrun *all;
	size_t nall, k = 0;

	*out = NULL;
	*n = 0;
	if (rundir_list(ctx->paths->run, &all, &nall) == -1)
		return -1;
	for (size_t i = 0; i < nall; i++) {
		if (matches(a, &all[i]) && !is_ghost(&all[i])) {
			all[k++] = all[i];
			continue;
		}
		vmrun_clear(&all[i]);
	}
	if (k == 0) {
		free(all);
		return 0;
	}
	*out = all;
	*n = k;
	return 0;
}

static int
adopt(struct ctx *ctx, struct vmrun *r, int lockfd, char **cause)
{
	struct sup_config cfg = { 0 };
	char *accelp = rundir_file(r->dir, "accel"), *accel = file_read_line(accelp);
	pid_t pid;
	int rc;

	log_debug(1, "'%s': QEMU pid %d has no supervisor; adopting it", r->label,
	    (int)r->qemu_pid);
	cfg.dir = r->dir;
	cfg.id = r->id;
	cfg.label = r->label;
	cfg.uuid = r->uuid;
	cfg.def = r->def;
	cfg.accel = accel;
	cfg.state_dir = ctx->paths->state;
	cfg.lockfd = lockfd;
	cfg.create_timeout = 10;
	cfg.adopt_pid = r->qemu_pid;
	rc = supervisor_start(&cfg, &pid, cause);
	free(accelp);
	free(accel);
	return rc;
}

int
vm_connect(struct ctx *ctx, struct vmrun *r, struct ctl_client *c, char **cause)
{
	char *sock = rundir_file(r->dir, "ctl.sock");
	int lockfd, rc, tries;

	for (tries = 0; tries < 50; tries++) {
		if (ctl_open(c, sock, 5000, cause) == 0) {
			free(sock);
			return 0;
		}
		if (errno == ETIMEDOUT) {
			free(sock);
			return fail(cause, EXIT_TIMEOUT, "the supervisor of '%s' does not answer",
			    r->label);
		}
		lockfd = rundir_trylock(r->dir);
		if (lockfd == -1) {
			/* an owner lives but does not listen yet (starting up): wait a little */
			usleep(100 * 1000);
			continue;
		}
		if (lockfd == -2 && access(r->dir, F_OK) == -1) {
			free(sock);
			return fail(cause, EXIT_STATE, "'%s' is not running", r->label);
		}
		if (!vmrun_qemu_alive(r)) {
			if (lockfd >= 0) {
				log_warn("'%s': QEMU (pid %d) and its supervisor are gone; removing "
				    "the stale runtime directory '%s'", r->label, (int)r->qemu_pid,
				    r->dir);
				rmdir_flat(r->dir);
				close(lockfd);
			}
			free(sock);
			return fail(cause, EXIT_STATE, "'%s' is not running", r->label);
		}
		rc = adopt(ctx, r, lockfd, cause);
		if (lockfd >= 0)
			close(lockfd);
		if (rc != 0) {
			free(sock);
			return rc;
		}
	}
	free(sock);
	return fail(cause, EXIT_TIMEOUT, "cannot reach the supervisor of '%s'", r->label);
}
