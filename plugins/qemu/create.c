/* CREATE: definition -> QEMU argv -> a supervised QEMU, ready when QMP answers. */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "argv.h"
#include "console.h"
#include "create.h"
#include "detect.h"
#include "policy.h"
#include "probe.h"
#include "exitcodes.h"
#include "qemu.h"
#include "remote.h"
#include "rundir.h"
#include "saved.h"
#include "spawn.h"
#include "supervisor.h"
#include "vm.h"
#include "vmconf.h"
#include "vmdef.h"

char *
def_file(const struct vmdef *d, const char *path)
{
	return path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", d->dir, path);
}

static int
n_ends_qcow2(const char *p)
{
	size_t n = strlen(p);

	return n >= 6 && strcmp(p + n - 6, ".qcow2") == 0;
}

static const char *
disk_format(const struct vmdef *d, const char *path)
{
	unsigned char magic[4];
	char *p = def_file(d, path);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1) {
		/* not there yet (an INSTMODE target made later): by its name */
		const char *f = n_ends_qcow2(p) ? "qcow2" : "raw";

		free(p);
		return f;
	}
	free(p);
	n = read(fd, magic, sizeof magic);
	close(fd);
	if (n == 4 && memcmp(magic, "QFI\xfb", 4) == 0)
		return "qcow2";
	return "raw";
}

static int
check_file(const struct vmdef *d, const char *key, const char *path, char **cause)
{
	char *p;
	int rc = 0;

	if (path == NULL)
		return 0;
	p = def_file(d, path);
	if (access(p, R_OK) == -1)
		rc = fail(cause, errno == ENOENT ? EXIT_NOTFOUND : EXIT_FAIL, "%s:%d: %s: %s: '%s'",
		    d->path, vmdef_line(d, key), key, errno == ENOENT ? "no such file" :
		    strerror(errno), p);
	free(p);
	return rc;
}

/* A path given on the command line: relative to the caller's working directory. */
static char *
abs_path(const char *p)
{
	char cwd[4096];

	if (p == NULL || *p == '\0')
		return NULL;
	if (p[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
		return xstrdup(p);
	return xasprintf("%s/%s", cwd, p);
}

void
create_opts_free(struct create_opts *c)
{
	free(c->bootpath);
	free(c->kernel);
	free(c->initrd);
	free(c->append);
	free(c->inst_src);
	free(c->inst_tgt);
	free(c->argsadd);
}

static int
media_arg(const char *key, const char *s, int *mode, char **cause)
{
	if ((*mode = qemu_media_parse(s)) == MEDIA_NONE)
		return fail(cause, EXIT_USAGE, "%s: not a boot mode: '%s' (CD, DVD, FDD, HDD, VHDD, "
		    "USB, PXE)", key, s);
	return 0;
}

int
create_opts_parse(struct subopt_list *so, struct qemu_opts *qo, struct create_opts *c,
    char **cause)
{
	struct subopt *o;
	int rc;

	if ((o = subopt_find(so, "BOOTMODE")) != NULL) {
		if ((rc = media_arg("BOOTMODE", o->fields[0], &qo->bootmode, cause)) != 0)
			return rc;
		if (o->nfields > 1)
			qo->bootpath = c->bootpath = abs_path(o->fields[1]);
	}
	if ((o = subopt_find(so, "KERNEL")) != NULL) {
		qo->kernel = c->kernel = abs_path(o->fields[0]);
		qo->initrd = c->initrd = o->nfields > 1 ? abs_path(o->fields[1]) : NULL;
		if (o->nfields > 2)
			qo->append = c->append = xstrdup(o->fields[2]);
		if (qo->kernel == NULL)
			return fail(cause, EXIT_USAGE, "KERNEL: needs a kernel image");
	}
	if ((o = subopt_find(so, "INSTMODE")) != NULL) {
		qo->instmode = 1;
		/* <src mode>%<src path>%<target mode>%<target path>%<INIT|custom>; empty: default */
		c->inst_src_name = o->nfields > 0 && *o->fields[0] ? o->fields[0] : NULL;
		c->inst_tgt_name = o->nfields > 2 && *o->fields[2] ? o->fields[2] : NULL;
		if (c->inst_src_name && (rc = media_arg("INSTMODE", c->inst_src_name,
		    &qo->inst_src_mode, cause)) != 0)
			return rc;
		if (c->inst_tgt_name && (rc = media_arg("INSTMODE", c->inst_tgt_name,
		    &qo->inst_tgt_mode, cause)) != 0)
			return rc;
		if (o->nfields > 1)
			qo->inst_src = c->inst_src = abs_path(o->fields[1]);
		if (o->nfields > 3)
			qo->inst_tgt = c->inst_tgt = abs_path(o->fields[3]);
		if (o->nfields > 5)
			return fail(cause, EXIT_USAGE, "INSTMODE: too many values (src%%path%%target"
			    "%%path%%INIT|custom)");
		if (o->nfields > 4 && strcasecmp(o->fields[4], "INIT") == 0)
			c->inst_init = 1;
		else if (o->nfields > 4 && *o->fields[4] != '\0')
			log_warn("INSTMODE: '%s' (a custom post-install mode of the original's "
			    "wrapper scripts) has no effect in ctys", o->fields[4]);
	}
	if ((o = subopt_find(so, "ARGSADD")) != NULL) {
		char *joined;

		if (strcasecmp(o->vals[0], "S") != 0)
			return fail(cause, EXIT_USAGE, "ARGSADD:%s: only S (server, the QEMU command "
			    "line) exists; C and B were never implemented", o->vals[0]);
		joined = xstrdup("");
		for (size_t i = 1; i < o->nvals; i++) {
			char *t = xasprintf("%s%s%s", joined, i > 1 ? "%" : "", o->vals[i]);

			free(joined);
			joined = t;
		}
		qo->argsadd = c->argsadd = joined;
	}
	return 0;
}

int
create_opts_defaults(const struct vmdef *d, struct qemu_opts *qo, struct create_opts *c,
    char **cause)
{
	const char *v;
	int rc;

	if (!qo->instmode)
		return 0;
	if (qo->inst_src_mode == MEDIA_NONE) {
		v = vmdef_get(d, "DEFAULTINSTMODE");
		if ((rc = media_arg("DEFAULTINSTMODE", v ? v : "CD", &qo->inst_src_mode,
		    cause)) != 0)
			return rc;
	}
	if (qo->inst_src == NULL && (v = vmdef_get(d, "DEFAULTINSTSOURCE")) != NULL)
		qo->inst_src = c->inst_src = def_file(d, v);
	if (qo->inst_tgt_mode == MEDIA_NONE)
		qo->inst_tgt_mode = MEDIA_HDD;
	if (qo->inst_tgt == NULL && (v = vmdef_get(d, "DEFAULTINSTTARGET")) != NULL)
		qo->inst_tgt = c->inst_tgt = def_file(d, v);
	return 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* qemu-img size syntax: digits, an optional fraction, an optional K/M/G/T/P/E suffix. */
static int
size_valid(const char *s)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0)
		return 0;
	if (s[n] == '.' && strspn(s + n + 1, "0123456789") > 0)
		n += 1 + strspn(s + n + 1, "0123456789");
	if (s[n] != '\0' && strchr("kKMGTPEb", s[n]) != NULL)
		n++;
	return s[n] == '\0';
}

int
create_inst_target(const struct vmdef *d, const struct qemu_opts *qo,
    const struct create_opts *c, int dry, char **cause)
{
	const char *img = vmdef_get(d, "QEMU_IMG"), *size = vmdef_get(d, "DEFAULTINSTTARGETSIZE");
	struct spawn sp = { 0 };
	char errbuf[1024], *path;
	size_t n = 0;
	ssize_t r;
	int fd, st, rc = 0;

	if (!qo->instmode || (qo->inst_tgt_mode != MEDIA_HDD && qo->inst_tgt_mode != MEDIA_VHDD))
		return 0;
	if (qo->inst_tgt != NULL)
		path = xstrdup(qo->inst_tgt);
	else if (vmdef_get(d, "HDA") != NULL || vmdef_get(d, "HDDBOOTIMAGE") != NULL)
		path = def_file(d, vmdef_get(d, "HDA") ? vmdef_get(d, "HDA") :
		    vmdef_get(d, "HDDBOOTIMAGE"));
	else
		return fail(cause, EXIT_USAGE, "INSTMODE: no install target: give one "
		    "(INSTMODE:<src>%%<path>%%HDD%%<disk>%%INIT) or set DEFAULTINSTTARGET or HDA in %s",
		    d->path);
	if (size != NULL && !size_valid(size)) {
		rc = fail(cause, EXIT_FAIL, "%s:%d: DEFAULTINSTTARGETSIZE: not a disk size (e.g. "
		    "8G, 512M): '%s'", d->path, vmdef_line(d, "DEFAULTINSTTARGETSIZE"), size);
		goto out;
	}
	if (access(path, F_OK) == 0)
		goto out;
	if (!c->inst_init) {
		rc = fail(cause, EXIT_NOTFOUND, "INSTMODE: the install target '%s' does not exist "
		    "(end INSTMODE with %%INIT to create it)", path);
		goto out;
	}
	if (dry)
		goto out;
	/* O_EXCL: a disk that appeared meanwhile is never overwritten */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		if (errno != EEXIST)
			rc = fail(cause, EXIT_FAIL, "INSTMODE: cannot create '%s': %s", path,
			    strerror(errno));
		goto out;
	}
	close(fd);
	{
		char *argv[] = { (char *)(img ? img : "qemu-img"), "create", "-q", "-f",
		    (char *)(ends_with(path, ".qcow2") ? "qcow2" : "raw"), path,
		    (char *)(size ? size : "8G"), NULL };

		sp.argv = argv;
		sp.in = SPAWN_NULL;
		sp.out = SPAWN_NULL;
		sp.err = SPAWN_PIPE;
		if (spawn_start(&sp, cause) != 0) {
			unlink(path);
			rc = EXIT_FAIL;
			goto out;
		}
		while (n < sizeof errbuf - 1 &&
		    (r = read(sp.err_pipe, errbuf + n, sizeof errbuf - 1 - n)) != 0) {
			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1)
				break;
			n += (size_t)r;
		}
		errbuf[n] = '\0';
		errbuf[strcspn(errbuf, "\n")] = '\0';
		close(sp.err_pipe);
		st = spawn_wait(sp.pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			unlink(path);
			rc = fail(cause, EXIT_FAIL, "INSTMODE: '%s create' of '%s' failed: %s",
			    argv[0], path, *errbuf ? errbuf : "no message");
			goto out;
		}
		log_debug(1, "created the install target %s (%s, %s)", path, argv[4], argv[6]);
	}
out:
	free(path);
	return rc;
}

static const char *
format_cb(const char *path, void *arg)
{
	return disk_format(arg, path);
}

/* A tap must exist unless we may create it; a bridge must exist and be allowed. */
static int
netif_cb(const char *ifn, int bridge, char **why, void *arg)
{
	char *p = xasprintf("/sys/class/net/%s%s", ifn, bridge ? "/bridge" : "");
	int exists = access(p, F_OK) == 0, rc = 0;

	(void)arg;
	free(p);
	if (bridge && !exists)
		rc = fail(why, -1, "bridge '%s' does not exist (ip link add %s type bridge)", ifn,
		    ifn);
	else if (bridge) {
		char *conf = file_read("/etc/qemu/bridge.conf", 65536, NULL), *want;

		want = xasprintf("allow %s", ifn);
		if (conf == NULL || (strstr(conf, want) == NULL && strstr(conf, "allow all") == NULL))
			rc = fail(why, -1, "qemu-bridge-helper does not allow bridge '%s': add "
			    "'%s' to /etc/qemu/bridge.conf", ifn, want);
		free(want);
		free(conf);
	} else if (!exists && geteuid() != 0)
		rc = fail(why, -1, "tap interface '%s' does not exist (ip tuntap add %s mode tap "
		    "user %u)", ifn, ifn, (unsigned)getuid());
	return rc;
}

/* A free TCP port on the loopback for the guest's ssh, or 0. */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1)
		return 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
check_files(const struct vmdef *d, const struct qemu_opts *qo, const struct create_opts *c,
    char **cause)
{
	/* HDA made by INSTMODE ...%INIT is checked by create_inst_target */
	int hda_made = qo->instmode && c->inst_init && qo->inst_tgt == NULL &&
	    (qo->inst_tgt_mode == MEDIA_HDD || qo->inst_tgt_mode == MEDIA_VHDD);

	static const char *const keys[] = { "KERNELIMAGE", "INITRDIMAGE", "HDA", "HDB", "HDC",
	    "HDD", "FDA", "FDB" };
	const char *v;
	int rc;

	for (size_t i = 0; i < nitems(keys); i++) {
		if ((qo->kernel != NULL && i < 2) || (hda_made && i == 2))
			continue;
		v = vmdef_get(d, keys[i]);
		if (i == 2 && v == NULL && (v = vmdef_get(d, "HDDBOOTIMAGE")) != NULL) {
			if (hda_made)
				continue;
			if ((rc = check_file(d, "HDDBOOTIMAGE", v, cause)) != 0)
				return rc;
			continue;
		}
		if ((rc = check_file(d, keys[i], v, cause)) != 0)
			return rc;
	}
	{
		const char *opt[] = { qo->kernel, qo->initrd, qo->bootpath, qo->inst_src };
		const char *name[] = { "KERNEL", "KERNEL initrd", "BOOTMODE", "INSTMODE source" };

		for (size_t i = 0; i < nitems(opt); i++)
			if (opt[i] != NULL && access(opt[i], R_OK) == -1)
				return fail(cause, errno == ENOENT ? EXIT_NOTFOUND : EXIT_FAIL,
				    "%s: %s: '%s'", name[i], strerror(errno), opt[i]);
	}
	return 0;
}

/* The definition's addresses (#@#IP<n>): what LIST shows until the guest agent tells. */
static void
record_def_ips(const char *dir, const struct vmdef *d)
{
	struct vmconf c;
	struct strv ips = { 0 };
	char *p, *s;

	vmconf_init(&c, d);
	for (int i = 0; i < c.nnics; i++)
		for (size_t k = 0; k < c.nics[i].nips; k++)
			if (c.nics[i].ips[k].addr != NULL && *c.nics[i].ips[k].addr != '\0')
				strv_add(&ips, c.nics[i].ips[k].addr);
	vmconf_free(&c);
	if (ips.n == 0)
		return;
	s = strv_join(&ips, ",");
	p = rundir_file(dir, "ips");
	file_write(p, s, strlen(s), 0600);
	free(p);
	free(s);
	strv_free(&ips);
}

/* What INFO and LIST will want to know about this start, beside the VM's sockets. */
static void
record_facts(const char *dir, const struct qemu_opts *qo, const struct strv *argv,
    const struct qemu_caps *caps)
{
	char *p, *buf, *s;
	size_t len = 0;

	p = rundir_file(dir, "accel");
	file_write(p, qo->accel, strlen(qo->accel), 0600);
	free(p);
	for (size_t i = 0; i < argv->n; i++)
		len += strlen(argv->v[i]) + 1;
	buf = xmalloc(len + 1);
	len = 0;
	for (size_t i = 0; i < argv->n; i++) {
		size_t l = strlen(argv->v[i]) + 1;

		memcpy(buf + len, argv->v[i], l);
		len += l;
	}
	p = rundir_file(dir, "argv");
	file_write(p, buf, len, 0600);
	free(p);
	free(buf);
	if (qo->ssh_port > 0) {
		p = rundir_file(dir, "ports");
		s = xasprintf("ssh tcp 127.0.0.1:%d\n", qo->ssh_port);
		file_write(p, s, strlen(s), 0600);
		free(s);
		free(p);
	}
	if (caps != NULL && caps->version != NULL) {
		p = rundir_file(dir, "qemu.version");
		file_write(p, caps->version, strlen(caps->version), 0600);
		free(p);
	}
}

/*
 * A suspended VM: RESUME restores it with the saved argv (plus -incoming defer) unless a
 * disk changed (FORCE restores anyway); without RESUME, FORCE discards the saved state
 * and boots afresh, else CREATE refuses. *restore is the state image to load, or NULL.
 */
static int
prepare_restore(struct subopt_list *so, const char *label, const char *savedir,
    struct strv *argv, char **restore, char **cause)
{
	int resume = subopt_find(so, "RESUME") != NULL, force = subopt_find(so, "FORCE") != NULL;
	char *img = saved_image(savedir);
	struct strv saved;
	int rc;

	*restore = NULL;
	if (img == NULL) {
		if (force && !resume)
			rmdir_flat(savedir);	/* a half-written save */
		return 0;
	}
	if (!resume && !force) {
		free(img);
		return fail(cause, EXIT_STATE, "'%s' is suspended (its state is in %s): CREATE "
		    "with RESUME restores it, with FORCE discards it and boots afresh", label,
		    savedir);
	}
	if (!resume) {
		log_warn("'%s': discarding the saved state in %s", label, savedir);
		rmdir_flat(savedir);
		free(img);
		return 0;
	}
	if (!force && (rc = saved_check_files(savedir, cause)) != 0) {
		char *c = xasprintf("'%s' cannot be restored: %s (FORCE restores anyway)", label,
		    *cause);

		free(*cause);
		*cause = c;
		free(img);
		return rc;
	}
	if (saved_argv(savedir, &saved, cause) != 0) {
		free(img);
		return EXIT_FAIL;
	}
	strv_free(argv);
	*argv = saved;
	strv_add(argv, "-incoming");
	strv_add(argv, "defer");
	*restore = img;
	return 0;
}

/*
 * CREATE of a VM that already runs: RESUME continues it if paused, REUSE/CONNECT accept
 * it as it is. Returns -1 when no running VM matches (CREATE goes on), else an exit status.
 */
/*
 * Where the VM's display is, for viewers and GETCLIENTPORT: the runtime directory's `vnc`
 * file, "unix <path>" or "tcp <host>:<port>". A TCP display gets a random password over
 * QMP (never on a command line), kept in vnc.password (0600) for local viewers.
 */
static int
vnc_publish(const char *dir, const char *label)
{
	struct ctl_client c;
	json_object *a, *args, *d = NULL, *v;
	char *sock = rundir_file(dir, "ctl.sock"), *p, *line = NULL, *cause = NULL;
	char pw[9];
	unsigned char rnd[8];
	int rc = 0;

	if ((rc = ctl_open(&c, sock, 5000, &cause)) != 0) {
		log_err("'%s': %s", label, cause);
		free(cause);
		free(sock);
		return EXIT_FAIL;
	}
	free(sock);
	a = json_object_new_object();
	json_object_object_add(a, "execute", json_object_new_string("query-vnc"));
	if ((rc = ctl_call(&c, "qmp", a, &d, 5000, &cause)) != 0)
		goto out;
	if (json_object_object_get_ex(d, "family", &v) && strcmp(json_object_get_string(v),
	    "unix") == 0)
		line = xasprintf("unix %s/vnc.sock\n", dir);
	else if (json_object_object_get_ex(d, "service", &v)) {
		const char *host = json_object_object_get_ex(d, "host", &a) ?
		    json_object_get_string(a) : "127.0.0.1";

		line = xasprintf("tcp %s:%s\n", host, json_object_get_string(v));
		/* a password of 8 random printable characters (VNC uses 8 at most) */
		if (getentropy(rnd, sizeof rnd) == -1) {
			rc = fail(&cause, EXIT_FAIL, "getentropy: %s", strerror(errno));
			goto out;
		}
		for (int i = 0; i < 8; i++)
			pw[i] = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789"[rnd[i] % 55];
		pw[8] = '\0';
		p = rundir_file(dir, "vnc.password");
		file_write(p, pw, 8, 0600);
		free(p);
		a = json_object_new_object();
		args = json_object_new_object();
		json_object_object_add(args, "protocol", json_object_new_string("vnc"));
		json_object_object_add(args, "password", json_object_new_string(pw));
		json_object_object_add(a, "execute", json_object_new_string("set_password"));
		json_object_object_add(a, "arguments", args);
		json_object_put(d);
		d = NULL;
		if ((rc = ctl_call(&c, "qmp", a, &d, 5000, &cause)) != 0)
			goto out;
	}
	if (line != NULL) {
		p = rundir_file(dir, "vnc");
		file_write(p, line, strlen(line), 0600);
		free(p);
	}
out:
	if (rc != 0)
		log_err("'%s': the display: %s", label, cause);
	free(cause);
	free(line);
	json_object_put(d);
	ctl_close(&c);
	return rc;
}

static const char *const console_types[] = { "NONE", "CLI", "CLI0", "SDL", "VNC", "XTERM",
    "GTERM", "EMACS", NULL };

/* The program a console type runs (NULL: none of its own). */
static const char *
console_program(int type)
{
	static const char *const prog[] = { NULL, NULL, NULL, NULL, "ctys-vncviewer", "xterm",
	    "gnome-terminal", "emacs" };

	return type >= 0 && type < (int)nitems(prog) ? prog[type] : NULL;
}

static char *sibling(const char *name);

/* A program name found in PATH (or an absolute path that is executable). */
static int
in_path(const char *name)
{
	const char *path = getenv("PATH");
	char *dup, *dir, *save = NULL;
	int found = 0;

	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0;
	dup = xstrdup(path ? path : "/usr/bin:/bin");
	for (dir = strtok_r(dup, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", *dir ? dir : ".", name);

		found = access(p, X_OK) == 0;
		free(p);
	}
	free(dup);
	return found;
}

static int
console_check(const char *console, char **cause)
{
	for (int i = 0; console_types[i] != NULL; i++)
		if (strcasecmp(console, console_types[i]) == 0) {
			const char *prog = console_program(i);

			if (i >= 3 && getenv("DISPLAY") == NULL && getenv("WAYLAND_DISPLAY") == NULL &&
			    (i != 3 || getenv("SDL_VIDEODRIVER") == NULL))
				return fail(cause, EXIT_USAGE, "CONSOLE:%s needs a display: DISPLAY is "
				    "not set", console_types[i]);
			if (prog != NULL) {
				/* before the VM starts: a console that cannot open is an error now */
				char *p = sibling(prog);
				int ok = in_path(p);

				free(p);
				if (!ok)
					return fail(cause, EXIT_FAIL, "CONSOLE:%s: %s is not installed",
					    console_types[i], prog);
			}
			return 0;
		}
	return fail(cause, EXIT_USAGE, "CONSOLE:%s: not a console (NONE, CLI, CLI0, SDL, VNC, "
	    "XTERM, GTERM, EMACS)", console);
}

/* A program beside this ctys binary (build/bin, or the install's bin), else from PATH. */
static char *
sibling(const char *name)
{
	char self[4096], *slash, *p;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			p = xasprintf("%s/%s", self, name);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	return xstrdup(name);
}

/* The terminal's command: this ctys attaching the CLI console (on host, if not NULL). */
static void
attach_words(struct strv *av, const char *self, const char *attach, const char *host)
{
	strv_add(av, self);
	strv_add(av, "-a");
	strv_add(av, attach);
	if (host != NULL) {
		strv_add(av, "--");
		strv_add(av, host);
	}
}

/* Elisp string literal of s. */
static char *
elisp_string(const char *s)
{
	char *out = xmalloc(strlen(s) * 2 + 3), *o = out;

	*o++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

/*
 * The console after CREATE: CLI/CLI0 here; VNC: ctys-vncviewer, detached; XTERM, GTERM,
 * EMACS: that terminal running a CLI attach, detached. (SDL is QEMU's own window.)
 */
static int
console_start(const char *type, const char *dir, const char *label, const char *def,
    const char *host, const char *addr, struct console_opts *co)
{
	struct strv av = { 0 };
	struct spawn sp = { 0 };
	char *self = NULL, *cause = NULL, *attach, *sock;
	int rc = 0, logfd = -1;

	if (strcasecmp(type, "CLI") == 0 || strcasecmp(type, "CLI0") == 0) {
		sock = rundir_file(dir, "ctl.sock");
		rc = console_attach(sock, co);
		free(sock);
		return rc;
	}
	{
		char b[4096];
		ssize_t n = readlink("/proc/self/exe", b, sizeof b - 1);

		self = n > 0 ? xstrndup(b, (size_t)n) : xstrdup("ctys");
	}
	if (addr != NULL)
		attach = xasprintf("CREATE=%s,REUSE,CONSOLE:CLI", addr);
	else
		attach = def != NULL && *def ? xasprintf("CREATE=p:%s,REUSE,CONSOLE:CLI", def) :
		    xasprintf("CREATE=l:%s,REUSE,CONSOLE:CLI", label);
	if (strcasecmp(type, "VNC") == 0) {
		char *viewer = sibling("ctys-vncviewer");

		strv_add(&av, viewer);
		strv_add(&av, "--title");
		strv_add(&av, label);
		if (host != NULL) {
			strv_add(&av, "--host");
			strv_add(&av, host);
			strv_add(&av, "--");
			strv_add(&av, addr);
		} else
			strv_add(&av, dir);
		free(viewer);
	} else if (strcasecmp(type, "XTERM") == 0) {
		strv_add(&av, "xterm");
		strv_add(&av, "-T");
		strv_add(&av, label);
		strv_add(&av, "-e");
		attach_words(&av, self, attach, host);
	} else if (strcasecmp(type, "GTERM") == 0) {
		strv_add(&av, "gnome-terminal");
		strv_addf(&av, "--title=%s", label);
		strv_add(&av, "--");
		attach_words(&av, self, attach, host);
	} else {		/* EMACS: a term buffer running the attach */
		char *a = elisp_string(self), *b = elisp_string(attach), *l = elisp_string(label);
		char *h = host != NULL ? elisp_string(host) : NULL;

		strv_add(&av, "emacs");
		strv_add(&av, "--eval");
		strv_addf(&av, "(progn (switch-to-buffer (make-term %s %s nil \"-a\" %s%s%s)) "
		    "(term-char-mode))", l, a, b, h ? " \"--\" " : "", h ? h : "");
		free(a);
		free(b);
		free(l);
		free(h);
	}
	/* detached: it must not hold our output open; what it says goes to a log */
	if (dir != NULL) {
		char *lp = rundir_file(dir, "viewer.log");

		logfd = open(lp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		/* the attach in a terminal says there why it failed (src/main.c) */
		if (logfd != -1)
			setenv("CTYS_CONSOLE_LOG", lp, 1);
		free(lp);
	}
	sp.argv = av.v;
	sp.in = SPAWN_NULL;
	sp.out = SPAWN_NULL;
	sp.err = logfd != -1 ? logfd : SPAWN_NULL;
	sp.new_session = 1;
	if (spawn_start(&sp, &cause) != 0) {
		log_err("CONSOLE:%s: %s (is %s installed?)", type, cause, av.v[0]);
		rc = EXIT_FAIL;
	} else
		log_debug(1, "CONSOLE:%s: %s started (pid %d)", type, av.v[0], (int)sp.pid);
	unsetenv("CTYS_CONSOLE_LOG");
	if (logfd != -1)
		close(logfd);
	free(cause);
	free(attach);
	free(self);
	strv_free(&av);
	return rc;
}

/*
 * The lock beside a definition (<definition>.lock): held by the supervisor and inherited
 * by QEMU for the VM's whole life, so that hosts sharing the definition (NFS) never run
 * it twice, disk or no disk (QEMU's image locks guard the disks too). Taken, not
 * checked-then-acted; the holder writes its host into the file for the loser's message.
 * A directory where no lock can be made (read-only) is not an error: the VM then has
 * only QEMU's image locks.
 */
static int
definition_lock(const char *def, const char *label, int *fdp, char **cause)
{
	char *path = xasprintf("%s.lock", def), host[256], *who;
	int fd;

	*fdp = -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) == -1) {
		log_debug(1, "%s: %s; no lock beside the definition", path, strerror(errno));
		free(path);
		return 0;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		char buf[512];
		ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
		int rc;

		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(fd);
		rc = fail(cause, EXIT_STATE, "'%s' runs already%s%s (%s is locked)", label,
		    *buf ? " on " : " on another host", buf, path);
		free(path);
		return rc;
	}
	if (gethostname(host, sizeof host) != 0)
		strcpy(host, "?");
	host[sizeof host - 1] = '\0';
	who = xasprintf("%s\n", host);
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, who, strlen(who), 0);
	free(who);
	free(path);
	*fdp = fd;
	return 0;
}

/* CONSOLE:CLI / CLI0 with ESCAPE: (else the configuration's console_escape) and FORCE. */
static int
console_opts_from(struct ctx *ctx, struct subopt_list *so, const char *console,
    struct console_opts *co, char **cause)
{
	struct subopt *o;
	const char *spec = ctx->conf->console_escape;

	memset(co, 0, sizeof *co);
	co->type = console;
	co->replay = -1;
	co->escape = CONSOLE_ESCAPE_DEFAULT;
	co->tied = strcasecmp(console, "CLI0") == 0;
	co->force = subopt_find(so, "FORCE") != NULL;
	if ((o = subopt_find(so, "ESCAPE")) != NULL)
		spec = o->arg;
	if (spec != NULL && (co->escape = console_escape_parse(spec)) == -1)
		return fail(cause, EXIT_USAGE, "ESCAPE: not an escape key (^], ^A, a character, "
		    "none): '%s'", spec);
	return 0;
}

static int
create_running(struct ctx *ctx, struct subopt_list *so, const struct vm_addr *addr,
    struct console_opts *copts)
{
	struct vmrun *vms = NULL;
	struct ctl_client c;
	json_object *data = NULL, *st;
	size_t n = 0;
	char *cause = NULL;
	int rc, resume = subopt_find(so, "RESUME") != NULL;

	vm_running(ctx, addr, &vms, &n);
	if (n == 0) {
		vmrun_list_free(vms, n);
		return -1;
	}
	if (n > 1) {
		log_err("'%s' matches %zu running VMs", addr->text, n);
		vmrun_list_free(vms, n);
		return EXIT_AMBIGUOUS;
	}
	if ((rc = vm_connect(ctx, &vms[0], &c, &cause)) != 0)
		goto out;
	if ((rc = ctl_call(&c, "status", NULL, &data, 5000, &cause)) == 0 &&
	    json_object_object_get_ex(data, "state", &st)) {
		const char *state = json_object_get_string(st);

		if (resume && strcmp(state, "paused") == 0) {
			json_object *a = json_object_new_object(), *r = NULL;

			json_object_object_add(a, "execute", json_object_new_string("cont"));
			rc = ctl_call(&c, "qmp", a, &r, 10000, &cause);
			json_object_put(r);
			if (rc == 0)
				log_debug(1, "'%s' continues", vms[0].label);
		} else if (resume && strcmp(state, "running") != 0)
			rc = fail(&cause, EXIT_STATE, "'%s' is %s; RESUME continues only a paused "
			    "VM (CANCEL RESET starts it again)", vms[0].label, state);
		else
			log_debug(1, "'%s' is already running (%s)", vms[0].label, state);
	}
	ctl_close(&c);
	if (rc == 0 && copts != NULL) {
		copts->label = vms[0].label;
		rc = console_start(copts->type, vms[0].dir, vms[0].label, vms[0].def, NULL, NULL,
		    copts);
	}
out:
	if (rc != 0 && cause != NULL)
		log_err("%s", cause);
	free(cause);
	json_object_put(data);
	vmrun_list_free(vms, n);
	return rc;
}

int
qemu_create(struct ctx *ctx, struct subopt_list *so)
{
	struct vm_addr addr;
	struct vmdef *d = NULL;
	struct host_facts facts;
	struct qemu_opts qo = { 0 };
	struct create_opts co = { 0 };
	struct sup_config sc = { 0 };
	struct qemu_caps *caps = NULL;
	struct qemu_policy pol;
	struct subopt *o;
	struct strv argv = { 0 };
	char *cause = NULL, *bin = NULL, *why = NULL, *label = NULL, *id = NULL, *dir = NULL;
	char *defpath = NULL, *savedir = NULL, *restore = NULL, *vnc = NULL, *rundir_path = NULL;
	const char *console = "NONE";
	struct console_opts copts;
	int rc, lockfd = -1, deflockfd = -1;
	pid_t qpid;

	if ((rc = vm_addr_parse(so, &addr, 0, &cause)) != 0)
		goto out;
	if ((o = subopt_find(so, "CONSOLE")) != NULL) {
		console = o->arg;
		if ((rc = console_check(console, &cause)) != 0)
			goto out;
	}
	if ((rc = console_opts_from(ctx, so, console, &copts, &cause)) != 0)
		goto out;
	if ((o = subopt_find(so, "VNC")) != NULL && strcasecmp(o->arg, "TCP") != 0 &&
	    strcasecmp(o->arg, "UNIX") != 0) {
		rc = fail(&cause, EXIT_USAGE, "VNC: TCP or UNIX, not '%s'", o->arg);
		goto out;
	}
	if ((rc = create_opts_parse(so, &qo, &co, &cause)) != 0)
		goto out;
	if (subopt_find(so, "RESUME|REUSE|CONNECT|RECONNECT") != NULL &&
	    subopt_find(so, "PRINT") == NULL &&
	    (rc = create_running(ctx, so, &addr, strcasecmp(console, "NONE") != 0 ? &copts : NULL))
	    != -1)
		goto out;
	if ((rc = vm_resolve_definition(ctx, &addr, &defpath, &cause)) != 0)
		goto out;
	if ((d = vmdef_load(defpath, &cause)) == NULL) {
		rc = EXIT_FAIL;
		goto out;
	}
	vmdef_print_diags(d);
	if (d->nerrors > 0) {
		rc = fail(&cause, EXIT_FAIL, "%s: %d error(s) in the definition", d->path,
		    d->nerrors);
		goto out;
	}
	if (!d->magic_qemu) {
		rc = fail(&cause, EXIT_FAIL, "%s: not a QEMU VM definition (no #@#MAGICID-QEMU)",
		    d->path);
		goto out;
	}
	if ((rc = create_opts_defaults(d, &qo, &co, &cause)) != 0 ||
	    (rc = check_files(d, &qo, &co, &cause)) != 0 ||
	    (rc = create_inst_target(d, &qo, &co, 1, &cause)) != 0)
		goto out;

	if ((rc = detect_binary(ctx->conf, vmdef_get(d, "STARTERCALL"),
	    vmdef_get(d, "ARCH") ? vmdef_get(d, "ARCH") : "x86_64", &bin, &cause)) != 0)
		goto out;
	if ((rc = probe_get(bin, ctx->paths->cache, &caps, &cause)) != 0)
		goto out;
	detect_host_facts(&facts);
	qo.binary = bin;
	qo.accel = detect_accel(&facts, vmdef_get(d, "ARCH"), vmdef_get(d, "ACCELERATOR"), &why);
	if (why != NULL) {
		const char *want = vmdef_get(d, "ACCELERATOR");

		if (want != NULL && strcasecmp(want, "KVM") == 0)
			log_warn("%s: ACCELERATOR=KVM, but KVM is not usable here (%s); using TCG",
			    d->path, why);
		else
			log_debug(1, "accelerator: TCG, because %s", why);
	}
	{
		const char *m = vmdef_get(d, "MACHINE");

		if (m == NULL || strchr(m, '-') == NULL)
			log_debug(1, "machine type %s: write a versioned type (e.g. MACHINE=%s) to "
			    "keep the guest's hardware across QEMU upgrades", m ? m : "(default)",
			    caps->default_machine ? caps->default_machine : "pc-q35-7.2");
	}
	qo.console = console;
	qo.qmp_fd = QEMU_FD_QMP;
	qo.serial_fd = QEMU_FD_SERIAL;
	qo.disk_format = format_cb;
	qo.netif_check = netif_cb;
	qo.arg = d;
	qo.caps = caps;
	qo.netmode = ctx->conf->netmode;
	if (vmdef_get(d, "MAC0") != NULL)
		qo.ssh_port = free_port();
	id = rundir_id(vmdef_get(d, "UUID"), d->path);
	/* the display: QEMU's VNC server on a socket in the runtime directory, TCP if asked */
	if ((o = subopt_find(so, "VNC")) != NULL && o->arg != NULL && strcasecmp(o->arg, "TCP") == 0)
		vnc = xasprintf("%s:0,to=99,password=on", ctx->conf->vnc_listen ?
		    ctx->conf->vnc_listen : "127.0.0.1");
	else
		vnc = xasprintf("unix:%s/%s/vnc.sock", ctx->paths->run, id);
	qo.vnc = vnc;
	qo.agent_fd = qemu_agent_wanted(d, caps) ? QEMU_FD_QGA : -1;
	rundir_path = xasprintf("%s/%s", ctx->paths->run, id);
	qo.rundir = rundir_path;
	if ((rc = qemu_argv_build(d, &qo, &argv, &cause)) != 0 ||
	    (rc = policy_from_def(d, &pol, &cause)) != 0)
		goto out;

	if (subopt_find(so, "PRINT") != NULL) {
		for (size_t i = 0; i < argv.n; i++) {
			char *q = sh_quote(argv.v[i]);

			printf("%s%s", i ? " " : "", q);
			free(q);
		}
		printf("\n");
		rc = EXIT_OK;
		goto out;
	}

	label = qemu_label(d);
	{
		/* the longest socket path must fit sun_path (108 bytes with its NUL) */
		size_t need = strlen(ctx->paths->run) + 1 + strlen(id) + strlen("/console.sock");
		struct strv ch = { 0 };

		if (qemu_channels(d, &ch, NULL) == 0)
			for (size_t i = 0; i < ch.n; i++)
				if (strlen(rundir_path) + strlen("/channels/.sock") + strlen(ch.v[i]) >
				    need)
					need = strlen(rundir_path) + strlen("/channels/.sock") +
					    strlen(ch.v[i]);
		strv_free(&ch);

		if (need >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			rc = fail(&cause, EXIT_FAIL, "runtime directory '%s' is too long for UNIX "
			    "socket paths (%zu of at most 107 bytes); set CTYS_RUNDIR or "
			    "runtime_dir to a shorter path", ctx->paths->run, need);
			goto out;
		}
	}
	if ((rc = rundir_claim(ctx->paths->run, id, label, vmdef_get(d, "UUID"), d->path,
	    &lockfd, &dir, &cause)) != 0)
		goto out;
	{
		struct strv ch = { 0 };
		char *cd = rundir_file(dir, "channels");

		/* the named channels' sockets: QEMU makes them in this private directory */
		if (qemu_channels(d, &ch, NULL) == 0 && ch.n > 0 && mkdir(cd, 0700) == -1 &&
		    errno != EEXIST) {
			rc = fail(&cause, EXIT_FAIL, "%s: %s", cd, strerror(errno));
			free(cd);
			strv_free(&ch);
			rmdir_flat(dir);
			goto out;
		}
		free(cd);
		strv_free(&ch);
	}
	/* on shared storage another host may run it: the lock beside the definition decides */
	if ((rc = definition_lock(d->path, label, &deflockfd, &cause)) != 0) {
		rmdir_flat(dir);
		goto out;
	}
	/* the VM is claimed: a saved state is ours to restore or discard */
	savedir = saved_dir(ctx->paths->save, id);
	if ((rc = prepare_restore(so, label, savedir, &argv, &restore, &cause)) != 0) {
		rmdir_flat(dir);
		goto out;
	}
	/* no other CREATE of it races the new install disk */
	if ((rc = create_inst_target(d, &qo, &co, 0, &cause)) != 0) {
		rmdir_flat(dir);
		goto out;
	}
	record_facts(dir, &qo, &argv, caps);
	record_def_ips(dir, d);
	{
		char *pp = rundir_file(dir, "policy"), *txt = policy_format(&pol);

		file_write(pp, txt, strlen(txt), 0600);
		free(pp);
		free(txt);
	}
	sc.dir = dir;
	sc.id = id;
	sc.label = label;
	sc.uuid = vmdef_get(d, "UUID");
	sc.def = d->path;
	sc.accel = qo.accel;
	sc.workdir = d->dir;
	sc.state_dir = ctx->paths->state;
	sc.argv = argv;
	sc.lockfd = lockfd;
	sc.deflockfd = deflockfd;
	sc.agent = qo.agent_fd >= 0;
	sc.create_timeout = ctx->conf->create_timeout;
	sc.policy = pol;
	sc.save_dir = savedir;
	sc.restore = restore;
	rc = supervisor_start(&sc, &qpid, &cause);
	if (rc == 0)
		log_debug(1, "'%s' started: %s %s, pid %d, accelerator %s, runtime %s", label,
		    bin, supervisor_qemu_version(), (int)qpid, qo.accel, dir);
	if (rc == 0)
		rc = vnc_publish(dir, label);
	if (rc == 0 && strcasecmp(console, "NONE") != 0 && strcasecmp(console, "SDL") != 0) {
		close(lockfd);		/* the supervisor holds it; a long console must not */
		lockfd = -1;
		copts.label = label;
		rc = console_start(console, dir, label, d->path, NULL, NULL, &copts);
	}
out:
	if (rc != 0 && cause != NULL)
		log_err("%s", cause);
	if (lockfd != -1)
		close(lockfd);
	if (deflockfd != -1)
		close(deflockfd);	/* the supervisor and QEMU hold it now */
	strv_free(&argv);
	vmdef_free(d);
	vm_addr_free(&addr);
	create_opts_free(&co);
	qemu_caps_free(caps);
	free(defpath);
	free(vnc);
	free(rundir_path);
	free(savedir);
	free(restore);
	free(cause);
	free(bin);
	free(why);
	free(label);
	free(id);
	free(dir);
	return rc;
}

/* ---- CREATE on another host, with its console here ---- */

struct rdial {
	struct remote_session *rs;
	const char *path;
};

/* The supervisor's control socket on the other host, through the ssh connection. */
static int
remote_dial(void *arg, char **cause)
{
	struct rdial *d = arg;

	return remote_session_forward(d->rs, d->path, cause);
}

/* For subopt_join_raw: the suboptions whose key is (not) one of keys. */
struct key_filter {
	const char *keys;
	int invert;
};

static int
key_wanted(const struct subopt *o, const void *arg)
{
	const struct key_filter *f = arg;

	return subopt_key_is(o->key, f->keys) != f->invert;
}

int
qemu_create_remote(struct ctx *ctx, struct subopt_list *so, const struct remote_target *t, size_t n)
{
	struct subopt *o = subopt_find(so, "CONSOLE");
	struct console_opts copts;
	struct remote_session *rs = NULL;
	struct remote_result r = { 0 };
	struct rdial dial;
	json_object *info = NULL, *v;
	char *cause = NULL, *rest = NULL, *addr = NULL, *action = NULL, *label = NULL;
	char *ctl = NULL;
	int rc = 0;

	if (o == NULL || o->arg == NULL || strcasecmp(o->arg, "NONE") == 0)
		return -1;	/* nothing here: the other host does it all */
	if (strcasecmp(o->arg, "SDL") == 0) {
		log_err("CONSOLE:SDL is QEMU's own window, on the display of the host that runs "
		    "it; for a VM on another host use CONSOLE:VNC (or CLI)");
		return EXIT_USAGE;
	}
	if (n != 1) {
		log_err("CONSOLE:%s attaches to one host, not %zu", o->arg, n);
		return EXIT_USAGE;
	}
	/* the console runs here: its program and display must be here */
	if ((rc = console_check(o->arg, &cause)) != 0 ||
	    (rc = console_opts_from(ctx, so, o->arg, &copts, &cause)) != 0)
		goto out;
	/* there: CREATE without a console; then where its supervisor listens */
	rest = subopt_join_raw(so, key_wanted, &(struct key_filter){ "CONSOLE|ESCAPE", 1 });
	addr = subopt_join_raw(so, key_wanted, &(struct key_filter){ ADDR_KEYS_PATH "|"
	    ADDR_KEYS_LABEL "|" ADDR_KEYS_UUID "|" ADDR_KEYS_FNAME "|" ADDR_KEYS_MAC "|"
	    ADDR_KEYS_TCP "|" ADDR_KEYS_BASE "|" ADDR_KEYS_PID "|" ADDR_KEYS_DR, 0 });
	if ((rs = remote_session_open(ctx->conf, &t[0], &rc, &cause)) == NULL)
		goto out;
	action = xasprintf("CREATE=%s%sCONSOLE:NONE", rest, *rest ? "," : "");
	remote_session_run(rs, ctx->cli->type, action, &r);
	remote_put_lines(stderr, t[0].name, r.err ? r.err : "", r.errlen);
	remote_put_lines(stdout, NULL, r.out ? r.out : "", r.outlen);
	if (!r.ok || r.status != EXIT_OK) {
		rc = r.status;
		cause = r.cause;
		r.cause = NULL;
		goto out;
	}
	free(action);
	action = xasprintf("INFO=%s,JSON", addr);
	free(r.out);
	free(r.err);
	remote_session_run(rs, ctx->cli->type, action, &r);
	if (!r.ok || r.status != EXIT_OK) {
		remote_put_lines(stderr, t[0].name, r.err ? r.err : "", r.errlen);
		rc = r.ok ? r.status : EXIT_UNREACHABLE;
		cause = r.cause;
		r.cause = NULL;
		goto out;
	}
	if ((info = json_tokener_parse(r.out)) == NULL ||
	    !json_object_object_get_ex(info, "control", &v)) {
		rc = fail(&cause, EXIT_FAIL, "%s: INFO did not say where the VM's supervisor "
		    "listens", t[0].name);
		goto out;
	}
	ctl = xstrdup(json_object_get_string(v));
	label = json_object_object_get_ex(info, "label", &v) ?
	    xstrdup(json_object_get_string(v)) : xstrdup(addr);
	copts.label = label;
	if (strcasecmp(o->arg, "CLI") != 0 && strcasecmp(o->arg, "CLI0") != 0) {
		/* a viewer or terminal here, with its own connection to that host */
		rc = console_start(o->arg, NULL, label, NULL, t[0].name, addr, &copts);
		goto out;
	}
	dial.rs = rs;
	dial.path = ctl;
	copts.dial = remote_dial;
	copts.dial_arg = &dial;
	rc = console_attach(ctl, &copts);
out:
	if (rc != 0 && cause != NULL)
		log_err("%s", cause);
	free(cause);
	json_object_put(info);
	remote_session_close(rs);
	free(r.out);
	free(r.err);
	free(r.cause);
	free(rest);
	free(addr);
	free(action);
	free(ctl);
	free(label);
	return rc;
}
