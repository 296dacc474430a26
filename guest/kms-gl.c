/* SPDX-License-Identifier: MIT */
/* The display side of the GL guest apps (see kms-gl.h). */
#include "kms-gl.h"

#include <EGL/eglext.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>

#define NSEC_PER_SEC 1000000000ull
#define FLIP_TIMEOUT_MS 5000

void kgl_msg(const struct kgl *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s: ", k->tag);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

uint64_t kgl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

void kgl_sleep_until(uint64_t t)
{
	struct timespec ts = {
		.tv_sec = (time_t)(t / NSEC_PER_SEC),
		.tv_nsec = (long)(t % NSEC_PER_SEC),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
	}
}

uint64_t kgl_mode_period_ns(const drmModeModeInfo *m)
{
	uint64_t total = (uint64_t)m->htotal * m->vtotal;

	if (m->clock && total) {
		uint64_t p = total * 1000000ull / m->clock;

		if (p >= 1000000ull && p <= NSEC_PER_SEC) {
			return p;
		}
	}
	if (m->vrefresh > 0 && m->vrefresh <= 1000) {
		return NSEC_PER_SEC / m->vrefresh;
	}
	return NSEC_PER_SEC / 60;
}

static bool crtc_taken(const struct kgl *k, uint32_t crtc)
{
	for (unsigned i = 0; i < k->n_outputs; i++) {
		if (k->out[i].crtc_id == crtc) {
			return true;
		}
	}
	return false;
}

/* A free CRTC this connector's encoders can drive, or 0. */
static uint32_t pick_crtc(const struct kgl *k, const drmModeRes *res, const drmModeConnector *c)
{
	for (int e = 0; e < c->count_encoders; e++) {
		drmModeEncoder *enc = drmModeGetEncoder(k->fd, c->encoders[e]);
		uint32_t crtc = 0;

		if (!enc) {
			continue;
		}
		if (enc->crtc_id && !crtc_taken(k, enc->crtc_id)) {
			crtc = enc->crtc_id;
		}
		for (int i = 0; !crtc && i < res->count_crtcs && i < 32; i++) {
			if ((enc->possible_crtcs & (1u << i)) && !crtc_taken(k, res->crtcs[i])) {
				crtc = res->crtcs[i];
			}
		}
		drmModeFreeEncoder(enc);
		if (crtc) {
			return crtc;
		}
	}
	return 0;
}

/* Connected connectors with a usable preferred (else first) mode and a free CRTC, in order. */
static int pick_outputs(struct kgl *k, unsigned max_outputs)
{
	drmModeRes *res = drmModeGetResources(k->fd);

	k->n_outputs = 0;
	if (!res) {
		kgl_msg(k, "drmModeGetResources: %s", strerror(errno));
		return -errno;
	}
	for (int i = 0; i < res->count_connectors && k->n_outputs < max_outputs; i++) {
		drmModeConnector *c = drmModeGetConnector(k->fd, res->connectors[i]);
		drmModeModeInfo *m = NULL;
		uint32_t crtc;

		if (!c) {
			continue;
		}
		if (c->connection == DRM_MODE_CONNECTED && c->count_modes > 0) {
			m = &c->modes[0];
			for (int j = 0; j < c->count_modes; j++) {
				if (c->modes[j].type & DRM_MODE_TYPE_PREFERRED) {
					m = &c->modes[j];
					break;
				}
			}
		}
		if (m && m->hdisplay >= 8 && m->vdisplay >= 1 && (crtc = pick_crtc(k, res, c)) != 0) {
			struct kgl_output *o = &k->out[k->n_outputs++];
			const char *type = drmModeGetConnectorTypeName(c->connector_type);

			memset(o, 0, sizeof(*o));
			o->conn_id = c->connector_id;
			o->crtc_id = crtc;
			o->mode = *m;
			o->egl_surf = EGL_NO_SURFACE;
			snprintf(o->name, sizeof(o->name), "%s-%u", type ? type : "Unknown",
				c->connector_type_id);
		}
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	return (int)k->n_outputs;
}

static int egl_init(struct kgl *k)
{
	static const EGLint cfg_attrs[] = {
		EGL_SURFACE_TYPE, EGL_WINDOW_BIT,
		EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8,
		EGL_RENDERABLE_TYPE, EGL_OPENGL_ES2_BIT,
		EGL_NONE,
	};
	static const EGLint ctx_attrs[] = { EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE };
	PFNEGLGETPLATFORMDISPLAYEXTPROC get_platform_display =
		(PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	EGLConfig cfgs[64];
	EGLint major, minor, n = 0;

	k->dpy = get_platform_display ? get_platform_display(EGL_PLATFORM_GBM_KHR, k->gbm, NULL) :
					eglGetDisplay((EGLNativeDisplayType)k->gbm);
	if (k->dpy == EGL_NO_DISPLAY || !eglInitialize(k->dpy, &major, &minor)) {
		kgl_msg(k, "eglInitialize failed (0x%x)", (unsigned)eglGetError());
		k->dpy = EGL_NO_DISPLAY;
		return -ENODEV;
	}
	kgl_msg(k, "EGL %d.%d %s", major, minor, eglQueryString(k->dpy, EGL_VENDOR));
	if (!eglBindAPI(EGL_OPENGL_ES_API) || !eglChooseConfig(k->dpy, cfg_attrs, cfgs, 64, &n)) {
		kgl_msg(k, "eglChooseConfig failed (0x%x)", (unsigned)eglGetError());
		return -ENODEV;
	}
	/* The config whose visual is the GBM surfaces' format. */
	k->cfg = NULL;
	for (EGLint i = 0; i < n && !k->cfg; i++) {
		EGLint id = 0;

		if (eglGetConfigAttrib(k->dpy, cfgs[i], EGL_NATIVE_VISUAL_ID, &id) &&
			id == GBM_FORMAT_XRGB8888) {
			k->cfg = cfgs[i];
		}
	}
	if (!k->cfg) {
		kgl_msg(k, "no EGL config for XRGB8888 (%d configs)", n);
		return -ENODEV;
	}
	k->ctx = eglCreateContext(k->dpy, k->cfg, EGL_NO_CONTEXT, ctx_attrs);
	if (k->ctx == EGL_NO_CONTEXT) {
		kgl_msg(k, "eglCreateContext failed (0x%x)", (unsigned)eglGetError());
		return -ENODEV;
	}
	for (unsigned i = 0; i < k->n_outputs; i++) {
		struct kgl_output *o = &k->out[i];

		o->surf = gbm_surface_create(k->gbm, o->mode.hdisplay, o->mode.vdisplay,
			GBM_FORMAT_XRGB8888, GBM_BO_USE_SCANOUT | GBM_BO_USE_RENDERING);
		if (!o->surf) {
			kgl_msg(k, "gbm_surface_create %ux%u failed", o->mode.hdisplay, o->mode.vdisplay);
			return -ENOMEM;
		}
		o->egl_surf = eglCreateWindowSurface(k->dpy, k->cfg, (EGLNativeWindowType)o->surf, NULL);
		if (o->egl_surf == EGL_NO_SURFACE) {
			kgl_msg(k, "eglCreateWindowSurface failed (0x%x)", (unsigned)eglGetError());
			return -ENODEV;
		}
	}
	return kgl_make_current(k, 0);
}

int kgl_open(struct kgl *k, const char *tag, const char *device, unsigned min_outputs,
	unsigned max_outputs)
{
	memset(k, 0, sizeof(*k));
	k->tag = tag;
	k->dpy = EGL_NO_DISPLAY;
	k->ctx = EGL_NO_CONTEXT;
	if (max_outputs > KGL_MAX_OUTPUTS) {
		max_outputs = KGL_MAX_OUTPUTS;
	}
	if (min_outputs < 1 || min_outputs > max_outputs) {
		min_outputs = 1;
	}
	k->fd = open(device, O_RDWR | O_CLOEXEC);
	if (k->fd < 0) {
		kgl_msg(k, "open %s: %s", device, strerror(errno));
		return -errno;
	}
	if (drmSetMaster(k->fd) != 0) {
		kgl_msg(k, "drmSetMaster: %s (continuing)", strerror(errno));
	}
	kgl_msg(k, "started on %s", device);
	/* Connectors may come up a little after the card: retry for a while. */
	for (int i = 0; i < 100 && pick_outputs(k, max_outputs) < (int)min_outputs; i++) {
		usleep(100000);
	}
	if (k->n_outputs < min_outputs) {
		kgl_msg(k, "%u connected connector(s) with a mode and a CRTC, need %u", k->n_outputs,
			min_outputs);
		return -ENODEV;
	}
	k->gbm = gbm_create_device(k->fd);
	if (!k->gbm) {
		kgl_msg(k, "gbm_create_device failed");
		return -ENODEV;
	}
	kgl_msg(k, "GBM backend %s", gbm_device_get_backend_name(k->gbm));
	return egl_init(k);
}

int kgl_make_current(struct kgl *k, unsigned i)
{
	if (i >= k->n_outputs || !eglMakeCurrent(k->dpy, k->out[i].egl_surf, k->out[i].egl_surf, k->ctx)) {
		kgl_msg(k, "eglMakeCurrent failed (0x%x)", (unsigned)eglGetError());
		return -ENODEV;
	}
	eglSwapInterval(k->dpy, 0);
	return 0;
}

static void bo_destroy(struct gbm_bo *bo, void *data)
{
	uint32_t fb = (uint32_t)(uintptr_t)data;

	/* GBM device fd == our DRM fd */
	if (fb) {
		drmModeRmFB(gbm_device_get_fd(gbm_bo_get_device(bo)), fb);
	}
}

/* The KMS framebuffer of a GBM buffer, made once and kept in its user data. */
static uint32_t bo_fb(struct kgl *k, struct gbm_bo *bo)
{
	uint32_t fb = (uint32_t)(uintptr_t)gbm_bo_get_user_data(bo);
	uint32_t handles[4] = { gbm_bo_get_handle(bo).u32 };
	uint32_t pitches[4] = { gbm_bo_get_stride(bo) };
	uint32_t offsets[4] = { 0 };

	if (fb) {
		return fb;
	}
	if (drmModeAddFB2(k->fd, gbm_bo_get_width(bo), gbm_bo_get_height(bo), GBM_FORMAT_XRGB8888,
		    handles, pitches, offsets, &fb, 0) != 0) {
		kgl_msg(k, "drmModeAddFB2: %s", strerror(errno));
		return 0;
	}
	gbm_bo_set_user_data(bo, (void *)(uintptr_t)fb, bo_destroy);
	return fb;
}

int kgl_present(struct kgl *k, unsigned i)
{
	struct kgl_output *o = &k->out[i];
	struct gbm_bo *bo;
	uint32_t fb;

	if (!eglSwapBuffers(k->dpy, o->egl_surf)) {
		kgl_msg(k, "eglSwapBuffers failed (0x%x)", (unsigned)eglGetError());
		return -EIO;
	}
	bo = gbm_surface_lock_front_buffer(o->surf);
	if (!bo) {
		kgl_msg(k, "gbm_surface_lock_front_buffer failed");
		return -EIO;
	}
	fb = bo_fb(k, bo);
	if (!fb) {
		gbm_surface_release_buffer(o->surf, bo);
		return -EIO;
	}
	if (!o->shown) {
		if (drmModeSetCrtc(k->fd, o->crtc_id, fb, 0, 0, &o->conn_id, 1, &o->mode) != 0) {
			int err = errno;

			kgl_msg(k, "%s: drmModeSetCrtc crtc %u: %s", o->name, o->crtc_id, strerror(err));
			gbm_surface_release_buffer(o->surf, bo);
			return -err;
		}
		o->front = bo;
		o->shown = true;
		kgl_msg(k, "%s: connector %u mode %s %ux%u@%u (%.3f Hz) crtc %u", o->name, o->conn_id,
			o->mode.name, o->mode.hdisplay, o->mode.vdisplay, o->mode.vrefresh,
			1e9 / (double)kgl_mode_period_ns(&o->mode), o->crtc_id);
		return 0;
	}
	if (drmModePageFlip(k->fd, o->crtc_id, fb, DRM_MODE_PAGE_FLIP_EVENT, o) != 0) {
		int err = errno;

		kgl_msg(k, "%s: drmModePageFlip: %s", o->name, strerror(err));
		gbm_surface_release_buffer(o->surf, bo);
		return -err;
	}
	o->next = bo;
	o->pending = true;
	return 0;
}

static void flip_done(int fd, unsigned seq, unsigned sec, unsigned usec, void *data)
{
	struct kgl_output *o = data;

	(void)fd;
	(void)seq;
	(void)sec;
	(void)usec;
	if (o->front) {
		gbm_surface_release_buffer(o->surf, o->front);
	}
	o->front = o->next;
	o->next = NULL;
	o->pending = false;
	o->flips++;
}

static bool any_pending(const struct kgl *k)
{
	for (unsigned i = 0; i < k->n_outputs; i++) {
		if (k->out[i].pending) {
			return true;
		}
	}
	return false;
}

int kgl_wait_flips(struct kgl *k)
{
	drmEventContext ev = { .version = 2, .page_flip_handler = flip_done };
	uint64_t end = kgl_now_ns() + FLIP_TIMEOUT_MS * 1000000ull;

	while (any_pending(k)) {
		struct pollfd p = { .fd = k->fd, .events = POLLIN };
		int r = poll(&p, 1, 500);

		if (r > 0) {
			drmHandleEvent(k->fd, &ev);
		} else if (r < 0 && errno != EINTR) {
			return -errno;
		}
		if (any_pending(k) && kgl_now_ns() > end) {
			kgl_msg(k, "no flip event for %d ms (device stalled?)", FLIP_TIMEOUT_MS);
			end = kgl_now_ns() + FLIP_TIMEOUT_MS * 1000000ull;
		}
	}
	return 0;
}

void kgl_close(struct kgl *k)
{
	if (k->dpy != EGL_NO_DISPLAY) {
		eglMakeCurrent(k->dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
		for (unsigned i = 0; i < k->n_outputs; i++) {
			if (k->out[i].egl_surf != EGL_NO_SURFACE) {
				eglDestroySurface(k->dpy, k->out[i].egl_surf);
			}
		}
		if (k->ctx != EGL_NO_CONTEXT) {
			eglDestroyContext(k->dpy, k->ctx);
		}
		eglTerminate(k->dpy);
		k->dpy = EGL_NO_DISPLAY;
	}
	for (unsigned i = 0; i < k->n_outputs; i++) {
		if (k->out[i].surf) {
			gbm_surface_destroy(k->out[i].surf);
			k->out[i].surf = NULL;
		}
	}
	if (k->gbm) {
		gbm_device_destroy(k->gbm);
		k->gbm = NULL;
	}
	if (k->fd >= 0) {
		close(k->fd);
		k->fd = -1;
	}
}
