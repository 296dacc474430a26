/* SPDX-License-Identifier: MIT */
#ifndef COMP_COMPOSITOR_H
#define COMP_COMPOSITOR_H

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio-gpu/gpu.h"

/* A display zone: one frame buffer of mode WxH, made of layers, each showing
 * one guest scanout in a rectangle (later layers on top; a scanout whose mode
 * differs from the layer's size is scaled into it), plus that scanout's
 * cursor. Only damaged regions are re-composed. Single-threaded. */

#define COMP_MAX_LAYERS 16

struct comp_layer_config {
	unsigned guest;         /* guest index, as the server numbers them */
	unsigned scanout;       /* scanout id within that guest */
	int32_t x, y;           /* position in the zone */
	uint32_t width, height; /* size in the zone */
};

struct comp_zone_config {
	const char *name;
	uint32_t width, height, refresh_hz;
	unsigned n_layers;
	struct comp_layer_config layers[COMP_MAX_LAYERS];
};

struct comp_zone;

/* The zone frame starts black with everything damaged. */
struct comp_zone *comp_zone_create(const struct comp_zone_config *config);
/* Accepts NULL. */
void comp_zone_destroy(struct comp_zone *zone);

/* A scanout of a guest changed (see struct vgpu_scanout_update). Every layer
 * showing (guest, u->scanout_id) takes the new source image (ref'd by the
 * zone) and re-composes the damage mapped into the zone. Returns true if the
 * zone frame changed. */
bool comp_zone_scanout_update(struct comp_zone *zone, unsigned guest,
	const struct vgpu_scanout_update *u);
/* Cursor image (64x64 a8r8g8b8, borrowed; NULL hides) and position, in the
 * guest scanout's coordinates. Return true if the zone frame changed. */
bool comp_zone_cursor_update(struct comp_zone *zone, unsigned guest, unsigned scanout,
	pixman_image_t *image, uint32_t hot_x, uint32_t hot_y, uint32_t x, uint32_t y);
bool comp_zone_cursor_move(struct comp_zone *zone, unsigned guest, unsigned scanout,
	uint32_t x, uint32_t y);

/* Does the zone show this guest scanout? */
bool comp_zone_shows(const struct comp_zone *zone, unsigned guest, unsigned scanout);

/* The zone frame buffer: PIXMAN_x8r8g8b8, zone width x height. Owned by the
 * zone, always fully composed between calls; ref it to keep it. */
pixman_image_t *comp_zone_image(const struct comp_zone *zone);

/* Takes the damage accumulated since the last call (into *damage, which the
 * caller must have initialised and later finishes) and the earliest t_flush
 * it contains. Returns false (and leaves *damage empty) when nothing changed. */
bool comp_zone_take_damage(struct comp_zone *zone, pixman_region32_t *damage,
	uint64_t *t_flush_ns);

const struct comp_zone_config *comp_zone_config(const struct comp_zone *zone);

#endif
