/* SPDX-License-Identifier: MIT */
/* Headless: "presenting" is copying the frame's damage into the presented
 * image; the present time is taken when the copy is done. */
#include <stdbool.h>
#include <stdlib.h>

#include "backend.h"
#include "util/clock.h"
#include "util/log.h"

struct headless {
	struct zc_backend base;
	const struct zc_backend_listener *listener;
	void *data;
	pixman_image_t *shown;
	bool has_frame;
};

static struct zc_backend *headless_create(struct zl_loop *loop, uint32_t width, uint32_t height,
	const struct zc_backend_options *opts, const struct zc_backend_listener *listener,
	void *data)
{
	(void)opts;
	struct headless *h = calloc(1, sizeof(*h));
	if (!h) {
		return NULL;
	}
	h->base.impl = &zc_backend_headless;
	h->listener = listener;
	h->data = data;
	h->shown = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)width, (int)height, NULL, 0);
	if (!h->shown) {
		zl_err("headless: cannot allocate a %ux%u image", width, height);
		free(h);
		return NULL;
	}
	return &h->base;
}

static void headless_destroy(struct zc_backend *b)
{
	struct headless *h = (struct headless *)b;
	pixman_image_unref(h->shown);
	free(h);
}

static int headless_present(struct zc_backend *b, pixman_image_t *frame,
	const pixman_region32_t *damage, uint32_t frame_id)
{
	struct headless *h = (struct headless *)b;
	int n = 0;
	const pixman_box32_t *r = pixman_region32_rectangles((pixman_region32_t *)damage, &n);
	for (int i = 0; i < n; i++) {
		pixman_image_composite32(PIXMAN_OP_SRC, frame, NULL, h->shown, r[i].x1, r[i].y1, 0, 0,
			r[i].x1, r[i].y1, r[i].x2 - r[i].x1, r[i].y2 - r[i].y1);
	}
	h->has_frame = true;
	if (h->listener && h->listener->presented) {
		h->listener->presented(h->data, frame_id, zl_now_ns());
	}
	return 0;
}

static pixman_image_t *headless_snapshot(struct zc_backend *b)
{
	struct headless *h = (struct headless *)b;
	return h->has_frame ? h->shown : NULL;
}

const struct zc_backend_impl zc_backend_headless = {
	.name = "headless",
	.present_source = "copy",
	.create = headless_create,
	.destroy = headless_destroy,
	.present = headless_present,
	.snapshot = headless_snapshot,
};
