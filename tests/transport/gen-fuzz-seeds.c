/* SPDX-License-Identifier: MIT */
/* Writes the seed corpora of the transport fuzz targets with the real
 * encoders: gen-fuzz-seeds DIR (then DIR/fuzz-{control,tiles,rtp}/...).
 * The committed seeds in tests/transport/corpus came from this. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "transport/bytes.h"
#include "transport/control-proto.h"
#include "transport/media.h"
#include "transport/rtp.h"
#include "transport/tiles.h"

static const char *root;

static void put(const char *target, const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, target);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static size_t ctl(uint8_t *buf, size_t cap, const struct xport_ctl_msg *m)
{
	size_t len;
	if (xport_ctl_encode(m, buf, cap, &len) < 0) {
		exit(1);
	}
	return len;
}

static void control_seeds(void)
{
	uint8_t buf[4 * XPORT_CTL_MAX_MSG];
	struct xport_ctl_msg m = { .type = XPORT_CTL_HELLO };
	m.hello = (struct xport_ctl_hello){ .version = 1, .panel_width = 1920, .panel_height = 720,
		.panel_refresh = 60, .media_port = 5004 };
	strcpy(m.hello.zone, "cockpit");
	size_t n = ctl(buf, sizeof(buf), &m);
	struct xport_ctl_msg hb = { .type = XPORT_CTL_HEARTBEAT };
	hb.heartbeat = (struct xport_ctl_heartbeat){ .seq = 1, .t_send_ns = 123456789 };
	n += ctl(buf + n, sizeof(buf) - n, &hb);
	struct xport_ctl_msg bye = { .type = XPORT_CTL_BYE };
	n += ctl(buf + n, sizeof(buf) - n, &bye);
	put("fuzz-control", "client-session", buf, n);

	struct xport_ctl_msg w = { .type = XPORT_CTL_WELCOME };
	w.welcome = (struct xport_ctl_welcome){ .version = 1, .width = 1280, .height = 800,
		.refresh = 60, .ssrc = 0x12345678, .media_port = 40000, .mtu = 1500,
		.codec = XPORT_CODEC_TILES, .payload_type = 96, .ext_frame_id = 1, .ext_capture = 2,
		.tile_size = 64 };
	n = ctl(buf, sizeof(buf), &w);
	n += ctl(buf + n, sizeof(buf) - n, &hb);
	put("fuzz-control", "server-session", buf, n);

	struct xport_ctl_msg e = { .type = XPORT_CTL_ERROR };
	e.error.code = XPORT_CTL_ERR_UNKNOWN_ZONE;
	strcpy(e.error.text, "unknown zone 'x' (this server has: cockpit)");
	n = ctl(buf, sizeof(buf), &e);
	put("fuzz-control", "error", buf, n);
}

static pixman_image_t *pattern(int w, int h)
{
	pixman_image_t *img = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, 0);
	uint32_t *d = pixman_image_get_data(img);
	uint32_t v = 1;
	for (int i = 0; i < w * h; i++) {
		/* Left half smooth (LZ4), right half noise (raw). */
		v = v * 1103515245u + 12345u;
		d[i] = (i % w) < w / 2 ? 0xff000000u | (uint32_t)(i % w) * 0x030201u : v;
	}
	return img;
}

static uint8_t *encode(pixman_image_t *img, const pixman_region32_t *damage, bool key,
	uint32_t base, size_t *len, unsigned log2)
{
	struct xport_tile_encoder *enc = xport_tile_encoder_create(
		(uint32_t)pixman_image_get_width(img), (uint32_t)pixman_image_get_height(img), log2);
	uint8_t *buf;
	if (!enc || xport_tile_encode(enc, img, damage, key ? XPORT_TILES_KEY : 0, base,
		xport_tiles_image_crc(img), &buf, len) < 0) {
		exit(1);
	}
	xport_tile_encoder_destroy(enc);
	return buf;
}

/* A packed delta (XOR records, zstd; compact header) of img after the
 * pixels changes[i][0] were XORed with changes[i][1] (img keeps them),
 * against base: n_tiles tiles must differ. Exits on failure. */
static uint8_t *packed_delta(pixman_image_t *img, unsigned tile_log2, uint32_t base,
	const uint32_t (*changes)[2], unsigned n, int n_tiles, size_t *len)
{
	int w = pixman_image_get_width(img), h = pixman_image_get_height(img);
	struct xport_tile_encoder *enc = xport_tile_encoder_create((uint32_t)w, (uint32_t)h,
		tile_log2);
	if (!enc || xport_tile_encoder_diff(enc, img, NULL, true) < 0) {
		exit(1);
	}
	uint32_t *px = pixman_image_get_data(img);
	for (unsigned i = 0; i < n; i++) {
		px[changes[i][0]] ^= changes[i][1];
	}
	pixman_region32_t all;
	pixman_region32_init_rect(&all, 0, 0, w, h);
	uint8_t *buf;
	if (xport_tile_encoder_diff(enc, img, &all, true) != n_tiles ||
		xport_tile_encode_packed(enc, 0, base, xport_tiles_image_crc(img), &buf, len) < 0 ||
		buf[0] != XPORT_TILES_VERSION_COMPACT) {
		exit(1);
	}
	pixman_region32_fini(&all);
	xport_tile_encoder_destroy(enc);
	return buf;
}

static void tiles_seeds(void)
{
	pixman_image_t *img = pattern(40, 24);
	size_t len;
	uint8_t *buf = encode(img, NULL, true, 0, &len, 4);
	put("fuzz-tiles", "key-40x24-t16", buf, len);
	free(buf);
	pixman_region32_t damage;
	pixman_region32_init_rect(&damage, 3, 5, 20, 10);
	buf = encode(img, &damage, false, 7, &len, 4);
	put("fuzz-tiles", "delta-40x24-t16", buf, len);
	free(buf);
	pixman_image_unref(img);
	img = pattern(130, 70);
	buf = encode(img, NULL, true, 0, &len, 6);
	put("fuzz-tiles", "key-130x70-t64", buf, len);
	free(buf);
	/* A packed delta (XOR records, zstd): two boxes change. Its compact
	 * header has no frame size: fuzz-tiles takes 1 + the base id's low
	 * bytes, here 130x70. */
	buf = packed_delta(img, 6, (69u << 8) | 129u,
		(const uint32_t[][2]){ { 5 * 130 + 5, 0xffffffu }, { 66 * 130 + 100, 0x00ff00u } }, 2,
		2, &len);
	put("fuzz-tiles", "packed-130x70-t64", buf, len);
	free(buf);
	pixman_region32_fini(&damage);
	pixman_image_unref(img);
}

/* Frames as the server sends them, each datagram as a fuzz record. */
static size_t record(uint8_t *out, uint8_t flags, const uint8_t *dg, size_t len)
{
	out[0] = flags;
	xport_put_le16(out + 1, (uint16_t)len);
	memcpy(out + 3, dg, len);
	return 3 + len;
}

static size_t frame_records_v(uint8_t *out, const uint8_t *payload, size_t len, uint32_t id,
	bool key, uint16_t *seq, int drop, int dup, bool compact, uint8_t flags0)
{
	/* A version 5 session's capture time is its RTP timestamp's. */
	uint64_t capture = 1000000ull * id;
	struct xport_media_frame f = { .frame_id = id, .capture_ns = capture,
		.rtp_ts = compact ? xport_rtp_ts_90k(capture, 0x9e3779b9u) : id * 1500, .key = key,
		.data = payload, .len = len, .frag = 300 };
	f.count = xport_media_packet_count(len, f.frag);
	/* Version 5: stages in the last packet (compact), as gpu-server sends. */
	const uint32_t us[3] = { 300, 350, 370 };
	size_t n = 0;
	for (unsigned i = 0; i < f.count; i++) {
		uint8_t dg[XPORT_MEDIA_HDR_MAX + 300];
		size_t off, fl;
		size_t hl = xport_media_packet(&f, i, 0x5eed5eedu, 96, (*seq)++, compact ? us : NULL,
			compact, dg, &off, &fl);
		memcpy(dg + hl, payload + off, fl);
		if ((int)i == drop) {
			continue;
		}
		n += record(out + n, n == 0 ? flags0 : 0, dg, hl + fl);
		if ((int)i == dup) {
			n += record(out + n, 0, dg, hl + fl);
		}
	}
	return n;
}

static size_t frame_records(uint8_t *out, const uint8_t *payload, size_t len, uint32_t id,
	bool key, uint16_t *seq, int drop, int dup)
{
	return frame_records_v(out, payload, len, id, key, seq, drop, dup, false, 0);
}

static void rtp_seeds(void)
{
	static uint8_t out[1 << 20];
	pixman_image_t *img = pattern(40, 24);
	size_t klen, dlen;
	uint8_t *key = encode(img, NULL, true, 0, &klen, 4);
	pixman_region32_t damage;
	pixman_region32_init_rect(&damage, 0, 0, 17, 9);
	uint8_t *delta = encode(img, &damage, false, 10, &dlen, 4);
	/* Seq numbers about to wrap. */
	uint16_t seq = 65530;
	size_t n = frame_records(out, key, klen, 10, true, &seq, -1, -1);
	n += frame_records(out + n, delta, dlen, 11, false, &seq, -1, 0);
	put("fuzz-rtp", "key-delta-wrap", out, n);
	/* A lost packet, then expiry, then RTCP. */
	seq = 7;
	n = frame_records(out, key, klen, 20, true, &seq, 1, -1);
	uint8_t rtcp[64];
	size_t a, b;
	xport_rtcp_write_sr(rtcp, sizeof(rtcp), 0x5eed5eedu, 1, 2, 3, 4, &a);
	xport_rtcp_write_pli(rtcp + a, sizeof(rtcp) - a, 1, 0x5eed5eedu, &b);
	n += record(out + n, 1, rtcp, a + b);
	n += frame_records(out + n, key, klen, 21, true, &seq, -1, -1);
	put("fuzz-rtp", "loss-expire-rtcp", out, n);
	/* Version 5 (flags bit 7 of the first record): a key frame of several
	 * packets, then a packed delta in one packet (short payload header,
	 * compact tiles header) whose base id fuzz-rtp reads as 40x24. */
	const uint32_t base = (23u << 8) | 39u;
	size_t plen;
	uint8_t *packed = packed_delta(img, 4, base, (const uint32_t[][2]){ { 3 * 40 + 5, 0xffffffu },
		{ 4 * 40 + 6, 0xffffffu }, { 20 * 40 + 33, 0x00ff00u } }, 3, 2, &plen);
	seq = 65533;
	n = frame_records_v(out, key, klen, base, true, &seq, -1, -1, true, 0x80);
	n += frame_records_v(out + n, packed, plen, base + 1, false, &seq, -1, 0, true, 0);
	put("fuzz-rtp", "v5-key-packed", out, n);
	free(packed);
	free(key);
	free(delta);
	pixman_region32_fini(&damage);
	pixman_image_unref(img);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	mkdir(root, 0777);
	control_seeds();
	tiles_seeds();
	rtp_seeds();
	return 0;
}
