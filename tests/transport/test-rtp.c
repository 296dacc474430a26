/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/bytes.h"
#include "transport/media.h"
#include "transport/rtp.h"

static void test_media_header_round_trip(void **state)
{
	uint8_t buf[64];
	struct xport_rtp_packet in = { .marker = true, .pt = 96, .seq = 0xfffe, .ts = 0x89abcdef,
		.ssrc = 0x01020304, .frame_id = 0xfeedf00d, .capture_ns = 0x1122334455667788ull };
	xport_rtp_write_media_header(buf, &in, 1, 2);
	memcpy(buf + XPORT_RTP_MEDIA_HDR_SIZE, "payload", 7);
	/* Wire layout: V=2, X=1; M|PT; one-byte extension profile. */
	assert_int_equal(buf[0], 0x90);
	assert_int_equal(buf[1], 0x80 | 96);
	assert_int_equal(xport_get_be16(buf + 12), 0xbede);
	assert_int_equal(xport_get_be16(buf + 14), 4);
	struct xport_rtp_packet out;
	assert_int_equal(xport_rtp_parse(buf, XPORT_RTP_MEDIA_HDR_SIZE + 7, 1, 2, &out), 0);
	assert_true(out.marker);
	assert_int_equal(out.pt, 96);
	assert_int_equal(out.seq, 0xfffe);
	assert_int_equal(out.ts, 0x89abcdef);
	assert_int_equal(out.ssrc, 0x01020304);
	assert_true(out.has_frame_id && out.has_capture);
	assert_int_equal(out.frame_id, 0xfeedf00d);
	assert_true(out.capture_ns == 0x1122334455667788ull);
	assert_int_equal(out.payload_len, 7);
	assert_memory_equal(out.payload, "payload", 7);
	/* Other ids: the elements are not ours, so absent. */
	assert_int_equal(xport_rtp_parse(buf, XPORT_RTP_MEDIA_HDR_SIZE, 3, 4, &out), 0);
	assert_false(out.has_frame_id || out.has_capture);
	/* Every truncation is rejected, none read out of bounds. */
	for (size_t l = 0; l < XPORT_RTP_MEDIA_HDR_SIZE; l++) {
		uint8_t *copy = malloc(l ? l : 1);
		memcpy(copy, buf, l);
		assert_int_equal(xport_rtp_parse(copy, l, 1, 2, &out), -EBADMSG);
		free(copy);
	}
}

/* The stages element (media.h, version 4): 24-bit values, saturated;
 * only read when its id is given; one of the wrong size is an error. */
static void test_media_header_stages(void **state)
{
	uint8_t buf[64];
	struct xport_rtp_packet in = { .marker = true, .pt = 96, .seq = 7, .ssrc = 9,
		.frame_id = 42, .capture_ns = 1000, .has_stages = true,
		.stages_us = { 120, 0xabcdef, 0x12345678 } };
	assert_int_equal(xport_rtp_write_media_header_ext(buf, &in, 1, 2, 3),
		XPORT_RTP_MEDIA_HDR_STAGES_SIZE);
	assert_int_equal(xport_get_be16(buf + 14), 6);
	memcpy(buf + XPORT_RTP_MEDIA_HDR_STAGES_SIZE, "xy", 2);
	struct xport_rtp_packet out;
	size_t len = XPORT_RTP_MEDIA_HDR_STAGES_SIZE + 2;
	assert_int_equal(xport_rtp_parse_ext(buf, len, 1, 2, 3, &out), 0);
	assert_true(out.has_stages && out.has_frame_id && out.has_capture);
	assert_int_equal(out.stages_us[0], 120);
	assert_int_equal(out.stages_us[1], 0xabcdef);
	assert_int_equal(out.stages_us[2], XPORT_RTP_STAGE_MAX);
	assert_int_equal(out.frame_id, 42);
	assert_int_equal(out.payload_len, 2);
	assert_memory_equal(out.payload, "xy", 2);
	/* Without its id (an older receiver): skipped as unknown. */
	assert_int_equal(xport_rtp_parse(buf, len, 1, 2, &out), 0);
	assert_false(out.has_stages);
	assert_int_equal(out.payload_len, 2);
	/* Wrong length: 8 bytes instead of 9. */
	buf[30] = (uint8_t)(3 << 4 | 7);
	assert_int_equal(xport_rtp_parse_ext(buf, len, 1, 2, 3, &out), -EBADMSG);
	/* Without has_stages, the plain header. */
	in.has_stages = false;
	assert_int_equal(xport_rtp_write_media_header_ext(buf, &in, 1, 2, 3),
		XPORT_RTP_MEDIA_HDR_SIZE);
	assert_int_equal(xport_rtp_parse_ext(buf, XPORT_RTP_MEDIA_HDR_SIZE, 1, 2, 3, &out), 0);
	assert_false(out.has_stages);

	/* Packets of a frame: only the last gets it, and only with room. */
	static uint8_t data[3000];
	uint32_t us[3] = { 1, 2, 3 };
	struct xport_media_frame f = { .frame_id = 5, .data = data, .len = 1000 + 992,
		.frag = 1000, .count = 2 };
	uint8_t hdr[XPORT_MEDIA_HDR_MAX];
	size_t off, flen;
	assert_int_equal(xport_media_packet(&f, 0, 9, 96, 1, us, false, hdr, &off, &flen),
		XPORT_MEDIA_HDR_SIZE);
	assert_true(xport_media_stages_fit(&f));
	assert_int_equal(xport_media_packet(&f, 1, 9, 96, 2, us, false, hdr, &off, &flen),
		XPORT_MEDIA_HDR_SIZE + XPORT_MEDIA_STAGES_EXTRA);
	assert_int_equal(off, 1000);
	assert_int_equal(flen, 992);
	f.len = 1000 + 993; /* 8 bytes more would pass the MTU */
	assert_false(xport_media_stages_fit(&f));
	assert_int_equal(xport_media_packet(&f, 1, 9, 96, 2, us, false, hdr, &off, &flen),
		XPORT_MEDIA_HDR_SIZE);
	assert_int_equal(xport_media_packet(&f, 1, 9, 96, 2, NULL, false, hdr, &off, &flen),
		XPORT_MEDIA_HDR_SIZE);
}

/* Version 5's compact headers: no capture element (the RTP timestamp is
 * the capture time), compact stages, the short payload header for a frame
 * of one packet. */
static void test_media_header_compact(void **state)
{
	struct xport_rtp_ext_ids ids = xport_media_ext_ids(true);
	assert_int_equal(ids.capture, 0);
	uint8_t buf[64];
	struct xport_rtp_packet in = { .marker = true, .pt = 96, .seq = 7, .ssrc = 9,
		.frame_id = 42, .has_stages = true, .stages_us = { 300, 350, 370 } };
	/* 4 + 5 (frame id) + 1 + 2 + 1 + 1 (stages 300, +50, +20) = 14: 16. */
	size_t hl = xport_rtp_write_media_header_ids(buf, &in, &ids);
	assert_int_equal(hl, 12 + 16);
	assert_int_equal(xport_rtp_header_size(buf), hl);
	assert_int_equal(xport_get_be16(buf + 14), 3);
	memcpy(buf + hl, "xy", 2);
	struct xport_rtp_packet out;
	assert_int_equal(xport_rtp_parse_ids(buf, hl + 2, &ids, &out), 0);
	assert_true(out.has_stages && out.has_frame_id && !out.has_capture);
	assert_int_equal(out.frame_id, 42);
	assert_int_equal(out.stages_us[0], 300);
	assert_int_equal(out.stages_us[1], 350);
	assert_int_equal(out.stages_us[2], 370);
	assert_int_equal(out.payload_len, 2);
	/* Unknown, out of order, big: each value by itself. */
	uint32_t cases[][3] = { { XPORT_RTP_STAGE_MAX, 40, 50 }, { 100, 90, 120 },
		{ 10, 3000000, 3000100 }, { 0, 0, 0 }, { 20000, 40000, 2100000 } };
	uint32_t want[][3] = { { XPORT_RTP_STAGE_MAX, 40, 50 }, { 100, XPORT_RTP_STAGE_MAX, 120 },
		{ 10, XPORT_RTP_STAGE_MAX, XPORT_RTP_STAGE_MAX }, { 0, 0, 0 },
		{ 20000, 40000, 2100000 } };
	/* 3000100 - 10 is more than 2 s after the last known stage: unknown;
	 * so is 3000000. */
	for (unsigned i = 0; i < 5; i++) {
		memcpy(in.stages_us, cases[i], sizeof(cases[i]));
		hl = xport_rtp_write_media_header_ids(buf, &in, &ids);
		assert_int_equal(xport_rtp_parse_ids(buf, hl, &ids, &out), 0);
		assert_memory_equal(out.stages_us, want[i], sizeof(want[i]));
	}
	/* A 9-byte 24-bit element where compact is expected: the value runs
	 * short or long, an error either way (so no misreading). */
	in.stages_us[0] = 1;
	in.stages_us[1] = 2;
	in.stages_us[2] = 3;
	xport_rtp_write_media_header_ext(buf, &in, 1, 2, 3);
	assert_int_equal(xport_rtp_parse_ids(buf, XPORT_RTP_MEDIA_HDR_STAGES_SIZE, &ids, &out),
		-EBADMSG);
	/* Truncated LEB128: 0x80 ends the element. */
	in.has_stages = false;
	hl = xport_rtp_write_media_header_ids(buf, &in, &ids);
	assert_int_equal(hl, 12 + 12);
	buf[21] = (uint8_t)(3 << 4 | 3);
	buf[22] = 0x81;
	buf[23] = 0x01;
	buf[24] = 0x01;
	buf[25] = 0x80;
	xport_put_be16(buf + 14, 3);
	memset(buf + 26, 0, 2);
	assert_int_equal(xport_rtp_parse_ids(buf, 28, &ids, &out), -EBADMSG);
	buf[25] = 0x05;
	assert_int_equal(xport_rtp_parse_ids(buf, 28, &ids, &out), 0);
	assert_int_equal(out.stages_us[0], 128);
	assert_int_equal(out.stages_us[1], 128);
	assert_int_equal(out.stages_us[2], 132);

	/* A frame of one packet: the short payload header; of two: the long. */
	static uint8_t data[3000];
	uint32_t us[3] = { 1, 2, 3 };
	struct xport_media_frame f = { .frame_id = 5, .data = data, .len = 90, .frag = 1000,
		.count = 1, .key = true };
	uint8_t hdr[XPORT_MEDIA_HDR_MAX];
	size_t off, flen;
	hl = xport_media_packet(&f, 0, 9, 96, 1, us, true, hdr, &off, &flen);
	assert_int_equal(hl, 12 + 16 + XPORT_MEDIA_PHDR_SHORT_SIZE);
	assert_int_equal(off, 0);
	assert_int_equal(flen, 90);
	uint8_t pkt[200];
	memcpy(pkt, hdr, hl);
	memcpy(pkt + hl, data, flen);
	assert_int_equal(xport_rtp_parse_ids(pkt, hl + flen, &ids, &out), 0);
	struct xport_media_phdr ph;
	size_t n;
	assert_int_equal(xport_media_phdr_parse(out.payload, out.payload_len, &ph, &n), 0);
	assert_int_equal(ph.total, 90);
	assert_int_equal(ph.flags, XPORT_MEDIA_FLAG_KEY);
	f.len = 1500;
	f.count = 2;
	assert_int_equal(xport_media_packet(&f, 0, 9, 96, 1, us, true, hdr, &off, &flen),
		12 + 12 + XPORT_MEDIA_PHDR_SIZE);
	assert_true(xport_media_packet(&f, 1, 9, 96, 2, us, true, hdr, &off, &flen) <=
		XPORT_MEDIA_HDR_SIZE + XPORT_MEDIA_STAGES_EXTRA);

	/* Every form the ids name round-trips: with and without the capture
	 * element, 24-bit or compact stages. */
	for (unsigned form = 0; form < 4; form++) {
		struct xport_rtp_ext_ids fi = { 1, form & 1 ? 2 : 0, 3, form & 2 };
		struct xport_rtp_packet w = { .marker = true, .pt = 96, .seq = 7, .ts = 0xfffffffeu,
			.ssrc = 9, .frame_id = 43, .capture_ns = 123456789, .has_stages = true,
			.stages_us = { 300, 350, 2500000 } };
		uint8_t b[XPORT_RTP_MEDIA_HDR_STAGES_SIZE];
		hl = xport_rtp_write_media_header_ids(b, &w, &fi);
		assert_true(hl <= sizeof(b) && hl % 4 == 0);
		assert_int_equal(xport_rtp_parse_ids(b, hl, &fi, &out), 0);
		assert_int_equal(out.frame_id, 43);
		assert_int_equal(out.ts, 0xfffffffeu);
		assert_true(out.has_stages);
		assert_int_equal(out.has_capture, (form & 1) != 0);
		assert_int_equal(out.stages_us[1], 350);
		/* 2.15 s after the stage before: compact says unknown. */
		assert_int_equal(out.stages_us[2], form & 2 ? XPORT_RTP_STAGE_MAX : 2500000);
	}
}

/* The capture time from the RTP timestamp: within 5.6 us, across the
 * timestamp's wrap, from a reference hours away. */
static void test_ts_time(void **state)
{
	uint64_t times[] = { 0, 11111, 1000000000ull, 47721858844444ull, 47721858855555ull,
		86400000000000ull * 30 + 123456789 };
	uint32_t offsets[] = { 0, 0xfffffff0u, 0x12345678u };
	for (unsigned i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		for (unsigned j = 0; j < 3; j++) {
			uint32_t ts = xport_rtp_ts_90k(times[i], offsets[j]);
			int64_t nears[] = { 0, 5000000, -5000000, 3600000000000ll * 5,
				-3600000000000ll * 5 };
			for (unsigned k = 0; k < 5; k++) {
				if (nears[k] < 0 && (uint64_t)-nears[k] > times[i]) {
					continue;
				}
				uint64_t t = xport_rtp_ts_90k_time(ts, offsets[j],
					times[i] + (uint64_t)nears[k]);
				int64_t err = (int64_t)(t - times[i]);
				assert_true(err >= -5556 && err <= 5556);
				assert_int_equal(xport_rtp_ts_90k(t, offsets[j]), ts);
			}
		}
	}
}

static void test_rtp_variants(void **state)
{
	struct xport_rtp_packet p;
	/* Plain header, no extension. */
	uint8_t plain[16] = { 0x80, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 'a', 'b', 'c', 'd' };
	assert_int_equal(xport_rtp_parse(plain, 16, 1, 2, &p), 0);
	assert_false(p.has_frame_id);
	assert_int_equal(p.payload_len, 4);
	/* Version 1. */
	plain[0] = 0x40;
	assert_int_equal(xport_rtp_parse(plain, 16, 1, 2, &p), -EBADMSG);
	/* Padding: last byte counts the padding, itself included. */
	plain[0] = 0xa0;
	plain[15] = 2;
	assert_int_equal(xport_rtp_parse(plain, 16, 1, 2, &p), 0);
	assert_int_equal(p.payload_len, 2);
	plain[15] = 0;
	assert_int_equal(xport_rtp_parse(plain, 16, 1, 2, &p), -EBADMSG);
	plain[15] = 5;
	assert_int_equal(xport_rtp_parse(plain, 16, 1, 2, &p), -EBADMSG);
	/* CSRCs: one fits, two do not. */
	plain[0] = 0x81;
	assert_int_equal(xport_rtp_parse(plain, 16, 1, 2, &p), 0);
	assert_int_equal(p.payload_len, 0);
	plain[0] = 0x82;
	assert_int_equal(xport_rtp_parse(plain, 16, 1, 2, &p), -EBADMSG);

	/* Extension parsing: padding bytes, an id-15 stop, foreign elements,
	 * the two-byte profile (skipped), wrong sizes, duplicates. */
	uint8_t e[40] = { 0x90, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0, 3 };
	uint8_t *x = e + 16;
	/* pad, frame id (id 1, 4 bytes), id 5 one byte, pad, pad ... */
	uint8_t elems1[12] = { 0x00, 0x13, 1, 2, 3, 4, 0x50, 9, 0, 0, 0, 0 };
	memcpy(x, elems1, 12);
	assert_int_equal(xport_rtp_parse(e, 28, 1, 2, &p), 0);
	assert_true(p.has_frame_id);
	assert_int_equal(p.frame_id, 0x01020304);
	assert_false(p.has_capture);
	/* Stop at id 15: the frame id after it is not read. */
	uint8_t elems2[12] = { 0xf0, 0x13, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0 };
	memcpy(x, elems2, 12);
	assert_int_equal(xport_rtp_parse(e, 28, 1, 2, &p), 0);
	assert_false(p.has_frame_id);
	/* Frame id of 3 bytes. */
	uint8_t elems3[12] = { 0x12, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0 };
	memcpy(x, elems3, 12);
	assert_int_equal(xport_rtp_parse(e, 28, 1, 2, &p), -EBADMSG);
	/* Twice. */
	uint8_t elems4[12] = { 0x13, 1, 2, 3, 4, 0x13, 1, 2, 3, 4, 0, 0 };
	memcpy(x, elems4, 12);
	assert_int_equal(xport_rtp_parse(e, 28, 1, 2, &p), -EBADMSG);
	/* Element longer than the extension. */
	uint8_t elems5[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2f };
	memcpy(x, elems5, 12);
	assert_int_equal(xport_rtp_parse(e, 28, 1, 2, &p), -EBADMSG);
	/* Extension longer than the packet. */
	e[15] = 4;
	assert_int_equal(xport_rtp_parse(e, 28, 1, 2, &p), -EBADMSG);
	e[15] = 3;
	/* Two-byte profile: skipped whatever it holds. */
	e[12] = 0x10;
	e[13] = 0x00;
	assert_int_equal(xport_rtp_parse(e, 28, 1, 2, &p), 0);
	assert_false(p.has_frame_id);
	assert_int_equal(p.payload_len, 0);
	/* Extension header cut short. */
	assert_int_equal(xport_rtp_parse(e, 14, 1, 2, &p), -EBADMSG);
}

static void test_demux(void **state)
{
	uint8_t rtp[2] = { 0x80, 96 }, rtp_m[2] = { 0x80, 0x80 | 96 };
	uint8_t sr[2] = { 0x80, 200 }, psfb[2] = { 0x81, 206 }, rr[2] = { 0x80, 201 };
	assert_false(xport_rtp_is_rtcp(rtp, 2));
	assert_false(xport_rtp_is_rtcp(rtp_m, 2));
	assert_true(xport_rtp_is_rtcp(sr, 2));
	assert_true(xport_rtp_is_rtcp(rr, 2));
	assert_true(xport_rtp_is_rtcp(psfb, 2));
	assert_false(xport_rtp_is_rtcp(sr, 1));
	uint8_t v1[2] = { 0x40, 200 };
	assert_false(xport_rtp_is_rtcp(v1, 2));
}

static void test_rtcp_round_trip(void **state)
{
	uint8_t buf[256];
	size_t off = 0, n;
	assert_int_equal(xport_rtcp_write_sr(buf, sizeof(buf), 0xaaaa, 0x0102030405060708ull, 900,
		10, 2000, &n), 0);
	off += n;
	assert_int_equal(xport_rtcp_write_sdes_cname(buf + off, sizeof(buf) - off, 0xaaaa, "srv", &n), 0);
	assert_int_equal(n % 4, 0);
	off += n;
	struct xport_rtcp_info info;
	assert_int_equal(xport_rtcp_parse(buf, off, &info), 0);
	assert_int_equal(info.n_packets, 2);
	assert_true(info.has_sr);
	assert_int_equal(info.sr_ssrc, 0xaaaa);
	assert_true(info.sr_ntp == 0x0102030405060708ull);
	assert_int_equal(info.sr_rtp_ts, 900);
	assert_int_equal(info.sr_packets, 10);
	assert_int_equal(info.sr_octets, 2000);

	struct xport_rtcp_report_block b = { .ssrc = 0xaaaa, .fraction_lost = 12,
		.cumulative_lost = -5, .ext_highest_seq = 0x10005, .jitter = 77, .lsr = 1, .dlsr = 2 };
	off = 0;
	assert_int_equal(xport_rtcp_write_rr(buf, sizeof(buf), 0xbbbb, &b, &n), 0);
	off += n;
	assert_int_equal(xport_rtcp_write_pli(buf + off, sizeof(buf) - off, 0xbbbb, 0xaaaa, &n), 0);
	off += n;
	assert_int_equal(xport_rtcp_parse(buf, off, &info), 0);
	assert_true(info.has_rr);
	assert_int_equal(info.rr_ssrc, 0xbbbb);
	assert_int_equal(info.n_blocks, 1);
	assert_int_equal(info.blocks[0].ssrc, b.ssrc);
	assert_int_equal(info.blocks[0].fraction_lost, b.fraction_lost);
	assert_int_equal(info.blocks[0].cumulative_lost, b.cumulative_lost);
	assert_int_equal(info.blocks[0].ext_highest_seq, b.ext_highest_seq);
	assert_int_equal(info.blocks[0].jitter, b.jitter);
	assert_int_equal(info.blocks[0].lsr, b.lsr);
	assert_int_equal(info.blocks[0].dlsr, b.dlsr);
	assert_int_equal(info.n_pli, 1);
	assert_true(xport_rtcp_has_pli(&info, 0xaaaa));
	assert_false(xport_rtcp_has_pli(&info, 0xbbbb));
	assert_int_equal(info.pli_sender_ssrc[0], 0xbbbb);

	/* Big losses clamp to 24 bits. */
	b.cumulative_lost = 0x7fffffff;
	assert_int_equal(xport_rtcp_write_rr(buf, sizeof(buf), 1, &b, &n), 0);
	assert_int_equal(xport_rtcp_parse(buf, n, &info), 0);
	assert_int_equal(info.blocks[0].cumulative_lost, 0x7fffff);
	/* RR without blocks. */
	assert_int_equal(xport_rtcp_write_rr(buf, sizeof(buf), 1, NULL, &n), 0);
	assert_int_equal(n, 8);
	assert_int_equal(xport_rtcp_parse(buf, n, &info), 0);
	assert_int_equal(info.n_blocks, 0);
	/* Writers refuse small buffers. */
	assert_int_equal(xport_rtcp_write_pli(buf, 11, 1, 2, &n), -ENOSPC);
	assert_int_equal(xport_rtcp_write_sr(buf, 27, 1, 2, 3, 4, 5, &n), -ENOSPC);
	assert_int_equal(xport_rtcp_write_rr(buf, 31, 1, &b, &n), -ENOSPC);
	assert_int_equal(xport_rtcp_write_sdes_cname(buf, 12, 1, "abc", &n), -ENOSPC);
}

static void test_rtcp_malformed(void **state)
{
	uint8_t buf[64];
	size_t n;
	struct xport_rtcp_info info;
	xport_rtcp_write_pli(buf, sizeof(buf), 1, 2, &n);
	for (size_t l = 0; l < n; l++) {
		uint8_t *copy = malloc(l ? l : 1);
		memcpy(copy, buf, l);
		assert_int_equal(xport_rtcp_parse(copy, l, &info), -EBADMSG);
		free(copy);
	}
	/* Length word beyond the datagram. */
	buf[3] = 3;
	assert_int_equal(xport_rtcp_parse(buf, n, &info), -EBADMSG);
	buf[3] = 2;
	/* Bad version. */
	buf[0] = 0x41;
	assert_int_equal(xport_rtcp_parse(buf, n, &info), -EBADMSG);
	buf[0] = 0x81;
	/* Unknown types are skipped by length. */
	buf[1] = 210;
	assert_int_equal(xport_rtcp_parse(buf, n, &info), 0);
	assert_int_equal(info.n_pli, 0);
	buf[1] = 206;
	/* A PSFB too short for its SSRCs. */
	uint8_t tiny[4] = { 0x81, 206, 0, 0 };
	assert_int_equal(xport_rtcp_parse(tiny, 4, &info), -EBADMSG);
	/* An RR claiming more blocks than it has. */
	xport_rtcp_write_rr(buf, sizeof(buf), 1, NULL, &n);
	buf[0] |= 2;
	assert_int_equal(xport_rtcp_parse(buf, n, &info), -EBADMSG);
	/* Padding only on the last packet of a compound. */
	size_t m;
	xport_rtcp_write_rr(buf, sizeof(buf), 1, NULL, &n);
	xport_rtcp_write_pli(buf + n, sizeof(buf) - n, 1, 2, &m);
	/* Pad the PLI by one word: P bit, length + 1, count byte last. */
	buf[n] |= 0x20;
	buf[n + 3] = 3;
	memset(buf + n + m, 0, 3);
	buf[n + m + 3] = 4;
	m += 4;
	assert_int_equal(xport_rtcp_parse(buf, n + m, &info), 0);
	assert_int_equal(info.n_pli, 1);
	buf[n + m - 1] = 0;
	assert_int_equal(xport_rtcp_parse(buf, n + m, &info), -EBADMSG);
	buf[n + m - 1] = 13;
	assert_int_equal(xport_rtcp_parse(buf, n + m, &info), -EBADMSG);
	/* Padding that eats into the PLI's SSRCs. */
	buf[n + m - 1] = 8;
	assert_int_equal(xport_rtcp_parse(buf, n + m, &info), -EBADMSG);
	buf[n + m - 1] = 4;
	/* The same P bit on the first packet. */
	buf[0] |= 0x20;
	assert_int_equal(xport_rtcp_parse(buf, n + m, &info), -EBADMSG);
}

static void test_rx_stats_wrap(void **state)
{
	struct xport_rtp_rx_stats s = { 0 };
	struct xport_rtcp_report_block b;
	/* 100 packets across the 16-bit wrap, one lost, one duplicated. */
	uint16_t seq = 65500;
	for (unsigned i = 0; i < 100; i++, seq++) {
		if (i == 40) {
			continue;
		}
		xport_rtp_rx_stats_update(&s, seq, 1000, 1000 + i);
		if (i == 60) {
			xport_rtp_rx_stats_update(&s, seq, 1000, 1000 + i);
		}
	}
	assert_int_equal(xport_rtp_rx_stats_ext_max(&s), 65536u + (uint16_t)(seq - 1));
	xport_rtp_rx_stats_block(&s, 7, 0, 0, &b);
	/* Expected 100, received 100 (99 + a duplicate). */
	assert_int_equal(b.cumulative_lost, 0);
	assert_int_equal(b.ext_highest_seq, 65536u + 99 - 36);
	/* Next interval: 10 expected, 5 received. */
	for (unsigned i = 0; i < 10; i += 2, seq += 2) {
		xport_rtp_rx_stats_update(&s, seq, 1000, 2000);
	}
	xport_rtp_rx_stats_block(&s, 7, 0, 0, &b);
	assert_int_equal(b.fraction_lost, 256 * 4 / 9);
	/* A late packet does not move the maximum. */
	uint32_t max = xport_rtp_rx_stats_ext_max(&s);
	xport_rtp_rx_stats_update(&s, (uint16_t)(seq - 50), 1000, 2000);
	assert_int_equal(xport_rtp_rx_stats_ext_max(&s), max);
	/* A far jump restarts. */
	xport_rtp_rx_stats_update(&s, (uint16_t)(seq + 30000), 1000, 2000);
	assert_int_equal(xport_rtp_rx_stats_ext_max(&s), (uint16_t)(seq + 30000));
}

static void test_ts_90k(void **state)
{
	assert_int_equal(xport_rtp_ts_90k(0, 5), 5);
	assert_int_equal(xport_rtp_ts_90k(1000000000ull, 0), 90000);
	assert_int_equal(xport_rtp_ts_90k(11111ull, 0), 0);
	assert_int_equal(xport_rtp_ts_90k(11112ull, 0), 1);
	/* 100 days of uptime: no overflow, still 90 kHz. */
	uint64_t t = 100ull * 86400 * 1000000000ull;
	assert_int_equal(xport_rtp_ts_90k(t + 1000000000ull, 0) - xport_rtp_ts_90k(t, 0), 90000);
}

static void test_phdr(void **state)
{
	uint8_t buf[XPORT_MEDIA_PHDR_SIZE + 10];
	struct xport_media_phdr h = { .flags = XPORT_MEDIA_FLAG_KEY, .index = 2, .count = 3,
		.total = 30, .offset = 20 };
	xport_media_phdr_write(buf, &h);
	struct xport_media_phdr o;
	size_t n;
	assert_int_equal(xport_media_phdr_parse(buf, sizeof(buf), &o, &n), 0);
	assert_int_equal(n, 10);
	assert_int_equal(o.flags, h.flags);
	assert_int_equal(o.index, h.index);
	assert_int_equal(o.count, h.count);
	assert_int_equal(o.total, h.total);
	assert_int_equal(o.offset, h.offset);
	assert_int_equal(xport_media_phdr_parse(buf, XPORT_MEDIA_PHDR_SIZE, &o, &n), -EBADMSG);
	assert_int_equal(xport_media_phdr_parse(buf, sizeof(buf) + 1 - 1, &o, &n), 0);
	h.offset = 21; /* fragment beyond total */
	xport_media_phdr_write(buf, &h);
	assert_int_equal(xport_media_phdr_parse(buf, sizeof(buf), &o, &n), -EBADMSG);
	h.offset = 20;
	h.index = 3; /* index >= count */
	xport_media_phdr_write(buf, &h);
	assert_int_equal(xport_media_phdr_parse(buf, sizeof(buf), &o, &n), -EBADMSG);
	h.index = 0;
	h.count = 0;
	xport_media_phdr_write(buf, &h);
	assert_int_equal(xport_media_phdr_parse(buf, sizeof(buf), &o, &n), -EBADMSG);
	h.count = 1;
	h.total = 0;
	xport_media_phdr_write(buf, &h);
	assert_int_equal(xport_media_phdr_parse(buf, sizeof(buf), &o, &n), -EBADMSG);
	h.total = 30;
	xport_media_phdr_write(buf, &h);
	buf[0] = 3;
	assert_int_equal(xport_media_phdr_parse(buf, sizeof(buf), &o, &n), -EBADMSG);
	/* The short header (version 5): one packet, the rest of it. */
	buf[0] = XPORT_MEDIA_PHDR_VERSION_SHORT;
	buf[1] = XPORT_MEDIA_FLAG_KEY;
	assert_int_equal(xport_media_phdr_parse(buf, 3, &o, &n), 0);
	assert_int_equal(o.size, XPORT_MEDIA_PHDR_SHORT_SIZE);
	assert_int_equal(o.count, 1);
	assert_int_equal(o.index, 0);
	assert_int_equal(o.offset, 0);
	assert_int_equal(o.total, 1);
	assert_int_equal(n, 1);
	assert_int_equal(o.flags, XPORT_MEDIA_FLAG_KEY);
	assert_true(xport_media_packet_fits(&o, n, 1400));
	assert_int_equal(xport_media_phdr_parse(buf, sizeof(buf), &o, &n), 0);
	assert_int_equal(n, sizeof(buf) - 2);
	/* No fragment, or more than one packet's worth: bad. */
	assert_int_equal(xport_media_phdr_parse(buf, 2, &o, &n), -EBADMSG);
	assert_int_equal(xport_media_phdr_parse(buf, 3, &o, &n), 0);
	assert_false(xport_media_packet_fits(&(struct xport_media_phdr){ .count = 1, .total = 1500,
		.size = 2 }, 1500, 1400));

	/* MTU arithmetic: IP + UDP + headers + fragment == MTU. */
	assert_int_equal(xport_media_frag_size(1500, false) + 20 + 8 + XPORT_MEDIA_HDR_SIZE, 1500);
	assert_int_equal(xport_media_frag_size(9000, true) + 40 + 8 + XPORT_MEDIA_HDR_SIZE, 9000);
	assert_int_equal(xport_media_frag_size(575, false), 0);
	assert_int_equal(xport_media_frag_size(65536, false), 0);
	assert_int_equal(xport_media_packet_count(1, 100), 1);
	assert_int_equal(xport_media_packet_count(100, 100), 1);
	assert_int_equal(xport_media_packet_count(101, 100), 2);
	assert_int_equal(xport_media_packet_count(0, 100), 0);
	assert_int_equal(xport_media_packet_count(65535 * 10, 10), 65535);
	assert_int_equal(xport_media_packet_count(65535 * 10 + 1, 10), 0);
}

/* Generic NACK: PID/BLP packing (gaps, runs longer than 17, repeats, a
 * sequence wrap) comes back as the same set of sequence numbers. */
static void test_nack_roundtrip(void **state)
{
	(void)state;
	static const uint16_t seqs[] = { 65530, 65535, 0, 3, 10, 40, 41, 42, 43, 44, 45, 46, 47,
		48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 3, 1000 };
	const unsigned n = sizeof(seqs) / sizeof(seqs[0]);
	uint8_t buf[512];
	size_t len;
	assert_int_equal(xport_rtcp_write_nack(buf, sizeof(buf), 0x1111, 0x2222, seqs, n, &len), 0);
	struct xport_rtcp_info info;
	assert_int_equal(xport_rtcp_parse(buf, len, &info), 0);
	bool want[65536] = { false }, got[65536] = { false };
	for (unsigned i = 0; i < n; i++) {
		want[seqs[i]] = true;
	}
	for (unsigned i = 0; i < info.n_nack; i++) {
		assert_int_equal(info.nack_media_ssrc[i], 0x2222);
		assert_false(got[info.nack_seq[i]]); /* each once */
		got[info.nack_seq[i]] = true;
	}
	assert_memory_equal(want, got, sizeof(want));
	/* 65530..0 and 3 fit one entry each way round the wrap: few entries. */
	assert_true(len <= 12 + 4 * 5);
	assert_int_equal(xport_rtcp_write_nack(buf, sizeof(buf), 1, 2, seqs, 0, &len), -EINVAL);
	assert_int_equal(xport_rtcp_write_nack(buf, 14, 1, 2, seqs, 1, &len), -ENOSPC);
	/* An FCI that is not a whole number of entries is malformed. */
	assert_int_equal(xport_rtcp_write_nack(buf, sizeof(buf), 1, 2, seqs, 1, &len), 0);
	buf[3] = 3; /* length says 16 bytes, with a 4-byte entry: fine */
	assert_int_equal(xport_rtcp_parse(buf, 16, &info), 0);
	uint8_t odd[14];
	memcpy(odd, buf, 12);
	odd[3] = 2; /* 12 bytes: no FCI at all is allowed */
	assert_int_equal(xport_rtcp_parse(odd, 12, &info), 0);
	assert_int_equal(info.n_nack, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_media_header_round_trip),
		cmocka_unit_test(test_media_header_stages),
		cmocka_unit_test(test_media_header_compact),
		cmocka_unit_test(test_ts_time),
		cmocka_unit_test(test_rtp_variants),
		cmocka_unit_test(test_demux),
		cmocka_unit_test(test_rtcp_round_trip),
		cmocka_unit_test(test_rtcp_malformed),
		cmocka_unit_test(test_rx_stats_wrap),
		cmocka_unit_test(test_ts_90k),
		cmocka_unit_test(test_phdr),
		cmocka_unit_test(test_nack_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
