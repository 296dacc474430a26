/* SPDX-License-Identifier: MIT */
#include "input-evdev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libinput.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

struct zc_evdev {
	struct libinput *li;
	struct udev *udev;
	struct zl_source *src;
	uint32_t w, h;
	double px, py; /* the relative pointer's position, zone pixels */
	double tx[10], ty[10]; /* each touch slot's last point */
	void (*emit)(void *data, const struct zc_input_event *ev);
	void *data;
};

static int open_restricted(const char *path, int flags, void *data)
{
	(void)data;
	int fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void close_restricted(int fd, void *data)
{
	(void)data;
	close(fd);
}

static const struct libinput_interface li_interface = {
	.open_restricted = open_restricted,
	.close_restricted = close_restricted,
};

static void send(struct zc_evdev *e, enum zc_input_kind kind, unsigned slot, double x, double y,
	uint16_t code, bool pressed)
{
	struct zc_input_event ev = { kind, slot, x, y, code, pressed };
	e->emit(e->data, &ev);
}

static void clamp(struct zc_evdev *e)
{
	e->px = e->px < 0 ? 0 : e->px > e->w - 1 ? e->w - 1 : e->px;
	e->py = e->py < 0 ? 0 : e->py > e->h - 1 ? e->h - 1 : e->py;
}

static void handle(struct zc_evdev *e, struct libinput_event *ev)
{
	switch (libinput_event_get_type(ev)) {
	case LIBINPUT_EVENT_DEVICE_ADDED: {
		struct libinput_device *d = libinput_event_get_device(ev);
		zl_info("evdev: %s (%s)", libinput_device_get_name(d),
			libinput_device_get_sysname(d));
		break;
	}
	case LIBINPUT_EVENT_POINTER_MOTION: {
		struct libinput_event_pointer *p = libinput_event_get_pointer_event(ev);
		e->px += libinput_event_pointer_get_dx(p);
		e->py += libinput_event_pointer_get_dy(p);
		clamp(e);
		send(e, ZC_INPUT_POINTER, 0, e->px, e->py, 0, false);
		break;
	}
	case LIBINPUT_EVENT_POINTER_MOTION_ABSOLUTE: {
		struct libinput_event_pointer *p = libinput_event_get_pointer_event(ev);
		e->px = libinput_event_pointer_get_absolute_x_transformed(p, e->w);
		e->py = libinput_event_pointer_get_absolute_y_transformed(p, e->h);
		clamp(e);
		send(e, ZC_INPUT_POINTER, 0, e->px, e->py, 0, false);
		break;
	}
	case LIBINPUT_EVENT_POINTER_BUTTON: {
		struct libinput_event_pointer *p = libinput_event_get_pointer_event(ev);
		send(e, ZC_INPUT_BUTTON, 0, e->px, e->py,
			(uint16_t)libinput_event_pointer_get_button(p),
			libinput_event_pointer_get_button_state(p) == LIBINPUT_BUTTON_STATE_PRESSED);
		break;
	}
	case LIBINPUT_EVENT_TOUCH_DOWN:
	case LIBINPUT_EVENT_TOUCH_MOTION: {
		struct libinput_event_touch *t = libinput_event_get_touch_event(ev);
		int32_t slot = libinput_event_touch_get_seat_slot(t);
		if (slot >= 0 && slot < 10) {
			e->tx[slot] = libinput_event_touch_get_x_transformed(t, e->w);
			e->ty[slot] = libinput_event_touch_get_y_transformed(t, e->h);
			send(e, libinput_event_get_type(ev) == LIBINPUT_EVENT_TOUCH_DOWN ?
				ZC_INPUT_TOUCH_DOWN : ZC_INPUT_TOUCH_MOTION, (unsigned)slot,
				e->tx[slot], e->ty[slot], 0, true);
		}
		break;
	}
	case LIBINPUT_EVENT_TOUCH_UP: {
		struct libinput_event_touch *t = libinput_event_get_touch_event(ev);
		int32_t slot = libinput_event_touch_get_seat_slot(t);
		if (slot >= 0 && slot < 10) {
			/* Lifted where it was last. */
			send(e, ZC_INPUT_TOUCH_UP, (unsigned)slot, e->tx[slot], e->ty[slot], 0, false);
		}
		break;
	}
	case LIBINPUT_EVENT_KEYBOARD_KEY: {
		struct libinput_event_keyboard *k = libinput_event_get_keyboard_event(ev);
		send(e, ZC_INPUT_KEY, 0, 0, 0, (uint16_t)libinput_event_keyboard_get_key(k),
			libinput_event_keyboard_get_key_state(k) == LIBINPUT_KEY_STATE_PRESSED);
		break;
	}
	default:
		break;
	}
}

static void on_libinput(void *data, int fd, uint32_t events)
{
	(void)fd, (void)events;
	struct zc_evdev *e = data;
	if (libinput_dispatch(e->li) < 0) {
		return;
	}
	struct libinput_event *ev;
	while ((ev = libinput_get_event(e->li))) {
		handle(e, ev);
		libinput_event_destroy(ev);
	}
}

struct zc_evdev *zc_evdev_create(struct zl_loop *loop, uint32_t zone_w, uint32_t zone_h,
	void (*emit)(void *data, const struct zc_input_event *ev), void *data)
{
	struct zc_evdev *e = calloc(1, sizeof(*e));
	if (!e) {
		return NULL;
	}
	e->w = zone_w;
	e->h = zone_h;
	e->px = zone_w / 2.0;
	e->py = zone_h / 2.0;
	e->emit = emit;
	e->data = data;
	e->udev = udev_new();
	e->li = e->udev ? libinput_path_create_context(&li_interface, e) : NULL;
	if (!e->li) {
		zl_err("evdev: libinput does not start");
		zc_evdev_destroy(e);
		return NULL;
	}
	unsigned n = 0;
	DIR *dir = opendir("/dev/input");
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		if (strncmp(de->d_name, "event", 5) != 0) {
			continue;
		}
		char path[300];
		snprintf(path, sizeof(path), "/dev/input/%s", de->d_name);
		/* libinput takes what it can use (udev's tags say what) and
		 * logs the rest. */
		n += libinput_path_add_device(e->li, path) != NULL;
	}
	if (dir) {
		closedir(dir);
	}
	e->src = zl_loop_add_fd(loop, libinput_get_fd(e->li), EPOLLIN, on_libinput, e);
	if (!e->src) {
		zc_evdev_destroy(e);
		return NULL;
	}
	zl_info("evdev: %u input device(s) for the panel", n);
	on_libinput(e, -1, 0); /* DEVICE_ADDED events */
	return e;
}

void zc_evdev_destroy(struct zc_evdev *e)
{
	if (!e) {
		return;
	}
	zl_source_remove(e->src);
	if (e->li) {
		libinput_unref(e->li);
	}
	if (e->udev) {
		udev_unref(e->udev);
	}
	free(e);
}
