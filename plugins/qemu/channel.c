/*
 * CHANNEL=<machine-address>,NAME:<name>[,PRINT]: standard input and output connected to
 * one of the VM's named channels (the definition's CHANNELS: virtserialports whose host
 * ends are sockets QEMU listens on, <runtime dir>/channels/<name>.sock). A byte relay,
 * binary-safe: the end of the input is passed on (shutdown), and the relay ends when the
 * other side closes. On another host the same relay runs through the ssh connection.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "exitcodes.h"
#include "qemu.h"
#include "remote.h"
#include "vm.h"

#define RELAY_BUF 65536

/* As CHANNELS accepts them (argv.c): letters, digits, '.', '_', '-'; at most 64. */
static int
name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > 64 || *n == '.' || *n == '-')
		return 0;
	for (; *n; n++)
		if (!(*n >= 'a' && *n <= 'z') && !(*n >= 'A' && *n <= 'Z') &&
		    !(*n >= '0' && *n <= '9') && *n != '.' && *n != '_' && *n != '-')
			return 0;
	return 1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The VM's channels, from its channels/ directory: "a b c" (sorted), or "" for none. */
static char *
channel_names(const char *dir)
{
	char *cd = rundir_file(dir, "channels"), *out;
	struct strv v = { 0 };
	struct dirent *e;
	DIR *d;
	size_t len = 1;

	if ((d = opendir(cd)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			size_t n = strlen(e->d_name);

			if (n > 5 && strcmp(e->d_name + n - 5, ".sock") == 0) {
				strv_add(&v, "");
				free(v.v[v.n - 1]);
				v.v[v.n - 1] = xstrndup(e->d_name, n - 5);
				len += n - 4;
			}
		}
		closedir(d);
	}
	free(cd);
	if (v.n > 0)
		qsort(v.v, v.n, sizeof *v.v, cmp_str);
	out = xmalloc(len);
	*out = '\0';
	for (size_t i = 0; i < v.n; i++) {
		if (i > 0)
			strcat(out, " ");
		strcat(out, v.v[i]);
	}
	strv_free(&v);
	return out;
}

/* One direction of the relay: bytes read from one side, not yet written to the other. */
struct pipebuf {
	char buf[RELAY_BUF];
	size_t len;
};

static void
pipebuf_drop(struct pipebuf *b, size_t n)
{
	memmove(b->buf, b->buf + n, b->len - n);
	b->len -= n;
}

/*
 * Relays stdin to sock and sock to stdout until the other side closes (what it sent is
 * all written out first). The end of stdin becomes shutdown(SHUT_WR): QEMU then closes
 * the channel's connection, so a reply still on its way may be lost (see ctys-QEMU(1)).
 * Neither side can stall the other: each direction reads only while its buffer has room,
 * and sock is non-blocking (stdout is written in PIPE_BUF pieces when poll says it may).
 * Returns 0, or EXIT_FAIL with *cause.
 */
static int
channel_relay(int sock, char **cause)
{
	struct pipebuf *up = xcalloc(1, sizeof *up), *down = xcalloc(1, sizeof *down);
	int in_open = 1, sock_open = 1, shut = 0, rc = 0;
	ssize_t r;

	if (fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK) == -1)
		fatal("fcntl: %s", strerror(errno));
	for (;;) {
		struct pollfd pfd[3] = {
			{ STDIN_FILENO, 0, 0 }, { sock, 0, 0 }, { STDOUT_FILENO, 0, 0 }
		};

		if (!in_open && up->len == 0 && !shut && sock_open) {
			shutdown(sock, SHUT_WR);	/* the end of our input, passed on */
			shut = 1;
		}
		if (!sock_open && down->len == 0)
			break;
		if (in_open && up->len < sizeof up->buf)
			pfd[0].events = POLLIN;
		else
			pfd[0].fd = -1;
		if (sock_open && down->len < sizeof down->buf)
			pfd[1].events |= POLLIN;
		if (sock_open && up->len > 0)
			pfd[1].events |= POLLOUT;
		if (pfd[1].events == 0)
			pfd[1].fd = -1;
		if (down->len > 0)
			pfd[2].events = POLLOUT;
		else
			pfd[2].fd = -1;
		if (poll(pfd, 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			rc = fail(cause, EXIT_FAIL, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents != 0) {
			r = read(STDIN_FILENO, up->buf + up->len, sizeof up->buf - up->len);
			if (r > 0)
				up->len += (size_t)r;
			else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				if (r == -1)
					log_debug(1, "stdin: %s", strerror(errno));
				in_open = 0;
			}
		}
		if (pfd[1].revents & (POLLOUT | POLLERR)) {
			r = write(sock, up->buf, up->len);
			if (r > 0)
				pipebuf_drop(up, (size_t)r);
			else if (r == -1 && errno != EINTR && errno != EAGAIN) {
				/* the other side stopped reading: what it still sends is read */
				log_debug(1, "channel: %s", strerror(errno));
				up->len = 0;
				in_open = 0;
				shut = 1;
			}
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = read(sock, down->buf + down->len, sizeof down->buf - down->len);
			if (r > 0)
				down->len += (size_t)r;
			else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				if (r == -1)
					log_debug(1, "channel: %s", strerror(errno));
				sock_open = 0;
			}
		}
		if (pfd[2].revents != 0) {
			r = write(STDOUT_FILENO, down->buf, down->len < PIPE_BUF ? down->len :
			    PIPE_BUF);
			if (r > 0)
				pipebuf_drop(down, (size_t)r);
			else if (r == -1 && errno != EINTR && errno != EAGAIN) {
				rc = fail(cause, EXIT_FAIL, "writing to the standard output: %s",
				    strerror(errno));
				break;
			}
		}
	}
	free(up);
	free(down);
	return rc;
}

/*
 * Whether the guest has the channel open, as the supervisor saw it (QMP VSERPORT_CHANGE):
 * 1, 0, or -1 when it cannot say (an older supervisor, no answer).
 */
static int
channel_open_in_guest(struct ctx *ctx, struct vmrun *r, const char *name)
{
	struct ctl_client c;
	json_object *st = NULL, *chs, *v;
	char *cause = NULL;
	int open = -1;

	if (vm_connect(ctx, r, &c, &cause) == 0) {
		if (ctl_call(&c, "status", NULL, &st, 5000, &cause) == 0 &&
		    json_object_object_get_ex(st, "channels", &chs) &&
		    json_object_object_get_ex(chs, name, &v) &&
		    json_object_is_type(v, json_type_boolean))
			open = json_object_get_boolean(v);
		ctl_close(&c);
	}
	if (cause != NULL)
		log_debug(1, "%s", cause);
	json_object_put(st);
	free(cause);
	return open;
}

/* The NAME suboption: 0 with *name, or EXIT_USAGE with *cause. */
static int
channel_name(struct subopt_list *so, const char **name, char **cause)
{
	struct subopt *o = subopt_find(so, "NAME");

	if (o == NULL || o->arg == NULL || *o->arg == '\0')
		return fail(cause, EXIT_USAGE, "CHANNEL needs the channel's name: NAME:<name>");
	o->used = 1;
	if (!name_ok(o->arg))
		return fail(cause, EXIT_USAGE, "NAME: not a channel name (letters, digits, '.', "
		    "'_', '-'; at most 64): '%s'", o->arg);
	*name = o->arg;
	return 0;
}

int
qemu_channel(struct ctx *ctx, struct subopt_list *so)
{
	struct vm_addr addr;
	struct vmrun *vms = NULL;
	struct subopt *print = subopt_find(so, "PRINT");
	const char *name = NULL;
	char *cause = NULL, *path = NULL, *rel = NULL, *names = NULL;
	size_t n = 0;
	int rc, fd = -1;

	if ((rc = vm_addr_parse(so, &addr, 0, &cause)) != 0 ||
	    (rc = channel_name(so, &name, &cause)) != 0)
		goto out;
	if (print != NULL)
		print->used = 1;
	vm_running(ctx, &addr, &vms, &n);
	if (n == 0) {
		rc = fail(&cause, EXIT_STATE, "'%s' is not running", addr.text);
		goto out;
	}
	if (n > 1) {
		rc = fail(&cause, EXIT_AMBIGUOUS, "'%s' matches %zu running VMs", addr.text, n);
		goto out;
	}
	rel = xasprintf("channels/%s.sock", name);
	path = rundir_file(vms[0].dir, rel);
	if (access(path, F_OK) == -1) {
		names = channel_names(vms[0].dir);
		rc = fail(&cause, EXIT_NOTFOUND, *names ? "'%s' has no channel '%s' (its "
		    "channels: %s)" : "'%s' has no channel '%s' (it has none: CHANNELS in its "
		    "definition)", vms[0].label, name, names);
		goto out;
	}
	if (print != NULL) {
		printf("%s\n", path);
		rc = EXIT_OK;
		goto out;
	}
	if ((fd = unix_connect(path)) == -1) {
		rc = fail(&cause, errno == ECONNREFUSED ? EXIT_STATE : EXIT_FAIL,
		    "'%s': cannot connect to channel '%s' (%s): %s", vms[0].label, name, path,
		    strerror(errno));
		goto out;
	}
	log_debug(1, "'%s': connected to channel '%s'", vms[0].label, name);
	if (channel_open_in_guest(ctx, &vms[0], name) == 0)
		log_warn("'%s': no program in the guest has channel '%s' open (yet, as far as "
		    "its supervisor knows); QEMU passes nothing on until one does", vms[0].label,
		    name);
	rc = channel_relay(fd, &cause);
out:
	if (rc != 0 && cause != NULL)
		log_err("%s", cause);
	if (fd != -1)
		close(fd);
	vmrun_list_free(vms, n);
	vm_addr_free(&addr);
	free(names);
	free(path);
	free(rel);
	free(cause);
	return rc;
}

/*
 * CHANNEL on another host: the ctys there finds the channel's socket (CHANNEL with PRINT,
 * so its errors are the same as here), then the relay runs here, through the same ssh
 * connection to that socket (no port opened there, no helper process).
 */
int
qemu_channel_remote(struct ctx *ctx, struct subopt_list *so, const struct remote_target *t,
    size_t n)
{
	struct remote_session *rs = NULL;
	struct remote_result r = { 0 };
	const char *name;
	char *cause = NULL, *action = NULL, *path = NULL;
	int rc, fd = -1;

	if (subopt_find(so, "PRINT") != NULL)
		return -1;	/* only the path: the other host says it */
	if ((rc = channel_name(so, &name, &cause)) != 0)
		goto out;
	if (n != 1) {
		rc = fail(&cause, EXIT_USAGE, "CHANNEL connects to one host, not %zu", n);
		goto out;
	}
	if ((rs = remote_session_open(ctx->conf, &t[0], &rc, &cause)) == NULL)
		goto out;
	action = xasprintf("CHANNEL=%s,PRINT", ctx->cli->subopts_raw);
	remote_session_run(rs, ctx->cli->type, action, &r);
	remote_put_lines(stderr, t[0].name, r.err ? r.err : "", r.errlen);
	if (!r.ok || r.status != EXIT_OK) {
		rc = r.status;
		cause = r.cause;
		r.cause = NULL;
		goto out;
	}
	path = xstrndup(r.out ? r.out : "", r.outlen);
	path[strcspn(path, "\n")] = '\0';
	if (*path != '/') {
		rc = fail(&cause, EXIT_FAIL, "%s: the ctys there did not say where the channel "
		    "is", t[0].name);
		goto out;
	}
	if ((fd = remote_session_forward(rs, path, &cause)) == -1) {
		rc = EXIT_FAIL;
		goto out;
	}
	rc = channel_relay(fd, &cause);
out:
	if (rc != 0 && cause != NULL)
		log_err("%s", cause);
	if (fd != -1)
		close(fd);
	remote_session_close(rs);
	free(r.out);
	free(r.err);
	free(r.cause);
	free(action);
	free(path);
	free(cause);
	return rc;
}
