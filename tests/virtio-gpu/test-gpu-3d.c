/* SPDX-License-Identifier: MIT */
/* The 3D device model on a real virglrenderer (EGL surfaceless, llvmpipe):
 * capsets, contexts, 3D resources, rendering through SUBMIT_3D, and the
 * isolation between two guests sharing the one renderer: guest A naming
 * guest B's resource and context ids reaches only its own namespace, and a
 * reset of A leaves B's rendering intact. Skips (77) when virglrenderer
 * cannot start. */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compositor/gl-compose.h"
#include "harness.h"
#include "../mesa-lsan.h"
#include "util/log.h"
#include "util/loop.h"
#include "virtio-gpu/renderer.h"
#include "virtio-gpu/virgl-cs.h"

#define E_OK VIRTIO_GPU_RESP_OK_NODATA
#define E_RES VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID
#define E_CTX VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID
#define E_PARAM VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER

#define PIPE_TEXTURE_2D 2
#define VIRGL_FORMAT_B8G8R8X8_UNORM 2
#define VIRGL_BIND_RENDER_TARGET (1u << 1)
#define VIRGL_BIND_SAMPLER_VIEW (1u << 3)
#define PIPE_CLEAR_COLOR0 (1u << 2)
#define VIRGL_RESOURCE_Y_0_TOP (1u << 0)
#define W 64
#define HT 32
#define BACKING_BYTES (W * HT * 4)

static struct zl_loop *loop;
static struct vgpu_renderer *renderer;

struct fixture {
	struct harness *a, *b;
};

static struct harness *guest(const char *name)
{
	struct vgpu_device_config cfg = {
		.name = name, .num_scanouts = 1, .renderer = renderer,
		.scanouts = { { .width = W, .height = HT, .refresh_hz = 60, .enabled = true } },
	};
	struct harness *h = h_create_config(&cfg);
	vgpu_device_set_features(h->dev, vgpu_device_features(h->dev));
	return h;
}

static int setup(void **state)
{
	if (!renderer) {
		skip();
	}
	struct fixture *f = calloc(1, sizeof(*f));
	f->a = guest("guest-a");
	f->b = guest("guest-b");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	h_destroy(f->a);
	h_destroy(f->b);
	free(f);
	return 0;
}

static uint32_t ctx_create(struct harness *h, uint32_t ctx, uint32_t context_init)
{
	struct virtio_gpu_ctx_create c = { 0 };
	c.hdr.type = htole32(VIRTIO_GPU_CMD_CTX_CREATE);
	c.hdr.ctx_id = htole32(ctx);
	c.nlen = htole32(4);
	c.context_init = htole32(context_init);
	memcpy(c.debug_name, "test", 4);
	return h_ctrl(h, &c, sizeof(c));
}

static uint32_t ctx_res(struct harness *h, uint32_t type, uint32_t ctx, uint32_t res)
{
	struct virtio_gpu_ctx_resource c = { 0 };
	c.hdr.type = htole32(type);
	c.hdr.ctx_id = htole32(ctx);
	c.resource_id = htole32(res);
	return h_ctrl(h, &c, sizeof(c));
}

static uint32_t create_3d_flags(struct harness *h, uint32_t id, uint32_t w, uint32_t hgt,
	uint32_t depth, uint32_t target, uint32_t flags);

static uint32_t create_3d(struct harness *h, uint32_t id, uint32_t w, uint32_t hgt, uint32_t depth,
	uint32_t target)
{
	return create_3d_flags(h, id, w, hgt, depth, target, 0);
}

static uint32_t create_3d_flags(struct harness *h, uint32_t id, uint32_t w, uint32_t hgt,
	uint32_t depth, uint32_t target, uint32_t flags)
{
	struct virtio_gpu_resource_create_3d c = { 0 };
	c.hdr.type = htole32(VIRTIO_GPU_CMD_RESOURCE_CREATE_3D);
	c.resource_id = htole32(id);
	c.target = htole32(target);
	c.format = htole32(VIRGL_FORMAT_B8G8R8X8_UNORM);
	c.bind = htole32(VIRGL_BIND_RENDER_TARGET | VIRGL_BIND_SAMPLER_VIEW);
	c.width = htole32(w);
	c.height = htole32(hgt);
	c.depth = htole32(depth);
	c.array_size = htole32(1);
	c.flags = htole32(flags);
	return h_ctrl(h, &c, sizeof(c));
}

static uint32_t transfer_3d(struct harness *h, bool to_host, uint32_t ctx, uint32_t id,
	uint32_t w, uint32_t hgt, uint32_t d, uint32_t stride)
{
	struct virtio_gpu_transfer_host_3d c = { 0 };
	c.hdr.type = htole32(to_host ? VIRTIO_GPU_CMD_TRANSFER_TO_HOST_3D :
		VIRTIO_GPU_CMD_TRANSFER_FROM_HOST_3D);
	c.hdr.ctx_id = htole32(ctx);
	c.resource_id = htole32(id);
	c.box.w = htole32(w);
	c.box.h = htole32(hgt);
	c.box.d = htole32(d);
	c.stride = htole32(stride);
	return h_ctrl(h, &c, sizeof(c));
}

static uint32_t submit(struct harness *h, uint32_t ctx, const uint32_t *dw, uint32_t ndw)
{
	uint8_t buf[sizeof(struct virtio_gpu_cmd_submit) + 256];
	struct virtio_gpu_cmd_submit *c = (void *)buf;
	memset(c, 0, sizeof(*c));
	c->hdr.type = htole32(VIRTIO_GPU_CMD_SUBMIT_3D);
	c->hdr.ctx_id = htole32(ctx);
	c->size = htole32(ndw * 4);
	for (uint32_t i = 0; i < ndw; i++) {
		uint32_t v = htole32(dw[i]);
		memcpy(buf + sizeof(*c) + 4 * i, &v, 4);
	}
	return h_ctrl(h, buf, sizeof(*c) + ndw * 4);
}

static uint32_t f2u(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

/* Surface 'surf' on resource 'res', bound as colour buffer 0, cleared. */
static uint32_t clear_to(struct harness *h, uint32_t ctx, uint32_t surf, uint32_t res,
	float r, float g, float b)
{
	const uint32_t dw[] = {
		VGPU_CS_HDR(VGPU_CS_CREATE_OBJECT, VGPU_CS_OBJ_SURFACE, 5),
			surf, res, VIRGL_FORMAT_B8G8R8X8_UNORM, 0, 0,
		VGPU_CS_HDR(VGPU_CS_SET_FRAMEBUFFER_STATE, 0, 3), 1, 0, surf,
		VGPU_CS_HDR(VGPU_CS_CLEAR, 0, 8), PIPE_CLEAR_COLOR0,
			f2u(r), f2u(g), f2u(b), f2u(1.0f), 0, 0, 0,
	};
	return submit(h, ctx, dw, sizeof(dw) / 4);
}

/* Resource 'id' with a backing at gpa, attached to ctx 1. */
static void make_target(struct harness *h, uint32_t id, uint64_t gpa)
{
	assert_int_equal(create_3d(h, id, W, HT, 1, PIPE_TEXTURE_2D), E_OK);
	assert_int_equal(h_attach_simple(h, id, gpa, BACKING_BYTES), E_OK);
	assert_int_equal(ctx_res(h, VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, 1, id), E_OK);
}

/* Reads resource id back into its backing at gpa; returns pixel (x, y). */
static uint32_t read_pixel(struct harness *h, uint32_t id, uint64_t gpa, uint32_t x, uint32_t y)
{
	memset(h_gpa(h, gpa), 0x55, BACKING_BYTES);
	assert_int_equal(transfer_3d(h, false, 1, id, W, HT, 1, W * 4), E_OK);
	uint32_t px;
	memcpy(&px, h_gpa(h, gpa) + (y * W + x) * 4, 4);
	return le32toh(px) & 0xffffff;
}

static void test_capsets(void **state)
{
	struct fixture *f = *state;
	assert_true(vgpu_device_features(f->a->dev) & (1ull << VIRTIO_GPU_F_VIRGL));
	assert_true(vgpu_device_features(f->a->dev) & (1ull << VIRTIO_GPU_F_CONTEXT_INIT));
	struct virtio_gpu_get_capset_info ci = { 0 };
	ci.hdr.type = htole32(VIRTIO_GPU_CMD_GET_CAPSET_INFO);
	struct virtio_gpu_resp_capset_info info;
	for (uint32_t i = 0; i < 2; i++) {
		ci.capset_index = htole32(i);
		assert_int_equal(h_ctrl_resp(f->a, &ci, sizeof(ci), &info, sizeof(info), NULL),
			VIRTIO_GPU_RESP_OK_CAPSET_INFO);
		assert_int_equal(le32toh(info.capset_id), i + 1);
		assert_true(le32toh(info.capset_max_version) >= 1);
		assert_true(le32toh(info.capset_max_size) >= 4);
	}
	ci.capset_index = htole32(2);
	assert_int_equal(h_ctrl_resp(f->a, &ci, sizeof(ci), &info, sizeof(info), NULL), E_PARAM);

	/* virgl2 at its version: the whole capset fits after the header. */
	struct virtio_gpu_get_capset c = { 0 };
	c.hdr.type = htole32(VIRTIO_GPU_CMD_GET_CAPSET);
	c.capset_id = htole32(VIRTIO_GPU_CAPSET_VIRGL2);
	c.capset_version = htole32(2);
	static uint8_t big[sizeof(struct virtio_gpu_ctrl_hdr) + 65536];
	size_t n = 0;
	assert_int_equal(h_ctrl_resp(f->a, &c, sizeof(c), big, sizeof(big), &n),
		VIRTIO_GPU_RESP_OK_CAPSET);
	assert_true(n > sizeof(struct virtio_gpu_ctrl_hdr) + 4);
	/* A response buffer too small for it: a clear error, no overrun. */
	uint8_t small[sizeof(struct virtio_gpu_ctrl_hdr) + 8];
	assert_int_equal(h_ctrl_resp(f->a, &c, sizeof(c), small, sizeof(small), &n),
		VIRTIO_GPU_RESP_ERR_UNSPEC);
	/* Version 0 (what Linux sends for Mesa) is answered; one above the
	 * maximum and an unknown capset are not. */
	c.capset_version = 0;
	assert_int_equal(h_ctrl_resp(f->a, &c, sizeof(c), big, sizeof(big), NULL),
		VIRTIO_GPU_RESP_OK_CAPSET);
	c.capset_version = htole32(le32toh(info.capset_max_version) + 1);
	assert_int_equal(h_ctrl_resp(f->a, &c, sizeof(c), big, sizeof(big), NULL), E_PARAM);
	c.capset_version = htole32(1);
	c.capset_id = htole32(7);
	assert_int_equal(h_ctrl_resp(f->a, &c, sizeof(c), big, sizeof(big), NULL), E_PARAM);
}

static void test_contexts(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(ctx_create(f->a, 0, 0), E_CTX);
	assert_int_equal(ctx_create(f->a, 1, 0), E_OK);
	assert_int_equal(ctx_create(f->a, 1, 0), E_CTX);          /* twice */
	assert_int_equal(ctx_create(f->a, 2, VIRTIO_GPU_CAPSET_VIRGL2), E_OK);
	assert_int_equal(ctx_create(f->a, 3, 0x100 | 2), E_PARAM); /* undefined bits */
	assert_int_equal(ctx_create(f->a, 4, 9), E_PARAM);         /* no such capset */
	/* B has its own context 1. */
	assert_int_equal(ctx_create(f->b, 1, 0), E_OK);
	struct virtio_gpu_ctrl_hdr d = { .type = htole32(VIRTIO_GPU_CMD_CTX_DESTROY) };
	d.ctx_id = htole32(2);
	assert_int_equal(h_ctrl(f->a, &d, sizeof(d)), E_OK);
	assert_int_equal(h_ctrl(f->a, &d, sizeof(d)), E_CTX);
	/* Submitting to a context that does not exist. */
	const uint32_t nop[] = { VGPU_CS_HDR(VGPU_CS_NOP, 0, 0) };
	assert_int_equal(submit(f->a, 2, nop, 1), E_CTX);
	assert_int_equal(submit(f->a, 1, nop, 1), E_OK);
}

static void test_render_and_read_back(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(ctx_create(f->a, 1, 0), E_OK);
	make_target(f->a, 5, H_RAM0);
	assert_int_equal(clear_to(f->a, 1, 1, 5, 1.0f, 0.0f, 0.0f), E_OK);
	assert_int_equal(read_pixel(f->a, 5, H_RAM0, 3, 3), 0xff0000);
	assert_int_equal(clear_to(f->a, 1, 2, 5, 0.0f, 0.0f, 1.0f), E_OK);
	assert_int_equal(read_pixel(f->a, 5, H_RAM0, W - 1, HT - 1), 0x0000ff);
}

static void test_hostile_3d(void **state)
{
	struct fixture *f = *state;
	struct harness *a = f->a;
	assert_int_equal(ctx_create(a, 1, 0), E_OK);
	/* Creation limits, before virglrenderer sees them. */
	assert_int_equal(create_3d(a, 0, W, HT, 1, PIPE_TEXTURE_2D), E_RES);
	assert_int_equal(create_3d(a, 9, 0, HT, 1, PIPE_TEXTURE_2D), E_PARAM);
	assert_int_equal(create_3d(a, 9, 1u << 20, HT, 1, PIPE_TEXTURE_2D), E_PARAM);
	assert_int_equal(create_3d(a, 9, W, HT, 4, PIPE_TEXTURE_2D), E_PARAM); /* depth on 2D */
	assert_int_equal(create_3d(a, 9, W, HT, 1, 77), E_PARAM);
	assert_int_equal(create_3d(a, 9, 16384, 16384, 1, PIPE_TEXTURE_2D),
		VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY); /* 1 GiB > the quota */
	make_target(a, 5, H_RAM0);
	assert_int_equal(create_3d(a, 5, W, HT, 1, PIPE_TEXTURE_2D), E_RES); /* in use */
	/* Transfer boxes: outside the level, depth > 1 on a 2D target, a
	 * level that does not exist, a stride beyond the backing. */
	assert_int_equal(transfer_3d(a, true, 1, 5, W + 1, HT, 1, 0), E_PARAM);
	assert_int_equal(transfer_3d(a, true, 1, 5, W, HT, 2, 0), E_PARAM);
	assert_int_equal(transfer_3d(a, true, 1, 5, W, HT, 0, 0), E_PARAM);
	assert_int_equal(transfer_3d(a, true, 1, 5, W, HT, 1, BACKING_BYTES + 4), E_PARAM);
	assert_int_equal(transfer_3d(a, true, 1, 6, W, HT, 1, 0), E_RES);
	assert_int_equal(transfer_3d(a, true, 7, 5, W, HT, 1, 0), E_CTX);
	/* A stride so large the span runs past the backing. */
	assert_int_equal(transfer_3d(a, false, 1, 5, W, HT, 1, BACKING_BYTES / 2), E_PARAM);
	/* Submit sizes: not a multiple of 4, more than the request holds. */
	uint8_t buf[sizeof(struct virtio_gpu_cmd_submit) + 8] = { 0 };
	struct virtio_gpu_cmd_submit *c = (void *)buf;
	c->hdr.type = htole32(VIRTIO_GPU_CMD_SUBMIT_3D);
	c->hdr.ctx_id = htole32(1);
	c->size = htole32(6);
	assert_int_equal(h_ctrl(a, buf, sizeof(buf)), E_PARAM);
	c->size = htole32(12);
	assert_int_equal(h_ctrl(a, buf, sizeof(buf)), E_PARAM);
	c->size = htole32(0xfffffffc);
	assert_int_equal(h_ctrl(a, buf, sizeof(buf)), E_PARAM);
	/* Malformed streams and unknown commands are refused whole. */
	const uint32_t past[] = { VGPU_CS_HDR(VGPU_CS_CLEAR, 0, 8), 0 };
	assert_int_equal(submit(a, 1, past, 2), E_PARAM);
	const uint32_t unk[] = { VGPU_CS_HDR(250, 0, 0) };
	assert_int_equal(submit(a, 1, unk, 1), E_PARAM);
	/* Still rendering. */
	assert_int_equal(clear_to(a, 1, 1, 5, 0.0f, 1.0f, 0.0f), E_OK);
	assert_int_equal(read_pixel(a, 5, H_RAM0, 0, 0), 0x00ff00);
}

static int gl_begin(void *data)
{
	(void)data;
	return vgpu_renderer_gl_begin(renderer);
}

static void gl_end(void *data)
{
	(void)data;
	vgpu_renderer_gl_end(renderer);
}

/* A GL zone sampling a guest's 3D scanout texture shows what the guest put
 * there, the right way up, whether virglrenderer keeps the resource in GL's
 * row order (Y_0_TOP, what Mesa asks for scanout buffers) or not: the same
 * frame as a pixman zone composing the read-back host copy, 1:1 and scaled. */
static void test_gl_zone_samples_scanout(void **state)
{
	struct fixture *f = *state;
	struct harness *a = f->a;
	static const struct comp_gl_engine engine = { gl_begin, gl_end, NULL };
	struct comp_zone_config cfg = { .name = "z", .width = 3 * W, .height = 2 * HT,
		.refresh_hz = 60, .n_layers = 2 };
	cfg.layers[0] = (struct comp_layer_config){ 0, 0, 0, 0, W, HT };
	cfg.layers[1] = (struct comp_layer_config){ 0, 0, W, 0, 2 * W, 2 * HT };
	assert_int_equal(ctx_create(a, 1, 0), E_OK);
	for (uint32_t y0_top = 0; y0_top < 2; y0_top++) {
		uint32_t id = 10 + y0_top;
		assert_int_equal(create_3d_flags(a, id, W, HT, 1, PIPE_TEXTURE_2D,
			y0_top ? VIRGL_RESOURCE_Y_0_TOP : 0), E_OK);
		assert_int_equal(h_attach_simple(a, id, H_RAM0, BACKING_BYTES), E_OK);
		assert_int_equal(ctx_res(a, VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, 1, id), E_OK);
		/* Every pixel different, no symmetry. */
		for (uint32_t y = 0; y < HT; y++) {
			for (uint32_t x = 0; x < W; x++) {
				uint32_t px = htole32((x * 4) << 16 | (y * 8) << 8 | ((x + y * W) & 0xff));
				memcpy(h_gpa(a, H_RAM0) + (y * W + x) * 4, &px, 4);
			}
		}
		assert_int_equal(transfer_3d(a, true, 1, id, W, HT, 1, W * 4), E_OK);
		h_clear_events(a);
		assert_int_equal(h_set_scanout(a, 0, id, 0, 0, W, HT), E_OK);
		assert_int_equal(h_flush(a, id, 0, 0, W, HT), E_OK);
		assert_true(a->n_scanout_events > 0);
		const struct h_scanout_event *e = &a->scanout_events[a->n_scanout_events - 1];
		assert_non_null(e->image);
		assert_int_not_equal(e->gl_texture, 0);
		assert_int_equal(e->gl_y0_top, y0_top != 0);
		struct vgpu_scanout_update u = {
			.image = e->image, .src_w = W, .src_h = HT, .n_damage = 1, .present = true,
			.gl_texture = e->gl_texture, .gl_y0_top = e->gl_y0_top,
		};
		struct comp_zone *pz = comp_zone_create(&cfg);
		struct comp_zone *gz = comp_zone_create_gl(&cfg, &engine);
		assert_non_null(gz);
		comp_zone_scanout_update(pz, 0, &u);
		comp_zone_scanout_update(gz, 0, &u);
		pixman_region32_t d;
		pixman_region32_init(&d);
		comp_zone_take_damage(pz, &d, NULL);
		comp_zone_take_damage(gz, &d, NULL);
		pixman_region32_fini(&d);
		/* The host copy is what the guest wrote... */
		uint32_t *host = pixman_image_get_data(e->image);
		assert_int_equal(host[5 * W + 7] & 0xffffff, (7u * 4) << 16 | (5u * 8) << 8 | ((7 + 5 * W) & 0xff));
		/* ...and both zones show it alike. */
		uint32_t *p = pixman_image_get_data(comp_zone_image(pz));
		uint32_t *g = pixman_image_get_data(comp_zone_image(gz));
		for (uint32_t i = 0; i < cfg.width * cfg.height; i++) {
			if (p[i] != g[i]) {
				fail_msg("y0_top %u: pixel %u,%u: pixman %08x GL %08x", y0_top,
					i % cfg.width, i / cfg.width, p[i], g[i]);
			}
		}
		comp_zone_destroy(pz);
		comp_zone_destroy(gz);
		assert_int_equal(h_set_scanout(a, 0, 0, 0, 0, 0, 0), E_OK);
	}
}

/* The isolation the shared GPU rests on. */
static void test_isolation(void **state)
{
	struct fixture *f = *state;
	struct harness *a = f->a, *b = f->b;
	assert_int_equal(ctx_create(a, 1, 0), E_OK);
	assert_int_equal(ctx_create(b, 1, 0), E_OK);
	/* Both guests call their render target 1; B also has 2. */
	make_target(b, 1, H_RAM0);
	make_target(b, 2, H_RAM1);
	make_target(a, 1, H_RAM0);
	assert_int_equal(clear_to(b, 1, 10, 1, 1.0f, 0.0f, 0.0f), E_OK);
	assert_int_equal(clear_to(b, 1, 11, 2, 0.0f, 0.0f, 1.0f), E_OK);
	/* A renders into "its 1": B's 1 stays red. */
	assert_int_equal(clear_to(a, 1, 10, 1, 0.0f, 1.0f, 0.0f), E_OK);
	assert_int_equal(read_pixel(a, 1, H_RAM0, 5, 5), 0x00ff00);
	assert_int_equal(read_pixel(b, 1, H_RAM0, 5, 5), 0xff0000);

	/* A names B's resource 2 every way it can: nothing of B's is named. */
	assert_int_equal(clear_to(a, 1, 12, 2, 1.0f, 1.0f, 1.0f), E_PARAM);
	assert_int_equal(ctx_res(a, VIRTIO_GPU_CMD_CTX_ATTACH_RESOURCE, 1, 2), E_RES);
	assert_int_equal(transfer_3d(a, false, 1, 2, W, HT, 1, W * 4), E_RES);
	assert_int_equal(h_unref(a, 2), E_RES);
	assert_int_equal(h_set_scanout(a, 0, 2, 0, 0, W, HT), E_RES);
	/* ... and the renderer-wide id B's 2 has (it may differ from 2). */
	for (uint32_t id = 1; id < 64; id++) {
		if (id == 1) {
			continue;
		}
		assert_int_equal(clear_to(a, 1, 20, id, 1.0f, 1.0f, 1.0f), E_PARAM);
	}
	/* B's context 1 is not A's: destroying A's leaves B's working. */
	struct virtio_gpu_ctrl_hdr d = { .type = htole32(VIRTIO_GPU_CMD_CTX_DESTROY) };
	d.ctx_id = htole32(1);
	assert_int_equal(h_ctrl(a, &d, sizeof(d)), E_OK);
	assert_int_equal(read_pixel(b, 2, H_RAM1, 7, 7), 0x0000ff);

	/* A's reset (a guest reboot) destroys A's objects and nothing else. */
	vgpu_device_reset(a->dev);
	vgpu_device_set_features(a->dev, vgpu_device_features(a->dev));
	assert_int_equal(read_pixel(b, 1, H_RAM0, 5, 5), 0xff0000);
	assert_int_equal(read_pixel(b, 2, H_RAM1, 5, 5), 0x0000ff);
	assert_int_equal(clear_to(b, 1, 13, 1, 0.0f, 1.0f, 1.0f), E_OK);
	assert_int_equal(read_pixel(b, 1, H_RAM0, 0, 0), 0x00ffff);
	/* A starts again from nothing, with the same ids. */
	assert_int_equal(ctx_create(a, 1, 0), E_OK);
	assert_int_equal(transfer_3d(a, false, 1, 1, W, HT, 1, W * 4), E_RES);
	make_target(a, 1, H_RAM1);
	assert_int_equal(clear_to(a, 1, 1, 1, 1.0f, 1.0f, 0.0f), E_OK);
	assert_int_equal(read_pixel(a, 1, H_RAM1, 1, 1), 0xffff00);
	assert_int_equal(read_pixel(b, 1, H_RAM0, 1, 1), 0x00ffff);
}

/* A fenced request is answered once the GPU has passed the work before it. */
static void test_fence_deferred(void **state)
{
	struct fixture *f = *state;
	struct harness *a = f->a;
	assert_int_equal(ctx_create(a, 1, 0), E_OK);
	make_target(a, 1, H_RAM0);
	uint8_t buf[sizeof(struct virtio_gpu_cmd_submit) + 4] = { 0 };
	struct virtio_gpu_cmd_submit *c = (void *)buf;
	c->hdr.type = htole32(VIRTIO_GPU_CMD_SUBMIT_3D);
	c->hdr.flags = htole32(VIRTIO_GPU_FLAG_FENCE);
	c->hdr.fence_id = htole64(42);
	c->hdr.ctx_id = htole32(1);
	c->size = htole32(4);
	struct iovec in = { buf, sizeof(buf) };
	struct virtio_gpu_ctrl_hdr resp;
	struct iovec out = { &resp, sizeof(resp) };
	bool deferred = false;
	size_t n = vgpu_device_process_ctrl_async(a->dev, &in, 1, &out, 1, 0, 0xc0ffee, &deferred);
	assert_int_equal(n, sizeof(resp));
	assert_int_equal(le32toh(resp.type), E_OK);
	assert_int_equal(le64toh(resp.fence_id), 42);
	assert_true(deferred);
	assert_int_equal(a->n_done, 0); /* never from inside the call */
	for (int i = 0; i < 2000 && a->n_done == 0; i++) {
		zl_loop_dispatch(loop, 5);
	}
	assert_int_equal(a->n_done, 1);
	assert_int_equal(a->done[0], 0xc0ffee);
	/* A per-context ring fence on a context that does not exist is
	 * answered at once (not held forever). */
	c->hdr.flags = htole32(VIRTIO_GPU_FLAG_FENCE | VIRTIO_GPU_FLAG_INFO_RING_IDX);
	c->hdr.ctx_id = htole32(9);
	c->size = 0;
	n = vgpu_device_process_ctrl_async(a->dev, &in, 1, &out, 1, 0, 7, &deferred);
	assert_int_equal(le32toh(resp.type), E_OK);
	assert_false(deferred);
}

int main(void)
{
	test_keep_mesa_loaded();
	zl_log_init(ZL_ERROR);
	loop = zl_loop_create();
	renderer = loop ? vgpu_renderer_create(loop, NULL) : NULL;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capsets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contexts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_3d, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fence_deferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gl_zone_samples_scanout, setup, teardown),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);
	vgpu_renderer_destroy(renderer);
	zl_loop_destroy(loop);
	return renderer ? ret : 77;
}
