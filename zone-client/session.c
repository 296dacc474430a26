/* SPDX-License-Identifier: MIT */
#include "session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "decoder.h"
#include "snapshot.h"
#include "transport/bytes.h"
#include "transport/coded.h"
#include "transport/crc32c.h"
#include "transport/control-conn.h"
#include "transport/control-proto.h"
#include "transport/media.h"
#include "transport/net.h"
#include "transport/psk.h"
#include "transport/srtp.h"
#include "transport/reasm.h"
#include "transport/rfc4175.h"
#include "transport/rtp.h"
#include "transport/tiles.h"
#include "util/clock.h"
#include "util/log.h"

#define MS 1000000ull
#define TICK_NS (50 * MS)
#define PROGRESS_NS (5000 * MS)
#define CONNECT_TIMEOUT_NS (3000 * MS)
/* Key-frame requests (PLI) at most once a frame interval, and at least
 * this far apart: recovery within two frame intervals needs the retry of a
 * request whose key frame was lost to come within one. */
#define PLI_MIN_INTERVAL_NS (10 * MS)
#define RR_INTERVAL_NS (1000 * MS)
/* With no first frame this long after WELCOME, ask for one. */
#define FIRST_FRAME_GRACE_NS (300 * MS)
#define RECV_BATCH 32
/* Datagrams handled per wake-up before giving other sources a turn. */
#define RECV_BUDGET 1024
#define SOCKET_BUFFER (4 * 1024 * 1024)
/* Frames handed to the backend and not yet on the panel (a compositor
 * answers a repaint later). */
#define PRESENT_RING 16
/* Frames in the lossy decoder at once (its own bound is larger). */
#define DECODE_RING 8
/* Generic NACK (RFC 4585): a hole in the sequence numbers is asked for at
 * once, again every NACK_RETRY_NS up to NACK_TRIES times; a jump of more
 * than NACK_MAX_GAP packets is a loss burst, left to a key frame. */
/* Heartbeats the clock offset's best (shortest round trip) exchange is kept
 * for, before a newer one replaces it anyway (clocks drift). */
#define OFFSET_WINDOW 8
#define NACK_MAX 128
#define NACK_MAX_GAP 64
#define NACK_TRIES 3
#define NACK_RETRY_NS (10 * MS)

enum session_state {
	STATE_CONNECTING,
	STATE_HELLO_SENT,
	STATE_ACTIVE,
	STATE_ENDED,
};

struct pending_present {
	uint32_t frame_id;
	uint64_t capture_ns;
	uint64_t received_ns; /* its last packet (our clock) */
	uint64_t decoded_ns;  /* verified and decoded: ready for the panel */
	bool refresh;
	bool key;
};

struct zc_session {
	struct zl_loop *loop;
	struct zc_session_config cfg;
	enum session_state state;
	int status;
	char error[320];
	bool done;

	struct sockaddr_storage server;
	char server_name[XPORT_NET_ADDR_STRLEN];
	struct xport_ctl_conn conn;

	int udp_fd;
	struct zl_source *udp_src;
	uint16_t media_port;
	uint8_t *rx_bufs; /* RECV_BATCH datagrams of rx_buf_size */
	size_t rx_buf_size;

	struct zl_source *tick;
	uint64_t t_start, t_welcome, last_hb_ns, last_rr_ns, last_progress_ns;
	uint32_t hb_seq;
	uint32_t server_hb_seq;
	uint64_t server_hb_send_ns, server_hb_recv_ns;

	struct xport_ctl_welcome welcome;
	uint32_t ssrc;
	struct xport_reasm *reasm;
	struct xport_tile_decoder *dec;  /* tiles */
	struct zc_decoder *coded_dec;    /* h264, jpeg */
	/* Lossy frames in the decoder, oldest first; the decoder is in step
	 * while every frame since a key frame went in. */
	struct pending_present decoding[DECODE_RING];
	unsigned n_decoding;
	bool dec_in_step;
	uint32_t dec_last_id;
	struct xport_rtp_rx_stats rx;
	uint64_t expire_ns;
	uint64_t pli_interval_ns;
	size_t frag; /* fragment bytes per packet, from the mtu WELCOME gave */
	bool have_sr;
	uint32_t sr_lsr;
	uint64_t sr_recv_ns;

	pixman_image_t *front, *back;
	pixman_region32_t back_dirty; /* where back may differ from front */
	/* The frame check without a pass over the image: each row's CRC32C
	 * (front_rows: the shown picture's, when rows_valid), combined. */
	uint32_t *front_rows, *back_rows;
	bool rows_valid;
	struct xport_crc32c_shift *crc_shift;
	bool have_front;
	uint32_t front_id;
	bool need_refresh;
	uint64_t last_pli_ns;
	unsigned drop_logs;

	struct zc_backend *backend;
	struct pending_present pending[PRESENT_RING];
	unsigned n_pending;
	struct zc_stats stats;

	uint8_t client_nonce[XPORT_CTL_NONCE];
	struct sockaddr_storage adv;   /* cfg.advertise, resolved */
	struct sockaddr_storage media; /* the server's media port (RTCP goes there) */
	/* Cross-host: the server's timestamps need the estimated offset. */
	bool ntp_clock, have_offset, ptp_warned;
	uint64_t hb_best_rtt;
	unsigned hb_best_age;
	struct xport_srtp *srtp; /* with a key: the media session's SRTP */

	/* Staleness: the newest frame id the server spoke of (media, or the
	 * SR's APP), when it was last heard, when a frame was last shown. */
	uint64_t stale_ns;
	struct zl_source *stale_timer;
	bool have_latest;
	uint32_t latest_id;
	uint64_t last_heard_ns, last_good_ns, stale_since_ns;

	/* The backend's panel (probed before HELLO). */
	bool have_panel;
	struct zc_panel_info panel;

	/* Stage times of recent frames: the server's half (RTCP) and ours
	 * (present) meet here, in either order. */
	struct stage_rec {
		uint32_t frame_id;
		bool server, client;
		uint32_t us[3]; /* composed, encoded, first sent; after capture */
		uint64_t capture_ns, received_ns, decoded_ns, presented_ns;
	} stage_recs[32];
	unsigned stage_next;

	/* --inject: what is left of the list, where the touch is. */
	const char *inject_next;
	struct zl_source *inject_timer;
	double inject_x, inject_y;

	/* Sequence numbers missing from the media stream (NACK). */
	bool have_high;
	uint16_t high_seq;
	struct missing {
		uint16_t seq;
		uint8_t tries;
		uint64_t last_ns;
	} missing[NACK_MAX];
	unsigned n_missing;
};

static void session_end(struct zc_session *s)
{
	if (s->state == STATE_ENDED) {
		return;
	}
	s->state = STATE_ENDED;
	zl_source_remove(s->udp_src);
	s->udp_src = NULL;
	xport_ctl_conn_finish(&s->conn);
	zl_loop_quit(s->loop);
}

__attribute__((format(printf, 3, 4)))
static void session_fail(struct zc_session *s, int err, const char *fmt, ...)
{
	if (s->state == STATE_ENDED) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->status = err < 0 ? err : -EIO;
	zl_info("session failed: %s", s->error);
	session_end(s);
}

/* --- control connection --- */

static void send_heartbeat(struct zc_session *s, uint64_t now)
{
	struct xport_ctl_msg msg = { .type = XPORT_CTL_HEARTBEAT };
	msg.heartbeat = (struct xport_ctl_heartbeat){
		.seq = ++s->hb_seq,
		.echo_seq = s->server_hb_seq,
		.t_send_ns = now,
		.t_echo_ns = s->server_hb_send_ns,
		.t_echo_recv_ns = s->server_hb_recv_ns,
		.tai_minus_mono = s->cfg.clock == ZC_CLOCK_PTP ? xport_tai_minus_mono() : 0,
	};
	s->last_hb_ns = now;
	if (xport_ctl_conn_send(&s->conn, &msg) < 0) {
		session_fail(s, -EPIPE, "server %s gone: cannot send on the control connection",
			s->server_name);
	}
}

bool zc_session_input(struct zc_session *s, const struct zc_input_event *ev)
{
	if (s->state != STATE_ACTIVE || s->welcome.version < 3 || ev->slot >= XPORT_INPUT_SLOTS) {
		return false;
	}
	struct xport_ctl_msg msg = { .type = XPORT_CTL_INPUT };
	msg.input = (struct xport_ctl_input){
		.kind = (uint8_t)ev->kind,
		.slot = (uint8_t)ev->slot,
		.x = (int32_t)(ev->x * 256.0),
		.y = (int32_t)(ev->y * 256.0),
		.code = ev->code,
		.value = ev->pressed ? 1 : 0,
		.t_ns = zl_now_ns(),
	};
	if (xport_ctl_conn_send(&s->conn, &msg) < 0) {
		session_fail(s, -EPIPE, "server %s gone: cannot send on the control connection",
			s->server_name);
		return false;
	}
	s->stats.inputs_sent++;
	return true;
}

/* --inject: the next event of the list, then again in 30 ms. */
static void on_inject(void *data)
{
	struct zc_session *s = data;
	const char *p = s->inject_next;
	if (!p || !*p) {
		return;
	}
	const char *end = strchr(p, ';');
	size_t len = end ? (size_t)(end - p) : strlen(p);
	char item[64];
	snprintf(item, sizeof(item), "%.*s", (int)(len < sizeof(item) ? len : sizeof(item) - 1), p);
	s->inject_next = end ? end + 1 : p + len;
	struct zc_input_event ev = { 0 };
	double x = 0, y = 0;
	unsigned code = 0;
	if (sscanf(item, "down:%lf,%lf", &x, &y) == 2) {
		ev = (struct zc_input_event){ .kind = ZC_INPUT_TOUCH_DOWN, .x = x, .y = y };
		s->inject_x = x;
		s->inject_y = y;
	} else if (sscanf(item, "move:%lf,%lf", &x, &y) == 2) {
		ev = (struct zc_input_event){ .kind = ZC_INPUT_TOUCH_MOTION, .x = x, .y = y };
		s->inject_x = x;
		s->inject_y = y;
	} else if (strcmp(item, "up") == 0) {
		ev = (struct zc_input_event){ .kind = ZC_INPUT_TOUCH_UP, .x = s->inject_x,
			.y = s->inject_y };
	} else if (sscanf(item, "key:%u", &code) == 1 && code < 0x300) {
		ev = (struct zc_input_event){ .kind = ZC_INPUT_KEY, .code = (uint16_t)code,
			.pressed = true };
		zc_session_input(s, &ev);
		ev.pressed = false;
	} else {
		zl_warn("--inject: '%s' is not down:X,Y, move:X,Y, up or key:CODE; skipped", item);
	}
	if (ev.kind) {
		zl_info("injected %s", item);
		zc_session_input(s, &ev);
	}
	if (*s->inject_next) {
		zl_source_timer_arm(s->inject_timer, 30 * MS, 0);
	}
}

void zc_session_bye(struct zc_session *s)
{
	if (!s || s->state != STATE_ACTIVE || s->status < 0) {
		return;
	}
	struct xport_ctl_msg msg = { .type = XPORT_CTL_BYE };
	msg.bye.reason = s->done ? XPORT_CTL_BYE_DONE : XPORT_CTL_BYE_SHUTDOWN;
	/* Best effort: the connection closes right after anyway. */
	int r = xport_ctl_conn_send(&s->conn, &msg);
	if (r < 0 || xport_ctl_conn_pending(&s->conn) > 0) {
		zl_dbg("client", "BYE not sent: %s", r < 0 ? strerror(-r) : "socket full");
	}
}

/* --- RTCP --- */

static void send_rtcp(struct zc_session *s, bool pli, const uint16_t *nack, unsigned n_nack,
	uint64_t now)
{
	uint8_t buf[256 + 4 * NACK_MAX + XPORT_SRTP_MAX_OVERHEAD];
	size_t off = 0, n;
	struct xport_rtcp_report_block block;
	uint32_t lsr = 0, dlsr = 0;
	if (s->have_sr) {
		lsr = s->sr_lsr;
		/* Delay since that SR in 1/65536 s. */
		dlsr = (uint32_t)(((now - s->sr_recv_ns) << 16) / 1000000000ull);
	}
	xport_rtp_rx_stats_block(&s->rx, s->welcome.ssrc, lsr, dlsr, &block);
	if (xport_rtcp_write_rr(buf, sizeof(buf), s->ssrc, s->rx.started ? &block : NULL, &n) < 0) {
		return;
	}
	off += n;
	if (xport_rtcp_write_sdes_cname(buf + off, sizeof(buf) - off, s->ssrc, "zone-client", &n) == 0) {
		off += n;
	}
	if (pli && xport_rtcp_write_pli(buf + off, sizeof(buf) - off, s->ssrc, s->welcome.ssrc, &n) == 0) {
		off += n;
	}
	if (n_nack && xport_rtcp_write_nack(buf + off, sizeof(buf) - off, s->ssrc, s->welcome.ssrc,
		nack, n_nack, &n) == 0) {
		off += n;
		s->stats.nack_requests += n_nack;
	}
	if (s->srtp && xport_srtp_protect_rtcp(s->srtp, buf, &off) < 0) {
		return;
	}
	if (sendto(s->udp_fd, buf, off, MSG_DONTWAIT, s->cfg.advertise ?
		(struct sockaddr *)&s->media : NULL, s->cfg.advertise ?
		xport_net_addr_len((struct sockaddr *)&s->media) : 0) < 0) {
		zl_dbg("client", "RTCP send: %s", strerror(errno));
		return;
	}
	s->stats.bytes_sent += off;
	s->stats.packets_sent++;
	s->last_rr_ns = now;
	if (pli) {
		s->last_pli_ns = now;
		s->stats.refresh_requests++;
		zl_dbg("client", "PLI sent");
	}
}

/* Asks for a key frame now if the rate limit allows; the tick repeats it
 * every pli_interval_ns until one is shown. */
static void maybe_send_pli(struct zc_session *s, uint64_t now)
{
	if (s->need_refresh && s->state == STATE_ACTIVE &&
		(s->last_pli_ns == 0 || now - s->last_pli_ns >= s->pli_interval_ns)) {
		send_rtcp(s, true, NULL, 0, now);
	}
}

static void request_refresh(struct zc_session *s)
{
	s->need_refresh = true;
	maybe_send_pli(s, zl_now_ns());
}

/* --- staleness --- */

/* A media packet names frame_id: the server has it. A damaged id (bits
 * flipped on the way) must not make the zone look behind for ever: ids
 * only move forward by at most XPORT_REASM_RESYNC here, and the server's
 * own statement (note_latest) replaces whatever was guessed. */
static void note_heard(struct zc_session *s, uint32_t frame_id, uint64_t now)
{
	s->last_heard_ns = now;
	int32_t d = s->have_latest ? xport_serial32_diff(frame_id, s->latest_id) : 1;
	if (d > 0 && d <= XPORT_REASM_RESYNC) {
		s->latest_id = frame_id;
		s->have_latest = true;
	}
}

/* The SR's APP: the id of the last frame the server emitted. */
static void note_latest(struct zc_session *s, uint32_t frame_id, uint64_t now)
{
	s->last_heard_ns = now;
	s->latest_id = frame_id;
	s->have_latest = true;
}

/* Stale: no good frame for stale_ns, and either the server has spoken of
 * a newer one, or it has not been heard for as long. Otherwise checks
 * again when silence could next make it so. */
static void check_stale(struct zc_session *s, uint64_t now)
{
	if (s->stats.stale_now || s->state != STATE_ACTIVE) {
		return;
	}
	uint64_t good = s->have_front ? s->last_good_ns : s->t_welcome;
	bool behind = !s->have_front || (s->have_latest && s->latest_id != s->front_id);
	bool silent = now - s->last_heard_ns >= s->stale_ns;
	if (now - good >= s->stale_ns && (behind || silent)) {
		s->stats.stale_now = true;
		s->stats.stale_events++;
		s->stale_since_ns = good + s->stale_ns;
		zl_warn("zone %s: STALE: no good frame for %llu ms (%s)", s->cfg.zone,
			(unsigned long long)((now - good) / MS), silent ? "the server is silent" :
			"the server has newer frames");
		return;
	}
	uint64_t next = good + s->stale_ns > now ? good + s->stale_ns : s->last_heard_ns + s->stale_ns;
	zl_source_timer_arm(s->stale_timer, next > now ? next - now : 1, 0);
}

/* A good frame was shown at now. */
static void fresh(struct zc_session *s, uint64_t now)
{
	s->last_good_ns = now;
	if (s->stats.stale_now) {
		uint64_t d = now > s->stale_since_ns ? now - s->stale_since_ns : 0;
		s->stats.stale_now = false;
		s->stats.stale_ns_total += d;
		if (d > s->stats.stale_ns_max) {
			s->stats.stale_ns_max = d;
		}
		zl_info("zone %s: fresh again after %llu ms stale", s->cfg.zone,
			(unsigned long long)(d / MS));
	}
	zl_source_timer_arm(s->stale_timer, s->stale_ns, 0);
}

static void on_stale_timer(void *data)
{
	struct zc_session *s = data;
	check_stale(s, zl_now_ns());
}

/* --- NACK --- */

static void missing_remove(struct zc_session *s, unsigned i)
{
	s->missing[i] = s->missing[--s->n_missing];
}

static void note_missing(struct zc_session *s, uint16_t seq)
{
	for (unsigned i = 0; i < s->n_missing; i++) {
		if (s->missing[i].seq == seq) {
			return;
		}
	}
	if (s->n_missing == NACK_MAX) {
		missing_remove(s, 0); /* the oldest hole is the least useful */
	}
	s->missing[s->n_missing++] = (struct missing){ .seq = seq };
}

/* Notes media packet seq: a jump forward leaves holes to ask for; a packet
 * behind the highest fills one. */
static void note_seq(struct zc_session *s, uint16_t seq)
{
	if (!s->have_high) {
		s->have_high = true;
		s->high_seq = seq;
		return;
	}
	int16_t d = (int16_t)(seq - s->high_seq);
	if (d <= 0) {
		for (unsigned i = 0; i < s->n_missing; i++) {
			if (s->missing[i].seq == seq) {
				missing_remove(s, i);
				break;
			}
		}
		return;
	}
	if (d - 1 <= NACK_MAX_GAP) {
		for (uint16_t q = (uint16_t)(s->high_seq + 1); q != seq; q++) {
			note_missing(s, q);
		}
	}
	s->high_seq = seq;
}

/* Asks for the holes due (new ones, and retries); forgets the hopeless. */
static void send_nacks(struct zc_session *s, uint64_t now)
{
	uint16_t seqs[NACK_MAX];
	unsigned n = 0;
	for (unsigned i = 0; i < s->n_missing;) {
		struct missing *m = &s->missing[i];
		if (m->tries > 0 && now - m->last_ns < NACK_RETRY_NS) {
			i++;
			continue;
		}
		if (m->tries == NACK_TRIES) {
			missing_remove(s, i); /* the frame is given up or refreshed */
			continue;
		}
		m->tries++;
		m->last_ns = now;
		seqs[n++] = m->seq;
		i++;
	}
	if (n) {
		send_rtcp(s, false, seqs, n, now);
	}
}

/* --- frames --- */

__attribute__((format(printf, 2, 3)))
static void log_drop(struct zc_session *s, const char *fmt, ...)
{
	/* Loss can come in storms: the first few drops are warnings, the rest
	 * debug lines (the stats count them all). */
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->drop_logs < 10) {
		s->drop_logs++;
		zl_warn("%s%s", msg, s->drop_logs == 10 ? " (further drops: ZONAL_DEBUG=client)" : "");
	} else {
		zl_dbg("client", "%s", msg);
	}
}

static void write_dump(struct zc_session *s)
{
	pixman_image_t *img = s->backend->impl->snapshot(s->backend);
	if (!img) {
		return;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/frame-%06llu.png", s->cfg.dump_dir,
		(unsigned long long)s->stats.frames_presented);
	zc_snapshot_write_png(img, path);
}

static struct stage_rec *stage_rec(struct zc_session *s, uint32_t frame_id)
{
	const unsigned n = sizeof(s->stage_recs) / sizeof(s->stage_recs[0]);
	for (unsigned i = 0; i < n; i++) {
		struct stage_rec *r = &s->stage_recs[i];
		if ((r->server || r->client) && r->frame_id == frame_id) {
			return r;
		}
	}
	struct stage_rec *r = &s->stage_recs[s->stage_next];
	s->stage_next = (s->stage_next + 1) % n;
	memset(r, 0, sizeof(*r));
	r->frame_id = frame_id;
	return r;
}

/* Both halves of a frame's stages known: one sample each. */
static void stage_done(struct zc_session *s, struct stage_rec *r)
{
	if (!r->server || !r->client) {
		return;
	}
	const uint64_t us = 1000;
	struct zc_samples *st = s->stats.stages;
	bool known = r->us[0] != XPORT_STAGE_UNKNOWN && r->us[1] != XPORT_STAGE_UNKNOWN &&
		r->us[2] != XPORT_STAGE_UNKNOWN && r->us[0] <= r->us[1] && r->us[1] <= r->us[2];
	if (known) {
		zc_samples_add(&st[ZC_STAGE_COMPOSE], r->us[0] * us);
		zc_samples_add(&st[ZC_STAGE_ENCODE], (r->us[1] - r->us[0]) * us);
		zc_samples_add(&st[ZC_STAGE_SEND], (r->us[2] - r->us[1]) * us);
		/* The server's clock into ours, as for the latency. */
		if (!s->ntp_clock || s->have_offset) {
			uint64_t sent = r->capture_ns + r->us[2] * us;
			sent = s->ntp_clock ? sent - (uint64_t)s->stats.clock_offset_ns : sent;
			if (r->received_ns >= sent) {
				zc_samples_add(&st[ZC_STAGE_NETWORK], r->received_ns - sent);
			}
		}
	}
	if (r->decoded_ns >= r->received_ns) {
		zc_samples_add(&st[ZC_STAGE_DECODE], r->decoded_ns - r->received_ns);
	}
	if (r->presented_ns >= r->decoded_ns) {
		zc_samples_add(&st[ZC_STAGE_PRESENT], r->presented_ns - r->decoded_ns);
	}
	r->server = r->client = false; /* the slot is free again */
}

static bool take_pending(struct zc_session *s, uint32_t frame_id)
{
	for (unsigned i = 0; i < s->n_pending; i++) {
		if (s->pending[i].frame_id == frame_id) {
			memmove(&s->pending[i], &s->pending[i + 1],
				(s->n_pending - i - 1) * sizeof(s->pending[0]));
			s->n_pending--;
			return true;
		}
	}
	return false;
}

static void on_presented(void *data, uint32_t frame_id, uint64_t t_present_ns)
{
	struct zc_session *s = data;
	struct pending_present p = { 0 };
	bool found = false;
	for (unsigned i = 0; i < s->n_pending && !found; i++) {
		if (s->pending[i].frame_id == frame_id) {
			p = s->pending[i];
			found = true;
		}
	}
	if (!found || !take_pending(s, frame_id)) {
		return;
	}
	s->stats.frames_presented++;
	fresh(s, t_present_ns);
	if (s->stats.frames_presented == 1 && s->cfg.inject && s->inject_timer) {
		/* The panel shows something: the injected user acts on it. */
		s->inject_next = s->cfg.inject;
		zl_source_timer_arm(s->inject_timer, 1, 0);
	}
	if (p.key) {
		s->stats.key_frames++;
	}
	/* The server's clock into ours; cross-host, only once there is an
	 * offset estimate. */
	bool usable = !s->ntp_clock || s->have_offset;
	uint64_t capture = s->ntp_clock ? p.capture_ns - (uint64_t)s->stats.clock_offset_ns :
		p.capture_ns;
	if (!p.refresh && usable && t_present_ns >= capture) {
		zc_stats_add_latency(&s->stats, t_present_ns - capture);
	}
	if (t_present_ns >= p.received_ns) {
		zc_samples_add(&s->stats.receive_to_present, t_present_ns - p.received_ns);
	}
	if (!p.refresh) {
		struct stage_rec *r = stage_rec(s, frame_id);
		r->client = true;
		r->capture_ns = p.capture_ns;
		r->received_ns = p.received_ns;
		r->decoded_ns = p.decoded_ns;
		r->presented_ns = t_present_ns;
		stage_done(s, r);
	}
	if (s->cfg.present_log) {
		fprintf(s->cfg.present_log, "%u %llu %llu %d %d\n", frame_id,
			(unsigned long long)t_present_ns, (unsigned long long)p.capture_ns, p.key,
			p.refresh);
	}
	if (s->cfg.dump_dir) {
		write_dump(s);
	}
	if (s->cfg.max_frames && s->stats.frames_presented >= s->cfg.max_frames && !s->done) {
		s->done = true;
		zl_info("%llu frames shown: done", (unsigned long long)s->stats.frames_presented);
		zc_session_bye(s);
		session_end(s);
	}
}

static void on_discarded(void *data, uint32_t frame_id)
{
	struct zc_session *s = data;
	if (take_pending(s, frame_id)) {
		/* A newer frame replaced it on the way to the screen: it was
		 * never seen. Not a loss to repair: the newer one is shown. */
		s->stats.frames_dropped++;
		zl_dbg("client", "frame %u: the display discarded it for a newer one", frame_id);
	}
}

static void on_panel_closed(void *data, const char *why, bool error)
{
	struct zc_session *s = data;
	if (error) {
		session_fail(s, -EPIPE, "panel: %s", why);
		return;
	}
	zl_info("panel: %s: done", why);
	s->done = true;
	zc_session_bye(s);
	session_end(s);
}

static void on_panel_input(void *data, const struct zc_input_event *ev)
{
	zc_session_input(data, ev);
}

static const struct zc_backend_listener backend_listener = {
	.presented = on_presented,
	.input = on_panel_input,
	.discarded = on_discarded,
	.closed = on_panel_closed,
};

/* Makes back equal to front where they differ. */
static void sync_back(struct zc_session *s)
{
	int n = 0;
	const pixman_box32_t *r = pixman_region32_rectangles(&s->back_dirty, &n);
	for (int i = 0; i < n; i++) {
		pixman_image_composite32(PIXMAN_OP_SRC, s->front, NULL, s->back, r[i].x1, r[i].y1, 0, 0,
			r[i].x1, r[i].y1, r[i].x2 - r[i].x1, r[i].y2 - r[i].y1);
	}
	pixman_region32_clear(&s->back_dirty);
}

static void drop_frame(struct zc_session *s, bool bad)
{
	/* The server's delta stream goes on without us: we need a new start. */
	xport_tile_decoder_break(s->dec);
	s->stats.frames_dropped++;
	if (bad) {
		s->stats.crc_mismatches++;
	}
	request_refresh(s);
}

/* The front (just made) goes to the panel; damage: where it differs from
 * the previous one. */
static void present_front(struct zc_session *s, const struct pending_present *p,
	const pixman_region32_t *damage)
{
	if (s->n_pending == PRESENT_RING) {
		/* The display has not said what became of 16 frames: it is not
		 * keeping up. */
		s->stats.frames_dropped++;
		log_drop(s, "frame %u: %u frames wait for the display; dropped", p->frame_id,
			PRESENT_RING);
		return;
	}
	s->pending[s->n_pending++] = *p;
	s->pending[s->n_pending - 1].decoded_ns = zl_now_ns();
	if (s->backend->impl->present(s->backend, s->front, damage, p->frame_id) < 0) {
		s->n_pending--;
		log_drop(s, "frame %u: the backend could not present it", p->frame_id);
	}
}

/* The CRC of back once a frame's tiles are applied: back is front plus
 * applied (sync_back), so the rows of front keep their CRCs except those
 * the tiles touched; a key frame (or no valid front) reads every row. */
static uint32_t back_crc(struct zc_session *s, bool key, pixman_region32_t *applied)
{
	uint32_t h = s->welcome.height;
	if (key || !s->rows_valid) {
		xport_crc32c_row_crcs(pixman_image_get_data(s->back),
			(size_t)pixman_image_get_stride(s->back), (size_t)s->welcome.width * 4, 0, h,
			s->back_rows);
	} else {
		memcpy(s->back_rows, s->front_rows, sizeof(uint32_t) * h);
		xport_tiles_region_row_crcs(s->back, applied, s->back_rows);
	}
	return xport_crc32c_fold_rows(s->crc_shift, s->back_rows, h);
}

static void handle_frame(struct zc_session *s, const struct xport_reasm_frame *f)
{
	struct xport_tiles_header h;
	/* A compact header's size (0) is the base frame's: the zone's. */
	if (xport_tiles_parse_header(f->data, f->len, &h) < 0 ||
		(h.width && (h.width != s->welcome.width || h.height != s->welcome.height)) ||
		!(h.flags & XPORT_TILES_KEY) != !f->key) {
		log_drop(s, "frame %u: bad payload header; dropped", f->frame_id);
		drop_frame(s, true);
		return;
	}
	bool key = h.flags & XPORT_TILES_KEY;
	if (!key && (!s->have_front || h.base_id != s->front_id)) {
		log_drop(s, "frame %u: its base frame %u is not the one shown; dropped", f->frame_id,
			h.base_id);
		drop_frame(s, false);
		return;
	}
	if (key) {
		/* Every pixel is about to be written. */
		pixman_region32_clear(&s->back_dirty);
	} else {
		sync_back(s);
	}
	pixman_region32_t applied;
	pixman_region32_init(&applied);
	int r = xport_tiles_apply(s->dec, f->data, f->len, s->back, &applied);
	uint32_t crc = r == 0 ? back_crc(s, key, &applied) : 0;
	if (r < 0 || crc != h.crc) {
		/* back is wrong exactly where tiles were written. */
		pixman_region32_union(&s->back_dirty, &s->back_dirty, &applied);
		pixman_region32_fini(&applied);
		if (r < 0) {
			log_drop(s, "frame %u: malformed tiles; dropped", f->frame_id);
		} else {
			log_drop(s, "frame %u: CRC %08x, expected %08x; dropped", f->frame_id, crc, h.crc);
		}
		drop_frame(s, true);
		return;
	}
	/* Verified: it becomes the front. The old front lacks exactly the tiles
	 * just applied. */
	pixman_image_t *t = s->front;
	s->front = s->back;
	s->back = t;
	uint32_t *rows = s->front_rows;
	s->front_rows = s->back_rows;
	s->back_rows = rows;
	s->rows_valid = true;
	pixman_region32_copy(&s->back_dirty, &applied);
	s->have_front = true;
	s->front_id = f->frame_id;
	if (key) {
		s->need_refresh = false;
	}
	if (pixman_region32_not_empty(&applied)) {
		present_front(s, &(struct pending_present){ .frame_id = f->frame_id,
			.capture_ns = f->capture_ns, .received_ns = f->last_ns,
			.refresh = h.flags & XPORT_TILES_REFRESH, .key = key },
			&applied);
	}
	pixman_region32_fini(&applied);
}

/* A whole new picture is in back (raw, decoded): it becomes the front. */
static void present_whole(struct zc_session *s, const struct pending_present *p)
{
	pixman_image_t *t = s->front;
	s->front = s->back;
	s->back = t;
	s->rows_valid = false;
	s->have_front = true;
	s->front_id = p->frame_id;
	if (p->key) {
		s->need_refresh = false;
	}
	pixman_region32_t all;
	pixman_region32_init_rect(&all, 0, 0, s->welcome.width, s->welcome.height);
	/* The next picture overwrites back whole: nothing to sync. */
	pixman_region32_clear(&s->back_dirty);
	present_front(s, p, &all);
	pixman_region32_fini(&all);
}

/* A raw, h264 or jpeg frame, whole and in order from the reassembler: its
 * CRC checked (coded.h), raw shown at once, the lossy ones decoded (frames
 * after a loss wait for a key frame: the decoder never sees a gap). */
static void handle_coded_frame(struct zc_session *s, const struct xport_reasm_frame *f)
{
	struct xport_coded_header h;
	const uint8_t *bs;
	size_t n;
	int r = xport_coded_parse(f->data, f->len, &h, &bs, &n);
	if (r < 0 || h.codec != s->welcome.codec || h.width != s->welcome.width ||
		h.height != s->welcome.height || !(h.flags & XPORT_CODED_KEY) != !f->key) {
		if (r == -EILSEQ) {
			log_drop(s, "frame %u: CRC mismatch; dropped", f->frame_id);
		} else {
			log_drop(s, "frame %u: bad payload header; dropped", f->frame_id);
		}
		drop_frame(s, true);
		return;
	}
	struct pending_present p = {
		.frame_id = f->frame_id,
		.capture_ns = f->capture_ns,
		.received_ns = f->last_ns,
		.refresh = h.flags & XPORT_CODED_REFRESH,
		.key = h.flags & XPORT_CODED_KEY,
	};
	if (h.codec == XPORT_CODEC_RAW) {
		xport_raw_to_xrgb(pixman_image_get_data(s->back), pixman_image_get_stride(s->back),
			bs, h.width, h.height);
		present_whole(s, &p);
		return;
	}
	if (!p.key && (!s->dec_in_step || f->frame_id != s->dec_last_id + 1)) {
		log_drop(s, "frame %u: a frame before it is missing; waiting for a key frame",
			f->frame_id);
		s->dec_in_step = false;
		drop_frame(s, false);
		return;
	}
	if (s->n_decoding == DECODE_RING) {
		/* The decoder fell far behind: what it has is given up. */
		s->stats.frames_dropped += s->n_decoding;
		s->n_decoding = 0;
		s->dec_in_step = false;
		if (!p.key) {
			drop_frame(s, false);
			return;
		}
	}
	if (zc_decoder_push(s->coded_dec, bs, n, f->frame_id) < 0) {
		s->dec_in_step = false;
		log_drop(s, "frame %u: the decoder did not take it", f->frame_id);
		drop_frame(s, false);
		return;
	}
	s->dec_in_step = true;
	s->dec_last_id = f->frame_id;
	s->decoding[s->n_decoding++] = p;
}

/* The lossy decoder's picture of frame_id. Frames handed in before it that
 * did not come out were dropped by the decoder: then this one may show
 * their damage, and goes too, unless it is a key frame. */
static void on_decoded(void *data, uint32_t frame_id, const uint8_t *pixels, size_t stride)
{
	struct zc_session *s = data;
	unsigned i = 0;
	while (i < s->n_decoding && s->decoding[i].frame_id != frame_id) {
		i++;
	}
	if (i == s->n_decoding) {
		return; /* given up already */
	}
	struct pending_present p = s->decoding[i];
	memmove(s->decoding, s->decoding + i + 1, (s->n_decoding - i - 1) * sizeof(s->decoding[0]));
	s->n_decoding -= i + 1;
	if (i > 0) {
		s->stats.frames_dropped += i;
		log_drop(s, "%u frame(s) before %u did not decode", i, frame_id);
		if (!p.key) {
			s->dec_in_step = false;
			drop_frame(s, false);
			return;
		}
	}
	uint8_t *dst = (uint8_t *)pixman_image_get_data(s->back);
	size_t dst_stride = (size_t)pixman_image_get_stride(s->back);
	for (uint32_t y = 0; y < s->welcome.height; y++) {
		memcpy(dst + y * dst_stride, pixels + y * stride, (size_t)s->welcome.width * 4);
	}
	present_whole(s, &p);
}

static void on_decode_failed(void *data, const char *message)
{
	struct zc_session *s = data;
	log_drop(s, "decoder: %s; %u frame(s) lost, waiting for a key frame", message,
		s->n_decoding);
	s->stats.frames_dropped += s->n_decoding;
	s->n_decoding = 0;
	s->dec_in_step = false;
	request_refresh(s);
}

static const struct zc_decoder_listener decoder_listener = {
	.decoded = on_decoded,
	.failed = on_decode_failed,
};

static void pump_frames(struct zc_session *s)
{
	struct xport_reasm_frame f;
	while (s->state == STATE_ACTIVE && xport_reasm_pop(s->reasm, &f)) {
		if (s->welcome.codec == XPORT_CODEC_TILES) {
			handle_frame(s, &f);
		} else {
			handle_coded_frame(s, &f);
		}
		xport_reasm_frame_finish(&f);
	}
	uint64_t lost = xport_reasm_take_lost(s->reasm);
	if (lost && s->state == STATE_ACTIVE) {
		s->stats.frames_dropped += lost;
		log_drop(s, "%llu frame(s) lost in transit", (unsigned long long)lost);
		request_refresh(s);
	}
}

/* The server's stages of a frame (RTCP APP STAGES, or in band since
 * version 4), once: a retransmitted last packet carries them again. */
static void note_server_stages(struct zc_session *s, uint32_t frame_id, const uint32_t us[3])
{
	struct stage_rec *r = stage_rec(s, frame_id);
	if (r->server) {
		return;
	}
	r->server = true;
	memcpy(r->us, us, sizeof(r->us));
	stage_done(s, r);
}

static void handle_rtcp(struct zc_session *s, const uint8_t *buf, size_t len, uint64_t now)
{
	struct xport_rtcp_info info;
	if (xport_rtcp_parse(buf, len, &info) < 0) {
		s->stats.packets_rejected++;
		return;
	}
	if (info.has_app && info.app_ssrc == s->welcome.ssrc && info.app_len >= 4 &&
		memcmp(info.app_name, XPORT_RTCP_APP_NAME, 4) == 0 &&
		info.app_subtype == XPORT_RTCP_APP_FRAME) {
		note_latest(s, xport_get_be32(info.app_data), now);
	}
	if (info.has_app && info.app_ssrc == s->welcome.ssrc && info.app_len >= 16 &&
		memcmp(info.app_name, XPORT_RTCP_APP_NAME, 4) == 0 &&
		info.app_subtype == XPORT_RTCP_APP_STAGES) {
		uint32_t us[3];
		for (unsigned i = 0; i < 3; i++) {
			us[i] = xport_get_be32(info.app_data + 4 + 4 * i);
		}
		note_server_stages(s, xport_get_be32(info.app_data), us);
	}
	if (info.has_sr && info.sr_ssrc == s->welcome.ssrc) {
		/* LSR: the middle 32 bits of the SR's NTP timestamp. */
		s->sr_lsr = (uint32_t)(info.sr_ntp >> 16);
		s->sr_recv_ns = now;
		s->have_sr = true;
	}
}

static void handle_datagram(struct zc_session *s, uint8_t *buf, size_t len, uint64_t now)
{
	s->stats.packets_received++;
	s->stats.bytes_received += len;
	if (s->srtp) {
		/* SRTCP and SRTP: the RTCP packet types stay in the clear. */
		int r = xport_rtp_is_rtcp(buf, len) ? xport_srtp_unprotect_rtcp(s->srtp, buf, &len) :
			xport_srtp_unprotect_rtp(s->srtp, buf, &len);
		if (r < 0) {
			s->stats.packets_rejected++;
			s->stats.srtp_rejected++;
			log_drop(s, "datagram of %zu bytes failed SRTP (plaintext, forged or "
				"replayed); dropped", len);
			return;
		}
	}
	if (xport_rtp_is_rtcp(buf, len)) {
		handle_rtcp(s, buf, len, now);
		return;
	}
	struct xport_rtp_packet p;
	struct xport_rtp_ext_ids ids = { s->welcome.ext_frame_id, s->welcome.ext_capture,
		s->welcome.ext_stages, s->welcome.version >= XPORT_CTL_VERSION_COMPACT };
	if (xport_rtp_parse_ids(buf, len, &ids, &p) < 0 || p.ssrc != s->welcome.ssrc) {
		s->stats.packets_rejected++;
		log_drop(s, "bad media datagram (%zu bytes); dropped", len);
		return;
	}
	if (!ids.capture) {
		/* Version 5: the RTP timestamp is the capture time, on the
		 * server's clock: now there, as near as this client knows. */
		uint64_t server_now = s->ntp_clock ? now + (uint64_t)s->stats.clock_offset_ns : now;
		p.capture_ns = xport_rtp_ts_90k_time(p.ts, s->welcome.rtp_ts_offset, server_now);
		p.has_capture = true;
	}
	xport_rtp_rx_stats_update(&s->rx, p.seq, p.ts, xport_rtp_ts_90k(now, 0));
	note_seq(s, p.seq);
	if (p.has_frame_id) {
		note_heard(s, p.frame_id, now);
	}
	struct xport_media_phdr h;
	size_t n;
	if (xport_media_phdr_parse(p.payload, p.payload_len, &h, &n) < 0 ||
		!xport_media_packet_fits(&h, n, s->frag)) {
		/* Damaged on the way (cut short, header bits flipped): lost, so
		 * asked for again, rather than spoiling its frame. */
		s->stats.packets_rejected++;
		log_drop(s, "damaged media packet seq %u; asking for it again", p.seq);
		note_missing(s, p.seq);
		return;
	}
	if (xport_reasm_push(s->reasm, &p, now) < 0) {
		s->stats.packets_rejected++;
		log_drop(s, "bad media packet seq %u; dropped", p.seq);
		return;
	}
	if (p.has_stages && p.has_frame_id) {
		uint32_t us[3];
		for (unsigned i = 0; i < 3; i++) {
			us[i] = p.stages_us[i] == XPORT_RTP_STAGE_MAX ? XPORT_STAGE_UNKNOWN :
				p.stages_us[i];
		}
		note_server_stages(s, p.frame_id, us);
	}
}

static void on_udp(void *data, int fd, uint32_t events)
{
	struct zc_session *s = data;
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	for (unsigned handled = 0; handled < RECV_BUDGET && s->state == STATE_ACTIVE;) {
		for (unsigned i = 0; i < RECV_BATCH; i++) {
			iov[i] = (struct iovec){ s->rx_bufs + i * s->rx_buf_size, s->rx_buf_size };
			msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		int n = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			break;
		}
		uint64_t now = zl_now_ns();
		for (int i = 0; i < n && s->state == STATE_ACTIVE; i++) {
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				s->stats.packets_received++;
				s->stats.packets_rejected++;
				continue;
			}
			handle_datagram(s, iov[i].iov_base, msgs[i].msg_len, now);
			/* Present as soon as a frame completes, not after the batch. */
			pump_frames(s);
		}
		handled += (unsigned)n;
		if (s->state == STATE_ACTIVE && s->n_missing) {
			send_nacks(s, now);
		}
	}
}

/* --- session set-up after WELCOME --- */

static int start_media(struct zc_session *s)
{
	const struct xport_ctl_welcome *w = &s->welcome;
	if (w->codec != XPORT_CODEC_TILES && w->codec != XPORT_CODEC_RAW &&
		w->codec != XPORT_CODEC_H264 && w->codec != XPORT_CODEC_JPEG) {
		session_fail(s, -EPROTO, "server %s offers codec %u; this client decodes tiles, "
			"raw, h264 and jpeg", s->server_name, w->codec);
		return -EPROTO;
	}
	if (w->width < 1 || w->height < 1 || w->width > XPORT_TILES_MAX_DIM ||
		w->height > XPORT_TILES_MAX_DIM || w->mtu < XPORT_MEDIA_MTU_MIN) {
		session_fail(s, -EPROTO, "server %s announces an unusable stream (%ux%u, mtu %u)",
			s->server_name, w->width, w->height, w->mtu);
		return -EPROTO;
	}
	/* Media comes from the control peer's address, at its media port. */
	struct sockaddr_storage media = s->server;
	xport_net_set_port((struct sockaddr *)&media, w->media_port);
	s->media = media;
	/* Connected, the socket takes datagrams from the server's media port
	 * only; advertised, media come through someone else (a NAT, a relay)
	 * and RTCP goes out with sendto. */
	if (!s->cfg.advertise && connect(s->udp_fd, (struct sockaddr *)&media,
		xport_net_addr_len((struct sockaddr *)&media)) < 0) {
		session_fail(s, -errno, "cannot use the server's media port: %s", strerror(errno));
		return -EIO;
	}
	/* Any datagram up to the MTU, plus room to notice longer ones. */
	s->rx_buf_size = (size_t)w->mtu + 64;
	s->rx_bufs = malloc(s->rx_buf_size * RECV_BATCH);
	struct xport_reasm_config rc = {
		.ssrc = w->ssrc,
		.payload_type = w->payload_type,
		/* Lossy frames: up to 4 bytes a pixel (more than any picture
		 * worth sending; a bound on memory, not on quality). */
		.max_frame_bytes = w->codec == XPORT_CODEC_TILES ?
			xport_tiles_max_payload(w->width, w->height, XPORT_TILES_LOG2_MIN) :
			XPORT_CODED_HDR_SIZE + (size_t)w->width * w->height *
			(w->codec == XPORT_CODEC_RAW ? 3 : 4),
	};
	s->reasm = xport_reasm_create(&rc);
	if (w->codec == XPORT_CODEC_H264 || w->codec == XPORT_CODEC_JPEG) {
		s->coded_dec = zc_decoder_create(s->loop, w->codec, w->width, w->height,
			&decoder_listener, s);
		if (!s->coded_dec) {
			session_fail(s, -ENOTSUP, "server %s sends %s, which this client cannot decode "
				"(GStreamer)", s->server_name, w->codec == XPORT_CODEC_H264 ? "h264" : "jpeg");
			return -ENOTSUP;
		}
	}
	s->dec = xport_tile_decoder_create();
	s->front = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)w->width, (int)w->height, NULL, 0);
	s->back = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)w->width, (int)w->height, NULL, 0);
	s->front_rows = calloc(w->height, sizeof(uint32_t));
	s->back_rows = calloc(w->height, sizeof(uint32_t));
	s->crc_shift = malloc(sizeof(*s->crc_shift));
	if (s->crc_shift) {
		xport_crc32c_shift_init(s->crc_shift, (uint64_t)w->width * 4);
	}
	if (!s->rx_bufs || !s->reasm || !s->dec || !s->front || !s->back || !s->front_rows ||
		!s->back_rows || !s->crc_shift) {
		session_fail(s, -ENOMEM, "out of memory for a %ux%u zone", w->width, w->height);
		return -ENOMEM;
	}
	struct zc_backend_options bo = s->cfg.backend_options;
	bo.title = s->cfg.zone;
	s->backend = s->cfg.backend->create(s->loop, w->width, w->height, &bo, &backend_listener, s);
	if (!s->backend) {
		session_fail(s, -ENODEV, "the %s backend cannot run here", s->cfg.backend->name);
		return -ENODEV;
	}
	/* An incomplete frame is given up after a few frame intervals without
	 * progress. */
	uint64_t interval = w->refresh ? 1000000000ull / w->refresh : 16 * MS;
	s->expire_ns = 3 * interval > 100 * MS ? 3 * interval : 100 * MS;
	s->pli_interval_ns = interval > PLI_MIN_INTERVAL_NS ? interval : PLI_MIN_INTERVAL_NS;
	/* With a key, SRTP's tag takes room from every media packet. */
	s->frag = xport_media_frag_size(w->mtu - (s->srtp ? XPORT_SRTP_RTP_OVERHEAD : 0),
		s->server.ss_family == AF_INET6);
	if (s->frag == 0) {
		session_fail(s, -EPROTO, "server %s: mtu %u out of range", s->server_name, w->mtu);
		return -EPROTO;
	}
	s->udp_src = zl_loop_add_fd(s->loop, s->udp_fd, EPOLLIN, on_udp, s);
	if (!s->udp_src) {
		session_fail(s, -ENOMEM, "cannot watch the media socket");
		return -ENOMEM;
	}
	s->state = STATE_ACTIVE;
	s->t_welcome = zl_now_ns();
	s->last_progress_ns = s->t_welcome;
	s->last_heard_ns = s->t_welcome;
	zl_source_timer_arm(s->stale_timer, s->stale_ns, 0);
	/* The first heartbeat now: an RTT and clock-offset estimate from the
	 * start. */
	send_heartbeat(s, s->t_welcome);
	if (s->state != STATE_ACTIVE) {
		return -EPIPE;
	}
	zl_info("joined zone %s on %s: %ux%u@%u, ssrc %08x, media port %u", s->cfg.zone,
		s->server_name, w->width, w->height, w->refresh, w->ssrc, w->media_port);
	/* Datagrams may have arrived before WELCOME was read. */
	on_udp(s, s->udp_fd, EPOLLIN);
	return 0;
}

static void handle_message(struct zc_session *s, const struct xport_ctl_msg *msg)
{
	uint64_t now = zl_now_ns();
	switch (msg->type) {
	case XPORT_CTL_WELCOME:
		if (s->state != STATE_HELLO_SENT) {
			session_fail(s, -EPROTO, "server %s sent a second WELCOME", s->server_name);
			return;
		}
		s->welcome = msg->welcome;
		if (s->cfg.psk) {
			/* The server proves the key first, then we do. */
			if (msg->welcome.auth != XPORT_CTL_AUTH_PSK ||
				!xport_psk_proof_ok(s->cfg.psk, true, s->client_nonce,
					msg->welcome.server_nonce, s->cfg.zone, msg->welcome.server_proof)) {
				struct xport_ctl_msg e = { .type = XPORT_CTL_ERROR };
				e.error.code = XPORT_CTL_ERR_AUTH;
				snprintf(e.error.text, sizeof(e.error.text), "the server did not prove the key");
				xport_ctl_conn_send(&s->conn, &e);
				session_fail(s, -EACCES, "server %s did not prove the key (%s): refused",
					s->server_name, msg->welcome.auth ? "wrong key" :
					"it has no key-file");
				return;
			}
			struct xport_ctl_msg a = { .type = XPORT_CTL_AUTH };
			xport_psk_proof(s->cfg.psk, false, s->client_nonce, msg->welcome.server_nonce,
				s->cfg.zone, a.auth.client_proof);
			if (xport_ctl_conn_send(&s->conn, &a) < 0) {
				session_fail(s, -EPIPE, "server %s: cannot send AUTH", s->server_name);
				return;
			}
			s->srtp = xport_srtp_create(s->cfg.psk, s->client_nonce,
				msg->welcome.server_nonce, false);
			if (!s->srtp) {
				session_fail(s, -ENOMEM, "cannot set up SRTP");
				return;
			}
			zl_info("server %s proved the key; media are SRTP (AES-128-GCM)",
				s->server_name);
		}
		start_media(s);
		return;
	case XPORT_CTL_ERROR:
		/* The server's text says it best; the code's name if it sent none. */
		session_fail(s, -ECONNREFUSED, "server %s refused: %s", s->server_name,
			msg->error.text[0] ? msg->error.text : xport_ctl_error_name(msg->error.code));
		return;
	case XPORT_CTL_HEARTBEAT: {
		const struct xport_ctl_heartbeat *hb = &msg->heartbeat;
		s->server_hb_seq = hb->seq;
		s->server_hb_send_ns = hb->t_send_ns;
		s->server_hb_recv_ns = now;
		if (s->cfg.clock == ZC_CLOCK_PTP && hb->tai_minus_mono) {
			/* Both TAIs are one clock: the offset without any network
			 * asymmetry in it. */
			s->stats.clock_offset_ns = xport_tai_minus_mono() - hb->tai_minus_mono;
			s->have_offset = true;
			if (!s->stats.clock_ptp) {
				s->stats.clock_ptp = true;
				zl_info("clock: both ends PTP-synchronised (CLOCK_TAI); offset %lld ns",
					(long long)s->stats.clock_offset_ns);
			}
		}
		if (s->cfg.clock == ZC_CLOCK_PTP && !hb->tai_minus_mono && !s->ptp_warned) {
			s->ptp_warned = true;
			zl_warn("clock: the server does not say its CLOCK_TAI is PTP-synchronised "
				"([server] clock=ptp): estimating the offset instead");
		}
		if (hb->echo_seq && hb->echo_seq == s->hb_seq && hb->t_echo_ns && !s->stats.clock_ptp) {
			/* t1 = our send, t2 = its receive, t3 = its send, t4 = now. */
			int64_t t1 = (int64_t)hb->t_echo_ns, t2 = (int64_t)hb->t_echo_recv_ns;
			int64_t t3 = (int64_t)hb->t_send_ns, t4 = (int64_t)now;
			int64_t rtt = (t4 - t1) - (t3 - t2);
			rtt = rtt > 0 ? rtt : 0;
			s->stats.rtt_ns = (uint64_t)rtt;
			/* NTP's filter: of the recent exchanges, the one with the
			 * shortest round trip has the least asymmetry in it. */
			s->hb_best_age++;
			if (!s->have_offset || (uint64_t)rtt <= s->hb_best_rtt ||
				s->hb_best_age > OFFSET_WINDOW) {
				s->hb_best_rtt = (uint64_t)rtt;
				s->hb_best_age = 0;
				s->stats.clock_offset_ns = ((t2 - t1) + (t3 - t4)) / 2;
				s->have_offset = true;
			}
		}
		return;
	}
	case XPORT_CTL_BYE:
		session_fail(s, -ECONNRESET, "server %s said goodbye", s->server_name);
		return;
	default:
		session_fail(s, -EPROTO, "server %s sent an unexpected %s", s->server_name,
			xport_ctl_type_name(msg->type));
		return;
	}
}

static void send_hello(struct zc_session *s)
{
	struct xport_ctl_msg msg = { .type = XPORT_CTL_HELLO };
	msg.hello = (struct xport_ctl_hello){
		.version = XPORT_CTL_VERSION,
		.panel_width = s->cfg.panel_width,
		.panel_height = s->cfg.panel_height,
		.panel_refresh = s->cfg.panel_refresh,
		.media_port = s->media_port,
	};
	snprintf(msg.hello.zone, sizeof(msg.hello.zone), "%s", s->cfg.zone);
	if (!s->cfg.panel_width && s->have_panel) {
		/* The panel the backend found: its mode and EDID. */
		msg.hello.panel_width = s->panel.width;
		msg.hello.panel_height = s->panel.height;
		msg.hello.panel_refresh = s->panel.refresh_hz;
	}
	if (s->have_panel && s->panel.edid_len <= XPORT_CTL_EDID_MAX) {
		msg.hello.edid_len = (uint16_t)s->panel.edid_len;
		memcpy(msg.hello.edid, s->panel.edid, s->panel.edid_len);
	}
	if (s->cfg.advertise) {
		if (s->adv.ss_family == AF_INET) {
			msg.hello.adv_family = 4;
			memcpy(msg.hello.adv_addr, &((struct sockaddr_in *)&s->adv)->sin_addr, 4);
		} else {
			msg.hello.adv_family = 6;
			memcpy(msg.hello.adv_addr, &((struct sockaddr_in6 *)&s->adv)->sin6_addr, 16);
		}
		msg.hello.adv_port = xport_net_get_port((struct sockaddr *)&s->adv);
	}
	if (s->cfg.psk) {
		if (xport_psk_nonce(s->client_nonce) < 0) {
			session_fail(s, -EIO, "no randomness for a nonce");
			return;
		}
		msg.hello.auth = XPORT_CTL_AUTH_PSK;
		memcpy(msg.hello.client_nonce, s->client_nonce, XPORT_CTL_NONCE);
	}
	if (xport_ctl_conn_send(&s->conn, &msg) < 0) {
		session_fail(s, -EPIPE, "server %s: cannot send HELLO", s->server_name);
		return;
	}
	s->state = STATE_HELLO_SENT;
	s->t_start = zl_now_ns();
}

/* Is the server on this host (one CLOCK_MONOTONIC)? The control socket's
 * two ends share an address, or the server is on loopback. */
static bool same_host(int fd)
{
	struct sockaddr_storage a, b;
	socklen_t la = sizeof(a), lb = sizeof(b);
	if (getsockname(fd, (struct sockaddr *)&a, &la) < 0 ||
		getpeername(fd, (struct sockaddr *)&b, &lb) < 0) {
		return false;
	}
	if (b.ss_family == AF_INET) {
		const struct sockaddr_in *p = (const struct sockaddr_in *)&b;
		if ((ntohl(p->sin_addr.s_addr) >> 24) == 127) {
			return true;
		}
	} else if (b.ss_family == AF_INET6 &&
		IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&b)->sin6_addr)) {
		return true;
	}
	return xport_net_same_ip((struct sockaddr *)&a, (struct sockaddr *)&b);
}

static void on_ctl_connected(void *data)
{
	struct zc_session *s = data;
	s->ntp_clock = s->cfg.clock == ZC_CLOCK_NTP || s->cfg.clock == ZC_CLOCK_PTP ||
		(s->cfg.clock == ZC_CLOCK_AUTO && !same_host(s->conn.fd));
	s->stats.clock_ntp = s->ntp_clock;
	send_hello(s);
}

static void on_ctl_message(void *data, const struct xport_ctl_msg *msg)
{
	handle_message(data, msg);
}

static void on_ctl_bad_message(void *data, int err)
{
	struct zc_session *s = data;
	session_fail(s, -EPROTO, "garbage on the control connection from %s "
		"(not a gpu-server, or a broken one)", s->server_name);
}

static void on_ctl_closed(void *data, int err)
{
	struct zc_session *s = data;
	if (s->state == STATE_CONNECTING) {
		session_fail(s, err, "cannot connect to %s: %s", s->server_name, strerror(-err));
	} else if (err == 0) {
		session_fail(s, -ECONNRESET, "server %s closed the connection", s->server_name);
	} else {
		session_fail(s, err, "server %s: connection lost: %s", s->server_name, strerror(-err));
	}
}

static const struct xport_ctl_conn_listener ctl_listener = {
	.message = on_ctl_message,
	.bad_message = on_ctl_bad_message,
	.closed = on_ctl_closed,
	.connected = on_ctl_connected,
};

static void on_tick(void *data)
{
	struct zc_session *s = data;
	uint64_t now = zl_now_ns();
	switch (s->state) {
	case STATE_CONNECTING:
		if (now - s->t_start > CONNECT_TIMEOUT_NS) {
			session_fail(s, -ETIMEDOUT, "cannot connect to %s: timed out", s->server_name);
		}
		return;
	case STATE_HELLO_SENT:
		if (now - s->t_start > CONNECT_TIMEOUT_NS) {
			session_fail(s, -ETIMEDOUT, "server %s did not answer HELLO", s->server_name);
		}
		return;
	case STATE_ACTIVE:
		break;
	case STATE_ENDED:
		return;
	}
	if (now - s->conn.last_rx_ns > (uint64_t)XPORT_CTL_TIMEOUT_MS * MS) {
		session_fail(s, -ETIMEDOUT, "server %s gone: silent for %u s", s->server_name,
			XPORT_CTL_TIMEOUT_MS / 1000);
		return;
	}
	if (now - s->last_hb_ns >= (uint64_t)XPORT_CTL_HEARTBEAT_MS * MS) {
		send_heartbeat(s, now);
		if (s->state != STATE_ACTIVE) {
			return;
		}
	}
	if (now - s->last_progress_ns >= PROGRESS_NS) {
		/* Long runs say how they go. */
		s->last_progress_ns = now;
		fprintf(stderr, "zone-client: zone %s: %llu frames shown, %llu dropped, latency p50 "
			"%.2f p99 %.2f ms\n", s->cfg.zone, (unsigned long long)s->stats.frames_presented,
			(unsigned long long)s->stats.frames_dropped,
			(double)zc_stats_percentile(&s->stats, 50) * 1e-6,
			(double)zc_stats_percentile(&s->stats, 99) * 1e-6);
	}
	xport_reasm_expire(s->reasm, now, s->expire_ns);
	pump_frames(s);
	if (s->state != STATE_ACTIVE) {
		return;
	}
	if (s->n_missing) {
		send_nacks(s, now);
	}
	if (!s->have_front && now - s->t_welcome > FIRST_FRAME_GRACE_NS) {
		s->need_refresh = true;
	}
	if (s->need_refresh) {
		maybe_send_pli(s, now);
	} else if (now - s->last_rr_ns >= RR_INTERVAL_NS) {
		send_rtcp(s, false, NULL, 0, now);
	}
}

/* --- create/destroy --- */

struct zc_session *zc_session_create(struct zl_loop *loop, const struct zc_session_config *cfg)
{
	struct zc_session *s = calloc(1, sizeof(*s));
	if (!s) {
		return NULL;
	}
	s->loop = loop;
	s->cfg = *cfg;
	s->udp_fd = -1;
	zc_stats_init(&s->stats);
	pixman_region32_init(&s->back_dirty);
	if (getrandom(&s->ssrc, sizeof(s->ssrc), GRND_NONBLOCK) != sizeof(s->ssrc)) {
		s->ssrc = (uint32_t)zl_now_ns();
	}

	/* Failures from here on are reported like any later one: one line
	 * from zc_session_error(), the session ended. */
	socklen_t alen;
	if (xport_net_resolve(cfg->host, cfg->port, false, SOCK_STREAM, &s->server, &alen) < 0) {
		session_fail(s, -ENOENT, "cannot resolve server '%s'", cfg->host);
		return s;
	}
	xport_net_addr_str((struct sockaddr *)&s->server, s->server_name, sizeof(s->server_name));
	if (cfg->advertise) {
		char host[256];
		uint16_t port;
		socklen_t l;
		if (xport_net_split_hostport(cfg->advertise, host, sizeof(host), &port, 0) < 0 ||
			port == 0 || xport_net_resolve(host, port, false, SOCK_DGRAM, &s->adv, &l) < 0 ||
			s->adv.ss_family != s->server.ss_family) {
			session_fail(s, -EINVAL, "--advertise %s: expected HOST:PORT of the server's "
				"address family", cfg->advertise);
			return s;
		}
	}

	/* The panel, for HELLO: a backend that can tell says what it drives. */
	if (cfg->backend && cfg->backend->probe &&
		cfg->backend->probe(&cfg->backend_options, &s->panel) == 0) {
		s->have_panel = true;
	}

	/* The media socket exists before HELLO, which announces its port. */
	s->udp_fd = socket(s->server.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->udp_fd < 0) {
		session_fail(s, -errno, "cannot create the media socket: %s", strerror(errno));
		return s;
	}
	struct sockaddr_storage local = { .ss_family = s->server.ss_family };
	xport_net_set_port((struct sockaddr *)&local, cfg->media_port);
	if (bind(s->udp_fd, (struct sockaddr *)&local,
		xport_net_addr_len((struct sockaddr *)&local)) < 0) {
		session_fail(s, -errno, "cannot bind the media socket to UDP port %u: %s",
			cfg->media_port, strerror(errno));
		return s;
	}
	socklen_t llen = sizeof(local);
	getsockname(s->udp_fd, (struct sockaddr *)&local, &llen);
	s->media_port = xport_net_get_port((struct sockaddr *)&local);
	/* Key frames arrive as bursts; room for one avoids self-inflicted loss. */
	xport_net_set_buffer(s->udp_fd, SO_RCVBUF, SOCKET_BUFFER);

	int tcp_fd = socket(s->server.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (tcp_fd < 0) {
		session_fail(s, -errno, "cannot create the control socket: %s", strerror(errno));
		return s;
	}
	s->t_start = zl_now_ns();
	if (connect(tcp_fd, (struct sockaddr *)&s->server, alen) < 0 && errno != EINPROGRESS) {
		int err = errno;
		close(tcp_fd);
		session_fail(s, -err, "cannot connect to %s: %s", s->server_name, strerror(err));
		return s;
	}
	/* The rest of the connect, HELLO and everything after: on_ctl_*. */
	if (xport_ctl_conn_init(&s->conn, loop, tcp_fd, XPORT_CTL_CONN_CONNECTING, &ctl_listener,
		s) < 0) {
		goto err;
	}
	s->stale_ns = (uint64_t)(s->cfg.stale_ms ? s->cfg.stale_ms : ZC_STALE_MS_DEFAULT) * MS;
	s->stale_timer = zl_loop_add_timer(loop, on_stale_timer, s);
	if (!s->stale_timer) {
		goto err;
	}
	s->tick = zl_loop_add_timer(loop, on_tick, s);
	if (!s->tick || zl_source_timer_arm(s->tick, TICK_NS, TICK_NS) < 0) {
		goto err;
	}
	if (cfg->inject && !(s->inject_timer = zl_loop_add_timer(loop, on_inject, s))) {
		goto err;
	}
	return s;
err:
	zc_session_destroy(s);
	return NULL;
}

void zc_session_destroy(struct zc_session *s)
{
	if (!s) {
		return;
	}
	zl_source_remove(s->tick);
	zl_source_remove(s->inject_timer);
	zl_source_remove(s->stale_timer);
	zl_source_remove(s->udp_src);
	xport_ctl_conn_finish(&s->conn);
	if (s->udp_fd >= 0) {
		close(s->udp_fd);
	}
	if (s->backend) {
		s->backend->impl->destroy(s->backend);
	}
	if (s->front) {
		pixman_image_unref(s->front);
	}
	if (s->back) {
		pixman_image_unref(s->back);
	}
	pixman_region32_fini(&s->back_dirty);
	free(s->front_rows);
	free(s->back_rows);
	free(s->crc_shift);
	xport_reasm_destroy(s->reasm);
	xport_tile_decoder_destroy(s->dec);
	zc_decoder_destroy(s->coded_dec);
	xport_srtp_destroy(s->srtp);
	free(s->rx_bufs);
	zc_stats_finish(&s->stats);
	free(s);
}

int zc_session_status(const struct zc_session *s)
{
	return s->status;
}

const char *zc_session_error(const struct zc_session *s)
{
	return s->error;
}

bool zc_session_done(const struct zc_session *s)
{
	return s->done;
}

struct zc_stats *zc_session_stats(struct zc_session *s)
{
	return &s->stats;
}

void zc_session_stats_info(const struct zc_session *s, struct zc_stats_info *info)
{
	*info = (struct zc_stats_info){
		.zone = s->cfg.zone,
		.width = s->welcome.width,
		.height = s->welcome.height,
		.present_source = s->cfg.backend->present_source,
	};
}

pixman_image_t *zc_session_snapshot(struct zc_session *s)
{
	return s->backend ? s->backend->impl->snapshot(s->backend) : NULL;
}
