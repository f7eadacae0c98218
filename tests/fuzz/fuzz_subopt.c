/* libFuzzer target: the suboption parser and the ctys command line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "subopt.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size), *cause = NULL;
	struct subopt_list l;
	struct cli c;
	char *argv[] = { "ctys", "-a", NULL, NULL };

	if (subopt_parse(s, &l, &cause) == 0)
		subopt_list_free(&l);
	free(cause);
	cause = NULL;
	argv[2] = xasprintf("CREATE=%s", s);
	cli_parse(3, argv, &c, &cause);
	cli_free(&c);
	free(argv[2]);
	free(cause);
	free(s);
	return 0;
}
