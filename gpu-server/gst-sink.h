/* SPDX-License-Identifier: MIT */
#ifndef GS_GST_SINK_H
#define GS_GST_SINK_H

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>

#include "sink.h"

/* A zone streamed to sink=udp://HOST:PORT with a lossy codec, encoded and
 * packetized by GStreamer (sink.h has the raw one):
 *  - h264: x264enc (tune=zerolatency, ultrafast, no B-frames, rolling intra
 *    refresh once a second, bitrate max_kbps) and RFC 6184 (rtph264pay,
 *    parameter sets in band), payload type 96;
 *  - jpeg: jpegenc and RFC 2435 (rtpjpegpay), payload type 26.
 * The packets go out on our socket (QoS, txtime). Each zone frame is pushed
 * as it comes; an idle zone's frame is pushed again every second (late
 * receivers, intra refresh). */

enum gs_gst_codec { GS_GST_H264, GS_GST_JPEG };

struct gs_gst_sink;

/* Is GStreamer there, with the codec's elements? false (logs why) if not. */
bool gs_gst_sink_available(enum gs_gst_codec codec);

/* max_kbps: h264's bitrate (0: 8000). NULL (and logs why) on failure. */
struct gs_gst_sink *gs_gst_sink_create(struct zl_loop *loop, const struct gs_sink_config *cfg,
	enum gs_gst_codec codec, uint32_t max_kbps);
void gs_gst_sink_destroy(struct gs_gst_sink *sink);
void gs_gst_sink_frame(struct gs_gst_sink *sink, pixman_image_t *image, uint64_t capture_ns);

#endif
