/* SPDX-License-Identifier: MIT */
#ifndef GS_INPUT_ROUTE_H
#define GS_INPUT_ROUTE_H

/* Where a zone's input goes: the panel's events (zone coordinates, from a
 * zone client) to the guest whose layer is under them, in that guest's
 * scanout coordinates (0..max over the whole scanout, as a virtio-input
 * touchscreen reports them). Pure logic, no devices: gpu-server hands the
 * result to the guest's input device.
 *  - A touch goes to the topmost layer under its first point and stays
 *    with it until it ends (moves outside that layer are clamped to its
 *    edge): a guest never sees a point of another guest's layer.
 *  - The pointer: motion to the layer under it; a button press grabs that
 *    layer until the last button is released.
 *  - Keys go to the guest touched or clicked last in this zone (none before
 *    that).
 *  - Touch slots other than 0 are not routed (the guests' device is a
 *    single-touch screen). */

#include <stdbool.h>
#include <stdint.h>

#include "compositor/compositor.h"
#include "transport/control-proto.h"

struct gs_input_route {
	int touch_layer;   /* the layer touch slot 0 is on; -1: none */
	int grab_layer;    /* the layer the pressed buttons went to; -1: none */
	unsigned buttons;  /* buttons down */
	int focus_layer;   /* keys go to this layer's guest; -1: none */
};

enum gs_input_action {
	GS_INPUT_NONE,         /* nothing to deliver */
	GS_INPUT_TOUCH_DOWN,   /* x, y */
	GS_INPUT_TOUCH_MOTION, /* x, y (also pointer motion) */
	GS_INPUT_TOUCH_UP,     /* x, y */
	GS_INPUT_KEY,          /* code, pressed (keys and buttons) */
};

struct gs_input_target {
	enum gs_input_action action;
	unsigned layer, guest, scanout;
	uint32_t x, y; /* 0..max over the guest's scanout */
	uint16_t code;
	bool pressed;
};

void gs_input_route_init(struct gs_input_route *r);
/* The config's layers (their index in z). Returns the action. */
enum gs_input_action gs_input_route(struct gs_input_route *r, const struct comp_zone_config *z,
	const struct xport_ctl_input *ev, uint32_t max, struct gs_input_target *out);

#endif
