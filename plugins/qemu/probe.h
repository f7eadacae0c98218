/*
 * What a QEMU binary can do, asked once per binary and cached: version, machines, QMP
 * commands, QOM types (devices and other objects) and -netdev backends. The probe starts
 * the binary with -machine none and talks QMP over its stdio; the answer is cached in
 * <cache_dir>/qemu-caps/<hash>.json under a key (path, size, mtime, ctime of the binary,
 * kernel release, QEMU module directories) and reused while the key matches.
 */
#ifndef CTYS_PROBE_H
#define CTYS_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* Bump when the cache file changes meaning: older files are then probed again. */
#define PROBE_CACHE_FORMAT	2
/* The whole probe (QMP session and -netdev help) is bounded by this many seconds. */
#define PROBE_TIMEOUT		30

struct qemu_caps {
	char	 *binary;		/* path as given */
	char	 *version;		/* "7.2.22" */
	int	  kvm_present;		/* query-kvm (under -accel tcg): built with KVM */
	int	  kvm_enabled;		/* query-kvm: KVM in use by the probe (always 0) */
	char	**machines;		/* names, sorted */
	char	**machine_alias;	/* parallel to machines: alias ("q35") or NULL */
	size_t	  nmachines;
	char	 *default_machine;	/* the one with is-default, or NULL */
	char	**commands;		/* query-commands names, sorted */
	size_t	  ncommands;
	char	**types;		/* qom-list-types names (non-abstract), sorted */
	size_t	  ntypes;
	char	**netdevs;		/* -netdev help: "user", "tap", "vde"... sorted */
	size_t	  nnetdevs;
	char	**displays;		/* -display help: "none", "sdl", "gtk"... sorted */
	size_t	  ndisplays;
};

/* What a cache file must match to be used. */
struct probe_key {
	char	*binary;
	int64_t	 size;
	int64_t	 mtime_sec, mtime_nsec;
	int64_t	 ctime_sec, ctime_nsec;
	char	*kernel;		/* uname -r */
	char	*moddirs;		/* "dir@sec.nsec;..." of the QEMU module directories */
};

/*
 * Returns 0 with *caps (from the cache when its key matches, else probed and cached), or
 * EXIT_QEMU with *cause. cache_dir NULL: probe without a cache.
 */
int	 probe_get(const char *binary, const char *cache_dir, struct qemu_caps **caps,
	     char **cause);
/* Probes the binary now (no cache). Returns 0 or EXIT_QEMU with *cause. */
int	 probe_run(const char *binary, struct qemu_caps **caps, char **cause);
void	 qemu_caps_free(struct qemu_caps *);

int	 qemu_caps_has_type(const struct qemu_caps *, const char *type);
int	 qemu_caps_has_machine(const struct qemu_caps *, const char *name);	/* or alias */
int	 qemu_caps_has_command(const struct qemu_caps *, const char *name);
int	 qemu_caps_has_netdev(const struct qemu_caps *, const char *name);
int	 qemu_caps_has_display(const struct qemu_caps *, const char *name);

/* The cache, exported for the unit tests. */
/* Fills *key for the binary (stat, uname). Returns 0 or EXIT_QEMU ("cannot run ..."). */
int	 probe_key_get(const char *binary, struct probe_key *key, char **cause);
void	 probe_key_free(struct probe_key *);
/* <cache_dir>/qemu-caps/<fnv1a64 of the path>.json */
char	*probe_cache_path(const char *cache_dir, const char *binary);
/* The cache file text (with a trailing newline). */
char	*qemu_caps_to_json(const struct qemu_caps *, const struct probe_key *);
/*
 * Parses a cache file and checks its format and key. Returns 0 with *caps, or -1 with
 * *cause saying why it cannot be used (corrupt, old format, key mismatch; want NULL:
 * the key is not checked). Never trusts
 * the text: any shape is accepted without crashing.
 */
int	 qemu_caps_from_json(const char *text, size_t len, const struct probe_key *want,
	     struct qemu_caps **caps, char **cause);
/* Sorts the name arrays (done by the probe and after loading). */
void	 qemu_caps_sort(struct qemu_caps *);

#endif
