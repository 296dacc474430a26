/* SPDX-License-Identifier: MIT */
#ifndef ZC_SESSION_H
#define ZC_SESSION_H

/* One zone-client session: the control connection to gpu-server, the RTP
 * receiver, reassembly, verification, and presentation through a backend.
 *
 * Frames are decoded into a back buffer that is never shown; only a frame
 * whose every packet arrived, whose base frame is the one shown, and whose
 * CRC32C over the whole result matches becomes the front buffer and is
 * presented. Anything else is dropped (the last good frame stays) and a key
 * frame is requested with RTCP PLI, at most every 100 ms until one arrives.
 * The back buffer is brought up to date by copying only the region where it
 * differs from the front, so the work per frame follows the damage (the CRC
 * is the one full-frame pass). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "stats.h"
#include "util/loop.h"

struct zc_session_config {
	const char *host; /* borrowed for the session's life */
	uint16_t port;
	const char *zone;
	uint32_t panel_width, panel_height, panel_refresh; /* 0: no preference */
	uint16_t media_port;                               /* 0: any */
	const struct zc_backend_impl *backend;
	struct zc_backend_options backend_options; /* strings borrowed */
	const char *dump_dir; /* non-NULL: write DIR/frame-NNNNNN.png per frame shown */
	uint64_t max_frames;  /* end after this many frames shown; 0: never */
	/* Non-NULL: one line per frame shown, "FRAME_ID T_PRESENT_NS
	 * T_CAPTURE_NS KEY REFRESH" (capture: the server's clock, as the frame
	 * said: its guest flush, or for a refresh, when the server made it;
	 * KEY, REFRESH: 0 or 1). Borrowed; the caller closes it. */
	FILE *present_log;
	/* The zone is stale after this long without a good frame while the
	 * server has newer ones (or is not heard at all); 0: the default,
	 * ZC_STALE_MS_DEFAULT. At least ZC_STALE_MS_MIN. */
	uint32_t stale_ms;
	/* The pre-shared key to prove (and to require of the server); NULL:
	 * none. Borrowed for the session's life. */
	const struct xport_psk *psk;
	/* Non-NULL: tell the server to send media here (a NAT's or relay's
	 * address) rather than to this host's media_port; media are then taken
	 * from any source (SSRC-checked; with a key, SRTP-authenticated).
	 * Numeric HOST:PORT, borrowed. */
	const char *advertise;
	/* How the server's timestamps become ours (stats "clock"). */
	enum zc_clock {
		ZC_CLOCK_AUTO,      /* same-host if the server is on this host, else ntp */
		ZC_CLOCK_SAME_HOST, /* one CLOCK_MONOTONIC: no correction */
		ZC_CLOCK_NTP,       /* the offset the heartbeats estimate (NTP-style) */
		ZC_CLOCK_PTP,       /* both CLOCK_TAIs PTP-synchronised: the offset exactly
		                     * (ntp if the server does not say it is) */
	} clock;
	/* Test seam: input events performed once the first frame is shown, as
	 * if the panel's user did them (one every 30 ms), e.g.
	 * "down:100,50;move:120,60;up;key:30". Borrowed. */
	const char *inject;
};

#define ZC_STALE_MS_DEFAULT 100
/* Twice the server's keepalive while idle (XPORT_MEDIA_KEEPALIVE_NS). */
#define ZC_STALE_MS_MIN 80

struct zc_session;
struct xport_psk;

/* Resolves the server and starts connecting (the rest happens on the loop).
 * The session quits the loop when it ends: done (max_frames shown) or
 * failed (see zc_session_status()). Returns NULL only when out of memory. */
struct zc_session *zc_session_create(struct zl_loop *loop, const struct zc_session_config *cfg);
/* Accepts NULL. */
void zc_session_destroy(struct zc_session *s);

/* Sends the panel's event to the server (once joined, protocol version 3);
 * false if it could not go. */
bool zc_session_input(struct zc_session *s, const struct zc_input_event *ev);

/* 0 while running or after a clean end; a negative errno after a failure
 * (possibly already from zc_session_create(): check before running the
 * loop). */
int zc_session_status(const struct zc_session *s);
/* One line saying why the session failed (empty if it did not). */
const char *zc_session_error(const struct zc_session *s);
/* Did it show max_frames frames? */
bool zc_session_done(const struct zc_session *s);

/* Says BYE to the server (best effort), e.g. before exiting on a signal. */
void zc_session_bye(struct zc_session *s);

struct zc_stats *zc_session_stats(struct zc_session *s);
/* Zone name, mode and present source for the stats file. */
void zc_session_stats_info(const struct zc_session *s, struct zc_stats_info *info);
/* The image shown now (borrowed), NULL before the first frame. */
pixman_image_t *zc_session_snapshot(struct zc_session *s);

#endif
