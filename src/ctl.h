/*
 * The supervisor's control socket: line-delimited JSON, one object per line.
 *   greeting  {"v":1,"hello":{...}}                      (server, on connect)
 *   request   {"v":1,"id":N,"cmd":"NAME",...arguments}   (client)
 *   reply     {"v":1,"id":N,"ok":true,"data":{...}}
 *             {"v":1,"id":N,"ok":false,"error":"text","status":EXIT_*}
 *   event     {"v":1,"event":"NAME","ts":SECONDS,"data":{...}}   (server, to subscribers)
 * Documented in docs/control-socket.md.
 */
#ifndef CTYS_CTL_H
#define CTYS_CTL_H

#include <json-c/json.h>

#include "linebuf.h"

#define CTL_VERSION 1
#define CTL_LINE_MAX (1024 * 1024)	/* what each side reads, unless a client raises it */
#define CTL_MSG_MAX (64u << 20)		/* any message (EXEC's output comes in one reply) */

enum ctl_kind { CTL_BAD, CTL_HELLO, CTL_REQUEST, CTL_REPLY, CTL_EVENT };

/* Pure: parses and classifies one line. Returns the kind; on CTL_BAD *cause says why. */
enum ctl_kind ctl_msg_parse(const char *line, size_t len, json_object **out, char **cause);

/* Writes one object as a line (blocking, EINTR/EAGAIN-safe with poll). 0 or -1. */
int ctl_write(int fd, json_object *);

struct ctl_client {
	int fd;
	struct linebuf in;
	int next_id;
	json_object *hello;
};

/* Connects and reads the greeting. Returns 0, or -1 with errno (ECONNREFUSED, ENOENT...). */
int ctl_open(struct ctl_client *, const char *path, int timeout_ms, char **cause);
/* The same over a connected descriptor (a socket forwarded from another host); takes fd. */
int ctl_open_fd(struct ctl_client *, int fd, int timeout_ms, char **cause);
/*
 * Sends {"cmd":cmd,...args} (args is consumed) and waits for its reply, skipping events.
 * Returns 0 with *data (may be NULL), or an EXIT_* status with *cause.
 */
int ctl_call(struct ctl_client *, const char *cmd, json_object *args, json_object **data,
    int timeout_ms, char **cause);
/* Sends a request without waiting; returns its id or -1. */
int ctl_send(struct ctl_client *, const char *cmd, json_object *args);
/* Waits for the reply with id (0 = any reply); same returns as ctl_call. */
int ctl_wait(struct ctl_client *, int id, json_object **data, int timeout_ms, char **cause);
void ctl_close(struct ctl_client *);

/* Connects a SOCK_STREAM UNIX socket; -1 with errno on failure (ENAMETOOLONG for long paths). */
int unix_connect(const char *path);
/* Binds and listens (removing a stale socket file first); -1 with errno. */
int unix_listen(const char *path, int backlog);

#endif
