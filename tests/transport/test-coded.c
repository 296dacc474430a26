/* SPDX-License-Identifier: MIT */
/* Coded frames (transport/coded.h): a header written over a bitstream
 * parses back with its CRC; every field out of range, a wrong raw size, a
 * jpeg delta and a single flipped bit anywhere are refused. The raw
 * packing (rfc4175.h) round-trips x8r8g8b8 pixels. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/bytes.h"
#include "transport/coded.h"
#include "transport/control-proto.h"
#include "transport/rfc4175.h"

static size_t make(uint8_t *buf, uint8_t codec, uint8_t flags, uint16_t w, uint16_t h,
	size_t n)
{
	for (size_t i = 0; i < n; i++) {
		buf[XPORT_CODED_HDR_SIZE + i] = (uint8_t)(i * 13 + 5);
	}
	xport_coded_write(buf, codec, flags, w, h, n);
	return XPORT_CODED_HDR_SIZE + n;
}

static void test_roundtrip(void **state)
{
	(void)state;
	static uint8_t buf[XPORT_CODED_HDR_SIZE + 7 * 5 * 3];
	struct xport_coded_header h;
	const uint8_t *bs;
	size_t n;
	size_t len = make(buf, XPORT_CODEC_RAW, XPORT_CODED_KEY | XPORT_CODED_REFRESH, 7, 5, 105);
	assert_int_equal(xport_coded_parse(buf, len, &h, &bs, &n), 0);
	assert_int_equal(h.codec, XPORT_CODEC_RAW);
	assert_int_equal(h.flags, XPORT_CODED_KEY | XPORT_CODED_REFRESH);
	assert_int_equal(h.width, 7);
	assert_int_equal(h.height, 5);
	assert_ptr_equal(bs, buf + XPORT_CODED_HDR_SIZE);
	assert_int_equal(n, 105);
	/* h264 deltas are fine; any length. */
	len = make(buf, XPORT_CODEC_H264, 0, 1920, 1080, 33);
	assert_int_equal(xport_coded_parse(buf, len, &h, &bs, &n), 0);
	assert_int_equal(h.flags, 0);
	/* Every single bit flipped is noticed (header fields or CRC). */
	for (size_t bit = 0; bit < len * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int r = xport_coded_parse(buf, len, &h, &bs, &n);
		assert_true(r == -EBADMSG || r == -EILSEQ);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(xport_coded_parse(buf, len, &h, &bs, &n), 0);
	/* Truncated: the CRC no longer matches, or nothing is left. */
	assert_int_equal(xport_coded_parse(buf, len - 1, &h, &bs, &n), -EILSEQ);
	assert_int_equal(xport_coded_parse(buf, XPORT_CODED_HDR_SIZE, &h, &bs, &n), -EBADMSG);
}

static void test_bad(void **state)
{
	(void)state;
	static uint8_t buf[XPORT_CODED_HDR_SIZE + 64];
	struct xport_coded_header h;
	const uint8_t *bs;
	size_t n;
	/* Raw of the wrong size, raw or jpeg not key, unknown codec, tiles
	 * (which has its own header), flags beyond the two, size 0 or too big. */
	assert_int_equal(xport_coded_parse(buf, make(buf, XPORT_CODEC_RAW, 1, 4, 4, 47), &h, &bs,
		&n), -EBADMSG);
	assert_int_equal(xport_coded_parse(buf, make(buf, XPORT_CODEC_RAW, 0, 4, 4, 48), &h, &bs,
		&n), -EBADMSG);
	assert_int_equal(xport_coded_parse(buf, make(buf, XPORT_CODEC_JPEG, 0, 4, 4, 10), &h, &bs,
		&n), -EBADMSG);
	assert_int_equal(xport_coded_parse(buf, make(buf, XPORT_CODEC_JPEG, 1, 4, 4, 10), &h, &bs,
		&n), 0);
	assert_int_equal(xport_coded_parse(buf, make(buf, 9, 1, 4, 4, 10), &h, &bs, &n), -EBADMSG);
	assert_int_equal(xport_coded_parse(buf, make(buf, XPORT_CODEC_TILES, 1, 4, 4, 10), &h, &bs,
		&n), -EBADMSG);
	assert_int_equal(xport_coded_parse(buf, make(buf, XPORT_CODEC_H264, 4, 4, 4, 10), &h, &bs,
		&n), -EBADMSG);
	assert_int_equal(xport_coded_parse(buf, make(buf, XPORT_CODEC_H264, 1, 0, 4, 10), &h, &bs,
		&n), -EBADMSG);
	assert_int_equal(xport_coded_parse(buf, make(buf, XPORT_CODEC_H264, 1, 4,
		XPORT_CODED_MAX_DIM + 1, 10), &h, &bs, &n), -EBADMSG);
	size_t len = make(buf, XPORT_CODEC_H264, 1, 4, 4, 10);
	buf[0] = 2; /* version */
	assert_int_equal(xport_coded_parse(buf, len, &h, &bs, &n), -EBADMSG);
	len = make(buf, XPORT_CODEC_H264, 1, 4, 4, 10);
	buf[3] = 1; /* reserved */
	assert_int_equal(xport_coded_parse(buf, len, &h, &bs, &n), -EBADMSG);
}

static void test_raw_pixels(void **state)
{
	(void)state;
	enum { W = 5, H = 3, STRIDE = 32 };
	uint32_t xrgb[STRIDE / 4 * H], back[STRIDE / 4 * H];
	for (unsigned i = 0; i < STRIDE / 4 * H; i++) {
		xrgb[i] = 0xff000000u | (i * 0x010203u + 0x0a0b0c);
	}
	uint8_t rgb[W * H * 3];
	xport_raw_from_xrgb(rgb, xrgb, STRIDE, W, H);
	assert_int_equal(rgb[0], 0x0a);
	assert_int_equal(rgb[1], 0x0b);
	assert_int_equal(rgb[2], 0x0c);
	memset(back, 0, sizeof(back));
	xport_raw_to_xrgb(back, STRIDE, rgb, W, H);
	for (unsigned y = 0; y < H; y++) {
		for (unsigned x = 0; x < W; x++) {
			assert_int_equal(back[y * STRIDE / 4 + x], xrgb[y * STRIDE / 4 + x]);
		}
		/* The stride's padding is not touched. */
		assert_int_equal(back[y * STRIDE / 4 + W], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_raw_pixels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
