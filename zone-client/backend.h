/* SPDX-License-Identifier: MIT */
#ifndef ZC_BACKEND_H
#define ZC_BACKEND_H

/* Present backends: where verified frames go. Each is a function table
 * chosen by name at run time (-b NAME): headless now; wayland (wl_shm or
 * dmabuf buffers, wp_presentation feedback) and drm (dumb buffers, atomic
 * commits, page-flip events) slot in with the same table. */

#include <pixman.h>
#include <stdint.h>

#include "util/loop.h"

struct zc_backend;

struct zc_backend_listener {
	/* The frame given to present() is on the panel since t_present_ns
	 * (CLOCK_MONOTONIC). Headless calls it from within present(); real
	 * displays call it later, from the loop (presentation feedback or
	 * page-flip event). */
	void (*presented)(void *data, uint32_t frame_id, uint64_t t_present_ns);
};

struct zc_backend_impl {
	const char *name;
	/* How the present time is taken, for the stats: "copy" (headless),
	 * "wp_presentation", "page_flip". */
	const char *present_source;
	/* A backend for frames of width x height (the zone mode). The loop is
	 * for backends with their own fds (a Wayland display, a DRM device).
	 * Returns NULL (after logging why) if it cannot run here. */
	struct zc_backend *(*create)(struct zl_loop *loop, uint32_t width, uint32_t height,
		const struct zc_backend_listener *listener, void *data);
	void (*destroy)(struct zc_backend *b);
	/* Shows `frame` (x8r8g8b8, width x height), which differs from the
	 * previous frame presented only within `damage`. frame is borrowed for
	 * the call: a backend that scans out asynchronously copies the damage
	 * into a buffer it owns (so the caller's work stays proportional to
	 * damage). Returns 0 or a negative errno. */
	int (*present)(struct zc_backend *b, pixman_image_t *frame, const pixman_region32_t *damage,
		uint32_t frame_id);
	/* The image on the panel now (borrowed), or NULL before the first
	 * present: what last.png and --dump-all write. */
	pixman_image_t *(*snapshot)(struct zc_backend *b);
};

/* Every backend embeds this first. */
struct zc_backend {
	const struct zc_backend_impl *impl;
};

extern const struct zc_backend_impl zc_backend_headless;

/* The backend called name, or NULL. */
const struct zc_backend_impl *zc_backend_find(const char *name);
/* "headless" (then ", wayland, drm" once they exist), for --help. */
const char *zc_backend_names(void);

#endif
