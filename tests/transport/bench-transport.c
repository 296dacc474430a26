/* SPDX-License-Identifier: MIT */
/* Rough costs of the transport's per-frame work on this machine:
 * CRC32C (hardware and table), tile encode (key frame, small delta) and
 * decode, on a 1920x720 zone. Not a test: run it by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/crc32c.h"
#include "transport/tiles.h"
#include "util/clock.h"

#define W 1920
#define H 720

static uint32_t rng = 1;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Something like a dashboard: gradients, flat panels, a noisy "map". */
static void paint(pixman_image_t *img)
{
	uint32_t *d = pixman_image_get_data(img);
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			uint32_t v;
			if (x > 1300 && y > 100 && y < 600) {
				v = next_rand() & 0x3f3f3f;
			} else if ((x / 160 + y / 90) & 1) {
				v = 0x202830;
			} else {
				v = (uint32_t)(x / 8) << 16 | (uint32_t)(y / 3) << 8 | 0x40;
			}
			d[y * W + x] = 0xff000000u | v;
		}
	}
}

#define TIME(label, iters, bytes, stmt) \
	do { \
		uint64_t t0 = zl_now_ns(); \
		for (unsigned i_ = 0; i_ < (iters); i_++) { \
			stmt; \
		} \
		double ns = (double)(zl_now_ns() - t0) / (iters); \
		printf("%-28s %9.3f ms", label, ns / 1e6); \
		if (bytes) { \
			printf("  %6.2f GB/s", (double)(bytes) / ns); \
		} \
		printf("\n"); \
	} while (0)

int main(void)
{
	pixman_image_t *img = pixman_image_create_bits(PIXMAN_x8r8g8b8, W, H, NULL, 0);
	pixman_image_t *dst = pixman_image_create_bits(PIXMAN_x8r8g8b8, W, H, NULL, 0);
	paint(img);
	const void *px = pixman_image_get_data(img);
	size_t bytes = (size_t)W * H * 4;
	volatile uint32_t sink = 0;
	printf("%dx%d x8r8g8b8 (%.1f MB), crc32c hw: %s\n", W, H, bytes / 1e6,
		xport_crc32c_hw_available() ? "yes" : "no");
	TIME("crc32c table", 20, bytes, sink += xport_crc32c_sw(0, px, bytes));
	if (xport_crc32c_hw_available()) {
		TIME("crc32c sse4.2", 100, bytes, sink += xport_crc32c_hw(0, px, bytes));
	}

	struct xport_tile_encoder *enc = xport_tile_encoder_create(W, H, 6);
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	uint8_t *buf;
	size_t len = 0;
	TIME("encode key frame", 10, 0,
		xport_tile_encode(enc, img, NULL, XPORT_TILES_KEY, 0, 0, &buf, &len); free(buf));
	xport_tile_encode(enc, img, NULL, XPORT_TILES_KEY, 0, 0, &buf, &len);
	printf("  key frame: %zu bytes (%.1f%% of raw), %zu packets at MTU 1500\n", len,
		100.0 * len / bytes, (len + 1423) / 1424);
	pixman_region32_t applied;
	pixman_region32_init(&applied);
	TIME("decode key frame", 10, 0, xport_tiles_apply(dec, buf, len, dst, &applied));
	free(buf);

	/* A 256x256 needle/cursor-sized change. */
	pixman_region32_t damage;
	pixman_region32_init_rect(&damage, 700, 200, 256, 256);
	TIME("encode delta 256x256", 200, 0,
		xport_tile_encode(enc, img, &damage, 0, 1, 0, &buf, &len); free(buf));
	xport_tile_encode(enc, img, &damage, 0, 1, 0, &buf, &len);
	printf("  delta: %zu bytes\n", len);
	TIME("decode delta 256x256", 200, 0, xport_tiles_apply(dec, buf, len, dst, &applied));
	free(buf);
	pixman_region32_fini(&damage);
	pixman_region32_fini(&applied);
	xport_tile_encoder_destroy(enc);
	xport_tile_decoder_destroy(dec);
	pixman_image_unref(img);
	pixman_image_unref(dst);
	return (int)(sink & 0);
}
