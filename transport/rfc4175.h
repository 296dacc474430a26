/* SPDX-License-Identifier: MIT */
#ifndef XPORT_RFC4175_H
#define XPORT_RFC4175_H

/* Uncompressed video over RTP (RFC 4175), the "raw" codec: 8-bit RGB
 * (sampling=RGB, depth=8: a pgroup is one 3-byte pixel), progressive.
 * Stock receivers play it, e.g.
 *
 *   gst-launch-1.0 udpsrc port=5004 buffer-size=8000000 caps="application/x-rtp,
 *     media=video,clock-rate=90000,encoding-name=RAW,sampling=RGB,
 *     depth=(string)8,width=(string)W,height=(string)H,
 *     colorimetry=(string)SMPTE240M,payload=96" ! rtpvrawdepay ! videoconvert ! ...
 *
 * Every packet: RTP header (12), extended sequence number (2: the high 16
 * bits of a 32-bit sequence number whose low 16 are the RTP header's), then
 * line headers (6 each: length in bytes, F(1)|line(15), C(1)|offset(15); C
 * set when another header follows), then the segments' pixels in header
 * order. A frame is every line, whole; the marker bit is set on its last
 * packet; all its packets carry one RTP timestamp (90 kHz). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XPORT_RAW_MAX_DIM 32767 /* 15-bit line numbers and offsets */
#define XPORT_RAW_PGROUP 3      /* bytes per pixel (RGB 8-bit) */

/* The packets of one frame, one at a time. */
struct xport_raw_iter {
	const uint8_t *rgb;      /* the frame, width * height * 3 bytes, rows top-down */
	uint32_t width, height;
	size_t max_payload;      /* RTP payload bytes per packet (after the 12-byte header) */
	uint32_t ssrc, rtp_ts;
	uint8_t payload_type;
	uint32_t seq;            /* the next packet's extended sequence number */
	uint32_t line, offset;   /* where the next packet starts */
};

/* rgb must stay valid while packets are made. max_payload must leave room
 * for one line header and one pixel (>= 11). -EINVAL otherwise, or for a
 * size out of 1..XPORT_RAW_MAX_DIM. */
int xport_raw_iter_init(struct xport_raw_iter *it, const uint8_t *rgb, uint32_t width,
	uint32_t height, size_t max_payload, uint32_t ssrc, uint32_t rtp_ts, uint8_t payload_type,
	uint32_t seq);
/* Writes the next packet (RTP header included) into buf (at least 12 +
 * max_payload bytes); returns its length, 0 when the frame is done. */
size_t xport_raw_iter_next(struct xport_raw_iter *it, uint8_t *buf);
bool xport_raw_iter_done(const struct xport_raw_iter *it);

/* Converts pixels of an x8r8g8b8 image (stride in bytes) to packed RGB. */
void xport_raw_from_xrgb(uint8_t *rgb, const uint32_t *xrgb, int stride, uint32_t width,
	uint32_t height);

/* The reverse: packed RGB to x8r8g8b8 (x = 0xff). */
void xport_raw_to_xrgb(uint32_t *xrgb, int stride, const uint8_t *rgb, uint32_t width,
	uint32_t height);

/* A receiver's view of one packet's segments (for tests and zone-client):
 * calls seg for each, with the pixels. -EBADMSG if malformed (lengths not
 * whole pgroups, segments beyond the packet, line/offset beyond the size). */
int xport_raw_parse(const uint8_t *payload, size_t len, uint32_t width, uint32_t height,
	uint16_t *ext_seq,
	void (*seg)(void *data, uint32_t line, uint32_t offset, const uint8_t *px, size_t n_px),
	void *data);

#endif
