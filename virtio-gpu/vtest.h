/* SPDX-License-Identifier: MIT */
#ifndef VGPU_VTEST_H
#define VGPU_VTEST_H

#include <pixman.h>
#include <stdint.h>

#include "vtest-proto.h"

/* A vtest protocol server (Mesa's virpipe driver, GALLIUM_DRIVER=virpipe) on
 * a unix socket, served on the zl_loop through the shared vgpu_renderer.
 * Each connection is one renderer client; a malformed message closes that
 * connection only. */

struct zl_loop;
struct vgpu_renderer;
struct vgpu_vtest;

struct vgpu_vtest_present {
	const char *process_name; /* from VCMD_CREATE_RENDERER */
	uint32_t handle;          /* the client's resource handle */
	uint32_t width, height;   /* the display target's size */
	/* What the swap read back: the pixels of damage (within the target;
	 * the whole target, or a sub-box for a partial swap), as an image of
	 * the damage's size over the client's shared memory. Borrowed for the
	 * callback: copy to keep. */
	pixman_image_t *image;
	pixman_box32_t damage;
};

struct vgpu_vtest_listener {
	/* A client read back a display-target (or scanout) resource: Mesa's
	 * flush_frontbuffer on swap. */
	void (*present)(void *data, const struct vgpu_vtest_present *p);
};

/* Listens on path (an existing socket there is replaced). NULL on error.
 * loop and renderer are borrowed; listener is copied and may be NULL. */
struct vgpu_vtest *vgpu_vtest_create(struct zl_loop *loop, const char *path,
	struct vgpu_renderer *renderer, const struct vgpu_vtest_listener *listener, void *data);
/* Accepts NULL. Closes every connection and unlinks the socket. */
void vgpu_vtest_destroy(struct vgpu_vtest *vt);

#endif
