/* SPDX-License-Identifier: MIT */
#include "gst-sink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "transport/net.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"

#define REFRESH_NS 1000000000ull
#define IP4_UDP 28
#define IP6_UDP 48

struct gs_gst_sink {
	char zone[64];
	int fd;
	struct sockaddr_storage to;
	socklen_t to_len;
	bool txtime;
	uint32_t width, height;
	GstElement *pipeline;
	GstAppSrc *src;
	/* The last frame (BGRx), pushed again when the zone is idle. */
	GstBuffer *last;
	struct zl_source *refresh_timer;
	uint64_t t0_ns;
	/* Counted from GStreamer's streaming thread. */
	uint64_t packets, send_errors;
};

static const char *codec_name(enum gs_gst_codec c)
{
	return c == GS_GST_H264 ? "h264" : "jpeg";
}

bool gs_gst_sink_available(enum gs_gst_codec codec)
{
	GError *err = NULL;
	if (!gst_init_check(NULL, NULL, &err)) {
		zl_err("GStreamer: %s", err ? err->message : "cannot initialise");
		g_clear_error(&err);
		return false;
	}
	const char *need[] = { codec == GS_GST_H264 ? "x264enc" : "jpegenc",
		codec == GS_GST_H264 ? "rtph264pay" : "rtpjpegpay", "videoconvert", "appsrc",
		"appsink" };
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		GstElementFactory *f = gst_element_factory_find(need[i]);
		if (!f) {
			zl_err("codec=%s: GStreamer has no %s (Debian: %s)", codec_name(codec), need[i],
				strcmp(need[i], "x264enc") == 0 ? "gstreamer1.0-plugins-ugly" :
				"gstreamer1.0-plugins-good/-base");
			return false;
		}
		gst_object_unref(f);
	}
	return true;
}

/* One RTP packet from the payloader: out on our socket, now (GStreamer's
 * streaming thread; the socket is ours alone there). */
static GstFlowReturn on_sample(GstAppSink *appsink, gpointer data)
{
	struct gs_gst_sink *s = data;
	GstSample *sample = gst_app_sink_pull_sample(appsink);
	if (!sample) {
		return GST_FLOW_EOS;
	}
	GstBuffer *buf = gst_sample_get_buffer(sample);
	GstMapInfo map;
	if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
		union {
			char b[XPORT_NET_TXTIME_CMSG_SPACE];
			struct cmsghdr align;
		} cm;
		struct iovec iov = { map.data, map.size };
		struct msghdr mh = { .msg_name = &s->to, .msg_namelen = s->to_len, .msg_iov = &iov,
			.msg_iovlen = 1 };
		if (s->txtime) {
			xport_net_txtime_cmsg(cm.b, xport_net_launch_time());
			mh.msg_control = cm.b;
			mh.msg_controllen = sizeof(cm.b);
		}
		if (sendmsg(s->fd, &mh, MSG_DONTWAIT) < 0) {
			__atomic_add_fetch(&s->send_errors, 1, __ATOMIC_RELAXED);
		} else {
			__atomic_add_fetch(&s->packets, 1, __ATOMIC_RELAXED);
		}
		gst_buffer_unmap(buf, &map);
	}
	gst_sample_unref(sample);
	return GST_FLOW_OK;
}

static void push(struct gs_gst_sink *s, GstBuffer *buf, uint64_t capture_ns)
{
	/* Timestamps from the flush: the RTP timestamp follows the guest. */
	GST_BUFFER_PTS(buf) = capture_ns > s->t0_ns ? capture_ns - s->t0_ns : 0;
	GST_BUFFER_DURATION(buf) = GST_CLOCK_TIME_NONE;
	gst_app_src_push_buffer(s->src, gst_buffer_ref(buf));
	zl_source_timer_arm(s->refresh_timer, REFRESH_NS, 0);
}

static void on_refresh(void *data)
{
	struct gs_gst_sink *s = data;
	if (s->last) {
		GstBuffer *copy = gst_buffer_copy(s->last);
		push(s, copy, zl_now_ns());
		gst_buffer_unref(copy);
	}
}

struct gs_gst_sink *gs_gst_sink_create(struct zl_loop *loop, const struct gs_sink_config *cfg,
	enum gs_gst_codec codec, uint32_t max_kbps)
{
	if (!gs_gst_sink_available(codec)) {
		return NULL;
	}
	struct gs_gst_sink *s = calloc(1, sizeof(*s));
	if (!s) {
		return NULL;
	}
	snprintf(s->zone, sizeof(s->zone), "%s", cfg->zone);
	s->width = cfg->width;
	s->height = cfg->height;
	s->txtime = cfg->txtime;
	s->t0_ns = zl_now_ns();
	s->fd = gs_sink_socket(cfg, &s->to, &s->to_len);
	if (s->fd < 0) {
		free(s);
		return NULL;
	}
	unsigned mtu = cfg->mtu - (s->to.ss_family == AF_INET6 ? IP6_UDP : IP4_UDP);
	char desc[1024];
	if (codec == GS_GST_H264) {
		/* Low latency: no lookahead, no B-frames; rolling intra refresh
		 * instead of periodic IDR spikes; SPS/PPS with every key. */
		snprintf(desc, sizeof(desc),
			"appsrc name=src is-live=true format=time do-timestamp=false "
			"caps=video/x-raw,format=BGRx,width=%u,height=%u,framerate=%u/1 ! videoconvert ! "
			"video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast "
			"bframes=0 key-int-max=%u intra-refresh=true bitrate=%u vbv-buf-capacity=200 ! "
			"video/x-h264,profile=constrained-baseline ! rtph264pay pt=96 mtu=%u "
			"config-interval=-1 aggregate-mode=zero-latency ! "
			"appsink name=sink sync=false emit-signals=false",
			s->width, s->height, cfg->refresh_hz ? cfg->refresh_hz : 60,
			cfg->refresh_hz ? cfg->refresh_hz : 60, max_kbps ? max_kbps : 8000, mtu);
	} else {
		snprintf(desc, sizeof(desc),
			"appsrc name=src is-live=true format=time do-timestamp=false "
			"caps=video/x-raw,format=BGRx,width=%u,height=%u,framerate=0/1 ! videoconvert ! "
			"video/x-raw,format=I420 ! jpegenc quality=85 ! rtpjpegpay pt=26 mtu=%u ! "
			"appsink name=sink sync=false emit-signals=false", s->width, s->height, mtu);
	}
	GError *err = NULL;
	s->pipeline = gst_parse_launch(desc, &err);
	if (!s->pipeline || err) {
		zl_err("zone %s: codec=%s: %s", cfg->zone, codec_name(codec),
			err ? err->message : "no pipeline");
		g_clear_error(&err);
		goto err;
	}
	s->src = GST_APP_SRC(gst_bin_get_by_name(GST_BIN(s->pipeline), "src"));
	GstElement *sink = gst_bin_get_by_name(GST_BIN(s->pipeline), "sink");
	GstAppSinkCallbacks cb = { .new_sample = on_sample };
	gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, s, NULL);
	gst_object_unref(sink);
	s->refresh_timer = zl_loop_add_timer(loop, on_refresh, s);
	if (!s->refresh_timer ||
		gst_element_set_state(s->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
		zl_err("zone %s: codec=%s: the pipeline does not start", cfg->zone, codec_name(codec));
		goto err;
	}
	char a[XPORT_NET_ADDR_STRLEN];
	zl_info("zone %s: sink: %s %ux%u to %s", cfg->zone,
		codec == GS_GST_H264 ? "H.264 (RFC 6184, pt 96)" : "JPEG (RFC 2435, pt 26)",
		s->width, s->height, xport_net_addr_str((struct sockaddr *)&s->to, a, sizeof(a)));
	return s;

err:
	gs_gst_sink_destroy(s);
	return NULL;
}

void gs_gst_sink_destroy(struct gs_gst_sink *s)
{
	if (!s) {
		return;
	}
	if (s->pipeline) {
		gst_element_set_state(s->pipeline, GST_STATE_NULL);
		gst_object_unref(s->pipeline);
	}
	if (s->src) {
		gst_object_unref(s->src);
	}
	if (s->last) {
		gst_buffer_unref(s->last);
	}
	zl_source_remove(s->refresh_timer);
	if (s->fd >= 0) {
		close(s->fd);
	}
	free(s);
}

void gs_gst_sink_frame(struct gs_gst_sink *s, pixman_image_t *image, uint64_t capture_ns)
{
	if ((uint32_t)pixman_image_get_width(image) != s->width ||
		(uint32_t)pixman_image_get_height(image) != s->height) {
		return;
	}
	/* x8r8g8b8 little-endian is BGRx in memory: rows copied as they are. */
	size_t row = (size_t)s->width * 4;
	GstBuffer *buf = gst_buffer_new_allocate(NULL, row * s->height, NULL);
	GstMapInfo map;
	if (!buf || !gst_buffer_map(buf, &map, GST_MAP_WRITE)) {
		if (buf) {
			gst_buffer_unref(buf);
		}
		return;
	}
	const uint8_t *src = (const uint8_t *)pixman_image_get_data(image);
	int stride = pixman_image_get_stride(image);
	for (uint32_t y = 0; y < s->height; y++) {
		memcpy(map.data + y * row, src + (size_t)y * (size_t)stride, row);
	}
	gst_buffer_unmap(buf, &map);
	push(s, buf, capture_ns);
	if (s->last) {
		gst_buffer_unref(s->last);
	}
	s->last = buf;
}
