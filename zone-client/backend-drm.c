/* SPDX-License-Identifier: MIT */
/* DRM/KMS: the panel driven directly (a thin ECU, no compositor). The
 * connector named by --connector (else the first connected one) runs its
 * preferred mode on a CRTC it can use, with the CRTC's primary plane. Frames
 * go into dumb buffers (three, made once: one on screen, one waiting for
 * its flip, one being filled); a buffer gets only what changed since it
 * last held a frame (scaled to the mode when the zone's size differs).
 * Page flips are atomic commits (legacy drmModePageFlip where the driver
 * has no atomic KMS) with page-flip events, whose timestamps are the
 * present times (present_source "kms-pageflip"). A frame that arrives while
 * a flip is pending waits; a newer one replaces it (the older is reported
 * discarded). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "backend.h"
#ifdef ZC_HAVE_LIBINPUT
#include "input-evdev.h"
#endif
#include "util/clock.h"
#include "util/log.h"

#define N_FB 3

enum fb_state { FB_FREE, FB_QUEUED, FB_PENDING, FB_SCANOUT };

struct dumb_fb {
	uint32_t handle, fb_id, pitch;
	uint64_t size;
	void *map;
	pixman_image_t *image;
	pixman_region32_t stale; /* zone coordinates where it lags the newest frame */
	enum fb_state state;
	uint32_t frame_id;
};

struct drm_backend {
	struct zc_backend base;
	const struct zc_backend_listener *listener;
	void *data;
	uint32_t width, height; /* the zone */
	int fd;
	struct zl_source *src;
	bool atomic, dead;
	char connector_name[32];
	uint32_t conn_id, crtc_id, plane_id, mode_blob;
	drmModeModeInfo mode;
	drmModeCrtc *saved_crtc;
	struct {
		uint32_t conn_crtc_id, crtc_mode_id, crtc_active, fb_id, crtc_id, src_x, src_y, src_w,
			src_h, crtc_x, crtc_y, crtc_w, crtc_h;
	} prop;
	struct dumb_fb fbs[N_FB];
#ifdef ZC_HAVE_LIBINPUT
	struct zc_evdev *evdev; /* the panel's touchscreen, mouse, keyboard */
#endif
	pixman_transform_t scale; /* mode -> zone, when they differ */
	bool scaled;
	int shown; /* the buffer on screen, -1 before the first flip */
};

/* --- properties --- */

static uint32_t find_prop(int fd, uint32_t obj, uint32_t type, const char *name)
{
	drmModeObjectProperties *props = drmModeObjectGetProperties(fd, obj, type);
	uint32_t id = 0;
	for (uint32_t i = 0; props && i < props->count_props && !id; i++) {
		drmModePropertyRes *p = drmModeGetProperty(fd, props->props[i]);
		if (p && strcmp(p->name, name) == 0) {
			id = p->prop_id;
		}
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return id;
}

static uint64_t prop_value(int fd, uint32_t obj, uint32_t type, const char *name, bool *found)
{
	drmModeObjectProperties *props = drmModeObjectGetProperties(fd, obj, type);
	uint64_t v = 0;
	*found = false;
	for (uint32_t i = 0; props && i < props->count_props && !*found; i++) {
		drmModePropertyRes *p = drmModeGetProperty(fd, props->props[i]);
		if (p && strcmp(p->name, name) == 0) {
			v = props->prop_values[i];
			*found = true;
		}
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return v;
}

/* --- picking connector, CRTC, plane --- */

static void connector_name(const drmModeConnector *c, char *buf, size_t len)
{
	const char *type = drmModeGetConnectorTypeName(c->connector_type);
	snprintf(buf, len, "%s-%u", type ? type : "Unknown", c->connector_type_id);
}

static int pick_output(struct drm_backend *d, const char *want)
{
	drmModeRes *res = drmModeGetResources(d->fd);
	if (!res) {
		zl_err("drm: not a KMS device (no resources)");
		return -ENODEV;
	}
	drmModeConnector *conn = NULL;
	char names[256] = "";
	for (int i = 0; i < res->count_connectors && !conn; i++) {
		drmModeConnector *c = drmModeGetConnector(d->fd, res->connectors[i]);
		if (!c) {
			continue;
		}
		char name[32];
		connector_name(c, name, sizeof(name));
		size_t l = strlen(names);
		snprintf(names + l, sizeof(names) - l, "%s%s (%s)", l ? ", " : "", name,
			c->connection == DRM_MODE_CONNECTED ? "connected" : "disconnected");
		bool match = want ? strcmp(name, want) == 0 :
			c->connection == DRM_MODE_CONNECTED && c->count_modes > 0;
		if (match) {
			conn = c;
			snprintf(d->connector_name, sizeof(d->connector_name), "%s", name);
		} else {
			drmModeFreeConnector(c);
		}
	}
	if (!conn || conn->connection != DRM_MODE_CONNECTED || conn->count_modes == 0) {
		zl_err("drm: %s%s%s is not a connected connector with modes (have: %s)",
			want ? "connector " : "no connected connector", want ? want : "", "",
			names[0] ? names : "none");
		drmModeFreeConnector(conn);
		drmModeFreeResources(res);
		return -ENODEV;
	}
	d->conn_id = conn->connector_id;
	d->mode = conn->modes[0];
	for (int i = 0; i < conn->count_modes; i++) {
		if (conn->modes[i].type & DRM_MODE_TYPE_PREFERRED) {
			d->mode = conn->modes[i];
			break;
		}
	}
	/* A CRTC the connector's encoders can drive. */
	for (int e = 0; e < conn->count_encoders && !d->crtc_id; e++) {
		drmModeEncoder *enc = drmModeGetEncoder(d->fd, conn->encoders[e]);
		for (int c = 0; enc && c < res->count_crtcs && !d->crtc_id; c++) {
			if (enc->possible_crtcs & (1u << c)) {
				d->crtc_id = res->crtcs[c];
			}
		}
		drmModeFreeEncoder(enc);
	}
	int crtc_index = -1;
	for (int c = 0; c < res->count_crtcs; c++) {
		if (res->crtcs[c] == d->crtc_id) {
			crtc_index = c;
		}
	}
	drmModeFreeConnector(conn);
	drmModeFreeResources(res);
	if (!d->crtc_id) {
		zl_err("drm: no CRTC for connector %s", d->connector_name);
		return -ENODEV;
	}
	/* Its primary plane (atomic). */
	drmModePlaneRes *planes = drmModeGetPlaneResources(d->fd);
	for (uint32_t i = 0; planes && i < planes->count_planes && !d->plane_id; i++) {
		drmModePlane *p = drmModeGetPlane(d->fd, planes->planes[i]);
		bool found;
		if (p && (p->possible_crtcs & (1u << crtc_index)) &&
			prop_value(d->fd, p->plane_id, DRM_MODE_OBJECT_PLANE, "type", &found) ==
			DRM_PLANE_TYPE_PRIMARY && found) {
			d->plane_id = p->plane_id;
		}
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(planes);
	return 0;
}

static bool setup_atomic(struct drm_backend *d)
{
	if (!d->plane_id || drmSetClientCap(d->fd, DRM_CLIENT_CAP_ATOMIC, 1) < 0) {
		return false;
	}
	d->prop.conn_crtc_id = find_prop(d->fd, d->conn_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID");
	d->prop.crtc_mode_id = find_prop(d->fd, d->crtc_id, DRM_MODE_OBJECT_CRTC, "MODE_ID");
	d->prop.crtc_active = find_prop(d->fd, d->crtc_id, DRM_MODE_OBJECT_CRTC, "ACTIVE");
	const char *names[] = { "FB_ID", "CRTC_ID", "SRC_X", "SRC_Y", "SRC_W", "SRC_H", "CRTC_X",
		"CRTC_Y", "CRTC_W", "CRTC_H" };
	uint32_t *ids[] = { &d->prop.fb_id, &d->prop.crtc_id, &d->prop.src_x, &d->prop.src_y,
		&d->prop.src_w, &d->prop.src_h, &d->prop.crtc_x, &d->prop.crtc_y, &d->prop.crtc_w,
		&d->prop.crtc_h };
	bool ok = d->prop.conn_crtc_id && d->prop.crtc_mode_id && d->prop.crtc_active;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		*ids[i] = find_prop(d->fd, d->plane_id, DRM_MODE_OBJECT_PLANE, names[i]);
		ok &= *ids[i] != 0;
	}
	if (ok && drmModeCreatePropertyBlob(d->fd, &d->mode, sizeof(d->mode), &d->mode_blob) < 0) {
		ok = false;
	}
	return ok;
}

/* --- buffers --- */

static int create_fb(struct drm_backend *d, struct dumb_fb *fb)
{
	struct drm_mode_create_dumb create = {
		.width = d->mode.hdisplay, .height = d->mode.vdisplay, .bpp = 32,
	};
	if (drmIoctl(d->fd, DRM_IOCTL_MODE_CREATE_DUMB, &create) < 0) {
		return -errno;
	}
	fb->handle = create.handle;
	fb->pitch = create.pitch;
	fb->size = create.size;
	uint32_t handles[4] = { fb->handle }, pitches[4] = { fb->pitch }, offsets[4] = { 0 };
	if (drmModeAddFB2(d->fd, d->mode.hdisplay, d->mode.vdisplay, DRM_FORMAT_XRGB8888, handles,
		pitches, offsets, &fb->fb_id, 0) < 0) {
		return -errno;
	}
	struct drm_mode_map_dumb map = { .handle = fb->handle };
	if (drmIoctl(d->fd, DRM_IOCTL_MODE_MAP_DUMB, &map) < 0) {
		return -errno;
	}
	fb->map = mmap(NULL, fb->size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, (off_t)map.offset);
	if (fb->map == MAP_FAILED) {
		fb->map = NULL;
		return -errno;
	}
	memset(fb->map, 0, fb->size);
	fb->image = pixman_image_create_bits(PIXMAN_x8r8g8b8, d->mode.hdisplay, d->mode.vdisplay,
		fb->map, (int)fb->pitch);
	pixman_region32_init_rect(&fb->stale, 0, 0, d->width, d->height);
	return fb->image ? 0 : -ENOMEM;
}

static void destroy_fb(struct drm_backend *d, struct dumb_fb *fb)
{
	if (fb->image) {
		pixman_image_unref(fb->image);
		pixman_region32_fini(&fb->stale);
	}
	if (fb->map) {
		munmap(fb->map, fb->size);
	}
	if (fb->fb_id) {
		drmModeRmFB(d->fd, fb->fb_id);
	}
	if (fb->handle) {
		struct drm_mode_destroy_dumb dd = { .handle = fb->handle };
		drmIoctl(d->fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
	}
}

/* The zone's damage into fb (scaled to the mode if it differs). */
static void fill(struct drm_backend *d, struct dumb_fb *fb, pixman_image_t *frame,
	const pixman_region32_t *damage)
{
	pixman_region32_union(&fb->stale, &fb->stale, (pixman_region32_t *)damage);
	int n = 0;
	const pixman_box32_t *r = pixman_region32_rectangles(&fb->stale, &n);
	if (d->scaled) {
		pixman_image_set_transform(frame, &d->scale);
		pixman_image_set_filter(frame, PIXMAN_FILTER_BILINEAR, NULL, 0);
	}
	for (int i = 0; i < n; i++) {
		int32_t x1 = r[i].x1, y1 = r[i].y1, x2 = r[i].x2, y2 = r[i].y2;
		if (d->scaled) {
			/* Zone box to mode box, a pixel wider for the filter. */
			x1 = (int32_t)((int64_t)x1 * d->mode.hdisplay / d->width) - 1;
			y1 = (int32_t)((int64_t)y1 * d->mode.vdisplay / d->height) - 1;
			x2 = (int32_t)(((int64_t)x2 * d->mode.hdisplay + d->width - 1) / d->width) + 1;
			y2 = (int32_t)(((int64_t)y2 * d->mode.vdisplay + d->height - 1) / d->height) + 1;
			x1 = x1 < 0 ? 0 : x1;
			y1 = y1 < 0 ? 0 : y1;
			x2 = x2 > d->mode.hdisplay ? d->mode.hdisplay : x2;
			y2 = y2 > d->mode.vdisplay ? d->mode.vdisplay : y2;
		}
		pixman_image_composite32(PIXMAN_OP_SRC, frame, NULL, fb->image, x1, y1, 0, 0, x1, y1,
			x2 - x1, y2 - y1);
	}
	if (d->scaled) {
		pixman_image_set_transform(frame, NULL);
		pixman_image_set_filter(frame, PIXMAN_FILTER_NEAREST, NULL, 0);
	}
	pixman_region32_clear(&fb->stale);
	for (unsigned i = 0; i < N_FB; i++) {
		if (&d->fbs[i] != fb) {
			pixman_region32_union(&d->fbs[i].stale, &d->fbs[i].stale,
				(pixman_region32_t *)damage);
		}
	}
}

/* --- flips --- */

static int commit(struct drm_backend *d, struct dumb_fb *fb, bool modeset)
{
	if (!d->atomic) {
		if (modeset) {
			return drmModeSetCrtc(d->fd, d->crtc_id, fb->fb_id, 0, 0, &d->conn_id, 1, &d->mode) <
				0 ? -errno : 0;
		}
		return drmModePageFlip(d->fd, d->crtc_id, fb->fb_id, DRM_MODE_PAGE_FLIP_EVENT, d) < 0 ?
			-errno : 0;
	}
	drmModeAtomicReq *req = drmModeAtomicAlloc();
	if (!req) {
		return -ENOMEM;
	}
	uint32_t w = d->mode.hdisplay, h = d->mode.vdisplay;
	if (modeset) {
		drmModeAtomicAddProperty(req, d->conn_id, d->prop.conn_crtc_id, d->crtc_id);
		drmModeAtomicAddProperty(req, d->crtc_id, d->prop.crtc_mode_id, d->mode_blob);
		drmModeAtomicAddProperty(req, d->crtc_id, d->prop.crtc_active, 1);
		drmModeAtomicAddProperty(req, d->plane_id, d->prop.crtc_id, d->crtc_id);
		drmModeAtomicAddProperty(req, d->plane_id, d->prop.src_x, 0);
		drmModeAtomicAddProperty(req, d->plane_id, d->prop.src_y, 0);
		drmModeAtomicAddProperty(req, d->plane_id, d->prop.src_w, (uint64_t)w << 16);
		drmModeAtomicAddProperty(req, d->plane_id, d->prop.src_h, (uint64_t)h << 16);
		drmModeAtomicAddProperty(req, d->plane_id, d->prop.crtc_x, 0);
		drmModeAtomicAddProperty(req, d->plane_id, d->prop.crtc_y, 0);
		drmModeAtomicAddProperty(req, d->plane_id, d->prop.crtc_w, w);
		drmModeAtomicAddProperty(req, d->plane_id, d->prop.crtc_h, h);
	}
	drmModeAtomicAddProperty(req, d->plane_id, d->prop.fb_id, fb->fb_id);
	uint32_t flags = modeset ? DRM_MODE_ATOMIC_ALLOW_MODESET :
		DRM_MODE_PAGE_FLIP_EVENT | DRM_MODE_ATOMIC_NONBLOCK;
	int r = drmModeAtomicCommit(d->fd, req, flags, d);
	drmModeAtomicFree(req);
	return r < 0 ? -errno : 0;
}

static struct dumb_fb *fb_in(struct drm_backend *d, enum fb_state s)
{
	for (unsigned i = 0; i < N_FB; i++) {
		if (d->fbs[i].state == s) {
			return &d->fbs[i];
		}
	}
	return NULL;
}

static void lost(struct drm_backend *d, const char *why)
{
	if (!d->dead) {
		d->dead = true;
		if (d->listener && d->listener->closed) {
			d->listener->closed(d->data, why, true);
		}
	}
}

static void flip(struct drm_backend *d, struct dumb_fb *fb)
{
	int r = commit(d, fb, false);
	if (r < 0) {
		zl_err("drm: page flip on %s: %s", d->connector_name, strerror(-r));
		lost(d, "the display refused a page flip");
		return;
	}
	fb->state = FB_PENDING;
}

static void on_page_flip(int fd, unsigned seq, unsigned sec, unsigned usec, unsigned crtc,
	void *data)
{
	(void)fd, (void)seq, (void)crtc;
	struct drm_backend *d = data;
	struct dumb_fb *fb = fb_in(d, FB_PENDING);
	if (!fb) {
		return;
	}
	struct dumb_fb *old = fb_in(d, FB_SCANOUT);
	if (old) {
		old->state = FB_FREE;
	}
	fb->state = FB_SCANOUT;
	d->shown = (int)(fb - d->fbs);
	uint32_t id = fb->frame_id;
	/* A frame waiting for this flip goes next. */
	struct dumb_fb *q = fb_in(d, FB_QUEUED);
	if (q) {
		flip(d, q);
	}
	if (d->listener && d->listener->presented) {
		/* DRM's event timestamps are CLOCK_MONOTONIC. */
		d->listener->presented(d->data, id, (uint64_t)sec * 1000000000ull +
			(uint64_t)usec * 1000ull);
	}
}

static void on_drm(void *data, int fd, uint32_t events)
{
	struct drm_backend *d = data;
	if (events & (EPOLLERR | EPOLLHUP)) {
		lost(d, "the DRM device went away");
		return;
	}
	drmEventContext ev = { .version = 3, .page_flip_handler2 = on_page_flip };
	if (drmHandleEvent(fd, &ev) < 0 && errno != EAGAIN) {
		lost(d, "reading the DRM device failed");
	}
}

/* --- the backend --- */

static int open_device(struct drm_backend *d, const char *path)
{
	if (path) {
		d->fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (d->fd < 0) {
			zl_log_errno(ZL_ERROR, "drm: %s", path);
			return -errno;
		}
		return 0;
	}
	/* The first card that can drive a panel. */
	for (int i = 0; i < 16; i++) {
		char p[32];
		snprintf(p, sizeof(p), "/dev/dri/card%d", i);
		int fd = open(p, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			continue;
		}
		drmModeRes *res = drmModeGetResources(fd);
		if (res && res->count_crtcs > 0) {
			drmModeFreeResources(res);
			d->fd = fd;
			return 0;
		}
		drmModeFreeResources(res);
		close(fd);
	}
	zl_err("drm: no KMS device in /dev/dri (--device)");
	return -ENODEV;
}

static void drm_destroy(struct zc_backend *b);

#ifdef ZC_HAVE_LIBINPUT
static void on_evdev(void *data, const struct zc_input_event *ev)
{
	struct drm_backend *d = data;
	if (d->listener && d->listener->input && !d->dead) {
		d->listener->input(d->data, ev);
	}
}
#endif

static struct zc_backend *drm_create(struct zl_loop *loop, uint32_t width, uint32_t height,
	const struct zc_backend_options *opts, const struct zc_backend_listener *listener,
	void *data)
{
	struct drm_backend *d = calloc(1, sizeof(*d));
	if (!d) {
		return NULL;
	}
	d->base.impl = &zc_backend_drm;
	d->listener = listener;
	d->data = data;
	d->width = width;
	d->height = height;
	d->fd = -1;
	d->shown = -1;
	if (open_device(d, opts ? opts->device : NULL) < 0) {
		goto err;
	}
	/* Primary planes are listed only with universal planes. */
	drmSetClientCap(d->fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
	if (pick_output(d, opts ? opts->connector : NULL) < 0) {
		goto err;
	}
	d->atomic = setup_atomic(d);
	d->saved_crtc = drmModeGetCrtc(d->fd, d->crtc_id);
	for (unsigned i = 0; i < N_FB; i++) {
		int r = create_fb(d, &d->fbs[i]);
		if (r < 0) {
			zl_err("drm: dumb buffer %ux%u: %s", d->mode.hdisplay, d->mode.vdisplay,
				strerror(-r));
			goto err;
		}
	}
	d->scaled = d->mode.hdisplay != width || d->mode.vdisplay != height;
	if (d->scaled) {
		pixman_transform_init_scale(&d->scale,
			pixman_double_to_fixed((double)width / d->mode.hdisplay),
			pixman_double_to_fixed((double)height / d->mode.vdisplay));
	}
	/* Light the panel up (black) now; frames flip onto it. */
	int r = commit(d, &d->fbs[0], true);
	if (r < 0) {
		zl_err("drm: mode %ux%u@%u on %s: %s", d->mode.hdisplay, d->mode.vdisplay,
			d->mode.vrefresh, d->connector_name, strerror(-r));
		goto err;
	}
	d->fbs[0].state = FB_SCANOUT; /* black: no frame shown yet */
	d->src = zl_loop_add_fd(loop, d->fd, EPOLLIN, on_drm, d);
	if (!d->src) {
		goto err;
	}
#ifdef ZC_HAVE_LIBINPUT
	/* Without it the panel still shows the zone. */
	d->evdev = zc_evdev_create(loop, width, height, on_evdev, d);
#endif
	zl_info("drm: %s %ux%u@%u (%s KMS), showing the %ux%u zone%s", d->connector_name,
		d->mode.hdisplay, d->mode.vdisplay, d->mode.vrefresh, d->atomic ? "atomic" : "legacy",
		width, height, d->scaled ? " scaled" : "");
	return &d->base;
err:
	drm_destroy(&d->base);
	return NULL;
}

static void drm_destroy(struct zc_backend *b)
{
	struct drm_backend *d = (struct drm_backend *)b;
#ifdef ZC_HAVE_LIBINPUT
	zc_evdev_destroy(d->evdev);
#endif
	zl_source_remove(d->src);
	if (d->saved_crtc) {
		/* Give the panel back as it was (a console, another client). */
		drmModeSetCrtc(d->fd, d->saved_crtc->crtc_id, d->saved_crtc->buffer_id,
			d->saved_crtc->x, d->saved_crtc->y, &d->conn_id, 1, &d->saved_crtc->mode);
		drmModeFreeCrtc(d->saved_crtc);
	}
	for (unsigned i = 0; i < N_FB; i++) {
		destroy_fb(d, &d->fbs[i]);
	}
	if (d->mode_blob) {
		drmModeDestroyPropertyBlob(d->fd, d->mode_blob);
	}
	if (d->fd >= 0) {
		close(d->fd);
	}
	free(d);
}

static int drm_present(struct zc_backend *b, pixman_image_t *frame,
	const pixman_region32_t *damage, uint32_t frame_id)
{
	struct drm_backend *d = (struct drm_backend *)b;
	if (d->dead) {
		return -EPIPE;
	}
	/* A frame still waiting for a flip is replaced by this newer one. */
	struct dumb_fb *fb = fb_in(d, FB_QUEUED);
	if (fb) {
		uint32_t old = fb->frame_id;
		fb->state = FB_FREE;
		if (d->listener && d->listener->discarded) {
			d->listener->discarded(d->data, old);
		}
	}
	fb = fb_in(d, FB_FREE);
	if (!fb) {
		return -EBUSY; /* cannot happen with three buffers */
	}
	fill(d, fb, frame, damage);
	fb->frame_id = frame_id;
	if (fb_in(d, FB_PENDING)) {
		fb->state = FB_QUEUED;
	} else {
		flip(d, fb);
	}
	return 0;
}

static int drm_probe(const struct zc_backend_options *opts, struct zc_panel_info *panel)
{
	struct drm_backend d = { .fd = -1 };
	int r = open_device(&d, opts ? opts->device : NULL);
	if (r < 0) {
		return r;
	}
	drmSetClientCap(d.fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
	r = pick_output(&d, opts ? opts->connector : NULL);
	if (r == 0) {
		panel->width = d.mode.hdisplay;
		panel->height = d.mode.vdisplay;
		panel->refresh_hz = d.mode.vrefresh;
		panel->edid_len = 0;
		bool found;
		uint64_t blob_id = prop_value(d.fd, d.conn_id, DRM_MODE_OBJECT_CONNECTOR, "EDID", &found);
		drmModePropertyBlobRes *blob = found && blob_id ?
			drmModeGetPropertyBlob(d.fd, (uint32_t)blob_id) : NULL;
		if (blob && blob->length % 128 == 0 && blob->length <= sizeof(panel->edid)) {
			memcpy(panel->edid, blob->data, blob->length);
			panel->edid_len = blob->length;
		}
		drmModeFreePropertyBlob(blob);
		zl_info("drm: panel %s %ux%u@%u, EDID %zu bytes", d.connector_name, panel->width,
			panel->height, panel->refresh_hz, panel->edid_len);
	}
	close(d.fd);
	return r;
}

static pixman_image_t *drm_snapshot(struct zc_backend *b)
{
	struct drm_backend *d = (struct drm_backend *)b;
	return d->shown >= 0 ? d->fbs[d->shown].image : NULL;
}

const struct zc_backend_impl zc_backend_drm = {
	.name = "drm",
	.present_source = "kms-pageflip",
	.create = drm_create,
	.destroy = drm_destroy,
	.probe = drm_probe,
	.present = drm_present,
	.snapshot = drm_snapshot,
};
