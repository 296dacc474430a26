/* SPDX-License-Identifier: MIT */
#ifndef XPORT_BYTES_H
#define XPORT_BYTES_H

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

#endif
