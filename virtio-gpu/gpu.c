/* SPDX-License-Identifier: MIT */
#include "gpu.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "renderer.h"
#include "util/clock.h"
#include "util/log.h"

/* Decisions the spec leaves open (each is what a caller or guest sees):
 *
 * - RESOURCE_UNREF of a resource a scanout shows is refused with
 *   ERR_INVALID_PARAMETER: the guest must take it off the scanout first
 *   (SET_SCANOUT with resource 0), as Linux's driver always does. QEMU
 *   instead disables the scanout silently; on a device whose scanouts are
 *   remote panels we prefer the guest to learn of its bug. The resource
 *   stays counted in the guest's quota, so refusing pins nothing beyond it.
 * - A backing smaller than the resource is accepted at ATTACH_BACKING (a
 *   guest may back only what it transfers); each TRANSFER_TO_HOST_2D checks
 *   that every byte it reads lies inside the backing and is refused with
 *   ERR_INVALID_PARAMETER otherwise.
 * - Malformed parameters (zero sizes, rectangles, formats, entries, a
 *   cursor that is not 64x64 or whose hot spot is outside it) get
 *   ERR_INVALID_PARAMETER; ids of no resource (or id 0, or one in use at
 *   create) ERR_INVALID_RESOURCE_ID; scanout ids >= num_scanouts (also in
 *   GET_EDID and the cursor commands) ERR_INVALID_SCANOUT_ID; a request
 *   shorter than its command struct (or than its attach_backing entries)
 *   and commands out of state (attach twice, detach or transfer without
 *   backing, backing no longer in guest RAM, 3D, unknown) ERR_UNSPEC; an
 *   image pixman cannot hold (2 GiB and up), the quota, and host
 *   allocation failures ERR_OUT_OF_MEMORY.
 * - The quota charges each resource's pixels and bookkeeping, its backing
 *   table and its host view of the backing.
 * - A response buffer shorter than the header gets nothing; one that holds
 *   a header but not the whole data response gets an ERR_UNSPEC header.
 * - GET_EDID is answered whether or not VIRTIO_GPU_F_EDID was acked, like
 *   QEMU: a guest that asks without negotiating only gets a valid EDID.
 * - The listener must not call back into vgpu_device_process_*().
 *
 * 3D (with a renderer):
 * - Context and resource ids are the guest's own namespace (a renderer
 *   client); command streams are rewritten to renderer-wide ids, so a
 *   stream naming another guest's resource names nothing and is refused
 *   (ERR_INVALID_PARAMETER), as is one with a command we do not know.
 * - A fenced request (any command, 2D too, so that the guest's one timeline
 *   stays in order) is answered once everything submitted before it has
 *   passed the GPU; other requests are answered at once.
 * - 3D resources are charged to the quota at 4 bytes per texel of every
 *   level and layer (an estimate: formats and GL-side copies differ).
 * - A 3D resource shown on a scanout is read back (damage only) into a host
 *   copy for composition; its GL texture is named in the update too.
 * - CTX_ATTACH/DETACH_RESOURCE of a 2D resource is accepted and does
 *   nothing (Linux attaches every buffer a DRM file opens, dumb ones too). */

#define CURSOR_SIZE 64
#define HASH_MIN_BITS 6

struct backing_seg {
	uint8_t *host;
	uint64_t off;   /* where host[0] sits in the backing */
	uint64_t len;
};

/* Host-endian copy of struct virtio_gpu_mem_entry, same size. */
struct mem_entry {
	uint64_t addr;
	uint32_t length;
	uint32_t padding;
};

/* A resource shown again within this many frames of a scanout gets the
 * damage of those frames, not the whole scanout (double and triple buffers). */
#define DAMAGE_AGE_MAX 4

struct resource {
	struct resource *hash_next;
	uint32_t id;
	uint32_t width, height, stride;
	/* 2D: owns its pixels (freed with the last ref). 3D: the host copy a
	 * scanout reads back into, NULL until the resource is scanned out. */
	pixman_image_t *image;
	bool is_3d;
	uint32_t target, format, depth, array_size, last_level;
	uint64_t charged;       /* 3D: estimated bytes charged to the quota */
	bool backing_in_renderer;
	uint64_t renderer_epoch; /* segs_epoch of the view the renderer has */
	uint16_t scanout_mask;  /* scanouts showing this resource */
	/* 2D damage tracking ("buffer age"): the pixels transfers changed
	 * since the resource was last shown, and the scanout frame number it
	 * was last shown at on each scanout (0: never). */
	pixman_region32_t changed;
	uint64_t shown_seq[VGPU_MAX_SCANOUTS];

	/* Backing: the guest's entries, kept so the host view can be rebuilt
	 * when the memory table changes. entries == NULL: none attached. */
	struct mem_entry *entries;
	uint32_t n_entries;
	uint64_t backing_size;
	/* Host view of the backing, valid for segs_epoch == device mem_epoch. */
	struct backing_seg *segs;
	unsigned n_segs, cap_segs;
	uint64_t segs_epoch;    /* 0: never built */
	bool segs_ok;           /* false: the entries do not map in that table */
	unsigned seg_hint;      /* where the last copy ended, to walk forward */
};

struct scanout {
	struct resource *res;   /* NULL: disabled */
	uint32_t x, y, w, h;
};

struct mem_snapshot {
	uint64_t gpa, size;
	const uint8_t *host;
};

struct vgpu_device {
	char *name;
	unsigned num_scanouts;
	struct vgpu_scanout_config scanout_cfg[VGPU_MAX_SCANOUTS];
	struct {
		char name[14];
		uint32_t w_mm, h_mm;
	} panel[VGPU_MAX_SCANOUTS];
	struct scanout scanouts[VGPU_MAX_SCANOUTS];
	/* Per scanout: frames shown (SET_SCANOUT, RESOURCE_FLUSH), what each of
	 * the last DAMAGE_AGE_MAX changed, and the rectangle they were in. */
	struct vgpu_device_hist {
		uint64_t seq;
		uint32_t x, y, w, h;
		uint32_t shown_id; /* the resource the last frame showed (0: none) */
		pixman_region32_t frame[DAMAGE_AGE_MAX];
	} hist[VGPU_MAX_SCANOUTS];
	struct vgpu_listener listener;
	void *data;

	uint64_t quota;
	uint64_t used;          /* bytes charged to the quota */
	uint64_t features;
	uint32_t events_read;

	/* Guest RAM, and what it looked like when backing views were built:
	 * any change bumps mem_epoch and invalidates every view. */
	const struct vgpu_mem *mem;
	uint64_t mem_epoch;
	uint64_t mem_seen_gen;
	unsigned mem_seen_n;
	struct mem_snapshot mem_seen[VGPU_MEM_MAX_REGIONS];

	struct resource **buckets;
	unsigned n_buckets;     /* 1 << hash_bits */
	unsigned hash_bits;
	uint32_t hash_seed;
	unsigned n_resources;

	bool gl_scanouts;       /* see vgpu_device_config */

	pixman_image_t *cursor;
	uint32_t cursor_pixels[CURSOR_SIZE * CURSOR_SIZE];
	uint16_t cursor_shown;  /* scanouts whose cursor the listener shows */

	struct vgpu_renderer *renderer;        /* NULL: 2D only */
	struct vgpu_renderer_client *client;   /* the guest's namespace */
	struct pending *pending;               /* deferred requests */
	uint32_t *submit_buf;                  /* private copy of SUBMIT_3D streams */
	size_t submit_cap;                     /* dwords */
};

/* A fenced request waiting for its fence. */
struct pending {
	struct pending *next;
	struct vgpu_device *dev;
	uint64_t cookie;
};

/* Requests are copied out of guest-shared memory once, so the guest cannot
 * change a field between its check and its use. */
union cmd_buf {
	struct virtio_gpu_ctrl_hdr hdr;
	struct virtio_gpu_resource_create_2d create_2d;
	struct virtio_gpu_resource_unref unref;
	struct virtio_gpu_set_scanout set_scanout;
	struct virtio_gpu_resource_flush flush;
	struct virtio_gpu_transfer_to_host_2d transfer;
	struct virtio_gpu_resource_attach_backing attach;
	struct virtio_gpu_resource_detach_backing detach;
	struct virtio_gpu_cmd_get_edid get_edid;
	struct virtio_gpu_update_cursor cursor;
	struct virtio_gpu_get_capset_info capset_info;
	struct virtio_gpu_get_capset capset;
	struct virtio_gpu_ctx_create ctx_create;
	struct virtio_gpu_ctx_resource ctx_res;
	struct virtio_gpu_resource_create_3d create_3d;
	struct virtio_gpu_transfer_host_3d transfer_3d;
	struct virtio_gpu_cmd_submit submit;
};

union resp_buf {
	struct virtio_gpu_ctrl_hdr hdr;
	struct virtio_gpu_resp_display_info display_info;
	struct virtio_gpu_resp_edid edid;
	struct virtio_gpu_resp_capset_info capset_info;
};

struct request {
	union cmd_buf cmd;
	const struct iovec *iov;
	unsigned n_iov;
	size_t len;             /* bytes the driver wrote */
	uint64_t t_read_ns;
	union resp_buf *resp;   /* handlers with data fill it past the header */
	size_t resp_len;        /* sizeof the response they produced */
	void *resp_extra;       /* malloc'd data written after *resp (capsets) */
	size_t resp_extra_len;
};

/* ---- resources ---- */

/* Fibonacci hashing of the id mixed with a per-device random seed: the
 * guest picks the ids, and must not be able to pile them into one chain
 * (every guest shares the event loop this runs on). */
static unsigned hash_id(const struct vgpu_device *dev, uint32_t id, unsigned n_buckets)
{
	uint32_t h = (id ^ dev->hash_seed) * 2654435761u;
	return (unsigned)(h >> (32 - dev->hash_bits)) & (n_buckets - 1);
}

static struct resource *res_find(const struct vgpu_device *dev, uint32_t id)
{
	if (id == 0) {
		return NULL;
	}
	for (struct resource *r = dev->buckets[hash_id(dev, id, dev->n_buckets)]; r; r = r->hash_next) {
		if (r->id == id) {
			return r;
		}
	}
	return NULL;
}

static void hash_grow(struct vgpu_device *dev)
{
	if (dev->hash_bits >= 20) {
		return;
	}
	unsigned n = dev->n_buckets * 2;
	struct resource **b = calloc(n, sizeof(*b));
	if (!b) {
		/* Longer chains, still correct. */
		return;
	}
	dev->hash_bits++;
	for (unsigned i = 0; i < dev->n_buckets; i++) {
		struct resource *r = dev->buckets[i];
		while (r) {
			struct resource *next = r->hash_next;
			unsigned h = hash_id(dev, r->id, n);
			r->hash_next = b[h];
			b[h] = r;
			r = next;
		}
	}
	free(dev->buckets);
	dev->buckets = b;
	dev->n_buckets = n;
}

static void hash_insert(struct vgpu_device *dev, struct resource *r)
{
	if (dev->n_resources >= dev->n_buckets) {
		hash_grow(dev);
	}
	unsigned h = hash_id(dev, r->id, dev->n_buckets);
	r->hash_next = dev->buckets[h];
	dev->buckets[h] = r;
	dev->n_resources++;
}

static void hash_remove(struct vgpu_device *dev, struct resource *r)
{
	struct resource **p = &dev->buckets[hash_id(dev, r->id, dev->n_buckets)];
	while (*p && *p != r) {
		p = &(*p)->hash_next;
	}
	if (*p) {
		*p = r->hash_next;
		dev->n_resources--;
	}
}

static bool quota_take(struct vgpu_device *dev, uint64_t bytes)
{
	if (bytes > dev->quota - dev->used) {
		return false;
	}
	dev->used += bytes;
	return true;
}

static void quota_give(struct vgpu_device *dev, uint64_t bytes)
{
	dev->used = bytes > dev->used ? 0 : dev->used - bytes;
}

static uint64_t res_pixel_bytes(const struct resource *r)
{
	return (uint64_t)r->stride * r->height;
}

static void backing_free(struct vgpu_device *dev, struct resource *r)
{
	if (r->backing_in_renderer) {
		vgpu_renderer_resource_detach_backing(dev->client, r->id);
		r->backing_in_renderer = false;
	}
	quota_give(dev, (uint64_t)r->n_entries * sizeof(*r->entries) +
		(uint64_t)r->cap_segs * sizeof(*r->segs));
	free(r->entries);
	free(r->segs);
	r->entries = NULL;
	r->n_entries = 0;
	r->backing_size = 0;
	r->segs = NULL;
	r->n_segs = r->cap_segs = 0;
	r->segs_epoch = 0;
	r->segs_ok = false;
	r->seg_hint = 0;
}

static void res_destroy(struct vgpu_device *dev, struct resource *r)
{
	hash_remove(dev, r);
	if (r->is_3d) {
		/* Takes the backing out of the renderer before it is freed. */
		vgpu_renderer_resource_unref(dev->client, r->id);
		quota_give(dev, r->charged);
	}
	backing_free(dev, r);
	quota_give(dev, sizeof(*r) + (r->image ? res_pixel_bytes(r) : 0));
	/* A listener may still hold a ref; the pixels go with the last one.
	 * (3D resources have no image until they are scanned out.) */
	if (r->image) {
		pixman_image_unref(r->image);
	}
	pixman_region32_fini(&r->changed);
	free(r);
}

static void free_pixels(pixman_image_t *image, void *data)
{
	free(data);
}

/* ---- guest memory ---- */

/* Bumps mem_epoch if the table differs from the one the views were built
 * for: the generation, or any region's placement. Comparing the regions
 * too means a frontend that rebuilt the table without bumping generation
 * (or reset it) still never leaves us with stale host pointers. */
static void mem_sync(struct vgpu_device *dev)
{
	const struct vgpu_mem *m = dev->mem;
	unsigned n = 0;
	bool same;
	if (m) {
		n = m->n_regions < VGPU_MEM_MAX_REGIONS ? m->n_regions : VGPU_MEM_MAX_REGIONS;
		same = m->generation == dev->mem_seen_gen && n == dev->mem_seen_n;
		for (unsigned i = 0; same && i < n; i++) {
			const struct vgpu_mem_region *r = &m->regions[i];
			const struct mem_snapshot *s = &dev->mem_seen[i];
			same = r->gpa == s->gpa && r->size == s->size && r->host == s->host;
		}
	} else {
		same = dev->mem_seen_n == 0;
	}
	if (same) {
		return;
	}
	dev->mem_epoch++;
	dev->mem_seen_gen = m ? m->generation : 0;
	dev->mem_seen_n = n;
	for (unsigned i = 0; i < n; i++) {
		dev->mem_seen[i] = (struct mem_snapshot){
			.gpa = m->regions[i].gpa,
			.size = m->regions[i].size,
			.host = m->regions[i].host,
		};
	}
}

static int segs_append(struct vgpu_device *dev, struct resource *r, uint8_t *host,
	uint64_t off, uint64_t len)
{
	if (r->n_segs > 0) {
		struct backing_seg *last = &r->segs[r->n_segs - 1];
		/* Guest pages contiguous in one region are contiguous here: one
		 * segment for the lot keeps the copy loop short. */
		if (last->host + last->len == host) {
			last->len += len;
			return 0;
		}
	}
	if (r->n_segs == r->cap_segs) {
		/* Each entry spans at most every region once. */
		if (r->cap_segs >= VGPU_MAX_BACKING_ENTRIES * VGPU_MEM_MAX_REGIONS) {
			return -ENOMEM;
		}
		unsigned cap = r->cap_segs ? r->cap_segs * 2 : 16;
		uint64_t extra = (uint64_t)(cap - r->cap_segs) * sizeof(*r->segs);
		if (!quota_take(dev, extra)) {
			return -ENOMEM;
		}
		struct backing_seg *s = realloc(r->segs, cap * sizeof(*s));
		if (!s) {
			quota_give(dev, extra);
			return -ENOMEM;
		}
		r->segs = s;
		r->cap_segs = cap;
	}
	r->segs[r->n_segs++] = (struct backing_seg){ .host = host, .off = off, .len = len };
	return 0;
}

/* Builds r's host view of its backing for the current memory table.
 * -EFAULT: an entry is outside guest RAM; -ENOMEM: quota or allocation. */
static int backing_map(struct vgpu_device *dev, struct resource *r)
{
	r->n_segs = 0;
	r->seg_hint = 0;
	r->segs_epoch = dev->mem_epoch;
	r->segs_ok = false;
	uint64_t off = 0;
	for (uint32_t i = 0; i < r->n_entries; i++) {
		const struct mem_entry *e = &r->entries[i];
		/* An entry cannot visit a region twice, so this always suffices. */
		struct iovec iov[VGPU_MEM_MAX_REGIONS];
		unsigned n = 0;
		int ret = vgpu_mem_gpa_iov(dev->mem, e->addr, e->length, iov,
			VGPU_MEM_MAX_REGIONS, &n);
		if (ret < 0) {
			return -EFAULT;
		}
		for (unsigned k = 0; k < n; k++) {
			ret = segs_append(dev, r, iov[k].iov_base, off, iov[k].iov_len);
			if (ret < 0) {
				/* Not the guest's fault: try again next time. */
				r->segs_epoch = 0;
				return ret;
			}
			off += iov[k].iov_len;
		}
	}
	r->segs_ok = true;
	return 0;
}

static int backing_ensure(struct vgpu_device *dev, struct resource *r)
{
	mem_sync(dev);
	if (r->segs_epoch == dev->mem_epoch) {
		return r->segs_ok ? 0 : -EFAULT;
	}
	return backing_map(dev, r);
}

static unsigned seg_lookup(const struct resource *r, uint64_t off)
{
	/* Last segment starting at or before off. */
	unsigned lo = 0, hi = r->n_segs;
	while (hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;
		if (r->segs[mid].off <= off) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	return lo;
}

/* Copies [off, off+len) of the backing to dst. The caller has checked that
 * the range lies inside backing_size, which the segments cover exactly. */
static bool seg_holds(const struct resource *r, unsigned i, uint64_t off)
{
	return i < r->n_segs && r->segs[i].off <= off && off - r->segs[i].off < r->segs[i].len;
}

/* Rows' changed spans into a region, consecutive rows merged into one box
 * (their spans' union). */
struct span_acc {
	pixman_region32_t *out;
	pixman_box32_t run;
};

/* A region of more boxes than this becomes its extents: each union costs
 * time in its size, and a guest must not be able to make every transfer
 * (and so the loop every guest shares) slower and slower. */
#define DAMAGE_BOXES_MAX 64

static void region_cap(pixman_region32_t *r)
{
	if (pixman_region32_n_rects(r) > DAMAGE_BOXES_MAX) {
		pixman_box32_t e = *pixman_region32_extents(r);
		pixman_region32_reset(r, &e);
	}
}

static void span_acc_flush(struct span_acc *a)
{
	if (a->run.y2 > a->run.y1) {
		pixman_region32_union_rect(a->out, a->out, a->run.x1, a->run.y1,
			(unsigned)(a->run.x2 - a->run.x1), (unsigned)(a->run.y2 - a->run.y1));
		region_cap(a->out);
	}
	a->run = (pixman_box32_t){ 0, 0, 0, 0 };
}

static void span_acc_row(struct span_acc *a, int32_t y, int32_t x1, int32_t x2)
{
	if (a->run.y2 == y && a->run.y2 > a->run.y1) {
		a->run.x1 = x1 < a->run.x1 ? x1 : a->run.x1;
		a->run.x2 = x2 > a->run.x2 ? x2 : a->run.x2;
		a->run.y2 = y + 1;
		return;
	}
	span_acc_flush(a);
	a->run = (pixman_box32_t){ x1, y, x2, y + 1 };
}

/* Where two runs first and last differ: [*lo, *hi), to the pixel. */
#define SYNC_BLOCK 64

static bool diff_span(const uint8_t *a, const uint8_t *b, size_t len, size_t *lo, size_t *hi)
{
	if (memcmp(a, b, len) == 0) {
		return false;
	}
	size_t f = 0, l = len;
	while (f + SYNC_BLOCK <= len && memcmp(a + f, b + f, SYNC_BLOCK) == 0) {
		f += SYNC_BLOCK;
	}
	while (l - f > SYNC_BLOCK && memcmp(a + l - SYNC_BLOCK, b + l - SYNC_BLOCK, SYNC_BLOCK) == 0) {
		l -= SYNC_BLOCK;
	}
	/* Then to the pixel (4 bytes; a run starts on a pixel). */
	while (l - f >= 4 && memcmp(a + f, b + f, 4) == 0) {
		f += 4;
	}
	while (l - f >= 4 && l % 4 == 0 && memcmp(a + l - 4, b + l - 4, 4) == 0) {
		l -= 4;
	}
	*lo = f;
	*hi = l;
	return true;
}

/* Copies len bytes of the backing at off into dst, writing only where dst
 * differs, and says where:
 * [*lo, *hi) of the run (lo == hi: nothing changed). The guest may write
 * its memory meanwhile: what is copied is then what it had, as with any
 * transfer racing the guest's own writes. */
static void backing_sync(struct resource *r, uint64_t off, uint8_t *dst, size_t len, size_t *lo,
	size_t *hi)
{
	unsigned i = r->seg_hint;
	size_t pos = 0;
	*lo = len;
	*hi = 0;
	/* Rows go forward: the next row mostly starts in the segment where the
	 * last one ended, or the one after; otherwise search. */
	if (!seg_holds(r, i, off)) {
		i = seg_holds(r, i + 1, off) ? i + 1 : seg_lookup(r, off);
	}
	while (pos < len && i < r->n_segs) {
		const struct backing_seg *s = &r->segs[i];
		if (off - s->off >= s->len) {
			i++;
			continue;
		}
		uint64_t in = off - s->off;
		size_t chunk = (size_t)(s->len - in < len - pos ? s->len - in : len - pos);
		size_t f, l;
		if (diff_span(dst + pos, s->host + in, chunk, &f, &l)) {
			memcpy(dst + pos + f, s->host + in + f, l - f);
			*lo = pos + f < *lo ? pos + f : *lo;
			*hi = pos + l > *hi ? pos + l : *hi;
		}
		pos += chunk;
		off += chunk;
	}
	if (*lo > *hi) {
		*lo = *hi = 0;
	}
	r->seg_hint = i < r->n_segs ? i : 0;
}

/* ---- listener helpers ---- */

static void res3d_readback(struct vgpu_device *dev, struct resource *r, const pixman_box32_t *b);
static int res3d_backing(struct vgpu_device *dev, struct resource *r);
static int res3d_image(struct vgpu_device *dev, struct resource *r);
static uint32_t errno_to_resp(int ret);

/* pipe_texture_target values (virgl_hw.h is not installed). */
enum {
	PIPE_BUFFER, PIPE_TEXTURE_1D, PIPE_TEXTURE_2D, PIPE_TEXTURE_3D, PIPE_TEXTURE_CUBE,
	PIPE_TEXTURE_RECT, PIPE_TEXTURE_1D_ARRAY, PIPE_TEXTURE_2D_ARRAY, PIPE_TEXTURE_CUBE_ARRAY,
	PIPE_MAX_TEXTURE_TYPES,
};

static void emit_scanout(struct vgpu_device *dev, unsigned sid, const pixman_box32_t *damage,
	int n_damage, uint64_t t_ns, bool present, bool exact)
{
	if (!dev->listener.scanout_update) {
		return;
	}
	const struct scanout *s = &dev->scanouts[sid];
	struct vgpu_renderer_resource_info info = { 0 };
	if (s->res && s->res->is_3d) {
		if (damage && !dev->gl_scanouts) {
			for (int i = 0; i < n_damage; i++) {
				res3d_readback(dev, s->res, &damage[i]);
			}
		}
		vgpu_renderer_resource_info(dev->client, s->res->id, &info);
	}
	struct vgpu_scanout_update u = {
		.scanout_id = sid,
		.image = s->res ? s->res->image : NULL,
		.src_x = s->x,
		.src_y = s->y,
		.src_w = s->w,
		.src_h = s->h,
		.damage = damage,
		.n_damage = damage ? n_damage : 0,
		.damage_exact = exact,
		.t_flush_ns = t_ns,
		.present = present,
		.gl_texture = info.gl_texture,
		.gl_y0_top = info.y0_top,
	};
	dev->listener.scanout_update(dev->data, &u);
}

/* Narrows d to the pixels where a and b differ (2D resources, both
 * covering d). */
static void damage_refine(struct resource *a, struct resource *b, pixman_region32_t *d)
{
	pixman_region32_t out;
	pixman_region32_init(&out);
	struct span_acc acc = { .out = &out };
	const uint8_t *pa = (const uint8_t *)pixman_image_get_data(a->image);
	const uint8_t *pb = (const uint8_t *)pixman_image_get_data(b->image);
	int n;
	const pixman_box32_t *boxes = pixman_region32_rectangles(d, &n);
	for (int i = 0; i < n; i++) {
		const pixman_box32_t *bx = &boxes[i];
		if ((uint32_t)bx->x2 > a->width || (uint32_t)bx->x2 > b->width ||
			(uint32_t)bx->y2 > a->height || (uint32_t)bx->y2 > b->height) {
			pixman_region32_union_rect(&out, &out, bx->x1, bx->y1,
				(unsigned)(bx->x2 - bx->x1), (unsigned)(bx->y2 - bx->y1));
			continue;
		}
		for (int32_t y = bx->y1; y < bx->y2; y++) {
			size_t lo, hi;
			if (diff_span(pa + (size_t)y * a->stride + (size_t)bx->x1 * 4,
				    pb + (size_t)y * b->stride + (size_t)bx->x1 * 4,
				    (size_t)(bx->x2 - bx->x1) * 4, &lo, &hi)) {
				span_acc_row(&acc, y, bx->x1 + (int32_t)(lo / 4),
					bx->x1 + (int32_t)((hi + 3) / 4));
			}
		}
		span_acc_flush(&acc);
	}
	pixman_region32_copy(d, &out);
	pixman_region32_fini(&out);
}

/* Shows resource r's pixels in box (resource coordinates, inside the
 * scanout's rectangle) on scanout sid as one frame and tells the listener.
 * The damage of a 2D resource shown there within the last DAMAGE_AGE_MAX
 * frames is exact: what transfers changed in it since, plus what the frames
 * shown since changed ("buffer age"), within box; otherwise all of box. */
static void scanout_show(struct vgpu_device *dev, unsigned sid, struct resource *r,
	const pixman_box32_t *box, uint64_t t_ns, bool present)
{
	const struct scanout *s = &dev->scanouts[sid];
	struct vgpu_device_hist *h = &dev->hist[sid];
	if (h->x != s->x || h->y != s->y || h->w != s->w || h->h != s->h) {
		/* Another rectangle: no earlier frame compares. */
		h->seq += DAMAGE_AGE_MAX + 1;
		h->x = s->x;
		h->y = s->y;
		h->w = s->w;
		h->h = s->h;
	}
	pixman_region32_t d;
	pixman_region32_init_rect(&d, box->x1, box->y1, (unsigned)(box->x2 - box->x1),
		(unsigned)(box->y2 - box->y1));
	uint64_t age = r->shown_seq[sid] ? h->seq - r->shown_seq[sid] : UINT64_MAX;
	bool exact = !r->is_3d && age < DAMAGE_AGE_MAX;
	/* The same bytes are other colours in another format: only a flip
	 * between resources of one format can say which pixels changed. */
	struct resource *prev = h->shown_id && h->shown_id != r->id ? res_find(dev, h->shown_id) :
		NULL;
	if (exact && h->shown_id && h->shown_id != r->id &&
		(!prev || prev->is_3d ||
			pixman_image_get_format(prev->image) != pixman_image_get_format(r->image))) {
		exact = false;
	}
	if (exact) {
		pixman_region32_t since;
		pixman_region32_init(&since);
		pixman_region32_copy(&since, &r->changed);
		for (uint64_t k = r->shown_seq[sid] + 1; k <= h->seq; k++) {
			pixman_region32_union(&since, &since, &h->frame[k % DAMAGE_AGE_MAX]);
		}
		pixman_region32_intersect(&d, &d, &since);
		pixman_region32_fini(&since);
		/* The frames since may have changed more than this resource
		 * differs from what is shown now: compare the two there, so
		 * that the history holds what each frame really changed (else
		 * it would only grow). Only while the shown resource still
		 * holds what it showed. */
		if (prev && prev->shown_seq[sid] == h->seq &&
			!pixman_region32_not_empty(&prev->changed)) {
			damage_refine(r, prev, &d);
		}
		region_cap(&d);
	}
	h->seq++;
	h->shown_id = r->id;
	pixman_region32_copy(&h->frame[h->seq % DAMAGE_AGE_MAX], &d);
	r->shown_seq[sid] = h->seq;
	if (!r->is_3d && !(r->scanout_mask & ~(1u << sid))) {
		/* Shown here only: what it showed is no longer news, and other
		 * scanouts that showed it before cannot tell what changed since. */
		pixman_region32_t b;
		pixman_region32_init_rect(&b, box->x1, box->y1, (unsigned)(box->x2 - box->x1),
			(unsigned)(box->y2 - box->y1));
		pixman_region32_subtract(&r->changed, &r->changed, &b);
		pixman_region32_fini(&b);
		for (unsigned i = 0; i < VGPU_MAX_SCANOUTS; i++) {
			if (i != sid) {
				r->shown_seq[i] = 0;
			}
		}
	}
	int n;
	const pixman_box32_t *boxes = pixman_region32_rectangles(&d, &n);
	emit_scanout(dev, sid, exact ? boxes : box, exact ? n : 1, t_ns, present, exact);
	pixman_region32_fini(&d);
}

static void scanout_disable(struct vgpu_device *dev, unsigned sid, uint64_t t_ns)
{
	struct scanout *s = &dev->scanouts[sid];
	if (s->res) {
		s->res->scanout_mask &= (uint16_t)~(1u << sid);
	}
	*s = (struct scanout){ 0 };
	/* It shows black now: no earlier frame compares. */
	dev->hist[sid].seq += DAMAGE_AGE_MAX + 1;
	dev->hist[sid].shown_id = 0;
	emit_scanout(dev, sid, NULL, 0, t_ns, true, false);
}

static bool rect_inside(uint32_t x, uint32_t y, uint32_t w, uint32_t h,
	const struct resource *r)
{
	return x <= r->width && w <= r->width - x && y <= r->height && h <= r->height - y;
}

/* ---- controlq commands ---- */

static uint32_t cmd_get_display_info(struct vgpu_device *dev, struct request *rq)
{
	struct virtio_gpu_resp_display_info *di = &rq->resp->display_info;
	memset(di, 0, sizeof(*di));
	for (unsigned i = 0; i < dev->num_scanouts; i++) {
		const struct vgpu_scanout_config *c = &dev->scanout_cfg[i];
		di->pmodes[i].r.width = htole32(c->width);
		di->pmodes[i].r.height = htole32(c->height);
		di->pmodes[i].enabled = htole32(c->enabled ? 1 : 0);
	}
	rq->resp_len = sizeof(*di);
	return VIRTIO_GPU_RESP_OK_DISPLAY_INFO;
}

static uint32_t cmd_get_edid(struct vgpu_device *dev, struct request *rq)
{
	uint32_t sid = le32toh(rq->cmd.get_edid.scanout);
	if (sid >= dev->num_scanouts) {
		return VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
	}
	const struct vgpu_scanout_config *c = &dev->scanout_cfg[sid];
	uint32_t w = c->width, h = c->height;
	if (w == 0 || h == 0) {
		/* Not shown anywhere: the spec's fallback mode. */
		w = 1024;
		h = 768;
	}
	/* Each connector of a multi-head guest gets its own monitor name. */
	char name[32];
	const char *base = dev->name ? dev->name : "virtio-zonal";
	if (dev->panel[sid].name[0]) {
		/* The zone client's panel it is shown on. */
		snprintf(name, sizeof(name), "%s", dev->panel[sid].name);
	} else if (dev->num_scanouts > 1) {
		snprintf(name, sizeof(name), "%.10s-%u", base, sid);
	} else {
		snprintf(name, sizeof(name), "%s", base);
	}
	struct virtio_gpu_resp_edid *re = &rq->resp->edid;
	memset(re, 0, sizeof(*re));
	int n = vgpu_edid_generate_mm(re->edid, sizeof(re->edid), w, h, c->refresh_hz, name,
		dev->panel[sid].w_mm, dev->panel[sid].h_mm);
	if (n < 0) {
		zl_dbg("gpu", "%s: no EDID for scanout %u (%ux%u@%u)", base, sid, w, h,
			c->refresh_hz);
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	re->size = htole32((uint32_t)n);
	rq->resp_len = sizeof(*re);
	return VIRTIO_GPU_RESP_OK_EDID;
}

static uint32_t cmd_resource_create_2d(struct vgpu_device *dev, struct request *rq)
{
	const struct virtio_gpu_resource_create_2d *c = &rq->cmd.create_2d;
	uint32_t id = le32toh(c->resource_id);
	uint32_t format = le32toh(c->format);
	uint32_t w = le32toh(c->width), h = le32toh(c->height);

	if (id == 0 || res_find(dev, id)) {
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	}
	pixman_format_code_t pf = vgpu_format_to_pixman(format);
	if (!pf) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	if (w == 0 || h == 0) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	/* pixman takes int sizes and strides and indexes rows with int
	 * arithmetic: keep the whole image below 2 GiB. */
	if (w > INT32_MAX / 4 || (uint64_t)w * 4 * h > INT32_MAX) {
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	}
	uint32_t stride = w * 4;
	uint64_t bytes = (uint64_t)stride * h;
	if (!quota_take(dev, sizeof(struct resource) + bytes)) {
		zl_dbg("gpu", "%s: resource %u (%ux%u) exceeds the quota", dev->name, id, w, h);
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	}
	struct resource *r = calloc(1, sizeof(*r));
	/* Zeroed like QEMU's: a guest may scan out before its first transfer. */
	void *pixels = calloc(1, (size_t)bytes);
	if (!r || !pixels) {
		goto err_alloc;
	}
	r->image = pixman_image_create_bits(pf, (int)w, (int)h, pixels, (int)stride);
	if (!r->image) {
		goto err_alloc;
	}
	pixman_image_set_destroy_function(r->image, free_pixels, pixels);
	r->id = id;
	r->width = w;
	r->height = h;
	r->stride = stride;
	pixman_region32_init(&r->changed);
	hash_insert(dev, r);
	return VIRTIO_GPU_RESP_OK_NODATA;

err_alloc:
	free(pixels);
	free(r);
	quota_give(dev, sizeof(struct resource) + bytes);
	return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
}

static uint32_t cmd_resource_unref(struct vgpu_device *dev, struct request *rq)
{
	struct resource *r = res_find(dev, le32toh(rq->cmd.unref.resource_id));
	if (!r) {
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	}
	if (r->scanout_mask) {
		zl_dbg("gpu", "%s: unref of resource %u refused: scanout mask 0x%x shows it",
			dev->name, le32toh(rq->cmd.unref.resource_id), r->scanout_mask);
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	res_destroy(dev, r);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_set_scanout(struct vgpu_device *dev, struct request *rq)
{
	const struct virtio_gpu_set_scanout *c = &rq->cmd.set_scanout;
	uint32_t sid = le32toh(c->scanout_id), id = le32toh(c->resource_id);
	uint32_t x = le32toh(c->r.x), y = le32toh(c->r.y);
	uint32_t w = le32toh(c->r.width), h = le32toh(c->r.height);

	if (sid >= dev->num_scanouts) {
		return VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
	}
	if (id == 0) {
		scanout_disable(dev, sid, rq->t_read_ns);
		return VIRTIO_GPU_RESP_OK_NODATA;
	}
	struct resource *r = res_find(dev, id);
	if (!r) {
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	}
	/* "Scanout rectangles must be completely covered by the underlying
	 * resource." */
	if (w == 0 || h == 0 || !rect_inside(x, y, w, h, r)) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	if (r->is_3d) {
		int ret = res3d_image(dev, r);
		if (ret < 0) {
			return ret == -ENOMEM ? VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY :
				VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
		}
	}
	struct scanout *s = &dev->scanouts[sid];
	if (s->res) {
		s->res->scanout_mask &= (uint16_t)~(1u << sid);
	}
	*s = (struct scanout){ .res = r, .x = x, .y = y, .w = w, .h = h };
	r->scanout_mask |= (uint16_t)(1u << sid);
	/* rect_inside() bounds these by the image's int-sized dimensions. */
	pixman_box32_t all = { (int32_t)x, (int32_t)y, (int32_t)(x + w), (int32_t)(y + h) };
	scanout_show(dev, sid, r, &all, rq->t_read_ns, false);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_resource_flush(struct vgpu_device *dev, struct request *rq)
{
	const struct virtio_gpu_resource_flush *c = &rq->cmd.flush;
	uint32_t x = le32toh(c->r.x), y = le32toh(c->r.y);
	uint32_t w = le32toh(c->r.width), h = le32toh(c->r.height);
	struct resource *r = res_find(dev, le32toh(c->resource_id));
	if (!r) {
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	}
	if (!rect_inside(x, y, w, h, r)) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	if (w == 0 || h == 0 || !r->scanout_mask) {
		return VIRTIO_GPU_RESP_OK_NODATA;
	}
	for (unsigned i = 0; i < dev->num_scanouts; i++) {
		const struct scanout *s = &dev->scanouts[i];
		if (s->res != r) {
			continue;
		}
		/* Everything here is inside the resource, so below INT32_MAX. */
		uint32_t x1 = x > s->x ? x : s->x;
		uint32_t y1 = y > s->y ? y : s->y;
		uint32_t x2 = x + w < s->x + s->w ? x + w : s->x + s->w;
		uint32_t y2 = y + h < s->y + s->h ? y + h : s->y + s->h;
		if (x1 >= x2 || y1 >= y2) {
			continue;
		}
		pixman_box32_t box = { (int32_t)x1, (int32_t)y1, (int32_t)x2, (int32_t)y2 };
		scanout_show(dev, i, r, &box, rq->t_read_ns, true);
	}
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_transfer_to_host_2d(struct vgpu_device *dev, struct request *rq)
{
	const struct virtio_gpu_transfer_to_host_2d *c = &rq->cmd.transfer;
	uint32_t x = le32toh(c->r.x), y = le32toh(c->r.y);
	uint32_t w = le32toh(c->r.width), h = le32toh(c->r.height);
	uint64_t offset = le64toh(c->offset);
	struct resource *r = res_find(dev, le32toh(c->resource_id));
	if (!r) {
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	}
	if (!rect_inside(x, y, w, h, r)) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	if (!r->entries) {
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	if (w == 0 || h == 0) {
		return VIRTIO_GPU_RESP_OK_NODATA;
	}
	if (r->is_3d) {
		/* As QEMU's virgl device: a 2D transfer into a 3D resource. */
		if (offset >= r->backing_size || r->target == PIPE_BUFFER) {
			return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
		}
		int ret = res3d_backing(dev, r);
		struct vgpu_renderer_box box = { x, y, 0, w, h, 1 };
		if (ret == 0) {
			ret = vgpu_renderer_transfer(dev->client, 0, r->id, true, 0, 0, 0, &box,
				offset, NULL, 0);
		}
		return ret < 0 ? errno_to_resp(ret) : VIRTIO_GPU_RESP_OK_NODATA;
	}
	/* Row i of the rect is read from offset + i * stride (the guest's
	 * offset already points at the rect's first pixel, as Linux computes
	 * it). All terms are below 2^62: no wrap before the comparison. */
	uint64_t row_bytes = (uint64_t)w * 4;
	uint64_t span = (uint64_t)(h - 1) * r->stride + row_bytes;
	if (offset > r->backing_size || span > r->backing_size - offset) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	int ret = backing_ensure(dev, r);
	if (ret < 0) {
		zl_dbg("gpu", "%s: resource %u backing not in guest RAM", dev->name, r->id);
		return ret == -ENOMEM ? VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY : VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	/* Row by row, copying only what differs: the rows' changed spans,
	 * merged while consecutive, are the resource's damage (a guest that
	 * transfers its whole buffer for a moving cursor costs a compare, not
	 * a frame). */
	uint8_t *pixels = (uint8_t *)pixman_image_get_data(r->image);
	uint8_t *dst = pixels + (size_t)y * r->stride + (size_t)x * 4;
	struct span_acc acc = { .out = &r->changed };
	for (uint32_t i = 0; i < h; i++) {
		size_t lo, hi;
		backing_sync(r, offset + (uint64_t)i * r->stride, dst, (size_t)row_bytes, &lo, &hi);
		dst += r->stride;
		if (lo < hi) {
			span_acc_row(&acc, (int32_t)(y + i), (int32_t)(x + lo / 4), (int32_t)(x + (hi + 3) / 4));
		}
	}
	span_acc_flush(&acc);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_attach_backing(struct vgpu_device *dev, struct request *rq)
{
	const struct virtio_gpu_resource_attach_backing *c = &rq->cmd.attach;
	uint32_t n = le32toh(c->nr_entries);
	struct resource *r = res_find(dev, le32toh(c->resource_id));
	if (!r) {
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	}
	if (r->entries) {
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	if (n == 0 || n > VGPU_MAX_BACKING_ENTRIES) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	size_t table = (size_t)n * sizeof(struct mem_entry);
	if (table > rq->len - sizeof(*c)) {
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	if (!quota_take(dev, table)) {
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	}
	struct mem_entry *e = malloc(table);
	if (!e) {
		quota_give(dev, table);
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	}
	vgpu_iov_to_buf(rq->iov, rq->n_iov, sizeof(*c), e, table);
	uint64_t size = 0;
	for (uint32_t i = 0; i < n; i++) {
		e[i].addr = le64toh(e[i].addr);
		e[i].length = le32toh(e[i].length);
		if (e[i].length == 0) {
			free(e);
			quota_give(dev, table);
			return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
		}
		/* At most 16384 * 4 GiB: no wrap. */
		size += e[i].length;
	}
	r->entries = e;
	r->n_entries = n;
	r->backing_size = size;
	/* Map now so a bad entry is reported to the guest at attach time. */
	mem_sync(dev);
	int ret = backing_map(dev, r);
	if (ret < 0) {
		backing_free(dev, r);
		if (ret == -ENOMEM) {
			return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
		}
		zl_dbg("gpu", "%s: resource %u backing outside guest RAM", dev->name, r->id);
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	if (r->is_3d) {
		ret = res3d_backing(dev, r);
		if (ret < 0) {
			backing_free(dev, r);
			return errno_to_resp(ret);
		}
	}
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_detach_backing(struct vgpu_device *dev, struct request *rq)
{
	struct resource *r = res_find(dev, le32toh(rq->cmd.detach.resource_id));
	if (!r) {
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	}
	if (!r->entries) {
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	backing_free(dev, r);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

/* ---- 3D (virglrenderer) ---- */
#define MAX_TEX_SIZE 16384u
#define MAX_TEX_3D 2048u
#define MAX_LAYERS 2048u
#define MAX_LEVELS 15u
#define MAX_SAMPLES 32u
#define MAX_SUBMIT_BYTES (16u << 20)

static uint32_t errno_to_resp(int ret)
{
	switch (ret) {
	case -ENOMEM:
	case -ENOSPC:
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	case -EINVAL:
	case -ENOTSUP:
	case -ENOENT:
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	default:
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
}

/* Gives the renderer the resource's backing as it maps in the current
 * memory table (again when the table changed). */
static int res3d_backing(struct vgpu_device *dev, struct resource *r)
{
	if (!r->entries) {
		return -EINVAL;
	}
	int ret = backing_ensure(dev, r);
	if (ret < 0) {
		return ret;
	}
	if (r->backing_in_renderer && r->renderer_epoch == r->segs_epoch) {
		return 0;
	}
	struct iovec *iov = malloc((size_t)r->n_segs * sizeof(*iov));
	if (!iov) {
		return -ENOMEM;
	}
	for (unsigned i = 0; i < r->n_segs; i++) {
		iov[i] = (struct iovec){ r->segs[i].host, (size_t)r->segs[i].len };
	}
	ret = vgpu_renderer_resource_attach_backing(dev->client, r->id, iov, (int)r->n_segs);
	free(iov);
	if (ret < 0) {
		return ret;
	}
	r->backing_in_renderer = true;
	r->renderer_epoch = r->segs_epoch;
	return 0;
}

/* The host copy a scanout of a 3D resource composes from. */
static int res3d_image(struct vgpu_device *dev, struct resource *r)
{
	if (r->image) {
		return 0;
	}
	pixman_format_code_t pf = vgpu_format_to_pixman(r->format);
	/* Scanouts show 2D textures of the 8 virtio formats (the virgl
	 * format numbers of those are the virtio ones). */
	if (!pf || (r->target != PIPE_TEXTURE_2D && r->target != PIPE_TEXTURE_RECT) ||
			r->width > INT32_MAX / 4 || (uint64_t)r->width * 4 * r->height > INT32_MAX) {
		return -EINVAL;
	}
	uint32_t stride = r->width * 4;
	uint64_t bytes = (uint64_t)stride * r->height;
	if (!quota_take(dev, bytes)) {
		return -ENOMEM;
	}
	void *pixels = calloc(1, (size_t)bytes);
	pixman_image_t *img = pixels ?
		pixman_image_create_bits(pf, (int)r->width, (int)r->height, pixels, (int)stride) : NULL;
	if (!img) {
		free(pixels);
		quota_give(dev, bytes);
		return -ENOMEM;
	}
	pixman_image_set_destroy_function(img, free_pixels, pixels);
	r->image = img;
	r->stride = stride;
	return 0;
}

/* Reads the box of a scanned-out 3D resource back into its host copy. */
static void res3d_readback(struct vgpu_device *dev, struct resource *r, const pixman_box32_t *b)
{
	if (!r->image || b->x2 <= b->x1 || b->y2 <= b->y1) {
		return;
	}
	struct vgpu_renderer_box box = {
		(uint32_t)b->x1, (uint32_t)b->y1, 0,
		(uint32_t)(b->x2 - b->x1), (uint32_t)(b->y2 - b->y1), 1,
	};
	struct iovec iov = {
		pixman_image_get_data(r->image), (size_t)r->stride * r->height,
	};
	uint64_t offset = (uint64_t)box.y * r->stride + (uint64_t)box.x * 4;
	int ret = vgpu_renderer_transfer(dev->client, 0, r->id, false, 0, r->stride, 0, &box,
		offset, &iov, 1);
	if (ret < 0) {
		zl_dbg("gpu", "%s: readback of resource %u failed: %d", dev->name, r->id, ret);
	}
}

static uint32_t cmd_get_capset_info(struct vgpu_device *dev, struct request *rq)
{
	uint32_t index = le32toh(rq->cmd.capset_info.capset_index);
	if (!dev->renderer) {
		return VIRTIO_GPU_RESP_ERR_UNSPEC; /* 2D only: no capsets offered */
	}
	if (index >= 2) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	uint32_t id = index == 0 ? VIRTIO_GPU_CAPSET_VIRGL : VIRTIO_GPU_CAPSET_VIRGL2;
	uint32_t ver = 0, size = 0;
	if (vgpu_renderer_capset_info(dev->renderer, id, &ver, &size) < 0) {
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	struct virtio_gpu_resp_capset_info *ci = &rq->resp->capset_info;
	memset(ci, 0, sizeof(*ci));
	ci->capset_id = htole32(id);
	ci->capset_max_version = htole32(ver);
	ci->capset_max_size = htole32(size);
	rq->resp_len = sizeof(*ci);
	return VIRTIO_GPU_RESP_OK_CAPSET_INFO;
}

static uint32_t cmd_get_capset(struct vgpu_device *dev, struct request *rq)
{
	uint32_t id = le32toh(rq->cmd.capset.capset_id);
	uint32_t version = le32toh(rq->cmd.capset.capset_version);
	uint32_t max_ver = 0, size = 0;
	if (!dev->renderer) {
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	/* Version 0 is what Linux sends for Mesa (which leaves it unset), and
	 * QEMU answers it: so do we. */
	if ((id != VIRTIO_GPU_CAPSET_VIRGL && id != VIRTIO_GPU_CAPSET_VIRGL2) ||
			vgpu_renderer_capset_info(dev->renderer, id, &max_ver, &size) < 0 ||
			version > max_ver) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	void *caps = NULL;
	uint32_t n = 0;
	if (vgpu_renderer_get_caps(dev->renderer, id, &caps, &n) < 0) {
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	rq->resp_extra = caps;
	rq->resp_extra_len = n;
	return VIRTIO_GPU_RESP_OK_CAPSET;
}

static uint32_t cmd_ctx_create(struct vgpu_device *dev, struct request *rq)
{
	const struct virtio_gpu_ctx_create *c = &rq->cmd.ctx_create;
	uint32_t ctx = le32toh(c->hdr.ctx_id), nlen = le32toh(c->nlen);
	uint32_t init = le32toh(c->context_init);
	if (!dev->client) {
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	if (ctx == 0) {
		return VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;
	}
	/* context_init: the capset id in the low byte; nothing else is
	 * defined (and CONTEXT_INIT must have been negotiated for it). */
	uint32_t capset = init & 0xff;
	if ((init & ~0xffu) || (capset && !(dev->features & (1ull << VIRTIO_GPU_F_CONTEXT_INIT))) ||
			capset > VIRTIO_GPU_CAPSET_VIRGL2) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	char name[sizeof(c->debug_name) + 1];
	size_t len = nlen < sizeof(c->debug_name) ? nlen : sizeof(c->debug_name);
	for (size_t i = 0; i < len; i++) {
		char ch = c->debug_name[i];
		name[i] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	name[len] = 0;
	int ret = vgpu_renderer_ctx_create(dev->client, ctx, capset, name);
	if (ret == -EEXIST) {
		return VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;
	}
	return ret < 0 ? errno_to_resp(ret) : VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_ctx_destroy(struct vgpu_device *dev, struct request *rq)
{
	if (!dev->client ||
			vgpu_renderer_ctx_destroy(dev->client, le32toh(rq->cmd.hdr.ctx_id)) < 0) {
		return VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;
	}
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t ctx_attach_detach(struct vgpu_device *dev, struct request *rq, bool attach)
{
	uint32_t ctx = le32toh(rq->cmd.ctx_res.hdr.ctx_id);
	struct resource *r = res_find(dev, le32toh(rq->cmd.ctx_res.resource_id));
	if (!dev->client) {
		return VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;
	}
	if (!r) {
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	}
	if (!r->is_3d) {
		return VIRTIO_GPU_RESP_OK_NODATA;
	}
	int ret = attach ? vgpu_renderer_ctx_attach(dev->client, ctx, r->id) :
		vgpu_renderer_ctx_detach(dev->client, ctx, r->id);
	return ret < 0 ? VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID : VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_ctx_attach(struct vgpu_device *dev, struct request *rq)
{
	return ctx_attach_detach(dev, rq, true);
}

static uint32_t cmd_ctx_detach(struct vgpu_device *dev, struct request *rq)
{
	return ctx_attach_detach(dev, rq, false);
}

static bool target_layered(uint32_t target)
{
	return target == PIPE_TEXTURE_1D_ARRAY || target == PIPE_TEXTURE_2D_ARRAY ||
		target == PIPE_TEXTURE_CUBE || target == PIPE_TEXTURE_CUBE_ARRAY;
}

static uint32_t cmd_resource_create_3d(struct vgpu_device *dev, struct request *rq)
{
	const struct virtio_gpu_resource_create_3d *c = &rq->cmd.create_3d;
	uint32_t id = le32toh(c->resource_id);
	struct vgpu_renderer_resource_args a = {
		.target = le32toh(c->target), .format = le32toh(c->format),
		.bind = le32toh(c->bind), .width = le32toh(c->width),
		.height = le32toh(c->height), .depth = le32toh(c->depth),
		.array_size = le32toh(c->array_size), .last_level = le32toh(c->last_level),
		.nr_samples = le32toh(c->nr_samples), .flags = le32toh(c->flags),
	};
	if (!dev->client) {
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	if (id == 0 || res_find(dev, id)) {
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	}
	/* Checked here, before virglrenderer sees any of it. */
	bool is_buffer = a.target == PIPE_BUFFER;
	uint32_t max_w = is_buffer ? (1u << 30) : MAX_TEX_SIZE;
	if (a.target >= PIPE_MAX_TEXTURE_TYPES || a.width == 0 || a.width > max_w ||
			a.height == 0 || a.height > MAX_TEX_SIZE || a.depth == 0 ||
			a.depth > MAX_TEX_3D || a.array_size == 0 || a.array_size > MAX_LAYERS ||
			a.last_level >= MAX_LEVELS || a.nr_samples > MAX_SAMPLES ||
			(a.target != PIPE_TEXTURE_3D && a.depth != 1) ||
			(!target_layered(a.target) && a.array_size != 1) ||
			(is_buffer && (a.height != 1 || a.last_level != 0)) ||
			(a.target == PIPE_TEXTURE_1D && a.height != 1)) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	/* Quota: 4 bytes a texel, every layer, plus a third for mip levels. */
	uint64_t texels = (uint64_t)a.width * a.height * a.depth * a.array_size;
	uint64_t bytes = texels * (is_buffer ? 1 : 4);
	if (a.last_level) {
		bytes += bytes / 3;
	}
	if (a.nr_samples > 1) {
		bytes *= a.nr_samples;
	}
	if (!quota_take(dev, sizeof(struct resource) + bytes)) {
		zl_dbg("gpu", "%s: 3D resource %u (%ux%ux%u) exceeds the quota", dev->name, id,
			a.width, a.height, a.depth);
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	}
	struct resource *r = calloc(1, sizeof(*r));
	if (!r) {
		quota_give(dev, sizeof(struct resource) + bytes);
		return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
	}
	int ret = vgpu_renderer_resource_create(dev->client, id, &a, NULL);
	if (ret < 0) {
		free(r);
		quota_give(dev, sizeof(struct resource) + bytes);
		return errno_to_resp(ret);
	}
	r->id = id;
	r->is_3d = true;
	pixman_region32_init(&r->changed);
	r->width = a.width;
	r->height = a.height;
	r->depth = a.depth;
	r->array_size = a.array_size;
	r->last_level = a.last_level;
	r->target = a.target;
	r->format = a.format;
	r->charged = bytes;
	hash_insert(dev, r);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_transfer_3d(struct vgpu_device *dev, struct request *rq, bool to_host)
{
	const struct virtio_gpu_transfer_host_3d *c = &rq->cmd.transfer_3d;
	struct vgpu_renderer_box box = {
		le32toh(c->box.x), le32toh(c->box.y), le32toh(c->box.z),
		le32toh(c->box.w), le32toh(c->box.h), le32toh(c->box.d),
	};
	uint32_t level = le32toh(c->level), ctx = le32toh(c->hdr.ctx_id);
	uint32_t stride = le32toh(c->stride), layer_stride = le32toh(c->layer_stride);
	uint64_t offset = le64toh(c->offset);
	struct resource *r = res_find(dev, le32toh(c->resource_id));
	if (!r || !r->is_3d) {
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	}
	if (!r->entries) {
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	/* The box lies inside the level; a depth (or layers) only where the
	 * target has them; the offset inside the backing. virglrenderer
	 * checks the byte span against the backing again. */
	uint32_t lw = r->width >> level, lh = r->height >> level, ld = r->depth >> level;
	uint32_t lz = target_layered(r->target) ? r->array_size : (ld ? ld : 1);
	lw = lw ? lw : 1;
	lh = lh ? lh : 1;
	if (level > r->last_level || box.w == 0 || box.h == 0 || box.d == 0 ||
			box.x > lw || box.w > lw - box.x || box.y > lh || box.h > lh - box.y ||
			box.z > lz || box.d > lz - box.z ||
			(r->target != PIPE_TEXTURE_3D && !target_layered(r->target) && box.d != 1) ||
			offset >= r->backing_size ||
			(stride && stride > r->backing_size) ||
			(layer_stride && layer_stride > r->backing_size)) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	/* The span the guest's strides describe, at one byte a texel (a lower
	 * bound whatever the format), must lie in the backing. virglrenderer
	 * checks the exact span too, but it also marks the context as broken
	 * when it refuses one. Every term is below 2^46: no wrap. */
	uint64_t span = (uint64_t)box.w;
	if (stride) {
		span += (uint64_t)(box.h - 1) * stride;
	}
	if (layer_stride) {
		span += (uint64_t)(box.d - 1) * layer_stride;
	}
	if (span > r->backing_size - offset) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	int ret = res3d_backing(dev, r);
	if (ret < 0) {
		return ret == -ENOMEM ? VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY : VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	ret = vgpu_renderer_transfer(dev->client, ctx, r->id, to_host, level, stride, layer_stride,
		&box, offset, NULL, 0);
	if (ret == -ENXIO) {
		return VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;
	}
	return ret < 0 ? VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER : VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_transfer_to_host_3d(struct vgpu_device *dev, struct request *rq)
{
	return cmd_transfer_3d(dev, rq, true);
}

static uint32_t cmd_transfer_from_host_3d(struct vgpu_device *dev, struct request *rq)
{
	return cmd_transfer_3d(dev, rq, false);
}

static uint32_t cmd_submit_3d(struct vgpu_device *dev, struct request *rq)
{
	const struct virtio_gpu_cmd_submit *c = &rq->cmd.submit;
	uint32_t size = le32toh(c->size), ctx = le32toh(c->hdr.ctx_id);
	if (!dev->client) {
		return VIRTIO_GPU_RESP_ERR_UNSPEC;
	}
	if (size % 4 || size > MAX_SUBMIT_BYTES || size > rq->len - sizeof(*c)) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	if (size == 0) {
		return VIRTIO_GPU_RESP_OK_NODATA;
	}
	size_t ndw = size / 4;
	if (ndw > dev->submit_cap) {
		uint32_t *b = realloc(dev->submit_buf, ndw * 4);
		if (!b) {
			return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
		}
		dev->submit_buf = b;
		dev->submit_cap = ndw;
	}
	/* Our own copy: the guest can change its buffer while we decode. */
	vgpu_iov_to_buf(rq->iov, rq->n_iov, sizeof(*c), dev->submit_buf, size);
	for (size_t i = 0; i < ndw; i++) {
		dev->submit_buf[i] = le32toh(dev->submit_buf[i]);
	}
	int ret = vgpu_renderer_submit(dev->client, ctx, dev->submit_buf, (uint32_t)ndw);
	if (ret == -ENXIO) {
		return VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID;
	}
	if (ret < 0) {
		zl_dbg("gpu", "%s: ctx %u: SUBMIT_3D of %u bytes refused: %d", dev->name, ctx, size, ret);
		return errno_to_resp(ret);
	}
	return VIRTIO_GPU_RESP_OK_NODATA;
}

/* ---- cursorq commands ---- */

static void emit_cursor(struct vgpu_device *dev, unsigned sid, pixman_image_t *image,
	uint32_t hot_x, uint32_t hot_y, uint32_t x, uint32_t y)
{
	if (image) {
		dev->cursor_shown |= (uint16_t)(1u << sid);
	} else {
		dev->cursor_shown &= (uint16_t)~(1u << sid);
	}
	if (dev->listener.cursor_update) {
		dev->listener.cursor_update(dev->data, sid, image, hot_x, hot_y, x, y);
	}
}

static uint32_t cmd_update_cursor(struct vgpu_device *dev, struct request *rq)
{
	const struct virtio_gpu_update_cursor *c = &rq->cmd.cursor;
	uint32_t sid = le32toh(c->pos.scanout_id);
	uint32_t x = le32toh(c->pos.x), y = le32toh(c->pos.y);
	uint32_t id = le32toh(c->resource_id);
	uint32_t hot_x = le32toh(c->hot_x), hot_y = le32toh(c->hot_y);
	if (sid >= dev->num_scanouts) {
		return VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
	}
	if (id == 0) {
		emit_cursor(dev, sid, NULL, 0, 0, x, y);
		return VIRTIO_GPU_RESP_OK_NODATA;
	}
	struct resource *r = res_find(dev, id);
	if (!r) {
		return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
	}
	if (r->width != CURSOR_SIZE || r->height != CURSOR_SIZE ||
			hot_x >= CURSOR_SIZE || hot_y >= CURSOR_SIZE) {
		return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
	}
	if (r->is_3d) {
		/* A GL-rendered cursor: read the whole image back. */
		if (res3d_image(dev, r) < 0) {
			return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
		}
		pixman_box32_t all = { 0, 0, CURSOR_SIZE, CURSOR_SIZE };
		res3d_readback(dev, r, &all);
	}
	/* Whatever the resource's format, the listener gets a8r8g8b8 (x8
	 * formats come out opaque). */
	pixman_image_composite32(PIXMAN_OP_SRC, r->image, NULL, dev->cursor,
		0, 0, 0, 0, 0, 0, CURSOR_SIZE, CURSOR_SIZE);
	emit_cursor(dev, sid, dev->cursor, hot_x, hot_y, x, y);
	return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_move_cursor(struct vgpu_device *dev, struct request *rq)
{
	const struct virtio_gpu_update_cursor *c = &rq->cmd.cursor;
	uint32_t sid = le32toh(c->pos.scanout_id);
	if (sid >= dev->num_scanouts) {
		return VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
	}
	if (dev->listener.cursor_move) {
		dev->listener.cursor_move(dev->data, sid, le32toh(c->pos.x), le32toh(c->pos.y));
	}
	return VIRTIO_GPU_RESP_OK_NODATA;
}

/* ---- dispatch ---- */

struct cmd_desc {
	size_t size;            /* the request must hold at least this */
	uint32_t (*handle)(struct vgpu_device *dev, struct request *rq);
};

#define CTRL_BASE VIRTIO_GPU_CMD_GET_DISPLAY_INFO
static const struct cmd_desc ctrl_cmds[] = {
	[VIRTIO_GPU_CMD_GET_DISPLAY_INFO - CTRL_BASE] =
		{ sizeof(struct virtio_gpu_ctrl_hdr), cmd_get_display_info },
	[VIRTIO_GPU_CMD_RESOURCE_CREATE_2D - CTRL_BASE] =
		{ sizeof(struct virtio_gpu_resource_create_2d), cmd_resource_create_2d },
	[VIRTIO_GPU_CMD_RESOURCE_UNREF - CTRL_BASE] =
		{ sizeof(struct virtio_gpu_resource_unref), cmd_resource_unref },
	[VIRTIO_GPU_CMD_SET_SCANOUT - CTRL_BASE] =
		{ sizeof(struct virtio_gpu_set_scanout), cmd_set_scanout },
	[VIRTIO_GPU_CMD_RESOURCE_FLUSH - CTRL_BASE] =
		{ sizeof(struct virtio_gpu_resource_flush), cmd_resource_flush },
	[VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D - CTRL_BASE] =
		{ sizeof(struct virtio_gpu_transfer_to_host_2d), cmd_transfer_to_host_2d },
	[VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING - CTRL_BASE] =
		{ sizeof(struct virtio_gpu_resource_attach_backing), cmd_attach_backing },
	[VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING - CTRL_BASE] =
		{ sizeof(struct virtio_gpu_resource_detach_backing), cmd_detach_backing },
	[VIRTIO_GPU_CMD_GET_EDID - CTRL_BASE] =
		{ sizeof(struct virtio_gpu_cmd_get_edid), cmd_get_edid },
	[VIRTIO_GPU_CMD_GET_CAPSET_INFO - CTRL_BASE] =
		{ sizeof(struct virtio_gpu_get_capset_info), cmd_get_capset_info },
	[VIRTIO_GPU_CMD_GET_CAPSET - CTRL_BASE] =
		{ sizeof(struct virtio_gpu_get_capset), cmd_get_capset },
	/* RESOURCE_ASSIGN_UUID, blobs: features not offered. */
};

/* 3D commands: their own range (0x0200...). */
#define CTRL3D_BASE VIRTIO_GPU_CMD_CTX_CREATE
static const struct cmd_desc ctrl3d_cmds[] = {
	[VIRTIO_GPU_CMD_CTX_CREATE - CTRL3D_BASE] =
		{ sizeof(struct virtio_gpu_ctx_create), cmd_ctx_create },
	[VIRTIO_GPU_CMD_CTX_DESTROY - CTRL3D_BASE] =
		{ sizeof(struct virtio_gpu_ctrl_hdr), cmd_ctx_destroy },
	[VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE - CTRL3D_BASE] =
		{ sizeof(struct virtio_gpu_ctx_resource), cmd_ctx_attach },
	[VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE - CTRL3D_BASE] =
		{ sizeof(struct virtio_gpu_ctx_resource), cmd_ctx_detach },
	[VIRTIO_GPU_CMD_RESOURCE_CREATE_3D - CTRL3D_BASE] =
		{ sizeof(struct virtio_gpu_resource_create_3d), cmd_resource_create_3d },
	[VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D - CTRL3D_BASE] =
		{ sizeof(struct virtio_gpu_transfer_host_3d), cmd_transfer_to_host_3d },
	[VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D - CTRL3D_BASE] =
		{ sizeof(struct virtio_gpu_transfer_host_3d), cmd_transfer_from_host_3d },
	[VIRTIO_GPU_CMD_SUBMIT_3D - CTRL3D_BASE] =
		{ sizeof(struct virtio_gpu_cmd_submit), cmd_submit_3d },
};

#define CURSOR_BASE VIRTIO_GPU_CMD_UPDATE_CURSOR
static const struct cmd_desc cursor_cmds[] = {
	[VIRTIO_GPU_CMD_UPDATE_CURSOR - CURSOR_BASE] =
		{ sizeof(struct virtio_gpu_update_cursor), cmd_update_cursor },
	[VIRTIO_GPU_CMD_MOVE_CURSOR - CURSOR_BASE] =
		{ sizeof(struct virtio_gpu_update_cursor), cmd_move_cursor },
};

static const struct cmd_desc *find_cmd(const struct vgpu_device *dev, bool cursorq, uint32_t cmd)
{
	const struct cmd_desc *table;
	size_t n;
	uint32_t base;
	if (cursorq) {
		table = cursor_cmds;
		n = sizeof(cursor_cmds) / sizeof(cursor_cmds[0]);
		base = CURSOR_BASE;
	} else if (cmd >= CTRL3D_BASE && dev->renderer) {
		table = ctrl3d_cmds;
		n = sizeof(ctrl3d_cmds) / sizeof(ctrl3d_cmds[0]);
		base = CTRL3D_BASE;
	} else {
		table = ctrl_cmds;
		n = sizeof(ctrl_cmds) / sizeof(ctrl_cmds[0]);
		base = CTRL_BASE;
	}
	if (cmd >= base && cmd - base < n && table[cmd - base].handle) {
		return &table[cmd - base];
	}
	return NULL;
}

static void pending_done(void *data)
{
	struct pending *p = data;
	struct vgpu_device *dev = p->dev;
	for (struct pending **pp = &dev->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	uint64_t cookie = p->cookie;
	free(p);
	if (dev->listener.request_done) {
		dev->listener.request_done(dev->data, cookie);
	}
}

/* Holds a fenced request back until the GPU has passed everything the guest
 * submitted before it: on the guest's one timeline (the renderer's ordered
 * one), or on a context's ring when the guest asks for that. */
static bool defer_fence(struct vgpu_device *dev, uint32_t flags, uint32_t ctx, uint32_t ring,
	uint64_t cookie)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (!p) {
		return false;
	}
	p->dev = dev;
	p->cookie = cookie;
	bool per_ring = (flags & VIRTIO_GPU_FLAG_INFO_RING_IDX) != 0;
	int ret = vgpu_renderer_fence(dev->client, per_ring ? ctx : 0, per_ring ? ring : 0,
		pending_done, p);
	if (ret < 0) {
		zl_dbg("gpu", "%s: fence (ctx %u ring %u) not queued: %d; answering now",
			dev->name, ctx, ring, ret);
		free(p);
		return false;
	}
	p->next = dev->pending;
	dev->pending = p;
	return true;
}

static void pending_forget(struct vgpu_device *dev)
{
	/* The renderer client that would call them back is gone. */
	while (dev->pending) {
		struct pending *p = dev->pending;
		dev->pending = p->next;
		free(p);
	}
}

static size_t process(struct vgpu_device *dev, bool cursorq, const struct iovec *req,
	unsigned n_req, const struct iovec *resp, unsigned n_resp, uint64_t t_read_ns,
	uint64_t cookie, bool *deferred)
{
	if (deferred) {
		*deferred = false;
	}
	size_t resp_cap = vgpu_iov_size(resp, n_resp);
	if (!dev || resp_cap < sizeof(struct virtio_gpu_ctrl_hdr)) {
		/* Nowhere to answer; the command is not run either, so a guest
		 * never has side effects it cannot learn the outcome of. */
		return 0;
	}
	union resp_buf out;
	struct request rq = {
		.iov = req,
		.n_iov = n_req,
		.len = vgpu_iov_size(req, n_req),
		.t_read_ns = t_read_ns,
		.resp = &out,
		.resp_len = sizeof(struct virtio_gpu_ctrl_hdr),
	};
	memset(&rq.cmd.hdr, 0, sizeof(rq.cmd.hdr));
	uint32_t type = VIRTIO_GPU_RESP_ERR_UNSPEC;
	if (rq.len >= sizeof(struct virtio_gpu_ctrl_hdr)) {
		vgpu_iov_to_buf(req, n_req, 0, &rq.cmd.hdr, sizeof(rq.cmd.hdr));
		uint32_t cmd = le32toh(rq.cmd.hdr.type);
		const struct cmd_desc *d = find_cmd(dev, cursorq, cmd);
		if (!d) {
			zl_dbg("gpu", "%s: command 0x%x not supported here", dev->name, cmd);
		} else if (rq.len < d->size) {
			zl_dbg("gpu", "%s: command 0x%x: %zu-byte request", dev->name, cmd, rq.len);
		} else {
			vgpu_iov_to_buf(req, n_req, 0, &rq.cmd, d->size);
			type = d->handle(dev, &rq);
			if (type >= VIRTIO_GPU_RESP_ERR_UNSPEC) {
				zl_dbg("gpu", "%s: command 0x%x failed: 0x%x", dev->name, cmd, type);
			}
		}
	}
	if (type >= VIRTIO_GPU_RESP_ERR_UNSPEC) {
		rq.resp_len = sizeof(struct virtio_gpu_ctrl_hdr);
		free(rq.resp_extra);
		rq.resp_extra = NULL;
		rq.resp_extra_len = 0;
	}
	if (rq.resp_len + rq.resp_extra_len > resp_cap) {
		/* A data response that does not fit: say so in the header. */
		type = VIRTIO_GPU_RESP_ERR_UNSPEC;
		rq.resp_len = sizeof(struct virtio_gpu_ctrl_hdr);
		rq.resp_extra_len = 0;
	}

	struct virtio_gpu_ctrl_hdr *h = &out.hdr;
	uint32_t flags = le32toh(rq.cmd.hdr.flags);
	memset(h, 0, sizeof(*h));
	h->type = htole32(type);
	if (flags & VIRTIO_GPU_FLAG_FENCE) {
		uint32_t rflags = VIRTIO_GPU_FLAG_FENCE;
		h->fence_id = rq.cmd.hdr.fence_id;
		h->ctx_id = rq.cmd.hdr.ctx_id;
		if (flags & VIRTIO_GPU_FLAG_INFO_RING_IDX) {
			rflags |= VIRTIO_GPU_FLAG_INFO_RING_IDX;
			h->ring_idx = rq.cmd.hdr.ring_idx;
		}
		h->flags = htole32(rflags);
		/* 2D-only, or a caller that cannot defer: everything is done
		 * already (2D) or as good as the caller can have it. */
		if (dev->client && deferred) {
			*deferred = defer_fence(dev, flags, le32toh(rq.cmd.hdr.ctx_id),
				rq.cmd.hdr.ring_idx, cookie);
		}
	}
	size_t n = vgpu_buf_to_iov(resp, n_resp, 0, &out, rq.resp_len);
	if (rq.resp_extra_len) {
		n += vgpu_buf_to_iov(resp, n_resp, n, rq.resp_extra, rq.resp_extra_len);
	}
	free(rq.resp_extra);
	return n;
}

size_t vgpu_device_process_ctrl(struct vgpu_device *dev,
	const struct iovec *req, unsigned n_req,
	const struct iovec *resp, unsigned n_resp, uint64_t t_read_ns)
{
	return process(dev, false, req, n_req, resp, n_resp, t_read_ns, 0, NULL);
}

size_t vgpu_device_process_ctrl_async(struct vgpu_device *dev,
	const struct iovec *req, unsigned n_req,
	const struct iovec *resp, unsigned n_resp, uint64_t t_read_ns,
	uint64_t cookie, bool *deferred)
{
	return process(dev, false, req, n_req, resp, n_resp, t_read_ns, cookie, deferred);
}

size_t vgpu_device_process_cursor(struct vgpu_device *dev,
	const struct iovec *req, unsigned n_req,
	const struct iovec *resp, unsigned n_resp)
{
	/* Linux posts cursor commands without a response buffer: run them
	 * anyway, there is just nothing to write back. */
	if (dev && vgpu_iov_size(resp, n_resp) < sizeof(struct virtio_gpu_ctrl_hdr)) {
		struct virtio_gpu_update_cursor sink;
		struct iovec sink_iov = { .iov_base = &sink, .iov_len = sizeof(sink) };
		process(dev, true, req, n_req, &sink_iov, 1, 0, 0, NULL);
		return 0;
	}
	return process(dev, true, req, n_req, resp, n_resp, 0, 0, NULL);
}

/* ---- device ---- */

static void destroy_all_resources(struct vgpu_device *dev)
{
	for (unsigned i = 0; i < dev->n_buckets; i++) {
		while (dev->buckets[i]) {
			res_destroy(dev, dev->buckets[i]);
		}
	}
}

struct vgpu_device *vgpu_device_create(const struct vgpu_device_config *config,
	const struct vgpu_listener *listener, void *data)
{
	if (!config || config->num_scanouts < 1 || config->num_scanouts > VGPU_MAX_SCANOUTS) {
		return NULL;
	}
	struct vgpu_device *dev = calloc(1, sizeof(*dev));
	if (!dev) {
		return NULL;
	}
	for (unsigned i = 0; i < VGPU_MAX_SCANOUTS; i++) {
		for (unsigned k = 0; k < DAMAGE_AGE_MAX; k++) {
			pixman_region32_init(&dev->hist[i].frame[k]); /* allocates nothing */
		}
	}
	dev->name = strdup(config->name ? config->name : "guest");
	if (!dev->name) {
		goto err_name;
	}
	dev->hash_bits = HASH_MIN_BITS;
	dev->n_buckets = 1u << HASH_MIN_BITS;
	if (getrandom(&dev->hash_seed, sizeof(dev->hash_seed), GRND_NONBLOCK) !=
			sizeof(dev->hash_seed)) {
		dev->hash_seed = (uint32_t)(uintptr_t)dev ^ (uint32_t)zl_now_ns();
	}
	dev->buckets = calloc(dev->n_buckets, sizeof(*dev->buckets));
	if (!dev->buckets) {
		goto err_buckets;
	}
	dev->cursor = pixman_image_create_bits(PIXMAN_a8r8g8b8, CURSOR_SIZE, CURSOR_SIZE,
		dev->cursor_pixels, CURSOR_SIZE * 4);
	if (!dev->cursor) {
		goto err_cursor;
	}
	dev->num_scanouts = config->num_scanouts;
	memcpy(dev->scanout_cfg, config->scanouts, sizeof(dev->scanout_cfg));
	if (listener) {
		dev->listener = *listener;
	}
	dev->data = data;
	dev->quota = config->quota_bytes ? config->quota_bytes : VGPU_DEFAULT_QUOTA;
	dev->renderer = config->renderer;
	dev->gl_scanouts = config->gl_scanouts;
	if (dev->renderer) {
		dev->client = vgpu_renderer_client_create(dev->renderer, dev->name);
		if (!dev->client) {
			goto err_client;
		}
	}
	/* Epoch 0 is what a never-built backing view carries. */
	dev->mem_epoch = 1;
	return dev;

err_client:
	pixman_image_unref(dev->cursor);
err_cursor:
	free(dev->buckets);
err_buckets:
	free(dev->name);
err_name:
	free(dev);
	return NULL;
}

void vgpu_device_destroy(struct vgpu_device *dev)
{
	if (!dev) {
		return;
	}
	/* The listener is not called: its owner is tearing us down. Images it
	 * still holds stay valid until it unrefs them. */
	destroy_all_resources(dev);
	vgpu_renderer_client_destroy(dev->client);
	pending_forget(dev);
	free(dev->submit_buf);
	pixman_image_unref(dev->cursor);
	for (unsigned i = 0; i < VGPU_MAX_SCANOUTS; i++) {
		for (unsigned k = 0; k < DAMAGE_AGE_MAX; k++) {
			pixman_region32_fini(&dev->hist[i].frame[k]);
		}
	}
	free(dev->buckets);
	free(dev->name);
	free(dev);
}

uint64_t vgpu_device_features(const struct vgpu_device *dev)
{
	uint64_t f = 1ull << VIRTIO_GPU_F_EDID;
	if (dev->renderer) {
		f |= 1ull << VIRTIO_GPU_F_VIRGL | 1ull << VIRTIO_GPU_F_CONTEXT_INIT;
	}
	return f;
}

void vgpu_device_set_features(struct vgpu_device *dev, uint64_t acked)
{
	dev->features = acked & vgpu_device_features(dev);
}

void vgpu_device_set_mem(struct vgpu_device *dev, const struct vgpu_mem *mem)
{
	dev->mem = mem;
	/* Another table object: every view is stale even if it looks alike. */
	dev->mem_epoch++;
	dev->mem_seen_n = 0;
	mem_sync(dev);
}

void vgpu_device_reset(struct vgpu_device *dev)
{
	for (unsigned i = 0; i < dev->num_scanouts; i++) {
		if (dev->scanouts[i].res) {
			scanout_disable(dev, i, 0);
		}
		if (dev->cursor_shown & (1u << i)) {
			emit_cursor(dev, i, NULL, 0, 0, 0, 0);
		}
	}
	destroy_all_resources(dev);
	if (dev->client) {
		/* Every context of the guest goes, and nothing of anyone else. */
		vgpu_renderer_client_destroy(dev->client);
		pending_forget(dev);
		dev->client = vgpu_renderer_client_create(dev->renderer, dev->name);
		if (!dev->client) {
			zl_err("gpu: %s: no renderer client after reset; 3D is off", dev->name);
		}
	}
	dev->features = 0;
	dev->events_read = 0;
}

void vgpu_device_get_config(const struct vgpu_device *dev, struct virtio_gpu_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->events_read = htole32(dev->events_read);
	cfg->num_scanouts = htole32(dev->num_scanouts);
	cfg->num_capsets = htole32(dev->renderer ? 2 : 0);
}

void vgpu_device_clear_events(struct vgpu_device *dev, uint32_t events_clear)
{
	dev->events_read &= ~events_clear;
}

void vgpu_device_set_scanout_panel(struct vgpu_device *dev, unsigned scanout_id,
	const char *name, uint32_t w_mm, uint32_t h_mm)
{
	if (scanout_id >= VGPU_MAX_SCANOUTS) {
		return;
	}
	snprintf(dev->panel[scanout_id].name, sizeof(dev->panel[scanout_id].name), "%s",
		name ? name : "");
	dev->panel[scanout_id].w_mm = name ? w_mm : 0;
	dev->panel[scanout_id].h_mm = name ? h_mm : 0;
}

bool vgpu_device_set_scanout_enabled(struct vgpu_device *dev, unsigned scanout_id, bool enabled)
{
	if (scanout_id >= dev->num_scanouts || dev->scanout_cfg[scanout_id].enabled == enabled) {
		return false;
	}
	dev->scanout_cfg[scanout_id].enabled = enabled;
	dev->events_read |= VIRTIO_GPU_EVENT_DISPLAY;
	return true;
}

uint64_t vgpu_device_memory_used(const struct vgpu_device *dev)
{
	return dev->used;
}
