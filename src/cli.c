#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "util.h"

static int
need_arg(int argc, char **argv, int *i, const char **val, char **cause)
{
	const char *opt = argv[*i];

	if (opt[2] != '\0') {		/* -aCREATE */
		*val = opt + 2;
		return 0;
	}
	if (*i + 1 >= argc)
		return fail(cause, EXIT_USAGE, "option '%s' needs an argument", opt);
	*val = argv[++*i];
	return 0;
}

int
cli_parse(int argc, char **argv, struct cli *c, char **cause)
{
	int i, rc;
	const char *val = NULL;

	memset(c, 0, sizeof *c);
	c->type = xstrdup("QEMU");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			c->version = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			c->help = 1;
			continue;
		}
		if (strcmp(a, "--wire") == 0) {
			if (i + 1 >= argc || !str_is_uint(argv[i + 1]) || strlen(argv[i + 1]) > 4)
				return fail(cause, EXIT_USAGE, "--wire needs a protocol number");
			c->wire = atoi(argv[++i]);
			continue;
		}
		if (strcmp(a, "-q") == 0) {
			c->quiet = 1;
			continue;
		}
		switch (a[1]) {
		case 't':
		case 'T':
		case 'a':
		case 'd':
			if ((rc = need_arg(argc, argv, &i, &val, cause)) != 0)
				return rc;
			break;
		default:
			return fail(cause, EXIT_USAGE, "unknown option '%s' (see 'ctys -h')", a);
		}
		switch (a[1]) {
		case 't':
			free(c->type);
			c->type = str_upper(xstrdup(val));
			break;
		case 'T':
			free(c->types);
			c->types = str_upper(xstrdup(val));
			break;
		case 'd':
			if (!str_is_uint(val) || strlen(val) > 4)
				return fail(cause, EXIT_USAGE, "-d: not a debug level: '%s'", val);
			c->debug = atoi(val);
			break;
		case 'a': {
			const char *eq = strchr(val, '=');

			if (c->action != NULL)
				return fail(cause, EXIT_USAGE, "only one -a ACTION may be given");
			c->action = str_upper(eq ? xstrndup(val, (size_t)(eq - val)) : xstrdup(val));
			if (*c->action == '\0')
				return fail(cause, EXIT_USAGE, "-a: empty action name");
			if (eq != NULL) {
				c->subopts_raw = xstrdup(eq + 1);
				if (subopt_parse(eq + 1, &c->subopts, cause) != 0)
					return EXIT_USAGE;
			}
			break;
		}
		}
	}
	for (; i < argc; i++) {
		c->hosts = xreallocarray(c->hosts, c->nhosts + 1, sizeof *c->hosts);
		c->hosts[c->nhosts++] = xstrdup(argv[i]);
	}
	return 0;
}

void
cli_free(struct cli *c)
{
	free(c->type);
	free(c->types);
	free(c->action);
	free(c->subopts_raw);
	subopt_list_free(&c->subopts);
	for (size_t i = 0; i < c->nhosts; i++)
		free(c->hosts[i]);
	free(c->hosts);
	memset(c, 0, sizeof *c);
}
