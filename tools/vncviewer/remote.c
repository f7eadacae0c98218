/*
 * The display of a VM on another host: ctys there says where it is (GETCLIENTPORT), and
 * its UNIX socket is reached through the ssh connection (no port opened there, no helper
 * process). The connection stays open while the viewer runs.
 */
#include "vncviewer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "exitcodes.h"
#include "remote.h"
#include "util.h"

static struct conf conf;
static struct remote_target *rt;
static size_t nrt;
static struct remote_session *rs;

int
target_remote(const char *host, const char *addr, struct target *t, char **cause)
{
	struct remote_result r = { 0 };
	char *word = (char *)host, *req, *eq, *label = NULL;
	int rc;

	memset(t, 0, sizeof *t);
	t->fd = -1;
	if ((rc = conf_load(&conf, cause)) != 0)
		return rc;
	if ((rc = remote_targets(&conf, &word, 1, &rt, &nrt, cause)) != 0)
		return rc;
	if (nrt != 1)
		return fail(cause, EXIT_USAGE, "--host: '%s' names %zu hosts; the viewer shows "
		    "one", host, nrt);
	if ((rs = remote_session_open(&conf, &rt[0], &rc, cause)) == NULL)
		return rc;
	req = xasprintf("GETCLIENTPORT=%s,VNC", addr);
	remote_session_run(rs, "QEMU", req, &r);
	free(req);
	if (!r.ok || r.status != EXIT_OK) {
		if (r.err != NULL)
			remote_put_lines(stderr, rt[0].name, r.err, r.errlen);
		rc = r.ok ? r.status : r.status;
		if (r.cause != NULL) {
			*cause = r.cause;
			r.cause = NULL;
		} else
			fail(cause, rc, "%s: no display for '%s'", rt[0].name, addr);
		goto out;
	}
	/* CLIENTPORT(VNC,<host>,<label>)=<socket or host:port> */
	r.out[strcspn(r.out, "\n")] = '\0';
	if (strncmp(r.out, "CLIENTPORT(VNC,", 15) != 0 || (eq = strstr(r.out, ")=")) == NULL) {
		rc = fail(cause, EXIT_FAIL, "%s: unexpected answer '%s'", rt[0].name, r.out);
		goto out;
	}
	if (eq[2] != '/') {
		rc = fail(cause, EXIT_USAGE, "%s: '%s' has a TCP display (%s); connect to it "
		    "directly, or give the VM the default UNIX display", rt[0].name, addr, eq + 2);
		goto out;
	}
	{
		char *c1 = strchr(r.out + 15, ',');

		label = c1 != NULL ? xstrndup(c1 + 1, (size_t)(eq - c1 - 1)) : xstrdup(addr);
	}
	if ((t->fd = remote_session_forward(rs, eq + 2, cause)) == -1) {
		rc = EXIT_FAIL;
		goto out;
	}
	t->path = xstrdup(eq + 2);
	t->name = xasprintf("%s on %s", label, rt[0].name);
	rc = 0;
out:
	free(label);
	free(r.out);
	free(r.err);
	free(r.cause);
	return rc;
}

void
target_remote_close(void)
{
	remote_session_close(rs);
	rs = NULL;
	remote_targets_free(rt, nrt);
	rt = NULL;
	nrt = 0;
	conf_free(&conf);
}
