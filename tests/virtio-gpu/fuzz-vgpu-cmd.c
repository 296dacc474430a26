/* SPDX-License-Identifier: MIT */
/* Fuzzes the virtio-gpu device model: the input is a sequence of records,
 * each a controlq or cursorq request (split over two buffers at a chosen
 * place, answered into a buffer of a chosen size) or a host-side event: a
 * memory table change, a connector change, a reset, a write to guest RAM.
 *
 * Record: op (u8), then
 *   op & 0x0f = 0..6: len (u16 little-endian) and len bytes of payload:
 *     0 ctrl request, 1 cursor request, 2 memory table event,
 *     3 connector, 4 reset, 5 config events, 6 guest RAM write.
 *     Requests are the payload bytes, split into two iovecs at payload[0]
 *     (the split byte itself is not part of the request).
 *   op & 0x0f = 7 (ctrl) or 8 (cursor): a typed request with no length
 *     field, so mutations stay aligned: a command index (u8), the header
 *     flags (u8), then exactly the command's body; ATTACH_BACKING is
 *     followed by (nr_entries % 8) entries.
 *   op >> 4: response buffer size for requests (see resp_sizes).
 *
 * The device has a real virglrenderer (EGL surfaceless, llvmpipe; made once
 * per process) when EGL works, so the 3D commands run down to virglrenderer
 * (typed records for them: SUBMIT_3D carries (size % 33) dwords of stream);
 * requests go through the async path, and the loop runs after each record
 * so that deferred requests complete (request_done) as they would.
 *
 * Guest RAM is two adjacent 64 KiB regions at 0x10000 and 0x20000 so that
 * seeds' backing addresses land in RAM and can span regions. The listener
 * checks every update it gets and reads every damaged pixel, so a bad
 * rectangle or a stale image shows up under ASan. */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/loop.h"
#include "virtio-gpu/gpu.h"
#include "virtio-gpu/renderer.h"

#define RAM_BASE 0x10000ull
#define RAM_SIZE 0x10000ull

struct fuzz {
	struct vgpu_device *dev;
	struct vgpu_mem mem;
	uint8_t *ram[2];
	volatile uint32_t sink;
	uint64_t next_cookie, n_deferred, n_done;
};

/* Process-wide: virglrenderer is global and slow to start. */
static struct zl_loop *loop;
static struct vgpu_renderer *renderer;

static void check_update(void *data, const struct vgpu_scanout_update *u)
{
	struct fuzz *f = data;
	if (u->scanout_id >= VGPU_MAX_SCANOUTS) {
		abort();
	}
	if (!u->image) {
		return;
	}
	uint32_t w = (uint32_t)pixman_image_get_width(u->image);
	uint32_t h = (uint32_t)pixman_image_get_height(u->image);
	int stride = pixman_image_get_stride(u->image);
	if (u->src_w == 0 || u->src_h == 0 || u->src_x > w || u->src_w > w - u->src_x ||
			u->src_y > h || u->src_h > h - u->src_y || stride != (int)w * 4) {
		abort();
	}
	const uint8_t *px = (const uint8_t *)pixman_image_get_data(u->image);
	for (int i = 0; i < u->n_damage; i++) {
		const pixman_box32_t *b = &u->damage[i];
		if (b->x1 < (int32_t)u->src_x || b->y1 < (int32_t)u->src_y ||
				b->x2 > (int64_t)u->src_x + u->src_w || b->y2 > (int64_t)u->src_y + u->src_h ||
				b->x1 >= b->x2 || b->y1 >= b->y2) {
			abort();
		}
		/* Touch the first and last byte of each damaged row. */
		for (int32_t y = b->y1; y < b->y2; y++) {
			const uint8_t *row = px + (size_t)y * (size_t)stride;
			f->sink += row[b->x1 * 4] + row[b->x2 * 4 - 1];
		}
	}
}

static void check_cursor(void *data, unsigned scanout_id, pixman_image_t *image,
	uint32_t hot_x, uint32_t hot_y, uint32_t x, uint32_t y)
{
	struct fuzz *f = data;
	if (scanout_id >= VGPU_MAX_SCANOUTS) {
		abort();
	}
	if (!image) {
		return;
	}
	if (pixman_image_get_width(image) != 64 || pixman_image_get_height(image) != 64 ||
			pixman_image_get_format(image) != PIXMAN_a8r8g8b8 || hot_x >= 64 || hot_y >= 64) {
		abort();
	}
	const uint32_t *px = pixman_image_get_data(image);
	f->sink += px[0] + px[64 * 64 - 1];
}

static void check_move(void *data, unsigned scanout_id, uint32_t x, uint32_t y)
{
	if (scanout_id >= VGPU_MAX_SCANOUTS) {
		abort();
	}
}

static void done(void *data, uint64_t cookie)
{
	struct fuzz *f = data;
	if (cookie == 0 || cookie > f->next_cookie || f->n_done >= f->n_deferred) {
		abort(); /* never issued, or completed twice */
	}
	f->n_done++;
}

static const struct vgpu_listener listener = {
	.scanout_update = check_update,
	.cursor_update = check_cursor,
	.cursor_move = check_move,
	.request_done = done,
};

static const size_t resp_sizes[16] = {
	2048, 0, 1, 23, 24, 25, 100, 407, 408, 1055, 1056, 48, 2048, 2048, 2048, 2048,
};

static void mem_reset(struct fuzz *f)
{
	memset(&f->mem, 0, sizeof(f->mem));
	for (int i = 0; i < 2; i++) {
		f->mem.regions[i] = (struct vgpu_mem_region){
			.gpa = RAM_BASE + i * RAM_SIZE,
			.size = RAM_SIZE,
			.uva = 0x7f0000000000ull + i * RAM_SIZE,
			.host = f->ram[i],
		};
	}
	f->mem.n_regions = 2;
	f->mem.generation = 1;
}

static void mem_event(struct fuzz *f, const uint8_t *p, size_t n)
{
	uint8_t what = n > 0 ? p[0] : 0;
	switch (what % 6) {
	case 0: { /* region 1 moves; the old mapping is gone (ASan sees stale use) */
		uint8_t *moved = malloc(RAM_SIZE);
		if (!moved) {
			break;
		}
		memcpy(moved, f->ram[1], RAM_SIZE);
		free(f->ram[1]);
		f->ram[1] = moved;
		f->mem.regions[1].host = moved;
		f->mem.generation++;
		break;
	}
	case 1: /* region 1 shrinks or grows back */
		f->mem.regions[1].size = n > 1 ? (p[1] * 256ull) % (RAM_SIZE + 1) : RAM_SIZE;
		f->mem.generation++;
		break;
	case 2: /* memory goes away */
		vgpu_device_set_mem(f->dev, NULL);
		break;
	case 3: /* back to the original table */
		mem_reset(f);
		vgpu_device_set_mem(f->dev, &f->mem);
		break;
	case 4: /* a region vanishes without a generation bump */
		f->mem.n_regions = n > 1 ? p[1] % 3 : 1;
		break;
	default: /* regions no longer adjacent */
		f->mem.regions[1].gpa = RAM_BASE + RAM_SIZE + (n > 1 ? p[1] * 4096ull : 4096);
		f->mem.generation++;
		break;
	}
}

static void send_req(struct fuzz *f, bool cursor, uint8_t resp_sel, const uint8_t *p, size_t len,
	size_t split)
{
	/* Copy, so ASan sees reads past the request's end. */
	uint8_t *req = malloc(len ? len : 1);
	if (!req) {
		return;
	}
	memcpy(req, p, len);
	if (split > len) {
		split = len;
	}
	struct iovec in[2] = { { req, split }, { req + split, len - split } };
	size_t cap = resp_sizes[resp_sel & 15];
	uint8_t *resp = malloc(cap ? cap : 1);
	if (!resp) {
		free(req);
		return;
	}
	/* Two response buffers when there is room, to exercise the scatter. */
	size_t cut = cap / 3;
	struct iovec out[2] = { { resp, cut }, { resp + cut, cap - cut } };
	bool deferred = false;
	size_t written = cursor ?
		vgpu_device_process_cursor(f->dev, in, 2, out, 2) :
		vgpu_device_process_ctrl_async(f->dev, in, 2, out, 2, 1, ++f->next_cookie, &deferred);
	f->n_deferred += deferred;
	if (written > cap || (written != 0 && written < sizeof(struct virtio_gpu_ctrl_hdr))) {
		abort();
	}
	free(resp);
	free(req);
}

static void request(struct fuzz *f, bool cursor, uint8_t resp_sel, const uint8_t *p, size_t n)
{
	if (n > 0) {
		send_req(f, cursor, resp_sel, p + 1, n - 1, p[0]);
	}
}

static const struct {
	uint32_t type;
	size_t size;
} typed[] = {
	{ VIRTIO_GPU_CMD_GET_DISPLAY_INFO, sizeof(struct virtio_gpu_ctrl_hdr) },
	{ VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, sizeof(struct virtio_gpu_resource_create_2d) },
	{ VIRTIO_GPU_CMD_RESOURCE_UNREF, sizeof(struct virtio_gpu_resource_unref) },
	{ VIRTIO_GPU_CMD_SET_SCANOUT, sizeof(struct virtio_gpu_set_scanout) },
	{ VIRTIO_GPU_CMD_RESOURCE_FLUSH, sizeof(struct virtio_gpu_resource_flush) },
	{ VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, sizeof(struct virtio_gpu_transfer_to_host_2d) },
	{ VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, sizeof(struct virtio_gpu_resource_attach_backing) },
	{ VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, sizeof(struct virtio_gpu_resource_detach_backing) },
	{ VIRTIO_GPU_CMD_GET_EDID, sizeof(struct virtio_gpu_cmd_get_edid) },
	{ VIRTIO_GPU_CMD_UPDATE_CURSOR, sizeof(struct virtio_gpu_update_cursor) },
	{ VIRTIO_GPU_CMD_MOVE_CURSOR, sizeof(struct virtio_gpu_update_cursor) },
	{ VIRTIO_GPU_CMD_CTX_CREATE, sizeof(struct virtio_gpu_ctx_create) },
	{ VIRTIO_GPU_CMD_GET_CAPSET_INFO, sizeof(struct virtio_gpu_get_capset_info) },
	/* 3D (index 13..) */
	{ VIRTIO_GPU_CMD_GET_CAPSET, sizeof(struct virtio_gpu_get_capset) },
	{ VIRTIO_GPU_CMD_CTX_DESTROY, sizeof(struct virtio_gpu_ctrl_hdr) },
	{ VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, sizeof(struct virtio_gpu_ctx_resource) },
	{ VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE, sizeof(struct virtio_gpu_ctx_resource) },
	{ VIRTIO_GPU_CMD_RESOURCE_CREATE_3D, sizeof(struct virtio_gpu_resource_create_3d) },
	{ VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D, sizeof(struct virtio_gpu_transfer_host_3d) },
	{ VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D, sizeof(struct virtio_gpu_transfer_host_3d) },
	{ VIRTIO_GPU_CMD_SUBMIT_3D, sizeof(struct virtio_gpu_cmd_submit) },
};

#define MAX_SUBMIT_DW 32

/* Returns the input bytes consumed. */
static size_t typed_request(struct fuzz *f, bool cursor, uint8_t resp_sel, const uint8_t *p,
	size_t n)
{
	if (n < 2) {
		return n;
	}
	uint8_t buf[sizeof(struct virtio_gpu_cmd_submit) + MAX_SUBMIT_DW * 4];
	memset(buf, 0, sizeof(buf));
	unsigned idx = p[0] % (sizeof(typed) / sizeof(typed[0]));
	struct virtio_gpu_ctrl_hdr hdr = {
		.type = htole32(typed[idx].type),
		.flags = htole32(p[1] & 3),
		.fence_id = htole64(p[1]),
		.ctx_id = htole32(p[1] >> 4),
		.ring_idx = p[1] >> 2,
	};
	memcpy(buf, &hdr, sizeof(hdr));
	size_t body = typed[idx].size - sizeof(hdr);
	size_t used = 2;
	size_t take = body < n - used ? body : n - used;
	memcpy(buf + sizeof(hdr), p + used, take);
	used += take;
	size_t len = typed[idx].size;
	if (typed[idx].type == VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING) {
		uint32_t nr;
		memcpy(&nr, buf + len - 4, 4);
		size_t extra = (le32toh(nr) % 8) * sizeof(struct virtio_gpu_mem_entry);
		if (extra > sizeof(buf) - len) {
			extra = sizeof(buf) - len;
		}
		take = extra < n - used ? extra : n - used;
		memcpy(buf + len, p + used, take);
		used += take;
		len += extra;
	} else if (typed[idx].type == VIRTIO_GPU_CMD_SUBMIT_3D) {
		/* The stream follows; its size field may or may not agree. */
		uint32_t sz;
		memcpy(&sz, buf + sizeof(hdr), 4);
		size_t extra = (le32toh(sz) % (MAX_SUBMIT_DW + 1)) * 4;
		take = extra < n - used ? extra : n - used;
		memcpy(buf + len, p + used, take);
		used += take;
		len += extra;
	}
	send_req(f, cursor, resp_sel, buf, len, len / 2);
	return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool started;
	if (!started) {
		zl_log_init(ZL_SILENT);
		loop = zl_loop_create();
		/* NULL without EGL: then the device is 2D and 3D commands get
		 * their "no renderer" answers. */
		renderer = loop && !getenv("FUZZ_NO_RENDERER") ? vgpu_renderer_create(loop, NULL) : NULL;
		started = true;
	}
	struct fuzz f = { 0 };
	f.ram[0] = calloc(1, RAM_SIZE);
	f.ram[1] = calloc(1, RAM_SIZE);
	if (!f.ram[0] || !f.ram[1]) {
		goto out;
	}
	/* Something other than zeros for transfers to copy. */
	for (size_t i = 0; i < RAM_SIZE; i++) {
		f.ram[0][i] = (uint8_t)i;
		f.ram[1][i] = (uint8_t)(i >> 3);
	}
	struct vgpu_device_config cfg = {
		.name = "fuzz",
		.num_scanouts = 4,
		/* Small, so the fuzzer spends its time on logic, not memset. */
		.quota_bytes = 4 << 20,
		.renderer = renderer,
	};
	for (int i = 0; i < 4; i++) {
		cfg.scanouts[i] = (struct vgpu_scanout_config){ 640, 480, 60, i != 3 };
	}
	f.dev = vgpu_device_create(&cfg, &listener, &f);
	if (!f.dev) {
		goto out;
	}
	mem_reset(&f);
	vgpu_device_set_mem(f.dev, &f.mem);
	/* The guest takes every feature offered (VIRGL, CONTEXT_INIT). */
	vgpu_device_set_features(f.dev, vgpu_device_features(f.dev));

	size_t pos = 0;
	while (pos < size) {
		uint8_t op = data[pos++];
		if ((op & 0x0f) == 7 || (op & 0x0f) == 8) {
			pos += typed_request(&f, (op & 0x0f) == 8, op >> 4, data + pos, size - pos);
			continue;
		}
		if (size - pos < 2) {
			break;
		}
		size_t n = data[pos] | (size_t)data[pos + 1] << 8;
		pos += 2;
		if (n > size - pos) {
			n = size - pos;
		}
		const uint8_t *p = data + pos;
		pos += n;
		switch (op & 0x0f) {
		case 0:
			request(&f, false, op >> 4, p, n);
			break;
		case 1:
			request(&f, true, op >> 4, p, n);
			break;
		case 2:
			mem_event(&f, p, n);
			break;
		case 3:
			vgpu_device_set_scanout_enabled(f.dev, n > 0 ? p[0] % 20 : 0, n > 1 && (p[1] & 1));
			break;
		case 4:
			vgpu_device_reset(f.dev);
			if (vgpu_device_memory_used(f.dev) != 0) {
				abort();
			}
			break;
		case 5: {
			struct virtio_gpu_config c;
			vgpu_device_get_config(f.dev, &c);
			vgpu_device_clear_events(f.dev, n > 0 ? p[0] : 1);
			break;
		}
		case 6:
			/* Guest RAM write at a 16-bit offset into region 0 or 1. */
			if (n >= 3) {
				size_t off = (p[0] | (size_t)p[1] << 8) + (p[2] & 1) * RAM_SIZE;
				size_t len = n - 3;
				for (size_t i = 0; i < len && off + i < 2 * RAM_SIZE; i++) {
					size_t o = off + i;
					f.ram[o / RAM_SIZE][o % RAM_SIZE] = p[3 + i];
				}
			}
			break;
		default:
			break;
		}
		if (loop) {
			zl_loop_dispatch(loop, 0); /* fences that retired complete now */
		}
	}
	vgpu_device_reset(f.dev);
	if (vgpu_device_memory_used(f.dev) != 0) {
		abort();
	}
out:
	vgpu_device_destroy(f.dev);
	free(f.ram[1]);
	free(f.ram[0]);
	return 0;
}
