/* SPDX-License-Identifier: MIT */
#include "gst-enc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "transport/net.h"
#include "util/clock.h"
#include "util/gst-handoff.h"
#include "util/log.h"
#include "util/loop.h"

#define REFRESH_NS 1000000000ull
#define JPEG_QUALITY 85
#define JPEG_QUALITY_MIN 5
#define IP4_UDP 28
#define IP6_UDP 48
/* Encoded frames waiting for the loop (more: the oldest goes; the loop is
 * late only if it is stuck). An h264 client misses a frame then: a gap in
 * the frame ids, after which it asks for a key frame. */
#define OUT_MAX 8
/* Frames handed in, remembered until they come out encoded: their capture
 * time and refresh flag, found by the sequence number each frame carries in
 * a GstReferenceTimestampMeta (encoders rewrite PTS: x264enc adds 1000
 * hours; metas without tags pass videoconvert and GstVideoEncoder). */
#define META_MAX 16

struct gs_gst_enc {
	char zone[64];
	enum gs_gst_codec codec;
	uint32_t width, height;
	GstElement *pipeline;
	GstAppSrc *src;
	GstPad *enc_src; /* the encoder's source pad: key-frame requests go there */
	/* jpeg with max-bitrate: the encoder's quality follows the size of
	 * what it made (the streaming thread's only). */
	GstElement *jpegenc;
	size_t frame_budget; /* bytes per frame at the zone's rate */
	int quality;
	uint64_t t0_ns;
	GstClockTime last_pts;
	uint64_t frames, frames_out;

	/* The sink (sink=): our socket, written from the streaming thread. */
	int fd;
	struct sockaddr_storage to;
	socklen_t to_len;
	bool txtime;
	GstBuffer *last; /* the last frame (BGRx), pushed again when idle */
	struct zl_source *refresh_timer;
	uint64_t packets, send_errors; /* atomics: the streaming thread counts */

	/* The control session's output: encoded frames on the loop. */
	void (*encoded)(void *data, const uint8_t *bytes, size_t len, bool key,
		uint64_t capture_ns, uint64_t pushed_ns, bool refresh);
	void *data;
	struct zl_gst_handoff *handoff;
	GstCaps *seq_caps; /* the meta's reference */
	struct meta {
		uint64_t seq;
		uint64_t capture_ns, pushed_ns;
		bool refresh;
	} meta[META_MAX]; /* the loop's only */
	unsigned meta_next;
};

static const char *codec_name(enum gs_gst_codec c)
{
	return c == GS_GST_H264 ? "h264" : "jpeg";
}

bool gs_gst_enc_available(enum gs_gst_codec codec)
{
	const char *need[] = { codec == GS_GST_H264 ? "x264enc" : "jpegenc",
		codec == GS_GST_H264 ? "rtph264pay" : "rtpjpegpay", "videoconvert", "appsrc",
		"appsink", "tee", NULL };
	char who[32];
	snprintf(who, sizeof(who), "codec=%s", codec_name(codec));
	return zl_gst_require(who, need, codec == GS_GST_H264 ? "gstreamer1.0-plugins-ugly, "
		"gstreamer1.0-plugins-good" : "gstreamer1.0-plugins-good, gstreamer1.0-plugins-base");
}

/* One RTP packet from the payloader: out on our socket, now (GStreamer's
 * streaming thread; the socket is ours alone there). */
static GstFlowReturn on_rtp(GstAppSink *appsink, gpointer data)
{
	struct gs_gst_enc *s = data;
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

static const struct meta *find_meta(const struct gs_gst_enc *s, GstBuffer *buf)
{
	GstReferenceTimestampMeta *rm = gst_buffer_get_reference_timestamp_meta(buf, s->seq_caps);
	for (unsigned i = 0; rm && i < META_MAX; i++) {
		if (s->meta[i].seq == rm->timestamp && rm->timestamp != 0) {
			return &s->meta[i];
		}
	}
	return NULL;
}

/* One encoded frame, on the loop. */
static void on_encoded_sample(void *data, GstSample *sample)
{
	struct gs_gst_enc *s = data;
	GstBuffer *buf = gst_sample_get_buffer(sample);
	GstMapInfo map;
	s->frames_out++;
	if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
		const struct meta *m = find_meta(s, buf);
		bool key = s->codec == GS_GST_JPEG ||
			!GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
		zl_dbg("enc", "zone %s: pts %llu key %d meta %d size %zu", s->zone,
			(unsigned long long)GST_BUFFER_PTS(buf), key, m != NULL, map.size);
		s->encoded(s->data, map.data, map.size, key, m ? m->capture_ns : zl_now_ns(),
			m ? m->pushed_ns : 0, m ? m->refresh : true);
		gst_buffer_unmap(buf, &map);
	}
	gst_sample_unref(sample);
}

static void on_pipeline_error(void *data, bool fatal, const char *message)
{
	struct gs_gst_enc *s = data;
	zl_log(fatal ? ZL_ERROR : ZL_WARN, "zone %s: codec=%s: %s", s->zone, codec_name(s->codec),
		message);
}

static void push(struct gs_gst_enc *s, GstBuffer *buf, uint64_t capture_ns, bool key,
	bool refresh)
{
	/* Timestamps from the flush (the RTP timestamp follows the guest),
	 * strictly increasing (the encoder insists). */
	GstClockTime pts = capture_ns > s->t0_ns ? capture_ns - s->t0_ns : 0;
	if (s->frames && pts <= s->last_pts) {
		pts = s->last_pts + 1000;
	}
	s->last_pts = pts;
	s->frames++;
	/* The buffer may be s->last again (an idle refresh): one meta each. */
	GstReferenceTimestampMeta *rm = gst_buffer_get_reference_timestamp_meta(buf, s->seq_caps);
	if (rm) {
		gst_buffer_remove_meta(buf, &rm->parent);
	}
	gst_buffer_add_reference_timestamp_meta(buf, s->seq_caps, s->frames, GST_CLOCK_TIME_NONE);
	GST_BUFFER_PTS(buf) = pts;
	GST_BUFFER_DURATION(buf) = GST_CLOCK_TIME_NONE;
	zl_dbg("enc", "zone %s: push pts %llu key %d refresh %d", s->zone, (unsigned long long)pts,
		key, refresh);
	s->meta[s->meta_next] = (struct meta){ s->frames, capture_ns, zl_now_ns(), refresh };
	s->meta_next = (s->meta_next + 1) % META_MAX;
	if (key && s->enc_src) {
		/* GstVideoEncoder applies it to the next frame it encodes. */
		gst_pad_send_event(s->enc_src,
			gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
	}
	gst_app_src_push_buffer(s->src, gst_buffer_ref(buf));
	if (s->refresh_timer) {
		zl_source_timer_arm(s->refresh_timer, REFRESH_NS, 0);
	}
}

static void on_refresh(void *data)
{
	struct gs_gst_enc *s = data;
	if (s->last) {
		GstBuffer *copy = gst_buffer_copy(s->last);
		push(s, copy, zl_now_ns(), false, true);
		gst_buffer_unref(copy);
	}
}

/* jpeg has no bitrate of its own: after each frame, the quality moves so
 * the next fits the budget (down at once in proportion, up slowly). */
static GstPadProbeReturn on_jpeg_frame(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	(void)pad;
	struct gs_gst_enc *s = data;
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	size_t size = buf ? gst_buffer_get_size(buf) : 0;
	int q = s->quality;
	if (size > s->frame_budget) {
		int cut = (int)((double)q * (double)(size - s->frame_budget) / (double)size) + 1;
		q -= cut > 20 ? 20 : cut;
	} else if (size < s->frame_budget * 7 / 10) {
		q += 2;
	}
	q = q < JPEG_QUALITY_MIN ? JPEG_QUALITY_MIN : q > JPEG_QUALITY ? JPEG_QUALITY : q;
	if (q != s->quality) {
		s->quality = q;
		g_object_set(s->jpegenc, "quality", q, NULL);
	}
	return GST_PAD_PROBE_OK;
}

static GstAppSink *get_sink(struct gs_gst_enc *s, const char *name)
{
	return GST_APP_SINK(gst_bin_get_by_name(GST_BIN(s->pipeline), name));
}

struct gs_gst_enc *gs_gst_enc_create(struct zl_loop *loop, const struct gs_gst_enc_config *cfg)
{
	if (!gs_gst_enc_available(cfg->codec)) {
		return NULL;
	}
	struct gs_gst_enc *s = calloc(1, sizeof(*s));
	if (!s) {
		return NULL;
	}
	snprintf(s->zone, sizeof(s->zone), "%s", cfg->zone);
	s->codec = cfg->codec;
	s->width = cfg->width;
	s->height = cfg->height;
	s->t0_ns = zl_now_ns();
	s->fd = -1;
	s->encoded = cfg->encoded;
	s->data = cfg->data;
	s->seq_caps = gst_caps_new_empty_simple("timestamp/x-zonal-frame");
	unsigned hz = cfg->refresh_hz ? cfg->refresh_hz : 60;
	char enc[512], rtp[256] = "", au[128] = "";
	if (cfg->codec == GS_GST_H264) {
		/* Low latency: no lookahead, no B-frames; an IDR every second
		 * (receivers without feedback) and on request. Not x264's
		 * intra-refresh: its waves cannot be forced to a frame that
		 * decodes alone, which a receiver that lost one needs. */
		snprintf(enc, sizeof(enc),
			"x264enc name=enc tune=zerolatency speed-preset=ultrafast bframes=0 "
			"key-int-max=%u bitrate=%u vbv-buf-capacity=200 ! "
			"video/x-h264,profile=constrained-baseline,stream-format=byte-stream,"
			"alignment=au", hz, cfg->max_kbps ? cfg->max_kbps : 8000);
	} else {
		snprintf(enc, sizeof(enc), "jpegenc name=enc quality=%d", JPEG_QUALITY);
	}
	if (cfg->sink) {
		s->txtime = cfg->sink->txtime;
		s->fd = gs_sink_socket(cfg->sink, &s->to, &s->to_len);
		if (s->fd < 0) {
			goto err;
		}
		unsigned mtu = cfg->sink->mtu - (s->to.ss_family == AF_INET6 ? IP6_UDP : IP4_UDP);
		snprintf(rtp, sizeof(rtp), " t. ! %s mtu=%u ! appsink name=rtp sync=false async=false "
			"emit-signals=false", cfg->codec == GS_GST_H264 ?
			"rtph264pay pt=96 config-interval=-1 aggregate-mode=zero-latency" :
			"rtpjpegpay pt=26", mtu);
	}
	if (cfg->encoded) {
		snprintf(au, sizeof(au), " t. ! appsink name=au sync=false async=false emit-signals=false");
	}
	/* The branches share the encoder's thread (no queues: no hop), so the
	 * sinks must not wait for each other to preroll: async=false. */
	char desc[1536];
	snprintf(desc, sizeof(desc),
		"appsrc name=src is-live=true format=time do-timestamp=false max-buffers=2 "
		"leaky-type=downstream caps=video/x-raw,format=BGRx,width=%u,height=%u,"
		"framerate=%u/1 ! videoconvert ! video/x-raw,format=I420 ! %s ! tee name=t%s%s",
		s->width, s->height, cfg->codec == GS_GST_H264 ? hz : 0, enc, rtp, au);
	GError *err = NULL;
	s->pipeline = gst_parse_launch(desc, &err);
	if (!s->pipeline || err) {
		zl_err("zone %s: codec=%s: %s", cfg->zone, codec_name(cfg->codec),
			err ? err->message : "no pipeline");
		g_clear_error(&err);
		goto err;
	}
	s->src = GST_APP_SRC(gst_bin_get_by_name(GST_BIN(s->pipeline), "src"));
	GstElement *e = gst_bin_get_by_name(GST_BIN(s->pipeline), "enc");
	s->enc_src = gst_element_get_static_pad(e, "src");
	if (cfg->codec == GS_GST_JPEG && cfg->max_kbps) {
		s->jpegenc = gst_object_ref(e);
		s->quality = JPEG_QUALITY;
		s->frame_budget = (size_t)cfg->max_kbps * 1000 / 8 / hz;
		gst_pad_add_probe(s->enc_src, GST_PAD_PROBE_TYPE_BUFFER, on_jpeg_frame, s, NULL);
	}
	gst_object_unref(e);
	if (cfg->sink) {
		GstAppSink *sink = get_sink(s, "rtp");
		GstAppSinkCallbacks cb = { .new_sample = on_rtp };
		gst_app_sink_set_callbacks(sink, &cb, s, NULL);
		gst_object_unref(sink);
		s->refresh_timer = zl_loop_add_timer(loop, on_refresh, s);
		if (!s->refresh_timer) {
			goto err;
		}
	}
	static const struct zl_gst_handoff_listener hl = {
		.sample = on_encoded_sample,
		.error = on_pipeline_error,
	};
	GstAppSink *au_sink = cfg->encoded ? get_sink(s, "au") : NULL;
	/* Without the control's output, only the bus goes through it. */
	s->handoff = zl_gst_handoff_create(loop, s->pipeline, au_sink, OUT_MAX, &hl, s);
	if (au_sink) {
		gst_object_unref(au_sink);
	}
	if (!s->handoff) {
		goto err;
	}
	if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
		zl_err("zone %s: codec=%s: the pipeline does not start", cfg->zone,
			codec_name(cfg->codec));
		goto err;
	}
	if (cfg->sink) {
		char a[XPORT_NET_ADDR_STRLEN];
		zl_info("zone %s: sink: %s %ux%u to %s", cfg->zone, cfg->codec == GS_GST_H264 ?
			"H.264 (RFC 6184, pt 96)" : "JPEG (RFC 2435, pt 26)", s->width, s->height,
			xport_net_addr_str((struct sockaddr *)&s->to, a, sizeof(a)));
	}
	return s;

err:
	gs_gst_enc_destroy(s);
	return NULL;
}

void gs_gst_enc_destroy(struct gs_gst_enc *s)
{
	if (!s) {
		return;
	}
	if (s->pipeline) {
		/* Stops the streaming threads: nothing is queued after this. */
		gst_element_set_state(s->pipeline, GST_STATE_NULL);
		gst_object_unref(s->pipeline);
	}
	if (s->src) {
		gst_object_unref(s->src);
	}
	if (s->jpegenc) {
		gst_object_unref(s->jpegenc);
	}
	if (s->enc_src) {
		gst_object_unref(s->enc_src);
	}
	if (s->last) {
		gst_buffer_unref(s->last);
	}
	if (s->seq_caps) {
		gst_caps_unref(s->seq_caps);
	}
	zl_gst_handoff_destroy(s->handoff);
	zl_source_remove(s->refresh_timer);
	if (s->fd >= 0) {
		close(s->fd);
	}
	free(s);
}

void gs_gst_enc_frame(struct gs_gst_enc *s, pixman_image_t *image, uint64_t capture_ns,
	bool key, bool refresh)
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
	push(s, buf, capture_ns, key, refresh);
	if (s->last) {
		gst_buffer_unref(s->last);
	}
	s->last = buf;
}

void gs_gst_enc_get_stats(const struct gs_gst_enc *s, uint64_t *frames_in, uint64_t *frames_out)
{
	*frames_in = s->frames;
	*frames_out = s->frames_out;
}
