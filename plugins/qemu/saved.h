/*
 * A suspended VM (CANCEL SUSPEND): <save_dir>/<id>/ holds state.img (QEMU's migration
 * stream), argv (the exact QEMU command line, NUL-separated: a restore needs the identical
 * device set even if the definition changed) and meta.json (when, by which QEMU, and the
 * size and mtime of every disk and kernel file, checked before a restore).
 */
#ifndef CTYS_SAVED_H
#define CTYS_SAVED_H

#include "util.h"

/* <save_root>/<id> */
char *saved_dir(const char *save_root, const char *id);
/* The state image path if the VM is suspended (state.img exists), else NULL. */
char *saved_image(const char *dir);
/*
 * Checks that the files recorded at suspend are unchanged. Returns 0, or EXIT_STATE with
 * *cause naming the first changed file; EXIT_FAIL when meta.json is unreadable.
 */
int saved_check_files(const char *dir, char **cause);
/* The saved argv, or -1 with *cause. */
int saved_argv(const char *dir, struct strv *out, char **cause);
/* When it was saved (seconds since the epoch), 0 if unknown. */
double saved_when(const char *dir);

#endif
