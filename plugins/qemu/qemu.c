/* The QEMU plugin: its actions and their suboption tables. */
#include "qemu.h"

#include "fdb.h"
#include "vm.h"

#define ADDR_SPECS \
	{ ADDR_KEYS_PATH, SUBOPT_ARG, "definition file (absolute path)", 0 }, \
	{ ADDR_KEYS_LABEL, SUBOPT_ARG, "VM label", 0 }, \
	{ ADDR_KEYS_UUID, SUBOPT_ARG, "VM UUID", 0 }, \
	{ ADDR_KEYS_BASE, SUBOPT_ARG, "base paths to scan (p1%p2)", 0 }, \
	{ ADDR_KEYS_FNAME, SUBOPT_ARG, "substring of the definition path", 0 }, \
	{ ADDR_KEYS_MAC, SUBOPT_ARG, "MAC address (#@#MAC<n>)", 0 }, \
	{ ADDR_KEYS_TCP, SUBOPT_ARG, "IP address (#@#IP<n>)", 0 }, \
	{ ADDR_KEYS_PID, SUBOPT_ARG, "QEMU process id (also one ctys did not start)", 0 }, \
	{ ADDR_KEYS_DR, SUBOPT_ARG, "record number in the inventory (ctys-vdbgen)", 0 }

static const struct subopt_spec create_specs[] = {
	ADDR_SPECS,
	{ "CONSOLE", SUBOPT_ARG, "NONE, CLI (serial, detachable), CLI0 (tied to the VM); SDL, "
	  "VNC, XTERM, GTERM, EMACS* later", 0 },
	{ "VNC", SUBOPT_ARG, "TCP: a TCP display (127.0.0.1 or vnc_listen; port chosen by QEMU, "
	  "random password) instead of the UNIX socket", 0 },
	{ "ESCAPE", SUBOPT_ARG, "the CLI console's escape key (^], ^A, a character, none)", 0 },
	{ "PRINT", SUBOPT_NOARG, "print the QEMU command line, start nothing", 0 },
	{ "CONNECT|REUSE|RECONNECT", SUBOPT_NOARG, "a VM that runs already is fine (no exit 4)",
	  0 },
	{ "RESUME", SUBOPT_NOARG, "continue a paused VM, restore a suspended one", 0 },
	{ "FORCE", SUBOPT_NOARG, "with RESUME: restore although a disk changed; without: "
	  "discard a suspended VM's state and boot afresh; with CONSOLE: take the console "
	  "over", 0 },
	{ "BOOTMODE", SUBOPT_ARG, "CD|DVD|FDD|HDD|VHDD|USB|PXE[%path]: boot from it", 0 },
	{ "INSTMODE", SUBOPT_OPTARG, "<src mode>%<path>%<target mode>%<path>%<INIT|custom>: "
	  "boot the install source once", 0 },
	{ "KERNEL", SUBOPT_ARG, "<kernel>[%<initrd>[%<append>]]: boot this kernel", 0 },
	{ "ARGSADD", SUBOPT_ARG, "S%<extra QEMU arguments>", 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct subopt_spec cancel_specs[] = {
	ADDR_SPECS,
	{ "ALL", SUBOPT_NOARG, "every VM ctys manages on this host", 0 },
	{ "POWEROFF|S5", SUBOPT_OPTARG, "ACPI power-off, then quit, SIGTERM, SIGKILL "
	  "(default; optional timeout in seconds)", 0 },
	{ "FORCE", SUBOPT_NOARG, "no grace: quit at once, then SIGTERM, SIGKILL", 0 },
	{ "TIMEOUT", SUBOPT_ARG, "seconds the guest gets to power off (default 20)", 0 },
	{ "RESET", SUBOPT_NOARG, "hard reset (a powered-off or panicked guest runs again)", 0 },
	{ "REBOOT", SUBOPT_OPTARG, "ACPI power button; when the guest is down, reset and "
	  "continue; reset after the timeout", 0 },
	{ "PAUSE|S3", SUBOPT_NOARG, "stop the virtual CPUs (CREATE RESUME continues)", 0 },
	{ "SUSPEND|S4", SUBOPT_NOARG, "save the VM's state to disk and stop QEMU (CREATE "
	  "RESUME restores it)", 0 },
	{ "INIT", SUBOPT_OPTARG, "change the guest's runlevel (needs the guest agent)", 1 },
	{ "SERVER", SUBOPT_NOARG, "the VM itself (the default)", 0 },
	{ "CLIENT|BOTH", SUBOPT_NOARG, "the VM's console clients (with the consoles)", 0 },
	{ "STACK|SELF|USER", SUBOPT_OPTARG, "stack handling", 1 },
	{ NULL, 0, NULL, 0 }
};

static const struct subopt_spec isactive_specs[] = {
	ADDR_SPECS,
	{ NULL, 0, NULL, 0 }
};

static const struct subopt_spec info_specs[] = {
	ADDR_SPECS,
	{ "JSON", SUBOPT_NOARG, "one JSON object", 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct subopt_spec list_specs[] = {
	{ "MACHINE", SUBOPT_NOARG, "the original's 22-field `;` record", 0 },
	{ "TERSE", SUBOPT_NOARG, "the chosen fields, `;`-separated, no header", 0 },
	{ "JSON", SUBOPT_NOARG, "an array of objects", 0 },
	{ "TITLE|TITLEIDX", SUBOPT_NOARG, "a header line (with field indexes)", 0 },
	{ "TAB_GEN", SUBOPT_ARG, "<idx>_<title>_<width>%...: a table of these fields", 0 },
	{ "SORT", SUBOPT_ARG, "<field>[%DESC][%UNIQUE]", 0 },
	{ "INACTIVE", SUBOPT_NOARG, "also suspended VMs and stopped ones with an exit record", 0 },
	{ "NOFOREIGN", SUBOPT_NOARG, "only VMs ctys manages", 0 },
	{ "PM|HOST|TYPE|LABEL|ID|PNAME|UUID|MAC|TCP|DISPLAY|CPORT|SPORT|PID|UID|GID|JOBID|"
	  "IFNAME|CSTRG|EXEPATH|HRX|ACCELERATOR|ARCH|STATE|UPTIME|MANAGED|SPID|PORTS|CONSOLE|"
	  "LAST|RID|IPFROM|GUEST|CHANNELS", SUBOPT_NOARG, "field switches: these columns, in this order",
	  0 },
	{ NULL, 0, NULL, 0 }
};

static const struct subopt_spec getclientport_specs[] = {
	ADDR_SPECS,
	{ "VNC", SUBOPT_NOARG, "the VNC display: a port, or a UNIX socket (the default)", 0 },
	{ "CLI", SUBOPT_NOARG, "the serial console's stream socket", 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct subopt_spec enumerate_specs[] = {
	{ ADDR_KEYS_BASE, SUBOPT_ARG, "base paths to scan (p1%p2; default: base_paths)", 0 },
	{ "MATCHVSTAT", SUBOPT_ARG, "ACTIVE%DISABLED%EMPTY%BACKUP%TEMPLATE%TESTDUMMY%CUSTOM%"
	  "PRESENT%ENABLED%ALL: which #@#VMSTATE (default ACTIVE, DISABLED, empty)", 0 },
	{ "MACHINE", SUBOPT_NOARG, "the 47-field inventory record", 0 },
	{ "TERSE", SUBOPT_NOARG, "the chosen fields, `;`-separated, no header", 0 },
	{ "JSON", SUBOPT_NOARG, "an array of objects", 0 },
	{ "TITLE|TITLEIDX", SUBOPT_NOARG, "a header line (with field indexes)", 0 },
	{ "TAB_GEN", SUBOPT_ARG, "<idx>_<title>_<width>%...: a table of these fields", 0 },
	{ "SORT", SUBOPT_ARG, "<field>[%DESC][%UNIQUE]", 0 },
	{ "PM|HOST|TYPE|STYPE|LABEL|ID|PNAME|UUID|MAC|TCP|DISPLAY|CPORT|SPORT|VNCBASE|DIST|"
	  "DISTREL|OS|OSREL|VERSION|VERNO|SERNO|CATEGORY|CAT|VMSTATE|VSTAT|HYPERREL|HREL|"
	  "STACKCAP|SCAP|STACKREQ|SREQ|HWCAP|HWREQ|EXECLOCATION|EXECLOC|RELOCCAP|RCAP|SSHPORT|"
	  "NETNAME|HRX|HYPERRELRUN|ACCELERATOR|ACCEL|EXEPATH|EXE|IFNAME|CTYSRELEASE|NETMASK|"
	  "GATEWAY|RELAY|ARCH|PLATFORM|VRAM|VCPU|CSTRG|USTRG|UID|GID|DEFHOSTS|DEFCONSOLE",
	  SUBOPT_NOARG, "field switches: these columns, in this order", 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct subopt_spec show_specs[] = {
	{ "JSON", SUBOPT_NOARG, "one JSON object", 0 },
	{ "CONF", SUBOPT_NOARG, "the effective configuration, each setting with where it came "
	  "from", 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct subopt_spec exec_specs[] = {
	ADDR_SPECS,
	{ "CMD", SUBOPT_ARG, "the command: <program>%<arg>%... (`%%` is a `%`, `,,` a `,`)", 0 },
	{ "TIMEOUT", SUBOPT_ARG, "seconds the command may take (default 60)", 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct subopt_spec channel_specs[] = {
	ADDR_SPECS,
	{ "NAME", SUBOPT_ARG, "the channel: a name of the definition's CHANNELS", 0 },
	{ "PRINT", SUBOPT_NOARG, "print the channel's socket, connect nothing", 0 },
	{ NULL, 0, NULL, 0 }
};

static const struct plugin_action qemu_actions[] = {
	{ "CREATE", qemu_create, create_specs,
	  "=<machine-address>[,BOOTMODE:..][,KERNEL:..][,INSTMODE:..][,ARGSADD:S%..][,PRINT]", NULL,
	  qemu_create_remote },
	{ "CANCEL", qemu_cancel, cancel_specs,
	  "=<machine-address>|ALL[,POWEROFF[:<seconds>]|FORCE][,TIMEOUT:<seconds>]", NULL , NULL },
	{ "ISACTIVE", qemu_isactive, isactive_specs, "=<machine-address>", NULL , NULL },
	{ "INFO", qemu_info, info_specs, "=<machine-address>[,JSON]", NULL , NULL },
	{ "LIST", qemu_list, list_specs, "[=MACHINE|TERSE|JSON|TAB_GEN:..][,<field>...][,SORT:..]"
	  "[,INACTIVE]", &qemu_list_schema, NULL },
	{ "SHOW", qemu_show, show_specs, "[=JSON|CONF]", NULL , NULL },
	{ "ENUMERATE", qemu_enumerate_action, enumerate_specs,
	  "[=B:<paths>][,MATCHVSTAT:..][,MACHINE|TERSE|JSON|TAB_GEN:..][,<field>...]",
	  &fdb_schema, NULL },
	{ "GETCLIENTPORT", qemu_getclientport, getclientport_specs,
	  "=<machine-address>[,VNC|CLI]", NULL , NULL },
	{ "EXEC", qemu_exec, exec_specs, "=<machine-address>,CMD:<program>[%<arg>...]"
	  "[,TIMEOUT:<seconds>]", NULL, qemu_exec_remote },
	{ "CHANNEL", qemu_channel, channel_specs, "=<machine-address>,NAME:<name>[,PRINT]", NULL,
	  qemu_channel_remote },
	{ NULL, NULL, NULL, NULL, NULL, NULL }
};

const struct plugin qemu_plugin = {
	"QEMU", "QEMU and KVM virtual machines", qemu_actions, NULL, NULL
};
