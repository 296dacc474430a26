/* SPDX-License-Identifier: MIT */
#ifndef XPORT_BYTES_H
#define XPORT_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fixed-width field access at any alignment. The control protocol is
 * little-endian (like vtest); RTP, RTCP and the media payload are network
 * byte order (big-endian), as their RFCs and RTP tools expect. */

static inline uint16_t xport_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t xport_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t xport_get_le64(const uint8_t *p)
{
	return (uint64_t)xport_get_le32(p) | (uint64_t)xport_get_le32(p + 4) << 32;
}

static inline void xport_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void xport_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void xport_put_le64(uint8_t *p, uint64_t v)
{
	xport_put_le32(p, (uint32_t)v);
	xport_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t xport_get_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t xport_get_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | (uint32_t)p[2];
}

static inline uint32_t xport_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t xport_get_be64(const uint8_t *p)
{
	return (uint64_t)xport_get_be32(p) << 32 | (uint64_t)xport_get_be32(p + 4);
}

static inline void xport_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The low 24 bits of v. */
static inline void xport_put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void xport_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void xport_put_be64(uint8_t *p, uint64_t v)
{
	xport_put_be32(p, (uint32_t)(v >> 32));
	xport_put_be32(p + 4, (uint32_t)v);
}

/* Serial-number comparison (RFC 1982) for 32-bit frame ids and 16-bit RTP
 * sequence numbers, so counters may wrap. */
static inline int32_t xport_serial32_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static inline int16_t xport_serial16_diff(uint16_t a, uint16_t b)
{
	return (int16_t)(uint16_t)(a - b);
}

/* Unsigned LEB128 (7 bits a byte, low first, bit 7: more) of at most 3
 * bytes, so up to XPORT_LEB128_MAX: reads one value at p[*i..len),
 * advancing *i; returns false if it runs past len or 3 bytes. */
#define XPORT_LEB128_MAX 0x1fffffu
static inline bool xport_get_leb128(const uint8_t *p, size_t len, size_t *i, uint32_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 21; shift += 7) {
		if (*i == len) {
			return false;
		}
		uint8_t b = p[(*i)++];
		*v |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			return true;
		}
	}
	return false;
}

/* Writes v (at most XPORT_LEB128_MAX) as LEB128; returns its bytes, 1..3. */
static inline size_t xport_put_leb128(uint8_t *p, uint32_t v)
{
	size_t i = 0;
	do {
		p[i++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return i;
}

#endif
