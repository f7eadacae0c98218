/* The one exit status table of ctys; documented in README.md and ctys(1). */
#ifndef CTYS_EXITCODES_H
#define CTYS_EXITCODES_H

enum ctys_exit {
	EXIT_OK = 0,		/* success */
	EXIT_FAIL = 1,		/* failure; for ISACTIVE: "not running" */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_NOTFOUND = 3,	/* no such VM, definition or file */
	EXIT_STATE = 4,		/* wrong state: already running / not running */
	EXIT_QEMU = 5,		/* QEMU missing, or QEMU failed */
	EXIT_TIMEOUT = 6,	/* an operation timed out */
	EXIT_PARTIAL = 7,	/* some hosts failed, others answered */
	EXIT_UNREACHABLE = 8,	/* no host answered (ssh: refused, unknown or changed key) */
	EXIT_AMBIGUOUS = 11,	/* several matches where one was needed */
	EXIT_OWN = 255,		/* EXEC: any failure of ctys itself (the guest's status
				   passes through otherwise), as ssh does */
};

#endif
