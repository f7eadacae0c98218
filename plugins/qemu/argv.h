/* Definition + CREATE suboptions -> QEMU argv. Pure (facts are injected), golden-tested. */
#ifndef CTYS_ARGV_H
#define CTYS_ARGV_H

#include "util.h"
#include "vmdef.h"

struct qemu_caps;

/* Boot and install media modes (BOOTMODE, INSTMODE, DEFAULTBOOTMODE...). */
enum qemu_media {
	MEDIA_NONE, MEDIA_CD, MEDIA_DVD, MEDIA_FDD, MEDIA_HDD, MEDIA_VHDD, MEDIA_USB, MEDIA_PXE
};

/* What CREATE resolved outside the definition. */
struct qemu_opts {
	const char *binary;	/* absolute path of the QEMU binary */
	const char *accel;	/* "kvm" or "tcg" */
	const char *console;	/* NONE (more with the consoles work) */
	int qmp_fd;		/* fd number of the QMP listening socket in QEMU */
	int serial_fd;		/* fd number of the serial listening socket in QEMU */
	int agent_fd;		/* fd number of the guest agent's listening socket; -1: none
				   (qemu_agent_wanted decides) */
	const char *rundir;	/* the VM's runtime directory: channels/<name>.sock there */

	/* CREATE suboptions; zero/NULL when not given */
	int bootmode;			/* BOOTMODE:<mode>[%path] */
	const char *bootpath;
	const char *kernel, *initrd, *append;	/* KERNEL:<k>[%<initrd>[%<append>]] */
	int instmode;			/* INSTMODE:<src>%<path>%<tgt>%<path>%<INIT|custom> */
	int inst_src_mode, inst_tgt_mode;
	const char *inst_src, *inst_tgt;
	const char *argsadd;		/* ARGSADD:S%<args> */

	int ssh_port;		/* host port forwarded to the guest's SSHPORT on NIC 0 (user) */
	const char *vnc;	/* -vnc value: "unix:<rundir>/vnc.sock", or a TCP display */
	const char *netmode;	/* default NETMODE (configuration), NULL: "user" */

	/* injected facts (NULL: not checked / QEMU decides) */
	const char *(*disk_format)(const char *path, void *arg);
	int (*netif_check)(const char *ifname, int bridge, char **why, void *arg);
	void *arg;
	const struct qemu_caps *caps;
};

/* Fixed fd numbers the supervisor hands to QEMU. */
#define QEMU_FD_QMP 3
#define QEMU_FD_SERIAL 4
#define QEMU_FD_DEFLOCK 5	/* the definition's lock, held for QEMU's life (create.c) */
#define QEMU_FD_QGA 6		/* the guest agent's listening socket (the supervisor's) */

/* The guest agent's port name, and its socket in the runtime directory. */
#define QEMU_AGENT_PORT "org.qemu.guest_agent.0"

/*
 * Whether the VM gets the guest agent's port: GUESTAGENT (on by default; off/no/0 switch
 * it off) and a binary with virtio-serial-pci (when its capabilities are known).
 */
int qemu_agent_wanted(const struct vmdef *, const struct qemu_caps *);
/* CHANNELS="name ...": the names, checked (file:line). 0, or EXIT_FAIL with *cause. */
int qemu_channels(const struct vmdef *, struct strv *names, char **cause);

/*
 * Builds the argv. Returns 0, or EXIT_FAIL/EXIT_USAGE/EXIT_QEMU with *cause
 * ("path:line: KEY: ...") for a value that cannot be used.
 */
int qemu_argv_build(const struct vmdef *, const struct qemu_opts *, struct strv *out,
    char **cause);
/* Parses a media mode name (CD, DVD, FDD, HDD, VHDD, USB, PXE); MEDIA_NONE if unknown. */
int qemu_media_parse(const char *);
const char *qemu_media_name(int);
/* The label: #@#LABEL, else LABEL=, else the file name without extension. */
char *qemu_label(const struct vmdef *);
/* Checks a label: not empty, no leading '-', no '/', no control characters. */
int qemu_label_check(const char *label, char **why);
/* QEMU option-value escaping: ',' doubled. */
char *qemu_escape(const char *);
/* Splits words as a shell would for quotes ('..', "..", \x), nothing else. 0 or -1. */
int split_words(const char *s, struct strv *out, char **why);

#endif
