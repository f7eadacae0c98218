/* Definition + CREATE suboptions -> QEMU argv. Pure, golden-tested. */
#ifndef CTYS_ARGV_H
#define CTYS_ARGV_H

#include "util.h"
#include "vmdef.h"

/* What CREATE resolved outside the definition. */
struct qemu_opts {
	const char *binary;	/* absolute path of the QEMU binary */
	const char *accel;	/* "kvm" or "tcg" */
	const char *console;	/* NONE (more with the consoles work) */
	const char *hda_format;	/* "raw"/"qcow2"/... or NULL to let QEMU probe */
	int qmp_fd;		/* fd number of the QMP listening socket in QEMU */
	int serial_fd;		/* fd number of the serial listening socket in QEMU */
};

/* Fixed fd numbers the supervisor hands to QEMU. */
#define QEMU_FD_QMP 3
#define QEMU_FD_SERIAL 4

/*
 * Builds the argv. Returns 0, or EXIT_FAIL with *cause ("path:line: KEY: ...") for a
 * value in the definition that cannot be used.
 */
int qemu_argv_build(const struct vmdef *, const struct qemu_opts *, struct strv *out,
    char **cause);
/* The label: #@#LABEL, else LABEL=, else the file name without extension. */
char *qemu_label(const struct vmdef *);
/* Checks a label: not empty, no leading '-', no '/', no control characters. */
int qemu_label_check(const char *label, char **why);
/* QEMU option-value escaping: ',' doubled. */
char *qemu_escape(const char *);

#endif
