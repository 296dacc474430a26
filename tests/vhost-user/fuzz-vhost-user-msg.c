/* SPDX-License-Identifier: MIT */
/* Fuzzes the vhost-user message parser and everything behind it (memory
 * table mapping, ring setup, ring processing with the real device model):
 * either through vgpu_vhost_user_handle_message(), the seam that takes one
 * message's bytes plus its fds, or through a real socketpair connection, so
 * the stream framing (partial reads, fds arriving with a message) is fuzzed
 * too.
 *
 * Input:
 *   u16 ram_len, ram_len bytes   copied to the start of a 64 KiB memfd that
 *                                is the "guest RAM" the messages may map
 *   records until the end:
 *     u8 mode: bits 0-3 n_fds (mod 9), bit 6 split the bytes in two writes,
 *              bit 7 send through the socket instead of the seam; bit 5 of
 *              the first record: serve the virtio-input device instead of
 *              the GPU (each record then also queues a touch for it)
 *     u8 fd_kinds (bit i: 1 = memfd dup, 0 = eventfd),
 *     u16 len, len bytes         one message (header + payload), or any bytes
 * The session is torn down after each input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/loop.h"
#include "virtio-gpu/gpu.h"
#include "virtio-gpu/input.h"
#include "virtio-gpu/vhost-user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE (64u * 1024u)

static struct zl_loop *loop;
static struct vgpu_device *dev;
static struct vgpu_vhost_user *gpu_vu;
static struct vgpu_input *input;
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
	gpu_vu = vgpu_vhost_user_create(loop, NULL, dev, NULL, NULL);
	input = vgpu_input_create(loop, NULL, "fuzz");
	memfd = memfd_create("fuzz-ram", MFD_CLOEXEC);
	if (!loop || !dev || !gpu_vu || !input || memfd < 0 || ftruncate(memfd, RAM_SIZE) < 0) {
		abort();
	}
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

/* Lets the server read what is queued and drops its replies. */
static void pump(int fd)
{
	for (unsigned i = 0; i < 4; i++) {
		zl_loop_dispatch(loop, 0);
		char sink[4096];
		while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0) {
		}
	}
}

/* Writes bytes (maybe in two parts) with the fds on the first byte. */
static void stream_send(int fd, const uint8_t *p, size_t len, const int *fds, unsigned n_fds,
	bool split)
{
	size_t first = split ? len / 2 : len;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)p, .iov_len = first };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n_fds) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	/* An empty write carries no fds; nothing to do then. */
	if (first > 0 && sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		return;
	}
	pump(fd);
	if (len > first && send(fd, p + first, len - first, MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
		pump(fd);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!gpu_vu) {
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

	int sv[2] = { -1, -1 };
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
		abort();
	}
	size_t first_record = off;
	bool to_input = size - off >= 1 && (data[first_record] & 0x20);
	struct vgpu_vhost_user *vu = to_input ? vgpu_input_vhost_user(input) : gpu_vu;
	vgpu_vhost_user_adopt_fd(vu, sv[1]);

	while (size - off >= 4) {
		uint8_t mode = data[off];
		unsigned n_fds = (mode & 0x0f) % 9;
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
		if (mode & 0x80) {
			stream_send(sv[0], data + off, len, fds, n_fds, mode & 0x40);
			for (unsigned i = 0; i < n_fds; i++) {
				close(fds[i]);
			}
		} else {
			vgpu_vhost_user_handle_message(vu, data + off, len, fds, n_fds);
			char sink[4096];
			while (recv(sv[0], sink, sizeof(sink), MSG_DONTWAIT) > 0) {
			}
		}
		off += len;
		if (to_input) {
			/* Something for the eventq: it takes the guest's buffers. */
			vgpu_input_touch(input, mode * 100u, kinds * 100u, mode & 1, !(mode & 1));
		}
	}
	close(sv[0]);
	zl_loop_dispatch(loop, 0);
	/* Back to a clean server for the next input (also unmaps RAM and
	 * closes every fd the messages left with it). */
	vgpu_vhost_user_disconnect(vu);
	/* Lets the loop free the sources removed meanwhile. */
	zl_loop_dispatch(loop, 0);
	return 0;
}
