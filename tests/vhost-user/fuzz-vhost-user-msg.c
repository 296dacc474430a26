/* SPDX-License-Identifier: MIT */
/* Fuzzes the vhost-user message parser and everything behind it (memory
 * table mapping, ring setup, ring processing with the real device model)
 * through vgpu_vhost_user_handle_message(), the seam that takes one message's
 * bytes plus its fds.
 *
 * Input:
 *   u16 ram_len, ram_len bytes   copied to the start of a 64 KiB memfd that
 *                                is the "guest RAM" the messages may map
 *   records until the end:
 *     u8 n_fds (mod 9), u8 fd_kinds (bit i: 1 = memfd dup, 0 = eventfd),
 *     u16 len, len bytes         one message (header + payload)
 * The session is torn down after each input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/log.h"
#include "util/loop.h"
#include "virtio-gpu/gpu.h"
#include "virtio-gpu/vhost-user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE (64u * 1024u)

static struct zl_loop *loop;
static struct vgpu_device *dev;
static struct vgpu_vhost_user *vu;
static int memfd = -1;

static void on_scanout(void *data, const struct vgpu_scanout_update *u)
{
	/* Touch what the device hands out, so ASan sees bad images. */
	if (u->image) {
		volatile uint32_t px = pixman_image_get_data(u->image)[0];
		(void)px;
	}
}

static const struct vgpu_listener listener = { .scanout_update = on_scanout };

static void init(void)
{
	zl_log_init(getenv("FUZZ_VERBOSE") ? ZL_DEBUG : ZL_SILENT);
	loop = zl_loop_create();
	struct vgpu_device_config cfg = {
		.name = "fuzz",
		.num_scanouts = 1,
		.scanouts = { { .width = 1024, .height = 768, .enabled = true } },
		.quota_bytes = 16u << 20,
	};
	dev = vgpu_device_create(&cfg, &listener, NULL);
	vu = vgpu_vhost_user_create(loop, NULL, dev, NULL, NULL);
	memfd = memfd_create("fuzz-ram", MFD_CLOEXEC);
	if (!loop || !dev || !vu || memfd < 0 || ftruncate(memfd, RAM_SIZE) < 0) {
		abort();
	}
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!vu) {
		init();
	}
	/* Fresh guest RAM each run. */
	uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (ram == MAP_FAILED) {
		abort();
	}
	memset(ram, 0, RAM_SIZE);
	size_t off = 0;
	if (size >= 2) {
		size_t n = rd16(data);
		off = 2;
		if (n > size - off) {
			n = size - off;
		}
		memcpy(ram, data + off, n);
		off += n;
	}
	munmap(ram, RAM_SIZE);

	while (size - off >= 4) {
		unsigned n_fds = data[off] % 9;
		uint8_t kinds = data[off + 1];
		size_t len = rd16(data + off + 2);
		off += 4;
		if (len > size - off) {
			len = size - off;
		}
		int fds[8];
		for (unsigned i = 0; i < n_fds; i++) {
			fds[i] = (kinds >> i) & 1 ? dup(memfd) : eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		}
		vgpu_vhost_user_handle_message(vu, data + off, len, fds, n_fds);
		off += len;
	}
	/* Back to a clean server for the next input (also unmaps RAM and
	 * closes every fd the messages left with it). */
	vgpu_vhost_user_disconnect(vu);
	/* Lets the loop free the sources removed meanwhile. */
	zl_loop_dispatch(loop, 0);
	return 0;
}
