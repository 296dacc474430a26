/* SPDX-License-Identifier: MIT */
#include "rtp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "util/clock.h"

bool xport_rtp_is_rtcp(const uint8_t *buf, size_t len)
{
	/* RFC 5761 §4: RTCP packet types 192..223 cannot be RTP payload types
	 * (with the marker bit) as long as RTP avoids PT 64..95. */
	return len >= 2 && (buf[0] >> 6) == XPORT_RTP_VERSION && buf[1] >= 192 && buf[1] <= 223;
}

/* Compact stages (struct xport_rtp_ext_ids): three LEB128 values of at
 * most 3 bytes, each 1 + the microseconds since the last known stage
 * before it (capture for the first), or 0: unknown; filling exactly n
 * bytes. out: microseconds after capture, XPORT_RTP_STAGE_MAX unknown or
 * beyond. Returns 0 or -EBADMSG. */
static int parse_compact_stages(const uint8_t *p, size_t n, uint32_t out[3])
{
	size_t i = 0;
	uint32_t base = 0;
	for (unsigned k = 0; k < 3; k++) {
		uint32_t v;
		if (!xport_get_leb128(p, n, &i, &v)) {
			return -EBADMSG;
		}
		if (v == 0) {
			out[k] = XPORT_RTP_STAGE_MAX;
			continue;
		}
		base += v - 1; /* at most 3 * 2^21: no overflow */
		out[k] = base < XPORT_RTP_STAGE_MAX ? base : XPORT_RTP_STAGE_MAX;
	}
	return i == n ? 0 : -EBADMSG;
}

/* Writes compact stages of us (microseconds after capture,
 * XPORT_RTP_STAGE_MAX and more unknown); returns their bytes, 3..9. A stage
 * before the one it follows, or more than 2 s after it, goes as unknown. */
static size_t write_compact_stages(uint8_t *p, const uint32_t us[3])
{
	size_t i = 0;
	uint32_t base = 0;
	for (unsigned k = 0; k < 3; k++) {
		uint32_t v = 0;
		if (us[k] < XPORT_RTP_STAGE_MAX && us[k] >= base &&
			us[k] - base < XPORT_LEB128_MAX) {
			v = us[k] - base + 1;
			base = us[k];
		}
		i += xport_put_leb128(p + i, v);
	}
	return i;
}

/* Walks RFC 8285 one-byte elements. */
static int parse_one_byte_ext(const uint8_t *p, size_t len, uint8_t ext_frame_id,
	uint8_t ext_capture, uint8_t ext_stages, bool compact, struct xport_rtp_packet *pkt)
{
	size_t i = 0;
	while (i < len) {
		uint8_t id = p[i] >> 4;
		if (id == 0) {
			/* Padding byte (its length nibble must be 0, but be lenient). */
			i++;
			continue;
		}
		if (id == 15) {
			/* Reserved: stop parsing, the rest is ignored (RFC 8285 §4.2). */
			break;
		}
		size_t elen = (size_t)(p[i] & 0x0f) + 1;
		i++;
		if (elen > len - i) {
			return -EBADMSG;
		}
		if (id == ext_frame_id) {
			if (elen != 4 || pkt->has_frame_id) {
				return -EBADMSG;
			}
			pkt->frame_id = xport_get_be32(p + i);
			pkt->has_frame_id = true;
		} else if (ext_capture && id == ext_capture) {
			if (elen != 8 || pkt->has_capture) {
				return -EBADMSG;
			}
			pkt->capture_ns = xport_get_be64(p + i);
			pkt->has_capture = true;
		} else if (ext_stages && id == ext_stages) {
			if (pkt->has_stages) {
				return -EBADMSG;
			}
			if (compact) {
				if (parse_compact_stages(p + i, elen, pkt->stages_us) < 0) {
					return -EBADMSG;
				}
			} else {
				if (elen != 9) {
					return -EBADMSG;
				}
				for (unsigned k = 0; k < 3; k++) {
					pkt->stages_us[k] = xport_get_be24(p + i + 3 * k);
				}
			}
			pkt->has_stages = true;
		}
		i += elen;
	}
	return 0;
}

int xport_rtp_parse(const uint8_t *buf, size_t len, uint8_t ext_frame_id, uint8_t ext_capture,
	struct xport_rtp_packet *p)
{
	return xport_rtp_parse_ext(buf, len, ext_frame_id, ext_capture, 0, p);
}

int xport_rtp_parse_ext(const uint8_t *buf, size_t len, uint8_t ext_frame_id,
	uint8_t ext_capture, uint8_t ext_stages, struct xport_rtp_packet *p)
{
	struct xport_rtp_ext_ids ids = { ext_frame_id, ext_capture, ext_stages, false };
	return xport_rtp_parse_ids(buf, len, &ids, p);
}

int xport_rtp_parse_ids(const uint8_t *buf, size_t len, const struct xport_rtp_ext_ids *ids,
	struct xport_rtp_packet *p)
{
	memset(p, 0, sizeof(*p));
	if (len < XPORT_RTP_HDR_SIZE || (buf[0] >> 6) != XPORT_RTP_VERSION) {
		return -EBADMSG;
	}
	bool padding = buf[0] & 0x20;
	bool ext = buf[0] & 0x10;
	size_t csrc_count = buf[0] & 0x0f;
	p->marker = buf[1] & 0x80;
	p->pt = buf[1] & 0x7f;
	p->seq = xport_get_be16(buf + 2);
	p->ts = xport_get_be32(buf + 4);
	p->ssrc = xport_get_be32(buf + 8);

	size_t off = XPORT_RTP_HDR_SIZE;
	size_t end = len;
	if (padding) {
		size_t pad = buf[len - 1];
		if (pad == 0 || pad > end - off) {
			return -EBADMSG;
		}
		end -= pad;
	}
	if (csrc_count * 4 > end - off) {
		return -EBADMSG;
	}
	off += csrc_count * 4;
	if (ext) {
		if (end - off < 4) {
			return -EBADMSG;
		}
		uint16_t profile = xport_get_be16(buf + off);
		size_t ext_len = (size_t)xport_get_be16(buf + off + 2) * 4;
		off += 4;
		if (ext_len > end - off) {
			return -EBADMSG;
		}
		/* Other profiles (e.g. two-byte elements) are skipped: their
		 * packets then simply lack our elements. */
		if (profile == XPORT_RTP_EXT_ONE_BYTE) {
			int r = parse_one_byte_ext(buf + off, ext_len, ids->frame_id, ids->capture,
				ids->stages, ids->stages_compact, p);
			if (r < 0) {
				return r;
			}
		}
		off += ext_len;
	}
	p->payload = buf + off;
	p->payload_len = end - off;
	return 0;
}

/* The RTP header and the one-byte extension's profile (its length, at 14,
 * is the caller's). */
static void put_rtp_header(uint8_t *buf, const struct xport_rtp_packet *p)
{
	buf[0] = XPORT_RTP_VERSION << 6 | 0x10; /* X=1, P=0, CC=0 */
	buf[1] = (uint8_t)((p->marker ? 0x80 : 0) | (p->pt & 0x7f));
	xport_put_be16(buf + 2, p->seq);
	xport_put_be32(buf + 4, p->ts);
	xport_put_be32(buf + 8, p->ssrc);
	xport_put_be16(buf + 12, XPORT_RTP_EXT_ONE_BYTE);
}

void xport_rtp_write_media_header(uint8_t *buf, const struct xport_rtp_packet *p,
	uint8_t ext_frame_id, uint8_t ext_capture)
{
	put_rtp_header(buf, p);
	xport_put_be16(buf + 14, 4); /* 16 bytes of elements */
	buf[16] = (uint8_t)(ext_frame_id << 4 | (4 - 1));
	xport_put_be32(buf + 17, p->frame_id);
	buf[21] = (uint8_t)(ext_capture << 4 | (8 - 1));
	xport_put_be64(buf + 22, p->capture_ns);
	buf[30] = 0;
	buf[31] = 0;
}

size_t xport_rtp_write_media_header_ext(uint8_t *buf, const struct xport_rtp_packet *p,
	uint8_t ext_frame_id, uint8_t ext_capture, uint8_t ext_stages)
{
	xport_rtp_write_media_header(buf, p, ext_frame_id, ext_capture);
	if (!p->has_stages) {
		return XPORT_RTP_MEDIA_HDR_SIZE;
	}
	/* 5 + 9 + 10 bytes of elements: 6 words, no padding. */
	xport_put_be16(buf + 14, 6);
	buf[30] = (uint8_t)(ext_stages << 4 | (9 - 1));
	for (unsigned k = 0; k < 3; k++) {
		xport_put_be24(buf + 31 + 3 * k, p->stages_us[k] > XPORT_RTP_STAGE_MAX ?
			XPORT_RTP_STAGE_MAX : p->stages_us[k]);
	}
	return XPORT_RTP_MEDIA_HDR_STAGES_SIZE;
}

size_t xport_rtp_write_media_header_ids(uint8_t *buf, const struct xport_rtp_packet *p,
	const struct xport_rtp_ext_ids *ids)
{
	if (ids->capture && !ids->stages_compact) {
		return xport_rtp_write_media_header_ext(buf, p, ids->frame_id, ids->capture,
			ids->stages);
	}
	put_rtp_header(buf, p);
	size_t n = 16;
	buf[n++] = (uint8_t)(ids->frame_id << 4 | (4 - 1));
	xport_put_be32(buf + n, p->frame_id);
	n += 4;
	if (ids->capture) {
		buf[n++] = (uint8_t)(ids->capture << 4 | (8 - 1));
		xport_put_be64(buf + n, p->capture_ns);
		n += 8;
	}
	if (p->has_stages && ids->stages && ids->stages_compact) {
		size_t len = write_compact_stages(buf + n + 1, p->stages_us);
		buf[n] = (uint8_t)(ids->stages << 4 | (len - 1));
		n += 1 + len;
	} else if (p->has_stages && ids->stages) {
		/* No capture element, 24-bit stages: the form the parser expects
		 * of ids that are not compact. */
		buf[n++] = (uint8_t)(ids->stages << 4 | (9 - 1));
		for (unsigned k = 0; k < 3; k++) {
			xport_put_be24(buf + n, p->stages_us[k] > XPORT_RTP_STAGE_MAX ?
				XPORT_RTP_STAGE_MAX : p->stages_us[k]);
			n += 3;
		}
	}
	while (n % 4) {
		buf[n++] = 0; /* padding */
	}
	xport_put_be16(buf + 14, (uint16_t)((n - 16) / 4));
	return n;
}

uint32_t xport_rtp_ts_90k(uint64_t t_ns, uint32_t offset)
{
	/* t_ns * 9 / 100000 without overflowing for the first 2^64/9 ns (65 years). */
	return (uint32_t)(t_ns / 100000 * 9 + (t_ns % 100000) * 9 / 100000) + offset;
}

size_t xport_rtp_header_size(const uint8_t *buf)
{
	size_t n = XPORT_RTP_HDR_SIZE + 4 * (size_t)(buf[0] & 0x0f);
	return (buf[0] & 0x10) ? n + 4 + 4 * (size_t)xport_get_be16(buf + n + 2) : n;
}

uint64_t xport_rtp_ts_90k_time(uint32_t ts, uint32_t offset, uint64_t near_ns)
{
	uint64_t near_ticks = near_ns / 100000 * 9 + (near_ns % 100000) * 9 / 100000;
	int32_t d = (int32_t)(ts - xport_rtp_ts_90k(near_ns, offset));
	uint64_t ticks = d < 0 && (uint64_t)-(int64_t)d > near_ticks ? 0 :
		(uint64_t)((int64_t)near_ticks + d);
	return ticks / 9 * 100000 + ((ticks % 9) * 100000 + 50000) / 9;
}

/* --- RTCP --- */

static void parse_block(const uint8_t *p, struct xport_rtcp_info *info)
{
	if (info->n_blocks < XPORT_RTCP_MAX_BLOCKS) {
		struct xport_rtcp_report_block *b = &info->blocks[info->n_blocks];
		b->ssrc = xport_get_be32(p);
		b->fraction_lost = p[4];
		uint32_t lost = (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		/* Sign-extend the 24-bit count. */
		b->cumulative_lost = (lost & 0x800000) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
		b->ext_highest_seq = xport_get_be32(p + 8);
		b->jitter = xport_get_be32(p + 12);
		b->lsr = xport_get_be32(p + 16);
		b->dlsr = xport_get_be32(p + 20);
	}
	info->n_blocks++;
}

int xport_rtcp_parse(const uint8_t *buf, size_t len, struct xport_rtcp_info *info)
{
	memset(info, 0, sizeof(*info));
	if (len < 4) {
		return -EBADMSG;
	}
	size_t off = 0;
	while (off < len) {
		if (len - off < 4) {
			return -EBADMSG;
		}
		const uint8_t *p = buf + off;
		if ((p[0] >> 6) != XPORT_RTP_VERSION) {
			return -EBADMSG;
		}
		unsigned count = p[0] & 0x1f;
		uint8_t type = p[1];
		size_t plen = ((size_t)xport_get_be16(p + 2) + 1) * 4;
		if (plen > len - off) {
			return -EBADMSG;
		}
		bool padding = p[0] & 0x20;
		size_t body = plen - 4; /* bytes after the common header */
		if (padding) {
			/* Only the last packet of a compound may be padded (RFC 3550 §6.4.1). */
			size_t pad = p[plen - 1];
			if (off + plen != len || pad == 0 || pad > body) {
				return -EBADMSG;
			}
			body -= pad;
		}
		const uint8_t *b = p + 4;
		switch (type) {
		case XPORT_RTCP_SR:
			if (body < 24 || (size_t)count * 24 > body - 24) {
				return -EBADMSG;
			}
			info->has_sr = true;
			info->sr_ssrc = xport_get_be32(b);
			info->sr_ntp = xport_get_be64(b + 4);
			info->sr_rtp_ts = xport_get_be32(b + 12);
			info->sr_packets = xport_get_be32(b + 16);
			info->sr_octets = xport_get_be32(b + 20);
			for (unsigned i = 0; i < count; i++) {
				parse_block(b + 24 + 24 * i, info);
			}
			break;
		case XPORT_RTCP_RR:
			if (body < 4 || (size_t)count * 24 > body - 4) {
				return -EBADMSG;
			}
			info->has_rr = true;
			info->rr_ssrc = xport_get_be32(b);
			for (unsigned i = 0; i < count; i++) {
				parse_block(b + 4 + 24 * i, info);
			}
			break;
		case XPORT_RTCP_PSFB:
			if (body < 8) {
				return -EBADMSG;
			}
			if (count == XPORT_RTCP_FMT_PLI) {
				if (info->n_pli < XPORT_RTCP_MAX_PLI) {
					info->pli_sender_ssrc[info->n_pli] = xport_get_be32(b);
					info->pli_media_ssrc[info->n_pli] = xport_get_be32(b + 4);
				}
				info->n_pli++;
			}
			break;
		case XPORT_RTCP_RTPFB:
			/* sender SSRC, media SSRC, then 4-byte FCI entries. */
			if (body < 8 || (body - 8) % 4 != 0) {
				return -EBADMSG;
			}
			if (count == XPORT_RTCP_FMT_NACK) {
				uint32_t media = xport_get_be32(b + 4);
				for (size_t e = 8; e < body; e += 4) {
					uint16_t pid = xport_get_be16(b + e);
					uint16_t blp = xport_get_be16(b + e + 2);
					for (unsigned bit = 0; bit <= 16; bit++) {
						if (bit > 0 && !(blp & (1u << (bit - 1)))) {
							continue;
						}
						if (info->n_nack < XPORT_RTCP_MAX_NACK) {
							info->nack_seq[info->n_nack] = (uint16_t)(pid + bit);
							info->nack_media_ssrc[info->n_nack] = media;
						}
						info->n_nack++;
					}
				}
			}
			break;
		case XPORT_RTCP_BYE:
			info->has_bye = true;
			break;
		case XPORT_RTCP_APP:
			if (body < 8) {
				return -EBADMSG;
			}
			if (!info->has_app) {
				info->has_app = true;
				info->app_ssrc = xport_get_be32(b);
				memcpy(info->app_name, b + 4, 4);
				info->app_subtype = (uint8_t)count;
				info->app_len = body - 8;
				memcpy(info->app_data, b + 8,
					info->app_len < sizeof(info->app_data) ? info->app_len :
					sizeof(info->app_data));
			}
			break;
		default:
			/* SDES, unknown: skipped by length. */
			break;
		}
		info->n_packets++;
		off += plen;
	}
	return 0;
}

bool xport_rtcp_has_pli(const struct xport_rtcp_info *info, uint32_t media_ssrc)
{
	unsigned n = info->n_pli < XPORT_RTCP_MAX_PLI ? info->n_pli : XPORT_RTCP_MAX_PLI;
	for (unsigned i = 0; i < n; i++) {
		if (info->pli_media_ssrc[i] == media_ssrc) {
			return true;
		}
	}
	return false;
}

static void write_common(uint8_t *p, unsigned count, uint8_t type, size_t len)
{
	p[0] = (uint8_t)(XPORT_RTP_VERSION << 6 | (count & 0x1f));
	p[1] = type;
	xport_put_be16(p + 2, (uint16_t)(len / 4 - 1));
}

static void write_block(uint8_t *p, const struct xport_rtcp_report_block *b)
{
	int32_t lost = b->cumulative_lost;
	/* Clamp to the 24-bit signed range. */
	if (lost > 0x7fffff) {
		lost = 0x7fffff;
	} else if (lost < -0x800000) {
		lost = -0x800000;
	}
	uint32_t l = (uint32_t)lost & 0xffffff;
	xport_put_be32(p, b->ssrc);
	p[4] = b->fraction_lost;
	p[5] = (uint8_t)(l >> 16);
	p[6] = (uint8_t)(l >> 8);
	p[7] = (uint8_t)l;
	xport_put_be32(p + 8, b->ext_highest_seq);
	xport_put_be32(p + 12, b->jitter);
	xport_put_be32(p + 16, b->lsr);
	xport_put_be32(p + 20, b->dlsr);
}

int xport_rtcp_write_sr(uint8_t *buf, size_t cap, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts,
	uint32_t packets, uint32_t octets, size_t *len)
{
	if (cap < 28) {
		return -ENOSPC;
	}
	write_common(buf, 0, XPORT_RTCP_SR, 28);
	xport_put_be32(buf + 4, ssrc);
	xport_put_be64(buf + 8, ntp);
	xport_put_be32(buf + 16, rtp_ts);
	xport_put_be32(buf + 20, packets);
	xport_put_be32(buf + 24, octets);
	*len = 28;
	return 0;
}

int xport_rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
	const struct xport_rtcp_report_block *block, size_t *len)
{
	size_t n = block ? 32 : 8;
	if (cap < n) {
		return -ENOSPC;
	}
	write_common(buf, block ? 1 : 0, XPORT_RTCP_RR, n);
	xport_put_be32(buf + 4, ssrc);
	if (block) {
		write_block(buf + 8, block);
	}
	*len = n;
	return 0;
}

int xport_rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname,
	size_t *len)
{
	size_t clen = strlen(cname);
	if (clen > 255) {
		return -EINVAL;
	}
	/* header, SSRC, CNAME item (type, length, text), then at least one
	 * zero byte ending the item list, padded to 32 bits. */
	size_t n = (4 + 4 + 2 + clen + 1 + 3) & ~(size_t)3;
	if (cap < n) {
		return -ENOSPC;
	}
	memset(buf, 0, n);
	write_common(buf, 1, XPORT_RTCP_SDES, n);
	xport_put_be32(buf + 4, ssrc);
	buf[8] = 1; /* CNAME */
	buf[9] = (uint8_t)clen;
	memcpy(buf + 10, cname, clen);
	*len = n;
	return 0;
}

int xport_rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
	size_t *len)
{
	if (cap < 12) {
		return -ENOSPC;
	}
	write_common(buf, XPORT_RTCP_FMT_PLI, XPORT_RTCP_PSFB, 12);
	xport_put_be32(buf + 4, sender_ssrc);
	xport_put_be32(buf + 8, media_ssrc);
	*len = 12;
	return 0;
}

int xport_rtcp_write_app(uint8_t *buf, size_t cap, uint32_t ssrc, const char name[4],
	uint8_t subtype, const uint8_t *data, size_t len, size_t *len_out)
{
	if (subtype > 31 || len % 4 != 0 || len > 1024) {
		return -EINVAL;
	}
	if (cap < 12 + len) {
		return -ENOSPC;
	}
	write_common(buf, subtype, XPORT_RTCP_APP, 12 + len);
	xport_put_be32(buf + 4, ssrc);
	memcpy(buf + 8, name, 4);
	memcpy(buf + 12, data, len);
	*len_out = 12 + len;
	return 0;
}

static int cmp_seq(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return x < y ? -1 : x > y;
}

int xport_rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
	const uint16_t *seqs, unsigned n, size_t *len)
{
	if (n == 0 || n > XPORT_RTCP_MAX_NACK) {
		return -EINVAL;
	}
	uint16_t s[XPORT_RTCP_MAX_NACK];
	memcpy(s, seqs, n * sizeof(s[0]));
	qsort(s, n, sizeof(s[0]), cmp_seq);
	/* Sorted as integers; across a wrap (65535 then 0) the lowest starts
	 * where the gap between neighbours is largest. */
	unsigned start = 0;
	uint32_t widest = (uint32_t)s[0] + 65536u - s[n - 1];
	for (unsigned i = 1; i < n; i++) {
		if ((uint32_t)(s[i] - s[i - 1]) > widest) {
			widest = (uint32_t)(s[i] - s[i - 1]);
			start = i;
		}
	}
	size_t off = 12;
	for (unsigned k = 0; k < n;) {
		uint16_t pid = s[(start + k) % n];
		uint16_t blp = 0;
		k++;
		while (k < n) {
			uint16_t d = (uint16_t)(s[(start + k) % n] - pid);
			if (d == 0) {
				k++; /* a repeat */
				continue;
			}
			if (d > 16) {
				break;
			}
			blp |= (uint16_t)(1u << (d - 1));
			k++;
		}
		if (off + 4 > cap) {
			return -ENOSPC;
		}
		xport_put_be16(buf + off, pid);
		xport_put_be16(buf + off + 2, blp);
		off += 4;
	}
	if (cap < 12) {
		return -ENOSPC;
	}
	write_common(buf, XPORT_RTCP_FMT_NACK, XPORT_RTCP_RTPFB, off);
	xport_put_be32(buf + 4, sender_ssrc);
	xport_put_be32(buf + 8, media_ssrc);
	*len = off;
	return 0;
}

int64_t xport_tai_minus_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_TAI, &ts);
	int64_t tai = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	int64_t d = tai - (int64_t)zl_now_ns();
	return d ? d : 1;
}

uint64_t xport_ntp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* Seconds since 1900 in the high word, binary fraction in the low. */
	uint64_t sec = (uint64_t)ts.tv_sec + 2208988800ull;
	uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000ull;
	return sec << 32 | frac;
}

/* Sequence jumps above this restart the statistics (RFC 3550 A.1). */
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100

void xport_rtp_rx_stats_update(struct xport_rtp_rx_stats *s, uint16_t seq, uint32_t ts,
	uint32_t arrival_90k)
{
	uint32_t transit = arrival_90k - ts;
	if (!s->started) {
		memset(s, 0, sizeof(*s));
		s->started = true;
		s->max_seq = seq;
		s->base_seq = seq;
		s->received = 1;
		s->last_transit = transit;
		return;
	}
	uint16_t delta = (uint16_t)(seq - s->max_seq);
	if (delta < MAX_DROPOUT) {
		if (seq < s->max_seq) {
			s->cycles += 1u << 16;
		}
		s->max_seq = seq;
	} else if (delta <= (uint16_t)(65536 - MAX_MISORDER)) {
		/* A jump: the sender restarted; so do we. */
		s->started = false;
		xport_rtp_rx_stats_update(s, seq, ts, arrival_90k);
		return;
	}
	/* else: a duplicate or a late packet; counted, max unchanged. */
	s->received++;
	int32_t d = (int32_t)(transit - s->last_transit);
	s->last_transit = transit;
	uint32_t ad = d < 0 ? (uint32_t)-(int64_t)d : (uint32_t)d;
	s->jitter_q4 += ad - ((s->jitter_q4 + 8) >> 4);
}

uint32_t xport_rtp_rx_stats_ext_max(const struct xport_rtp_rx_stats *s)
{
	return s->cycles + s->max_seq;
}

void xport_rtp_rx_stats_block(struct xport_rtp_rx_stats *s, uint32_t ssrc, uint32_t lsr,
	uint32_t dlsr, struct xport_rtcp_report_block *block)
{
	memset(block, 0, sizeof(*block));
	block->ssrc = ssrc;
	block->lsr = lsr;
	block->dlsr = dlsr;
	if (!s->started) {
		return;
	}
	uint32_t ext_max = xport_rtp_rx_stats_ext_max(s);
	uint32_t expected = ext_max - s->base_seq + 1;
	int64_t lost = (int64_t)expected - (int64_t)s->received;
	block->cumulative_lost = lost > 0x7fffff ? 0x7fffff : lost < -0x800000 ? -0x800000 : (int32_t)lost;
	block->ext_highest_seq = ext_max;
	block->jitter = s->jitter_q4 >> 4;
	uint32_t expected_interval = expected - s->expected_prior;
	uint32_t received_interval = s->received - s->received_prior;
	s->expected_prior = expected;
	s->received_prior = s->received;
	int64_t lost_interval = (int64_t)expected_interval - (int64_t)received_interval;
	if (expected_interval != 0 && lost_interval > 0) {
		int64_t f = (lost_interval << 8) / expected_interval;
		block->fraction_lost = (uint8_t)(f > 255 ? 255 : f);
	}
}
