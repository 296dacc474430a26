/* SPDX-License-Identifier: MIT */
#ifndef XPORT_CODED_H
#define XPORT_CODED_H

/* Frames of the raw, h264 and jpeg codecs on a control session (tiles.h
 * has the tiles codec's). One such frame is the payload of one media frame
 * (media.h), so it gets what every frame gets there: reassembly, NACK
 * retransmission, whole frames only. Header, big-endian:
 *
 *   0  1  version   1
 *   1  1  codec     XPORT_CODEC_RAW, _H264 or _JPEG (control-proto.h)
 *   2  1  flags     XPORT_CODED_KEY: decodable alone
 *                   XPORT_CODED_REFRESH: repeats content (join, key request)
 *   3  1  reserved  0
 *   4  2  width     frame size in pixels, 1..XPORT_CODED_MAX_DIM
 *   6  2  height
 *   8  4  crc       CRC32C of the header's other 12 bytes (0..7, 12..15)
 *                   and the bitstream
 *   12 4  reserved  0
 *   16 .. bitstream, at least 1 byte:
 *         raw:  packed RGB, width * 3 bytes per row, rows top down (the
 *               sampling of RFC 4175's RGB), every frame a key frame;
 *         h264: one access unit, Annex B byte stream, SPS and PPS in band
 *               before every IDR; key = IDR;
 *         jpeg: one baseline JFIF image; every frame a key frame.
 *
 * The CRC covers the frame and what the decoder is fed: a frame damaged on the way
 * (without SRTP nothing else notices a flipped payload bit) is dropped
 * before it reaches a decoder, so a lossy codec never shows a corrupted
 * picture. For raw it is also the check of the presented pixels. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XPORT_CODED_HDR_SIZE 16
#define XPORT_CODED_VERSION 1
#define XPORT_CODED_KEY 0x01
#define XPORT_CODED_REFRESH 0x02
#define XPORT_CODED_MAX_DIM 16384

struct xport_coded_header {
	uint8_t codec;
	uint8_t flags;
	uint16_t width, height;
	uint32_t crc;
};

/* Parses and checks the header of a frame payload of len bytes: version,
 * known codec and flags, size in range, a bitstream of at least one byte
 * (raw: exactly width * height * 3), and its CRC. Returns 0, -EBADMSG
 * (malformed) or -EILSEQ (the CRC does not match). */
int xport_coded_parse(const uint8_t *buf, size_t len, struct xport_coded_header *h,
	const uint8_t **bitstream, size_t *bitstream_len);

/* Writes the header for `bitstream_len` bytes that follow it in buf
 * (computes the CRC over them). */
void xport_coded_write(uint8_t *buf, uint8_t codec, uint8_t flags, uint16_t width,
	uint16_t height, size_t bitstream_len);

#endif
