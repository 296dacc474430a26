/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the compositor tests, fuzz target and benchmark:
 * images in the virtio formats, deterministic patterns, updates. */
#ifndef TEST_COMP_HELPERS_H
#define TEST_COMP_HELPERS_H

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>

#include "compositor/compositor.h"

/* The pixman equivalents of the 8 virtio-gpu formats. */
static const pixman_format_code_t th_formats[8] = {
	PIXMAN_a8r8g8b8, PIXMAN_x8r8g8b8, PIXMAN_b8g8r8a8, PIXMAN_b8g8r8x8,
	PIXMAN_a8b8g8r8, PIXMAN_r8g8b8x8, PIXMAN_r8g8b8a8, PIXMAN_x8b8g8r8,
};

/* A pixel of format f with colour rgb (0xRRGGBB) and a in the alpha/padding
 * byte. */
static inline uint32_t th_pack(pixman_format_code_t f, uint32_t rgb, uint8_t a)
{
	uint32_t r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;
	switch (f) {
	case PIXMAN_a8r8g8b8:
	case PIXMAN_x8r8g8b8:
		return (uint32_t)a << 24 | r << 16 | g << 8 | b;
	case PIXMAN_b8g8r8a8:
	case PIXMAN_b8g8r8x8:
		return b << 24 | g << 16 | r << 8 | a;
	case PIXMAN_a8b8g8r8:
	case PIXMAN_x8b8g8r8:
		return (uint32_t)a << 24 | b << 16 | g << 8 | r;
	case PIXMAN_r8g8b8a8:
	case PIXMAN_r8g8b8x8:
		return r << 24 | g << 16 | b << 8 | a;
	default:
		return 0;
	}
}

static inline uint32_t th_hash(uint32_t seed, uint32_t x, uint32_t y)
{
	uint32_t h = seed * 0x9e3779b1u ^ x * 0x85ebca6bu ^ y * 0xc2b2ae35u;
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

/* A noisy pattern: every pixel differs from its neighbours. */
static inline uint32_t th_noise(uint32_t seed, uint32_t x, uint32_t y)
{
	return th_hash(seed, x, y) & 0xffffff;
}

static inline void th_set(pixman_image_t *img, int x, int y, uint32_t rgb, uint8_t a)
{
	uint32_t *p = pixman_image_get_data(img);
	int stride = pixman_image_get_stride(img) / 4;
	p[y * stride + x] = th_pack(pixman_image_get_format(img), rgb, a);
}

/* The colour of a pixel of an x8r8g8b8 image (padding byte ignored). */
static inline uint32_t th_get(pixman_image_t *img, int x, int y)
{
	uint32_t *p = pixman_image_get_data(img);
	int stride = pixman_image_get_stride(img) / 4;
	return p[y * stride + x] & 0xffffff;
}

static inline uint32_t th_raw(pixman_image_t *img, int x, int y)
{
	uint32_t *p = pixman_image_get_data(img);
	int stride = pixman_image_get_stride(img) / 4;
	return p[y * stride + x];
}

/* Fills an image with pattern fn(seed, x, y) and alpha byte a. */
static inline pixman_image_t *th_image(pixman_format_code_t f, int w, int h,
	uint32_t (*fn)(uint32_t, uint32_t, uint32_t), uint32_t seed, uint8_t a)
{
	pixman_image_t *img = pixman_image_create_bits(f, w, h, NULL, 0);
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			th_set(img, x, y, fn(seed, (uint32_t)x, (uint32_t)y), a);
		}
	}
	return img;
}

static inline bool th_update(struct comp_zone *zone, unsigned guest, unsigned scanout,
	pixman_image_t *img, uint32_t sx, uint32_t sy, uint32_t sw, uint32_t sh,
	const pixman_box32_t *damage, int n_damage, uint64_t t)
{
	struct vgpu_scanout_update u = {
		.scanout_id = scanout,
		.image = img,
		.src_x = sx, .src_y = sy, .src_w = sw, .src_h = sh,
		.damage = damage, .n_damage = n_damage,
		.t_flush_ns = t,
		.present = true,
	};
	return comp_zone_scanout_update(zone, guest, &u);
}

/* A whole-scanout update (what SET_SCANOUT does). */
static inline bool th_update_full(struct comp_zone *zone, unsigned guest, unsigned scanout,
	pixman_image_t *img, uint32_t sx, uint32_t sy, uint32_t sw, uint32_t sh, uint64_t t)
{
	pixman_box32_t b = { (int32_t)sx, (int32_t)sy, (int32_t)(sx + sw), (int32_t)(sy + sh) };
	return th_update(zone, guest, scanout, img, sx, sy, sw, sh, &b, 1, t);
}

static inline struct comp_layer_config th_layer(unsigned guest, unsigned scanout,
	int32_t x, int32_t y, uint32_t w, uint32_t h)
{
	return (struct comp_layer_config){ guest, scanout, x, y, w, h };
}

#endif
