/*
 * ctys-vncviewer: shows the display of a ctys VM (QEMU's VNC server on a UNIX socket in
 * the VM's runtime directory, or on TCP with a password), or writes it to a PNG.
 */
#include "vncviewer.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "util.h"

#define SETTLE_DEFAULT	500	/* ms */
#define TIMEOUT_DEFAULT	20	/* s */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ctys-vncviewer [-v] [--title TITLE] [--password-file FILE]\n"
	    "           [--screenshot FILE.png [--settle MS]] [--timeout S] TARGET\n"
	    "       ctys-vncviewer [options] --runtime-dir DIR\n"
	    "       ctys-vncviewer [options] --host [USER@]HOST[:PORT] MACHINE-ADDRESS\n"
	    "TARGET: a UNIX socket (absolute path, or unix:PATH), HOST:PORT, or the\n"
	    "runtime directory of a ctys VM (its 'vnc' and 'vnc.password' files are used).\n");
}

/* A number in [min, max]; -1 if it is not one. */
static double
num_arg(const char *s, double min, double max)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(d) || d < min || d > max)
		return -1;
	return d;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "title", required_argument, NULL, 'T' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "screenshot", required_argument, NULL, 's' },
		{ "settle", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "runtime-dir", required_argument, NULL, 'r' },
		{ "host", required_argument, NULL, 'H' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *title = NULL, *pwfile = NULL, *shot = NULL, *rundir = NULL, *host = NULL;
	double timeout = TIMEOUT_DEFAULT, settle = -1;
	struct target t;
	struct viewer v;
	struct ui *ui = NULL;
	char *cause = NULL;
	double start = now_mono();
	int c, rc;

	log_prog = "ctys-vncviewer";
	while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'T':
			title = optarg;
			break;
		case 'p':
			pwfile = optarg;
			break;
		case 's':
			shot = optarg;
			break;
		case 'S':
			if ((settle = num_arg(optarg, 0, 600000)) < 0) {
				log_err("--settle: not a number of milliseconds (0..600000): '%s'",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 't':
			if ((timeout = num_arg(optarg, 0.001, 86400)) < 0) {
				log_err("--timeout: not a number of seconds (up to 86400): '%s'",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			rundir = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 'v':
			log_level++;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("ctys-vncviewer %s\n", CTYS_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if ((rundir == NULL && argc != 1) || (rundir != NULL && argc != 0)) {
		log_err(rundir == NULL ? "one TARGET is needed" :
		    "--runtime-dir and a TARGET: give one of them");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (host != NULL && (rundir != NULL || pwfile != NULL)) {
		log_err("--host takes a machine-address as TARGET (not --runtime-dir or "
		    "--password-file)");
		return EXIT_USAGE;
	}
	if (settle >= 0 && shot == NULL) {
		log_err("--settle goes with --screenshot");
		return EXIT_USAGE;
	}
	if (shot != NULL && *shot == '\0') {
		log_err("--screenshot: empty file name");
		return EXIT_USAGE;
	}
	if (settle < 0)
		settle = SETTLE_DEFAULT;

	/* a server that goes away must give EPIPE, not kill us */
	signal(SIGPIPE, SIG_IGN);
	vnc_log_init();
	memset(&t, 0, sizeof t);
	t.fd = -1;
	if (shot != NULL && (rc = shot_check(shot, &cause)) != 0)
		goto out;
	if (host != NULL)
		rc = target_remote(host, argv[0], &t, &cause);
	else
		rc = target_resolve(argc > 0 ? argv[0] : NULL, rundir, pwfile, &t, &cause);
	if (rc != 0)
		goto out;
	if (shot == NULL && (rc = ui_init(&ui, &cause)) != 0)
		goto out;
	if ((rc = vnc_open(&v, &t, timeout, &cause)) != 0)
		goto out;
	if (shot != NULL)
		rc = shot_run(&v, shot, (int)settle, timeout, start + timeout, &cause);
	else
		rc = ui_run(ui, &v, title != NULL ? title : t.name, &cause);
	ui_free(ui);
	ui = NULL;
	vnc_close(&v);
out:
	ui_free(ui);
	target_free(&t);
	if (host != NULL)
		target_remote_close();
	if (cause != NULL) {
		log_err("%s", cause);
		free(cause);
	}
	return rc;
}
