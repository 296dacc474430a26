/* SPDX-License-Identifier: MIT */
#ifndef ZC_INPUT_EVDEV_H
#define ZC_INPUT_EVDEV_H

/* The panel's own input devices when there is no compositor (-b drm):
 * libinput on every /dev/input/event* the process can open (touchscreens,
 * absolute pointers, mice, keyboards). Absolute positions are mapped over
 * the whole zone (the panel shows the whole zone); a relative pointer moves
 * a position clamped to it. Events go out as zc_input_event. libinput needs
 * udev's tags (ID_INPUT_*): on a system without udevd they must be in
 * /run/udev/data (tools/guest-vm writes them for its test guest). */

#include <stdint.h>

#include "backend.h"
#include "util/loop.h"

struct zc_evdev;

/* NULL if libinput cannot start (logged); no device is not an error. */
struct zc_evdev *zc_evdev_create(struct zl_loop *loop, uint32_t zone_w, uint32_t zone_h,
	void (*emit)(void *data, const struct zc_input_event *ev), void *data);
void zc_evdev_destroy(struct zc_evdev *e);

#endif
