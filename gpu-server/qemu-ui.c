/* SPDX-License-Identifier: MIT */
#include "gpu-server/qemu-ui.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"

/* Everything QEMU sends is parsed as hostile input: a byte-stream engine
 * gathers fixed-size units (or bounded lines) and skips payloads we do not
 * need without buffering them, so no length from the peer sizes an
 * allocation. See docs/hotplug.md for the QEMU side of each protocol. */

#define SCOPE "qemu-ui"

#define MS (1000ull * 1000ull)
#define BACKOFF_MIN_NS (100 * MS)
#define BACKOFF_MAX_NS (5000 * MS)
#define HANDSHAKE_TIMEOUT_NS (5000 * MS)
/* A session that ends sooner did not prove the peer healthy: the backoff
 * keeps growing (e.g. another D-Bus p2p client keeps displacing ours). */
#define SESSION_STABLE_NS (5000 * MS)
#define READS_PER_WAKEUP 16

#define OUT_CAP 8192
#define UNIT_CAP 8192 /* the longest unit is a QMP line */
#define QMP_LINE_MAX UNIT_CAP
#define AUTH_LINE_MAX 512
#define DBUS_FIELDS_MAX 4096
#define DBUS_MESSAGE_MAX (128u << 20) /* the D-Bus specification's limit */
#define DBUS_ERROR_KEEP 256
#define RFB_NAME_KEEP 64
#define RFB_REASON_KEEP 128
/* Bounds on payloads we only skip; RFB itself sets none. */
#define RFB_SKIP_MAX (16u << 20)
#define SENT_RING 64

/* RFB (RFC 6143) numbers, and the extensions QEMU speaks. */
#define RFB_SEC_NONE 1
#define RFB_MSG_SET_ENCODINGS 2
#define RFB_MSG_SET_DESKTOP_SIZE 251
#define RFB_ENC_RAW 0
#define RFB_ENC_COPYRECT 1
#define RFB_ENC_DESKTOP_SIZE (-223)
#define RFB_ENC_LAST_RECT (-224)
#define RFB_ENC_CURSOR (-239)
#define RFB_ENC_POINTER_TYPE_CHANGE (-257)
#define RFB_ENC_QEMU_EXT_KEY (-258)
#define RFB_ENC_QEMU_AUDIO (-259)
#define RFB_ENC_LED_STATE (-261)
#define RFB_ENC_EXT_DESKTOP_SIZE (-308)
#define RFB_ENC_ALPHA_CURSOR (-314)
#define RFB_ENC_WMVI 0x574D5669
#define RFB_SET_DESKTOP_SIZE_LEN 24

#define DBUS_CONSOLE_PATH "/org/qemu/Display1/Console_"
#define DBUS_CONSOLE_IFACE "org.qemu.Display1.Console"
#define QMP_FDNAME "zonal-dbus"

enum transport {
	TRANSPORT_VNC,
	TRANSPORT_QMP,
};

enum stage {
	STAGE_DOWN, /* no socket; the timer reconnects */
	STAGE_RFB,
	STAGE_QMP,
	STAGE_DBUS,
};

enum rfb_state {
	RFB_VERSION,
	RFB_SEC_COUNT,
	RFB_SEC_TYPES,
	RFB_SEC_RESULT,
	RFB_FAIL_LEN,
	RFB_FAIL_REASON,
	RFB_SERVER_INIT,
	RFB_SERVER_NAME,
	RFB_MSG_TYPE,
	RFB_FBU_HDR,
	RFB_RECT_HDR,
	RFB_EDS_HDR,
	RFB_ALPHA_CURSOR_ENC,
	RFB_WMVI,
	RFB_COLMAP_HDR,
	RFB_CUT_HDR,
	RFB_XVP,
	RFB_QEMU_HDR,
	RFB_QEMU_AUDIO_LEN,
};

enum qmp_state {
	QMP_GREETING,
	QMP_CAPABILITIES,
	QMP_GETFD,
	QMP_ADD_CLIENT,
};

enum dbus_state {
	DBUS_AUTH,
	DBUS_HEADER,
	DBUS_FIELDS,
	DBUS_ERROR_BODY,
};

/* Handlers return 0 to go on, UNIT_STOP when the session switched sockets
 * (the rest of the buffer belonged to the old one), or a negative errno. */
#define UNIT_STOP 1

struct pending {
	bool queued;
	bool connected;
	uint16_t width, height;
};

struct sent_call {
	uint32_t serial;
	uint32_t scanout;
};

struct session {
	struct gs_qemu_ui *ui;
	unsigned index; /* VNC: the scanout it serves */
	char *path;
	enum stage stage;
	int fd;
	int dbus_fd; /* QMP stage: our end of the pair handed to QEMU, or -1 */
	struct zl_source *src;
	uint32_t src_events;
	struct zl_source *timer;
	uint64_t backoff_ns;
	bool ready;
	uint64_t ready_ns;
	bool flapping; /* recent sessions ended soon after their handshake */
	/* The current outage has been reported: retries log at debug level. */
	bool quiet_connect;
	bool quiet_handshake;
	int warned_err; /* the refusal last explained at warning level */

	uint8_t out[OUT_CAP];
	size_t out_len;

	/* Input engine: first drop `skip` bytes, then gather `need` bytes (or a
	 * line of at most `need` bytes) in unit[] and hand them to the stage. */
	uint8_t unit[UNIT_CAP];
	size_t have, need;
	bool line;
	uint64_t skip;
	int state;

	/* RFB */
	unsigned rfb_bytes_pp;
	uint32_t rfb_rects_left;
	uint16_t rfb_rect_w, rfb_rect_h;
	uint32_t rfb_name_len;

	/* D-Bus */
	bool dbus_be;
	uint8_t dbus_type;
	uint32_t dbus_body_len;
	uint32_t dbus_fields_len;
	uint32_t dbus_serial;
	uint32_t dbus_error_scanout;
	char dbus_error_name[128];
	struct sent_call sent[SENT_RING];
};

struct gs_qemu_ui {
	struct zl_loop *loop;
	char *name;
	enum transport transport;
	struct session *sessions[GS_QEMU_UI_MAX_SCANOUTS];
	unsigned n_sessions;
	struct pending pending[GS_QEMU_UI_MAX_SCANOUTS];
	struct gs_qemu_ui_stats stats;
};

static void session_drop(struct session *s, const char *why, int err);
static int session_send_pending(struct session *s);

/* ---- byte helpers ---------------------------------------------------- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t dbus_u32(const struct session *s, const uint8_t *p)
{
	if (s->dbus_be) {
		return be32(p);
	}
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Copies peer bytes into a printable, NUL-terminated excerpt for logs. */
static void excerpt(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < n && j + 1 < cap; i++) {
		uint8_t c = src[i];
		if (c == '\r' || c == '\n') {
			continue;
		}
		dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[j] = '\0';
}

/* ---- input engine ---------------------------------------------------- */

static void expect(struct session *s, int state, size_t need)
{
	s->state = state;
	s->need = need;
	s->have = 0;
	s->line = false;
}

static void expect_line(struct session *s, int state, size_t max)
{
	expect(s, state, max);
	s->line = true;
}

static int rfb_unit(struct session *s, const uint8_t *u, size_t n);
static int qmp_line(struct session *s, const uint8_t *u, size_t n);
static int dbus_unit(struct session *s, const uint8_t *u, size_t n);

static int session_input(struct session *s, const uint8_t *data, size_t len)
{
	while (len > 0) {
		if (s->skip > 0) {
			size_t n = s->skip < len ? (size_t)s->skip : len;
			s->skip -= n;
			data += n;
			len -= n;
			continue;
		}
		size_t room = s->need - s->have;
		size_t n;
		bool complete;
		if (s->line) {
			const uint8_t *nl = memchr(data, '\n', len);
			n = nl ? (size_t)(nl - data) + 1 : len;
			if (n > room) {
				zl_warn("guest %s: line from QEMU longer than %zu bytes",
					s->ui->name, s->need);
				return -EPROTO;
			}
			complete = nl != NULL;
		} else {
			n = len < room ? len : room;
			complete = n == room;
		}
		memcpy(s->unit + s->have, data, n);
		s->have += n;
		data += n;
		len -= n;
		if (!complete) {
			break;
		}
		size_t unit_len = s->have;
		s->have = 0;
		int r;
		switch (s->stage) {
		case STAGE_RFB:
			r = rfb_unit(s, s->unit, unit_len);
			break;
		case STAGE_QMP:
			r = qmp_line(s, s->unit, unit_len);
			break;
		case STAGE_DBUS:
			r = dbus_unit(s, s->unit, unit_len);
			break;
		default:
			r = -ENOTCONN;
			break;
		}
		if (r != 0) {
			return r < 0 ? r : 0;
		}
	}
	return 0;
}

/* ---- output ---------------------------------------------------------- */

static int session_watch(struct session *s, uint32_t events)
{
	if (!s->src || s->src_events == events) {
		return 0;
	}
	int r = zl_source_fd_update(s->src, events);
	if (r == 0) {
		s->src_events = events;
	}
	return r;
}

static int session_flush(struct session *s)
{
	while (s->out_len > 0) {
		ssize_t n = send(s->fd, s->out, s->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				break;
			}
			return -errno;
		}
		memmove(s->out, s->out + n, s->out_len - (size_t)n);
		s->out_len -= (size_t)n;
	}
	return session_watch(s, s->out_len ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

/* Queues all of buf or nothing: -ENOBUFS when QEMU is not reading. */
static int session_send(struct session *s, const void *buf, size_t len)
{
	if (len > OUT_CAP - s->out_len) {
		return -ENOBUFS;
	}
	memcpy(s->out + s->out_len, buf, len);
	s->out_len += len;
	return session_flush(s);
}

/* ---- session life cycle ---------------------------------------------- */

static void session_arm(struct session *s, uint64_t delay_ns)
{
	if (zl_source_timer_arm(s->timer, delay_ns, 0) < 0) {
		zl_err("guest %s: cannot arm the QEMU UI timer", s->ui->name);
	}
}

static void session_schedule_reconnect(struct session *s)
{
	session_arm(s, s->backoff_ns);
	s->backoff_ns = s->backoff_ns > BACKOFF_MAX_NS / 2 ? BACKOFF_MAX_NS : s->backoff_ns * 2;
}

static void session_close_fds(struct session *s)
{
	zl_source_remove(s->src);
	s->src = NULL;
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	if (s->dbus_fd >= 0) {
		close(s->dbus_fd);
		s->dbus_fd = -1;
	}
}

static void session_reset(struct session *s)
{
	s->stage = STAGE_DOWN;
	s->ready = false;
	s->out_len = 0;
	s->have = 0;
	s->need = 1;
	s->line = false;
	s->skip = 0;
	s->rfb_bytes_pp = 4;
	s->rfb_rects_left = 0;
	s->dbus_serial = 0;
	memset(s->sent, 0, sizeof(s->sent));
}

static const char *transport_name(const struct session *s)
{
	return s->ui->transport == TRANSPORT_VNC ? "VNC" : "QMP/D-Bus";
}

/* err: 0 for an orderly close, else a negative errno. */
static void session_drop(struct session *s, const char *why, int err)
{
	if (s->stage == STAGE_DOWN) {
		return;
	}
	if (s->ready) {
		uint64_t lived_ns = zl_now_ns() - s->ready_ns;
		if (lived_ns >= SESSION_STABLE_NS) {
			s->flapping = false;
			s->backoff_ns = BACKOFF_MIN_NS;
			zl_info("guest %s: %s session with QEMU (%s) ended: %s%s%s; reconnecting",
				s->ui->name, transport_name(s), s->path, why, err ? ": " : "",
				err ? strerror(-err) : "");
		} else if (!s->flapping) {
			s->flapping = true;
			zl_warn("guest %s: %s session with QEMU (%s) ended after %llu ms: %s%s%s; "
				"does another client use QMP add_client or this VNC socket? "
				"Backing off", s->ui->name, transport_name(s), s->path,
				(unsigned long long)(lived_ns / MS), why, err ? ": " : "",
				err ? strerror(-err) : "");
		} else {
			zl_dbg(SCOPE, "guest %s: session with %s ended again after %llu ms: %s",
				s->ui->name, s->path, (unsigned long long)(lived_ns / MS), why);
		}
	} else if (!s->quiet_handshake) {
		zl_warn("guest %s: %s handshake with QEMU (%s) failed: %s%s%s; retrying",
			s->ui->name, transport_name(s), s->path, why, err ? ": " : "",
			err ? strerror(-err) : "");
		s->quiet_handshake = true;
	} else {
		zl_dbg(SCOPE, "guest %s: handshake with %s failed again: %s", s->ui->name, s->path, why);
	}
	session_close_fds(s);
	session_reset(s);
	session_schedule_reconnect(s);
}


static void on_session_fd(void *data, int fd, uint32_t events);

/* Takes ownership of fd, a connected stream socket. */
static void session_start(struct session *s, int fd)
{
	session_reset(s);
	s->src = zl_loop_add_fd(s->ui->loop, fd, EPOLLIN, on_session_fd, s);
	if (!s->src) {
		close(fd);
		session_schedule_reconnect(s);
		return;
	}
	s->fd = fd;
	s->src_events = EPOLLIN;
	s->quiet_connect = false;
	if (s->ui->transport == TRANSPORT_VNC) {
		s->stage = STAGE_RFB;
		expect(s, RFB_VERSION, 12);
	} else {
		s->stage = STAGE_QMP;
		expect_line(s, QMP_GREETING, QMP_LINE_MAX);
	}
	/* A QEMU that accepts but never answers (stopped, wrong socket) must
	 * not hold the session forever. */
	session_arm(s, HANDSHAKE_TIMEOUT_NS);
	zl_dbg(SCOPE, "guest %s: connected to %s", s->ui->name, s->path);
}

static void session_connect(struct session *s)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		zl_log_errno(ZL_ERROR, "guest %s: socket", s->ui->name);
		session_schedule_reconnect(s);
		return;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1); /* length checked at create */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		/* Unix sockets connect at once or not at all (EAGAIN: backlog full). */
		int err = errno;
		close(fd);
		if (!s->quiet_connect) {
			zl_info("guest %s: waiting for QEMU's %s socket %s (%s)", s->ui->name,
				s->ui->transport == TRANSPORT_VNC ? "VNC" : "QMP", s->path, strerror(err));
			s->quiet_connect = true;
		}
		session_schedule_reconnect(s);
		return;
	}
	session_start(s, fd);
}

static void on_session_timer(void *data)
{
	struct session *s = data;
	if (s->stage == STAGE_DOWN) {
		session_connect(s);
	} else if (!s->ready) {
		session_drop(s, "no answer", -ETIMEDOUT);
	}
}

static void on_session_fd(void *data, int fd, uint32_t events)
{
	struct session *s = data;
	if (events & EPOLLOUT) {
		int r = session_flush(s);
		if (r == 0 && s->out_len == 0) {
			r = session_send_pending(s);
		}
		if (r < 0) {
			session_drop(s, "write failed", r);
			return;
		}
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		return;
	}
	/* Bounded so one chatty QEMU cannot starve the loop; epoll is
	 * level-triggered and brings us back. */
	for (int i = 0; i < READS_PER_WAKEUP && s->fd == fd; i++) {
		uint8_t buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				session_drop(s, "read failed", -errno);
			}
			return;
		}
		if (n == 0) {
			session_drop(s, "QEMU closed the connection", 0);
			return;
		}
		int r = session_input(s, buf, (size_t)n);
		if (r < 0) {
			s->ui->stats.protocol_errors++;
			session_drop(s, r == -EPROTO ? "unexpected data from QEMU" : "QEMU said no", r);
			return;
		}
	}
}

static int session_ready(struct session *s)
{
	s->ready = true;
	s->ready_ns = zl_now_ns();
	s->quiet_handshake = false;
	s->warned_err = 0;
	s->ui->stats.sessions++;
	session_arm(s, 0);
	zl_info("guest %s: %s session with QEMU (%s) is up", s->ui->name, transport_name(s), s->path);
	return session_send_pending(s);
}

/* A refusal repeats on every retry: say it once, and again only when the
 * reason changes. */
#define session_warn(s, err, ...) \
	do { \
		if ((s)->warned_err != (err)) { \
			(s)->warned_err = (err); \
			zl_warn(__VA_ARGS__); \
		} else { \
			zl_dbg(SCOPE, __VA_ARGS__); \
		} \
	} while (0)

/* ---- RFB client (VNC) ------------------------------------------------ */

static void rfb_put_set_desktop_size(uint8_t *p, uint16_t w, uint16_t h)
{
	p[0] = RFB_MSG_SET_DESKTOP_SIZE;
	p[1] = 0;
	put_be16(p + 2, w);
	put_be16(p + 4, h);
	p[6] = 1; /* one screen */
	p[7] = 0;
	put_be32(p + 8, 0); /* screen id */
	put_be16(p + 12, 0); /* x */
	put_be16(p + 14, 0); /* y */
	put_be16(p + 16, w);
	put_be16(p + 18, h);
	put_be32(p + 20, 0); /* flags */
}

/* QEMU ignores a ui_info equal to the console's current one (and it starts
 * at 0x0, so a first "disconnected" would be lost), and we cannot know what
 * the console holds after a reconnect or another client. So every event is a
 * pair: a decoy that differs, then the target, written at once. QEMU handles
 * both in one read and its zero-delay ui_info timer then fires once, with the
 * target. Should the decoy ever surface, it has the target's enabled state. */
static int rfb_send_event(struct session *s, const struct pending *p)
{
	uint16_t w = 0, h = 0, decoy_w = 0, decoy_h = 1;
	if (p->connected) {
		w = p->width;
		h = p->height;
		decoy_w = w;
		decoy_h = h > 1 ? (uint16_t)(h - 1) : (uint16_t)(h + 1);
	}
	uint8_t msg[2 * RFB_SET_DESKTOP_SIZE_LEN];
	rfb_put_set_desktop_size(msg, decoy_w, decoy_h);
	rfb_put_set_desktop_size(msg + RFB_SET_DESKTOP_SIZE_LEN, w, h);
	return session_send(s, msg, sizeof(msg));
}

static bool all_digits(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9') {
			return false;
		}
	}
	return true;
}

static void rfb_next_rect(struct session *s)
{
	if (s->rfb_rects_left > 0) {
		expect(s, RFB_RECT_HDR, 12);
	} else {
		expect(s, RFB_MSG_TYPE, 1);
	}
}

/* ExtendedDesktopSize: x is who caused the change (1: this client),
 * y the status of our request. */
static void rfb_resize_status(struct session *s, uint16_t reason, uint16_t status,
	uint16_t w, uint16_t h)
{
	static const char *const why[] = {
		[1] = "resize prohibited",
		[2] = "out of resources",
		[3] = "invalid screen layout (the console has no ui_info hook)",
	};
	if (reason != 1) {
		zl_dbg(SCOPE, "guest %s: QEMU desktop %s is now %ux%u", s->ui->name, s->path, w, h);
		return;
	}
	if (status == 0 || status == 4) { /* done, or forwarded to the guest */
		s->ui->stats.requests_acked++;
		return;
	}
	s->ui->stats.requests_failed++;
	zl_warn("guest %s: QEMU (%s) refused the display event: %s", s->ui->name, s->path,
		status < 4 && why[status] ? why[status] : "unknown status");
}

static int rfb_rect(struct session *s, const uint8_t *u)
{
	uint16_t x = be16(u), y = be16(u + 2), w = be16(u + 4), h = be16(u + 6);
	int32_t enc = (int32_t)be32(u + 8);
	s->rfb_rects_left--;
	s->rfb_rect_w = w;
	s->rfb_rect_h = h;
	switch (enc) {
	case RFB_ENC_RAW:
		s->skip = (uint64_t)w * h * s->rfb_bytes_pp;
		break;
	case RFB_ENC_COPYRECT:
		s->skip = 4;
		break;
	case RFB_ENC_DESKTOP_SIZE:
		zl_dbg(SCOPE, "guest %s: QEMU desktop is now %ux%u", s->ui->name, w, h);
		break;
	case RFB_ENC_LAST_RECT:
		s->rfb_rects_left = 0;
		break;
	case RFB_ENC_POINTER_TYPE_CHANGE:
	case RFB_ENC_QEMU_EXT_KEY:
	case RFB_ENC_QEMU_AUDIO:
		break;
	case RFB_ENC_LED_STATE:
		s->skip = 1;
		break;
	case RFB_ENC_CURSOR:
		s->skip = (uint64_t)w * h * s->rfb_bytes_pp + (uint64_t)((w + 7u) / 8u) * h;
		break;
	case RFB_ENC_EXT_DESKTOP_SIZE:
		rfb_resize_status(s, x, y, w, h);
		expect(s, RFB_EDS_HDR, 4);
		return 0;
	case RFB_ENC_ALPHA_CURSOR:
		expect(s, RFB_ALPHA_CURSOR_ENC, 4);
		return 0;
	case RFB_ENC_WMVI:
		expect(s, RFB_WMVI, 16);
		return 0;
	default:
		/* Without knowing its length we cannot find the next message. */
		zl_warn("guest %s: QEMU sent RFB encoding %d that we did not ask for",
			s->ui->name, (int)enc);
		return -EPROTO;
	}
	rfb_next_rect(s);
	return 0;
}

static int rfb_set_bpp(struct session *s, uint8_t bpp)
{
	if (bpp != 8 && bpp != 16 && bpp != 32) {
		return -EPROTO;
	}
	s->rfb_bytes_pp = bpp / 8u;
	return 0;
}

static int rfb_unit(struct session *s, const uint8_t *u, size_t n)
{
	int r;
	switch (s->state) {
	case RFB_VERSION: {
		if (memcmp(u, "RFB ", 4) != 0 || u[7] != '.' || u[11] != '\n' ||
				!all_digits(u + 4, 3) || !all_digits(u + 8, 3)) {
			return -EPROTO;
		}
		unsigned major = (u[4] - '0') * 100u + (u[5] - '0') * 10u + (u[6] - '0');
		unsigned minor = (u[8] - '0') * 100u + (u[9] - '0') * 10u + (u[10] - '0');
		if (major != 3 || minor < 8) {
			session_warn(s, -EPROTONOSUPPORT, "guest %s: %s speaks RFB %u.%u; we need 3.8", s->ui->name,
				s->path, major, minor);
			return -EPROTONOSUPPORT;
		}
		r = session_send(s, "RFB 003.008\n", 12);
		expect(s, RFB_SEC_COUNT, 1);
		return r;
	}
	case RFB_SEC_COUNT:
		if (u[0] == 0) {
			expect(s, RFB_FAIL_LEN, 4);
		} else {
			expect(s, RFB_SEC_TYPES, u[0]);
		}
		return 0;
	case RFB_SEC_TYPES: {
		if (!memchr(u, RFB_SEC_NONE, n)) {
			session_warn(s, -EACCES, "guest %s: the VNC server at %s wants authentication; "
				"give QEMU a -vnc unix:PATH without password or TLS",
				s->ui->name, s->path);
			return -EACCES;
		}
		const uint8_t none = RFB_SEC_NONE;
		r = session_send(s, &none, 1);
		expect(s, RFB_SEC_RESULT, 4);
		return r;
	}
	case RFB_SEC_RESULT: {
		if (be32(u) != 0) {
			expect(s, RFB_FAIL_LEN, 4);
			return 0;
		}
		const uint8_t shared = 1; /* ClientInit: leave other viewers connected */
		r = session_send(s, &shared, 1);
		expect(s, RFB_SERVER_INIT, 24);
		return r;
	}
	case RFB_FAIL_LEN: {
		uint32_t len = be32(u);
		if (len == 0) {
			session_warn(s, -ECONNREFUSED, "guest %s: the VNC server at %s refused us",
				s->ui->name, s->path);
			return -ECONNREFUSED;
		}
		expect(s, RFB_FAIL_REASON, len < RFB_REASON_KEEP ? len : RFB_REASON_KEEP);
		return 0;
	}
	case RFB_FAIL_REASON: {
		char reason[RFB_REASON_KEEP + 1];
		excerpt(reason, sizeof(reason), u, n);
		session_warn(s, -ECONNREFUSED, "guest %s: the VNC server at %s refused us: %s", s->ui->name,
			s->path, reason);
		return -ECONNREFUSED;
	}
	case RFB_SERVER_INIT: {
		if (rfb_set_bpp(s, u[4]) < 0) {
			return -EPROTO;
		}
		uint32_t name_len = be32(u + 20);
		if (name_len > RFB_SKIP_MAX) {
			return -EPROTO;
		}
		zl_dbg(SCOPE, "guest %s: VNC desktop %ux%u", s->ui->name, be16(u), be16(u + 2));
		/* We never request framebuffer updates, so QEMU sends no pixels;
		 * the pseudo-encodings let it answer SetDesktopSize. */
		uint8_t enc[12] = { RFB_MSG_SET_ENCODINGS, 0, 0, 2 };
		put_be32(enc + 4, (uint32_t)RFB_ENC_EXT_DESKTOP_SIZE);
		put_be32(enc + 8, (uint32_t)RFB_ENC_DESKTOP_SIZE);
		r = session_send(s, enc, sizeof(enc));
		if (r < 0) {
			return r;
		}
		if (name_len == 0) {
			expect(s, RFB_MSG_TYPE, 1);
			return session_ready(s);
		}
		s->rfb_name_len = name_len;
		expect(s, RFB_SERVER_NAME, name_len < RFB_NAME_KEEP ? name_len : RFB_NAME_KEEP);
		return 0;
	}
	case RFB_SERVER_NAME: {
		char name[RFB_NAME_KEEP + 1];
		excerpt(name, sizeof(name), u, n);
		zl_dbg(SCOPE, "guest %s: VNC desktop name \"%s\"", s->ui->name, name);
		s->skip = s->rfb_name_len - n;
		expect(s, RFB_MSG_TYPE, 1);
		return session_ready(s);
	}
	case RFB_MSG_TYPE:
		switch (u[0]) {
		case 0: /* FramebufferUpdate */
			expect(s, RFB_FBU_HDR, 3);
			break;
		case 1: /* SetColourMapEntries */
			expect(s, RFB_COLMAP_HDR, 5);
			break;
		case 2: /* Bell */
		case 150: /* EndOfContinuousUpdates */
			expect(s, RFB_MSG_TYPE, 1);
			break;
		case 3: /* ServerCutText */
			expect(s, RFB_CUT_HDR, 7);
			break;
		case 250: /* xvp */
			expect(s, RFB_XVP, 3);
			break;
		case 255: /* QEMU */
			expect(s, RFB_QEMU_HDR, 3);
			break;
		default:
			zl_warn("guest %s: unknown RFB message type %u from QEMU", s->ui->name, u[0]);
			return -EPROTO;
		}
		return 0;
	case RFB_FBU_HDR:
		s->rfb_rects_left = be16(u + 1);
		rfb_next_rect(s);
		return 0;
	case RFB_RECT_HDR:
		return rfb_rect(s, u);
	case RFB_EDS_HDR:
		s->skip = (uint64_t)u[0] * 16; /* screens */
		rfb_next_rect(s);
		return 0;
	case RFB_ALPHA_CURSOR_ENC:
		if ((int32_t)be32(u) != RFB_ENC_RAW) {
			return -EPROTO;
		}
		s->skip = (uint64_t)s->rfb_rect_w * s->rfb_rect_h * 4;
		rfb_next_rect(s);
		return 0;
	case RFB_WMVI:
		if (rfb_set_bpp(s, u[0]) < 0) {
			return -EPROTO;
		}
		rfb_next_rect(s);
		return 0;
	case RFB_COLMAP_HDR:
		s->skip = (uint64_t)be16(u + 3) * 6;
		expect(s, RFB_MSG_TYPE, 1);
		return 0;
	case RFB_CUT_HDR: {
		/* Negative: the extended-clipboard form, |len| bytes. */
		uint32_t raw = be32(u + 3);
		uint32_t len = (raw & 0x80000000u) ? 0u - raw : raw;
		if (len > RFB_SKIP_MAX) {
			return -EPROTO;
		}
		s->skip = len;
		expect(s, RFB_MSG_TYPE, 1);
		return 0;
	}
	case RFB_XVP:
		expect(s, RFB_MSG_TYPE, 1);
		return 0;
	case RFB_QEMU_HDR: {
		uint16_t op = be16(u + 1);
		if (u[0] != 1 || op > 2) { /* audio: end, begin, data */
			return -EPROTO;
		}
		if (op == 2) {
			expect(s, RFB_QEMU_AUDIO_LEN, 4);
		} else {
			expect(s, RFB_MSG_TYPE, 1);
		}
		return 0;
	}
	case RFB_QEMU_AUDIO_LEN:
		if (be32(u) > RFB_SKIP_MAX) {
			return -EPROTO;
		}
		s->skip = be32(u);
		expect(s, RFB_MSG_TYPE, 1);
		return 0;
	default:
		return -EPROTO;
	}
}

/* ---- QMP client ------------------------------------------------------ */

enum qmp_kind {
	QMP_K_INVALID,
	QMP_K_GREETING,
	QMP_K_RETURN,
	QMP_K_ERROR,
	QMP_K_OTHER, /* events */
};

static size_t json_ws(const uint8_t *p, size_t n, size_t i)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) {
		i++;
	}
	return i;
}

/* p[i] is '"'; returns the index past the closing quote, 0 if there is none. */
static size_t json_string_end(const uint8_t *p, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (p[i] == '\\') {
			i++;
		} else if (p[i] == '"') {
			return i + 1;
		}
	}
	return 0;
}

/* Returns the index past the value starting at p[i], 0 when malformed. It
 * finds boundaries only (iteratively, so nesting cannot exhaust a stack). */
static size_t json_value_end(const uint8_t *p, size_t n, size_t i)
{
	if (i >= n) {
		return 0;
	}
	if (p[i] == '"') {
		return json_string_end(p, n, i);
	}
	if (p[i] == '{' || p[i] == '[') {
		size_t depth = 0;
		while (i < n) {
			if (p[i] == '"') {
				i = json_string_end(p, n, i);
				if (i == 0) {
					return 0;
				}
				continue;
			}
			if (p[i] == '{' || p[i] == '[') {
				depth++;
			} else if ((p[i] == '}' || p[i] == ']') && --depth == 0) {
				return i + 1;
			}
			i++;
		}
		return 0;
	}
	size_t start = i;
	while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' &&
			p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
		i++;
	}
	return i > start ? i : 0;
}

/* Classifies one QMP line by its top-level keys. */
static enum qmp_kind qmp_classify(const uint8_t *p, size_t n)
{
	enum qmp_kind kind = QMP_K_OTHER;
	size_t i = json_ws(p, n, 0);
	if (i >= n || p[i] != '{') {
		return QMP_K_INVALID;
	}
	i++;
	for (;;) {
		i = json_ws(p, n, i);
		if (i >= n) {
			return QMP_K_INVALID;
		}
		if (p[i] == '}') {
			return kind;
		}
		if (p[i] != '"') {
			return QMP_K_INVALID;
		}
		size_t key_end = json_string_end(p, n, i);
		if (key_end == 0) {
			return QMP_K_INVALID;
		}
		const uint8_t *key = p + i + 1;
		size_t key_len = key_end - i - 2;
		i = json_ws(p, n, key_end);
		if (i >= n || p[i] != ':') {
			return QMP_K_INVALID;
		}
		size_t value_end = json_value_end(p, n, json_ws(p, n, i + 1));
		if (value_end == 0) {
			return QMP_K_INVALID;
		}
		if (key_len == 6 && memcmp(key, "return", 6) == 0) {
			kind = QMP_K_RETURN;
		} else if (key_len == 5 && memcmp(key, "error", 5) == 0) {
			kind = QMP_K_ERROR;
		} else if (key_len == 3 && memcmp(key, "QMP", 3) == 0) {
			kind = QMP_K_GREETING;
		}
		i = json_ws(p, n, value_end);
		if (i < n && p[i] == ',') {
			i++;
			continue;
		}
		if (i < n && p[i] == '}') {
			return kind;
		}
		return QMP_K_INVALID;
	}
}

/* The D-Bus display in p2p mode accepts peers only through QMP add_client:
 * we pass it one end of a socketpair with getfd (SCM_RIGHTS). */
static int qmp_send_getfd(struct session *s)
{
	static const char cmd[] =
		"{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"" QMP_FDNAME "\"}}\n";
	int sv[2];
	if (s->out_len != 0 || s->dbus_fd >= 0) {
		return -EPROTO; /* the fd must travel with this command's first byte */
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		return -errno;
	}
	/* Only our end is non-blocking: the flag lives in the open file
	 * description, which QEMU's end does not share. */
	int flags = fcntl(sv[0], F_GETFL);
	if (flags < 0 || fcntl(sv[0], F_SETFL, flags | O_NONBLOCK) < 0) {
		int err = -errno;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	memset(&ctrl, 0, sizeof(ctrl));
	struct iovec iov = { .iov_base = (void *)cmd, .iov_len = sizeof(cmd) - 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctrl.buf,
		.msg_controllen = sizeof(ctrl.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &sv[1], sizeof(int));
	ssize_t n;
	do {
		n = sendmsg(s->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	int err = n < 0 ? -errno : 0;
	close(sv[1]);
	if (n <= 0) {
		close(sv[0]);
		return n < 0 ? err : -EIO;
	}
	s->dbus_fd = sv[0];
	s->state = QMP_GETFD;
	if ((size_t)n < sizeof(cmd) - 1) {
		return session_send(s, cmd + n, sizeof(cmd) - 1 - (size_t)n);
	}
	return 0;
}

static int dbus_start(struct session *s)
{
	/* The QMP socket is closed now: QEMU serves one QMP client at a time,
	 * and the D-Bus peer lives on without it. */
	zl_source_remove(s->src);
	s->src = NULL;
	close(s->fd);
	s->fd = s->dbus_fd;
	s->dbus_fd = -1;
	s->out_len = 0;
	s->stage = STAGE_DBUS;
	s->src = zl_loop_add_fd(s->ui->loop, s->fd, EPOLLIN, on_session_fd, s);
	if (!s->src) {
		return -ENOMEM;
	}
	s->src_events = EPOLLIN;
	expect_line(s, DBUS_AUTH, AUTH_LINE_MAX);

	/* SASL EXTERNAL over the socketpair: QEMU (GDBus) checks the uid
	 * against SO_PEERCRED. The leading NUL is the credentials byte. */
	char uid[24], auth[96];
	int uid_len = snprintf(uid, sizeof(uid), "%u", (unsigned)geteuid());
	int len = snprintf(auth, sizeof(auth), "%cAUTH EXTERNAL ", '\0');
	for (int i = 0; i < uid_len; i++) {
		len += snprintf(auth + len, sizeof(auth) - (size_t)len, "%02x", (unsigned char)uid[i]);
	}
	len += snprintf(auth + len, sizeof(auth) - (size_t)len, "\r\n");
	int r = session_send(s, auth, (size_t)len);
	return r < 0 ? r : UNIT_STOP;
}

static int qmp_line(struct session *s, const uint8_t *u, size_t n)
{
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
	static const char add_client[] =
		"{\"execute\":\"add_client\",\"arguments\":"
		"{\"protocol\":\"@dbus-display\",\"fdname\":\"" QMP_FDNAME "\"}}\n";
	char text[200];
	enum qmp_kind kind = qmp_classify(u, n);
	if (kind == QMP_K_INVALID) {
		excerpt(text, sizeof(text), u, n);
		zl_warn("guest %s: QMP sent something that is not a JSON object: %s",
			s->ui->name, text);
		return -EPROTO;
	}
	if (kind == QMP_K_OTHER) {
		return 0; /* an event */
	}
	if (kind == QMP_K_ERROR) {
		excerpt(text, sizeof(text), u, n);
		if (s->state == QMP_ADD_CLIENT) {
			session_warn(s, -ENOTSUP, "guest %s: QEMU (%s) has no D-Bus display to hand us: %s; "
				"start it with -display dbus,p2p=yes (module ui-dbus, package "
				"qemu-system-modules-opengl)", s->ui->name, s->path, text);
		} else {
			session_warn(s, -ENOTSUP, "guest %s: QMP (%s) refused a command: %s", s->ui->name,
				s->path, text);
		}
		return -ENOTSUP;
	}
	switch (s->state) {
	case QMP_GREETING:
		if (kind != QMP_K_GREETING) {
			return -EPROTO;
		}
		s->state = QMP_CAPABILITIES;
		return session_send(s, caps, sizeof(caps) - 1);
	case QMP_CAPABILITIES:
		if (kind != QMP_K_RETURN) {
			return -EPROTO;
		}
		return qmp_send_getfd(s);
	case QMP_GETFD:
		if (kind != QMP_K_RETURN) {
			return -EPROTO;
		}
		s->state = QMP_ADD_CLIENT;
		return session_send(s, add_client, sizeof(add_client) - 1);
	case QMP_ADD_CLIENT:
		if (kind != QMP_K_RETURN) {
			return -EPROTO;
		}
		return dbus_start(s);
	default:
		return -EPROTO;
	}
}

/* ---- D-Bus peer (QEMU's org.qemu.Display1) ---------------------------- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	size_t base; /* D-Bus alignment counts from the message's first byte */
	bool overflow;
};

static void w_bytes(struct wbuf *b, const void *src, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void w_u8(struct wbuf *b, uint8_t v)
{
	w_bytes(b, &v, 1);
}

static void w_u16(struct wbuf *b, uint16_t v)
{
	uint8_t le[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	w_bytes(b, le, 2);
}

static void w_u32(struct wbuf *b, uint32_t v)
{
	uint8_t le[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	w_bytes(b, le, 4);
}

static void w_pad(struct wbuf *b, size_t align)
{
	while (!b->overflow && (b->len - b->base) % align) {
		w_u8(b, 0);
	}
}

static void w_string(struct wbuf *b, const char *s)
{
	size_t n = strlen(s);
	w_pad(b, 4);
	w_u32(b, (uint32_t)n);
	w_bytes(b, s, n + 1);
}

static void w_signature(struct wbuf *b, const char *s)
{
	size_t n = strlen(s);
	w_u8(b, (uint8_t)n);
	w_bytes(b, s, n + 1);
}

static void w_field(struct wbuf *b, uint8_t code, const char *type)
{
	w_pad(b, 8);
	w_u8(b, code);
	w_signature(b, type);
}

static void patch_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Marshals org.qemu.Display1.Console.SetUIInfo(qqiiuu) little-endian. */
static int dbus_put_set_ui_info(struct session *s, struct wbuf *b, uint32_t scanout,
	int32_t xoff, uint32_t width, uint32_t height)
{
	char path[64];
	snprintf(path, sizeof(path), DBUS_CONSOLE_PATH "%u", scanout);
	if (++s->dbus_serial == 0) {
		s->dbus_serial = 1;
	}
	uint32_t serial = s->dbus_serial;

	b->base = b->len;
	size_t start = b->len;
	w_u8(b, 'l');
	w_u8(b, 1); /* METHOD_CALL */
	w_u8(b, 0); /* flags: we want the reply */
	w_u8(b, 1); /* protocol version */
	w_u32(b, 0); /* body length, patched below */
	w_u32(b, serial);
	w_u32(b, 0); /* header fields length, patched below */
	size_t fields_start = b->len;
	w_field(b, 1, "o");
	w_string(b, path);
	w_field(b, 2, "s");
	w_string(b, DBUS_CONSOLE_IFACE);
	w_field(b, 3, "s");
	w_string(b, "SetUIInfo");
	w_field(b, 8, "g");
	w_signature(b, "qqiiuu");
	size_t fields_len = b->len - fields_start;
	w_pad(b, 8);
	size_t body_start = b->len;
	w_u16(b, 0); /* width_mm */
	w_u16(b, 0); /* height_mm */
	w_u32(b, (uint32_t)xoff);
	w_u32(b, 0); /* yoff */
	w_u32(b, width);
	w_u32(b, height);
	if (b->overflow) {
		return -ENOBUFS;
	}
	patch_u32(b->p + start + 4, (uint32_t)(b->len - body_start));
	patch_u32(b->p + start + 12, (uint32_t)fields_len);
	s->sent[serial % SENT_RING] = (struct sent_call){ .serial = serial, .scanout = scanout };
	return 0;
}

/* Same pair trick as rfb_send_event(), but the decoy differs only in xoff,
 * which neither QEMU's virtio-gpu nor our backend ever shows the guest. */
static int dbus_send_event(struct session *s, uint32_t scanout, const struct pending *p)
{
	uint8_t buf[512];
	struct wbuf b = { .p = buf, .cap = sizeof(buf) };
	uint32_t w = p->connected ? p->width : 0;
	uint32_t h = p->connected ? p->height : 0;
	int r = dbus_put_set_ui_info(s, &b, scanout, 1, w, h);
	if (r == 0) {
		r = dbus_put_set_ui_info(s, &b, scanout, 0, w, h);
	}
	return r < 0 ? r : session_send(s, buf, b.len);
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

/* Walks the header fields for REPLY_SERIAL, ERROR_NAME and SIGNATURE. Basic
 * types only: a field of any other type ends the walk (the spec's fields are
 * all basic; unknown ones may be ignored). */
static int dbus_fields(struct session *s, const uint8_t *p, size_t n)
{
	uint32_t reply_serial = 0;
	bool body_is_string = false;
	char error_name[sizeof(s->dbus_error_name)] = "";
	size_t i = 0;
	while (i < n) {
		i = align_up(i, 8);
		if (i >= n) {
			break;
		}
		if (n - i < 4) {
			return -EPROTO;
		}
		uint8_t code = p[i];
		if (p[i + 1] != 1 || p[i + 3] != '\0') {
			break; /* not a single basic type */
		}
		char type = (char)p[i + 2];
		i += 4;
		size_t size, align;
		switch (type) {
		case 'y':
			size = align = 1;
			break;
		case 'n':
		case 'q':
			size = align = 2;
			break;
		case 'b':
		case 'i':
		case 'u':
		case 'h':
			size = align = 4;
			break;
		case 'x':
		case 't':
		case 'd':
			size = align = 8;
			break;
		case 's':
		case 'o': {
			i = align_up(i, 4);
			if (i > n || n - i < 4) {
				return -EPROTO;
			}
			uint32_t len = dbus_u32(s, p + i);
			i += 4;
			if (len >= n - i || p[i + len] != '\0') {
				return -EPROTO;
			}
			if (code == 4 && type == 's') {
				excerpt(error_name, sizeof(error_name), p + i, len);
			}
			i += (size_t)len + 1;
			continue;
		}
		case 'g': {
			if (i >= n) {
				return -EPROTO;
			}
			size_t len = p[i++];
			if (len >= n - i || p[i + len] != '\0') {
				return -EPROTO;
			}
			if (code == 8) {
				body_is_string = len > 0 && p[i] == 's';
			}
			i += len + 1;
			continue;
		}
		default:
			i = n;
			continue;
		}
		i = align_up(i, align);
		if (i > n || n - i < size) {
			return -EPROTO;
		}
		if (code == 5 && type == 'u') {
			reply_serial = dbus_u32(s, p + i);
		}
		i += size;
	}

	uint32_t body_len = s->dbus_body_len;
	if ((s->dbus_type == 2 || s->dbus_type == 3) && reply_serial != 0) {
		struct sent_call *c = &s->sent[reply_serial % SENT_RING];
		if (c->serial == reply_serial) {
			c->serial = 0;
			if (s->dbus_type == 2) {
				s->ui->stats.requests_acked++;
			} else {
				s->ui->stats.requests_failed++;
				s->dbus_error_scanout = c->scanout;
				memcpy(s->dbus_error_name, error_name, sizeof(error_name));
				if (body_is_string && body_len >= 4) {
					expect(s, DBUS_ERROR_BODY,
						body_len < DBUS_ERROR_KEEP ? body_len : DBUS_ERROR_KEEP);
					return 0;
				}
				zl_warn("guest %s: QEMU refused SetUIInfo for scanout %u: %s",
					s->ui->name, c->scanout, error_name);
			}
		}
	}
	s->skip = body_len;
	expect(s, DBUS_HEADER, 16);
	return 0;
}

static int dbus_unit(struct session *s, const uint8_t *u, size_t n)
{
	switch (s->state) {
	case DBUS_AUTH: {
		if (n >= 3 && memcmp(u, "OK ", 3) == 0) {
			int r = session_send(s, "BEGIN\r\n", 7);
			expect(s, DBUS_HEADER, 16);
			return r < 0 ? r : session_ready(s);
		}
		char text[AUTH_LINE_MAX + 1];
		excerpt(text, sizeof(text), u, n);
		session_warn(s, -EACCES, "guest %s: QEMU's D-Bus display refused us: %s", s->ui->name, text);
		return -EACCES;
	}
	case DBUS_HEADER: {
		if (u[0] != 'l' && u[0] != 'B') {
			return -EPROTO;
		}
		s->dbus_be = u[0] == 'B';
		if (u[3] != 1) {
			return -EPROTO;
		}
		s->dbus_type = u[1];
		s->dbus_body_len = dbus_u32(s, u + 4);
		s->dbus_fields_len = dbus_u32(s, u + 12);
		if (s->dbus_fields_len > DBUS_FIELDS_MAX) {
			return -EPROTO;
		}
		size_t fields = align_up(s->dbus_fields_len, 8);
		if (s->dbus_body_len > DBUS_MESSAGE_MAX - 16 - fields) {
			return -EPROTO;
		}
		if (fields == 0) {
			s->skip = s->dbus_body_len;
			expect(s, DBUS_HEADER, 16);
			return 0;
		}
		expect(s, DBUS_FIELDS, fields);
		return 0;
	}
	case DBUS_FIELDS:
		return dbus_fields(s, u, s->dbus_fields_len);
	case DBUS_ERROR_BODY: {
		char text[DBUS_ERROR_KEEP + 1] = "";
		uint32_t len = dbus_u32(s, u);
		size_t avail = n - 4;
		excerpt(text, sizeof(text), u + 4, len < avail ? len : avail);
		zl_warn("guest %s: QEMU refused SetUIInfo for scanout %u: %s: %s", s->ui->name,
			s->dbus_error_scanout, s->dbus_error_name, text);
		s->skip = s->dbus_body_len - n;
		expect(s, DBUS_HEADER, 16);
		return 0;
	}
	default:
		return -EPROTO;
	}
}

/* ---- events ---------------------------------------------------------- */

static int session_send_pending(struct session *s)
{
	struct gs_qemu_ui *ui = s->ui;
	if (!s->ready) {
		return 0;
	}
	uint32_t first = 0, end = GS_QEMU_UI_MAX_SCANOUTS;
	if (ui->transport == TRANSPORT_VNC) {
		first = s->index;
		end = s->index + 1;
	}
	for (uint32_t sc = first; sc < end; sc++) {
		struct pending *p = &ui->pending[sc];
		if (!p->queued) {
			continue;
		}
		int r = ui->transport == TRANSPORT_VNC ? rfb_send_event(s, p) :
			dbus_send_event(s, sc, p);
		if (r == -ENOBUFS) {
			return 0; /* QEMU is not reading; EPOLLOUT brings us back */
		}
		if (r < 0) {
			return r;
		}
		p->queued = false;
		ui->stats.events_sent++;
		if (p->connected) {
			zl_dbg(SCOPE, "guest %s: scanout %u connected %ux%u: event sent", ui->name, sc,
				p->width, p->height);
		} else {
			zl_dbg(SCOPE, "guest %s: scanout %u disconnected: event sent", ui->name, sc);
		}
	}
	return 0;
}

/* ---- public API ------------------------------------------------------ */

static struct session *session_create(struct gs_qemu_ui *ui, unsigned index, const char *path,
	size_t path_len)
{
	struct sockaddr_un sa;
	if (path_len == 0 || path_len >= sizeof(sa.sun_path)) {
		zl_err("guest %s: QEMU UI socket path \"%.*s\" is empty or too long", ui->name,
			(int)path_len, path);
		return NULL;
	}
	struct session *s = calloc(1, sizeof(*s));
	if (!s) {
		return NULL;
	}
	s->ui = ui;
	s->index = index;
	s->fd = -1;
	s->dbus_fd = -1;
	s->backoff_ns = BACKOFF_MIN_NS;
	s->path = strndup(path, path_len);
	if (!s->path) {
		goto err;
	}
	s->timer = zl_loop_add_timer(ui->loop, on_session_timer, s);
	if (!s->timer) {
		goto err_path;
	}
	session_reset(s);
	return s;

err_path:
	free(s->path);
err:
	free(s);
	return NULL;
}

static void session_destroy(struct session *s)
{
	if (!s) {
		return;
	}
	session_close_fds(s);
	zl_source_remove(s->timer);
	free(s->path);
	free(s);
}

struct gs_qemu_ui *gs_qemu_ui_create_with_fd(struct zl_loop *loop, const char *address,
	const char *guest_name, int fd)
{
	if (!loop || !address) {
		goto err_fd;
	}
	struct gs_qemu_ui *ui = calloc(1, sizeof(*ui));
	if (!ui) {
		goto err_fd;
	}
	ui->loop = loop;
	ui->name = strdup(guest_name ? guest_name : "?");
	if (!ui->name) {
		goto err_ui;
	}

	const char *list = address;
	bool split = false;
	ui->transport = TRANSPORT_VNC;
	if (strncmp(address, "qmp:", 4) == 0) {
		ui->transport = TRANSPORT_QMP;
		list += 4;
	} else if (strncmp(address, "vnc:", 4) == 0) {
		list += 4;
		split = true;
	}
	for (;;) {
		size_t len = split ? strcspn(list, ",") : strlen(list);
		if (ui->n_sessions == GS_QEMU_UI_MAX_SCANOUTS) {
			zl_err("guest %s: more than %d VNC sockets in \"%s\"", ui->name,
				GS_QEMU_UI_MAX_SCANOUTS, address);
			goto err_sessions;
		}
		struct session *s = session_create(ui, ui->n_sessions, list, len);
		if (!s) {
			goto err_sessions;
		}
		ui->sessions[ui->n_sessions++] = s;
		if (list[len] != ',') {
			break;
		}
		list += len + 1;
	}

	for (unsigned i = 0; i < ui->n_sessions; i++) {
		if (i == 0 && fd >= 0) {
			session_start(ui->sessions[0], fd);
			fd = -1;
		} else {
			session_connect(ui->sessions[i]);
		}
	}
	return ui;

err_sessions:
	for (unsigned i = 0; i < ui->n_sessions; i++) {
		session_destroy(ui->sessions[i]);
	}
	free(ui->name);
err_ui:
	free(ui);
err_fd:
	if (fd >= 0) {
		close(fd);
	}
	return NULL;
}

struct gs_qemu_ui *gs_qemu_ui_create(struct zl_loop *loop, const char *address,
	const char *guest_name)
{
	return gs_qemu_ui_create_with_fd(loop, address, guest_name, -1);
}

void gs_qemu_ui_destroy(struct gs_qemu_ui *ui)
{
	if (!ui) {
		return;
	}
	for (unsigned i = 0; i < ui->n_sessions; i++) {
		session_destroy(ui->sessions[i]);
	}
	free(ui->name);
	free(ui);
}

static struct session *session_for(const struct gs_qemu_ui *ui, uint32_t scanout)
{
	if (scanout >= GS_QEMU_UI_MAX_SCANOUTS) {
		return NULL;
	}
	if (ui->transport == TRANSPORT_QMP) {
		return ui->sessions[0];
	}
	return scanout < ui->n_sessions ? ui->sessions[scanout] : NULL;
}

int gs_qemu_ui_display_event(struct gs_qemu_ui *ui, uint32_t scanout, bool connected,
	uint32_t width, uint32_t height)
{
	if (!ui) {
		return -EINVAL;
	}
	struct session *s = session_for(ui, scanout);
	if (!s) {
		return -EINVAL;
	}
	if (connected && (width == 0 || height == 0 || width > UINT16_MAX || height > UINT16_MAX)) {
		return -EINVAL;
	}
	ui->pending[scanout] = (struct pending){
		.queued = true,
		.connected = connected,
		.width = connected ? (uint16_t)width : 0,
		.height = connected ? (uint16_t)height : 0,
	};
	int r = session_send_pending(s);
	if (r < 0) {
		/* Still queued: the next session sends it. */
		session_drop(s, "write failed", r);
	}
	return 0;
}

bool gs_qemu_ui_is_ready(const struct gs_qemu_ui *ui, uint32_t scanout)
{
	const struct session *s = ui ? session_for(ui, scanout) : NULL;
	return s && s->ready;
}

void gs_qemu_ui_get_stats(const struct gs_qemu_ui *ui, struct gs_qemu_ui_stats *stats)
{
	*stats = ui->stats;
}

int gs_qemu_ui_feed(struct gs_qemu_ui *ui, const uint8_t *data, size_t len)
{
	struct session *s = ui->sessions[0];
	if (s->stage == STAGE_DOWN) {
		return -ENOTCONN;
	}
	int r = session_input(s, data, len);
	if (r < 0) {
		ui->stats.protocol_errors++;
		session_drop(s, r == -EPROTO ? "unexpected data from QEMU" : "QEMU said no", r);
	}
	return r;
}
