/* SPDX-License-Identifier: MIT */
/* Round-trip latency through the vhost-user transport, the way a guest sees
 * it: the server runs its zl_loop on its own thread (as gpu-server does on
 * its main thread); this thread plays the driver, posts a request in shared
 * memory, kicks the eventfd and blocks on the call eventfd until the used
 * element is there. Reports p50/p99/max for
 *   - GET_DISPLAY_INFO (transport cost: wake-up, ring walk, response, call),
 *   - TRANSFER_TO_HOST_2D of a whole 1024x768 XRGB resource whose backing
 *     spans both guest RAM regions, plus RESOURCE_FLUSH (what a frame costs).
 *   bench-vhost-user [ITERATIONS] */
#include <linux/virtio_gpu.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fake-frontend.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"
#include "virtio-gpu/gpu.h"
#include "virtio-gpu/vhost-user.h"

#define W 1024u
#define H 768u
#define BACKING0 0x80000ull
#define BACKING_HALF (W * H * 2)

static void on_disconnected(void *data)
{
	zl_loop_quit(data);
}

static const struct vgpu_vhost_user_listener vu_listener = { .disconnected = on_disconnected };

static void *server(void *data)
{
	zl_loop_run(data);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Posts cmd + response on the controlq, kicks, blocks until it is used. */
static uint64_t round_trip(struct fe *f, const void *cmd, size_t len, size_t resp_len,
	uint32_t *resp_type)
{
	struct fd_ring *r = &f->ring[0];
	memcpy(fe_host(f, FE_CMD_GPA, len), cmd, len);
	struct fd_buf b[2] = {
		{ FE_CMD_GPA, (uint32_t)len, false },
		{ FE_RESP_GPA, (uint32_t)resp_len, true },
	};
	*fd_used_event(r) = r->used_seen;
	uint64_t t0 = zl_now_ns();
	fd_add_chain(r, b, 2);
	fe_kick(f, 0);
	uint32_t id, used_len;
	while (!fd_get_used(r, &id, &used_len)) {
		struct pollfd p = { .fd = f->call[0], .events = POLLIN };
		poll(&p, 1, 1000);
		fe_eventfd_fired(f->call[0]);
	}
	uint64_t t = zl_now_ns() - t0;
	struct virtio_gpu_ctrl_hdr *h = fe_host(f, FE_RESP_GPA, sizeof(*h));
	*resp_type = h->type;
	return t;
}

static void report(const char *what, uint64_t *t, unsigned n)
{
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("%-34s n=%-6u p50 %7.1f us  p99 %7.1f us  max %8.1f us\n", what, n,
		t[n / 2] / 1e3, t[(size_t)n * 99 / 100] / 1e3, t[n - 1] / 1e3);
}

int main(int argc, char **argv)
{
	unsigned iters = argc > 1 ? (unsigned)atoi(argv[1]) : 20000;
	if (iters < 10) {
		iters = 10;
	}
	zl_log_init(ZL_WARN);
	struct zl_loop *loop = zl_loop_create();
	struct vgpu_device_config cfg = {
		.name = "bench", .num_scanouts = 1,
		.scanouts = { { .width = W, .height = H, .enabled = true } },
	};
	struct vgpu_device *dev = vgpu_device_create(&cfg, NULL, NULL);
	struct vgpu_vhost_user *vu = vgpu_vhost_user_create(loop, NULL, dev, &vu_listener, loop);
	int sv[2];
	if (!loop || !dev || !vu || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		return 1;
	}
	vgpu_vhost_user_adopt_fd(vu, sv[1]);
	struct fe f;
	if (!fe_init(&f, loop, sv[0])) {
		return 1;
	}
	/* Handshake with this thread dispatching the server. */
	const uint64_t features = (1ull << VGPU_VIRTIO_F_VERSION_1) |
		(1ull << VHOST_USER_F_PROTOCOL_FEATURES) | (1ull << VGPU_VIRTIO_F_EVENT_IDX) |
		(1ull << VGPU_VIRTIO_F_INDIRECT_DESC);
	const uint64_t protocol = (1ull << VHOST_USER_PROTOCOL_F_MQ) |
		(1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << VHOST_USER_PROTOCOL_F_CONFIG);
	if (!fe_realize(&f, protocol) || !fe_start(&f, features)) {
		fprintf(stderr, "handshake failed\n");
		return 1;
	}
	fe_display_handshake(&f, 0);

	pthread_t th;
	pthread_create(&th, NULL, server, loop);

	uint64_t *t = calloc(iters, sizeof(*t));
	uint32_t type;
	struct virtio_gpu_ctrl_hdr gdi = { .type = VIRTIO_GPU_CMD_GET_DISPLAY_INFO };
	for (unsigned i = 0; i < iters; i++) {
		t[i] = round_trip(&f, &gdi, sizeof(gdi), sizeof(struct virtio_gpu_resp_display_info), &type);
		if (type != VIRTIO_GPU_RESP_OK_DISPLAY_INFO) {
			fprintf(stderr, "GET_DISPLAY_INFO failed: %#x\n", type);
			return 1;
		}
	}
	report("GET_DISPLAY_INFO round trip", t, iters);

	struct virtio_gpu_resource_create_2d cr = {
		.hdr.type = VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, .resource_id = 1,
		.format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, .width = W, .height = H,
	};
	round_trip(&f, &cr, sizeof(cr), 24, &type);
	struct {
		struct virtio_gpu_resource_attach_backing a;
		struct virtio_gpu_mem_entry e[2];
	} __attribute__((packed)) ab = {
		.a = { .hdr.type = VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, .resource_id = 1, .nr_entries = 2 },
		.e = { { .addr = BACKING0, .length = BACKING_HALF },
			{ .addr = FE_GPA1 + 0x10000, .length = BACKING_HALF } },
	};
	round_trip(&f, &ab, sizeof(ab), 24, &type);
	struct virtio_gpu_set_scanout ss = {
		.hdr.type = VIRTIO_GPU_CMD_SET_SCANOUT, .r = { 0, 0, W, H }, .resource_id = 1,
	};
	round_trip(&f, &ss, sizeof(ss), 24, &type);
	if (type != VIRTIO_GPU_RESP_OK_NODATA) {
		fprintf(stderr, "setup failed: %#x\n", type);
		return 1;
	}
	unsigned frames = iters / 20 > 10 ? iters / 20 : 10;
	uint64_t *tf = calloc(frames, sizeof(*tf));
	struct virtio_gpu_transfer_to_host_2d tr = {
		.hdr.type = VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, .r = { 0, 0, W, H }, .resource_id = 1,
	};
	struct virtio_gpu_resource_flush fl = {
		.hdr.type = VIRTIO_GPU_CMD_RESOURCE_FLUSH, .r = { 0, 0, W, H }, .resource_id = 1,
	};
	for (unsigned i = 0; i < frames; i++) {
		uint64_t a = round_trip(&f, &tr, sizeof(tr), 24, &type);
		if (type != VIRTIO_GPU_RESP_OK_NODATA) {
			fprintf(stderr, "transfer failed: %#x\n", type);
			return 1;
		}
		tf[i] = a + round_trip(&f, &fl, sizeof(fl), 24, &type);
	}
	report("1024x768 TRANSFER_TO_HOST+FLUSH", tf, frames);

	/* Ends the server thread (disconnected -> quit). */
	close(f.sock);
	f.sock = -1;
	pthread_join(th, NULL);
	fe_finish(&f);
	vgpu_vhost_user_destroy(vu);
	vgpu_device_destroy(dev);
	zl_loop_destroy(loop);
	free(t);
	free(tf);
	return 0;
}
