/* SPDX-License-Identifier: MIT */
/* The virtio-gpu 2D device model, driven request by request with test guest
 * memory: the happy path a Linux guest takes, and every malformed request
 * the device must refuse with the spec's error while it keeps serving. */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define OK VIRTIO_GPU_RESP_OK_NODATA
#define E_UNSPEC VIRTIO_GPU_RESP_ERR_UNSPEC
#define E_OOM VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY
#define E_SCANOUT VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID
#define E_RES VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID
#define E_PARAM VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER
#define XRGB VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM
#define ARGB VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM

static int setup(void **state)
{
	*state = h_create(2, 0);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	h_destroy(*state);
	return 0;
}

/* Fills [gpa, gpa+len) of guest RAM with a position-dependent pattern. */
static void fill_pattern(struct harness *h, uint64_t gpa, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = (uint32_t)(i / 4) * 2654435761u ^ seed;
		memcpy(h_gpa(h, gpa + i), &v, 4);
	}
}

static uint32_t guest_u32(struct harness *h, uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, h_gpa(h, gpa), 4);
	return v;
}

/* A resource of w x h backed contiguously at gpa, filled with a pattern. */
static void make_backed(struct harness *h, uint32_t id, uint32_t w, uint32_t hgt, uint64_t gpa)
{
	assert_int_equal(h_create_2d(h, id, XRGB, w, hgt), OK);
	fill_pattern(h, gpa, (size_t)w * hgt * 4, id);
	assert_int_equal(h_attach_simple(h, id, gpa, w * hgt * 4), OK);
}

/* The device still serves: a fresh resource goes through every step. */
static void assert_still_serving(struct harness *h)
{
	const uint32_t id = 0xabcd;
	make_backed(h, id, 8, 8, H_RAM0 + 0x80000);
	assert_int_equal(h_transfer(h, id, 0, 0, 8, 8, 0), OK);
	assert_int_equal(h_unref(h, id), OK);
}

/* ---- happy path ---- */

static void test_display_info(void **state)
{
	struct vgpu_device_config cfg = { .name = "di", .num_scanouts = 3 };
	cfg.scanouts[0] = (struct vgpu_scanout_config){ 1920, 720, 60, true };
	cfg.scanouts[1] = (struct vgpu_scanout_config){ 800, 480, 0, false };
	cfg.scanouts[2] = (struct vgpu_scanout_config){ 1280, 800, 30, true };
	struct harness *h = h_create_config(&cfg);
	struct virtio_gpu_ctrl_hdr req = { .type = htole32(VIRTIO_GPU_CMD_GET_DISPLAY_INFO) };
	struct virtio_gpu_resp_display_info di;
	memset(&di, 0xee, sizeof(di));
	size_t n;
	assert_int_equal(h_ctrl_resp(h, &req, sizeof(req), &di, sizeof(di), &n),
		VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	assert_int_equal(n, sizeof(di));
	assert_int_equal(le32toh(di.pmodes[0].r.width), 1920);
	assert_int_equal(le32toh(di.pmodes[0].r.height), 720);
	assert_int_equal(le32toh(di.pmodes[0].enabled), 1);
	assert_int_equal(le32toh(di.pmodes[1].r.width), 800);
	assert_int_equal(le32toh(di.pmodes[1].r.height), 480);
	assert_int_equal(le32toh(di.pmodes[1].enabled), 0);
	assert_int_equal(le32toh(di.pmodes[2].r.width), 1280);
	assert_int_equal(le32toh(di.pmodes[2].enabled), 1);
	for (int i = 3; i < VIRTIO_GPU_MAX_SCANOUTS; i++) {
		assert_int_equal(di.pmodes[i].r.width, 0);
		assert_int_equal(di.pmodes[i].enabled, 0);
	}

	struct virtio_gpu_config c;
	vgpu_device_get_config(h->dev, &c);
	assert_int_equal(le32toh(c.num_scanouts), 3);
	assert_int_equal(c.num_capsets, 0);
	assert_int_equal(c.events_read, 0);
	h_destroy(h);
}

static void test_edid(void **state)
{
	struct harness *h = *state;
	struct virtio_gpu_cmd_get_edid req = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_GET_EDID) },
		.scanout = htole32(1),
	};
	struct virtio_gpu_resp_edid re;
	size_t n;
	assert_int_equal(h_ctrl_resp(h, &req, sizeof(req), &re, sizeof(re), &n),
		VIRTIO_GPU_RESP_OK_EDID);
	assert_int_equal(n, sizeof(re));
	assert_int_equal(le32toh(re.size), 128);
	uint8_t sum = 0;
	for (int i = 0; i < 128; i++) {
		sum = (uint8_t)(sum + re.edid[i]);
	}
	assert_int_equal(sum, 0);
	/* Preferred timing: 1280x720. */
	const uint8_t *d = re.edid + 54;
	assert_int_equal(d[2] | (d[4] & 0xf0) << 4, 1280);
	assert_int_equal(d[5] | (d[7] & 0xf0) << 4, 720);
	/* Multi-head: each connector names itself. */
	assert_memory_equal(re.edid + 72 + 5, "test-1\n", 7);

	req.scanout = htole32(2);
	assert_int_equal(h_ctrl(h, &req, sizeof(req)), E_SCANOUT);
	req.scanout = htole32(0xffffffff);
	assert_int_equal(h_ctrl(h, &req, sizeof(req)), E_SCANOUT);
	/* Advertised, and acking it is remembered. */
	assert_true(vgpu_device_features(h->dev) & (1ull << VIRTIO_GPU_F_EDID));
	vgpu_device_set_features(h->dev, ~0ull);
}

static void test_happy_path(void **state)
{
	struct harness *h = *state;
	const uint32_t w = 64, hgt = 48, stride = w * 4;
	/* Backing crosses from RAM0's last bytes into RAM1 (adjacent in the
	 * guest, not on the host) and then jumps back to RAM0. */
	uint64_t a = H_RAM1 - 5000, b = H_RAM0 + 0x1000;
	uint32_t la = 9000, lb = w * hgt * 4 - la;
	struct virtio_gpu_mem_entry e[2] = {
		{ .addr = htole64(a), .length = htole32(la) },
		{ .addr = htole64(b), .length = htole32(lb) },
	};
	assert_int_equal(h_create_2d(h, 1, XRGB, w, hgt), OK);
	assert_int_equal(h_attach(h, 1, e, 2), OK);
	fill_pattern(h, a, la, 7);
	fill_pattern(h, b, lb, 9);
	assert_int_equal(h_transfer(h, 1, 0, 0, w, hgt, 0), OK);

	uint64_t t0 = 123456789;
	struct virtio_gpu_set_scanout ss = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_SET_SCANOUT) },
		.r = { 0, 0, htole32(w), htole32(hgt) },
		.scanout_id = 0,
		.resource_id = htole32(1),
	};
	struct iovec in = { &ss, sizeof(ss) };
	struct virtio_gpu_ctrl_hdr resp;
	struct iovec out = { &resp, sizeof(resp) };
	assert_int_equal(vgpu_device_process_ctrl(h->dev, &in, 1, &out, 1, t0), sizeof(resp));
	assert_int_equal(le32toh(resp.type), OK);
	assert_int_equal(h->n_scanout_events, 1);
	struct h_scanout_event *ev = &h->scanout_events[0];
	assert_int_equal(ev->scanout_id, 0);
	assert_non_null(ev->image);
	assert_int_equal(pixman_image_get_width(ev->image), w);
	assert_int_equal(pixman_image_get_height(ev->image), hgt);
	assert_int_equal(pixman_image_get_stride(ev->image), stride);
	assert_int_equal(pixman_image_get_format(ev->image), PIXMAN_x8r8g8b8);
	assert_int_equal(ev->src_w, w);
	assert_int_equal(ev->src_h, hgt);
	assert_int_equal(ev->n_damage, 1);
	assert_int_equal(ev->damage.x1, 0);
	assert_int_equal(ev->damage.y1, 0);
	assert_int_equal(ev->damage.x2, w);
	assert_int_equal(ev->damage.y2, hgt);
	assert_int_equal(ev->t_flush_ns, t0);
	/* SET_SCANOUT changes the source; only the flush presents. */
	assert_false(ev->present);
	/* Exact pixels: backing byte i is resource byte i. */
	for (uint32_t y = 0; y < hgt; y++) {
		for (uint32_t x = 0; x < w; x++) {
			uint64_t off = (uint64_t)y * stride + x * 4;
			uint64_t gpa = off < la ? a + off : b + (off - la);
			assert_int_equal(h_pixel(ev->image, x, y), guest_u32(h, gpa));
		}
	}

	/* The guest changes a 10x20 rectangle at 3,4 and transfers it all;
	 * the flush of that rectangle has exactly it as damage (what changed
	 * since the scanout showed the resource), t_flush is the time the
	 * request was read. */
	for (uint32_t y = 4; y < 24; y++) {
		for (uint32_t x = 3; x < 13; x++) {
			uint64_t off = (uint64_t)y * stride + x * 4;
			uint32_t v = guest_u32(h, off < la ? a + off : b + (off - la)) ^ 0x00ff00ffu;
			memcpy(h_gpa(h, off < la ? a + off : b + (off - la)), &v, 4);
		}
	}
	assert_int_equal(h_transfer(h, 1, 0, 0, w, hgt, 0), OK);
	h_clear_events(h);
	struct virtio_gpu_resource_flush fl = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_RESOURCE_FLUSH) },
		.r = { htole32(3), htole32(4), htole32(10), htole32(20) },
		.resource_id = htole32(1),
	};
	in = (struct iovec){ &fl, sizeof(fl) };
	assert_int_equal(vgpu_device_process_ctrl(h->dev, &in, 1, &out, 1, t0 + 1000), sizeof(resp));
	assert_int_equal(le32toh(resp.type), OK);
	assert_int_equal(h->n_scanout_events, 1);
	ev = &h->scanout_events[0];
	assert_int_equal(ev->damage.x1, 3);
	assert_int_equal(ev->damage.y1, 4);
	assert_int_equal(ev->damage.x2, 13);
	assert_int_equal(ev->damage.y2, 24);
	assert_int_equal(ev->t_flush_ns, t0 + 1000);
	assert_true(ev->present);
	assert_true(ev->damage_exact);
	/* Flushed again with nothing new: an empty, exact damage. */
	h_clear_events(h);
	assert_int_equal(h_flush(h, 1, 0, 0, w, hgt), OK);
	assert_int_equal(h->n_scanout_events, 1);
	assert_int_equal(h->scanout_events[0].n_damage, 0);
	assert_true(h->scanout_events[0].damage_exact);

	/* Disable: image NULL. */
	h_clear_events(h);
	assert_int_equal(h_set_scanout(h, 0, 0, 0, 0, 0, 0), OK);
	assert_int_equal(h->n_scanout_events, 1);
	assert_null(h->scanout_events[0].image);
	assert_true(h->scanout_events[0].present);
	/* A flush now reaches no scanout. */
	h_clear_events(h);
	assert_int_equal(h_flush(h, 1, 0, 0, w, hgt), OK);
	assert_int_equal(h->n_scanout_events, 0);
	assert_int_equal(h_unref(h, 1), OK);
	assert_int_equal(vgpu_device_memory_used(h->dev), 0);
}

static void test_partial_transfer(void **state)
{
	struct harness *h = *state;
	const uint32_t w = 32, hgt = 16, stride = w * 4;
	uint64_t gpa = H_RAM0;
	make_backed(h, 2, w, hgt, gpa);
	/* As Linux does: offset points at the rect's first pixel. */
	uint32_t rx = 3, ry = 5, rw = 7, rh = 4;
	assert_int_equal(h_transfer(h, 2, rx, ry, rw, rh, (uint64_t)ry * stride + rx * 4), OK);
	assert_int_equal(h_set_scanout(h, 0, 2, 0, 0, w, hgt), OK);
	pixman_image_t *img = h->scanout_events[0].image;
	for (uint32_t y = 0; y < hgt; y++) {
		for (uint32_t x = 0; x < w; x++) {
			bool in = x >= rx && x < rx + rw && y >= ry && y < ry + rh;
			uint32_t want = in ? guest_u32(h, gpa + (uint64_t)y * stride + x * 4) : 0;
			assert_int_equal(h_pixel(img, x, y), want);
		}
	}
}

/* Many small, unaligned, out-of-order entries: rows straddle entries. */
static void test_scattered_backing(void **state)
{
	struct harness *h = *state;
	const uint32_t w = 50, hgt = 30, stride = w * 4, size = stride * hgt;
	const uint32_t chunk = 77;
	uint32_t n = (size + chunk - 1) / chunk;
	struct virtio_gpu_mem_entry *e = calloc(n, sizeof(*e));
	uint64_t *where = calloc(n, sizeof(*where));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = i + 1 < n ? chunk : size - chunk * (n - 1);
		/* Descending addresses, gaps between, both regions. */
		where[i] = (i % 2 ? H_RAM1 : H_RAM0) + 0x40000 - (uint64_t)i * 128;
		e[i].addr = htole64(where[i]);
		e[i].length = htole32(len);
		fill_pattern(h, where[i], (len + 3) & ~3u, i * 31);
	}
	assert_int_equal(h_create_2d(h, 3, ARGB, w, hgt), OK);
	assert_int_equal(h_attach(h, 3, e, n), OK);
	/* A full transfer, then a narrow one at an odd place. */
	assert_int_equal(h_transfer(h, 3, 0, 0, w, hgt, 0), OK);
	assert_int_equal(h_transfer(h, 3, 11, 7, 5, 20, 7 * stride + 11 * 4), OK);
	assert_int_equal(h_set_scanout(h, 1, 3, 0, 0, w, hgt), OK);
	pixman_image_t *img = h->scanout_events[0].image;
	for (uint32_t y = 0; y < hgt; y++) {
		for (uint32_t x = 0; x < w; x++) {
			uint8_t want[4];
			for (int k = 0; k < 4; k++) {
				uint32_t off = y * stride + x * 4 + k;
				want[k] = *h_gpa(h, where[off / chunk] + off % chunk);
			}
			uint32_t v;
			memcpy(&v, want, 4);
			assert_int_equal(h_pixel(img, x, y), v);
		}
	}
	free(e);
	free(where);
}

static void test_formats(void **state)
{
	struct harness *h = *state;
	static const struct {
		uint32_t virtio;
		pixman_format_code_t pixman;
	} map[] = {
		{ VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, PIXMAN_a8r8g8b8 },
		{ VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, PIXMAN_x8r8g8b8 },
		{ VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM, PIXMAN_b8g8r8a8 },
		{ VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM, PIXMAN_b8g8r8x8 },
		{ VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM, PIXMAN_a8b8g8r8 },
		{ VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM, PIXMAN_r8g8b8x8 },
		{ VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM, PIXMAN_r8g8b8a8 },
		{ VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM, PIXMAN_x8b8g8r8 },
	};
	for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		assert_int_equal(vgpu_format_to_pixman(map[i].virtio), map[i].pixman);
		assert_int_equal(h_create_2d(h, 100 + i, map[i].virtio, 4, 4), OK);
		h_clear_events(h);
		assert_int_equal(h_set_scanout(h, 0, 100 + i, 0, 0, 4, 4), OK);
		assert_int_equal(pixman_image_get_format(h->scanout_events[0].image), map[i].pixman);
	}
	static const uint32_t bad[] = { 0, 5, 66, 69, 120, 122, 133, 135, 0xffffffff };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vgpu_format_to_pixman(bad[i]), 0);
		assert_int_equal(h_create_2d(h, 200 + i, bad[i], 4, 4), E_PARAM);
	}
	assert_still_serving(h);
}

/* ---- RESOURCE_CREATE_2D ---- */

static void test_create_invalid(void **state)
{
	struct harness *h = *state;
	assert_int_equal(h_create_2d(h, 0, XRGB, 4, 4), E_RES);
	assert_int_equal(h_create_2d(h, 5, XRGB, 4, 4), OK);
	assert_int_equal(h_create_2d(h, 5, XRGB, 4, 4), E_RES);
	assert_int_equal(h_create_2d(h, 6, XRGB, 0, 4), E_PARAM);
	assert_int_equal(h_create_2d(h, 6, XRGB, 4, 0), E_PARAM);
	assert_int_equal(h_create_2d(h, 6, XRGB, 0, 0), E_PARAM);
	/* width * 4 overflows 32 bits; width * height * 4 overflows 64. */
	assert_int_equal(h_create_2d(h, 6, XRGB, 0x40000001, 1), E_OOM);
	assert_int_equal(h_create_2d(h, 6, XRGB, 0x40000001, 0x40000001), E_OOM);
	assert_int_equal(h_create_2d(h, 6, XRGB, 0xffffffff, 0xffffffff), E_OOM);
	assert_int_equal(h_create_2d(h, 6, XRGB, 1, 0xffffffff), E_OOM);
	/* Beyond the 256 MiB default quota. */
	assert_int_equal(h_create_2d(h, 6, XRGB, 16384, 16384), E_OOM);
	assert_int_equal(vgpu_device_memory_used(h->dev) < 1024 + 64, true);
	assert_still_serving(h);
	assert_int_equal(h_create_2d(h, 6, XRGB, 4, 4), OK);
}

static void test_quota(void **state)
{
	struct harness *h = h_create(1, 1 << 20);
	/* 1 MiB of pixels plus bookkeeping does not fit in 1 MiB. */
	assert_int_equal(h_create_2d(h, 1, XRGB, 512, 512), E_OOM);
	assert_int_equal(vgpu_device_memory_used(h->dev), 0);
	assert_int_equal(h_create_2d(h, 1, XRGB, 256, 256), OK);
	uint64_t used = vgpu_device_memory_used(h->dev);
	assert_true(used >= 256 * 256 * 4);
	assert_int_equal(h_create_2d(h, 2, XRGB, 256, 256), OK);
	assert_int_equal(h_create_2d(h, 3, XRGB, 256, 256), OK);
	assert_int_equal(h_create_2d(h, 4, XRGB, 256, 256), E_OOM);
	/* Backing tables count too: 16384 entries are 256 KiB, which do not
	 * fit beside 3 x 256 KiB of pixels and bookkeeping. */
	struct virtio_gpu_mem_entry *e = calloc(VGPU_MAX_BACKING_ENTRIES, sizeof(*e));
	for (unsigned i = 0; i < VGPU_MAX_BACKING_ENTRIES; i++) {
		e[i].addr = htole64(H_RAM0 + i * 4);
		e[i].length = htole32(4);
	}
	assert_int_equal(h_attach(h, 1, e, VGPU_MAX_BACKING_ENTRIES), E_OOM);
	/* Nothing of the failed attach stays charged. */
	assert_int_equal(vgpu_device_memory_used(h->dev), 3 * used);
	assert_int_equal(h_unref(h, 1), OK);
	/* The table fits now, but not the host view of 16384 separate pieces. */
	used = vgpu_device_memory_used(h->dev);
	for (unsigned i = 0; i < VGPU_MAX_BACKING_ENTRIES; i++) {
		e[i].addr = htole64(H_RAM0 + i * 8);
	}
	assert_int_equal(h_attach(h, 2, e, VGPU_MAX_BACKING_ENTRIES), E_OOM);
	assert_int_equal(vgpu_device_memory_used(h->dev), used);
	used /= 2;
	/* Contiguous pieces merge into one. */
	for (unsigned i = 0; i < VGPU_MAX_BACKING_ENTRIES; i++) {
		e[i].addr = htole64(H_RAM0 + i * 4);
	}
	assert_int_equal(h_attach(h, 2, e, VGPU_MAX_BACKING_ENTRIES), OK);
	assert_true(vgpu_device_memory_used(h->dev) >= used + 16 * VGPU_MAX_BACKING_ENTRIES);
	assert_int_equal(h_unref(h, 2), OK);
	assert_int_equal(h_unref(h, 3), OK);
	assert_int_equal(vgpu_device_memory_used(h->dev), 0);
	free(e);
	h_destroy(h);
}

/* Resources are per device: another guest cannot name them. */
static void test_isolation(void **state)
{
	struct harness *a = *state;
	struct harness *b = h_create(1, 0);
	make_backed(a, 42, 8, 8, H_RAM0);
	assert_int_equal(h_flush(b, 42, 0, 0, 8, 8), E_RES);
	assert_int_equal(h_set_scanout(b, 0, 42, 0, 0, 8, 8), E_RES);
	assert_int_equal(h_transfer(b, 42, 0, 0, 8, 8, 0), E_RES);
	assert_int_equal(h_unref(b, 42), E_RES);
	assert_int_equal(h_create_2d(b, 42, XRGB, 8, 8), OK);
	assert_int_equal(h_transfer(a, 42, 0, 0, 8, 8, 0), OK);
	/* A single-head guest's monitor is named after it alone. */
	struct virtio_gpu_cmd_get_edid req = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_GET_EDID) },
	};
	struct virtio_gpu_resp_edid re;
	assert_int_equal(h_ctrl_resp(b, &req, sizeof(req), &re, sizeof(re), NULL),
		VIRTIO_GPU_RESP_OK_EDID);
	assert_memory_equal(re.edid + 72 + 5, "test\n", 5);
	/* Shown on a zone client's panel: its name and physical size. */
	vgpu_device_set_scanout_panel(b->dev, 0, "Panel 12in", 260, 160);
	assert_int_equal(h_ctrl_resp(b, &req, sizeof(req), &re, sizeof(re), NULL),
		VIRTIO_GPU_RESP_OK_EDID);
	struct vgpu_edid_info info;
	assert_int_equal(vgpu_edid_parse(re.edid, le32toh(re.size), &info), 0);
	assert_string_equal(info.name, "Panel 12in");
	assert_int_equal(info.width_mm, 260);
	assert_int_equal(info.height_mm, 160);
	/* The other device is not affected. */
	assert_int_equal(h_ctrl_resp(a, &req, sizeof(req), &re, sizeof(re), NULL),
		VIRTIO_GPU_RESP_OK_EDID);
	assert_int_equal(vgpu_edid_parse(re.edid, le32toh(re.size), &info), 0);
	assert_string_not_equal(info.name, "Panel 12in");
	vgpu_device_set_scanout_panel(b->dev, 0, NULL, 0, 0);
	assert_int_equal(h_ctrl_resp(b, &req, sizeof(req), &re, sizeof(re), NULL),
		VIRTIO_GPU_RESP_OK_EDID);
	assert_memory_equal(re.edid + 72 + 5, "test\n", 5);
	h_destroy(b);
}

static void test_many_resources(void **state)
{
	struct harness *h = *state;
	const uint32_t n = 5000;
	for (uint32_t i = 1; i <= n; i++) {
		assert_int_equal(h_create_2d(h, i * 7919u, XRGB, 1, 1), OK);
	}
	for (uint32_t i = 1; i <= n; i++) {
		assert_int_equal(h_flush(h, i * 7919u, 0, 0, 1, 1), OK);
	}
	for (uint32_t i = 1; i <= n; i += 2) {
		assert_int_equal(h_unref(h, i * 7919u), OK);
	}
	for (uint32_t i = 1; i <= n; i++) {
		assert_int_equal(h_flush(h, i * 7919u, 0, 0, 1, 1), i % 2 ? E_RES : OK);
	}
}

/* ---- RESOURCE_UNREF ---- */

static void test_unref(void **state)
{
	struct harness *h = *state;
	assert_int_equal(h_unref(h, 0), E_RES);
	assert_int_equal(h_unref(h, 77), E_RES);
	make_backed(h, 7, 16, 16, H_RAM0);
	assert_int_equal(h_transfer(h, 7, 0, 0, 16, 16, 0), OK);
	assert_int_equal(h_set_scanout(h, 0, 7, 0, 0, 16, 16), OK);
	assert_int_equal(h_set_scanout(h, 1, 7, 8, 8, 8, 8), OK);
	/* The listener keeps its ref past the unref: pixels stay valid. */
	pixman_image_t *img = pixman_image_ref(h->scanout_events[0].image);
	uint32_t px = h_pixel(img, 15, 15);
	h_clear_events(h);
	/* Unref of a shown resource is refused while any scanout shows it, and
	 * changes nothing. */
	assert_int_equal(h_unref(h, 7), E_PARAM);
	assert_int_equal(h->n_scanout_events, 0);
	assert_int_equal(h_set_scanout(h, 0, 0, 0, 0, 0, 0), OK);
	assert_int_equal(h_unref(h, 7), E_PARAM);
	assert_int_equal(h_flush(h, 7, 0, 0, 1, 1), OK);
	assert_int_equal(h_set_scanout(h, 1, 0, 0, 0, 0, 0), OK);
	h_clear_events(h);
	assert_int_equal(h_unref(h, 7), OK);
	assert_int_equal(h->n_scanout_events, 0);
	assert_int_equal(h_pixel(img, 15, 15), px);
	pixman_image_unref(img);
	assert_int_equal(h_unref(h, 7), E_RES);
	assert_int_equal(h_flush(h, 7, 0, 0, 1, 1), E_RES);
	/* The id is free again. */
	assert_int_equal(h_create_2d(h, 7, XRGB, 4, 4), OK);
	assert_still_serving(h);
}

/* ---- RESOURCE_ATTACH_BACKING / DETACH_BACKING ---- */

static void test_attach_invalid(void **state)
{
	struct harness *h = *state;
	struct virtio_gpu_mem_entry e[2] = {
		{ .addr = htole64(H_RAM0), .length = htole32(4096) },
	};
	assert_int_equal(h_attach(h, 9, e, 1), E_RES);
	assert_int_equal(h_attach(h, 0, e, 1), E_RES);
	assert_int_equal(h_create_2d(h, 9, XRGB, 32, 32), OK);
	/* No entries, too many entries. */
	assert_int_equal(h_attach(h, 9, e, 0), E_PARAM);
	struct virtio_gpu_mem_entry *many = calloc(VGPU_MAX_BACKING_ENTRIES + 1, sizeof(*many));
	for (unsigned i = 0; i <= VGPU_MAX_BACKING_ENTRIES; i++) {
		many[i].addr = htole64(H_RAM0);
		many[i].length = htole32(8);
	}
	assert_int_equal(h_attach(h, 9, many, VGPU_MAX_BACKING_ENTRIES + 1), E_PARAM);
	free(many);
	/* Outside guest RAM: below, after, past the end, wrapping. */
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ 0, 4096 },
		{ H_RAM0 - 1, 2 },
		{ H_RAM1 + H_RAM_SIZE - 4095, 4096 },
		{ H_RAM1 + H_RAM_SIZE, 1 },
		{ 0xfffffffffffff000ull, 0x2000 },
		{ 0xffffffffffffffffull, 1 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e[1].addr = htole64(bad[i].addr);
		e[1].length = htole32(bad[i].len);
		assert_int_equal(h_attach(h, 9, e, 2), E_PARAM);
	}
	/* A zero-length entry. */
	e[1].addr = htole64(H_RAM0 + 8192);
	e[1].length = 0;
	assert_int_equal(h_attach(h, 9, e, 2), E_PARAM);
	/* nr_entries larger than what the request carries. */
	struct {
		struct virtio_gpu_resource_attach_backing c;
		struct virtio_gpu_mem_entry e;
	} __attribute__((packed)) req = {
		.c = {
			.hdr = { .type = htole32(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING) },
			.resource_id = htole32(9),
			.nr_entries = htole32(2),
		},
		.e = { .addr = htole64(H_RAM0), .length = htole32(4096) },
	};
	assert_int_equal(h_ctrl(h, &req, sizeof(req)), E_UNSPEC);
	assert_int_equal(h_ctrl(h, &req, sizeof(req) - 1 - sizeof(req.e)), E_UNSPEC);
	req.c.nr_entries = htole32(0x10000000); /* * 16 wraps 32 bits */
	assert_int_equal(h_ctrl(h, &req, sizeof(req)), E_PARAM);
	/* None of that left anything behind: attach works, but only once. */
	assert_int_equal(h_transfer(h, 9, 0, 0, 1, 1, 0), E_UNSPEC);
	req.c.nr_entries = htole32(1);
	assert_int_equal(h_ctrl(h, &req, sizeof(req)), OK);
	assert_int_equal(h_ctrl(h, &req, sizeof(req)), E_UNSPEC);
	assert_int_equal(h_attach(h, 9, e, 1), E_UNSPEC);
	assert_int_equal(h_transfer(h, 9, 0, 0, 32, 8, 0), OK);
	assert_still_serving(h);
}

static void test_detach(void **state)
{
	struct harness *h = *state;
	assert_int_equal(h_detach(h, 10), E_RES);
	assert_int_equal(h_create_2d(h, 10, XRGB, 16, 16), OK);
	assert_int_equal(h_detach(h, 10), E_UNSPEC);
	assert_int_equal(h_attach_simple(h, 10, H_RAM0, 16 * 16 * 4), OK);
	assert_int_equal(h_transfer(h, 10, 0, 0, 16, 16, 0), OK);
	assert_int_equal(h_detach(h, 10), OK);
	assert_int_equal(h_transfer(h, 10, 0, 0, 16, 16, 0), E_UNSPEC);
	assert_int_equal(h_detach(h, 10), E_UNSPEC);
	/* Re-attach elsewhere and read the new place. */
	fill_pattern(h, H_RAM1, 16 * 16 * 4, 5);
	assert_int_equal(h_attach_simple(h, 10, H_RAM1, 16 * 16 * 4), OK);
	assert_int_equal(h_transfer(h, 10, 0, 0, 16, 16, 0), OK);
	assert_int_equal(h_set_scanout(h, 0, 10, 0, 0, 16, 16), OK);
	assert_int_equal(h_pixel(h->scanout_events[0].image, 3, 2), guest_u32(h, H_RAM1 + 2 * 64 + 12));
	assert_int_equal(h_set_scanout(h, 0, 0, 0, 0, 0, 0), OK);
	assert_int_equal(h_unref(h, 10), OK);
	assert_int_equal(vgpu_device_memory_used(h->dev), 0);
}

/* ---- TRANSFER_TO_HOST_2D ---- */

static void test_transfer_invalid(void **state)
{
	struct harness *h = *state;
	const uint32_t w = 64, hgt = 64, stride = w * 4;
	assert_int_equal(h_transfer(h, 11, 0, 0, 1, 1, 0), E_RES);
	assert_int_equal(h_transfer(h, 0, 0, 0, 1, 1, 0), E_RES);
	assert_int_equal(h_create_2d(h, 11, XRGB, w, hgt), OK);
	/* No backing yet. */
	assert_int_equal(h_transfer(h, 11, 0, 0, w, hgt, 0), E_UNSPEC);
	/* Backing of 10 rows only: allowed at attach, checked per transfer. */
	assert_int_equal(h_attach_simple(h, 11, H_RAM0, 10 * stride), OK);
	assert_int_equal(h_transfer(h, 11, 0, 0, w, 10, 0), OK);
	assert_int_equal(h_transfer(h, 11, 0, 0, w, 11, 0), E_PARAM);
	assert_int_equal(h_transfer(h, 11, 0, 9, w, 1, 9 * stride), OK);
	assert_int_equal(h_transfer(h, 11, 0, 9, w, 1, 9 * stride + 4), E_PARAM);
	assert_int_equal(h_transfer(h, 11, 63, 9, 1, 1, 10 * stride - 4), OK);
	assert_int_equal(h_transfer(h, 11, 63, 9, 1, 1, 10 * stride - 3), E_PARAM);
	/* Rects that wrap or leave the resource. */
	assert_int_equal(h_transfer(h, 11, 0xfffffff0, 0, 0x20, 1, 0), E_PARAM);
	assert_int_equal(h_transfer(h, 11, 0, 0xfffffff0, 1, 0x20, 0), E_PARAM);
	assert_int_equal(h_transfer(h, 11, 1, 0, w, 1, 0), E_PARAM);
	assert_int_equal(h_transfer(h, 11, 0, 1, 1, hgt, 0), E_PARAM);
	assert_int_equal(h_transfer(h, 11, w, 0, 1, 1, 0), E_PARAM);
	assert_int_equal(h_transfer(h, 11, 0, 0, 0xffffffff, 0xffffffff, 0), E_PARAM);
	/* Offsets past or wrapping around the backing. */
	assert_int_equal(h_transfer(h, 11, 0, 0, 1, 1, 10 * stride), E_PARAM);
	assert_int_equal(h_transfer(h, 11, 0, 0, 1, 1, 0xfffffffffffffff0ull), E_PARAM);
	assert_int_equal(h_transfer(h, 11, 0, 0, 1, 2, 0xffffffffffffffffull - stride), E_PARAM);
	/* An empty rect inside the resource is a no-op. */
	assert_int_equal(h_transfer(h, 11, 5, 5, 0, 0, 0), OK);
	assert_int_equal(h_transfer(h, 11, w, hgt, 0, 0, 0), OK);
	assert_still_serving(h);
}

/* Backing host pointers are never kept across a memory table change. */
static void test_mem_table_change(void **state)
{
	struct harness *h = *state;
	const uint32_t w = 16, hgt = 16, size = w * hgt * 4;
	make_backed(h, 12, w, hgt, H_RAM1 + 0x1000);
	assert_int_equal(h_transfer(h, 12, 0, 0, w, hgt, 0), OK);
	assert_int_equal(h_set_scanout(h, 0, 12, 0, 0, w, hgt), OK);
	pixman_image_t *img = h->scanout_events[0].image;

	/* The frontend moves RAM1 to a new host mapping (as after a new
	 * SET_MEM_TABLE); the old one is gone. */
	uint8_t *moved = calloc(1, H_RAM_SIZE);
	memcpy(moved, h->ram[1], H_RAM_SIZE);
	memset(h->ram[1], 0xa5, H_RAM_SIZE);
	free(h->ram[1]);
	h->ram[1] = moved;
	h->mem.regions[1].host = moved;
	h->mem.generation++;
	fill_pattern(h, H_RAM1 + 0x1000, size, 99);
	assert_int_equal(h_transfer(h, 12, 0, 0, w, hgt, 0), OK);
	assert_int_equal(h_pixel(img, 5, 5), guest_u32(h, H_RAM1 + 0x1000 + 5 * 64 + 20));

	/* Same again without a generation bump: the region compare notices. */
	moved = calloc(1, H_RAM_SIZE);
	free(h->ram[1]);
	h->ram[1] = moved;
	h->mem.regions[1].host = moved;
	fill_pattern(h, H_RAM1 + 0x1000, size, 1234);
	assert_int_equal(h_transfer(h, 12, 0, 0, w, hgt, 0), OK);
	assert_int_equal(h_pixel(img, 7, 3), guest_u32(h, H_RAM1 + 0x1000 + 3 * 64 + 28));

	/* RAM1 shrinks: the backing is no longer guest RAM. */
	h->mem.regions[1].size = 0x1000;
	h->mem.generation++;
	assert_int_equal(h_transfer(h, 12, 0, 0, w, hgt, 0), E_UNSPEC);
	assert_int_equal(h_transfer(h, 12, 0, 0, w, hgt, 0), E_UNSPEC);
	/* No memory at all. */
	vgpu_device_set_mem(h->dev, NULL);
	assert_int_equal(h_transfer(h, 12, 0, 0, w, hgt, 0), E_UNSPEC);
	assert_int_equal(h_create_2d(h, 13, XRGB, 4, 4), OK);
	assert_int_equal(h_attach_simple(h, 13, H_RAM0, 64), E_PARAM);
	/* Back again. */
	h->mem.regions[1].size = H_RAM_SIZE;
	vgpu_device_set_mem(h->dev, &h->mem);
	assert_int_equal(h_transfer(h, 12, 0, 0, w, hgt, 0), OK);
	assert_still_serving(h);
}

/* ---- SET_SCANOUT / RESOURCE_FLUSH ---- */

static void test_set_scanout_invalid(void **state)
{
	struct harness *h = *state;
	assert_int_equal(h_create_2d(h, 14, XRGB, 100, 50), OK);
	assert_int_equal(h_set_scanout(h, 2, 14, 0, 0, 100, 50), E_SCANOUT);
	assert_int_equal(h_set_scanout(h, 16, 14, 0, 0, 100, 50), E_SCANOUT);
	assert_int_equal(h_set_scanout(h, 0xffffffff, 14, 0, 0, 100, 50), E_SCANOUT);
	assert_int_equal(h_set_scanout(h, 2, 0, 0, 0, 0, 0), E_SCANOUT);
	assert_int_equal(h_set_scanout(h, 0, 15, 0, 0, 100, 50), E_RES);
	assert_int_equal(h_set_scanout(h, 0, 14, 0, 0, 101, 50), E_PARAM);
	assert_int_equal(h_set_scanout(h, 0, 14, 0, 1, 100, 50), E_PARAM);
	assert_int_equal(h_set_scanout(h, 0, 14, 1, 0, 100, 50), E_PARAM);
	assert_int_equal(h_set_scanout(h, 0, 14, 0xffffff00, 0, 0x200, 50), E_PARAM);
	assert_int_equal(h_set_scanout(h, 0, 14, 0, 0xffffff00, 100, 0x200), E_PARAM);
	assert_int_equal(h_set_scanout(h, 0, 14, 100, 0, 0, 50), E_PARAM);
	assert_int_equal(h_set_scanout(h, 0, 14, 0, 0, 0, 0), E_PARAM);
	assert_int_equal(h_set_scanout(h, 0, 14, 0, 0, 100, 0), E_PARAM);
	assert_int_equal(h->n_scanout_events, 0);
	/* Resource 0 disables whatever the rect says. */
	assert_int_equal(h_set_scanout(h, 0, 0, 5, 5, 0, 0), OK);
	assert_int_equal(h->n_scanout_events, 1);
	assert_null(h->scanout_events[0].image);
	assert_int_equal(h_set_scanout(h, 0, 14, 99, 49, 1, 1), OK);
	assert_still_serving(h);
}

/* One big framebuffer, two scanouts showing halves of it (multihead). */
static void test_flush_multihead(void **state)
{
	struct harness *h = *state;
	make_backed(h, 15, 200, 100, H_RAM0);
	assert_int_equal(h_set_scanout(h, 0, 15, 0, 0, 100, 100), OK);
	assert_int_equal(h_set_scanout(h, 1, 15, 100, 0, 100, 100), OK);
	h_clear_events(h);
	/* Left half only (after the guest rewrote all of it: the flushes'
	 * damage is then their rectangles, clipped per scanout). */
	fill_pattern(h, H_RAM0, 200 * 100 * 4, 99);
	assert_int_equal(h_transfer(h, 15, 0, 0, 200, 100, 0), OK);
	assert_int_equal(h_flush(h, 15, 10, 10, 20, 20), OK);
	assert_int_equal(h->n_scanout_events, 1);
	assert_int_equal(h->scanout_events[0].scanout_id, 0);
	assert_int_equal(h->scanout_events[0].src_x, 0);
	/* Across both: each gets its clipped part, in resource coordinates. */
	h_clear_events(h);
	assert_int_equal(h_flush(h, 15, 90, 5, 20, 10), OK);
	assert_int_equal(h->n_scanout_events, 2);
	struct h_scanout_event *l = &h->scanout_events[0], *r = &h->scanout_events[1];
	assert_int_equal(l->scanout_id, 0);
	assert_int_equal(l->damage.x1, 90);
	assert_int_equal(l->damage.x2, 100);
	assert_int_equal(l->damage.y1, 5);
	assert_int_equal(l->damage.y2, 15);
	assert_int_equal(r->scanout_id, 1);
	assert_int_equal(r->src_x, 100);
	assert_int_equal(r->src_w, 100);
	assert_int_equal(r->damage.x1, 100);
	assert_int_equal(r->damage.x2, 110);
	/* The same image goes to both. */
	assert_ptr_equal(l->image, r->image);
	/* Outside the resource, wrapping, unknown. */
	h_clear_events(h);
	assert_int_equal(h_flush(h, 15, 0, 0, 201, 1), E_PARAM);
	assert_int_equal(h_flush(h, 15, 0xfffffff0, 0, 0x20, 1), E_PARAM);
	assert_int_equal(h_flush(h, 15, 0, 0xfffffff0, 1, 0x20), E_PARAM);
	assert_int_equal(h_flush(h, 16, 0, 0, 1, 1), E_RES);
	assert_int_equal(h_flush(h, 0, 0, 0, 1, 1), E_RES);
	/* Empty rect: nothing to show. */
	assert_int_equal(h_flush(h, 15, 10, 10, 0, 5), OK);
	assert_int_equal(h->n_scanout_events, 0);
	/* Page flip: SET_SCANOUT to another resource moves the scanout. */
	make_backed(h, 17, 100, 100, H_RAM1);
	assert_int_equal(h_set_scanout(h, 1, 17, 0, 0, 100, 100), OK);
	h_clear_events(h);
	assert_int_equal(h_flush(h, 15, 0, 0, 200, 100), OK);
	assert_int_equal(h->n_scanout_events, 1);
	assert_int_equal(h->scanout_events[0].scanout_id, 0);
	h_clear_events(h);
	assert_int_equal(h_flush(h, 17, 0, 0, 100, 100), OK);
	assert_int_equal(h->n_scanout_events, 1);
	assert_int_equal(h->scanout_events[0].scanout_id, 1);
}

/* ---- damage: exact when a page flip shows a buffer again ---- */

#define FD_W 64
#define FD_H 48
#define FD_BUFS 3

struct flip_model {
	pixman_box32_t box; /* what the op shows: the old contract's damage */
	uint32_t exact[FD_W * FD_H]; /* the display, updated by the damage only */
	uint32_t model[FD_W * FD_H]; /* the display, updated by all of box */
	unsigned exact_events;
};

static void copy_box(uint32_t *disp, pixman_image_t *img, const pixman_box32_t *b)
{
	for (int32_t y = b->y1; y < b->y2; y++) {
		for (int32_t x = b->x1; x < b->x2; x++) {
			disp[y * FD_W + x] = h_pixel(img, (uint32_t)x, (uint32_t)y);
		}
	}
}

static void flip_model_update(struct harness *h, const struct vgpu_scanout_update *u)
{
	struct flip_model *m = h->hook_data;
	if (!u->image) {
		return;
	}
	for (int i = 0; i < u->n_damage; i++) {
		const pixman_box32_t *b = &u->damage[i];
		/* Inside what the op shows, or the old contract's box. */
		assert_true(b->x1 >= m->box.x1 && b->y1 >= m->box.y1 && b->x2 <= m->box.x2 &&
			b->y2 <= m->box.y2);
		copy_box(m->exact, u->image, b);
	}
	m->exact_events += u->damage_exact;
	copy_box(m->model, u->image, &m->box);
}

static uint32_t fd_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* A random guest flipping between FD_BUFS buffers, changing, transferring
 * and flushing random rectangles (sometimes nothing, sometimes everything):
 * a display updated only by the device's damage must always equal one
 * updated by every shown rectangle whole (the damage = flush rectangle
 * contract it replaces). */
static void test_flip_damage_exact(void **state)
{
	struct harness *h = *state;
	struct flip_model m = { 0 };
	const uint64_t base = H_RAM0 + 0x40000;
	const size_t bytes = FD_W * FD_H * 4;
	uint32_t seed = 12345, shown = 0;
	for (uint32_t i = 0; i < FD_BUFS; i++) {
		make_backed(h, 40 + i, FD_W, FD_H, base + i * bytes);
		assert_int_equal(h_transfer(h, 40 + i, 0, 0, FD_W, FD_H, 0), OK);
	}
	h->on_update = flip_model_update;
	h->hook_data = &m;
	m.box = (pixman_box32_t){ 0, 0, FD_W, FD_H };
	assert_int_equal(h_set_scanout(h, 0, 40, 0, 0, FD_W, FD_H), OK);
	for (int step = 0; step < 4000; step++) {
		uint32_t k = fd_rand(&seed) % FD_BUFS;
		uint32_t x = fd_rand(&seed) % FD_W, y = fd_rand(&seed) % FD_H;
		uint32_t w = 1 + fd_rand(&seed) % (FD_W - x), hh = 1 + fd_rand(&seed) % (FD_H - y);
		switch (fd_rand(&seed) % 6) {
		case 0: /* the guest draws into buffer k */
		case 1:
			for (uint32_t yy = y; yy < y + hh; yy++) {
				for (uint32_t xx = x; xx < x + w; xx++) {
					uint32_t v = fd_rand(&seed) % 4 == 0 ? 0 : fd_rand(&seed);
					memcpy(h_gpa(h, base + k * bytes + ((uint64_t)yy * FD_W + xx) * 4), &v, 4);
				}
			}
			break;
		case 2: /* transfers all of it, or a rectangle */
			if (fd_rand(&seed) % 2) {
				assert_int_equal(h_transfer(h, 40 + k, 0, 0, FD_W, FD_H, 0), OK);
			} else {
				assert_int_equal(h_transfer(h, 40 + k, x, y, w, hh,
					((uint64_t)y * FD_W + x) * 4), OK);
			}
			break;
		case 3: /* page flip: SET_SCANOUT to k, then a flush of all of it */
			m.box = (pixman_box32_t){ 0, 0, FD_W, FD_H };
			assert_int_equal(h_set_scanout(h, 0, 40 + k, 0, 0, FD_W, FD_H), OK);
			assert_int_equal(h_flush(h, 40 + k, 0, 0, FD_W, FD_H), OK);
			shown = k;
			break;
		default: /* a flush of a rectangle of what is shown */
			m.box = (pixman_box32_t){ (int32_t)x, (int32_t)y, (int32_t)(x + w), (int32_t)(y + hh) };
			assert_int_equal(h_flush(h, 40 + shown, x, y, w, hh), OK);
			break;
		}
		h_clear_events(h);
		assert_memory_equal(m.exact, m.model, sizeof(m.exact));
	}
	/* The exact path was taken, not the whole-box fallback every time. */
	assert_true(m.exact_events > 1000);
	h->on_update = NULL;
}

/* Linux's page flip of dumb buffers: TRANSFER (all), SET_SCANOUT, FLUSH
 * (all), alternating two buffers with a small change each: after the
 * first two, each flip's damage is exact and small. */
static void test_flip_linux_order(void **state)
{
	struct harness *h = *state;
	const uint64_t base = H_RAM0 + 0x40000;
	const size_t bytes = FD_W * FD_H * 4;
	for (uint32_t i = 0; i < 2; i++) {
		make_backed(h, 50 + i, FD_W, FD_H, base + i * bytes);
		fill_pattern(h, base + i * bytes, bytes, 77); /* both buffers alike */
	}
	for (uint32_t f = 0; f < 8; f++) {
		uint32_t k = f % 2, v = 0x12345 + f;
		/* the guest draws a 1x4 bar at x = f (the bars of earlier frames stay) */
		for (uint32_t y = 0; y < 4; y++) {
			memcpy(h_gpa(h, base + k * bytes + ((uint64_t)y * FD_W + f) * 4), &v, 4);
		}
		h_clear_events(h);
		assert_int_equal(h_transfer(h, 50 + k, 0, 0, FD_W, FD_H, 0), OK);
		assert_int_equal(h_set_scanout(h, 0, 50 + k, 0, 0, FD_W, FD_H), OK);
		assert_int_equal(h_flush(h, 50 + k, 0, 0, FD_W, FD_H), OK);
		assert_int_equal(h->n_scanout_events, 2);
		if (f >= 2) {
			struct h_scanout_event *e = &h->scanout_events[0];
			assert_true(e->damage_exact);
			assert_true(e->damage.x2 - e->damage.x1 <= 8);
			assert_true(h->scanout_events[1].damage_exact);
			assert_int_equal(h->scanout_events[1].n_damage, 0);
		}
	}
}

/* Where exact damage must give way: a flip to a buffer of another format
 * (the same bytes are other colours), a flip after the scanout was
 * disabled, and a guest making its damage a maze (the region is capped,
 * so no transfer gets slower and slower). */
static void test_flip_damage_limits(void **state)
{
	struct harness *h = *state;
	const uint64_t base = H_RAM0 + 0x40000;
	const size_t bytes = FD_W * FD_H * 4;
	make_backed(h, 70, FD_W, FD_H, base);
	assert_int_equal(h_create_2d(h, 71, VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM, FD_W, FD_H), OK);
	assert_int_equal(h_attach_simple(h, 71, base + bytes, (uint32_t)bytes), OK);
	memcpy(h_gpa(h, base + bytes), h_gpa(h, base), bytes); /* the same bytes */
	for (uint32_t id = 70; id <= 71; id++) {
		assert_int_equal(h_transfer(h, id, 0, 0, FD_W, FD_H, 0), OK);
		assert_int_equal(h_set_scanout(h, 0, id, 0, 0, FD_W, FD_H), OK);
		assert_int_equal(h_flush(h, id, 0, 0, FD_W, FD_H), OK);
	}
	/* 70 again: recent, but 71 has another format */
	h_clear_events(h);
	assert_int_equal(h_set_scanout(h, 0, 70, 0, 0, FD_W, FD_H), OK);
	assert_false(h->scanout_events[0].damage_exact);
	assert_int_equal(h->scanout_events[0].damage.x2, FD_W);
	assert_int_equal(h->scanout_events[0].damage.y2, FD_H);

	/* disabled, then 70 again: not exact either */
	assert_int_equal(h_flush(h, 70, 0, 0, FD_W, FD_H), OK);
	assert_int_equal(h_set_scanout(h, 0, 0, 0, 0, 0, 0), OK);
	h_clear_events(h);
	assert_int_equal(h_set_scanout(h, 0, 70, 0, 0, FD_W, FD_H), OK);
	assert_false(h->scanout_events[0].damage_exact);

	/* a maze: every other row changes in every other pixel */
	for (uint32_t y = 0; y < FD_H; y += 2) {
		for (uint32_t x = y % 4; x < FD_W; x += 4) {
			uint32_t v = 0xabcdef ^ (x * 131 + y);
			memcpy(h_gpa(h, base + ((uint64_t)y * FD_W + x) * 4), &v, 4);
		}
		assert_int_equal(h_transfer(h, 70, 0, y, FD_W, 1, (uint64_t)y * FD_W * 4), OK);
	}
	h_clear_events(h);
	assert_int_equal(h_flush(h, 70, 0, 0, FD_W, FD_H), OK);
	assert_true(h->scanout_events[0].damage_exact);
	assert_true(h->scanout_events[0].n_damage >= 1 && h->scanout_events[0].n_damage <= 64);
}

/* ---- framing: short requests, short responses, fences ---- */

static void test_short_requests(void **state)
{
	struct harness *h = *state;
	static const struct {
		uint32_t type;
		size_t size;
	} cmds[] = {
		{ VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, sizeof(struct virtio_gpu_resource_create_2d) },
		{ VIRTIO_GPU_CMD_RESOURCE_UNREF, sizeof(struct virtio_gpu_resource_unref) },
		{ VIRTIO_GPU_CMD_SET_SCANOUT, sizeof(struct virtio_gpu_set_scanout) },
		{ VIRTIO_GPU_CMD_RESOURCE_FLUSH, sizeof(struct virtio_gpu_resource_flush) },
		{ VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, sizeof(struct virtio_gpu_transfer_to_host_2d) },
		{ VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
			sizeof(struct virtio_gpu_resource_attach_backing) },
		{ VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
			sizeof(struct virtio_gpu_resource_detach_backing) },
		{ VIRTIO_GPU_CMD_GET_EDID, sizeof(struct virtio_gpu_cmd_get_edid) },
	};
	uint8_t buf[128];
	for (unsigned i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		memset(buf, 0, sizeof(buf));
		struct virtio_gpu_ctrl_hdr hdr = { .type = htole32(cmds[i].type) };
		memcpy(buf, &hdr, sizeof(hdr));
		/* A valid-looking body that the short length cuts off. */
		buf[24] = 1;
		assert_int_equal(h_ctrl(h, buf, cmds[i].size - 1), E_UNSPEC);
		assert_int_equal(h_ctrl(h, buf, sizeof(hdr)), E_UNSPEC);
	}
	/* Shorter than a header, or nothing at all. */
	struct virtio_gpu_ctrl_hdr hdr = { .type = htole32(VIRTIO_GPU_CMD_GET_DISPLAY_INFO) };
	assert_int_equal(h_ctrl(h, &hdr, sizeof(hdr) - 1), E_UNSPEC);
	assert_int_equal(h_ctrl(h, &hdr, 0), E_UNSPEC);
	struct virtio_gpu_ctrl_hdr resp;
	struct iovec out = { &resp, sizeof(resp) };
	assert_int_equal(vgpu_device_process_ctrl(h->dev, NULL, 0, &out, 1, 0), sizeof(resp));
	assert_int_equal(le32toh(resp.type), E_UNSPEC);
	assert_int_equal(h->n_scanout_events, 0);
	assert_int_equal(vgpu_device_memory_used(h->dev), 0);

	/* A request split over several buffers works. */
	struct virtio_gpu_resource_create_2d c = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D) },
		.resource_id = htole32(20), .format = htole32(XRGB),
		.width = htole32(4), .height = htole32(4),
	};
	uint8_t *p = (uint8_t *)&c;
	struct iovec in[4] = { { p, 3 }, { p + 3, 0 }, { p + 3, 22 }, { p + 25, sizeof(c) - 25 } };
	assert_int_equal(vgpu_device_process_ctrl(h->dev, in, 4, &out, 1, 0), sizeof(resp));
	assert_int_equal(le32toh(resp.type), OK);
	assert_int_equal(h_create_2d(h, 20, XRGB, 4, 4), E_RES);
}

static void test_short_responses(void **state)
{
	struct harness *h = *state;
	uint8_t buf[2048];
	struct virtio_gpu_ctrl_hdr req = { .type = htole32(VIRTIO_GPU_CMD_GET_DISPLAY_INFO) };
	/* Not even a header fits: nothing written, nothing done. */
	memset(buf, 0x5a, sizeof(buf));
	size_t n;
	assert_int_equal(h_ctrl_resp(h, &req, sizeof(req), buf, 23, &n), 0);
	assert_int_equal(n, 0);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(buf[i], 0x5a);
	}
	assert_int_equal(vgpu_device_process_ctrl(h->dev, NULL, 0, NULL, 0, 0), 0);
	struct virtio_gpu_resource_create_2d c = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D) },
		.resource_id = htole32(21), .format = htole32(XRGB),
		.width = htole32(4), .height = htole32(4),
	};
	assert_int_equal(h_ctrl_resp(h, &c, sizeof(c), buf, 10, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vgpu_device_memory_used(h->dev), 0);
	/* A header fits but the display info does not: an error header. */
	assert_int_equal(h_ctrl_resp(h, &req, sizeof(req), buf, 100, &n), E_UNSPEC);
	assert_int_equal(n, sizeof(struct virtio_gpu_ctrl_hdr));
	assert_int_equal(buf[24], 0x5a);
	struct virtio_gpu_cmd_get_edid ge = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_GET_EDID) },
	};
	assert_int_equal(h_ctrl_resp(h, &ge, sizeof(ge), buf,
		sizeof(struct virtio_gpu_resp_edid) - 1, &n), E_UNSPEC);
	assert_int_equal(n, sizeof(struct virtio_gpu_ctrl_hdr));
	/* A response split over buffers. */
	struct virtio_gpu_resp_display_info di;
	uint8_t *p = (uint8_t *)&di;
	struct iovec out[3] = { { p, 10 }, { p + 10, 100 }, { p + 110, sizeof(di) - 110 } };
	struct iovec in = { &req, sizeof(req) };
	assert_int_equal(vgpu_device_process_ctrl(h->dev, &in, 1, out, 3, 0), sizeof(di));
	assert_int_equal(le32toh(di.hdr.type), VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	assert_int_equal(le32toh(di.pmodes[0].r.width), 1280);
}

static void test_fences(void **state)
{
	struct harness *h = *state;
	struct virtio_gpu_resource_create_2d c = {
		.hdr = {
			.type = htole32(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D),
			.flags = htole32(VIRTIO_GPU_FLAG_FENCE),
			.fence_id = htole64(0x123456789abcdefull),
			.ctx_id = htole32(7),
			.ring_idx = 3,
		},
		.resource_id = htole32(30), .format = htole32(XRGB),
		.width = htole32(4), .height = htole32(4),
	};
	assert_int_equal(h_ctrl(h, &c, sizeof(c)), OK);
	assert_int_equal(le32toh(h->resp.flags), VIRTIO_GPU_FLAG_FENCE);
	assert_int_equal(le64toh(h->resp.fence_id), 0x123456789abcdefull);
	assert_int_equal(le32toh(h->resp.ctx_id), 7);
	assert_int_equal(h->resp.ring_idx, 0);
	/* Errors are fenced too, and the ring index comes back on request. */
	c.hdr.flags = htole32(VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX);
	c.hdr.fence_id = htole64(2);
	assert_int_equal(h_ctrl(h, &c, sizeof(c)), E_RES);
	assert_int_equal(le32toh(h->resp.flags),
		VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX);
	assert_int_equal(le64toh(h->resp.fence_id), 2);
	assert_int_equal(h->resp.ring_idx, 3);
	/* A fenced request too short for its command still gets its fence. */
	c.hdr.fence_id = htole64(3);
	assert_int_equal(h_ctrl(h, &c, sizeof(c) - 4), E_UNSPEC);
	assert_int_equal(le64toh(h->resp.fence_id), 3);
	assert_int_equal(le32toh(h->resp.flags) & VIRTIO_GPU_FLAG_FENCE, VIRTIO_GPU_FLAG_FENCE);
	/* No fence asked, none given. */
	c.hdr.flags = 0;
	c.resource_id = htole32(31);
	assert_int_equal(h_ctrl(h, &c, sizeof(c)), OK);
	assert_int_equal(h->resp.flags, 0);
	assert_int_equal(h->resp.fence_id, 0);
	assert_int_equal(h->resp.ctx_id, 0);
}

static void test_unsupported(void **state)
{
	struct harness *h = *state;
	static const uint32_t types[] = {
		0, 0xff, VIRTIO_GPU_CMD_GET_CAPSET_INFO, VIRTIO_GPU_CMD_GET_CAPSET,
		VIRTIO_GPU_CMD_RESOURCE_ASSIGN_UUID, VIRTIO_GPU_CMD_RESOURCE_CREATE_BLOB,
		VIRTIO_GPU_CMD_SET_SCANOUT_BLOB, VIRTIO_GPU_CMD_SET_SCANOUT_BLOB + 1, 0x1ff,
		VIRTIO_GPU_CMD_CTX_CREATE, VIRTIO_GPU_CMD_CTX_DESTROY,
		VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, VIRTIO_GPU_CMD_CTX_DETACH_RESOURCE,
		VIRTIO_GPU_CMD_RESOURCE_CREATE_3D, VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D,
		VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D, VIRTIO_GPU_CMD_SUBMIT_3D,
		VIRTIO_GPU_CMD_RESOURCE_MAP_BLOB, VIRTIO_GPU_CMD_RESOURCE_UNMAP_BLOB,
		VIRTIO_GPU_CMD_UPDATE_CURSOR, VIRTIO_GPU_CMD_MOVE_CURSOR,
		VIRTIO_GPU_RESP_OK_NODATA, VIRTIO_GPU_RESP_ERR_UNSPEC, 0xffffffff,
	};
	uint8_t buf[256] = { 0 };
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint32_t t = htole32(types[i]);
		memcpy(buf, &t, 4);
		assert_int_equal(h_ctrl(h, buf, sizeof(buf)), E_UNSPEC);
	}
	/* Control commands on the cursor queue. */
	uint32_t t = htole32(VIRTIO_GPU_CMD_GET_DISPLAY_INFO);
	memcpy(buf, &t, 4);
	assert_int_equal(h_cursor(h, buf, sizeof(buf)), E_UNSPEC);
	t = htole32(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D);
	memcpy(buf, &t, 4);
	assert_int_equal(h_cursor(h, buf, sizeof(buf)), E_UNSPEC);
	assert_still_serving(h);
}

/* ---- cursor ---- */

static void test_cursor(void **state)
{
	struct harness *h = *state;
	/* A8R8G8B8 in virtio terms is bytes A,R,G,B: pixman b8g8r8a8. */
	assert_int_equal(h_create_2d(h, 40, VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM, 64, 64), OK);
	uint8_t *px = h_gpa(h, H_RAM0);
	for (int i = 0; i < 64 * 64; i++) {
		px[i * 4 + 0] = 0x80;              /* A */
		px[i * 4 + 1] = (uint8_t)i;        /* R */
		px[i * 4 + 2] = (uint8_t)(i >> 8); /* G */
		px[i * 4 + 3] = 0x11;              /* B */
	}
	assert_int_equal(h_attach_simple(h, 40, H_RAM0, 64 * 64 * 4), OK);
	assert_int_equal(h_transfer(h, 40, 0, 0, 64, 64, 0), OK);
	assert_int_equal(h_update_cursor(h, 1, 40, 5, 6, 100, 200), OK);
	assert_int_equal(h->n_cursor_events, 1);
	struct h_cursor_event *e = &h->cursor_events[0];
	assert_false(e->move);
	assert_true(e->has_image);
	assert_int_equal(e->scanout_id, 1);
	assert_int_equal(e->hot_x, 5);
	assert_int_equal(e->hot_y, 6);
	assert_int_equal(e->x, 100);
	assert_int_equal(e->y, 200);
	for (int i = 0; i < 64 * 64; i++) {
		uint32_t want = 0x80u << 24 | (uint32_t)(i & 0xff) << 16 | (uint32_t)((i >> 8) & 0xff) << 8 | 0x11;
		assert_int_equal(e->pixels[i], want);
	}
	assert_int_equal(h_move_cursor(h, 1, 300, 400), OK);
	assert_int_equal(h->n_cursor_events, 2);
	assert_true(h->cursor_events[1].move);
	assert_int_equal(h->cursor_events[1].x, 300);
	assert_int_equal(h->cursor_events[1].y, 400);
	/* Hide. */
	assert_int_equal(h_update_cursor(h, 1, 0, 0, 0, 0, 0), OK);
	assert_false(h->cursor_events[2].has_image);
	h_clear_events(h);

	/* Refused: bad scanout, unknown resource, not 64x64, hot spot outside. */
	assert_int_equal(h_update_cursor(h, 2, 40, 0, 0, 0, 0), E_SCANOUT);
	assert_int_equal(h_update_cursor(h, 0xffffffff, 0, 0, 0, 0, 0), E_SCANOUT);
	assert_int_equal(h_move_cursor(h, 2, 0, 0), E_SCANOUT);
	assert_int_equal(h_update_cursor(h, 0, 41, 0, 0, 0, 0), E_RES);
	assert_int_equal(h_create_2d(h, 41, XRGB, 64, 32), OK);
	assert_int_equal(h_update_cursor(h, 0, 41, 0, 0, 0, 0), E_PARAM);
	assert_int_equal(h_create_2d(h, 42, XRGB, 32, 64), OK);
	assert_int_equal(h_update_cursor(h, 0, 42, 0, 0, 0, 0), E_PARAM);
	assert_int_equal(h_update_cursor(h, 0, 40, 64, 0, 0, 0), E_PARAM);
	assert_int_equal(h_update_cursor(h, 0, 40, 0, 0xffffffff, 0, 0), E_PARAM);
	assert_int_equal(h->n_cursor_events, 0);

	/* Short cursor request. */
	struct virtio_gpu_update_cursor c = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_MOVE_CURSOR) },
	};
	assert_int_equal(h_cursor(h, &c, sizeof(c) - 1), E_UNSPEC);
	assert_int_equal(h->n_cursor_events, 0);

	/* No response buffer (as Linux sends them): still applied. */
	c.hdr.flags = htole32(VIRTIO_GPU_FLAG_FENCE);
	c.hdr.fence_id = htole64(77);
	c.pos.x = htole32(9);
	struct iovec in = { &c, sizeof(c) };
	assert_int_equal(vgpu_device_process_cursor(h->dev, &in, 1, NULL, 0), 0);
	assert_int_equal(h->n_cursor_events, 1);
	assert_int_equal(h->cursor_events[0].x, 9);
	/* With one, the fence comes back. */
	assert_int_equal(h_cursor(h, &c, sizeof(c)), OK);
	assert_int_equal(le64toh(h->resp.fence_id), 77);
	assert_int_equal(le32toh(h->resp.flags), VIRTIO_GPU_FLAG_FENCE);
	/* x8 formats come out opaque. */
	h_clear_events(h);
	assert_int_equal(h_create_2d(h, 43, XRGB, 64, 64), OK);
	assert_int_equal(h_update_cursor(h, 0, 43, 0, 0, 0, 0), OK);
	assert_int_equal(h->cursor_events[0].pixels[100], 0xff000000);
}

/* ---- config space events, reset ---- */

static void test_events(void **state)
{
	struct harness *h = *state;
	struct virtio_gpu_config c;
	assert_false(vgpu_device_set_scanout_enabled(h->dev, 0, true));
	vgpu_device_get_config(h->dev, &c);
	assert_int_equal(c.events_read, 0);
	assert_true(vgpu_device_set_scanout_enabled(h->dev, 1, true));
	vgpu_device_get_config(h->dev, &c);
	assert_int_equal(le32toh(c.events_read), VIRTIO_GPU_EVENT_DISPLAY);
	assert_false(vgpu_device_set_scanout_enabled(h->dev, 2, true));
	assert_false(vgpu_device_set_scanout_enabled(h->dev, 99, false));

	struct virtio_gpu_ctrl_hdr req = { .type = htole32(VIRTIO_GPU_CMD_GET_DISPLAY_INFO) };
	struct virtio_gpu_resp_display_info di;
	assert_int_equal(h_ctrl_resp(h, &req, sizeof(req), &di, sizeof(di), NULL),
		VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	assert_int_equal(le32toh(di.pmodes[1].enabled), 1);

	vgpu_device_clear_events(h->dev, VIRTIO_GPU_EVENT_DISPLAY);
	vgpu_device_get_config(h->dev, &c);
	assert_int_equal(c.events_read, 0);
	assert_true(vgpu_device_set_scanout_enabled(h->dev, 0, false));
	assert_int_equal(h_ctrl_resp(h, &req, sizeof(req), &di, sizeof(di), NULL),
		VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	assert_int_equal(di.pmodes[0].enabled, 0);
	vgpu_device_get_config(h->dev, &c);
	assert_int_equal(le32toh(c.events_read), VIRTIO_GPU_EVENT_DISPLAY);
	vgpu_device_clear_events(h->dev, 0);
	vgpu_device_get_config(h->dev, &c);
	assert_int_equal(le32toh(c.events_read), VIRTIO_GPU_EVENT_DISPLAY);
}

static void test_reset(void **state)
{
	struct harness *h = *state;
	make_backed(h, 50, 64, 64, H_RAM0);
	make_backed(h, 51, 32, 32, H_RAM1);
	assert_int_equal(h_set_scanout(h, 1, 50, 0, 0, 64, 64), OK);
	assert_int_equal(h_update_cursor(h, 0, 50, 0, 0, 1, 1), OK);
	vgpu_device_set_features(h->dev, 1ull << VIRTIO_GPU_F_EDID);
	assert_true(vgpu_device_set_scanout_enabled(h->dev, 1, true));
	assert_true(vgpu_device_memory_used(h->dev) > 0);
	h_clear_events(h);

	vgpu_device_reset(h->dev);
	assert_int_equal(vgpu_device_memory_used(h->dev), 0);
	assert_int_equal(h->n_scanout_events, 1);
	assert_int_equal(h->scanout_events[0].scanout_id, 1);
	assert_null(h->scanout_events[0].image);
	assert_int_equal(h->n_cursor_events, 1);
	assert_false(h->cursor_events[0].has_image);
	struct virtio_gpu_config c;
	vgpu_device_get_config(h->dev, &c);
	assert_int_equal(c.events_read, 0);
	/* Everything is gone and ids are free. */
	assert_int_equal(h_flush(h, 50, 0, 0, 1, 1), E_RES);
	assert_int_equal(h_create_2d(h, 50, XRGB, 4, 4), OK);
	assert_int_equal(h_create_2d(h, 51, XRGB, 4, 4), OK);
	assert_still_serving(h);
	/* A second reset with nothing shown says nothing. */
	h_clear_events(h);
	vgpu_device_reset(h->dev);
	assert_int_equal(h->n_scanout_events, 0);
	assert_int_equal(h->n_cursor_events, 0);
}

static void test_create_config(void **state)
{
	struct vgpu_device_config cfg = { .num_scanouts = 0 };
	assert_null(vgpu_device_create(&cfg, NULL, NULL));
	cfg.num_scanouts = VGPU_MAX_SCANOUTS + 1;
	assert_null(vgpu_device_create(&cfg, NULL, NULL));
	assert_null(vgpu_device_create(NULL, NULL, NULL));
	vgpu_device_destroy(NULL);
	/* No listener, no name: still works. */
	cfg.num_scanouts = VGPU_MAX_SCANOUTS;
	cfg.scanouts[14] = (struct vgpu_scanout_config){ 70000, 10, 60, true };
	struct vgpu_device *dev = vgpu_device_create(&cfg, NULL, NULL);
	assert_non_null(dev);
	struct virtio_gpu_set_scanout ss = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_SET_SCANOUT) },
		.scanout_id = htole32(15),
	};
	struct virtio_gpu_resp_edid resp;
	struct iovec in = { &ss, sizeof(ss) }, out = { &resp, sizeof(resp) };
	assert_int_equal(vgpu_device_process_ctrl(dev, &in, 1, &out, 1, 0), 24);
	assert_int_equal(le32toh(resp.hdr.type), OK);
	/* EDID for a scanout with no mode: the 1024x768 fallback. */
	struct virtio_gpu_cmd_get_edid ge = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_GET_EDID) },
		.scanout = htole32(15),
	};
	in = (struct iovec){ &ge, sizeof(ge) };
	assert_int_equal(vgpu_device_process_ctrl(dev, &in, 1, &out, 1, 0), sizeof(resp));
	assert_int_equal(le32toh(resp.hdr.type), VIRTIO_GPU_RESP_OK_EDID);
	assert_int_equal(resp.edid[54 + 2] | (resp.edid[54 + 4] & 0xf0) << 4, 1024);
	/* A mode no EDID can describe: an error, not a bogus EDID. */
	ge.scanout = htole32(14);
	assert_int_equal(vgpu_device_process_ctrl(dev, &in, 1, &out, 1, 0), 24);
	assert_int_equal(le32toh(resp.hdr.type), E_UNSPEC);
	vgpu_device_reset(dev);
	vgpu_device_destroy(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_display_info),
		cmocka_unit_test_setup_teardown(test_edid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_happy_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scattered_backing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_invalid, setup, teardown),
		cmocka_unit_test(test_quota),
		cmocka_unit_test_setup_teardown(test_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_resources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transfer_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_table_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_scanout_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_multihead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_damage_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_linux_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_damage_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_responses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fences, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsupported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test(test_create_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
