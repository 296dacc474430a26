/* SPDX-License-Identifier: MIT */
#ifndef GS_SINK_H
#define GS_SINK_H

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* A zone streamed to a fixed address with no control session
 * ([zone] sink=udp://HOST:PORT, unicast or multicast): the zone's frames as
 * RFC 4175 raw video (transport/rfc4175.h), which a stock receiver plays.
 * Each changed frame goes out whole (RFC 4175 receivers build whole frames),
 * paced like the zone's other media; if frames come faster than they leave,
 * the newest waits and older waiting ones are dropped: a receiver always
 * gets whole, current frames, never a mix. With no feedback channel, an
 * idle zone's frame is sent again every second, for receivers that start
 * late or lost one. */

struct zl_loop;
struct gs_sink;

struct gs_sink_config {
	const char *zone;       /* for logs */
	const char *url;        /* udp://HOST:PORT */
	uint32_t width, height, refresh_hz;
	uint32_t mtu;
	int priority, dscp;     /* -1: the kernel's */
	uint32_t pace_pct;
	bool txtime;
};

struct sockaddr_storage;
/* The sink's socket (both sinks): cfg->url resolved into *to, QoS, txtime,
 * multicast scope. The fd, or -errno (logged). */
int gs_sink_socket(const struct gs_sink_config *cfg, struct sockaddr_storage *to,
	socklen_t *to_len);

/* NULL (and logs why) on a bad URL, a size RFC 4175 cannot carry, or no
 * socket. The loop is borrowed. */
struct gs_sink *gs_sink_create(struct zl_loop *loop, const struct gs_sink_config *cfg);
/* Accepts NULL. */
void gs_sink_destroy(struct gs_sink *sink);

/* The zone's frame (x8r8g8b8, width x height; read now, not kept) changed
 * at capture_ns (CLOCK_MONOTONIC): it goes out whole. */
void gs_sink_frame(struct gs_sink *sink, pixman_image_t *image, uint64_t capture_ns);

struct gs_sink_stats {
	uint64_t frames, frames_replaced, refreshes, packets, bytes, send_errors;
};
void gs_sink_get_stats(const struct gs_sink *sink, struct gs_sink_stats *stats);

#endif
