/*
 * libFuzzer target: the VM definition reader, the one-struct view of it (vmconf, with
 * the IP<n> splitting), and the argv built from what it read.
 */
#include <stdint.h>
#include <stdlib.h>

#include "argv.h"
#include "vmconf.h"
#include "vmdef.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmdef *d = vmdef_parse((const char *)data, size, "/vm/fuzz/fuzz.ctys");
	struct qemu_opts o = { .binary = "/usr/bin/qemu-system-x86_64", .accel = "tcg",
	    .console = "NONE", .qmp_fd = 3, .serial_fd = 4, .ssh_port = 2222 };
	struct strv argv = { 0 };
	struct vmconf c;
	char *cause = NULL;

	vmconf_init(&c, d);
	vmconf_free(&c);
	if (qemu_argv_build(d, &o, &argv, &cause) == 0)
		strv_free(&argv);
	free(cause);
	vmdef_free(d);
	return 0;
}
