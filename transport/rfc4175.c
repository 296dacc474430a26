/* SPDX-License-Identifier: MIT */
#include "rfc4175.h"

#include <errno.h>
#include <string.h>

#include "bytes.h"

#define RTP_HDR 12
#define ESN 2
#define LINE_HDR 6

int xport_raw_iter_init(struct xport_raw_iter *it, const uint8_t *rgb, uint32_t width,
	uint32_t height, size_t max_payload, uint32_t ssrc, uint32_t rtp_ts, uint8_t payload_type,
	uint32_t seq)
{
	if (width == 0 || width > XPORT_RAW_MAX_DIM || height == 0 || height > XPORT_RAW_MAX_DIM ||
		max_payload < ESN + LINE_HDR + XPORT_RAW_PGROUP || max_payload > 65535 ||
		payload_type > 127) {
		return -EINVAL;
	}
	*it = (struct xport_raw_iter){
		.rgb = rgb, .width = width, .height = height, .max_payload = max_payload,
		.ssrc = ssrc, .rtp_ts = rtp_ts, .payload_type = payload_type, .seq = seq,
	};
	return 0;
}

bool xport_raw_iter_done(const struct xport_raw_iter *it)
{
	return it->line >= it->height;
}

size_t xport_raw_iter_next(struct xport_raw_iter *it, uint8_t *buf)
{
	if (xport_raw_iter_done(it)) {
		return 0;
	}
	/* Plan the segments: each costs a header and at least one pixel. */
	struct segment {
		uint32_t line, offset, n;
	} seg[64];
	unsigned n_seg = 0;
	size_t room = it->max_payload - ESN;
	uint32_t line = it->line, offset = it->offset;
	while (line < it->height && n_seg < 64 && room >= LINE_HDR + XPORT_RAW_PGROUP) {
		uint32_t fit = (uint32_t)((room - LINE_HDR) / XPORT_RAW_PGROUP);
		uint32_t left = it->width - offset;
		uint32_t n = left < fit ? left : fit;
		seg[n_seg++] = (struct segment){ line, offset, n };
		room -= LINE_HDR + (size_t)n * XPORT_RAW_PGROUP;
		offset += n;
		if (offset == it->width) {
			line++;
			offset = 0;
		}
	}
	it->line = line;
	it->offset = offset;
	bool last = xport_raw_iter_done(it);

	buf[0] = 0x80;
	buf[1] = (uint8_t)((last ? 0x80 : 0) | it->payload_type);
	xport_put_be16(buf + 2, (uint16_t)it->seq);
	xport_put_be32(buf + 4, it->rtp_ts);
	xport_put_be32(buf + 8, it->ssrc);
	xport_put_be16(buf + RTP_HDR, (uint16_t)(it->seq >> 16));
	it->seq++;
	uint8_t *h = buf + RTP_HDR + ESN;
	uint8_t *px = h + (size_t)n_seg * LINE_HDR;
	for (unsigned i = 0; i < n_seg; i++, h += LINE_HDR) {
		size_t bytes = (size_t)seg[i].n * XPORT_RAW_PGROUP;
		xport_put_be16(h, (uint16_t)bytes);
		xport_put_be16(h + 2, (uint16_t)seg[i].line);             /* F = 0 */
		xport_put_be16(h + 4, (uint16_t)((i + 1 < n_seg ? 0x8000 : 0) | seg[i].offset));
		memcpy(px, it->rgb + ((size_t)seg[i].line * it->width + seg[i].offset) *
			XPORT_RAW_PGROUP, bytes);
		px += bytes;
	}
	return (size_t)(px - buf);
}

void xport_raw_from_xrgb(uint8_t *rgb, const uint32_t *xrgb, int stride, uint32_t width,
	uint32_t height)
{
	for (uint32_t y = 0; y < height; y++) {
		const uint32_t *row = (const uint32_t *)(const void *)((const uint8_t *)xrgb +
			(size_t)y * (size_t)stride);
		for (uint32_t x = 0; x < width; x++) {
			uint32_t p = row[x];
			rgb[0] = (uint8_t)(p >> 16);
			rgb[1] = (uint8_t)(p >> 8);
			rgb[2] = (uint8_t)p;
			rgb += 3;
		}
	}
}

void xport_raw_to_xrgb(uint32_t *xrgb, int stride, const uint8_t *rgb, uint32_t width,
	uint32_t height)
{
	for (uint32_t y = 0; y < height; y++) {
		uint32_t *row = (uint32_t *)(void *)((uint8_t *)xrgb + (size_t)y * (size_t)stride);
		for (uint32_t x = 0; x < width; x++) {
			row[x] = 0xff000000u | (uint32_t)rgb[0] << 16 | (uint32_t)rgb[1] << 8 | rgb[2];
			rgb += 3;
		}
	}
}

int xport_raw_parse(const uint8_t *payload, size_t len, uint32_t width, uint32_t height,
	uint16_t *ext_seq,
	void (*seg)(void *data, uint32_t line, uint32_t offset, const uint8_t *px, size_t n_px),
	void *data)
{
	if (len < ESN + LINE_HDR) {
		return -EBADMSG;
	}
	*ext_seq = xport_get_be16(payload);
	/* Headers first (up to the one without C), then the pixels in order. */
	size_t h = ESN, n_hdr = 0, data_bytes = 0;
	for (;;) {
		if (len - h < LINE_HDR) {
			return -EBADMSG;
		}
		uint16_t bytes = xport_get_be16(payload + h);
		uint16_t off = xport_get_be16(payload + h + 4);
		data_bytes += bytes;
		n_hdr++;
		h += LINE_HDR;
		if (!(off & 0x8000)) {
			break;
		}
	}
	if (data_bytes > len - h) {
		return -EBADMSG;
	}
	const uint8_t *px = payload + h;
	const uint8_t *hdr = payload + ESN;
	for (size_t i = 0; i < n_hdr; i++, hdr += LINE_HDR) {
		uint16_t bytes = xport_get_be16(hdr);
		uint32_t line = xport_get_be16(hdr + 2) & 0x7fff;
		uint32_t off = xport_get_be16(hdr + 4) & 0x7fff;
		if (bytes % XPORT_RAW_PGROUP != 0 || line >= height || off > width ||
			bytes / XPORT_RAW_PGROUP > width - off) {
			return -EBADMSG;
		}
		if (seg) {
			seg(data, line, off, px, bytes / XPORT_RAW_PGROUP);
		}
		px += bytes;
	}
	return 0;
}
