/*
 * The connection: our own socket (UNIX or TCP, so errors name the cause), handed to
 * libvncclient for the RFB handshake, with an explicit 32 bpp pixel format.
 *
 * libvncclient (0.9.14) could connect by itself: ConnectToRFBServer() takes a serverHost
 * that stat()s as a socket for a UNIX socket path (ConnectClientToUnixSockWithTimeout;
 * the port is ignored), else a host name. But it reports failures as "ConnectToUnixSock:
 * connect" without errno, a missing path becomes a host name lookup, and rfbInitClient()
 * frees the client when anything fails. So the viewer connects, then runs the steps of
 * rfbInitClient() itself: InitialiseRFBConnection, MallocFrameBuffer,
 * SetFormatAndEncodings (then our own SetEncodings), a first full update request.
 */
#include "vncviewer.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "exitcodes.h"
#include "util.h"

#define FB_MAX	16384		/* refuse framebuffers wider or higher than this */

static int viewer_tag;		/* the key of our struct viewer in the rfbClient */
static char *lastmsg;		/* where vnc_log keeps libvncclient's last line */
static size_t lastmsg_size;

static struct viewer *
viewer_of(rfbClient *cl)
{
	return rfbClientGetClientData(cl, &viewer_tag);
}

/*
 * libvncclient's messages: kept (the last one explains a failure), shown at -v -v.
 * rfbClientLog must never be NULL: the library calls it unconditionally.
 */
static void
vnc_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	n = strcspn(buf, "\n");
	buf[n] = '\0';
	if (n == 0)
		return;
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	log_debug(2, "libvncclient: %s", buf);
	if (lastmsg != NULL)
		snprintf(lastmsg, lastmsg_size, "%s", buf);
}

void
vnc_log_init(void)
{
	rfbClientLog = vnc_log;
	rfbClientErr = vnc_log;
}

/* The server's framebuffer size changed (or is first known): a new, cleared buffer. */
static rfbBool
cb_malloc_fb(rfbClient *cl)
{
	struct viewer *v = viewer_of(cl);

	if (cl->width <= 0 || cl->height <= 0 || cl->width > FB_MAX || cl->height > FB_MAX) {
		rfbClientLog("bad framebuffer size %dx%d\n", cl->width, cl->height);
		return FALSE;
	}
	free(cl->frameBuffer);
	cl->frameBuffer = xcalloc((size_t)cl->width * (size_t)cl->height, 4);
	v->calm_since = now_mono();
	v->small = 0;
	v->frames = 0;		/* a picture of the new size is still to come */
	v->resized = 1;
	v->dirty = 1;
	v->dx0 = v->dy0 = 0;
	v->dx1 = cl->width;
	v->dy1 = cl->height;
	log_debug(1, "framebuffer %dx%d", cl->width, cl->height);
	return TRUE;
}

/*
 * Where the picture changed. Changes that together cover at most 1% of the screen since
 * the last bigger one (a blinking text cursor: QEMU's VGA text mode redraws it all the
 * time) leave `calm_since` alone, so that a screenshot can settle.
 */
static void
cb_update(rfbClient *cl, int x, int y, int w, int h)
{
	struct viewer *v = viewer_of(cl);
	int x0, y0, x1, y1;

	if (w <= 0 || h <= 0)
		return;
	log_debug(3, "update %d,%d %dx%d", x, y, w, h);
	v->got_rect = 1;
	x0 = x;
	y0 = y;
	x1 = x + w;
	y1 = y + h;
	if (v->small) {
		x0 = x0 < v->sx0 ? x0 : v->sx0;
		y0 = y0 < v->sy0 ? y0 : v->sy0;
		x1 = x1 > v->sx1 ? x1 : v->sx1;
		y1 = y1 > v->sy1 ? y1 : v->sy1;
	}
	if ((double)(x1 - x0) * (y1 - y0) * 100 > (double)cl->width * cl->height) {
		v->calm_since = now_mono();
		v->small = 0;
	} else {
		v->small = 1;
		v->sx0 = x0;
		v->sy0 = y0;
		v->sx1 = x1;
		v->sy1 = y1;
	}

	if (!v->dirty) {
		v->dirty = 1;
		v->dx0 = x;
		v->dy0 = y;
		v->dx1 = x + w;
		v->dy1 = y + h;
		return;
	}
	if (x < v->dx0)
		v->dx0 = x;
	if (y < v->dy0)
		v->dy0 = y;
	if (x + w > v->dx1)
		v->dx1 = x + w;
	if (y + h > v->dy1)
		v->dy1 = y + h;
}

/* The end of a FramebufferUpdate; one with pixels in it counts. */
static void
cb_finished(rfbClient *cl)
{
	struct viewer *v = viewer_of(cl);

	if (v->got_rect)
		v->frames++;
	v->got_rect = 0;
}

/* The password, from --password-file or the runtime directory; libvncclient frees it. */
static char *
cb_password(rfbClient *cl)
{
	struct viewer *v = viewer_of(cl);

	v->asked_password = 1;
	if (v->t->password == NULL) {
		v->no_password = 1;
		return NULL;
	}
	return xstrdup(v->t->password);
}

/* Waits for a non-blocking connect() to finish; 0 or an errno. */
static int
connect_wait(int fd, double deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0, n;
	double left;

	for (;;) {
		left = deadline - now_mono();
		if (left <= 0)
			return ETIMEDOUT;
		n = poll(&p, 1, (int)ceil(left * 1000));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno;
		if (n == 0)
			return ETIMEDOUT;
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

static int
connect_unix(const struct target *t, double deadline, int *fdp, char **cause)
{
	struct sockaddr_un sun;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int fd, err;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlcpy_chk(sun.sun_path, t->path, sizeof sun.sun_path) == -1)
		return fail(cause, EXIT_FAIL, "'%s': socket path too long (%zu bytes at most)",
		    t->path, sizeof sun.sun_path - 1);
	for (;;) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
			return fail(cause, EXIT_FAIL, "socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS && (err = connect_wait(fd, deadline)) == 0)
			break;
		close(fd);
		/* EAGAIN: the listen backlog is full; try again until the deadline */
		if (err == EAGAIN && now_mono() < deadline) {
			nanosleep(&ts, NULL);
			continue;
		}
		if (err == ENOENT)
			return fail(cause, EXIT_NOTFOUND, "'%s': no such socket", t->path);
		if (err == ECONNREFUSED)
			return fail(cause, EXIT_FAIL, "'%s': connection refused (nothing listens "
			    "there: a stale socket?)", t->path);
		if (err == ETIMEDOUT || err == EAGAIN)
			return fail(cause, EXIT_TIMEOUT, "'%s': connect: timed out", t->path);
		return fail(cause, EXIT_FAIL, "'%s': connect: %s", t->path, strerror(err));
	}
	*fdp = fd;
	return 0;
}

static int
connect_tcp(const struct target *t, double deadline, int *fdp, char **cause)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, err = 0, one = 1, gai;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(t->host, t->port, &hints, &res)) != 0) {
		if (gai == EAI_NONAME || gai == EAI_NODATA)
			return fail(cause, EXIT_NOTFOUND, "'%s': unknown host", t->host);
		return fail(cause, EXIT_FAIL, "'%s': %s", t->host, gai_strerror(gai));
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
		if (fd == -1) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS && (err = connect_wait(fd, deadline)) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		if (err == ETIMEDOUT)
			return fail(cause, EXIT_TIMEOUT, "'%s': connect: timed out", t->name);
		return fail(cause, EXIT_FAIL, "'%s': connect: %s", t->name, strerror(err));
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	*fdp = fd;
	return 0;
}

/* The format the framebuffer is kept in: 32 bpp, depth 24, 0x00RRGGBB in host order. */
static void
format_set(rfbClient *cl)
{
	cl->format.bitsPerPixel = 32;
	cl->format.depth = 24;
	cl->format.bigEndian = (*(const char *)&cl->endianTest) ? FALSE : TRUE;
	cl->format.trueColour = TRUE;
	cl->format.redMax = cl->format.greenMax = cl->format.blueMax = 255;
	cl->format.redShift = 16;
	cl->format.greenShift = 8;
	cl->format.blueShift = 0;
	cl->appData.requestedDepth = 24;
}

/*
 * The encodings we take, replacing the list SetFormatAndEncodings() sent. libvncclient
 * 0.9.14 always offers ExtendedDesktopSize, which QEMU then prefers for a resize, but it
 * ignores the message (it takes QEMU's screen id 0 for an invalid screen) and drops the
 * connection at the first update of the new size ("Rect too large"). So: the plain
 * DesktopSize pseudo-encoding, and lossless encodings only (a screenshot must be the
 * guest's pixels: no JPEG quality level is offered).
 */
static rfbBool
encodings_send(rfbClient *cl)
{
	static const uint32_t encs[] = {
		rfbEncodingTight, rfbEncodingZRLE, rfbEncodingHextile, rfbEncodingZlib,
		rfbEncodingCopyRect, rfbEncodingRaw, rfbEncodingCompressLevel1,
		rfbEncodingNewFBSize, rfbEncodingLastRect,
	};
	char buf[4 + 4 * nitems(encs)];
	size_t i;

	buf[0] = rfbSetEncodings;
	buf[1] = 0;
	buf[2] = (char)(nitems(encs) >> 8);
	buf[3] = (char)(nitems(encs) & 0xff);
	for (i = 0; i < nitems(encs); i++) {
		buf[4 + 4 * i] = (char)(encs[i] >> 24);
		buf[5 + 4 * i] = (char)(encs[i] >> 16);
		buf[6 + 4 * i] = (char)(encs[i] >> 8);
		buf[7 + 4 * i] = (char)encs[i];
	}
	return WriteToRFBServer(cl, buf, sizeof buf);
}

/* Why the handshake failed, from what we saw and libvncclient's last message. */
static int
handshake_failed(struct viewer *v, double timeout, char **cause)
{
	const char *m = v->lastmsg, *name = v->t->name;

	if (v->no_password)
		return fail(cause, EXIT_FAIL, "'%s': the server wants a password (give "
		    "--password-file, or the VM's runtime directory)", name);
	if (strstr(m, "timed out") != NULL)
		return fail(cause, EXIT_TIMEOUT, "'%s': no answer from the VNC server within "
		    "%gs", name, timeout);
	if (strncmp(m, "Not a valid VNC server", 22) == 0)
		return fail(cause, EXIT_FAIL, "'%s': not a VNC server (no RFB greeting)", name);
	if (v->asked_password)
		return fail(cause, EXIT_FAIL, "'%s': authentication failed (wrong password?)%s%s",
		    name, *m != '\0' ? ": " : "", m);
	if (strstr(m, "closed connection") != NULL)
		return fail(cause, EXIT_FAIL, "'%s': the server closed the connection during "
		    "the handshake", name);
	return fail(cause, EXIT_FAIL, "'%s': VNC handshake failed%s%s", name,
	    *m != '\0' ? ": " : "", m);
}

int
vnc_open(struct viewer *v, const struct target *t, double timeout, char **cause)
{
	double deadline = now_mono() + timeout;
	rfbClient *cl;
	int fd = -1, rc;

	memset(v, 0, sizeof *v);
	v->t = t;
	lastmsg = v->lastmsg;
	lastmsg_size = sizeof v->lastmsg;
	if (t->fd >= 0) {
		fd = t->fd;
		rc = 0;
	} else if (t->path != NULL)
		rc = connect_unix(t, deadline, &fd, cause);
	else
		rc = connect_tcp(t, deadline, &fd, cause);
	if (rc != 0)
		return rc;
	log_debug(1, "connected to '%s'", t->path != NULL ? t->path : t->name);

	if ((cl = rfbGetClient(8, 3, 4)) == NULL)
		fatal("out of memory");
	v->cl = cl;
	rfbClientSetClientData(cl, &viewer_tag, v);
	cl->programName = "ctys-vncviewer";
	cl->sock = fd;
	cl->serverPort = t->port != NULL ? atoi(t->port) : 0;	/* never -1 (a vncrec file) */
	/* ReadFromRFBServer gives up after this many seconds without data */
	cl->readTimeout = (unsigned int)ceil(timeout);
	cl->MallocFrameBuffer = cb_malloc_fb;
	cl->GotFrameBufferUpdate = cb_update;
	cl->FinishedFrameBufferUpdate = cb_finished;
	cl->GetPassword = cb_password;
	cl->canHandleNewFBSize = TRUE;		/* the guest changes its resolution */
	/* what SetFormatAndEncodings() offers first (encodings_send() has the last word) */
	cl->appData.encodingsString = "tight zrle hextile zlib copyrect raw";
	cl->appData.enableJPEG = FALSE;
	cl->appData.compressLevel = 1;
	cl->appData.useRemoteCursor = FALSE;
	format_set(cl);

	if (!InitialiseRFBConnection(cl)) {
		rc = handshake_failed(v, timeout, cause);
		vnc_close(v);
		return rc;
	}
	log_debug(1, "'%s': RFB %d.%d, desktop '%s', %dx%d", t->name, cl->major, cl->minor,
	    cl->desktopName != NULL ? cl->desktopName : "", cl->si.framebufferWidth,
	    cl->si.framebufferHeight);
	cl->width = cl->si.framebufferWidth;
	cl->height = cl->si.framebufferHeight;
	format_set(cl);
	if (!cl->MallocFrameBuffer(cl) || !SetFormatAndEncodings(cl) || !encodings_send(cl) ||
	    !SendFramebufferUpdateRequest(cl, 0, 0, cl->width, cl->height, FALSE)) {
		rc = fail(cause, EXIT_FAIL, "'%s': VNC setup failed: %s", t->name,
		    v->lastmsg[0] != '\0' ? v->lastmsg : "error");
		vnc_close(v);
		return rc;
	}
	cl->updateRect.x = cl->updateRect.y = 0;
	cl->updateRect.w = cl->width;
	cl->updateRect.h = cl->height;
	return 0;
}

int
vnc_pump(struct viewer *v)
{
	/* libvncclient may hold further complete messages in its buffer: handle those too */
	do {
		if (!HandleRFBServerMessage(v->cl))
			return -1;
	} while (v->cl->buffered > 0);
	return 0;
}

int
vnc_lost(struct viewer *v, char **cause)
{
	const char *m = v->lastmsg;

	if (strstr(m, "closed connection") != NULL || strstr(m, "Connection reset") != NULL) {
		if (target_vm_gone(v->t, 3.0))
			return fail(cause, EXIT_OK, "'%s': the VM is gone; display closed",
			    v->t->name);
		return fail(cause, EXIT_FAIL, "'%s': connection lost: the server closed the "
		    "connection", v->t->name);
	}
	return fail(cause, EXIT_FAIL, "'%s': connection lost%s%s", v->t->name,
	    *m != '\0' ? ": " : "", m);
}

void
vnc_close(struct viewer *v)
{
	if (v->cl != NULL) {
		free(v->cl->frameBuffer);
		v->cl->frameBuffer = NULL;
		rfbClientCleanup(v->cl);	/* closes the socket */
		v->cl = NULL;
	}
	lastmsg = NULL;
}
