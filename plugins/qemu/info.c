/*
 * INFO=<machine-address>: one VM described. Running: the supervisor's status, definition,
 * argv, sockets, forwarded ports, policies and the last events. Suspended: where and when
 * its state was saved. Stopped: its last exit record (how it ended, when, the last events).
 * JSON prints the same as one object. (LIST and the shared printer come with the LIST work.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "exitcodes.h"
#include "locate.h"
#include "qemu.h"
#include "rundir.h"
#include "saved.h"
#include "vm.h"
#include "vmdef.h"

#define EVENTS_SHOWN 10

static json_object *
file_json(const char *dir, const char *name)
{
	char *p = rundir_file(dir, name), *t = file_read(p, 1 << 20, NULL);
	json_object *o = NULL;

	if (t != NULL) {
		size_t n = strlen(t);

		while (n > 0 && t[n - 1] == '\n')
			t[--n] = '\0';
		o = json_object_new_string(t);
	}
	free(t);
	free(p);
	return o;
}

/* The last n lines of events.jsonl, parsed. */
static json_object *
last_events(const char *path, int n)
{
	char *t = file_read(path, 16 << 20, NULL), *line, *save = NULL;
	json_object *all = json_object_new_array(), *out = json_object_new_array();
	size_t len;

	for (line = t ? strtok_r(t, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		json_object *e = json_tokener_parse(line);

		if (e != NULL)
			json_object_array_add(all, e);
	}
	len = json_object_array_length(all);
	for (size_t i = len > (size_t)n ? len - (size_t)n : 0; i < len; i++)
		json_object_array_add(out, json_object_get(json_object_array_get_idx(all, i)));
	json_object_put(all);
	free(t);
	return out;
}

static json_object *
argv_json(const char *dir)
{
	char *p = rundir_file(dir, "argv"), *buf;
	json_object *a = json_object_new_array();
	size_t len, i = 0;

	if ((buf = file_read(p, 1 << 20, &len)) != NULL)
		while (i < len) {
			json_object_array_add(a, json_object_new_string(buf + i));
			i += strlen(buf + i) + 1;
		}
	free(buf);
	free(p);
	return a;
}

static json_object *
running_info(struct ctx *ctx, struct vmrun *r)
{
	struct ctl_client c;
	json_object *o = NULL, *v;
	char *cause = NULL, *ev;

	if (vm_connect(ctx, r, &c, &cause) == 0) {
		if (ctl_call(&c, "status", NULL, &o, 5000, &cause) != 0)
			o = NULL;
		ctl_close(&c);
	}
	if (o == NULL) {
		o = json_object_new_object();
		json_object_object_add(o, "label", json_object_new_string(r->label));
		json_object_object_add(o, "state", json_object_new_string("not answering"));
		json_object_object_add(o, "error", json_object_new_string(cause ? cause : ""));
	}
	free(cause);
	json_object_object_add(o, "runtime_dir", json_object_new_string(r->dir));
	{
		char *p = rundir_file(r->dir, "ctl.sock"), *q = rundir_file(r->dir, "console.sock");

		json_object_object_add(o, "control", json_object_new_string(p));
		json_object_object_add(o, "console", json_object_new_string(q));
		free(p);
		free(q);
	}
	if ((v = file_json(r->dir, "ports")) != NULL)
		json_object_object_add(o, "ports", v);
	if ((v = file_json(r->dir, "policy")) != NULL)
		json_object_object_add(o, "policy", v);
	json_object_object_add(o, "argv", argv_json(r->dir));
	ev = rundir_file(r->dir, "events.jsonl");
	json_object_object_add(o, "events", last_events(ev, EVENTS_SHOWN));
	free(ev);
	return o;
}

/* A VM that does not run: suspended, or its last exit record, or nothing known. */
static json_object *
stopped_info(struct ctx *ctx, const char *def, char **cause)
{
	struct vmdef *d = vmdef_load(def, cause);
	json_object *o, *rec = NULL, *v;
	char *id, *label, *sdir, *img, *p, *t;

	if (d == NULL)
		return NULL;
	id = rundir_id(vmdef_get(d, "UUID"), d->path);
	label = vmdef_label(d);
	sdir = saved_dir(ctx->paths->save, id);
	o = json_object_new_object();
	json_object_object_add(o, "label", json_object_new_string(label));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "definition", json_object_new_string(d->path));
	/* #@#DEFAULTHOSTS: only a hint; CREATE starts a VM where it is asked (here, or on
	 * the hosts named after the options) */
	if (vmdef_get(d, "DEFAULTHOSTS") != NULL && *vmdef_get(d, "DEFAULTHOSTS") != '\0')
		json_object_object_add(o, "default_hosts",
		    json_object_new_string(vmdef_get(d, "DEFAULTHOSTS")));
	if ((img = saved_image(sdir)) != NULL) {
		json_object_object_add(o, "state", json_object_new_string("suspended"));
		json_object_object_add(o, "saved", json_object_new_double(saved_when(sdir)));
		json_object_object_add(o, "saved_state", json_object_new_string(img));
		free(img);
	} else
		json_object_object_add(o, "state", json_object_new_string("stopped"));
	p = xasprintf("%s/exits/%s.json", ctx->paths->state, id);
	if ((t = file_read(p, 4 << 20, NULL)) != NULL && (rec = json_tokener_parse(t)) != NULL &&
	    json_object_is_type(rec, json_type_object)) {
		json_object_object_add(o, "last_exit", rec);
		if (json_object_object_get_ex(rec, "how", &v))
			json_object_object_add(o, "how", json_object_get(v));
	} else
		json_object_put(rec);
	free(t);
	free(p);
	free(sdir);
	free(label);
	free(id);
	vmdef_free(d);
	return o;
}

static void
put(const char *key, const char *val)
{
	if (val != NULL && *val != '\0')
		printf("%-13s %s\n", key, val);
}

static const char *
str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null) ?
	    json_object_get_string(v) : NULL;
}

static void
put_time(const char *key, json_object *o, const char *field)
{
	json_object *v;
	char buf[64];
	time_t t;

	if (!json_object_object_get_ex(o, field, &v) || json_object_get_double(v) <= 0)
		return;
	t = (time_t)json_object_get_double(v);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", localtime(&t));
	put(key, buf);
}

static void
put_events(json_object *evs)
{
	if (evs == NULL || json_object_array_length(evs) == 0)
		return;
	printf("events:\n");
	for (size_t i = 0; i < json_object_array_length(evs); i++) {
		json_object *e = json_object_array_get_idx(evs, i), *d;
		char buf[32];
		time_t t;
		json_object *ts;

		t = json_object_object_get_ex(e, "ts", &ts) ? (time_t)json_object_get_double(ts) : 0;
		strftime(buf, sizeof buf, "%H:%M:%S", localtime(&t));
		printf("  %s %s", buf, str(e, "event") ? str(e, "event") : "?");
		if (json_object_object_get_ex(e, "data", &d))
			printf(" %s", json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE));
		printf("\n");
	}
}

/* What the guest agent said (the supervisor's cache; sanitized there) and the channels. */
static void
put_agent(json_object *o)
{
	json_object *ga, *x, *ifs;

	if (json_object_object_get_ex(o, "agent", &ga)) {
		json_object *os = NULL;
		char *t;

		json_object_object_get_ex(ga, "os", &os);
		t = xasprintf("%s%s%s", json_object_get_boolean(json_object_object_get(ga,
		    "connected")) ? "connected" : "not connected", str(ga, "version") ?
		    ", qemu-ga " : "", str(ga, "version") ? str(ga, "version") : "");
		put("agent:", t);
		free(t);
		if (os != NULL) {
			t = xasprintf("%s%s%s%s", str(os, "pretty-name") ? str(os, "pretty-name") :
			    str(os, "name") ? str(os, "name") : "?", str(os, "kernel-release") ?
			    " (kernel " : "", str(os, "kernel-release") ? str(os, "kernel-release") :
			    "", str(os, "kernel-release") ? ")" : "");
			put("guest os:", t);
			free(t);
		}
		put("hostname:", str(ga, "hostname"));
		if (json_object_object_get_ex(ga, "interfaces", &ifs))
			for (size_t i = 0; i < json_object_array_length(ifs); i++) {
				json_object *in = json_object_array_get_idx(ifs, i), *a;
				char *line = xasprintf("%s", str(in, "name") ? str(in, "name") : "?");

				if (json_object_object_get_ex(in, "ips", &a))
					for (size_t k = 0; k < json_object_array_length(a); k++) {
						char *n = xasprintf("%s %s", line, json_object_get_string(
						    json_object_array_get_idx(a, k)));

						free(line);
						line = n;
					}
				put(i == 0 ? "addresses:" : "", line);
				free(line);
			}
	}
	if (json_object_object_get_ex(o, "def_ips", &x) && !(json_object_object_get_ex(o,
	    "agent", &ga) && json_object_object_get_ex(ga, "interfaces", NULL))) {
		char *t = xasprintf("%s (the definition's)", json_object_get_string(x));

		put("addresses:", t);
		free(t);
	}
	if (json_object_object_get_ex(o, "channels", &x)) {
		char *t = xstrdup("");

		json_object_object_foreach(x, name, open) {
			char *n = xasprintf("%s%s%s%s", t, *t ? ", " : "", name,
			    json_object_get_boolean(open) ? " (open)" : "");

			free(t);
			t = n;
		}
		put("channels:", t);
		free(t);
	}
}

static void
print_text(json_object *o)
{
	json_object *v, *rec;

	put("label:", str(o, "label"));
	put("state:", str(o, "state"));
	put("definition:", str(o, "definition"));
	put("id:", str(o, "id"));
	if (str(o, "default_hosts") != NULL) {
		char *h = xasprintf("%s (a hint: ctys -a CREATE=... <host> starts it there)",
		    str(o, "default_hosts"));

		put("defhosts:", h);
		free(h);
	}
	if (json_object_object_get_ex(o, "qemu_pid", &v)) {
		int qpid = json_object_get_int(v), spid = 0;
		char *s;

		if (json_object_object_get_ex(o, "supervisor_pid", &v))
			spid = json_object_get_int(v);
		s = xasprintf("%d (supervisor %d)", qpid, spid);

		put("qemu pid:", s);
		free(s);
	}
	put("qemu:", str(o, "qemu_version"));
	put("accelerator:", str(o, "accel"));
	put_agent(o);
	put_time("started:", o, "started");
	put("runtime dir:", str(o, "runtime_dir"));
	put("control:", str(o, "control"));
	put("console:", str(o, "console"));
	put("ports:", str(o, "ports"));
	put("policy:", str(o, "policy"));
	put_time("saved:", o, "saved");
	put("saved state:", str(o, "saved_state"));
	if (json_object_object_get_ex(o, "argv", &v)) {
		printf("%-13s", "argv:");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			char *q = sh_quote(json_object_get_string(json_object_array_get_idx(v, i)));

			printf(" %s", q);
			free(q);
		}
		printf("\n");
	}
	if (json_object_object_get_ex(o, "last_exit", &rec)) {
		put("last exit:", str(rec, "how"));
		put_time("ended:", rec, "ended");
		if (json_object_object_get_ex(rec, "exit_status", &v)) {
			char *s = xasprintf("%d", json_object_get_int(v));

			put("exit status:", s);
			free(s);
		}
		put("qemu log:", str(rec, "qemu_log_tail"));
		json_object_object_get_ex(rec, "events", &v);
		put_events(v);
	} else if (json_object_object_get_ex(o, "events", &v))
		put_events(v);
}

int
qemu_info(struct ctx *ctx, struct subopt_list *so)
{
	struct vm_addr addr;
	struct vmrun *vms = NULL;
	json_object *o = NULL;
	char *cause = NULL, *def = NULL;
	size_t n = 0;
	int rc;

	if ((rc = vm_addr_parse(so, &addr, 0, &cause)) != 0)
		goto out;
	vm_running(ctx, &addr, &vms, &n);
	if (n > 1) {
		rc = fail(&cause, EXIT_AMBIGUOUS, "'%s' matches %zu running VMs", addr.text, n);
		goto out;
	}
	if (n == 1)
		o = running_info(ctx, &vms[0]);
	else {
		if ((rc = vm_resolve_definition(ctx, &addr, &def, &cause)) != 0)
			goto out;
		if ((o = stopped_info(ctx, def, &cause)) == NULL) {
			rc = EXIT_FAIL;
			goto out;
		}
	}
	if (subopt_find(so, "JSON") != NULL)
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_text(o);
	rc = EXIT_OK;
out:
	if (rc != 0 && cause != NULL)
		log_err("%s", cause);
	json_object_put(o);
	vmrun_list_free(vms, n);
	vm_addr_free(&addr);
	free(def);
	free(cause);
	return rc;
}

/*
 * GETCLIENTPORT=<machine-address>[,VNC|CLI]: where a client connects, in the original's
 * form `CLIENTPORT(VNC,<host>,<label>)=<port or socket>`.
 */
int
qemu_getclientport(struct ctx *ctx, struct subopt_list *so)
{
	struct vm_addr addr;
	struct vmrun *vms = NULL;
	char *cause = NULL, host[256], *t = NULL, *p;
	const char *kind = subopt_find(so, "CLI") != NULL ? "CLI" : "VNC", *where = NULL;
	size_t n = 0;
	int rc;

	if ((rc = vm_addr_parse(so, &addr, 0, &cause)) != 0)
		goto out;
	vm_running(ctx, &addr, &vms, &n);
	if (n == 0) {
		rc = fail(&cause, EXIT_STATE, "'%s' is not running", addr.text);
		goto out;
	}
	if (n > 1) {
		rc = fail(&cause, EXIT_AMBIGUOUS, "'%s' matches %zu running VMs", addr.text, n);
		goto out;
	}
	if (gethostname(host, sizeof host) != 0)
		strlcpy_chk(host, "localhost", sizeof host);
	host[strcspn(host, ".")] = '\0';
	if (strcmp(kind, "CLI") == 0) {
		t = rundir_file(vms[0].dir, "console.sock");
		where = t;
	} else {
		p = rundir_file(vms[0].dir, "vnc");
		t = file_read_line(p);
		free(p);
		if (t == NULL) {
			rc = fail(&cause, EXIT_NOTFOUND, "'%s' has no VNC display", vms[0].label);
			goto out;
		}
		/* "unix <path>": the path; "tcp <host>:<port>": the port */
		where = strncmp(t, "tcp ", 4) == 0 && strrchr(t, ':') ? strrchr(t, ':') + 1 :
		    strchr(t, ' ') ? strchr(t, ' ') + 1 : t;
	}
	printf("CLIENTPORT(%s,%s,%s)=%s\n", kind, host, vms[0].label, where);
	rc = EXIT_OK;
out:
	if (rc != 0 && cause != NULL)
		log_err("%s", cause);
	free(t);
	vmrun_list_free(vms, n);
	vm_addr_free(&addr);
	free(cause);
	return rc;
}
