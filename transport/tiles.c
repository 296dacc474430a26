/* SPDX-License-Identifier: MIT */
#include "tiles.h"

#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
/* ZSTD_c_format / ZSTD_d_format (magicless frames): "experimental" only in
 * name, handled by the shared library since zstd 1.3.7. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "bytes.h"
#include "crc32c.h"

/* Tile pixels travel as little-endian x8r8g8b8 words, which is the memory
 * layout of pixman's x8r8g8b8 on this host; a big-endian port would swap. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "tile pixels assume a little-endian host");
/* An XOR rectangle's x, y and width are one byte each. */
_Static_assert(XPORT_TILES_LOG2_MAX <= 7, "tile edges up to 128");

struct xport_tile_encoder {
	uint32_t width, height;
	unsigned log2, tile;
	uint32_t cols, rows;
	uint8_t *marked; /* per tile: already in list */
	uint32_t *list;  /* damaged tile indices (row * cols + col) */
	uint8_t *scratch;
	void *lz4_state;
	/* The image the receivers hold (xport_tile_encoder_diff()), tile by
	 * tile: tile idx at idx * tile_bytes, its rows (clipped width) packed,
	 * which is exactly the layout a tile is compressed from. And the tiles
	 * the last diff found different. */
	uint8_t *ref;
	size_t tile_bytes;
	uint32_t *changed;
	size_t n_changed;
	/* Packed deltas: the last diff's XOR records, ready to compress (valid
	 * when the diff was asked for them), and the compressor. */
	uint8_t *xrec;    /* record headers at the start, data at xdata */
	uint8_t *xdata;
	size_t xrec_len;  /* data bytes */
	size_t xrec_runs;
	bool xrec_valid;
	bool xrec_moved; /* headers moved before the data (packed once) */
	ZSTD_CCtx *zc;   /* one-shot packed deltas */
	ZSTD_CCtx *zs;   /* the delta stream */
	bool stream_open; /* zs holds a stream the receivers can continue */
};

/* How a delta for version 4 receivers is made. The records' headers come
 * first and their data after them, in one run: identical tiles (a flat area
 * that changed colour) then follow each other, which zstd turns into one
 * match (a frame of bars: 11.8 KB interleaved, 1.9 KB so at level 1).
 * Whether and how hard to pack goes by the runs of equal pixels
 * in its XOR's rows, counting only rows that differ from the row above (a
 * repeated row is one long match for zstd): zero runs are what did not
 * change, uniform runs a flat area that changed colour. zstd's cost follows
 * those runs, not the bytes:
 * - up to PACKED_RUNS_STRONG runs in up to PACKED_STRONG_BYTES of records
 *   (a needle, a cursor, digits): level 9, which finds the repeats a row
 *   apart: a 16x16 square moved across two tiles packs into 63 bytes (142
 *   at level 1) in ~25 us; as chunks of the zone's delta stream (tiles.h),
 *   where the frames before are the dictionary: 34 instead of 71 bytes a
 *   frame for a square moving by a few pixels (test-tiles);
 * - up to PACKED_RUNS_MAX: level 3 (every bar of a 1920x720 frame changing
 *   colour, as `make bench` vnc's full-frame does: 5.9 MB of records into
 *   4.5 KB on average in 1-2 ms, where LZ4 tiles take ~52 KB and level 1
 *   6 KB);
 * - more (video-like content, every pixel new): LZ4 tiles, unpacked: on
 *   such data LZ4 is 3x faster than zstd's fastest regular level (87 vs
 *   250 us per 64 KiB here) and the frame path is what latency is made of. */
#define PACKED_RUNS_STRONG 2048u
#define PACKED_STRONG_BYTES (256u * 1024)
#define PACKED_RUNS_MAX 8192u
#define PACKED_LEVEL_STRONG 9
#define PACKED_LEVEL 3
#define STREAM_TABLE_LOG 17

static bool format_ok(pixman_image_t *image)
{
	pixman_format_code_t f = pixman_image_get_format(image);
	return f == PIXMAN_x8r8g8b8 || f == PIXMAN_a8r8g8b8;
}

static uint32_t div_up(uint32_t v, unsigned log2)
{
	return (v >> log2) + ((v & ((1u << log2) - 1)) != 0);
}

struct xport_tile_encoder *xport_tile_encoder_create(uint32_t width, uint32_t height,
	unsigned tile_log2)
{
	if (width < 1 || height < 1 || width > XPORT_TILES_MAX_DIM || height > XPORT_TILES_MAX_DIM ||
		tile_log2 < XPORT_TILES_LOG2_MIN || tile_log2 > XPORT_TILES_LOG2_MAX) {
		return NULL;
	}
	struct xport_tile_encoder *enc = calloc(1, sizeof(*enc));
	if (!enc) {
		return NULL;
	}
	enc->width = width;
	enc->height = height;
	enc->log2 = tile_log2;
	enc->tile = 1u << tile_log2;
	enc->cols = div_up(width, tile_log2);
	enc->rows = div_up(height, tile_log2);
	size_t n = (size_t)enc->cols * enc->rows;
	enc->marked = calloc(n, 1);
	enc->list = calloc(n, sizeof(*enc->list));
	enc->scratch = malloc((size_t)enc->tile * enc->tile * 4);
	enc->lz4_state = malloc((size_t)LZ4_sizeofState());
	enc->changed = calloc(n, sizeof(*enc->changed));
	/* calloc of this size maps zero pages lazily: an encoder never diffed
	 * costs no memory for its reference. */
	enc->tile_bytes = (size_t)enc->tile * enc->tile * 4;
	enc->ref = calloc(n, enc->tile_bytes);
	/* Touched only as far as a frame's changed tiles reach. */
	enc->xrec = malloc(n * (XPORT_TILES_REC_SIZE + enc->tile_bytes));
	enc->xdata = enc->xrec ? enc->xrec + n * XPORT_TILES_REC_SIZE : NULL;
	enc->zc = ZSTD_createCCtx();
	enc->zs = ZSTD_createCCtx();
	if (!enc->marked || !enc->list || !enc->scratch || !enc->lz4_state || !enc->changed ||
		!enc->ref || !enc->xrec || !enc->zc ||
		ZSTD_isError(ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_format,
			ZSTD_f_zstd1_magicless)) ||
		ZSTD_isError(ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_checksumFlag, 0)) || !enc->zs ||
		ZSTD_isError(ZSTD_CCtx_setParameter(enc->zs, ZSTD_c_format,
			ZSTD_f_zstd1_magicless)) ||
		ZSTD_isError(ZSTD_CCtx_setParameter(enc->zs, ZSTD_c_checksumFlag, 0)) ||
		ZSTD_isError(ZSTD_CCtx_setParameter(enc->zs, ZSTD_c_compressionLevel,
			PACKED_LEVEL_STRONG)) ||
		ZSTD_isError(ZSTD_CCtx_setParameter(enc->zs, ZSTD_c_windowLog,
			XPORT_TILES_STREAM_WINDOW_LOG)) ||
		/* Level 9's tables for a stream of unknown size are 4-8 MiB,
		 * cleared at every start (a join, a key request): 2^17 entries
		 * each do for chunks of at most PACKED_STRONG_BYTES. */
		ZSTD_isError(ZSTD_CCtx_setParameter(enc->zs, ZSTD_c_hashLog, STREAM_TABLE_LOG)) ||
		ZSTD_isError(ZSTD_CCtx_setParameter(enc->zs, ZSTD_c_chainLog, STREAM_TABLE_LOG))) {
		xport_tile_encoder_destroy(enc);
		return NULL;
	}
	return enc;
}

void xport_tile_encoder_destroy(struct xport_tile_encoder *enc)
{
	if (!enc) {
		return;
	}
	free(enc->marked);
	free(enc->list);
	free(enc->scratch);
	free(enc->lz4_state);
	free(enc->changed);
	free(enc->ref);
	free(enc->xrec);
	ZSTD_freeCCtx(enc->zc);
	ZSTD_freeCCtx(enc->zs);
	free(enc);
}

static size_t tile_raw_bytes(unsigned tile)
{
	return (size_t)tile * tile * 4;
}

static size_t record_bound(unsigned tile)
{
	return XPORT_TILES_REC_SIZE + (size_t)LZ4_COMPRESSBOUND((int)tile_raw_bytes(tile));
}

size_t xport_tiles_max_payload(uint32_t width, uint32_t height, unsigned tile_log2)
{
	if (tile_log2 < XPORT_TILES_LOG2_MIN || tile_log2 > XPORT_TILES_LOG2_MAX) {
		return 0;
	}
	size_t n = (size_t)div_up(width, tile_log2) * div_up(height, tile_log2);
	return XPORT_TILES_HDR_SIZE + n * record_bound(1u << tile_log2);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Collects the tiles under damage, sorted, into enc->list; returns count. */
static size_t collect_damage(struct xport_tile_encoder *enc, const pixman_region32_t *damage)
{
	size_t n = 0;
	int n_rects = 0;
	const pixman_box32_t *r = pixman_region32_rectangles((pixman_region32_t *)damage, &n_rects);
	for (int i = 0; i < n_rects; i++) {
		/* Clip to the frame; damage outside it is ignored. */
		int32_t x1 = r[i].x1 < 0 ? 0 : r[i].x1;
		int32_t y1 = r[i].y1 < 0 ? 0 : r[i].y1;
		int32_t x2 = r[i].x2 > (int32_t)enc->width ? (int32_t)enc->width : r[i].x2;
		int32_t y2 = r[i].y2 > (int32_t)enc->height ? (int32_t)enc->height : r[i].y2;
		if (x1 >= x2 || y1 >= y2) {
			continue;
		}
		uint32_t c0 = (uint32_t)x1 >> enc->log2, c1 = (uint32_t)(x2 - 1) >> enc->log2;
		uint32_t r0 = (uint32_t)y1 >> enc->log2, r1 = (uint32_t)(y2 - 1) >> enc->log2;
		for (uint32_t row = r0; row <= r1; row++) {
			for (uint32_t col = c0; col <= c1; col++) {
				uint32_t idx = row * enc->cols + col;
				if (!enc->marked[idx]) {
					enc->marked[idx] = 1;
					enc->list[n++] = idx;
				}
			}
		}
	}
	qsort(enc->list, n, sizeof(*enc->list), cmp_u32);
	for (size_t i = 0; i < n; i++) {
		enc->marked[enc->list[i]] = 0;
	}
	return n;
}

/* The rectangle of tile idx, clipped to the frame. */
static void tile_rect(const struct xport_tile_encoder *enc, uint32_t idx, uint32_t *x,
	uint32_t *y, uint32_t *w, uint32_t *h)
{
	*x = (idx % enc->cols) << enc->log2;
	*y = (idx / enc->cols) << enc->log2;
	*w = enc->width - *x < enc->tile ? enc->width - *x : enc->tile;
	*h = enc->height - *y < enc->tile ? enc->height - *y : enc->tile;
}

static void put_record(const struct xport_tile_encoder *enc, uint8_t *out, uint32_t idx,
	uint8_t encoding, size_t len)
{
	xport_put_be16(out, (uint16_t)(idx % enc->cols));
	xport_put_be16(out + 2, (uint16_t)(idx / enc->cols));
	out[4] = encoding;
	out[5] = 0;
	xport_put_be16(out + 6, 0);
	xport_put_be32(out + 8, (uint32_t)len);
}

/* Writes the record of tile idx, whose w x h pixels are packed in tile. */
static size_t encode_tile(struct xport_tile_encoder *enc, uint32_t idx, const uint8_t *tile,
	uint8_t *out, size_t cap)
{
	uint32_t x, y, w, h;
	tile_rect(enc, idx, &x, &y, &w, &h);
	size_t raw = (size_t)w * h * 4;
	uint8_t *data = out + XPORT_TILES_REC_SIZE;
	int clen = LZ4_compress_fast_extState(enc->lz4_state, (const char *)tile, (char *)data,
		(int)raw, (int)(cap - XPORT_TILES_REC_SIZE), 1);
	uint8_t encoding = XPORT_TILE_LZ4;
	size_t len = (size_t)clen;
	if (clen <= 0 || len >= raw) {
		/* Incompressible: raw is smaller and cheaper to decode. */
		memcpy(data, tile, raw);
		encoding = XPORT_TILE_RAW;
		len = raw;
	}
	put_record(enc, out, idx, encoding, len);
	return XPORT_TILES_REC_SIZE + len;
}

/* Packs the pixels of tile idx of an image into enc->scratch. */
static const uint8_t *gather_tile(struct xport_tile_encoder *enc, const uint8_t *pixels,
	size_t stride, uint32_t idx)
{
	uint32_t x, y, w, h;
	tile_rect(enc, idx, &x, &y, &w, &h);
	size_t row_bytes = (size_t)w * 4;
	for (uint32_t j = 0; j < h; j++) {
		memcpy(enc->scratch + j * row_bytes, pixels + (size_t)(y + j) * stride + (size_t)x * 4,
			row_bytes);
	}
	return enc->scratch;
}

static void put_header(const struct xport_tile_encoder *enc, uint8_t *buf, uint8_t flags,
	uint32_t base_id, size_t n, uint32_t crc)
{
	buf[0] = XPORT_TILES_VERSION;
	buf[1] = flags;
	buf[2] = (uint8_t)enc->log2;
	buf[3] = 0;
	xport_put_be32(buf + 4, base_id);
	xport_put_be16(buf + 8, (uint16_t)enc->width);
	xport_put_be16(buf + 10, (uint16_t)enc->height);
	xport_put_be32(buf + 12, (uint32_t)n);
	xport_put_be32(buf + 16, crc);
}

/* The compact header of packed deltas (tiles.h): n_tiles as LEB128. */
static size_t compact_header_size(size_t n)
{
	size_t len = XPORT_TILES_HDR_COMPACT_FIXED + 1;
	for (; n > 0x7f; n >>= 7) {
		len++;
	}
	return len;
}

static void put_compact_header(const struct xport_tile_encoder *enc, uint8_t *buf,
	uint8_t flags, uint32_t base_id, size_t n, uint32_t crc)
{
	buf[0] = XPORT_TILES_VERSION_COMPACT;
	buf[1] = flags;
	buf[2] = (uint8_t)enc->log2;
	xport_put_be32(buf + 3, base_id);
	xport_put_be32(buf + 7, crc);
	xport_put_leb128(buf + XPORT_TILES_HDR_COMPACT_FIXED, (uint32_t)n);
}

/* Encodes the tiles list[0..n) (every tile in order when list is NULL)
 * into a new payload: from the image pixels if not NULL, else from the
 * reference. */
static int encode_tiles(struct xport_tile_encoder *enc, const uint8_t *pixels, size_t stride,
	const uint32_t *list, size_t n, uint8_t flags, uint32_t base_id, uint32_t crc,
	uint8_t **out, size_t *out_len)
{
	bool key = flags & XPORT_TILES_KEY;
	size_t cap = XPORT_TILES_HDR_SIZE + n * record_bound(enc->tile);
	/* Sized for the worst case; large allocations are mapped lazily, so
	 * only the bytes written cost, and the buffer shrinks afterwards. */
	uint8_t *buf = malloc(cap);
	if (!buf) {
		return -ENOMEM;
	}
	size_t off = XPORT_TILES_HDR_SIZE;
	for (size_t i = 0; i < n; i++) {
		uint32_t idx = list ? list[i] : (uint32_t)i;
		const uint8_t *tile = pixels ? gather_tile(enc, pixels, stride, idx) :
			enc->ref + idx * enc->tile_bytes;
		off += encode_tile(enc, idx, tile, buf + off, cap - off);
	}
	put_header(enc, buf, flags & (XPORT_TILES_KEY | XPORT_TILES_REFRESH), key ? 0 : base_id, n,
		crc);
	uint8_t *shrunk = realloc(buf, off);
	*out = shrunk ? shrunk : buf;
	*out_len = off;
	return 0;
}

static bool image_fits(const struct xport_tile_encoder *enc, pixman_image_t *image)
{
	return format_ok(image) && (uint32_t)pixman_image_get_width(image) == enc->width &&
		(uint32_t)pixman_image_get_height(image) == enc->height;
}

int xport_tile_encode(struct xport_tile_encoder *enc, pixman_image_t *image,
	const pixman_region32_t *damage, uint8_t flags, uint32_t base_id, uint32_t crc,
	uint8_t **out, size_t *out_len)
{
	bool key = flags & XPORT_TILES_KEY;
	if (!image_fits(enc, image) || (!key && !damage)) {
		return -EINVAL;
	}
	size_t n = key ? (size_t)enc->cols * enc->rows : collect_damage(enc, damage);
	return encode_tiles(enc, (const uint8_t *)pixman_image_get_data(image),
		(size_t)pixman_image_get_stride(image), key ? NULL : enc->list, n, flags, base_id,
		crc, out, out_len);
}

/* out = new XOR old, and old = new, for n bytes (whole pixels); returns
 * the runs of equal XOR pixels in the row, and in *first and *last the
 * first and last pixel that changed (*first > *last: none). */
static size_t xor_copy(uint8_t *restrict out, uint8_t *restrict old, const uint8_t *restrict new,
	size_t n, uint32_t *first, uint32_t *last)
{
	size_t runs = 1;
	uint32_t prev, o;
	uint32_t lo = UINT32_MAX, hi = 0;
	memcpy(&prev, new, 4);
	memcpy(&o, old, 4);
	prev ^= o;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t a, b;
		memcpy(&a, new + i, 4);
		memcpy(&b, old + i, 4);
		a ^= b;
		memcpy(out + i, &a, 4);
		runs += a != prev;
		prev = a;
		if (a) {
			lo = lo < i / 4 ? lo : (uint32_t)(i / 4);
			hi = (uint32_t)(i / 4);
		}
	}
	memcpy(old, new, n);
	*first = lo;
	*last = hi;
	return runs;
}

/* Brings tile idx of the reference up to date with pixels; returns whether
 * it differed. Identical rows before the first difference are not copied.
 * With xor, a differing tile's XOR record is appended to enc->xrec: the
 * rectangle of the tile that changed (XPORT_TILE_XOR_RECT), or the whole
 * tile (XPORT_TILE_XOR) when all of it did. */
static bool diff_tile(struct xport_tile_encoder *enc, const uint8_t *pixels, size_t stride,
	uint32_t idx, bool xor)
{
	uint32_t x, y, w, h;
	tile_rect(enc, idx, &x, &y, &w, &h);
	size_t row_bytes = (size_t)w * 4;
	const uint8_t *src = pixels + (size_t)y * stride + (size_t)x * 4;
	uint8_t *dst = enc->ref + idx * enc->tile_bytes;
	uint32_t j = 0;
	while (j < h && memcmp(src + j * stride, dst + j * row_bytes, row_bytes) == 0) {
		j++;
	}
	if (j == h) {
		return false;
	}
	if (!xor) {
		for (; j < h; j++) {
			memcpy(dst + j * row_bytes, src + j * stride, row_bytes);
		}
		return true;
	}
	/* The XOR of rows j.. goes to the rows' places in the record's data;
	 * then the changed rectangle [x0, x1] x [y0, y1] is cut out of it. */
	uint8_t *data = enc->xdata + enc->xrec_len;
	uint32_t y0 = j, y1 = j, x0 = w, x1 = 0;
	for (; j < h; j++) {
		uint8_t *row = data + j * row_bytes;
		uint32_t first, last;
		size_t runs = xor_copy(row, dst + j * row_bytes, src + j * stride, row_bytes,
			&first, &last);
		if (first > last) {
			continue; /* this row did not change */
		}
		y1 = j;
		x0 = first < x0 ? first : x0;
		x1 = last > x1 ? last : x1;
		/* A row repeating the one above is one long match for zstd. */
		if (j == y0 || memcmp(row, row - row_bytes, row_bytes) != 0) {
			enc->xrec_runs += runs;
		}
	}
	uint32_t rw = x1 - x0 + 1, rh = y1 - y0 + 1;
	uint8_t *rec = enc->xrec + enc->n_changed * XPORT_TILES_REC_SIZE;
	if (rw == w && rh == h) {
		put_record(enc, rec, idx, XPORT_TILE_XOR, row_bytes * h);
		enc->xrec_len += row_bytes * h;
		return true;
	}
	/* Each row moves to an offset no later than its own. */
	size_t rect_row = (size_t)rw * 4;
	for (uint32_t r = 0; r < rh; r++) {
		memmove(data + r * rect_row, data + (y0 + r) * row_bytes + (size_t)x0 * 4, rect_row);
	}
	put_record(enc, rec, idx, XPORT_TILE_XOR_RECT, rect_row * rh);
	rec[5] = (uint8_t)x0;
	rec[6] = (uint8_t)y0;
	rec[7] = (uint8_t)rw;
	enc->xrec_len += rect_row * rh;
	return true;
}

int xport_tile_encoder_diff(struct xport_tile_encoder *enc, pixman_image_t *image,
	const pixman_region32_t *damage, bool xor)
{
	/* Nothing of an earlier diff is left to encode, whatever happens. */
	enc->n_changed = 0;
	enc->xrec_valid = false;
	if (!image_fits(enc, image)) {
		return -EINVAL;
	}
	const uint8_t *pixels = (const uint8_t *)pixman_image_get_data(image);
	size_t stride = (size_t)pixman_image_get_stride(image);
	/* In (row, column) order either way, as the records must be. */
	size_t n = damage ? collect_damage(enc, damage) : (size_t)enc->cols * enc->rows;
	enc->n_changed = 0;
	enc->xrec_len = 0;
	enc->xrec_runs = 0;
	enc->xrec_valid = xor;
	enc->xrec_moved = false;
	for (size_t i = 0; i < n; i++) {
		uint32_t idx = damage ? enc->list[i] : (uint32_t)i;
		if (diff_tile(enc, pixels, stride, idx, xor)) {
			enc->changed[enc->n_changed++] = idx;
		}
	}
	/* At most (16384 / 16)^2 = 2^20 tiles: fits an int. */
	return (int)enc->n_changed;
}

int xport_tile_encode_diff(struct xport_tile_encoder *enc, uint8_t flags, uint32_t base_id,
	uint32_t crc, uint8_t **out, size_t *out_len)
{
	if (flags & XPORT_TILES_KEY) {
		return -EINVAL;
	}
	return encode_tiles(enc, NULL, 0, enc->changed, enc->n_changed, flags, base_id, crc, out,
		out_len);
}

int xport_tile_encode_packed(struct xport_tile_encoder *enc, uint8_t flags, uint32_t base_id,
	uint32_t crc, uint8_t **out, size_t *out_len)
{
	if ((flags & XPORT_TILES_KEY) || !enc->xrec_valid) {
		return -EINVAL;
	}
	if (enc->n_changed == 0 || enc->xrec_runs > PACKED_RUNS_MAX) {
		return xport_tile_encode_diff(enc, flags, base_id, crc, out, out_len);
	}
	/* The records' headers go right before their data: one run of bytes. */
	size_t hdrs = enc->n_changed * XPORT_TILES_REC_SIZE;
	uint8_t *content = enc->xdata - hdrs;
	if (!enc->xrec_moved) {
		memmove(content, enc->xrec, hdrs);
		enc->xrec_moved = true;
	}
	size_t content_len = hdrs + enc->xrec_len;
	/* A new zstd frame's header (at most 18 bytes) comes on top of a
	 * stream chunk's blocks. */
	size_t hdr = compact_header_size(enc->n_changed);
	size_t cap = hdr + ZSTD_compressBound(content_len) + 32;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		return -ENOMEM;
	}
	bool small = enc->xrec_runs <= PACKED_RUNS_STRONG && content_len <= PACKED_STRONG_BYTES;
	uint8_t kind = XPORT_TILES_PACKED;
	size_t z;
	if (small) {
		/* A chunk of the stream: continued if every receiver has the
		 * chunks before, else a new zstd frame. Until this one is out
		 * whole, there is no stream to continue. */
		bool cont = (flags & XPORT_TILES_CONT) && enc->stream_open;
		enc->stream_open = false;
		if (!cont) {
			ZSTD_CCtx_reset(enc->zs, ZSTD_reset_session_only);
		}
		ZSTD_outBuffer o = { buf + hdr, cap - hdr, 0 };
		ZSTD_inBuffer in = { content, content_len, 0 };
		size_t left;
		do {
			left = ZSTD_compressStream2(enc->zs, &o, &in, ZSTD_e_flush);
		} while (!ZSTD_isError(left) && left != 0 && o.pos < o.size);
		if (ZSTD_isError(left) || left != 0) {
			free(buf);
			return -ENOMEM;
		}
		enc->stream_open = true;
		z = o.pos;
		kind |= XPORT_TILES_STREAM | (cont ? XPORT_TILES_CONT : 0);
	} else {
		if (ZSTD_isError(ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_compressionLevel,
			PACKED_LEVEL))) {
			free(buf);
			return -ENOMEM;
		}
		z = ZSTD_compress2(enc->zc, buf + hdr, cap - hdr, content, content_len);
		if (ZSTD_isError(z)) {
			/* Only allocation can fail with a buffer of the bound's size. */
			free(buf);
			return -ENOMEM;
		}
	}
	put_compact_header(enc, buf, (flags & XPORT_TILES_REFRESH) | kind, base_id, enc->n_changed,
		crc);
	size_t len = hdr + z;
	uint8_t *shrunk = realloc(buf, len);
	*out = shrunk ? shrunk : buf;
	*out_len = len;
	return 0;
}

static bool flags_ok(uint8_t f)
{
	return !(f & ~(XPORT_TILES_KEY | XPORT_TILES_REFRESH | XPORT_TILES_PACKED |
			XPORT_TILES_STREAM | XPORT_TILES_CONT)) &&
		!((f & XPORT_TILES_KEY) && (f & XPORT_TILES_PACKED)) &&
		!((f & XPORT_TILES_STREAM) && !(f & XPORT_TILES_PACKED)) &&
		!((f & XPORT_TILES_CONT) && !(f & XPORT_TILES_STREAM));
}

/* The compact header (version 2): packed deltas only; the frame size is
 * the base frame's, which the receiver holds. */
static int parse_compact_header(const uint8_t *buf, size_t len, struct xport_tiles_header *h)
{
	if (len <= XPORT_TILES_HDR_COMPACT_FIXED || !flags_ok(buf[1]) ||
		!(buf[1] & XPORT_TILES_PACKED)) {
		return -EBADMSG;
	}
	h->flags = buf[1];
	h->tile_log2 = buf[2];
	h->base_id = xport_get_be32(buf + 3);
	h->crc = xport_get_be32(buf + 7);
	h->width = h->height = 0;
	uint32_t n;
	size_t i = XPORT_TILES_HDR_COMPACT_FIXED;
	/* At most 3 bytes: (16384 / 16)^2 = 2^20 tiles. */
	if (!xport_get_leb128(buf, len, &i, &n)) {
		return -EBADMSG;
	}
	h->n_tiles = n;
	h->hdr_size = (uint8_t)i;
	if (h->tile_log2 < XPORT_TILES_LOG2_MIN || h->tile_log2 > XPORT_TILES_LOG2_MAX) {
		return -EBADMSG;
	}
	/* At least one record, compressed into some bytes. */
	return n >= 1 && len > i ? 0 : -EBADMSG;
}

int xport_tiles_parse_header(const uint8_t *buf, size_t len, struct xport_tiles_header *h)
{
	if (len >= 1 && buf[0] == XPORT_TILES_VERSION_COMPACT) {
		return parse_compact_header(buf, len, h);
	}
	if (len < XPORT_TILES_HDR_SIZE || buf[0] != XPORT_TILES_VERSION || buf[3] != 0 ||
		!flags_ok(buf[1])) {
		return -EBADMSG;
	}
	h->flags = buf[1];
	h->tile_log2 = buf[2];
	h->base_id = xport_get_be32(buf + 4);
	h->width = xport_get_be16(buf + 8);
	h->height = xport_get_be16(buf + 10);
	h->n_tiles = xport_get_be32(buf + 12);
	h->crc = xport_get_be32(buf + 16);
	h->hdr_size = XPORT_TILES_HDR_SIZE;
	if (h->tile_log2 < XPORT_TILES_LOG2_MIN || h->tile_log2 > XPORT_TILES_LOG2_MAX ||
		h->width < 1 || h->height < 1 || h->width > XPORT_TILES_MAX_DIM ||
		h->height > XPORT_TILES_MAX_DIM) {
		return -EBADMSG;
	}
	uint64_t all = (uint64_t)div_up(h->width, h->tile_log2) * div_up(h->height, h->tile_log2);
	if (h->n_tiles > all || ((h->flags & XPORT_TILES_KEY) && h->n_tiles != all)) {
		return -EBADMSG;
	}
	if (h->flags & XPORT_TILES_PACKED) {
		/* Packed: at least one record, compressed into some bytes. */
		return h->n_tiles >= 1 && len > XPORT_TILES_HDR_SIZE ? 0 : -EBADMSG;
	}
	/* Every record needs at least its header: cheap early rejection. */
	if ((uint64_t)h->n_tiles * XPORT_TILES_REC_SIZE > len - XPORT_TILES_HDR_SIZE) {
		return -EBADMSG;
	}
	return 0;
}

struct xport_tile_decoder {
	uint8_t *scratch; /* one tile of the largest size */
	/* Packed deltas: the decompressor and the records it unpacks (grown to
	 * the largest frame seen: n_tiles records of whole tiles at most). */
	ZSTD_DCtx *zd;
	uint8_t *packed;
	size_t packed_cap;
	/* The delta stream: its decoder, and whether it holds every chunk since
	 * the last start (else a CONT chunk cannot be decoded). */
	ZSTD_DCtx *zs;
	bool stream_ok;
};

struct xport_tile_decoder *xport_tile_decoder_create(void)
{
	struct xport_tile_decoder *dec = calloc(1, sizeof(*dec));
	if (!dec) {
		return NULL;
	}
	dec->scratch = malloc(tile_raw_bytes(1u << XPORT_TILES_LOG2_MAX));
	dec->zd = ZSTD_createDCtx();
	dec->zs = ZSTD_createDCtx();
	if (!dec->scratch || !dec->zd || !dec->zs ||
		ZSTD_isError(ZSTD_DCtx_setParameter(dec->zd, ZSTD_d_format, ZSTD_f_zstd1_magicless)) ||
		ZSTD_isError(ZSTD_DCtx_setParameter(dec->zs, ZSTD_d_format, ZSTD_f_zstd1_magicless)) ||
		ZSTD_isError(ZSTD_DCtx_setParameter(dec->zs, ZSTD_d_windowLogMax,
			XPORT_TILES_STREAM_WINDOW_LOG))) {
		xport_tile_decoder_destroy(dec);
		return NULL;
	}
	return dec;
}

void xport_tile_decoder_destroy(struct xport_tile_decoder *dec)
{
	if (!dec) {
		return;
	}
	free(dec->scratch);
	free(dec->packed);
	ZSTD_freeDCtx(dec->zd);
	ZSTD_freeDCtx(dec->zs);
	free(dec);
}

/* Adjacent tiles of one tile row are added to the applied region as one
 * rectangle: a key frame costs one region operation per tile row. */
struct run {
	bool open;
	uint32_t x1, x2, y1, y2;
};

static void run_flush(struct run *run, pixman_region32_t *applied)
{
	if (run->open) {
		pixman_region32_union_rect(applied, applied, (int)run->x1, (int)run->y1,
			run->x2 - run->x1, run->y2 - run->y1);
		run->open = false;
	}
}

static void run_add(struct run *run, pixman_region32_t *applied, uint32_t x, uint32_t y,
	uint32_t w, uint32_t h)
{
	if (run->open && run->y1 == y && run->y2 == y + h && run->x2 == x) {
		run->x2 = x + w;
		return;
	}
	run_flush(run, applied);
	*run = (struct run){ .open = true, .x1 = x, .x2 = x + w, .y1 = y, .y2 = y + h };
}

/* dst ^= src for n bytes (whole pixels). */
static void xor_into(uint8_t *restrict dst, const uint8_t *restrict src, size_t n)
{
	for (size_t i = 0; i < n; i += 4) {
		uint32_t a, b;
		memcpy(&a, dst + i, 4);
		memcpy(&b, src + i, 4);
		a ^= b;
		memcpy(dst + i, &a, 4);
	}
}

/* The records of buf[off..len): each followed by its data (unpacked), or,
 * the contents of a packed frame, all n_tiles record headers first, then
 * their data in the same order. */
static int apply_records(struct xport_tile_decoder *dec, const uint8_t *buf, size_t len,
	size_t off, const struct xport_tiles_header *h, uint8_t *pixels, size_t stride,
	struct run *run, pixman_region32_t *applied)
{
	unsigned tile = 1u << h->tile_log2;
	uint32_t cols = div_up(h->width, h->tile_log2), rows = div_up(h->height, h->tile_log2);
	bool packed = h->flags & XPORT_TILES_PACKED;
	/* Where the next data is: after its header, or after the headers. */
	size_t data = 0;
	if (packed) {
		if ((uint64_t)h->n_tiles * XPORT_TILES_REC_SIZE > len) {
			return -EBADMSG;
		}
		data = (size_t)h->n_tiles * XPORT_TILES_REC_SIZE;
	}
	uint64_t prev = 0;
	for (uint32_t i = 0; i < h->n_tiles; i++) {
		if (len - off < XPORT_TILES_REC_SIZE) {
			return -EBADMSG;
		}
		const uint8_t *rec = buf + off;
		uint32_t col = xport_get_be16(rec), row = xport_get_be16(rec + 2);
		uint8_t encoding = rec[4];
		size_t dlen = xport_get_be32(rec + 8);
		off += XPORT_TILES_REC_SIZE;
		if (!packed) {
			data = off;
		}
		uint64_t idx = (uint64_t)row * cols + col;
		bool rect = packed && encoding == XPORT_TILE_XOR_RECT;
		if (col >= cols || row >= rows || (i > 0 && idx <= prev) ||
			(!rect && (rec[5] != 0 || xport_get_be16(rec + 6) != 0)) || dlen > len - data) {
			return -EBADMSG;
		}
		prev = idx;
		uint32_t x = col << h->tile_log2, y = row << h->tile_log2;
		uint32_t w = h->width - x < tile ? h->width - x : tile;
		uint32_t th = h->height - y < tile ? h->height - y : tile;
		if (rect) {
			/* Its rectangle [x0, x0 + w) x [y0, y0 + th) of the tile. */
			uint32_t x0 = rec[5], y0 = rec[6], rw = rec[7];
			if (rw == 0 || x0 + rw > w || y0 >= th || dlen == 0 || dlen % (rw * 4) != 0 ||
				dlen / (rw * 4) > th - y0) {
				return -EBADMSG;
			}
			x += x0;
			y += y0;
			w = rw;
			th = (uint32_t)(dlen / (rw * 4));
			encoding = XPORT_TILE_XOR;
		}
		size_t row_bytes = (size_t)w * 4;
		size_t raw = row_bytes * th;
		const uint8_t *src;
		if (encoding == XPORT_TILE_RAW || (packed && encoding == XPORT_TILE_XOR)) {
			if (dlen != raw) {
				return -EBADMSG;
			}
			src = buf + data;
		} else if (!packed && encoding == XPORT_TILE_LZ4) {
			/* LZ4_decompress_safe never reads or writes out of bounds,
			 * whatever the input; anything but exactly `raw` bytes out
			 * is an error. */
			if (LZ4_decompress_safe((const char *)buf + data, (char *)dec->scratch, (int)dlen,
				(int)raw) != (int)raw) {
				return -EBADMSG;
			}
			src = dec->scratch;
		} else {
			return -EBADMSG;
		}
		for (uint32_t j = 0; j < th; j++) {
			uint8_t *d = pixels + (size_t)(y + j) * stride + (size_t)x * 4;
			if (encoding == XPORT_TILE_XOR) {
				xor_into(d, src + j * row_bytes, row_bytes);
			} else {
				memcpy(d, src + j * row_bytes, row_bytes);
			}
		}
		run_add(run, applied, x, y, w, th);
		data += dlen;
		if (!packed) {
			off = data;
		}
	}
	return data == len || (!packed && off == len) ? 0 : -EBADMSG;
}

/* Decodes a stream chunk (src, len) into dec->packed (less than cap
 * bytes): all of it, since the server flushed the stream at its end. */
static int stream_chunk(struct xport_tile_decoder *dec, const uint8_t *src, size_t len, bool cont,
	size_t cap, size_t *n)
{
	if (!cont) {
		ZSTD_DCtx_reset(dec->zs, ZSTD_reset_session_only);
	} else if (!dec->stream_ok) {
		return -EBADMSG; /* a chunk this receiver missed comes before */
	}
	/* Until this chunk decoded whole, nothing can continue the stream. */
	dec->stream_ok = false;
	ZSTD_outBuffer o = { dec->packed, cap, 0 };
	ZSTD_inBuffer in = { src, len, 0 };
	for (;;) {
		size_t r = ZSTD_decompressStream(dec->zs, &o, &in);
		if (ZSTD_isError(r)) {
			return -EBADMSG;
		}
		if (o.pos == o.size) {
			return -EBADMSG; /* more than n_tiles whole tiles */
		}
		if (in.pos == in.size) {
			/* Once more without input: nothing of the chunk stays in
			 * the decoder (its window aside). */
			size_t before = o.pos;
			r = ZSTD_decompressStream(dec->zs, &o, &in);
			if (ZSTD_isError(r) || o.pos != before) {
				return -EBADMSG;
			}
			break;
		}
	}
	dec->stream_ok = true;
	*n = o.pos;
	return 0;
}

void xport_tile_decoder_break(struct xport_tile_decoder *dec)
{
	dec->stream_ok = false;
}

static int apply_frame(struct xport_tile_decoder *dec, const uint8_t *buf, size_t len,
	pixman_image_t *dst, pixman_region32_t *applied)
{
	struct xport_tiles_header h;
	int r = xport_tiles_parse_header(buf, len, &h);
	if (r < 0) {
		return r;
	}
	if (!format_ok(dst)) {
		return -EINVAL;
	}
	if (h.width == 0) {
		/* A compact header: the frame is the size of its base. */
		h.width = (uint32_t)pixman_image_get_width(dst);
		h.height = (uint32_t)pixman_image_get_height(dst);
		if (h.width < 1 || h.height < 1 || h.width > XPORT_TILES_MAX_DIM ||
			h.height > XPORT_TILES_MAX_DIM) {
			return -EINVAL;
		}
		if (h.n_tiles > (uint64_t)div_up(h.width, h.tile_log2) * div_up(h.height,
			h.tile_log2)) {
			return -EBADMSG;
		}
	} else if ((uint32_t)pixman_image_get_width(dst) != h.width ||
		(uint32_t)pixman_image_get_height(dst) != h.height) {
		return -EINVAL;
	}
	if (h.flags & XPORT_TILES_PACKED) {
		/* Decompressed at most to n_tiles whole tiles with their records;
		 * zstd never writes beyond the capacity it is given, whatever the
		 * input, and the records must then fill exactly what it wrote. */
		size_t cap = h.n_tiles * (XPORT_TILES_REC_SIZE + tile_raw_bytes(1u << h.tile_log2));
		/* One byte more: a stream chunk that fills it is too long. */
		if (cap + 1 > dec->packed_cap) {
			uint8_t *p = realloc(dec->packed, cap + 1);
			if (!p) {
				return -ENOMEM;
			}
			dec->packed = p;
			dec->packed_cap = cap + 1;
		}
		size_t n;
		if (h.flags & XPORT_TILES_STREAM) {
			r = stream_chunk(dec, buf + h.hdr_size, len - h.hdr_size,
				h.flags & XPORT_TILES_CONT, cap + 1, &n);
			if (r < 0) {
				return r;
			}
		} else {
			n = ZSTD_decompressDCtx(dec->zd, dec->packed, cap, buf + h.hdr_size,
				len - h.hdr_size);
			if (ZSTD_isError(n)) {
				return -EBADMSG;
			}
		}
		buf = dec->packed;
		len = n;
	} else if (h.flags & XPORT_TILES_KEY) {
		/* The server starts a new stream for whoever it sends a key. */
		dec->stream_ok = false;
	}
	struct run run = { 0 };
	r = apply_records(dec, buf, len, (h.flags & XPORT_TILES_PACKED) ? 0 : XPORT_TILES_HDR_SIZE,
		&h, (uint8_t *)pixman_image_get_data(dst), (size_t)pixman_image_get_stride(dst), &run,
		applied);
	/* Also on error: *applied must cover every pixel written. */
	run_flush(&run, applied);
	return r;
}

int xport_tiles_apply(struct xport_tile_decoder *dec, const uint8_t *buf, size_t len,
	pixman_image_t *dst, pixman_region32_t *applied)
{
	int r = apply_frame(dec, buf, len, dst, applied);
	if (r < 0) {
		/* A frame that did not apply is a dropped frame: whatever the
		 * stream held is behind the server's now. */
		dec->stream_ok = false;
	}
	return r;
}

uint32_t xport_tiles_image_crc(pixman_image_t *image)
{
	return xport_crc32c_rows(pixman_image_get_data(image),
		(size_t)pixman_image_get_stride(image), (size_t)pixman_image_get_width(image) * 4,
		(size_t)pixman_image_get_height(image));
}

void xport_tiles_region_row_crcs(pixman_image_t *image, const pixman_region32_t *region,
	uint32_t *rows)
{
	uint32_t h = (uint32_t)pixman_image_get_height(image);
	const void *data = pixman_image_get_data(image);
	size_t stride = (size_t)pixman_image_get_stride(image);
	size_t row = (size_t)pixman_image_get_width(image) * 4;
	int n;
	const pixman_box32_t *b = pixman_region32_rectangles((pixman_region32_t *)region, &n);
	int32_t done_y1 = -1, done_y2 = -1;
	for (int i = 0; i < n; i++) {
		/* Boxes come in bands of equal y: each row once. */
		if (b[i].y1 == done_y1 && b[i].y2 == done_y2) {
			continue;
		}
		uint32_t y1 = b[i].y1 < 0 ? 0 : (uint32_t)b[i].y1;
		uint32_t y2 = b[i].y2 < 0 ? 0 : (uint32_t)b[i].y2 > h ? h : (uint32_t)b[i].y2;
		if (y1 < y2) {
			xport_crc32c_row_crcs(data, stride, row, y1, y2, rows);
		}
		done_y1 = b[i].y1;
		done_y2 = b[i].y2;
	}
}
