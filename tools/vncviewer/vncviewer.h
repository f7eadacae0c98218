/* ctys-vncviewer: a VNC viewer for the displays of ctys VMs (libvncclient, SDL2, libpng). */
#ifndef CTYS_VNCVIEWER_H
#define CTYS_VNCVIEWER_H

#include <stdint.h>

#include <rfb/rfbclient.h>

/* Where a display is (a UNIX socket or HOST:PORT), and what is known about its VM. */
struct target {
	char	*path;		/* UNIX socket; NULL for TCP */
	char	*host;		/* TCP */
	char	*port;
	char	*name;		/* for messages and the default title: label, path or host:port */
	char	*rundir;	/* the VM's runtime directory, when the display is a ctys VM's */
	char	*password;	/* NULL: none given */
	int	 fd;		/* connected already (another host's socket), else -1 */
	long	 qemu_pid;	/* from rundir/qemu.pid, to tell "the VM is gone" from "lost" */
	unsigned long long qemu_start;
};

/*
 * Resolves TARGET (a socket path, unix:PATH, HOST:PORT or a runtime directory) or
 * --runtime-dir; pwfile (may be NULL) overrides the runtime directory's vnc.password.
 */
int	target_resolve(const char *arg, const char *rundir, const char *pwfile,
	    struct target *, char **cause);
void	target_free(struct target *);
/*
 * The display of the VM addr (a machine-address) on another host: resolved there, its
 * socket reached through the ssh connection (remote.c). target_remote_close() at the end.
 */
int	target_remote(const char *host, const char *addr, struct target *, char **cause);
void	target_remote_close(void);
/* Waits up to `wait` seconds for the target's VM to be gone; 1 if it is. */
int	target_vm_gone(const struct target *, double wait);

/* One connection to a VNC server; the framebuffer is 32 bpp 0x00RRGGBB, host order. */
struct viewer {
	rfbClient	*cl;
	const struct target *t;
	int		 asked_password;	/* the server asked for one */
	int		 no_password;		/* ...and there was none */
	char		 lastmsg[256];		/* libvncclient's last message */
	double		 calm_since;		/* now_mono() of the last big change */
	int		 small, sx0, sy0, sx1, sy1;	/* the small ones since: their box */
	unsigned long	 frames;		/* updates with pixels, since the last resize */
	int		 got_rect;		/* the update being read has some */
	int		 resized;		/* the framebuffer was (re)allocated */
	int		 dirty, dx0, dy0, dx1, dy1;	/* changed since the last redraw */
};

int	vnc_open(struct viewer *, const struct target *, double timeout, char **cause);
/* Handles what the server sent (all complete messages); -1 when the connection broke. */
int	vnc_pump(struct viewer *);
/* Why the connection ended after vnc_pump failed: EXIT_OK if the VM is gone, else 1. */
int	vnc_lost(struct viewer *, char **cause);
void	vnc_close(struct viewer *);
void	vnc_log_init(void);

/* Whether FILE's directory takes a new file: before connecting, not after. */
int	shot_check(const char *file, char **cause);
/* The whole run (connect included) ends at `deadline` (now_mono()), `timeout` after start. */
int	shot_run(struct viewer *, const char *file, int settle_ms, double timeout,
	    double deadline, char **cause);
/* Writes a w x h framebuffer of 0x00RRGGBB pixels as an 8-bit RGB PNG (atomically). */
int	png_write_xrgb(const char *path, const uint32_t *fb, int w, int h, char **cause);

struct ui;
int	ui_init(struct ui **, char **cause);
int	ui_run(struct ui *, struct viewer *, const char *title, char **cause);
void	ui_free(struct ui *);

#endif
