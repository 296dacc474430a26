/* SPDX-License-Identifier: MIT */
/* Rough costs of the transport's per-frame work on this machine: CRC32C
 * (hardware and table), tile encode (key frame, small delta) and decode on
 * a 1920x720 zone, and the server's damage-driven encoding against its
 * reference (xport_tile_encoder_diff) next to encoding every damaged tile:
 * a page flip at 1600x600 that moved only a 16x16 square, and a real full
 * change at 1920x1080. Tiles as version 4 clients get them (packed XOR
 * deltas, tiles.h) and as LZ4 tiles. Not a test: run it by hand. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/crc32c.h"
#include "transport/rfc4175.h"
#include "transport/tiles.h"
#include "util/clock.h"

static uint32_t rng = 1;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Something like a dashboard: gradients, flat panels, a noisy "map";
 * phase shifts the gradients so that every tile differs between phases. */
static void paint(pixman_image_t *img, uint32_t phase)
{
	uint32_t *d = pixman_image_get_data(img);
	int w = pixman_image_get_width(img), h = pixman_image_get_height(img);
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			uint32_t v;
			if (x > w * 2 / 3 && y > h / 7 && y < h * 5 / 6) {
				v = next_rand() & 0x3f3f3f;
			} else if ((x / 160 + y / 90) & 1) {
				v = 0x202830 + phase;
			} else {
				v = (uint32_t)((x + (int)phase) / 8) << 16 | (uint32_t)(y / 3) << 8 | 0x40;
			}
			d[y * w + x] = 0xff000000u | v;
		}
	}
}

#define TIME(label, iters, bytes, stmt) \
	do { \
		uint64_t t0 = zl_now_ns(); \
		for (unsigned i_ = 0; i_ < (iters); i_++) { \
			stmt; \
		} \
		double ns = (double)(zl_now_ns() - t0) / (iters); \
		printf("%-32s %9.3f ms", label, ns / 1e6); \
		if (bytes) { \
			printf("  %6.2f GB/s", (double)(bytes) / ns); \
		} \
		printf("\n"); \
	} while (0)

static void bench_basics(void)
{
	const int w = 1920, h = 720;
	pixman_image_t *img = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, 0);
	pixman_image_t *dst = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, 0);
	paint(img, 0);
	const void *px = pixman_image_get_data(img);
	size_t bytes = (size_t)w * h * 4;
	volatile uint32_t sink = 0;
	printf("%dx%d x8r8g8b8 (%.1f MB), crc32c hw: %s\n", w, h, bytes / 1e6,
		xport_crc32c_hw_available() ? "yes" : "no");
	TIME("crc32c table", 20, bytes, sink += xport_crc32c_sw(0, px, bytes));
	if (xport_crc32c_hw_available()) {
		TIME("crc32c sse4.2", 100, bytes, sink += xport_crc32c_hw(0, px, bytes));
	}

	struct xport_tile_encoder *enc = xport_tile_encoder_create(w, h, 6);
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	uint8_t *buf;
	size_t len = 0;
	TIME("encode key frame", 10, 0,
		xport_tile_encode(enc, img, NULL, XPORT_TILES_KEY, 0, 0, &buf, &len); free(buf));
	xport_tile_encode(enc, img, NULL, XPORT_TILES_KEY, 0, 0, &buf, &len);
	printf("  key frame: %zu bytes (%.1f%% of raw), %zu packets at MTU 1500\n", len,
		100.0 * len / bytes, (len + 1423) / 1424);
	pixman_region32_t applied;
	pixman_region32_init(&applied);
	TIME("decode key frame", 10, 0, xport_tiles_apply(dec, buf, len, dst, &applied));
	free(buf);

	/* A 256x256 needle/cursor-sized change. */
	pixman_region32_t damage;
	pixman_region32_init_rect(&damage, 700, 200, 256, 256);
	TIME("encode delta 256x256", 200, 0,
		xport_tile_encode(enc, img, &damage, 0, 1, 0, &buf, &len); free(buf));
	xport_tile_encode(enc, img, &damage, 0, 1, 0, &buf, &len);
	printf("  delta: %zu bytes\n", len);
	TIME("decode delta 256x256", 200, 0, xport_tiles_apply(dec, buf, len, dst, &applied));
	free(buf);
	pixman_region32_fini(&damage);
	pixman_region32_fini(&applied);
	xport_tile_encoder_destroy(enc);
	xport_tile_decoder_destroy(dec);
	pixman_image_unref(img);
	pixman_image_unref(dst);
	(void)sink;
}

struct frame_cost {
	double ms, crc_ms;
	double bytes, tiles;
};

/* frames frames of w x h whose damage is always the whole frame; step(k)
 * changes the image for frame k. With ref, each frame is diffed against the
 * reference and only the changed tiles encoded (the server's path); without,
 * every damaged tile is encoded. Times the encode (with the diff), and the
 * per-frame CRC separately. */
static struct frame_cost run_frames(pixman_image_t *img, unsigned frames, bool ref,
	void (*step)(pixman_image_t *img, unsigned k))
{
	uint32_t w = (uint32_t)pixman_image_get_width(img);
	uint32_t h = (uint32_t)pixman_image_get_height(img);
	struct xport_tile_encoder *enc = xport_tile_encoder_create(w, h, 6);
	pixman_region32_t all;
	pixman_region32_init_rect(&all, 0, 0, w, h);
	step(img, 0);
	/* The reference starts in step, as after a key frame. */
	xport_tile_encoder_diff(enc, img, NULL, false);
	struct frame_cost c = { 0 };
	uint64_t t_enc = 0, t_crc = 0;
	for (unsigned k = 1; k <= frames; k++) {
		step(img, k);
		uint64_t t0 = zl_now_ns();
		uint8_t *buf;
		size_t len;
		int n = 0;
		if (ref) {
			n = xport_tile_encoder_diff(enc, img, &all, false);
			xport_tile_encode_diff(enc, 0, k, 0, &buf, &len);
		} else {
			xport_tile_encode(enc, img, &all, 0, k, 0, &buf, &len);
		}
		uint64_t t1 = zl_now_ns();
		volatile uint32_t crc = xport_tiles_image_crc(img);
		(void)crc;
		t_crc += zl_now_ns() - t1;
		t_enc += t1 - t0;
		c.bytes += (double)len;
		c.tiles += ref ? (double)n : (double)((w + 63) / 64 * ((h + 63) / 64));
		free(buf);
	}
	c.ms = (double)t_enc / frames / 1e6;
	c.crc_ms = (double)t_crc / frames / 1e6;
	c.bytes /= frames;
	c.tiles /= frames;
	pixman_region32_fini(&all);
	xport_tile_encoder_destroy(enc);
	return c;
}

static void print_cost(const char *label, struct frame_cost c)
{
	printf("  %-28s %10.0f bytes/frame %7.1f tiles %8.3f ms encode %7.3f ms crc\n", label,
		c.bytes, c.tiles, c.ms, c.crc_ms);
}

/* A 16x16 white square bouncing 3 px a frame over the dashboard, like the
 * guest's pattern app: only the square's old and new tiles change. */
static pixman_image_t *background, *phase[2];

static void step_square(pixman_image_t *img, unsigned k)
{
	int w = pixman_image_get_width(img), h = pixman_image_get_height(img);
	if (k == 0) {
		rng = 1; /* the same noise for every run */
		paint(img, 0);
		if (background) {
			pixman_image_unref(background);
		}
		background = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, 0);
		pixman_image_composite32(PIXMAN_OP_SRC, img, NULL, background, 0, 0, 0, 0, 0, 0,
			(uint16_t)w, (uint16_t)h);
	}
	int span = w - 16;
	int x0 = (int)((k ? k - 1 : 0) * 3 % (unsigned)span), x1 = (int)(k * 3 % (unsigned)span);
	int y = h / 2;
	pixman_image_composite32(PIXMAN_OP_SRC, background, NULL, img, x0, y, 0, 0, x0, y, 16, 16);
	pixman_color_t white = { 0xffff, 0xffff, 0xffff, 0xffff };
	pixman_image_t *fill = pixman_image_create_solid_fill(&white);
	pixman_image_composite32(PIXMAN_OP_SRC, fill, NULL, img, 0, 0, 0, 0, x1, y, 16, 16);
	pixman_image_unref(fill);
}

/* Every pixel outside the noisy map changes every frame (and the map is
 * new noise): a real full change. Two prepared phases alternate, so the
 * painting is not timed. */
static void step_full(pixman_image_t *img, unsigned k)
{
	int w = pixman_image_get_width(img), h = pixman_image_get_height(img);
	if (k == 0) {
		rng = 1;
		for (int i = 0; i < 2; i++) {
			if (phase[i]) {
				pixman_image_unref(phase[i]);
			}
			phase[i] = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, 0);
			paint(phase[i], (uint32_t)i * 8);
		}
	}
	pixman_image_composite32(PIXMAN_OP_SRC, phase[k & 1], NULL, img, 0, 0, 0, 0, 0, 0,
		(uint16_t)w, (uint16_t)h);
}

/* Per codec at 1920x1080, small damage (the square) and full frames:
 * bytes per frame, encode and decode ms, against the targets (tiles at
 * least 50:1 against raw on small damage; a full tiles frame encoded in at
 * most 4 ms on one core). Raw: the RFC 4175 packets (RTP headers included)
 * of every frame, encode = RGB conversion + packetizing, decode = parsing
 * into a frame. */
struct codec_cost {
	double bytes, enc_ms, dec_ms;
};

static void raw_seg(void *data, uint32_t line, uint32_t offset, const uint8_t *px, size_t n)
{
	memcpy((uint8_t *)data + ((size_t)line * 1920 + offset) * 3, px, n * 3);
}

/* packed: deltas as version 4 clients get them (XOR + zstd when simple
 * enough), else LZ4 tiles as older ones do. */
static struct codec_cost codec_tiles(pixman_image_t *img, unsigned frames,
	void (*step)(pixman_image_t *img, unsigned k), bool packed)
{
	uint32_t w = (uint32_t)pixman_image_get_width(img), h = (uint32_t)pixman_image_get_height(img);
	struct xport_tile_encoder *enc = xport_tile_encoder_create(w, h, 6);
	struct xport_tile_decoder *dec = xport_tile_decoder_create();
	pixman_image_t *out = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)w, (int)h, NULL, 0);
	pixman_region32_t all, applied;
	pixman_region32_init_rect(&all, 0, 0, w, h);
	pixman_region32_init(&applied);
	step(img, 0);
	xport_tile_encoder_diff(enc, img, NULL, false);
	struct codec_cost c = { 0 };
	for (unsigned k = 1; k <= frames; k++) {
		step(img, k);
		uint64_t t0 = zl_now_ns();
		uint8_t *buf;
		size_t len;
		xport_tile_encoder_diff(enc, img, &all, packed);
		if (packed) {
			xport_tile_encode_packed(enc, 0, k, 0, &buf, &len);
		} else {
			xport_tile_encode_diff(enc, 0, k, 0, &buf, &len);
		}
		uint64_t t1 = zl_now_ns();
		xport_tiles_apply(dec, buf, len, out, &applied);
		uint64_t t2 = zl_now_ns();
		c.bytes += (double)len;
		c.enc_ms += (double)(t1 - t0) / 1e6;
		c.dec_ms += (double)(t2 - t1) / 1e6;
		free(buf);
	}
	c.bytes /= frames;
	c.enc_ms /= frames;
	c.dec_ms /= frames;
	pixman_region32_fini(&all);
	pixman_region32_fini(&applied);
	pixman_image_unref(out);
	xport_tile_decoder_destroy(dec);
	xport_tile_encoder_destroy(enc);
	return c;
}

static struct codec_cost codec_raw(pixman_image_t *img, unsigned frames,
	void (*step)(pixman_image_t *img, unsigned k))
{
	uint32_t w = (uint32_t)pixman_image_get_width(img), h = (uint32_t)pixman_image_get_height(img);
	uint8_t *rgb = malloc((size_t)w * h * 3), *out = malloc((size_t)w * h * 3);
	uint8_t pkt[12 + 1460];
	struct codec_cost c = { 0 };
	step(img, 0);
	for (unsigned k = 1; k <= frames; k++) {
		step(img, k);
		uint64_t t0 = zl_now_ns(), t_dec = 0;
		xport_raw_from_xrgb(rgb, pixman_image_get_data(img), pixman_image_get_stride(img), w, h);
		struct xport_raw_iter it;
		xport_raw_iter_init(&it, rgb, w, h, 1460, 1, k, 96, k * 10000);
		size_t len;
		while ((len = xport_raw_iter_next(&it, pkt)) > 0) {
			c.bytes += (double)len;
			uint64_t d0 = zl_now_ns();
			uint16_t esn;
			xport_raw_parse(pkt + 12, len - 12, w, h, &esn, raw_seg, out);
			t_dec += zl_now_ns() - d0;
		}
		c.enc_ms += (double)(zl_now_ns() - t0 - t_dec) / 1e6;
		c.dec_ms += (double)t_dec / 1e6;
	}
	c.bytes /= frames;
	c.enc_ms /= frames;
	c.dec_ms /= frames;
	free(rgb);
	free(out);
	return c;
}

static void bench_codecs(void)
{
	pixman_image_t *img = pixman_image_create_bits(PIXMAN_x8r8g8b8, 1920, 1080, NULL, 0);
	static const struct {
		const char *name;
		void (*step)(pixman_image_t *img, unsigned k);
		unsigned frames;
	} loads[] = { { "small-damage", step_square, 120 }, { "full-frame", step_full, 40 } };
	printf("codecs at 1920x1080 (one core):\n");
	printf("  %-13s %-6s %12s %10s %10s\n", "workload", "codec", "bytes/frame", "encode ms",
		"decode ms");
	struct codec_cost t[2], l[2], r[2];
	for (unsigned i = 0; i < 2; i++) {
		t[i] = codec_tiles(img, loads[i].frames, loads[i].step, true);
		l[i] = codec_tiles(img, loads[i].frames, loads[i].step, false);
		r[i] = codec_raw(img, loads[i].frames, loads[i].step);
		printf("  %-13s %-6s %12.0f %10.3f %10.3f\n", loads[i].name, "tiles", t[i].bytes,
			t[i].enc_ms, t[i].dec_ms);
		printf("  %-13s %-6s %12.0f %10.3f %10.3f\n", loads[i].name, "t-lz4", l[i].bytes,
			l[i].enc_ms, l[i].dec_ms);
		printf("  %-13s %-6s %12.0f %10.3f %10.3f\n", loads[i].name, "raw", r[i].bytes,
			r[i].enc_ms, r[i].dec_ms);
	}
	/* For tests/bench/run (results.json). */
	for (unsigned i = 0; i < 2; i++) {
		printf("codec-result: {\"system\": \"virtio-zonal-tiles\", \"workload\": "
			"\"codec-%s-1920x1080\", \"bytes_per_frame\": %.0f, \"encode_ms\": %.3f, "
			"\"decode_ms\": %.3f}\n", loads[i].name, t[i].bytes, t[i].enc_ms, t[i].dec_ms);
		printf("codec-result: {\"system\": \"virtio-zonal-tiles-lz4\", \"workload\": "
			"\"codec-%s-1920x1080\", \"bytes_per_frame\": %.0f, \"encode_ms\": %.3f, "
			"\"decode_ms\": %.3f}\n", loads[i].name, l[i].bytes, l[i].enc_ms, l[i].dec_ms);
		printf("codec-result: {\"system\": \"virtio-zonal-raw\", \"workload\": "
			"\"codec-%s-1920x1080\", \"bytes_per_frame\": %.0f, \"encode_ms\": %.3f, "
			"\"decode_ms\": %.3f}\n", loads[i].name, r[i].bytes, r[i].enc_ms, r[i].dec_ms);
	}
	printf("  small damage: raw/tiles bytes %.0f:1 (target >= 50:1)\n", r[0].bytes / t[0].bytes);
	printf("  full frame: tiles encode %.2f ms (target <= 4 ms)\n", t[1].enc_ms);
	pixman_image_unref(img);
}

int main(void)
{
	bench_basics();

	pixman_image_t *img = pixman_image_create_bits(PIXMAN_x8r8g8b8, 1600, 600, NULL, 0);
	printf("1600x600, damage = whole frame, a 16x16 square moved (%u frames):\n", 200);
	print_cost("every damaged tile", run_frames(img, 200, false, step_square));
	print_cost("changed tiles (reference)", run_frames(img, 200, true, step_square));
	pixman_image_unref(img);

	img = pixman_image_create_bits(PIXMAN_x8r8g8b8, 1920, 1080, NULL, 0);
	printf("1920x1080, damage = whole frame, every tile changed (%u frames):\n", 60);
	print_cost("every damaged tile", run_frames(img, 60, false, step_full));
	print_cost("changed tiles (reference)", run_frames(img, 60, true, step_full));
	pixman_image_unref(img);
	bench_codecs();
	pixman_image_unref(background);
	pixman_image_unref(phase[0]);
	pixman_image_unref(phase[1]);
	return 0;
}
