/* SPDX-License-Identifier: MIT */
/* The lossy codecs as gpu-server runs them (gpu-server/gst-sink.c: x264enc
 * zerolatency/ultrafast/no B-frames/intra refresh, jpegenc q85) at
 * 1920x1080: bytes per frame, encode and decode ms per frame, for a small
 * damage (a 16x16 square moving over a dashboard-like picture) and full
 * frames (two different pictures alternating). Encode: from pushing the
 * BGRx frame to pulling its encoded buffer; decode: from pushing that to
 * pulling the decoded frame (avdec_h264, jpegdec). One frame in flight at a
 * time, so the times are per-frame latencies, not throughput.
 * Prints a table and "codec-result:" JSON lines for tests/bench/run.
 * Usage: bench-gst-codecs [FRAMES] */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "util/clock.h"

#define W 1920
#define H 1080

static void paint(uint8_t *bgrx, unsigned phase)
{
	for (unsigned y = 0; y < H; y++) {
		for (unsigned x = 0; x < W; x++) {
			uint8_t *p = bgrx + ((size_t)y * W + x) * 4;
			bool map = x > 1200 && y > 200 && y < 900;
			uint32_t n = (x * 7919u + y * 104729u + phase * 31u) * 2654435761u;
			p[0] = (uint8_t)(map ? n >> 24 : (x + phase * 8) & 0xff);
			p[1] = (uint8_t)(map ? n >> 16 : (y + phase * 8) & 0xff);
			p[2] = (uint8_t)(map ? n >> 8 : 0x40);
			p[3] = 0xff;
		}
	}
}

static void square(uint8_t *bgrx, const uint8_t *bg, unsigned k)
{
	unsigned ox = (k * 3u) % (W - 16), oy = (k * 2u) % (H - 16);
	unsigned px = ((k - 1) * 3u) % (W - 16), py = ((k - 1) * 2u) % (H - 16);
	for (unsigned y = 0; y < 16; y++) {
		memcpy(bgrx + ((size_t)(py + y) * W + px) * 4, bg + ((size_t)(py + y) * W + px) * 4, 64);
		memset(bgrx + ((size_t)(oy + y) * W + ox) * 4, 0xff, 64);
	}
}

struct result {
	double bytes, enc_ms, dec_ms;
};

static GstElement *pipeline(const char *desc, GstAppSrc **src, GstAppSink **sink)
{
	GError *err = NULL;
	GstElement *p = gst_parse_launch(desc, &err);
	if (!p || err) {
		fprintf(stderr, "pipeline: %s\n", err ? err->message : "?");
		exit(77);
	}
	*src = GST_APP_SRC(gst_bin_get_by_name(GST_BIN(p), "src"));
	*sink = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(p), "sink"));
	gst_element_set_state(p, GST_STATE_PLAYING);
	return p;
}

static struct result run(const char *enc, const char *dec, const char *enc_caps, bool full,
	unsigned frames)
{
	char d1[1024], d2[1024];
	snprintf(d1, sizeof(d1), "appsrc name=src is-live=true format=time "
		"caps=video/x-raw,format=BGRx,width=%d,height=%d,framerate=60/1 ! videoconvert ! "
		"video/x-raw,format=I420 ! %s ! appsink name=sink sync=false", W, H, enc);
	snprintf(d2, sizeof(d2), "appsrc name=src is-live=true format=time caps=%s ! %s ! "
		"appsink name=sink sync=false", enc_caps, dec);
	GstAppSrc *es, *ds;
	GstAppSink *ek, *dk;
	GstElement *ep = pipeline(d1, &es, &ek), *dp = pipeline(d2, &ds, &dk);
	size_t size = (size_t)W * H * 4;
	uint8_t *bg = malloc(size), *alt = malloc(size), *cur = malloc(size);
	paint(bg, 0);
	paint(alt, 1);
	memcpy(cur, bg, size);
	struct result r = { 0 };
	unsigned counted = 0;
	for (unsigned k = 1; k <= frames + 5; k++) {
		if (full) {
			memcpy(cur, (k & 1) ? alt : bg, size);
		} else {
			square(cur, bg, k);
		}
		GstBuffer *b = gst_buffer_new_memdup(cur, size);
		GST_BUFFER_PTS(b) = (GstClockTime)k * GST_SECOND / 60;
		uint64_t t0 = zl_now_ns();
		gst_app_src_push_buffer(es, b);
		GstSample *s = gst_app_sink_pull_sample(ek);
		uint64_t t1 = zl_now_ns();
		if (!s) {
			break;
		}
		GstBuffer *eb = gst_sample_get_buffer(s);
		size_t n = gst_buffer_get_size(eb);
		gst_app_src_push_buffer(ds, gst_buffer_ref(eb));
		gst_sample_unref(s);
		GstSample *o = gst_app_sink_pull_sample(dk);
		uint64_t t2 = zl_now_ns();
		if (o) {
			gst_sample_unref(o);
		}
		if (k > 5) { /* past the encoder's start-up */
			r.bytes += (double)n;
			r.enc_ms += (double)(t1 - t0) / 1e6;
			r.dec_ms += (double)(t2 - t1) / 1e6;
			counted++;
		}
	}
	gst_element_set_state(ep, GST_STATE_NULL);
	gst_element_set_state(dp, GST_STATE_NULL);
	gst_object_unref(es);
	gst_object_unref(ek);
	gst_object_unref(ds);
	gst_object_unref(dk);
	gst_object_unref(ep);
	gst_object_unref(dp);
	free(bg);
	free(alt);
	free(cur);
	if (counted) {
		r.bytes /= counted;
		r.enc_ms /= counted;
		r.dec_ms /= counted;
	}
	return r;
}

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	unsigned frames = argc > 1 ? (unsigned)atoi(argv[1]) : 60;
	static const struct {
		const char *name, *enc, *dec, *caps;
	} codecs[] = {
		{ "h264", "x264enc tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max=60 "
			"intra-refresh=true bitrate=8000 ! video/x-h264,profile=constrained-baseline,"
			"stream-format=byte-stream,alignment=au", "avdec_h264",
			"video/x-h264,stream-format=byte-stream,alignment=au" },
		{ "jpeg", "jpegenc quality=85", "jpegdec", "image/jpeg,framerate=60/1" },
	};
	printf("lossy codecs at %dx%d (GStreamer, one frame in flight):\n", W, H);
	printf("  %-13s %-6s %12s %10s %10s\n", "workload", "codec", "bytes/frame", "encode ms",
		"decode ms");
	for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
		if (!gst_element_factory_find(c == 0 ? "x264enc" : "jpegenc")) {
			printf("  %s: not installed\n", codecs[c].name);
			continue;
		}
		for (int full = 0; full < 2; full++) {
			const char *load = full ? "full-frame" : "small-damage";
			struct result r = run(codecs[c].enc, codecs[c].dec, codecs[c].caps, full, frames);
			printf("  %-13s %-6s %12.0f %10.3f %10.3f\n", load, codecs[c].name, r.bytes,
				r.enc_ms, r.dec_ms);
			printf("codec-result: {\"system\": \"virtio-zonal-%s\", \"workload\": "
				"\"codec-%s-1920x1080\", \"bytes_per_frame\": %.0f, \"encode_ms\": %.3f, "
				"\"decode_ms\": %.3f}\n", codecs[c].name, load, r.bytes, r.enc_ms, r.dec_ms);
		}
	}
	return 0;
}
