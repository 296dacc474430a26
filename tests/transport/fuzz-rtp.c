/* SPDX-License-Identifier: MIT */
/* The client's media path: datagrams through RTP/RTCP parsing, reassembly
 * and the tiles decoder. Input: records of
 *   u8 flags (bit 0: 200 ms pass after this datagram), u16le length, bytes.
 * The first record's flags also choose the session (WELCOME): bit 7, a
 * version 5 one (xport_media_ext_ids(true): no capture element, the
 * capture time derived from the RTP timestamp, compact stages; the short
 * payload header and compact tiles headers come with any version); else
 * bit 6, version 4's elements (frame id, capture, 24-bit stages); neither,
 * frame id and capture only (the seeds from before version 5). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/bytes.h"
#include "transport/media.h"
#include "transport/reasm.h"
#include "transport/rtp.h"
#include "transport/tiles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SSRC 0x5eed5eedu
#define MAX_DIM 256
/* WELCOME's rtp_ts_offset of a version 5 session. */
#define FUZZ_TS_OFFSET 0x9e3779b9u

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

/* The capture time derived from ts near `now`: the tick of ts nearest now
 * (unless that would be before time 0), and within half the timestamp's
 * range of now. */
static void check_ts_time(uint32_t ts, uint64_t now, uint64_t t)
{
	int32_t d = (int32_t)(ts - xport_rtp_ts_90k(now, FUZZ_TS_OFFSET));
	uint64_t now_ticks = now / 100000 * 9 + now % 100000 * 9 / 100000;
	if (d < 0 && (uint64_t)-(int64_t)d > now_ticks) {
		return; /* clamped to time 0 */
	}
	uint64_t dist = t > now ? t - now : now - t;
	if (xport_rtp_ts_90k(t, FUZZ_TS_OFFSET) != ts || dist > (1ull << 31) * 100000 / 9 + 11112) {
		abort();
	}
}

/* What a session's parser took, written again in the session's form,
 * parses to the same. */
static void check_rewrite(const struct xport_rtp_packet *p, const struct xport_rtp_ext_ids *ids)
{
	if (!p->has_frame_id || (ids->capture && !p->has_capture)) {
		return; /* the writer always writes the session's elements */
	}
	uint8_t buf[XPORT_RTP_MEDIA_HDR_STAGES_SIZE + 8];
	memset(buf, 0xa5, sizeof(buf));
	size_t n = xport_rtp_write_media_header_ids(buf, p, ids);
	struct xport_rtp_packet q;
	if (n > XPORT_RTP_MEDIA_HDR_STAGES_SIZE || buf[XPORT_RTP_MEDIA_HDR_STAGES_SIZE] != 0xa5 ||
		xport_rtp_parse_ids(buf, n, ids, &q) < 0 || q.marker != p->marker || q.pt != p->pt ||
		q.seq != p->seq || q.ts != p->ts || q.ssrc != p->ssrc || !q.has_frame_id ||
		q.frame_id != p->frame_id || q.has_capture != p->has_capture ||
		(q.has_capture && q.capture_ns != p->capture_ns) ||
		q.has_stages != (p->has_stages && ids->stages) ||
		(q.has_stages && memcmp(q.stages_us, p->stages_us, sizeof(q.stages_us)) != 0) ||
		q.payload_len != 0) {
		abort();
	}
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
	uint8_t session = size > 0 ? data[0] : 0;
	struct xport_rtp_ext_ids ids = { XPORT_MEDIA_EXT_FRAME_ID, XPORT_MEDIA_EXT_CAPTURE, 0, false };
	if (session & 0x80) {
		ids = xport_media_ext_ids(true);
	} else if (session & 0x40) {
		ids = xport_media_ext_ids(false);
	}
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
			if (xport_rtp_parse_ids(dg, len, &ids, &p) == 0) {
				check_rewrite(&p, &ids);
				if (!ids.capture) {
					/* As zone-client does (same host: one clock). */
					if (p.has_capture) {
						abort(); /* no element of that id */
					}
					p.capture_ns = xport_rtp_ts_90k_time(p.ts, FUZZ_TS_OFFSET, now);
					p.has_capture = true;
					check_ts_time(p.ts, now, p.capture_ns);
				}
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
