/* SPDX-License-Identifier: MIT */
#ifndef XPORT_TILES_H
#define XPORT_TILES_H

/* The "tiles" codec: lossless, damage-driven. A frame payload is a header
 * and the frame's changed 64x64 tiles (clipped at the right and bottom
 * edges), each LZ4-compressed or raw, plus the CRC32C of the whole frame
 * after applying them, so the receiver proves what it shows is bit-exact.
 *
 * Frame header, big-endian, XPORT_TILES_HDR_SIZE bytes:
 *   0  1  version     1
 *   1  1  flags       XPORT_TILES_KEY: every tile, applies to any state
 *                     XPORT_TILES_REFRESH: repeats content (join, key request)
 *                     rather than new content: not a latency sample
 *                     XPORT_TILES_PACKED: a delta whose records follow as one
 *                     zstd frame (below); never with KEY
 *                     XPORT_TILES_STREAM: (packed) a chunk of the zone's
 *                     delta stream (below)
 *                     XPORT_TILES_CONT: (stream) continues the stream
 *   2  1  tile_log2   tile edge = 1 << tile_log2, 4..7 (64 by default)
 *   3  1  reserved    0
 *   4  4  base_id     delta frames: the frame id whose image the tiles apply
 *                     to; key frames: 0
 *   8  2  width       frame size in pixels, 1..XPORT_TILES_MAX_DIM
 *   10 2  height
 *   12 4  n_tiles     tile records that follow
 *   16 4  crc         CRC32C of the whole frame after applying (crc32c.h:
 *                     x8r8g8b8 pixels row by row, width*4 bytes per row)
 *
 * Tile record, XPORT_TILES_REC_SIZE bytes then `length` data bytes:
 *   0  2  column      tile column, < ceil(width / tile)
 *   2  2  row         tile row, < ceil(height / tile)
 *   4  1  encoding    0: raw, 1: LZ4 block, 2: XOR, 3: XOR of a rectangle
 *                     (XOR and XOR rectangle: packed frames only)
 *   5  1  x           XOR rectangle: its left column in the tile; else 0
 *   6  1  y           XOR rectangle: its top row in the tile; else 0
 *   7  1  rect_w      XOR rectangle: its width, 1..tile width; else 0
 *   8  4  length      data bytes (XOR rectangle: rect_w * 4 * its height)
 *
 * Tile data decodes to w*h*4 bytes: the tile's rows top to bottom, each w
 * pixels of 4 bytes B, G, R, X (a little-endian x8r8g8b8 word), with w and h
 * the tile's size clipped to the frame. Records are in strictly increasing
 * (row, column) order, so no tile repeats; a key frame has every tile. The
 * payload ends exactly after the last record.
 *
 * Packed deltas (XPORT_TILES_PACKED, protocol version 4; XOR rectangles
 * since 5): the n_tiles record headers, then the data of each in the same
 * order, compressed together as one zstd frame (magicless,
 * ZSTD_f_zstd1_magicless) that fills the payload after the header and
 * decompresses to exactly that. Inside, a record's encoding is raw, XOR
 * (w*h*4 bytes XORed onto the tile of the base frame, so pixels that did not
 * change are zero bytes, which the compressor all but removes) or XOR
 * rectangle: the XOR of just the part of the tile that changed (a needle's
 * few pixels of a 64x64 tile), which keeps the bytes zstd must model, and
 * the window the delta stream looks back over, small. One zstd frame over every changed tile shares its window across
 * them, and with the headers apart, identical tiles follow each other.
 *
 * Small packed deltas are chunks of one zstd stream (XPORT_TILES_STREAM): a
 * zstd frame that spans consecutive stream deltas, each chunk ending at a
 * flush, so each decodes as soon as it arrives, and each can refer to what
 * the deltas before it held (a needle sweeping, digits changing: half the
 * bytes). A chunk without XPORT_TILES_CONT starts a new zstd frame (the
 * receiver starts a new decoder); with it, the receiver must have decoded
 * every chunk since that start, as the server knows it has (it starts a new
 * stream for any receiver that joined, fell behind or asked for a key frame
 * since). A receiver that applied a key frame, dropped a frame or failed a
 * chunk since has no stream, and a CONT chunk is then a bad frame for it.
 * The stream's window is at most 1 << XPORT_TILES_STREAM_WINDOW_LOG bytes. */

#include <pixman.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XPORT_TILES_VERSION 1
#define XPORT_TILES_HDR_SIZE 20
/* The compact header of packed deltas (protocol version 5), big-endian:
 *   0  1  version     2
 *   1  1  flags       as above; XPORT_TILES_PACKED set
 *   2  1  tile_log2
 *   3  4  base_id
 *   7  4  crc
 *   11 .. n_tiles     LEB128, 1..3 bytes (>= 1)
 * The frame's size is its base frame's (which the receiver holds): 12
 * bytes for a small delta instead of 20. */
#define XPORT_TILES_VERSION_COMPACT 2
#define XPORT_TILES_HDR_COMPACT_FIXED 11
#define XPORT_TILES_REC_SIZE 12
#define XPORT_TILES_KEY 0x01
#define XPORT_TILES_REFRESH 0x02
#define XPORT_TILES_PACKED 0x04
#define XPORT_TILES_STREAM 0x08
#define XPORT_TILES_CONT 0x10
#define XPORT_TILES_STREAM_WINDOW_LOG 20
#define XPORT_TILES_LOG2_DEFAULT 6
#define XPORT_TILES_LOG2_MIN 4
#define XPORT_TILES_LOG2_MAX 7
#define XPORT_TILES_MAX_DIM 16384

enum xport_tile_encoding {
	XPORT_TILE_RAW = 0,
	XPORT_TILE_LZ4 = 1,
	XPORT_TILE_XOR = 2,
	XPORT_TILE_XOR_RECT = 3,
};

struct xport_tiles_header {
	uint8_t flags;
	uint8_t tile_log2;
	uint8_t hdr_size; /* XPORT_TILES_HDR_SIZE, or the compact header's */
	uint32_t base_id;
	uint32_t width, height; /* 0 from a compact header: the base frame's */
	uint32_t n_tiles;
	uint32_t crc;
};

/* --- encoder (server) --- */

struct xport_tile_encoder;

/* For frames of width x height (x8r8g8b8) in tiles of 1 << tile_log2. */
struct xport_tile_encoder *xport_tile_encoder_create(uint32_t width, uint32_t height,
	unsigned tile_log2);
/* Accepts NULL. */
void xport_tile_encoder_destroy(struct xport_tile_encoder *enc);

/* Encodes the tiles of image that intersect damage, changed or not (every
 * tile when flags has XPORT_TILES_KEY; damage may then be NULL), into a new
 * buffer, which
 * the caller frees. The work is proportional to the damaged tiles. crc is
 * written as given (the caller computes it once for all clients).
 * Returns 0 or -ENOMEM / -EINVAL (image of the wrong size or format). */
int xport_tile_encode(struct xport_tile_encoder *enc, pixman_image_t *image,
	const pixman_region32_t *damage, uint8_t flags, uint32_t base_id, uint32_t crc,
	uint8_t **out, size_t *out_len);

/* --- encoding against a reference (server) ---
 *
 * Guests report more damage than they change: a page flip damages the whole
 * screen when only a cursor moved. So the encoder keeps a reference, a copy
 * of the image its receivers hold (the frame emitted last), and a delta
 * carries only the damaged tiles whose pixels differ from it. Per frame:
 *
 *   n = xport_tile_encoder_diff(enc, image, damage);   once, before encoding
 *   xport_tile_encode_diff(enc, ...);                  the delta, if wanted
 *   xport_tile_encode(enc, image, NULL, KEY, ...);     a key frame, if wanted
 *
 * The reference is allocated with the encoder (zero-filled, mapped lazily),
 * so frames allocate nothing for it. */

/* Compares every tile of image under damage with the reference, row by row
 * up to the first difference, and copies the tiles that differ into it: the
 * reference then equals image wherever damage was. damage NULL means every
 * tile, which makes the whole reference equal image: pass NULL for every
 * frame that is also sent as a key frame, since the reference is only in
 * step with the receivers from a key frame on (it starts all zero, and frames
 * nobody received are never diffed). Remembers the differing tiles for
 * xport_tile_encode_diff() and, with xor, also what changed in them (new
 * XOR old) for xport_tile_encode_packed(). Returns how many tiles differ (0
 * when damage changed nothing), or -EINVAL (image of the wrong size or
 * format). */
int xport_tile_encoder_diff(struct xport_tile_encoder *enc, pixman_image_t *image,
	const pixman_region32_t *damage, bool xor);

/* Encodes, like xport_tile_encode() without XPORT_TILES_KEY, a delta of
 * exactly the tiles the last xport_tile_encoder_diff() found (possibly none),
 * taking their pixels from the reference. The caller frees *out. Returns 0,
 * -ENOMEM (the reference is in step all the same), or -EINVAL for a KEY
 * flag. */
int xport_tile_encode_diff(struct xport_tile_encoder *enc, uint8_t flags, uint32_t base_id,
	uint32_t crc, uint8_t **out, size_t *out_len);

/* The same delta for protocol version 5 receivers: the tiles the last
 * xport_tile_encoder_diff(..., xor = true) found, packed (XPORT_TILES_PACKED:
 * XOR records compressed together by zstd) when the changes are simple
 * enough for zstd to be quick (runs of equal pixels, tiles.c), else as
 * xport_tile_encode_diff() makes it (LZ4 tiles: video-like content). No
 * changed tile: an unpacked empty delta. Small packed deltas are stream
 * chunks (XPORT_TILES_STREAM); flags may hold XPORT_TILES_CONT: every
 * receiver of this delta decoded the stream chunks since the last start,
 * so the chunk may continue the stream (else it starts one). Which it made
 * is in the payload's flags. Returns 0, -ENOMEM, or -EINVAL (a KEY flag, or
 * the last diff was without xor). */
int xport_tile_encode_packed(struct xport_tile_encoder *enc, uint8_t flags, uint32_t base_id,
	uint32_t crc, uint8_t **out, size_t *out_len);

/* Upper bound of a payload for width x height: what a receiver must accept. */
size_t xport_tiles_max_payload(uint32_t width, uint32_t height, unsigned tile_log2);

/* --- decoder (client) --- */

/* Parses and checks the frame header, either form. Returns 0 or -EBADMSG. */
int xport_tiles_parse_header(const uint8_t *buf, size_t len, struct xport_tiles_header *h);

struct xport_tile_decoder;

struct xport_tile_decoder *xport_tile_decoder_create(void);
/* Accepts NULL. */
void xport_tile_decoder_destroy(struct xport_tile_decoder *dec);

/* Validates every record of the payload and writes its tiles into dst, which
 * must be x8r8g8b8 of the header's size and, for a delta, hold the base
 * frame (XOR records apply to it), adding each written tile's rectangle
 * to *applied (initialised by the caller). On error dst may be partly
 * written (exactly within *applied). Does not check the CRC (the caller
 * does, over its whole frame). Returns 0, -EBADMSG for a malformed payload,
 * -EINVAL if dst does not match the header. */
int xport_tiles_apply(struct xport_tile_decoder *dec, const uint8_t *buf, size_t len,
	pixman_image_t *dst, pixman_region32_t *applied);

/* The receiver dropped a frame (lost, unusable, or failed its CRC): its
 * delta stream is broken until the next chunk that starts one. */
void xport_tile_decoder_break(struct xport_tile_decoder *dec);

/* rows[y] = CRC32C of row y of image (width * 4 bytes) for every row that
 * region touches (clipped to the image), each row once: what the frame CRC
 * is folded from (crc32c.h xport_crc32c_fold_rows). */
void xport_tiles_region_row_crcs(pixman_image_t *image, const pixman_region32_t *region,
	uint32_t *rows);

/* CRC32C of a whole x8r8g8b8 image, as the frame header's crc. */
uint32_t xport_tiles_image_crc(pixman_image_t *image);

#endif
