/* The QEMU capability cache: serialization, key checks, corrupt files, lookups. No QEMU. */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitcodes.h"
#include "probe.h"
#include "t.h"
#include "util.h"

static char *tmpdir;

static char **
strs(const char *const *v, size_t n)
{
	char **out = xreallocarray(NULL, n, sizeof *out);

	for (size_t i = 0; i < n; i++)
		out[i] = v[i] != NULL ? xstrdup(v[i]) : NULL;
	return out;
}

static struct qemu_caps *
sample(const char *binary)
{
	static const char *const types[] = { "virtio-net-pci", "e1000", "pvpanic-pci",
	    "qxl-vga", "virtio-blk-pci" };
	static const char *const machines[] = { "pc-q35-7.2", "none", "pc-i440fx-7.2" };
	static const char *const aliases[] = { "q35", NULL, "pc" };
	static const char *const commands[] = { "quit", "query-kvm", "device_add" };
	static const char *const netdevs[] = { "user", "tap", "vde", "bridge" };
	struct qemu_caps *c = xcalloc(1, sizeof *c);

	c->binary = xstrdup(binary);
	c->version = xstrdup("7.2.22");
	c->kvm_present = 1;
	c->types = strs(types, c->ntypes = nitems(types));
	c->machines = strs(machines, c->nmachines = nitems(machines));
	c->machine_alias = strs(aliases, nitems(aliases));
	c->default_machine = xstrdup("pc-i440fx-7.2");
	c->commands = strs(commands, c->ncommands = nitems(commands));
	c->netdevs = strs(netdevs, c->nnetdevs = nitems(netdevs));
	qemu_caps_sort(c);
	return c;
}

/* A file with the given text and mode under the temp dir. */
static char *
make_file(const char *name, const char *text, mode_t mode)
{
	char *p = xasprintf("%s/%s", tmpdir, name);

	unlink(p);
	if (file_write(p, text, strlen(text), 0600) == -1 || chmod(p, mode) == -1) {
		perror(p);
		exit(1);
	}
	return p;
}

static void
check_sample(const struct qemu_caps *c)
{
	T_STREQ(c->version, "7.2.22");
	T_INTEQ(c->kvm_present, 1);
	T_INTEQ(c->kvm_enabled, 0);
	T_STREQ(c->default_machine, "pc-i440fx-7.2");
	T_INTEQ(c->ntypes, 5);
	T_INTEQ(c->nmachines, 3);
	T_INTEQ(c->ncommands, 3);
	T_INTEQ(c->nnetdevs, 4);
	T_CHECK(qemu_caps_has_type(c, "virtio-net-pci"));
	T_CHECK(qemu_caps_has_type(c, "e1000"));
	T_CHECK(qemu_caps_has_type(c, "virtio-blk-pci"));
	T_CHECK(!qemu_caps_has_type(c, "virtio-net"));
	T_CHECK(!qemu_caps_has_type(c, ""));
	T_CHECK(!qemu_caps_has_type(c, NULL));
	T_CHECK(qemu_caps_has_machine(c, "q35"));
	T_CHECK(qemu_caps_has_machine(c, "pc"));
	T_CHECK(qemu_caps_has_machine(c, "pc-q35-7.2"));
	T_CHECK(qemu_caps_has_machine(c, "none"));
	T_CHECK(!qemu_caps_has_machine(c, "virt"));
	T_CHECK(!qemu_caps_has_machine(c, NULL));
	T_CHECK(qemu_caps_has_command(c, "query-kvm"));
	T_CHECK(!qemu_caps_has_command(c, "query-kvmx"));
	T_CHECK(qemu_caps_has_netdev(c, "vde"));
	T_CHECK(qemu_caps_has_netdev(c, "user"));
	T_CHECK(!qemu_caps_has_netdev(c, "netmap"));
	/* sorted, aliases moved along with their names */
	for (size_t i = 0; i < c->nmachines; i++) {
		if (strcmp(c->machines[i], "pc-q35-7.2") == 0)
			T_STREQ(c->machine_alias[i], "q35");
		else if (strcmp(c->machines[i], "none") == 0)
			T_CHECK(c->machine_alias[i] == NULL);
	}
	for (size_t i = 1; i < c->ntypes; i++)
		T_CHECK(strcmp(c->types[i - 1], c->types[i]) < 0);
}

static void
test_lookups(void)
{
	struct qemu_caps *c = sample("/usr/bin/qemu-system-x86_64");
	struct qemu_caps empty = { 0 };

	check_sample(c);
	qemu_caps_free(c);
	qemu_caps_free(NULL);
	T_CHECK(!qemu_caps_has_type(&empty, "e1000"));
	T_CHECK(!qemu_caps_has_machine(&empty, "pc"));
	T_CHECK(!qemu_caps_has_netdev(&empty, "user"));
}

/* Returns -1 or 0; frees what it got. */
static int
load(const char *text, const struct probe_key *k, char **why)
{
	struct qemu_caps *c = NULL;
	int rc;

	free(*why);
	*why = NULL;
	rc = qemu_caps_from_json(text, strlen(text), k, &c, why);
	T_CHECK((rc == 0) == (c != NULL));
	qemu_caps_free(c);
	return rc;
}

static char *
replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);

	if (p == NULL)
		return xstrdup(s);
	return xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

static void
test_roundtrip(void)
{
	char *bin = make_file("qemu", "#!/bin/sh\nexit 0\n", 0755), *text, *t, *why = NULL;
	struct probe_key k, k2;
	struct qemu_caps *c = sample(bin), *back = NULL;
	size_t len;

	T_INTEQ(probe_key_get(bin, &k, &why), 0);
	text = qemu_caps_to_json(c, &k);
	T_CHECK(strstr(text, "\"format\":2") != NULL);
	T_INTEQ(qemu_caps_from_json(text, strlen(text), &k, &back, &why), 0);
	T_CHECK(back != NULL);
	if (back != NULL) {
		check_sample(back);
		T_STREQ(back->binary, bin);
	}
	qemu_caps_free(back);

	/* every field of the key counts */
	k2 = k;
	k2.size++;
	T_INTEQ(load(text, &k2, &why), -1);
	T_CHECK(why != NULL && strstr(why, "size") != NULL);
	k2 = k;
	k2.mtime_nsec++;
	T_INTEQ(load(text, &k2, &why), -1);
	T_CHECK(why != NULL && strstr(why, "mtime") != NULL);
	k2 = k;
	k2.ctime_sec--;
	T_INTEQ(load(text, &k2, &why), -1);
	T_CHECK(why != NULL && strstr(why, "ctime") != NULL);
	k2 = k;
	k2.kernel = "0.0.1-other";
	T_INTEQ(load(text, &k2, &why), -1);
	T_CHECK(why != NULL && strstr(why, "kernel") != NULL);
	k2 = k;
	k2.binary = "/usr/bin/kvm";
	T_INTEQ(load(text, &k2, &why), -1);
	k2 = k;
	k2.moddirs = "/usr/lib/qemu@1.000000002";
	T_INTEQ(load(text, &k2, &why), -1);
	T_CHECK(why != NULL && strstr(why, "module") != NULL);

	/* another format number */
	t = replace(text, "\"format\":2", "\"format\":0");
	T_INTEQ(load(t, &k, &why), -1);
	T_CHECK(why != NULL && strstr(why, "format 0") != NULL);
	free(t);
	t = replace(text, "\"format\":2", "\"format\":\"2\"");
	T_INTEQ(load(t, &k, &why), -1);
	free(t);

	/* corrupt: every truncation, wrong types, garbage around */
	len = strlen(text);
	for (size_t i = 0; i + 1 < len; i++) {	/* the last byte is the newline */
		struct qemu_caps *x = NULL;

		T_INTEQ(qemu_caps_from_json(text, i, &k, &x, &why), -1);
		T_CHECK(x == NULL);
	}
	{
		static const char *const bad[] = {
			"", "\n", "null", "[]", "{}", "1", "\"x\"", "{\"format\":1}",
			"{\"format\":1,\"key\":[]}", "not json at all", "{\"format\":1,,}",
		};
		for (size_t i = 0; i < nitems(bad); i++)
			T_INTEQ(load(bad[i], &k, &why), -1);
	}
	t = xasprintf("%sgarbage", text);
	T_INTEQ(load(t, &k, &why), -1);
	free(t);
	t = xasprintf("%s  \n\n", text);
	T_INTEQ(load(t, &k, &why), 0);
	free(t);
	t = replace(text, "\"virtio-net-pci\"", "42");
	T_INTEQ(load(t, &k, &why), -1);
	free(t);
	t = replace(text, "\"types\":[", "\"types\":{\"a\":[");
	T_INTEQ(load(t, &k, &why), -1);
	free(t);
	t = replace(text, "\"machines\":[{\"name\"", "\"machines\":[{\"nom\"");
	T_INTEQ(load(t, &k, &why), -1);
	free(t);
	t = replace(text, "\"present\":true", "\"present\":1");
	T_INTEQ(load(t, &k, &why), -1);
	free(t);
	t = replace(text, "\"mtime\":[", "\"mtime\":[1,");
	T_INTEQ(load(t, &k, &why), -1);
	free(t);
	/* an unsorted list (edited by hand) is sorted on load */
	t = replace(text, "\"types\":[", "\"types\":[\"zzz\",\"aaa\",");
	T_INTEQ(qemu_caps_from_json(t, strlen(t), &k, &back, &why), 0);
	if (back != NULL) {
		T_CHECK(qemu_caps_has_type(back, "aaa"));
		T_CHECK(qemu_caps_has_type(back, "zzz"));
		T_CHECK(qemu_caps_has_type(back, "virtio-net-pci"));
	}
	qemu_caps_free(back);
	free(t);

	free(why);
	free(text);
	qemu_caps_free(c);
	probe_key_free(&k);
	free(bin);
}

/* probe_get uses a matching cache file without running anything; else it probes. */
static void
test_get(void)
{
	/* "QEMU" that fails at once: any probe of it is an error with its message */
	char *bin = make_file("fake-qemu", "#!/bin/sh\necho 'fake: no QMP today' >&2\nexit 3\n",
	    0755);
	char *cache = xasprintf("%s/cache", tmpdir), *path, *text, *why = NULL, *t;
	struct qemu_caps *c = sample(bin), *got = NULL;
	struct probe_key k;
	struct stat st;
	int rc;

	path = probe_cache_path(cache, bin);
	T_CHECK(strncmp(path, cache, strlen(cache)) == 0);
	T_CHECK(strstr(path, "/qemu-caps/") != NULL);
	T_CHECK(strlen(path) > 5 && strcmp(path + strlen(path) - 5, ".json") == 0);

	/* no cache: probes, fails with the tail of its stderr */
	rc = probe_get(bin, cache, &got, &why);
	T_INTEQ(rc, EXIT_QEMU);
	T_CHECK(got == NULL);
	T_CHECK(why != NULL && strstr(why, "exited during the capability probe") != NULL);
	T_CHECK(why != NULL && strstr(why, "exit status 3") != NULL);
	T_CHECK(why != NULL && strstr(why, "fake: no QMP today") != NULL);
	T_CHECK(stat(path, &st) == -1 && errno == ENOENT);

	/* a valid cache file is used: nothing runs */
	T_INTEQ(probe_key_get(bin, &k, &why), 0);
	text = qemu_caps_to_json(c, &k);
	T_INTEQ(mkdir_p(cache, 0700), 0);
	t = xasprintf("%s/qemu-caps", cache);
	T_INTEQ(mkdir_p(t, 0700), 0);
	free(t);
	T_INTEQ(file_write(path, text, strlen(text), 0600), 0);
	free(why);
	why = NULL;
	rc = probe_get(bin, cache, &got, &why);
	T_INTEQ(rc, 0);
	T_CHECK(got != NULL);
	if (got != NULL)
		check_sample(got);
	qemu_caps_free(got);
	got = NULL;

	/* corrupt or old: probed again (and this fake fails) */
	T_INTEQ(file_write(path, text, strlen(text) / 2, 0600), 0);
	T_INTEQ(probe_get(bin, cache, &got, &why), EXIT_QEMU);
	T_CHECK(why != NULL && strstr(why, "fake: no QMP today") != NULL);
	t = replace(text, "\"format\":2", "\"format\":99");
	T_INTEQ(file_write(path, t, strlen(t), 0600), 0);
	free(t);
	T_INTEQ(probe_get(bin, cache, &got, &why), EXIT_QEMU);
	/* the binary changed (mode change: ctime): probed again */
	T_INTEQ(file_write(path, text, strlen(text), 0600), 0);
	T_INTEQ(probe_get(bin, cache, &got, &why), 0);
	qemu_caps_free(got);
	got = NULL;
	usleep(20000);
	chmod(bin, 0700);
	T_INTEQ(probe_get(bin, cache, &got, &why), EXIT_QEMU);
	T_CHECK(got == NULL);
	/* the cache is a directory: no crash, probed */
	unlink(path);
	T_INTEQ(mkdir(path, 0700), 0);
	T_INTEQ(probe_get(bin, cache, &got, &why), EXIT_QEMU);
	rmdir(path);

	/* missing, not executable, a directory */
	t = xasprintf("%s/nope", tmpdir);
	T_INTEQ(probe_get(t, cache, &got, &why), EXIT_QEMU);
	T_CHECK(why != NULL && strstr(why, "cannot run '") != NULL &&
	    strstr(why, "No such file") != NULL);
	free(t);
	t = make_file("noexec", "#!/bin/sh\n", 0644);
	T_INTEQ(probe_get(t, cache, &got, &why), EXIT_QEMU);
	T_CHECK(why != NULL && strstr(why, "cannot run '") != NULL &&
	    strstr(why, "Permission denied") != NULL);
	free(t);
	T_INTEQ(probe_get(tmpdir, cache, &got, &why), EXIT_QEMU);
	T_CHECK(why != NULL && strstr(why, "cannot run '") != NULL);
	/* speaks, but not QMP */
	t = make_file("chatty", "#!/bin/sh\necho hello\nexec sleep 30\n", 0755);
	T_INTEQ(probe_get(t, NULL, &got, &why), EXIT_QEMU);
	T_CHECK(why != NULL && strstr(why, "does not speak QMP") != NULL);
	free(t);

	probe_key_free(&k);
	free(text);
	free(why);
	free(path);
	free(cache);
	qemu_caps_free(c);
	free(bin);
}

int
main(void)
{
	char tmpl[] = "/tmp/ctys-test-probe.XXXXXX";
	char *cmd;

	if ((tmpdir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_lookups();
	test_roundtrip();
	test_get();
	cmd = xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	return t_done();
}
