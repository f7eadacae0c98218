/*
 * The CLI console: the guest's serial console relayed by its supervisor to this terminal
 * (raw mode) or to pipes. An escape key (Ctrl-] by default) then `d` detaches, `?` lists
 * the commands, `m` asks QEMU's monitor one line (QMP human-monitor-command), `.` or a
 * second escape sends the escape itself. The terminal is always restored; the last line
 * says why the console ended.
 */
#ifndef CTYS_CONSOLE_H
#define CTYS_CONSOLE_H

#include "ctl.h"

struct console_opts {
	const char *type;	/* CONSOLE: CLI, CLI0, VNC, XTERM... */
	int escape;		/* the escape byte (0: none) */
	int force;		/* take the console over from another writer */
	int tied;		/* CLI0: leaving ends the VM; no detach */
	int readonly;		/* watch only */
	int replay;		/* bytes of recent output replayed first (-1: default) */
	const char *label;	/* for messages */
	/* NULL: connect to ctl_path here; else a connected descriptor to it (another host's) */
	int (*dial)(void *arg, char **cause);
	void *dial_arg;
};

/* Ctrl-] */
#define CONSOLE_ESCAPE_DEFAULT 0x1d

/*
 * Parses an escape spec: "^]", "^A" (a control key), a single character, or "none".
 * Returns the byte (0 for none) or -1.
 */
int console_escape_parse(const char *);

/*
 * Attaches over the supervisor's control socket at ctl_path (its monitor questions go
 * over a second connection to the same socket). Returns the exit status: 0 detached or
 * the VM ended, EXIT_STATE console in use, EXIT_FAIL connection lost.
 */
int console_attach(const char *ctl_path, const struct console_opts *);

#endif
