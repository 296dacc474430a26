/* SPDX-License-Identifier: MIT */
/* RFC 4175 packets: a frame cut into packets (segments that split lines and
 * packets that hold several lines) parses back into the same pixels, with
 * the marker on the last packet only and an extended sequence number; bad
 * packets are refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/bytes.h"
#include "transport/rfc4175.h"

#define W 37
#define H 13

struct rebuild {
	uint8_t px[W * H * 3];
	unsigned covered[W * H];
};

static void on_seg(void *data, uint32_t line, uint32_t offset, const uint8_t *px, size_t n)
{
	struct rebuild *r = data;
	memcpy(r->px + ((size_t)line * W + offset) * 3, px, n * 3);
	for (size_t i = 0; i < n; i++) {
		r->covered[line * W + offset + i]++;
	}
}

static void roundtrip(size_t max_payload, uint32_t seq0)
{
	static uint8_t rgb[W * H * 3];
	for (size_t i = 0; i < sizeof(rgb); i++) {
		rgb[i] = (uint8_t)(i * 7 + 3);
	}
	struct xport_raw_iter it;
	assert_int_equal(xport_raw_iter_init(&it, rgb, W, H, max_payload, 0x1234, 9000, 96, seq0), 0);
	static struct rebuild r;
	memset(&r, 0, sizeof(r));
	uint8_t buf[12 + 2048];
	size_t len;
	uint32_t seq = seq0;
	unsigned packets = 0;
	while ((len = xport_raw_iter_next(&it, buf)) > 0) {
		assert_true(len <= 12 + max_payload);
		assert_int_equal(buf[0], 0x80);
		assert_int_equal(buf[1] & 0x7f, 96);
		assert_int_equal(xport_get_be16(buf + 2), (uint16_t)seq);
		assert_int_equal(xport_get_be32(buf + 4), 9000);
		bool marker = buf[1] & 0x80;
		assert_int_equal(marker, xport_raw_iter_done(&it));
		uint16_t esn;
		assert_int_equal(xport_raw_parse(buf + 12, len - 12, W, H, &esn, on_seg, &r), 0);
		assert_int_equal(esn, (uint16_t)(seq >> 16));
		seq++;
		packets++;
	}
	assert_int_equal(it.seq, seq);
	assert_memory_equal(r.px, rgb, sizeof(rgb));
	for (unsigned i = 0; i < W * H; i++) {
		assert_int_equal(r.covered[i], 1); /* every pixel exactly once */
	}
	assert_true(packets >= (W * H * 3) / max_payload);
}

static void test_roundtrip(void **state)
{
	(void)state;
	roundtrip(11, 0);          /* one pixel a packet */
	roundtrip(100, 65530);     /* across the 16-bit wrap: the ESN counts */
	roundtrip(1400, 0x1fffe);  /* several lines a packet */
	roundtrip(2048, 7);
}

static void test_bad(void **state)
{
	(void)state;
	struct xport_raw_iter it;
	uint8_t rgb[3] = { 0 };
	assert_int_equal(xport_raw_iter_init(&it, rgb, 0, 1, 1400, 1, 1, 96, 0), -EINVAL);
	assert_int_equal(xport_raw_iter_init(&it, rgb, 32768, 1, 1400, 1, 1, 96, 0), -EINVAL);
	assert_int_equal(xport_raw_iter_init(&it, rgb, 1, 1, 10, 1, 1, 96, 0), -EINVAL);
	uint16_t esn;
	/* ESN, one header: 6 bytes at line 0 offset 35 of a 37-wide frame: 2 px fit. */
	uint8_t p[2 + 6 + 6] = { 0, 0, 0, 6, 0, 0, 0, 35, 1, 2, 3, 4, 5, 6 };
	assert_int_equal(xport_raw_parse(p, sizeof(p), W, H, &esn, NULL, NULL), 0);
	p[7] = 36; /* 2 px from offset 36: past the line */
	assert_int_equal(xport_raw_parse(p, sizeof(p), W, H, &esn, NULL, NULL), -EBADMSG);
	p[7] = 0;
	p[3] = 5; /* not whole pixels */
	assert_int_equal(xport_raw_parse(p, sizeof(p), W, H, &esn, NULL, NULL), -EBADMSG);
	p[3] = 9; /* more pixels than the packet holds */
	assert_int_equal(xport_raw_parse(p, sizeof(p), W, H, &esn, NULL, NULL), -EBADMSG);
	p[3] = 6;
	p[5] = H; /* line beyond the frame */
	assert_int_equal(xport_raw_parse(p, sizeof(p), W, H, &esn, NULL, NULL), -EBADMSG);
	p[5] = 0;
	p[6] = 0x80; /* C set, but no next header */
	assert_int_equal(xport_raw_parse(p, sizeof(p), W, H, &esn, NULL, NULL), -EBADMSG);
	assert_int_equal(xport_raw_parse(p, 7, W, H, &esn, NULL, NULL), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
