/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/crc32c.h"

/* Check values of CRC-32C: the catalogue's "123456789" and the iSCSI test
 * patterns of RFC 3720 B.4. */
static void test_vectors(void **state)
{
	uint8_t buf[32];
	const char *check = "123456789";
	assert_int_equal(xport_crc32c_sw(0, check, 9), 0xe3069283u);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(xport_crc32c_sw(0, buf, 32), 0x8a9136aau);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(xport_crc32c_sw(0, buf, 32), 0x62a8ab43u);
	for (unsigned i = 0; i < 32; i++) {
		buf[i] = (uint8_t)i;
	}
	assert_int_equal(xport_crc32c_sw(0, buf, 32), 0x46dd794eu);
	for (unsigned i = 0; i < 32; i++) {
		buf[i] = (uint8_t)(31 - i);
	}
	assert_int_equal(xport_crc32c_sw(0, buf, 32), 0x113fdb5cu);
	assert_int_equal(xport_crc32c_sw(0, buf, 0), 0);
	/* The dispatching entry point agrees. */
	assert_int_equal(xport_crc32c(0, check, 9), 0xe3069283u);
	if (xport_crc32c_hw_available()) {
		assert_int_equal(xport_crc32c_hw(0, check, 9), 0xe3069283u);
		assert_int_equal(xport_crc32c_hw(0, buf, 32), 0x113fdb5cu);
	}
}

static uint32_t rng = 0x12345678;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Both implementations agree on random data of every length class and
 * alignment, including the three-stream long and short blocks. */
static void test_hw_matches_sw(void **state)
{
	if (!xport_crc32c_hw_available()) {
		skip();
	}
	size_t max = 3 * 8192 * 3 + 1000;
	uint8_t *buf = malloc(max + 16);
	assert_non_null(buf);
	for (size_t i = 0; i < max + 16; i++) {
		buf[i] = (uint8_t)next_rand();
	}
	static const size_t lens[] = { 0, 1, 7, 8, 9, 15, 16, 255, 256, 767, 768, 769, 1000, 8191,
		8192, 24575, 24576, 24577, 50000, 3 * 8192 * 3 + 1000 };
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		for (size_t align = 0; align < 16; align++) {
			uint32_t seed = next_rand();
			assert_int_equal(xport_crc32c_hw(seed, buf + align, lens[l]),
				xport_crc32c_sw(seed, buf + align, lens[l]));
		}
	}
	for (unsigned i = 0; i < 2000; i++) {
		size_t len = next_rand() % max;
		size_t align = next_rand() % 16;
		assert_int_equal(xport_crc32c_hw(0, buf + align, len), xport_crc32c_sw(0, buf + align, len));
	}
	free(buf);
}

static void test_chaining(void **state)
{
	uint8_t buf[100000];
	for (size_t i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)next_rand();
	}
	uint32_t whole = xport_crc32c(0, buf, sizeof(buf));
	for (unsigned i = 0; i < 200; i++) {
		size_t cut = next_rand() % sizeof(buf);
		uint32_t a = xport_crc32c(0, buf, cut);
		assert_int_equal(xport_crc32c(a, buf + cut, sizeof(buf) - cut), whole);
		uint32_t b = xport_crc32c_sw(0, buf, cut);
		assert_int_equal(xport_crc32c_sw(b, buf + cut, sizeof(buf) - cut), whole);
	}
}

/* Rows with padding between them give the CRC of the rows alone. */
static void test_rows(void **state)
{
	enum { W = 37, H = 23, STRIDE = 40 * 4 };
	uint8_t img[STRIDE * H], packed[W * 4 * H];
	for (size_t i = 0; i < sizeof(img); i++) {
		img[i] = (uint8_t)next_rand();
	}
	for (size_t y = 0; y < H; y++) {
		memcpy(packed + y * W * 4, img + y * STRIDE, W * 4);
	}
	assert_int_equal(xport_crc32c_rows(img, STRIDE, W * 4, H), xport_crc32c(0, packed, sizeof(packed)));
	assert_int_equal(xport_crc32c_rows(packed, W * 4, W * 4, H), xport_crc32c(0, packed, sizeof(packed)));
	/* A change in the padding does not matter; one in a pixel does. */
	uint32_t before = xport_crc32c_rows(img, STRIDE, W * 4, H);
	img[W * 4 + 1] ^= 1;
	assert_int_equal(xport_crc32c_rows(img, STRIDE, W * 4, H), before);
	img[STRIDE + 3] ^= 1;
	assert_int_not_equal(xport_crc32c_rows(img, STRIDE, W * 4, H), before);
}

/* Row CRCs combined equal one pass over the rows, for any row length
 * (odd ones too) and after a damaged row is recomputed. */
static void test_combine(void **state)
{
	(void)state;
	static uint8_t img[37 * 301];
	uint32_t rows[37];
	uint32_t seed = 7;
	for (size_t i = 0; i < sizeof(img); i++) {
		seed = seed * 1103515245u + 12345u;
		img[i] = (uint8_t)(seed >> 16);
	}
	const size_t lens[] = { 1, 3, 4, 64, 255, 300 };
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t len = lens[li];
		struct xport_crc32c_shift sh;
		xport_crc32c_shift_init(&sh, len);
		xport_crc32c_row_crcs(img, 301, len, 0, 37, rows);
		assert_int_equal(xport_crc32c_fold_rows(&sh, rows, 37), xport_crc32c_rows(img, 301, len, 37));
		assert_int_equal(xport_crc32c_fold_rows(&sh, rows, 1), xport_crc32c(0, img, len));
		/* one row changes: only it is read again */
		img[20 * 301 + len / 2] ^= 0x5a;
		xport_crc32c_row_crcs(img, 301, len, 20, 21, rows);
		assert_int_equal(xport_crc32c_fold_rows(&sh, rows, 37), xport_crc32c_rows(img, 301, len, 37));
	}
	/* a || b for unequal parts */
	struct xport_crc32c_shift sh;
	xport_crc32c_shift_init(&sh, 9);
	assert_int_equal(xport_crc32c_combine(&sh, xport_crc32c(0, "abc", 3), xport_crc32c(0, "123456789", 9)),
		xport_crc32c(0, "abc123456789", 12));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_hw_matches_sw),
		cmocka_unit_test(test_chaining),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_combine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
