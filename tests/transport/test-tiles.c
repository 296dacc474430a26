/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/bytes.h"
#include "transport/crc32c.h"
#include "transport/tiles.h"

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

static uint32_t rng = 0xc0ffee;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static pixman_image_t *new_image(int w, int h)
{
	pixman_image_t *img = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, 0);
	assert_non_null(img);
	return img;
}

/* Random (incompressible) or smooth (compressible) content in a box. */
static void paint(pixman_image_t *img, int x1, int y1, int x2, int y2, bool noisy)
{
	uint32_t *d = pixman_image_get_data(img);
	int stride = pixman_image_get_stride(img) / 4;
	uint32_t base = next_rand();
	for (int y = y1; y < y2; y++) {
		for (int x = x1; x < x2; x++) {
			/* The X byte varies too: it travels and is checked like the rest. */
			d[y * stride + x] = noisy ? next_rand() : base + (uint32_t)(x / 5) * 0x010203u;
		}
	}
}

static bool images_equal(pixman_image_t *a, pixman_image_t *b)
{
	int w = pixman_image_get_width(a), h = pixman_image_get_height(a);
	if (w != pixman_image_get_width(b) || h != pixman_image_get_height(b)) {
		return false;
	}
	for (int y = 0; y < h; y++) {
		if (memcmp((uint8_t *)pixman_image_get_data(a) + y * pixman_image_get_stride(a),
			(uint8_t *)pixman_image_get_data(b) + y * pixman_image_get_stride(b),
			(size_t)w * 4) != 0) {
			return false;
		}
	}
	return true;
}

static void copy_image(pixman_image_t *dst, pixman_image_t *src)
{
	pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, dst, 0, 0, 0, 0, 0, 0,
		(uint16_t)pixman_image_get_width(src), (uint16_t)pixman_image_get_height(src));
}

static void apply_ok(struct xport_tile_decoder *dec, const uint8_t *buf, size_t len,
	pixman_image_t *dst, pixman_region32_t *applied)
{
	pixman_region32_clear(applied);
	assert_int_equal(xport_tiles_apply(dec, buf, len, dst, applied), 0);
}

/* The region covered by the tiles that intersect damage, clipped to the frame. */
static void expected_tiles(pixman_region32_t *out, const pixman_region32_t *damage, int w, int h)
{
	pixman_region32_clear(out);
	int n;
	const pixman_box32_t *b = pixman_region32_rectangles((pixman_region32_t *)damage, &n);
	for (int i = 0; i < n; i++) {
		int x1 = b[i].x1 < 0 ? 0 : b[i].x1, y1 = b[i].y1 < 0 ? 0 : b[i].y1;
		int x2 = b[i].x2 > w ? w : b[i].x2, y2 = b[i].y2 > h ? h : b[i].y2;
		if (x1 >= x2 || y1 >= y2) {
			continue;
		}
		int tx1 = x1 / 64 * 64, ty1 = y1 / 64 * 64;
		int tx2 = (x2 + 63) / 64 * 64, ty2 = (y2 + 63) / 64 * 64;
		pixman_region32_union_rect(out, out, tx1, ty1, (unsigned)(tx2 - tx1), (unsigned)(ty2 - ty1));
	}
	pixman_region32_intersect_rect(out, out, 0, 0, (unsigned)w, (unsigned)h);
}

/* Key frame then deltas of random damage, for odd sizes: the decoded image
 * always equals the source, with the header's CRC, and the applied region is
 * exactly the damaged tiles. */
static void round_trip(int w, int h)
{
	pixman_image_t *src = new_image(w, h), *dst = new_image(w, h);
	paint(src, 0, 0, w, h, false);
	paint(src, 0, 0, w / 3, h / 2, true);
	struct xport_tile_encoder *enc = xport_tile_encoder_create((uint32_t)w, (uint32_t)h, 6);
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	assert_non_null(enc);
	assert_non_null(dec);
	pixman_region32_t applied, want, damage;
	pixman_region32_init(&applied);
	pixman_region32_init(&want);
	pixman_region32_init(&damage);

	uint8_t *buf;
	size_t len;
	uint32_t crc = xport_tiles_image_crc(src);
	assert_int_equal(xport_tile_encode(enc, src, NULL, XPORT_TILES_KEY | XPORT_TILES_REFRESH, 0,
		crc, &buf, &len), 0);
	assert_true(len <= xport_tiles_max_payload((uint32_t)w, (uint32_t)h, 6));
	struct xport_tiles_header hdr;
	assert_int_equal(xport_tiles_parse_header(buf, len, &hdr), 0);
	assert_int_equal(hdr.flags, XPORT_TILES_KEY | XPORT_TILES_REFRESH);
	assert_int_equal(hdr.width, w);
	assert_int_equal(hdr.height, h);
	assert_int_equal(hdr.n_tiles, ((w + 63) / 64) * ((h + 63) / 64));
	assert_int_equal(hdr.crc, crc);
	apply_ok(dec, buf, len, dst, &applied);
	free(buf);
	assert_true(images_equal(src, dst));
	assert_int_equal(xport_tiles_image_crc(dst), crc);
	pixman_region32_init_rect(&want, 0, 0, (unsigned)w, (unsigned)h);
	assert_true(pixman_region32_equal(&applied, &want));

	for (unsigned f = 0; f < 30; f++) {
		pixman_region32_clear(&damage);
		unsigned rects = next_rand() % 4;
		for (unsigned r = 0; r < rects; r++) {
			/* Some damage reaches outside the frame: it is clipped. */
			int x = (int)(next_rand() % (unsigned)(w + 40)) - 20;
			int y = (int)(next_rand() % (unsigned)(h + 40)) - 20;
			int rw = 1 + (int)(next_rand() % 100), rh = 1 + (int)(next_rand() % 100);
			pixman_region32_union_rect(&damage, &damage, x, y, (unsigned)rw, (unsigned)rh);
			int x1 = x < 0 ? 0 : x, y1 = y < 0 ? 0 : y;
			int x2 = x + rw > w ? w : x + rw, y2 = y + rh > h ? h : y + rh;
			if (x1 < x2 && y1 < y2) {
				paint(src, x1, y1, x2, y2, next_rand() & 1);
			}
		}
		crc = xport_tiles_image_crc(src);
		assert_int_equal(xport_tile_encode(enc, src, &damage, 0, 1000 + f, crc, &buf, &len), 0);
		assert_int_equal(xport_tiles_parse_header(buf, len, &hdr), 0);
		assert_int_equal(hdr.base_id, 1000 + f);
		assert_int_equal(hdr.flags, 0);
		apply_ok(dec, buf, len, dst, &applied);
		free(buf);
		assert_true(images_equal(src, dst));
		assert_int_equal(xport_tiles_image_crc(dst), crc);
		expected_tiles(&want, &damage, w, h);
		assert_true(pixman_region32_equal(&applied, &want));
	}
	pixman_region32_fini(&applied);
	pixman_region32_fini(&want);
	pixman_region32_fini(&damage);
	xport_tile_encoder_destroy(enc);
	xport_tile_decoder_destroy(dec);
	pixman_image_unref(src);
	pixman_image_unref(dst);
}

static void test_round_trip_sizes(void **state)
{
	static const int sizes[][2] = { { 1, 1 }, { 64, 64 }, { 63, 65 }, { 65, 63 }, { 400, 300 },
		{ 1000, 7 }, { 7, 300 }, { 128, 128 }, { 333, 250 } };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		round_trip(sizes[i][0], sizes[i][1]);
	}
}

/* Incompressible tiles travel raw, smooth ones as LZ4; an empty delta is
 * just a header. */
static void test_encodings(void **state)
{
	pixman_image_t *img = new_image(128, 64);
	paint(img, 0, 0, 64, 64, true);
	paint(img, 64, 0, 128, 64, false);
	struct xport_tile_encoder *enc = xport_tile_encoder_create(128, 64, 6);
	uint8_t *buf;
	size_t len;
	assert_int_equal(xport_tile_encode(enc, img, NULL, XPORT_TILES_KEY, 0, 0, &buf, &len), 0);
	const uint8_t *r0 = buf + XPORT_TILES_HDR_SIZE;
	assert_int_equal(r0[4], XPORT_TILE_RAW);
	assert_int_equal(xport_get_be32(r0 + 8), 64 * 64 * 4);
	const uint8_t *r1 = r0 + XPORT_TILES_REC_SIZE + 64 * 64 * 4;
	assert_int_equal(xport_get_be16(r1), 1);
	assert_int_equal(xport_get_be16(r1 + 2), 0);
	assert_int_equal(r1[4], XPORT_TILE_LZ4);
	assert_true(xport_get_be32(r1 + 8) < 64 * 64 * 4 / 4);
	free(buf);

	pixman_region32_t empty;
	pixman_region32_init(&empty);
	assert_int_equal(xport_tile_encode(enc, img, &empty, 0, 5, 0, &buf, &len), 0);
	assert_int_equal(len, XPORT_TILES_HDR_SIZE);
	free(buf);
	/* A delta needs damage; the image must match the encoder. */
	assert_int_equal(xport_tile_encode(enc, img, NULL, 0, 5, 0, &buf, &len), -EINVAL);
	pixman_image_t *other = new_image(64, 64);
	assert_int_equal(xport_tile_encode(enc, other, &empty, 0, 5, 0, &buf, &len), -EINVAL);
	pixman_image_unref(other);
	pixman_region32_fini(&empty);
	xport_tile_encoder_destroy(enc);
	pixman_image_unref(img);

	assert_null(xport_tile_encoder_create(0, 10, 6));
	assert_null(xport_tile_encoder_create(10, XPORT_TILES_MAX_DIM + 1, 6));
	assert_null(xport_tile_encoder_create(10, 10, 3));
	assert_null(xport_tile_encoder_create(10, 10, 8));
	xport_tile_encoder_destroy(NULL);
	xport_tile_decoder_destroy(NULL);
}

/* A valid payload for mutation: 200x100, key frame, mixed encodings. */
static uint8_t *sample_payload(size_t *len, bool key)
{
	pixman_image_t *img = new_image(200, 100);
	paint(img, 0, 0, 200, 100, false);
	paint(img, 64, 0, 128, 64, true);
	struct xport_tile_encoder *enc = xport_tile_encoder_create(200, 100, 6);
	pixman_region32_t damage;
	pixman_region32_init_rect(&damage, 10, 10, 150, 80);
	uint8_t *buf;
	assert_int_equal(xport_tile_encode(enc, img, key ? NULL : &damage,
		key ? XPORT_TILES_KEY : 0, 1, xport_tiles_image_crc(img), &buf, len), 0);
	pixman_region32_fini(&damage);
	xport_tile_encoder_destroy(enc);
	pixman_image_unref(img);
	return buf;
}

static int apply_rc(const uint8_t *buf, size_t len, pixman_image_t *dst)
{
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	pixman_region32_t applied;
	pixman_region32_init(&applied);
	int r = xport_tiles_apply(dec, buf, len, dst, &applied);
	pixman_region32_fini(&applied);
	xport_tile_decoder_destroy(dec);
	return r;
}

static void test_truncated(void **state)
{
	size_t len;
	uint8_t *buf = sample_payload(&len, true);
	pixman_image_t *dst = new_image(200, 100);
	assert_int_equal(apply_rc(buf, len, dst), 0);
	for (size_t i = 0; i < len; i++) {
		/* Fresh copies, so ASan sees any read past the end. */
		uint8_t *copy = malloc(i ? i : 1);
		memcpy(copy, buf, i);
		assert_int_equal(apply_rc(copy, i, dst), -EBADMSG);
		free(copy);
	}
	/* Trailing bytes. */
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 0;
	assert_int_equal(apply_rc(longer, len + 1, dst), -EBADMSG);
	free(longer);
	free(buf);
	pixman_image_unref(dst);
}

static void test_malformed(void **state)
{
	size_t len;
	uint8_t *key = sample_payload(&len, true);
	pixman_image_t *dst = new_image(200, 100);
	uint8_t *b = malloc(len);
	struct xport_tiles_header h;
#define MUTATE(stmt, want) \
	do { \
		memcpy(b, key, len); \
		stmt; \
		assert_int_equal(apply_rc(b, len, dst), want); \
	} while (0)
	MUTATE(b[0] = 2, -EBADMSG);                      /* version */
	MUTATE(b[1] |= 0x80, -EBADMSG);                  /* unknown flag */
	MUTATE(b[1] = 0, 0);                             /* a delta with every tile is fine */
	MUTATE(b[2] = 3, -EBADMSG);                      /* tile size */
	MUTATE(b[2] = 8, -EBADMSG);
	MUTATE(b[2] = 5, -EBADMSG);                      /* records no longer fit the grid */
	MUTATE(b[3] = 1, -EBADMSG);                      /* reserved */
	MUTATE(xport_put_be16(b + 8, 0), -EBADMSG);      /* width 0 */
	MUTATE(xport_put_be16(b + 8, 201), -EINVAL);     /* not the destination's size */
	MUTATE(xport_put_be16(b + 10, 0xffff), -EBADMSG);
	MUTATE(xport_put_be32(b + 12, 9), -EBADMSG);     /* key frame missing tiles */
	MUTATE(xport_put_be32(b + 12, 13), -EBADMSG);    /* more than the grid */
	MUTATE(xport_put_be32(b + 12, UINT32_MAX), -EBADMSG);
	uint8_t *r0 = b + XPORT_TILES_HDR_SIZE;
	MUTATE(xport_put_be16(r0, 4), -EBADMSG);         /* column beyond the grid */
	MUTATE(xport_put_be16(r0 + 2, 2), -EBADMSG);     /* row beyond */
	MUTATE(xport_put_be16(r0, 1), -EBADMSG);         /* then out of order (1,0) (1,0) */
	MUTATE(r0[4] = 2, -EBADMSG);                     /* XOR outside a packed frame */
	MUTATE(r0[4] = 3, -EBADMSG);                     /* unknown encoding */
	MUTATE(b[1] |= XPORT_TILES_PACKED, -EBADMSG);     /* packed key frame */
	MUTATE((b[1] = XPORT_TILES_PACKED), -EBADMSG);   /* not zstd inside */
	MUTATE(r0[5] = 1, -EBADMSG);                     /* reserved */
	MUTATE(xport_put_be16(r0 + 6, 1), -EBADMSG);
	MUTATE(xport_put_be32(r0 + 8, xport_get_be32(r0 + 8) + 1), -EBADMSG);
	MUTATE(xport_put_be32(r0 + 8, xport_get_be32(r0 + 8) - 1), -EBADMSG);
	MUTATE(xport_put_be32(r0 + 8, UINT32_MAX), -EBADMSG);
	/* LZ4 data that does not decode to exactly one tile. */
	MUTATE(memset(r0 + XPORT_TILES_REC_SIZE, 0xff, 8), -EBADMSG);
	/* Second tile (raw, noisy): claiming LZ4 makes its bytes garbage. */
	size_t l0 = xport_get_be32(r0 + 8);
	uint8_t *r1 = r0 + XPORT_TILES_REC_SIZE + l0;
	assert_int_equal(r1[4], XPORT_TILE_RAW);
	MUTATE(r1[4] = XPORT_TILE_LZ4, -EBADMSG);
	/* Duplicate tile: record 1 names tile 0. */
	MUTATE(xport_put_be16(r1, 0), -EBADMSG);
	/* Header parsing alone. */
	assert_int_equal(xport_tiles_parse_header(key, XPORT_TILES_HDR_SIZE - 1, &h), -EBADMSG);
	assert_int_equal(xport_tiles_parse_header(key, len, &h), 0);
	/* A CRC that does not match is the caller's to find: apply succeeds. */
	MUTATE(xport_put_be32(b + 16, 0), 0);
	/* Wrong destination format. */
	pixman_image_t *rgb = pixman_image_create_bits(PIXMAN_r5g6b5, 200, 100, NULL, 0);
	assert_int_equal(apply_rc(key, len, rgb), -EINVAL);
	pixman_image_unref(rgb);
#undef MUTATE
	free(b);
	free(key);
	pixman_image_unref(dst);
}

/* A valid packed delta for mutation: 200x100, three tiles changed (one
 * noisy), against the frame 1 that sample_image() is. */
static pixman_image_t *sample_image(void)
{
	pixman_image_t *img = new_image(200, 100);
	paint(img, 0, 0, 200, 100, false);
	paint(img, 64, 0, 128, 64, true);
	return img;
}

static uint8_t *packed_payload(size_t *len)
{
	pixman_image_t *img = sample_image();
	struct xport_tile_encoder *enc = xport_tile_encoder_create(200, 100, 6);
	assert_true(xport_tile_encoder_diff(enc, img, NULL, true) > 0);
	paint(img, 10, 10, 20, 20, false);
	paint(img, 70, 70, 140, 80, true);
	pixman_region32_t damage;
	pixman_region32_init_rect(&damage, 0, 0, 200, 100);
	assert_int_equal(xport_tile_encoder_diff(enc, img, &damage, true), 3);
	uint8_t *buf;
	assert_int_equal(xport_tile_encode_packed(enc, 0, 1, xport_tiles_image_crc(img), &buf, len),
		0);
	pixman_region32_fini(&damage);
	xport_tile_encoder_destroy(enc);
	pixman_image_unref(img);
	return buf;
}

/* Random corruption of orig never crashes (ASan/UBSan watch); on error the
 * applied region still covers every pixel written. */
static void random_corruption(const uint8_t *orig, size_t len)
{
	pixman_image_t *dst = new_image(200, 100), *ref = new_image(200, 100);
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	uint8_t *b = malloc(len);
	pixman_region32_t applied;
	pixman_region32_init(&applied);
	for (unsigned i = 0; i < 1000; i++) {
		memcpy(b, orig, len);
		unsigned flips = 1 + next_rand() % 4;
		for (unsigned f = 0; f < flips; f++) {
			b[next_rand() % len] ^= (uint8_t)(1u << (next_rand() % 8));
		}
		paint(dst, 0, 0, 200, 100, false);
		pixman_image_composite32(PIXMAN_OP_SRC, dst, NULL, ref, 0, 0, 0, 0, 0, 0, 200, 100);
		pixman_region32_clear(&applied);
		int r = xport_tiles_apply(dec, b, len, dst, &applied);
		assert_true(r == 0 || r == -EBADMSG || r == -EINVAL);
		/* Outside the applied region nothing changed. */
		uint32_t *d = pixman_image_get_data(dst), *e = pixman_image_get_data(ref);
		for (int y = 0; y < 100; y++) {
			for (int x = 0; x < 200; x++) {
				if (d[y * 200 + x] != e[y * 200 + x]) {
					assert_true(pixman_region32_contains_point(&applied, x, y, NULL));
				}
			}
		}
	}
	pixman_region32_fini(&applied);
	free(b);
	xport_tile_decoder_destroy(dec);
	pixman_image_unref(dst);
	pixman_image_unref(ref);
}

static void test_random_corruption(void **state)
{
	size_t len;
	uint8_t *orig = sample_payload(&len, false);
	random_corruption(orig, len);
	free(orig);
	orig = packed_payload(&len);
	random_corruption(orig, len);
	free(orig);
}

/* A packed delta whose contents are given: header (n records) + zstd of
 * content (magicless unless magic). */
static uint8_t *pack(const uint8_t *content, size_t clen, uint32_t n, bool magic, size_t *len)
{
	size_t cap = XPORT_TILES_HDR_SIZE + ZSTD_compressBound(clen);
	uint8_t *buf = malloc(cap);
	ZSTD_CCtx *zc = ZSTD_createCCtx();
	if (!magic) {
		assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(zc, ZSTD_c_format,
			ZSTD_f_zstd1_magicless)));
	}
	size_t z = ZSTD_compress2(zc, buf + XPORT_TILES_HDR_SIZE, cap - XPORT_TILES_HDR_SIZE,
		content, clen);
	assert_false(ZSTD_isError(z));
	ZSTD_freeCCtx(zc);
	memset(buf, 0, XPORT_TILES_HDR_SIZE);
	buf[0] = XPORT_TILES_VERSION;
	buf[1] = XPORT_TILES_PACKED;
	buf[2] = 6;
	xport_put_be32(buf + 4, 1);
	xport_put_be16(buf + 8, 200);
	xport_put_be16(buf + 10, 100);
	xport_put_be32(buf + 12, n);
	*len = XPORT_TILES_HDR_SIZE + z;
	return buf;
}

/* Packed deltas: XOR records decode onto the base frame; what is inside the
 * zstd frame is checked like any record list; truncation is caught. */
static void test_packed(void **state)
{
	size_t len;
	uint8_t *good = packed_payload(&len);
	pixman_image_t *dst = sample_image();
	assert_int_equal(apply_rc(good, len, dst), 0);
	for (size_t i = 0; i < len; i++) {
		uint8_t *copy = malloc(i ? i : 1);
		memcpy(copy, good, i);
		assert_int_equal(apply_rc(copy, i, dst), -EBADMSG);
		free(copy);
	}
	free(good);

	/* Hand-made contents: tile (0,0) as an XOR record of 64x64. */
	const size_t raw = 64 * 64 * 4;
	uint8_t *c = calloc(2, XPORT_TILES_REC_SIZE + raw + 1);
	uint8_t *r0 = c;
	r0[4] = XPORT_TILE_XOR;
	xport_put_be32(r0 + 8, (uint32_t)raw);
	r0[XPORT_TILES_REC_SIZE] = 0xff; /* flips the blue of pixel (0,0) */
	size_t one = XPORT_TILES_REC_SIZE + raw;
	uint8_t *buf;
	pixman_image_t *before = new_image(200, 100);
	pixman_image_composite32(PIXMAN_OP_SRC, dst, NULL, before, 0, 0, 0, 0, 0, 0, 200, 100);
	buf = pack(c, one, 1, false, &len);
	assert_int_equal(apply_rc(buf, len, dst), 0);
	uint32_t *d = pixman_image_get_data(dst), *e = pixman_image_get_data(before);
	assert_int_equal(d[0], e[0] ^ 0xffu);
	assert_int_equal(memcmp(d + 1, e + 1, 199 * 4), 0);
	free(buf);
#define PACKED_BAD(content, clen, n, magic) \
	do { \
		buf = pack(content, clen, n, magic, &len); \
		assert_int_equal(apply_rc(buf, len, dst), -EBADMSG); \
		free(buf); \
	} while (0)
	PACKED_BAD(c, one, 1, true);      /* a zstd frame with its magic number */
	PACKED_BAD(c, one, 2, false);     /* fewer records than the header says */
	PACKED_BAD(c, one + 1, 1, false); /* a byte after the records */
	PACKED_BAD(c, one - 1, 1, false); /* a record cut short */
	r0[4] = XPORT_TILE_LZ4;           /* LZ4 inside zstd: not allowed */
	PACKED_BAD(c, one, 1, false);
	r0[4] = XPORT_TILE_XOR;
	xport_put_be32(r0 + 8, (uint32_t)raw - 4); /* XOR of less than the tile */
	PACKED_BAD(c, one - 4, 1, false);
	xport_put_be32(r0 + 8, (uint32_t)raw);
	/* Two records: both headers, then both tiles' data. Of one tile: */
	memmove(c + 2 * XPORT_TILES_REC_SIZE, c + XPORT_TILES_REC_SIZE, raw);
	memcpy(c + XPORT_TILES_REC_SIZE, c, XPORT_TILES_REC_SIZE);
	memcpy(c + 2 * XPORT_TILES_REC_SIZE + raw, c + 2 * XPORT_TILES_REC_SIZE, raw);
	PACKED_BAD(c, 2 * one, 2, false);
	/* The same two in order are fine: tiles (0,0) and (1,0). */
	xport_put_be16(c + XPORT_TILES_REC_SIZE, 1);
	buf = pack(c, 2 * one, 2, false, &len);
	assert_int_equal(apply_rc(buf, len, dst), 0);
	free(buf);
	/* Interleaved (record, data, record, data) is not the packed layout. */
	uint8_t *il = calloc(1, 2 * one);
	memcpy(il, c, XPORT_TILES_REC_SIZE);
	memcpy(il + XPORT_TILES_REC_SIZE, c + 2 * XPORT_TILES_REC_SIZE, raw);
	memcpy(il + one, c + XPORT_TILES_REC_SIZE, XPORT_TILES_REC_SIZE);
	memcpy(il + one + XPORT_TILES_REC_SIZE, c + 2 * XPORT_TILES_REC_SIZE + raw, raw);
	PACKED_BAD(il, 2 * one, 2, false);
	free(il);
#undef PACKED_BAD
	/* No records, or nothing after the header. */
	struct xport_tiles_header h;
	buf = pack(c, one, 1, false, &len);
	xport_put_be32(buf + 12, 0);
	assert_int_equal(xport_tiles_parse_header(buf, len, &h), -EBADMSG);
	xport_put_be32(buf + 12, 1);
	assert_int_equal(xport_tiles_parse_header(buf, XPORT_TILES_HDR_SIZE, &h), -EBADMSG);
	free(buf);
	free(c);
	pixman_image_unref(before);
	pixman_image_unref(dst);
}

/* pack() with the compact header (version 2: no frame size, n as LEB128). */
static uint8_t *pack_compact(const uint8_t *content, size_t clen, uint32_t n, size_t *len)
{
	size_t plain;
	uint8_t *p = pack(content, clen, n, false, &plain);
	size_t z = plain - XPORT_TILES_HDR_SIZE;
	uint8_t *buf = malloc(16 + z);
	buf[0] = XPORT_TILES_VERSION_COMPACT;
	buf[1] = XPORT_TILES_PACKED;
	buf[2] = 6;
	xport_put_be32(buf + 3, 1);
	xport_put_be32(buf + 7, 0);
	size_t i = 11;
	do {
		buf[i++] = (uint8_t)((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
		n >>= 7;
	} while (n);
	memcpy(buf + i, p + XPORT_TILES_HDR_SIZE, z);
	free(p);
	*len = i + z;
	return buf;
}

/* XOR rectangles (version 5): just the part of a tile that changed, in its
 * bounds; and the compact header, whose frame size is the base's. */
static void test_packed_rect(void **state)
{
	pixman_image_t *dst = sample_image(), *before = new_image(200, 100);
	pixman_image_composite32(PIXMAN_OP_SRC, dst, NULL, before, 0, 0, 0, 0, 0, 0, 200, 100);
	/* Tile (1,0): its rectangle x 2, y 3, 4x5 pixels, all flipped. */
	const size_t data = 4 * 5 * 4;
	uint8_t c[XPORT_TILES_REC_SIZE + 64 * 64 * 4 + 1];
	memset(c, 0, sizeof(c));
	xport_put_be16(c, 1);
	c[4] = XPORT_TILE_XOR_RECT;
	c[5] = 2;
	c[6] = 3;
	c[7] = 4;
	xport_put_be32(c + 8, (uint32_t)data);
	memset(c + XPORT_TILES_REC_SIZE, 0xff, data);
	size_t one = XPORT_TILES_REC_SIZE + data, len;
	uint8_t *buf = pack_compact(c, one, 1, &len);
	struct xport_tiles_header h;
	assert_int_equal(xport_tiles_parse_header(buf, len, &h), 0);
	assert_int_equal(h.hdr_size, 12);
	assert_int_equal(h.width, 0);
	assert_int_equal(h.n_tiles, 1);
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	pixman_region32_t applied;
	pixman_region32_init(&applied);
	assert_int_equal(xport_tiles_apply(dec, buf, len, dst, &applied), 0);
	/* Exactly the rectangle changed, and is what was applied. */
	pixman_box32_t *e = pixman_region32_extents(&applied);
	assert_int_equal(pixman_region32_n_rects(&applied), 1);
	assert_true(e->x1 == 66 && e->y1 == 3 && e->x2 == 70 && e->y2 == 8);
	uint32_t *d = pixman_image_get_data(dst), *o = pixman_image_get_data(before);
	for (int y = 0; y < 100; y++) {
		for (int x = 0; x < 200; x++) {
			bool in = x >= 66 && x < 70 && y >= 3 && y < 8;
			assert_int_equal(d[y * 200 + x], in ? ~o[y * 200 + x] : o[y * 200 + x]);
		}
	}
	pixman_region32_fini(&applied);
	xport_tile_decoder_destroy(dec);
	free(buf);
#define RECT_BAD(x, y, w, dlen) \
	do { \
		c[5] = x; \
		c[6] = y; \
		c[7] = w; \
		xport_put_be32(c + 8, dlen); \
		buf = pack_compact(c, XPORT_TILES_REC_SIZE + (dlen), 1, &len); \
		assert_int_equal(apply_rc(buf, len, dst), -EBADMSG); \
		free(buf); \
	} while (0)
	RECT_BAD(2, 3, 0, 0);           /* no width */
	RECT_BAD(62, 3, 3, 3 * 4);      /* past the tile's right edge */
	RECT_BAD(0, 64, 1, 4);          /* below the tile */
	RECT_BAD(0, 60, 1, 5 * 4);      /* 5 rows from row 60 of 64 */
	RECT_BAD(0, 0, 3, 5 * 4);       /* not whole rows */
	RECT_BAD(0, 0, 3, 0);           /* no rows */
	RECT_BAD(0, 36, 1, 64 * 4);     /* 64 rows from row 36 */
#undef RECT_BAD
	/* The last tile row is clipped: 100 - 64 = 36 rows; a rectangle to
	 * its bottom is fine. */
	xport_put_be16(c + 2, 1);
	c[5] = 0;
	c[6] = 30;
	c[7] = 1;
	xport_put_be32(c + 8, 6 * 4);
	buf = pack_compact(c, XPORT_TILES_REC_SIZE + 6 * 4, 1, &len);
	assert_int_equal(apply_rc(buf, len, dst), 0);
	free(buf);
	c[6] = 31;
	buf = pack_compact(c, XPORT_TILES_REC_SIZE + 6 * 4, 1, &len);
	assert_int_equal(apply_rc(buf, len, dst), -EBADMSG);
	free(buf);
	/* Only inside packed frames: an unpacked XOR rectangle is bad. */
	uint8_t plain[XPORT_TILES_HDR_SIZE + XPORT_TILES_REC_SIZE + 24];
	memset(plain, 0, sizeof(plain));
	plain[0] = XPORT_TILES_VERSION;
	plain[2] = 6;
	xport_put_be32(plain + 4, 1);
	xport_put_be16(plain + 8, 200);
	xport_put_be16(plain + 10, 100);
	xport_put_be32(plain + 12, 1);
	memcpy(plain + XPORT_TILES_HDR_SIZE, c, XPORT_TILES_REC_SIZE);
	assert_int_equal(apply_rc(plain, sizeof(plain), dst), -EBADMSG);

	/* Compact headers that are not. */
	c[6] = 0;
	buf = pack_compact(c, XPORT_TILES_REC_SIZE + 6 * 4, 1, &len);
	assert_int_equal(apply_rc(buf, len, dst), 0);
	buf[1] = 0; /* not packed */
	assert_int_equal(xport_tiles_parse_header(buf, len, &h), -EBADMSG);
	buf[1] = XPORT_TILES_PACKED | XPORT_TILES_KEY;
	assert_int_equal(xport_tiles_parse_header(buf, len, &h), -EBADMSG);
	buf[1] = XPORT_TILES_PACKED;
	buf[2] = 8; /* tile 256 */
	assert_int_equal(xport_tiles_parse_header(buf, len, &h), -EBADMSG);
	buf[2] = 6;
	buf[11] = 0; /* no records */
	assert_int_equal(xport_tiles_parse_header(buf, len, &h), -EBADMSG);
	buf[11] = 1;
	assert_int_equal(xport_tiles_parse_header(buf, 12, &h), -EBADMSG); /* no data */
	assert_int_equal(xport_tiles_parse_header(buf, 11, &h), -EBADMSG); /* no n_tiles */
	free(buf);
	/* n_tiles: 3 LEB128 bytes at most; more tiles than the frame has is
	 * bad once the frame (the base) is known. */
	uint8_t leb[16] = { XPORT_TILES_VERSION_COMPACT, XPORT_TILES_PACKED, 6, 0, 0, 0, 1, 0, 0, 0,
		0, 0x80, 0x80, 0x80, 0x01, 0x00 };
	assert_int_equal(xport_tiles_parse_header(leb, sizeof(leb), &h), -EBADMSG);
	leb[13] = 0x01;
	assert_int_equal(xport_tiles_parse_header(leb, sizeof(leb), &h), 0);
	assert_int_equal(h.n_tiles, 1u << 14);
	assert_int_equal(h.hdr_size, 14);
	assert_int_equal(apply_rc(leb, sizeof(leb), dst), -EBADMSG); /* 8 tiles in 200x100 */
	pixman_image_unref(before);
	pixman_image_unref(dst);
}

/* The delta stream: chunks continue one zstd frame for receivers that have
 * every chunk before; a receiver that does not (joined, dropped a frame,
 * applied a key frame) cannot decode a CONT chunk, and decodes again from
 * the next start. A square moving across flat colour, as make bench's
 * pattern guest does: each chunk refers to the ones before and costs less
 * than a chunk alone. */
static void test_stream(void **state)
{
	const int w = 640, h = 256;
	pixman_image_t *img = new_image(w, h), *a = new_image(w, h), *b = new_image(w, h);
	pixman_image_t *bg = pixman_image_create_solid_fill(&(pixman_color_t){ 0x4000, 0x8000,
		0xc000, 0xffff });
	pixman_image_composite32(PIXMAN_OP_SRC, bg, NULL, img, 0, 0, 0, 0, 0, 0, w, h);
	struct xport_tile_encoder *enc = xport_tile_encoder_create(w, h, 6);
	struct xport_tile_encoder *alone = xport_tile_encoder_create(w, h, 6);
	struct xport_tile_decoder *da = xport_tile_decoder_create(), *db = xport_tile_decoder_create();
	pixman_region32_t all, applied;
	pixman_region32_init_rect(&all, 0, 0, w, h);
	pixman_region32_init(&applied);
	pixman_image_t *white = pixman_image_create_solid_fill(&(pixman_color_t){ 0xffff, 0xffff,
		0xffff, 0xffff });
	uint8_t *buf, *kf;
	size_t len, kf_len, chained = 0, single = 0;
	assert_true(xport_tile_encoder_diff(enc, img, NULL, true) > 0);
	assert_true(xport_tile_encoder_diff(alone, img, NULL, true) > 0);
	assert_int_equal(xport_tile_encode(enc, img, NULL, XPORT_TILES_KEY, 0, 0, &kf, &kf_len), 0);
	apply_ok(da, kf, kf_len, a, &applied);
	free(kf);
	for (int f = 1; f <= 40; f++) {
		pixman_image_composite32(PIXMAN_OP_SRC, bg, NULL, img, 0, 0, 0, 0, 0, 0, w, h);
		pixman_image_composite32(PIXMAN_OP_SRC, white, NULL, img, 0, 0, 0, 0, 100 + f,
			20 + 2 * f, 16, 16);
		uint32_t crc = xport_tiles_image_crc(img);
		assert_true(xport_tile_encoder_diff(enc, img, &all, true) > 0);
		assert_true(xport_tile_encoder_diff(alone, img, &all, true) > 0);
		assert_int_equal(xport_tile_encode_packed(alone, 0, (uint32_t)f, crc, &buf, &len), 0);
		assert_int_equal(buf[1], XPORT_TILES_PACKED | XPORT_TILES_STREAM);
		single += f > 1 ? len : 0;
		free(buf);
		assert_int_equal(xport_tile_encode_packed(enc, XPORT_TILES_CONT, (uint32_t)f, crc, &buf,
			&len), 0);
		/* The first chunk starts the stream (there was none), the rest
		 * continue it. */
		assert_int_equal(buf[1], XPORT_TILES_PACKED | XPORT_TILES_STREAM |
			(f > 1 ? XPORT_TILES_CONT : 0));
		chained += f > 1 ? len : 0;
		apply_ok(da, buf, len, a, &applied);
		assert_true(images_equal(img, a));
		if (f == 10) {
			/* A receiver without the chunks before cannot decode it. */
			assert_int_equal(apply_rc(buf, len, b), -EBADMSG);
		}
		free(buf);
	}
	print_message("square moving, 39 chunks: %zu bytes chained, %zu alone\n", chained,
		single);
	assert_true(chained * 3 < single * 2);

	/* Hostile chunks after a good start: a corrupted CONT chunk fails or
	 * applies, never reads or writes out of bounds (ASan), and what it
	 * wrote is in the applied region. */
	{
		uint8_t *c1, *c2;
		size_t l1, l2;
		pixman_image_t *base = new_image(w, h), *t = new_image(w, h);
		copy_image(base, img);
		pixman_image_composite32(PIXMAN_OP_SRC, white, NULL, img, 0, 0, 0, 0, 200, 100, 16, 16);
		assert_true(xport_tile_encoder_diff(enc, img, &all, true) > 0);
		assert_int_equal(xport_tile_encode_packed(enc, 0, 50, 0, &c1, &l1), 0);
		pixman_image_composite32(PIXMAN_OP_SRC, white, NULL, img, 0, 0, 0, 0, 203, 102, 16, 16);
		assert_true(xport_tile_encoder_diff(enc, img, &all, true) > 0);
		assert_int_equal(xport_tile_encode_packed(enc, XPORT_TILES_CONT, 51, 0, &c2, &l2), 0);
		assert_true(c2[1] & XPORT_TILES_CONT);
		uint8_t *m = malloc(l2);
		for (unsigned i = 0; i < 300; i++) {
			struct xport_tile_decoder *d = xport_tile_decoder_create();
			copy_image(t, base);
			apply_ok(d, c1, l1, t, &applied);
			pixman_image_t *before = new_image(w, h);
			copy_image(before, t);
			memcpy(m, c2, l2);
			unsigned flips = 1 + next_rand() % 3;
			for (unsigned k = 0; k < flips; k++) {
				/* Mostly in the zstd data, sometimes the header. */
				size_t at = next_rand() % 8 ? XPORT_TILES_HDR_SIZE +
					next_rand() % (l2 - XPORT_TILES_HDR_SIZE) : next_rand() % l2;
				m[at] ^= (uint8_t)(1u << (next_rand() % 8));
			}
			pixman_region32_clear(&applied);
			int r = xport_tiles_apply(d, m, l2, t, &applied);
			assert_true(r == 0 || r == -EBADMSG || r == -EINVAL);
			uint32_t *pt = pixman_image_get_data(t), *pb = pixman_image_get_data(before);
			for (int y = 0; y < h; y++) {
				for (int x = 0; x < w; x++) {
					if (pt[y * w + x] != pb[y * w + x]) {
						assert_true(pixman_region32_contains_point(&applied, x, y,
							NULL));
					}
				}
			}
			pixman_image_unref(before);
			xport_tile_decoder_destroy(d);
		}
		free(m);
		free(c1);
		free(c2);
		pixman_image_unref(base);
		pixman_image_unref(t);
	}

	/* b joins (key frame); the server starts a new stream for it, which a
	 * receiver that has the old one decodes all the same. */
	assert_int_equal(xport_tile_encode(enc, img, NULL, XPORT_TILES_KEY, 0, 0, &kf, &kf_len), 0);
	apply_ok(db, kf, kf_len, b, &applied);
	free(kf);
	pixman_image_composite32(PIXMAN_OP_SRC, white, NULL, img, 0, 0, 0, 0, 300, 100, 16, 16);
	assert_true(xport_tile_encoder_diff(enc, img, &all, true) > 0);
	assert_int_equal(xport_tile_encode_packed(enc, 0, 41, 0, &buf, &len), 0);
	assert_int_equal(buf[1], XPORT_TILES_PACKED | XPORT_TILES_STREAM);
	apply_ok(da, buf, len, a, &applied);
	apply_ok(db, buf, len, b, &applied);
	free(buf);
	pixman_image_composite32(PIXMAN_OP_SRC, white, NULL, img, 0, 0, 0, 0, 320, 110, 16, 16);
	assert_true(xport_tile_encoder_diff(enc, img, &all, true) > 0);
	assert_int_equal(xport_tile_encode_packed(enc, XPORT_TILES_CONT, 42, 0, &buf, &len), 0);
	assert_true(buf[1] & XPORT_TILES_CONT);
	apply_ok(db, buf, len, b, &applied);
	assert_true(images_equal(img, b));
	/* A receiver that dropped a frame, or applied a key frame, has no
	 * stream to continue. */
	xport_tile_decoder_break(da);
	pixman_image_t *copy = new_image(w, h);
	copy_image(copy, a);
	assert_int_equal(apply_rc(buf, len, copy), -EBADMSG);
	pixman_region32_clear(&applied);
	assert_int_equal(xport_tiles_apply(da, buf, len, copy, &applied), -EBADMSG);
	free(buf);
	pixman_image_unref(copy);
	pixman_image_unref(white);
	pixman_image_unref(bg);
	pixman_region32_fini(&all);
	pixman_region32_fini(&applied);
	xport_tile_encoder_destroy(enc);
	xport_tile_encoder_destroy(alone);
	xport_tile_decoder_destroy(da);
	xport_tile_decoder_destroy(db);
	pixman_image_unref(img);
	pixman_image_unref(a);
	pixman_image_unref(b);
}

/* What packing is for: a 16x16 square moved by 3 pixels on a 1920x720
 * frame of flat bars costs a fraction of the LZ4 tiles. */
static void test_packed_size(void **state)
{
	const int w = 1920, h = 720;
	pixman_image_t *img = new_image(w, h), *dst = new_image(w, h);
	for (int i = 0; i < 8; i++) {
		pixman_image_t *bar = pixman_image_create_solid_fill(&(pixman_color_t){
			(uint16_t)(i * 0x2000), (uint16_t)(0xffff - i * 0x1000), 0x8000, 0xffff });
		pixman_image_composite32(PIXMAN_OP_SRC, bar, NULL, img, 0, 0, 0, 0, i * w / 8, 0,
			w / 8, h);
		pixman_image_unref(bar);
	}
	pixman_image_t *white = pixman_image_create_solid_fill(&(pixman_color_t){ 0xffff, 0xffff,
		0xffff, 0xffff });
	struct xport_tile_encoder *enc = xport_tile_encoder_create(w, h, 6);
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	pixman_region32_t all, applied;
	pixman_region32_init_rect(&all, 0, 0, w, h);
	pixman_region32_init(&applied);
	pixman_image_composite32(PIXMAN_OP_SRC, white, NULL, img, 0, 0, 0, 0, 230, 50, 16, 16);
	uint8_t *kf;
	size_t kf_len;
	assert_true(xport_tile_encoder_diff(enc, img, NULL, true) > 0);
	assert_int_equal(xport_tile_encode(enc, img, NULL, XPORT_TILES_KEY, 0, 0, &kf, &kf_len), 0);
	apply_ok(dec, kf, kf_len, dst, &applied);
	free(kf);
	/* Move: repaint the old square's bar, draw it 3 pixels on. */
	pixman_image_t *bar = pixman_image_create_solid_fill(&(pixman_color_t){ 0x2000, 0xefff,
		0x8000, 0xffff });
	pixman_image_composite32(PIXMAN_OP_SRC, bar, NULL, img, 0, 0, 0, 0, 230, 50, 16, 16);
	pixman_image_composite32(PIXMAN_OP_SRC, white, NULL, img, 0, 0, 0, 0, 233, 53, 16, 16);
	uint32_t crc = xport_tiles_image_crc(img);
	assert_int_equal(xport_tile_encoder_diff(enc, img, &all, true), 2); /* straddles x=256 */
	uint8_t *lz, *pk;
	size_t lz_len, pk_len;
	assert_int_equal(xport_tile_encode_diff(enc, 0, 1, crc, &lz, &lz_len), 0);
	assert_int_equal(xport_tile_encode_packed(enc, 0, 1, crc, &pk, &pk_len), 0);
	print_message("square moved: LZ4 tiles %zu bytes, packed %zu bytes\n", lz_len, pk_len);
	assert_true(pk_len * 3 < lz_len);
	assert_true(pk[1] & XPORT_TILES_PACKED);
	apply_ok(dec, pk, pk_len, dst, &applied);
	assert_true(images_equal(img, dst));
	free(lz);
	free(pk);
	/* Every bar changes colour: the whole frame, but a few runs per tile
	 * (rows repeat): packed, a fraction of the LZ4 tiles. */
	for (int i = 0; i < 8; i++) {
		pixman_image_t *b = pixman_image_create_solid_fill(&(pixman_color_t){
			(uint16_t)(0xffff - i * 0x2000), (uint16_t)(i * 0x1000), 0x4000, 0xffff });
		pixman_image_composite32(PIXMAN_OP_SRC, b, NULL, img, 0, 0, 0, 0, i * w / 8, 0,
			w / 8, h);
		pixman_image_unref(b);
	}
	crc = xport_tiles_image_crc(img);
	assert_int_equal(xport_tile_encoder_diff(enc, img, &all, true), 30 * 12);
	assert_int_equal(xport_tile_encode_diff(enc, 0, 2, crc, &lz, &lz_len), 0);
	assert_int_equal(xport_tile_encode_packed(enc, 0, 2, crc, &pk, &pk_len), 0);
	print_message("bars changed: LZ4 tiles %zu bytes, packed %zu bytes\n", lz_len, pk_len);
	assert_true(pk[1] & XPORT_TILES_PACKED);
	assert_true(pk_len * 5 < lz_len);
	apply_ok(dec, pk, pk_len, dst, &applied);
	assert_true(images_equal(img, dst));
	free(lz);
	free(pk);
	/* Noise over 3x3 tiles (video-like): LZ4 tiles, as for older
	 * receivers (quicker than zstd on such data). */
	paint(img, 640, 128, 832, 320, true);
	crc = xport_tiles_image_crc(img);
	assert_int_equal(xport_tile_encoder_diff(enc, img, &all, true), 9);
	assert_int_equal(xport_tile_encode_packed(enc, 0, 3, crc, &pk, &pk_len), 0);
	assert_false(pk[1] & XPORT_TILES_PACKED);
	assert_int_equal(pk[XPORT_TILES_HDR_SIZE + 4], XPORT_TILE_RAW);
	apply_ok(dec, pk, pk_len, dst, &applied);
	assert_true(images_equal(img, dst));
	free(pk);
	pixman_image_unref(bar);
	pixman_image_unref(white);
	pixman_region32_fini(&all);
	pixman_region32_fini(&applied);
	xport_tile_encoder_destroy(enc);
	xport_tile_decoder_destroy(dec);
	pixman_image_unref(img);
	pixman_image_unref(dst);
}

/* --- encoding against the reference --- */

/* Tiles (64x64, clipped) in which a and b differ, the slow obvious way. */
static uint32_t tiles_differing(pixman_image_t *a, pixman_image_t *b)
{
	int w = pixman_image_get_width(a), h = pixman_image_get_height(a);
	const uint32_t *da = pixman_image_get_data(a), *db = pixman_image_get_data(b);
	int sa = pixman_image_get_stride(a) / 4, sb = pixman_image_get_stride(b) / 4;
	uint32_t n = 0;
	for (int ty = 0; ty < h; ty += 64) {
		for (int tx = 0; tx < w; tx += 64) {
			bool differs = false;
			for (int y = ty; y < ty + 64 && y < h && !differs; y++) {
				for (int x = tx; x < tx + 64 && x < w && !differs; x++) {
					differs = da[y * sa + x] != db[y * sb + x];
				}
			}
			n += differs;
		}
	}
	return n;
}

/* One frame as the server makes it: diff, then a delta for a receiver in
 * step (applied to dst), the same delta packed for another (pdst) and, if
 * key_dst, a key frame for a joiner. Returns the tiles in the delta, after
 * checking the receivers are exact. */
static uint32_t ref_frame(struct xport_tile_encoder *enc, struct xport_tile_decoder *dec,
	struct xport_tile_decoder *pdec, pixman_image_t *src, const pixman_region32_t *damage, pixman_image_t *dst,
	pixman_image_t *pdst, pixman_image_t *key_dst, uint32_t base_id)
{
	uint32_t crc = xport_tiles_image_crc(src);
	int n = xport_tile_encoder_diff(enc, src, key_dst ? NULL : damage, true);
	assert_true(n >= 0);
	uint8_t *buf;
	size_t len;
	struct xport_tiles_header hdr;
	pixman_region32_t applied;
	pixman_region32_init(&applied);
	assert_int_equal(xport_tile_encode_diff(enc, 0, base_id, crc, &buf, &len), 0);
	assert_int_equal(xport_tiles_parse_header(buf, len, &hdr), 0);
	assert_int_equal(hdr.n_tiles, n);
	assert_int_equal(hdr.base_id, base_id);
	assert_int_equal(hdr.crc, crc);
	apply_ok(dec, buf, len, dst, &applied);
	free(buf);
	assert_true(images_equal(src, dst));
	assert_int_equal(xport_tiles_image_crc(dst), crc);
	/* pdst has every chunk of the stream: it may continue. */
	assert_int_equal(xport_tile_encode_packed(enc, XPORT_TILES_CONT, base_id, crc, &buf, &len),
		0);
	assert_int_equal(xport_tiles_parse_header(buf, len, &hdr), 0);
	assert_int_equal(hdr.n_tiles, n);
	assert_int_equal(hdr.base_id, base_id);
	/* Packed only with something to pack. */
	assert_true(!(hdr.flags & XPORT_TILES_PACKED) || n > 0);
	assert_true(!(hdr.flags & XPORT_TILES_CONT) || (hdr.flags & XPORT_TILES_STREAM));
	apply_ok(pdec, buf, len, pdst, &applied);
	free(buf);
	assert_true(images_equal(src, pdst));
	if (key_dst) {
		assert_int_equal(xport_tile_encode(enc, src, NULL, XPORT_TILES_KEY, 0, crc, &buf, &len),
			0);
		apply_ok(dec, buf, len, key_dst, &applied);
		free(buf);
		assert_true(images_equal(src, key_dst));
	}
	pixman_region32_fini(&applied);
	return (uint32_t)n;
}

/* A page flip damages everything while a 16x16 square moved: the delta is
 * exactly the tiles that changed, and the receiver stays exact. */
static void test_diff_full_damage(void **state)
{
	const int w = 1600, h = 600;
	pixman_image_t *src = new_image(w, h), *dst = new_image(w, h), *joiner = new_image(w, h);
	pixman_image_t *pdst = new_image(w, h);
	paint(src, 0, 0, w, h, false);
	paint(src, 300, 200, 500, 400, true);
	struct xport_tile_encoder *enc = xport_tile_encoder_create(w, h, 6);
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	struct xport_tile_decoder *pdec = xport_tile_decoder_create();
	pixman_region32_t all;
	pixman_region32_init_rect(&all, 0, 0, w, h);
	/* The first frame is a key frame: its diff covers the whole grid. */
	assert_int_equal(ref_frame(enc, dec, pdec, src, NULL, dst, pdst, joiner, 1), 25 * 10);

	/* A square inside one tile (tile 3,2). */
	pixman_image_t *white = pixman_image_create_solid_fill(&(pixman_color_t){ 0xffff, 0xffff,
		0xffff, 0xffff });
	pixman_image_composite32(PIXMAN_OP_SRC, white, NULL, src, 0, 0, 0, 0, 200, 140, 16, 16);
	assert_int_equal(ref_frame(enc, dec, pdec, src, &all, dst, pdst, NULL, 2), 1);
	/* The record names that tile. */
	uint8_t *buf;
	size_t len;
	assert_int_equal(xport_tile_encode_diff(enc, 0, 2, 0, &buf, &len), 0);
	assert_int_equal(xport_get_be16(buf + XPORT_TILES_HDR_SIZE), 3);
	assert_int_equal(xport_get_be16(buf + XPORT_TILES_HDR_SIZE + 2), 2);
	free(buf);
	/* The same damage again with nothing changed: an empty delta. */
	assert_int_equal(ref_frame(enc, dec, pdec, src, &all, dst, pdst, NULL, 3), 0);
	/* Across a corner of four tiles, in the bottom-right clipped tile, and
	 * a change that only touches the X byte of the last pixel. */
	pixman_image_composite32(PIXMAN_OP_SRC, white, NULL, src, 0, 0, 0, 0, 760, 56, 16, 16);
	pixman_image_composite32(PIXMAN_OP_SRC, white, NULL, src, 0, 0, 0, 0, 1590, 590, 10, 10);
	uint32_t *d = pixman_image_get_data(src);
	d[(h - 1) * w + w / 2] ^= 0x01000000u;
	assert_int_equal(ref_frame(enc, dec, pdec, src, &all, dst, pdst, NULL, 4), 4 + 1 + 1);
	/* A tile that changes back is a change too: the reference is the frame
	 * emitted last. */
	d[(h - 1) * w + w / 2] ^= 0x01000000u;
	assert_int_equal(ref_frame(enc, dec, pdec, src, &all, dst, pdst, NULL, 5), 1);
	pixman_image_unref(white);

	assert_int_equal(xport_tile_encode_diff(enc, XPORT_TILES_KEY, 0, 0, &buf, &len), -EINVAL);
	pixman_image_t *other = new_image(64, 64);
	assert_int_equal(xport_tile_encoder_diff(enc, other, &all, true), -EINVAL);
	pixman_image_unref(other);
	assert_int_equal(xport_tile_encode_packed(enc, XPORT_TILES_KEY, 0, 0, &buf, &len), -EINVAL);
	/* Packing needs a diff that kept the XOR records. */
	assert_int_equal(xport_tile_encoder_diff(enc, src, &all, false), 0);
	assert_int_equal(xport_tile_encode_packed(enc, 0, 6, 0, &buf, &len), -EINVAL);
	pixman_region32_fini(&all);
	xport_tile_encoder_destroy(enc);
	xport_tile_decoder_destroy(dec);
	xport_tile_decoder_destroy(pdec);
	pixman_image_unref(src);
	pixman_image_unref(dst);
	pixman_image_unref(pdst);
	pixman_image_unref(joiner);
}

/* Random changes under random over-reported damage, for odd sizes: every
 * delta holds exactly the tiles that differ from the frame before, the
 * receiver in step and a receiver that joined late (key frame) stay exact. */
static void diff_sequence(int w, int h)
{
	pixman_image_t *src = new_image(w, h), *prev = new_image(w, h);
	pixman_image_t *a = new_image(w, h), *b = new_image(w, h), *p = new_image(w, h);
	paint(src, 0, 0, w, h, false);
	struct xport_tile_encoder *enc = xport_tile_encoder_create((uint32_t)w, (uint32_t)h, 6);
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	struct xport_tile_decoder *pdec = xport_tile_decoder_create();
	pixman_region32_t damage;
	pixman_region32_init(&damage);
	ref_frame(enc, dec, pdec, src, NULL, a, p, b, 1);
	for (uint32_t f = 2; f < 60; f++) {
		copy_image(prev, src);
		pixman_region32_clear(&damage);
		unsigned rects = next_rand() % 3;
		for (unsigned r = 0; r < rects; r++) {
			int x = (int)(next_rand() % (unsigned)w), y = (int)(next_rand() % (unsigned)h);
			int x2 = x + 1 + (int)(next_rand() % 40), y2 = y + 1 + (int)(next_rand() % 40);
			x2 = x2 > w ? w : x2;
			y2 = y2 > h ? h : y2;
			paint(src, x, y, x2, y2, next_rand() & 1);
			pixman_region32_union_rect(&damage, &damage, x, y, (unsigned)(x2 - x),
				(unsigned)(y2 - y));
		}
		/* Over-reported: extra boxes, sometimes the whole frame, some of it
		 * outside the frame. */
		if (next_rand() % 4 == 0) {
			pixman_region32_union_rect(&damage, &damage, -10, -10, (unsigned)w + 20,
				(unsigned)h + 20);
		} else {
			pixman_region32_union_rect(&damage, &damage, (int)(next_rand() % (unsigned)w),
				(int)(next_rand() % (unsigned)h), 100, 100);
		}
		bool join = next_rand() % 10 == 0;
		uint32_t n = ref_frame(enc, dec, pdec, src, &damage, a, p, join ? b : NULL, f);
		assert_int_equal(n, tiles_differing(prev, src));
		if (!join) {
			/* b is a receiver too: the same delta keeps it exact. */
			copy_image(b, a);
		}
	}
	pixman_region32_fini(&damage);
	xport_tile_encoder_destroy(enc);
	xport_tile_decoder_destroy(dec);
	xport_tile_decoder_destroy(pdec);
	pixman_image_unref(src);
	pixman_image_unref(prev);
	pixman_image_unref(a);
	pixman_image_unref(b);
	pixman_image_unref(p);
}

static void test_diff_sequence(void **state)
{
	static const int sizes[][2] = { { 1, 1 }, { 65, 63 }, { 400, 300 }, { 333, 250 },
		{ 1000, 7 } };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		diff_sequence(sizes[i][0], sizes[i][1]);
	}
}

/* Changes outside the damage are not looked at (damage is the contract);
 * a diff of every tile, as a key frame does, brings the reference in step. */
static void test_diff_resync(void **state)
{
	pixman_image_t *src = new_image(256, 128), *dst = new_image(256, 128);
	paint(src, 0, 0, 256, 128, false);
	struct xport_tile_encoder *enc = xport_tile_encoder_create(256, 128, 6);
	pixman_region32_t damage;
	pixman_region32_init_rect(&damage, 0, 0, 64, 64);
	paint(src, 200, 100, 210, 110, true); /* tile (3,1): not damaged */
	assert_int_equal(xport_tile_encoder_diff(enc, src, NULL, false), 8);
	paint(src, 200, 100, 210, 110, true);
	assert_int_equal(xport_tile_encoder_diff(enc, src, &damage, true), 0);
	assert_int_equal(xport_tile_encoder_diff(enc, src, NULL, true), 1);
	assert_int_equal(xport_tile_encoder_diff(enc, src, NULL, false), 0);
	pixman_region32_fini(&damage);
	xport_tile_encoder_destroy(enc);
	pixman_image_unref(src);
	pixman_image_unref(dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_sizes),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_random_corruption),
		cmocka_unit_test(test_packed),
		cmocka_unit_test(test_packed_rect),
		cmocka_unit_test(test_packed_size),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_diff_full_damage),
		cmocka_unit_test(test_diff_sequence),
		cmocka_unit_test(test_diff_resync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
