/* libFuzzer target: the QEMU capability cache file (read back from disk, never trusted). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The key the valid files of the corpus carry: checked once, then not checked at all. */
static const struct probe_key key = {
	.binary = "/usr/bin/qemu-system-x86_64", .size = 1000,
	.mtime_sec = 1700000000, .mtime_nsec = 1, .ctime_sec = 1700000000, .ctime_nsec = 2,
	.kernel = "6.1.0-amd64", .moddirs = "/usr/lib/x86_64-linux-gnu/qemu@1700000000.000000003",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qemu_caps *c = NULL, *back = NULL;
	char *cause = NULL, *text;

	if (qemu_caps_from_json((const char *)data, size, &key, &c, &cause) == 0)
		qemu_caps_free(c);
	free(cause);
	cause = NULL;
	if (qemu_caps_from_json((const char *)data, size, NULL, &c, &cause) == 0) {
		(void)qemu_caps_has_type(c, "virtio-net-pci");
		(void)qemu_caps_has_machine(c, "q35");
		(void)qemu_caps_has_command(c, "query-kvm");
		(void)qemu_caps_has_netdev(c, "user");
		/* what was loaded writes back to a file that loads the same */
		text = qemu_caps_to_json(c, &key);
		if (qemu_caps_from_json(text, strlen(text), &key, &back, &cause) != 0 ||
		    back->nmachines != c->nmachines || back->ncommands != c->ncommands ||
		    back->ntypes != c->ntypes || back->nnetdevs != c->nnetdevs ||
		    back->kvm_present != c->kvm_present || strcmp(back->version, c->version) != 0)
			abort();
		qemu_caps_free(back);
		free(text);
	}
	qemu_caps_free(c);
	free(cause);
	return 0;
}
