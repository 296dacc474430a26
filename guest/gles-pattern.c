/* SPDX-License-Identifier: MIT */
/*
 * gles-pattern: the GL guest app. The same picture as guest/pattern.c (8
 * vertical bars, white, yellow, cyan, green, magenta, red, blue, black; bar i
 * covers x in [i*W/8, (i+1)*W/8)), drawn through Mesa: GBM + EGL on the DRM
 * card, GLES2 scissored clears for the bars, and a rotating lit cube drawn
 * with the scissor set to the black bar, so no other bar is ever touched.
 * Frames reach the display by KMS page flips of gbm_surface buffers, with
 * flip events, paced to the mode's refresh. The scene itself is gles-scene.c,
 * which the host reference renderer (tests/reference/render-scene) shares.
 *
 * With a 3D-capable virtio-gpu Mesa uses virgl; on a 2D-only device it falls
 * back to kms_swrast (llvmpipe into dumb buffers). tools/check-pattern
 * --black-bar-any checks the result. The first (connected, preferred-mode)
 * connector is used.
 */
#include <GLES2/gl2.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gles-scene.h"
#include "kms-gl.h"

#define NSEC_PER_SEC 1000000000ull

struct gp_app {
	const char *device;
	uint64_t max_frames; /* 0: forever */
	unsigned stats_secs;
	uint64_t still; /* frame number + 1 to draw every time; 0: animate */
	struct kgl kgl;
	struct gles_scene scene;
	uint64_t flips_at_report, late;
};

static int gp_run(struct gp_app *app)
{
	struct kgl *k = &app->kgl;
	struct kgl_output *o = &k->out[0];
	uint64_t period = kgl_mode_period_ns(&o->mode);
	uint64_t deadline = 0, last_stats = 0, frame = 0;
	int ret;

	for (;;) {
		gles_scene_draw(&app->scene, o->mode.hdisplay, o->mode.vdisplay,
			app->still ? app->still - 1 : frame);
		ret = kgl_present(k, 0);
		if (ret == 0) {
			ret = kgl_wait_flips(k);
		}
		if (ret < 0) {
			return ret;
		}
		if (frame == 0) {
			deadline = kgl_now_ns() + period;
			last_stats = kgl_now_ns();
		}
		frame++;
		if (app->max_frames && o->flips >= app->max_frames) {
			kgl_msg(k, "done: %" PRIu64 " frames", o->flips);
			return 0;
		}

		uint64_t now = kgl_now_ns();

		if (app->stats_secs && now - last_stats >= app->stats_secs * NSEC_PER_SEC) {
			kgl_msg(k, "%s: %" PRIu64 " flips, %.1f fps, %" PRIu64 " late", o->name, o->flips,
				(double)(o->flips - app->flips_at_report) * 1e9 / (double)(now - last_stats),
				app->late);
			app->flips_at_report = o->flips;
			last_stats = now;
		}
		if (deadline > now) {
			kgl_sleep_until(deadline);
			deadline += period;
		} else {
			/* Rendering took longer than a period: resynchronise, don't burst. */
			if (now - deadline > period) {
				app->late++;
			}
			deadline = now + period;
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gles-pattern [-d DEVICE] [-f FRAME] [-n FRAMES] [-s SECS]\n"
		"  -d DEVICE  DRM card (default /dev/dri/card0)\n"
		"  -f FRAME   draw frame FRAME of the scene every time (a still, for\n"
		"             reference images; default: animate)\n"
		"  -n FRAMES  exit after FRAMES page flips (default: run forever)\n"
		"  -s SECS    print flip statistics every SECS seconds (default 10, 0: never)\n");
}

int main(int argc, char **argv)
{
	struct gp_app app = { .device = "/dev/dri/card0", .stats_secs = 10 };
	int opt, ret = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "d:f:n:s:h")) != -1) {
		switch (opt) {
		case 'd':
			app.device = optarg;
			break;
		case 'f':
			app.still = strtoull(optarg, NULL, 0) + 1;
			break;
		case 'n':
			app.max_frames = strtoull(optarg, NULL, 0);
			break;
		case 's':
			app.stats_secs = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	if (kgl_open(&app.kgl, "gles-pattern", app.device, 1, 1) == 0 &&
		gles_scene_init(&app.scene) == 0) {
		kgl_msg(&app.kgl, "GL_RENDERER: %s", (const char *)glGetString(GL_RENDERER));
		kgl_msg(&app.kgl, "GL_VERSION: %s", (const char *)glGetString(GL_VERSION));
		ret = gp_run(&app) < 0 ? 1 : 0;
		gles_scene_finish(&app.scene);
	}
	kgl_close(&app.kgl);
	return ret;
}
