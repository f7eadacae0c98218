/*
 * QMP, layered as libvirt does: this file sorts lines into greeting, event, return and
 * error (pure, fuzzed) and builds commands; the supervisor owns the one connection.
 */
#ifndef CTYS_QMP_H
#define CTYS_QMP_H

#include <json-c/json.h>

#define QMP_LINE_MAX (16 * 1024 * 1024)

enum qmp_kind { QMP_BAD, QMP_GREETING, QMP_EVENT, QMP_RETURN, QMP_ERROR };

/* Pure: classifies one line; *obj is the parsed object (caller puts it) unless QMP_BAD. */
enum qmp_kind qmp_parse(const char *line, size_t len, json_object **obj, char **cause);
/* The integer "id" of a return/error, or -1. */
int qmp_id(json_object *);
/* "Class: desc" of an error reply, owned by the caller. */
char *qmp_error_text(json_object *);
/* {"execute":cmd,"arguments":args,"id":id} as one line with '\n'; args is consumed. */
char *qmp_command_line(const char *cmd, json_object *args, int id);

#endif
