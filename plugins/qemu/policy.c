#include "policy.h"

#include <string.h>
#include <strings.h>

#include "exitcodes.h"
#include "util.h"

static const char *const names[] = { "destroy", "restart", "preserve" };

void
policy_defaults(struct qemu_policy *p)
{
	p->poweroff = POL_DESTROY;
	p->reboot = POL_RESTART;
	p->crash = POL_DESTROY;
}

int
policy_parse(const char *s)
{
	for (int i = 0; i < (int)nitems(names); i++)
		if (s != NULL && strcasecmp(s, names[i]) == 0)
			return i;
	return -1;
}

const char *
policy_name(int p)
{
	return p >= 0 && p < (int)nitems(names) ? names[p] : "?";
}

int
policy_from_def(const struct vmdef *d, struct qemu_policy *p, char **cause)
{
	static const char *const keys[] = { "ON_POWEROFF", "ON_REBOOT", "ON_CRASH" };
	int *dst[] = { &p->poweroff, &p->reboot, &p->crash };
	const char *v;
	int x;

	policy_defaults(p);
	for (size_t i = 0; i < nitems(keys); i++) {
		if ((v = vmdef_get(d, keys[i])) == NULL)
			continue;
		if ((x = policy_parse(v)) == -1)
			return fail(cause, EXIT_FAIL, "%s:%d: %s: not a policy (destroy, restart, "
			    "preserve): '%s'", d->path, vmdef_line(d, keys[i]), keys[i], v);
		*dst[i] = x;
	}
	return 0;
}

char *
policy_format(const struct qemu_policy *p)
{
	return xasprintf("poweroff=%s reboot=%s crash=%s\n", policy_name(p->poweroff),
	    policy_name(p->reboot), policy_name(p->crash));
}

void
policy_read(const char *text, struct qemu_policy *p)
{
	static const char *const keys[] = { "poweroff=", "reboot=", "crash=" };
	int *dst[] = { &p->poweroff, &p->reboot, &p->crash };

	policy_defaults(p);
	for (size_t i = 0; text != NULL && i < nitems(keys); i++) {
		const char *k = strstr(text, keys[i]);
		char word[16];
		size_t n;
		int x;

		if (k == NULL)
			continue;
		k += strlen(keys[i]);
		n = strcspn(k, " \n");
		if (n >= sizeof word)
			continue;
		memcpy(word, k, n);
		word[n] = '\0';
		if ((x = policy_parse(word)) != -1)
			*dst[i] = x;
	}
}
