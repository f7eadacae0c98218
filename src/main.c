/* ctys: a QEMU/KVM session manager without libvirt and without a daemon. */
#include "dispatch.h"

extern const struct plugin qemu_plugin;

const struct plugin *const plugin_list[] = { &qemu_plugin, NULL };

int
main(int argc, char **argv)
{
	return dispatch_main(argc, argv);
}
