/* SPDX-License-Identifier: MIT */
#ifndef GS_CONTROL_H
#define GS_CONTROL_H

/* The server end of the zone streams: the TCP control listener
 * (transport/control-proto.h), one RTP/UDP stream per zone client with
 * RTCP on the same port, the zone's codec (tiles, raw; h264 and jpeg frames
 * come encoded from the caller), loss recovery (NACK, key frame on PLI) and
 * pacing. Everything runs on the caller's zl_loop: no threads, no
 * blocking calls after create. */

#include <pixman.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/loop.h"

struct xport_ctl_input;

struct gs_zone_desc {
	const char *name;      /* what clients ask for in HELLO; copied */
	uint32_t width, height, refresh_hz;
	uint32_t mtu;          /* IP MTU of the media packets; 0: 1500 */
	/* Media socket: SO_PRIORITY, IP DSCP (-1: leave), SO_TXTIME launch
	 * times; a frame's packets spread over pace_pct % of the frame
	 * interval (0: as fast as the socket takes them). */
	int priority, dscp;
	uint32_t pace_pct;
	bool txtime;
	/* enum xport_ctl_codec (0: tiles). h264/jpeg: gs_control_zone_frame()
	 * ignores the zone; the caller encodes and hands frames to
	 * gs_control_zone_encoded(), and makes a key frame on encode_key. */
	uint8_t codec;
	pixman_image_t *image; /* zone frame buffer, PIXMAN_x8r8g8b8, borrowed for the
	                          zone's life, always fully composed between calls */
};

/* A zone client's panel, as it described it (hostile: check before use). */
struct gs_control_panel {
	uint32_t width, height, refresh_hz; /* its mode; 0: not said */
	const uint8_t *edid;                /* edid_len bytes (0: none) */
	size_t edid_len;
};

struct gs_control_listener {
	/* A client of this zone connected, showing it on panel. */
	void (*client_joined)(void *data, unsigned zone, const struct gs_control_panel *panel);
	void (*client_left)(void *data, unsigned zone);   /* a client of this zone left or was dropped */
	/* h264/jpeg zones: a client needs a key frame (it joined, or lost
	 * frames): encode the zone's image as one (a refresh), soon. */
	void (*encode_key)(void *data, unsigned zone);
	/* An input event of a client's panel on this zone (zone coordinates;
	 * parsed, not yet checked against the zone's layers). May be NULL. */
	void (*input)(void *data, unsigned zone, const struct xport_ctl_input *ev);
};

struct gs_control;

/* Listens on listen_addr ("ADDR:PORT", "[V6ADDR]:PORT", or "ADDR" for port
 * 7300; port 0 picks a free one, see gs_control_port()). Zones are indexed
 * as given. Returns NULL (after logging why) on a bad address or zone. */
struct gs_control *gs_control_create(struct zl_loop *loop, const char *listen_addr,
	const struct gs_zone_desc *zones, unsigned n_zones, const struct gs_control_listener *l,
	void *data);
/* Closes every connection without calling the listener. Accepts NULL. */
void gs_control_destroy(struct gs_control *ctl);

/* The zone image changed in `damage` (zone coordinates); t_flush_ns is the
 * earliest guest flush in it. Encodes once and sends to every client of that
 * zone (a client that needs a key frame gets one). Damage may over-report:
 * deltas carry only the damaged tiles whose pixels differ from the frame
 * sent last, and damage that changed no pixel sends nothing. */
void gs_control_zone_frame(struct gs_control *ctl, unsigned zone, const pixman_region32_t *damage,
	uint64_t t_flush_ns);

/* An h264/jpeg zone's encoded frame (an access unit, a JPEG image; copied)
 * made of the zone image at capture_ns, composed (handed to the encoder) at
 * composed_ns: to every client of the zone that can decode it (a client
 * waiting for a key frame skips the others). refresh: no new content (as
 * asked by encode_key). */
void gs_control_zone_encoded(struct gs_control *ctl, unsigned zone, const uint8_t *data,
	size_t len, bool key, uint64_t capture_ns, uint64_t composed_ns, bool refresh);

/* Does the zone have clients (worth encoding for)? */
bool gs_control_zone_has_clients(const struct gs_control *ctl, unsigned zone);

/* The TCP port the control listener is bound to. */
uint16_t gs_control_port(const struct gs_control *ctl);

/* Counters of one zone since create, for logs and tests. */
struct gs_control_zone_stats {
	unsigned clients;       /* connected now */
	uint64_t frames;        /* frames emitted (each to every client of the zone) */
	uint64_t key_frames;    /* key-frame encodes */
	uint64_t refreshes;     /* frames emitted for a join or key request, not for damage */
	uint64_t plis;          /* key-frame requests received */
	uint64_t nacked;        /* packets clients reported lost (generic NACK) */
	uint64_t retransmitted; /* of those, sent again (the rest: too old, key frame) */
	uint64_t txtime_dropped; /* datagrams the qdisc dropped as late (txtime=on) */
	uint64_t srtp_rejected;  /* RTCP that failed SRTCP: plaintext, forged, replayed */
	uint64_t packets, bytes; /* RTP packets and UDP payload bytes sent */
	uint64_t queue_drops;   /* frames dropped for clients that could not keep up */
	uint64_t delta_tiles;   /* tiles in delta encodes: damaged and really changed */
	uint64_t packed;        /* deltas packed for version 4 clients (tiles.h) */
	uint64_t unchanged;     /* damage that changed no pixel: nothing emitted */
};
struct xport_psk;
/* Clients must prove the pre-shared key (control-proto.h, HELLO) before
 * they get media; NULL: no key, anyone who reaches the port may watch. The
 * key is copied. */
void gs_control_set_psk(struct gs_control *ctl, const struct xport_psk *psk);

/* Whom to believe when a client advertises where its media should go
 * (control-proto.h, HELLO): nobody, clients that proved the key
 * (the default), anyone. Anyone lets a client aim a stream at any host. */
enum gs_control_advertise {
	GS_CONTROL_ADVERTISE_AUTH,
	GS_CONTROL_ADVERTISE_OFF,
	GS_CONTROL_ADVERTISE_OPEN,
};
void gs_control_set_advertise(struct gs_control *ctl, enum gs_control_advertise policy);
/* This host's CLOCK_TAI is PTP-synchronised: heartbeats carry TAI - MONO. */
void gs_control_set_clock_ptp(struct gs_control *ctl, bool ptp);

/* Returns 0 or -EINVAL for a zone index out of range. */
int gs_control_get_zone_stats(const struct gs_control *ctl, unsigned zone,
	struct gs_control_zone_stats *stats);

#endif
