/* SPDX-License-Identifier: MIT */
/* The real gs_control (gpu-server/control.c) streaming one zone to several
 * receivers on loopback, in one process and one loop. The receivers are
 * made of the transport pieces (control conn, RTP parser, reassembly, tiles
 * decoder), so the test sees every frame on the wire: how many tiles it
 * holds, key or delta, its base. Every frame a receiver completes must apply
 * to the image it holds and reproduce the server's CRC; at checkpoints its
 * image must equal the zone image bit for bit.
 *
 * Damage here always covers the whole zone, as a guest's page flip does,
 * while only a few tiles change: the deltas must hold exactly those tiles,
 * with several receivers, receivers joining (key frame), key-frame requests
 * (PLI) and receivers the server drops frames for (fell behind). */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "gpu-server/control.h"
#include "transport/control-conn.h"
#include "transport/media.h"
#include "transport/reasm.h"
#include "transport/rtp.h"
#include "transport/tiles.h"
#include "util/clock.h"
#include "util/log.h"

#define W 320 /* 5 x 3 tiles */
#define H 192
#define TILES 15

struct receiver {
	const char *name;
	struct zl_loop *loop;
	struct xport_ctl_conn conn;
	int udp;
	uint16_t udp_port;
	struct zl_source *udp_src;
	bool welcomed;
	struct xport_ctl_welcome w;
	uint32_t ssrc;
	struct xport_reasm *reasm;
	struct xport_tile_decoder *dec;
	pixman_image_t *img;
	bool have;       /* img holds frame cur_id */
	uint32_t cur_id;
	unsigned frames; /* completed and applied */
	unsigned keys, refreshes;
	uint32_t last_tiles;
	bool last_key, last_refresh, last_packed;
	uint32_t version;       /* HELLO's (0: XPORT_CTL_VERSION) */
	unsigned packed;        /* packed deltas applied */
	unsigned stages_inband; /* last packets with the stages element */
	unsigned short_hdr;     /* packets with the short payload header (version 5) */
	unsigned stages_app;    /* RTCP APP STAGES */
	unsigned rtcp_app_only; /* reduced-size RTCP: an APP alone */
	unsigned bad;    /* frames that did not apply: always a failure */
	uint64_t lost;
	uint64_t last_hb_ns;
};

/* The zone's codec for the next setup() (tiles unless a test says). */
static uint8_t zone_codec = XPORT_CODEC_TILES;

static void rx_frame(struct receiver *r, const struct xport_reasm_frame *f)
{
	if (zone_codec != XPORT_CODEC_TILES) {
		/* Other codecs: which frames arrive is what is tested. */
		r->frames++;
		r->keys += f->key;
		return;
	}
	struct xport_tiles_header h;
	if (xport_tiles_parse_header(f->data, f->len, &h) < 0 ||
		(h.width && (h.width != W || h.height != H))) {
		r->bad++;
		return;
	}
	bool key = h.flags & XPORT_TILES_KEY;
	if (!key && (!r->have || h.base_id != r->cur_id)) {
		fprintf(stderr, "%s: frame %u: base %u, holding %u\n", r->name, f->frame_id, h.base_id,
			r->cur_id);
		r->bad++;
		return;
	}
	pixman_region32_t applied;
	pixman_region32_init(&applied);
	int rc = xport_tiles_apply(r->dec, f->data, f->len, r->img, &applied);
	pixman_region32_fini(&applied);
	if (rc < 0 || xport_tiles_image_crc(r->img) != h.crc) {
		fprintf(stderr, "%s: frame %u does not apply (%d)\n", r->name, f->frame_id, rc);
		r->bad++;
		r->have = false;
		return;
	}
	r->have = true;
	r->cur_id = f->frame_id;
	r->frames++;
	r->keys += key;
	r->refreshes += (h.flags & XPORT_TILES_REFRESH) != 0;
	r->last_tiles = h.n_tiles;
	r->last_key = key;
	r->last_refresh = h.flags & XPORT_TILES_REFRESH;
	r->last_packed = h.flags & XPORT_TILES_PACKED;
	r->packed += r->last_packed;
}

static void pop_frames(struct receiver *r)
{
	struct xport_reasm_frame f;
	while (xport_reasm_pop(r->reasm, &f)) {
		rx_frame(r, &f);
		xport_reasm_frame_finish(&f);
	}
	r->lost += xport_reasm_take_lost(r->reasm);
}

static void on_udp(void *data, int fd, uint32_t events)
{
	struct receiver *r = data;
	/* The server drops a receiver silent for 3 s; media and its sender
	 * reports (every second) keep waking this one up. */
	uint64_t now = zl_now_ns();
	if (r->welcomed && now - r->last_hb_ns > 1000000000ull) {
		struct xport_ctl_msg hb = { .type = XPORT_CTL_HEARTBEAT };
		hb.heartbeat.t_send_ns = now;
		xport_ctl_conn_send(&r->conn, &hb);
		r->last_hb_ns = now;
	}
	uint8_t buf[2048];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0) {
			break;
		}
		struct xport_rtp_packet p;
		struct xport_rtcp_info info;
		if (r->welcomed && xport_rtp_is_rtcp(buf, (size_t)n)) {
			if (xport_rtcp_parse(buf, (size_t)n, &info) == 0 && info.has_app &&
				info.app_subtype == XPORT_RTCP_APP_STAGES) {
				r->stages_app++;
			}
			if (buf[1] == XPORT_RTCP_APP && n == 16) {
				r->rtcp_app_only++;
			}
			continue;
		}
		struct xport_rtp_ext_ids ids = { r->w.ext_frame_id, r->w.ext_capture,
			r->w.ext_stages, r->w.version >= XPORT_CTL_VERSION_COMPACT };
		if (!r->welcomed || xport_rtp_parse_ids(buf, (size_t)n, &ids, &p) < 0) {
			continue; /* media before WELCOME was read */
		}
		if (!ids.capture) {
			/* Version 5: the capture time is the RTP timestamp's, just
			 * before now on this (the server's) clock. */
			uint64_t now = zl_now_ns();
			p.capture_ns = xport_rtp_ts_90k_time(p.ts, r->w.rtp_ts_offset, now);
			p.has_capture = true;
			if (p.capture_ns > now + 6000 || now - p.capture_ns > 1000000000ull) {
				r->bad++;
			}
			r->short_hdr += p.payload_len > 0 && p.payload[0] == XPORT_MEDIA_PHDR_VERSION_SHORT;
		}
		if (p.has_stages) {
			/* Only on a frame's last packet, in the order of the stages. */
			if (!p.marker || p.stages_us[0] > p.stages_us[1] ||
				p.stages_us[1] > p.stages_us[2]) {
				r->bad++;
			}
			r->stages_inband++;
		}
		if (xport_reasm_push(r->reasm, &p, zl_now_ns()) < 0) {
			r->bad++;
		}
		pop_frames(r);
	}
}

/* Receivers running now: run_until() gives up their frames that stopped
 * making progress, as zone-client does on its tick. */
static struct receiver *running[4];

static void expire_frames(void)
{
	for (unsigned i = 0; i < 4; i++) {
		if (running[i] && running[i]->reasm) {
			xport_reasm_expire(running[i]->reasm, zl_now_ns(), 50000000ull);
			pop_frames(running[i]);
		}
	}
}

static void on_message(void *data, const struct xport_ctl_msg *msg)
{
	struct receiver *r = data;
	if (msg->type != XPORT_CTL_WELCOME || r->welcomed) {
		return;
	}
	r->w = msg->welcome;
	r->welcomed = true;
	r->last_hb_ns = zl_now_ns();
	struct xport_reasm_config rc = {
		.ssrc = r->w.ssrc,
		.payload_type = r->w.payload_type,
		.max_frame_bytes = xport_tiles_max_payload(W, H, XPORT_TILES_LOG2_MIN),
	};
	r->reasm = xport_reasm_create(&rc);
	/* Media may have come first. */
	on_udp(r, r->udp, EPOLLIN);
}

static void on_bad_message(void *data, int err)
{
	struct receiver *r = data;
	r->bad++;
	xport_ctl_conn_finish(&r->conn);
}

static void on_closed(void *data, int err)
{
	struct receiver *r = data;
	r->bad++;
}

static void on_connected(void *data)
{
	struct receiver *r = data;
	struct xport_ctl_msg m = { .type = XPORT_CTL_HELLO };
	m.hello = (struct xport_ctl_hello){ .version = r->version ? r->version : XPORT_CTL_VERSION,
		.media_port = r->udp_port };
	strcpy(m.hello.zone, "z");
	if (xport_ctl_conn_send(&r->conn, &m) < 0) {
		r->bad++;
	}
}

static const struct xport_ctl_conn_listener receiver_listener = {
	.message = on_message,
	.bad_message = on_bad_message,
	.closed = on_closed,
	.connected = on_connected,
};

static void receiver_start_version(struct receiver *r, const char *name, struct zl_loop *loop,
	uint16_t port, uint32_t version)
{
	memset(r, 0, sizeof(*r));
	r->version = version;
	r->name = name;
	r->loop = loop;
	r->ssrc = 0x5000 + (uint32_t)name[0];
	r->dec = xport_tile_decoder_create();
	r->img = pixman_image_create_bits(PIXMAN_x8r8g8b8, W, H, NULL, 0);
	r->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(r->udp, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	getsockname(r->udp, (struct sockaddr *)&a, &len);
	r->udp_port = ntohs(a.sin_port);
	/* Key frames come in bursts; do not lose them to a small buffer. */
	int size = 4 << 20;
	if (setsockopt(r->udp, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0) {
		setsockopt(r->udp, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	r->udp_src = zl_loop_add_fd(loop, r->udp, EPOLLIN, on_udp, r);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	a.sin_port = htons(port);
	int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
	assert_true(rc == 0 || errno == EINPROGRESS);
	assert_int_equal(xport_ctl_conn_init(&r->conn, loop, fd, XPORT_CTL_CONN_CONNECTING,
		&receiver_listener, r), 0);
	for (unsigned i = 0; i < 4; i++) {
		if (!running[i]) {
			running[i] = r;
			break;
		}
	}
}

static void receiver_start(struct receiver *r, const char *name, struct zl_loop *loop,
	uint16_t port)
{
	receiver_start_version(r, name, loop, port, 0);
}

static void receiver_stop(struct receiver *r)
{
	for (unsigned i = 0; i < 4; i++) {
		if (running[i] == r) {
			running[i] = NULL;
		}
	}
	xport_ctl_conn_finish(&r->conn);
	zl_source_remove(r->udp_src);
	close(r->udp);
	xport_reasm_destroy(r->reasm);
	xport_tile_decoder_destroy(r->dec);
	pixman_image_unref(r->img);
}

static void receiver_pli(struct receiver *r)
{
	uint8_t buf[64];
	size_t a, b;
	assert_int_equal(xport_rtcp_write_rr(buf, sizeof(buf), r->ssrc, NULL, &a), 0);
	assert_int_equal(xport_rtcp_write_pli(buf + a, sizeof(buf) - a, r->ssrc, r->w.ssrc, &b), 0);
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(r->w.media_port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(sendto(r->udp, buf, a + b, 0, (struct sockaddr *)&s, sizeof(s)),
		(ssize_t)(a + b));
}

/* --- the server side --- */

struct server {
	struct zl_loop *loop;
	struct gs_control *ctl;
	pixman_image_t *img;
	unsigned joined;
	uint32_t rng;
};

static void on_joined(void *data, unsigned zone, const struct gs_control_panel *panel)
{
	struct server *s = data;
	s->joined++;
}

static const struct gs_control_listener server_listener = {
	.client_joined = on_joined,
};

static uint32_t next_rand(struct server *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 17;
	s->rng ^= s->rng << 5;
	return s->rng;
}

static void fill(struct server *s, int x, int y, int w, int h, bool noise)
{
	uint32_t *d = pixman_image_get_data(s->img);
	uint32_t base = next_rand(s);
	for (int j = y; j < y + h; j++) {
		for (int i = x; i < x + w; i++) {
			d[j * W + i] = noise ? next_rand(s) : base + (uint32_t)(i / 4) * 0x010101u;
		}
	}
}

/* A page flip: the whole zone is damaged, whatever changed. */
static void flip(struct server *s)
{
	pixman_region32_t all;
	pixman_region32_init_rect(&all, 0, 0, W, H);
	gs_control_zone_frame(s->ctl, 0, &all, zl_now_ns());
	pixman_region32_fini(&all);
}

static struct gs_control_zone_stats zone_stats(struct server *s)
{
	struct gs_control_zone_stats st;
	assert_int_equal(gs_control_get_zone_stats(s->ctl, 0, &st), 0);
	return st;
}

static bool run_until(struct server *s, bool (*cond)(void *), void *arg, uint64_t ms)
{
	uint64_t end = zl_now_ns() + ms * 1000000ull;
	while (!cond(arg)) {
		if (zl_now_ns() > end) {
			return false;
		}
		zl_loop_dispatch(s->loop, 5);
		expire_frames();
	}
	return true;
}

static bool never(void *arg)
{
	return false;
}

struct frames_cond {
	struct receiver **rs;
	unsigned n;
	unsigned *want; /* per receiver: frames to reach */
};

static bool frames_reached(void *arg)
{
	struct frames_cond *c = arg;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->rs[i]->frames < c->want[i]) {
			return false;
		}
	}
	return true;
}

/* Waits until each receiver has completed `more` frames beyond its count
 * now, and checks none completed more than that or failed. */
static void expect_frames(struct server *s, struct receiver **rs, unsigned n, unsigned more)
{
	unsigned want[8];
	for (unsigned i = 0; i < n; i++) {
		want[i] = rs[i]->frames + more;
	}
	struct frames_cond c = { rs, n, want };
	assert_true(run_until(s, frames_reached, &c, 5000));
	/* Nothing further is on its way. */
	run_until(s, never, NULL, 20);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(rs[i]->frames, want[i]);
		assert_int_equal(rs[i]->bad, 0);
	}
}

static bool images_equal(pixman_image_t *a, pixman_image_t *b)
{
	return memcmp(pixman_image_get_data(a), pixman_image_get_data(b), (size_t)W * H * 4) == 0;
}

static bool keyed(void *arg)
{
	struct receiver *r = arg;
	return r->frames >= 1;
}

/* Starts r and waits for its first frame: a key frame of every tile, that
 * makes it hold the zone image. */
static void join(struct server *s, struct receiver *r, const char *name)
{
	receiver_start(r, name, s->loop, gs_control_port(s->ctl));
	assert_true(run_until(s, keyed, r, 5000));
	assert_int_equal(r->bad, 0);
	assert_true(r->last_key && r->last_refresh);
	assert_int_equal(r->last_tiles, TILES);
	assert_true(images_equal(r->img, s->img));
}

/* r joins where first already receives: r's key frame is, for first, a
 * delta of what changed since its last frame (nothing here). */
static void join_second(struct server *s, struct receiver *r, const char *name,
	struct receiver *first)
{
	receiver_start(r, name, s->loop, gs_control_port(s->ctl));
	struct receiver *both[] = { first, r };
	expect_frames(s, both, 2, 1);
	assert_true(r->last_key && r->last_refresh);
	assert_int_equal(r->last_tiles, TILES);
	assert_true(!first->last_key && first->last_refresh);
	assert_int_equal(first->last_tiles, 0);
	assert_int_equal(first->cur_id, r->cur_id);
	assert_true(images_equal(r->img, s->img));
}

/* The receivers hold the zone image, all of the same frame. */
static void expect_in_step(struct server *s, struct receiver **rs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(rs[i]->bad, 0);
		assert_int_equal(rs[i]->cur_id, rs[0]->cur_id);
		assert_true(images_equal(rs[i]->img, s->img));
	}
}

/* A flip after the image changed in `tiles` tiles: every receiver gets one
 * delta of exactly those tiles. */
static void flip_expect(struct server *s, struct receiver **rs, unsigned n, uint32_t tiles)
{
	flip(s);
	expect_frames(s, rs, n, 1);
	for (unsigned i = 0; i < n; i++) {
		assert_false(rs[i]->last_key);
		assert_int_equal(rs[i]->last_tiles, tiles);
	}
	expect_in_step(s, rs, n);
}

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	s->rng = 0x12345;
	s->loop = zl_loop_create();
	s->img = pixman_image_create_bits(PIXMAN_x8r8g8b8, W, H, NULL, 0);
	fill(s, 0, 0, W, H, false);
	struct gs_zone_desc zone = { .name = "z", .width = W, .height = H, .refresh_hz = 60,
		.pace_pct = 25, .priority = -1, .dscp = -1,
		.image = s->img, .codec = zone_codec };
	s->ctl = gs_control_create(s->loop, "127.0.0.1:0", &zone, 1, &server_listener, s);
	assert_non_null(s->ctl);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;
	gs_control_destroy(s->ctl);
	zl_loop_dispatch(s->loop, 0);
	zl_loop_destroy(s->loop);
	pixman_image_unref(s->img);
	free(s);
	return 0;
}

/* Full damage over one changed tile is one tile; over nothing changed, no
 * frame at all. */
static void test_one_tile(void **state)
{
	struct server *s = *state;
	struct receiver a;
	join(s, &a, "a");
	struct receiver *rs[] = { &a };
	struct gs_control_zone_stats st0 = zone_stats(s);
	fill(s, 140, 70, 16, 16, false); /* inside tile (2,1) */
	flip_expect(s, rs, 1, 1);
	struct gs_control_zone_stats st1 = zone_stats(s);
	assert_int_equal(st1.delta_tiles - st0.delta_tiles, 1);
	assert_int_equal(st1.frames - st0.frames, 1);

	flip(s);
	expect_frames(s, rs, 1, 0);
	struct gs_control_zone_stats st2 = zone_stats(s);
	assert_int_equal(st2.unchanged - st1.unchanged, 1);
	assert_int_equal(st2.frames, st1.frames);

	fill(s, 120, 56, 16, 16, false); /* across the corner of four tiles */
	flip_expect(s, rs, 1, 4);
	receiver_stop(&a);
}

/* Several receivers, one joining (a key frame for it, the same frame as a
 * delta for the other) and one asking for a key frame. */
static void test_join_and_pli(void **state)
{
	struct server *s = *state;
	struct receiver a, b;
	join(s, &a, "a");
	fill(s, 10, 10, 16, 16, false);
	flip_expect(s, (struct receiver *[]){ &a }, 1, 1);

	join_second(s, &b, "b", &a);
	struct receiver *both[] = { &a, &b };
	fill(s, 120, 56, 16, 16, false);
	flip_expect(s, both, 2, 4);

	/* The image changed and its flip has not come yet when A asks for a key
	 * frame. A's key frame shows the change, so B's delta of that frame
	 * carries it too (a frame with a key frame diffs every tile). */
	fill(s, 300, 180, 8, 8, false);
	receiver_pli(&a);
	expect_frames(s, both, 2, 1);
	assert_true(a.last_key && a.last_refresh);
	assert_int_equal(a.last_tiles, TILES);
	assert_true(!b.last_key && b.last_refresh);
	assert_int_equal(b.last_tiles, 1);
	expect_in_step(s, both, 2);
	fill(s, 10, 10, 16, 16, false);
	flip_expect(s, both, 2, 1);
	assert_int_equal(a.lost + b.lost, 0);
	assert_int_equal(s->joined, 2);
	receiver_stop(&a);
	receiver_stop(&b);
}

/* Big frames (noise in five tiles, more than one burst of packets each)
 * faster than the loop sends them: the queues overflow, the server drops
 * them and sends key frames; whatever arrives applies, and the receivers
 * end in step, one tile per flip again. */
static void test_fell_behind(void **state)
{
	struct server *s = *state;
	struct receiver a, b;
	join(s, &a, "a");
	join_second(s, &b, "b", &a);
	struct receiver *both[] = { &a, &b };
	struct gs_control_zone_stats st0 = zone_stats(s);
	for (int i = 0; i < 12; i++) {
		fill(s, 0, 64, W, 64, true);
		flip(s);
	}
	struct gs_control_zone_stats st1 = zone_stats(s);
	assert_true(st1.queue_drops - st0.queue_drops >= 2);
	assert_true(st1.key_frames > st0.key_frames);
	run_until(s, never, NULL, 300);
	expect_in_step(s, both, 2);
	fill(s, 200, 150, 16, 16, false);
	flip_expect(s, both, 2, 1);
	receiver_stop(&a);
	receiver_stop(&b);
}

/* Receivers leave, the zone changes while nobody watches, one comes back:
 * its key frame brings the server's reference up to date, so the next flip
 * holds only what changed after it. */
static void test_rejoin(void **state)
{
	struct server *s = *state;
	struct receiver a, b;
	join(s, &a, "a");
	join_second(s, &b, "b", &a);
	receiver_stop(&a);
	fill(s, 0, 0, 64, 64, false);
	flip_expect(s, (struct receiver *[]){ &b }, 1, 1);
	receiver_stop(&b);
	run_until(s, never, NULL, 50);
	assert_int_equal(zone_stats(s).clients, 0);
	fill(s, 192, 128, 64, 64, false); /* tile (3,2), seen by nobody */
	flip(s);
	join(s, &a, "a");
	fill(s, 64, 64, 8, 8, false); /* tile (1,1) only */
	flip_expect(s, (struct receiver *[]){ &a }, 1, 1);
	assert_int_equal(s->joined, 3);
	receiver_stop(&a);
}

/* Receivers of versions 5, 4 and 3 in one zone: the same frames, the
 * first as packed deltas (XOR records, zstd), the others as LZ4 tiles; the
 * server's stages in the last packet for 5 and 4, in RTCP for 3; idle
 * keepalives reduced-size for 5 and 4. */
static void test_versions(void **state)
{
	struct server *s = *state;
	struct receiver a, b, c;
	join(s, &a, "a");
	receiver_start_version(&b, "b", s->loop, gs_control_port(s->ctl), 3);
	struct receiver *all[] = { &a, &b, &c };
	expect_frames(s, all, 2, 1);
	receiver_start_version(&c, "c", s->loop, gs_control_port(s->ctl), 4);
	expect_frames(s, all, 3, 1);
	assert_int_equal(a.w.version, XPORT_CTL_VERSION);
	assert_int_equal(a.w.ext_stages, XPORT_MEDIA_EXT_STAGES);
	assert_int_equal(b.w.version, 3);
	assert_int_equal(b.w.ext_stages, 0);
	assert_int_equal(c.w.version, 4);
	assert_int_equal(c.w.ext_stages, XPORT_MEDIA_EXT_STAGES);
	unsigned a_inband = a.stages_inband, b_app = b.stages_app, c_inband = c.stages_inband;
	struct gs_control_zone_stats st0 = zone_stats(s);
	for (int i = 0; i < 5; i++) {
		fill(s, 10 + 3 * i, 10 + 2 * i, 16, 16, false);
		flip_expect(s, all, 3, 1);
		assert_true(a.last_packed);
		assert_false(b.last_packed);
		assert_false(c.last_packed);
	}
	/* Video-like content goes as LZ4 tiles to all: one encode. */
	fill(s, 0, 64, W, 64, true);
	flip_expect(s, all, 3, 5);
	assert_false(a.last_packed);
	struct gs_control_zone_stats st1 = zone_stats(s);
	assert_int_equal(st1.packed - st0.packed, 5);
	/* Idle for 200 ms: keepalives every 40 ms, reduced-size (the frame
	 * id's APP alone) to the version 5 and 4 clients, full reports to the
	 * other. */
	run_until(s, never, NULL, 200);
	assert_true(a.rtcp_app_only >= 2);
	assert_true(c.rtcp_app_only >= 2);
	assert_int_equal(b.rtcp_app_only, 0);
	assert_true(a.stages_inband - a_inband >= 6);
	assert_true(c.stages_inband - c_inband >= 6);
	assert_int_equal(a.stages_app + c.stages_app, 0);
	/* Small frames in one packet each: the short payload header for 5. */
	assert_true(a.short_hdr >= 6);
	assert_int_equal(b.short_hdr + c.short_hdr, 0);
	assert_int_equal(b.stages_inband, 0);
	assert_true(b.stages_app - b_app >= 6);
	assert_int_equal(a.lost + b.lost + c.lost, 0);
	receiver_stop(&a);
	receiver_stop(&b);
	receiver_stop(&c);
}

static int setup_raw(void **state)
{
	zone_codec = XPORT_CODEC_RAW;
	return setup(state);
}

static int teardown_raw(void **state)
{
	zone_codec = XPORT_CODEC_TILES;
	return teardown(state);
}

/* A raw zone (every frame whole): clients of every version get every
 * frame; only tiles zones serve older clients frames of their own. */
static void test_raw_versions(void **state)
{
	struct server *s = *state;
	struct receiver a, b;
	receiver_start_version(&a, "a", s->loop, gs_control_port(s->ctl), 0);
	receiver_start_version(&b, "b", s->loop, gs_control_port(s->ctl), 3);
	struct receiver *both[] = { &a, &b };
	/* Each join makes a frame (a key frame for the joiner, the same
	 * frame for the other: every raw frame is whole). */
	run_until(s, never, NULL, 300);
	assert_true(a.frames >= 1 && b.frames >= 1);
	for (int i = 0; i < 10; i++) {
		fill(s, 8 * i, 0, 16, 16, false);
		flip(s);
		expect_frames(s, both, 2, 1);
	}
	assert_int_equal(a.w.version, XPORT_CTL_VERSION);
	assert_int_equal(b.w.version, 3);
	receiver_stop(&a);
	receiver_stop(&b);
}

int main(void)
{
	zl_log_init(getenv("ZONAL_DEBUG") ? ZL_DEBUG : ZL_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_tile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_and_pli, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fell_behind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejoin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_versions, setup_raw, teardown_raw),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
