#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "exitcodes.h"
#include "util.h"

enum ctl_kind
ctl_msg_parse(const char *line, size_t len, json_object **out, char **cause)
{
	json_tokener *tok;
	json_object *o, *v;
	enum ctl_kind kind;

	*out = NULL;
	if (len > CTL_MSG_MAX)
		return fail(cause, CTL_BAD, "message too long (%zu bytes)", len), CTL_BAD;
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) != len) {
		const char *why = json_tokener_error_desc(json_tokener_get_error(tok));

		if (o != NULL && json_tokener_get_error(tok) == json_tokener_success)
			why = "trailing data after the object";
		json_object_put(o);
		json_tokener_free(tok);
		fail(cause, 0, "not a JSON message: %s", why);
		return CTL_BAD;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		fail(cause, 0, "message is not a JSON object");
		return CTL_BAD;
	}
	if (!json_object_object_get_ex(o, "v", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int(v) != CTL_VERSION) {
		json_object_put(o);
		fail(cause, 0, "unsupported protocol version (want \"v\":%d)", CTL_VERSION);
		return CTL_BAD;
	}
	if (json_object_object_get_ex(o, "hello", &v) && json_object_is_type(v, json_type_object))
		kind = CTL_HELLO;
	else if (json_object_object_get_ex(o, "event", &v) &&
	    json_object_is_type(v, json_type_string))
		kind = CTL_EVENT;
	else if (json_object_object_get_ex(o, "cmd", &v) &&
	    json_object_is_type(v, json_type_string)) {
		if (!json_object_object_get_ex(o, "id", &v) ||
		    !json_object_is_type(v, json_type_int)) {
			json_object_put(o);
			fail(cause, 0, "request without an integer \"id\"");
			return CTL_BAD;
		}
		kind = CTL_REQUEST;
	} else if (json_object_object_get_ex(o, "ok", &v) &&
	    json_object_is_type(v, json_type_boolean)) {
		if (!json_object_object_get_ex(o, "id", &v) ||
		    !json_object_is_type(v, json_type_int)) {
			json_object_put(o);
			fail(cause, 0, "reply without an integer \"id\"");
			return CTL_BAD;
		}
		kind = CTL_REPLY;
	} else {
		json_object_put(o);
		fail(cause, 0, "message is neither hello, event, request nor reply");
		return CTL_BAD;
	}
	*out = o;
	return kind;
}

int
ctl_write(int fd, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(s);
	char *line = xmalloc(len + 1);
	size_t off = 0;
	ssize_t n;

	memcpy(line, s, len);
	line[len++] = '\n';
	while (off < len) {
		n = write(fd, line + off, len - off);	/* sockets and pipes; SIGPIPE is ignored */
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (poll(&pfd, 1, 5000) <= 0)
				break;
			continue;
		}
		if (n == -1)
			break;
		off += (size_t)n;
	}
	free(line);
	return off == len ? 0 : -1;
}

/* A stream socket and its address; refuses a path too long for sun_path (108 bytes). */
static int
unix_socket(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlcpy_chk(sa->sun_path, path, sizeof sa->sun_path) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

int
unix_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if ((fd = unix_socket(path, &sa)) == -1)
		return -1;
	while (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		int e = errno;

		if (e == EINTR)
			continue;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
unix_listen(const char *path, int backlog)
{
	struct sockaddr_un sa;
	int fd;

	if ((fd = unix_socket(path, &sa)) == -1)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 || listen(fd, backlog) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Reads until one message of a wanted kind arrives; 0, or EXIT_* with *cause. */
static int
read_msg(struct ctl_client *c, json_object **out, enum ctl_kind *kind, double deadline,
    char **cause)
{
	char *line, *why = NULL;
	size_t len;

	for (;;) {
		while ((line = linebuf_next(&c->in, &len)) != NULL) {
			*kind = ctl_msg_parse(line, len, out, &why);
			free(line);
			if (*kind != CTL_BAD)
				return 0;
			log_debug(2, "control socket: ignoring bad message: %s", why);
			free(why);
			why = NULL;
		}
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int ms = (int)((deadline - now_mono()) * 1000);

		if (ms <= 0)
			return fail(cause, EXIT_TIMEOUT, "no answer from the supervisor");
		if (poll(&pfd, 1, ms) == -1) {
			if (errno == EINTR)
				continue;
			return fail(cause, EXIT_FAIL, "poll: %s", strerror(errno));
		}
		if (pfd.revents == 0)
			continue;
		ssize_t n = linebuf_read(&c->in, c->fd);

		if (n == 0)
			return fail(cause, EXIT_FAIL, "the supervisor closed the connection");
		if (n == -1 && errno != EAGAIN)
			return fail(cause, EXIT_FAIL, "control socket: %s", strerror(errno));
	}
}

int
ctl_open(struct ctl_client *c, const char *path, int timeout_ms, char **cause)
{
	int fd;

	if ((fd = unix_connect(path)) == -1) {
		int e = errno;

		memset(c, 0, sizeof *c);
		c->fd = -1;
		fail(cause, -1, "cannot connect to '%s': %s", path, strerror(e));
		errno = e;
		return -1;
	}
	return ctl_open_fd(c, fd, timeout_ms, cause);
}

int
ctl_open_fd(struct ctl_client *c, int fd, int timeout_ms, char **cause)
{
	json_object *o = NULL;
	enum ctl_kind kind;
	int rc;

	memset(c, 0, sizeof *c);
	linebuf_init(&c->in, CTL_LINE_MAX);
	c->next_id = 1;
	c->fd = fd;
	rc = read_msg(c, &o, &kind, now_mono() + timeout_ms / 1000.0, cause);
	if (rc != 0 || kind != CTL_HELLO) {
		json_object_put(o);
		if (rc == 0)
			fail(cause, -1, "supervisor did not greet");
		ctl_close(c);
		errno = ETIMEDOUT;
		return -1;
	}
	c->hello = o;
	return 0;
}

int
ctl_send(struct ctl_client *c, const char *cmd, json_object *args)
{
	json_object *req = args ? args : json_object_new_object();
	int id = c->next_id++;

	json_object_object_add(req, "v", json_object_new_int(CTL_VERSION));
	json_object_object_add(req, "id", json_object_new_int(id));
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	if (ctl_write(c->fd, req) == -1)
		id = -1;
	json_object_put(req);
	return id;
}

int
ctl_wait(struct ctl_client *c, int id, json_object **data, int timeout_ms, char **cause)
{
	double deadline = now_mono() + timeout_ms / 1000.0;
	json_object *o, *v;
	enum ctl_kind kind;
	int rc;

	if (data != NULL)
		*data = NULL;
	for (;;) {
		if ((rc = read_msg(c, &o, &kind, deadline, cause)) != 0)
			return rc;
		if (kind != CTL_REPLY) {
			json_object_put(o);
			continue;
		}
		json_object_object_get_ex(o, "id", &v);
		if (id != 0 && json_object_get_int(v) != id) {
			json_object_put(o);
			continue;
		}
		json_object_object_get_ex(o, "ok", &v);
		if (json_object_get_boolean(v)) {
			if (data != NULL && json_object_object_get_ex(o, "data", &v))
				*data = json_object_get(v);
			json_object_put(o);
			return 0;
		}
		rc = EXIT_FAIL;
		if (json_object_object_get_ex(o, "status", &v) && json_object_get_int(v) > 0)
			rc = json_object_get_int(v);
		if (json_object_object_get_ex(o, "error", &v))
			fail(cause, 0, "%s", json_object_get_string(v));
		else
			fail(cause, 0, "request failed");
		json_object_put(o);
		return rc;
	}
}

int
ctl_call(struct ctl_client *c, const char *cmd, json_object *args, json_object **data,
    int timeout_ms, char **cause)
{
	int id = ctl_send(c, cmd, args);

	if (id == -1)
		return fail(cause, EXIT_FAIL, "cannot send '%s' to the supervisor: %s", cmd,
		    strerror(errno));
	return ctl_wait(c, id, data, timeout_ms, cause);
}

void
ctl_close(struct ctl_client *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	linebuf_free(&c->in);
	json_object_put(c->hello);
	c->hello = NULL;
}
