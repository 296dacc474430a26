/* SPDX-License-Identifier: MIT */
/* Tiles payload decode: the input is one reassembled frame payload. */
#include <stdint.h>
#include <stdlib.h>

#include "transport/tiles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xport_tiles_header h;
	if (xport_tiles_parse_header(data, size, &h) < 0) {
		return 0;
	}
	if (h.width == 0) {
		/* A compact header: the frame is its base's size, whatever the
		 * receiver holds; take one from the input. */
		h.width = 1 + (h.base_id & 0xff);
		h.height = 1 + (h.base_id >> 8 & 0xff);
	}
	/* Keep iterations fast: the decoder does not care about the size. */
	if ((uint64_t)h.width * h.height > 512 * 512) {
		return 0;
	}
	pixman_image_t *dst = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)h.width, (int)h.height,
		NULL, 0);
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	if (dst && dec) {
		pixman_region32_t applied;
		pixman_region32_init(&applied);
		if (xport_tiles_apply(dec, data, size, dst, &applied) == 0) {
			(void)xport_tiles_image_crc(dst);
		}
		/* The applied region never leaves the frame. */
		pixman_box32_t *e = pixman_region32_extents(&applied);
		if (pixman_region32_not_empty(&applied) &&
			(e->x1 < 0 || e->y1 < 0 || e->x2 > (int)h.width || e->y2 > (int)h.height)) {
			abort();
		}
		pixman_region32_fini(&applied);
	}
	xport_tile_decoder_destroy(dec);
	if (dst) {
		pixman_image_unref(dst);
	}
	return 0;
}
