/*
 * SHOW: this host as ctys sees it for QEMU: the QEMU binaries in qemu_path with their
 * versions, default machine and KVM support (from the capability probe and its cache),
 * whether KVM is usable and why not, CPUs and memory, ctys's directories and the
 * configuration files read. JSON prints one object.
 */
#include <sys/utsname.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "detect.h"
#include "exitcodes.h"
#include "probe.h"
#include "qemu.h"

static long
meminfo_mib(void)
{
	char *t = file_read("/proc/meminfo", 1 << 16, NULL), *p;
	long kib = 0;

	if (t != NULL && (p = strstr(t, "MemTotal:")) != NULL)
		kib = strtol(p + 9, NULL, 10);
	free(t);
	return kib / 1024;
}

static json_object *
strv_json(const struct strv *v)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < v->n; i++)
		json_object_array_add(a, json_object_new_string(v->v[i]));
	return a;
}

/* Every qemu-system-* (and kvm, qemu-kvm) in the search path, once. */
static void
binaries(const struct conf *conf, struct strv *out)
{
	for (size_t i = 0; i < conf->qemu_path.n; i++) {
		DIR *d = opendir(conf->qemu_path.v[i]);
		struct dirent *de;

		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			char *p;

			if (strncmp(de->d_name, "qemu-system-", 12) != 0 &&
			    strcmp(de->d_name, "qemu-kvm") != 0 && strcmp(de->d_name, "kvm") != 0)
				continue;
			p = xasprintf("%s/%s", conf->qemu_path.v[i], de->d_name);
			if (access(p, X_OK) == 0)
				strv_add(out, p);
			free(p);
		}
		closedir(d);
	}
}

static int
show_host(struct ctx *ctx, struct subopt_list *so)
{
	json_object *o = json_object_new_object(), *bins = json_object_new_array(), *v;
	struct host_facts hf;
	struct strv found = { 0 };
	struct utsname un;
	char *why = NULL;
	const char *accel;

	detect_host_facts(&hf);
	accel = detect_accel(&hf, hf.host_arch, NULL, &why);
	uname(&un);
	json_object_object_add(o, "host", json_object_new_string(un.nodename));
	json_object_object_add(o, "kernel", json_object_new_string(un.release));
	json_object_object_add(o, "arch", json_object_new_string(hf.host_arch));
	json_object_object_add(o, "cpus", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(o, "memory_mib", json_object_new_int64(meminfo_mib()));
	json_object_object_add(o, "accelerator", json_object_new_string(accel));
	if (why != NULL)
		json_object_object_add(o, "kvm_unusable", json_object_new_string(why));
	binaries(ctx->conf, &found);
	for (size_t i = 0; i < found.n; i++) {
		json_object *b = json_object_new_object();
		struct qemu_caps *caps = NULL;
		char *cause = NULL;

		json_object_object_add(b, "path", json_object_new_string(found.v[i]));
		if (probe_get(found.v[i], ctx->paths->cache, &caps, &cause) == 0) {
			json_object_object_add(b, "version", json_object_new_string(caps->version));
			json_object_object_add(b, "default_machine", json_object_new_string(
			    caps->default_machine ? caps->default_machine : ""));
			json_object_object_add(b, "machines", json_object_new_int((int)caps->nmachines));
			json_object_object_add(b, "kvm_support", json_object_new_boolean(caps->kvm_present));
			qemu_caps_free(caps);
		} else
			json_object_object_add(b, "error", json_object_new_string(cause ? cause : ""));
		free(cause);
		json_object_array_add(bins, b);
	}
	json_object_object_add(o, "binaries", bins);
	json_object_object_add(o, "runtime_dir", json_object_new_string(ctx->paths->run));
	json_object_object_add(o, "state_dir", json_object_new_string(ctx->paths->state));
	json_object_object_add(o, "cache_dir", json_object_new_string(ctx->paths->cache));
	json_object_object_add(o, "save_dir", json_object_new_string(ctx->paths->save));
	json_object_object_add(o, "qemu_path", strv_json(&ctx->conf->qemu_path));
	json_object_object_add(o, "base_paths", strv_json(&ctx->conf->base_paths));
	json_object_object_add(o, "configuration", strv_json(&ctx->conf->files));

	if (subopt_find(so, "JSON") != NULL)
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
	else {
		printf("%-14s %s (%s, kernel %s)\n", "host:", un.nodename, hf.host_arch, un.release);
		printf("%-14s %ld, %ld MiB\n", "cpus, memory:", sysconf(_SC_NPROCESSORS_ONLN),
		    meminfo_mib());
		printf("%-14s %s%s%s%s\n", "accelerator:", accel, why ? " (KVM is not used: " : "",
		    why ? why : "", why ? ")" : "");
		for (size_t i = 0; i < json_object_array_length(bins); i++) {
			json_object *b = json_object_array_get_idx(bins, i), *e;

			printf("%-14s %s", i == 0 ? "qemu:" : "", json_object_get_string(
			    json_object_object_get(b, "path")));
			if (json_object_object_get_ex(b, "error", &e))
				printf(": %s\n", json_object_get_string(e));
			else
				printf(" %s, default machine %s, %d machine types%s\n",
				    json_object_get_string(json_object_object_get(b, "version")),
				    json_object_get_string(json_object_object_get(b, "default_machine")),
				    json_object_get_int(json_object_object_get(b, "machines")),
				    json_object_get_boolean(json_object_object_get(b, "kvm_support")) ?
				    ", built with KVM" : "");
		}
		if (found.n == 0)
			printf("%-14s none in the qemu_path\n", "qemu:");
		printf("%-14s %s\n", "runtime:", ctx->paths->run);
		printf("%-14s %s\n", "state:", ctx->paths->state);
		printf("%-14s %s\n", "saves:", ctx->paths->save);
		printf("%-14s %s\n", "cache:", ctx->paths->cache);
		v = json_object_object_get(o, "configuration");
		printf("%-14s", "configuration:");
		for (size_t i = 0; i < json_object_array_length(v); i++)
			printf(" %s", json_object_get_string(json_object_array_get_idx(v, i)));
		printf("%s\n", json_object_array_length(v) ? "" : " (none; built-in defaults)");
	}
	json_object_put(o);
	strv_free(&found);
	free(why);
	return EXIT_OK;
}

int
qemu_show(struct ctx *ctx, struct subopt_list *so)
{
	if (subopt_find(so, "CONF") == NULL)
		return show_host(ctx, so);
	if (subopt_find(so, "JSON") != NULL) {
		log_err("SHOW: CONF and JSON exclude each other");
		return EXIT_USAGE;
	}
	conf_show(stdout, ctx->conf);
	return EXIT_OK;
}
