/* SPDX-License-Identifier: MIT */
/* The zone's insides, shared by compositor.c (geometry, damage, the pixman
 * renderer) and gl-compose.c (the GL renderer). Not for other modules. */
#ifndef COMP_COMPOSITOR_PRIVATE_H
#define COMP_COMPOSITOR_PRIVATE_H

#include "compositor/compositor.h"

#define COMP_CURSOR_SIZE 64

struct comp_source {
	unsigned guest, scanout;
	/* The resource image (ref'd) and the scanout's rectangle in it; NULL
	 * while the scanout is disabled. */
	pixman_image_t *image;
	uint32_t src_x, src_y, src_w, src_h;
	/* GL zones only (always 0/false in pixman zones): the virgl texture
	 * holding the resource, sampled instead of image. Borrowed. */
	uint32_t gl_texture;
	bool gl_y0_top;

	/* Our copy of the cursor (allocated the first time one is shown, then
	 * reused); its position is in scanout coordinates. */
	pixman_image_t *cursor;
	bool cursor_shown;
	uint32_t hot_x, hot_y, cursor_x, cursor_y;
};

struct comp_layer {
	struct comp_layer_config cfg;
	struct comp_source *src;
	/* The layer rectangle clipped to the zone (x1 == x2 when outside). */
	pixman_box32_t vis;
	/* The source can be shown in this layer (else the layer is black and
	 * has no cursor). */
	bool shown;
	bool scaled;
	pixman_fixed_t scale_x, scale_y; /* src_w / w, src_h / h */
	/* pixman zones: the scanout rectangle of src->image as its own image:
	 * opaque format, PAD repeat (so bilinear edges do not bleed in
	 * neighbouring resource pixels) and this layer's scale transform and
	 * filter. Non-NULL exactly when shown. */
	pixman_image_t *view;
};

/* Another way of making a zone's pixels (the GL renderer). Every hook is
 * called with the zone's state already updated. */
struct comp_zone_impl {
	/* s took a new image, texture or rectangle, or was disabled. */
	void (*source_changed)(struct comp_zone *zone, struct comp_source *s);
	/* The pixels of s changed in b (scanout coordinates, within it). */
	void (*source_damaged)(struct comp_zone *zone, struct comp_source *s,
		const pixman_box32_t *b);
	/* s->cursor has new pixels. */
	void (*cursor_changed)(struct comp_zone *zone, struct comp_source *s);
	/* Re-composes r (zone coordinates, within the zone). */
	void (*compose)(struct comp_zone *zone, const pixman_region32_t *r);
	/* Brings zone->image up to date in r. */
	void (*read)(struct comp_zone *zone, const pixman_region32_t *r);
	void (*destroy)(struct comp_zone *zone);
};

struct comp_zone {
	struct comp_zone_config config;
	char *name;
	pixman_image_t *image;
	/* The same pixels seen as a8r8g8b8: composing opaque sources into it
	 * sets the padding byte to 0xff (pixman's x888 -> 8888 paths), so the
	 * frame is fully determined by what is shown. */
	pixman_image_t *target;
	uint32_t *bits;
	int stride; /* in uint32_t */

	unsigned n_sources;
	struct comp_source sources[COMP_MAX_LAYERS];
	struct comp_layer layers[COMP_MAX_LAYERS];

	pixman_region32_t damage;
	uint64_t t_flush_ns; /* earliest in damage; meaningful when not empty */

	/* NULL: pixman. */
	const struct comp_zone_impl *impl;
	void *impl_data;
};

/* Installs impl on a zone just created (before any update). */
void comp_zone_set_impl(struct comp_zone *zone, const struct comp_zone_impl *impl, void *data);

/* Where s's cursor can touch the zone through layer l (false: nowhere). */
bool comp_layer_cursor_box(const struct comp_layer *l, pixman_box32_t *out);

static inline bool comp_box_empty(const pixman_box32_t *b)
{
	return b->x1 >= b->x2 || b->y1 >= b->y2;
}

static inline bool comp_box_intersect(pixman_box32_t *out, const pixman_box32_t *a,
	const pixman_box32_t *b)
{
	out->x1 = a->x1 > b->x1 ? a->x1 : b->x1;
	out->y1 = a->y1 > b->y1 ? a->y1 : b->y1;
	out->x2 = a->x2 < b->x2 ? a->x2 : b->x2;
	out->y2 = a->y2 < b->y2 ? a->y2 : b->y2;
	return !comp_box_empty(out);
}

static inline bool comp_box_contains(const pixman_box32_t *outer, const pixman_box32_t *inner)
{
	return outer->x1 <= inner->x1 && outer->y1 <= inner->y1 &&
		outer->x2 >= inner->x2 && outer->y2 >= inner->y2;
}

/* The layer the composition of box b starts from: the topmost one that
 * covers b whole (scanouts are opaque and hide whatever lies below); 0 with
 * *covered false when none does (then b starts black). */
static inline unsigned comp_first_layer(const struct comp_zone *zone, const pixman_box32_t *b,
	bool *covered)
{
	for (unsigned i = zone->config.n_layers; i-- > 0;) {
		if (comp_box_contains(&zone->layers[i].vis, b)) {
			*covered = true;
			return i;
		}
	}
	*covered = false;
	return 0;
}

#endif
