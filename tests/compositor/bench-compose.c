/* SPDX-License-Identifier: MIT */
/* Micro-benchmark of the 2D compositor: milliseconds per full 1920x1080
 * recompose (1:1 fast path, a swizzled format, bilinear scaling, a two-layer
 * cockpit zone) and per small 64x64 damage or cursor move.
 *
 * usage: bench-compose [--gl] [SCALE]   (SCALE multiplies the iteration
 * counts; --gl: GL zones on EGL surfaceless, readback included) */
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include "compositor/gl-compose.h"
#include "helpers.h"
#include "util/clock.h"
#include "virtio-gpu/egl.h"

static struct vgpu_egl *egl; /* NULL: pixman zones */

static int gl_begin(void *data)
{
	(void)data;
	return vgpu_egl_make_current(egl, vgpu_egl_root(egl));
}

static void gl_end(void *data)
{
	(void)data;
}

static const struct comp_gl_engine engine = { gl_begin, gl_end, NULL };

static struct comp_zone *zone_create(const struct comp_zone_config *c)
{
	return egl ? comp_zone_create_gl(c, &engine) : comp_zone_create(c);
}

static uint32_t flat(uint32_t seed, uint32_t x, uint32_t y)
{
	return (x * 3 + y * 5 + seed) & 0xffffff;
}

static void report(const char *what, uint64_t t0, int n, double pixels_per_op)
{
	double ms = (double)(zl_now_ns() - t0) / 1e6 / n;
	printf("%-44s %9.4f ms/op %9.1f Mpix/s  (%d ops)\n", what, ms,
		pixels_per_op / (ms * 1e3), n);
}

static void drain(struct comp_zone *z, pixman_region32_t *r)
{
	comp_zone_take_damage(z, r, NULL);
}

/* Full-damage updates of a single WxH layer showing a sw x sh scanout. */
static void bench_full(const char *what, pixman_format_code_t f, uint32_t sw, uint32_t sh,
	int n)
{
	struct comp_zone_config c = { .name = "bench", .width = 1920, .height = 1080,
		.n_layers = 1 };
	c.layers[0] = th_layer(0, 0, 0, 0, 1920, 1080);
	struct comp_zone *z = zone_create(&c);
	pixman_image_t *img = th_image(f, (int)sw, (int)sh, flat, 1, 0xff);
	pixman_region32_t r;
	pixman_region32_init(&r);
	th_update_full(z, 0, 0, img, 0, 0, sw, sh, 0);
	drain(z, &r);
	uint64_t t0 = zl_now_ns();
	for (int i = 0; i < n; i++) {
		th_update_full(z, 0, 0, img, 0, 0, sw, sh, (uint64_t)i);
		drain(z, &r);
	}
	report(what, t0, n, 1920.0 * 1080.0);

	/* Small damage at spread-out places. */
	char name[96];
	snprintf(name, sizeof(name), "  64x64 damage (%ux%u scanout)", sw, sh);
	int m = n * 50;
	t0 = zl_now_ns();
	for (int i = 0; i < m; i++) {
		int32_t x = (int32_t)((uint32_t)(i * 337) % (sw - 64));
		int32_t y = (int32_t)((uint32_t)(i * 211) % (sh - 64));
		pixman_box32_t d = { x, y, x + 64, y + 64 };
		th_update(z, 0, 0, img, 0, 0, sw, sh, &d, 1, (uint64_t)i);
		drain(z, &r);
	}
	report(name, t0, m, 64.0 * 64.0 * (1920.0 / sw) * (1080.0 / sh));

	pixman_region32_fini(&r);
	pixman_image_unref(img);
	comp_zone_destroy(z);
}

static void bench_cockpit(int n)
{
	struct comp_zone_config c = { .name = "cockpit", .width = 1920, .height = 720,
		.n_layers = 2 };
	c.layers[0] = th_layer(0, 0, 0, 0, 1280, 720);
	c.layers[1] = th_layer(1, 0, 1280, 0, 640, 720);
	struct comp_zone *z = zone_create(&c);
	pixman_image_t *a = th_image(PIXMAN_x8r8g8b8, 1280, 720, flat, 1, 0xff);
	pixman_image_t *b = th_image(PIXMAN_a8r8g8b8, 640, 720, flat, 2, 0xff);
	pixman_image_t *cur = th_image(PIXMAN_a8r8g8b8, 64, 64, flat, 3, 0x80);
	pixman_region32_t r;
	pixman_region32_init(&r);
	uint64_t t0 = zl_now_ns();
	for (int i = 0; i < n; i++) {
		th_update_full(z, 0, 0, a, 0, 0, 1280, 720, (uint64_t)i);
		th_update_full(z, 1, 0, b, 0, 0, 640, 720, (uint64_t)i);
		drain(z, &r);
	}
	report("cockpit 1920x720, 2 layers 1:1, full", t0, n, 1920.0 * 720.0);

	comp_zone_cursor_update(z, 0, 0, cur, 0, 0, 100, 100);
	int m = n * 50;
	t0 = zl_now_ns();
	for (int i = 0; i < m; i++) {
		comp_zone_cursor_move(z, 0, 0, (uint32_t)(i * 7) % 1200, (uint32_t)(i * 3) % 650);
		drain(z, &r);
	}
	report("  cursor move (1:1)", t0, m, 2 * 64.0 * 64.0);

	pixman_region32_fini(&r);
	pixman_image_unref(a);
	pixman_image_unref(b);
	pixman_image_unref(cur);
	comp_zone_destroy(z);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--gl") == 0) {
		egl = vgpu_egl_create(NULL);
		if (!egl) {
			fprintf(stderr, "no EGL surfaceless\n");
			return 77;
		}
		argc--;
		argv++;
	}
	double scale = argc > 1 ? atof(argv[1]) : 1.0;
	int n = (int)(40 * (scale > 0 ? scale : 1.0));
	n = n < 1 ? 1 : n;
	printf("%s, zone 1920x1080 unless said\n", egl ? "GL zones (EGL surfaceless)" :
		"pixman zones");
	bench_full("full 1920x1080, 1:1 x8r8g8b8 (copy)", PIXMAN_x8r8g8b8, 1920, 1080, n);
	bench_full("full 1920x1080, 1:1 a8b8g8r8 (swizzle)", PIXMAN_a8b8g8r8, 1920, 1080, n);
	bench_full("full 1920x1080, 1280x720 bilinear", PIXMAN_x8r8g8b8, 1280, 720, n);
	bench_full("full 1920x1080, 2560x1440 bilinear", PIXMAN_x8r8g8b8, 2560, 1440, n);
	bench_cockpit(n);
	vgpu_egl_destroy(egl);
	return 0;
}
