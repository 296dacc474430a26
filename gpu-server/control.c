/* SPDX-License-Identifier: MIT */
#include "control.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/control-conn.h"
#include "transport/control-proto.h"
#include "transport/media.h"
#include "transport/net.h"
#include "transport/bytes.h"
#include "transport/coded.h"
#include "transport/crc32c.h"
#include "transport/psk.h"
#include "transport/rfc4175.h"
#include "transport/rtp.h"
#include "transport/srtp.h"
#include "transport/tiles.h"
#include "util/clock.h"
#include "util/log.h"

#define MAX_CLIENTS 64
/* Frames waiting per client. Beyond this the client cannot keep up: its
 * queue is dropped and it gets a key frame instead. */
#define QUEUE_MAX 4
/* Pacing: xport_media_pace_burst() (media.h). With txtime the kernel (an
 * ETF qdisc) launches each burst at its time. */
#define BURST XPORT_PACE_BURST_MAX
/* Bursts a late pace timer may send at once (see on_pace). */
#define PACE_CATCHUP_MAX 32
/* Frames kept per client after they went out, for retransmission (NACK). */
#define HISTORY 8
/* Lost packets are sent again while their frame is this young (in frame
 * intervals): later, a key frame serves the client better. */
#define RETX_MAX_AGE_FRAMES 2
/* Key frames answering PLIs, per client, at most once a frame interval
 * (and at least this far apart). */
#define KEY_MIN_INTERVAL_NS 10000000ull
#define TICK_NS 250000000ull
#define SR_INTERVAL_NS 1000000000ull
/* After an ERROR the connection lingers (reading and discarding) so the
 * message is not lost to a reset, then closes. */
#define LINGER_NS 1000000000ull
#define SOCKET_BUFFER (4 * 1024 * 1024)

struct gs_frame {
	unsigned refs;
	struct xport_media_frame m;
	uint8_t *data;
	uint8_t tiles_flags; /* tiles: the payload's (XPORT_TILES_PACKED, ...) */
	/* Its way through the server (CLOCK_MONOTONIC; 0: unknown). */
	uint64_t composed_ns, encoded_ns;
};

enum client_state {
	CLIENT_HELLO,   /* connected, waiting for HELLO */
	CLIENT_AUTH,    /* WELCOME sent with the server's proof, waiting for AUTH */
	CLIENT_ACTIVE,  /* joined a zone */
	CLIENT_CLOSING, /* ERROR sent, lingering */
	CLIENT_DEAD,    /* closed, freed at the end of the dispatch */
};

struct gs_zone;

struct gs_client {
	struct gs_control *ctl;
	struct gs_client *next;
	enum client_state state;
	struct xport_ctl_conn conn;
	char name[XPORT_NET_ADDR_STRLEN];
	struct sockaddr_storage peer;
	uint64_t close_deadline_ns;

	/* With a key: SRTP for everything of this client's media session, and
	 * the buffer packets are protected in (BURST of them). */
	struct xport_srtp *srtp;
	uint8_t *srtp_buf;
	size_t srtp_slot;
	/* CLIENT_AUTH: the zone asked for and both nonces. */
	struct gs_zone *auth_zone;
	uint8_t client_nonce[XPORT_CTL_NONCE], server_nonce[XPORT_CTL_NONCE];

	/* Its panel, as HELLO described it. */
	struct gs_control_panel panel;
	uint8_t panel_edid[XPORT_CTL_EDID_MAX];

	/* Media (CLIENT_ACTIVE). */
	struct gs_zone *zone;
	struct sockaddr_storage media;
	/* Where its RTCP comes from: media, unless it advertised another
	 * address for its media. */
	struct sockaddr_storage rtcp_from;
	bool needs_key;
	uint64_t last_key_ns;
	uint32_t version; /* of the session (WELCOME) */
	/* It was sent every chunk of the zone's delta stream since its last
	 * start (tiles.h XPORT_TILES_STREAM): the next may continue it. */
	bool in_stream;
	uint16_t seq;
	uint32_t packets_sent, octets_sent;
	uint64_t last_sr_ns;
	struct gs_frame *queue[QUEUE_MAX]; /* queue[0] is being sent */
	unsigned q_len;
	unsigned next_packet;               /* of queue[0] */
	unsigned burst;                     /* packets per burst for queue[0] */
	uint16_t q0_seq;                    /* of queue[0]'s first packet, once sent */
	uint64_t q0_sent_ns;
	/* Frames sent whole, newest last, with the sequence number of their
	 * first packet: what a NACK can name. */
	struct sent_frame {
		struct gs_frame *f;
		uint16_t seq0;
		uint64_t sent_ns;
	} history[HISTORY];
	unsigned n_history;
	uint32_t hb_seq;
};

struct gs_zone {
	struct gs_control *ctl;
	unsigned index;
	char name[XPORT_CTL_NAME_MAX + 1];
	uint32_t width, height, refresh_hz, mtu;
	pixman_image_t *image;
	int udp_fd;
	struct zl_source *udp_src;
	bool blocked; /* the socket said EAGAIN: waiting for EPOLLOUT */
	uint16_t media_port;
	size_t frag;
	uint32_t ssrc, ts_offset;
	uint32_t frame_id; /* of the last frame emitted */
	uint8_t codec;     /* enum xport_ctl_codec */
	struct xport_tile_encoder *enc; /* tiles */
	/* tiles: each row's CRC32C of the image as last checked, and the rows
	 * changed since (the frame CRC reads only those). */
	uint32_t *row_crc;
	struct xport_crc32c_shift *crc_shift;
	pixman_region32_t crc_dirty;
	struct zl_source *pace_timer;
	bool pace_armed;
	uint64_t pace_due_ns; /* when the armed pace timer should fire */
	struct zl_source *key_timer;
	bool key_armed;
	/* h264/jpeg: when a key frame was last asked of the encoder, 0 once it
	 * came: it is asked again only if it seems lost. */
	uint64_t key_asked_ns;
	/* SRs to the zone's clients while it is idle (XPORT_MEDIA_KEEPALIVE_NS):
	 * how they tell "nothing changed" from "nothing arrives". */
	struct zl_source *keepalive_timer;
	bool send_error_logged;
	uint32_t pace_pct;
	bool txtime;
	bool ipv6;
	struct gs_control_zone_stats stats;
};

struct gs_control {
	struct zl_loop *loop;
	const struct gs_control_listener *listener;
	void *data;
	int listen_fd;
	struct zl_source *listen_src;
	uint16_t port;
	struct zl_source *tick;
	struct gs_zone *zones;
	unsigned n_zones;
	struct gs_client *clients;
	unsigned n_clients;
	bool have_psk;
	struct xport_psk psk;
	enum gs_control_advertise advertise;
	bool clock_ptp;
	uint64_t inputs;
};

static uint32_t random_u32(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v)) {
		v = (uint32_t)zl_now_ns() * 2654435761u;
	}
	return v;
}

/* --- frames --- */

static void frame_unref(struct gs_frame *f)
{
	if (f && --f->refs == 0) {
		free(f->data);
		free(f);
	}
}

static struct gs_frame *frame_create(struct gs_zone *z, uint8_t *data, size_t len, bool key,
	uint64_t capture_ns)
{
	unsigned count = xport_media_packet_count(len, z->frag);
	if (count == 0) {
		zl_err("zone %s: frame of %zu bytes needs more than %u packets", z->name, len,
			XPORT_MEDIA_MAX_PACKETS);
		free(data);
		return NULL;
	}
	struct gs_frame *f = calloc(1, sizeof(*f));
	if (!f) {
		free(data);
		return NULL;
	}
	f->refs = 1;
	f->data = data;
	f->m = (struct xport_media_frame){
		.frame_id = z->frame_id,
		.capture_ns = capture_ns,
		.rtp_ts = xport_rtp_ts_90k(capture_ns, z->ts_offset),
		.key = key,
		.data = data,
		.len = len,
		.frag = z->frag,
		.count = count,
	};
	return f;
}

/* Does this client take the stages in band and reduced-size keepalives
 * (protocol version 4)? */
static bool client_stages(const struct gs_client *c)
{
	return c->version >= XPORT_CTL_VERSION_STAGES;
}

/* Does this client take compact media headers (protocol version 5)? */
static bool client_compact(const struct gs_client *c)
{
	return c->version >= XPORT_CTL_VERSION_COMPACT;
}

/* Does this client take packed tiles deltas (protocol version 5)? */
static bool client_packed(const struct gs_client *c)
{
	return c->version >= XPORT_CTL_VERSION_PACKED;
}

/* --- clients: control connection --- */

static void client_queue_clear(struct gs_client *c)
{
	for (unsigned i = 0; i < c->q_len; i++) {
		frame_unref(c->queue[i]);
		c->queue[i] = NULL;
	}
	c->q_len = 0;
	c->next_packet = 0;
	for (unsigned i = 0; i < c->n_history; i++) {
		frame_unref(c->history[i].f);
	}
	c->n_history = 0;
}

static ssize_t zone_send_one(struct gs_zone *z, const struct sockaddr_storage *to,
	struct iovec *iov, size_t n_iov);

static uint32_t stage_us(uint64_t t, uint64_t capture)
{
	if (!t || t < capture) {
		return XPORT_STAGE_UNKNOWN;
	}
	uint64_t us = (t - capture) / 1000;
	return us < XPORT_STAGE_UNKNOWN ? (uint32_t)us : XPORT_STAGE_UNKNOWN - 1;
}

/* Where frame f's time went here: composed, encoded, first packet sent at
 * sent_ns (media.h, APP STAGES and the stages element, whose writer
 * saturates to 24 bits: unknown stays unknown). */
static void frame_stages(const struct gs_frame *f, uint64_t sent_ns, uint32_t us[3])
{
	uint64_t cap = f->m.capture_ns;
	us[0] = stage_us(f->composed_ns, cap);
	us[1] = stage_us(f->encoded_ns, cap);
	us[2] = stage_us(sent_ns, cap);
}

/* Tells the client where frame f's time went here (media.h, APP STAGES):
 * for clients before version 4, and frames whose last packet had no room
 * for the element. */
static void client_send_stages(struct gs_client *c, const struct gs_frame *f, uint64_t sent_ns)
{
	struct gs_zone *z = c->zone;
	uint8_t buf[64], d[16];
	size_t a, b;
	uint32_t us[3];
	frame_stages(f, sent_ns, us);
	xport_put_be32(d, f->m.frame_id);
	for (unsigned k = 0; k < 3; k++) {
		xport_put_be32(d + 4 + 4 * k, us[k]);
	}
	if (xport_rtcp_write_rr(buf, sizeof(buf), z->ssrc, NULL, &a) < 0 ||
		xport_rtcp_write_app(buf + a, sizeof(buf) - a, z->ssrc, XPORT_RTCP_APP_NAME,
			XPORT_RTCP_APP_STAGES, d, sizeof(d), &b) < 0) {
		return;
	}
	size_t len = a + b;
	/* Best effort, like every report. */
	if (c->srtp && xport_srtp_protect_rtcp(c->srtp, buf, &len) < 0) {
		return;
	}
	struct iovec iov = { buf, len };
	zone_send_one(z, &c->media, &iov, 1);
}

/* queue[0] went out whole: it moves to the history (the oldest drops out).
 * inband: its last packet carried the stages. */
static void client_frame_sent(struct gs_client *c, bool inband)
{
	if (!inband) {
		client_send_stages(c, c->queue[0], c->q0_sent_ns);
	}
	if (c->n_history == HISTORY) {
		frame_unref(c->history[0].f);
		memmove(c->history, c->history + 1, (HISTORY - 1) * sizeof(c->history[0]));
		c->n_history--;
	}
	c->history[c->n_history++] = (struct sent_frame){ c->queue[0], c->q0_seq, c->q0_sent_ns };
	memmove(c->queue, c->queue + 1, (c->q_len - 1) * sizeof(c->queue[0]));
	c->queue[--c->q_len] = NULL;
	c->next_packet = 0;
}

/* The client stops being a member of its zone (once). */
static void client_leave_zone(struct gs_client *c)
{
	struct gs_zone *z = c->zone;
	if (!z) {
		return;
	}
	client_queue_clear(c);
	c->zone = NULL;
	z->stats.clients--;
	struct gs_control *ctl = c->ctl;
	if (ctl->listener && ctl->listener->client_left) {
		ctl->listener->client_left(ctl->data, z->index);
	}
}

static void client_close(struct gs_client *c, const char *why)
{
	if (c->state == CLIENT_DEAD) {
		return;
	}
	if (why) {
		zl_info("control: client %s: %s", c->name, why);
	}
	client_leave_zone(c);
	xport_ctl_conn_finish(&c->conn);
	c->state = CLIENT_DEAD;
}

/* Refuses the client: ERROR to it, a log line here, the connection closed
 * after a short linger. Nothing else is affected. */
__attribute__((format(printf, 3, 4)))
static void client_fail(struct gs_client *c, uint32_t code, const char *fmt, ...)
{
	struct xport_ctl_msg msg = { .type = XPORT_CTL_ERROR };
	msg.error.code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg.error.text, sizeof(msg.error.text), fmt, ap);
	va_end(ap);
	/* The text goes on the wire: keep it printable ASCII. */
	for (char *p = msg.error.text; *p; p++) {
		if (*p < 0x20 || *p > 0x7e) {
			*p = '?';
		}
	}
	zl_warn("control: client %s: %s: %s; closing", c->name, xport_ctl_error_name(code),
		msg.error.text);
	client_leave_zone(c);
	c->state = CLIENT_CLOSING;
	c->close_deadline_ns = zl_now_ns() + LINGER_NS;
	/* ERROR goes out, then the write side is shut down and the connection
	 * read and discarded until the peer closes or the linger ends. */
	if (xport_ctl_conn_send_last(&c->conn, &msg) < 0) {
		client_close(c, NULL);
	}
}

/* --- media sending --- */

static void zone_pump(struct gs_zone *z, unsigned rounds);

static void zone_arm_pacing(struct gs_zone *z)
{
	if (!z->pace_armed && !z->blocked) {
		zl_source_timer_arm(z->pace_timer, XPORT_PACE_GAP_NS, 0);
		z->pace_armed = true;
		z->pace_due_ns = zl_now_ns() + XPORT_PACE_GAP_NS;
	}
}

static void zone_set_blocked(struct gs_zone *z, bool blocked)
{
	if (z->blocked != blocked) {
		z->blocked = blocked;
		zl_source_fd_update(z->udp_src, EPOLLIN | (blocked ? EPOLLOUT : 0));
	}
}

/* One datagram outside the paced stream (a retransmission, RTCP): with
 * txtime, it too carries a launch time (an ETF qdisc drops those without). */
static ssize_t zone_send_one(struct gs_zone *z, const struct sockaddr_storage *to,
	struct iovec *iov, size_t n_iov)
{
	union {
		char buf[XPORT_NET_TXTIME_CMSG_SPACE];
		struct cmsghdr align;
	} cmsg;
	struct msghdr mh = {
		.msg_name = (void *)to,
		.msg_namelen = xport_net_addr_len((const struct sockaddr *)to),
		.msg_iov = iov,
		.msg_iovlen = n_iov,
	};
	if (z->txtime) {
		xport_net_txtime_cmsg(cmsg.buf, xport_net_launch_time());
		mh.msg_control = cmsg.buf;
		mh.msg_controllen = sizeof(cmsg.buf);
	}
	return sendmsg(z->udp_fd, &mh, MSG_DONTWAIT);
}

/* Sends one paced burst of c's queue. Returns false if the socket is full
 * (try again on EPOLLOUT). */
static bool client_send_burst(struct gs_zone *z, struct gs_client *c)
{
	struct mmsghdr msgs[BURST];
	struct iovec iov[BURST][2];
	uint8_t hdrs[BURST][XPORT_MEDIA_HDR_MAX];
	bool inband[BURST];
	uint32_t octets[BURST]; /* RTP payload octets: payload header and fragment */
	union {
		char buf[XPORT_NET_TXTIME_CMSG_SPACE];
		struct cmsghdr align;
	} cmsg;
	if (c->next_packet == 0 && c->q_len > 0) {
		c->burst = xport_media_pace_burst(c->queue[0]->m.count, z->refresh_hz, z->pace_pct);
	}
	unsigned burst = c->burst ? c->burst : BURST;
	if (z->txtime) {
		xport_net_txtime_cmsg(cmsg.buf, xport_net_launch_time());
	}
	unsigned n = 0;
	unsigned qi = 0, pkt = c->next_packet;
	/* Before the call: on loopback the receiver may have the packet before
	 * sendmmsg returns (the stage times must not run backwards). A frame's
	 * first packet leaves now, or left with an earlier burst. */
	uint64_t now = zl_now_ns();
	/* Packets of possibly several queued frames in one call. */
	while (n < burst && qi < c->q_len) {
		const struct gs_frame *f = c->queue[qi];
		if (pkt >= f->m.count) {
			qi++;
			pkt = 0;
			continue;
		}
		size_t off, len;
		uint32_t us[3];
		bool last = pkt + 1 == f->m.count;
		inband[n] = last && client_stages(c) && xport_media_stages_fit(&f->m);
		if (inband[n]) {
			frame_stages(f, qi == 0 && c->next_packet > 0 ? c->q0_sent_ns : now, us);
		}
		size_t hlen = xport_media_packet(&f->m, pkt, z->ssrc, XPORT_MEDIA_PT_DEFAULT,
			(uint16_t)(c->seq + n), inband[n] ? us : NULL, client_compact(c), hdrs[n], &off,
			&len);
		iov[n][0] = (struct iovec){ .iov_base = hdrs[n], .iov_len = hlen };
		iov[n][1] = (struct iovec){ .iov_base = (void *)(f->m.data + off), .iov_len = len };
		octets[n] = (uint32_t)(hlen - xport_rtp_header_size(hdrs[n]) + len);
		if (c->srtp) {
			/* The frame's bytes are shared by every client: each
			 * packet is protected in a copy. */
			uint8_t *p = c->srtp_buf + n * c->srtp_slot;
			size_t plen = hlen + len;
			memcpy(p, hdrs[n], hlen);
			memcpy(p + hlen, f->m.data + off, len);
			if (xport_srtp_protect_rtp(c->srtp, p, &plen) < 0) {
				plen = 0; /* cannot happen with a valid session */
			}
			iov[n][0] = (struct iovec){ .iov_base = p, .iov_len = plen };
			iov[n][1] = (struct iovec){ .iov_base = NULL, .iov_len = 0 };
		}
		msgs[n] = (struct mmsghdr){ .msg_hdr = {
			.msg_name = &c->media,
			.msg_namelen = xport_net_addr_len((struct sockaddr *)&c->media),
			.msg_iov = iov[n],
			.msg_iovlen = 2,
			.msg_control = z->txtime ? cmsg.buf : NULL,
			.msg_controllen = z->txtime ? sizeof(cmsg.buf) : 0,
		} };
		n++;
		pkt++;
	}
	if (n == 0) {
		return true;
	}
	int sent = sendmmsg(z->udp_fd, msgs, n, MSG_DONTWAIT);
	if (sent < 0) {
		if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
			return false;
		}
		/* Persistent (EMSGSIZE: MTU above the path's; unreachable): this
		 * frame is lost for the client, which will ask for a key frame. */
		if (!z->send_error_logged) {
			zl_log_errno(ZL_WARN, "zone %s: sending to %s", z->name, c->name);
			z->send_error_logged = true;
		}
		sent = 1;
		c->needs_key = true;
	}
	/* Advance over what went out. */
	for (int i = 0; i < sent; i++) {
		if (c->next_packet == 0) {
			c->q0_seq = c->seq;
			c->q0_sent_ns = now;
		}
		c->packets_sent++;
		size_t dgram = msgs[i].msg_hdr.msg_iov[0].iov_len + msgs[i].msg_hdr.msg_iov[1].iov_len;
		/* RTP payload octets (RFC 3550): what follows the RTP header (and
		 * precedes an SRTP tag). */
		c->octets_sent += octets[i];
		z->stats.packets++;
		z->stats.bytes += dgram;
		c->seq++;
		c->next_packet++;
		if (c->next_packet >= c->queue[0]->m.count) {
			client_frame_sent(c, inband[i]);
		}
	}
	return (unsigned)sent == n;
}

/* Sends up to 'rounds' paced bursts of each client's queue. */
static void zone_pump(struct gs_zone *z, unsigned rounds)
{
	bool more = false;
	for (struct gs_client *c = z->ctl->clients; c; c = c->next) {
		if (c->zone != z) {
			continue;
		}
		for (unsigned r = 0; r < rounds && c->q_len > 0; r++) {
			if (!client_send_burst(z, c)) {
				zone_set_blocked(z, true);
				return;
			}
		}
		more |= c->q_len > 0;
	}
	zone_set_blocked(z, false);
	if (more) {
		zone_arm_pacing(z);
	}
}

/* The pace timer fired. If the loop was busy (a guest's GL work, a
 * composition) it fired late: the bursts due since then leave now, up to
 * PACE_CATCHUP_MAX, so that pacing shapes the stream without lowering its
 * rate below what the frames need (else the client queues fill and every
 * client falls back to key frames, which are bigger still). */
static void on_pace(void *data)
{
	struct gs_zone *z = data;
	uint64_t now = zl_now_ns();
	uint64_t late = now > z->pace_due_ns ? now - z->pace_due_ns : 0;
	uint64_t rounds = 1 + late / XPORT_PACE_GAP_NS;
	z->pace_armed = false;
	zone_pump(z, rounds > PACE_CATCHUP_MAX ? PACE_CATCHUP_MAX : (unsigned)rounds);
}

static void client_enqueue(struct gs_client *c, struct gs_frame *f)
{
	f->refs++;
	c->queue[c->q_len++] = f;
}

/* Before a frame: which kinds the zone's clients need; a client whose
 * queue is full starts over from a key frame. */
struct zone_needs {
	bool key;   /* a key frame */
	bool delta; /* the next delta (tiles: as version 5 clients take it) */
	bool old;   /* tiles: the next delta as LZ4 tiles, for clients before 5 */
	bool cont;  /* tiles: every version 5 client in step has every chunk of
	             * the delta stream since its start: the delta may go on */
};

static struct zone_needs zone_needs(struct gs_zone *z)
{
	struct zone_needs n = { .cont = true };
	for (struct gs_client *c = z->ctl->clients; c; c = c->next) {
		if (c->zone != z) {
			continue;
		}
		if (c->q_len == QUEUE_MAX) {
			/* It cannot keep up: start it over from a key frame. */
			client_queue_clear(c);
			c->needs_key = true;
			z->stats.queue_drops++;
			zl_dbg("xport", "zone %s: client %s fell behind; key frame", z->name, c->name);
		}
		if (c->needs_key) {
			n.key = true;
		} else if (z->codec != XPORT_CODEC_TILES || client_packed(c)) {
			n.delta = true;
			n.cont &= c->in_stream;
		} else {
			n.old = true;
		}
	}
	return n;
}

/* Hands the zone's next frame to every client: key to those that need one,
 * delta to the others, or, in a tiles zone, old to those before version 5
 * (NULL: out of memory, or a codec whose deltas a client that needs a key
 * cannot use: it waits for the key frame). Takes the references. */
static void zone_send(struct gs_zone *z, struct gs_frame *key, struct gs_frame *delta,
	struct gs_frame *old, bool refresh)
{
	uint64_t now = zl_now_ns();
	for (struct gs_client *c = z->ctl->clients; c; c = c->next) {
		if (c->zone != z) {
			continue;
		}
		/* Older clients of a tiles zone take the unpacked delta; of other
		 * zones, the same frames as everyone. */
		struct gs_frame *f = c->needs_key ? key :
			z->codec != XPORT_CODEC_TILES || client_packed(c) ? delta : old;
		if (!f) {
			c->needs_key = true;
			c->in_stream = false;
			continue;
		}
		if (f == key) {
			c->in_stream = false;
		} else if (f->tiles_flags & XPORT_TILES_STREAM) {
			c->in_stream = true;
		}
		if (c->needs_key) {
			c->needs_key = false;
			c->last_key_ns = now;
		}
		client_enqueue(c, f);
	}
	frame_unref(key);
	frame_unref(delta);
	frame_unref(old);
	z->stats.frames++;
	if (refresh) {
		z->stats.refreshes++;
	}
	/* Idle from now on, until the next frame: the keepalive SRs say so. */
	zl_source_timer_arm(z->keepalive_timer, XPORT_MEDIA_KEEPALIVE_NS, 0);
	zone_pump(z, 1);
}

/* The CRC32C of the zone image (xport_tiles_image_crc()), reading again
 * only the rows changed since it was last taken, or all of them: a key
 * frame (or a frame without damage) may show changes whose damage has not
 * come yet (composed at a SET_SCANOUT, sent at its flush). */
static uint32_t zone_crc(struct gs_zone *z, bool all)
{
	if (all) {
		pixman_region32_reset(&z->crc_dirty, &(pixman_box32_t){ 0, 0,
			pixman_image_get_width(z->image), pixman_image_get_height(z->image) });
	}
	xport_tiles_region_row_crcs(z->image, &z->crc_dirty, z->row_crc);
	pixman_region32_clear(&z->crc_dirty);
	return xport_crc32c_fold_rows(z->crc_shift, z->row_crc,
		(size_t)pixman_image_get_height(z->image));
}

/* Emits the next frame of tiles zone z to every client: a delta of damage
 * to those in step, a key frame to those that need one. refresh: no new
 * content (a join or key request), so not a latency sample. */
static void zone_emit(struct gs_zone *z, const pixman_region32_t *damage, uint64_t capture_ns,
	bool refresh)
{
	struct zone_needs need = zone_needs(z);
	if (!need.key && !need.delta && !need.old) {
		return;
	}
	/* The zone image is composed by now (the compositor runs on flush). */
	uint64_t composed_ns = zl_now_ns();
	/* Deltas carry only the damaged tiles whose pixels differ from the
	 * frame emitted last (guests damage more than they change). A frame
	 * that includes a key frame compares every tile: that brings the
	 * encoder's reference in step after frames nobody received. */
	int changed = xport_tile_encoder_diff(z->enc, z->image, need.key ? NULL : damage,
		need.delta);
	if (changed <= 0 && !need.key) {
		/* Damage that changed nothing: no frame (and no CRC pass). */
		z->stats.unchanged++;
		return;
	}
	z->frame_id++;
	/* The receiver's proof, the CRC of the whole image. */
	uint32_t crc = zone_crc(z, need.key || !damage);
	uint8_t flags = refresh ? XPORT_TILES_REFRESH : 0;
	struct gs_frame *key = NULL, *delta = NULL, *old = NULL;
	uint8_t *data;
	size_t len;
	if (need.delta && xport_tile_encode_packed(z->enc,
		flags | (need.cont ? XPORT_TILES_CONT : 0), z->frame_id - 1, crc, &data, &len) == 0) {
		uint8_t kind = data[1]; /* the payload header's flags: what it made */
		delta = frame_create(z, data, len, false, capture_ns);
		if (delta) {
			delta->tiles_flags = kind;
			z->stats.packed += (kind & XPORT_TILES_PACKED) != 0;
		}
	}
	if (need.old && delta && !(delta->tiles_flags & XPORT_TILES_PACKED)) {
		/* Not packed after all (empty, or video-like): the same bytes. */
		old = delta;
		old->refs++;
	} else if (need.old && xport_tile_encode_diff(z->enc, flags, z->frame_id - 1, crc, &data,
		&len) == 0) {
		old = frame_create(z, data, len, false, capture_ns);
	}
	if (need.delta || need.old) {
		z->stats.delta_tiles += changed > 0 ? (uint64_t)changed : 0;
	}
	if (need.key && xport_tile_encode(z->enc, z->image, NULL, flags | XPORT_TILES_KEY, 0, crc,
		&data, &len) == 0) {
		key = frame_create(z, data, len, true, capture_ns);
		z->stats.key_frames++;
	}
	uint64_t encoded_ns = zl_now_ns();
	struct gs_frame *fs[3] = { key, delta, old };
	for (unsigned i = 0; i < 3; i++) {
		if (fs[i]) {
			fs[i]->composed_ns = composed_ns;
			fs[i]->encoded_ns = encoded_ns;
		}
	}
	zone_send(z, key, delta, old, refresh);
}

/* A frame of a raw, h264 or jpeg zone: bitstream (len bytes; NULL for raw:
 * the zone image, packed here) behind a coded.h header, to the zone's
 * clients. Non-key h264 frames go only to
 * clients in step. */
static void zone_emit_coded(struct gs_zone *z, const uint8_t *bitstream, size_t len, bool key,
	uint64_t capture_ns, uint64_t composed_ns, bool refresh)
{
	struct zone_needs need = zone_needs(z);
	if (!need.key && !need.delta) {
		return;
	}
	if (!key && !need.delta) {
		return; /* everyone waits for a key frame */
	}
	uint8_t *data = malloc(XPORT_CODED_HDR_SIZE + len);
	if (!data) {
		return;
	}
	if (bitstream) {
		memcpy(data + XPORT_CODED_HDR_SIZE, bitstream, len);
	} else {
		/* raw: packed straight into the frame, once. */
		xport_raw_from_xrgb(data + XPORT_CODED_HDR_SIZE, pixman_image_get_data(z->image),
			pixman_image_get_stride(z->image), z->width, z->height);
	}
	xport_coded_write(data, z->codec, (key ? XPORT_CODED_KEY : 0) |
		(refresh ? XPORT_CODED_REFRESH : 0), (uint16_t)z->width, (uint16_t)z->height, len);
	z->frame_id++;
	struct gs_frame *f = frame_create(z, data, XPORT_CODED_HDR_SIZE + len, key, capture_ns);
	if (!f) {
		return;
	}
	f->composed_ns = composed_ns;
	f->encoded_ns = zl_now_ns();
	if (key) {
		z->key_asked_ns = 0;
		z->stats.key_frames++;
		f->refs++;
		zone_send(z, f, f, NULL, refresh);
	} else {
		zone_send(z, NULL, f, NULL, refresh);
	}
}

/* codec=raw: the zone's image, packed RGB, every frame whole. */
static void zone_emit_raw(struct gs_zone *z, uint64_t capture_ns, bool refresh)
{
	zone_emit_coded(z, NULL, (size_t)z->width * z->height * 3, true, capture_ns, zl_now_ns(),
		refresh);
}

/* Clients of z need a key frame now: tiles and raw make one here; h264 and
 * jpeg ask the encoder (it comes back through gs_control_zone_encoded()). */
static void zone_refresh(struct gs_zone *z, uint64_t now)
{
	if (z->codec == XPORT_CODEC_TILES) {
		pixman_region32_t empty;
		pixman_region32_init(&empty);
		zone_emit(z, &empty, now, true);
		pixman_region32_fini(&empty);
	} else if (z->codec == XPORT_CODEC_RAW) {
		zone_emit_raw(z, now, true);
	} else {
		struct gs_control *ctl = z->ctl;
		uint64_t interval = 1000000000ull / (z->refresh_hz ? z->refresh_hz : 60);
		if (z->key_asked_ns && now - z->key_asked_ns < 4 * interval) {
			return; /* one is on its way */
		}
		z->key_asked_ns = now;
		/* The rate limit holds while the encoder works. */
		for (struct gs_client *c = ctl->clients; c; c = c->next) {
			if (c->zone == z && c->needs_key) {
				c->last_key_ns = now;
			}
		}
		if (ctl->listener && ctl->listener->encode_key) {
			ctl->listener->encode_key(ctl->data, z->index);
		}
	}
}

/* A client needs a key frame: send one now, or once its rate limit allows. */
static void zone_request_key(struct gs_zone *z, struct gs_client *c)
{
	c->needs_key = true;
	uint64_t now = zl_now_ns();
	uint64_t interval = 1000000000ull / (z->refresh_hz ? z->refresh_hz : 60);
	uint64_t ready = c->last_key_ns + (interval > KEY_MIN_INTERVAL_NS ? interval : KEY_MIN_INTERVAL_NS);
	if (c->last_key_ns == 0 || now >= ready) {
		zone_refresh(z, now);
		return;
	}
	if (!z->key_armed) {
		zl_source_timer_arm(z->key_timer, ready - now, 0);
		z->key_armed = true;
	}
}

static void on_key_timer(void *data)
{
	struct gs_zone *z = data;
	z->key_armed = false;
	bool any = false;
	for (struct gs_client *c = z->ctl->clients; c; c = c->next) {
		any |= c->zone == z && c->needs_key;
	}
	if (any) {
		zone_refresh(z, zl_now_ns());
	}
}

/* Finds packet seq among what c was sent: its frame and index. */
static const struct gs_frame *find_sent(const struct gs_client *c, uint16_t seq, unsigned *index,
	uint64_t *sent_ns)
{
	for (unsigned i = c->n_history; i-- > 0;) {
		const struct sent_frame *h = &c->history[i];
		uint16_t k = (uint16_t)(seq - h->seq0);
		if (k < h->f->m.count) {
			*index = k;
			*sent_ns = h->sent_ns;
			return h->f;
		}
	}
	uint16_t k = (uint16_t)(seq - c->q0_seq);
	if (c->q_len > 0 && c->next_packet > 0 && k < c->next_packet) {
		*index = k;
		*sent_ns = c->q0_sent_ns;
		return c->queue[0];
	}
	return NULL;
}

/* A NACK: each packet still worth it goes again, at once, with its own
 * sequence number (the receiver fills its hole); if any is not (too old,
 * no longer kept), the client gets a key frame instead. */
static void client_nack(struct gs_zone *z, struct gs_client *c, const struct xport_rtcp_info *info)
{
	uint64_t now = zl_now_ns();
	uint64_t max_age = RETX_MAX_AGE_FRAMES * 1000000000ull / (z->refresh_hz ? z->refresh_hz : 60);
	unsigned n = info->n_nack < XPORT_RTCP_MAX_NACK ? info->n_nack : XPORT_RTCP_MAX_NACK;
	bool want_key = false;
	for (unsigned i = 0; i < n; i++) {
		if (info->nack_media_ssrc[i] != z->ssrc) {
			continue;
		}
		z->stats.nacked++;
		unsigned index;
		uint64_t sent_ns;
		const struct gs_frame *f = find_sent(c, info->nack_seq[i], &index, &sent_ns);
		if (!f || now - sent_ns > max_age) {
			want_key = true;
			continue;
		}
		uint8_t hdr[XPORT_MEDIA_HDR_MAX];
		size_t off, len;
		/* The same bytes as the first time, stages included. */
		uint32_t us[3];
		bool stages = client_stages(c) && index + 1 == f->m.count;
		if (stages) {
			frame_stages(f, sent_ns, us);
		}
		size_t hlen = xport_media_packet(&f->m, index, z->ssrc, XPORT_MEDIA_PT_DEFAULT,
			info->nack_seq[i], stages ? us : NULL, client_compact(c), hdr, &off, &len);
		struct iovec iov[2] = { { hdr, hlen }, { (void *)(f->m.data + off), len } };
		uint8_t sp[XPORT_MEDIA_HDR_MAX + XPORT_MEDIA_MTU_MAX + XPORT_SRTP_MAX_OVERHEAD];
		if (c->srtp) {
			size_t plen = hlen + len;
			memcpy(sp, hdr, hlen);
			memcpy(sp + hlen, f->m.data + off, len);
			if (xport_srtp_protect_rtp(c->srtp, sp, &plen) < 0) {
				continue;
			}
			iov[0] = (struct iovec){ sp, plen };
			iov[1] = (struct iovec){ NULL, 0 };
		}
		if (zone_send_one(z, &c->media, iov, 2) > 0) {
			z->stats.retransmitted++;
			z->stats.packets++;
			z->stats.bytes += hlen + len;
		}
	}
	if (want_key) {
		zl_dbg("xport", "zone %s: client %s: NACKed packets too old; key frame", z->name,
			c->name);
		zone_request_key(z, c);
	}
}

/* The sender report (SR, SDES, APP of the last frame id); keepalive: while
 * the zone is idle, version 4 clients get the APP alone (RFC 5506
 * reduced-size RTCP: 16 bytes instead of ~70) between the full reports of
 * every SR_INTERVAL_NS. */
static void client_send_sr(struct gs_zone *z, struct gs_client *c, uint64_t now, bool keepalive)
{
	uint8_t buf[192];
	size_t a = 0, b = 0;
	char cname[96];
	snprintf(cname, sizeof(cname), "gpu-server/%s", z->name);
	uint8_t id[4];
	size_t d;
	xport_put_be32(id, z->frame_id);
	bool full = !keepalive || !client_stages(c) || now - c->last_sr_ns >= SR_INTERVAL_NS;
	if ((full && (xport_rtcp_write_sr(buf, sizeof(buf), z->ssrc, xport_ntp_now(),
		xport_rtp_ts_90k(now, z->ts_offset), c->packets_sent, c->octets_sent, &a) < 0 ||
		xport_rtcp_write_sdes_cname(buf + a, sizeof(buf) - a, z->ssrc, cname, &b) < 0)) ||
		xport_rtcp_write_app(buf + a + b, sizeof(buf) - a - b, z->ssrc, XPORT_RTCP_APP_NAME,
			XPORT_RTCP_APP_FRAME, id, sizeof(id), &d) < 0) {
		return;
	}
	/* Best effort: a lost report is harmless. */
	size_t len = a + b + d;
	if (c->srtp && xport_srtp_protect_rtcp(c->srtp, buf, &len) < 0) {
		return;
	}
	struct iovec iov = { buf, len };
	zone_send_one(z, &c->media, &iov, 1);
	if (full) {
		c->last_sr_ns = now;
	}
}

static void on_keepalive(void *data)
{
	struct gs_zone *z = data;
	uint64_t now = zl_now_ns();
	bool any = false;
	for (struct gs_client *c = z->ctl->clients; c; c = c->next) {
		if (c->zone == z && c->state == CLIENT_ACTIVE) {
			client_send_sr(z, c, now, true);
			any = true;
		}
	}
	if (any) {
		zl_source_timer_arm(z->keepalive_timer, XPORT_MEDIA_KEEPALIVE_NS, 0);
	}
}

/* RTCP from clients: key-frame requests, receiver reports. */
static void on_udp(void *data, int fd, uint32_t events)
{
	struct gs_zone *z = data;
	if (events & EPOLLERR) {
		/* The ETF qdisc's reports: datagrams that missed their launch. */
		unsigned late = xport_net_read_txtime_errors(fd);
		if (late) {
			if (z->stats.txtime_dropped == 0) {
				zl_warn("zone %s: the qdisc dropped %u datagrams that missed their "
					"launch time (more: stats)", z->name, late);
			}
			z->stats.txtime_dropped += late;
		}
	}
	if (events & EPOLLOUT) {
		zone_set_blocked(z, false);
		zone_pump(z, 1);
	}
	if (!(events & EPOLLIN)) {
		return;
	}
	for (unsigned budget = 0; budget < 64; budget++) {
		uint8_t buf[1500];
		struct sockaddr_storage from;
		socklen_t from_len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
			&from_len);
		if (n < 0) {
			return;
		}
		struct gs_client *c = NULL;
		for (struct gs_client *it = z->ctl->clients; it && !c; it = it->next) {
			if (it->zone == z && (xport_net_same_addr((struct sockaddr *)&it->media,
				(struct sockaddr *)&from) || xport_net_same_addr(
				(struct sockaddr *)&it->rtcp_from, (struct sockaddr *)&from))) {
				c = it;
			}
		}
		if (c && c->srtp) {
			size_t len = (size_t)n;
			if (xport_srtp_unprotect_rtcp(c->srtp, buf, &len) < 0) {
				/* Plaintext, forged or replayed: not from the client. */
				z->stats.srtp_rejected++;
				continue;
			}
			n = (ssize_t)len;
		}
		struct xport_rtcp_info info;
		if (!c || !xport_rtp_is_rtcp(buf, (size_t)n) ||
			xport_rtcp_parse(buf, (size_t)n, &info) < 0) {
			char a[XPORT_NET_ADDR_STRLEN];
			zl_dbg("xport", "zone %s: ignored %zd-byte datagram from %s", z->name, n,
				xport_net_addr_str((struct sockaddr *)&from, a, sizeof(a)));
			continue;
		}
		for (unsigned i = 0; i < info.n_blocks && i < XPORT_RTCP_MAX_BLOCKS; i++) {
			if (info.blocks[i].ssrc == z->ssrc) {
				zl_dbg("xport", "zone %s: client %s: RR lost %d, fraction %u/256, jitter %u",
					z->name, c->name, info.blocks[i].cumulative_lost,
					info.blocks[i].fraction_lost, info.blocks[i].jitter);
			}
		}
		if (info.n_nack) {
			client_nack(z, c, &info);
		}
		if (xport_rtcp_has_pli(&info, z->ssrc)) {
			z->stats.plis++;
			zl_dbg("xport", "zone %s: client %s asks for a key frame", z->name, c->name);
			zone_request_key(z, c);
		}
	}
}

/* --- control messages --- */

static struct gs_zone *find_zone(struct gs_control *ctl, const char *name)
{
	for (unsigned i = 0; i < ctl->n_zones; i++) {
		if (strcmp(ctl->zones[i].name, name) == 0) {
			return &ctl->zones[i];
		}
	}
	return NULL;
}

static void client_join(struct gs_client *c, struct gs_zone *z);

static void handle_hello(struct gs_client *c, const struct xport_ctl_hello *h)
{
	struct gs_control *ctl = c->ctl;
	if (h->version < XPORT_CTL_VERSION_MIN) {
		client_fail(c, XPORT_CTL_ERR_BAD_VERSION,
			"protocol version %u not supported (server speaks %u..%u)", h->version,
			XPORT_CTL_VERSION_MIN, XPORT_CTL_VERSION);
		return;
	}
	struct gs_zone *z = find_zone(ctl, h->zone);
	if (!z) {
		char list[256] = "";
		size_t off = 0;
		for (unsigned i = 0; i < ctl->n_zones && off < sizeof(list); i++) {
			int n = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
				ctl->zones[i].name);
			off += n > 0 ? (size_t)n : 0;
		}
		client_fail(c, XPORT_CTL_ERR_UNKNOWN_ZONE, "unknown zone '%s' (this server has: %s)",
			h->zone, list);
		return;
	}
	memcpy(&c->media, &c->peer, sizeof(c->media));
	xport_net_set_port((struct sockaddr *)&c->media, h->media_port);
	c->rtcp_from = c->media;
	if (h->adv_family) {
		if (ctl->advertise == GS_CONTROL_ADVERTISE_OFF ||
			(ctl->advertise == GS_CONTROL_ADVERTISE_AUTH && !ctl->have_psk)) {
			zl_warn("control: client %s: advertised a media address: refused (%s)", c->name,
				ctl->advertise == GS_CONTROL_ADVERTISE_OFF ? "advertise=off" :
				"no key-file");
			client_fail(c, XPORT_CTL_ERR_AUTH, "this server takes advertised media "
				"addresses %s", ctl->advertise == GS_CONTROL_ADVERTISE_OFF ? "from nobody" :
				"only from clients that prove its key");
			return;
		}
		memset(&c->media, 0, sizeof(c->media));
		if (h->adv_family == 4) {
			struct sockaddr_in *a = (struct sockaddr_in *)&c->media;
			a->sin_family = AF_INET;
			memcpy(&a->sin_addr, h->adv_addr, 4);
		} else {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&c->media;
			a->sin6_family = AF_INET6;
			memcpy(&a->sin6_addr, h->adv_addr, 16);
		}
		xport_net_set_port((struct sockaddr *)&c->media, h->adv_port);
		if (c->media.ss_family != c->peer.ss_family) {
			client_fail(c, XPORT_CTL_ERR_MALFORMED, "advertised address of another family");
			return;
		}
	}
	if (h->panel_width && (h->panel_width != z->width || h->panel_height != z->height ||
		(h->panel_refresh && h->panel_refresh != z->refresh_hz))) {
		zl_info("control: client %s: panel %ux%u@%u, zone %s is %ux%u@%u: the client scales",
			c->name, h->panel_width, h->panel_height, h->panel_refresh, z->name, z->width,
			z->height, z->refresh_hz);
	}
	memcpy(c->panel_edid, h->edid, h->edid_len);
	c->panel = (struct gs_control_panel){ .width = h->panel_width, .height = h->panel_height,
		.refresh_hz = h->panel_refresh, .edid = c->panel_edid, .edid_len = h->edid_len };
	c->version = h->version < XPORT_CTL_VERSION ? h->version : XPORT_CTL_VERSION;
	struct xport_ctl_msg msg = { .type = XPORT_CTL_WELCOME };
	msg.welcome = (struct xport_ctl_welcome){
		.version = c->version,
		.width = z->width,
		.height = z->height,
		.refresh = z->refresh_hz,
		.ssrc = z->ssrc,
		.media_port = z->media_port,
		.mtu = (uint16_t)z->mtu,
		.codec = z->codec,
		.payload_type = XPORT_MEDIA_PT_DEFAULT,
		.ext_frame_id = XPORT_MEDIA_EXT_FRAME_ID,
		.ext_capture = client_compact(c) ? 0 : XPORT_MEDIA_EXT_CAPTURE,
		.ext_stages = client_stages(c) ? XPORT_MEDIA_EXT_STAGES : 0,
		.rtp_ts_offset = z->ts_offset,
		.tile_size = 1u << XPORT_TILES_LOG2_DEFAULT,
	};
	if (ctl->have_psk) {
		if (h->auth != XPORT_CTL_AUTH_PSK) {
			zl_warn("control: client %s: no key: refused", c->name);
			client_fail(c, XPORT_CTL_ERR_AUTH, "this server needs its key (zone-client "
				"--key-file)");
			return;
		}
		memcpy(c->client_nonce, h->client_nonce, XPORT_CTL_NONCE);
		if (xport_psk_nonce(c->server_nonce) < 0) {
			client_fail(c, XPORT_CTL_ERR_INTERNAL, "no randomness");
			return;
		}
		msg.welcome.auth = XPORT_CTL_AUTH_PSK;
		memcpy(msg.welcome.server_nonce, c->server_nonce, XPORT_CTL_NONCE);
		xport_psk_proof(&ctl->psk, true, c->client_nonce, c->server_nonce, z->name,
			msg.welcome.server_proof);
	}
	if (xport_ctl_conn_send(&c->conn, &msg) < 0) {
		client_close(c, "connection lost");
		return;
	}
	if (ctl->have_psk) {
		/* No media before the client has proved the key. */
		c->state = CLIENT_AUTH;
		c->auth_zone = z;
		return;
	}
	client_join(c, z);
}

/* AUTH: the client's proof of the key; then it joins. */
static void handle_auth(struct gs_client *c, const struct xport_ctl_auth *a)
{
	struct gs_zone *z = c->auth_zone;
	if (!xport_psk_proof_ok(&c->ctl->psk, false, c->client_nonce, c->server_nonce, z->name,
		a->client_proof)) {
		zl_warn("control: client %s: wrong key for zone %s: refused", c->name, z->name);
		client_fail(c, XPORT_CTL_ERR_AUTH, "wrong key");
		return;
	}
	c->srtp = xport_srtp_create(&c->ctl->psk, c->client_nonce, c->server_nonce, true);
	c->srtp_slot = XPORT_MEDIA_HDR_MAX + z->frag + XPORT_SRTP_MAX_OVERHEAD;
	c->srtp_buf = malloc(BURST * c->srtp_slot);
	if (!c->srtp || !c->srtp_buf) {
		client_fail(c, XPORT_CTL_ERR_INTERNAL, "cannot set up SRTP");
		return;
	}
	zl_info("control: client %s proved the key; media are SRTP (AES-128-GCM)", c->name);
	client_join(c, z);
}

static void client_join(struct gs_client *c, struct gs_zone *z)
{
	struct gs_control *ctl = c->ctl;
	char media[XPORT_NET_ADDR_STRLEN];
	zl_info("control: client %s joined zone %s, media to %s", c->name, z->name,
		xport_net_addr_str((struct sockaddr *)&c->media, media, sizeof(media)));
	c->state = CLIENT_ACTIVE;
	c->zone = z;
	c->seq = (uint16_t)random_u32();
	z->stats.clients++;
	/* Its first frame: the whole current image. */
	zone_request_key(z, c);
	if (ctl->listener && ctl->listener->client_joined) {
		ctl->listener->client_joined(ctl->data, z->index, &c->panel);
	}
}

static void handle_heartbeat(struct gs_client *c, const struct xport_ctl_heartbeat *hb)
{
	uint64_t now = zl_now_ns();
	struct xport_ctl_msg msg = { .type = XPORT_CTL_HEARTBEAT };
	msg.heartbeat = (struct xport_ctl_heartbeat){
		.seq = ++c->hb_seq,
		.echo_seq = hb->seq,
		.t_send_ns = now,
		.t_echo_ns = hb->t_send_ns,
		.t_echo_recv_ns = c->conn.last_rx_ns,
		.tai_minus_mono = c->ctl->clock_ptp ? xport_tai_minus_mono() : 0,
	};
	if (xport_ctl_conn_send(&c->conn, &msg) < 0) {
		client_close(c, "control connection lost");
	}
}

static void handle_message(struct gs_client *c, const struct xport_ctl_msg *msg)
{
	if (c->state == CLIENT_HELLO && msg->type != XPORT_CTL_HELLO) {
		client_fail(c, XPORT_CTL_ERR_PROTOCOL, "expected HELLO, got %s",
			xport_ctl_type_name(msg->type));
		return;
	}
	switch (msg->type) {
	case XPORT_CTL_HELLO:
		if (c->state != CLIENT_HELLO) {
			client_fail(c, XPORT_CTL_ERR_PROTOCOL, "second HELLO");
			return;
		}
		handle_hello(c, &msg->hello);
		return;
	case XPORT_CTL_AUTH:
		if (c->state != CLIENT_AUTH) {
			client_fail(c, XPORT_CTL_ERR_PROTOCOL, "AUTH out of sequence");
			return;
		}
		handle_auth(c, &msg->auth);
		return;
	case XPORT_CTL_HEARTBEAT:
		handle_heartbeat(c, &msg->heartbeat);
		return;
	case XPORT_CTL_BYE:
		client_close(c, "said goodbye");
		return;
	case XPORT_CTL_INPUT:
		/* Only from a member of the zone (authenticated, if there is a
		 * key): its panel's events, for the guests on that zone. */
		if (c->state != CLIENT_ACTIVE || !c->zone) {
			client_fail(c, XPORT_CTL_ERR_PROTOCOL, "INPUT before joining a zone");
			return;
		}
		c->ctl->inputs++;
		if (c->ctl->listener && c->ctl->listener->input) {
			c->ctl->listener->input(c->ctl->data, c->zone->index, &msg->input);
		}
		return;
	case XPORT_CTL_ERROR:
		zl_warn("control: client %s reports error %u: %s", c->name, msg->error.code,
			msg->error.text);
		client_close(c, "closed after its error");
		return;
	default:
		client_fail(c, XPORT_CTL_ERR_PROTOCOL, "unexpected %s from a client",
			xport_ctl_type_name(msg->type));
		return;
	}
}

static void on_client_message(void *data, const struct xport_ctl_msg *msg)
{
	handle_message(data, msg);
}

static void on_client_bad_message(void *data, int err)
{
	client_fail(data, XPORT_CTL_ERR_MALFORMED, "malformed message (%s)",
		err == -EMSGSIZE ? "too long" : err == -EPROTO ? "unknown type or version" :
		"bad payload");
}

static void on_client_closed(void *data, int err)
{
	struct gs_client *c = data;
	char why[96];
	if (err == 0) {
		snprintf(why, sizeof(why), "%s", c->state == CLIENT_CLOSING ? "closed" : "disconnected");
	} else {
		snprintf(why, sizeof(why), "control connection lost: %s", strerror(-err));
	}
	client_close(c, why);
}

static const struct xport_ctl_conn_listener client_conn_listener = {
	.message = on_client_message,
	.bad_message = on_client_bad_message,
	.closed = on_client_closed,
};

static void reap_clients(struct gs_control *ctl)
{
	struct gs_client **pp = &ctl->clients;
	while (*pp) {
		struct gs_client *c = *pp;
		if (c->state == CLIENT_DEAD) {
			*pp = c->next;
			ctl->n_clients--;
			xport_srtp_destroy(c->srtp);
			free(c->srtp_buf);
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

static void on_accept(void *data, int fd, uint32_t events)
{
	struct gs_control *ctl = data;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof(peer);
		int cfd = accept4(fd, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				zl_log_errno(ZL_WARN, "control: accept");
			}
			break;
		}
		int one = 1;
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct gs_client *c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			continue;
		}
		c->ctl = ctl;
		c->peer = peer;
		xport_net_addr_str((struct sockaddr *)&peer, c->name, sizeof(c->name));
		if (xport_ctl_conn_init(&c->conn, ctl->loop, cfd, 0, &client_conn_listener, c) < 0) {
			free(c);
			continue;
		}
		c->next = ctl->clients;
		ctl->clients = c;
		ctl->n_clients++;
		zl_dbg("xport", "control: connection from %s", c->name);
		if (ctl->n_clients > MAX_CLIENTS) {
			client_fail(c, XPORT_CTL_ERR_BUSY, "too many clients (%u)", MAX_CLIENTS);
		}
	}
}

/* Heartbeat timeouts, lingering closes, sender reports. */
static void on_tick(void *data)
{
	struct gs_control *ctl = data;
	uint64_t now = zl_now_ns();
	for (struct gs_client *c = ctl->clients; c; c = c->next) {
		if (c->state == CLIENT_CLOSING && now >= c->close_deadline_ns) {
			client_close(c, NULL);
		} else if ((c->state == CLIENT_HELLO || c->state == CLIENT_AUTH ||
			c->state == CLIENT_ACTIVE) &&
			now - c->conn.last_rx_ns > (uint64_t)XPORT_CTL_TIMEOUT_MS * 1000000) {
			client_close(c, "silent for 3 s: dropped");
		} else if (c->state == CLIENT_ACTIVE && now - c->last_sr_ns >= SR_INTERVAL_NS) {
			client_send_sr(c->zone, c, now, false);
		}
	}
	reap_clients(ctl);
}

/* The loop calls back into per-client sources; clients closed during a
 * dispatch are freed on the next tick (sources are removed at once, so no
 * callback reaches them). */

/* --- set-up --- */

static int zone_init(struct gs_control *ctl, struct gs_zone *z, unsigned index,
	const struct gs_zone_desc *d, const struct sockaddr_storage *addr)
{
	z->ctl = ctl;
	z->index = index;
	z->udp_fd = -1;
	size_t name_len = d->name ? strlen(d->name) : 0;
	if (!xport_ctl_name_valid(d->name ? d->name : "", name_len)) {
		zl_err("control: zone name '%s' is not 1..%u of [A-Za-z0-9._-]",
			d->name ? d->name : "", XPORT_CTL_NAME_MAX);
		return -EINVAL;
	}
	memcpy(z->name, d->name, name_len + 1);
	z->width = d->width;
	z->height = d->height;
	z->refresh_hz = d->refresh_hz;
	z->mtu = d->mtu ? d->mtu : XPORT_MEDIA_MTU_DEFAULT;
	z->image = d->image;
	pixman_format_code_t fmt = d->image ? pixman_image_get_format(d->image) : 0;
	if (!d->image || (fmt != PIXMAN_x8r8g8b8 && fmt != PIXMAN_a8r8g8b8) ||
		(uint32_t)pixman_image_get_width(d->image) != d->width ||
		(uint32_t)pixman_image_get_height(d->image) != d->height) {
		zl_err("control: zone %s: image is not a %ux%u x8r8g8b8 image", z->name, d->width,
			d->height);
		return -EINVAL;
	}
	z->codec = d->codec ? d->codec : XPORT_CODEC_TILES;
	if (z->codec == XPORT_CODEC_TILES) {
		z->enc = xport_tile_encoder_create(d->width, d->height, XPORT_TILES_LOG2_DEFAULT);
		if (!z->enc) {
			zl_err("control: zone %s: %ux%u is not a mode the tiles codec takes (1..%u)",
				z->name, d->width, d->height, XPORT_TILES_MAX_DIM);
			return -EINVAL;
		}
		z->row_crc = calloc(d->height, sizeof(uint32_t));
		z->crc_shift = malloc(sizeof(*z->crc_shift));
		if (!z->row_crc || !z->crc_shift) {
			return -ENOMEM;
		}
		xport_crc32c_shift_init(z->crc_shift, (uint64_t)d->width * 4);
		pixman_region32_init_rect(&z->crc_dirty, 0, 0, d->width, d->height);
	} else if ((z->codec != XPORT_CODEC_RAW && z->codec != XPORT_CODEC_H264 &&
		z->codec != XPORT_CODEC_JPEG) || d->width > XPORT_CODED_MAX_DIM ||
		d->height > XPORT_CODED_MAX_DIM) {
		zl_err("control: zone %s: codec %u at %ux%u: not a codec, or too large (1..%u)",
			z->name, z->codec, d->width, d->height, XPORT_CODED_MAX_DIM);
		return -EINVAL;
	}
	z->ipv6 = addr->ss_family == AF_INET6;
	z->frag = xport_media_frag_size(z->mtu, z->ipv6);
	if (z->frag == 0 || z->mtu > 65535) {
		zl_err("control: zone %s: mtu %u outside %u..%u", z->name, z->mtu,
			XPORT_MEDIA_MTU_MIN, XPORT_MEDIA_MTU_MAX);
		return -EINVAL;
	}
	z->ssrc = random_u32();
	z->ts_offset = random_u32();
	z->frame_id = random_u32();

	/* The media socket shares the control listener's address. */
	struct sockaddr_storage ua = *addr;
	xport_net_set_port((struct sockaddr *)&ua, 0);
	z->udp_fd = socket(ua.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (z->udp_fd < 0 || bind(z->udp_fd, (struct sockaddr *)&ua,
		xport_net_addr_len((struct sockaddr *)&ua)) < 0) {
		zl_log_errno(ZL_ERROR, "control: zone %s: media socket", z->name);
		return -errno;
	}
	socklen_t ulen = sizeof(ua);
	getsockname(z->udp_fd, (struct sockaddr *)&ua, &ulen);
	z->media_port = xport_net_get_port((struct sockaddr *)&ua);
	xport_net_set_buffer(z->udp_fd, SO_SNDBUF, SOCKET_BUFFER);
	z->pace_pct = d->pace_pct;
	z->txtime = d->txtime;
	int r = xport_net_set_qos(z->udp_fd, ua.ss_family, d->priority, d->dscp);
	if (r < 0) {
		zl_err("control: zone %s: priority=%d dscp=%d: %s%s", z->name, d->priority, d->dscp,
			strerror(-r), r == -EPERM ? " (priority 7 needs CAP_NET_ADMIN)" : "");
		return r;
	}
	if (z->txtime && (r = xport_net_enable_txtime(z->udp_fd)) < 0) {
		zl_err("control: zone %s: txtime=on: SO_TXTIME: %s", z->name, strerror(-r));
		return r;
	}
	z->udp_src = zl_loop_add_fd(ctl->loop, z->udp_fd, EPOLLIN, on_udp, z);
	z->pace_timer = zl_loop_add_timer(ctl->loop, on_pace, z);
	z->key_timer = zl_loop_add_timer(ctl->loop, on_key_timer, z);
	z->keepalive_timer = zl_loop_add_timer(ctl->loop, on_keepalive, z);
	if (!z->udp_src || !z->pace_timer || !z->key_timer || !z->keepalive_timer) {
		return -ENOMEM;
	}
	zl_info("control: zone %s %ux%u@%u: media on UDP port %u, mtu %u, ssrc %08x, pace %u%%, "
		"priority %d, dscp %d, txtime %s", z->name, z->width, z->height, z->refresh_hz,
		z->media_port, z->mtu, z->ssrc, z->pace_pct, d->priority, d->dscp,
		z->txtime ? "on" : "off");
	return 0;
}

static void zone_finish(struct gs_zone *z)
{
	zl_source_remove(z->udp_src);
	zl_source_remove(z->pace_timer);
	zl_source_remove(z->key_timer);
	zl_source_remove(z->keepalive_timer);
	if (z->udp_fd >= 0) {
		close(z->udp_fd);
	}
	xport_tile_encoder_destroy(z->enc);
	free(z->row_crc);
	free(z->crc_shift);
	pixman_region32_fini(&z->crc_dirty);
}

static int listen_on(struct gs_control *ctl, const char *listen_addr,
	struct sockaddr_storage *addr)
{
	char host[256];
	uint16_t port;
	socklen_t len;
	if (xport_net_split_hostport(listen_addr, host, sizeof(host), &port,
		XPORT_CTL_DEFAULT_PORT) < 0 ||
		xport_net_resolve(host, port, true, SOCK_STREAM, addr, &len) < 0) {
		zl_err("control: cannot parse or resolve listen address '%s'", listen_addr);
		return -EINVAL;
	}
	ctl->listen_fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->listen_fd < 0) {
		zl_log_errno(ZL_ERROR, "control: socket");
		return -errno;
	}
	int one = 1;
	setsockopt(ctl->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ctl->listen_fd, (struct sockaddr *)addr, len) < 0 ||
		listen(ctl->listen_fd, 16) < 0) {
		zl_log_errno(ZL_ERROR, "control: cannot listen on %s", listen_addr);
		return -errno;
	}
	socklen_t alen = sizeof(*addr);
	getsockname(ctl->listen_fd, (struct sockaddr *)addr, &alen);
	ctl->port = xport_net_get_port((struct sockaddr *)addr);
	ctl->listen_src = zl_loop_add_fd(ctl->loop, ctl->listen_fd, EPOLLIN, on_accept, ctl);
	if (!ctl->listen_src) {
		return -ENOMEM;
	}
	char a[XPORT_NET_ADDR_STRLEN];
	zl_info("control: listening on %s", xport_net_addr_str((struct sockaddr *)addr, a,
		sizeof(a)));
	return 0;
}

struct gs_control *gs_control_create(struct zl_loop *loop, const char *listen_addr,
	const struct gs_zone_desc *zones, unsigned n_zones, const struct gs_control_listener *l,
	void *data)
{
	struct gs_control *ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		return NULL;
	}
	ctl->loop = loop;
	ctl->listener = l;
	ctl->data = data;
	ctl->listen_fd = -1;
	struct sockaddr_storage addr;
	if (listen_on(ctl, listen_addr, &addr) < 0) {
		goto err;
	}
	ctl->zones = calloc(n_zones ? n_zones : 1, sizeof(*ctl->zones));
	if (!ctl->zones) {
		goto err;
	}
	for (unsigned i = 0; i < n_zones; i++) {
		/* Counted before init so a failed zone is finished too. */
		ctl->n_zones = i + 1;
		if (zone_init(ctl, &ctl->zones[i], i, &zones[i], &addr) < 0) {
			goto err;
		}
		for (unsigned j = 0; j < i; j++) {
			if (strcmp(ctl->zones[j].name, ctl->zones[i].name) == 0) {
				zl_err("control: two zones named %s", ctl->zones[i].name);
				goto err;
			}
		}
	}
	ctl->tick = zl_loop_add_timer(loop, on_tick, ctl);
	if (!ctl->tick || zl_source_timer_arm(ctl->tick, TICK_NS, TICK_NS) < 0) {
		goto err;
	}
	return ctl;
err:
	gs_control_destroy(ctl);
	return NULL;
}

void gs_control_destroy(struct gs_control *ctl)
{
	if (!ctl) {
		return;
	}
	while (ctl->clients) {
		struct gs_client *c = ctl->clients;
		ctl->clients = c->next;
		client_queue_clear(c);
		xport_ctl_conn_finish(&c->conn);
		free(c);
	}
	for (unsigned i = 0; i < ctl->n_zones; i++) {
		zone_finish(&ctl->zones[i]);
	}
	free(ctl->zones);
	zl_source_remove(ctl->tick);
	zl_source_remove(ctl->listen_src);
	if (ctl->listen_fd >= 0) {
		close(ctl->listen_fd);
	}
	free(ctl);
}

void gs_control_zone_frame(struct gs_control *ctl, unsigned zone, const pixman_region32_t *damage,
	uint64_t t_flush_ns)
{
	if (!ctl || zone >= ctl->n_zones) {
		return;
	}
	struct gs_zone *z = &ctl->zones[zone];
	if (z->row_crc && damage) {
		/* Also without clients: the rows' CRCs must follow the image. */
		pixman_region32_union(&z->crc_dirty, &z->crc_dirty, (pixman_region32_t *)damage);
	}
	if (z->stats.clients == 0 || z->codec == XPORT_CODEC_H264 || z->codec == XPORT_CODEC_JPEG) {
		return;
	}
	bool need_key = false;
	for (struct gs_client *c = ctl->clients; c; c = c->next) {
		need_key |= c->zone == z && c->needs_key;
	}
	if (!pixman_region32_not_empty((pixman_region32_t *)damage) && !need_key) {
		return;
	}
	if (z->codec == XPORT_CODEC_RAW) {
		zone_emit_raw(z, t_flush_ns, false);
	} else {
		zone_emit(z, damage, t_flush_ns, false);
	}
}

void gs_control_zone_encoded(struct gs_control *ctl, unsigned zone, const uint8_t *data,
	size_t len, bool key, uint64_t capture_ns, uint64_t composed_ns, bool refresh)
{
	if (!ctl || zone >= ctl->n_zones || len == 0) {
		return;
	}
	struct gs_zone *z = &ctl->zones[zone];
	if (z->stats.clients == 0 || (z->codec != XPORT_CODEC_H264 && z->codec != XPORT_CODEC_JPEG)) {
		return;
	}
	zone_emit_coded(z, data, len, key, capture_ns, composed_ns, refresh);
	/* A client fell behind (its queue dropped) and waits for a key frame
	 * this one was not: ask for it, within the rate limit. */
	for (struct gs_client *c = ctl->clients; c; c = c->next) {
		if (c->zone == z && c->needs_key) {
			zone_request_key(z, c);
			break;
		}
	}
}

bool gs_control_zone_has_clients(const struct gs_control *ctl, unsigned zone)
{
	return ctl && zone < ctl->n_zones && ctl->zones[zone].stats.clients > 0;
}

uint16_t gs_control_port(const struct gs_control *ctl)
{
	return ctl->port;
}

int gs_control_get_zone_stats(const struct gs_control *ctl, unsigned zone,
	struct gs_control_zone_stats *stats)
{
	if (zone >= ctl->n_zones) {
		return -EINVAL;
	}
	*stats = ctl->zones[zone].stats;
	return 0;
}

void gs_control_set_psk(struct gs_control *ctl, const struct xport_psk *psk)
{
	ctl->have_psk = psk != NULL;
	/* SRTP's tag takes room from every media packet. */
	for (unsigned i = 0; i < ctl->n_zones; i++) {
		struct gs_zone *z = &ctl->zones[i];
		z->frag = xport_media_frag_size(z->mtu - (psk ? XPORT_SRTP_RTP_OVERHEAD : 0), z->ipv6);
	}
	if (psk) {
		ctl->psk = *psk;
	} else {
		memset(&ctl->psk, 0, sizeof(ctl->psk));
	}
}

void gs_control_set_advertise(struct gs_control *ctl, enum gs_control_advertise policy)
{
	ctl->advertise = policy;
}

void gs_control_set_clock_ptp(struct gs_control *ctl, bool ptp)
{
	ctl->clock_ptp = ptp;
}
