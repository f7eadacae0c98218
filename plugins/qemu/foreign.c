#include "foreign.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A QEMU option's value in a QemuOpts argument: "path" of "socket,id=x,path=/a". */
static char *
opt_value(const char *arg, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = arg; p != NULL; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (strncmp(p, key, kl) == 0 && p[kl] == '=')
			return xstrndup(p + kl + 1, strcspn(p + kl + 1, ","));
	}
	return NULL;
}

static int
opt_is(const char *arg, const char *key, const char *val)
{
	char *v = opt_value(arg, key);
	int r = v != NULL && strcmp(v, val) == 0;

	free(v);
	return r;
}

static void
take(char **dst, char *v)
{
	if (v != NULL && *v != '\0' && *dst == NULL)
		*dst = v;
	else
		free(v);
}

void
foreign_parse(const char *cmd, size_t len, struct foreign *f)
{
	struct strv chardevs = { 0 }, qmpmons = { 0 };
	char *v;

	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1) {
		const char *a = cmd + i, *n;

		if (i == 0)
			take(&f->exe, xstrdup(a));
		if (strstr(a, "/libvirt/") != NULL || strstr(a, "libvirt-") != NULL)
			f->libvirt = 1;
		if (i + strlen(a) + 1 >= len)
			break;
		n = a + strlen(a) + 1;
		if (strcmp(a, "-name") == 0)
			take(&f->label, (v = opt_value(n, "guest")) != NULL ? v :
			    xstrndup(n, strcspn(n, ",")));
		else if (strcmp(a, "-uuid") == 0)
			take(&f->uuid, xstrdup(n));
		else if (strcmp(a, "-accel") == 0)
			take(&f->accel, xstrndup(n, strcspn(n, ",")));
		else if (strcmp(a, "-machine") == 0 || strcmp(a, "-M") == 0)
			take(&f->accel, opt_value(n, "accel"));
		else if (strcmp(a, "-enable-kvm") == 0)
			take(&f->accel, xstrdup("kvm"));
		else if (strcmp(a, "-vnc") == 0)
			take(&f->display, xstrdup(n));
		else if (strcmp(a, "-qmp") == 0 && strncmp(n, "unix:", 5) == 0)
			take(&f->qmp, xstrndup(n + 5, strcspn(n + 5, ",")));
		else if (strcmp(a, "-monitor") == 0 && strncmp(n, "unix:", 5) == 0)
			take(&f->monitor, xstrndup(n + 5, strcspn(n + 5, ",")));
		else if (strcmp(a, "-chardev") == 0 && strncmp(n, "socket", 6) == 0 &&
		    !opt_is(n, "server", "off") && (v = opt_value(n, "path")) != NULL) {
			char *id = opt_value(n, "id");

			strv_addf(&chardevs, "%s\t%s", id ? id : "", v);
			free(id);
			free(v);
		} else if (strcmp(a, "-mon") == 0 && opt_is(n, "mode", "control") &&
		    (v = opt_value(n, "chardev")) != NULL) {
			strv_add(&qmpmons, v);
			free(v);
		}
		if ((strcmp(a, "-device") == 0 || strcmp(a, "-net") == 0 ||
		    strcmp(a, "-nic") == 0) && ((v = opt_value(n, "mac")) != NULL ||
		    (v = opt_value(n, "macaddr")) != NULL)) {
			char *m = f->macs ? xasprintf("%s,%s", f->macs, v) : xstrdup(v);

			free(f->macs);
			f->macs = m;
			free(v);
		}
	}
	/* a chardev socket that a -mon mode=control uses is a QMP socket */
	for (size_t i = 0; i < chardevs.n && f->qmp == NULL; i++) {
		char *tab = strchr(chardevs.v[i], '\t');

		*tab = '\0';
		for (size_t j = 0; j < qmpmons.n; j++)
			if (strcmp(qmpmons.v[j], chardevs.v[i]) == 0)
				take(&f->qmp, xstrdup(tab + 1));
		if (f->qmp == NULL)
			take(&f->monitor, xstrdup(tab + 1));
	}
	if (f->accel == NULL)
		f->accel = xstrdup("tcg");
	strv_free(&chardevs);
	strv_free(&qmpmons);
}

size_t
foreign_scan(const pid_t *skip, size_t nskip, struct foreign **out)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	*out = NULL;
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[64], comm[64] = "", *cmd;
		size_t len, i;
		struct foreign f;
		pid_t pid;
		FILE *fp;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		for (i = 0; i < nskip && skip[i] != pid; i++)
			;
		if (i < nskip)
			continue;
		snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
		if ((fp = fopen(path, "re")) == NULL)
			continue;
		if (fgets(comm, sizeof comm, fp) == NULL)
			comm[0] = '\0';
		fclose(fp);
		if (strncmp(comm, "qemu-system-", 12) != 0 && strncmp(comm, "qemu-kvm", 8) != 0 &&
		    strcmp(comm, "kvm\n") != 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
		if ((cmd = file_read(path, 1 << 20, &len)) == NULL || len == 0) {
			free(cmd);
			continue;
		}
		memset(&f, 0, sizeof f);
		f.pid = pid;
		foreign_parse(cmd, len, &f);
		free(cmd);
		*out = xreallocarray(*out, n + 1, sizeof **out);
		(*out)[n++] = f;
	}
	closedir(d);
	return n;
}

void
foreign_clear(struct foreign *f)
{
	free(f->exe);
	free(f->label);
	free(f->uuid);
	free(f->accel);
	free(f->display);
	free(f->qmp);
	free(f->monitor);
	free(f->macs);
	memset(f, 0, sizeof *f);
}

void
foreign_list_free(struct foreign *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		foreign_clear(&v[i]);
	free(v);
}
