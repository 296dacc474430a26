/* SPDX-License-Identifier: MIT */
#ifndef TESTS_VHOST_USER_FAKE_FRONTEND_H
#define TESTS_VHOST_USER_FAKE_FRONTEND_H

/* A vhost-user frontend in the test process, standing in for QEMU: it owns
 * "guest RAM" (a memfd it maps itself and shares as two regions, the second
 * above 4 GiB), sends vhost-user messages with fds over a UNIX socket, plays
 * the guest driver on the rings (fake-driver.h) and QEMU's end of the display
 * socket. The server under test runs on the same thread: every wait here
 * dispatches its zl_loop. No QEMU is involved; the message sequence is the one
 * QEMU 10's vhost-user-gpu sends at realize and at DRIVER_OK. */

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fake-driver.h"
#include "util/loop.h"
#include "virtio-gpu/vhost-user-proto.h"

#define FE_RAM_SIZE (4u << 20)
#define FE_REGION_SIZE (2u << 20)
#define FE_GPA0 0x0ull
#define FE_GPA1 0x100000000ull
#define FE_UVA0 0x7f0000000000ull
#define FE_UVA1 0x7f0000400000ull

/* Ring layout in region 0. */
#define FE_CTRL_NUM 64u
#define FE_CURSOR_NUM 16u
#define FE_CTRL_DESC 0x10000u
#define FE_CTRL_AVAIL 0x11000u
#define FE_CTRL_USED 0x12000u
#define FE_CURSOR_DESC 0x20000u
#define FE_CURSOR_AVAIL 0x21000u
#define FE_CURSOR_USED 0x22000u
#define FE_CMD_GPA 0x30000u
#define FE_RESP_GPA 0x38000u

struct fe {
	struct zl_loop *loop;
	int sock;                /* our end of the vhost-user connection */
	int memfd;
	uint8_t *ram;            /* our mapping of the whole memfd */
	struct fd_mem fmem;
	struct fd_ring ring[2];
	int kick[2], call[2], err[2];
	int disp;                /* QEMU's end of the display socket */
	uint64_t features;       /* what we ack */
	uint64_t protocol;
};

static inline uint64_t fe_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Dispatches the server until fd is readable (true) or ms pass (false). */
static inline bool fe_wait_fd(struct fe *f, int fd, int ms)
{
	uint64_t end = fe_now_ms() + (uint64_t)ms;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 0) > 0) {
			return true;
		}
		if (fe_now_ms() >= end) {
			return false;
		}
		zl_loop_dispatch(f->loop, 5);
	}
}

/* Runs the server's loop for a while (for things that must NOT happen). */
static inline void fe_spin(struct fe *f, int ms)
{
	uint64_t end = fe_now_ms() + (uint64_t)ms;
	while (fe_now_ms() < end) {
		zl_loop_dispatch(f->loop, 5);
	}
}

static inline int fe_sendmsg(int sock, const void *buf, size_t len, const int *fds, unsigned n_fds)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
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
	ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	return n == (ssize_t)len ? 0 : -1;
}

static inline int fe_send(struct fe *f, uint32_t req, uint32_t flags, const void *payload,
	uint32_t size, const int *fds, unsigned n_fds)
{
	uint8_t buf[sizeof(struct vhost_user_header) + VHOST_USER_MAX_PAYLOAD + 64];
	struct vhost_user_header h = { .request = req, .flags = flags, .size = size };
	memcpy(buf, &h, sizeof(h));
	if (size) {
		memcpy(buf + sizeof(h), payload, size);
	}
	return fe_sendmsg(f->sock, buf, sizeof(h) + size, fds, n_fds);
}

/* Reads one reply; false if the server closed the connection or timed out. */
static inline bool fe_recv(struct fe *f, struct vhost_user_header *h, void *payload, size_t cap)
{
	if (!fe_wait_fd(f, f->sock, 2000)) {
		return false;
	}
	if (recv(f->sock, h, sizeof(*h), MSG_WAITALL) != (ssize_t)sizeof(*h)) {
		return false;
	}
	if (h->size > cap) {
		return false;
	}
	if (h->size && recv(f->sock, payload, h->size, MSG_WAITALL) != (ssize_t)h->size) {
		return false;
	}
	return true;
}

/* True if the server closed our connection (within ms). */
static inline bool fe_closed(struct fe *f, int ms)
{
	if (!fe_wait_fd(f, f->sock, ms)) {
		return false;
	}
	char c;
	/* EOF, or ECONNRESET if the server closed with our bytes unread. */
	ssize_t n = recv(f->sock, &c, 1, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* A request with a u64 reply (GET_*). Returns false on no/bad reply. */
static inline bool fe_get_u64(struct fe *f, uint32_t req, uint64_t *v)
{
	if (fe_send(f, req, VHOST_USER_VERSION, NULL, 0, NULL, 0) < 0) {
		return false;
	}
	struct vhost_user_header h;
	uint64_t buf[64];
	if (!fe_recv(f, &h, buf, sizeof(buf))) {
		return false;
	}
	if (h.request != req || h.flags != (VHOST_USER_VERSION | VHOST_USER_REPLY_MASK) ||
		h.size != 8) {
		return false;
	}
	*v = buf[0];
	return true;
}

/* A request with NEED_REPLY: returns the ack (0 success), or -1 if the
 * connection went away. */
static inline int64_t fe_ack(struct fe *f, uint32_t req, const void *payload, uint32_t size,
	const int *fds, unsigned n_fds)
{
	if (fe_send(f, req, VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK, payload, size,
		fds, n_fds) < 0) {
		return -1;
	}
	struct vhost_user_header h;
	uint64_t buf[64];
	if (!fe_recv(f, &h, buf, sizeof(buf)) || h.request != req || h.size != 8) {
		return -1;
	}
	return (int64_t)buf[0];
}

static inline int64_t fe_ack_u64(struct fe *f, uint32_t req, uint64_t v, const int *fds, unsigned n)
{
	return fe_ack(f, req, &v, sizeof(v), fds, n);
}

static inline int64_t fe_ack_state(struct fe *f, uint32_t req, uint32_t index, uint32_t num)
{
	struct vhost_user_vring_state s = { index, num };
	return fe_ack(f, req, &s, sizeof(s), NULL, 0);
}

static inline uint64_t fe_uva(uint64_t gpa)
{
	return gpa >= FE_GPA1 ? gpa - FE_GPA1 + FE_UVA1 : gpa - FE_GPA0 + FE_UVA0;
}

static inline void *fe_host(struct fe *f, uint64_t gpa, uint64_t len)
{
	return fd_host(&f->fmem, gpa, len);
}

/* Creates guest RAM and the ring eventfds; sock is our connected end. */
static inline bool fe_init(struct fe *f, struct zl_loop *loop, int sock)
{
	memset(f, 0, sizeof(*f));
	f->loop = loop;
	f->sock = sock;
	f->disp = -1;
	f->memfd = memfd_create("fe-guest-ram", MFD_CLOEXEC);
	if (f->memfd < 0 || ftruncate(f->memfd, FE_RAM_SIZE) < 0) {
		return false;
	}
	f->ram = mmap(NULL, FE_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	if (f->ram == MAP_FAILED) {
		return false;
	}
	f->fmem.n = 2;
	f->fmem.r[0].gpa = FE_GPA0;
	f->fmem.r[0].size = FE_REGION_SIZE;
	f->fmem.r[0].host = f->ram;
	f->fmem.r[1].gpa = FE_GPA1;
	f->fmem.r[1].size = FE_REGION_SIZE;
	f->fmem.r[1].host = f->ram + FE_REGION_SIZE;
	for (unsigned i = 0; i < 2; i++) {
		f->kick[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		f->call[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		f->err[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	}
	return true;
}

static inline void fe_finish(struct fe *f)
{
	if (f->sock >= 0) {
		close(f->sock);
	}
	if (f->disp >= 0) {
		close(f->disp);
	}
	for (unsigned i = 0; i < 2; i++) {
		close(f->kick[i]);
		close(f->call[i]);
		close(f->err[i]);
	}
	if (f->ram && f->ram != MAP_FAILED) {
		munmap(f->ram, FE_RAM_SIZE);
	}
	if (f->memfd >= 0) {
		close(f->memfd);
	}
	f->sock = -1;
}

static inline struct vhost_user_memory fe_mem_table(void)
{
	struct vhost_user_memory m = { .nregions = 2 };
	m.regions[0] = (struct vhost_user_mem_region){ FE_GPA0, FE_REGION_SIZE, FE_UVA0, 0 };
	m.regions[1] = (struct vhost_user_mem_region){ FE_GPA1, FE_REGION_SIZE, FE_UVA1, FE_REGION_SIZE };
	return m;
}

static inline bool fe_set_mem_table(struct fe *f)
{
	struct vhost_user_memory m = fe_mem_table();
	int fds[2] = { f->memfd, f->memfd };
	return fe_ack(f, VHOST_USER_SET_MEM_TABLE, &m, 8 + 2 * 32, fds, 2) == 0;
}

/* QEMU's vhost_dev_init: features, protocol features, queue count, owner,
 * the masked call notifiers. */
static inline bool fe_realize(struct fe *f, uint64_t protocol)
{
	uint64_t v;
	if (!fe_get_u64(f, VHOST_USER_GET_FEATURES, &v)) {
		return false;
	}
	if (!fe_get_u64(f, VHOST_USER_GET_PROTOCOL_FEATURES, &v)) {
		return false;
	}
	f->protocol = protocol & v;
	if (fe_send(f, VHOST_USER_SET_PROTOCOL_FEATURES, VHOST_USER_VERSION, &f->protocol, 8,
		NULL, 0) < 0) {
		return false;
	}
	if (!fe_get_u64(f, VHOST_USER_GET_QUEUE_NUM, &v) || v != 2) {
		return false;
	}
	if (f->protocol & (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		if (!fe_get_u64(f, VHOST_USER_GET_MAX_MEM_SLOTS, &v)) {
			return false;
		}
	}
	if (fe_ack(f, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0) != 0) {
		return false;
	}
	if (!fe_get_u64(f, VHOST_USER_GET_FEATURES, &v)) {
		return false;
	}
	for (unsigned i = 0; i < 2; i++) {
		if (fe_ack_u64(f, VHOST_USER_SET_VRING_CALL, i, &f->call[i], 1) != 0) {
			return false;
		}
	}
	return true;
}

/* One ring as vhost_virtqueue_start sets it up. */
static inline bool fe_start_ring(struct fe *f, unsigned i, uint16_t base)
{
	const uint32_t num = i == 0 ? FE_CTRL_NUM : FE_CURSOR_NUM;
	const uint64_t d = i == 0 ? FE_CTRL_DESC : FE_CURSOR_DESC;
	const uint64_t a = i == 0 ? FE_CTRL_AVAIL : FE_CURSOR_AVAIL;
	const uint64_t u = i == 0 ? FE_CTRL_USED : FE_CURSOR_USED;
	if (base == 0 && !fd_ring_init(&f->ring[i], &f->fmem, num, d, a, u)) {
		return false;
	}
	struct vhost_user_vring_addr addr = {
		.index = i, .desc_user_addr = fe_uva(d), .used_user_addr = fe_uva(u),
		.avail_user_addr = fe_uva(a),
	};
	return fe_ack_state(f, VHOST_USER_SET_VRING_NUM, i, num) == 0 &&
		fe_ack_state(f, VHOST_USER_SET_VRING_BASE, i, base) == 0 &&
		fe_ack(f, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0) == 0 &&
		fe_ack_u64(f, VHOST_USER_SET_VRING_KICK, i, &f->kick[i], 1) == 0 &&
		fe_ack_u64(f, VHOST_USER_SET_VRING_CALL, i, &f->call[i], 1) == 0 &&
		fe_ack_u64(f, VHOST_USER_SET_VRING_ERR, i, &f->err[i], 1) == 0 &&
		fe_ack_state(f, VHOST_USER_SET_VRING_ENABLE, i, 1) == 0;
}

/* QEMU's vhost_user_gpu_set_status(DRIVER_OK): features, memory, rings,
 * then the display socket. Leaves QEMU's end of it in f->disp. */
static inline bool fe_start(struct fe *f, uint64_t features)
{
	f->features = features;
	if (fe_ack_u64(f, VHOST_USER_SET_FEATURES, features, NULL, 0) != 0) {
		return false;
	}
	if (!fe_set_mem_table(f)) {
		return false;
	}
	for (unsigned i = 0; i < 2; i++) {
		if (!fe_start_ring(f, i, 0)) {
			return false;
		}
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		return false;
	}
	int r = fe_send(f, VHOST_USER_GPU_SET_SOCKET, VHOST_USER_VERSION, NULL, 0, &sv[1], 1);
	close(sv[1]);
	if (f->disp >= 0) {
		close(f->disp);
	}
	f->disp = sv[0];
	return r == 0;
}

/* Plays QEMU on the display socket: answers GET_PROTOCOL_FEATURES with
 * offered and returns what the backend then sets (or UINT64_MAX). */
static inline uint64_t fe_display_handshake(struct fe *f, uint64_t offered)
{
	struct vhost_user_gpu_header h;
	if (!fe_wait_fd(f, f->disp, 2000) ||
		recv(f->disp, &h, sizeof(h), MSG_WAITALL) != (ssize_t)sizeof(h) ||
		h.request != VHOST_USER_GPU_GET_PROTOCOL_FEATURES || h.size != 0) {
		return UINT64_MAX;
	}
	struct {
		struct vhost_user_gpu_header h;
		uint64_t v;
	} __attribute__((packed)) reply = {
		{ VHOST_USER_GPU_GET_PROTOCOL_FEATURES, VHOST_USER_GPU_MSG_FLAG_REPLY, 8 }, offered,
	};
	if (send(f->disp, &reply, sizeof(reply), MSG_NOSIGNAL) != (ssize_t)sizeof(reply)) {
		return UINT64_MAX;
	}
	uint64_t v;
	if (!fe_wait_fd(f, f->disp, 2000) ||
		recv(f->disp, &h, sizeof(h), MSG_WAITALL) != (ssize_t)sizeof(h) ||
		h.request != VHOST_USER_GPU_SET_PROTOCOL_FEATURES || h.size != 8 ||
		recv(f->disp, &v, 8, MSG_WAITALL) != 8) {
		return UINT64_MAX;
	}
	return v;
}

static inline bool fe_eventfd_fired(int fd)
{
	uint64_t v;
	return read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

static inline void fe_kick(struct fe *f, unsigned q)
{
	uint64_t one = 1;
	if (write(f->kick[q], &one, sizeof(one)) < 0) {
		/* cannot happen on a fresh eventfd */
	}
}

/* Posts cmd (readable) + a writable response of resp_len on queue q at the
 * fixed command/response addresses, kicks, and waits for the used element.
 * Returns the used length, or -1 if nothing came back. */
static inline int64_t fe_request(struct fe *f, unsigned q, const void *cmd, size_t cmd_len,
	void *resp, size_t resp_len)
{
	struct fd_ring *r = &f->ring[q];
	memcpy(fe_host(f, FE_CMD_GPA, cmd_len), cmd, cmd_len);
	if (resp_len) {
		memset(fe_host(f, FE_RESP_GPA, resp_len), 0, resp_len);
	}
	struct fd_buf b[2] = {
		{ FE_CMD_GPA, (uint32_t)cmd_len, false },
		{ FE_RESP_GPA, (uint32_t)resp_len, true },
	};
	/* Ask for an interrupt on this one (EVENT_IDX). */
	*fd_used_event(r) = r->used_seen;
	uint16_t head = fd_add_chain(r, b, resp_len ? 2 : 1);
	fe_kick(f, q);
	uint64_t end = fe_now_ms() + 2000;
	uint32_t id, len;
	while (!fd_get_used(r, &id, &len)) {
		if (fe_now_ms() >= end) {
			return -1;
		}
		zl_loop_dispatch(f->loop, 5);
	}
	if (id != head) {
		return -1;
	}
	if (resp_len) {
		memcpy(resp, fe_host(f, FE_RESP_GPA, resp_len), resp_len);
	}
	return len;
}

#endif
