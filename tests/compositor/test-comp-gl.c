/* SPDX-License-Identifier: MIT */
/* GL zones against pixman zones: the same updates must give the same frame,
 * byte for byte, whether the GL zone uploads images or samples GL textures
 * (in either row order), 1:1 and scaled, with cursors. Runs on EGL
 * surfaceless (llvmpipe without a GPU); skipped (77) without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <epoxy/gl.h>

#include "compositor/gl-compose.h"
#include "helpers.h"
#include "../mesa-lsan.h"
#include "virtio-gpu/egl.h"

static struct vgpu_egl *egl;

static int begin(void *data)
{
	(void)data;
	return vgpu_egl_make_current(egl, vgpu_egl_root(egl));
}

static void end(void *data)
{
	(void)data;
}

static const struct comp_gl_engine engine = { begin, end, NULL };

static uint32_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return n ? (rng_state >> 8) % n : 0;
}

/* Both zones' frames must be equal; on a difference, say where. */
static void compare(struct comp_zone *pz, struct comp_zone *gz, const char *what)
{
	pixman_region32_t d;
	pixman_region32_init(&d);
	comp_zone_take_damage(pz, &d, NULL);
	comp_zone_take_damage(gz, &d, NULL);
	pixman_region32_fini(&d);
	pixman_image_t *a = comp_zone_image(pz), *b = comp_zone_image(gz);
	int w = pixman_image_get_width(a), h = pixman_image_get_height(a);
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			if (th_raw(a, x, y) != th_raw(b, x, y)) {
				fail_msg("%s: pixel %d,%d: pixman %08x, GL %08x", what, x, y,
					th_raw(a, x, y), th_raw(b, x, y));
			}
		}
	}
}

/* A GL texture holding the whole image, as virglrenderer holds a resource:
 * rows top-down, or bottom-up (y0_top: GL's orientation). */
static GLuint texture_of(pixman_image_t *img, bool y0_top)
{
	int w = pixman_image_get_width(img), h = pixman_image_get_height(img);
	pixman_image_t *conv = pixman_image_create_bits(PIXMAN_a8r8g8b8, w, h, NULL, 0);
	pixman_image_composite32(PIXMAN_OP_SRC, img, NULL, conv, 0, 0, 0, 0, 0, 0, w, h);
	GLuint tex;
	glGenTextures(1, &tex);
	glBindTexture(GL_TEXTURE_2D, tex);
	glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, w, h, 0, GL_BGRA, GL_UNSIGNED_BYTE, NULL);
	for (int y = 0; y < h; y++) {
		int row = y0_top ? h - 1 - y : y;
		glTexSubImage2D(GL_TEXTURE_2D, 0, 0, row, w, 1, GL_BGRA,
			GL_UNSIGNED_INT_8_8_8_8_REV,
			(uint8_t *)pixman_image_get_data(conv) + (size_t)y * pixman_image_get_stride(conv));
	}
	pixman_image_unref(conv);
	glFinish();
	return tex;
}

static bool flip_exact; /* the next update_both is a page flip with exact damage */

static void update_both(struct comp_zone *pz, struct comp_zone *gz, unsigned guest,
	unsigned scanout, pixman_image_t *img, uint32_t tex, bool y0_top,
	uint32_t sx, uint32_t sy, uint32_t sw, uint32_t sh, const pixman_box32_t *dmg, int n)
{
	struct vgpu_scanout_update u = {
		.scanout_id = scanout, .image = img,
		.src_x = sx, .src_y = sy, .src_w = sw, .src_h = sh,
		.damage = dmg, .n_damage = n, .damage_exact = flip_exact, .t_flush_ns = 1,
		.present = true, .gl_texture = tex, .gl_y0_top = y0_top,
	};
	flip_exact = false;
	comp_zone_scanout_update(pz, guest, &u);
	comp_zone_scanout_update(gz, guest, &u);
}

/* A premultiplied cursor with every alpha from 0 to 255, and some
 * non-premultiplied pixels (a guest may send them: both saturate). */
static pixman_image_t *cursor_image(uint32_t seed)
{
	pixman_image_t *c = pixman_image_create_bits(PIXMAN_a8r8g8b8, 64, 64, NULL, 0);
	uint32_t *p = pixman_image_get_data(c);
	for (uint32_t y = 0; y < 64; y++) {
		for (uint32_t x = 0; x < 64; x++) {
			uint32_t h = th_hash(seed, x, y);
			uint32_t a = (x * 4 + y) & 0xff;
			uint32_t r = (h & 0xff) * a / 255, g = ((h >> 8) & 0xff) * a / 255;
			uint32_t b = (x == y) ? 0xff : ((h >> 16) & 0xff) * a / 255;
			p[y * 64 + x] = a << 24 | r << 16 | g << 8 | b;
		}
	}
	return c;
}

struct scene {
	struct comp_zone *pz, *gz;
	pixman_image_t *img[3];
	uint32_t tex[3];
	bool use_tex, y0_top;
	uint32_t w[3], h[3];
};

/* Random zone and layers over 3 guests of 1 scanout, some scaled. */
static void scene_create(struct scene *s, uint32_t seed, bool use_tex, bool y0_top)
{
	memset(s, 0, sizeof(*s));
	rng_state = seed;
	s->use_tex = use_tex;
	s->y0_top = y0_top;
	struct comp_zone_config cfg = {
		.name = "gl", .width = 40 + rnd(200), .height = 30 + rnd(150), .refresh_hz = 60,
	};
	cfg.n_layers = 1 + rnd(4);
	for (unsigned i = 0; i < cfg.n_layers; i++) {
		cfg.layers[i] = th_layer(rnd(3), 0, (int32_t)rnd(cfg.width) - 20,
			(int32_t)rnd(cfg.height) - 20, 1 + rnd(cfg.width), 1 + rnd(cfg.height));
	}
	s->pz = comp_zone_create(&cfg);
	s->gz = comp_zone_create_gl(&cfg, &engine);
	assert_non_null(s->pz);
	assert_non_null(s->gz);
	for (unsigned g = 0; g < 3; g++) {
		s->w[g] = 8 + rnd(160);
		s->h[g] = 8 + rnd(120);
		/* The scanout rectangle sits inside a larger resource. */
		s->img[g] = th_image(th_formats[rnd(8)], (int)s->w[g] + 7, (int)s->h[g] + 5,
			th_noise, seed + g, (uint8_t)rnd(256));
		if (use_tex) {
			s->tex[g] = texture_of(s->img[g], y0_top);
		}
		update_both(s->pz, s->gz, g, 0, s->img[g], s->tex[g], y0_top, 3, 2,
			s->w[g], s->h[g], NULL, 1);
	}
}

static void scene_destroy(struct scene *s)
{
	comp_zone_destroy(s->pz);
	comp_zone_destroy(s->gz);
	for (unsigned g = 0; g < 3; g++) {
		if (s->tex[g]) {
			glDeleteTextures(1, &s->tex[g]);
		}
		pixman_image_unref(s->img[g]);
	}
}

/* New pixels in a random box of guest g's scanout. */
static void scene_damage(struct scene *s, unsigned g, uint32_t seed)
{
	uint32_t x1 = 3 + rnd(s->w[g]), y1 = 2 + rnd(s->h[g]);
	uint32_t x2 = x1 + 1 + rnd(s->w[g] + 3 - x1), y2 = y1 + 1 + rnd(s->h[g] + 2 - y1);
	for (uint32_t y = y1; y < y2; y++) {
		for (uint32_t x = x1; x < x2; x++) {
			th_set(s->img[g], (int)x, (int)y, th_noise(seed, x, y), 0x5a);
		}
	}
	if (s->use_tex) {
		glDeleteTextures(1, &s->tex[g]);
		s->tex[g] = texture_of(s->img[g], s->y0_top);
		/* A new texture name is a new source: re-composed whole. */
	}
	pixman_box32_t b = { (int32_t)x1, (int32_t)y1, (int32_t)x2, (int32_t)y2 };
	update_both(s->pz, s->gz, g, 0, s->img[g], s->tex[g], s->y0_top, 3, 2, s->w[g], s->h[g],
		&b, 1);
}

static void run_scene(uint32_t seed, bool use_tex, bool y0_top)
{
	struct scene s;
	char what[96];
	scene_create(&s, seed, use_tex, y0_top);
	snprintf(what, sizeof(what), "seed %u tex %d y0_top %d: start", seed, use_tex, y0_top);
	compare(s.pz, s.gz, what);
	pixman_image_t *cur = cursor_image(seed);
	for (int step = 0; step < 12; step++) {
		unsigned g = rnd(3);
		switch (rnd(5)) {
		case 0:
			scene_damage(&s, g, seed * 100 + (uint32_t)step);
			break;
		case 1: {
			uint32_t hx = rnd(64), hy = rnd(64), x = rnd(s.w[g] + 40), y = rnd(s.h[g] + 40);
			comp_zone_cursor_update(s.pz, g, 0, cur, hx, hy, x, y);
			comp_zone_cursor_update(s.gz, g, 0, cur, hx, hy, x, y);
			break;
		}
		case 2: {
			uint32_t x = rnd(s.w[g] + 60), y = rnd(s.h[g] + 60);
			comp_zone_cursor_move(s.pz, g, 0, x, y);
			comp_zone_cursor_move(s.gz, g, 0, x, y);
			break;
		}
		case 3:
			if (!use_tex && rnd(2)) {
				/* A page flip to a copy that differs in one box, with
				 * exactly that as damage (the device's buffer age): the
				 * GL zone uploads only the box into its copy. */
				pixman_image_t *old = s.img[g];
				int iw = pixman_image_get_width(old), ih = pixman_image_get_height(old);
				s.img[g] = pixman_image_create_bits(pixman_image_get_format(old), iw, ih, NULL, 0);
				memcpy(pixman_image_get_data(s.img[g]), pixman_image_get_data(old),
					(size_t)pixman_image_get_stride(old) * (size_t)ih);
				pixman_image_unref(old);
				uint32_t x1 = 3 + rnd(s.w[g]), y1 = 2 + rnd(s.h[g]);
				uint32_t x2 = x1 + 1 + rnd(s.w[g] + 3 - x1), y2 = y1 + 1 + rnd(s.h[g] + 2 - y1);
				for (uint32_t y = y1; y < y2; y++) {
					for (uint32_t x = x1; x < x2; x++) {
						th_set(s.img[g], (int)x, (int)y, th_noise(seed + 7, x, y), 0x5a);
					}
				}
				pixman_box32_t b = { (int32_t)x1, (int32_t)y1, (int32_t)x2, (int32_t)y2 };
				flip_exact = true;
				update_both(s.pz, s.gz, g, 0, s.img[g], 0, false, 3, 2, s.w[g], s.h[g], &b, 1);
				break;
			}
			/* fall through */
		default:
			/* Another mode: a smaller rectangle of the same resource. */
			s.w[g] = 1 + rnd(s.w[g]);
			s.h[g] = 1 + rnd(s.h[g]);
			update_both(s.pz, s.gz, g, 0, s.img[g], s.tex[g], y0_top, 3, 2, s.w[g], s.h[g],
				NULL, 1);
			break;
		}
		snprintf(what, sizeof(what), "seed %u tex %d y0_top %d: step %d", seed, use_tex,
			y0_top, step);
		compare(s.pz, s.gz, what);
	}
	pixman_image_unref(cur);
	scene_destroy(&s);
}

static void test_upload_random(void **state)
{
	(void)state;
	for (uint32_t seed = 1; seed <= 40; seed++) {
		run_scene(seed, false, false);
	}
}

static void test_texture_random(void **state)
{
	(void)state;
	for (uint32_t seed = 100; seed <= 120; seed++) {
		run_scene(seed, true, false);
		run_scene(seed, true, true);
	}
}

/* The cases that stress the arithmetic: strong down- and up-scaling of a
 * large source (16.16 products near their limits), a 1-pixel layer. */
static void test_extreme_scales(void **state)
{
	(void)state;
	static const struct { uint32_t sw, sh, w, h; } cases[] = {
		{ 4000, 3, 7, 5 }, { 3, 2, 250, 190 }, { 1, 1, 33, 17 }, { 1500, 900, 1, 1 },
		{ 640, 480, 641, 479 }, { 100, 100, 99, 101 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct comp_zone_config cfg = { .name = "x", .width = 256, .height = 192,
			.refresh_hz = 60, .n_layers = 1 };
		cfg.layers[0] = th_layer(0, 0, 1, 1, cases[i].w, cases[i].h);
		struct comp_zone *pz = comp_zone_create(&cfg);
		struct comp_zone *gz = comp_zone_create_gl(&cfg, &engine);
		pixman_image_t *img = th_image(PIXMAN_x8r8g8b8, (int)cases[i].sw, (int)cases[i].sh,
			th_noise, (uint32_t)i, 0);
		update_both(pz, gz, 0, 0, img, 0, false, 0, 0, cases[i].sw, cases[i].sh, NULL, 1);
		pixman_image_t *cur = cursor_image(7);
		comp_zone_cursor_update(pz, 0, 0, cur, 5, 9, cases[i].sw / 2, cases[i].sh / 2);
		comp_zone_cursor_update(gz, 0, 0, cur, 5, 9, cases[i].sw / 2, cases[i].sh / 2);
		char what[64];
		snprintf(what, sizeof(what), "%ux%u in %ux%u", cases[i].sw, cases[i].sh,
			cases[i].w, cases[i].h);
		compare(pz, gz, what);
		pixman_image_unref(cur);
		pixman_image_unref(img);
		comp_zone_destroy(pz);
		comp_zone_destroy(gz);
	}
}

/* A texture that cannot show the rectangle (too small, not a texture)
 * shows black, like a scanout that cannot be shown. */
static void test_bad_texture_black(void **state)
{
	(void)state;
	struct comp_zone_config cfg = { .name = "b", .width = 32, .height = 32,
		.refresh_hz = 60, .n_layers = 1 };
	cfg.layers[0] = th_layer(0, 0, 0, 0, 32, 32);
	struct comp_zone *gz = comp_zone_create_gl(&cfg, &engine);
	pixman_image_t *img = th_image(PIXMAN_x8r8g8b8, 32, 32, th_noise, 3, 0);
	pixman_image_t *small = th_image(PIXMAN_x8r8g8b8, 16, 16, th_noise, 3, 0);
	GLuint tex = texture_of(small, false);
	struct vgpu_scanout_update u = {
		.image = img, .src_w = 32, .src_h = 32, .n_damage = 1, .present = true,
		.gl_texture = tex,
	};
	pixman_region32_t d;
	pixman_region32_init(&d);
	uint32_t names[] = { tex, 0xdead };
	for (int i = 0; i < 2; i++) {
		u.gl_texture = names[i];
		comp_zone_scanout_update(gz, 0, &u);
		comp_zone_take_damage(gz, &d, NULL);
		for (int y = 0; y < 32; y++) {
			for (int x = 0; x < 32; x++) {
				assert_int_equal(th_raw(comp_zone_image(gz), x, y), 0xff000000u);
			}
		}
		/* The image path shows it. */
		u.gl_texture = 0;
		comp_zone_scanout_update(gz, 0, &u);
		comp_zone_take_damage(gz, &d, NULL);
		assert_int_equal(th_raw(comp_zone_image(gz), 5, 5), th_raw(img, 5, 5) | 0xff000000u);
	}
	pixman_region32_fini(&d);
	glDeleteTextures(1, &tex);
	pixman_image_unref(small);
	pixman_image_unref(img);
	comp_zone_destroy(gz);
}

int main(void)
{
	test_keep_mesa_loaded();
	egl = vgpu_egl_create(NULL);
	if (!egl) {
		fprintf(stderr, "no EGL surfaceless with GL 3.3: skipped\n");
		return 77;
	}
	begin(NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upload_random),
		cmocka_unit_test(test_texture_random),
		cmocka_unit_test(test_extreme_scales),
		cmocka_unit_test(test_bad_texture_black),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);
	vgpu_egl_destroy(egl);
	return ret;
}
