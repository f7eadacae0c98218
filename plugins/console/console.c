#include "console.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "exitcodes.h"
#include "util.h"

#define FRAME_MAX (4 * 1024 * 1024)

static struct termios saved_tio;
static int tty_raw;
static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

static void
tty_restore(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		tty_raw = 0;
	}
}

static void
tty_make_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) == -1)
		return;
	t = saved_tio;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
		tty_raw = 1;
}

int
console_escape_parse(const char *s)
{
	if (s == NULL || *s == '\0')
		return -1;
	if (strcasecmp(s, "none") == 0)
		return 0;
	if (s[0] == '^' && s[1] != '\0' && s[2] == '\0') {
		int c = toupper((unsigned char)s[1]);

		if (c < '@' || c > '_')
			return -1;
		return c ^ 0x40;
	}
	if (s[1] == '\0')
		return (unsigned char)s[0];
	return -1;
}

static const char *
escape_name(int e, char *buf, size_t n)
{
	if (e < 0x20)
		snprintf(buf, n, "Ctrl-%c", e ^ 0x40);
	else
		snprintf(buf, n, "%c", e);
	return buf;
}

/* A line to the user, in cooked output even while the terminal is raw. */
static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;
	char *m;

	va_start(ap, fmt);
	m = xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s[%s]%s", tty_raw ? "\r\n" : "", m, tty_raw ? "\r\n" : "\n");
	free(m);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd pfd = { fd, POLLOUT, 0 };

			poll(&pfd, 1, 1000);
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One question to QEMU's monitor over its own control connection. */
/* The supervisor's control socket: here, or through o->dial (another host's). */
static int
console_connect(struct ctl_client *c, const char *ctl_path, const struct console_opts *o,
    char **cause)
{
	int fd;

	if (o->dial == NULL)
		return ctl_open(c, ctl_path, 5000, cause);
	if ((fd = o->dial(o->dial_arg, cause)) == -1)
		return -1;
	return ctl_open_fd(c, fd, 5000, cause);
}

static void
monitor_line(const char *ctl_path, const struct console_opts *o)
{
	struct ctl_client c;
	json_object *a, *d = NULL;
	char line[1024], *cause = NULL;
	int was_raw = tty_raw;

	tty_restore();
	fprintf(stderr, "\n(qemu) ");
	if (fgets(line, sizeof line, stdin) == NULL) {
		clearerr(stdin);
		goto out;
	}
	line[strcspn(line, "\n")] = '\0';
	if (*line == '\0')
		goto out;
	if (console_connect(&c, ctl_path, o, &cause) != 0) {
		fprintf(stderr, "monitor: %s\n", cause);
		goto out;
	}
	a = json_object_new_object();
	json_object_object_add(a, "execute", json_object_new_string("human-monitor-command"));
	{
		json_object *args = json_object_new_object();

		json_object_object_add(args, "command-line", json_object_new_string(line));
		json_object_object_add(a, "arguments", args);
	}
	if (ctl_call(&c, "qmp", a, &d, 10000, &cause) == 0)
		fputs(json_object_get_string(d), stderr);
	else
		fprintf(stderr, "monitor: %s\n", cause);
	json_object_put(d);
	ctl_close(&c);
out:
	free(cause);
	if (was_raw)
		tty_make_raw();
}

struct frames {
	char *buf;
	size_t len;
};

/*
 * Handles complete frames in f; returns 0 to go on, 1 with *why set when the supervisor
 * closed the console ('C'), -1 on a malformed stream.
 */
static int
frames_take(struct frames *f, char **why)
{
	size_t off = 0;
	int rc = 0;

	while (f->len - off >= 5) {
		unsigned char *h = (unsigned char *)f->buf + off;
		size_t n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];

		if (n > FRAME_MAX || (h[0] != 'D' && h[0] != 'C')) {
			rc = -1;
			break;
		}
		if (f->len - off - 5 < n)
			break;
		if (h[0] == 'D' && write_all(STDOUT_FILENO, (char *)h + 5, n) == -1) {
			rc = -1;
			break;
		}
		if (h[0] == 'C') {
			*why = xstrndup((char *)h + 5, n);
			rc = 1;
			off += 5 + n;
			break;
		}
		off += 5 + n;
	}
	memmove(f->buf, f->buf + off, f->len - off);
	f->len -= off;
	return rc;
}

int
console_attach(const char *ctl_path, const struct console_opts *o)
{
	struct ctl_client c;
	struct frames fr = { 0 };
	json_object *a, *d = NULL;
	struct sigaction sa;
	char *cause = NULL, *why = NULL, namebuf[16];
	int rc, esc_pending = 0, stdin_open = 1;
	size_t len;

	if (console_connect(&c, ctl_path, o, &cause) != 0) {
		log_err("%s", cause);
		free(cause);
		return EXIT_FAIL;
	}
	a = json_object_new_object();
	json_object_object_add(a, "mode", json_object_new_string(o->readonly ? "ro" : "rw"));
	json_object_object_add(a, "force", json_object_new_boolean(o->force));
	json_object_object_add(a, "tied", json_object_new_boolean(o->tied));
	if (o->replay >= 0)
		json_object_object_add(a, "replay", json_object_new_int(o->replay));
	if ((rc = ctl_call(&c, "console", a, &d, 5000, &cause)) != 0) {
		log_err("'%s': %s", o->label, cause);
		free(cause);
		ctl_close(&c);
		return rc;
	}
	json_object_put(d);
	fr.buf = linebuf_rest(&c.in, &fr.len);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	tty_make_raw();
	if (isatty(STDIN_FILENO) && o->escape != 0)
		say("attached to '%s'%s; %s then ? for help", o->label, o->tied ?
		    " (CLI0: leaving ends the VM)" : "", escape_name(o->escape, namebuf,
		    sizeof namebuf));
	rc = frames_take(&fr, &why);
	while (rc == 0 && !got_signal) {
		struct pollfd pfd[2] = { { c.fd, POLLIN, 0 }, { STDIN_FILENO, POLLIN, 0 } };
		char buf[4096];
		ssize_t n;

		if (poll(pfd, stdin_open ? 2 : 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(c.fd, buf, sizeof buf);
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				rc = -1;
				break;
			}
			fr.buf = xrealloc(fr.buf, fr.len + (size_t)n + 1);
			memcpy(fr.buf + fr.len, buf, (size_t)n);
			fr.len += (size_t)n;
			if ((rc = frames_take(&fr, &why)) != 0)
				break;
		}
		if (stdin_open && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			char out[8192];
			size_t k = 0;

			n = read(STDIN_FILENO, buf, sizeof buf);
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				/* input ends (a pipe): leave, the VM goes on (CLI0: it ends) */
				stdin_open = 0;
				why = xstrdup(o->tied ? "input closed; the VM ends" : "detached");
				rc = 2;
				break;
			}
			for (ssize_t i = 0; i < n; i++) {
				unsigned char ch = (unsigned char)buf[i];

				if (!esc_pending && o->escape != 0 && ch == o->escape) {
					esc_pending = 1;
					continue;
				}
				if (!esc_pending) {
					out[k++] = (char)ch;
					continue;
				}
				esc_pending = 0;
				if (ch == 'd' || ch == 'D') {
					why = xstrdup(o->tied ? "left; the VM ends (CLI0)" : "detached");
					rc = 2;
					break;
				} else if (ch == 'm' || ch == 'M' || (ch == 'c' && o->escape == 0x01)) {
					if (k > 0 && write_all(c.fd, out, k) == -1)
						break;
					k = 0;
					monitor_line(ctl_path, o);
				} else if (ch == '?') {
					say("%s d: %s   %s m: one QEMU monitor command   %s %s: send %s",
					    escape_name(o->escape, namebuf, sizeof namebuf), o->tied ?
					    "leave (ends the VM)" : "detach (the VM goes on)", namebuf,
					    namebuf, namebuf, namebuf);
				} else if (ch == o->escape || ch == '.') {
					out[k++] = (char)o->escape;
				} else {
					out[k++] = (char)o->escape;
					out[k++] = (char)ch;
				}
			}
			if (k > 0 && write_all(c.fd, out, k) == -1) {
				rc = -1;
				break;
			}
			if (rc != 0)
				break;
		}
	}
	tty_restore();
	if (got_signal) {
		say("closed by signal %d", (int)got_signal);
		rc = EXIT_FAIL;
	} else if (rc == -1) {
		say("connection to the supervisor of '%s' lost", o->label);
		rc = EXIT_FAIL;
	} else {
		len = why ? strlen(why) : 0;
		say("%s", len ? why : "closed");
		rc = EXIT_OK;
	}
	free(why);
	free(fr.buf);
	ctl_close(&c);
	return rc;
}
