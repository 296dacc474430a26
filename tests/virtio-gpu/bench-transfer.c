/* SPDX-License-Identifier: MIT */
/* TRANSFER_TO_HOST_2D and RESOURCE_FLUSH cost on the frame path: a 1080p
 * resource backed by 4 KiB guest pages in shuffled order (no two adjacent,
 * the worst case for the copy loop) or by one contiguous run, full frames
 * and a 256x256 damage rectangle. Prints one line per case. */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "virtio-gpu/gpu.h"

#define W 1920
#define H 1080
#define PAGE 4096
#define RAM_GPA 0x100000000ull

static uint32_t send(struct vgpu_device *dev, const void *req, size_t len)
{
	struct virtio_gpu_ctrl_hdr resp;
	struct iovec in = { (void *)req, len }, out = { &resp, sizeof(resp) };
	vgpu_device_process_ctrl(dev, &in, 1, &out, 1, zl_now_ns());
	return le32toh(resp.type);
}

static void noop_update(void *data, const struct vgpu_scanout_update *u)
{
	(*(unsigned *)data)++;
}

static double run(struct vgpu_device *dev, uint32_t id, uint32_t x, uint32_t y, uint32_t w,
	uint32_t h, int iters)
{
	struct virtio_gpu_transfer_to_host_2d t = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D) },
		.r = { htole32(x), htole32(y), htole32(w), htole32(h) },
		.offset = htole64((uint64_t)y * W * 4 + x * 4),
		.resource_id = htole32(id),
	};
	uint64_t t0 = zl_now_ns();
	for (int i = 0; i < iters; i++) {
		if (send(dev, &t, sizeof(t)) != VIRTIO_GPU_RESP_OK_NODATA) {
			fprintf(stderr, "transfer failed\n");
			exit(1);
		}
	}
	return (double)(zl_now_ns() - t0) / iters;
}

int main(void)
{
	const size_t frame = (size_t)W * H * 4;
	const uint32_t pages = (uint32_t)((frame + PAGE - 1) / PAGE);
	/* Twice the frame, so shuffled pages can leave gaps. */
	size_t ram_size = 2 * (size_t)pages * PAGE;
	uint8_t *ram = malloc(ram_size);
	if (!ram) {
		return 1;
	}
	memset(ram, 0x5a, ram_size);
	struct vgpu_mem mem = { .n_regions = 1, .generation = 1 };
	mem.regions[0] = (struct vgpu_mem_region){ .gpa = RAM_GPA, .size = ram_size, .host = ram };

	unsigned updates = 0;
	struct vgpu_listener l = { .scanout_update = noop_update };
	struct vgpu_device_config cfg = { .name = "bench", .num_scanouts = 1 };
	cfg.scanouts[0] = (struct vgpu_scanout_config){ W, H, 60, true };
	struct vgpu_device *dev = vgpu_device_create(&cfg, &l, &updates);
	vgpu_device_set_mem(dev, &mem);

	/* Resource 1: shuffled even pages; resource 2: one contiguous run. */
	size_t elen = sizeof(struct virtio_gpu_resource_attach_backing) +
		pages * sizeof(struct virtio_gpu_mem_entry);
	uint8_t *req = malloc(elen);
	uint32_t *order = malloc(pages * sizeof(*order));
	for (uint32_t i = 0; i < pages; i++) {
		order[i] = i;
	}
	uint32_t seed = 12345;
	for (uint32_t i = pages - 1; i > 0; i--) {
		seed = seed * 1103515245u + 12345u;
		uint32_t j = (seed >> 8) % (i + 1);
		uint32_t tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (uint32_t id = 1; id <= 2; id++) {
		struct virtio_gpu_resource_create_2d c = {
			.hdr = { .type = htole32(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D) },
			.resource_id = htole32(id),
			.format = htole32(VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM),
			.width = htole32(W), .height = htole32(H),
		};
		if (send(dev, &c, sizeof(c)) != VIRTIO_GPU_RESP_OK_NODATA) {
			return 1;
		}
		uint32_t n = id == 1 ? pages : 1;
		struct virtio_gpu_resource_attach_backing a = {
			.hdr = { .type = htole32(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING) },
			.resource_id = htole32(id),
			.nr_entries = htole32(n),
		};
		memcpy(req, &a, sizeof(a));
		struct virtio_gpu_mem_entry *e = (void *)(req + sizeof(a));
		for (uint32_t i = 0; i < n; i++) {
			uint64_t gpa = id == 1 ? RAM_GPA + (uint64_t)order[i] * 2 * PAGE : RAM_GPA;
			uint32_t len = id == 1 ? PAGE : (uint32_t)frame;
			e[i] = (struct virtio_gpu_mem_entry){ .addr = htole64(gpa), .length = htole32(len) };
		}
		if (send(dev, req, sizeof(a) + n * sizeof(*e)) != VIRTIO_GPU_RESP_OK_NODATA) {
			return 1;
		}
	}

	struct {
		const char *name;
		uint32_t id, x, y, w, h;
		int iters;
	} cases[] = {
		{ "full frame, 2025 scattered pages", 1, 0, 0, W, H, 200 },
		{ "full frame, contiguous", 2, 0, 0, W, H, 200 },
		{ "256x256 rect, scattered pages", 1, 800, 400, 256, 256, 5000 },
		{ "256x256 rect, contiguous", 2, 800, 400, 256, 256, 5000 },
		{ "64x64 rect, scattered pages", 1, 1000, 1000, 64, 64, 20000 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(dev, cases[i].id, cases[i].x, cases[i].y, cases[i].w, cases[i].h, 3);
		double ns = run(dev, cases[i].id, cases[i].x, cases[i].y, cases[i].w, cases[i].h,
			cases[i].iters);
		double bytes = (double)cases[i].w * cases[i].h * 4;
		printf("transfer %-34s %9.1f us  %6.2f GB/s\n", cases[i].name, ns / 1000,
			bytes / ns);
	}

	struct virtio_gpu_set_scanout s = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_SET_SCANOUT) },
		.r = { 0, 0, htole32(W), htole32(H) },
		.resource_id = htole32(1),
	};
	send(dev, &s, sizeof(s));
	struct virtio_gpu_resource_flush f = {
		.hdr = { .type = htole32(VIRTIO_GPU_CMD_RESOURCE_FLUSH) },
		.r = { htole32(10), htole32(10), htole32(100), htole32(100) },
		.resource_id = htole32(1),
	};
	const int iters = 200000;
	uint64_t t0 = zl_now_ns();
	for (int i = 0; i < iters; i++) {
		send(dev, &f, sizeof(f));
	}
	double ns = (double)(zl_now_ns() - t0) / iters;
	printf("flush (decode, validate, notify)            %9.3f us  (%u updates)\n", ns / 1000,
		updates);

	vgpu_device_destroy(dev);
	free(order);
	free(req);
	free(ram);
	return 0;
}
