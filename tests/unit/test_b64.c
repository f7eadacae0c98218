/*
 * EXEC's base64 decoder (the guest agent's out-data/err-data): RFC 4648 vectors, every
 * length and byte value round-trips, and what an untrusted guest might send instead is
 * refused: bad characters, whitespace, misplaced or missing padding, non-zero spare bits.
 */
#include <stdlib.h>
#include <string.h>

#include "qemu.h"
#include "t.h"

static const char *
dec(const char *in, size_t *len)
{
	static char *last;
	size_t n;

	free(last);
	last = NULL;
	if (exec_b64_decode(in, strlen(in), &last, &n) != 0)
		return NULL;
	if (len != NULL)
		*len = n;
	return last;
}

/* The reference encoder, for round trips. */
static char *
enc(const unsigned char *p, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = malloc((n + 2) / 3 * 4 + 1), *q = o;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);

		*q++ = a[v >> 18 & 63];
		*q++ = a[v >> 12 & 63];
		*q++ = i + 1 < n ? a[v >> 6 & 63] : '=';
		*q++ = i + 2 < n ? a[v & 63] : '=';
	}
	*q = '\0';
	return o;
}

int
main(void)
{
	unsigned char bytes[300];
	size_t len = 99;

	/* RFC 4648, section 10 */
	T_STREQ(dec("", &len), "");
	T_INTEQ(len, 0);
	T_STREQ(dec("Zg==", NULL), "f");
	T_STREQ(dec("Zm8=", NULL), "fo");
	T_STREQ(dec("Zm9v", NULL), "foo");
	T_STREQ(dec("Zm9vYg==", NULL), "foob");
	T_STREQ(dec("Zm9vYmE=", NULL), "fooba");
	T_STREQ(dec("Zm9vYmFy", &len), "foobar");
	T_INTEQ(len, 6);
	/* NULs and high bytes come through, with their length */
	T_CHECK(dec("AP8A", &len) != NULL && len == 3 && memcmp(dec("AP8A", NULL), "\0\377\0", 3) == 0);
	T_CHECK(dec("+/+/", &len) != NULL && len == 3);

	/* every byte value, every length up to 300 */
	for (size_t i = 0; i < sizeof bytes; i++)
		bytes[i] = (unsigned char)(i * 7 + 3);
	for (size_t n = 0; n <= sizeof bytes; n++) {
		char *e = enc(bytes, n);
		const char *d = dec(e, &len);

		T_CHECK(d != NULL && len == n && memcmp(d, bytes, n) == 0);
		free(e);
	}

	/* refused */
	const char *bad[] = {
		"Zg=", "Zg", "Z", "Zm9", "Zm9vY",	/* not a multiple of 4 */
		"Zg==Zg==", "Zm=v", "=Zm9", "Z===", "====",	/* padding not at the end */
		"Zh==", "Zm9=", "Zm+=",			/* spare bits not zero */
		"Zm9v\n", "Zm9 v", " Zm9v", "Zm9v\r\n",	/* whitespace */
		"Zm9-", "Zm9_", "Zm9*", "Zm\x80v", "Zm\xffv",	/* not the alphabet */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *out = (char *)1;
		size_t n = 1;

		T_CHECK(exec_b64_decode(bad[i], strlen(bad[i]), &out, &n) == -1);
		T_CHECK(out == NULL && n == 0);
	}
	/* a NUL inside is refused too (length given, not strlen) */
	{
		char *out;
		size_t n;

		T_CHECK(exec_b64_decode("Zm\0v", 4, &out, &n) == -1);
	}
	dec("", NULL);
	return t_done();
}
