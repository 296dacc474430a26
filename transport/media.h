/* SPDX-License-Identifier: MIT */
#ifndef XPORT_MEDIA_H
#define XPORT_MEDIA_H

/* Media packets: how one encoded frame (a tiles payload, see tiles.h) is
 * split into RTP packets. Each packet is
 *
 *   RTP header (12) | one-byte extension (20): frame id, capture time
 *   | payload header (16) | fragment of the frame payload
 *
 * Payload header, big-endian:
 *   0  1  version       1
 *   1  1  flags         bit 0: KEY (the frame is a key frame)
 *   2  2  index         packet index within the frame, 0..count-1
 *   4  2  count         packets in the frame, >= 1
 *   6  2  reserved      0
 *   8  4  total         frame payload bytes, >= 1
 *   12 4  offset        this fragment's offset = index * fragment size
 *
 * Since protocol version 5, a frame in one packet has the short payload
 * header instead (XPORT_MEDIA_PHDR_SHORT_SIZE bytes: version 2, flags):
 * index 0, count 1, offset 0 and total the fragment's size go without
 * saying. And the extension has no capture time element: the RTP
 * timestamp is the capture time (WELCOME's rtp_ts_offset); the stages
 * element is compact (rtp.h struct xport_rtp_ext_ids). A small frame's
 * headers are then 12 + 16 + 2 bytes instead of 12 + 28 + 16.
 *
 * Every packet but the last carries exactly `fragment size` bytes, so a
 * receiver can check each packet against the others; the last carries the
 * rest. All packets of a frame share frame id, capture time, RTP timestamp,
 * flags, count and total, and have consecutive sequence numbers
 * (seq - index is constant); the marker bit is set on the last (index
 * count-1) only. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp.h"

#define XPORT_MEDIA_PHDR_SIZE 16
#define XPORT_MEDIA_PHDR_VERSION 1
#define XPORT_MEDIA_PHDR_SHORT_SIZE 2
#define XPORT_MEDIA_PHDR_VERSION_SHORT 2
#define XPORT_MEDIA_FLAG_KEY 0x01

/* Everything before the fragment. */
#define XPORT_MEDIA_HDR_SIZE (XPORT_RTP_MEDIA_HDR_SIZE + XPORT_MEDIA_PHDR_SIZE)

#define XPORT_MEDIA_PT_DEFAULT 96
#define XPORT_MEDIA_EXT_FRAME_ID 1
#define XPORT_MEDIA_EXT_CAPTURE 2
/* Since protocol version 4, the last packet of a frame to a client carries
 * the server's stages of it (the RTCP APP STAGES below, in band: no extra
 * datagram per frame) as one-byte element 3 of 9 bytes: microseconds after
 * capture when the frame was composed, encoded, and its first packet sent,
 * 24 bits each (XPORT_RTP_STAGE_MAX: unknown, or 16.7 s and more). Only if
 * the packet then still fits the MTU (the last fragment is at most
 * XPORT_MEDIA_STAGES_EXTRA bytes shorter than a full one); otherwise, and
 * to older clients, the APP goes. */
#define XPORT_MEDIA_EXT_STAGES 3
#define XPORT_MEDIA_STAGES_EXTRA (XPORT_RTP_MEDIA_HDR_STAGES_SIZE - XPORT_RTP_MEDIA_HDR_SIZE)
#define XPORT_MEDIA_HDR_MAX (XPORT_RTP_MEDIA_HDR_STAGES_SIZE + XPORT_MEDIA_PHDR_SIZE)

/* RTCP APP (RFC 3550 §6.7) "ZONL", subtype 0, from the server with every
 * SR: 4 bytes, the id of the last frame it emitted (big-endian). A client
 * showing that frame is up to date even when nothing changes; SRs go out
 * at least every XPORT_MEDIA_KEEPALIVE_NS while a zone is idle. */
#define XPORT_RTCP_APP_NAME "ZONL"
#define XPORT_RTCP_APP_FRAME 0
/* RTCP APP "ZONL", subtype 1, from the server after each frame's last
 * packet left for a client (with an RR, no report block): where the frame's
 * time went on the server, for the client's stage-by-stage latency. 16
 * bytes, big-endian: frame id; then microseconds after its capture (the
 * guest's flush read) when it was composed, encoded, and its first packet
 * sent (0xffffffff: unknown). */
#define XPORT_RTCP_APP_STAGES 1
#define XPORT_STAGE_UNKNOWN 0xffffffffu
#define XPORT_MEDIA_KEEPALIVE_NS 40000000ull

#define XPORT_MEDIA_MTU_DEFAULT 1500
#define XPORT_MEDIA_MTU_MIN 576
#define XPORT_MEDIA_MTU_MAX 65535
#define XPORT_MEDIA_MAX_PACKETS 65535

struct xport_media_phdr {
	uint8_t flags;
	uint16_t index, count;
	uint32_t total, offset;
	uint8_t size; /* parsed: the header's bytes (the short one's or not) */
};

/* Returns 0 or -EBADMSG (short, wrong version, index >= count, count 0,
 * total 0, fragment beyond total). frag_len is the bytes after the header
 * (h->size bytes). Takes either form: which one a session's server sends
 * is its business, and each parses to the same. */
int xport_media_phdr_parse(const uint8_t *buf, size_t len, struct xport_media_phdr *h,
	size_t *frag_len);
void xport_media_phdr_write(uint8_t *buf, const struct xport_media_phdr *h);

/* Fragment bytes per packet so that IP + UDP + XPORT_MEDIA_HDR_SIZE + fragment
 * <= mtu; 0 if mtu is out of [XPORT_MEDIA_MTU_MIN, XPORT_MEDIA_MTU_MAX]. */
size_t xport_media_frag_size(uint32_t mtu, bool ipv6);

/* Is a packet's fragment (h, frag_len bytes after the header) what a sender
 * cutting at frag bytes sends: offset index * frag, frag bytes, or the rest
 * for the last? A packet that is not was damaged on the way (cut short, bits
 * flipped in its header): a receiver that knows frag (the mtu it was told)
 * drops it as lost rather than letting it spoil its frame. */
bool xport_media_packet_fits(const struct xport_media_phdr *h, size_t frag_len, size_t frag);

/* Pacing of every media stream gpu-server sends (control clients, sinks):
 * a frame's packets leave in bursts XPORT_PACE_GAP_NS apart, sized so the
 * frame spreads over pace_pct % of the frame interval: bursts of
 * XPORT_PACE_BURST_MIN..XPORT_PACE_BURST_MAX packets, so a small frame
 * leaves at once and a big one (a key frame) neither floods the network's
 * queues nor the receiver's socket buffer. pace_pct 0: the largest burst. */
#define XPORT_PACE_GAP_NS 100000ull
#define XPORT_PACE_BURST_MIN 8
#define XPORT_PACE_BURST_MAX 64
unsigned xport_media_pace_burst(uint64_t count, uint32_t refresh_hz, uint32_t pace_pct);

/* Packets needed for a payload of len bytes; 0 if more than
 * XPORT_MEDIA_MAX_PACKETS (or len or frag is 0). */
unsigned xport_media_packet_count(size_t len, size_t frag);

/* One frame to packetize. */
struct xport_media_frame {
	uint32_t frame_id;
	uint64_t capture_ns;
	uint32_t rtp_ts;
	bool key;
	const uint8_t *data;
	size_t len;
	size_t frag;    /* xport_media_frag_size() */
	unsigned count; /* xport_media_packet_count(len, frag) */
};

/* Writes the headers of packet `index` (RTP sequence number seq) into hdr
 * (XPORT_MEDIA_HDR_MAX bytes) and returns their size: XPORT_MEDIA_HDR_SIZE,
 * or XPORT_MEDIA_STAGES_EXTRA more with the stages element (stages not NULL,
 * the last packet, and it fits: xport_media_stages_fit()); compact (a
 * version 5 session): no capture element, compact stages and, for a frame
 * of one packet, the short payload header: less. The packet's fragment is
 * f->data[*frag_off .. *frag_off + *frag_len). */
size_t xport_media_packet(const struct xport_media_frame *f, unsigned index, uint32_t ssrc,
	uint8_t pt, uint16_t seq, const uint32_t *stages, bool compact, uint8_t *hdr,
	size_t *frag_off, size_t *frag_len);

/* The extension element ids of a session's media (compact: version 5). */
struct xport_rtp_ext_ids xport_media_ext_ids(bool compact);

/* Does frame f's last packet have room for the stages element? */
bool xport_media_stages_fit(const struct xport_media_frame *f);

#endif
