/*
 * VM definition files (.ctys/.conf): shell-style assignments plus `#@#KEY = value`
 * magic comments. Read as data, never executed: expansions ($V, ${V}, ${V:-x},
 * ${V-x}, ${V:+x}, ${V+x}, ${V:=x}, ${#V}, ${V/p/r}, ${V//p/r}, ${V/#p/r}, ${V/%p/r},
 * ${V%p}, ${V%%p}, ${V#p}, ${V##p}), `: ${V:=x}`, and the `case ... esac` and
 * `if [ ... ]; then ... fi` blocks are evaluated statically from values in the file, with
 * bash's semantics (glob patterns from unquoted text and expansions; `[[ a == p ]]`
 * globs, `[ a = b ]` compares text); anything else (command substitution, loops,
 * functions, `~`, `$'...'`, unknown commands, `A=1 cmd`) gets one `file:line:` warning
 * and is skipped. tests/golden/vmdef/ holds a definition per feature, checked against bash.
 */
#ifndef CTYS_VMDEF_H
#define CTYS_VMDEF_H

#include <stddef.h>

struct vmdef_kv {
	char *key;
	char *value;
	int line;
};

struct vmdef_diag {
	int line;
	int error;	/* 0: warning */
	char *msg;
};

struct vmdef {
	char *path;		/* as given */
	char *dir;		/* its directory: CTYSWRAPPERPATH */
	int magic_qemu, magic_ignore, magic_noenum;
	struct vmdef_kv *magic;	/* #@#KEY values, first one wins */
	size_t nmagic;
	struct vmdef_kv *vars;	/* shell variables after expansion, last one wins */
	size_t nvars;
	struct vmdef_diag *diags;
	size_t ndiags;
	int nerrors;
};

/* Pure: bytes in, definition + diagnostics out. Never NULL. */
struct vmdef *vmdef_parse(const char *buf, size_t len, const char *path);
/* Reads and parses a file (size-limited). NULL with *cause when the file cannot be read. */
struct vmdef *vmdef_load(const char *path, char **cause);
void vmdef_free(struct vmdef *);

const struct vmdef_kv *vmdef_var(const struct vmdef *, const char *name);
const struct vmdef_kv *vmdef_magic(const struct vmdef *, const char *name);
/* The variable's value, or the magic key's, or NULL ("" counts as unset). */
const char *vmdef_get(const struct vmdef *, const char *name);
/* Line of a variable or magic key for messages (0 if unknown). */
int vmdef_line(const struct vmdef *, const char *name);
/* Prints every diagnostic as `path:line: ...` to stderr. */
void vmdef_print_diags(const struct vmdef *);

#define VMDEF_MAX_SIZE (1024 * 1024)

#endif
