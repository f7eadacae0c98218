/*
 * probe_tool BINARY CACHE-DIR [N]: runs the capability probe (through the cache), as the
 * end-to-end test needs it: prints what was found and how long probe_get took; with N,
 * calls it N times and prints the mean.
 */
#include <stdio.h>
#include <stdlib.h>

#include "exitcodes.h"
#include "probe.h"
#include "util.h"

int
main(int argc, char **argv)
{
	struct qemu_caps *c = NULL;
	char *cause = NULL;
	double t0, t;
	int rc, n = 1;

	log_prog = "probe_tool";
	if (getenv("PROBE_TOOL_DEBUG") != NULL)
		log_level = atoi(getenv("PROBE_TOOL_DEBUG"));
	if (argc < 3 || argc > 4 || (argc == 4 && (n = atoi(argv[3])) < 1)) {
		fprintf(stderr, "usage: probe_tool BINARY CACHE-DIR [N]\n");
		return EXIT_USAGE;
	}
	t0 = now_mono();
	for (int i = 0; i < n; i++) {
		qemu_caps_free(c);
		c = NULL;
		if ((rc = probe_get(argv[1], *argv[2] ? argv[2] : NULL, &c, &cause)) != 0) {
			log_err("%s", cause);
			free(cause);
			return rc;
		}
	}
	t = (now_mono() - t0) / n;
	printf("version %s\n", c->version);
	printf("default-machine %s\n", c->default_machine ? c->default_machine : "-");
	printf("kvm present=%d enabled=%d\n", c->kvm_present, c->kvm_enabled);
	printf("machines %zu\ncommands %zu\ntypes %zu\nnetdevs %zu\n", c->nmachines,
	    c->ncommands, c->ntypes, c->nnetdevs);
	printf("type virtio-net-pci %s\n", qemu_caps_has_type(c, "virtio-net-pci") ? "yes" : "no");
	printf("type pvpanic-pci %s\n", qemu_caps_has_type(c, "pvpanic-pci") ? "yes" : "no");
	printf("machine q35 %s\n", qemu_caps_has_machine(c, "q35") ? "yes" : "no");
	printf("command query-kvm %s\n", qemu_caps_has_command(c, "query-kvm") ? "yes" : "no");
	printf("netdev user %s\n", qemu_caps_has_netdev(c, "user") ? "yes" : "no");
	printf("netdev vde %s\n", qemu_caps_has_netdev(c, "vde") ? "yes" : "no");
	printf("seconds %.6f\n", t);
	qemu_caps_free(c);
	return 0;
}
