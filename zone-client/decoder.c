/* SPDX-License-Identifier: MIT */
#include "decoder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "transport/control-proto.h"
#include "util/gst-handoff.h"
#include "util/log.h"

/* Frames in the decoder at once, remembered by PTS. */
#define IN_FLIGHT_MAX 16

struct zc_decoder {
	struct zc_decoder_listener listener;
	void *data;
	uint8_t codec;
	uint32_t width, height;
	char desc[768];
	GstElement *pipeline;
	GstAppSrc *src;
	struct zl_gst_handoff *handoff;
	struct zl_loop *loop;
	uint64_t n_pushed;
	bool broken;
	/* PTS n -> frame id, for frames in flight. */
	struct {
		GstClockTime pts;
		uint32_t frame_id;
		bool used;
	} flight[IN_FLIGHT_MAX];
};

static const char *codec_name(uint8_t codec)
{
	return codec == XPORT_CODEC_H264 ? "h264" : "jpeg";
}

bool zc_decoder_available(uint8_t codec)
{
	const char *need[] = { codec == XPORT_CODEC_H264 ? "avdec_h264" : "jpegdec",
		"videoconvert", "appsrc", "appsink", NULL };
	char who[32];
	snprintf(who, sizeof(who), "codec %s", codec_name(codec));
	return zl_gst_require(who, need, codec == XPORT_CODEC_H264 ? "gstreamer1.0-libav" :
		"gstreamer1.0-plugins-good");
}

static void on_sample(void *data, GstSample *sample)
{
	struct zc_decoder *d = data;
	GstBuffer *buf = gst_sample_get_buffer(sample);
	GstMapInfo map;
	if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
		GstClockTime pts = GST_BUFFER_PTS(buf);
		for (unsigned i = 0; i < IN_FLIGHT_MAX; i++) {
			if (d->flight[i].used && d->flight[i].pts == pts) {
				d->flight[i].used = false;
				/* The caps fix the size: width x height BGRx, packed. */
				if (map.size >= (size_t)d->width * d->height * 4) {
					d->listener.decoded(d->data, d->flight[i].frame_id, map.data,
						(size_t)d->width * 4);
				}
				break;
			}
		}
		gst_buffer_unmap(buf, &map);
	}
	gst_sample_unref(sample);
}

static void on_error(void *data, bool fatal, const char *message)
{
	struct zc_decoder *d = data;
	/* Warnings too: avdec_h264 warns about what it could not decode. */
	for (unsigned i = 0; i < IN_FLIGHT_MAX; i++) {
		d->flight[i].used = false;
	}
	/* Fatal: the pipeline stopped; it starts over with the next frame
	 * (not here: this runs inside its handoff). */
	d->broken |= fatal;
	d->listener.failed(d->data, message);
}

static void stop(struct zc_decoder *d)
{
	if (d->pipeline) {
		gst_element_set_state(d->pipeline, GST_STATE_NULL);
	}
	zl_gst_handoff_destroy(d->handoff);
	d->handoff = NULL;
	if (d->src) {
		gst_object_unref(d->src);
		d->src = NULL;
	}
	if (d->pipeline) {
		gst_object_unref(d->pipeline);
		d->pipeline = NULL;
	}
}

static int start(struct zc_decoder *d)
{
	GError *err = NULL;
	d->pipeline = gst_parse_launch(d->desc, &err);
	if (!d->pipeline || err) {
		zl_err("codec %s: %s", codec_name(d->codec), err ? err->message : "no pipeline");
		g_clear_error(&err);
		return -EINVAL;
	}
	d->src = GST_APP_SRC(gst_bin_get_by_name(GST_BIN(d->pipeline), "src"));
	GstAppSink *sink = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(d->pipeline), "sink"));
	static const struct zl_gst_handoff_listener hl = { .sample = on_sample, .error = on_error };
	d->handoff = zl_gst_handoff_create(d->loop, d->pipeline, sink, IN_FLIGHT_MAX, &hl, d);
	gst_object_unref(sink);
	if (!d->handoff ||
		gst_element_set_state(d->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
		zl_err("codec %s: the decoder does not start", codec_name(d->codec));
		return -EINVAL;
	}
	return 0;
}

struct zc_decoder *zc_decoder_create(struct zl_loop *loop, uint8_t codec, uint32_t width,
	uint32_t height, const struct zc_decoder_listener *listener, void *data)
{
	if ((codec != XPORT_CODEC_H264 && codec != XPORT_CODEC_JPEG) ||
		!zc_decoder_available(codec)) {
		return NULL;
	}
	struct zc_decoder *d = calloc(1, sizeof(*d));
	if (!d) {
		return NULL;
	}
	d->listener = *listener;
	d->data = data;
	d->codec = codec;
	d->width = width;
	d->height = height;
	d->loop = loop;
	/* The output caps pin the size: a stream of another size fails to
	 * negotiate (an error) rather than reaching the zone. */
	snprintf(d->desc, sizeof(d->desc),
		"appsrc name=src is-live=true format=time do-timestamp=false caps=%s ! %s ! "
		"videoconvert ! video/x-raw,format=BGRx,width=%u,height=%u ! "
		"appsink name=sink sync=false emit-signals=false",
		codec == XPORT_CODEC_H264 ? "video/x-h264,stream-format=byte-stream,alignment=au" :
		"image/jpeg,framerate=0/1",
		codec == XPORT_CODEC_H264 ? "avdec_h264 output-corrupt=false thread-type=slice" :
		"jpegdec", width, height);
	if (start(d) < 0) {
		zc_decoder_destroy(d);
		return NULL;
	}
	return d;
}

void zc_decoder_destroy(struct zc_decoder *d)
{
	if (!d) {
		return;
	}
	stop(d);
	free(d);
}

int zc_decoder_push(struct zc_decoder *d, const uint8_t *bitstream, size_t len,
	uint32_t frame_id)
{
	if (d->broken) {
		d->broken = false;
		stop(d);
		if (start(d) < 0) {
			stop(d);
		}
	}
	if (!d->pipeline) {
		return -EPIPE;
	}
	unsigned slot = IN_FLIGHT_MAX;
	for (unsigned i = 0; i < IN_FLIGHT_MAX && slot == IN_FLIGHT_MAX; i++) {
		if (!d->flight[i].used) {
			slot = i;
		}
	}
	if (slot == IN_FLIGHT_MAX) {
		/* The decoder lost track of some (it drops what it cannot
		 * decode): forget the oldest. */
		slot = 0;
		for (unsigned i = 1; i < IN_FLIGHT_MAX; i++) {
			if (d->flight[i].pts < d->flight[slot].pts) {
				slot = i;
			}
		}
	}
	GstBuffer *buf = gst_buffer_new_memdup(bitstream, len);
	if (!buf) {
		return -ENOMEM;
	}
	GstClockTime pts = ++d->n_pushed * GST_MSECOND;
	GST_BUFFER_PTS(buf) = pts;
	GST_BUFFER_DTS(buf) = pts;
	d->flight[slot].pts = pts;
	d->flight[slot].frame_id = frame_id;
	d->flight[slot].used = true;
	return gst_app_src_push_buffer(d->src, buf) == GST_FLOW_OK ? 0 : -EPIPE;
}

unsigned zc_decoder_in_flight(const struct zc_decoder *d)
{
	unsigned n = 0;
	for (unsigned i = 0; i < IN_FLIGHT_MAX; i++) {
		n += d->flight[i].used;
	}
	return n;
}
