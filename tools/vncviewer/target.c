/*
 * What TARGET names: a UNIX socket, unix:PATH, HOST:PORT, or a ctys runtime directory whose
 * `vnc` file says "unix <path>" or "tcp <host>:<port>" (and vnc.password holds the password).
 */
#include "vncviewer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "exitcodes.h"
#include "spawn.h"
#include "util.h"

/* Reads a password file: the first line, at most 8 characters count for VNC. */
static int
password_read(const char *path, char **out, char **cause)
{
	char *s;

	if ((s = file_read(path, 4096, NULL)) == NULL) {
		if (errno == ENOENT)
			return fail(cause, EXIT_NOTFOUND, "'%s': no such password file", path);
		return fail(cause, EXIT_FAIL, "'%s': %s", path, strerror(errno));
	}
	s[strcspn(s, "\r\n")] = '\0';
	if (*s == '\0') {
		free(s);
		return fail(cause, EXIT_FAIL, "'%s': the password file is empty", path);
	}
	if (strlen(s) > 8)
		log_warn("'%s': VNC uses only the first 8 characters of a password", path);
	free(*out);
	*out = s;
	return 0;
}

/* "host:port" or "[v6]:port" into its parts; the port must be a number 1..65535. */
static int
hostport_parse(const char *s, struct target *t, char **cause)
{
	const char *colon;
	char *host;
	long port;
	char *end;

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return fail(cause, EXIT_USAGE, "'%s': not [HOST]:PORT", s);
		host = xstrndup(s + 1, (size_t)(rb - s - 1));
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return fail(cause, EXIT_USAGE, "'%s': not a socket path, runtime directory "
			    "or HOST:PORT", s);
		host = xstrndup(s, (size_t)(colon - s));
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 1 || port > 65535) {
		free(host);
		return fail(cause, EXIT_USAGE, "'%s': not a port number: '%s'", s, colon + 1);
	}
	if (*host == '\0' || *host == '-') {
		free(host);
		return fail(cause, EXIT_USAGE, "'%s': bad host name", s);
	}
	t->host = host;
	t->port = xasprintf("%ld", port);
	return 0;
}

/* The QEMU of a runtime directory, remembered to tell later whether it is gone. */
static void
qemu_pid_read(struct target *t)
{
	char *p = xasprintf("%s/qemu.pid", t->rundir), *s;

	if ((s = file_read_line(p)) != NULL) {
		if (sscanf(s, "%ld %llu", &t->qemu_pid, &t->qemu_start) < 1)
			t->qemu_pid = 0;
		free(s);
	}
	free(p);
}

static int
target_from_rundir(const char *dir, struct target *t, char **cause)
{
	struct stat st;
	char *p, *line, *label;
	int rc = 0;

	if (stat(dir, &st) == -1) {
		if (errno == ENOENT)
			return fail(cause, EXIT_NOTFOUND, "'%s': no such runtime directory", dir);
		return fail(cause, EXIT_FAIL, "'%s': %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return fail(cause, EXIT_USAGE, "'%s': not a directory", dir);
	t->rundir = xstrdup(dir);
	p = xasprintf("%s/vnc", dir);
	line = file_read_line(p);
	if (line == NULL) {
		if (errno == ENOENT)
			rc = fail(cause, EXIT_NOTFOUND, "'%s': no display here (no '%s'; is the "
			    "VM running?)", dir, p);
		else
			rc = fail(cause, EXIT_FAIL, "'%s': %s", p, strerror(errno));
		free(p);
		return rc;
	}
	if (strncmp(line, "unix ", 5) == 0 && line[5] == '/')
		t->path = xstrdup(line + 5);
	else if (strncmp(line, "tcp ", 4) == 0)
		rc = hostport_parse(line + 4, t, cause);
	else
		rc = fail(cause, EXIT_FAIL, "'%s': not 'unix PATH' or 'tcp HOST:PORT': '%s'",
		    p, line);
	free(line);
	free(p);
	if (rc != 0)
		return rc;

	p = xasprintf("%s/label", dir);
	if ((label = file_read_line(p)) != NULL && *label != '\0')
		t->name = label;
	else
		free(label);
	free(p);
	if (t->password == NULL) {
		p = xasprintf("%s/vnc.password", dir);
		if (access(p, F_OK) == 0)
			rc = password_read(p, &t->password, cause);
		free(p);
	}
	qemu_pid_read(t);
	return rc;
}

/* A socket path; a socket in a ctys runtime directory makes that directory known too. */
static int
target_from_path(const char *path, struct target *t, char **cause)
{
	struct stat st;
	char *dir, *slash, *p;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			return fail(cause, EXIT_NOTFOUND, "'%s': no such socket", path);
		return fail(cause, EXIT_FAIL, "'%s': %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return fail(cause, EXIT_FAIL, "'%s': not a socket", path);
	t->path = xstrdup(path);
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		p = xasprintf("%s/qemu.pid", dir);
		if (access(p, F_OK) == 0) {
			t->rundir = dir;
			dir = NULL;
			qemu_pid_read(t);
		}
		free(p);
	}
	free(dir);
	return 0;
}

/* A ctys machine-address ("l:web1", "u:...", "PID:123"): its keys before the first ':'. */
static int
is_address(const char *arg)
{
	static const char *const keys[] = { "L", "LABEL", "U", "UUID", "P", "ID", "PNAME",
	    "PATHNAME", "M", "MAC", "T", "TCP", "F", "FNAME", "FILENAME", "PID", "DR", "DBREC",
	    "DBRECORD", NULL };
	size_t n = strcspn(arg, ":");

	if (arg[n] != ':')
		return 0;
	for (int i = 0; keys[i] != NULL; i++)
		if (strlen(keys[i]) == n && strncasecmp(arg, keys[i], n) == 0)
			return 1;
	return 0;
}

/*
 * A machine-address: ctys (beside this program, else in PATH) says where the VM's console
 * socket is (GETCLIENTPORT ...,CLI); its directory is the runtime directory.
 */
static int
target_from_address(const char *arg, struct target *t, char **cause)
{
	char self[4096], *ctys = NULL, *req, *out = NULL, *eq, *slash;
	char *argv[5];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	int status, rc;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			ctys = xasprintf("%s/ctys", self);
			if (access(ctys, X_OK) != 0) {
				free(ctys);
				ctys = NULL;
			}
		}
	}
	if (ctys == NULL)
		ctys = xstrdup("ctys");
	req = xasprintf("GETCLIENTPORT=%s,CLI", arg);
	argv[0] = ctys;
	argv[1] = "-a";
	argv[2] = req;
	argv[3] = NULL;
	if (spawn_capture(argv, 65536, &out, &status, cause) != 0) {
		rc = EXIT_FAIL;
		goto done;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out == NULL ||
	    (eq = strstr(out, ")=")) == NULL) {
		rc = fail(cause, WIFEXITED(status) && WEXITSTATUS(status) == EXIT_STATE ?
		    EXIT_NOTFOUND : EXIT_FAIL, "'%s': ctys found no running VM there", arg);
		goto done;
	}
	eq += 2;
	eq[strcspn(eq, "\n")] = '\0';
	if ((slash = strrchr(eq, '/')) == NULL) {
		rc = fail(cause, EXIT_FAIL, "'%s': unexpected answer from ctys: '%s'", arg, eq);
		goto done;
	}
	*slash = '\0';
	rc = target_from_rundir(eq, t, cause);
done:
	free(out);
	free(req);
	free(ctys);
	return rc;
}

int
target_resolve(const char *arg, const char *rundir, const char *pwfile, struct target *t,
    char **cause)
{
	struct stat st;
	int rc;

	memset(t, 0, sizeof *t);
	t->fd = -1;
	if (pwfile != NULL && (rc = password_read(pwfile, &t->password, cause)) != 0)
		return rc;
	if (rundir != NULL)
		rc = target_from_rundir(rundir, t, cause);
	else if (is_address(arg))
		rc = target_from_address(arg, t, cause);
	else if (strncmp(arg, "unix:", 5) == 0) {
		if (arg[5] == '\0')
			return fail(cause, EXIT_USAGE, "'%s': no socket path", arg);
		rc = target_from_path(arg + 5, t, cause);
	} else if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
		rc = target_from_rundir(arg, t, cause);
	else if (*arg == '/' || strncmp(arg, "./", 2) == 0 || strncmp(arg, "../", 3) == 0)
		rc = target_from_path(arg, t, cause);
	else
		rc = hostport_parse(arg, t, cause);
	if (rc != 0)
		return rc;
	if (t->name == NULL) {
		if (t->path != NULL)
			t->name = xstrdup(t->path);
		else
			t->name = xasprintf(strchr(t->host, ':') != NULL ? "[%s]:%s" : "%s:%s",
			    t->host, t->port);
	}
	return 0;
}

void
target_free(struct target *t)
{
	free(t->path);
	free(t->host);
	free(t->port);
	free(t->name);
	free(t->rundir);
	if (t->password != NULL) {
		explicit_bzero(t->password, strlen(t->password));
		free(t->password);
	}
	memset(t, 0, sizeof *t);
	t->fd = -1;
}

/* The start time (field 22 of /proc/PID/stat) of a live, non-zombie process; 0 if none. */
static unsigned long long
proc_live_start(long pid)
{
	char path[64], *buf, *p;
	unsigned long long st = 0;
	int field;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((buf = file_read(path, 65536, NULL)) == NULL)
		return 0;
	/* comm may hold spaces and parentheses: fields are counted after the last ')' */
	if ((p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X') {
		for (field = 2; *p != '\0' && field < 22; p++)
			if (*p == ' ')
				field++;
		st = strtoull(p, NULL, 10);
	}
	free(buf);
	return st;
}

int
target_vm_gone(const struct target *t, double wait)
{
	double end = now_mono() + wait;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	unsigned long long st;

	if (t->rundir == NULL)
		return 0;
	for (;;) {
		if (access(t->rundir, F_OK) == -1 && errno == ENOENT)
			return 1;
		if (t->qemu_pid > 0) {
			st = proc_live_start(t->qemu_pid);
			if (st == 0 || (t->qemu_start != 0 && st != t->qemu_start))
				return 1;
		}
		if (now_mono() >= end)
			return 0;
		nanosleep(&ts, NULL);
	}
}
