#include "qmp.h"

#include <string.h>

#include "util.h"

enum qmp_kind
qmp_parse(const char *line, size_t len, json_object **obj, char **cause)
{
	json_tokener *tok;
	json_object *o, *v;

	*obj = NULL;
	if (len > QMP_LINE_MAX) {
		fail(cause, 0, "QMP line too long (%zu bytes)", len);
		return QMP_BAD;
	}
	tok = json_tokener_new_ex(64);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		fail(cause, 0, "QMP: not JSON: %s",
		    json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(o);
		json_tokener_free(tok);
		return QMP_BAD;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		fail(cause, 0, "QMP: not an object");
		return QMP_BAD;
	}
	*obj = o;
	if (json_object_object_get_ex(o, "QMP", &v) && json_object_is_type(v, json_type_object))
		return QMP_GREETING;
	if (json_object_object_get_ex(o, "event", &v) && json_object_is_type(v, json_type_string))
		return QMP_EVENT;
	if (json_object_object_get_ex(o, "return", &v))
		return QMP_RETURN;
	if (json_object_object_get_ex(o, "error", &v) && json_object_is_type(v, json_type_object))
		return QMP_ERROR;
	json_object_put(o);
	*obj = NULL;
	fail(cause, 0, "QMP: unknown message");
	return QMP_BAD;
}

int
qmp_id(json_object *o)
{
	json_object *v;

	if (!json_object_object_get_ex(o, "id", &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int(v);
}

char *
qmp_error_text(json_object *o)
{
	json_object *e, *cls, *desc;
	const char *c = "GenericError", *d = "unknown error";

	if (json_object_object_get_ex(o, "error", &e)) {
		if (json_object_object_get_ex(e, "class", &cls) &&
		    json_object_is_type(cls, json_type_string))
			c = json_object_get_string(cls);
		if (json_object_object_get_ex(e, "desc", &desc) &&
		    json_object_is_type(desc, json_type_string))
			d = json_object_get_string(desc);
	}
	(void)c;
	return xstrdup(d);
}

char *
qmp_command_line(const char *cmd, json_object *args, int id)
{
	json_object *o = json_object_new_object();
	char *s;

	json_object_object_add(o, "execute", json_object_new_string(cmd));
	if (args != NULL)
		json_object_object_add(o, "arguments", args);
	json_object_object_add(o, "id", json_object_new_int(id));
	s = xasprintf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}
