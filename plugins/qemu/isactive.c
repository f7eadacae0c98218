/* ISACTIVE: "1" and exit 0 when the VM runs (paused counts), "0" and exit 1 when not. */
#include <stdio.h>
#include <stdlib.h>

#include "exitcodes.h"
#include "qemu.h"
#include "vm.h"

int
qemu_isactive(struct ctx *ctx, struct subopt_list *so)
{
	struct vm_addr addr;
	struct vmrun *vms = NULL;
	size_t n = 0;
	char *cause = NULL;
	int rc, active = 0;

	if ((rc = vm_addr_parse(so, &addr, 0, &cause)) != 0) {
		log_err("%s", cause);
		free(cause);
		vm_addr_free(&addr);
		return rc;
	}
	vm_running(ctx, &addr, &vms, &n);
	for (size_t i = 0; i < n && !active; i++) {
		struct ctl_client c;
		json_object *data = NULL;

		if (vm_connect(ctx, &vms[i], &c, &cause) != 0) {
			log_debug(1, "%s", cause);
			continue;
		}
		if (ctl_call(&c, "status", NULL, &data, 5000, &cause) == 0)
			active = 1;
		else
			log_debug(1, "%s", cause);
		json_object_put(data);
		ctl_close(&c);
	}
	if (n > 1 && !addr.all)
		log_debug(1, "%zu running VMs match '%s'", n, addr.text);
	printf("%d\n", active);
	vmrun_list_free(vms, n);
	vm_addr_free(&addr);
	free(cause);
	return active ? EXIT_OK : EXIT_FAIL;
}
