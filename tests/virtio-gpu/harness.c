/* SPDX-License-Identifier: MIT */
#include "harness.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"

static void on_scanout_update(void *data, const struct vgpu_scanout_update *u)
{
	struct harness *h = data;
	if (h->on_update) {
		h->on_update(h, u);
	}
	if (h->n_scanout_events >= H_MAX_EVENTS) {
		abort();
	}
	struct h_scanout_event *e = &h->scanout_events[h->n_scanout_events++];
	memset(e, 0, sizeof(*e));
	e->scanout_id = u->scanout_id;
	e->image = u->image ? pixman_image_ref(u->image) : NULL;
	e->src_x = u->src_x;
	e->src_y = u->src_y;
	e->src_w = u->src_w;
	e->src_h = u->src_h;
	e->n_damage = u->n_damage;
	for (int i = 0; i < u->n_damage; i++) {
		const pixman_box32_t *b = &u->damage[i];
		if (i == 0) {
			e->damage = *b;
			continue;
		}
		e->damage.x1 = b->x1 < e->damage.x1 ? b->x1 : e->damage.x1;
		e->damage.y1 = b->y1 < e->damage.y1 ? b->y1 : e->damage.y1;
		e->damage.x2 = b->x2 > e->damage.x2 ? b->x2 : e->damage.x2;
		e->damage.y2 = b->y2 > e->damage.y2 ? b->y2 : e->damage.y2;
	}
	e->damage_exact = u->damage_exact;
	e->t_flush_ns = u->t_flush_ns;
	e->gl_texture = u->gl_texture;
	e->gl_y0_top = u->gl_y0_top;
	e->present = u->present;
}

static void on_cursor_update(void *data, unsigned scanout_id, pixman_image_t *image,
	uint32_t hot_x, uint32_t hot_y, uint32_t x, uint32_t y)
{
	struct harness *h = data;
	if (h->n_cursor_events >= 8) {
		abort();
	}
	struct h_cursor_event *e = &h->cursor_events[h->n_cursor_events++];
	memset(e, 0, sizeof(*e));
	e->scanout_id = scanout_id;
	e->has_image = image != NULL;
	if (image) {
		if (pixman_image_get_width(image) != 64 || pixman_image_get_height(image) != 64 ||
				pixman_image_get_format(image) != PIXMAN_a8r8g8b8) {
			abort();
		}
		for (int row = 0; row < 64; row++) {
			memcpy(&e->pixels[row * 64],
				(uint8_t *)pixman_image_get_data(image) + row * pixman_image_get_stride(image),
				64 * 4);
		}
	}
	e->hot_x = hot_x;
	e->hot_y = hot_y;
	e->x = x;
	e->y = y;
}

static void on_cursor_move(void *data, unsigned scanout_id, uint32_t x, uint32_t y)
{
	struct harness *h = data;
	if (h->n_cursor_events >= 8) {
		abort();
	}
	struct h_cursor_event *e = &h->cursor_events[h->n_cursor_events++];
	memset(e, 0, sizeof(*e));
	e->move = true;
	e->scanout_id = scanout_id;
	e->x = x;
	e->y = y;
}

static void on_request_done(void *data, uint64_t cookie)
{
	struct harness *h = data;
	if (h->n_done < sizeof(h->done) / sizeof(h->done[0])) {
		h->done[h->n_done] = cookie;
	}
	h->n_done++;
}

static const struct vgpu_listener listener = {
	.request_done = on_request_done,
	.scanout_update = on_scanout_update,
	.cursor_update = on_cursor_update,
	.cursor_move = on_cursor_move,
};

struct harness *h_create_config(const struct vgpu_device_config *cfg)
{
	struct harness *h = calloc(1, sizeof(*h));
	if (!h) {
		return NULL;
	}
	for (int i = 0; i < 2; i++) {
		h->ram[i] = calloc(1, H_RAM_SIZE);
		if (!h->ram[i]) {
			abort();
		}
		h->mem.regions[i] = (struct vgpu_mem_region){
			.gpa = i ? H_RAM1 : H_RAM0,
			.size = H_RAM_SIZE,
			.uva = 0x7f0000000000ull + (i ? H_RAM1 : H_RAM0),
			.host = h->ram[i],
		};
	}
	h->mem.n_regions = 2;
	h->mem.generation = 1;
	h->dev = vgpu_device_create(cfg, &listener, h);
	if (!h->dev) {
		abort();
	}
	vgpu_device_set_mem(h->dev, &h->mem);
	return h;
}

struct harness *h_create(unsigned num_scanouts, uint64_t quota)
{
	struct vgpu_device_config cfg = {
		.name = "test",
		.num_scanouts = num_scanouts,
		.quota_bytes = quota,
	};
	for (unsigned i = 0; i < VGPU_MAX_SCANOUTS; i++) {
		cfg.scanouts[i] = (struct vgpu_scanout_config){
			.width = 1280,
			.height = 720,
			.refresh_hz = 60,
			.enabled = i == 0,
		};
	}
	return h_create_config(&cfg);
}

void h_clear_events(struct harness *h)
{
	for (unsigned i = 0; i < h->n_scanout_events; i++) {
		if (h->scanout_events[i].image) {
			pixman_image_unref(h->scanout_events[i].image);
		}
	}
	h->n_scanout_events = 0;
	h->n_cursor_events = 0;
}

void h_destroy(struct harness *h)
{
	if (!h) {
		return;
	}
	h_clear_events(h);
	vgpu_device_destroy(h->dev);
	vgpu_mem_finish(&h->mem);
	free(h->ram[0]);
	free(h->ram[1]);
	free(h);
}

uint8_t *h_gpa(struct harness *h, uint64_t gpa)
{
	uint8_t *p = vgpu_mem_gpa(&h->mem, gpa, 1);
	if (!p) {
		abort();
	}
	return p;
}

uint32_t h_ctrl_resp(struct harness *h, const void *req, size_t len, void *resp, size_t resp_cap,
	size_t *written)
{
	struct iovec in = { .iov_base = (void *)req, .iov_len = len };
	struct iovec out = { .iov_base = resp, .iov_len = resp_cap };
	size_t n = vgpu_device_process_ctrl(h->dev, &in, 1, &out, 1, zl_now_ns());
	if (written) {
		*written = n;
	}
	h->resp_len = n;
	memset(&h->resp, 0, sizeof(h->resp));
	if (n >= sizeof(h->resp)) {
		memcpy(&h->resp, resp, sizeof(h->resp));
	}
	return n >= sizeof(h->resp) ? le32toh(h->resp.type) : 0;
}

uint32_t h_ctrl(struct harness *h, const void *req, size_t len)
{
	struct virtio_gpu_ctrl_hdr resp;
	return h_ctrl_resp(h, req, len, &resp, sizeof(resp), NULL);
}

uint32_t h_cursor(struct harness *h, const void *req, size_t len)
{
	struct iovec in = { .iov_base = (void *)req, .iov_len = len };
	struct virtio_gpu_ctrl_hdr resp;
	struct iovec out = { .iov_base = &resp, .iov_len = sizeof(resp) };
	size_t n = vgpu_device_process_cursor(h->dev, &in, 1, &out, 1);
	h->resp_len = n;
	h->resp = resp;
	return n >= sizeof(resp) ? le32toh(resp.type) : 0;
}

#define HDR(t) { .type = htole32(t) }

uint32_t h_create_2d(struct harness *h, uint32_t id, uint32_t format, uint32_t w, uint32_t hgt)
{
	struct virtio_gpu_resource_create_2d c = {
		.hdr = HDR(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D),
		.resource_id = htole32(id),
		.format = htole32(format),
		.width = htole32(w),
		.height = htole32(hgt),
	};
	return h_ctrl(h, &c, sizeof(c));
}

uint32_t h_unref(struct harness *h, uint32_t id)
{
	struct virtio_gpu_resource_unref c = {
		.hdr = HDR(VIRTIO_GPU_CMD_RESOURCE_UNREF),
		.resource_id = htole32(id),
	};
	return h_ctrl(h, &c, sizeof(c));
}

uint32_t h_attach(struct harness *h, uint32_t id, const struct virtio_gpu_mem_entry *e, uint32_t n)
{
	size_t len = sizeof(struct virtio_gpu_resource_attach_backing) + n * sizeof(*e);
	uint8_t *buf = malloc(len);
	if (!buf) {
		abort();
	}
	struct virtio_gpu_resource_attach_backing c = {
		.hdr = HDR(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING),
		.resource_id = htole32(id),
		.nr_entries = htole32(n),
	};
	memcpy(buf, &c, sizeof(c));
	memcpy(buf + sizeof(c), e, n * sizeof(*e));
	uint32_t t = h_ctrl(h, buf, len);
	free(buf);
	return t;
}

uint32_t h_attach_simple(struct harness *h, uint32_t id, uint64_t gpa, uint32_t len)
{
	struct virtio_gpu_mem_entry e = { .addr = htole64(gpa), .length = htole32(len) };
	return h_attach(h, id, &e, 1);
}

uint32_t h_detach(struct harness *h, uint32_t id)
{
	struct virtio_gpu_resource_detach_backing c = {
		.hdr = HDR(VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING),
		.resource_id = htole32(id),
	};
	return h_ctrl(h, &c, sizeof(c));
}

uint32_t h_transfer(struct harness *h, uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t hgt,
	uint64_t offset)
{
	struct virtio_gpu_transfer_to_host_2d c = {
		.hdr = HDR(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D),
		.r = { htole32(x), htole32(y), htole32(w), htole32(hgt) },
		.offset = htole64(offset),
		.resource_id = htole32(id),
	};
	return h_ctrl(h, &c, sizeof(c));
}

uint32_t h_set_scanout(struct harness *h, uint32_t sid, uint32_t id, uint32_t x, uint32_t y,
	uint32_t w, uint32_t hgt)
{
	struct virtio_gpu_set_scanout c = {
		.hdr = HDR(VIRTIO_GPU_CMD_SET_SCANOUT),
		.r = { htole32(x), htole32(y), htole32(w), htole32(hgt) },
		.scanout_id = htole32(sid),
		.resource_id = htole32(id),
	};
	return h_ctrl(h, &c, sizeof(c));
}

uint32_t h_flush(struct harness *h, uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t hgt)
{
	struct virtio_gpu_resource_flush c = {
		.hdr = HDR(VIRTIO_GPU_CMD_RESOURCE_FLUSH),
		.r = { htole32(x), htole32(y), htole32(w), htole32(hgt) },
		.resource_id = htole32(id),
	};
	return h_ctrl(h, &c, sizeof(c));
}

uint32_t h_update_cursor(struct harness *h, uint32_t sid, uint32_t id, uint32_t hot_x,
	uint32_t hot_y, uint32_t x, uint32_t y)
{
	struct virtio_gpu_update_cursor c = {
		.hdr = HDR(VIRTIO_GPU_CMD_UPDATE_CURSOR),
		.pos = { htole32(sid), htole32(x), htole32(y), 0 },
		.resource_id = htole32(id),
		.hot_x = htole32(hot_x),
		.hot_y = htole32(hot_y),
	};
	return h_cursor(h, &c, sizeof(c));
}

uint32_t h_move_cursor(struct harness *h, uint32_t sid, uint32_t x, uint32_t y)
{
	struct virtio_gpu_update_cursor c = {
		.hdr = HDR(VIRTIO_GPU_CMD_MOVE_CURSOR),
		.pos = { htole32(sid), htole32(x), htole32(y), 0 },
	};
	return h_cursor(h, &c, sizeof(c));
}

uint32_t h_pixel(pixman_image_t *img, uint32_t x, uint32_t y)
{
	uint8_t *p = (uint8_t *)pixman_image_get_data(img);
	uint32_t v;
	memcpy(&v, p + (size_t)y * pixman_image_get_stride(img) + x * 4, 4);
	return v;
}
