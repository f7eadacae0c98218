/*
 * CANCEL: ACPI power-off with a timeout, then QMP quit, SIGTERM and SIGKILL of the
 * verified QEMU; FORCE starts at quit. RESET, REBOOT and PAUSE keep the VM. The
 * supervisor carries each out, so a CANCEL that is interrupted still finishes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "qemu.h"
#include "vm.h"

static int
parse_seconds(const char *key, const char *v, int *out, char **cause)
{
	if (!str_is_uint(v) || strlen(v) > 5)
		return fail(cause, EXIT_USAGE, "CANCEL %s: not a number of seconds: '%s'", key, v);
	*out = atoi(v);
	return 0;
}

int
qemu_cancel(struct ctx *ctx, struct subopt_list *so)
{
	struct vm_addr addr;
	struct vmrun *vms = NULL;
	struct ctl_client *cl = NULL;
	int *ids = NULL;
	size_t n = 0;
	char *cause = NULL;
	int rc, timeout = ctx->conf->cancel_timeout, worst = EXIT_OK, nmodes = 0;
	int clients, server;
	const char *mode = "poweroff", *modekey = NULL;
	struct subopt *o;
	static const struct {
		const char *keys, *mode;
	} modes[] = {
		{ "POWEROFF|S5", "poweroff" }, { "FORCE", "force" }, { "RESET", "reset" },
		{ "REBOOT", "reboot" }, { "PAUSE|S3", "pause" }, { "SUSPEND|S4", "suspend" },
	};

	if ((rc = vm_addr_parse(so, &addr, 1, &cause)) != 0)
		goto out;
	for (size_t i = 0; i < nitems(modes); i++) {
		if ((o = subopt_find(so, modes[i].keys)) == NULL)
			continue;
		if (nmodes++ > 0) {
			rc = fail(&cause, EXIT_USAGE, "CANCEL: %s and %s exclude each other",
			    modekey, o->key);
			goto out;
		}
		mode = modes[i].mode;
		modekey = o->key;
		if (o->arg != NULL && (rc = parse_seconds(o->key, o->arg, &timeout, &cause)) != 0)
			goto out;
	}
	clients = subopt_find(so, "CLIENT|BOTH") != NULL;
	server = subopt_find(so, "CLIENT") == NULL || subopt_find(so, "BOTH|SERVER") != NULL;
	if ((o = subopt_find(so, "TIMEOUT")) != NULL &&
	    (rc = parse_seconds("TIMEOUT", o->arg, &timeout, &cause)) != 0)
		goto out;

	vm_running(ctx, &addr, &vms, &n);
	if (n == 0) {
		if (addr.all)
			log_debug(1, "no VMs are running");
		else if (addr.path != NULL && access(addr.path, F_OK) == -1)
			rc = fail(&cause, EXIT_NOTFOUND, "no such VM definition: '%s'", addr.path);
		else
			rc = fail(&cause, EXIT_STATE, "'%s' is not running", addr.text);
		goto out;
	}
	cl = xcalloc(n, sizeof *cl);
	ids = xcalloc(n, sizeof *ids);
	/* send every request first: the supervisors work in parallel */
	for (size_t i = 0; i < n; i++) {
		json_object *args = json_object_new_object();

		cl[i].fd = -1;
		ids[i] = -1;
		if ((rc = vm_connect(ctx, &vms[i], &cl[i], &cause)) != 0) {
			json_object_put(args);
			if (rc != EXIT_STATE) {
				log_err("%s", cause);
				worst = rc;
			}
			continue;
		}
		if (clients) {
			/* CLIENT: the consoles and viewers go, told why; the VM stays */
			json_object *d = NULL;

			if (ctl_call(&cl[i], "close-consoles", NULL, &d, 5000, &cause) != 0) {
				log_err("'%s': %s", vms[i].label, cause);
				worst = EXIT_FAIL;
			}
			json_object_put(d);
			free(cause);
			cause = NULL;
		}
		if (!server) {
			json_object_put(args);
			ctl_close(&cl[i]);
			continue;
		}
		json_object_object_add(args, "mode", json_object_new_string(mode));
		json_object_object_add(args, "timeout", json_object_new_int(timeout));
		ids[i] = ctl_send(&cl[i], "cancel", args);
	}
	for (size_t i = 0; i < n; i++) {
		json_object *data = NULL, *how;

		if (ids[i] == -1)
			continue;
		rc = ctl_wait(&cl[i], ids[i], &data, (timeout + 30) * 1000, &cause);
		if (rc != 0) {
			log_err("'%s': %s", vms[i].label, cause);
			worst = rc;
		} else if (json_object_object_get_ex(data, "how", &how))
			log_debug(1, "'%s': %s", vms[i].label, json_object_get_string(how));
		json_object_put(data);
		ctl_close(&cl[i]);
	}
	rc = worst;
	free(cause);
	cause = NULL;
out:
	if (rc != 0 && cause != NULL)
		log_err("%s", cause);
	free(cl);
	free(ids);
	vmrun_list_free(vms, n);
	vm_addr_free(&addr);
	free(cause);
	return rc;
}
