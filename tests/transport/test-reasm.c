/* SPDX-License-Identifier: MIT */
/* Packetizer and reassembly: loss, duplicates, reordering, truncated,
 * oversized and garbage datagrams, inconsistent packets, wraps. */
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
#include "transport/reasm.h"
#include "transport/rtp.h"

#define SSRC 0x5eed5eedu
#define PT 96
#define FRAG 100
#define MAX_PKTS 64

struct pkt {
	uint8_t buf[XPORT_MEDIA_HDR_SIZE + 2048];
	size_t len;
};

static uint32_t rng = 77;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

struct frame {
	uint32_t id;
	bool key;
	uint8_t data[MAX_PKTS * FRAG];
	size_t len;
	struct pkt pkts[MAX_PKTS];
	unsigned count;
};

static void make_frame(struct frame *f, uint32_t id, size_t len, size_t frag, uint16_t seq0,
	bool key)
{
	f->id = id;
	f->key = key;
	f->len = len;
	for (size_t i = 0; i < len; i++) {
		f->data[i] = (uint8_t)next_rand();
	}
	struct xport_media_frame m = {
		.frame_id = id,
		.capture_ns = 1000000ull * id,
		.rtp_ts = id * 1500,
		.key = key,
		.data = f->data,
		.len = len,
		.frag = frag,
		.count = xport_media_packet_count(len, frag),
	};
	assert_true(m.count > 0 && m.count <= MAX_PKTS);
	f->count = m.count;
	for (unsigned i = 0; i < m.count; i++) {
		size_t off, n;
		xport_media_packet(&m, i, SSRC, PT, (uint16_t)(seq0 + i), NULL, false, f->pkts[i].buf, &off, &n);
		memcpy(f->pkts[i].buf + XPORT_MEDIA_HDR_SIZE, f->data + off, n);
		f->pkts[i].len = XPORT_MEDIA_HDR_SIZE + n;
	}
}

static struct xport_reasm *new_reasm(size_t max)
{
	struct xport_reasm_config c = { .ssrc = SSRC, .payload_type = PT, .max_frame_bytes = max };
	struct xport_reasm *r = xport_reasm_create(&c);
	assert_non_null(r);
	return r;
}

static int feed_raw(struct xport_reasm *r, const uint8_t *buf, size_t len, uint64_t now)
{
	struct xport_rtp_packet p;
	if (xport_rtp_parse(buf, len, XPORT_MEDIA_EXT_FRAME_ID, XPORT_MEDIA_EXT_CAPTURE, &p) < 0) {
		return -EBADMSG;
	}
	return xport_reasm_push(r, &p, now);
}

static int feed(struct xport_reasm *r, const struct pkt *p)
{
	return feed_raw(r, p->buf, p->len, 0);
}

static void feed_all(struct xport_reasm *r, const struct frame *f)
{
	for (unsigned i = 0; i < f->count; i++) {
		assert_int_equal(feed(r, &f->pkts[i]), 0);
	}
}

/* Pops one frame and checks it is f. */
static void expect_frame(struct xport_reasm *r, const struct frame *f)
{
	struct xport_reasm_frame out;
	assert_true(xport_reasm_pop(r, &out));
	assert_int_equal(out.frame_id, f->id);
	assert_int_equal(out.key, f->key);
	assert_int_equal(out.len, f->len);
	assert_int_equal(out.n_packets, f->count);
	assert_true(out.capture_ns == 1000000ull * f->id);
	assert_int_equal(out.rtp_ts, f->id * 1500);
	assert_memory_equal(out.data, f->data, f->len);
	xport_reasm_frame_finish(&out);
}

static void expect_none(struct xport_reasm *r)
{
	struct xport_reasm_frame out;
	assert_false(xport_reasm_pop(r, &out));
}

static struct frame fa, fb, fc, fd, fe;

static void test_in_order(void **state)
{
	struct xport_reasm *r = new_reasm(1 << 20);
	make_frame(&fa, 1, 1000, FRAG, 100, true);
	assert_int_equal(fa.count, 10);
	for (unsigned i = 0; i < fa.count; i++) {
		assert_int_equal(feed(r, &fa.pkts[i]), 0);
		if (i + 1 < fa.count) {
			expect_none(r);
			assert_true(xport_reasm_pending(r));
		}
	}
	expect_frame(r, &fa);
	assert_false(xport_reasm_pending(r));
	/* Single-packet frame, and a last fragment of one byte. */
	make_frame(&fb, 2, 50, FRAG, 110, false);
	feed_all(r, &fb);
	expect_frame(r, &fb);
	make_frame(&fc, 3, 201, FRAG, 111, false);
	assert_int_equal(fc.count, 3);
	feed_all(r, &fc);
	expect_frame(r, &fc);
	const struct xport_reasm_stats *st = xport_reasm_get_stats(r);
	assert_int_equal(st->frames_complete, 3);
	assert_int_equal(st->frames_lost, 0);
	assert_int_equal(st->packets, 14);
	assert_int_equal(xport_reasm_take_lost(r), 0);
	xport_reasm_destroy(r);
}

static void test_shuffled(void **state)
{
	for (unsigned iter = 0; iter < 200; iter++) {
		struct xport_reasm *r = new_reasm(1 << 20);
		size_t len = 1 + next_rand() % (MAX_PKTS * FRAG);
		make_frame(&fa, 9, len, FRAG, (uint16_t)next_rand(), false);
		unsigned order[MAX_PKTS];
		for (unsigned i = 0; i < fa.count; i++) {
			order[i] = i;
		}
		for (unsigned i = fa.count; i > 1; i--) {
			unsigned j = next_rand() % i;
			unsigned t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		for (unsigned i = 0; i < fa.count; i++) {
			assert_int_equal(feed(r, &fa.pkts[order[i]]), 0);
			/* Some identical duplicates on the way. */
			if (next_rand() % 4 == 0) {
				assert_int_equal(feed(r, &fa.pkts[order[next_rand() % (i + 1)]]), 0);
			}
		}
		expect_frame(r, &fa);
		expect_none(r);
		assert_int_equal(xport_reasm_get_stats(r)->frames_lost, 0);
		xport_reasm_destroy(r);
	}
}

static void test_loss(void **state)
{
	struct xport_reasm *r = new_reasm(1 << 20);
	make_frame(&fa, 1, 1000, FRAG, 0, true);
	make_frame(&fb, 2, 500, FRAG, 10, false);
	make_frame(&fc, 3, 500, FRAG, 15, false);
	make_frame(&fd, 4, 500, FRAG, 20, false);
	/* Frame 1 misses packet 4. */
	for (unsigned i = 0; i < fa.count; i++) {
		if (i != 4) {
			feed(r, &fa.pkts[i]);
		}
	}
	feed_all(r, &fb);
	/* Held: frame 1 might still complete (reordering). */
	expect_none(r);
	assert_int_equal(xport_reasm_take_lost(r), 0);
	feed_all(r, &fc);
	/* Two later frames complete: frame 1 is given up; never delivered. */
	expect_frame(r, &fb);
	expect_frame(r, &fc);
	expect_none(r);
	assert_int_equal(xport_reasm_take_lost(r), 1);
	assert_int_equal(xport_reasm_take_lost(r), 0);
	/* Its missing packet, late: ignored. */
	assert_int_equal(feed(r, &fa.pkts[4]), 0);
	expect_none(r);
	assert_int_equal(xport_reasm_get_stats(r)->late, 1);

	/* Frame 4 loses its last packet and nothing follows: expiry. */
	for (unsigned i = 0; i + 1 < fd.count; i++) {
		assert_int_equal(feed_raw(r, fd.pkts[i].buf, fd.pkts[i].len, 1000), 0);
	}
	xport_reasm_expire(r, 1000 + 50, 100);
	assert_true(xport_reasm_pending(r));
	xport_reasm_expire(r, 1000 + 100, 100);
	assert_false(xport_reasm_pending(r));
	assert_int_equal(xport_reasm_take_lost(r), 1);
	expect_none(r);
	xport_reasm_destroy(r);
}

static void test_reorder_across_frames(void **state)
{
	struct xport_reasm *r = new_reasm(1 << 20);
	make_frame(&fa, 7, 700, FRAG, 0, false);
	make_frame(&fb, 8, 300, FRAG, 7, false);
	/* Frame 8 entirely before the end of frame 7. */
	for (unsigned i = 0; i < 5; i++) {
		feed(r, &fa.pkts[i]);
	}
	feed_all(r, &fb);
	expect_none(r);
	for (unsigned i = 5; i < fa.count; i++) {
		feed(r, &fa.pkts[i]);
	}
	expect_frame(r, &fa);
	expect_frame(r, &fb);
	assert_int_equal(xport_reasm_take_lost(r), 0);
	xport_reasm_destroy(r);
}

static void test_wraps(void **state)
{
	struct xport_reasm *r = new_reasm(1 << 20);
	/* Sequence numbers wrap inside a frame. */
	make_frame(&fa, 0xfffffffe, 1200, FRAG, 65530, true);
	feed_all(r, &fa);
	expect_frame(r, &fa);
	/* Frame ids wrap too. */
	make_frame(&fb, 0xffffffff, 300, FRAG, 6, false);
	make_frame(&fc, 0, 300, FRAG, 9, false);
	make_frame(&fd, 1, 300, FRAG, 12, false);
	feed_all(r, &fb);
	feed_all(r, &fc);
	feed_all(r, &fd);
	expect_frame(r, &fb);
	expect_frame(r, &fc);
	expect_frame(r, &fd);
	assert_int_equal(xport_reasm_get_stats(r)->frames_lost, 0);
	/* An old id after the wrap is late, not new. */
	make_frame(&fe, 0xfffffff0, 100, FRAG, 20, false);
	assert_int_equal(feed(r, &fe.pkts[0]), 0);
	expect_none(r);
	assert_int_equal(xport_reasm_get_stats(r)->late, 1);
	xport_reasm_destroy(r);
}

static void test_gaps_and_slots(void **state)
{
	struct xport_reasm *r = new_reasm(1 << 20);
	make_frame(&fa, 10, 200, FRAG, 0, true);
	make_frame(&fb, 13, 200, FRAG, 2, false);
	feed_all(r, &fa);
	feed_all(r, &fb);
	expect_frame(r, &fa);
	expect_frame(r, &fb);
	/* 11 and 12 never arrived. */
	assert_int_equal(xport_reasm_take_lost(r), 2);

	/* Five frames in flight, none complete: the oldest gives way. */
	struct frame *fs[5] = { &fa, &fb, &fc, &fd, &fe };
	for (unsigned i = 0; i < 5; i++) {
		make_frame(fs[i], 20 + i, 300, FRAG, (uint16_t)(100 + 3 * i), false);
		feed(r, &fs[i]->pkts[0]);
	}
	/* 14..19 skipped, then 20 evicted. */
	assert_int_equal(xport_reasm_take_lost(r), 6 + 1);
	for (unsigned i = 1; i < 5; i++) {
		for (unsigned k = 1; k < fs[i]->count; k++) {
			feed(r, &fs[i]->pkts[k]);
		}
	}
	for (unsigned i = 1; i < 5; i++) {
		expect_frame(r, fs[i]);
	}
	/* A packet older than everything in flight, with slots full, is dropped. */
	xport_reasm_destroy(r);
}

/* A packet that does not agree with its frame makes the frame lost. */
static void corrupt_and_check(void (*mutate)(struct pkt *), const char *what)
{
	struct xport_reasm *r = new_reasm(1 << 20);
	make_frame(&fa, 5, 1000, FRAG, 40, false);
	for (unsigned i = 0; i < fa.count; i++) {
		struct pkt p = fa.pkts[i];
		if (i == 3) {
			mutate(&p);
		}
		feed(r, &p);
	}
	/* Also feed the good packet 3: it cannot rescue the frame. */
	feed(r, &fa.pkts[3]);
	make_frame(&fb, 6, 100, FRAG, 50, true);
	feed_all(r, &fb);
	struct xport_reasm_frame out;
	assert_true(xport_reasm_pop(r, &out));
	if (out.frame_id != 6) {
		fail_msg("%s: frame 5 delivered", what);
	}
	xport_reasm_frame_finish(&out);
	assert_int_equal(xport_reasm_take_lost(r), 1);
	assert_true(xport_reasm_get_stats(r)->rejected >= 1);
	xport_reasm_destroy(r);
}

static void m_count(struct pkt *p)
{
	xport_put_be16(p->buf + XPORT_RTP_MEDIA_HDR_SIZE + 4, 11);
}
static void m_total(struct pkt *p)
{
	xport_put_be32(p->buf + XPORT_RTP_MEDIA_HDR_SIZE + 8, 1001);
}
static void m_key(struct pkt *p)
{
	p->buf[XPORT_RTP_MEDIA_HDR_SIZE + 1] ^= XPORT_MEDIA_FLAG_KEY;
}
static void m_ts(struct pkt *p)
{
	p->buf[7] ^= 1;
}
static void m_capture(struct pkt *p)
{
	p->buf[29] ^= 1;
}
static void m_seq(struct pkt *p)
{
	p->buf[3] ^= 1;
}
static void m_marker(struct pkt *p)
{
	p->buf[1] ^= 0x80;
}
static void m_offset(struct pkt *p)
{
	xport_put_be32(p->buf + XPORT_RTP_MEDIA_HDR_SIZE + 12, 301);
}
static void m_short(struct pkt *p)
{
	p->len -= 1;
}
static void m_payload(struct pkt *p)
{
	/* Same index twice with different bytes: duplicated-inconsistent. */
	p->buf[XPORT_MEDIA_HDR_SIZE + 5] ^= 0xff;
}

static void test_inconsistent(void **state)
{
	corrupt_and_check(m_count, "count");
	corrupt_and_check(m_total, "total");
	corrupt_and_check(m_key, "key flag");
	corrupt_and_check(m_ts, "timestamp");
	corrupt_and_check(m_capture, "capture time");
	corrupt_and_check(m_seq, "sequence");
	corrupt_and_check(m_marker, "marker");
	corrupt_and_check(m_offset, "offset");
	corrupt_and_check(m_short, "short fragment");
	corrupt_and_check(m_payload, "duplicate with other bytes");
}

/* Every truncation of every packet position: the frame is never delivered
 * with wrong bytes, and nothing reads out of bounds. */
static void test_truncated(void **state)
{
	make_frame(&fa, 3, 250, FRAG, 1, false);
	for (unsigned k = 0; k < fa.count; k++) {
		for (size_t l = 0; l < fa.pkts[k].len; l++) {
			struct xport_reasm *r = new_reasm(1 << 20);
			uint8_t *copy = malloc(l ? l : 1);
			memcpy(copy, fa.pkts[k].buf, l);
			feed_raw(r, copy, l, 0);
			free(copy);
			for (unsigned i = 0; i < fa.count; i++) {
				if (i != k) {
					feed(r, &fa.pkts[i]);
				}
			}
			struct xport_reasm_frame out;
			if (xport_reasm_pop(r, &out)) {
				fail_msg("truncated packet %u at %zu: frame delivered", k, l);
			}
			xport_reasm_destroy(r);
		}
	}
}

static void test_rejects(void **state)
{
	struct xport_reasm *r = new_reasm(999);
	make_frame(&fa, 1, 1000, FRAG, 0, true);
	/* Too big for this receiver. */
	assert_int_equal(feed(r, &fa.pkts[0]), -EBADMSG);
	xport_reasm_destroy(r);

	r = new_reasm(1 << 20);
	struct pkt p = fa.pkts[0];
	/* Foreign SSRC, payload type. */
	p.buf[11] ^= 1;
	assert_int_equal(feed(r, &p), -EBADMSG);
	p = fa.pkts[0];
	p.buf[1] = (p.buf[1] & 0x80) | 97;
	assert_int_equal(feed(r, &p), -EBADMSG);
	/* No frame id extension. */
	p = fa.pkts[0];
	p.buf[16] = 0x53; /* id 5 instead of 1 */
	assert_int_equal(feed(r, &p), -EBADMSG);
	/* Garbage of every size. */
	for (unsigned i = 0; i < 5000; i++) {
		uint8_t g[200];
		size_t len = next_rand() % sizeof(g);
		for (size_t k = 0; k < len; k++) {
			g[k] = (uint8_t)next_rand();
		}
		/* Make some of it look like our RTP to get deeper. */
		if (len > 48 && (i & 1)) {
			memcpy(g, fa.pkts[0].buf, 32 + (i % 17));
		}
		feed_raw(r, g, len, 0);
	}
	/* Still works afterwards. */
	make_frame(&fb, 0x7fff0000, 300, FRAG, 0, true);
	feed_all(r, &fb);
	struct xport_reasm_frame out;
	bool got = false;
	while (xport_reasm_pop(r, &out)) {
		got |= out.frame_id == fb.id;
		xport_reasm_frame_finish(&out);
	}
	assert_true(got);
	xport_reasm_destroy(r);
	xport_reasm_destroy(NULL);
}

/* The receiver learns the fragment size from whichever packet comes first,
 * also from the last one. */
static void test_last_first(void **state)
{
	struct xport_reasm *r = new_reasm(1 << 20);
	make_frame(&fa, 2, 950, FRAG, 0, false);
	feed(r, &fa.pkts[fa.count - 1]);
	for (unsigned i = 0; i + 1 < fa.count; i++) {
		feed(r, &fa.pkts[i]);
	}
	expect_frame(r, &fa);
	/* A last packet whose offset is not a multiple of count-1. */
	make_frame(&fb, 3, 950, FRAG, 10, false);
	struct pkt p = fb.pkts[fb.count - 1];
	xport_put_be32(p.buf + XPORT_RTP_MEDIA_HDR_SIZE + 12, 901);
	assert_int_equal(feed(r, &p), -EBADMSG);
	xport_reasm_destroy(r);
}

/* A frame id damaged on the way (here: far ahead) whose frame never
 * completes is given up and moves the floor there; the genuine frames
 * that follow, far behind it, are a new start, not late for ever. */
static void test_resync_after_bogus_id(void **state)
{
	(void)state;
	struct xport_reasm *r = new_reasm(1 << 20);
	static struct frame a, bogus, b;
	make_frame(&a, 100, 100, FRAG, 10, true);
	feed_all(r, &a);
	expect_frame(r, &a);
	make_frame(&bogus, 100 + (1u << 20), 3 * FRAG, FRAG, 11, false);
	assert_int_equal(feed(r, &bogus.pkts[0]), 0); /* 1 of 3 packets */
	xport_reasm_expire(r, 1000000000ull, 1000);
	expect_none(r);
	xport_reasm_take_lost(r);
	make_frame(&b, 101, 100, FRAG, 14, false);
	feed_all(r, &b);
	expect_frame(r, &b);
	assert_int_equal(xport_reasm_get_stats(r)->resyncs, 1);
	/* Genuinely late packets (a few frames behind) are still late. */
	assert_int_equal(feed(r, &a.pkts[0]), 0);
	expect_none(r);
	assert_int_equal(xport_reasm_get_stats(r)->resyncs, 1);
	xport_reasm_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_shuffled),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_reorder_across_frames),
		cmocka_unit_test(test_wraps),
		cmocka_unit_test(test_gaps_and_slots),
		cmocka_unit_test(test_inconsistent),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_last_first),
		cmocka_unit_test(test_resync_after_bogus_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
