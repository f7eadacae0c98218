/*
 * The interactive viewer: one SDL window showing the framebuffer, keyboard and mouse
 * forwarded as RFB key (X keysym) and pointer events.
 *
 * Idle costs nothing: the main thread sleeps in SDL_WaitEvent; a watcher thread sleeps in
 * poll() on the VNC socket and, when it is readable, posts one event and waits until the
 * main thread has handled the messages. Only the main thread touches libvncclient.
 */
#include "vncviewer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SDL.h>
#include <SDL_syswm.h>
#include <rfb/keysym.h>

#include "exitcodes.h"
#include "util.h"

#define KEYS_DOWN_MAX	32

struct ui {
	SDL_Window	*win;
	SDL_Renderer	*ren;
	SDL_Texture	*tex;
	int		 w, h;
	Uint32		 ev_vnc;	/* "the socket is readable", from the watcher */
	SDL_sem		*sem;		/* the watcher waits on it until we handled them */
	SDL_Thread	*thr;
	int		 wake[2];	/* tells the watcher to stop */
	int		 sock;
	int		 buttons, px, py;
	uint32_t	 down[KEYS_DOWN_MAX];	/* keysyms sent down and not yet up */
	int		 ndown;
};

/* SDL keycodes without a character, and the X keysyms they are. */
static const struct {
	SDL_Keycode	sdl;
	uint32_t	xk;
} keytab[] = {
	{ SDLK_BACKSPACE, XK_BackSpace }, { SDLK_TAB, XK_Tab }, { SDLK_RETURN, XK_Return },
	{ SDLK_ESCAPE, XK_Escape }, { SDLK_DELETE, XK_Delete }, { SDLK_INSERT, XK_Insert },
	{ SDLK_HOME, XK_Home }, { SDLK_END, XK_End }, { SDLK_PAGEUP, XK_Page_Up },
	{ SDLK_PAGEDOWN, XK_Page_Down }, { SDLK_LEFT, XK_Left }, { SDLK_RIGHT, XK_Right },
	{ SDLK_UP, XK_Up }, { SDLK_DOWN, XK_Down },
	{ SDLK_F1, XK_F1 }, { SDLK_F2, XK_F2 }, { SDLK_F3, XK_F3 }, { SDLK_F4, XK_F4 },
	{ SDLK_F5, XK_F5 }, { SDLK_F6, XK_F6 }, { SDLK_F7, XK_F7 }, { SDLK_F8, XK_F8 },
	{ SDLK_F9, XK_F9 }, { SDLK_F10, XK_F10 }, { SDLK_F11, XK_F11 }, { SDLK_F12, XK_F12 },
	{ SDLK_F13, XK_F13 }, { SDLK_F14, XK_F14 }, { SDLK_F15, XK_F15 },
	{ SDLK_KP_0, XK_KP_0 }, { SDLK_KP_1, XK_KP_1 }, { SDLK_KP_2, XK_KP_2 },
	{ SDLK_KP_3, XK_KP_3 }, { SDLK_KP_4, XK_KP_4 }, { SDLK_KP_5, XK_KP_5 },
	{ SDLK_KP_6, XK_KP_6 }, { SDLK_KP_7, XK_KP_7 }, { SDLK_KP_8, XK_KP_8 },
	{ SDLK_KP_9, XK_KP_9 }, { SDLK_KP_PERIOD, XK_KP_Decimal },
	{ SDLK_KP_DIVIDE, XK_KP_Divide }, { SDLK_KP_MULTIPLY, XK_KP_Multiply },
	{ SDLK_KP_MINUS, XK_KP_Subtract }, { SDLK_KP_PLUS, XK_KP_Add },
	{ SDLK_KP_ENTER, XK_KP_Enter }, { SDLK_KP_EQUALS, XK_KP_Equal },
	{ SDLK_LSHIFT, XK_Shift_L }, { SDLK_RSHIFT, XK_Shift_R },
	{ SDLK_LCTRL, XK_Control_L }, { SDLK_RCTRL, XK_Control_R },
	{ SDLK_LALT, XK_Alt_L }, { SDLK_RALT, XK_Alt_R },
	{ SDLK_LGUI, XK_Super_L }, { SDLK_RGUI, XK_Super_R }, { SDLK_MODE, XK_Mode_switch },
	{ SDLK_CAPSLOCK, XK_Caps_Lock }, { SDLK_NUMLOCKCLEAR, XK_Num_Lock },
	{ SDLK_SCROLLLOCK, XK_Scroll_Lock }, { SDLK_PRINTSCREEN, XK_Print },
	{ SDLK_SYSREQ, XK_Sys_Req }, { SDLK_PAUSE, XK_Pause }, { SDLK_APPLICATION, XK_Menu },
	{ SDLK_MENU, XK_Menu }, { SDLK_HELP, XK_Help }, { SDLK_UNDO, XK_Undo },
};

/*
 * The X keysym of a key; 0 if it has none. A character key gives its unshifted character
 * (SDL's keycode): the modifiers travel as keys of their own, as on a real keyboard.
 */
static uint32_t
keysym_of(SDL_Keycode k)
{
	for (size_t i = 0; i < nitems(keytab); i++)
		if (keytab[i].sdl == k)
			return keytab[i].xk;
	if (k & SDLK_SCANCODE_MASK)
		return 0;
	if ((k >= 0x20 && k <= 0x7e) || (k >= 0xa0 && k <= 0xff))
		return (uint32_t)k;		/* Latin-1 keysyms are the code points */
	if (k > 0xff && k <= 0x10ffff)
		return 0x01000000 | (uint32_t)k;	/* X's Unicode keysyms */
	return 0;
}

static void
key_send(struct ui *u, struct viewer *v, uint32_t ks, int down)
{
	int i;

	for (i = 0; i < u->ndown && u->down[i] != ks; i++)
		;
	if (down && i == u->ndown && u->ndown < KEYS_DOWN_MAX)
		u->down[u->ndown++] = ks;
	else if (!down && i < u->ndown)
		u->down[i] = u->down[--u->ndown];
	SendKeyEvent(v->cl, ks, down ? TRUE : FALSE);
}

/* Focus lost: whatever the guest believes is held is released. */
static void
keys_release(struct ui *u, struct viewer *v)
{
	while (u->ndown > 0)
		SendKeyEvent(v->cl, u->down[--u->ndown], FALSE);
	if (u->buttons != 0) {
		u->buttons = 0;
		SendPointerEvent(v->cl, u->px, u->py, 0);
	}
}

static int
button_bit(Uint8 b)
{
	switch (b) {
	case SDL_BUTTON_LEFT:
		return rfbButton1Mask;
	case SDL_BUTTON_MIDDLE:
		return rfbButton2Mask;
	case SDL_BUTTON_RIGHT:
		return rfbButton3Mask;
	default:
		return 0;
	}
}

static void
pointer_at(struct ui *u, int x, int y)
{
	u->px = x < 0 ? 0 : x >= u->w ? u->w - 1 : x;
	u->py = y < 0 ? 0 : y >= u->h ? u->h - 1 : y;
}

/* A wheel step is a press and release of buttons 4/5 (vertical) or 6/7 (horizontal). */
static void
wheel_send(struct ui *u, struct viewer *v, const SDL_MouseWheelEvent *e)
{
	int dy = e->y, dx = e->x, b;

	if (e->direction == SDL_MOUSEWHEEL_FLIPPED) {
		dy = -dy;
		dx = -dx;
	}
	for (; dy != 0; dy += dy > 0 ? -1 : 1) {
		b = dy > 0 ? rfbWheelUpMask : rfbWheelDownMask;
		SendPointerEvent(v->cl, u->px, u->py, u->buttons | b);
		SendPointerEvent(v->cl, u->px, u->py, u->buttons);
	}
	for (; dx != 0; dx += dx > 0 ? -1 : 1) {
		b = dx > 0 ? 64 : 32;		/* buttons 7 (right) and 6 (left) */
		SendPointerEvent(v->cl, u->px, u->py, u->buttons | b);
		SendPointerEvent(v->cl, u->px, u->py, u->buttons);
	}
}

static int
watcher(void *arg)
{
	struct ui *u = arg;
	struct pollfd p[2] = {
		{ .fd = u->sock, .events = POLLIN },
		{ .fd = u->wake[0], .events = POLLIN },
	};
	SDL_Event ev;

	for (;;) {
		if (poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			p[0].revents = POLLERR;		/* let the main thread find out */
		}
		if (p[1].revents != 0)
			return 0;
		if (p[0].revents != 0) {
			memset(&ev, 0, sizeof ev);
			ev.type = u->ev_vnc;
			/* a full queue empties soon: try again unless told to stop */
			while (SDL_PushEvent(&ev) < 0)
				if (poll(&p[1], 1, 10) > 0)
					return 0;
			SDL_SemWait(u->sem);
		}
	}
}

/* The window, renderer and texture for the current framebuffer size. */
static int
ui_resize(struct ui *u, struct viewer *v, const char *title, char **cause)
{
	int w = v->cl->width, h = v->cl->height;
	SDL_RendererInfo ri;
	SDL_SysWMinfo wm;

	if (u->win == NULL) {
		u->win = SDL_CreateWindow(title, SDL_WINDOWPOS_UNDEFINED,
		    SDL_WINDOWPOS_UNDEFINED, w, h, SDL_WINDOW_RESIZABLE);
		if (u->win == NULL)
			return fail(cause, EXIT_FAIL, "cannot open a window: %s", SDL_GetError());
		u->ren = SDL_CreateRenderer(u->win, -1, 0);
		if (u->ren == NULL)
			u->ren = SDL_CreateRenderer(u->win, -1, SDL_RENDERER_SOFTWARE);
		if (u->ren == NULL)
			return fail(cause, EXIT_FAIL, "cannot draw in the window: %s",
			    SDL_GetError());
		if (SDL_GetRendererInfo(u->ren, &ri) == 0)
			log_debug(1, "renderer %s", ri.name);
		SDL_VERSION(&wm.version);
		if (SDL_GetWindowWMInfo(u->win, &wm) && wm.subsystem == SDL_SYSWM_X11)
			log_debug(1, "window 0x%lx %dx%d", (unsigned long)wm.info.x11.window,
			    w, h);
		else
			log_debug(1, "window sdl:%u %dx%d", SDL_GetWindowID(u->win), w, h);
	} else if (w != u->w || h != u->h) {
		SDL_SetWindowSize(u->win, w, h);
		log_debug(1, "window resized to %dx%d", w, h);
	}
	if (u->tex != NULL && (w != u->w || h != u->h)) {
		SDL_DestroyTexture(u->tex);
		u->tex = NULL;
	}
	if (u->tex == NULL) {
		u->tex = SDL_CreateTexture(u->ren, SDL_PIXELFORMAT_XRGB8888,
		    SDL_TEXTUREACCESS_STREAMING, w, h);
		if (u->tex == NULL)
			return fail(cause, EXIT_FAIL, "cannot make a %dx%d texture: %s", w, h,
			    SDL_GetError());
	}
	SDL_RenderSetLogicalSize(u->ren, w, h);
	u->w = w;
	u->h = h;
	v->resized = 0;
	return 0;
}

static void
ui_draw(struct ui *u, struct viewer *v)
{
	SDL_Rect r;

	if (v->dirty) {
		if (v->dx0 < 0)
			v->dx0 = 0;
		if (v->dy0 < 0)
			v->dy0 = 0;
		if (v->dx1 > u->w)
			v->dx1 = u->w;
		if (v->dy1 > u->h)
			v->dy1 = u->h;
		if (v->dx1 > v->dx0 && v->dy1 > v->dy0) {
			r.x = v->dx0;
			r.y = v->dy0;
			r.w = v->dx1 - v->dx0;
			r.h = v->dy1 - v->dy0;
			SDL_UpdateTexture(u->tex, &r, v->cl->frameBuffer +
			    ((size_t)r.y * (size_t)u->w + (size_t)r.x) * 4, u->w * 4);
		}
		v->dirty = 0;
	}
	SDL_SetRenderDrawColor(u->ren, 0, 0, 0, 255);
	SDL_RenderClear(u->ren);
	SDL_RenderCopy(u->ren, u->tex, NULL, NULL);
	SDL_RenderPresent(u->ren);
}

/*
 * SDL connects to the D-Bus session bus (screensaver, input methods). Where there is none,
 * libdbus would "autolaunch" one: run dbus-launch, whose daemon outlives the viewer. So
 * without a session bus (libdbus looks at DBUS_SESSION_BUS_ADDRESS, then
 * $XDG_RUNTIME_DIR/bus) the address is set to one that fails at once.
 */
static void
session_bus_check(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	char *p;
	int found = 0;

	if (getenv("DBUS_SESSION_BUS_ADDRESS") != NULL)
		return;
	if (rt != NULL && *rt == '/') {
		p = xasprintf("%s/bus", rt);
		found = stat(p, &st) == 0 && S_ISSOCK(st.st_mode);
		free(p);
	}
	if (!found)
		setenv("DBUS_SESSION_BUS_ADDRESS", "disabled:", 1);
}

int
ui_init(struct ui **up, char **cause)
{
	struct ui *u;
	int rc;

	*up = NULL;
	/*
	 * SDL's software renderer on the native window framebuffer (X11: shared memory) by
	 * default; SDL_RENDER_DRIVER and SDL_FRAMEBUFFER_ACCELERATION choose otherwise. Showing
	 * one picture needs no GPU, and without a GPU OpenGL would bring up Mesa's llvmpipe,
	 * its threads and its leaks.
	 */
	SDL_SetHintWithPriority(SDL_HINT_RENDER_DRIVER, "software", SDL_HINT_DEFAULT);
	SDL_SetHintWithPriority(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0", SDL_HINT_DEFAULT);
	session_bus_check();
	/* SDL makes SIGINT and SIGTERM an SDL_QUIT: the viewer ends cleanly */
	if (SDL_Init(SDL_INIT_VIDEO) != 0) {
		rc = fail(cause, EXIT_FAIL, "cannot open a window: %s (is DISPLAY set? "
		    "--screenshot needs no window)", SDL_GetError());
		SDL_Quit();
		return rc;
	}
	u = xcalloc(1, sizeof *u);
	u->wake[0] = u->wake[1] = -1;
	u->sock = -1;
	if ((u->ev_vnc = SDL_RegisterEvents(1)) == (Uint32)-1 ||
	    (u->sem = SDL_CreateSemaphore(0)) == NULL) {
		*up = u;
		return fail(cause, EXIT_FAIL, "SDL: %s", SDL_GetError());
	}
	if (pipe2(u->wake, O_CLOEXEC) == -1) {
		*up = u;
		return fail(cause, EXIT_FAIL, "pipe: %s", strerror(errno));
	}
	SDL_StopTextInput();
	*up = u;
	return 0;
}

static void
watcher_stop(struct ui *u)
{
	if (u->thr == NULL)
		return;
	if (write(u->wake[1], "x", 1) == -1)
		log_warn("pipe: %s", strerror(errno));
	SDL_SemPost(u->sem);
	SDL_WaitThread(u->thr, NULL);
	u->thr = NULL;
}

int
ui_run(struct ui *u, struct viewer *v, const char *title, char **cause)
{
	SDL_Event ev;
	uint32_t ks;
	int rc;

	if ((rc = ui_resize(u, v, title, cause)) != 0)
		return rc;
	ui_draw(u, v);
	u->sock = v->cl->sock;
	if ((u->thr = SDL_CreateThread(watcher, "vnc-watch", u)) == NULL)
		return fail(cause, EXIT_FAIL, "SDL thread: %s", SDL_GetError());
	for (rc = -1; rc == -1; ) {
		if (!SDL_WaitEvent(&ev)) {
			rc = fail(cause, EXIT_FAIL, "SDL: %s", SDL_GetError());
			break;
		}
		if (ev.type == u->ev_vnc) {
			if (vnc_pump(v) == -1) {
				rc = vnc_lost(v, cause);
				break;
			}
			SDL_SemPost(u->sem);
			if (v->resized && (rc = ui_resize(u, v, title, cause)) != 0)
				break;
			if (v->dirty)
				ui_draw(u, v);
			rc = -1;
			continue;
		}
		switch (ev.type) {
		case SDL_QUIT:
			log_debug(1, "window closed");
			rc = EXIT_OK;
			break;
		case SDL_WINDOWEVENT:
			if (ev.window.event == SDL_WINDOWEVENT_FOCUS_LOST)
				keys_release(u, v);
			else if (ev.window.event == SDL_WINDOWEVENT_EXPOSED ||
			    ev.window.event == SDL_WINDOWEVENT_SIZE_CHANGED)
				ui_draw(u, v);
			break;
		case SDL_KEYDOWN:
		case SDL_KEYUP:
			if ((ks = keysym_of(ev.key.keysym.sym)) != 0)
				key_send(u, v, ks, ev.type == SDL_KEYDOWN);
			else
				log_debug(2, "key %s: no keysym", SDL_GetKeyName(ev.key.keysym.sym));
			break;
		case SDL_MOUSEMOTION:
			pointer_at(u, ev.motion.x, ev.motion.y);
			SendPointerEvent(v->cl, u->px, u->py, u->buttons);
			break;
		case SDL_MOUSEBUTTONDOWN:
		case SDL_MOUSEBUTTONUP:
			pointer_at(u, ev.button.x, ev.button.y);
			if (ev.type == SDL_MOUSEBUTTONDOWN)
				u->buttons |= button_bit(ev.button.button);
			else
				u->buttons &= ~button_bit(ev.button.button);
			SendPointerEvent(v->cl, u->px, u->py, u->buttons);
			break;
		case SDL_MOUSEWHEEL:
			wheel_send(u, v, &ev.wheel);
			break;
		}
	}
	watcher_stop(u);
	return rc;
}

void
ui_free(struct ui *u)
{
	if (u == NULL)
		return;
	watcher_stop(u);
	if (u->tex != NULL)
		SDL_DestroyTexture(u->tex);
	if (u->ren != NULL)
		SDL_DestroyRenderer(u->ren);
	if (u->win != NULL)
		SDL_DestroyWindow(u->win);
	if (u->sem != NULL)
		SDL_DestroySemaphore(u->sem);
	if (u->wake[0] != -1)
		close(u->wake[0]);
	if (u->wake[1] != -1)
		close(u->wake[1]);
	free(u);
	SDL_Quit();
}
