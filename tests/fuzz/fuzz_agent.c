/*
 * libFuzzer target: what a guest agent sends. The reply parser on the whole input, then
 * the stream state machine (agent.c) fed the input as the agent's bytes, in chunks, with
 * a request in flight; with the first byte odd, after a correct sync, so that replies
 * are taken as such (the sync id is read back from what the host side wrote).
 */
#include <sys/socket.h>

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
done(void *arg, int status, json_object *ret, const char *err)
{
	(void)status;
	(void)ret;
	(void)err;
	(*(int *)arg)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *ret = NULL;
	char *err = NULL, buf[4096];
	struct agent *a;
	int sv[2], ended = 0;
	size_t off = 0;

	agent_reply_parse((const char *)data, size, &ret, &err);
	json_object_put(ret);
	free(err);
	{
		char *t = strndup((const char *)data, size);

		free(agent_printable(t, 64));
		free(t);
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return 0;
	a = agent_new(sv[0], 1);
	agent_call(a, "guest-info", NULL, 60000, 0, done, &ended);
	agent_run(a, POLLOUT);		/* the sync goes out */
	if (size > 0 && (data[0] & 1)) {
		ssize_t n = read(sv[1], buf, sizeof buf - 1);
		char *id;

		if (n > 0) {
			buf[n] = '\0';
			if ((id = strstr(buf, "\"id\":")) != NULL) {
				char reply[64];
				int len = snprintf(reply, sizeof reply, "\xff{\"return\": %llu}\n",
				    strtoull(id + 5, NULL, 10));

				(void)!write(sv[1], reply, (size_t)len);
				agent_run(a, POLLIN | POLLOUT);
			}
		}
	}
	while (off < size) {
		size_t chunk = size - off < 97 ? size - off : 97;

		if (write(sv[1], data + off, chunk) < 0)
			break;
		off += chunk;
		if (agent_run(a, POLLIN | POLLOUT) == -1)
			break;
		while (read(sv[1], buf, sizeof buf) == (ssize_t)sizeof buf)
			;	/* what the host side writes, drained */
	}
	agent_call(a, "guest-ping", NULL, 1, 0, done, &ended);
	agent_free(a);		/* ends every request */
	close(sv[1]);
	return ended == 2 ? 0 : (abort(), 0);
}
