/*
 * EXEC=<machine-address>,CMD:<word>%<word>...[,TIMEOUT:<seconds>]: a command run in the
 * guest by its agent (guest-exec, then guest-exec-status until it has ended), through the
 * supervisor's `agent` request. Its output is written as it is, its exit status passed
 * through, as ssh does; ctys's own failures become 255 (the dispatcher's ACT_OWN_255), so
 * a script can tell the two apart. The agent is inside an untrusted guest: its replies
 * are checked, its base64 decoded strictly, and any text of the guest that ctys itself
 * prints is escaped.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent.h"
#include "exitcodes.h"
#include "qemu.h"
#include "remote.h"
#include "vm.h"

#define EXEC_TIMEOUT_DEFAULT 60		/* seconds for the whole command */
#define EXEC_TIMEOUT_MAX 604800		/* a week: milliseconds still fit an int */
#define EXEC_CALL_MS 10000		/* one agent request (the agent answers at once) */
#define EXEC_SLACK_MS 5000		/* the supervisor's own time around it */
#define EXEC_POLL_FIRST 0.02		/* guest-exec-status: first wait, seconds */
#define EXEC_POLL_MAX 0.2		/* and the longest */
/* Two streams of at most 16 MiB each (qemu-ga's bound), base64, in one reply line. */
#define EXEC_LINE_MAX CTL_MSG_MAX

/* ---- base64 ---- */

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Pure: strict base64 (RFC 4648, padded, no whitespace, unused bits zero), as glib's
 * g_base64_encode writes it for qemu-ga. 0 with *out (NUL-terminated, *outlen bytes
 * before it), or -1 for anything else.
 */
int
exec_b64_decode(const char *in, size_t len, char **out, size_t *outlen)
{
	unsigned char *o;
	size_t n = 0;

	*out = NULL;
	*outlen = 0;
	if (len % 4 != 0)
		return -1;
	o = xmalloc(len / 4 * 3 + 1);
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64_value(c)) < 0)
				goto bad;	/* '=' inside, or data after it */
		}
		/* the bits that padding leaves over must be zero (one encoding per input) */
		if ((pad == 1 && (v[2] & 0x3) != 0) || (pad == 2 && (v[1] & 0xf) != 0))
			goto bad;
		o[n++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			o[n++] = (unsigned char)((v[1] & 0xf) << 4 | v[2] >> 2);
		if (pad < 1)
			o[n++] = (unsigned char)((v[2] & 0x3) << 6 | v[3]);
	}
	o[n] = '\0';
	*out = (char *)o;
	*outlen = n;
	return 0;
bad:
	free(o);
	return -1;
}

/* ---- the command ---- */

/* Writes all of buf (a descriptor we share: it may be non-blocking). 0 or -1. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN) {
			struct pollfd pfd = { fd, POLLOUT, 0 };

			poll(&pfd, 1, 1000);
			continue;
		}
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* What the user asked to run, for messages (escaped: it may hold anything). */
static char *
cmd_text(const struct subopt *cmd)
{
	char *s = xstrdup(""), *t, *p;

	for (size_t i = 0; i < cmd->nvals; i++) {
		t = xasprintf("%s%s%s", s, i ? " " : "", cmd->vals[i]);
		free(s);
		s = t;
	}
	p = agent_printable(s, 200);
	free(s);
	return p;
}

struct exec_run {
	struct ctl_client c;
	const char *label;
	int timeout;		/* seconds, TIMEOUT */
	double deadline;	/* now_mono() */
};

/*
 * One guest agent request through the supervisor: 0 with *ret (the agent's "return"),
 * or an EXIT_* status with *cause saying what failed, in words for the user.
 */
static int
exec_call(struct exec_run *x, const char *execute, json_object *arguments, json_object **ret,
    char **cause)
{
	json_object *req = json_object_new_object();
	char *why = NULL, *safe;
	double left = x->deadline - now_mono();
	int ms = left * 1000 < EXEC_CALL_MS ? (int)(left * 1000) : EXEC_CALL_MS, rc;

	*ret = NULL;
	if (ms < 200)
		ms = 200;	/* the last look at a command that may just have ended */
	json_object_object_add(req, "execute", json_object_new_string(execute));
	if (arguments != NULL)
		json_object_object_add(req, "arguments", arguments);
	json_object_object_add(req, "timeout", json_object_new_int(ms));
	log_debug(2, "agent: %s (%d ms)", execute, ms);
	rc = ctl_call(&x->c, "agent", req, ret, ms + EXEC_SLACK_MS, &why);
	if (rc == 0)
		return 0;
	safe = agent_printable(why ? why : "failed", 1000);
	free(why);
	if (strstr(safe, "unknown command") != NULL)
		rc = fail(cause, EXIT_STATE, "the supervisor of '%s' does not pass requests to the "
		    "guest agent (it is older than this ctys: restart the VM)", x->label);
	else if (strcmp(safe, "no answer from the supervisor") == 0)
		rc = fail(cause, EXIT_TIMEOUT, "the supervisor of '%s' did not answer within %d s",
		    x->label, (ms + EXEC_SLACK_MS) / 1000);
	else
		rc = fail(cause, rc, "'%s': %s: %s", x->label, execute, safe);
	free(safe);
	return rc;
}

/* Decodes one stream of a guest-exec-status reply (absent: nothing) and writes it to fd. */
static int
put_stream(json_object *st, const char *key, int fd, const char *label, char **cause)
{
	json_object *v;
	char *buf;
	size_t len;

	if (!json_object_object_get_ex(st, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    exec_b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v),
	    &buf, &len) != 0)
		return fail(cause, EXIT_FAIL, "'%s': the guest agent sent '%s' that is not base64",
		    label, key);
	if (write_all(fd, buf, len) != 0)
		log_debug(1, "writing the guest's %s: %s", key, strerror(errno));
	free(buf);
	return 0;
}

/* A member that must be absent or of one type: 1 present, 0 absent, -1 wrong. */
static int
member(json_object *o, const char *key, json_type type, json_object **v)
{
	if (!json_object_object_get_ex(o, key, v) || json_object_is_type(*v, json_type_null))
		return 0;
	return json_object_is_type(*v, type) ? 1 : -1;
}

/*
 * guest-exec-status until the command has ended or the deadline passes; writes its output.
 * Returns its exit status (0..255) with *passed set, or an EXIT_* status with *cause.
 */
static int
exec_wait(struct exec_run *x, int64_t pid, const char *what, int *passed, char **cause)
{
	double wait = EXEC_POLL_FIRST;
	json_object *st = NULL, *v, *args;
	int rc, exited, code, sig, trunc;

	for (;;) {
		args = json_object_new_object();
		json_object_object_add(args, "pid", json_object_new_int64(pid));
		if ((rc = exec_call(x, "guest-exec-status", args, &st, cause)) != 0) {
			if (rc == EXIT_TIMEOUT && now_mono() >= x->deadline)
				break;
			return rc;
		}
		if (!json_object_is_type(st, json_type_object) ||
		    (exited = member(st, "exited", json_type_boolean, &v)) != 1 ||
		    (code = member(st, "exitcode", json_type_int, &v)) < 0 ||
		    (sig = member(st, "signal", json_type_int, &v)) < 0) {
			json_object_put(st);
			return fail(cause, EXIT_FAIL, "'%s': the guest agent's guest-exec-status "
			    "reply is not one", x->label);
		}
		if ((rc = put_stream(st, "out-data", STDOUT_FILENO, x->label, cause)) != 0 ||
		    (rc = put_stream(st, "err-data", STDERR_FILENO, x->label, cause)) != 0) {
			json_object_put(st);
			return rc;
		}
		json_object_object_get_ex(st, "exited", &v);
		if (json_object_get_boolean(v))
			break;
		json_object_put(st);
		st = NULL;
		if (now_mono() + wait > x->deadline) {
			if (now_mono() >= x->deadline)
				break;
			wait = x->deadline - now_mono();
		}
		usleep((useconds_t)(wait * 1e6));
		if ((wait *= 2) > EXEC_POLL_MAX)
			wait = EXEC_POLL_MAX;
	}
	if (st == NULL)
		return fail(cause, EXIT_TIMEOUT, "'%s': '%s' did not end within %d s (TIMEOUT); it "
		    "goes on in the guest as pid %lld", x->label, what, x->timeout, (long long)pid);
	trunc = member(st, "out-truncated", json_type_boolean, &v) == 1 &&
	    json_object_get_boolean(v);
	if (member(st, "err-truncated", json_type_boolean, &v) == 1 && json_object_get_boolean(v))
		trunc = 1;
	if (trunc)
		log_warn("'%s': the guest agent cut the output of '%s' short (it keeps 16 MiB "
		    "of each stream)", x->label, what);
	code = member(st, "exitcode", json_type_int, &v) == 1 ? json_object_get_int(v) : -1;
	sig = member(st, "signal", json_type_int, &v) == 1 ? json_object_get_int(v) : -1;
	json_object_put(st);
	/* as a shell and ssh say it: a signal is 128 + its number */
	if (sig >= 1 && sig <= 127) {
		*passed = 1;
		return 128 + sig;
	}
	if (sig == -1 && code >= 0 && code <= 255) {
		*passed = 1;
		return code;
	}
	return fail(cause, EXIT_FAIL, "'%s': the guest agent gave no usable exit status for "
	    "'%s' (exitcode %d, signal %d)", x->label, what, code, sig);
}

int
qemu_exec(struct ctx *ctx, struct subopt_list *so)
{
	struct vm_addr addr;
	struct vmrun *vms = NULL;
	struct exec_run x = { .c = { .fd = -1 } };
	struct subopt *cmd = subopt_find(so, "CMD"), *to = subopt_find(so, "TIMEOUT");
	json_object *args, *argv, *ret = NULL, *v;
	char *cause = NULL, *what = NULL;
	size_t n = 0;
	int rc;

	if ((rc = vm_addr_parse(so, &addr, 0, &cause)) != 0)
		goto out;
	if (cmd == NULL || cmd->nvals == 0 || *cmd->vals[0] == '\0') {
		rc = fail(&cause, EXIT_USAGE, "EXEC needs the command: CMD:<program>%%<arg>...");
		goto out;
	}
	cmd->used = 1;
	x.timeout = EXEC_TIMEOUT_DEFAULT;
	if (to != NULL) {
		to->used = 1;
		if (to->arg == NULL || !str_is_uint(to->arg) || atoi(to->arg) < 1 ||
		    strlen(to->arg) > 7 || atoi(to->arg) > EXEC_TIMEOUT_MAX) {
			rc = fail(&cause, EXIT_USAGE, "TIMEOUT: seconds from 1 to %d, not '%s'",
			    EXEC_TIMEOUT_MAX, to->arg ? to->arg : "");
			goto out;
		}
		x.timeout = atoi(to->arg);
	}
	what = cmd_text(cmd);
	x.deadline = now_mono() + x.timeout;
	vm_running(ctx, &addr, &vms, &n);
	if (n == 0) {
		rc = fail(&cause, EXIT_STATE, "'%s' is not running", addr.text);
		goto out;
	}
	if (n > 1) {
		rc = fail(&cause, EXIT_AMBIGUOUS, "'%s' matches %zu running VMs", addr.text, n);
		goto out;
	}
	x.label = vms[0].label;
	if ((rc = vm_connect(ctx, &vms[0], &x.c, &cause)) != 0)
		goto out;
	x.c.in.max = EXEC_LINE_MAX;	/* the output comes in one reply */

	args = json_object_new_object();
	argv = json_object_new_array();
	for (size_t i = 1; i < cmd->nvals; i++)
		json_object_array_add(argv, json_object_new_string(cmd->vals[i]));
	json_object_object_add(args, "path", json_object_new_string(cmd->vals[0]));
	json_object_object_add(args, "arg", argv);
	json_object_object_add(args, "capture-output", json_object_new_boolean(1));
	if ((rc = exec_call(&x, "guest-exec", args, &ret, &cause)) != 0)
		goto out;
	if (!json_object_is_type(ret, json_type_object) ||
	    member(ret, "pid", json_type_int, &v) != 1 || json_object_get_int64(v) <= 0) {
		rc = fail(&cause, EXIT_FAIL, "'%s': the guest agent's guest-exec reply has no "
		    "process id", x.label);
		goto out;
	}
	log_debug(1, "'%s': '%s' runs in the guest as pid %lld", x.label, what,
	    (long long)json_object_get_int64(v));
	rc = exec_wait(&x, json_object_get_int64(v), what, &ctx->passed, &cause);
out:
	if (rc != 0 && !ctx->passed && cause != NULL)
		log_err("%s", cause);
	json_object_put(ret);
	ctl_close(&x.c);
	vmrun_list_free(vms, n);
	vm_addr_free(&addr);
	free(what);
	free(cause);
	return rc;
}

/*
 * EXEC on another host: the ctys there runs it (and already maps its own failures to
 * 255); its output comes back as it is, without the host prefixes of other actions.
 */
int
qemu_exec_remote(struct ctx *ctx, struct subopt_list *so, const struct remote_target *t,
    size_t n)
{
	struct remote_session *rs;
	struct remote_result r = { 0 };
	char *cause = NULL, *action;
	int rc;

	(void)so;
	if (n != 1) {
		log_err("EXEC runs in one VM on one host, not on %zu hosts", n);
		return EXIT_USAGE;
	}
	if ((rs = remote_session_open(ctx->conf, &t[0], &rc, &cause)) == NULL) {
		log_err("%s", cause);
		free(cause);
		return rc;
	}
	action = xasprintf("EXEC=%s", ctx->cli->subopts_raw);
	remote_session_run(rs, ctx->cli->type, action, &r);
	free(action);
	if (r.ok) {
		write_all(STDOUT_FILENO, r.out ? r.out : "", r.outlen);
		write_all(STDERR_FILENO, r.err ? r.err : "", r.errlen);
		ctx->passed = 1;	/* the other ctys's status, 255 for its own failures */
		rc = r.status;
	} else {
		remote_put_lines(stderr, t[0].name, r.err ? r.err : "", r.errlen);
		log_err("%s", r.cause);
		rc = r.status;
	}
	remote_session_close(rs);
	free(r.out);
	free(r.err);
	free(r.cause);
	return rc;
}
