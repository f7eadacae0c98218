/*
 * The QEMU guest agent, from the supervisor's side: one connection to the agent port's
 * chardev, requests one at a time, resynchronised with guest-sync-delimited whenever the
 * stream may be out of step, every reply size-bounded and checked. The agent runs in an
 * untrusted guest: nothing it sends (garbage, huge lines, silence) can stall, crash or
 * inject into the supervisor; every request ends, by its reply or its timeout.
 * Non-blocking, driven by the supervisor's poll loop.
 */
#ifndef CTYS_AGENT_H
#define CTYS_AGENT_H

#include <stddef.h>

#include <json-c/json.h>

/* The longest reply line taken (guest-exec-status: up to 16 MiB of stdout and of stderr,
 * in base64). */
#define AGENT_LINE_MAX (48u << 20)

/* How a request ended: status 0 with ret (the agent's "return", borrowed for the call),
 * or an EXIT_* status with a message. */
typedef void (*agent_done)(void *arg, int status, json_object *ret, const char *err);

struct agent;

/* fd: connected to the chardev (made non-blocking); port_open: -1 unknown, 0, 1. */
struct agent *agent_new(int fd, int port_open);
/* Ends every request (EXIT_FAIL, "the supervisor is leaving") and closes the descriptor. */
void agent_free(struct agent *);

int agent_fd(const struct agent *);
short agent_events(const struct agent *);	/* for poll */
double agent_next(const struct agent *);	/* the next deadline (now_mono), 0: none */
/* After poll: revents of the descriptor (0 when only a deadline passed). -1: it is gone. */
int agent_run(struct agent *, short revents);

/* QMP VSERPORT_CHANGE of the agent's port: the guest opened (1) or closed (0) it. */
void agent_port(struct agent *, int open);
int agent_port_open(const struct agent *);
/* The agent answered a sync since the port was opened (requests go out). */
int agent_synced(const struct agent *);

/*
 * Queues a request: execute (a guest agent command) with args (consumed; may be NULL).
 * done is called exactly once. AGENT_NOREPLY: the command answers only when it fails
 * (guest-shutdown): it is done when written, and the stream is resynchronised after it.
 */
#define AGENT_NOREPLY 1
void agent_call(struct agent *, const char *execute, json_object *args, int timeout_ms,
    int flags, agent_done done, void *arg);

/*
 * Pure, for the parser's fuzz target: one reply line. 1: {"return": ...} (*ret set, a new
 * reference), 2: {"error": {"desc": ...}} (*err set, printable), -1: anything else.
 */
int agent_reply_parse(const char *line, size_t len, json_object **ret, char **err);

/* Text from the guest made safe to print: control characters as \xNN, bounded length. */
char *agent_printable(const char *s, size_t max);

#endif
