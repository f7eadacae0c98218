/*
 * Targets (hosts, user@host:port, [v6], groups nested and cyclic, per-host and global
 * options), the remote command line quoted once, the configuration's hosts, groups and
 * ssh settings with where each came from, and a listing merged from JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "exitcodes.h"
#include "remote.h"
#include "t.h"
#include "util.h"

static char dir[] = "/tmp/ctys-test-remote.XXXXXX";

static int
load(struct conf *c, const char *text, char **cause)
{
	char *path = xasprintf("%s/ctys.conf", dir);
	int rc;

	file_write(path, text, strlen(text), 0600);
	setenv("CTYS_CONF", path, 1);
	free(path);
	rc = conf_load(c, cause);
	return rc;
}

/* The targets of words ('|'-separated) as "name=user@address:port[opts]" lines. */
static char *
targets(const struct conf *c, const char *words, int *rc, char **cause)
{
	char *dup = xstrdup(words), *save = NULL, *w, *out = xstrdup("");
	struct strv v = { 0 };
	struct remote_target *t = NULL;
	size_t n = 0;

	for (w = strtok_r(dup, "|", &save); w; w = strtok_r(NULL, "|", &save))
		strv_add(&v, w);
	free(dup);
	*rc = remote_targets(c, v.v, v.n, &t, &n, cause);
	strv_free(&v);
	for (size_t i = 0; i < n; i++) {
		char *o = xasprintf("%s%s%s=%s@%s:%d[", out, i ? " " : "", t[i].name,
		    t[i].user ? t[i].user : "", t[i].address, t[i].port);

		free(out);
		out = o;
		for (size_t k = 0; k < t[i].opts.n; k++) {
			o = xasprintf("%s%s%s", out, k ? " " : "", t[i].opts.v[k]);
			free(out);
			out = o;
		}
		o = xasprintf("%s]", out);
		free(out);
		out = o;
	}
	remote_targets_free(t, n);
	return out;
}

static void
check_targets(const struct conf *c, const char *words, const char *want)
{
	char *cause = NULL, *got;
	int rc;

	got = targets(c, words, &rc, &cause);
	if (rc != 0)
		fprintf(stderr, "'%s': %s\n", words, cause);
	T_INTEQ(rc, 0);
	T_STREQ(got, want);
	free(got);
	free(cause);
}

static void
check_refused(const struct conf *c, const char *words, const char *want)
{
	char *cause = NULL, *got;
	int rc;

	got = targets(c, words, &rc, &cause);
	T_INTEQ(rc, EXIT_USAGE);
	T_CHECK(cause != NULL && strstr(cause, want) != NULL);
	if (cause == NULL || strstr(cause, want) == NULL)
		fprintf(stderr, "'%s': '%s', wanted '%s'\n", words, cause ? cause : "", want);
	free(got);
	free(cause);
}

int
main(void)
{
	struct conf c;
	char *cause = NULL, *cmd;
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	setenv("CTYS_SYSTEM_CONF", "/nonexistent/ctys.conf", 1);
	rc = load(&c,
	    "remote_ctys = \"/opt/ctys/bin/ctys\"\n"
	    "ssh_parallel = 4\n"
	    "ssh_unknown_hosts = \"accept-new\"\n"
	    "host \"lab1\" { address = \"127.0.0.11\" port = 2222 user = \"ops\" }\n"
	    "host \"lab2\" { address = \"127.0.0.12\" ctys = \"/usr/bin/ctys\" "
	    "connect_timeout = 30 command_timeout = 0 }\n"
	    "group \"lab\" { members = {\"lab1\", \"lab2\", \"root@127.0.0.13:22\"} }\n"
	    "group \"all\" { members = {\"lab\", \"lab1\", \"other\"} }\n"
	    "group \"loop1\" { members = {\"loop2\"} }\n"
	    "group \"loop2\" { members = {\"h\", \"loop1\"} }\n", &cause);
	T_INTEQ(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "%s\n", cause);
		return 1;
	}
	T_INTEQ(c.ssh_parallel, 4);
	T_INTEQ(c.ssh_accept_new, 1);
	T_INTEQ(c.ssh_connect_timeout, 10);

	check_targets(&c, "h1", "h1=@h1:0[]");
	check_targets(&c, "u@h1:2200", "u@h1:2200=u@h1:2200[]");
	check_targets(&c, "[::1]:22", "[::1]:22=@::1:22[]");
	check_targets(&c, "lab1", "lab1=ops@127.0.0.11:2222[]");
	check_targets(&c, "me@lab1", "me@lab1=me@127.0.0.11:2222[]");
	check_targets(&c, "lab", "lab1=ops@127.0.0.11:2222[] lab2=@127.0.0.12:0[] "
	    "root@127.0.0.13:22=root@127.0.0.13:22[]");
	/* nested; lab1 a second time runs once, in its first place */
	check_targets(&c, "all", "lab1=ops@127.0.0.11:2222[] lab2=@127.0.0.12:0[] "
	    "root@127.0.0.13:22=root@127.0.0.13:22[] other=@other:0[]");
	/* per-host options, a group's reach its members; global options reach all */
	check_targets(&c, "h1(-d 2)|h2", "h1=@h1:0[-d 2] h2=@h2:0[]");
	check_targets(&c, "(-d 3)|h1(-q)|h2", "h1=@h1:0[-q -d 3] h2=@h2:0[-d 3]");
	check_targets(&c, "lab(-d 1)", "lab1=ops@127.0.0.11:2222[-d 1] lab2=@127.0.0.12:0[-d 1] "
	    "root@127.0.0.13:22=root@127.0.0.13:22[-d 1]");

	/* timeouts: the host's own, else the global ones; the program: the host's, else global */
	{
		char *w[] = { "lab1", "lab2" };
		struct remote_target *t = NULL;
		size_t n = 0;

		T_INTEQ(remote_targets(&c, w, 2, &t, &n, &cause), 0);
		T_INTEQ(n, 2);
		if (n == 2) {
			T_INTEQ(t[0].connect_timeout, 10);
			T_INTEQ(t[0].command_timeout, 600);
			T_STREQ(t[0].ctys, "/opt/ctys/bin/ctys");
			T_INTEQ(t[1].connect_timeout, 30);
			T_INTEQ(t[1].command_timeout, 0);
			T_STREQ(t[1].ctys, "/usr/bin/ctys");
		}
		remote_targets_free(t, n);
	}

	check_refused(&c, "-x", "refusing host name starting with '-'");
	check_refused(&c, "u@-x", "refusing host name starting with '-'");
	check_refused(&c, "h1:99999", "not a port");
	check_refused(&c, "h1:", "not a port");
	check_refused(&c, "h;1", "not a host name");
	check_refused(&c, "h$(id)", "not a host name");
	check_refused(&c, "@h1", "an empty user name");
	check_refused(&c, "h1(-d 2", "options in parentheses must end the word");
	check_refused(&c, "loop1", "host groups form a cycle: loop1 -> loop2 -> loop1");
	check_refused(&c, "(-d 1)", "no host among the targets");

	/* the remote command: each word quoted once, a label with spaces and ';' intact */
	{
		struct remote_target t = { 0 };

		t.name = "h1";
		t.ctys = "/opt/my ctys/ctys";
		strv_add(&t.opts, "-d");
		strv_add(&t.opts, "2");
		cmd = remote_command(&t, "QEMU", "CREATE=l:web 1; rm -rf ~,CONSOLE:NONE");
		T_STREQ(cmd, "'/opt/my ctys/ctys' --wire 1 -t QEMU -d 2 -a "
		    "'CREATE=l:web 1; rm -rf ~,CONSOLE:NONE'");
		free(cmd);
		cmd = remote_command(&t, "QEMU", "LIST=l:it's,JSON");
		T_STREQ(cmd, "'/opt/my ctys/ctys' --wire 1 -t QEMU -d 2 -a 'LIST=l:it'\\''s,JSON'");
		free(cmd);
		strv_free(&t.opts);
	}

	/* rows from a host's JSON listing: the empty host field becomes the target's name */
	{
		static const struct pr_field f[] = {
			{ "host", "Host", "HOST", 0, 0 },
			{ "label", "Label", "LABEL", 0, 0 },
			{ "pid", "PID", "PID", 0, 1 },
		};
		static const int tab[] = { 0, 1, 2, -1 }, mach[] = { 0, 1, 2, -1 };
		static const struct pr_schema sc = { f, 3, tab, mach };
		struct pr_rows rows = { 0 };
		struct remote_target t = { 0 };

		rows.nfields = 3;
		t.name = "lab9";
		T_INTEQ(remote_rows(&sc, &t, "[{\"host\":\"h1\",\"label\":\"a;b c\",\"pid\":12},"
		    "{\"host\":\"\",\"label\":\"x\",\"pid\":null}]", &rows, &cause), 0);
		T_INTEQ(rows.n, 2);
		if (rows.n == 2) {
			T_STREQ(rows.v[0][0], "h1");
			T_STREQ(rows.v[0][1], "a;b c");
			T_STREQ(rows.v[0][2], "12");
			T_STREQ(rows.v[1][0], "lab9");
			T_CHECK(rows.v[1][2] == NULL);
		}
		T_INTEQ(remote_rows(&sc, &t, "ctys: something else", &rows, &cause), -1);
		T_CHECK(cause != NULL && strstr(cause, "lab9:") != NULL);
		free(cause);
		cause = NULL;
		pr_rows_free(&rows);
	}

	/* SHOW=CONF: values and where they came from */
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		conf_show(f, &c);
		fclose(f);
		T_CHECK(strstr(buf, "remote_ctys = \"/opt/ctys/bin/ctys\"\t# /tmp/ctys-test-remote.") != NULL);
		T_CHECK(strstr(buf, "cancel_timeout = 20\t# default") != NULL);
		T_CHECK(strstr(buf, "ssh_unknown_hosts = \"accept-new\"\t# /tmp/") != NULL);
		T_CHECK(strstr(buf, "host \"lab1\" { address = \"127.0.0.11\" port = 2222 user = \"ops\" }") != NULL);
		T_CHECK(strstr(buf, "group \"lab\" { members = {\"lab1\", \"lab2\", \"root@127.0.0.13:22\"} }") != NULL);
		free(buf);
	}
	conf_free(&c);

	/* configuration errors: file:line, the setting */
	T_INTEQ(load(&c, "ssh_unknown_hosts = \"yes\"\n", &cause), EXIT_USAGE);
	T_CHECK(cause != NULL && strstr(cause, "ssh_unknown_hosts: 'refuse' or 'accept-new'") != NULL);
	free(cause);
	cause = NULL;
	conf_free(&c);
	T_INTEQ(load(&c, "\nssh_parallel = 0\n", &cause), EXIT_USAGE);
	T_CHECK(cause != NULL && strstr(cause, "ctys.conf:2: ssh_parallel: must be 1 to 100000") != NULL);
	free(cause);
	cause = NULL;
	conf_free(&c);
	T_INTEQ(load(&c, "cancel_timeout = -5\n", &cause), EXIT_USAGE);
	T_CHECK(cause != NULL && strstr(cause, "ctys.conf:1: cancel_timeout: must be 0") != NULL);
	free(cause);
	cause = NULL;
	conf_free(&c);
	T_INTEQ(load(&c, "host \"a b\" { }\n", &cause), EXIT_USAGE);
	T_CHECK(cause != NULL && strstr(cause, "not a host name: 'a b'") != NULL);
	free(cause);
	cause = NULL;
	conf_free(&c);
	T_INTEQ(load(&c, "group \"g\" { members = {\"-oProxyCommand=x\"} }\n", &cause), EXIT_USAGE);
	T_CHECK(cause != NULL && strstr(cause, "group 'g': not a host") != NULL);
	free(cause);
	conf_free(&c);

	{
		char *p = xasprintf("%s/ctys.conf", dir);

		unlink(p);
		free(p);
		rmdir(dir);
	}
	return t_done();
}
