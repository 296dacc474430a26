/* SPDX-License-Identifier: MIT */
/*
 * gles-pattern: the GL guest app. The same picture as guest/pattern.c (8
 * vertical bars, white, yellow, cyan, green, magenta, red, blue, black; bar i
 * covers x in [i*W/8, (i+1)*W/8)), drawn through Mesa: GBM + EGL on the DRM
 * card, GLES2 scissored clears for the bars, and a rotating lit cube drawn
 * with the scissor set to the black bar, so no other bar is ever touched.
 * Frames reach the display by KMS page flips of gbm_surface buffers, with
 * flip events, paced to the mode's refresh. The scene itself is gles-scene.c,
 * which the host reference renderer (tests/reference/render-scene) shares.
 *
 * With a 3D-capable virtio-gpu Mesa uses virgl; on a 2D-only device it falls
 * back to kms_swrast (llvmpipe into dumb buffers). tools/check-pattern
 * --black-bar-any checks the result. The first (connected, preferred-mode)
 * connector is used.
 */
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <errno.h>
#include <fcntl.h>
#include <gbm.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "gles-scene.h"

#define NSEC_PER_SEC 1000000000ull
#define FLIP_TIMEOUT_MS 5000

struct gp_app {
	const char *device;
	uint64_t max_frames; /* 0: forever */
	unsigned stats_secs;
	int fd;
	uint32_t conn_id, crtc_id;
	drmModeModeInfo mode;
	char name[32];
	struct gbm_device *gbm;
	struct gbm_surface *surf;
	EGLDisplay dpy;
	EGLContext ctx;
	EGLSurface egl_surf;
	struct gles_scene scene;
	uint64_t still;      /* frame number + 1 to draw every time; 0: animate */
	struct gbm_bo *front; /* being scanned out */
	struct gbm_bo *next; /* queued by the pending flip */
	bool pending;
	uint64_t flips, flips_at_report, late;
};

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("gles-pattern: ", stdout);
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

static uint64_t mode_period_ns(const drmModeModeInfo *m)
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

/* The first connected connector with a usable preferred (else first) mode and a CRTC. */
static int gp_pick_output(struct gp_app *app)
{
	drmModeRes *res = drmModeGetResources(app->fd);
	int ret = -ENODEV;

	if (!res) {
		msg("drmModeGetResources: %s", strerror(errno));
		return -errno;
	}
	for (int i = 0; i < res->count_connectors && ret < 0; i++) {
		drmModeConnector *c = drmModeGetConnector(app->fd, res->connectors[i]);
		drmModeModeInfo *m = NULL;

		if (!c) {
			continue;
		}
		if (c->connection == DRM_MODE_CONNECTED && c->count_modes > 0) {
			m = &c->modes[0];
			for (int k = 0; k < c->count_modes; k++) {
				if (c->modes[k].type & DRM_MODE_TYPE_PREFERRED) {
					m = &c->modes[k];
					break;
				}
			}
		}
		if (m && m->hdisplay >= 8 && m->vdisplay >= 1) {
			for (int e = 0; e < c->count_encoders && ret < 0; e++) {
				drmModeEncoder *enc = drmModeGetEncoder(app->fd, c->encoders[e]);

				if (!enc) {
					continue;
				}
				uint32_t crtc = enc->crtc_id;

				for (int k = 0; !crtc && k < res->count_crtcs && k < 32; k++) {
					if (enc->possible_crtcs & (1u << k)) {
						crtc = res->crtcs[k];
					}
				}
				drmModeFreeEncoder(enc);
				if (crtc) {
					app->conn_id = c->connector_id;
					app->crtc_id = crtc;
					app->mode = *m;
					snprintf(app->name, sizeof(app->name), "%s-%u",
						drmModeGetConnectorTypeName(c->connector_type) ?
							drmModeGetConnectorTypeName(c->connector_type) :
							"Unknown",
						c->connector_type_id);
					ret = 0;
				}
			}
		}
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	return ret;
}

static void gp_bo_destroy(struct gbm_bo *bo, void *data)
{
	uint32_t fb = (uint32_t)(uintptr_t)data;

	/* GBM device fd == our DRM fd */
	if (fb) {
		drmModeRmFB(gbm_device_get_fd(gbm_bo_get_device(bo)), fb);
	}
}

static uint32_t gp_bo_fb(struct gp_app *app, struct gbm_bo *bo)
{
	uint32_t fb = (uint32_t)(uintptr_t)gbm_bo_get_user_data(bo);
	uint32_t handles[4] = { gbm_bo_get_handle(bo).u32 };
	uint32_t pitches[4] = { gbm_bo_get_stride(bo) };
	uint32_t offsets[4] = { 0 };

	if (fb) {
		return fb;
	}
	if (drmModeAddFB2(app->fd, gbm_bo_get_width(bo), gbm_bo_get_height(bo),
		    GBM_FORMAT_XRGB8888, handles, pitches, offsets, &fb, 0) != 0) {
		msg("drmModeAddFB2: %s", strerror(errno));
		return 0;
	}
	gbm_bo_set_user_data(bo, (void *)(uintptr_t)fb, gp_bo_destroy);
	return fb;
}

static void gp_flip_done(int fd, unsigned seq, unsigned sec, unsigned usec, void *data)
{
	struct gp_app *app = data;

	(void)fd;
	(void)seq;
	(void)sec;
	(void)usec;
	if (app->front) {
		gbm_surface_release_buffer(app->surf, app->front);
	}
	app->front = app->next;
	app->next = NULL;
	app->pending = false;
	app->flips++;
}

static int gp_wait_flip(struct gp_app *app)
{
	drmEventContext ev = { .version = 2, .page_flip_handler = gp_flip_done };
	uint64_t end = now_ns() + FLIP_TIMEOUT_MS * 1000000ull;

	while (app->pending) {
		struct pollfd p = { .fd = app->fd, .events = POLLIN };
		int r = poll(&p, 1, 500);

		if (r > 0) {
			drmHandleEvent(app->fd, &ev);
		} else if (r < 0 && errno != EINTR) {
			return -errno;
		}
		if (app->pending && now_ns() > end) {
			msg("%s: no flip event for %d ms (device stalled?)", app->name, FLIP_TIMEOUT_MS);
			end = now_ns() + FLIP_TIMEOUT_MS * 1000000ull;
		}
	}
	return 0;
}

static int gp_egl_init(struct gp_app *app)
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
	EGLConfig cfgs[64], cfg = NULL;
	EGLint major, minor, n = 0;

	app->dpy = get_platform_display ?
		get_platform_display(EGL_PLATFORM_GBM_KHR, app->gbm, NULL) :
		eglGetDisplay((EGLNativeDisplayType)app->gbm);
	if (app->dpy == EGL_NO_DISPLAY || !eglInitialize(app->dpy, &major, &minor)) {
		msg("eglInitialize failed (0x%x)", (unsigned)eglGetError());
		return -ENODEV;
	}
	msg("EGL %d.%d %s", major, minor, eglQueryString(app->dpy, EGL_VENDOR));
	if (!eglBindAPI(EGL_OPENGL_ES_API) || !eglChooseConfig(app->dpy, cfg_attrs, cfgs, 64, &n)) {
		msg("eglChooseConfig failed (0x%x)", (unsigned)eglGetError());
		return -ENODEV;
	}
	/* The config whose visual is the GBM surface's format. */
	for (EGLint i = 0; i < n && !cfg; i++) {
		EGLint id = 0;

		if (eglGetConfigAttrib(app->dpy, cfgs[i], EGL_NATIVE_VISUAL_ID, &id) &&
			id == GBM_FORMAT_XRGB8888) {
			cfg = cfgs[i];
		}
	}
	if (!cfg) {
		msg("no EGL config for XRGB8888 (%d configs)", n);
		return -ENODEV;
	}
	app->ctx = eglCreateContext(app->dpy, cfg, EGL_NO_CONTEXT, ctx_attrs);
	if (app->ctx == EGL_NO_CONTEXT) {
		msg("eglCreateContext failed (0x%x)", (unsigned)eglGetError());
		return -ENODEV;
	}
	app->egl_surf = eglCreateWindowSurface(app->dpy, cfg, (EGLNativeWindowType)app->surf, NULL);
	if (app->egl_surf == EGL_NO_SURFACE) {
		msg("eglCreateWindowSurface failed (0x%x)", (unsigned)eglGetError());
		return -ENODEV;
	}
	if (!eglMakeCurrent(app->dpy, app->egl_surf, app->egl_surf, app->ctx)) {
		msg("eglMakeCurrent failed (0x%x)", (unsigned)eglGetError());
		return -ENODEV;
	}
	eglSwapInterval(app->dpy, 0);
	return 0;
}

static int gp_run(struct gp_app *app)
{
	uint64_t period = mode_period_ns(&app->mode);
	uint64_t deadline = 0, last_stats = 0, frame = 0;
	int ret;

	for (;;) {
		struct gbm_bo *bo;
		uint32_t fb;

		gles_scene_draw(&app->scene, app->mode.hdisplay, app->mode.vdisplay,
			app->still ? app->still - 1 : frame);
		if (!eglSwapBuffers(app->dpy, app->egl_surf)) {
			msg("eglSwapBuffers failed (0x%x)", (unsigned)eglGetError());
			return -EIO;
		}
		bo = gbm_surface_lock_front_buffer(app->surf);
		if (!bo) {
			msg("gbm_surface_lock_front_buffer failed");
			return -EIO;
		}
		fb = gp_bo_fb(app, bo);
		if (!fb) {
			gbm_surface_release_buffer(app->surf, bo);
			return -EIO;
		}
		if (frame == 0) {
			ret = drmModeSetCrtc(app->fd, app->crtc_id, fb, 0, 0, &app->conn_id, 1, &app->mode);
			if (ret) {
				msg("%s: drmModeSetCrtc crtc %u: %s", app->name, app->crtc_id, strerror(errno));
				gbm_surface_release_buffer(app->surf, bo);
				return -errno;
			}
			app->front = bo;
			msg("%s: connector %u mode %s %ux%u@%u (%.3f Hz) crtc %u", app->name, app->conn_id,
				app->mode.name, app->mode.hdisplay, app->mode.vdisplay, app->mode.vrefresh,
				1e9 / (double)period, app->crtc_id);
			deadline = now_ns() + period;
			last_stats = now_ns();
		} else {
			ret = drmModePageFlip(app->fd, app->crtc_id, fb, DRM_MODE_PAGE_FLIP_EVENT, app);
			if (ret) {
				msg("%s: drmModePageFlip: %s", app->name, strerror(errno));
				gbm_surface_release_buffer(app->surf, bo);
				return -errno;
			}
			app->next = bo;
			app->pending = true;
			ret = gp_wait_flip(app);
			if (ret < 0) {
				return ret;
			}
		}
		frame++;
		if (app->max_frames && app->flips >= app->max_frames) {
			msg("done: %" PRIu64 " frames", app->flips);
			return 0;
		}

		uint64_t now = now_ns();

		if (app->stats_secs && now - last_stats >= app->stats_secs * NSEC_PER_SEC) {
			msg("%s: %" PRIu64 " flips, %.1f fps, %" PRIu64 " late", app->name, app->flips,
				(double)(app->flips - app->flips_at_report) * 1e9 / (double)(now - last_stats),
				app->late);
			app->flips_at_report = app->flips;
			last_stats = now;
		}
		if (deadline > now) {
			sleep_until(deadline);
			deadline += period;
		} else {
			/* Rendering took longer than a period: resynchronise, don't burst. */
			if (now - deadline > period) {
				app->late++;
			}
			deadline = now + period;
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gles-pattern [-d DEVICE] [-f FRAME] [-n FRAMES] [-s SECS]\n"
		"  -d DEVICE  DRM card (default /dev/dri/card0)\n"
		"  -f FRAME   draw frame FRAME of the scene every time (a still, for\n"
		"             reference images; default: animate)\n"
		"  -n FRAMES  exit after FRAMES page flips (default: run forever)\n"
		"  -s SECS    print flip statistics every SECS seconds (default 10, 0: never)\n");
}

int main(int argc, char **argv)
{
	struct gp_app app = { .device = "/dev/dri/card0", .fd = -1, .stats_secs = 10 };
	int opt, ret = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "d:f:n:s:h")) != -1) {
		switch (opt) {
		case 'd':
			app.device = optarg;
			break;
		case 'f':
			app.still = strtoull(optarg, NULL, 0) + 1;
			break;
		case 'n':
			app.max_frames = strtoull(optarg, NULL, 0);
			break;
		case 's':
			app.stats_secs = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	app.fd = open(app.device, O_RDWR | O_CLOEXEC);
	if (app.fd < 0) {
		msg("open %s: %s", app.device, strerror(errno));
		return 1;
	}
	if (drmSetMaster(app.fd) != 0) {
		msg("drmSetMaster: %s (continuing)", strerror(errno));
	}
	msg("started on %s", app.device);
	/* Connectors may come up a little after the card: retry for a while. */
	for (int i = 0; i < 100 && gp_pick_output(&app) < 0; i++) {
		usleep(100000);
	}
	if (!app.crtc_id) {
		msg("no connected connector with a mode and a CRTC");
		goto out_fd;
	}
	app.gbm = gbm_create_device(app.fd);
	if (!app.gbm) {
		msg("gbm_create_device failed");
		goto out_fd;
	}
	msg("GBM backend %s", gbm_device_get_backend_name(app.gbm));
	app.surf = gbm_surface_create(app.gbm, app.mode.hdisplay, app.mode.vdisplay, GBM_FORMAT_XRGB8888,
		GBM_BO_USE_SCANOUT | GBM_BO_USE_RENDERING);
	if (!app.surf) {
		msg("gbm_surface_create %ux%u failed", app.mode.hdisplay, app.mode.vdisplay);
		goto out_gbm;
	}
	if (gp_egl_init(&app) < 0 || gles_scene_init(&app.scene) < 0) {
		goto out_egl;
	}
	msg("GL_RENDERER: %s", (const char *)glGetString(GL_RENDERER));
	msg("GL_VERSION: %s", (const char *)glGetString(GL_VERSION));

	ret = gp_run(&app) < 0 ? 1 : 0;

out_egl:
	if (app.dpy != EGL_NO_DISPLAY && app.dpy) {
		eglMakeCurrent(app.dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
		gles_scene_finish(&app.scene);
		if (app.egl_surf != EGL_NO_SURFACE && app.egl_surf) {
			eglDestroySurface(app.dpy, app.egl_surf);
		}
		if (app.ctx != EGL_NO_CONTEXT && app.ctx) {
			eglDestroyContext(app.dpy, app.ctx);
		}
		eglTerminate(app.dpy);
	}
	if (app.surf) {
		gbm_surface_destroy(app.surf);
	}
out_gbm:
	gbm_device_destroy(app.gbm);
out_fd:
	close(app.fd);
	return ret;
}
