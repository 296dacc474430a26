/* SPDX-License-Identifier: MIT */
/* Compositor damage: only damaged zone pixels are re-composed (the rest of
 * a poisoned frame stays poisoned), the damage returned is what was
 * re-composed, t_flush is the earliest, disabling shows black, image
 * references are released, cursors damage and draw correctly, and hostile
 * updates are harmless. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helpers.h"
#include "test-helpers.h"
#include "util/clock.h"

#define POISON 0x7fff00ffu

/* Asserts that zone pixel (x, y) has colour want, and padding 0xff. */

/* Takes the pending damage and drops it. */
static void drain(struct comp_zone *z)
{
	pixman_region32_t r;
	pixman_region32_init(&r);
	comp_zone_take_damage(z, &r, NULL);
	pixman_region32_fini(&r);
}

static void poison(struct comp_zone *z)
{
	pixman_image_t *img = comp_zone_image(z);
	uint32_t *p = pixman_image_get_data(img);
	int stride = pixman_image_get_stride(img) / 4;
	for (int y = 0; y < pixman_image_get_height(img); y++) {
		for (int x = 0; x < pixman_image_get_width(img); x++) {
			p[y * stride + x] = POISON;
		}
	}
}

static uint32_t raw_px(pixman_image_t *img, int x, int y)
{
	return pixman_image_get_data(img)[y * pixman_image_get_stride(img) / 4 + x];
}

/* Every pixel in damage equals ref; every pixel outside it is poison. */
static void check_poisoned(struct comp_zone *z, pixman_image_t *ref, pixman_region32_t *damage)
{
	pixman_image_t *img = comp_zone_image(z);
	for (int y = 0; y < pixman_image_get_height(img); y++) {
		for (int x = 0; x < pixman_image_get_width(img); x++) {
			if (pixman_region32_contains_point(damage, x, y, NULL)) {
				assert_px(img, x, y, th_get(ref, x, y));
			} else if (raw_px(img, x, y) != POISON) {
				fail_msg("pixel %d,%d outside the damage was re-composed", x, y);
			}
		}
	}
}

static void assert_region_is_box(pixman_region32_t *r, int x1, int y1, int x2, int y2)
{
	int n;
	pixman_box32_t *b = pixman_region32_rectangles(r, &n);
	if (n != 1 || b[0].x1 != x1 || b[0].y1 != y1 || b[0].x2 != x2 || b[0].y2 != y2) {
		fail_msg("damage: %d boxes, first %d,%d-%d,%d; want %d,%d-%d,%d", n,
			n ? b[0].x1 : 0, n ? b[0].y1 : 0, n ? b[0].x2 : 0, n ? b[0].y2 : 0,
			x1, y1, x2, y2);
	}
}

static void test_initial_damage_and_t_flush(void **state)
{
	struct comp_layer_config l[] = { th_layer(0, 0, 0, 0, 20, 10) };
	uint64_t before = zl_now_ns();
	struct comp_zone *z = zone_new(30, 10, 1, l);
	pixman_region32_t r;
	pixman_region32_init_rect(&r, 1, 1, 2, 2);
	uint64_t t = 0;
	assert_true(comp_zone_take_damage(z, &r, &t));
	assert_region_is_box(&r, 0, 0, 30, 10);
	assert_true(t >= before && t <= zl_now_ns());
	/* Nothing since: false, and the region comes back empty. */
	assert_false(comp_zone_take_damage(z, &r, &t));
	assert_false(pixman_region32_not_empty(&r));

	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 20, 10, th_noise, 1, 0xff);
	assert_true(th_update_full(z, 0, 0, a, 0, 0, 20, 10, 1000));
	pixman_box32_t d = { 2, 2, 4, 4 };
	assert_true(th_update(z, 0, 0, a, 0, 0, 20, 10, &d, 1, 500));
	assert_true(th_update(z, 0, 0, a, 0, 0, 20, 10, &d, 1, 3000));
	assert_true(comp_zone_take_damage(z, &r, &t));
	assert_int_equal(t, 500);
	assert_region_is_box(&r, 0, 0, 20, 10);
	assert_true(th_update(z, 0, 0, a, 0, 0, 20, 10, &d, 1, 2000));
	assert_true(comp_zone_take_damage(z, &r, &t));
	assert_int_equal(t, 2000);
	assert_region_is_box(&r, 2, 2, 4, 4);
	/* A SET_SCANOUT-like update (not presented) changes pixels but sets no
	 * time: the frame's latency runs from the flush that presents it. */
	struct vgpu_scanout_update set = {
		.image = a, .src_w = 20, .src_h = 10, .damage = &d, .n_damage = 1,
		.t_flush_ns = 100, .present = false,
	};
	assert_true(comp_zone_scanout_update(z, 0, &set));
	assert_true(th_update(z, 0, 0, a, 0, 0, 20, 10, &d, 1, 4000));
	assert_true(comp_zone_take_damage(z, &r, &t));
	assert_int_equal(t, 4000);
	before = zl_now_ns();
	assert_true(comp_zone_scanout_update(z, 0, &set));
	assert_true(comp_zone_take_damage(z, &r, &t));
	assert_true(t >= before && t <= zl_now_ns());
	/* Not shown here: nothing changes. */
	assert_false(th_update(z, 1, 0, a, 0, 0, 20, 10, &d, 1, 1));
	assert_false(th_update(z, 0, 1, a, 0, 0, 20, 10, &d, 1, 1));
	assert_false(comp_zone_take_damage(z, &r, &t));

	pixman_region32_fini(&r);
	pixman_image_unref(a);
	comp_zone_destroy(z);
}

/* Unscaled: damage maps 1:1 (offset by the scanout rectangle and the layer
 * position), clipped to the scanout, the layer and the zone. */
static void test_damage_unscaled(void **state)
{
	struct comp_layer_config l[] = {
		th_layer(0, 0, 20, 10, 100, 50),
		th_layer(1, 0, 150, 30, 100, 50), /* sticks out right and bottom */
	};
	struct comp_zone *z = zone_new(200, 60, 2, l);
	struct comp_zone *ref = zone_new(200, 60, 2, l);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 130, 70, th_noise, 1, 0xff);
	pixman_image_t *b = th_image(PIXMAN_x8r8g8b8, 100, 50, th_noise, 2, 0xff);
	th_update_full(z, 0, 0, a, 10, 5, 100, 50, 1);
	th_update_full(z, 1, 0, b, 0, 0, 100, 50, 1);
	drain(z);

	/* New content in the resource, damaged at resource 30,15 8x4 and at
	 * a box half outside the scanout (clipped to it). */
	for (int y = 0; y < 70; y++) {
		for (int x = 0; x < 130; x++) {
			th_set(a, x, y, th_noise(3, (uint32_t)x, (uint32_t)y), 0xff);
		}
	}
	th_update_full(ref, 0, 0, a, 10, 5, 100, 50, 1);
	th_update_full(ref, 1, 0, b, 0, 0, 100, 50, 1);
	poison(z);
	pixman_box32_t d[] = { { 30, 15, 38, 19 }, { 100, 50, 140, 80 } };
	assert_true(th_update(z, 0, 0, a, 10, 5, 100, 50, d, 2, 7));

	pixman_region32_t r, want;
	pixman_region32_init(&r);
	pixman_region32_init_rect(&want, 40, 20, 8, 4);
	pixman_region32_union_rect(&want, &want, 110, 55, 10, 5);
	uint64_t t;
	assert_true(comp_zone_take_damage(z, &r, &t));
	assert_int_equal(t, 7);
	assert_true(pixman_region32_equal(&r, &want));
	check_poisoned(z, comp_zone_image(ref), &r);

	/* A layer sticking out of the zone: damage clipped to the zone. */
	poison(z);
	pixman_box32_t e = { 40, 20, 100, 50 };
	assert_true(th_update(z, 1, 0, b, 0, 0, 100, 50, &e, 1, 8));
	assert_true(comp_zone_take_damage(z, &r, &t));
	assert_region_is_box(&r, 190, 50, 200, 60);
	check_poisoned(z, comp_zone_image(ref), &r);

	/* Damage wholly outside the scanout, or empty: nothing. */
	pixman_box32_t f[] = { { 0, 0, 10, 70 }, { 50, 50, 50, 60 }, { 60, 30, 40, 20 } };
	assert_false(th_update(z, 0, 0, a, 10, 5, 100, 50, f, 3, 9));

	pixman_region32_fini(&r);
	pixman_region32_fini(&want);
	pixman_image_unref(a);
	pixman_image_unref(b);
	comp_zone_destroy(z);
	comp_zone_destroy(ref);
}

/* The layer pixels (zone coordinates) whose bilinear taps read a pixel of
 * damage box d (scanout coordinates), found by brute force. */
static void exact_scaled_damage(const struct comp_layer_config *l, int sw, int sh,
	const pixman_box32_t *d, pixman_region32_t *out)
{
	pixman_region32_clear(out);
	for (int y = 0; y < (int)l->height; y++) {
		double py = (y + 0.5) * sh / l->height - 0.5;
		int y0 = (int)floor(py), y1 = y0 + 1;
		y0 = y0 < 0 ? 0 : y0 >= sh ? sh - 1 : y0;
		y1 = y1 < 0 ? 0 : y1 >= sh ? sh - 1 : y1;
		bool yin = (y0 >= d->y1 && y0 < d->y2) || (y1 >= d->y1 && y1 < d->y2);
		for (int x = 0; x < (int)l->width && yin; x++) {
			double px = (x + 0.5) * sw / l->width - 0.5;
			int x0 = (int)floor(px), x1 = x0 + 1;
			x0 = x0 < 0 ? 0 : x0 >= sw ? sw - 1 : x0;
			x1 = x1 < 0 ? 0 : x1 >= sw ? sw - 1 : x1;
			if ((x0 >= d->x1 && x0 < d->x2) || (x1 >= d->x1 && x1 < d->x2)) {
				pixman_region32_union_rect(out, out, l->x + x, l->y + y, 1, 1);
			}
		}
	}
}

/* Scaled: the returned damage covers every pixel the change reaches (and
 * not much more), only it is re-composed, and the result is bit-exact with
 * a full composition of the new content. */
static void check_scaled_damage(int sw, int sh, uint32_t w, uint32_t h, pixman_box32_t d)
{
	struct comp_layer_config l[] = { th_layer(0, 0, 7, 5, w, h) };
	uint32_t zw = w + 14, zh = h + 10;
	struct comp_zone *z = zone_new(zw, zh, 1, l);
	struct comp_zone *ref = zone_new(zw, zh, 1, l);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, sw, sh, th_noise, 1, 0xff);
	th_update_full(z, 0, 0, a, 0, 0, (uint32_t)sw, (uint32_t)sh, 1);
	drain(z);
	for (int y = d.y1; y < d.y2; y++) {
		for (int x = d.x1; x < d.x2; x++) {
			th_set(a, x, y, th_noise(2, (uint32_t)x, (uint32_t)y), 0xff);
		}
	}
	th_update_full(ref, 0, 0, a, 0, 0, (uint32_t)sw, (uint32_t)sh, 1);
	poison(z);
	assert_true(th_update(z, 0, 0, a, 0, 0, (uint32_t)sw, (uint32_t)sh, &d, 1, 1));
	pixman_region32_t r, exact, grown;
	pixman_region32_init(&r);
	pixman_region32_init(&exact);
	assert_true(comp_zone_take_damage(z, &r, NULL));
	check_poisoned(z, comp_zone_image(ref), &r);

	exact_scaled_damage(&l[0], sw, sh, &d, &exact);
	pixman_region32_t missing;
	pixman_region32_init(&missing);
	pixman_region32_subtract(&missing, &exact, &r);
	if (pixman_region32_not_empty(&missing)) {
		pixman_box32_t *e = pixman_region32_extents(&missing);
		fail_msg("%dx%d->%ux%u: damage misses %d,%d-%d,%d", sw, sh, w, h,
			e->x1, e->y1, e->x2, e->y2);
	}
	/* Not much more than needed: half a scanout pixel and the rounding
	 * on each side. */
	double up = fmax((double)w / sw, (double)h / sh);
	int m = (int)ceil(up / 2) + 1;
	pixman_box32_t *e = pixman_region32_extents(&exact);
	pixman_region32_init_rect(&grown, e->x1 - m, e->y1 - m,
		(unsigned)(e->x2 - e->x1 + 2 * m), (unsigned)(e->y2 - e->y1 + 2 * m));
	pixman_region32_subtract(&missing, &r, &grown);
	if (pixman_region32_not_empty(&missing)) {
		fail_msg("%dx%d->%ux%u: damage larger than needed", sw, sh, w, h);
	}
	pixman_region32_fini(&missing);
	pixman_region32_fini(&grown);
	pixman_region32_fini(&exact);
	pixman_region32_fini(&r);
	pixman_image_unref(a);
	comp_zone_destroy(z);
	comp_zone_destroy(ref);
}

static void test_damage_scaled(void **state)
{
	check_scaled_damage(64, 48, 128, 96, (pixman_box32_t){ 10, 10, 14, 12 });
	check_scaled_damage(64, 48, 256, 200, (pixman_box32_t){ 10, 10, 11, 11 });
	check_scaled_damage(64, 48, 40, 30, (pixman_box32_t){ 20, 7, 30, 9 });
	check_scaled_damage(100, 80, 37, 91, (pixman_box32_t){ 33, 40, 34, 41 });
	check_scaled_damage(100, 80, 150, 120, (pixman_box32_t){ 0, 0, 3, 3 });
	check_scaled_damage(100, 80, 150, 120, (pixman_box32_t){ 97, 77, 100, 80 });
	check_scaled_damage(1280, 720, 1920, 1080, (pixman_box32_t){ 1000, 500, 1064, 564 });
}

/* A page flip whose damage is exact (what differs from the last image, the
 * device's buffer-age damage): SET_SCANOUT of the other buffer composes only
 * that, sends nothing; the flush with nothing new sends it as the frame,
 * timed by the flush. Without damage_exact a new image damages all. */
static void test_page_flip_exact(void **state)
{
	(void)state;
	struct comp_layer_config l[] = { th_layer(0, 0, 0, 0, 100, 50) };
	struct comp_zone *z = zone_new(100, 50, 1, l);
	struct comp_zone *ref = zone_new(100, 50, 1, l);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 100, 50, th_noise, 1, 0xff);
	pixman_image_t *b = th_image(PIXMAN_x8r8g8b8, 100, 50, th_noise, 1, 0xff);
	for (int y = 10; y < 20; y++) {
		for (int x = 30; x < 45; x++) {
			th_set(b, x, y, th_noise(9, (uint32_t)x, (uint32_t)y), 0xff);
		}
	}
	th_update_full(z, 0, 0, a, 0, 0, 100, 50, 1);
	drain(z);
	th_update_full(ref, 0, 0, b, 0, 0, 100, 50, 1);
	poison(z);
	pixman_box32_t d = { 30, 10, 45, 20 };
	struct vgpu_scanout_update u = {
		.image = b, .src_w = 100, .src_h = 50,
		.damage = &d, .n_damage = 1, .damage_exact = true,
		.t_flush_ns = 5, .present = false,
	};
	assert_true(comp_zone_scanout_update(z, 0, &u));
	u.n_damage = 0;
	u.t_flush_ns = 6;
	u.present = true;
	assert_true(comp_zone_scanout_update(z, 0, &u));
	pixman_region32_t r;
	pixman_region32_init(&r);
	uint64_t t = 0;
	assert_true(comp_zone_take_damage(z, &r, &t));
	assert_region_is_box(&r, 30, 10, 45, 20);
	assert_int_equal(t, 6);
	check_poisoned(z, comp_zone_image(ref), &r);
	/* Nothing new since: a flush makes no frame. */
	assert_false(comp_zone_scanout_update(z, 0, &u));
	/* Back to a, not exact: all of it. */
	u = (struct vgpu_scanout_update){ .image = a, .src_w = 100, .src_h = 50, .damage = &d,
		.n_damage = 1, .t_flush_ns = 7, .present = true };
	assert_true(comp_zone_scanout_update(z, 0, &u));
	assert_true(comp_zone_take_damage(z, &r, &t));
	assert_region_is_box(&r, 0, 0, 100, 50);
	pixman_region32_fini(&r);
	comp_zone_destroy(z);
	comp_zone_destroy(ref);
	pixman_image_unref(a);
	pixman_image_unref(b);
}

static void test_disable_black(void **state)
{
	struct comp_layer_config l[] = {
		th_layer(0, 0, 0, 0, 50, 40),
		th_layer(1, 0, 50, 0, 50, 40),
	};
	struct comp_zone *z = zone_new(100, 40, 2, l);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 50, 40, th_noise, 1, 0xff);
	pixman_image_t *b = th_image(PIXMAN_x8r8g8b8, 50, 40, th_noise, 2, 0xff);
	th_update_full(z, 0, 0, a, 0, 0, 50, 40, 1);
	th_update_full(z, 1, 0, b, 0, 0, 50, 40, 1);
	drain(z);
	assert_true(th_update(z, 0, 0, NULL, 0, 0, 0, 0, NULL, 0, 5));
	pixman_region32_t r;
	pixman_region32_init(&r);
	uint64_t t;
	assert_true(comp_zone_take_damage(z, &r, &t));
	assert_int_equal(t, 5);
	assert_region_is_box(&r, 0, 0, 50, 40);
	pixman_image_t *img = comp_zone_image(z);
	for (int y = 0; y < 40; y++) {
		for (int x = 0; x < 100; x++) {
			assert_px(img, x, y, x < 50 ? 0 : th_noise(2, x - 50, y));
		}
	}
	/* Disabled again, or flushed while disabled: nothing. */
	assert_false(th_update(z, 0, 0, NULL, 0, 0, 0, 0, NULL, 0, 6));
	pixman_box32_t d = { 0, 0, 5, 5 };
	assert_false(th_update(z, 0, 0, NULL, 0, 0, 50, 40, &d, 1, 6));
	/* Enabled again. */
	assert_true(th_update_full(z, 0, 0, a, 0, 0, 50, 40, 7));
	assert_px(img, 10, 10, th_noise(1, 10, 10));
	pixman_region32_fini(&r);
	pixman_image_unref(a);
	pixman_image_unref(b);
	comp_zone_destroy(z);
}

static void count_destroy(pixman_image_t *image, void *data)
{
	(*(int *)data)++;
}

static void test_release(void **state)
{
	struct comp_layer_config l[] = {
		th_layer(0, 0, 0, 0, 20, 20),
		th_layer(0, 0, 20, 0, 10, 10), /* the same scanout, scaled */
	};
	struct comp_zone *z = zone_new(40, 20, 2, l);
	int gone_a = 0, gone_b = 0, gone_c = 0;
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 40, 40, th_noise, 1, 0xff);
	pixman_image_t *b = th_image(PIXMAN_x8r8g8b8, 20, 20, th_noise, 2, 0xff);
	pixman_image_t *c = th_image(PIXMAN_a8r8g8b8, 20, 20, th_noise, 3, 0xff);
	pixman_image_set_destroy_function(a, count_destroy, &gone_a);
	pixman_image_set_destroy_function(b, count_destroy, &gone_b);
	pixman_image_set_destroy_function(c, count_destroy, &gone_c);

	th_update_full(z, 0, 0, a, 0, 0, 20, 20, 1);
	pixman_image_unref(a);
	assert_int_equal(gone_a, 0);
	/* Same image, another rectangle: still held. */
	th_update_full(z, 0, 0, a, 20, 20, 20, 20, 2);
	assert_int_equal(gone_a, 0);
	assert_px(comp_zone_image(z), 0, 0, th_noise(1, 20, 20));
	/* Replaced: released. */
	th_update_full(z, 0, 0, b, 0, 0, 20, 20, 3);
	pixman_image_unref(b);
	assert_int_equal(gone_a, 1);
	assert_int_equal(gone_b, 0);
	/* Disabled: released. */
	th_update(z, 0, 0, NULL, 0, 0, 0, 0, NULL, 0, 4);
	assert_int_equal(gone_b, 1);
	/* Destroyed: released. */
	th_update_full(z, 0, 0, c, 0, 0, 20, 20, 5);
	pixman_image_unref(c);
	assert_int_equal(gone_c, 0);
	comp_zone_destroy(z);
	assert_int_equal(gone_c, 1);
	assert_int_equal(gone_a, 1);
	assert_int_equal(gone_b, 1);
}

/* pixman's OVER for one 8-bit channel: s + d * (255 - a) / 255, rounded. */
static uint32_t over(uint32_t src_argb, uint32_t dst_rgb)
{
	uint32_t a = src_argb >> 24, out = 0;
	for (int k = 0; k < 3; k++) {
		uint32_t s = (src_argb >> (8 * k)) & 0xff, d = (dst_rgb >> (8 * k)) & 0xff;
		uint32_t t = d * (255 - a) + 0x80;
		uint32_t v = s + (((t >> 8) + t) >> 8);
		out |= (v > 255 ? 255 : v) << (8 * k);
	}
	return out;
}

/* A 64x64 cursor: opaque red top-left 16x16, half-transparent green to
 * 32x32, transparent elsewhere. */
static uint32_t cursor_px(int x, int y)
{
	if (x < 16 && y < 16) {
		return 0xffff0000;
	}
	if (x < 32 && y < 32) {
		return 0x80008000;
	}
	return 0;
}

static pixman_image_t *make_cursor(void)
{
	pixman_image_t *c = pixman_image_create_bits(PIXMAN_a8r8g8b8, 64, 64, NULL, 0);
	uint32_t *p = pixman_image_get_data(c);
	for (int y = 0; y < 64; y++) {
		for (int x = 0; x < 64; x++) {
			p[y * 64 + x] = cursor_px(x, y);
		}
	}
	return c;
}

/* Zone pixels of a 100x100 noise layer at 0,0 with the cursor's top-left at
 * cx, cy (scanout coordinates, unscaled). */
static void check_cursor_pixels(pixman_image_t *img, int cx, int cy, bool shown)
{
	for (int y = 0; y < 100; y++) {
		for (int x = 0; x < 100; x++) {
			uint32_t bg = th_noise(1, x, y);
			int u = x - cx, v = y - cy;
			bool in = shown && u >= 0 && v >= 0 && u < 64 && v < 64;
			assert_px(img, x, y, in ? over(cursor_px(u, v), bg) : bg);
		}
	}
}

static void test_cursor(void **state)
{
	struct comp_layer_config l[] = {
		th_layer(0, 0, 0, 0, 100, 100),
		th_layer(1, 0, 100, 0, 100, 100),
	};
	struct comp_zone *z = zone_new(200, 100, 2, l);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 100, 100, th_noise, 1, 0xff);
	pixman_image_t *b = th_image(PIXMAN_x8r8g8b8, 100, 100, th_noise, 2, 0xff);
	pixman_image_t *cur = make_cursor();
	pixman_image_t *img = comp_zone_image(z);
	th_update_full(z, 0, 0, a, 0, 0, 100, 100, 1);
	th_update_full(z, 1, 0, b, 0, 0, 100, 100, 1);
	drain(z);
	pixman_region32_t r, want;
	pixman_region32_init(&r);
	pixman_region32_init(&want);
	uint64_t t;

	uint64_t before = zl_now_ns();
	assert_true(comp_zone_cursor_update(z, 0, 0, cur, 4, 4, 50, 50));
	assert_true(comp_zone_take_damage(z, &r, &t));
	assert_true(t >= before && t <= zl_now_ns());
	assert_region_is_box(&r, 46, 46, 100, 100);
	check_cursor_pixels(img, 46, 46, true);

	/* The image is copied: changing it afterwards changes nothing. */
	pixman_image_get_data(cur)[0] = 0xff0000ff;
	assert_true(comp_zone_cursor_move(z, 0, 0, 10, 20));
	assert_true(comp_zone_take_damage(z, &r, &t));
	pixman_region32_reset(&want, &(pixman_box32_t){ 46, 46, 100, 100 });
	pixman_region32_union_rect(&want, &want, 6, 16, 64, 64);
	assert_true(pixman_region32_equal(&r, &want));
	check_cursor_pixels(img, 6, 16, true);
	pixman_image_get_data(cur)[0] = cursor_px(0, 0);

	/* Same place: no change. */
	assert_false(comp_zone_cursor_move(z, 0, 0, 10, 20));

	/* Near the layer edge: clipped to the layer, the next one untouched. */
	poison(z);
	assert_true(comp_zone_cursor_move(z, 0, 0, 94, 90));
	assert_true(comp_zone_take_damage(z, &r, &t));
	pixman_region32_reset(&want, &(pixman_box32_t){ 6, 16, 70, 80 });
	pixman_region32_union_rect(&want, &want, 90, 86, 10, 14);
	assert_true(pixman_region32_equal(&r, &want));
	for (int y = 0; y < 100; y++) {
		for (int x = 100; x < 200; x++) {
			assert_int_equal(raw_px(img, x, y), POISON);
		}
	}
	th_update_full(z, 0, 0, a, 0, 0, 100, 100, 1);
	check_cursor_pixels(img, 90, 86, true);
	drain(z);

	/* Hidden: the old rectangle is damaged and restored. */
	assert_true(comp_zone_cursor_update(z, 0, 0, NULL, 0, 0, 94, 90));
	assert_true(comp_zone_take_damage(z, &r, &t));
	assert_region_is_box(&r, 90, 86, 100, 100);
	check_cursor_pixels(img, 0, 0, false);
	/* Moves of a hidden cursor change nothing. */
	assert_false(comp_zone_cursor_move(z, 0, 0, 30, 30));
	assert_false(comp_zone_take_damage(z, &r, &t));
	/* Scanouts not shown here. */
	assert_false(comp_zone_cursor_update(z, 5, 0, cur, 0, 0, 1, 1));
	assert_false(comp_zone_cursor_move(z, 0, 3, 1, 1));

	/* Shown again at 30,30 with another hotspot. */
	assert_true(comp_zone_cursor_update(z, 0, 0, cur, 0, 0, 30, 30));
	check_cursor_pixels(img, 30, 30, true);
	/* Disabling the scanout takes the cursor too; enabling brings it back. */
	th_update(z, 0, 0, NULL, 0, 0, 0, 0, NULL, 0, 2);
	assert_px(img, 31, 31, 0);
	th_update_full(z, 0, 0, a, 0, 0, 100, 100, 3);
	check_cursor_pixels(img, 30, 30, true);
	/* A new frame under the cursor keeps the cursor on top. */
	pixman_box32_t d = { 25, 25, 40, 40 };
	poison(z);
	th_update(z, 0, 0, a, 0, 0, 100, 100, &d, 1, 4);
	for (int y = 25; y < 40; y++) {
		for (int x = 25; x < 40; x++) {
			int u = x - 30, v = y - 30;
			bool in = u >= 0 && v >= 0;
			assert_px(img, x, y, in ? over(cursor_px(u, v), th_noise(1, x, y)) :
				th_noise(1, x, y));
		}
	}

	pixman_region32_fini(&r);
	pixman_region32_fini(&want);
	pixman_image_unref(cur);
	pixman_image_unref(a);
	pixman_image_unref(b);
	comp_zone_destroy(z);
}

/* A cursor belongs to its layer: a layer above covers it. */
static void test_cursor_zorder(void **state)
{
	struct comp_layer_config l[] = {
		th_layer(0, 0, 0, 0, 100, 100),
		th_layer(1, 0, 50, 0, 100, 100),
	};
	struct comp_zone *z = zone_new(150, 100, 2, l);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 100, 100, th_noise, 1, 0xff);
	pixman_image_t *b = th_image(PIXMAN_x8r8g8b8, 100, 100, th_noise, 2, 0xff);
	pixman_image_t *cur = make_cursor();
	pixman_image_t *img = comp_zone_image(z);
	th_update_full(z, 0, 0, a, 0, 0, 100, 100, 1);
	th_update_full(z, 1, 0, b, 0, 0, 100, 100, 1);
	assert_true(comp_zone_cursor_update(z, 0, 0, cur, 0, 0, 40, 10));
	assert_px(img, 45, 12, 0xff0000);
	assert_px(img, 55, 12, th_noise(2, 5, 12));
	assert_true(comp_zone_cursor_update(z, 1, 0, cur, 0, 0, 0, 10));
	assert_px(img, 55, 12, 0xff0000);
	assert_px(img, 45, 12, 0xff0000);
	/* Neither cursor leaves its layer. */
	assert_true(comp_zone_cursor_move(z, 1, 0, 95, 95));
	assert_px(img, 149, 99, 0xff0000);
	pixman_image_unref(cur);
	pixman_image_unref(a);
	pixman_image_unref(b);
	comp_zone_destroy(z);
}

/* The cursor scales with its layer. */
static void test_cursor_scaled(void **state)
{
	struct comp_layer_config l[] = { th_layer(0, 0, 0, 0, 200, 200) };
	struct comp_zone *z = zone_new(200, 200, 1, l);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 100, 100, th_noise, 1, 0xff);
	pixman_image_t *cur = make_cursor();
	pixman_image_t *img = comp_zone_image(z);
	th_update_full(z, 0, 0, a, 0, 0, 100, 100, 1);
	drain(z);
	assert_true(comp_zone_cursor_update(z, 0, 0, cur, 0, 0, 20, 20));
	pixman_region32_t r;
	pixman_region32_init(&r);
	assert_true(comp_zone_take_damage(z, &r, NULL));
	pixman_box32_t *e = pixman_region32_extents(&r);
	assert_in_range(e->x1, 36, 40);
	assert_in_range(e->y1, 36, 40);
	assert_in_range(e->x2, 168, 172);
	assert_in_range(e->y2, 168, 172);
	/* Well inside the opaque 16x16 (32x32 in the zone): exact red. */
	for (int y = 42; y < 70; y++) {
		for (int x = 42; x < 70; x++) {
			assert_px(img, x, y, 0xff0000);
		}
	}
	/* The cursor's far corner is transparent: the layer shows. */
	struct comp_zone *ref = zone_new(200, 200, 1, l);
	th_update_full(ref, 0, 0, a, 0, 0, 100, 100, 1);
	for (int y = 110; y < 200; y++) {
		for (int x = 110; x < 200; x++) {
			assert_px(img, x, y, th_get(comp_zone_image(ref), x, y));
		}
	}
	/* Hidden: restored exactly. */
	comp_zone_cursor_update(z, 0, 0, NULL, 0, 0, 20, 20);
	for (int y = 0; y < 200; y++) {
		for (int x = 0; x < 200; x++) {
			assert_px(img, x, y, th_get(comp_zone_image(ref), x, y));
		}
	}
	pixman_region32_fini(&r);
	comp_zone_destroy(ref);
	pixman_image_unref(cur);
	pixman_image_unref(a);
	comp_zone_destroy(z);
}

/* Whatever a guest sends: no crash, no leak, black where nothing valid. */
static void test_hostile(void **state)
{
	struct comp_layer_config l[] = {
		th_layer(0, 0, 0, 0, 50, 50),
		th_layer(0, 1, 50, 0, 30, 20),
	};
	struct comp_zone *z = zone_new(100, 50, 2, l);
	pixman_image_t *img = comp_zone_image(z);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 50, 50, th_noise, 1, 0xff);
	pixman_image_t *wide = pixman_image_create_bits(PIXMAN_x8r8g8b8, 20000, 1, NULL, 0);
	pixman_image_t *r565 = pixman_image_create_bits(PIXMAN_r5g6b5, 50, 50, NULL, 0);
	pixman_color_t red = { 0xffff, 0, 0, 0xffff };
	pixman_image_t *solid = pixman_image_create_solid_fill(&red);
	pixman_image_t *odd = th_image(PIXMAN_a8r8g8b8, 100, 3, th_noise, 5, 0x80);

	/* Rectangles outside the image: black. */
	th_update_full(z, 0, 0, a, 0, 0, 50, 50, 1);
	assert_true(th_update(z, 0, 0, a, 1, 0, 50, 50, NULL, 0, 1));
	assert_px(img, 10, 10, 0);
	assert_false(th_update(z, 0, 0, a, 0, UINT32_MAX, 50, 2, NULL, 0, 1));
	assert_false(th_update(z, 0, 0, a, 0, 0, UINT32_MAX, UINT32_MAX, NULL, 0, 1));
	assert_false(th_update(z, 0, 0, a, 10, 10, 0, 5, NULL, 0, 1));
	/* Formats it cannot show, or a non-bits image: black. */
	assert_false(th_update_full(z, 0, 0, r565, 0, 0, 50, 50, 1));
	assert_false(th_update(z, 0, 0, solid, 0, 0, 50, 50, NULL, 0, 1));
	/* Too large to scale: black. */
	assert_true(th_update(z, 0, 1, wide, 0, 0, 20000, 1, NULL, 0, 1));
	assert_px(img, 60, 5, 0);

	/* Damage boxes of every kind. */
	th_update_full(z, 0, 0, a, 0, 0, 50, 50, 1);
	pixman_box32_t boxes[200];
	for (int i = 0; i < 200; i++) {
		boxes[i] = (pixman_box32_t){ INT32_MIN + i, INT32_MAX - i, INT32_MAX, INT32_MIN };
	}
	boxes[3] = (pixman_box32_t){ INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX };
	boxes[4] = (pixman_box32_t){ 40, 40, -5, -5 };
	boxes[5] = (pixman_box32_t){ -100, -100, 5, 5 };
	drain(z);
	assert_true(th_update(z, 0, 0, a, 0, 0, 50, 50, boxes, 6, 1));
	assert_true(th_update(z, 0, 0, a, 0, 0, 50, 50, boxes, 200, 1));
	assert_false(th_update(z, 0, 0, a, 0, 0, 50, 50, boxes, -3, 1));
	assert_false(th_update(z, 0, 0, a, 0, 0, 50, 50, boxes + 10, 1, 1));
	/* No boxes array but a count: everything. */
	drain(z);
	assert_true(th_update(z, 0, 0, a, 0, 0, 50, 50, NULL, 2, 1));
	pixman_region32_t r;
	pixman_region32_init(&r);
	assert_true(comp_zone_take_damage(z, &r, NULL));
	assert_region_is_box(&r, 0, 0, 50, 50);
	/* Many small boxes: their bounding box. */
	for (int i = 0; i < 100; i++) {
		boxes[i] = (pixman_box32_t){ i % 10 + 5, i / 10 + 5, i % 10 + 6, i / 10 + 6 };
	}
	assert_true(th_update(z, 0, 0, a, 0, 0, 50, 50, boxes, 100, 1));
	assert_true(comp_zone_take_damage(z, &r, NULL));
	assert_region_is_box(&r, 5, 5, 15, 15);

	/* Cursors anywhere, of any size and format. */
	th_update_full(z, 0, 1, odd, 10, 0, 60, 3, 1);
	for (int s = 0; s < 2; s++) {
		comp_zone_cursor_update(z, 0, s, odd, UINT32_MAX, UINT32_MAX, 0, 0);
		comp_zone_cursor_update(z, 0, s, odd, 0, 0, UINT32_MAX, UINT32_MAX);
		comp_zone_cursor_move(z, 0, s, UINT32_MAX, 0);
		comp_zone_cursor_move(z, 0, s, 0, UINT32_MAX);
		comp_zone_cursor_update(z, 0, s, a, 70, 70, 0, 0);
		comp_zone_cursor_update(z, 0, s, solid, 1, 1, 10, 2);
		comp_zone_cursor_update(z, 0, s, r565, 1, 1, 59, 2);
		comp_zone_cursor_move(z, 0, s, 40, 1);
	}
	assert_px(img, 10, 49, th_noise(1, 10, 49));

	pixman_region32_fini(&r);
	pixman_image_unref(a);
	pixman_image_unref(wide);
	pixman_image_unref(r565);
	pixman_image_unref(solid);
	pixman_image_unref(odd);
	comp_zone_destroy(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_damage_and_t_flush),
		cmocka_unit_test(test_damage_unscaled),
		cmocka_unit_test(test_damage_scaled),
		cmocka_unit_test(test_page_flip_exact),
		cmocka_unit_test(test_disable_black),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_cursor_zorder),
		cmocka_unit_test(test_cursor_scaled),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
