/* libFuzzer target: control-socket messages (what any local client may send). */
#include <stdint.h>
#include <stdlib.h>

#include "ctl.h"
#include "linebuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct linebuf lb;
	char *line, *cause = NULL;
	size_t len;

	linebuf_init(&lb, 65536);
	linebuf_feed(&lb, (const char *)data, size);
	linebuf_feed(&lb, "\n", 1);
	while ((line = linebuf_next(&lb, &len)) != NULL) {
		json_object *o;

		ctl_msg_parse(line, len, &o, &cause);
		json_object_put(o);
		free(line);
	}
	free(cause);
	linebuf_free(&lb);
	return 0;
}
