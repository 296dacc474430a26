/* SPDX-License-Identifier: MIT */
/* The lossy codecs as gpu-server runs them (gpu-server/gst-enc.c: x264enc
 * zerolatency/ultrafast/no B-frames/an IDR a second, jpegenc q85) at
 * 1920x1080: bytes per frame, encode and decode ms per frame, for a small
 * damage (a 16x16 square moving over a dashboard-like picture) and full
 * frames (two different pictures alternating). Encode: from pushing the
 * BGRx frame to pulling its encoded buffer; decode: from pushing that to
 * pulling the decoded frame (avdec_h264, jpegdec). One frame in flight at a
 * time, so the times are per-frame latencies, not throughput.
 * Prints a table and "codec-result:" JSON lines for tests/bench/run.
 *
 * --peer-mjpeg W H FPS FRAMES: the peer system "gst-mjpeg", the pipeline a
 * weston-remoting-style setup runs (appsrc ! jpegenc ! rtpjpegpay ! udpsink
 * / udpsrc ! rtpjpegdepay ! jpegdec ! appsink) over loopback, frames pushed
 * at FPS: per workload (small-damage, full-frame) latency push -> decoded
 * p50/p99, RTP bytes per frame, CPU ms per frame of both ends (this
 * process); idle costs nothing (nothing is pushed). "peer-result:" lines.
 * Usage: bench-gst-codecs [FRAMES] | --peer-mjpeg W H FPS FRAMES */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "util/clock.h"

static unsigned W = 1920, H = 1080;

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
		"caps=video/x-raw,format=BGRx,width=%u,height=%u,framerate=60/1 ! videoconvert ! "
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

static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static GstPadProbeReturn count_bytes(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	(void)pad;
	uint64_t *n = data;
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
		/* rtpjpegpay pushes a frame's packets as one list. */
		GstBufferList *l = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
		for (guint i = 0; i < gst_buffer_list_length(l); i++) {
			*n += gst_buffer_get_size(gst_buffer_list_get(l, i));
		}
	} else {
		*n += gst_buffer_get_size(GST_PAD_PROBE_INFO_BUFFER(info));
	}
	return GST_PAD_PROBE_OK;
}

static int free_udp_port(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		getsockname(fd, (struct sockaddr *)&a, &l) < 0) {
		exit(77);
	}
	close(fd);
	return ntohs(a.sin_port);
}

/* Frame k of tests/impair/zone-source.py (what our systems get in
 * tests/bench/codec-latency.sh): a gradient (x*255/W, y*255/H, 0x40) with a
 * 32x32 block at x = 4k mod (W-32) in a colour of k; full: the gradient also
 * scrolls by 61k pixels. bgrx holds the gradient (bg) on entry. */
static void zone_source_frame(uint8_t *out, const uint8_t *bg, unsigned k, bool full)
{
	size_t size = (size_t)W * H * 4;
	if (full) {
		size_t o = ((size_t)k * 4 * 61) % size;
		memcpy(out, bg + o, size - o);
		memcpy(out + size - o, bg, o);
		return;
	}
	memcpy(out, bg, size);
	unsigned bx = (4 * k) % (W - 32);
	uint8_t px[4] = { (uint8_t)k, (uint8_t)(k * 91), (uint8_t)(k * 37), 0xff };
	for (unsigned y = 0; y < 32 && y < H; y++) {
		for (unsigned x = 0; x < 32; x++) {
			memcpy(out + ((size_t)y * W + bx + x) * 4, px, 4);
		}
	}
}

static void zone_source_background(uint8_t *bg)
{
	for (unsigned y = 0; y < H; y++) {
		for (unsigned x = 0; x < W; x++) {
			uint8_t *p = bg + ((size_t)y * W + x) * 4;
			p[0] = 0x40;
			p[1] = (uint8_t)(y * 255 / H);
			p[2] = (uint8_t)(x * 255 / W);
			p[3] = 0xff;
		}
	}
}

/* The gst-mjpeg peer, end to end over loopback. */
static int peer_mjpeg(unsigned fps, unsigned frames)
{
	int port = free_udp_port();
	char d1[1024], d2[1024];
	snprintf(d1, sizeof(d1), "appsrc name=src is-live=true format=time "
		"caps=video/x-raw,format=BGRx,width=%u,height=%u,framerate=%u/1 ! videoconvert ! "
		"video/x-raw,format=I420 ! jpegenc quality=85 ! rtpjpegpay name=pay pt=26 mtu=1400 ! "
		"udpsink host=127.0.0.1 port=%d sync=false async=false", W, H, fps, port);
	snprintf(d2, sizeof(d2), "udpsrc port=%d buffer-size=8000000 caps=\"application/x-rtp,"
		"media=video,clock-rate=90000,encoding-name=JPEG,payload=26\" ! rtpjpegdepay ! "
		"jpegdec ! videoconvert ! video/x-raw,format=BGRx ! appsink name=sink sync=false",
		port);
	GError *err = NULL;
	GstElement *rp = gst_parse_launch(d2, &err);
	GstElement *sp = err ? NULL : gst_parse_launch(d1, &err);
	if (!rp || !sp || err) {
		fprintf(stderr, "gst-mjpeg: %s\n", err ? err->message : "no pipeline");
		return 77;
	}
	GstAppSrc *src = GST_APP_SRC(gst_bin_get_by_name(GST_BIN(sp), "src"));
	GstAppSink *sink = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(rp), "sink"));
	GstElement *pay = gst_bin_get_by_name(GST_BIN(sp), "pay");
	GstPad *pp = gst_element_get_static_pad(pay, "src");
	uint64_t bytes = 0;
	gst_pad_add_probe(pp, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, count_bytes,
		&bytes, NULL);
	gst_element_set_state(rp, GST_STATE_PLAYING);
	gst_element_set_state(sp, GST_STATE_PLAYING);
	gst_element_get_state(rp, NULL, NULL, 5 * GST_SECOND);
	size_t size = (size_t)W * H * 4;
	uint8_t *bg = malloc(size), *cur = malloc(size);
	double *lat = calloc(frames, sizeof(double));
	zone_source_background(bg);
	printf("gst-mjpeg (appsrc ! jpegenc ! rtpjpegpay ! udpsink / udpsrc ! rtpjpegdepay ! "
		"jpegdec ! appsink) at %ux%u@%u, loopback, zone-source.py's frames:\n", W, H, fps);
	for (int full = 0; full < 2; full++) {
		uint64_t period = 1000000000ull / fps, next = zl_now_ns();
		unsigned n = 0;
		uint64_t bytes0 = 0;
		double cpu0 = 0;
		for (unsigned k = 1; k <= frames + 5; k++) {
			zone_source_frame(cur, bg, k, full);
			if (k == 6) { /* past the start-up */
				bytes0 = bytes;
				cpu0 = cpu_ms();
			}
			GstBuffer *b = gst_buffer_new_memdup(cur, size);
			GST_BUFFER_PTS(b) = (GstClockTime)k * GST_SECOND / fps;
			uint64_t t0 = zl_now_ns();
			gst_app_src_push_buffer(src, b);
			GstSample *smp = gst_app_sink_try_pull_sample(sink, GST_SECOND);
			uint64_t t1 = zl_now_ns();
			if (smp) {
				gst_sample_unref(smp);
				if (k > 5) {
					lat[n++] = (double)(t1 - t0) / 1e6;
				}
			}
			next += period;
			uint64_t now = zl_now_ns();
			if (next > now) {
				struct timespec ts = { 0, (long)(next - now) };
				nanosleep(&ts, NULL);
			}
		}
		double cpu = cpu_ms() - cpu0;
		qsort(lat, n, sizeof(lat[0]), cmp_double);
		double p50 = n ? lat[(n - 1) / 2] : 0, p99 = n ? lat[(size_t)((n - 1) * 0.99)] : 0;
		const char *load = full ? "full-frame" : "small-damage";
		double bpf = frames ? (double)(bytes - bytes0) / frames : 0;
		printf("  %-13s p50 %7.2f ms  p99 %7.2f ms  %9.0f B/frame  cpu %6.2f ms/frame  "
			"shown %u/%u\n", load, p50, p99, bpf, cpu / frames, n, frames);
		printf("peer-result: {\"system\": \"gst-mjpeg\", \"workload\": \"%s\", "
			"\"width\": %u, \"height\": %u, \"latency_p50_ms\": %.3f, "
			"\"latency_p99_ms\": %.3f, \"bytes_per_frame\": %.0f, "
			"\"cpu_ms_per_frame\": %.3f, \"frames_presented\": %u, \"frames_sent\": %u}\n",
			load, W, H, p50, p99, bpf, cpu / frames, n, frames);
	}
	/* Idle: nothing changes, nothing is pushed: no bytes, no work. */
	printf("peer-result: {\"system\": \"gst-mjpeg\", \"workload\": \"idle\", "
		"\"width\": %u, \"height\": %u, \"latency_p50_ms\": null, "
		"\"latency_p99_ms\": null, \"bytes_per_frame\": 0, \"cpu_ms_per_frame\": 0}\n",
		W, H);
	gst_element_set_state(sp, GST_STATE_NULL);
	gst_element_set_state(rp, GST_STATE_NULL);
	gst_object_unref(pp);
	gst_object_unref(pay);
	gst_object_unref(src);
	gst_object_unref(sink);
	gst_object_unref(sp);
	gst_object_unref(rp);
	free(bg);
	free(cur);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	if (argc == 6 && strcmp(argv[1], "--peer-mjpeg") == 0) {
		W = (unsigned)atoi(argv[2]);
		H = (unsigned)atoi(argv[3]);
		unsigned fps = (unsigned)atoi(argv[4]), frames = (unsigned)atoi(argv[5]);
		if (W < 32 || H < 32 || W > 7680 || H > 4320 || fps < 1 || fps > 240 || frames < 1) {
			fprintf(stderr, "usage: bench-gst-codecs --peer-mjpeg W H FPS FRAMES\n");
			return 2;
		}
		return peer_mjpeg(fps, frames);
	}
	unsigned frames = argc > 1 ? (unsigned)atoi(argv[1]) : 60;
	static const struct {
		const char *name, *enc, *dec, *caps;
	} codecs[] = {
		{ "h264", "x264enc tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max=60 "
			"bitrate=8000 ! video/x-h264,profile=constrained-baseline,"
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
