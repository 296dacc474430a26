/* SPDX-License-Identifier: MIT */
#ifndef DEMO_SCENES_H
#define DEMO_SCENES_H

/* The scenes of `make demo`, GLES2 only (the caller makes a context
 * current), animated by time in seconds so that motion keeps its speed
 * whatever the frame rate:
 *  - cluster: an instrument cluster. Speedometer and tachometer with
 *    moving needles and lit arcs, seven-segment speed and gear, fuel and
 *    temperature bars, a row of tell-tales that come and go. Only the
 *    needles, numbers and lamps change: small damage.
 *  - media: an infotainment "now playing" panel: turning record, title
 *    lines, progress bar, spectrum bars, transport buttons.
 *  - movie: a full-screen moving picture (a plasma in the fragment
 *    shader, so the host GPU does the work) under a player bar: every
 *    pixel changes every frame, as with video on a rear-seat screen. */
#include <GLES2/gl2.h>

struct demo_gl {
	GLuint flat, plasma;
	GLint f_pos, f_col, f_size;
	GLint p_pos, p_time;
	float *v; /* x, y, r, g, b, a per vertex, pixel coordinates (y down) */
	unsigned n, cap;
	float w, h;
};

enum demo_scene { DEMO_CLUSTER, DEMO_MEDIA, DEMO_MOVIE };

/* 0 or -EINVAL/-ENOMEM (and a message on stderr). */
int demo_gl_init(struct demo_gl *d);
/* Draws the scene at time t (s) into the bound w x h framebuffer. */
void demo_draw(struct demo_gl *d, enum demo_scene scene, int w, int h, double t);
void demo_gl_finish(struct demo_gl *d);

#endif
