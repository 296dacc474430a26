/* SPDX-License-Identifier: MIT */
#include "crc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define HAVE_X86_CRC 1
#endif

#define POLY 0x82f63b78u

/* Slicing-by-8 tables for the software path. */
static uint32_t sw_table[8][256];

/* The hardware path runs three independent streams over three adjacent
 * blocks (the instruction has a latency of 3 and a throughput of 1), then
 * joins them: the CRC state is linear, so the state after A||B is the state
 * after A "shifted" over |B| zero bytes, xor the CRC of B from a zero state.
 * These tables apply that shift for the two block sizes used. */
#define LONG_BLOCK 8192
#define SHORT_BLOCK 256
static uint32_t long_shift[4][256];
static uint32_t short_shift[4][256];

static bool hw_available;

/* GF(2) 32x32 matrix times vector: xor of the columns selected by vec. */
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;
	for (unsigned i = 0; vec; i++, vec >>= 1) {
		if (vec & 1) {
			sum ^= mat[i];
		}
	}
	return sum;
}

static void gf2_square(uint32_t *dst, const uint32_t *mat)
{
	for (unsigned i = 0; i < 32; i++) {
		dst[i] = gf2_times(mat, mat[i]);
	}
}

/* Builds the table that advances a CRC state over `len` zero bytes
 * (len a power of two). */
static void build_shift_table(uint32_t table[4][256], size_t len)
{
	uint32_t a[32], b[32];
	/* Operator for one zero bit of the reflected CRC register. */
	a[0] = POLY;
	for (unsigned i = 1; i < 32; i++) {
		a[i] = 1u << (i - 1);
	}
	/* Square up to one byte (8 bits), then once per doubling of len. */
	unsigned squarings = 3;
	for (size_t l = len; l > 1; l >>= 1) {
		squarings++;
	}
	uint32_t *cur = a, *next = b;
	for (unsigned i = 0; i < squarings; i++) {
		gf2_square(next, cur);
		uint32_t *t = cur;
		cur = next;
		next = t;
	}
	for (unsigned k = 0; k < 4; k++) {
		for (uint32_t v = 0; v < 256; v++) {
			table[k][v] = gf2_times(cur, v << (8 * k));
		}
	}
}

static uint32_t shift(uint32_t table[4][256], uint32_t crc)
{
	return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^
		table[2][(crc >> 16) & 0xff] ^ table[3][crc >> 24];
}

/* Tables are built before main() so that concurrent first calls cannot race. */
__attribute__((constructor)) static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (unsigned k = 0; k < 8; k++) {
			c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
		}
		sw_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++) {
		for (unsigned k = 1; k < 8; k++) {
			uint32_t prev = sw_table[k - 1][i];
			sw_table[k][i] = (prev >> 8) ^ sw_table[0][prev & 0xff];
		}
	}
	build_shift_table(long_shift, LONG_BLOCK);
	build_shift_table(short_shift, SHORT_BLOCK);
#ifdef HAVE_X86_CRC
	__builtin_cpu_init();
	hw_available = __builtin_cpu_supports("sse4.2");
#endif
}

uint32_t xport_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	crc = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ sw_table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		/* The tables assume little-endian words. */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		w = __builtin_bswap64(w);
#endif
		uint32_t lo = (uint32_t)w ^ crc;
		uint32_t hi = (uint32_t)(w >> 32);
		crc = sw_table[7][lo & 0xff] ^ sw_table[6][(lo >> 8) & 0xff] ^
			sw_table[5][(lo >> 16) & 0xff] ^ sw_table[4][lo >> 24] ^
			sw_table[3][hi & 0xff] ^ sw_table[2][(hi >> 8) & 0xff] ^
			sw_table[1][(hi >> 16) & 0xff] ^ sw_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--) {
		crc = (crc >> 8) ^ sw_table[0][(crc ^ *p++) & 0xff];
	}
	return ~crc;
}

bool xport_crc32c_hw_available(void)
{
	return hw_available;
}

#ifdef HAVE_X86_CRC
__attribute__((target("sse4.2")))
static uint64_t hw_blocks(uint64_t crc0, const uint8_t **pp, size_t *lenp, size_t block,
	uint32_t table[4][256])
{
	const uint8_t *p = *pp;
	size_t len = *lenp;
	while (len >= 3 * block) {
		uint64_t crc1 = 0, crc2 = 0;
		const uint8_t *end = p + block;
		do {
			uint64_t a, b, c;
			memcpy(&a, p, 8);
			memcpy(&b, p + block, 8);
			memcpy(&c, p + 2 * block, 8);
			crc0 = _mm_crc32_u64(crc0, a);
			crc1 = _mm_crc32_u64(crc1, b);
			crc2 = _mm_crc32_u64(crc2, c);
			p += 8;
		} while (p < end);
		crc0 = shift(table, (uint32_t)crc0) ^ crc1;
		crc0 = shift(table, (uint32_t)crc0) ^ crc2;
		p += 2 * block;
		len -= 3 * block;
	}
	*pp = p;
	*lenp = len;
	return crc0;
}

__attribute__((target("sse4.2")))
uint32_t xport_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	c = hw_blocks(c, &p, &len, LONG_BLOCK, long_shift);
	c = hw_blocks(c, &p, &len, SHORT_BLOCK, short_shift);
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	while (len--) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
	}
	return ~(uint32_t)c;
}
#else
uint32_t xport_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	return xport_crc32c_sw(crc, buf, len);
}
#endif

uint32_t xport_crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (hw_available) {
		return xport_crc32c_hw(crc, buf, len);
	}
	return xport_crc32c_sw(crc, buf, len);
}

uint32_t xport_crc32c_rows(const void *data, size_t stride, size_t row_bytes, size_t rows)
{
	const uint8_t *p = data;
	uint32_t crc = 0;
	if (stride == row_bytes) {
		/* Contiguous: one pass lets the three-stream path run on long blocks. */
		return xport_crc32c(crc, p, row_bytes * rows);
	}
	for (size_t y = 0; y < rows; y++) {
		crc = xport_crc32c(crc, p + y * stride, row_bytes);
	}
	return crc;
}

/* ---- combining row CRCs ----
 * CRCs are linear: for this CRC (initial value and final xor all ones),
 * crc(A||B) = (crc(A) * x^(8|B|) mod P) xor crc(B). Polynomials here are
 * reflected 32-bit words: bit 31 is x^0, bit 0 is x^31. */

/* a * b mod P */
static uint32_t gf2_mulmod(uint32_t a, uint32_t b)
{
	uint32_t p = 0;
	for (uint32_t m = 1u << 31; m; m >>= 1) {
		if (a & m) {
			p ^= b;
		}
		b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;
	}
	return p;
}

/* x^(8 * len) mod P, by squaring: x^(2^k) for each set bit of 8 * len. */
static uint32_t x_pow_8n(uint64_t len)
{
	uint32_t result = 1u << 31;   /* x^0 */
	uint32_t sq = 1u << 30;       /* x^1, then x^2, x^4, ... */
	for (uint64_t n = len * 8; n; n >>= 1) {
		if (n & 1) {
			result = gf2_mulmod(sq, result);
		}
		sq = gf2_mulmod(sq, sq);
	}
	return result;
}

void xport_crc32c_shift_init(struct xport_crc32c_shift *s, uint64_t len)
{
	uint32_t op = x_pow_8n(len);
	for (unsigned k = 0; k < 4; k++) {
		for (unsigned v = 0; v < 256; v++) {
			s->t[k][v] = gf2_mulmod(op, (uint32_t)v << (8 * k));
		}
	}
}

uint32_t xport_crc32c_combine(const struct xport_crc32c_shift *s, uint32_t crc_a, uint32_t crc_b)
{
	return s->t[0][crc_a & 0xff] ^ s->t[1][(crc_a >> 8) & 0xff] ^ s->t[2][(crc_a >> 16) & 0xff] ^
		s->t[3][crc_a >> 24] ^ crc_b;
}

void xport_crc32c_row_crcs(const void *data, size_t stride, size_t row_bytes, uint32_t y0,
	uint32_t y1, uint32_t *out)
{
	const uint8_t *p = data;
	for (uint32_t y = y0; y < y1; y++) {
		out[y] = xport_crc32c(0, p + (size_t)y * stride, row_bytes);
	}
}

uint32_t xport_crc32c_fold_rows(const struct xport_crc32c_shift *s, const uint32_t *rows, size_t n)
{
	if (n == 0) {
		return 0;
	}
	uint32_t crc = rows[0];
	for (size_t y = 1; y < n; y++) {
		crc = xport_crc32c_combine(s, crc, rows[y]);
	}
	return crc;
}
