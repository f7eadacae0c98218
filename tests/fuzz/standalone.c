/* Without libFuzzer: runs a fuzz target over corpus files given as arguments (a regression test). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
main(int argc, char **argv)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		size_t len;
		char *buf = file_read(argv[i], 1 << 24, &len);

		if (buf == NULL) {
			perror(argv[i]);
			return 1;
		}
		LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
		free(buf);
		n++;
	}
	printf("%d passed, 0 failed\n", n);
	return n == 0;
}
