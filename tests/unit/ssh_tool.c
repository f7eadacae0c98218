/*
 * ssh_tool: the driver of e2e/ssh.sh, the ssh transport (src/ssh.c) as a command.
 *
 *   ssh_tool [options] exec HOST CMD [CMD-TIMEOUT]
 *	runs CMD on HOST: its stdout to stdout, its stderr to stderr, exits with its status
 *	(255 when none came or on a transport failure, the cause on stderr; 124 on a
 *	timeout, of the command or of the connection)
 *   ssh_tool [options] forward HOST REMOTE-SOCKET
 *	relays stdin/stdout to a UNIX socket on HOST (EOF on stdin shuts the writing side;
 *	exits when the remote side has finished)
 *   ssh_tool [options] parallel HOST N CMD
 *	N threads, each with its own connection, run CMD; prints "ok N" when all agree
 *   ssh_tool [options] shared HOST ECHO-SOCKET N
 *	one connection used by several threads at once: 4 threads run N commands each while
 *	the main thread pushes 4 MB through a forward to an echo server (which must send
 *	back what it gets) and checks what comes back; then closes the connection with a
 *	second forward still open, which must read EOF. Prints "ok".
 *
 * options: --config F ("" none), --known-hosts F, --identity F, --accept-new,
 * --timeout S (connect), --port P, --user U. SSH_TOOL_DEBUG=N sets the debug level.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ssh.h"
#include "util.h"

static struct ssh_target target;

static void
usage(void)
{
	fprintf(stderr, "usage: ssh_tool [--config F] [--known-hosts F] [--identity F] "
	    "[--accept-new] [--timeout S] [--port P] [--user U]\n"
	    "\texec HOST CMD [CMD-TIMEOUT] | forward HOST REMOTE-SOCKET | parallel HOST N CMD |\n"
	    "\tshared HOST ECHO-SOCKET N\n");
	exit(2);
}

static struct ssh_conn *
open_or_exit(void)
{
	struct ssh_conn *c;
	char *cause = NULL;
	int timed_out;

	if ((c = ssh_conn_open(&target, &timed_out, &cause)) == NULL) {
		log_err("%s", cause);
		free(cause);
		exit(timed_out ? 124 : 255);
	}
	return c;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
do_exec(const char *cmd, int timeout)
{
	struct ssh_conn *c = open_or_exit();
	struct ssh_result r;
	char *cause = NULL;
	int rc;

	rc = ssh_conn_exec(c, cmd, timeout, &r, &cause);
	ssh_conn_close(c);
	if (rc != 0) {
		log_err("%s", cause);
		free(cause);
		return rc == -2 ? 124 : 255;
	}
	write_all(1, r.out, r.outlen);
	write_all(2, r.err, r.errlen);
	rc = r.status;
	if (rc == -1) {
		if (r.signal != NULL)
			log_err("%s: killed by signal %s", target.name, r.signal);
		else
			log_err("%s: no exit status", target.name);
		rc = 255;
	}
	ssh_result_free(&r);
	return rc;
}

static int
do_forward(const char *path)
{
	struct ssh_conn *c = open_or_exit();
	struct pollfd pfd[2];
	char buf[65536], *cause = NULL;
	ssize_t n;
	int fd, ineof = 0;

	if ((fd = ssh_conn_forward_unix(c, path, &cause)) == -1) {
		log_err("%s", cause);
		free(cause);
		ssh_conn_close(c);
		return 255;
	}
	for (;;) {
		pfd[0].fd = ineof ? -1 : 0;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll: %s", strerror(errno));
		}
		if (pfd[0].revents) {
			if ((n = read(0, buf, sizeof buf)) <= 0) {
				shutdown(fd, SHUT_WR);
				ineof = 1;
			} else if (write_all(fd, buf, (size_t)n) == -1) {
				log_err("%s: forward: %s", target.name, strerror(errno));
				break;
			}
		}
		if (pfd[1].revents) {
			if ((n = read(fd, buf, sizeof buf)) <= 0)
				break;
			if (write_all(1, buf, (size_t)n) == -1)
				break;
		}
	}
	close(fd);
	ssh_conn_close(c);
	return 0;
}

struct par {
	pthread_t	 t;
	const char	*cmd;
	char		*out;
	int		 rc;
};

static void *
par_run(void *arg)
{
	struct par *p = arg;
	struct ssh_conn *c;
	struct ssh_result r;
	char *cause = NULL;

	if ((c = ssh_conn_open(&target, NULL, &cause)) == NULL) {
		log_err("%s", cause);
		p->rc = 255;
		return NULL;
	}
	if (ssh_conn_exec(c, p->cmd, 30, &r, &cause) != 0) {
		log_err("%s", cause);
		p->rc = 255;
	} else {
		p->out = xstrdup(r.out);
		p->rc = r.status;
		ssh_result_free(&r);
	}
	ssh_conn_close(c);
	free(cause);
	return NULL;
}

static int
do_parallel(int n, const char *cmd)
{
	struct par *p = xcalloc((size_t)n, sizeof *p);
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		p[i].cmd = cmd;
		if (pthread_create(&p[i].t, NULL, par_run, &p[i]) != 0)
			fatal("pthread_create");
	}
	for (i = 0; i < n; i++)
		pthread_join(p[i].t, NULL);
	for (i = 0; i < n; i++) {
		if (p[i].rc != 0 || p[i].out == NULL || strcmp(p[i].out, p[0].out) != 0) {
			log_err("thread %d: status %d, output '%s'", i, p[i].rc,
			    p[i].out ? p[i].out : "(none)");
			bad = 1;
		}
	}
	for (i = 0; i < n; i++)
		free(p[i].out);
	free(p);
	if (!bad)
		printf("ok %d\n", n);
	return bad;
}

struct shared {
	pthread_t	 t;
	struct ssh_conn	*c;
	int		 id, n, bad;
};

static void *
shared_run(void *arg)
{
	struct shared *sh = arg;
	struct ssh_result r;
	char *cmd, *want, *cause = NULL;

	for (int i = 0; i < sh->n && !sh->bad; i++) {
		cmd = xasprintf("printf '%%s' 'thread %d command %d'; echo oops >&2", sh->id, i);
		want = xasprintf("thread %d command %d", sh->id, i);
		if (ssh_conn_exec(sh->c, cmd, 30, &r, &cause) != 0) {
			log_err("thread %d: %s", sh->id, cause);
			sh->bad = 1;
		} else {
			if (r.status != 0 || strcmp(r.out, want) != 0 ||
			    strcmp(r.err, "oops\n") != 0) {
				log_err("thread %d: command %d: status %d, '%s', '%s'", sh->id, i,
				    r.status, r.out, r.err);
				sh->bad = 1;
			}
			ssh_result_free(&r);
		}
		free(cmd);
		free(want);
	}
	free(cause);
	return NULL;
}

static int
do_shared(const char *path, int n)
{
	struct ssh_conn *c = open_or_exit();
	struct shared sh[4];
	struct pollfd pfd;
	const size_t total = 4 * 1024 * 1024;
	size_t sent = 0, got = 0;
	unsigned char *data, buf[65536];
	char *cause = NULL;
	ssize_t k;
	int fd, fd2, bad = 0, i;

	data = xmalloc(total);
	for (size_t j = 0; j < total; j++)
		data[j] = (unsigned char)(j * 7 + j / 65536);
	if ((fd = ssh_conn_forward_unix(c, path, &cause)) == -1 ||
	    (fd2 = ssh_conn_forward_unix(c, path, &cause)) == -1) {
		log_err("%s", cause);
		return 255;
	}
	for (i = 0; i < 4; i++) {
		sh[i].c = c;
		sh[i].id = i;
		sh[i].n = n;
		sh[i].bad = 0;
		if (pthread_create(&sh[i].t, NULL, shared_run, &sh[i]) != 0)
			fatal("pthread_create");
	}
	while (got < total) {
		pfd.fd = fd;
		pfd.events = POLLIN | (sent < total ? POLLOUT : 0);
		if (poll(&pfd, 1, 30000) <= 0) {
			log_err("forward: stalled after %zu bytes sent, %zu back", sent, got);
			bad = 1;
			break;
		}
		if ((pfd.revents & POLLOUT) && sent < total) {
			k = write(fd, data + sent, total - sent > 65536 ? 65536 : total - sent);
			if (k > 0)
				sent += (size_t)k;
		}
		if (pfd.revents & (POLLIN | POLLHUP)) {
			if ((k = read(fd, buf, sizeof buf)) <= 0) {
				log_err("forward: EOF after %zu bytes back", got);
				bad = 1;
				break;
			}
			if (got + (size_t)k > total || memcmp(buf, data + got, (size_t)k) != 0) {
				log_err("forward: wrong bytes at %zu", got);
				bad = 1;
				break;
			}
			got += (size_t)k;
		}
	}
	for (i = 0; i < 4; i++) {
		pthread_join(sh[i].t, NULL);
		bad |= sh[i].bad;
	}
	close(fd);
	ssh_conn_close(c);	/* fd2 still open: its pump must end */
	if ((k = read(fd2, buf, sizeof buf)) != 0) {
		log_err("second forward: read %zd after the connection closed", k);
		bad = 1;
	}
	close(fd2);
	free(data);
	if (!bad)
		printf("ok\n");
	return bad;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "known-hosts", required_argument, NULL, 'k' },
		{ "identity", required_argument, NULL, 'i' },
		{ "accept-new", no_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	log_prog = "ssh_tool";
	if (getenv("SSH_TOOL_DEBUG") != NULL)
		log_level = atoi(getenv("SSH_TOOL_DEBUG"));
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			target.ssh_config = optarg;
			break;
		case 'k':
			target.known_hosts = optarg;
			break;
		case 'i':
			target.identity = optarg;
			break;
		case 'a':
			target.accept_new = 1;
			break;
		case 't':
			target.connect_timeout = atoi(optarg);
			break;
		case 'p':
			target.port = atoi(optarg);
			break;
		case 'u':
			target.user = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3)
		usage();
	target.name = target.address = argv[1];
	ssh_global_init();
	if (strcmp(argv[0], "exec") == 0 && (argc == 3 || argc == 4))
		return do_exec(argv[2], argc == 4 ? atoi(argv[3]) : 0);
	if (strcmp(argv[0], "forward") == 0 && argc == 3)
		return do_forward(argv[2]);
	if (strcmp(argv[0], "parallel") == 0 && argc == 4 && atoi(argv[2]) > 0)
		return do_parallel(atoi(argv[2]), argv[3]);
	if (strcmp(argv[0], "shared") == 0 && argc == 4 && atoi(argv[3]) > 0)
		return do_shared(argv[2], atoi(argv[3]));
	usage();
}
