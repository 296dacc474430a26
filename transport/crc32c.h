/* SPDX-License-Identifier: MIT */
#ifndef XPORT_CRC32C_H
#define XPORT_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC-32C (Castagnoli; reflected polynomial 0x82F63B78, initial value and
 * final xor 0xFFFFFFFF), the check value of every media frame.
 *
 * Chaining: pass 0 to start and the previous result to continue, so
 * xport_crc32c(xport_crc32c(0, a, n), b, m) == CRC of a||b.
 * xport_crc32c(0, "123456789", 9) == 0xE3069283. */

/* Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at
 * run time), the table implementation otherwise. */
uint32_t xport_crc32c(uint32_t crc, const void *buf, size_t len);

/* Table (slicing-by-8) implementation, on every CPU. */
uint32_t xport_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* Does this CPU have the crc32 instruction? */
bool xport_crc32c_hw_available(void);
/* Hardware implementation; only valid when xport_crc32c_hw_available(). */
uint32_t xport_crc32c_hw(uint32_t crc, const void *buf, size_t len);

/* CRC of `rows` rows of `row_bytes` bytes each, `stride` bytes apart: the
 * frame CRC of an x8r8g8b8 image is
 * xport_crc32c_rows(data, stride, width * 4, height). */
uint32_t xport_crc32c_rows(const void *data, size_t stride, size_t row_bytes, size_t rows);

/* Combining CRCs: for an image that changes by damage, the frame CRC from
 * each row's own CRC (rows not damaged keep theirs), so the check costs the
 * damaged rows plus one table step per row, not a pass over the image.
 * crc(A||B) = xport_crc32c_combine(shift for |B|, crc(A), crc(B)). */
struct xport_crc32c_shift {
	uint32_t t[4][256]; /* multiplication by x^(8 len) mod P, a byte at a time */
};
void xport_crc32c_shift_init(struct xport_crc32c_shift *s, uint64_t len);
uint32_t xport_crc32c_combine(const struct xport_crc32c_shift *s, uint32_t crc_a, uint32_t crc_b);
/* out[y] = xport_crc32c(0, row y, row_bytes) for y in [y0, y1). */
void xport_crc32c_row_crcs(const void *data, size_t stride, size_t row_bytes, uint32_t y0,
	uint32_t y1, uint32_t *out);
/* The CRC of n rows of one length (s made for that length) from their CRCs:
 * equal to xport_crc32c_rows() over the same rows. */
uint32_t xport_crc32c_fold_rows(const struct xport_crc32c_shift *s, const uint32_t *rows, size_t n);

#endif
