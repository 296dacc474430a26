/* SPDX-License-Identifier: MIT */
#include "coded.h"

#include <errno.h>

#include "bytes.h"
#include "control-proto.h"
#include "crc32c.h"

/* Over the header (but its crc field) and the bitstream. */
static uint32_t frame_crc(const uint8_t *buf, size_t bitstream_len)
{
	uint32_t crc = xport_crc32c(0, buf, 8);
	crc = xport_crc32c(crc, buf + 12, 4);
	return xport_crc32c(crc, buf + XPORT_CODED_HDR_SIZE, bitstream_len);
}

int xport_coded_parse(const uint8_t *buf, size_t len, struct xport_coded_header *h,
	const uint8_t **bitstream, size_t *bitstream_len)
{
	if (len <= XPORT_CODED_HDR_SIZE || buf[0] != XPORT_CODED_VERSION || buf[3] != 0 ||
		xport_get_be32(buf + 12) != 0) {
		return -EBADMSG;
	}
	h->codec = buf[1];
	h->flags = buf[2];
	h->width = xport_get_be16(buf + 4);
	h->height = xport_get_be16(buf + 6);
	h->crc = xport_get_be32(buf + 8);
	if ((h->codec != XPORT_CODEC_RAW && h->codec != XPORT_CODEC_H264 &&
		h->codec != XPORT_CODEC_JPEG) ||
		(h->flags & ~(XPORT_CODED_KEY | XPORT_CODED_REFRESH)) != 0 || h->width < 1 ||
		h->height < 1 || h->width > XPORT_CODED_MAX_DIM || h->height > XPORT_CODED_MAX_DIM) {
		return -EBADMSG;
	}
	size_t n = len - XPORT_CODED_HDR_SIZE;
	if (h->codec == XPORT_CODEC_RAW &&
		(n != (size_t)h->width * h->height * 3 || !(h->flags & XPORT_CODED_KEY))) {
		return -EBADMSG;
	}
	if (h->codec == XPORT_CODEC_JPEG && !(h->flags & XPORT_CODED_KEY)) {
		return -EBADMSG;
	}
	if (frame_crc(buf, n) != h->crc) {
		return -EILSEQ;
	}
	*bitstream = buf + XPORT_CODED_HDR_SIZE;
	*bitstream_len = n;
	return 0;
}

void xport_coded_write(uint8_t *buf, uint8_t codec, uint8_t flags, uint16_t width,
	uint16_t height, size_t bitstream_len)
{
	buf[0] = XPORT_CODED_VERSION;
	buf[1] = codec;
	buf[2] = flags;
	buf[3] = 0;
	xport_put_be16(buf + 4, width);
	xport_put_be16(buf + 6, height);
	xport_put_be32(buf + 12, 0);
	xport_put_be32(buf + 8, frame_crc(buf, bitstream_len));
}
