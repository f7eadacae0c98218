#include "conf.h"

#include <confuse.h>
#include <errno.h>
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

/* Applies the options a file really set (CFGF_MODIFIED) on top of what came before. */
static void
apply(cfg_t *cfg, struct conf *c, int all)
{
#define SET(n) (all || (cfg_getopt(cfg, n)->flags & CFGF_MODIFIED))
	if (SET("qemu_path"))
		take_list(cfg, "qemu_path", &c->qemu_path);
	if (SET("base_paths"))
		take_list(cfg, "base_paths", &c->base_paths);
	if (SET("runtime_dir"))
		take_str(cfg, "runtime_dir", &c->runtime_dir);
	if (SET("state_dir"))
		take_str(cfg, "state_dir", &c->state_dir);
	if (SET("cache_dir"))
		take_str(cfg, "cache_dir", &c->cache_dir);
	if (SET("db_dir"))
		take_str(cfg, "db_dir", &c->db_dir);
	if (SET("save_dir"))
		take_str(cfg, "save_dir", &c->save_dir);
	if (SET("vnc_listen"))
		take_str(cfg, "vnc_listen", &c->vnc_listen);
	if (SET("console_escape"))
		take_str(cfg, "console_escape", &c->console_escape);
	if (SET("netmode"))
		take_str(cfg, "netmode", &c->netmode);
	if (SET("cancel_timeout"))
		c->cancel_timeout = (int)cfg_getint(cfg, "cancel_timeout");
	if (SET("create_timeout"))
		c->create_timeout = (int)cfg_getint(cfg, "create_timeout");
#undef SET
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
load_file(struct conf *c, const char *path, int required, char **cause)
{
	cfg_t *cfg = cfg_init(opts, CFGF_NONE);
	int rc;

	cfg_set_error_function(cfg, conf_errfn);
	cfg_set_validate_func(cfg, "netmode", validate_netmode);
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
	apply(cfg, c, 0);
	strv_add(&c->files, path);
	cfg_free(cfg);
	return 0;
}

static void
env_list(const char *var, struct strv *sv)
{
	const char *v = getenv(var);
	char *dup, *tok, *save;

	if (v == NULL)
		return;
	strv_free(sv);
	dup = xstrdup(v);
	for (tok = strtok_r(dup, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
		strv_add(sv, tok);
	free(dup);
}

static int
env_int(const char *var, int *dst, char **cause)
{
	const char *v = getenv(var);

	if (v == NULL || *v == '\0')
		return 0;
	if (!str_is_uint(v) || strlen(v) > 6)
		return fail(cause, EXIT_USAGE, "%s: not a number: '%s'", var, v);
	*dst = atoi(v);
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
	apply(defaults, c, 1);
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

	env_list("CTYS_QEMU_PATH", &c->qemu_path);
	env_list("CTYS_BASE_PATHS", &c->base_paths);
	if ((rc = env_int("CTYS_CANCEL_TIMEOUT", &c->cancel_timeout, cause)) != 0)
		return rc;
	if ((rc = env_int("CTYS_CREATE_TIMEOUT", &c->create_timeout, cause)) != 0)
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
	memset(c, 0, sizeof *c);
}
