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

#endif
