/* SPDX-License-Identifier: MIT */
#ifndef ZC_BACKEND_H
#define ZC_BACKEND_H

/* Present backends: where verified frames go. Each is a function table
 * chosen by name at run time (-b NAME): headless (a copy), wayland (an
 * xdg-shell toplevel, wl_shm buffers, wp_presentation feedback); drm (dumb
 * buffers, atomic commits, page-flip events) slots in with the same table. */

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/loop.h"

struct zc_backend;

/* An input event of the panel, in zone coordinates (pixels of the zone
 * frame, fractional), as the backend's seat or evdev device saw it. */
enum zc_input_kind {
	ZC_INPUT_TOUCH_DOWN = 1,
	ZC_INPUT_TOUCH_MOTION = 2,
	ZC_INPUT_TOUCH_UP = 3,
	ZC_INPUT_POINTER = 4, /* motion */
	ZC_INPUT_BUTTON = 5,  /* code: evdev BTN_* */
	ZC_INPUT_KEY = 6,     /* code: evdev KEY_* */
};
struct zc_input_event {
	enum zc_input_kind kind;
	unsigned slot;  /* touch point 0..9 */
	double x, y;    /* zone pixels (touch, pointer, button: where) */
	uint16_t code;
	bool pressed;
};

struct zc_backend_listener {
	/* The frame given to present() is on the panel since t_present_ns
	 * (CLOCK_MONOTONIC). Headless calls it from within present(); real
	 * displays call it later, from the loop (presentation feedback or
	 * page-flip event). */
	void (*presented)(void *data, uint32_t frame_id, uint64_t t_present_ns);
	/* The frame given to present() never reached the panel (the display
	 * replaced it with a newer one first): a dropped frame. */
	void (*discarded)(void *data, uint32_t frame_id);
	/* The panel is gone: closed by its owner (error false: the user closed
	 * the window) or lost (error true: the compositor died). Called once,
	 * from the loop; the backend only fails presents after it. */
	void (*closed)(void *data, const char *why, bool error);
	/* The panel's user did something. May be called from the loop at any
	 * time after create. */
	void (*input)(void *data, const struct zc_input_event *ev);
};

/* What the command line says about the panel (each backend takes what
 * applies to it). */
struct zc_backend_options {
	const char *title;       /* the zone's name */
	bool window;             /* wayland: a window, not fullscreen */
	const char *output_name; /* wayland: the wl_output to be fullscreen on */
	const char *device;      /* drm: /dev/dri/cardN */
	const char *connector;   /* drm: the connector's name */
};

/* The panel a backend drives, before the session starts: told to the
 * server in HELLO (mode, EDID), which offers it to the guests. */
struct zc_panel_info {
	uint32_t width, height, refresh_hz; /* its preferred mode */
	uint8_t edid[512];
	size_t edid_len;
};

struct zc_backend_impl {
	const char *name;
	/* How the present time is taken, for the stats: "copy" (headless),
	 * "wp_presentation", "kms-pageflip". */
	const char *present_source;
	/* A backend for frames of width x height (the zone mode). The loop is
	 * for backends with their own fds (a Wayland display, a DRM device).
	 * Returns NULL (after logging why) if it cannot run here. */
	struct zc_backend *(*create)(struct zl_loop *loop, uint32_t width, uint32_t height,
		const struct zc_backend_options *opts, const struct zc_backend_listener *listener,
		void *data);
	void (*destroy)(struct zc_backend *b);
	/* What panel create() would drive (NULL: the backend cannot tell).
	 * Returns 0 or a negative errno. */
	int (*probe)(const struct zc_backend_options *opts, struct zc_panel_info *panel);
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
#ifdef ZC_HAVE_WAYLAND
extern const struct zc_backend_impl zc_backend_wayland;
#endif
#ifdef ZC_HAVE_DRM
extern const struct zc_backend_impl zc_backend_drm;
#endif

/* The backend called name, or NULL. */
const struct zc_backend_impl *zc_backend_find(const char *name);
/* The backends built in ("headless, wayland, drm"), for --help. */
const char *zc_backend_names(void);

#endif
