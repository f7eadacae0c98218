/* ctys: a QEMU/KVM session manager without libvirt and without a daemon. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dispatch.h"
#include "util.h"

extern const struct plugin qemu_plugin;

const struct plugin *const plugin_list[] = { &qemu_plugin, NULL };

/*
 * In a terminal window that ctys opened for a console (CONSOLE:XTERM, GTERM, EMACS), the
 * environment names the VM's viewer.log in CTYS_CONSOLE_LOG: messages are copied there,
 * and a failed attach keeps the window open (until Enter, at most a minute) so that the
 * user can read why instead of seeing a window flash.
 */
int
main(int argc, char **argv)
{
	const char *log = getenv("CTYS_CONSOLE_LOG");
	int rc, hold = 0;

	if (log != NULL && *log) {
		log_copy_fd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC);
		hold = isatty(STDIN_FILENO);
	}
	unsetenv("CTYS_CONSOLE_LOG");	/* not for what this ctys starts */
	rc = dispatch_main(argc, argv);
	if (rc != 0 && hold) {
		struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };

		fprintf(stderr, "ctys: the console ended with exit status %d; press Enter to "
		    "close this window\n", rc);
		(void)poll(&pfd, 1, 60 * 1000);
	}
	return rc;
}
