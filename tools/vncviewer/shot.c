/*
 * --screenshot: no window; take framebuffer updates until the picture did not change for
 * `settle` ms after the first complete update (changes to at most 1% of it, such as a
 * blinking cursor, do not count), then write the frame as a PNG.
 */
#include "vncviewer.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcodes.h"
#include "util.h"

int
shot_check(const char *file, char **cause)
{
	char *dir = xstrdup(file), *slash = strrchr(dir, '/');
	int rc = 0;

	if (slash == NULL)
		strlcpy_chk(dir, ".", 2);
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (access(dir, W_OK) == -1)
		rc = fail(cause, errno == ENOENT || errno == ENOTDIR ? EXIT_NOTFOUND : EXIT_FAIL,
		    "'%s': %s", file, errno == ENOENT || errno == ENOTDIR ? "no such directory" :
		    strerror(errno));
	free(dir);
	return rc;
}

int
shot_run(struct viewer *v, const char *file, int settle_ms, double timeout, double deadline,
    char **cause)
{
	double settle = settle_ms / 1000.0, now, wait;
	int n;

	for (;;) {
		now = now_mono();
		if (v->frames > 0 && now - v->calm_since >= settle)
			break;
		if (now >= deadline) {
			if (v->frames == 0)
				return fail(cause, EXIT_TIMEOUT, "'%s': no picture within %gs",
				    v->t->name, timeout);
			return fail(cause, EXIT_TIMEOUT, "'%s': the picture did not stay the same "
			    "for %dms within %gs", v->t->name, settle_ms, timeout);
		}
		wait = deadline - now;
		if (v->frames > 0 && v->calm_since + settle - now < wait)
			wait = v->calm_since + settle - now;
		if (wait > 1)
			wait = 1;	/* WaitForMessage takes microseconds in an unsigned int */
		n = WaitForMessage(v->cl, (unsigned int)ceil(wait * 1e6));
		if (n < 0)
			return fail(cause, EXIT_FAIL, "'%s': %s", v->t->name, v->lastmsg);
		if (n > 0 && vnc_pump(v) == -1) {
			/* even a VM that is gone left no picture: that is a failure here */
			vnc_lost(v, cause);
			return EXIT_FAIL;
		}
	}
	log_debug(1, "'%s': settled after %lu updates; writing '%s'", v->t->name, v->frames,
	    file);
	return png_write_xrgb(file, (const uint32_t *)(void *)v->cl->frameBuffer,
	    v->cl->width, v->cl->height, cause);
}

struct png_err {
	char	msg[256];
};

static void
png_on_error(png_structp png, png_const_charp msg)
{
	struct png_err *e = png_get_error_ptr(png);

	snprintf(e->msg, sizeof e->msg, "%s", msg);
	png_longjmp(png, 1);
}

static void
png_on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	log_debug(1, "libpng: %s", msg);
}

/* Encodes into an open stream; 0, or -1 with e->msg set. */
static int
png_encode(FILE *f, const uint32_t *fb, int w, int h, uint8_t *row, struct png_err *e)
{
	png_structp png;
	png_infop info = NULL;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, e, png_on_error, png_on_warning);
	if (png == NULL || (info = png_create_info_struct(png)) == NULL) {
		png_destroy_write_struct(&png, NULL);
		snprintf(e->msg, sizeof e->msg, "out of memory");
		return -1;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -1;
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
	    PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < h; y++) {
		const uint32_t *src = fb + (size_t)y * (size_t)w;

		for (int x = 0; x < w; x++) {
			row[3 * x] = (uint8_t)(src[x] >> 16);
			row[3 * x + 1] = (uint8_t)(src[x] >> 8);
			row[3 * x + 2] = (uint8_t)src[x];
		}
		png_write_row(png, row);
	}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	return 0;
}

int
png_write_xrgb(const char *path, const uint32_t *fb, int w, int h, char **cause)
{
	struct png_err e = { "" };
	char *tmp = xasprintf("%s.XXXXXX", path);
	uint8_t *row = xmalloc((size_t)w * 3);
	FILE *f = NULL;
	mode_t um;
	int fd, rc = 0;

	if ((fd = mkstemp(tmp)) == -1) {
		rc = fail(cause, errno == ENOENT ? EXIT_NOTFOUND : EXIT_FAIL, "'%s': %s", path,
		    strerror(errno));
		goto out;
	}
	um = umask(0);
	umask(um);
	if (fchmod(fd, 0666 & ~um) == -1 || (f = fdopen(fd, "wb")) == NULL) {
		rc = fail(cause, EXIT_FAIL, "'%s': %s", tmp, strerror(errno));
		close(fd);
		goto fail;
	}
	if (png_encode(f, fb, w, h, row, &e) == -1) {
		rc = fail(cause, EXIT_FAIL, "'%s': PNG: %s", path, e.msg);
		fclose(f);
		goto fail;
	}
	if (fflush(f) == EOF || ferror(f)) {
		rc = fail(cause, EXIT_FAIL, "'%s': %s", tmp, strerror(errno));
		fclose(f);
		goto fail;
	}
	if (fclose(f) == EOF) {
		rc = fail(cause, EXIT_FAIL, "'%s': %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		rc = fail(cause, EXIT_FAIL, "'%s': %s", path, strerror(errno));
		goto fail;
	}
	goto out;
fail:
	unlink(tmp);
out:
	free(row);
	free(tmp);
	return rc;
}
