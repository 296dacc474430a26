/* SPDX-License-Identifier: MIT */
/* Compositor pixels: layer placement and order, clipping to the zone,
 * scaling (1:1 bit-exact, nearest-equivalent cases exact, bilinear against a
 * floating-point reference), the 8 virtio formats. */
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

/* Asserts that zone pixel (x, y) has colour want, and padding 0xff. */

static void test_create_invalid(void **state)
{
	struct comp_zone_config c = { .name = "bad", .width = 0, .height = 10 };
	assert_null(comp_zone_create(&c));
	c.width = 100000;
	assert_null(comp_zone_create(&c));
	c.width = 10;
	c.n_layers = COMP_MAX_LAYERS + 1;
	assert_null(comp_zone_create(&c));
	c.n_layers = 1;
	c.layers[0] = th_layer(0, 0, 0, 0, 0, 10);
	assert_null(comp_zone_create(&c));
	c.layers[0] = th_layer(0, 0, 0, 0, 10, 1u << 20);
	assert_null(comp_zone_create(&c));
	comp_zone_destroy(NULL);
}

static void test_empty_zone_black(void **state)
{
	struct comp_zone_config c = { .name = NULL, .width = 33, .height = 7 };
	struct comp_zone *z = comp_zone_create(&c);
	assert_non_null(z);
	pixman_image_t *img = comp_zone_image(z);
	assert_int_equal(pixman_image_get_format(img), PIXMAN_x8r8g8b8);
	assert_int_equal(pixman_image_get_width(img), 33);
	assert_int_equal(pixman_image_get_height(img), 7);
	for (int y = 0; y < 7; y++) {
		for (int x = 0; x < 33; x++) {
			assert_px(img, x, y, 0);
		}
	}
	assert_string_equal(comp_zone_config(z)->name, "");
	assert_false(comp_zone_shows(z, 0, 0));
	comp_zone_destroy(z);
}

static void test_side_by_side(void **state)
{
	struct comp_layer_config l[] = {
		th_layer(0, 0, 0, 0, 100, 80),
		th_layer(1, 0, 100, 0, 60, 80),
	};
	struct comp_zone *z = zone_new(170, 90, 2, l);
	assert_true(comp_zone_shows(z, 0, 0));
	assert_true(comp_zone_shows(z, 1, 0));
	assert_false(comp_zone_shows(z, 0, 1));
	assert_false(comp_zone_shows(z, 2, 0));

	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 100, 80, th_noise, 1, 0xff);
	pixman_image_t *b = th_image(PIXMAN_x8r8g8b8, 60, 80, th_noise, 2, 0xff);
	assert_true(th_update_full(z, 0, 0, a, 0, 0, 100, 80, 10));
	assert_true(th_update_full(z, 1, 0, b, 0, 0, 60, 80, 20));
	pixman_image_t *img = comp_zone_image(z);
	for (int y = 0; y < 90; y++) {
		for (int x = 0; x < 170; x++) {
			uint32_t want = 0;
			if (y < 80 && x < 100) {
				want = th_noise(1, x, y);
			} else if (y < 80 && x < 160) {
				want = th_noise(2, x - 100, y);
			}
			assert_px(img, x, y, want);
		}
	}
	pixman_image_unref(a);
	pixman_image_unref(b);
	comp_zone_destroy(z);
}

static void test_overlap_order(void **state)
{
	struct comp_layer_config l[] = {
		th_layer(0, 0, 0, 0, 100, 100),
		th_layer(1, 0, 50, 50, 100, 100),
	};
	struct comp_zone *z = zone_new(200, 200, 2, l);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 100, 100, th_noise, 1, 0xff);
	pixman_image_t *b = th_image(PIXMAN_x8r8g8b8, 100, 100, th_noise, 2, 0xff);
	/* The upper layer first: the lower one arriving later must not cover it. */
	th_update_full(z, 1, 0, b, 0, 0, 100, 100, 1);
	th_update_full(z, 0, 0, a, 0, 0, 100, 100, 2);
	pixman_image_t *img = comp_zone_image(z);
	for (int pass = 0; pass < 2; pass++) {
		for (int y = 0; y < 200; y++) {
			for (int x = 0; x < 200; x++) {
				uint32_t want = 0;
				if (x >= 50 && y >= 50 && x < 150 && y < 150) {
					want = th_noise(2, x - 50, y - 50);
				} else if (x < 100 && y < 100) {
					want = th_noise(1, x, y);
				}
				assert_px(img, x, y, want);
			}
		}
		/* Damage of the lower layer under the upper one changes nothing
		 * visible. */
		pixman_box32_t d = { 60, 60, 100, 100 };
		th_update(z, 0, 0, a, 0, 0, 100, 100, &d, 1, 3);
	}
	pixman_image_unref(a);
	pixman_image_unref(b);
	comp_zone_destroy(z);
}

static void test_partly_outside(void **state)
{
	struct comp_layer_config l[] = {
		th_layer(0, 0, -30, -20, 100, 60),
		th_layer(1, 0, 80, 30, 50, 50),
		th_layer(2, 0, 500, 0, 10, 10),       /* wholly outside */
		th_layer(3, 0, INT32_MIN, INT32_MAX, 10, 10),
	};
	struct comp_zone *z = zone_new(100, 50, 4, l);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 100, 60, th_noise, 1, 0xff);
	pixman_image_t *b = th_image(PIXMAN_x8r8g8b8, 50, 50, th_noise, 2, 0xff);
	pixman_image_t *c = th_image(PIXMAN_x8r8g8b8, 10, 10, th_noise, 3, 0xff);
	pixman_region32_t dmg;
	pixman_region32_init(&dmg);
	uint64_t t;
	comp_zone_take_damage(z, &dmg, &t);

	assert_true(th_update_full(z, 0, 0, a, 0, 0, 100, 60, 1));
	assert_true(th_update_full(z, 1, 0, b, 0, 0, 50, 50, 1));
	/* Layers outside the zone change nothing. */
	assert_false(th_update_full(z, 2, 0, c, 0, 0, 10, 10, 1));
	assert_false(th_update_full(z, 3, 0, c, 0, 0, 10, 10, 1));
	assert_true(comp_zone_take_damage(z, &dmg, &t));
	pixman_box32_t *e = pixman_region32_extents(&dmg);
	assert_true(e->x1 >= 0 && e->y1 >= 0 && e->x2 <= 100 && e->y2 <= 50);

	pixman_image_t *img = comp_zone_image(z);
	for (int y = 0; y < 50; y++) {
		for (int x = 0; x < 100; x++) {
			uint32_t want = 0;
			if (x >= 80 && y >= 30) {
				want = th_noise(2, x - 80, y - 30);
			} else if (x < 70 && y < 40) {
				want = th_noise(1, x + 30, y + 20);
			}
			assert_px(img, x, y, want);
		}
	}
	pixman_region32_fini(&dmg);
	pixman_image_unref(a);
	pixman_image_unref(b);
	pixman_image_unref(c);
	comp_zone_destroy(z);
}

/* A scanout that is a sub-rectangle of its resource, shown 1:1. */
static void test_unscaled_subrect_exact(void **state)
{
	struct comp_layer_config l[] = { th_layer(0, 0, 5, 6, 40, 30) };
	struct comp_zone *z = zone_new(64, 48, 1, l);
	pixman_image_t *a = th_image(PIXMAN_a8r8g8b8, 100, 100, th_noise, 9, 0x00);
	th_update_full(z, 0, 0, a, 17, 23, 40, 30, 1);
	pixman_image_t *img = comp_zone_image(z);
	for (int y = 0; y < 48; y++) {
		for (int x = 0; x < 64; x++) {
			bool in = x >= 5 && x < 45 && y >= 6 && y < 36;
			assert_px(img, x, y, in ? th_noise(9, x - 5 + 17, y - 6 + 23) : 0);
		}
	}
	pixman_image_unref(a);
	comp_zone_destroy(z);
}

/* Blocks of 4x4 pixels of one colour each. */
static uint32_t blocks4(uint32_t seed, uint32_t x, uint32_t y)
{
	return th_noise(seed, x / 4, y / 4);
}

static uint32_t blocks2(uint32_t seed, uint32_t x, uint32_t y)
{
	return th_noise(seed, x / 2, y / 2);
}

static int chan(uint32_t rgb, int c)
{
	return (int)((rgb >> (16 - 8 * c)) & 0xff);
}

/* The two bilinear taps of layer pixel d for scale src/dst, clamped (PAD). */
static void taps(int d, int src, int dst, int *t0, int *t1, double *frac)
{
	double p = (d + 0.5) * src / dst - 0.5;
	double f = floor(p);
	*frac = p - f;
	*t0 = (int)f;
	*t1 = *t0 + 1;
	*t0 = *t0 < 0 ? 0 : *t0 >= src ? src - 1 : *t0;
	*t1 = *t1 < 0 ? 0 : *t1 >= src ? src - 1 : *t1;
}

/* 2x up: where both taps fall in one block the result is exact, elsewhere it
 * lies between the blocks' colours. */
static void test_scale_up_2x(void **state)
{
	struct comp_layer_config l[] = { th_layer(0, 0, 0, 0, 64, 48) };
	struct comp_zone *z = zone_new(64, 48, 1, l);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 32, 24, blocks4, 4, 0xff);
	th_update_full(z, 0, 0, a, 0, 0, 32, 24, 1);
	pixman_image_t *img = comp_zone_image(z);
	int exact = 0;
	for (int y = 0; y < 48; y++) {
		for (int x = 0; x < 64; x++) {
			int x0, x1, y0, y1;
			double fx, fy;
			taps(x, 32, 64, &x0, &x1, &fx);
			taps(y, 24, 48, &y0, &y1, &fy);
			uint32_t got = th_get(img, x, y);
			if (x0 / 4 == x1 / 4 && y0 / 4 == y1 / 4) {
				assert_px(img, x, y, blocks4(4, x0, y0));
				exact++;
				continue;
			}
			uint32_t c[4] = { blocks4(4, x0, y0), blocks4(4, x1, y0),
				blocks4(4, x0, y1), blocks4(4, x1, y1) };
			for (int k = 0; k < 3; k++) {
				int lo = 255, hi = 0;
				for (int i = 0; i < 4; i++) {
					lo = chan(c[i], k) < lo ? chan(c[i], k) : lo;
					hi = chan(c[i], k) > hi ? chan(c[i], k) : hi;
				}
				assert_in_range(chan(got, k), lo, hi);
			}
		}
	}
	assert_true(exact > 64 * 48 / 2);
	pixman_image_unref(a);
	comp_zone_destroy(z);
}

/* 2x down over 2x2 blocks: every sample falls between two equal pixels. */
static void test_scale_down_2x_exact(void **state)
{
	struct comp_layer_config l[] = { th_layer(0, 0, 3, 2, 40, 30) };
	struct comp_zone *z = zone_new(50, 40, 1, l);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 80, 60, blocks2, 5, 0xff);
	th_update_full(z, 0, 0, a, 0, 0, 80, 60, 1);
	pixman_image_t *img = comp_zone_image(z);
	for (int y = 0; y < 40; y++) {
		for (int x = 0; x < 50; x++) {
			bool in = x >= 3 && x < 43 && y >= 2 && y < 32;
			assert_px(img, x, y, in ? th_noise(5, x - 3, y - 2) : 0);
		}
	}
	pixman_image_unref(a);
	comp_zone_destroy(z);
}

static uint32_t gradient(uint32_t seed, uint32_t x, uint32_t y)
{
	uint32_t r = (x * 7 + y * 3 + seed) & 0xff;
	uint32_t g = (x * 2 + y * 5) & 0xff;
	uint32_t b = (th_hash(seed, x, y) & 0x3f) + 0x60;
	return r << 16 | g << 8 | b;
}

/* Any scale: compared with bilinear interpolation in floating point (pixman
 * quantises weights to 7 bits, hence the tolerance). */
static void check_bilinear(int sw, int sh, int w, int h, pixman_format_code_t f)
{
	struct comp_layer_config l[] = { th_layer(0, 0, 0, 0, (uint32_t)w, (uint32_t)h) };
	struct comp_zone *z = zone_new((uint32_t)w, (uint32_t)h, 1, l);
	/* The scanout sits inside a larger resource whose border is white:
	 * with PAD at the scanout edge none of it may bleed in. */
	pixman_image_t *a = pixman_image_create_bits(f, sw + 4, sh + 4, NULL, 0);
	for (int y = 0; y < sh + 4; y++) {
		for (int x = 0; x < sw + 4; x++) {
			bool in = x >= 2 && y >= 2 && x < sw + 2 && y < sh + 2;
			th_set(a, x, y, in ? gradient(1, x - 2, y - 2) : 0xffffff, 0x40);
		}
	}
	th_update_full(z, 0, 0, a, 2, 2, (uint32_t)sw, (uint32_t)sh, 1);
	pixman_image_t *img = comp_zone_image(z);
	int worst = 0;
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			int x0, x1, y0, y1;
			double fx, fy;
			taps(x, sw, w, &x0, &x1, &fx);
			taps(y, sh, h, &y0, &y1, &fy);
			uint32_t got = th_get(img, x, y);
			for (int k = 0; k < 3; k++) {
				double v = (1 - fx) * (1 - fy) * chan(gradient(1, x0, y0), k) +
					fx * (1 - fy) * chan(gradient(1, x1, y0), k) +
					(1 - fx) * fy * chan(gradient(1, x0, y1), k) +
					fx * fy * chan(gradient(1, x1, y1), k);
				int err = abs(chan(got, k) - (int)lround(v));
				worst = err > worst ? err : worst;
			}
		}
	}
	if (worst > 3) {
		fail_msg("%dx%d -> %dx%d format %08x: error %d", sw, sh, w, h, (unsigned)f, worst);
	}
	pixman_image_unref(a);
	comp_zone_destroy(z);
}

static void test_scale_bilinear(void **state)
{
	check_bilinear(64, 48, 100, 70, PIXMAN_x8r8g8b8);
	check_bilinear(100, 70, 64, 48, PIXMAN_x8r8g8b8);
	check_bilinear(37, 91, 120, 45, PIXMAN_a8r8g8b8);
	check_bilinear(37, 91, 120, 45, PIXMAN_r8g8b8a8);
	check_bilinear(1280, 720, 1920, 1080, PIXMAN_x8r8g8b8);
}

/* Every virtio format shows the same colours, whatever its alpha byte holds:
 * bit-exact at 1:1, and scaled the same as x8r8g8b8. */
static void test_formats(void **state)
{
	struct comp_layer_config l[] = {
		th_layer(0, 0, 0, 0, 40, 30),
		th_layer(0, 1, 40, 0, 57, 41),
	};
	struct comp_zone *ref = zone_new(100, 50, 2, l);
	pixman_image_t *rimg = th_image(PIXMAN_x8r8g8b8, 40, 30, th_noise, 7, 0xff);
	th_update_full(ref, 0, 0, rimg, 0, 0, 40, 30, 1);
	th_update_full(ref, 0, 1, rimg, 0, 0, 40, 30, 1);
	for (unsigned fi = 0; fi < 8; fi++) {
		static const uint8_t alphas[] = { 0x00, 0x7f, 0xff };
		for (unsigned ai = 0; ai < 3; ai++) {
			struct comp_zone *z = zone_new(100, 50, 2, l);
			pixman_image_t *a = th_image(th_formats[fi], 40, 30, th_noise, 7,
				alphas[ai]);
			th_update_full(z, 0, 0, a, 0, 0, 40, 30, 1);
			th_update_full(z, 0, 1, a, 0, 0, 40, 30, 1);
			pixman_image_t *img = comp_zone_image(z);
			int worst = 0;
			for (int y = 0; y < 50; y++) {
				for (int x = 0; x < 100; x++) {
					if (x < 40) {
						uint32_t want = y < 30 ? th_noise(7, x, y) : 0;
						assert_px(img, x, y, want);
						continue;
					}
					uint32_t g = th_get(img, x, y);
					uint32_t w = th_get(comp_zone_image(ref), x, y);
					for (int k = 0; k < 3; k++) {
						int err = abs(chan(g, k) - chan(w, k));
						worst = err > worst ? err : worst;
					}
				}
			}
			if (worst > 1) {
				fail_msg("format %08x alpha %02x: scaled differs by %d",
					(unsigned)th_formats[fi], alphas[ai], worst);
			}
			pixman_image_unref(a);
			comp_zone_destroy(z);
		}
	}
	pixman_image_unref(rimg);
	comp_zone_destroy(ref);
}

/* One scanout shown twice: 1:1 and scaled, each its own transform. */
static void test_same_scanout_two_layers(void **state)
{
	struct comp_layer_config l[] = {
		th_layer(0, 0, 0, 0, 32, 24),
		th_layer(0, 0, 32, 0, 16, 12),
	};
	struct comp_zone *z = zone_new(48, 24, 2, l);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 32, 24, blocks2, 3, 0xff);
	th_update_full(z, 0, 0, a, 0, 0, 32, 24, 1);
	pixman_image_t *img = comp_zone_image(z);
	for (int y = 0; y < 24; y++) {
		for (int x = 0; x < 48; x++) {
			uint32_t want = x < 32 ? blocks2(3, x, y) :
				y < 12 ? th_noise(3, x - 32, y) : 0;
			assert_px(img, x, y, want);
		}
	}
	pixman_image_unref(a);
	comp_zone_destroy(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_empty_zone_black),
		cmocka_unit_test(test_side_by_side),
		cmocka_unit_test(test_overlap_order),
		cmocka_unit_test(test_partly_outside),
		cmocka_unit_test(test_unscaled_subrect_exact),
		cmocka_unit_test(test_scale_up_2x),
		cmocka_unit_test(test_scale_down_2x_exact),
		cmocka_unit_test(test_scale_bilinear),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_same_scanout_two_layers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
