/* SPDX-License-Identifier: MIT */
#include "input-route.h"

#include <string.h>

void gs_input_route_init(struct gs_input_route *r)
{
	r->touch_layer = r->grab_layer = r->focus_layer = -1;
	r->buttons = 0;
}

/* The topmost layer (drawn last) containing the point (24.8), or -1. */
static int pick(const struct comp_zone_config *z, int32_t x, int32_t y)
{
	for (unsigned i = z->n_layers; i-- > 0;) {
		const struct comp_layer_config *l = &z->layers[i];
		int64_t lx = (int64_t)l->x * 256, ly = (int64_t)l->y * 256;
		if (x >= lx && y >= ly && x < lx + (int64_t)l->width * 256 &&
			y < ly + (int64_t)l->height * 256) {
			return (int)i;
		}
	}
	return -1;
}

/* The point in layer li's scanout, 0..max, clamped to the layer. */
static void place(const struct comp_zone_config *z, unsigned li, int32_t x, int32_t y,
	uint32_t max, struct gs_input_target *out)
{
	const struct comp_layer_config *l = &z->layers[li];
	int64_t px = (int64_t)x - (int64_t)l->x * 256, py = (int64_t)y - (int64_t)l->y * 256;
	int64_t wx = (int64_t)l->width * 256, wy = (int64_t)l->height * 256;
	px = px < 0 ? 0 : px >= wx ? wx - 1 : px;
	py = py < 0 ? 0 : py >= wy ? wy - 1 : py;
	/* The layer shows the whole scanout: its extent is 0..max. */
	out->x = l->width > 1 ? (uint32_t)(px * max / (wx - 256 > 0 ? wx - 256 : 1)) : 0;
	out->y = l->height > 1 ? (uint32_t)(py * max / (wy - 256 > 0 ? wy - 256 : 1)) : 0;
	out->x = out->x > max ? max : out->x;
	out->y = out->y > max ? max : out->y;
	out->layer = li;
	out->guest = l->guest;
	out->scanout = l->scanout;
}

enum gs_input_action gs_input_route(struct gs_input_route *r, const struct comp_zone_config *z,
	const struct xport_ctl_input *ev, uint32_t max, struct gs_input_target *out)
{
	memset(out, 0, sizeof(*out));
	out->action = GS_INPUT_NONE;
	int li;
	switch (ev->kind) {
	case XPORT_INPUT_TOUCH_DOWN:
		if (ev->slot != 0 || r->touch_layer >= 0) {
			break;
		}
		li = pick(z, ev->x, ev->y);
		if (li < 0) {
			break;
		}
		r->touch_layer = r->focus_layer = li;
		place(z, (unsigned)li, ev->x, ev->y, max, out);
		out->action = GS_INPUT_TOUCH_DOWN;
		break;
	case XPORT_INPUT_TOUCH_MOTION:
	case XPORT_INPUT_TOUCH_UP:
		if (ev->slot != 0 || r->touch_layer < 0) {
			break;
		}
		place(z, (unsigned)r->touch_layer, ev->x, ev->y, max, out);
		out->action = ev->kind == XPORT_INPUT_TOUCH_UP ? GS_INPUT_TOUCH_UP :
			GS_INPUT_TOUCH_MOTION;
		if (ev->kind == XPORT_INPUT_TOUCH_UP) {
			r->touch_layer = -1;
		}
		break;
	case XPORT_INPUT_POINTER:
		li = r->grab_layer >= 0 ? r->grab_layer : pick(z, ev->x, ev->y);
		if (li < 0) {
			break;
		}
		place(z, (unsigned)li, ev->x, ev->y, max, out);
		out->action = GS_INPUT_TOUCH_MOTION;
		break;
	case XPORT_INPUT_BUTTON:
		/* The buttons the guests' device has. */
		if (ev->code < 0x110 || ev->code > 0x112) {
			break;
		}
		if (ev->value) {
			li = r->grab_layer >= 0 ? r->grab_layer : pick(z, ev->x, ev->y);
			if (li < 0) {
				break;
			}
			r->grab_layer = r->focus_layer = li;
			r->buttons++;
		} else {
			li = r->grab_layer;
			if (li < 0) {
				break;
			}
			if (r->buttons && --r->buttons == 0) {
				r->grab_layer = -1;
			}
		}
		place(z, (unsigned)li, ev->x, ev->y, max, out);
		out->action = GS_INPUT_KEY;
		out->code = ev->code;
		out->pressed = ev->value;
		break;
	case XPORT_INPUT_KEY:
		/* The keyboard keys the guests' device has (KEY_ESC..KEY_MICMUTE). */
		if (ev->code < 1 || ev->code > 248 || r->focus_layer < 0 ||
			(unsigned)r->focus_layer >= z->n_layers) {
			break;
		}
		out->layer = (unsigned)r->focus_layer;
		out->guest = z->layers[r->focus_layer].guest;
		out->scanout = z->layers[r->focus_layer].scanout;
		out->action = GS_INPUT_KEY;
		out->code = ev->code;
		out->pressed = ev->value;
		break;
	default:
		break;
	}
	return out->action;
}
