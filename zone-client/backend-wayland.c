/* SPDX-License-Identifier: MIT */
/* Wayland: an xdg-shell toplevel (app_id "zone-client"), fullscreen unless
 * --window, on the output --output-name names when given. Frames go into
 * wl_shm buffers made once (2, up to 4 while the compositor holds them); a
 * buffer gets only what changed since it last held a frame, so the work per
 * frame follows the damage. wp_viewporter scales the zone to whatever size
 * the compositor gives the surface; the frame's damage is posted as buffer
 * damage. Present times come from wp_presentation feedback (converted to
 * CLOCK_MONOTONIC); a frame the compositor discarded (replaced before it
 * reached the screen) is reported as dropped. A close request or the loss of
 * the compositor ends the session through the listener. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <wayland-client.h>

#include "backend.h"
#include "presentation-time-client-protocol.h"
#include "util/clock.h"
#include "util/log.h"
#include "viewporter-client-protocol.h"
#include "xdg-shell-client-protocol.h"

#define MIN_BUFFERS 2
#define MAX_BUFFERS 4
#define MAX_OUTPUTS 8
#define MAX_FEEDBACK 16
/* Start-up round trips (globals, first configure) give up after this. */
#define SETUP_TIMEOUT_MS 5000

struct wl_backend;

struct shm_buf {
	struct wl_backend *wl;
	struct wl_buffer *buffer;
	pixman_image_t *image; /* over the shared memory */
	pixman_region32_t stale; /* where it differs from the newest frame */
	bool busy;               /* the compositor holds it */
};

struct feedback {
	struct wl_backend *wl;
	struct wp_presentation_feedback *fb; /* NULL: slot free */
	uint32_t frame_id;
};

struct output {
	struct wl_backend *wl;
	struct wl_output *output;
	uint32_t global;
	char name[64];
};

struct wl_backend {
	struct zc_backend base;
	const struct zc_backend_listener *listener;
	void *data;
	struct zc_backend_options opts;
	uint32_t width, height;

	struct wl_display *display;
	struct zl_source *src;
	bool want_write, dead;
	struct wl_registry *registry;
	struct wl_compositor *compositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wp_viewporter *viewporter;
	struct wp_presentation *presentation;
	clockid_t pres_clock;
	struct output outputs[MAX_OUTPUTS];
	unsigned n_outputs;
	/* The seat: its events go to the session in zone coordinates. */
	struct wl_seat *seat;
	struct wl_pointer *pointer;
	struct wl_touch *touch;
	struct wl_keyboard *keyboard;
	double ptr_x, ptr_y;        /* zone pixels */
	int32_t touch_id[10];       /* slot -> wl_touch id; -1 free */
	double touch_x[10], touch_y[10];

	struct wl_surface *surface;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	struct wp_viewport *viewport;
	bool configured;
	int32_t pending_w, pending_h; /* from xdg_toplevel.configure */
	int32_t surf_w, surf_h;       /* the surface's size now */

	int shm_fd;
	void *shm_data;
	size_t buf_size, shm_size;
	struct wl_shm_pool *pool;
	struct shm_buf bufs[MAX_BUFFERS];
	unsigned n_bufs;
	int last; /* the buffer committed last, -1 before the first */
	struct feedback feedback[MAX_FEEDBACK];
	bool size_logged;
};

static void lost(struct wl_backend *wl, const char *why, bool error)
{
	if (wl->dead) {
		return;
	}
	wl->dead = true;
	if (wl->listener && wl->listener->closed) {
		wl->listener->closed(wl->data, why, error);
	}
}

/* --- output sizing --- */

static void apply_size(struct wl_backend *wl)
{
	int32_t w = wl->pending_w > 0 ? wl->pending_w : (int32_t)wl->width;
	int32_t h = wl->pending_h > 0 ? wl->pending_h : (int32_t)wl->height;
	if (w == wl->surf_w && h == wl->surf_h) {
		return;
	}
	wl->surf_w = w;
	wl->surf_h = h;
	if (wl->viewport) {
		wp_viewport_set_destination(wl->viewport, w, h);
	}
	zl_info("wayland: surface %dx%d showing the %ux%u zone%s", w, h, wl->width, wl->height,
		(uint32_t)w == wl->width && (uint32_t)h == wl->height ? "" : " (scaled)");
}

/* --- xdg-shell --- */

static void wm_base_ping(void *data, struct xdg_wm_base *wm, uint32_t serial)
{
	(void)data;
	xdg_wm_base_pong(wm, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = { .ping = wm_base_ping };

static void xdg_surface_configure(void *data, struct xdg_surface *xs, uint32_t serial)
{
	struct wl_backend *wl = data;
	xdg_surface_ack_configure(xs, serial);
	apply_size(wl);
	if (wl->configured) {
		/* The new size (viewport) takes effect with a commit. */
		wl_surface_commit(wl->surface);
	}
	wl->configured = true;
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = xdg_surface_configure,
};

static void toplevel_configure(void *data, struct xdg_toplevel *t, int32_t w, int32_t h,
	struct wl_array *states)
{
	(void)t;
	(void)states;
	struct wl_backend *wl = data;
	wl->pending_w = w;
	wl->pending_h = h;
}

static void toplevel_close(void *data, struct xdg_toplevel *t)
{
	(void)t;
	lost(data, "the compositor closed the window", false);
}

static void toplevel_configure_bounds(void *data, struct xdg_toplevel *t, int32_t w, int32_t h)
{
	(void)data;
	(void)t;
	(void)w;
	(void)h;
}

static void toplevel_wm_capabilities(void *data, struct xdg_toplevel *t, struct wl_array *caps)
{
	(void)data;
	(void)t;
	(void)caps;
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
	.configure_bounds = toplevel_configure_bounds,
	.wm_capabilities = toplevel_wm_capabilities,
};

/* --- presentation --- */

static void pres_clock_id(void *data, struct wp_presentation *p, uint32_t clk_id)
{
	(void)p;
	struct wl_backend *wl = data;
	wl->pres_clock = (clockid_t)clk_id;
}

static const struct wp_presentation_listener presentation_listener = {
	.clock_id = pres_clock_id,
};

static void feedback_done(struct feedback *f)
{
	wp_presentation_feedback_destroy(f->fb);
	f->fb = NULL;
}

static void fb_sync_output(void *data, struct wp_presentation_feedback *fb,
	struct wl_output *output)
{
	(void)data;
	(void)fb;
	(void)output;
}

static void fb_presented(void *data, struct wp_presentation_feedback *fb, uint32_t sec_hi,
	uint32_t sec_lo, uint32_t nsec, uint32_t refresh, uint32_t seq_hi, uint32_t seq_lo,
	uint32_t flags)
{
	(void)fb;
	(void)refresh;
	(void)seq_hi;
	(void)seq_lo;
	(void)flags;
	struct feedback *f = data;
	struct wl_backend *wl = f->wl;
	uint64_t t = (((uint64_t)sec_hi << 32) | sec_lo) * 1000000000ull + nsec;
	if (wl->pres_clock != CLOCK_MONOTONIC) {
		/* The compositor's clock into ours, now. */
		struct timespec a;
		clock_gettime(wl->pres_clock, &a);
		uint64_t pc = (uint64_t)a.tv_sec * 1000000000ull + (uint64_t)a.tv_nsec;
		t = t + zl_now_ns() - pc;
	}
	uint32_t id = f->frame_id;
	feedback_done(f);
	if (wl->listener && wl->listener->presented) {
		wl->listener->presented(wl->data, id, t);
	}
}

static void fb_discarded(void *data, struct wp_presentation_feedback *fb)
{
	(void)fb;
	struct feedback *f = data;
	struct wl_backend *wl = f->wl;
	uint32_t id = f->frame_id;
	feedback_done(f);
	if (wl->listener && wl->listener->discarded) {
		wl->listener->discarded(wl->data, id);
	}
}

static const struct wp_presentation_feedback_listener feedback_listener = {
	.sync_output = fb_sync_output,
	.presented = fb_presented,
	.discarded = fb_discarded,
};

/* --- the seat --- */

static void emit(struct wl_backend *wl, enum zc_input_kind kind, unsigned slot, double x, double y,
	uint16_t code, bool pressed)
{
	struct zc_input_event ev = { kind, slot, x, y, code, pressed };
	if (wl->listener && wl->listener->input && !wl->dead) {
		wl->listener->input(wl->data, &ev);
	}
}

/* Surface coordinates to zone pixels (the viewport scales the zone). */
static void to_zone(const struct wl_backend *wl, wl_fixed_t sx, wl_fixed_t sy, double *x,
	double *y)
{
	*x = wl_fixed_to_double(sx) * wl->width / (wl->surf_w > 0 ? wl->surf_w : 1);
	*y = wl_fixed_to_double(sy) * wl->height / (wl->surf_h > 0 ? wl->surf_h : 1);
}

static void ptr_enter(void *data, struct wl_pointer *p, uint32_t serial, struct wl_surface *s,
	wl_fixed_t x, wl_fixed_t y)
{
	(void)p, (void)serial, (void)s;
	struct wl_backend *wl = data;
	to_zone(wl, x, y, &wl->ptr_x, &wl->ptr_y);
	emit(wl, ZC_INPUT_POINTER, 0, wl->ptr_x, wl->ptr_y, 0, false);
}

static void ptr_leave(void *data, struct wl_pointer *p, uint32_t serial, struct wl_surface *s)
{
	(void)data, (void)p, (void)serial, (void)s;
}

static void ptr_motion(void *data, struct wl_pointer *p, uint32_t time, wl_fixed_t x,
	wl_fixed_t y)
{
	(void)p, (void)time;
	struct wl_backend *wl = data;
	to_zone(wl, x, y, &wl->ptr_x, &wl->ptr_y);
	emit(wl, ZC_INPUT_POINTER, 0, wl->ptr_x, wl->ptr_y, 0, false);
}

static void ptr_button(void *data, struct wl_pointer *p, uint32_t serial, uint32_t time,
	uint32_t button, uint32_t state)
{
	(void)p, (void)serial, (void)time;
	struct wl_backend *wl = data;
	emit(wl, ZC_INPUT_BUTTON, 0, wl->ptr_x, wl->ptr_y, (uint16_t)button,
		state == WL_POINTER_BUTTON_STATE_PRESSED);
}

static void ptr_axis(void *data, struct wl_pointer *p, uint32_t time, uint32_t axis,
	wl_fixed_t value)
{
	(void)data, (void)p, (void)time, (void)axis, (void)value;
}

static const struct wl_pointer_listener pointer_listener = {
	.enter = ptr_enter,
	.leave = ptr_leave,
	.motion = ptr_motion,
	.button = ptr_button,
	.axis = ptr_axis,
};

static int touch_slot(struct wl_backend *wl, int32_t id, bool alloc)
{
	for (int i = 0; i < 10; i++) {
		if (wl->touch_id[i] == id) {
			return i;
		}
	}
	for (int i = 0; alloc && i < 10; i++) {
		if (wl->touch_id[i] < 0) {
			wl->touch_id[i] = id;
			return i;
		}
	}
	return -1;
}

static void touch_down(void *data, struct wl_touch *t, uint32_t serial, uint32_t time,
	struct wl_surface *s, int32_t id, wl_fixed_t x, wl_fixed_t y)
{
	(void)t, (void)serial, (void)time, (void)s;
	struct wl_backend *wl = data;
	int slot = touch_slot(wl, id, true);
	if (slot >= 0) {
		to_zone(wl, x, y, &wl->touch_x[slot], &wl->touch_y[slot]);
		emit(wl, ZC_INPUT_TOUCH_DOWN, (unsigned)slot, wl->touch_x[slot], wl->touch_y[slot],
			0, true);
	}
}

static void touch_up(void *data, struct wl_touch *t, uint32_t serial, uint32_t time, int32_t id)
{
	(void)t, (void)serial, (void)time;
	struct wl_backend *wl = data;
	int slot = touch_slot(wl, id, false);
	if (slot >= 0) {
		wl->touch_id[slot] = -1;
		emit(wl, ZC_INPUT_TOUCH_UP, (unsigned)slot, wl->touch_x[slot], wl->touch_y[slot], 0,
			false);
	}
}

static void touch_motion(void *data, struct wl_touch *t, uint32_t time, int32_t id, wl_fixed_t x,
	wl_fixed_t y)
{
	(void)t, (void)time;
	struct wl_backend *wl = data;
	int slot = touch_slot(wl, id, false);
	if (slot >= 0) {
		to_zone(wl, x, y, &wl->touch_x[slot], &wl->touch_y[slot]);
		emit(wl, ZC_INPUT_TOUCH_MOTION, (unsigned)slot, wl->touch_x[slot],
			wl->touch_y[slot], 0, true);
	}
}

static void touch_frame(void *data, struct wl_touch *t)
{
	(void)data, (void)t;
}

static void touch_cancel(void *data, struct wl_touch *t)
{
	(void)t;
	struct wl_backend *wl = data;
	/* The compositor took the touches: they end where they were. */
	for (unsigned i = 0; i < 10; i++) {
		if (wl->touch_id[i] >= 0) {
			wl->touch_id[i] = -1;
			emit(wl, ZC_INPUT_TOUCH_UP, i, wl->touch_x[i], wl->touch_y[i], 0, false);
		}
	}
}

static const struct wl_touch_listener touch_listener = {
	.down = touch_down,
	.up = touch_up,
	.motion = touch_motion,
	.frame = touch_frame,
	.cancel = touch_cancel,
};

static void kbd_keymap(void *data, struct wl_keyboard *k, uint32_t format, int32_t fd,
	uint32_t size)
{
	(void)data, (void)k, (void)format, (void)size;
	close(fd); /* the guests have their own layouts: evdev codes go as they are */
}

static void kbd_enter(void *data, struct wl_keyboard *k, uint32_t serial, struct wl_surface *s,
	struct wl_array *keys)
{
	(void)data, (void)k, (void)serial, (void)s, (void)keys;
}

static void kbd_leave(void *data, struct wl_keyboard *k, uint32_t serial, struct wl_surface *s)
{
	(void)data, (void)k, (void)serial, (void)s;
}

static void kbd_key(void *data, struct wl_keyboard *k, uint32_t serial, uint32_t time,
	uint32_t key, uint32_t state)
{
	(void)k, (void)serial, (void)time;
	struct wl_backend *wl = data;
	/* Wayland's key codes are the kernel's evdev codes. */
	emit(wl, ZC_INPUT_KEY, 0, 0, 0, (uint16_t)key, state == WL_KEYBOARD_KEY_STATE_PRESSED);
}

static void kbd_modifiers(void *data, struct wl_keyboard *k, uint32_t serial, uint32_t dep,
	uint32_t lat, uint32_t lock, uint32_t group)
{
	(void)data, (void)k, (void)serial, (void)dep, (void)lat, (void)lock, (void)group;
}

static void kbd_repeat(void *data, struct wl_keyboard *k, int32_t rate, int32_t delay)
{
	(void)data, (void)k, (void)rate, (void)delay;
}

static const struct wl_keyboard_listener keyboard_listener = {
	.keymap = kbd_keymap,
	.enter = kbd_enter,
	.leave = kbd_leave,
	.key = kbd_key,
	.modifiers = kbd_modifiers,
	.repeat_info = kbd_repeat,
};

static void seat_capabilities(void *data, struct wl_seat *seat, uint32_t caps)
{
	struct wl_backend *wl = data;
	if ((caps & WL_SEAT_CAPABILITY_POINTER) && !wl->pointer) {
		wl->pointer = wl_seat_get_pointer(seat);
		wl_pointer_add_listener(wl->pointer, &pointer_listener, wl);
	}
	if ((caps & WL_SEAT_CAPABILITY_TOUCH) && !wl->touch) {
		wl->touch = wl_seat_get_touch(seat);
		wl_touch_add_listener(wl->touch, &touch_listener, wl);
	}
	if ((caps & WL_SEAT_CAPABILITY_KEYBOARD) && !wl->keyboard) {
		wl->keyboard = wl_seat_get_keyboard(seat);
		wl_keyboard_add_listener(wl->keyboard, &keyboard_listener, wl);
	}
}

static void seat_name(void *data, struct wl_seat *seat, const char *name)
{
	(void)data, (void)seat, (void)name;
}

static const struct wl_seat_listener seat_listener = {
	.capabilities = seat_capabilities,
	.name = seat_name,
};

/* --- outputs --- */

static void output_geometry(void *data, struct wl_output *o, int32_t x, int32_t y, int32_t pw,
	int32_t ph, int32_t sub, const char *make, const char *model, int32_t transform)
{
	(void)data, (void)o, (void)x, (void)y, (void)pw, (void)ph, (void)sub, (void)make;
	(void)model, (void)transform;
}

static void output_mode(void *data, struct wl_output *o, uint32_t flags, int32_t w, int32_t h,
	int32_t refresh)
{
	(void)data, (void)o, (void)flags, (void)w, (void)h, (void)refresh;
}

static void output_done(void *data, struct wl_output *o)
{
	(void)data, (void)o;
}

static void output_scale(void *data, struct wl_output *o, int32_t factor)
{
	(void)data, (void)o, (void)factor;
}

static void output_name(void *data, struct wl_output *o, const char *name)
{
	(void)o;
	struct output *out = data;
	snprintf(out->name, sizeof(out->name), "%s", name);
}

static void output_description(void *data, struct wl_output *o, const char *desc)
{
	(void)data, (void)o, (void)desc;
}

static const struct wl_output_listener output_listener = {
	.geometry = output_geometry,
	.mode = output_mode,
	.done = output_done,
	.scale = output_scale,
	.name = output_name,
	.description = output_description,
};

/* --- globals --- */

static void registry_global(void *data, struct wl_registry *reg, uint32_t name,
	const char *iface, uint32_t version)
{
	struct wl_backend *wl = data;
	if (strcmp(iface, wl_compositor_interface.name) == 0) {
		wl->compositor = wl_registry_bind(reg, name, &wl_compositor_interface, 4);
	} else if (strcmp(iface, wl_shm_interface.name) == 0) {
		wl->shm = wl_registry_bind(reg, name, &wl_shm_interface, 1);
	} else if (strcmp(iface, xdg_wm_base_interface.name) == 0) {
		wl->wm_base = wl_registry_bind(reg, name, &xdg_wm_base_interface, 1);
		xdg_wm_base_add_listener(wl->wm_base, &wm_base_listener, wl);
	} else if (strcmp(iface, wp_viewporter_interface.name) == 0) {
		wl->viewporter = wl_registry_bind(reg, name, &wp_viewporter_interface, 1);
	} else if (strcmp(iface, wp_presentation_interface.name) == 0) {
		wl->presentation = wl_registry_bind(reg, name, &wp_presentation_interface, 1);
		wp_presentation_add_listener(wl->presentation, &presentation_listener, wl);
	} else if (strcmp(iface, wl_seat_interface.name) == 0 && !wl->seat) {
		/* Version 4: the events our listeners have. */
		wl->seat = wl_registry_bind(reg, name, &wl_seat_interface, version < 4 ? version : 4);
		wl_seat_add_listener(wl->seat, &seat_listener, wl);
	} else if (strcmp(iface, wl_output_interface.name) == 0 && wl->n_outputs < MAX_OUTPUTS) {
		struct output *o = &wl->outputs[wl->n_outputs++];
		o->wl = wl;
		o->global = name;
		o->output = wl_registry_bind(reg, name, &wl_output_interface, version < 4 ? version : 4);
		wl_output_add_listener(o->output, &output_listener, o);
	}
}

static void registry_global_remove(void *data, struct wl_registry *reg, uint32_t name)
{
	(void)data, (void)reg, (void)name;
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

/* --- buffers --- */

static void buffer_release(void *data, struct wl_buffer *b)
{
	(void)b;
	struct shm_buf *sb = data;
	sb->busy = false;
}

static const struct wl_buffer_listener buffer_listener = { .release = buffer_release };

static int add_buffer(struct wl_backend *wl)
{
	unsigned i = wl->n_bufs;
	struct shm_buf *b = &wl->bufs[i];
	int stride = (int)wl->width * 4;
	b->wl = wl;
	b->buffer = wl_shm_pool_create_buffer(wl->pool, (int32_t)(i * wl->buf_size),
		(int32_t)wl->width, (int32_t)wl->height, stride, WL_SHM_FORMAT_XRGB8888);
	b->image = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)wl->width, (int)wl->height,
		(uint32_t *)(void *)((uint8_t *)wl->shm_data + i * wl->buf_size), stride);
	if (!b->buffer || !b->image) {
		return -ENOMEM;
	}
	wl_buffer_add_listener(b->buffer, &buffer_listener, b);
	/* Nothing in it yet: all of it is stale. */
	pixman_region32_init_rect(&b->stale, 0, 0, wl->width, wl->height);
	wl->n_bufs++;
	return 0;
}

static int create_pool(struct wl_backend *wl)
{
	wl->buf_size = (size_t)wl->width * wl->height * 4;
	wl->shm_size = wl->buf_size * MAX_BUFFERS; /* pages are only used once touched */
	wl->shm_fd = memfd_create("zone-client-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (wl->shm_fd < 0 || ftruncate(wl->shm_fd, (off_t)wl->shm_size) < 0) {
		zl_log_errno(ZL_ERROR, "wayland: shared memory of %zu bytes", wl->shm_size);
		return -ENOMEM;
	}
	/* The compositor maps it too: it must not shrink under it. */
	fcntl(wl->shm_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL);
	wl->shm_data = mmap(NULL, wl->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, wl->shm_fd, 0);
	if (wl->shm_data == MAP_FAILED) {
		wl->shm_data = NULL;
		zl_log_errno(ZL_ERROR, "wayland: mmap");
		return -ENOMEM;
	}
	wl->pool = wl_shm_create_pool(wl->shm, wl->shm_fd, (int32_t)wl->shm_size);
	for (unsigned i = 0; i < MIN_BUFFERS; i++) {
		if (add_buffer(wl) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* --- the connection in the loop --- */

static void flush(struct wl_backend *wl)
{
	if (wl->dead) {
		return;
	}
	int r = wl_display_flush(wl->display);
	bool want = r < 0 && errno == EAGAIN;
	if (r < 0 && errno != EAGAIN) {
		lost(wl, "the connection to the compositor broke", true);
		return;
	}
	if (want != wl->want_write) {
		wl->want_write = want;
		zl_source_fd_update(wl->src, EPOLLIN | (want ? EPOLLOUT : 0));
	}
}

static void on_display(void *data, int fd, uint32_t events)
{
	(void)fd;
	struct wl_backend *wl = data;
	if (wl->dead) {
		return;
	}
	if (events & EPOLLIN) {
		if (wl_display_dispatch(wl->display) < 0) {
			lost(wl, "the compositor went away", true);
			return;
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		lost(wl, "the compositor went away", true);
		return;
	}
	flush(wl);
}

/* Dispatches until *flag or the timeout: start-up only. */
static int wait_for(struct wl_backend *wl, const bool *flag)
{
	uint64_t end = zl_now_ns() + SETUP_TIMEOUT_MS * 1000000ull;
	while (!*flag) {
		if (wl_display_dispatch_pending(wl->display) < 0 || wl_display_flush(wl->display) < 0) {
			return -EPIPE;
		}
		if (*flag) {
			break;
		}
		uint64_t now = zl_now_ns();
		if (now >= end) {
			return -ETIMEDOUT;
		}
		struct pollfd p = { wl_display_get_fd(wl->display), POLLIN, 0 };
		if (wl_display_prepare_read(wl->display) < 0) {
			continue;
		}
		if (poll(&p, 1, (int)((end - now) / 1000000) + 1) <= 0) {
			wl_display_cancel_read(wl->display);
			continue;
		}
		if (wl_display_read_events(wl->display) < 0) {
			return -EPIPE;
		}
	}
	return 0;
}

static void wayland_destroy(struct zc_backend *b);

static struct zc_backend *wayland_create(struct zl_loop *loop, uint32_t width, uint32_t height,
	const struct zc_backend_options *opts, const struct zc_backend_listener *listener,
	void *data)
{
	struct wl_backend *wl = calloc(1, sizeof(*wl));
	if (!wl) {
		return NULL;
	}
	wl->base.impl = &zc_backend_wayland;
	wl->listener = listener;
	wl->data = data;
	if (opts) {
		wl->opts = *opts;
	}
	wl->width = width;
	wl->height = height;
	wl->shm_fd = -1;
	wl->last = -1;
	wl->pres_clock = CLOCK_MONOTONIC;
	for (unsigned i = 0; i < MAX_FEEDBACK; i++) {
		wl->feedback[i].wl = wl;
	}
	for (unsigned i = 0; i < 10; i++) {
		wl->touch_id[i] = -1;
	}
	wl->display = wl_display_connect(NULL);
	if (!wl->display) {
		zl_err("wayland: cannot connect to the compositor (WAYLAND_DISPLAY=%s, "
			"XDG_RUNTIME_DIR=%s)", getenv("WAYLAND_DISPLAY") ? getenv("WAYLAND_DISPLAY") :
			"unset", getenv("XDG_RUNTIME_DIR") ? getenv("XDG_RUNTIME_DIR") : "unset");
		goto err;
	}
	wl->registry = wl_display_get_registry(wl->display);
	wl_registry_add_listener(wl->registry, &registry_listener, wl);
	/* Globals, then the outputs' names. */
	if (wl_display_roundtrip(wl->display) < 0 || wl_display_roundtrip(wl->display) < 0) {
		zl_err("wayland: the compositor does not answer");
		goto err;
	}
	const char *missing = !wl->compositor ? "wl_compositor" : !wl->shm ? "wl_shm" :
		!wl->wm_base ? "xdg_wm_base" : !wl->presentation ? "wp_presentation" : NULL;
	if (missing) {
		zl_err("wayland: the compositor has no %s", missing);
		goto err;
	}
	if (!wl->viewporter) {
		zl_warn("wayland: no wp_viewporter: the zone is shown unscaled");
	}
	struct wl_output *output = NULL;
	if (wl->opts.output_name) {
		for (unsigned i = 0; i < wl->n_outputs && !output; i++) {
			if (strcmp(wl->outputs[i].name, wl->opts.output_name) == 0) {
				output = wl->outputs[i].output;
			}
		}
		if (!output) {
			char list[256] = "";
			for (unsigned i = 0; i < wl->n_outputs; i++) {
				size_t l = strlen(list);
				snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "",
					wl->outputs[i].name[0] ? wl->outputs[i].name : "(unnamed)");
			}
			zl_err("wayland: no output named '%s' (have: %s)", wl->opts.output_name,
				list[0] ? list : "none");
			goto err;
		}
	}
	if (create_pool(wl) < 0) {
		goto err;
	}
	wl->surface = wl_compositor_create_surface(wl->compositor);
	wl->xdg_surface = xdg_wm_base_get_xdg_surface(wl->wm_base, wl->surface);
	xdg_surface_add_listener(wl->xdg_surface, &xdg_surface_listener, wl);
	wl->toplevel = xdg_surface_get_toplevel(wl->xdg_surface);
	xdg_toplevel_add_listener(wl->toplevel, &toplevel_listener, wl);
	xdg_toplevel_set_app_id(wl->toplevel, "zone-client");
	char title[128];
	snprintf(title, sizeof(title), "zone %s", wl->opts.title ? wl->opts.title : "");
	xdg_toplevel_set_title(wl->toplevel, title);
	if (wl->viewporter) {
		wl->viewport = wp_viewporter_get_viewport(wl->viewporter, wl->surface);
	}
	if (!wl->opts.window) {
		xdg_toplevel_set_fullscreen(wl->toplevel, output);
	}
	wl_surface_commit(wl->surface);
	int r = wait_for(wl, &wl->configured);
	if (r < 0) {
		zl_err("wayland: no configure from the compositor: %s", strerror(-r));
		goto err;
	}
	wl->src = zl_loop_add_fd(loop, wl_display_get_fd(wl->display), EPOLLIN, on_display, wl);
	if (!wl->src) {
		goto err;
	}
	flush(wl);
	return &wl->base;
err:
	wayland_destroy(&wl->base);
	return NULL;
}

static void wayland_destroy(struct zc_backend *b)
{
	struct wl_backend *wl = (struct wl_backend *)b;
	zl_source_remove(wl->src);
	for (unsigned i = 0; i < MAX_FEEDBACK; i++) {
		if (wl->feedback[i].fb) {
			wp_presentation_feedback_destroy(wl->feedback[i].fb);
		}
	}
	for (unsigned i = 0; i < wl->n_bufs; i++) {
		wl_buffer_destroy(wl->bufs[i].buffer);
		pixman_image_unref(wl->bufs[i].image);
		pixman_region32_fini(&wl->bufs[i].stale);
	}
	if (wl->pool) {
		wl_shm_pool_destroy(wl->pool);
	}
	if (wl->shm_data) {
		munmap(wl->shm_data, wl->shm_size);
	}
	if (wl->shm_fd >= 0) {
		close(wl->shm_fd);
	}
	if (wl->viewport) {
		wp_viewport_destroy(wl->viewport);
	}
	if (wl->toplevel) {
		xdg_toplevel_destroy(wl->toplevel);
	}
	if (wl->xdg_surface) {
		xdg_surface_destroy(wl->xdg_surface);
	}
	if (wl->surface) {
		wl_surface_destroy(wl->surface);
	}
	for (unsigned i = 0; i < wl->n_outputs; i++) {
		wl_output_destroy(wl->outputs[i].output);
	}
	if (wl->pointer) {
		wl_pointer_destroy(wl->pointer);
	}
	if (wl->touch) {
		wl_touch_destroy(wl->touch);
	}
	if (wl->keyboard) {
		wl_keyboard_destroy(wl->keyboard);
	}
	if (wl->seat) {
		wl_seat_destroy(wl->seat);
	}
	if (wl->viewporter) {
		wp_viewporter_destroy(wl->viewporter);
	}
	if (wl->presentation) {
		wp_presentation_destroy(wl->presentation);
	}
	if (wl->wm_base) {
		xdg_wm_base_destroy(wl->wm_base);
	}
	if (wl->shm) {
		wl_shm_destroy(wl->shm);
	}
	if (wl->compositor) {
		wl_compositor_destroy(wl->compositor);
	}
	if (wl->registry) {
		wl_registry_destroy(wl->registry);
	}
	if (wl->display) {
		wl_display_flush(wl->display);
		wl_display_disconnect(wl->display);
	}
	free(wl);
}

static int wayland_present(struct zc_backend *b, pixman_image_t *frame,
	const pixman_region32_t *damage, uint32_t frame_id)
{
	struct wl_backend *wl = (struct wl_backend *)b;
	if (wl->dead) {
		return -EPIPE;
	}
	int bi = -1;
	for (unsigned i = 0; i < wl->n_bufs && bi < 0; i++) {
		if (!wl->bufs[i].busy) {
			bi = (int)i;
		}
	}
	if (bi < 0 && wl->n_bufs < MAX_BUFFERS && add_buffer(wl) == 0) {
		bi = (int)wl->n_bufs - 1;
	}
	struct feedback *f = NULL;
	for (unsigned i = 0; i < MAX_FEEDBACK && !f; i++) {
		if (!wl->feedback[i].fb) {
			f = &wl->feedback[i];
		}
	}
	if (bi < 0 || !f) {
		return -EBUSY; /* the compositor holds every buffer */
	}
	struct shm_buf *sb = &wl->bufs[bi];
	/* Bring the buffer up to this frame: what it missed, and this damage. */
	pixman_region32_union(&sb->stale, &sb->stale, (pixman_region32_t *)damage);
	int n = 0;
	const pixman_box32_t *r = pixman_region32_rectangles(&sb->stale, &n);
	for (int i = 0; i < n; i++) {
		pixman_image_composite32(PIXMAN_OP_SRC, frame, NULL, sb->image, r[i].x1, r[i].y1, 0, 0,
			r[i].x1, r[i].y1, r[i].x2 - r[i].x1, r[i].y2 - r[i].y1);
	}
	pixman_region32_clear(&sb->stale);
	for (unsigned i = 0; i < wl->n_bufs; i++) {
		if ((int)i != bi) {
			pixman_region32_union(&wl->bufs[i].stale, &wl->bufs[i].stale,
				(pixman_region32_t *)damage);
		}
	}
	wl_surface_attach(wl->surface, sb->buffer, 0, 0);
	const pixman_box32_t *d = pixman_region32_rectangles((pixman_region32_t *)damage, &n);
	for (int i = 0; i < n; i++) {
		wl_surface_damage_buffer(wl->surface, d[i].x1, d[i].y1, d[i].x2 - d[i].x1,
			d[i].y2 - d[i].y1);
	}
	f->fb = wp_presentation_feedback(wl->presentation, wl->surface);
	f->frame_id = frame_id;
	wp_presentation_feedback_add_listener(f->fb, &feedback_listener, f);
	wl_surface_commit(wl->surface);
	sb->busy = true;
	wl->last = bi;
	flush(wl);
	return 0;
}

static pixman_image_t *wayland_snapshot(struct zc_backend *b)
{
	struct wl_backend *wl = (struct wl_backend *)b;
	return wl->last >= 0 ? wl->bufs[wl->last].image : NULL;
}

const struct zc_backend_impl zc_backend_wayland = {
	.name = "wayland",
	.present_source = "wp_presentation",
	.create = wayland_create,
	.destroy = wayland_destroy,
	.present = wayland_present,
	.snapshot = wayland_snapshot,
};
