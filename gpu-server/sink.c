/* SPDX-License-Identifier: MIT */
#include "sink.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transport/media.h"
#include "transport/net.h"
#include "transport/rfc4175.h"
#include "transport/rtp.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"

#define BURST XPORT_PACE_BURST_MAX
#define IP4_UDP 28
#define IP6_UDP 48
#define RTP_HDR 12
#define SOCKET_BUFFER (8 * 1024 * 1024)
/* With no feedback channel, a receiver that starts late (or lost a frame)
 * waits at most this long for a whole one: an idle zone's frame is sent
 * again. */
#define REFRESH_NS 1000000000ull

struct gs_sink {
	struct zl_loop *loop;
	char zone[64];
	int fd;
	struct sockaddr_storage to;
	socklen_t to_len;
	uint32_t width, height, refresh_hz;
	size_t max_payload;
	uint32_t pace_pct;
	bool txtime;
	struct zl_source *pace_timer, *refresh_timer;
	bool have_frame;   /* cur holds a whole frame (for refreshes) */
	uint32_t ssrc, ts_offset, seq;
	/* The frame going out, and the newest one waiting (rgb, width*height*3). */
	uint8_t *cur, *next;
	bool sending, have_next;
	uint64_t next_capture_ns;
	struct xport_raw_iter it;
	unsigned burst;
	uint8_t *pkts;     /* BURST packet buffers */
	struct gs_sink_stats stats;
	bool error_logged;
};

static uint32_t random_u32(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v)) {
		v = (uint32_t)zl_now_ns() * 2654435761u;
	}
	return v;
}

static int parse_url(const char *url, char *host, size_t cap, uint16_t *port)
{
	if (strncmp(url, "udp://", 6) != 0) {
		return -EINVAL;
	}
	if (xport_net_split_hostport(url + 6, host, cap, port, 0) < 0 || *port == 0 || !host[0]) {
		return -EINVAL;
	}
	return 0;
}

static bool is_multicast(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		return IN_MULTICAST(ntohl(a->sin_addr.s_addr));
	}
	const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
	return IN6_IS_ADDR_MULTICAST(&a->sin6_addr);
}

static void start_frame(struct gs_sink *s, uint64_t capture_ns)
{
	uint8_t *t = s->cur;
	s->cur = s->next;
	s->next = t;
	s->have_next = false;
	xport_raw_iter_init(&s->it, s->cur, s->width, s->height, s->max_payload, s->ssrc,
		xport_rtp_ts_90k(capture_ns, s->ts_offset), XPORT_MEDIA_PT_DEFAULT, s->seq);
	/* As the zone's pacing: the frame spreads over pace % of the interval. */
	size_t per = (s->max_payload - 2 - 6) / XPORT_RAW_PGROUP * XPORT_RAW_PGROUP;
	uint64_t count = ((uint64_t)s->width * s->height * XPORT_RAW_PGROUP + per - 1) / per;
	s->burst = xport_media_pace_burst(count, s->refresh_hz, s->pace_pct);
	s->sending = true;
	s->stats.frames++;
}

/* One burst; re-arms itself until the frame is out, then starts the next. */
static void send_burst(struct gs_sink *s)
{
	struct mmsghdr msgs[BURST];
	struct iovec iov[BURST];
	union {
		char buf[XPORT_NET_TXTIME_CMSG_SPACE];
		struct cmsghdr align;
	} cmsg;
	if (s->txtime) {
		xport_net_txtime_cmsg(cmsg.buf, xport_net_launch_time());
	}
	unsigned n = 0;
	size_t cap = RTP_HDR + s->max_payload;
	while (n < s->burst && !xport_raw_iter_done(&s->it)) {
		uint8_t *p = s->pkts + (size_t)n * cap;
		iov[n] = (struct iovec){ p, xport_raw_iter_next(&s->it, p) };
		msgs[n] = (struct mmsghdr){ .msg_hdr = {
			.msg_name = &s->to, .msg_namelen = s->to_len, .msg_iov = &iov[n], .msg_iovlen = 1,
			.msg_control = s->txtime ? cmsg.buf : NULL,
			.msg_controllen = s->txtime ? sizeof(cmsg.buf) : 0,
		} };
		n++;
	}
	s->seq = s->it.seq;
	if (n > 0) {
		int sent = sendmmsg(s->fd, msgs, n, MSG_DONTWAIT);
		if (sent < 0) {
			sent = 0;
		}
		/* Unsent packets of a raw frame are lost to the receiver (it shows
		 * the frame with those lines as it had them): counted, logged once. */
		if ((unsigned)sent < n) {
			s->stats.send_errors += n - (unsigned)sent;
			if (!s->error_logged) {
				zl_log_errno(ZL_WARN, "zone %s: sink", s->zone);
				s->error_logged = true;
			}
		}
		for (int i = 0; i < sent; i++) {
			s->stats.packets++;
			s->stats.bytes += iov[i].iov_len;
		}
	}
	if (!xport_raw_iter_done(&s->it)) {
		zl_source_timer_arm(s->pace_timer, XPORT_PACE_GAP_NS, 0);
		return;
	}
	s->sending = false;
	s->have_frame = true;
	if (s->have_next) {
		start_frame(s, s->next_capture_ns);
		send_burst(s);
		return;
	}
	zl_source_timer_arm(s->refresh_timer, REFRESH_NS, 0);
}

static void on_refresh(void *data)
{
	struct gs_sink *s = data;
	if (s->sending || !s->have_frame) {
		return;
	}
	/* The same pixels again, as a new frame (receivers take it whole). */
	memcpy(s->next, s->cur, (size_t)s->width * s->height * XPORT_RAW_PGROUP);
	s->stats.refreshes++;
	start_frame(s, zl_now_ns());
	send_burst(s);
}

static void on_pace(void *data)
{
	send_burst(data);
}

int gs_sink_socket(const struct gs_sink_config *cfg, struct sockaddr_storage *to,
	socklen_t *to_len)
{
	char host[256];
	uint16_t port;
	if (parse_url(cfg->url, host, sizeof(host), &port) < 0) {
		zl_err("zone %s: sink=%s: expected udp://HOST:PORT", cfg->zone, cfg->url);
		return -EINVAL;
	}
	if (xport_net_resolve(host, port, false, SOCK_DGRAM, to, to_len) < 0) {
		zl_err("zone %s: sink=%s: cannot resolve %s", cfg->zone, cfg->url, host);
		return -ENOENT;
	}
	int fd = socket(to->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		zl_log_errno(ZL_ERROR, "zone %s: sink socket", cfg->zone);
		return -errno;
	}
	xport_net_set_buffer(fd, SO_SNDBUF, SOCKET_BUFFER);
	int r = xport_net_set_qos(fd, to->ss_family, cfg->priority, cfg->dscp);
	if (r == 0 && cfg->txtime) {
		r = xport_net_enable_txtime(fd);
	}
	if (r < 0) {
		zl_err("zone %s: sink: priority/dscp/txtime: %s", cfg->zone, strerror(-r));
		close(fd);
		return r;
	}
	if (is_multicast(to)) {
		/* The vehicle network's segment only; receivers on this host too. */
		int ttl = 1, loop_on = 1;
		if (to->ss_family == AF_INET) {
			setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
			setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop_on, sizeof(loop_on));
		} else {
			setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl));
			setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop_on, sizeof(loop_on));
		}
	}
	return fd;
}

struct gs_sink *gs_sink_create(struct zl_loop *loop, const struct gs_sink_config *cfg)
{
	if (cfg->width > XPORT_RAW_MAX_DIM || cfg->height > XPORT_RAW_MAX_DIM) {
		zl_err("zone %s: RFC 4175 carries at most %ux%u", cfg->zone, XPORT_RAW_MAX_DIM,
			XPORT_RAW_MAX_DIM);
		return NULL;
	}
	struct gs_sink *s = calloc(1, sizeof(*s));
	if (!s) {
		return NULL;
	}
	s->fd = -1;
	s->loop = loop;
	snprintf(s->zone, sizeof(s->zone), "%s", cfg->zone);
	s->fd = gs_sink_socket(cfg, &s->to, &s->to_len);
	if (s->fd < 0) {
		goto err;
	}
	s->width = cfg->width;
	s->height = cfg->height;
	s->refresh_hz = cfg->refresh_hz ? cfg->refresh_hz : 60;
	s->pace_pct = cfg->pace_pct;
	s->txtime = cfg->txtime;
	size_t over = (s->to.ss_family == AF_INET6 ? IP6_UDP : IP4_UDP) + RTP_HDR;
	if (cfg->mtu <= over + 2 + 6 + XPORT_RAW_PGROUP) {
		zl_err("zone %s: mtu %u too small for RFC 4175", cfg->zone, cfg->mtu);
		goto err;
	}
	s->max_payload = cfg->mtu - over;
	size_t frame = (size_t)s->width * s->height * XPORT_RAW_PGROUP;
	s->cur = malloc(frame);
	s->next = malloc(frame);
	s->pkts = malloc((size_t)BURST * (RTP_HDR + s->max_payload));
	s->pace_timer = zl_loop_add_timer(loop, on_pace, s);
	s->refresh_timer = zl_loop_add_timer(loop, on_refresh, s);
	if (!s->cur || !s->next || !s->pkts || !s->pace_timer || !s->refresh_timer) {
		goto err;
	}
	s->ssrc = random_u32();
	s->ts_offset = random_u32();
	s->seq = random_u32();
	char a[XPORT_NET_ADDR_STRLEN];
	zl_info("zone %s: sink: RFC 4175 RGB %ux%u to %s%s, ssrc %08x, %zu-byte payloads",
		cfg->zone, s->width, s->height,
		xport_net_addr_str((struct sockaddr *)&s->to, a, sizeof(a)),
		is_multicast(&s->to) ? " (multicast)" : "", s->ssrc, s->max_payload);
	return s;

err:
	gs_sink_destroy(s);
	return NULL;
}

void gs_sink_destroy(struct gs_sink *s)
{
	if (!s) {
		return;
	}
	zl_source_remove(s->pace_timer);
	zl_source_remove(s->refresh_timer);
	if (s->fd >= 0) {
		close(s->fd);
	}
	free(s->cur);
	free(s->next);
	free(s->pkts);
	free(s);
}

void gs_sink_frame(struct gs_sink *s, pixman_image_t *image, uint64_t capture_ns)
{
	if ((uint32_t)pixman_image_get_width(image) != s->width ||
		(uint32_t)pixman_image_get_height(image) != s->height) {
		return;
	}
	if (s->have_next) {
		s->stats.frames_replaced++;
	}
	xport_raw_from_xrgb(s->next, pixman_image_get_data(image), pixman_image_get_stride(image),
		s->width, s->height);
	s->have_next = true;
	s->next_capture_ns = capture_ns;
	if (!s->sending) {
		start_frame(s, capture_ns);
		send_burst(s);
	}
}

void gs_sink_get_stats(const struct gs_sink *s, struct gs_sink_stats *stats)
{
	*stats = s->stats;
}
