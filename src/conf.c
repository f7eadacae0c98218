#include "conf.h"

#include <confuse.h>
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "exitcodes.h"

#define SYSTEM_CONF "/etc/ctys/ctys.conf"

static char *conf_error;

static void
conf_errfn(cfg_t *cfg, const char *fmt, va_list ap)
{
	char *msg = xvasprintf(fmt, ap);

	free(conf_error);
	if (cfg && cfg->filename && cfg->line)
		conf_error = xasprintf("%s:%d: %s", cfg->filename, cfg->line, msg);
	else if (cfg && cfg->filename)
		conf_error = xasprintf("%s: %s", cfg->filename, msg);
	else
		conf_error = xstrdup(msg);
	free(msg);
}

static cfg_opt_t host_opts[] = {
	CFG_STR("address", NULL, CFGF_NONE),
	CFG_INT("port", 0, CFGF_NONE),
	CFG_STR("user", NULL, CFGF_NONE),
	CFG_STR("identity", NULL, CFGF_NONE),
	CFG_STR("ctys", NULL, CFGF_NONE),
	CFG_INT("connect_timeout", 0, CFGF_NONE),
	CFG_INT("command_timeout", -1, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t group_opts[] = {
	CFG_STR_LIST("members", NULL, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t opts[] = {
	CFG_STR_LIST("qemu_path", "{/usr/bin,/usr/local/bin,/opt/qemu/bin,/usr/libexec}", CFGF_NONE),
	CFG_STR("runtime_dir", NULL, CFGF_NONE),
	CFG_STR("state_dir", NULL, CFGF_NONE),
	CFG_STR("cache_dir", NULL, CFGF_NONE),
	CFG_STR("save_dir", NULL, CFGF_NONE),
	CFG_STR("db_dir", NULL, CFGF_NONE),
	CFG_INT("cancel_timeout", 20, CFGF_NONE),
	CFG_INT("create_timeout", 60, CFGF_NONE),
	CFG_STR_LIST("base_paths", "{~,/etc/ctys.d,/mntn/vmpool}", CFGF_NONE),
	CFG_STR("netmode", "user", CFGF_NONE),
	CFG_STR("console_escape", "^]", CFGF_NONE),
	CFG_STR("vnc_listen", "127.0.0.1", CFGF_NONE),
	CFG_STR("remote_ctys", "ctys", CFGF_NONE),
	CFG_INT("ssh_connect_timeout", 10, CFGF_NONE),
	CFG_INT("ssh_command_timeout", 600, CFGF_NONE),
	CFG_INT("ssh_parallel", 32, CFGF_NONE),
	CFG_STR("ssh_unknown_hosts", "refuse", CFGF_NONE),
	CFG_STR("ssh_known_hosts", NULL, CFGF_NONE),
	CFG_STR("ssh_config", NULL, CFGF_NONE),
	CFG_STR("ssh_identity", NULL, CFGF_NONE),
	CFG_SEC("host", host_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_SEC("group", group_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END()
};

static void
take_list(cfg_t *cfg, const char *name, struct strv *sv)
{
	strv_free(sv);
	for (unsigned int i = 0; i < cfg_size(cfg, name); i++)
		strv_add(sv, cfg_getnstr(cfg, name, i));
}

static void
take_str(cfg_t *cfg, const char *name, char **dst)
{
	const char *s = cfg_getstr(cfg, name);

	if (s != NULL && *s != '\0') {
		free(*dst);
		*dst = xstrdup(s);
	}
}

static void
set_src(struct conf *c, const char *key, const char *from)
{
	size_t i;

	for (i = 0; i < c->nsrc; i++)
		if (strcmp(c->src[i].key, key) == 0)
			break;
	if (i == c->nsrc) {
		c->src = xreallocarray(c->src, c->nsrc + 1, sizeof *c->src);
		c->src[c->nsrc++].key = key;
	} else
		free(c->src[i].from);
	c->src[i].from = xstrdup(from);
}

static void
host_clear(struct conf_host *h)
{
	free(h->name);
	free(h->address);
	free(h->user);
	free(h->identity);
	free(h->ctys);
	free(h->from);
}

static void
group_clear(struct conf_group *g)
{
	free(g->name);
	strv_free(&g->members);
	free(g->from);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

/* A later file's host or group of the same name replaces the earlier one whole. */
static void
take_hosts(cfg_t *cfg, struct conf *c, const char *from)
{
	for (unsigned int i = 0; i < cfg_size(cfg, "host"); i++) {
		cfg_t *sec = cfg_getnsec(cfg, "host", i);
		struct conf_host h = { 0 };
		size_t j;

		h.name = xstrdup(cfg_title(sec));
		h.address = dup_or_null(cfg_getstr(sec, "address"));
		h.port = (int)cfg_getint(sec, "port");
		h.user = dup_or_null(cfg_getstr(sec, "user"));
		h.identity = dup_or_null(cfg_getstr(sec, "identity"));
		h.ctys = dup_or_null(cfg_getstr(sec, "ctys"));
		h.connect_timeout = (int)cfg_getint(sec, "connect_timeout");
		h.command_timeout = (int)cfg_getint(sec, "command_timeout");
		h.from = xstrdup(from);
		for (j = 0; j < c->nhosts && strcmp(c->hosts[j].name, h.name) != 0; j++)
			;
		if (j == c->nhosts)
			c->hosts = xreallocarray(c->hosts, ++c->nhosts, sizeof *c->hosts);
		else
			host_clear(&c->hosts[j]);
		c->hosts[j] = h;
	}
	for (unsigned int i = 0; i < cfg_size(cfg, "group"); i++) {
		cfg_t *sec = cfg_getnsec(cfg, "group", i);
		struct conf_group g = { 0 };
		size_t j;

		g.name = xstrdup(cfg_title(sec));
		for (unsigned int k = 0; k < cfg_size(sec, "members"); k++)
			strv_add(&g.members, cfg_getnstr(sec, "members", k));
		g.from = xstrdup(from);
		for (j = 0; j < c->ngroups && strcmp(c->groups[j].name, g.name) != 0; j++)
			;
		if (j == c->ngroups)
			c->groups = xreallocarray(c->groups, ++c->ngroups, sizeof *c->groups);
		else
			group_clear(&c->groups[j]);
		c->groups[j] = g;
	}
}

/* The scalar and list settings: name, kind, where in struct conf. */
enum { K_STR, K_INT, K_LIST };
static const struct setting {
	const char *name;
	int kind;
	size_t off;
} settings[] = {
#define S(n, k) { #n, k, offsetof(struct conf, n) }
	S(qemu_path, K_LIST), S(base_paths, K_LIST), S(runtime_dir, K_STR),
	S(state_dir, K_STR), S(cache_dir, K_STR), S(save_dir, K_STR), S(db_dir, K_STR),
	S(cancel_timeout, K_INT), S(create_timeout, K_INT), S(netmode, K_STR),
	S(console_escape, K_STR), S(vnc_listen, K_STR), S(remote_ctys, K_STR),
	S(ssh_connect_timeout, K_INT), S(ssh_command_timeout, K_INT), S(ssh_parallel, K_INT),
	S(ssh_known_hosts, K_STR), S(ssh_config, K_STR), S(ssh_identity, K_STR),
#undef S
};

/* Applies the options a file really set (CFGF_MODIFIED) on top of what came before. */
static void
apply(cfg_t *cfg, struct conf *c, const char *from)
{
	int all = strcmp(from, "default") == 0;

	for (size_t i = 0; i < nitems(settings); i++) {
		const struct setting *st = &settings[i];
		void *dst = (char *)c + st->off;

		if (!all && !(cfg_getopt(cfg, st->name)->flags & CFGF_MODIFIED))
			continue;
		if (st->kind == K_LIST)
			take_list(cfg, st->name, dst);
		else if (st->kind == K_INT)
			*(int *)dst = (int)cfg_getint(cfg, st->name);
		else
			take_str(cfg, st->name, dst);
		set_src(c, st->name, from);
	}
	if (all || (cfg_getopt(cfg, "ssh_unknown_hosts")->flags & CFGF_MODIFIED)) {
		c->ssh_accept_new = strcmp(cfg_getstr(cfg, "ssh_unknown_hosts"), "accept-new") == 0;
		set_src(c, "ssh_unknown_hosts", from);
	}
	take_hosts(cfg, c, from);
}

/* netmode: user, none, bridge:<br>, tap:<if>, vde:<socket> (reported with file:line) */
static int
validate_netmode(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *m = cfg_opt_getnstr(opt, 0);

	if (m == NULL || strcasecmp(m, "user") == 0 || strcasecmp(m, "none") == 0 ||
	    (strncasecmp(m, "bridge:", 7) == 0 && m[7] != '\0') ||
	    (strncasecmp(m, "tap:", 4) == 0 && m[4] != '\0') ||
	    (strncasecmp(m, "vde:", 4) == 0 && m[4] != '\0'))
		return 0;
	cfg_error(cfg, "netmode: not a network mode (user, bridge:<br>, tap:<if>, vde:<socket>, "
	    "none): '%s'", m);
	return -1;
}

static int
validate_unknown(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *m = cfg_opt_getnstr(opt, 0);

	if (m != NULL && strcmp(m, "refuse") != 0 && strcmp(m, "accept-new") != 0) {
		cfg_error(cfg, "ssh_unknown_hosts: 'refuse' or 'accept-new', not '%s'", m);
		return -1;
	}
	return 0;
}

static int
validate_positive(cfg_t *cfg, cfg_opt_t *opt)
{
	long v = cfg_opt_getnint(opt, 0);

	if (v < 1 || v > 100000) {
		cfg_error(cfg, "%s: must be 1 to 100000, not %ld", opt->name, v);
		return -1;
	}
	return 0;
}

static int
validate_nonneg(cfg_t *cfg, cfg_opt_t *opt)
{
	long v = cfg_opt_getnint(opt, 0);

	if (v < 0 || v > 1000000) {
		cfg_error(cfg, "%s: must be 0 (no limit) to 1000000, not %ld", opt->name, v);
		return -1;
	}
	return 0;
}

/* a host's own timeouts: 0 / -1 (unset: the global one) or seconds */
static int
validate_host_timeout(cfg_t *cfg, cfg_opt_t *opt)
{
	long v = cfg_opt_getnint(opt, 0);

	if (v < -1 || v > 1000000) {
		cfg_error(cfg, "%s: not a number of seconds: %ld", opt->name, v);
		return -1;
	}
	return 0;
}

static int
validate_port(cfg_t *cfg, cfg_opt_t *opt)
{
	long v = cfg_opt_getnint(opt, 0);

	if (v < 0 || v > 65535) {
		cfg_error(cfg, "port: not a port: %ld", v);
		return -1;
	}
	return 0;
}

/* A group member names a host, a group, or [user@]address[:port]; cycles come later. */
static int
check_groups(cfg_t *cfg, const char *path, char **cause)
{
	for (unsigned int i = 0; i < cfg_size(cfg, "group"); i++) {
		cfg_t *sec = cfg_getnsec(cfg, "group", i);

		if (cfg_size(sec, "members") == 0)
			return fail(cause, EXIT_USAGE, "%s: group '%s' has no members", path,
			    cfg_title(sec));
		for (unsigned int k = 0; k < cfg_size(sec, "members"); k++) {
			const char *m = cfg_getnstr(sec, "members", k);

			if (m == NULL || *m == '\0' || *m == '-')
				return fail(cause, EXIT_USAGE, "%s: group '%s': not a host: '%s'",
				    path, cfg_title(sec), m ? m : "");
		}
	}
	for (unsigned int i = 0; i < cfg_size(cfg, "host"); i++) {
		const char *t = cfg_title(cfg_getnsec(cfg, "host", i));

		if (t == NULL || *t == '\0' || *t == '-' || strpbrk(t, " \t@:()") != NULL)
			return fail(cause, EXIT_USAGE, "%s: not a host name: '%s'", path,
			    t ? t : "");
	}
	return 0;
}

static int
load_file(struct conf *c, const char *path, int required, char **cause)
{
	cfg_t *cfg = cfg_init(opts, CFGF_NONE);
	int rc;

	cfg_set_error_function(cfg, conf_errfn);
	cfg_set_validate_func(cfg, "netmode", validate_netmode);
	cfg_set_validate_func(cfg, "ssh_unknown_hosts", validate_unknown);
	cfg_set_validate_func(cfg, "ssh_parallel", validate_positive);
	cfg_set_validate_func(cfg, "ssh_connect_timeout", validate_positive);
	cfg_set_validate_func(cfg, "ssh_command_timeout", validate_nonneg);
	cfg_set_validate_func(cfg, "cancel_timeout", validate_nonneg);
	cfg_set_validate_func(cfg, "create_timeout", validate_positive);
	cfg_set_validate_func(cfg, "host|port", validate_port);
	cfg_set_validate_func(cfg, "host|connect_timeout", validate_host_timeout);
	cfg_set_validate_func(cfg, "host|command_timeout", validate_host_timeout);
	if (access(path, F_OK) == -1 && !required) {
		cfg_free(cfg);
		return 0;
	}
	rc = cfg_parse(cfg, path);
	if (rc == CFG_FILE_ERROR) {
		cfg_free(cfg);
		return fail(cause, EXIT_USAGE, "%s: cannot read configuration: %s", path,
		    strerror(errno));
	}
	if (rc == CFG_PARSE_ERROR) {
		cfg_free(cfg);
		rc = fail(cause, EXIT_USAGE, "%s", conf_error ? conf_error : "configuration error");
		free(conf_error);
		conf_error = NULL;
		return rc;
	}
	if ((rc = check_groups(cfg, path, cause)) != 0) {
		cfg_free(cfg);
		return rc;
	}
	apply(cfg, c, path);
	strv_add(&c->files, path);
	cfg_free(cfg);
	return 0;
}

static int
env_list(const char *var, struct strv *sv)
{
	const char *v = getenv(var);
	char *dup, *tok, *save;

	if (v == NULL)
		return 0;
	strv_free(sv);
	dup = xstrdup(v);
	for (tok = strtok_r(dup, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
		strv_add(sv, tok);
	free(dup);
	return 1;
}

static int
env_int(struct conf *c, const char *var, const char *key, int *dst, char **cause)
{
	const char *v = getenv(var);

	if (v == NULL || *v == '\0')
		return 0;
	if (!str_is_uint(v) || strlen(v) > 6)
		return fail(cause, EXIT_USAGE, "%s: not a number: '%s'", var, v);
	*dst = atoi(v);
	for (size_t i = 0; i < nitems(settings); i++)
		if (strcmp(settings[i].name, key) == 0) {
			char *f = xasprintf("environment %s", var);

			set_src(c, settings[i].name, f);
			free(f);
		}
	return 0;
}

int
conf_load(struct conf *c, char **cause)
{
	cfg_t *defaults;
	const char *user, *home = getenv("HOME");
	char *userpath = NULL;
	int rc;

	memset(c, 0, sizeof *c);
	defaults = cfg_init(opts, CFGF_NONE);
	apply(defaults, c, "default");
	cfg_free(defaults);

	if ((rc = load_file(c, getenv("CTYS_SYSTEM_CONF") ? getenv("CTYS_SYSTEM_CONF") :
	    SYSTEM_CONF, 0, cause)) != 0)
		return rc;
	if ((user = getenv("CTYS_CONF")) != NULL)
		rc = load_file(c, user, 1, cause);
	else if (home != NULL) {
		userpath = xasprintf("%s/.ctys/ctys.conf", home);
		rc = load_file(c, userpath, 0, cause);
		free(userpath);
	}
	if (rc != 0)
		return rc;

	if (env_list("CTYS_QEMU_PATH", &c->qemu_path))
		set_src(c, "qemu_path", "environment CTYS_QEMU_PATH");
	if (env_list("CTYS_BASE_PATHS", &c->base_paths))
		set_src(c, "base_paths", "environment CTYS_BASE_PATHS");
	if ((rc = env_int(c, "CTYS_CANCEL_TIMEOUT", "cancel_timeout", &c->cancel_timeout,
	    cause)) != 0)
		return rc;
	if ((rc = env_int(c, "CTYS_CREATE_TIMEOUT", "create_timeout", &c->create_timeout,
	    cause)) != 0)
		return rc;
	return 0;
}

void
conf_free(struct conf *c)
{
	strv_free(&c->qemu_path);
	strv_free(&c->base_paths);
	free(c->netmode);
	free(c->console_escape);
	free(c->vnc_listen);
	free(c->save_dir);
	free(c->db_dir);
	strv_free(&c->files);
	free(c->runtime_dir);
	free(c->state_dir);
	free(c->cache_dir);
	free(c->remote_ctys);
	free(c->ssh_known_hosts);
	free(c->ssh_config);
	free(c->ssh_identity);
	for (size_t i = 0; i < c->nhosts; i++)
		host_clear(&c->hosts[i]);
	free(c->hosts);
	for (size_t i = 0; i < c->ngroups; i++)
		group_clear(&c->groups[i]);
	free(c->groups);
	for (size_t i = 0; i < c->nsrc; i++)
		free(c->src[i].from);
	free(c->src);
	memset(c, 0, sizeof *c);
}

const struct conf_host *
conf_host_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nhosts; i++)
		if (strcmp(c->hosts[i].name, name) == 0)
			return &c->hosts[i];
	return NULL;
}

const struct conf_group *
conf_group_find(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->ngroups; i++)
		if (strcmp(c->groups[i].name, name) == 0)
			return &c->groups[i];
	return NULL;
}

static const char *
src_of(const struct conf *c, const char *key)
{
	for (size_t i = 0; i < c->nsrc; i++)
		if (strcmp(c->src[i].key, key) == 0)
			return c->src[i].from;
	return "default";
}

/* A value in the configuration's own syntax: a quoted string (or unset). */
static void
show_str(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("(unset)", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void
conf_show(FILE *f, const struct conf *c)
{
	fprintf(f, "# files read: ");
	for (size_t i = 0; i < c->files.n; i++)
		fprintf(f, "%s%s", i ? ", " : "", c->files.v[i]);
	fprintf(f, "%s\n", c->files.n ? "" : "none");
	for (size_t i = 0; i < nitems(settings); i++) {
		const struct setting *st = &settings[i];
		const void *v = (const char *)c + st->off;

		fprintf(f, "%s = ", st->name);
		if (st->kind == K_INT)
			fprintf(f, "%d", *(const int *)v);
		else if (st->kind == K_STR)
			show_str(f, *(char *const *)v);
		else {
			const struct strv *sv = v;

			fputc('{', f);
			for (size_t j = 0; j < sv->n; j++) {
				fputs(j ? ", " : "", f);
				show_str(f, sv->v[j]);
			}
			fputc('}', f);
		}
		fprintf(f, "\t# %s\n", src_of(c, st->name));
	}
	fprintf(f, "ssh_unknown_hosts = \"%s\"\t# %s\n", c->ssh_accept_new ? "accept-new" :
	    "refuse", src_of(c, "ssh_unknown_hosts"));
	for (size_t i = 0; i < c->nhosts; i++) {
		const struct conf_host *h = &c->hosts[i];

		fprintf(f, "host ");
		show_str(f, h->name);
		fprintf(f, " { address = ");
		show_str(f, h->address ? h->address : h->name);
		if (h->port)
			fprintf(f, " port = %d", h->port);
		if (h->user) {
			fprintf(f, " user = ");
			show_str(f, h->user);
		}
		if (h->identity) {
			fprintf(f, " identity = ");
			show_str(f, h->identity);
		}
		if (h->ctys) {
			fprintf(f, " ctys = ");
			show_str(f, h->ctys);
		}
		if (h->connect_timeout > 0)
			fprintf(f, " connect_timeout = %d", h->connect_timeout);
		if (h->command_timeout >= 0)
			fprintf(f, " command_timeout = %d", h->command_timeout);
		fprintf(f, " }\t# %s\n", h->from);
	}
	for (size_t i = 0; i < c->ngroups; i++) {
		const struct conf_group *g = &c->groups[i];

		fprintf(f, "group ");
		show_str(f, g->name);
		fprintf(f, " { members = {");
		for (size_t j = 0; j < g->members.n; j++) {
			fputs(j ? ", " : "", f);
			show_str(f, g->members.v[j]);
		}
		fprintf(f, "} }\t# %s\n", g->from);
	}
}
