/* SPDX-License-Identifier: MIT */
/* The client's media path: datagrams through RTP/RTCP parsing, reassembly
 * and the tiles decoder. Input: records of
 *   u8 flags (bit 0: 200 ms pass after this datagram), u16le length, bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "transport/bytes.h"
#include "transport/media.h"
#include "transport/reasm.h"
#include "transport/rtp.h"
#include "transport/tiles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SSRC 0x5eed5eedu
#define MAX_DIM 256

static void decode(const struct xport_reasm_frame *f, struct xport_tile_decoder *dec)
{
	struct xport_tiles_header h;
	if (xport_tiles_parse_header(f->data, f->len, &h) < 0 || h.width > MAX_DIM ||
		h.height > MAX_DIM) {
		return;
	}
	if (h.width == 0) {
		/* A compact header: the frame is its base's size, whatever the
		 * receiver holds; take one from the input. */
		h.width = 1 + (h.base_id & 0xff);
		h.height = 1 + (h.base_id >> 8 & 0xff);
	}
	pixman_image_t *img = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)h.width,
		(int)h.height, NULL, 0);
	if (!img) {
		return;
	}
	pixman_region32_t applied;
	pixman_region32_init(&applied);
	if (xport_tiles_apply(dec, f->data, f->len, img, &applied) == 0) {
		(void)xport_tiles_image_crc(img);
	}
	pixman_region32_fini(&applied);
	pixman_image_unref(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xport_reasm_config cfg = {
		.ssrc = FUZZ_SSRC,
		.payload_type = XPORT_MEDIA_PT_DEFAULT,
		.max_frame_bytes = xport_tiles_max_payload(MAX_DIM, MAX_DIM, XPORT_TILES_LOG2_MIN),
	};
	struct xport_reasm *r = xport_reasm_create(&cfg);
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	struct xport_rtp_rx_stats rx = { 0 };
	uint64_t now = 1000000000ull;
	size_t off = 0;
	while (r && dec && size - off >= 3) {
		uint8_t flags = data[off];
		size_t len = xport_get_le16(data + off + 1);
		off += 3;
		if (len > size - off) {
			len = size - off;
		}
		/* A private copy: ASan then catches any read past the datagram. */
		uint8_t *dg = malloc(len ? len : 1);
		if (!dg) {
			break;
		}
		for (size_t i = 0; i < len; i++) {
			dg[i] = data[off + i];
		}
		off += len;
		now += 1000;
		if (xport_rtp_is_rtcp(dg, len)) {
			struct xport_rtcp_info info;
			if (xport_rtcp_parse(dg, len, &info) == 0) {
				(void)xport_rtcp_has_pli(&info, FUZZ_SSRC);
			}
		} else {
			struct xport_rtp_packet p;
			if (xport_rtp_parse(dg, len, XPORT_MEDIA_EXT_FRAME_ID, XPORT_MEDIA_EXT_CAPTURE,
				&p) == 0) {
				xport_rtp_rx_stats_update(&rx, p.seq, p.ts, (uint32_t)(now / 11111));
				xport_reasm_push(r, &p, now);
			}
		}
		free(dg);
		if (flags & 1) {
			now += 200000000ull;
			xport_reasm_expire(r, now, 100000000ull);
		}
		struct xport_reasm_frame f;
		while (xport_reasm_pop(r, &f)) {
			decode(&f, dec);
			xport_reasm_frame_finish(&f);
		}
		(void)xport_reasm_take_lost(r);
	}
	struct xport_rtcp_report_block b;
	xport_rtp_rx_stats_block(&rx, FUZZ_SSRC, 0, 0, &b);
	xport_tile_decoder_destroy(dec);
	xport_reasm_destroy(r);
	return 0;
}
