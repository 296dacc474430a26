/* SPDX-License-Identifier: MIT */
/* Fuzzes the compositor with arbitrary sequences of scanout updates (any
 * rectangle, any damage boxes, any of several images and formats), cursor
 * updates and moves, content changes and damage takes, as a hostile guest
 * could send them. Besides the sanitizers it checks two invariants:
 *  - damage never leaves the zone;
 *  - the incrementally composed frame equals a frame composed from scratch
 *    from the final state (so damage tracking never misses a pixel), and
 *    every padding byte is 0xff. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "util/log.h"

#define N_IMAGES 4
#define N_CURSORS 3
#define N_SRC 4

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct reader *r)
{
	if (!r->n) {
		return 0;
	}
	r->n--;
	return *r->p++;
}

static uint16_t u16(struct reader *r)
{
	uint16_t lo = u8(r);
	return (uint16_t)(lo | (uint16_t)u8(r) << 8);
}

/* Mostly small values, sometimes anything. */
static uint32_t coord(struct reader *r)
{
	uint8_t k = u8(r);
	if (k == 0xff) {
		return (uint32_t)u16(r) << 16 | u16(r);
	}
	return k;
}

struct src_state {
	int image;      /* -1: none */
	uint32_t x, y, w, h;
	int cursor;     /* -1: hidden */
	uint32_t hot_x, hot_y, cx, cy;
};

static const struct { unsigned guest, scanout; } srcs[N_SRC] = {
	{ 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 7 } /* not shown */,
};

static void fuzz_update(struct comp_zone *z, pixman_image_t **images, struct src_state *st,
	unsigned si, pixman_image_t *img, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
	const pixman_box32_t *d, int n, uint64_t t)
{
	th_update(z, srcs[si].guest, srcs[si].scanout, img, x, y, w, h, d, n, t);
	st[si].image = -1;
	for (int i = 0; i < N_IMAGES; i++) {
		if (img && images[i] == img) {
			st[si].image = i;
		}
	}
	st[si].x = x;
	st[si].y = y;
	st[si].w = w;
	st[si].h = h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		zl_log_init(ZL_SILENT);
		quiet = true;
	}
	struct reader r = { data, size };
	struct comp_zone_config c = { .name = "fuzz", .width = 96, .height = 64, .n_layers = 5 };
	c.layers[0] = th_layer(0, 0, 0, 0, 64, 48);
	c.layers[1] = th_layer(0, 1, 40, 20, 48, 40);
	c.layers[2] = th_layer(1, 0, -10, 30, 50, 50);
	c.layers[3] = th_layer(0, 0, 70, 0, 30, 20);
	c.layers[4] = th_layer(1, 0, 90, 60, 7, 3);
	struct comp_zone *z = comp_zone_create(&c);
	pixman_image_t *images[N_IMAGES] = {
		th_image(PIXMAN_x8r8g8b8, 64, 48, th_noise, 1, 0xff),
		th_image(PIXMAN_a8b8g8r8, 80, 60, th_noise, 2, 0x00),
		th_image(PIXMAN_b8g8r8a8, 17, 5, th_noise, 3, 0x80),
		th_image(PIXMAN_r8g8b8x8, 3, 90, th_noise, 4, 0xff),
	};
	pixman_image_t *cursors[N_CURSORS] = {
		th_image(PIXMAN_a8r8g8b8, 64, 64, th_noise, 5, 0x80),
		th_image(PIXMAN_a8r8g8b8, 10, 70, th_noise, 6, 0xff),
		th_image(PIXMAN_x8r8g8b8, 64, 64, th_noise, 7, 0xff),
	};
	struct src_state st[N_SRC];
	for (unsigned i = 0; i < N_SRC; i++) {
		st[i] = (struct src_state){ .image = -1, .cursor = -1 };
	}
	pixman_region32_t dmg;
	pixman_region32_init(&dmg);
	uint64_t t = 0;

	while (r.n) {
		uint8_t op = u8(&r);
		unsigned si = (op >> 4) % N_SRC;
		/* op: bits 0-2 what (mod 5), bit 3 no damage array, bits 4-7 source. */
		switch ((op & 7) % 5) {
		case 0: { /* scanout update */
			uint8_t ii = u8(&r) % (N_IMAGES + 1);
			pixman_image_t *img = ii < N_IMAGES ? images[ii] : NULL;
			uint32_t x = coord(&r), y = coord(&r), w = coord(&r), h = coord(&r);
			pixman_box32_t d[80];
			int n = u8(&r) % 80;
			for (int i = 0; i < n; i++) {
				d[i].x1 = (int16_t)u16(&r);
				d[i].y1 = (int16_t)u16(&r);
				d[i].x2 = (int16_t)u16(&r);
				d[i].y2 = (int16_t)u16(&r);
			}
			/* The device model always sends full damage for a new image
			 * or rectangle; the compositor must not rely on it. */
			fuzz_update(z, images, st, si, img, x, y, w, h, (op & 8) ? NULL : d, n,
				t++);
			break;
		}
		case 1: { /* cursor update */
			uint8_t ci = u8(&r) % (N_CURSORS + 1);
			st[si].cursor = ci < N_CURSORS ? ci : -1;
			st[si].hot_x = coord(&r);
			st[si].hot_y = coord(&r);
			st[si].cx = coord(&r);
			st[si].cy = coord(&r);
			comp_zone_cursor_update(z, srcs[si].guest, srcs[si].scanout,
				ci < N_CURSORS ? cursors[ci] : NULL, st[si].hot_x, st[si].hot_y,
				st[si].cx, st[si].cy);
			break;
		}
		case 2: /* cursor move */
			st[si].cx = coord(&r);
			st[si].cy = coord(&r);
			comp_zone_cursor_move(z, srcs[si].guest, srcs[si].scanout, st[si].cx,
				st[si].cy);
			break;
		case 3: { /* new content in an image, flushed to every scanout showing it */
			int ii = u8(&r) % N_IMAGES;
			pixman_image_t *img = images[ii];
			int iw = pixman_image_get_width(img), ih = pixman_image_get_height(img);
			int x = u8(&r) % iw, y = u8(&r) % ih;
			int w = 1 + u8(&r) % (iw - x), h = 1 + u8(&r) % (ih - y);
			uint32_t seed = u8(&r);
			for (int j = y; j < y + h; j++) {
				for (int i = x; i < x + w; i++) {
					uint32_t rgb = th_noise(seed, (uint32_t)i, (uint32_t)j);
					th_set(img, i, j, rgb, 0x33);
				}
			}
			pixman_box32_t d = { x, y, x + w, y + h };
			for (unsigned s = 0; s < N_SRC; s++) {
				if (st[s].image == ii) {
					fuzz_update(z, images, st, s, img, st[s].x, st[s].y, st[s].w,
						st[s].h, &d, 1, t++);
				}
			}
			break;
		}
		case 4: { /* the transport takes the damage */
			uint64_t tf;
			if (comp_zone_take_damage(z, &dmg, &tf)) {
				pixman_box32_t *e = pixman_region32_extents(&dmg);
				if (e->x1 < 0 || e->y1 < 0 || e->x2 > 96 || e->y2 > 64) {
					abort();
				}
			} else if (pixman_region32_not_empty(&dmg)) {
				abort();
			}
			break;
		}
		}
	}

	/* The same final state, composed from scratch. */
	struct comp_zone *ref = comp_zone_create(&c);
	for (unsigned s = 0; s < N_SRC; s++) {
		if (st[s].image >= 0) {
			th_update(ref, srcs[s].guest, srcs[s].scanout, images[st[s].image],
				st[s].x, st[s].y, st[s].w, st[s].h, NULL, 1, 0);
		}
		comp_zone_cursor_update(ref, srcs[s].guest, srcs[s].scanout,
			st[s].cursor >= 0 ? cursors[st[s].cursor] : NULL,
			st[s].hot_x, st[s].hot_y, st[s].cx, st[s].cy);
	}
	for (int y = 0; y < 64; y++) {
		for (int x = 0; x < 96; x++) {
			uint32_t got = th_raw(comp_zone_image(z), x, y);
			if (got != th_raw(comp_zone_image(ref), x, y) || got >> 24 != 0xff) {
				abort();
			}
		}
	}
	comp_zone_destroy(ref);

	pixman_region32_fini(&dmg);
	comp_zone_destroy(z);
	for (int i = 0; i < N_IMAGES; i++) {
		pixman_image_unref(images[i]);
	}
	for (int i = 0; i < N_CURSORS; i++) {
		pixman_image_unref(cursors[i]);
	}
	return 0;
}
