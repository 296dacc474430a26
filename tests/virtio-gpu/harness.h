/* SPDX-License-Identifier: MIT */
#ifndef TEST_VGPU_HARNESS_H
#define TEST_VGPU_HARNESS_H

/* A virtio-gpu device fed straight from the test: guest RAM is malloc()ed
 * regions in a struct vgpu_mem (map_base NULL), requests are built here and
 * every listener call is recorded. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio-gpu/gpu.h"

/* Guest RAM: two adjacent regions [RAM0, RAM0+RAM_SIZE) and
 * [RAM1, RAM1+RAM_SIZE), separate host allocations, so a range across
 * RAM1 is contiguous to the guest but not to the host. */
#define H_RAM0 0x100000ull
#define H_RAM1 0x200000ull
#define H_RAM_SIZE 0x100000ull

#define H_MAX_EVENTS 64

struct h_scanout_event {
	unsigned scanout_id;
	pixman_image_t *image; /* ref held by the harness */
	uint32_t src_x, src_y, src_w, src_h;
	int n_damage;
	pixman_box32_t damage; /* the extents of all damage boxes */
	bool damage_exact;
	uint64_t t_flush_ns;
	bool present;
	uint32_t gl_texture;
	bool gl_y0_top;
};

struct h_cursor_event {
	bool move;
	unsigned scanout_id;
	bool has_image;
	uint32_t pixels[64 * 64]; /* copy, a8r8g8b8 */
	uint32_t hot_x, hot_y, x, y;
};

struct harness {
	struct vgpu_device *dev;
	struct vgpu_mem mem;
	uint8_t *ram[2];
	unsigned n_scanout_events;
	struct h_scanout_event scanout_events[H_MAX_EVENTS];
	unsigned n_cursor_events;
	struct h_cursor_event cursor_events[8];
	/* Cookies of deferred requests the device completed, in order. */
	unsigned n_done;
	uint64_t done[64];
	/* Called with every scanout update before it is recorded. */
	void (*on_update)(struct harness *h, const struct vgpu_scanout_update *u);
	void *hook_data;
	/* The last response header and its length. */
	struct virtio_gpu_ctrl_hdr resp;
	size_t resp_len;
};

/* num_scanouts scanouts of 1280x720 (scanout 0 enabled, others not). */
struct harness *h_create(unsigned num_scanouts, uint64_t quota);
struct harness *h_create_config(const struct vgpu_device_config *cfg);
void h_destroy(struct harness *h);
void h_clear_events(struct harness *h);

/* Host pointer of guest address gpa (must be inside RAM). */
uint8_t *h_gpa(struct harness *h, uint64_t gpa);

/* Sends req on the controlq with a response buffer of resp_cap bytes;
 * returns the response type (0 if nothing was written). */
uint32_t h_ctrl(struct harness *h, const void *req, size_t len);
uint32_t h_ctrl_resp(struct harness *h, const void *req, size_t len, void *resp, size_t resp_cap,
	size_t *written);
uint32_t h_cursor(struct harness *h, const void *req, size_t len);

uint32_t h_create_2d(struct harness *h, uint32_t id, uint32_t format, uint32_t w, uint32_t hgt);
uint32_t h_unref(struct harness *h, uint32_t id);
/* One entry per (addr, len) pair. */
uint32_t h_attach(struct harness *h, uint32_t id, const struct virtio_gpu_mem_entry *e, uint32_t n);
uint32_t h_attach_simple(struct harness *h, uint32_t id, uint64_t gpa, uint32_t len);
uint32_t h_detach(struct harness *h, uint32_t id);
uint32_t h_transfer(struct harness *h, uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t hgt,
	uint64_t offset);
uint32_t h_set_scanout(struct harness *h, uint32_t sid, uint32_t id, uint32_t x, uint32_t y,
	uint32_t w, uint32_t hgt);
uint32_t h_flush(struct harness *h, uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t hgt);
uint32_t h_update_cursor(struct harness *h, uint32_t sid, uint32_t id, uint32_t hot_x,
	uint32_t hot_y, uint32_t x, uint32_t y);
uint32_t h_move_cursor(struct harness *h, uint32_t sid, uint32_t x, uint32_t y);

/* A resource id, 32-bit pixel at (x,y) as the device holds it. */
uint32_t h_pixel(pixman_image_t *img, uint32_t x, uint32_t y);

#endif
