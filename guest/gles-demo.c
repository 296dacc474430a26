/* SPDX-License-Identifier: MIT */
/*
 * gles-demo: the guest apps of `make demo`, drawn with GLES2 through Mesa
 * (virgl on gpu-server's shared GPU) and put on screen by KMS page flips:
 *
 *   gles-demo cluster   an instrument cluster on the first output
 *   gles-demo ivi       infotainment: a media panel on the first output and
 *                       a moving picture for the rear seat on the second
 *
 * Motion follows the clock, so it keeps its speed whatever the frame rate
 * the guest reaches. Frames are paced to the fastest output's refresh; each
 * frame draws and flips every output, then waits for all flip events.
 * Console lines as gles-pattern's ("gles-demo: NAME: connector ... mode ...",
 * "gles-demo: NAME: N flips, F fps, L late" every -s SECS).
 */
#include <GLES2/gl2.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo-scenes.h"
#include "kms-gl.h"

#define NSEC_PER_SEC 1000000000ull

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gles-demo [-d DEVICE] [-n FRAMES] [-s SECS] cluster|ivi\n"
		"  cluster    instrument cluster on the first output\n"
		"  ivi        media panel on the first output, rear-seat movie on the second\n"
		"  -d DEVICE  DRM card (default /dev/dri/card0)\n"
		"  -n FRAMES  exit after FRAMES frames (default: run forever)\n"
		"  -s SECS    print flip statistics every SECS seconds (default 10, 0: never)\n");
}

int main(int argc, char **argv)
{
	const char *device = "/dev/dri/card0";
	uint64_t max_frames = 0, frame = 0, late = 0, at_report[KGL_MAX_OUTPUTS] = { 0 };
	unsigned stats_secs = 10, outputs;
	enum demo_scene scenes[2];
	struct demo_gl gl = { 0 };
	struct kgl k;
	int opt, ret = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "d:n:s:h")) != -1) {
		switch (opt) {
		case 'd':
			device = optarg;
			break;
		case 'n':
			max_frames = strtoull(optarg, NULL, 0);
			break;
		case 's':
			stats_secs = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[optind], "cluster") == 0) {
		scenes[0] = DEMO_CLUSTER;
		outputs = 1;
	} else if (strcmp(argv[optind], "ivi") == 0) {
		scenes[0] = DEMO_MEDIA;
		scenes[1] = DEMO_MOVIE;
		outputs = 2;
	} else {
		usage(stderr);
		return 2;
	}

	if (kgl_open(&k, "gles-demo", device, outputs, outputs) < 0 || demo_gl_init(&gl) < 0) {
		goto out;
	}
	kgl_msg(&k, "GL_RENDERER: %s", (const char *)glGetString(GL_RENDERER));
	kgl_msg(&k, "GL_VERSION: %s", (const char *)glGetString(GL_VERSION));

	uint64_t period = NSEC_PER_SEC, start = kgl_now_ns(), last_stats = start, deadline = start;

	for (unsigned i = 0; i < outputs; i++) {
		uint64_t p = kgl_mode_period_ns(&k.out[i].mode);

		period = p < period ? p : period;
	}
	for (;;) {
		double t = (double)(kgl_now_ns() - start) / 1e9;

		for (unsigned i = 0; i < outputs; i++) {
			if (kgl_make_current(&k, i) < 0) {
				goto out;
			}
			demo_draw(&gl, scenes[i], k.out[i].mode.hdisplay, k.out[i].mode.vdisplay, t);
			if (kgl_present(&k, i) < 0) {
				goto out;
			}
		}
		if (kgl_wait_flips(&k) < 0) {
			goto out;
		}
		frame++;
		if (max_frames && frame >= max_frames) {
			kgl_msg(&k, "done: %" PRIu64 " frames", frame);
			ret = 0;
			goto out;
		}

		uint64_t now = kgl_now_ns();

		if (stats_secs && now - last_stats >= stats_secs * NSEC_PER_SEC) {
			for (unsigned i = 0; i < outputs; i++) {
				kgl_msg(&k, "%s: %" PRIu64 " flips, %.1f fps, %" PRIu64 " late", k.out[i].name,
					k.out[i].flips,
					(double)(k.out[i].flips - at_report[i]) * 1e9 / (double)(now - last_stats),
					late);
				at_report[i] = k.out[i].flips;
			}
			last_stats = now;
		}
		deadline += period;
		if (deadline > now) {
			kgl_sleep_until(deadline);
		} else {
			/* Drawing took longer than a period: resynchronise, don't burst. */
			if (now - deadline > period) {
				late++;
			}
			deadline = now;
		}
	}
out:
	if (gl.v) {
		demo_gl_finish(&gl);
	}
	kgl_close(&k);
	return ret;
}
