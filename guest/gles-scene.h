/* SPDX-License-Identifier: MIT */
#ifndef GLES_SCENE_H
#define GLES_SCENE_H

#include <GLES2/gl2.h>
#include <stdint.h>

/* The project's GL scene, shared by the guest app (gles-pattern: GBM + KMS
 * in a guest) and the host one (tests/reference/render-scene: EGL
 * surfaceless, through vtest), so that both can be held to the same
 * reference images: the 8 bars of guest/pattern.c (white, yellow, cyan,
 * green, magenta, red, blue, black; bar i covers x in [i*W/8, (i+1)*W/8))
 * as GLES2 scissored clears, and a lit cube, turned by the frame number,
 * drawn with the scissor on the black bar so no other bar is touched.
 * Colours are exact (dithering off). */
struct gles_scene {
	GLuint prog;
	GLint u_mvp, u_normal_rot, a_pos, a_normal;
};

/* A program of a vertex and a fragment shader (GLES2 context current), or
 * 0 with the compiler's message on stderr, prefixed "who: ". */
GLuint gles_program(const char *vs, const char *fs, const char *who);

/* With a GLES2 context current. 0, or -EINVAL (and a message on stderr). */
int gles_scene_init(struct gles_scene *scene);
/* Draws frame 'frame' into the bound framebuffer, w x h from GL's origin. */
void gles_scene_draw(struct gles_scene *scene, int w, int h, uint64_t frame);
void gles_scene_finish(struct gles_scene *scene);

#endif
