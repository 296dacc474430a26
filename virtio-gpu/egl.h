/* SPDX-License-Identifier: MIT */
#ifndef VGPU_EGL_H
#define VGPU_EGL_H

#include <stdbool.h>

/* The server's EGL: one display and one share group for every GL context of
 * the process (virglrenderer's, through its context callbacks, and the
 * compositor's), so that a texture a guest renders is sampled by the
 * compositor without a copy. Headless: Mesa's surfaceless platform (llvmpipe
 * without a GPU), or GBM on a DRM render node; desktop GL core profile, no
 * configs and no surfaces.
 *
 * Contexts are EGLContext values behind void *; EGL's current context is per
 * thread, and so are these calls: any thread may create and make current. */

struct vgpu_egl;

/* render_node NULL: surfaceless; else a DRM render node (/dev/dri/renderD128)
 * through GBM. NULL (and logs why) if there is no such EGL with desktop GL. */
struct vgpu_egl *vgpu_egl_create(const char *render_node);
/* Accepts NULL. Every context but the root must be destroyed first. */
void vgpu_egl_destroy(struct vgpu_egl *egl);

/* The EGLDisplay. */
void *vgpu_egl_display(struct vgpu_egl *egl);

/* A GL core context of at least version major.minor sharing objects with the
 * root (and so with every other context made here); NULL if the driver has
 * no such version. Caller destroys. */
void *vgpu_egl_context_create(struct vgpu_egl *egl, int major, int minor);
void vgpu_egl_context_destroy(struct vgpu_egl *egl, void *ctx);
/* ctx NULL releases the thread's context. 0 or -EIO. */
int vgpu_egl_make_current(struct vgpu_egl *egl, void *ctx);

/* The root context (GL 3.3 core): the one the compositor draws with. */
void *vgpu_egl_root(struct vgpu_egl *egl);

/* GL_RENDERER, and whether it is a software rasterizer (llvmpipe,
 * softpipe): there, pixman composes far faster than GL does. */
const char *vgpu_egl_renderer_name(struct vgpu_egl *egl);
bool vgpu_egl_is_software(struct vgpu_egl *egl);

#endif
