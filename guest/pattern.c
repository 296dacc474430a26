/* SPDX-License-Identifier: MIT */
/*
 * pattern: the guest-side test app. On every connected DRM connector it shows,
 * at the connector's preferred mode, 8 vertical colour bars (white, yellow,
 * cyan, green, magenta, red, blue, black; bar i covers x in [i*W/8, (i+1)*W/8))
 * and page-flips forever at the mode's refresh rate, each flip moving a 16x16
 * white square that bounces inside the black bar only. tools/check-pattern
 * verifies exactly this picture, so the two must change together.
 *
 * It runs as a static binary in a busybox initramfs, so it uses the KMS ioctls
 * directly (headers only from libdrm, no libdrm library) and dumb buffers only.
 * virtio-gpu has no real vblank: the flip event arrives when the host has
 * taken the frame, so frames are paced with absolute clock_nanosleep deadlines.
 */
#include <drm.h>
#include <drm_fourcc.h>
#include <drm_mode.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_OUTPUTS 16
#define SQUARE 16
#define NSEC_PER_SEC 1000000000ull
/* A flip event later than this means the device stalled; say so. */
#define FLIP_TIMEOUT_MS 2000
/* Largest mode we accept: keeps w * h * 4 far from overflow. */
#define MAX_DIM 16384
/* The frame-number code of -m: MARK_BITS blocks of MARK_BLOCK pixels at the
 * top left, white for 1, black for 0, most significant first. */
#define MARK_BITS 24
#define MARK_BLOCK 16

/* What changes between frames (-w). */
enum workload {
	WL_SMALL, /* the 16x16 square moves (small damage) */
	WL_FULL,  /* every bar changes colour: every pixel, every frame */
	WL_IDLE,  /* nothing after the first frame */
};

/* XRGB8888, left to right; tools/check-pattern has the same table. */
static const uint32_t bar_colours[8] = {
	0xffffff, /* white */
	0xffff00, /* yellow */
	0x00ffff, /* cyan */
	0x00ff00, /* green */
	0xff00ff, /* magenta */
	0xff0000, /* red */
	0x0000ff, /* blue */
	0x000000, /* black */
};

struct dumb_fb {
	uint32_t handle; /* 0: none */
	uint32_t fb_id; /* 0: none */
	uint32_t pitch;
	uint64_t size;
	uint8_t *map; /* NULL: not mapped */
	int sq_x, sq_y; /* square drawn in this buffer; sq_x < 0: none */
};

struct output {
	bool active;
	uint32_t conn_id;
	uint32_t crtc_id;
	char name[32];
	struct drm_mode_modeinfo mode;
	struct dumb_fb fb[2];
	int front; /* buffer being scanned out */
	bool pending; /* a flip is queued, its event not yet read */
	uint64_t flip_sent_ns;
	bool stall_reported;
	uint64_t period_ns;
	uint64_t deadline_ns; /* when the next flip is due */
	/* the square's position and velocity, inside [x_min, x_max] x [0, y_max] */
	int x, y, vx, vy;
	int x_min, x_max, y_max;
	uint64_t flips;
	uint64_t flips_at_report;
	uint64_t late; /* deadlines we missed by more than a period */
	uint64_t seq;  /* frames drawn (the -m code) */
};

struct app {
	const char *device;
	int fd;
	int uevent_fd; /* -1: no hotplug uevents, rescan on timer only */
	struct output out[MAX_OUTPUTS];
	bool rescan;
	bool reported_none;
	uint64_t max_frames; /* 0: forever */
	unsigned stats_secs; /* 0: no periodic stats */
	uint64_t last_stats_ns;
	enum workload wl;
	uint64_t period_ns; /* -r: frame period; 0: the mode's refresh */
	int marker_fd;      /* -m: "F<seq>" after each flip is queued; -1: none */
};

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("pattern: ", stdout);
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {
		.tv_sec = (time_t)(t / NSEC_PER_SEC),
		.tv_nsec = (long)(t % NSEC_PER_SEC),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
	}
}

/* Like libdrm's drmIoctl: the kernel may ask us to retry. Returns 0 or -errno. */
static int xioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	return ret == -1 ? -errno : 0;
}

static const char *connector_type_name(uint32_t type)
{
	static const char *const names[] = {
		[DRM_MODE_CONNECTOR_Unknown] = "Unknown",
		[DRM_MODE_CONNECTOR_VGA] = "VGA",
		[DRM_MODE_CONNECTOR_DVII] = "DVI-I",
		[DRM_MODE_CONNECTOR_DVID] = "DVI-D",
		[DRM_MODE_CONNECTOR_DVIA] = "DVI-A",
		[DRM_MODE_CONNECTOR_Composite] = "Composite",
		[DRM_MODE_CONNECTOR_SVIDEO] = "SVIDEO",
		[DRM_MODE_CONNECTOR_LVDS] = "LVDS",
		[DRM_MODE_CONNECTOR_Component] = "Component",
		[DRM_MODE_CONNECTOR_9PinDIN] = "DIN",
		[DRM_MODE_CONNECTOR_DisplayPort] = "DP",
		[DRM_MODE_CONNECTOR_HDMIA] = "HDMI-A",
		[DRM_MODE_CONNECTOR_HDMIB] = "HDMI-B",
		[DRM_MODE_CONNECTOR_TV] = "TV",
		[DRM_MODE_CONNECTOR_eDP] = "eDP",
		[DRM_MODE_CONNECTOR_VIRTUAL] = "Virtual",
		[DRM_MODE_CONNECTOR_DSI] = "DSI",
		[DRM_MODE_CONNECTOR_DPI] = "DPI",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type]) {
		return names[type];
	}
	return "Unknown";
}

/* Refresh period of a mode from its timings; falls back to vrefresh, then 60 Hz. */
static uint64_t mode_period_ns(const struct drm_mode_modeinfo *m)
{
	uint64_t total = (uint64_t)m->htotal * m->vtotal;

	if (m->clock && total) {
		/* clock is in kHz: period = htotal * vtotal / (clock * 1000) s */
		uint64_t p = total * 1000000ull / m->clock;

		/* Ignore absurd timings (below 1 Hz or above 1 kHz). */
		if (p >= 1000000ull && p <= NSEC_PER_SEC) {
			return p;
		}
	}
	if (m->vrefresh > 0 && m->vrefresh <= 1000) {
		return NSEC_PER_SEC / m->vrefresh;
	}
	return NSEC_PER_SEC / 60;
}

static void fill_rect(struct dumb_fb *fb, int x0, int y0, int w, int h, uint32_t px)
{
	for (int y = y0; y < y0 + h; y++) {
		uint32_t *row = (uint32_t *)(fb->map + (size_t)y * fb->pitch);

		for (int x = x0; x < x0 + w; x++) {
			row[x] = px;
		}
	}
}

static void draw_bars(struct dumb_fb *fb, int w, int h)
{
	for (int i = 0; i < 8; i++) {
		/* Same integer boundaries as tools/check-pattern: i*W/8 */
		int x0 = i * w / 8;
		int x1 = (i + 1) * w / 8;

		fill_rect(fb, x0, 0, x1 - x0, h, bar_colours[i]);
	}
	fb->sq_x = -1;
}

static void dumb_fb_finish(int fd, struct dumb_fb *fb)
{
	if (fb->map) {
		munmap(fb->map, fb->size);
	}
	if (fb->fb_id) {
		uint32_t id = fb->fb_id;

		xioctl(fd, DRM_IOCTL_MODE_RMFB, &id);
	}
	if (fb->handle) {
		struct drm_mode_destroy_dumb dd = { .handle = fb->handle };

		xioctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
	}
	memset(fb, 0, sizeof(*fb));
}

static int dumb_fb_init(int fd, struct dumb_fb *fb, uint32_t w, uint32_t h)
{
	struct drm_mode_create_dumb cd = { .width = w, .height = h, .bpp = 32 };
	struct drm_mode_fb_cmd2 f = { 0 };
	struct drm_mode_map_dumb md = { 0 };
	void *map;
	int ret;

	memset(fb, 0, sizeof(*fb));
	ret = xioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd);
	if (ret < 0) {
		msg("CREATE_DUMB %ux%u: %s", w, h, strerror(-ret));
		return ret;
	}
	fb->handle = cd.handle;
	fb->pitch = cd.pitch;
	fb->size = cd.size;
	if (cd.pitch < w * 4 || cd.size < (uint64_t)cd.pitch * h) {
		msg("dumb buffer too small: pitch %u size %" PRIu64, cd.pitch, (uint64_t)cd.size);
		ret = -EINVAL;
		goto err;
	}

	f.width = w;
	f.height = h;
	f.pixel_format = DRM_FORMAT_XRGB8888;
	f.handles[0] = cd.handle;
	f.pitches[0] = cd.pitch;
	ret = xioctl(fd, DRM_IOCTL_MODE_ADDFB2, &f);
	if (ret < 0) {
		msg("ADDFB2: %s", strerror(-ret));
		goto err;
	}
	fb->fb_id = f.fb_id;

	md.handle = cd.handle;
	ret = xioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md);
	if (ret < 0) {
		msg("MAP_DUMB: %s", strerror(-ret));
		goto err;
	}
	map = mmap(NULL, fb->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)md.offset);
	if (map == MAP_FAILED) {
		ret = -errno;
		msg("mmap dumb buffer: %s", strerror(errno));
		goto err;
	}
	fb->map = map;
	fb->sq_x = -1;
	return 0;

err:
	dumb_fb_finish(fd, fb);
	return ret;
}

static void output_finish(struct app *app, struct output *o)
{
	for (int i = 0; i < 2; i++) {
		dumb_fb_finish(app->fd, &o->fb[i]);
	}
	memset(o, 0, sizeof(*o));
}

/* Erase the square this buffer showed two frames ago, move it, draw it. */
static void output_step_square(struct output *o, struct dumb_fb *fb)
{
	if (o->x_max < o->x_min || o->y_max < 0) {
		return; /* black bar or mode too small for the square */
	}
	if (fb->sq_x >= 0) {
		fill_rect(fb, fb->sq_x, fb->sq_y, SQUARE, SQUARE, bar_colours[7]);
	}
	if (o->x + o->vx < o->x_min || o->x + o->vx > o->x_max) {
		o->vx = -o->vx;
	}
	if (o->y + o->vy < 0 || o->y + o->vy > o->y_max) {
		o->vy = -o->vy;
	}
	/* A bar narrower than 2 steps would leave us outside: clamp. */
	o->x += o->vx;
	o->y += o->vy;
	if (o->x < o->x_min || o->x > o->x_max) {
		o->x = o->x_min;
	}
	if (o->y < 0 || o->y > o->y_max) {
		o->y = 0;
	}
	fill_rect(fb, o->x, o->y, SQUARE, SQUARE, 0xffffff);
	fb->sq_x = o->x;
	fb->sq_y = o->y;
}

/* -m: the frame number as blocks at the top left (over the white bar). */
static void draw_marker(struct app *app, struct output *o, struct dumb_fb *fb)
{
	if (app->marker_fd < 0 || o->mode.hdisplay < MARK_BITS * MARK_BLOCK ||
		o->mode.vdisplay < MARK_BLOCK) {
		return;
	}
	for (int i = 0; i < MARK_BITS; i++) {
		bool one = (o->seq >> (MARK_BITS - 1 - i)) & 1;

		fill_rect(fb, i * MARK_BLOCK, 0, MARK_BLOCK, MARK_BLOCK, one ? 0xffffff : 0x000000);
	}
}

/* -m: tells the host this frame is on its way (a benchmark timestamps the
 * line as it arrives: guest flip to the host, without a shared clock). */
static void send_marker(struct app *app, const struct output *o)
{
	char line[32];
	int n;

	if (app->marker_fd < 0) {
		return;
	}
	n = snprintf(line, sizeof(line), "F%" PRIu64 "\n", o->seq & ((1u << MARK_BITS) - 1));
	if (write(app->marker_fd, line, (size_t)n) != n) {
		msg("marker write: %s; markers off", strerror(errno));
		close(app->marker_fd);
		app->marker_fd = -1;
	}
}

static int output_flip(struct app *app, struct output *o, unsigned idx)
{
	int back = !o->front;
	struct drm_mode_crtc_page_flip pf = {
		.crtc_id = o->crtc_id,
		.fb_id = o->fb[back].fb_id,
		.flags = DRM_MODE_PAGE_FLIP_EVENT,
		.user_data = idx,
	};
	int ret;

	struct dumb_fb *fb = &o->fb[back];
	int w = o->mode.hdisplay, h = o->mode.vdisplay;

	o->seq++;
	if (app->wl == WL_FULL) {
		for (int i = 0; i < 8; i++) {
			fill_rect(fb, i * w / 8, 0, (i + 1) * w / 8 - i * w / 8, h,
				bar_colours[(i + o->seq) % 8]);
		}
	} else {
		output_step_square(o, fb);
	}
	draw_marker(app, o, fb);
	ret = xioctl(app->fd, DRM_IOCTL_MODE_PAGE_FLIP, &pf);
	if (ret < 0) {
		msg("%s: PAGE_FLIP on crtc %u: %s", o->name, o->crtc_id, strerror(-ret));
		return ret;
	}
	o->pending = true;
	o->flip_sent_ns = now_ns();
	send_marker(app, o);
	return 0;
}

static int set_crtc(struct app *app, uint32_t crtc_id, uint32_t fb_id, uint32_t *conn_id,
	const struct drm_mode_modeinfo *mode)
{
	struct drm_mode_crtc c = { .crtc_id = crtc_id, .fb_id = fb_id };

	if (conn_id) {
		c.set_connectors_ptr = (uint64_t)(uintptr_t)conn_id;
		c.count_connectors = 1;
		c.mode = *mode;
		c.mode_valid = 1;
	}
	return xioctl(app->fd, DRM_IOCTL_MODE_SETCRTC, &c);
}

static int output_setup(struct app *app, struct output *o, uint32_t conn_id, const char *name,
	uint32_t crtc_id, const struct drm_mode_modeinfo *mode)
{
	uint32_t w = mode->hdisplay, h = mode->vdisplay;
	int ret;

	memset(o, 0, sizeof(*o));
	o->conn_id = conn_id;
	o->crtc_id = crtc_id;
	o->mode = *mode;
	snprintf(o->name, sizeof(o->name), "%s", name);

	for (int i = 0; i < 2; i++) {
		ret = dumb_fb_init(app->fd, &o->fb[i], w, h);
		if (ret < 0) {
			goto err;
		}
		draw_bars(&o->fb[i], (int)w, (int)h);
	}

	o->x_min = (int)(7 * w / 8);
	o->x_max = (int)w - SQUARE;
	o->y_max = (int)h - SQUARE;
	o->x = o->x_min;
	o->y = 0;
	o->vx = 1;
	o->vy = 2;
	output_step_square(o, &o->fb[0]);
	draw_marker(app, o, &o->fb[0]);

	ret = set_crtc(app, crtc_id, o->fb[0].fb_id, &o->conn_id, mode);
	if (ret < 0) {
		msg("%s: SETCRTC crtc %u %ux%u: %s", name, crtc_id, w, h, strerror(-ret));
		goto err;
	}
	o->front = 0;
	o->period_ns = app->period_ns ? app->period_ns : mode_period_ns(mode);
	send_marker(app, o);
	o->deadline_ns = now_ns() + o->period_ns;
	o->active = true;
	msg("%s: connector %u mode %s %ux%u@%u (%.3f Hz) crtc %u", name, conn_id, mode->name, w, h,
		mode->vrefresh, 1e9 / (double)o->period_ns, crtc_id);
	return 0;

err:
	output_finish(app, o);
	return ret;
}

static void handle_drm_events(struct app *app);

/* Wait up to FLIP_TIMEOUT_MS for every queued flip event, so buffers can go. */
static void drain_flips(struct app *app)
{
	uint64_t end = now_ns() + FLIP_TIMEOUT_MS * 1000000ull;

	for (;;) {
		struct pollfd p = { .fd = app->fd, .events = POLLIN };
		bool any = false;

		for (int i = 0; i < MAX_OUTPUTS; i++) {
			any |= app->out[i].active && app->out[i].pending;
		}
		if (!any || now_ns() >= end) {
			return;
		}
		if (poll(&p, 1, 100) > 0) {
			handle_drm_events(app);
		}
	}
}

static void output_teardown(struct app *app, struct output *o, const char *why)
{
	msg("%s: stopping on crtc %u (%s) after %" PRIu64 " flips", o->name, o->crtc_id, why, o->flips);
	drain_flips(app);
	set_crtc(app, o->crtc_id, 0, NULL, NULL);
	output_finish(app, o);
}

struct card {
	struct drm_mode_card_res res;
	uint32_t *crtcs;
	uint32_t *conns;
	uint32_t *encs;
	uint32_t *fbs;
};

static void card_finish(struct card *c)
{
	free(c->crtcs);
	free(c->conns);
	free(c->encs);
	free(c->fbs);
	memset(c, 0, sizeof(*c));
}

static int card_init(struct app *app, struct card *c)
{
	int ret;

	memset(c, 0, sizeof(*c));
	/* Counts can grow between the two calls (hotplug): retry until stable. */
	for (int attempt = 0; attempt < 5; attempt++) {
		struct drm_mode_card_res r = { 0 };

		ret = xioctl(app->fd, DRM_IOCTL_MODE_GETRESOURCES, &r);
		if (ret < 0) {
			return ret;
		}
		card_finish(c);
		c->crtcs = calloc(r.count_crtcs + 1, sizeof(uint32_t));
		c->conns = calloc(r.count_connectors + 1, sizeof(uint32_t));
		c->encs = calloc(r.count_encoders + 1, sizeof(uint32_t));
		c->fbs = calloc(r.count_fbs + 1, sizeof(uint32_t));
		if (!c->crtcs || !c->conns || !c->encs || !c->fbs) {
			card_finish(c);
			return -ENOMEM;
		}
		c->res = r;
		c->res.crtc_id_ptr = (uint64_t)(uintptr_t)c->crtcs;
		c->res.connector_id_ptr = (uint64_t)(uintptr_t)c->conns;
		c->res.encoder_id_ptr = (uint64_t)(uintptr_t)c->encs;
		c->res.fb_id_ptr = (uint64_t)(uintptr_t)c->fbs;
		ret = xioctl(app->fd, DRM_IOCTL_MODE_GETRESOURCES, &c->res);
		if (ret < 0) {
			card_finish(c);
			return ret;
		}
		if (c->res.count_crtcs <= r.count_crtcs && c->res.count_connectors <= r.count_connectors &&
			c->res.count_encoders <= r.count_encoders && c->res.count_fbs <= r.count_fbs) {
			return 0;
		}
	}
	card_finish(c);
	return -EAGAIN;
}

struct conn_info {
	struct drm_mode_get_connector c;
	struct drm_mode_modeinfo *modes;
	uint32_t *encs;
	char name[32];
};

static void conn_info_finish(struct conn_info *ci)
{
	free(ci->modes);
	free(ci->encs);
	memset(ci, 0, sizeof(*ci));
}

/* The first call with count_modes == 0 makes the kernel probe the connector. */
static int conn_info_init(struct app *app, struct conn_info *ci, uint32_t id)
{
	int ret;

	memset(ci, 0, sizeof(*ci));
	for (int attempt = 0; attempt < 5; attempt++) {
		struct drm_mode_get_connector q = { .connector_id = id };

		ret = xioctl(app->fd, DRM_IOCTL_MODE_GETCONNECTOR, &q);
		if (ret < 0) {
			return ret;
		}
		conn_info_finish(ci);
		ci->modes = calloc(q.count_modes + 1, sizeof(*ci->modes));
		ci->encs = calloc(q.count_encoders + 1, sizeof(uint32_t));
		if (!ci->modes || !ci->encs) {
			conn_info_finish(ci);
			return -ENOMEM;
		}
		ci->c.connector_id = id;
		ci->c.count_modes = q.count_modes;
		ci->c.count_encoders = q.count_encoders;
		ci->c.modes_ptr = (uint64_t)(uintptr_t)ci->modes;
		ci->c.encoders_ptr = (uint64_t)(uintptr_t)ci->encs;
		if (q.count_modes == 0) {
			/* No mode, so unusable; a second call would only probe again. */
			ci->c = q;
			ci->c.modes_ptr = 0;
			ci->c.encoders_ptr = 0;
			ci->c.props_ptr = 0;
			ci->c.prop_values_ptr = 0;
			ci->c.count_props = 0;
			ci->c.count_encoders = 0;
			break;
		}
		ret = xioctl(app->fd, DRM_IOCTL_MODE_GETCONNECTOR, &ci->c);
		if (ret < 0) {
			conn_info_finish(ci);
			return ret;
		}
		if (ci->c.count_modes <= q.count_modes && ci->c.count_encoders <= q.count_encoders) {
			break;
		}
		if (attempt == 4) {
			conn_info_finish(ci);
			return -EAGAIN;
		}
	}
	snprintf(ci->name, sizeof(ci->name), "%s-%u", connector_type_name(ci->c.connector_type),
		ci->c.connector_type_id);
	return 0;
}

static const struct drm_mode_modeinfo *preferred_mode(const struct conn_info *ci)
{
	for (uint32_t i = 0; i < ci->c.count_modes; i++) {
		if (ci->modes[i].type & DRM_MODE_TYPE_PREFERRED) {
			return &ci->modes[i];
		}
	}
	return ci->c.count_modes ? &ci->modes[0] : NULL;
}

static bool mode_usable(const struct drm_mode_modeinfo *m)
{
	return m && m->hdisplay > 0 && m->vdisplay > 0 && m->hdisplay <= MAX_DIM &&
		m->vdisplay <= MAX_DIM;
}

static bool same_mode(const struct drm_mode_modeinfo *a, const struct drm_mode_modeinfo *b)
{
	return a->hdisplay == b->hdisplay && a->vdisplay == b->vdisplay && a->clock == b->clock &&
		a->htotal == b->htotal && a->vtotal == b->vtotal && a->vrefresh == b->vrefresh &&
		a->flags == b->flags;
}

static bool crtc_in_use(struct app *app, uint32_t crtc_id)
{
	for (int i = 0; i < MAX_OUTPUTS; i++) {
		if (app->out[i].active && app->out[i].crtc_id == crtc_id) {
			return true;
		}
	}
	return false;
}

/* A CRTC one of the connector's encoders can drive and no other output uses. */
static uint32_t pick_crtc(struct app *app, const struct card *card, const struct conn_info *ci)
{
	for (uint32_t e = 0; e < ci->c.count_encoders; e++) {
		struct drm_mode_get_encoder enc = { .encoder_id = ci->encs[e] };

		if (xioctl(app->fd, DRM_IOCTL_MODE_GETENCODER, &enc) < 0) {
			continue;
		}
		/* Keep the CRTC the encoder already drives, if free. */
		if (enc.crtc_id && !crtc_in_use(app, enc.crtc_id)) {
			return enc.crtc_id;
		}
		for (uint32_t i = 0; i < card->res.count_crtcs && i < 32; i++) {
			if ((enc.possible_crtcs & (1u << i)) && !crtc_in_use(app, card->crtcs[i])) {
				return card->crtcs[i];
			}
		}
	}
	return 0;
}

static int rescan(struct app *app)
{
	struct card card;
	struct conn_info *infos;
	int connected = 0;
	int ret;

	app->rescan = false;
	ret = card_init(app, &card);
	if (ret < 0) {
		msg("GETRESOURCES: %s", strerror(-ret));
		return ret;
	}
	infos = calloc(card.res.count_connectors + 1, sizeof(*infos));
	if (!infos) {
		card_finish(&card);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < card.res.count_connectors; i++) {
		ret = conn_info_init(app, &infos[i], card.conns[i]);
		if (ret < 0) {
			msg("GETCONNECTOR %u: %s", card.conns[i], strerror(-ret));
		}
	}

	/* Stop outputs whose connector went away or now prefers another mode. */
	for (int o = 0; o < MAX_OUTPUTS; o++) {
		struct output *out = &app->out[o];
		const struct drm_mode_modeinfo *m = NULL;
		bool found = false;

		if (!out->active) {
			continue;
		}
		for (uint32_t i = 0; i < card.res.count_connectors; i++) {
			if (infos[i].c.connector_id == out->conn_id) {
				found = infos[i].c.connection == 1;
				m = preferred_mode(&infos[i]);
			}
		}
		if (!found || !mode_usable(m)) {
			output_teardown(app, out, "disconnected");
		} else if (!same_mode(m, &out->mode)) {
			output_teardown(app, out, "preferred mode changed");
		}
	}

	/* Start outputs on connected connectors that have none. */
	for (uint32_t i = 0; i < card.res.count_connectors; i++) {
		struct conn_info *ci = &infos[i];
		const struct drm_mode_modeinfo *m = preferred_mode(ci);
		struct output *slot = NULL;
		bool have = false;
		uint32_t crtc;

		if (ci->c.connector_id == 0 || ci->c.connection != 1 || !mode_usable(m)) {
			continue;
		}
		connected++;
		for (int o = 0; o < MAX_OUTPUTS; o++) {
			if (app->out[o].active && app->out[o].conn_id == ci->c.connector_id) {
				have = true;
			} else if (!app->out[o].active && !slot) {
				slot = &app->out[o];
			}
		}
		if (have) {
			continue;
		}
		if (!slot) {
			msg("%s: more than %d outputs, ignored", ci->name, MAX_OUTPUTS);
			continue;
		}
		crtc = pick_crtc(app, &card, ci);
		if (!crtc) {
			msg("%s: no free CRTC", ci->name);
			continue;
		}
		output_setup(app, slot, ci->c.connector_id, ci->name, crtc, m);
	}

	if (connected == 0 && !app->reported_none) {
		msg("no connected connector; rescanning every second and on hotplug");
	}
	app->reported_none = connected == 0;

	for (uint32_t i = 0; i < card.res.count_connectors; i++) {
		conn_info_finish(&infos[i]);
	}
	free(infos);
	card_finish(&card);
	return 0;
}

static void handle_drm_events(struct app *app)
{
	char buf[4096];
	ssize_t n = read(app->fd, buf, sizeof(buf));
	size_t off = 0;

	if (n <= 0) {
		return;
	}
	while ((size_t)n - off >= sizeof(struct drm_event)) {
		struct drm_event ev;

		memcpy(&ev, buf + off, sizeof(ev));
		if (ev.length < sizeof(ev) || ev.length > (size_t)n - off) {
			break;
		}
		if (ev.type == DRM_EVENT_FLIP_COMPLETE && ev.length >= sizeof(struct drm_event_vblank)) {
			struct drm_event_vblank vb;

			memcpy(&vb, buf + off, sizeof(vb));
			if (vb.user_data < MAX_OUTPUTS) {
				struct output *o = &app->out[vb.user_data];

				if (o->active && o->pending) {
					o->pending = false;
					o->front = !o->front;
					o->flips++;
					if (o->stall_reported) {
						msg("%s: flip completed again", o->name);
						o->stall_reported = false;
					}
				}
			}
		}
		off += ev.length;
	}
}

static void handle_uevents(struct app *app)
{
	char buf[8192];
	ssize_t n;

	while ((n = recv(app->uevent_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		bool drm = false, hotplug = false;

		buf[n] = '\0';
		/* NUL-separated "action@devpath", then KEY=VALUE lines */
		for (ssize_t off = 0; off < n; off += (ssize_t)strlen(buf + off) + 1) {
			drm |= strcmp(buf + off, "SUBSYSTEM=drm") == 0;
			hotplug |= strcmp(buf + off, "HOTPLUG=1") == 0;
		}
		if (drm && hotplug) {
			msg("hotplug uevent");
			app->rescan = true;
		}
	}
}

static int open_uevents(void)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		NETLINK_KOBJECT_UEVENT);

	if (fd < 0) {
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_card(const char *path)
{
	/* /init waits for the node; still allow a slow driver a few seconds. */
	for (int i = 0; i < 50; i++) {
		int fd = open(path, O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			return fd;
		}
		if (errno != ENOENT && errno != ENXIO) {
			break;
		}
		usleep(100000);
	}
	msg("open %s: %s", path, strerror(errno));
	return -1;
}

static void print_stats(struct app *app, uint64_t now)
{
	double secs = (double)(now - app->last_stats_ns) / 1e9;

	for (int i = 0; i < MAX_OUTPUTS; i++) {
		struct output *o = &app->out[i];

		if (!o->active) {
			continue;
		}
		msg("%s: %" PRIu64 " flips, %.1f fps, %" PRIu64 " late", o->name, o->flips,
			(double)(o->flips - o->flips_at_report) / secs, o->late);
		o->flips_at_report = o->flips;
	}
	app->last_stats_ns = now;
}

static bool all_done(struct app *app)
{
	int active = 0;

	if (!app->max_frames) {
		return false;
	}
	for (int i = 0; i < MAX_OUTPUTS; i++) {
		if (app->out[i].active) {
			active++;
			if (app->out[i].flips < app->max_frames) {
				return false;
			}
		}
	}
	return active > 0;
}

static int run(struct app *app)
{
	uint64_t last_rescan = 0;

	app->last_stats_ns = now_ns();
	rescan(app);
	last_rescan = now_ns();

	for (;;) {
		uint64_t now = now_ns();
		uint64_t next = UINT64_MAX;
		bool pending = false;
		int active = 0;

		if (all_done(app)) {
			drain_flips(app);
			msg("done: %" PRIu64 " frames on every output", app->max_frames);
			return 0;
		}
		if (app->stats_secs && now - app->last_stats_ns >= app->stats_secs * NSEC_PER_SEC) {
			print_stats(app, now);
		}

		for (unsigned i = 0; i < MAX_OUTPUTS; i++) {
			struct output *o = &app->out[i];

			if (!o->active) {
				continue;
			}
			active++;
			if (!o->pending && app->wl != WL_IDLE &&
				(!app->max_frames || o->flips < app->max_frames) && o->deadline_ns <= now) {
				if (output_flip(app, o, i) < 0) {
					/* e.g. the CRTC was taken away: rebuild from scratch */
					app->rescan = true;
					o->deadline_ns = now + NSEC_PER_SEC;
					continue;
				}
				o->deadline_ns += o->period_ns;
				if (o->deadline_ns <= now) {
					/* Missed a whole period: resynchronise, don't burst. */
					o->late++;
					o->deadline_ns = now + o->period_ns;
				}
			}
			if (o->pending) {
				pending = true;
				if (!o->stall_reported && now > o->flip_sent_ns &&
					now - o->flip_sent_ns > FLIP_TIMEOUT_MS * 1000000ull) {
					msg("%s: no flip event for %d ms (device stalled?)", o->name,
						FLIP_TIMEOUT_MS);
					o->stall_reported = true;
				}
			} else if (app->wl != WL_IDLE && (!app->max_frames || o->flips < app->max_frames) &&
				o->deadline_ns < next) {
				next = o->deadline_ns;
			}
		}

		if (pending || active == 0 || next == UINT64_MAX) {
			/* Flip events (and hotplug) arrive on fds; the next deadline
			 * waits until they are in (-w idle: there is none). */
			struct pollfd p[2] = {
				{ .fd = app->fd, .events = POLLIN },
				{ .fd = app->uevent_fd, .events = POLLIN },
			};
			int timeout = active == 0 ? 1000 : 500;

			if (poll(p, app->uevent_fd >= 0 ? 2 : 1, timeout) > 0) {
				if (p[0].revents & POLLIN) {
					handle_drm_events(app);
				}
				if (app->uevent_fd >= 0 && (p[1].revents & POLLIN)) {
					handle_uevents(app);
				}
			}
		} else if (next != UINT64_MAX) {
			sleep_until(next);
			if (app->uevent_fd >= 0) {
				handle_uevents(app);
			}
		}

		now = now_ns();
		if (active == 0 && now - last_rescan >= NSEC_PER_SEC) {
			app->rescan = true;
		}
		if (app->rescan) {
			rescan(app);
			last_rescan = now_ns();
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pattern [-d DEVICE] [-n FRAMES] [-s SECS] [-w small|full|idle] [-r HZ] [-m PATH]\n"
		"  -d DEVICE  DRM card (default /dev/dri/card0)\n"
		"  -w WHAT    small: the square moves (default); full: every bar changes\n"
		"             colour every frame; idle: nothing moves after the first frame\n"
		"  -r HZ      flips per second (default: the mode's refresh)\n"
		"  -m PATH    benchmark markers: the frame number as 24 16x16 blocks at the\n"
		"             top left, and the line F<number> written to PATH (a serial\n"
		"             port the host timestamps) as each flip is queued\n"
		"  -n FRAMES  exit after FRAMES flips on every output (default: run forever)\n"
		"  -s SECS    print flip statistics every SECS seconds (default 10, 0: never)\n");
}

int main(int argc, char **argv)
{
	struct app app = { .device = "/dev/dri/card0", .fd = -1, .uevent_fd = -1, .stats_secs = 10,
		.marker_fd = -1 };
	const char *marker = NULL;
	int opt, ret;

	/* The console is a serial port that tests read line by line. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	while ((opt = getopt(argc, argv, "d:n:s:w:r:m:h")) != -1) {
		switch (opt) {
		case 'd':
			app.device = optarg;
			break;
		case 'n':
			app.max_frames = strtoull(optarg, NULL, 0);
			break;
		case 's':
			app.stats_secs = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'w':
			if (strcmp(optarg, "small") == 0) {
				app.wl = WL_SMALL;
			} else if (strcmp(optarg, "full") == 0) {
				app.wl = WL_FULL;
			} else if (strcmp(optarg, "idle") == 0) {
				app.wl = WL_IDLE;
			} else {
				usage(stderr);
				return 2;
			}
			break;
		case 'r': {
			unsigned long hz = strtoul(optarg, NULL, 0);

			if (hz < 1 || hz > 1000) {
				usage(stderr);
				return 2;
			}
			app.period_ns = NSEC_PER_SEC / hz;
			break;
		}
		case 'm':
			marker = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	if (marker) {
		struct termios t;

		app.marker_fd = open(marker, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (app.marker_fd < 0) {
			msg("open %s: %s", marker, strerror(errno));
			return 1;
		}
		if (tcgetattr(app.marker_fd, &t) == 0) {
			cfmakeraw(&t);
			cfsetospeed(&t, B115200);
			tcsetattr(app.marker_fd, TCSANOW, &t);
		}
	}
	app.fd = open_card(app.device);
	if (app.fd < 0) {
		return 1;
	}
	/* We are the only client; being master lets GETCONNECTOR probe. */
	ret = xioctl(app.fd, DRM_IOCTL_SET_MASTER, NULL);
	if (ret < 0) {
		msg("SET_MASTER: %s (continuing)", strerror(-ret));
	}
	app.uevent_fd = open_uevents();
	if (app.uevent_fd < 0) {
		msg("no uevent socket (%s): hotplug only by polling", strerror(errno));
	}
	msg("started on %s", app.device);

	ret = run(&app);

	for (int i = 0; i < MAX_OUTPUTS; i++) {
		if (app.out[i].active) {
			output_finish(&app, &app.out[i]);
		}
	}
	if (app.uevent_fd >= 0) {
		close(app.uevent_fd);
	}
	close(app.fd);
	return ret < 0 ? 1 : 0;
}
