#include "dispatch.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exitcodes.h"
#include "remote.h"
#include "util.h"

const struct action_def action_table[] = {
	{ "CREATE", "start a VM from its definition", ACT_REMOTE_OK | ACT_NEEDS_ARG },
	{ "CANCEL", "stop VMs (ACPI power-off with escalation, FORCE), or RESET, REBOOT, PAUSE, "
	  "SUSPEND them",
	  ACT_REMOTE_OK | ACT_NEEDS_ARG },
	{ "ISACTIVE", "print 1 and exit 0 when the VM runs, else 0 and exit 1",
	  ACT_REMOTE_OK | ACT_NEEDS_ARG },
	{ "INFO", "describe one VM: state, sockets, argv, events, or how it ended",
	  ACT_REMOTE_OK | ACT_NEEDS_ARG },
	{ "LIST", "every VM on this host: managed, suspended, stopped, foreign", ACT_REMOTE_OK },
	{ "SHOW", "this host for QEMU: binaries, accelerators, directories", ACT_REMOTE_OK },
	{ "ENUMERATE", "the inventory records of the VM definitions under the base paths",
	  ACT_REMOTE_OK },
	{ "GETCLIENTPORT", "where a console client connects: CLIENTPORT(VNC,<host>,<label>)=...",
	  ACT_REMOTE_OK | ACT_NEEDS_ARG },
	{ "EXEC", "run a command in the guest (its agent); exit with its status, 255 for ctys's "
	  "own failures", ACT_REMOTE_OK | ACT_NEEDS_ARG | ACT_OWN_255 },
	{ "CHANNEL", "connect stdin and stdout to a named channel of the guest",
	  ACT_REMOTE_OK | ACT_NEEDS_ARG },
	{ NULL, NULL, 0 }
};

const struct action_def *
action_find(const char *name)
{
	for (const struct action_def *a = action_table; a->name != NULL; a++)
		if (strcasecmp(a->name, name) == 0)
			return a;
	return NULL;
}

static const struct plugin *
plugin_find(const char *type)
{
	for (size_t i = 0; plugin_list[i] != NULL; i++)
		if (strcasecmp(plugin_list[i]->name, type) == 0)
			return plugin_list[i];
	return NULL;
}

static const struct plugin_action *
plugin_action(const struct plugin *p, const char *action)
{
	for (const struct plugin_action *pa = p->actions; pa->action != NULL; pa++)
		if (strcasecmp(pa->action, action) == 0)
			return pa;
	return NULL;
}

static void
usage_main(FILE *f)
{
	fprintf(f,
	    "usage: ctys [-t TYPE] [-T TYPE,...|ALL] -a ACTION[=SUBOPTS] [-d LEVEL] [-q] [--] [HOST...]\n"
	    "       ctys -a ACTION -h      help for one action\n"
	    "       ctys --version\n\nactions:\n");
	for (const struct action_def *a = action_table; a->name != NULL; a++)
		fprintf(f, "  %-10s %s\n", a->name, a->summary);
	fprintf(f, "\ntypes:");
	for (size_t i = 0; plugin_list[i] != NULL; i++)
		fprintf(f, " %s", plugin_list[i]->name);
	fprintf(f, "\n\nexit status: 0 ok, 1 failure (ISACTIVE: not running), 2 usage, 3 not found,\n"
	    "4 wrong state, 5 QEMU missing or failed, 6 timeout, 7 partial, 11 ambiguous;\n"
	    "EXEC: the guest command's status, 255 for any failure of ctys.\n"
	    "See ctys(1) and ctys-QEMU(1).\n");
}

static void
usage_action(FILE *f, const struct plugin *p, const struct action_def *a,
    const struct plugin_action *pa)
{
	fprintf(f, "usage: ctys -t %s -a %s%s\n  %s\n", p->name, a->name, pa->usage, a->summary);
	if (pa->subopts == NULL)
		return;
	fprintf(f, "\nsuboptions (`,` separates, `:` gives an argument, `%%` separates values):\n");
	for (const struct subopt_spec *s = pa->subopts; s->names != NULL; s++) {
		char *n = xasprintf("%s%s", s->names, s->arg == SUBOPT_ARG ? ":<arg>" :
		    s->arg == SUBOPT_OPTARG ? "[:<arg>]" : "");

		fprintf(f, "  %-28s %s%s\n", n, s->help, s->later ? " (not yet supported)" : "");
		free(n);
	}
}

/* Runs the program; *act: the action once known; *passed: ctx.passed after its handler. */
static int
dispatch_run(int argc, char **argv, const struct action_def **act, int *passed)
{
	struct cli cli;
	struct conf conf;
	struct paths paths;
	struct ctx ctx = { &cli, &conf, &paths, 0 };
	const struct action_def *a;
	const struct plugin *p;
	const struct plugin_action *pa;
	char *cause = NULL;
	int rc;

	signal(SIGPIPE, SIG_IGN);	/* a vanished peer is an error return, not a death */
	if ((rc = cli_parse(argc, argv, &cli, &cause)) != 0) {
		log_err("%s", cause);
		free(cause);
		cli_free(&cli);
		return rc;
	}
	log_level = cli.debug;
	if (cli.version) {
		printf("ctys %s\n", CTYS_VERSION);
		cli_free(&cli);
		return EXIT_OK;
	}
	if (cli.action == NULL) {
		usage_main(cli.help ? stdout : stderr);
		cli_free(&cli);
		return cli.help ? EXIT_OK : EXIT_USAGE;
	}
	if ((a = action_find(cli.action)) == NULL) {
		log_err("unknown action '%s' (see 'ctys -h')", cli.action);
		cli_free(&cli);
		return EXIT_USAGE;
	}
	*act = a;
	if ((p = plugin_find(cli.type)) == NULL) {
		log_err("unknown type '%s' (known: QEMU)", cli.type);
		cli_free(&cli);
		return EXIT_USAGE;
	}
	if ((pa = plugin_action(p, a->name)) == NULL) {
		log_err("type %s has no action %s", p->name, a->name);
		cli_free(&cli);
		return EXIT_USAGE;
	}
	if (cli.help) {
		usage_action(stdout, p, a, pa);
		cli_free(&cli);
		return EXIT_OK;
	}
	if ((a->flags & ACT_NEEDS_ARG) && cli.subopts.n == 0) {
		log_err("%s needs suboptions: ctys -t %s -a %s%s", a->name, p->name, a->name,
		    pa->usage);
		cli_free(&cli);
		return EXIT_USAGE;
	}
	if (pa->subopts != NULL && subopt_check(&cli.subopts, pa->subopts, a->name, &cause) != 0) {
		log_err("%s", cause);
		free(cause);
		cli_free(&cli);
		return EXIT_USAGE;
	}
	if (cli.wire > CTYS_WIRE) {
		log_err("--wire %d: this ctys (%s) speaks protocol %d; update it", cli.wire,
		    CTYS_VERSION, CTYS_WIRE);
		cli_free(&cli);
		return EXIT_USAGE;
	}
	if ((rc = conf_load(&conf, &cause)) != 0) {
		log_err("%s", cause);
		free(cause);
		conf_free(&conf);
		cli_free(&cli);
		return rc;
	}
	if (cli.nhosts > 0) {
		if (cli.wire > 0) {
			log_err("a remote call names no hosts");
			rc = EXIT_USAGE;
		} else
			rc = remote_run(&ctx, a, pa);
		*passed = ctx.passed;
		conf_free(&conf);
		cli_free(&cli);
		return rc;
	}
	if ((rc = paths_init(&paths, &conf, &cause)) != 0) {
		log_err("%s", cause);
		free(cause);
		paths_free(&paths);
		conf_free(&conf);
		cli_free(&cli);
		return rc;
	}
	if (p->init != NULL && (rc = p->init(&ctx, &cause)) != 0) {
		log_err("plugin %s: %s", p->name, cause);
		free(cause);
	} else {
		rc = pa->run(&ctx, &cli.subopts);
		*passed = ctx.passed;
		if (p->fini != NULL)
			p->fini();
	}
	paths_free(&paths);
	conf_free(&conf);
	cli_free(&cli);
	return rc;
}

int
dispatch_main(int argc, char **argv)
{
	const struct action_def *a = NULL;
	int passed = 0, rc = dispatch_run(argc, argv, &a, &passed);

	/* EXEC's status is the guest command's: every failure of ctys itself is 255 */
	if (a != NULL && (a->flags & ACT_OWN_255) && !passed && rc != EXIT_OK) {
		log_debug(1, "%s: exit status %d (ctys's own failure) -> %d", a->name, rc, EXIT_OWN);
		rc = EXIT_OWN;
	}
	return rc;
}
