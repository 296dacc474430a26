/* SPDX-License-Identifier: MIT */
#ifndef XPORT_RTP_H
#define XPORT_RTP_H

/* RTP (RFC 3550) with RFC 8285 one-byte header extensions, and the RTCP
 * packets we use (SR, RR, SDES CNAME, PLI of RFC 4585), multiplexed on one
 * port (RFC 5761). Every parser takes hostile bytes and checks every length
 * before use. docs/wire-format.md describes how the media uses them. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XPORT_RTP_VERSION 2
#define XPORT_RTP_HDR_SIZE 12
#define XPORT_RTP_EXT_ONE_BYTE 0xbede

/* Our media header: 12 bytes RTP, 4 bytes extension header, 16 bytes of
 * one-byte elements (frame id: 1+4, capture time: 1+8, 2 padding). */
#define XPORT_RTP_MEDIA_HDR_SIZE 32

struct xport_rtp_packet {
	bool marker;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	bool has_frame_id;
	uint32_t frame_id;
	bool has_capture;
	uint64_t capture_ns;
	/* Server stages (media.h XPORT_MEDIA_EXT_STAGES): microseconds after
	 * capture when composed, encoded, first packet sent. */
	bool has_stages;
	uint32_t stages_us[3];
	const uint8_t *payload; /* points into the parsed buffer */
	size_t payload_len;
};

/* RFC 5761 demultiplexing: is this datagram RTCP (packet type 192..223)? */
bool xport_rtp_is_rtcp(const uint8_t *buf, size_t len);

/* Parses an RTP packet; extension elements with ids ext_frame_id (4 bytes)
 * and ext_capture (8 bytes) fill frame_id/capture_ns. Returns 0 or -EBADMSG
 * (bad version, lengths, padding, or an element of the wrong size). */
int xport_rtp_parse(const uint8_t *buf, size_t len, uint8_t ext_frame_id, uint8_t ext_capture,
	struct xport_rtp_packet *p);

/* Which one-byte elements a session's media carries (WELCOME). */
struct xport_rtp_ext_ids {
	uint8_t frame_id; /* 4 bytes */
	uint8_t capture;  /* 8 bytes; 0: none (protocol version 5: the RTP
	                   * timestamp is the capture time) */
	uint8_t stages;   /* 0: none */
	/* The stages element's form: false, three 24-bit values (9 bytes,
	 * version 4); true, three LEB128 values of 1 + the microseconds since
	 * the stage before (capture for the first; 0: unknown), 3..9 bytes
	 * (version 5: 6 bytes for stages of up to 16 ms each). */
	bool stages_compact;
};

/* The same, also taking an element of ext_stages (0: none) of 9 bytes: three
 * 24-bit values into p->stages_us. */
int xport_rtp_parse_ext(const uint8_t *buf, size_t len, uint8_t ext_frame_id,
	uint8_t ext_capture, uint8_t ext_stages, struct xport_rtp_packet *p);

/* The same for a session's element ids; capture 0 leaves has_capture false.
 * Compact stages come out as microseconds after capture, like the others
 * (XPORT_RTP_STAGE_MAX: unknown). */
int xport_rtp_parse_ids(const uint8_t *buf, size_t len, const struct xport_rtp_ext_ids *ids,
	struct xport_rtp_packet *p);

/* Writes the XPORT_RTP_MEDIA_HDR_SIZE-byte header of p (payload fields
 * ignored; has_* ignored: both elements are always written). */
void xport_rtp_write_media_header(uint8_t *buf, const struct xport_rtp_packet *p,
	uint8_t ext_frame_id, uint8_t ext_capture);

/* With p->has_stages, the header with the stages element too (ext_stages,
 * 9 bytes: each value saturated to 24 bits), XPORT_RTP_MEDIA_HDR_STAGES_SIZE
 * bytes; else as above. Returns the header's size. */
#define XPORT_RTP_MEDIA_HDR_STAGES_SIZE 40
#define XPORT_RTP_STAGE_MAX 0xffffffu
size_t xport_rtp_write_media_header_ext(uint8_t *buf, const struct xport_rtp_packet *p,
	uint8_t ext_frame_id, uint8_t ext_capture, uint8_t ext_stages);

/* The header for a session's element ids (ids->capture 0: no capture
 * element; p->has_stages: the stages element in ids' form), at most
 * XPORT_RTP_MEDIA_HDR_STAGES_SIZE bytes; returns its size. Version 5's
 * (no capture, compact stages) is 24 bytes, 28 with typical stages. */
size_t xport_rtp_write_media_header_ids(uint8_t *buf, const struct xport_rtp_packet *p,
	const struct xport_rtp_ext_ids *ids);

/* The size of the RTP header (with CSRCs and extension) at the start of a
 * packet this code wrote or parsed: where its payload starts. */
size_t xport_rtp_header_size(const uint8_t *buf);

/* RTP timestamp of a CLOCK_MONOTONIC time at 90 kHz plus a random offset. */
uint32_t xport_rtp_ts_90k(uint64_t t_ns, uint32_t offset);

/* The inverse, given a time near_ns on the same clock within 6 hours of it
 * (the timestamp wraps every 13.3): the middle of the 11.1 us tick whose
 * timestamp is ts, so within 5.6 us of the time it was made of. */
uint64_t xport_rtp_ts_90k_time(uint32_t ts, uint32_t offset, uint64_t near_ns);

/* --- RTCP --- */

enum xport_rtcp_type {
	XPORT_RTCP_SR = 200,
	XPORT_RTCP_RR = 201,
	XPORT_RTCP_SDES = 202,
	XPORT_RTCP_BYE = 203,
	XPORT_RTCP_APP = 204,
	XPORT_RTCP_RTPFB = 205,
	XPORT_RTCP_PSFB = 206,
};
#define XPORT_RTCP_FMT_PLI 1  /* PSFB */
#define XPORT_RTCP_FMT_NACK 1 /* RTPFB: generic NACK (RFC 4585 §6.2.1) */

struct xport_rtcp_report_block {
	uint32_t ssrc;
	uint8_t fraction_lost;
	int32_t cumulative_lost; /* 24-bit signed on the wire */
	uint32_t ext_highest_seq;
	uint32_t jitter;
	uint32_t lsr, dlsr;
};

#define XPORT_RTCP_MAX_BLOCKS 4
#define XPORT_RTCP_MAX_PLI 4
#define XPORT_RTCP_MAX_NACK 128 /* sequence numbers kept per datagram */

/* What a compound RTCP packet said (the parts we use). */
struct xport_rtcp_info {
	unsigned n_packets;
	bool has_sr;
	uint32_t sr_ssrc;
	uint64_t sr_ntp;
	uint32_t sr_rtp_ts, sr_packets, sr_octets;
	bool has_rr;
	uint32_t rr_ssrc;
	unsigned n_blocks; /* report blocks of SR and RR, first XPORT_RTCP_MAX_BLOCKS kept */
	struct xport_rtcp_report_block blocks[XPORT_RTCP_MAX_BLOCKS];
	unsigned n_pli; /* first XPORT_RTCP_MAX_PLI kept */
	uint32_t pli_sender_ssrc[XPORT_RTCP_MAX_PLI];
	uint32_t pli_media_ssrc[XPORT_RTCP_MAX_PLI];
	/* Generic NACKs, PID/BLP expanded: n_nack sequence numbers (first
	 * XPORT_RTCP_MAX_NACK kept), each with the media SSRC it is for. */
	unsigned n_nack;
	uint16_t nack_seq[XPORT_RTCP_MAX_NACK];
	uint32_t nack_media_ssrc[XPORT_RTCP_MAX_NACK];
	bool has_bye;
	/* The first APP packet (RFC 3550 §6.7): name, subtype, the first
	 * bytes of its data. */
	bool has_app;
	uint32_t app_ssrc;
	char app_name[4];
	uint8_t app_subtype;
	size_t app_len; /* data bytes (all of them; app_data keeps the first 16) */
	uint8_t app_data[16];
};

/* Parses a (compound) RTCP datagram. Unknown packet types are skipped by
 * their length. Returns 0 or -EBADMSG (any length that does not add up). */
int xport_rtcp_parse(const uint8_t *buf, size_t len, struct xport_rtcp_info *info);

/* Did the datagram request a key frame of media_ssrc? */
bool xport_rtcp_has_pli(const struct xport_rtcp_info *info, uint32_t media_ssrc);

/* Writers append one RTCP packet at buf; each returns 0 and sets *len, or
 * -ENOSPC. Chain them for a compound packet (RR or SR first, RFC 3550). */
int xport_rtcp_write_sr(uint8_t *buf, size_t cap, uint32_t ssrc, uint64_t ntp, uint32_t rtp_ts,
	uint32_t packets, uint32_t octets, size_t *len);
/* block may be NULL (no report block). */
int xport_rtcp_write_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
	const struct xport_rtcp_report_block *block, size_t *len);
int xport_rtcp_write_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname,
	size_t *len);
int xport_rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
	size_t *len);
/* A generic NACK for the n sequence numbers of seqs (any order; each within
 * 16 after the lowest of its PID/BLP entry is packed into it). -EINVAL for
 * n == 0. */
int xport_rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
	const uint16_t *seqs, unsigned n, size_t *len);

/* An APP packet: 4-character name, subtype 0..31, len bytes of data (a
 * multiple of 4). */
int xport_rtcp_write_app(uint8_t *buf, size_t cap, uint32_t ssrc, const char name[4],
	uint8_t subtype, const uint8_t *data, size_t len, size_t *len_out);

/* CLOCK_TAI - CLOCK_MONOTONIC (as zl_now_ns() reads it), ns; never 0. */
int64_t xport_tai_minus_mono(void);

/* NTP timestamp (RFC 3550 §4) of CLOCK_REALTIME, for SR. */
uint64_t xport_ntp_now(void);

/* Receiver statistics of one RTP source (RFC 3550 A.1, A.3, A.8): extended
 * sequence numbers across wraps, loss, interarrival jitter. */
struct xport_rtp_rx_stats {
	bool started;
	uint16_t max_seq;
	uint32_t cycles; /* wraps << 16 */
	uint32_t base_seq;
	uint32_t received;
	uint32_t expected_prior, received_prior;
	uint32_t last_transit;
	uint32_t jitter_q4; /* jitter << 4 */
};

/* Notes packet seq with RTP timestamp ts, arriving at arrival_90k (any
 * 90 kHz clock). Old duplicates and far jumps only restart nothing: the
 * counts stay conservative. */
void xport_rtp_rx_stats_update(struct xport_rtp_rx_stats *s, uint16_t seq, uint32_t ts,
	uint32_t arrival_90k);
uint32_t xport_rtp_rx_stats_ext_max(const struct xport_rtp_rx_stats *s);
/* Fills a report block (and starts the next report interval). */
void xport_rtp_rx_stats_block(struct xport_rtp_rx_stats *s, uint32_t ssrc, uint32_t lsr,
	uint32_t dlsr, struct xport_rtcp_report_block *block);

#endif
