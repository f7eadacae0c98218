#include "saved.h"

#include <sys/stat.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "exitcodes.h"

#define META_MAX (1024 * 1024)
#define ARGV_MAX (1024 * 1024)

char *
saved_dir(const char *save_root, const char *id)
{
	return xasprintf("%s/%s", save_root, id);
}

char *
saved_image(const char *dir)
{
	char *p = xasprintf("%s/state.img", dir);

	if (access(p, F_OK) == 0)
		return p;
	free(p);
	return NULL;
}

static json_object *
meta_load(const char *dir, char **cause)
{
	char *p = xasprintf("%s/meta.json", dir), *text;
	json_object *o;

	if ((text = file_read(p, META_MAX, NULL)) == NULL) {
		fail(cause, EXIT_FAIL, "%s: %s", p, strerror(errno));
		free(p);
		return NULL;
	}
	if ((o = json_tokener_parse(text)) == NULL || !json_object_is_type(o, json_type_object)) {
		fail(cause, EXIT_FAIL, "%s: not a saved-state description", p);
		json_object_put(o);
		o = NULL;
	}
	free(text);
	free(p);
	return o;
}

int
saved_check_files(const char *dir, char **cause)
{
	json_object *o = meta_load(dir, cause), *files, *f, *v;
	int rc = 0;

	if (o == NULL)
		return EXIT_FAIL;
	if (!json_object_object_get_ex(o, "files", &files) ||
	    !json_object_is_type(files, json_type_array)) {
		json_object_put(o);
		return 0;
	}
	for (size_t i = 0; i < json_object_array_length(files) && rc == 0; i++) {
		const char *path;
		struct stat st;
		int64_t size;
		double mtime;

		f = json_object_array_get_idx(files, i);
		if (!json_object_object_get_ex(f, "path", &v) || (path = json_object_get_string(v)) == NULL)
			continue;
		size = json_object_object_get_ex(f, "size", &v) ? json_object_get_int64(v) : -1;
		mtime = json_object_object_get_ex(f, "mtime", &v) ? json_object_get_double(v) : -1;
		if (stat(path, &st) == -1)
			rc = fail(cause, EXIT_STATE, "'%s' is gone since the suspend", path);
		else if ((int64_t)st.st_size != size)
			rc = fail(cause, EXIT_STATE, "'%s' changed size since the suspend (%lld, now "
			    "%lld bytes)", path, (long long)size, (long long)st.st_size);
		else if (fabs((double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9 - mtime) > 1e-3)
			rc = fail(cause, EXIT_STATE, "'%s' was modified since the suspend", path);
	}
	json_object_put(o);
	return rc;
}

int
saved_argv(const char *dir, struct strv *out, char **cause)
{
	char *p = xasprintf("%s/argv", dir), *buf;
	size_t len, i = 0;

	memset(out, 0, sizeof *out);
	if ((buf = file_read(p, ARGV_MAX, &len)) == NULL || len == 0 || buf[len - 1] != '\0') {
		fail(cause, -1, "%s: %s", p, buf == NULL ? strerror(errno) : "not a saved argv");
		free(buf);
		free(p);
		return -1;
	}
	while (i < len) {
		strv_add(out, buf + i);
		i += strlen(buf + i) + 1;
	}
	free(buf);
	free(p);
	return 0;
}

double
saved_when(const char *dir)
{
	char *cause = NULL;
	json_object *o = meta_load(dir, &cause), *v;
	double t = 0;

	free(cause);
	if (o != NULL && json_object_object_get_ex(o, "saved", &v))
		t = json_object_get_double(v);
	json_object_put(o);
	return t;
}
