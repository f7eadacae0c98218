#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcodes.h"
#include "util.h"

char *
rundir_id(const char *uuid, const char *defpath)
{
	char *key, *real = NULL;
	uint64_t h;

	if (uuid != NULL && *uuid != '\0') {
		key = xasprintf("uuid:%s", uuid);
		for (char *p = key; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
	} else {
		real = realpath(defpath, NULL);
		key = xasprintf("path:%s", real ? real : defpath);
	}
	h = fnv1a64(key, strlen(key));
	free(key);
	free(real);
	return xasprintf("%016llx", (unsigned long long)h);
}

char *
rundir_file(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

int
rundir_trylock(const char *dir)
{
	char *p = rundir_file(dir, "lock");
	int fd = open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	free(p);
	if (fd == -1)
		return -2;	/* no lock file: not (yet) a VM directory */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

unsigned long long
proc_starttime(pid_t pid)
{
	char path[64], *buf, *p;
	unsigned long long st = 0;
	int field;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((buf = file_read(path, 65536, NULL)) == NULL)
		return 0;
	/* field 2 (comm) may contain spaces and parentheses: start after the last ')' */
	if ((p = strrchr(buf, ')')) != NULL) {
		for (field = 2; *p && field < 22; p++)
			if (*p == ' ')
				field++;
		st = strtoull(p, NULL, 10);
	}
	free(buf);
	return st;
}

int
vmrun_qemu_alive(const struct vmrun *r)
{
	unsigned long long st;

	if (r->qemu_pid <= 0)
		return 0;
	st = proc_starttime(r->qemu_pid);
	if (st == 0)
		return 0;
	/* a zombie has exited already */
	{
		char path[64], *buf, *p;
		int zombie = 0;

		snprintf(path, sizeof path, "/proc/%d/stat", (int)r->qemu_pid);
		if ((buf = file_read(path, 65536, NULL)) != NULL) {
			if ((p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'Z')
				zombie = 1;
			free(buf);
		}
		if (zombie)
			return 0;
	}
	return r->qemu_start == 0 || r->qemu_start == st;
}

int
rundir_write_pid(const char *dir, pid_t pid)
{
	char *p = rundir_file(dir, "qemu.pid"), *tmp = rundir_file(dir, "qemu.pid.tmp");
	char *s = xasprintf("%d %llu\n", (int)pid, proc_starttime(pid));
	int rc = file_write(tmp, s, strlen(s), 0600);

	if (rc == 0)
		rc = rename(tmp, p);
	free(p);
	free(tmp);
	free(s);
	return rc;
}

static char *
read_field(const char *dir, const char *name)
{
	char *p = rundir_file(dir, name), *s = file_read_line(p);

	free(p);
	return s;
}

int
rundir_read(const char *run, const char *id, struct vmrun *r)
{
	char *pid;

	memset(r, 0, sizeof *r);
	r->id = xstrdup(id);
	r->dir = xasprintf("%s/%s", run, id);
	if ((r->label = read_field(r->dir, "label")) == NULL) {
		vmrun_clear(r);
		return -1;
	}
	r->uuid = read_field(r->dir, "uuid");
	r->def = read_field(r->dir, "definition");
	if ((pid = read_field(r->dir, "qemu.pid")) != NULL) {
		int ipid = 0;

		if (sscanf(pid, "%d %llu", &ipid, &r->qemu_start) >= 1)
			r->qemu_pid = ipid;
		free(pid);
	}
	return 0;
}

static int
cmp_label(const void *a, const void *b)
{
	const struct vmrun *x = a, *y = b;
	int c = strcmp(x->label, y->label);

	return c ? c : strcmp(x->id, y->id);
}

int
rundir_list(const char *run, struct vmrun **out, size_t *n)
{
	DIR *d;
	struct dirent *de;

	*out = NULL;
	*n = 0;
	if ((d = opendir(run)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		struct vmrun r;

		if (de->d_name[0] == '.')
			continue;
		if (rundir_read(run, de->d_name, &r) != 0)
			continue;
		*out = xreallocarray(*out, *n + 1, sizeof **out);
		(*out)[(*n)++] = r;
	}
	closedir(d);
	if (*n > 1)
		qsort(*out, *n, sizeof **out, cmp_label);
	return 0;
}

void
vmrun_clear(struct vmrun *r)
{
	free(r->id);
	free(r->dir);
	free(r->label);
	free(r->uuid);
	free(r->def);
	memset(r, 0, sizeof *r);
}

void
vmrun_list_free(struct vmrun *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vmrun_clear(&v[i]);
	free(v);
}

static int
write_field(const char *dir, const char *name, const char *val)
{
	char *p = rundir_file(dir, name);
	char *s = xasprintf("%s\n", val ? val : "");
	int rc = file_write(p, s, strlen(s), 0600);

	free(p);
	free(s);
	return rc;
}

int
rundir_claim(const char *run, const char *id, const char *label, const char *uuid,
    const char *def, int *lockfd, char **dirp, char **cause)
{
	char *tmp = xasprintf("%s/.%s.XXXXXX", run, id), *final = xasprintf("%s/%s", run, id);
	char *lockp;
	int fd = -1, attempt, rc;

	*lockfd = -1;
	*dirp = NULL;
	if (mkdtemp(tmp) == NULL) {
		rc = fail(cause, EXIT_FAIL, "cannot create a directory in '%s': %s", run,
		    strerror(errno));
		goto out;
	}
	lockp = rundir_file(tmp, "lock");
	fd = open(lockp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	free(lockp);
	if (fd == -1 || flock(fd, LOCK_EX) == -1 || write_field(tmp, "label", label) == -1 ||
	    write_field(tmp, "uuid", uuid) == -1 || write_field(tmp, "definition", def) == -1) {
		rc = fail(cause, EXIT_FAIL, "cannot prepare '%s': %s", tmp, strerror(errno));
		goto out_rm;
	}
	for (attempt = 0; attempt < 3; attempt++) {
		struct vmrun r;
		int other;

		if (rename(tmp, final) == 0) {
			*lockfd = fd;
			*dirp = final;
			final = NULL;
			rc = 0;
			goto out;
		}
		if (errno != EEXIST && errno != ENOTEMPTY) {
			rc = fail(cause, EXIT_FAIL, "cannot create '%s': %s", final, strerror(errno));
			goto out_rm;
		}
		/* The directory exists: is its owner alive? */
		other = rundir_trylock(final);
		if (other == -1) {
			rc = fail(cause, EXIT_STATE, "'%s' is already running", label);
			goto out_rm;
		}
		if (rundir_read(run, id, &r) == 0 && vmrun_qemu_alive(&r)) {
			rc = fail(cause, EXIT_STATE, "'%s' is already running (QEMU pid %d, "
			    "unsupervised)", label, (int)r.qemu_pid);
			vmrun_clear(&r);
			if (other >= 0)
				close(other);
			goto out_rm;
		}
		log_warn("removing the stale runtime directory of '%s' ('%s'): its QEMU is gone",
		    r.label ? r.label : label, final);
		vmrun_clear(&r);
		rmdir_flat(final);
		if (other >= 0)
			close(other);
	}
	rc = fail(cause, EXIT_STATE, "'%s' is being started by another process", label);
out_rm:
	if (fd != -1)
		close(fd);
	rmdir_flat(tmp);
out:
	free(tmp);
	free(final);
	return rc;
}

void
rundir_argv_facts(const char *buf, size_t len, char **exe, char **macs)
{
	char *m = NULL;

	*exe = NULL;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
		const char *a = buf + i, *p;

		if (i == 0 || (strstr(a, "qemu-system-") != NULL && strchr(a, '=') == NULL)) {
			free(*exe);
			*exe = xstrdup(a);
		}
		for (p = a; (p = strstr(p, "mac=")) != NULL; p += 4) {
			char *t;

			if (p != a && p[-1] != ',')
				continue;
			t = m ? xasprintf("%s,%.*s", m, (int)strcspn(p + 4, ","), p + 4) :
			    xstrndup(p + 4, strcspn(p + 4, ","));
			free(m);
			m = t;
		}
	}
	*macs = m;
}
