/* SPDX-License-Identifier: MIT */
#ifndef KMS_GL_H
#define KMS_GL_H

/* The display side of the GL guest apps (gles-pattern, gles-demo): a DRM
 * card, GBM, one EGL (GBM platform) GLES2 context and, per output, a
 * gbm_surface and EGL window surface scanned out by KMS page flips with
 * flip events. An output is a connected connector at its preferred mode
 * with a CRTC of its own. Messages go to stdout prefixed "TAG: ". */
#include <EGL/egl.h>
#include <gbm.h>
#include <stdbool.h>
#include <stdint.h>
#include <xf86drmMode.h>

#define KGL_MAX_OUTPUTS 4

struct kgl_output {
	uint32_t conn_id, crtc_id;
	drmModeModeInfo mode;
	char name[32];
	struct gbm_surface *surf;
	EGLSurface egl_surf;
	struct gbm_bo *front; /* being scanned out */
	struct gbm_bo *next;  /* queued by the pending flip */
	bool pending, shown;
	uint64_t flips;
};

struct kgl {
	const char *tag;
	int fd;
	struct gbm_device *gbm;
	EGLDisplay dpy;
	EGLConfig cfg;
	EGLContext ctx;
	unsigned n_outputs;
	struct kgl_output out[KGL_MAX_OUTPUTS];
};

void kgl_msg(const struct kgl *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t kgl_now_ns(void);
/* Absolute CLOCK_MONOTONIC sleep (frame pacing, never on a data path). */
void kgl_sleep_until(uint64_t t_ns);
/* The refresh period of a mode (from its clock and totals, else vrefresh, else 60 Hz). */
uint64_t kgl_mode_period_ns(const drmModeModeInfo *m);

/* Opens DEVICE, waits up to 10 s for at least min_outputs connected
 * outputs (taking up to max_outputs), creates GBM, EGL, the context and the
 * surfaces; the first output's surface is current. 0 or -errno (and a message). */
int kgl_open(struct kgl *k, const char *tag, const char *device, unsigned min_outputs,
	unsigned max_outputs);
/* Makes output i's surface current. */
int kgl_make_current(struct kgl *k, unsigned i);
/* Swaps output i (current) and puts the new front buffer on screen: the
 * first time by a modeset (and prints the "NAME: connector C mode ..." line
 * tests wait for), after that by a page flip with an event. 0 or -errno. */
int kgl_present(struct kgl *k, unsigned i);
/* Waits for every pending flip's event (messages about a stalled device
 * every 5 s while waiting). 0 or -errno. */
int kgl_wait_flips(struct kgl *k);
void kgl_close(struct kgl *k);

#endif
