/* SPDX-License-Identifier: MIT */
/* The zone compositor: geometry, damage and the pixman renderer. GL zones
 * (gl-compose.c) keep all of this and replace only the pixel work, through
 * zone->impl: compose, upload, read back.
 *
 * Each zone owns one x8r8g8b8 frame buffer that is always fully composed.
 * An update (scanout, cursor) turns into a damage region in zone
 * coordinates; only the boxes of that region are re-composed: black, then
 * every layer intersecting the box in order (each followed by its scanout's
 * cursor), starting from the topmost layer that covers the box whole, since
 * scanouts are opaque and hide whatever lies below them.
 *
 * Geometry: a layer shows its scanout's rectangle (src_w x src_h, the guest's
 * mode) scaled into the layer rectangle (w x h). A scanout pixel (u, v) lands
 * on the layer pixels whose centres map into it; with s = src_w / w, the
 * sample for layer pixel d is taken at (d + 0.5) * s, which is exactly what
 * pixman computes for a pure scale transform. */
#include "compositor/compositor.h"
#include "compositor/compositor-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/log.h"

#define CURSOR_SIZE COMP_CURSOR_SIZE
/* Largest zone, layer and scaled-scanout side. pixman's transforms are 16.16
 * fixed point (|coordinate| < 32768), so a scaled source must stay well
 * inside that; unscaled scanouts may be larger. */
#define MAX_DIM 16384
/* Beyond this many damage boxes in one flush, their bounding box is used:
 * keeps region building linear in a hostile guest's box count. */
#define MAX_DAMAGE_BOXES 64
#define BLACK 0xff000000u

/* pixman's formats for the 8 virtio-gpu formats, each with its alpha turned
 * into padding: scanouts are opaque whatever the guest left in alpha. */
static pixman_format_code_t opaque_format(pixman_format_code_t f)
{
	switch (f) {
	case PIXMAN_a8r8g8b8:
		return PIXMAN_x8r8g8b8;
	case PIXMAN_b8g8r8a8:
		return PIXMAN_b8g8r8x8;
	case PIXMAN_a8b8g8r8:
		return PIXMAN_x8b8g8r8;
	case PIXMAN_r8g8b8a8:
		return PIXMAN_r8g8b8x8;
	case PIXMAN_x8r8g8b8:
	case PIXMAN_b8g8r8x8:
	case PIXMAN_x8b8g8r8:
	case PIXMAN_r8g8b8x8:
		return f;
	default:
		return 0;
	}
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && a > 0) ? q + 1 : q;
}

/* Clamps a 64-bit interval to the layer's visible span [lo, hi). */
static int32_t clamp32(int64_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : v > hi ? hi : (int32_t)v;
}

/* Maps the rectangle [x1, x2) x [y1, y2) in scanout coordinates (may stick
 * out of the scanout) to the zone pixels whose value depends on it, clipped
 * to the visible layer. Scaled layers sample bilinearly: a scanout pixel
 * influences every layer pixel whose sample point lies within one pixel of
 * its centre, so the rectangle grows by one scanout pixel on each side before
 * it is mapped, rounding outward. */
static bool map_rect(const struct comp_layer *l, int64_t x1, int64_t y1, int64_t x2, int64_t y2,
	pixman_box32_t *out)
{
	const struct comp_source *s = l->src;
	if (comp_box_empty(&l->vis) || x1 >= x2 || y1 >= y2) {
		return false;
	}
	if (l->scaled) {
		int64_t w = l->cfg.width, h = l->cfg.height;
		x1 = floor_div((x1 - 1) * w, s->src_w);
		y1 = floor_div((y1 - 1) * h, s->src_h);
		x2 = ceil_div((x2 + 1) * w, s->src_w);
		y2 = ceil_div((y2 + 1) * h, s->src_h);
	}
	x1 += l->cfg.x;
	x2 += l->cfg.x;
	y1 += l->cfg.y;
	y2 += l->cfg.y;
	out->x1 = clamp32(x1, l->vis.x1, l->vis.x2);
	out->x2 = clamp32(x2, l->vis.x1, l->vis.x2);
	out->y1 = clamp32(y1, l->vis.y1, l->vis.y2);
	out->y2 = clamp32(y2, l->vis.y1, l->vis.y2);
	return !comp_box_empty(out);
}

bool comp_layer_cursor_box(const struct comp_layer *l, pixman_box32_t *out)
{
	const struct comp_source *s = l->src;
	if (!s->cursor_shown || !l->shown) {
		return false;
	}
	int64_t cx = (int64_t)s->cursor_x - s->hot_x;
	int64_t cy = (int64_t)s->cursor_y - s->hot_y;
	/* Off the scanout: invisible (this also keeps the fixed-point cursor
	 * transform below in range). */
	if (cx >= s->src_w || cy >= s->src_h || cx + CURSOR_SIZE <= 0 || cy + CURSOR_SIZE <= 0) {
		return false;
	}
	return map_rect(l, cx, cy, cx + CURSOR_SIZE, cy + CURSOR_SIZE, out);
}

static void fill_black(struct comp_zone *zone, const pixman_box32_t *b)
{
	pixman_fill(zone->bits, zone->stride, 32, b->x1, b->y1, b->x2 - b->x1, b->y2 - b->y1,
		BLACK);
}

static void draw_cursor(struct comp_zone *zone, const struct comp_layer *l,
	const pixman_box32_t *clip)
{
	const struct comp_source *s = l->src;
	pixman_box32_t cb, b;
	if (!comp_layer_cursor_box(l, &cb) || !comp_box_intersect(&b, &cb, clip)) {
		return;
	}
	int32_t cx = (int32_t)((int64_t)s->cursor_x - s->hot_x);
	int32_t cy = (int32_t)((int64_t)s->cursor_y - s->hot_y);
	/* d: layer coordinates of the first pixel drawn. */
	int32_t dx = b.x1 - l->cfg.x, dy = b.y1 - l->cfg.y;
	if (l->scaled) {
		/* Cursor pixel sampled for layer pixel d: (d + 0.5) * s - c. */
		pixman_transform_t t;
		pixman_transform_init_identity(&t);
		t.matrix[0][0] = l->scale_x;
		t.matrix[1][1] = l->scale_y;
		t.matrix[0][2] = pixman_int_to_fixed(-cx);
		t.matrix[1][2] = pixman_int_to_fixed(-cy);
		pixman_image_set_transform(s->cursor, &t);
		pixman_image_set_filter(s->cursor, PIXMAN_FILTER_BILINEAR, NULL, 0);
	} else {
		pixman_image_set_transform(s->cursor, NULL);
		pixman_image_set_filter(s->cursor, PIXMAN_FILTER_NEAREST, NULL, 0);
		dx -= cx;
		dy -= cy;
	}
	pixman_image_composite32(PIXMAN_OP_OVER, s->cursor, NULL, zone->target,
		dx, dy, 0, 0, b.x1, b.y1, b.x2 - b.x1, b.y2 - b.y1);
}

/* Draws layer l (and its cursor) into b, which lies within l->vis. A layer
 * with anything visible starts within 16384 pixels of the zone's origin (its
 * size and the zone's are at most that), so the int32 differences here and
 * in draw_cursor() cannot overflow, and pixman's 16-bit extents hold. */
static void draw_layer(struct comp_zone *zone, const struct comp_layer *l, const pixman_box32_t *b)
{
	if (!l->view) {
		fill_black(zone, b);
		return;
	}
	pixman_image_composite32(PIXMAN_OP_SRC, l->view, NULL, zone->target,
		b->x1 - l->cfg.x, b->y1 - l->cfg.y, 0, 0,
		b->x1, b->y1, b->x2 - b->x1, b->y2 - b->y1);
	draw_cursor(zone, l, b);
}

static void compose_box(struct comp_zone *zone, const pixman_box32_t *b)
{
	bool covered;
	unsigned first = comp_first_layer(zone, b, &covered);
	if (!covered) {
		fill_black(zone, b);
	}
	for (unsigned i = first; i < zone->config.n_layers; i++) {
		pixman_box32_t c;
		if (comp_box_intersect(&c, &zone->layers[i].vis, b)) {
			draw_layer(zone, &zone->layers[i], &c);
		}
	}
}

/* Re-composes region r (zone coordinates, within the zone) and adds it to
 * the pending damage. Returns true if r was not empty. */
static bool commit(struct comp_zone *zone, pixman_region32_t *r, uint64_t t_ns)
{
	if (!pixman_region32_not_empty(r)) {
		/* Nothing new; but a presenting flush makes what only unpresented
		 * updates (SET_SCANOUT, the first half of a page flip) changed a
		 * frame now. */
		if (t_ns != UINT64_MAX && zone->t_flush_ns == UINT64_MAX &&
			pixman_region32_not_empty(&zone->damage)) {
			zone->t_flush_ns = t_ns;
			return true;
		}
		return false;
	}
	if (zone->impl) {
		zone->impl->compose(zone, r);
	} else {
		int n;
		const pixman_box32_t *boxes = pixman_region32_rectangles(r, &n);
		for (int i = 0; i < n; i++) {
			compose_box(zone, &boxes[i]);
		}
	}
	if (!pixman_region32_not_empty(&zone->damage) || t_ns < zone->t_flush_ns) {
		zone->t_flush_ns = t_ns;
	}
	pixman_region32_union(&zone->damage, &zone->damage, r);
	return true;
}

static struct comp_source *find_source(struct comp_zone *zone, unsigned guest, unsigned scanout)
{
	for (unsigned i = 0; i < zone->n_sources; i++) {
		struct comp_source *s = &zone->sources[i];
		if (s->guest == guest && s->scanout == scanout) {
			return s;
		}
	}
	return NULL;
}

static void add_box(pixman_region32_t *r, const pixman_box32_t *b)
{
	pixman_region32_union_rect(r, r, b->x1, b->y1, (unsigned)(b->x2 - b->x1),
		(unsigned)(b->y2 - b->y1));
}

/* Adds the cursor's footprint through every layer showing s. */
static void add_cursor_damage(struct comp_zone *zone, const struct comp_source *s,
	pixman_region32_t *r)
{
	for (unsigned i = 0; i < zone->config.n_layers; i++) {
		pixman_box32_t b;
		if (zone->layers[i].src == s && comp_layer_cursor_box(&zone->layers[i], &b)) {
			add_box(r, &b);
		}
	}
}

/* Sets l's scale for s's current rectangle and says whether l can show s:
 * GL textures are checked by the GL renderer; images must be in one of the
 * virtio formats, and scaled sources at most MAX_DIM wide and tall. */
static bool layer_prepare(struct comp_layer *l, const struct comp_source *s)
{
	l->scaled = s->src_w != l->cfg.width || s->src_h != l->cfg.height;
	if (l->scaled) {
		/* Rounded rather than truncated: the error grows with the
		 * distance from the origin. */
		l->scale_x = (pixman_fixed_t)((((int64_t)s->src_w << 16) + l->cfg.width / 2) /
			l->cfg.width);
		l->scale_y = (pixman_fixed_t)((((int64_t)s->src_h << 16) + l->cfg.height / 2) /
			l->cfg.height);
	} else {
		l->scale_x = l->scale_y = pixman_fixed_1;
	}
	if (!s->gl_texture) {
		pixman_format_code_t fmt = opaque_format(pixman_image_get_format(s->image));
		if (!fmt || !pixman_image_get_data(s->image) ||
			pixman_image_get_stride(s->image) <= 0) {
			zl_warn("zone: guest %u scanout %u: unsupported image format 0x%x; "
				"showing black", s->guest, s->scanout,
				(unsigned)pixman_image_get_format(s->image));
			return false;
		}
	}
	if (l->scaled && (s->src_w > MAX_DIM || s->src_h > MAX_DIM)) {
		zl_warn("zone: guest %u scanout %u: %ux%u is too large to scale; showing black",
			s->guest, s->scanout, s->src_w, s->src_h);
		return false;
	}
	return true;
}

/* A view of the scanout rectangle of s->image for layer l (prepared and
 * shown), or NULL if memory runs out. */
static pixman_image_t *create_view(const struct comp_layer *l, const struct comp_source *s)
{
	pixman_format_code_t fmt = opaque_format(pixman_image_get_format(s->image));
	uint8_t *data = (uint8_t *)pixman_image_get_data(s->image);
	int stride = pixman_image_get_stride(s->image);
	data += (size_t)s->src_y * (size_t)stride + (size_t)s->src_x * 4;
	pixman_image_t *view = pixman_image_create_bits_no_clear(fmt, (int)s->src_w, (int)s->src_h,
		(uint32_t *)(void *)data, stride);
	if (!view) {
		zl_err("zone: guest %u scanout %u: out of memory; showing black",
			s->guest, s->scanout);
		return NULL;
	}
	if (l->scaled) {
		pixman_transform_t t;
		pixman_transform_init_scale(&t, l->scale_x, l->scale_y);
		pixman_image_set_transform(view, &t);
		pixman_image_set_filter(view, PIXMAN_FILTER_BILINEAR, NULL, 0);
		pixman_image_set_repeat(view, PIXMAN_REPEAT_PAD);
	} else {
		/* 1:1 stays a plain (bit-exact) copy. */
		pixman_image_set_filter(view, PIXMAN_FILTER_NEAREST, NULL, 0);
	}
	return view;
}

/* Is the scanout rectangle of u inside its image? */
static bool update_valid(const struct vgpu_scanout_update *u)
{
	uint32_t w = (uint32_t)pixman_image_get_width(u->image);
	uint32_t h = (uint32_t)pixman_image_get_height(u->image);
	if (u->src_w == 0 || u->src_h == 0) {
		return false;
	}
	if (u->src_w > w || u->src_x > w - u->src_w || u->src_h > h || u->src_y > h - u->src_h) {
		return false;
	}
	return PIXMAN_FORMAT_BPP(pixman_image_get_format(u->image)) == 32;
}

/* The source takes a new image (or none), texture and scanout rectangle;
 * every layer showing it is prepared again (pixman: gets a new view) and is
 * damaged whole (added to r); with !whole only the layers that cannot show
 * it (a view that could not be made) are, and the caller adds what changed. */
static void source_set_image(struct comp_zone *zone, struct comp_source *s,
	const struct vgpu_scanout_update *u, pixman_region32_t *r, bool whole)
{
	pixman_image_t *old = s->image;
	/* Ref first: the new image may be the old one with another rectangle. */
	s->image = u->image ? pixman_image_ref(u->image) : NULL;
	s->src_x = u->src_x;
	s->src_y = u->src_y;
	s->src_w = u->src_w;
	s->src_h = u->src_h;
	s->gl_texture = u->gl_texture;
	s->gl_y0_top = u->gl_y0_top;
	for (unsigned i = 0; i < zone->config.n_layers; i++) {
		struct comp_layer *l = &zone->layers[i];
		if (l->src != s) {
			continue;
		}
		if (l->view) {
			pixman_image_unref(l->view);
		}
		l->view = NULL;
		l->shown = false;
		if (!comp_box_empty(&l->vis)) {
			/* Layers outside the zone need no view. */
			l->shown = s->image && layer_prepare(l, s);
			if (l->shown && !zone->impl) {
				l->view = create_view(l, s);
				l->shown = l->view != NULL;
			}
			if (whole || !l->shown) {
				add_box(r, &l->vis);
			}
		}
	}
	/* GL zones keep an uploaded copy: after a flip with exact damage it
	 * differs from the new image only there, which source_damaged uploads. */
	if (zone->impl && (whole || s->gl_texture)) {
		zone->impl->source_changed(zone, s);
	}
	if (old) {
		pixman_image_unref(old);
	}
}

/* Adds the damage boxes (resource coordinates) of an unchanged scanout,
 * mapped through every layer showing it. NULL boxes: the whole scanout. */
static void add_scanout_damage(struct comp_zone *zone, struct comp_source *s,
	const pixman_box32_t *boxes, int n, pixman_region32_t *r)
{
	pixman_box32_t ext = { INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX };
	if (!boxes) {
		boxes = &ext;
		n = 1;
	} else if (n > MAX_DAMAGE_BOXES) {
		ext = boxes[0];
		for (int i = 1; i < n; i++) {
			ext.x1 = boxes[i].x1 < ext.x1 ? boxes[i].x1 : ext.x1;
			ext.y1 = boxes[i].y1 < ext.y1 ? boxes[i].y1 : ext.y1;
			ext.x2 = boxes[i].x2 > ext.x2 ? boxes[i].x2 : ext.x2;
			ext.y2 = boxes[i].y2 > ext.y2 ? boxes[i].y2 : ext.y2;
		}
		boxes = &ext;
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		/* Resource → scanout coordinates, clipped to the scanout. */
		int64_t x1 = (int64_t)boxes[i].x1 - s->src_x;
		int64_t y1 = (int64_t)boxes[i].y1 - s->src_y;
		int64_t x2 = (int64_t)boxes[i].x2 - s->src_x;
		int64_t y2 = (int64_t)boxes[i].y2 - s->src_y;
		x1 = x1 < 0 ? 0 : x1;
		y1 = y1 < 0 ? 0 : y1;
		x2 = x2 > s->src_w ? s->src_w : x2;
		y2 = y2 > s->src_h ? s->src_h : y2;
		if (zone->impl && x1 < x2 && y1 < y2) {
			pixman_box32_t sb = { (int32_t)x1, (int32_t)y1, (int32_t)x2, (int32_t)y2 };
			zone->impl->source_damaged(zone, s, &sb);
		}
		for (unsigned li = 0; li < zone->config.n_layers; li++) {
			const struct comp_layer *l = &zone->layers[li];
			pixman_box32_t b;
			if (l->src == s && map_rect(l, x1, y1, x2, y2, &b)) {
				add_box(r, &b);
			}
		}
	}
}

bool comp_zone_scanout_update(struct comp_zone *zone, unsigned guest,
	const struct vgpu_scanout_update *u)
{
	struct comp_source *s = find_source(zone, guest, u->scanout_id);
	if (!s) {
		return false;
	}
	struct vgpu_scanout_update v = *u;
	if (v.image && !update_valid(&v)) {
		/* Logged once per change of state, not on every flush. */
		zl_log(s->image ? ZL_WARN : ZL_DEBUG, "zone %s: guest %u scanout %u: "
			"rectangle %u,%u %ux%u not inside its %dx%d image; showing black",
			zone->name, guest, v.scanout_id, v.src_x, v.src_y, v.src_w, v.src_h,
			pixman_image_get_width(v.image), pixman_image_get_height(v.image));
		v.image = NULL;
	}
	if (!v.image || !zone->impl) {
		/* Only GL zones sample textures; pixman zones must not see a
		 * new texture name as a new source. */
		v.gl_texture = 0;
		v.gl_y0_top = false;
	}
	if (!v.image) {
		v.src_x = v.src_y = v.src_w = v.src_h = 0;
	}

	pixman_region32_t r;
	pixman_region32_init(&r);
	bool same_rect = v.src_x == s->src_x && v.src_y == s->src_y && v.src_w == s->src_w &&
		v.src_h == s->src_h && v.gl_texture == s->gl_texture && v.gl_y0_top == s->gl_y0_top;
	if (v.image && s->image && v.image != s->image && same_rect && v.damage_exact &&
		pixman_image_get_format(v.image) == pixman_image_get_format(s->image)) {
		/* A page flip whose damage says what differs from the last image:
		 * only that is composed again. */
		source_set_image(zone, s, &v, &r, false);
		add_scanout_damage(zone, s, v.damage, v.n_damage, &r);
	} else if (v.image != s->image || !same_rect) {
		source_set_image(zone, s, &v, &r, true);
	} else if (s->image && v.n_damage > 0) {
		add_scanout_damage(zone, s, v.damage, v.n_damage, &r);
	}
	/* An update the guest has not presented yet (SET_SCANOUT, the first half
	 * of a page flip) changes pixels but not the frame's time: its latency
	 * runs from the flush that presents it. */
	bool changed = commit(zone, &r, v.present ? v.t_flush_ns : UINT64_MAX);
	pixman_region32_fini(&r);
	return changed;
}

bool comp_zone_cursor_update(struct comp_zone *zone, unsigned guest, unsigned scanout,
	pixman_image_t *image, uint32_t hot_x, uint32_t hot_y, uint32_t x, uint32_t y)
{
	struct comp_source *s = find_source(zone, guest, scanout);
	if (!s) {
		return false;
	}
	pixman_region32_t r;
	pixman_region32_init(&r);
	add_cursor_damage(zone, s, &r);
	s->cursor_shown = false;
	s->hot_x = hot_x;
	s->hot_y = hot_y;
	s->cursor_x = x;
	s->cursor_y = y;
	if (image && !s->cursor) {
		s->cursor = pixman_image_create_bits(PIXMAN_a8r8g8b8, CURSOR_SIZE, CURSOR_SIZE,
			NULL, 0);
		if (!s->cursor) {
			zl_err("zone %s: out of memory for a cursor; hiding it", zone->name);
		}
	}
	if (image && s->cursor) {
		/* A copy, since the image is borrowed. Whatever its size, pixels
		 * outside it come out transparent. */
		pixman_image_set_transform(s->cursor, NULL);
		pixman_image_composite32(PIXMAN_OP_SRC, image, NULL, s->cursor,
			0, 0, 0, 0, 0, 0, CURSOR_SIZE, CURSOR_SIZE);
		s->cursor_shown = true;
		if (zone->impl) {
			zone->impl->cursor_changed(zone, s);
		}
		add_cursor_damage(zone, s, &r);
	}
	bool changed = commit(zone, &r, zl_now_ns());
	pixman_region32_fini(&r);
	return changed;
}

bool comp_zone_cursor_move(struct comp_zone *zone, unsigned guest, unsigned scanout,
	uint32_t x, uint32_t y)
{
	struct comp_source *s = find_source(zone, guest, scanout);
	if (!s) {
		return false;
	}
	if (s->cursor_x == x && s->cursor_y == y) {
		return false;
	}
	pixman_region32_t r;
	pixman_region32_init(&r);
	add_cursor_damage(zone, s, &r);
	s->cursor_x = x;
	s->cursor_y = y;
	add_cursor_damage(zone, s, &r);
	bool changed = commit(zone, &r, zl_now_ns());
	pixman_region32_fini(&r);
	return changed;
}

bool comp_zone_shows(const struct comp_zone *zone, unsigned guest, unsigned scanout)
{
	return find_source((struct comp_zone *)zone, guest, scanout) != NULL;
}

pixman_image_t *comp_zone_image(const struct comp_zone *zone)
{
	return zone->image;
}

bool comp_zone_take_damage(struct comp_zone *zone, pixman_region32_t *damage,
	uint64_t *t_flush_ns)
{
	pixman_region32_clear(damage);
	if (!pixman_region32_not_empty(&zone->damage)) {
		return false;
	}
	if (zone->impl) {
		/* The frame's one readback: everything composed since the last. */
		zone->impl->read(zone, &zone->damage);
	}
	/* Hand over our region and start a fresh, empty one. */
	pixman_region32_t tmp = *damage;
	*damage = zone->damage;
	zone->damage = tmp;
	if (t_flush_ns) {
		/* UINT64_MAX: only unpresented changes; they go out now. */
		*t_flush_ns = zone->t_flush_ns != UINT64_MAX ? zone->t_flush_ns : zl_now_ns();
	}
	return true;
}

const struct comp_zone_config *comp_zone_config(const struct comp_zone *zone)
{
	return &zone->config;
}

bool comp_zone_uses_gl(const struct comp_zone *zone)
{
	return zone->impl != NULL;
}

void comp_zone_set_impl(struct comp_zone *zone, const struct comp_zone_impl *impl, void *data)
{
	zone->impl = impl;
	zone->impl_data = data;
}

static bool config_valid(const struct comp_zone_config *c)
{
	if (c->width == 0 || c->width > MAX_DIM || c->height == 0 || c->height > MAX_DIM) {
		zl_err("zone %s: size %ux%u out of range 1..%d", c->name ? c->name : "?",
			c->width, c->height, MAX_DIM);
		return false;
	}
	if (c->n_layers > COMP_MAX_LAYERS) {
		zl_err("zone %s: %u layers, at most %d", c->name ? c->name : "?", c->n_layers,
			COMP_MAX_LAYERS);
		return false;
	}
	for (unsigned i = 0; i < c->n_layers; i++) {
		const struct comp_layer_config *l = &c->layers[i];
		if (l->width == 0 || l->width > MAX_DIM || l->height == 0 || l->height > MAX_DIM) {
			zl_err("zone %s: layer %u size %ux%u out of range 1..%d",
				c->name ? c->name : "?", i, l->width, l->height, MAX_DIM);
			return false;
		}
	}
	return true;
}

struct comp_zone *comp_zone_create(const struct comp_zone_config *config)
{
	if (!config_valid(config)) {
		return NULL;
	}
	struct comp_zone *zone = calloc(1, sizeof(*zone));
	if (!zone) {
		return NULL;
	}
	zone->config = *config;
	zone->name = strdup(config->name ? config->name : "");
	if (!zone->name) {
		goto err_zone;
	}
	zone->config.name = zone->name;
	zone->image = pixman_image_create_bits_no_clear(PIXMAN_x8r8g8b8, (int)config->width,
		(int)config->height, NULL, 0);
	if (!zone->image) {
		goto err_name;
	}
	zone->bits = pixman_image_get_data(zone->image);
	zone->stride = pixman_image_get_stride(zone->image) / 4;
	zone->target = pixman_image_create_bits_no_clear(PIXMAN_a8r8g8b8, (int)config->width,
		(int)config->height, zone->bits, pixman_image_get_stride(zone->image));
	if (!zone->target) {
		goto err_image;
	}
	pixman_box32_t all = { 0, 0, (int32_t)config->width, (int32_t)config->height };
	fill_black(zone, &all);

	for (unsigned i = 0; i < config->n_layers; i++) {
		struct comp_layer *l = &zone->layers[i];
		l->cfg = config->layers[i];
		int64_t x2 = (int64_t)l->cfg.x + l->cfg.width;
		int64_t y2 = (int64_t)l->cfg.y + l->cfg.height;
		pixman_box32_t lb = {
			clamp32(l->cfg.x, 0, all.x2), clamp32(l->cfg.y, 0, all.y2),
			clamp32(x2, 0, all.x2), clamp32(y2, 0, all.y2),
		};
		if (!comp_box_intersect(&l->vis, &lb, &all)) {
			l->vis = (pixman_box32_t){ 0, 0, 0, 0 };
		}
		l->src = find_source(zone, l->cfg.guest, l->cfg.scanout);
		if (!l->src) {
			l->src = &zone->sources[zone->n_sources++];
			l->src->guest = l->cfg.guest;
			l->src->scanout = l->cfg.scanout;
		}
	}

	pixman_region32_init_rect(&zone->damage, 0, 0, config->width, config->height);
	/* The black start is nobody's flush: a frame's latency runs from the
	 * first guest flush presented in it. */
	zone->t_flush_ns = UINT64_MAX;
	return zone;

err_image:
	pixman_image_unref(zone->image);
err_name:
	free(zone->name);
err_zone:
	free(zone);
	return NULL;
}

void comp_zone_destroy(struct comp_zone *zone)
{
	if (!zone) {
		return;
	}
	if (zone->impl) {
		zone->impl->destroy(zone);
	}
	for (unsigned i = 0; i < zone->config.n_layers; i++) {
		if (zone->layers[i].view) {
			pixman_image_unref(zone->layers[i].view);
		}
	}
	for (unsigned i = 0; i < zone->n_sources; i++) {
		if (zone->sources[i].image) {
			pixman_image_unref(zone->sources[i].image);
		}
		if (zone->sources[i].cursor) {
			pixman_image_unref(zone->sources[i].cursor);
		}
	}
	pixman_region32_fini(&zone->damage);
	pixman_image_unref(zone->target);
	pixman_image_unref(zone->image);
	free(zone->name);
	free(zone);
}
