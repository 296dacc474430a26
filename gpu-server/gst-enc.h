/* SPDX-License-Identifier: MIT */
#ifndef GS_GST_ENC_H
#define GS_GST_ENC_H

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>

#include "sink.h"

/* A zone's lossy encoder, GStreamer doing the work (one encode per zone
 * frame, whoever receives it):
 *  - h264: x264enc (tune=zerolatency, ultrafast, no B-frames, an IDR each
 *    second and when asked, bitrate max_kbps, byte stream with SPS/PPS
 *    before every IDR);
 *  - jpeg: jpegenc quality 85; every frame stands alone. With max_kbps the
 *    quality follows the size of each frame so that frames at the zone's
 *    rate fit it.
 * Its output goes to up to two places, from the one encode:
 *  - a sink (sink=udp://HOST:PORT): RFC 6184 (rtph264pay, pt 96) or RFC 2435
 *    (rtpjpegpay, pt 26) packets sent on our socket (QoS, txtime) straight
 *    from GStreamer's streaming thread; an idle zone's frame is pushed again
 *    every second (late receivers, intra refresh);
 *  - the control session's clients: each encoded frame handed to `encoded`
 *    on the loop (an eventfd wakes it), for gs_control_zone_encoded().
 * Frames are pushed as they come; if the encoder falls behind, the oldest
 * waiting frame is dropped (never the newest): latency over completeness. */

enum gs_gst_codec { GS_GST_H264, GS_GST_JPEG };

struct zl_loop;
struct gs_gst_enc;

struct gs_gst_enc_config {
	const char *zone; /* for logs */
	uint32_t width, height, refresh_hz;
	enum gs_gst_codec codec;
	uint32_t max_kbps; /* h264: its bitrate (0: 8000); jpeg: 0 = unbounded */
	/* RTP to a sink, or NULL. */
	const struct gs_sink_config *sink;
	/* Encoded frames on the loop, or NULL. key: decodable alone (IDR);
	 * capture_ns and refresh: as given to gs_gst_enc_frame(); pushed_ns:
	 * when it was given. */
	void (*encoded)(void *data, const uint8_t *bytes, size_t len, bool key,
		uint64_t capture_ns, uint64_t pushed_ns, bool refresh);
	void *data;
};

/* Is GStreamer there, with the codec's elements? false (logs why) if not. */
bool gs_gst_enc_available(enum gs_gst_codec codec);

/* NULL (and logs why) on failure. The loop is borrowed. */
struct gs_gst_enc *gs_gst_enc_create(struct zl_loop *loop, const struct gs_gst_enc_config *cfg);
/* Accepts NULL. */
void gs_gst_enc_destroy(struct gs_gst_enc *enc);

/* The zone's image (x8r8g8b8, read now) at capture_ns: encode it. key: as a
 * key frame (h264: IDR). refresh: no new content (a join, a key request):
 * the receivers do not count it as a latency sample. */
void gs_gst_enc_frame(struct gs_gst_enc *enc, pixman_image_t *image, uint64_t capture_ns,
	bool key, bool refresh);

/* Frames handed in; of those, encoded frames handed to `encoded` (the
 * difference: dropped behind newer ones, or in flight). */
void gs_gst_enc_get_stats(const struct gs_gst_enc *enc, uint64_t *frames_in,
	uint64_t *frames_out);

#endif
