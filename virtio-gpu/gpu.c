/* SPDX-License-Identifier: MIT */
#include "gpu.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

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
 * - The listener must not call back into vgpu_device_process_*(). */

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

struct resource {
	struct resource *hash_next;
	uint32_t id;
	uint32_t width, height, stride;
	pixman_image_t *image;  /* owns its pixels (freed with the last ref) */
	uint16_t scanout_mask;  /* scanouts showing this resource */

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
	struct scanout scanouts[VGPU_MAX_SCANOUTS];
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

	pixman_image_t *cursor;
	uint32_t cursor_pixels[CURSOR_SIZE * CURSOR_SIZE];
	uint16_t cursor_shown;  /* scanouts whose cursor the listener shows */
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
};

union resp_buf {
	struct virtio_gpu_ctrl_hdr hdr;
	struct virtio_gpu_resp_display_info display_info;
	struct virtio_gpu_resp_edid edid;
};

struct request {
	union cmd_buf cmd;
	const struct iovec *iov;
	unsigned n_iov;
	size_t len;             /* bytes the driver wrote */
	uint64_t t_read_ns;
	union resp_buf *resp;   /* handlers with data fill it past the header */
	size_t resp_len;        /* sizeof the response they produced */
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
	backing_free(dev, r);
	quota_give(dev, sizeof(*r) + res_pixel_bytes(r));
	/* A listener may still hold a ref; the pixels go with the last one. */
	pixman_image_unref(r->image);
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

static void backing_read(struct resource *r, uint64_t off, uint8_t *dst, size_t len)
{
	/* Rows go forward: the next row mostly starts in the segment where the
	 * last one ended, or the one after; otherwise search. */
	unsigned i = r->seg_hint;
	if (!seg_holds(r, i, off)) {
		i = seg_holds(r, i + 1, off) ? i + 1 : seg_lookup(r, off);
	}
	while (len > 0 && i < r->n_segs) {
		const struct backing_seg *s = &r->segs[i];
		if (off - s->off >= s->len) {
			i++;
			continue;
		}
		uint64_t in = off - s->off;
		uint64_t chunk = s->len - in;
		if (chunk > len) {
			chunk = len;
		}
		memcpy(dst, s->host + in, (size_t)chunk);
		dst += chunk;
		off += chunk;
		len -= (size_t)chunk;
	}
	r->seg_hint = i < r->n_segs ? i : 0;
}

/* ---- listener helpers ---- */

static void emit_scanout(struct vgpu_device *dev, unsigned sid, const pixman_box32_t *damage,
	uint64_t t_ns, bool present)
{
	if (!dev->listener.scanout_update) {
		return;
	}
	const struct scanout *s = &dev->scanouts[sid];
	struct vgpu_scanout_update u = {
		.scanout_id = sid,
		.image = s->res ? s->res->image : NULL,
		.src_x = s->x,
		.src_y = s->y,
		.src_w = s->w,
		.src_h = s->h,
		.damage = damage,
		.n_damage = damage ? 1 : 0,
		.t_flush_ns = t_ns,
		.present = present,
	};
	dev->listener.scanout_update(dev->data, &u);
}

static void scanout_disable(struct vgpu_device *dev, unsigned sid, uint64_t t_ns)
{
	struct scanout *s = &dev->scanouts[sid];
	if (s->res) {
		s->res->scanout_mask &= (uint16_t)~(1u << sid);
	}
	*s = (struct scanout){ 0 };
	emit_scanout(dev, sid, NULL, t_ns, true);
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
	if (dev->num_scanouts > 1) {
		snprintf(name, sizeof(name), "%.10s-%u", base, sid);
	} else {
		snprintf(name, sizeof(name), "%s", base);
	}
	struct virtio_gpu_resp_edid *re = &rq->resp->edid;
	memset(re, 0, sizeof(*re));
	int n = vgpu_edid_generate(re->edid, sizeof(re->edid), w, h, c->refresh_hz, name);
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
	struct scanout *s = &dev->scanouts[sid];
	if (s->res) {
		s->res->scanout_mask &= (uint16_t)~(1u << sid);
	}
	*s = (struct scanout){ .res = r, .x = x, .y = y, .w = w, .h = h };
	r->scanout_mask |= (uint16_t)(1u << sid);
	/* rect_inside() bounds these by the image's int-sized dimensions. */
	pixman_box32_t all = { (int32_t)x, (int32_t)y, (int32_t)(x + w), (int32_t)(y + h) };
	emit_scanout(dev, sid, &all, rq->t_read_ns, false);
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
		emit_scanout(dev, i, &box, rq->t_read_ns, true);
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
	uint8_t *pixels = (uint8_t *)pixman_image_get_data(r->image);
	uint8_t *dst = pixels + (size_t)y * r->stride + (size_t)x * 4;
	if (w == r->width) {
		/* Whole rows: one run on both sides. */
		backing_read(r, offset, dst, (size_t)span);
		return VIRTIO_GPU_RESP_OK_NODATA;
	}
	for (uint32_t i = 0; i < h; i++) {
		backing_read(r, offset + (uint64_t)i * r->stride, dst, (size_t)row_bytes);
		dst += r->stride;
	}
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
	/* GET_CAPSET*, RESOURCE_ASSIGN_UUID, blobs: features not offered. */
};

#define CURSOR_BASE VIRTIO_GPU_CMD_UPDATE_CURSOR
static const struct cmd_desc cursor_cmds[] = {
	[VIRTIO_GPU_CMD_UPDATE_CURSOR - CURSOR_BASE] =
		{ sizeof(struct virtio_gpu_update_cursor), cmd_update_cursor },
	[VIRTIO_GPU_CMD_MOVE_CURSOR - CURSOR_BASE] =
		{ sizeof(struct virtio_gpu_update_cursor), cmd_move_cursor },
};

static size_t process(struct vgpu_device *dev, const struct cmd_desc *table, size_t n_table,
	uint32_t base, const struct iovec *req, unsigned n_req,
	const struct iovec *resp, unsigned n_resp, uint64_t t_read_ns)
{
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
		const struct cmd_desc *d = NULL;
		if (cmd >= base && cmd - base < n_table && table[cmd - base].handle) {
			d = &table[cmd - base];
		}
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
	if (rq.resp_len > resp_cap) {
		/* A data response that does not fit: say so in the header. */
		type = VIRTIO_GPU_RESP_ERR_UNSPEC;
		rq.resp_len = sizeof(struct virtio_gpu_ctrl_hdr);
	}
	if (type >= VIRTIO_GPU_RESP_ERR_UNSPEC) {
		rq.resp_len = sizeof(struct virtio_gpu_ctrl_hdr);
	}

	struct virtio_gpu_ctrl_hdr *h = &out.hdr;
	uint32_t flags = le32toh(rq.cmd.hdr.flags);
	memset(h, 0, sizeof(*h));
	h->type = htole32(type);
	/* Everything completes before we answer, so echoing the fence is all
	 * fencing needs. */
	if (flags & VIRTIO_GPU_FLAG_FENCE) {
		uint32_t rflags = VIRTIO_GPU_FLAG_FENCE;
		h->fence_id = rq.cmd.hdr.fence_id;
		h->ctx_id = rq.cmd.hdr.ctx_id;
		if (flags & VIRTIO_GPU_FLAG_INFO_RING_IDX) {
			rflags |= VIRTIO_GPU_FLAG_INFO_RING_IDX;
			h->ring_idx = rq.cmd.hdr.ring_idx;
		}
		h->flags = htole32(rflags);
	}
	return vgpu_buf_to_iov(resp, n_resp, 0, &out, rq.resp_len);
}

size_t vgpu_device_process_ctrl(struct vgpu_device *dev,
	const struct iovec *req, unsigned n_req,
	const struct iovec *resp, unsigned n_resp, uint64_t t_read_ns)
{
	return process(dev, ctrl_cmds, sizeof(ctrl_cmds) / sizeof(ctrl_cmds[0]), CTRL_BASE,
		req, n_req, resp, n_resp, t_read_ns);
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
		process(dev, cursor_cmds, sizeof(cursor_cmds) / sizeof(cursor_cmds[0]), CURSOR_BASE,
			req, n_req, &sink_iov, 1, 0);
		return 0;
	}
	return process(dev, cursor_cmds, sizeof(cursor_cmds) / sizeof(cursor_cmds[0]), CURSOR_BASE,
		req, n_req, resp, n_resp, 0);
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
	/* Epoch 0 is what a never-built backing view carries. */
	dev->mem_epoch = 1;
	return dev;

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
	pixman_image_unref(dev->cursor);
	free(dev->buckets);
	free(dev->name);
	free(dev);
}

uint64_t vgpu_device_features(const struct vgpu_device *dev)
{
	return 1ull << VIRTIO_GPU_F_EDID;
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
	dev->features = 0;
	dev->events_read = 0;
}

void vgpu_device_get_config(const struct vgpu_device *dev, struct virtio_gpu_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->events_read = htole32(dev->events_read);
	cfg->num_scanouts = htole32(dev->num_scanouts);
	cfg->num_capsets = 0;
}

void vgpu_device_clear_events(struct vgpu_device *dev, uint32_t events_clear)
{
	dev->events_read &= ~events_clear;
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
