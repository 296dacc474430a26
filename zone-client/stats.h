/* SPDX-License-Identifier: MIT */
#ifndef ZC_STATS_H
#define ZC_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Samples of one measure (ns), bounded (MAX_SAMPLES: an hour at 60 Hz). */
struct zc_samples {
	uint64_t *v;
	size_t n, cap;
};
void zc_samples_add(struct zc_samples *s, uint64_t ns);
/* Nearest-rank percentile (0..100), ns; 0 if none. Sorts the samples. */
uint64_t zc_samples_percentile(struct zc_samples *s, double pct);

/* Where a frame's time goes, guest flush to panel: compose (flush read ->
 * zone composed, server), encode (-> encoded, server), send (-> first
 * packet sent: queue and pacing, server), network (-> last packet received
 * here), decode (-> verified and decoded), present (-> on the panel). The
 * server's stages come in the frame's last packet (media.h
 * XPORT_MEDIA_EXT_STAGES) or, from older servers, in RTCP (APP STAGES);
 * across hosts the network stage uses the clock offset, like the latency. */
enum zc_stage {
	ZC_STAGE_COMPOSE,
	ZC_STAGE_ENCODE,
	ZC_STAGE_SEND,
	ZC_STAGE_NETWORK,
	ZC_STAGE_DECODE,
	ZC_STAGE_PRESENT,
	ZC_STAGE_COUNT,
};
extern const char *const zc_stage_names[ZC_STAGE_COUNT];

/* What the client measured, written as JSON by --stats. The same fields
 * for every backend. */
struct zc_stats {
	uint64_t frames_presented;
	uint64_t frames_dropped;  /* never shown: lost, unusable base, or bad */
	uint64_t crc_mismatches;  /* fully received but proved bad (CRC or payload) */
	uint64_t key_frames;      /* key frames shown */
	uint64_t bytes_received;  /* UDP payload bytes, media and RTCP */
	uint64_t packets_received;
	uint64_t bytes_sent;      /* UDP payload bytes of RTCP to the server */
	uint64_t packets_sent;
	uint64_t packets_rejected; /* malformed or foreign datagrams */
	uint64_t refresh_requests; /* PLIs sent */
	uint64_t nack_requests;    /* packets asked for again (generic NACK) */
	uint64_t srtp_rejected;    /* with a key: plaintext, forged or replayed datagrams */
	uint64_t inputs_sent;      /* panel events sent to the server (INPUT) */
	/* Staleness: times the zone went stale (no good frame for stale-ms
	 * while the server had newer ones, or heard nothing), for how long in
	 * all and at most, and whether it is stale now. */
	uint64_t stale_events;
	uint64_t stale_ns_total, stale_ns_max;
	bool stale_now;
	int64_t clock_offset_ns;   /* server - client, from heartbeats */
	bool clock_ntp;            /* latency corrected by it (cross-host), else same host */
	bool clock_ptp;            /* ...and it is exact: both CLOCK_TAIs PTP-synchronised */
	uint64_t rtt_ns;
	/* Latency (present - the guest's flush), for non-refresh frames. */
	struct zc_samples latency;
	/* The client's own part: last packet of the frame received -> on the
	 * panel (reassembly, CRC, decode, copy, the display's wait). */
	struct zc_samples receive_to_present;
	struct zc_samples stages[ZC_STAGE_COUNT];
};

void zc_stats_init(struct zc_stats *s);
void zc_stats_finish(struct zc_stats *s);
/* Drops the sample past a fixed cap (memory stays bounded on long runs). */
void zc_stats_add_latency(struct zc_stats *s, uint64_t ns);
/* zc_samples_percentile() of the latency. */
uint64_t zc_stats_percentile(struct zc_stats *s, double pct);

struct zc_stats_info {
	const char *zone;
	uint32_t width, height;
	const char *present_source;
};

/* Writes the JSON document. Returns 0 or a negative errno. */
int zc_stats_write_json(struct zc_stats *s, const struct zc_stats_info *info, FILE *f);
/* The same into path, atomically (path.tmp, then rename). */
int zc_stats_write_file(struct zc_stats *s, const struct zc_stats_info *info, const char *path);

#endif
