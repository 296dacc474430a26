/* SPDX-License-Identifier: MIT */
/* Encoding against the reference (xport_tile_encoder_diff), as a property:
 * the input is a frame size and a script of paints, over-reported damage and
 * key frames. After every frame the receiver in step, one in step on packed
 * deltas (XOR records, zstd) and a receiver that joined on a key frame hold
 * exactly the source image, and every delta holds exactly the tiles that
 * differ from the frame before; anything else aborts.
 *
 * Input: w, h, tile_log2 (one byte each), then 11-byte frames:
 *   0     flags: bit 0 also a key frame, bit 1 noise instead of a flat fill
 *   1..4  painted box x, y, w, h (clipped to the frame; w or h 0: none)
 *   5     fill value seed (0 repaints what is there: no change)
 *   6..9  extra damage box x, y, w, h, signed: may leave the frame
 *   10    whole-frame damage when odd */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/tiles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FRAME_BYTES 11

static uint32_t tiles_differing(const uint32_t *a, const uint32_t *b, int w, int h, int tile)
{
	uint32_t n = 0;
	for (int ty = 0; ty < h; ty += tile) {
		for (int tx = 0; tx < w; tx += tile) {
			bool differs = false;
			for (int y = ty; y < ty + tile && y < h && !differs; y++) {
				differs = memcmp(a + y * w + tx, b + y * w + tx,
					(size_t)(tx + tile < w ? tile : w - tx) * 4) != 0;
			}
			n += differs;
		}
	}
	return n;
}

/* Applies a payload to dst, which must then equal src and match the
 * payload's CRC; returns the tiles it held. */
static uint32_t apply_checked(struct xport_tile_decoder *dec, const uint8_t *buf, size_t len,
	pixman_image_t *src, pixman_image_t *dst)
{
	struct xport_tiles_header hdr;
	pixman_region32_t applied;
	pixman_region32_init(&applied);
	if (xport_tiles_parse_header(buf, len, &hdr) < 0 ||
		xport_tiles_apply(dec, buf, len, dst, &applied) < 0 ||
		xport_tiles_image_crc(dst) != hdr.crc ||
		memcmp(pixman_image_get_data(src), pixman_image_get_data(dst),
			(size_t)pixman_image_get_width(src) * (size_t)pixman_image_get_height(src) * 4)) {
		abort();
	}
	pixman_region32_fini(&applied);
	return hdr.n_tiles;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3) {
		return 0;
	}
	int w = 1 + data[0] % 200, h = 1 + data[1] % 150;
	unsigned log2 = XPORT_TILES_LOG2_MIN + data[2] % 4;
	data += 3;
	size -= 3;
	/* Tight rows (stride w * 4): memcmp of whole images works. */
	pixman_image_t *src = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, w * 4);
	pixman_image_t *a = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, w * 4);
	pixman_image_t *b = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, w * 4);
	pixman_image_t *c = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, w * 4);
	uint32_t *prev = malloc((size_t)w * h * 4);
	struct xport_tile_encoder *enc = xport_tile_encoder_create((uint32_t)w, (uint32_t)h, log2);
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	struct xport_tile_decoder *cdec = xport_tile_decoder_create(); /* c's: its stream */
	if (!src || !a || !b || !c || !prev || !enc || !dec || !cdec) {
		abort();
	}
	uint32_t *px = pixman_image_get_data(src);
	uint8_t *buf;
	size_t len;
	/* Frame 1 is a key frame for both receivers. */
	uint32_t crc = xport_tiles_image_crc(src);
	if (xport_tile_encoder_diff(enc, src, NULL, true) < 0 ||
		xport_tile_encode(enc, src, NULL, XPORT_TILES_KEY, 0, crc, &buf, &len) < 0) {
		abort();
	}
	apply_checked(dec, buf, len, src, a);
	apply_checked(dec, buf, len, src, b);
	apply_checked(cdec, buf, len, src, c);
	free(buf);
	for (uint32_t id = 2; size >= FRAME_BYTES; id++, data += FRAME_BYTES, size -= FRAME_BYTES) {
		const uint8_t *f = data;
		memcpy(prev, px, (size_t)w * h * 4);
		int x1 = f[1] % w, y1 = f[2] % h;
		int x2 = x1 + f[3] > w ? w : x1 + f[3], y2 = y1 + f[4] > h ? h : y1 + f[4];
		uint32_t v = f[5] ? 0x01010101u * f[5] : 0;
		for (int y = y1; y < y2; y++) {
			for (int x = x1; x < x2; x++) {
				if (f[5]) {
					px[y * w + x] = f[0] & 2 ? v * (uint32_t)(x * 31 + y * 17) : v;
				}
			}
		}
		/* Damage covers every change, and more. */
		pixman_region32_t damage;
		pixman_region32_init(&damage);
		if (x2 > x1 && y2 > y1) {
			pixman_region32_union_rect(&damage, &damage, x1, y1, (unsigned)(x2 - x1),
				(unsigned)(y2 - y1));
		}
		pixman_region32_union_rect(&damage, &damage, (int8_t)f[6] * 2, (int8_t)f[7] * 2,
			f[8], f[9]);
		if (f[10] & 1) {
			pixman_region32_union_rect(&damage, &damage, 0, 0, (unsigned)w, (unsigned)h);
		}
		bool key = f[0] & 1;
		int n = xport_tile_encoder_diff(enc, src, key ? NULL : &damage, true);
		pixman_region32_fini(&damage);
		if (n < 0 || (uint32_t)n != tiles_differing(prev, px, w, h, 1 << log2)) {
			abort();
		}
		crc = xport_tiles_image_crc(src);
		if (xport_tile_encode_diff(enc, 0, id - 1, crc, &buf, &len) < 0 ||
			apply_checked(dec, buf, len, src, a) != (uint32_t)n) {
			abort();
		}
		uint8_t *pbuf;
		size_t plen;
		/* c has every chunk of the delta stream (its own decoder). */
		if (xport_tile_encode_packed(enc, XPORT_TILES_CONT, id - 1, crc, &pbuf, &plen) < 0 ||
			apply_checked(cdec, pbuf, plen, src, c) != (uint32_t)n) {
			abort();
		}
		free(pbuf);
		if (key) {
			/* b joins again: the key frame alone must make it exact. */
			free(buf);
			memset(pixman_image_get_data(b), 0x5a, (size_t)w * h * 4);
			if (xport_tile_encode(enc, src, NULL, XPORT_TILES_KEY, 0, crc, &buf, &len) < 0) {
				abort();
			}
			apply_checked(dec, buf, len, src, b);
		} else {
			apply_checked(dec, buf, len, src, b);
		}
		free(buf);
	}
	xport_tile_encoder_destroy(enc);
	xport_tile_decoder_destroy(dec);
	xport_tile_decoder_destroy(cdec);
	free(prev);
	pixman_image_unref(src);
	pixman_image_unref(a);
	pixman_image_unref(b);
	pixman_image_unref(c);
	return 0;
}
