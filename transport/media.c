/* SPDX-License-Identifier: MIT */
#include "media.h"

#include <errno.h>
#include <string.h>

#include "bytes.h"

int xport_media_phdr_parse(const uint8_t *buf, size_t len, struct xport_media_phdr *h,
	size_t *frag_len)
{
	if (len > XPORT_MEDIA_PHDR_SHORT_SIZE && buf[0] == XPORT_MEDIA_PHDR_VERSION_SHORT) {
		*h = (struct xport_media_phdr){ .flags = buf[1], .count = 1,
			.total = (uint32_t)(len - XPORT_MEDIA_PHDR_SHORT_SIZE),
			.size = XPORT_MEDIA_PHDR_SHORT_SIZE };
		*frag_len = h->total;
		return len - XPORT_MEDIA_PHDR_SHORT_SIZE <= UINT32_MAX ? 0 : -EBADMSG;
	}
	if (len < XPORT_MEDIA_PHDR_SIZE || buf[0] != XPORT_MEDIA_PHDR_VERSION) {
		return -EBADMSG;
	}
	h->size = XPORT_MEDIA_PHDR_SIZE;
	h->flags = buf[1];
	h->index = xport_get_be16(buf + 2);
	h->count = xport_get_be16(buf + 4);
	h->total = xport_get_be32(buf + 8);
	h->offset = xport_get_be32(buf + 12);
	size_t n = len - XPORT_MEDIA_PHDR_SIZE;
	if (h->count == 0 || h->index >= h->count || h->total == 0 || n == 0 ||
		h->offset >= h->total || n > h->total - h->offset) {
		return -EBADMSG;
	}
	*frag_len = n;
	return 0;
}

void xport_media_phdr_write(uint8_t *buf, const struct xport_media_phdr *h)
{
	buf[0] = XPORT_MEDIA_PHDR_VERSION;
	buf[1] = h->flags;
	xport_put_be16(buf + 2, h->index);
	xport_put_be16(buf + 4, h->count);
	xport_put_be16(buf + 6, 0);
	xport_put_be32(buf + 8, h->total);
	xport_put_be32(buf + 12, h->offset);
}

size_t xport_media_frag_size(uint32_t mtu, bool ipv6)
{
	if (mtu < XPORT_MEDIA_MTU_MIN || mtu > XPORT_MEDIA_MTU_MAX) {
		return 0;
	}
	size_t ip = ipv6 ? 40 : 20;
	return mtu - ip - 8 - XPORT_MEDIA_HDR_SIZE;
}

unsigned xport_media_packet_count(size_t len, size_t frag)
{
	if (len == 0 || frag == 0) {
		return 0;
	}
	size_t n = len / frag + (len % frag != 0);
	return n > XPORT_MEDIA_MAX_PACKETS ? 0 : (unsigned)n;
}

bool xport_media_stages_fit(const struct xport_media_frame *f)
{
	size_t last_len = f->len - (size_t)(f->count - 1) * f->frag;
	return last_len + XPORT_MEDIA_STAGES_EXTRA <= f->frag;
}

struct xport_rtp_ext_ids xport_media_ext_ids(bool compact)
{
	return (struct xport_rtp_ext_ids){ .frame_id = XPORT_MEDIA_EXT_FRAME_ID,
		.capture = compact ? 0 : XPORT_MEDIA_EXT_CAPTURE, .stages = XPORT_MEDIA_EXT_STAGES,
		.stages_compact = compact };
}

size_t xport_media_packet(const struct xport_media_frame *f, unsigned index, uint32_t ssrc,
	uint8_t pt, uint16_t seq, const uint32_t *stages, bool compact, uint8_t *hdr,
	size_t *frag_off, size_t *frag_len)
{
	bool last = index + 1 == f->count;
	struct xport_rtp_packet rtp = {
		.marker = last,
		.pt = pt,
		.seq = seq,
		.ts = f->rtp_ts,
		.ssrc = ssrc,
		.frame_id = f->frame_id,
		.capture_ns = f->capture_ns,
	};
	if (stages && last && xport_media_stages_fit(f)) {
		rtp.has_stages = true;
		memcpy(rtp.stages_us, stages, sizeof(rtp.stages_us));
	}
	struct xport_rtp_ext_ids ids = xport_media_ext_ids(compact);
	size_t rtp_len = xport_rtp_write_media_header_ids(hdr, &rtp, &ids);
	size_t off = (size_t)index * f->frag;
	*frag_off = off;
	*frag_len = last ? f->len - off : f->frag;
	if (compact && f->count == 1) {
		hdr[rtp_len] = XPORT_MEDIA_PHDR_VERSION_SHORT;
		hdr[rtp_len + 1] = f->key ? XPORT_MEDIA_FLAG_KEY : 0;
		return rtp_len + XPORT_MEDIA_PHDR_SHORT_SIZE;
	}
	struct xport_media_phdr ph = {
		.flags = f->key ? XPORT_MEDIA_FLAG_KEY : 0,
		.index = (uint16_t)index,
		.count = (uint16_t)f->count,
		.total = (uint32_t)f->len,
		.offset = (uint32_t)off,
	};
	xport_media_phdr_write(hdr + rtp_len, &ph);
	return rtp_len + XPORT_MEDIA_PHDR_SIZE;
}

bool xport_media_packet_fits(const struct xport_media_phdr *h, size_t frag_len, size_t frag)
{
	if (frag == 0 || xport_media_packet_count(h->total, frag) != h->count ||
		(uint64_t)h->offset != (uint64_t)h->index * frag) {
		return false;
	}
	bool last = h->index + 1u == h->count;
	return frag_len == (last ? h->total - h->offset : frag);
}

unsigned xport_media_pace_burst(uint64_t count, uint32_t refresh_hz, uint32_t pace_pct)
{
	if (pace_pct == 0) {
		return XPORT_PACE_BURST_MAX;
	}
	uint64_t window = 1000000000ull / (refresh_hz ? refresh_hz : 60) * pace_pct / 100;
	uint64_t slots = window / XPORT_PACE_GAP_NS ? window / XPORT_PACE_GAP_NS : 1;
	uint64_t b = (count + slots - 1) / slots;
	return b < XPORT_PACE_BURST_MIN ? XPORT_PACE_BURST_MIN :
		b > XPORT_PACE_BURST_MAX ? XPORT_PACE_BURST_MAX : (unsigned)b;
}
