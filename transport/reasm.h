/* SPDX-License-Identifier: MIT */
#ifndef XPORT_REASM_H
#define XPORT_REASM_H

/* Frame reassembly on the receiver: RTP packets in (any order, with loss,
 * duplicates and garbage), whole frames out, in frame-id order. A frame is
 * delivered only when every packet arrived and all of them agree (see
 * media.h); a frame with a missing, inconsistent or bad packet is counted
 * lost and never delivered. Reordering across frames is tolerated up to
 * XPORT_REASM_REORDER later frames completing first. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp.h"

#define XPORT_REASM_SLOTS 4   /* frames in flight at once */
#define XPORT_REASM_REORDER 2 /* later complete frames that give up an older one */
/* A packet this many frame ids behind the last frame delivered or given up
 * is not late: that frame id was wrong (bits flipped on the way, a forged
 * packet) or the sender started over. The receiver resynchronises to it
 * rather than refusing every frame from then on. */
#define XPORT_REASM_RESYNC 256

struct xport_reasm_config {
	uint32_t ssrc;          /* packets of any other SSRC are rejected */
	uint8_t payload_type;   /* and of any other payload type */
	size_t max_frame_bytes; /* larger frames are rejected (memory bound) */
};

struct xport_reasm_frame {
	uint32_t frame_id;
	bool key;
	uint64_t capture_ns;
	uint32_t rtp_ts;
	uint64_t first_ns, last_ns; /* arrival of its first and last packet */
	unsigned n_packets;
	uint8_t *data; /* owned: release with xport_reasm_frame_finish() */
	size_t len;
};

struct xport_reasm_stats {
	uint64_t packets;    /* accepted into a frame (duplicates included) */
	uint64_t bytes;      /* RTP payload bytes of those */
	uint64_t rejected;   /* malformed, foreign, inconsistent or oversized */
	uint64_t duplicates; /* identical repeats, ignored */
	uint64_t late;       /* for a frame already delivered or given up */
	uint64_t frames_complete;
	uint64_t frames_lost; /* given up, or never seen at all (id gaps) */
	uint64_t resyncs;     /* frame id jumps taken as a new start */
};

struct xport_reasm;

struct xport_reasm *xport_reasm_create(const struct xport_reasm_config *config);
/* Accepts NULL. */
void xport_reasm_destroy(struct xport_reasm *r);

/* Feeds one parsed RTP packet received at now_ns. Returns 0 (taken, or a
 * harmless duplicate/late packet), or -EBADMSG for a packet rejected as bad;
 * a bad packet that names a frame in flight also makes that frame lost. */
int xport_reasm_push(struct xport_reasm *r, const struct xport_rtp_packet *p, uint64_t now_ns);

/* Takes the next deliverable frame (oldest first). Returns false when none. */
bool xport_reasm_pop(struct xport_reasm *r, struct xport_reasm_frame *frame);
void xport_reasm_frame_finish(struct xport_reasm_frame *frame);

/* Gives up the oldest frames in flight that made no progress for timeout_ns,
 * so a frame whose last packets were lost is noticed without waiting for
 * more frames. */
void xport_reasm_expire(struct xport_reasm *r, uint64_t now_ns, uint64_t timeout_ns);

/* Is any frame in flight (worth an expiry timer)? */
bool xport_reasm_pending(const struct xport_reasm *r);

/* Frames lost since the last call (the receiver asks for a key frame). */
uint64_t xport_reasm_take_lost(struct xport_reasm *r);

const struct xport_reasm_stats *xport_reasm_get_stats(const struct xport_reasm *r);

#endif
