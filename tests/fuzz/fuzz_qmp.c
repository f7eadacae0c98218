/* libFuzzer target: QMP line framing and classification (what QEMU or a fake sends). */
#include <stdint.h>
#include <stdlib.h>

#include "linebuf.h"
#include "qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct linebuf lb;
	char *line, *cause = NULL;
	size_t len;

	linebuf_init(&lb, 4096);
	linebuf_feed(&lb, (const char *)data, size);
	linebuf_feed(&lb, "\n", 1);
	while ((line = linebuf_next(&lb, &len)) != NULL) {
		json_object *o;
		enum qmp_kind k = qmp_parse(line, len, &o, &cause);

		if (k == QMP_RETURN || k == QMP_ERROR) {
			(void)qmp_id(o);
			free(qmp_error_text(o));
		}
		json_object_put(o);
		free(line);
	}
	free(cause);
	linebuf_free(&lb);
	return 0;
}
