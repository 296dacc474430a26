/* SPDX-License-Identifier: MIT */
/* Input routing (gpu-server/input-route.h): events land on the guest whose
 * layer is under them, in that guest's scanout coordinates; a touch or a
 * press stays with the layer it started on (clamped to it), so a guest never
 * gets a point of another guest's layer; keys follow the last touch/click;
 * what the guests' device does not have is dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "gpu-server/input-route.h"

#define MAX 1000

/* Zone 400x200: guest 0 on the left half, guest 1 on the right half, and
 * guest 2 as a small layer on top of guest 1's (300..339, 50..89). */
static struct comp_zone_config zone(void)
{
	struct comp_zone_config z = { .name = "z", .width = 400, .height = 200, .n_layers = 3 };
	z.layers[0] = (struct comp_layer_config){ .guest = 0, .x = 0, .y = 0, .width = 200,
		.height = 200 };
	z.layers[1] = (struct comp_layer_config){ .guest = 1, .scanout = 1, .x = 200, .y = 0,
		.width = 200, .height = 200 };
	z.layers[2] = (struct comp_layer_config){ .guest = 2, .x = 300, .y = 50, .width = 40,
		.height = 40 };
	return z;
}

static struct xport_ctl_input ev(uint8_t kind, double x, double y, uint16_t code, uint16_t value)
{
	return (struct xport_ctl_input){ .kind = kind, .x = (int32_t)(x * 256),
		.y = (int32_t)(y * 256), .code = code, .value = value };
}

static void test_touch(void **state)
{
	(void)state;
	struct comp_zone_config z = zone();
	struct gs_input_route r;
	gs_input_route_init(&r);
	struct gs_input_target t;
	struct xport_ctl_input e = ev(XPORT_INPUT_TOUCH_DOWN, 100, 50, 0, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_TOUCH_DOWN);
	assert_int_equal(t.guest, 0);
	/* 100 of 0..199 -> 100 * 1000 / 199 */
	assert_int_equal(t.x, 502);
	assert_int_equal(t.y, 251);
	/* Dragged over guest 1's layer: still guest 0's, clamped to its edge. */
	e = ev(XPORT_INPUT_TOUCH_MOTION, 350, 60, 0, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_TOUCH_MOTION);
	assert_int_equal(t.guest, 0);
	assert_int_equal(t.x, MAX);
	/* A second touch down while one is on: not routed. */
	e = ev(XPORT_INPUT_TOUCH_DOWN, 250, 50, 0, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_NONE);
	e = ev(XPORT_INPUT_TOUCH_UP, 350, 60, 0, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_TOUCH_UP);
	assert_int_equal(t.guest, 0);
	/* The top layer wins where layers overlap; scanout follows the layer. */
	e = ev(XPORT_INPUT_TOUCH_DOWN, 320, 70, 0, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_TOUCH_DOWN);
	assert_int_equal(t.guest, 2);
	e = ev(XPORT_INPUT_TOUCH_UP, 320, 70, 0, 0);
	gs_input_route(&r, &z, &e, MAX, &t);
	e = ev(XPORT_INPUT_TOUCH_DOWN, 399.5, 199.5, 0, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_TOUCH_DOWN);
	assert_int_equal(t.guest, 1);
	assert_int_equal(t.scanout, 1);
	assert_int_equal(t.x, MAX);
	assert_int_equal(t.y, MAX);
	e = ev(XPORT_INPUT_TOUCH_UP, 0, 0, 0, 0);
	gs_input_route(&r, &z, &e, MAX, &t);
	/* Outside every layer, other slots, motion without a touch: nothing. */
	e = ev(XPORT_INPUT_TOUCH_DOWN, 450, 50, 0, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_NONE);
	e = ev(XPORT_INPUT_TOUCH_DOWN, -1, 50, 0, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_NONE);
	e = ev(XPORT_INPUT_TOUCH_DOWN, 10, 10, 0, 0);
	e.slot = 1;
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_NONE);
	e = ev(XPORT_INPUT_TOUCH_MOTION, 10, 10, 0, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_NONE);
}

static void test_pointer_keys(void **state)
{
	(void)state;
	struct comp_zone_config z = zone();
	struct gs_input_route r;
	gs_input_route_init(&r);
	struct gs_input_target t;
	/* No focus yet: keys go nowhere. */
	struct xport_ctl_input e = ev(XPORT_INPUT_KEY, 0, 0, 30, 1);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_NONE);
	e = ev(XPORT_INPUT_POINTER, 250, 10, 0, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_TOUCH_MOTION);
	assert_int_equal(t.guest, 1);
	/* Press on guest 1, drag to guest 0's layer: guest 1 keeps it. */
	e = ev(XPORT_INPUT_BUTTON, 250, 10, 0x110, 1);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_KEY);
	assert_int_equal(t.guest, 1);
	assert_int_equal(t.code, 0x110);
	assert_true(t.pressed);
	e = ev(XPORT_INPUT_POINTER, 20, 10, 0, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_TOUCH_MOTION);
	assert_int_equal(t.guest, 1);
	assert_int_equal(t.x, 0);
	e = ev(XPORT_INPUT_BUTTON, 20, 10, 0x110, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_KEY);
	assert_int_equal(t.guest, 1);
	assert_false(t.pressed);
	/* Released: the pointer is guest 0's again. */
	e = ev(XPORT_INPUT_POINTER, 20, 10, 0, 0);
	gs_input_route(&r, &z, &e, MAX, &t);
	assert_int_equal(t.guest, 0);
	/* Keys: to the guest clicked last. */
	e = ev(XPORT_INPUT_KEY, 0, 0, 30, 1);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_KEY);
	assert_int_equal(t.guest, 1);
	assert_int_equal(t.code, 30);
	/* Codes the device does not have. */
	e = ev(XPORT_INPUT_KEY, 0, 0, 0x110, 1);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_NONE);
	e = ev(XPORT_INPUT_KEY, 0, 0, 0, 1);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_NONE);
	e = ev(XPORT_INPUT_BUTTON, 20, 10, 30, 1);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_NONE);
	/* A release without a press: nothing. */
	e = ev(XPORT_INPUT_BUTTON, 20, 10, 0x111, 0);
	assert_int_equal(gs_input_route(&r, &z, &e, MAX, &t), GS_INPUT_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_touch),
		cmocka_unit_test(test_pointer_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
