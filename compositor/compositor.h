/* SPDX-License-Identifier: MIT */
#ifndef COMP_COMPOSITOR_H
#define COMP_COMPOSITOR_H

#include <pixman.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio-gpu/gpu.h"

/* A display zone: one frame buffer of mode WxH, made of layers, each showing
 * one guest scanout in a rectangle (later layers on top; a scanout whose mode
 * differs from the layer's size is scaled into it, bilinearly; 1:1 is a plain
 * bit-exact copy), plus that scanout's cursor, drawn right above its layer
 * (a later layer covers it) and clipped to it. Scanouts are opaque: their
 * alpha is ignored. A disabled scanout shows black; so does one whose image
 * cannot be shown (rectangle outside it, a format that is not one of the 8
 * virtio formats, or wider/taller than 16384 when it must be scaled).
 *
 * Only damaged regions are re-composed, at once, so the frame is whole
 * between calls. Work is proportional to the damage; the only heap use on
 * the frame path is pixman's regions, plus one small image header per layer
 * when a scanout gets a new image or rectangle. Single-threaded.
 *
 * Zones made by comp_zone_create() compose with pixman and ignore the
 * updates' GL fields. comp_zone_create_gl() (gl-compose.h) makes a zone that
 * composes on the GPU instead: it samples u->gl_texture when it is not 0
 * (else it uploads the damage of u->image), and reads the frame back once,
 * in comp_zone_take_damage(). Such a zone behaves like a pixman zone, with
 * the same pixels for the same updates (1:1 and scaled, cursor included),
 * except that
 *  - its image is brought up to date by comp_zone_take_damage() (the frame's
 *    one readback, of the damage only). Until then it holds the frame as of
 *    the previous take: whole, just older;
 *  - it uploads only the damage of a scanout image: pixels a guest changed
 *    without reporting them never show, where a pixman zone would show them
 *    when something else makes it re-compose them (a cursor passing). */

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

/* The zone frame starts black with everything damaged. The config is copied
 * (name included). NULL if it is invalid (zone or layer sizes outside
 * 1..16384, more than COMP_MAX_LAYERS layers) or memory runs out. Layers
 * may stick out of the zone, or lie wholly outside it. */
struct comp_zone *comp_zone_create(const struct comp_zone_config *config);
/* Accepts NULL. */
void comp_zone_destroy(struct comp_zone *zone);

/* A scanout of a guest changed (see struct vgpu_scanout_update). Every layer
 * showing (guest, u->scanout_id) takes the new source image (ref'd by the
 * zone until it is replaced, the scanout disabled or the zone destroyed: the
 * image's pixels must stay valid for as long as it has a reference) and
 * re-composes the damage mapped into the zone. A new image or scanout
 * rectangle re-composes the whole layer, whatever u->damage says; damage ==
 * NULL with n_damage > 0 means the whole scanout. Returns true if the zone
 * frame changed.
 * GL zones sample u->gl_texture (when not 0; u->image is still needed: NULL
 * disables): a GL_TEXTURE_2D of the engine's share group holding the
 * resource, borrowed: it must not be deleted before the scanout gets another
 * texture or is disabled, and its producer must have flushed (a context
 * switch does). A texture that cannot be sampled, or smaller than the
 * rectangle, shows black. */
bool comp_zone_scanout_update(struct comp_zone *zone, unsigned guest,
	const struct vgpu_scanout_update *u);
/* Cursor image (64x64 a8r8g8b8 premultiplied, borrowed: it is copied; NULL
 * hides) and position, in the guest scanout's coordinates; the image's
 * top-left lands at (x - hot_x, y - hot_y). Composed OVER, scaled with its
 * layer; not drawn while the scanout is disabled. Damage from cursors is
 * stamped with the time of the call (zl_now_ns()). Return true if the zone
 * frame changed. */
bool comp_zone_cursor_update(struct comp_zone *zone, unsigned guest, unsigned scanout,
	pixman_image_t *image, uint32_t hot_x, uint32_t hot_y, uint32_t x, uint32_t y);
bool comp_zone_cursor_move(struct comp_zone *zone, unsigned guest, unsigned scanout,
	uint32_t x, uint32_t y);

/* Does the zone show this guest scanout? */
bool comp_zone_shows(const struct comp_zone *zone, unsigned guest, unsigned scanout);

/* The zone frame buffer: PIXMAN_x8r8g8b8, zone width x height. Owned by the
 * zone, the same image for the zone's life, always fully composed between
 * calls (GL zones: as of the last comp_zone_take_damage()); ref it to keep
 * it. The padding byte of every pixel is 0xff, so the frame (and a CRC over
 * it) depends only on what is shown. */
pixman_image_t *comp_zone_image(const struct comp_zone *zone);

/* Takes the damage accumulated since the last call (into *damage, which the
 * caller must have initialised and later finishes; its old contents are
 * dropped) and the earliest t_flush of the presented updates it contains
 * (updates with present false set no time; if there are only such, the time
 * of this call; t_flush_ns may be NULL). The damage lies within the zone.
 * Returns false (and leaves *damage empty) when nothing changed. GL zones
 * read the damage back into the image here. */
bool comp_zone_take_damage(struct comp_zone *zone, pixman_region32_t *damage,
	uint64_t *t_flush_ns);

const struct comp_zone_config *comp_zone_config(const struct comp_zone *zone);

/* Does the zone compose with GL (then a scanout with a gl_texture needs no
 * host copy for it)? */
bool comp_zone_uses_gl(const struct comp_zone *zone);

#endif
