/* SPDX-License-Identifier: MIT */
/* The vhost-user server (virtio-gpu/vhost-user.c) with the real device model,
 * driven by an in-process fake frontend (fake-frontend.h) through a real UNIX
 * socket, a memfd as guest RAM in two regions (one above 4 GiB), and real
 * kick/call/err eventfds: the handshake QEMU 10 does, virtio-gpu commands
 * through the rings, and a frontend and a guest that misbehave in every way
 * we could think of. The server must keep running, never crash, never leak
 * (memory: ASan; fds: counted around each test). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_gpu.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake-frontend.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"
#include "virtio-gpu/gpu.h"
#include "virtio-gpu/vhost-user.h"

#define FEATURES ((1ull << VGPU_VIRTIO_F_VERSION_1) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES) | \
	(1ull << VGPU_VIRTIO_F_INDIRECT_DESC) | (1ull << VGPU_VIRTIO_F_EVENT_IDX) | \
	(1ull << VIRTIO_GPU_F_EDID))
#define PROTOCOL ((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	(1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE))

#define RES_W 64u
#define RES_H 64u
#define BACKING0_GPA 0x100000ull          /* first half of the pixels, region 0 */
#define BACKING1_GPA (FE_GPA1 + 0x10000)  /* second half, above 4 GiB */

struct env {
	struct zl_loop *loop;
	struct vgpu_device *dev;
	struct vgpu_vhost_user *vu;
	struct fe fe;
	char dir[64];
	char path[128];
	int fds_at_start;
	/* What the device and server listeners saw. */
	unsigned updates, disables, cursor_moves;
	unsigned connects, disconnects;
	uint32_t pixel_first, pixel_last;
	pixman_box32_t damage;
	uint64_t t_flush;
};

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	while ((de = readdir(d))) {
		n += de->d_name[0] != '.';
	}
	closedir(d);
	return n;
}

static void on_scanout(void *data, const struct vgpu_scanout_update *u)
{
	struct env *e = data;
	if (!u->image) {
		e->disables++;
		return;
	}
	e->updates++;
	const uint32_t *px = pixman_image_get_data(u->image);
	int stride = pixman_image_get_stride(u->image) / 4;
	e->pixel_first = px[0];
	e->pixel_last = px[(RES_H - 1) * stride + RES_W - 1];
	if (u->n_damage > 0) {
		e->damage = u->damage[0];
	}
	e->t_flush = u->t_flush_ns;
}

static void on_cursor_update(void *data, unsigned sid, pixman_image_t *image,
	uint32_t hx, uint32_t hy, uint32_t x, uint32_t y)
{
}

static void on_cursor_move(void *data, unsigned sid, uint32_t x, uint32_t y)
{
	struct env *e = data;
	e->cursor_moves++;
}

static const struct vgpu_listener dev_listener = {
	.scanout_update = on_scanout,
	.cursor_update = on_cursor_update,
	.cursor_move = on_cursor_move,
};

static void on_connected(void *data)
{
	struct env *e = data;
	e->connects++;
}

static void on_disconnected(void *data)
{
	struct env *e = data;
	e->disconnects++;
}

static const struct vgpu_vhost_user_listener vu_listener = {
	.connected = on_connected,
	.disconnected = on_disconnected,
};

static int connect_path(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static struct vgpu_vhost_user_stats stats(struct env *e)
{
	struct vgpu_vhost_user_stats s;
	vgpu_vhost_user_get_stats(e->vu, &s);
	return s;
}

/* A new frontend connection through the listening socket. */
static void env_connect(struct env *e)
{
	int s = connect_path(e->path);
	assert_true(s >= 0);
	assert_true(fe_init(&e->fe, e->loop, s));
	uint64_t end = fe_now_ms() + 2000;
	unsigned before = e->connects;
	while (e->connects == before && fe_now_ms() < end) {
		zl_loop_dispatch(e->loop, 5);
	}
	assert_int_equal(e->connects, before + 1);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	e->fds_at_start = count_fds();
	snprintf(e->dir, sizeof(e->dir), "/tmp/vu-test-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/gpu.sock", e->dir);
	e->loop = zl_loop_create();
	struct vgpu_device_config cfg = {
		.name = "test",
		.num_scanouts = 1,
		.scanouts = { { .width = 1024, .height = 768, .refresh_hz = 60, .enabled = true } },
	};
	e->dev = vgpu_device_create(&cfg, &dev_listener, e);
	assert_non_null(e->dev);
	e->vu = vgpu_vhost_user_create(e->loop, e->path, e->dev, &vu_listener, e);
	assert_non_null(e->vu);
	env_connect(e);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	fe_finish(&e->fe);
	fe_spin(&e->fe, 20);
	vgpu_vhost_user_destroy(e->vu);
	vgpu_device_destroy(e->dev);
	zl_loop_destroy(e->loop);
	/* destroy unlinks the socket */
	assert_int_equal(rmdir(e->dir), 0);
	assert_int_equal(count_fds(), e->fds_at_start);
	free(e);
	return 0;
}

static void full_start(struct env *e)
{
	assert_true(fe_realize(&e->fe, PROTOCOL));
	assert_true(fe_start(&e->fe, FEATURES));
	assert_int_equal(fe_display_handshake(&e->fe, 3), 0);
}

/* ---- virtio-gpu commands ---- */

static uint32_t gpu_cmd(struct env *e, unsigned q, const void *cmd, size_t len)
{
	struct virtio_gpu_ctrl_hdr resp;
	int64_t n = fe_request(&e->fe, q, cmd, len, &resp, sizeof(resp));
	assert_int_equal(n, sizeof(resp));
	return resp.type;
}

static void create_resource(struct env *e, uint32_t id)
{
	struct virtio_gpu_resource_create_2d c = {
		.hdr.type = VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
		.resource_id = id, .format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM,
		.width = RES_W, .height = RES_H,
	};
	assert_int_equal(gpu_cmd(e, 0, &c, sizeof(c)), VIRTIO_GPU_RESP_OK_NODATA);
}

/* Backing split over both regions; the pixels count up. */
static void attach_backing(struct env *e, uint32_t id)
{
	const uint32_t half = RES_W * RES_H * 2;
	struct {
		struct virtio_gpu_resource_attach_backing a;
		struct virtio_gpu_mem_entry ent[2];
	} __attribute__((packed)) c = {
		.a = { .hdr.type = VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, .resource_id = id,
			.nr_entries = 2 },
		.ent = { { .addr = BACKING0_GPA, .length = half }, { .addr = BACKING1_GPA, .length = half } },
	};
	uint32_t *p0 = fe_host(&e->fe, BACKING0_GPA, half);
	uint32_t *p1 = fe_host(&e->fe, BACKING1_GPA, half);
	for (uint32_t i = 0; i < half / 4; i++) {
		p0[i] = i;
		p1[i] = half / 4 + i;
	}
	assert_int_equal(gpu_cmd(e, 0, &c, sizeof(c)), VIRTIO_GPU_RESP_OK_NODATA);
}

static uint32_t transfer(struct env *e, uint32_t id)
{
	struct virtio_gpu_transfer_to_host_2d c = {
		.hdr.type = VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
		.r = { 0, 0, RES_W, RES_H }, .resource_id = id,
	};
	return gpu_cmd(e, 0, &c, sizeof(c));
}

static void set_scanout(struct env *e, uint32_t id)
{
	struct virtio_gpu_set_scanout c = {
		.hdr.type = VIRTIO_GPU_CMD_SET_SCANOUT,
		.r = { 0, 0, RES_W, RES_H }, .scanout_id = 0, .resource_id = id,
	};
	assert_int_equal(gpu_cmd(e, 0, &c, sizeof(c)), VIRTIO_GPU_RESP_OK_NODATA);
}

static void flush(struct env *e, uint32_t id)
{
	struct virtio_gpu_resource_flush c = {
		.hdr.type = VIRTIO_GPU_CMD_RESOURCE_FLUSH,
		.r = { 8, 8, 16, 16 }, .resource_id = id,
	};
	assert_int_equal(gpu_cmd(e, 0, &c, sizeof(c)), VIRTIO_GPU_RESP_OK_NODATA);
}

static void get_display_info(struct env *e)
{
	struct virtio_gpu_ctrl_hdr c = { .type = VIRTIO_GPU_CMD_GET_DISPLAY_INFO };
	struct virtio_gpu_resp_display_info di;
	int64_t n = fe_request(&e->fe, 0, &c, sizeof(c), &di, sizeof(di));
	assert_int_equal(n, sizeof(di));
	assert_int_equal(di.hdr.type, VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
	assert_int_equal(di.pmodes[0].r.width, 1024);
	assert_int_equal(di.pmodes[0].r.height, 768);
	assert_int_equal(di.pmodes[0].enabled, 1);
}

/* ---- the good path ---- */

static void test_handshake(void **state)
{
	struct env *e = *state;
	uint64_t f;
	assert_true(fe_get_u64(&e->fe, VHOST_USER_GET_FEATURES, &f));
	assert_int_equal(f & FEATURES, FEATURES);
	uint64_t p;
	assert_true(fe_get_u64(&e->fe, VHOST_USER_GET_PROTOCOL_FEATURES, &p));
	assert_int_equal(p & PROTOCOL, PROTOCOL);
	assert_true(p & (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS));

	full_start(e);
	struct vgpu_vhost_user_stats s = stats(e);
	assert_true(s.connected);
	assert_true(s.display_ready);
	assert_int_equal(s.display_features, 3);
	assert_false(s.broken);
	assert_int_equal(s.bad_messages, 0);

	/* GET_CONFIG as QEMU asks it: the whole virtio_gpu_config. */
	struct { uint32_t offset, size, flags; struct virtio_gpu_config cfg; } c = {
		0, sizeof(struct virtio_gpu_config), 0,
	};
	assert_int_equal(fe_send(&e->fe, VHOST_USER_GET_CONFIG, VHOST_USER_VERSION, &c, sizeof(c),
		NULL, 0), 0);
	struct vhost_user_header h;
	assert_true(fe_recv(&e->fe, &h, &c, sizeof(c)));
	assert_int_equal(h.size, sizeof(c));
	assert_int_equal(c.cfg.num_scanouts, 1);
	assert_int_equal(c.cfg.num_capsets, 0);
}

static void test_gpu_commands(void **state)
{
	struct env *e = *state;
	full_start(e);
	get_display_info(e);
	assert_true(fe_eventfd_fired(e->fe.call[0]));

	create_resource(e, 1);
	attach_backing(e, 1);
	/* Shown first (all black), then the guest's pixels arrive and are
	 * flushed: the flush's damage is what changed in its rectangle. */
	set_scanout(e, 1);
	assert_int_equal(e->updates, 1);
	assert_int_equal(transfer(e, 1), VIRTIO_GPU_RESP_OK_NODATA);
	uint64_t before = zl_now_ns();
	flush(e, 1);
	uint64_t after = zl_now_ns();
	assert_int_equal(e->updates, 2);
	/* The pixels crossed both regions intact. */
	assert_int_equal(e->pixel_first & 0xffffff, 0);
	assert_int_equal(e->pixel_last & 0xffffff, RES_W * RES_H - 1);
	assert_int_equal(e->damage.x1, 8);
	assert_int_equal(e->damage.y2, 24);
	/* Stamped when read from the ring. */
	assert_true(e->t_flush >= before && e->t_flush <= after);

	/* Unknown command: an error response, not a dead device. */
	struct virtio_gpu_ctrl_hdr bad = { .type = 0x9999 };
	assert_int_equal(gpu_cmd(e, 0, &bad, sizeof(bad)), VIRTIO_GPU_RESP_ERR_UNSPEC);

	struct vgpu_vhost_user_stats s = stats(e);
	assert_int_equal(s.ctrl_requests, 7);
	assert_int_equal(s.bad_chains, 0);
	assert_true(s.calls >= 1);
	assert_true(s.kicks >= 7);
}

static void test_cursor_queue(void **state)
{
	struct env *e = *state;
	full_start(e);
	struct virtio_gpu_update_cursor c = {
		.hdr.type = VIRTIO_GPU_CMD_MOVE_CURSOR, .pos = { .scanout_id = 0, .x = 5, .y = 6 },
	};
	/* Linux posts cursor commands without a response buffer. */
	assert_int_equal(fe_request(&e->fe, 1, &c, sizeof(c), NULL, 0), 0);
	assert_int_equal(stats(e).cursor_requests, 1);
}

static void test_indirect_and_event_idx(void **state)
{
	struct env *e = *state;
	full_start(e);
	/* The first completion always interrupts (no history yet). */
	get_display_info(e);
	assert_true(fe_eventfd_fired(e->fe.call[0]));
	struct fd_ring *r = &e->fe.ring[0];
	struct virtio_gpu_ctrl_hdr c = { .type = VIRTIO_GPU_CMD_GET_DISPLAY_INFO };
	memcpy(fe_host(&e->fe, FE_CMD_GPA, sizeof(c)), &c, sizeof(c));
	struct fd_buf b[] = {
		{ FE_CMD_GPA, sizeof(c), false },
		{ FE_RESP_GPA, sizeof(struct virtio_gpu_resp_display_info), true },
	};
	/* Driver does not want an interrupt for this one. */
	*fd_used_event(r) = (uint16_t)(r->used_seen + 10);
	uint16_t head = fd_add_indirect(r, 0x40000, b, 2);
	fe_kick(&e->fe, 0);
	fe_spin(&e->fe, 30);
	uint32_t id, len;
	assert_true(fd_get_used(r, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, sizeof(struct virtio_gpu_resp_display_info));
	assert_false(fe_eventfd_fired(e->fe.call[0]));
	/* The device published where it wants the next kick. */
	assert_int_equal(*fd_avail_event(r), r->avail_idx);
}

static void test_batch_in_one_write(void **state)
{
	struct env *e = *state;
	/* Several messages in one send, one with fds in the middle. */
	uint8_t buf[256];
	size_t off = 0;
	struct vhost_user_header h1 = { VHOST_USER_GET_QUEUE_NUM, VHOST_USER_VERSION, 0 };
	struct vhost_user_header h2 = { VHOST_USER_SET_VRING_CALL, VHOST_USER_VERSION, 8 };
	uint64_t idx = 1;
	memcpy(buf + off, &h1, sizeof(h1));
	off += sizeof(h1);
	memcpy(buf + off, &h1, sizeof(h1));
	off += sizeof(h1);
	assert_int_equal(fe_sendmsg(e->fe.sock, buf, off, NULL, 0), 0);
	off = 0;
	memcpy(buf + off, &h2, sizeof(h2));
	off += sizeof(h2);
	memcpy(buf + off, &idx, 8);
	off += 8;
	memcpy(buf + off, &h1, sizeof(h1));
	off += sizeof(h1);
	assert_int_equal(fe_sendmsg(e->fe.sock, buf, off, &e->fe.call[1], 1), 0);
	struct vhost_user_header h;
	uint64_t v;
	for (unsigned i = 0; i < 3; i++) {
		assert_true(fe_recv(&e->fe, &h, &v, sizeof(v)));
		assert_int_equal(h.request, VHOST_USER_GET_QUEUE_NUM);
		assert_int_equal(v, 2);
	}
	assert_int_equal(stats(e).bad_messages, 0);
}

/* ---- a frontend that gets things wrong: refused, connection kept ---- */

static void expect_refused(struct env *e, uint32_t req, const void *p, uint32_t size,
	const int *fds, unsigned n)
{
	uint64_t before = stats(e).bad_messages;
	assert_int_equal(fe_ack(&e->fe, req, p, size, fds, n), 1);
	assert_int_equal(stats(e).bad_messages, before + 1);
}

static void test_bad_messages(void **state)
{
	struct env *e = *state;
	assert_true(fe_realize(&e->fe, PROTOCOL));
	uint64_t u[8] = { 0 };  /* room for the oversized payloads */
	struct vhost_user_vring_state s;

	/* Wrong payload sizes. */
	expect_refused(e, VHOST_USER_SET_VRING_NUM, u, 4, NULL, 0);
	expect_refused(e, VHOST_USER_SET_FEATURES, u, 16, NULL, 0);
	expect_refused(e, VHOST_USER_SET_OWNER, u, 8, NULL, 0);
	/* Bad vring indices and sizes. */
	s = (struct vhost_user_vring_state){ 2, 64 };
	expect_refused(e, VHOST_USER_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
	s = (struct vhost_user_vring_state){ 0, 100 };
	expect_refused(e, VHOST_USER_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
	s = (struct vhost_user_vring_state){ 0, 65536 };
	expect_refused(e, VHOST_USER_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
	s = (struct vhost_user_vring_state){ 0, 0 };
	expect_refused(e, VHOST_USER_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
	s = (struct vhost_user_vring_state){ 1, 70000 };
	expect_refused(e, VHOST_USER_SET_VRING_BASE, &s, sizeof(s), NULL, 0);
	s = (struct vhost_user_vring_state){ 0, 2 };
	expect_refused(e, VHOST_USER_SET_VRING_ENABLE, &s, sizeof(s), NULL, 0);
	/* Kick/call/err: index, stray bits, fd count vs the no-fd flag. */
	expect_refused(e, VHOST_USER_SET_VRING_KICK, &(uint64_t){ 2 }, 8, &e->fe.kick[0], 1);
	expect_refused(e, VHOST_USER_SET_VRING_KICK, &(uint64_t){ 0x1000 }, 8, &e->fe.kick[0], 1);
	expect_refused(e, VHOST_USER_SET_VRING_KICK, &(uint64_t){ 0x100 }, 8, &e->fe.kick[0], 1);
	expect_refused(e, VHOST_USER_SET_VRING_CALL, &(uint64_t){ 0 }, 8, NULL, 0);
	int two[2] = { e->fe.err[0], e->fe.err[1] };
	expect_refused(e, VHOST_USER_SET_VRING_ERR, &(uint64_t){ 0 }, 8, two, 2);
	/* An fd where none belongs is closed unused: the pipe sees EOF. */
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	expect_refused(e, VHOST_USER_SET_OWNER, NULL, 0, &p[1], 1);
	close(p[1]);
	char ch;
	assert_int_equal(read(p[0], &ch, 1), 0);
	close(p[0]);
	/* Unknown and unoffered requests. */
	expect_refused(e, 99, u, 8, NULL, 0);
	expect_refused(e, VHOST_USER_SET_LOG_BASE, u, 8, NULL, 0);
	expect_refused(e, VHOST_USER_SET_STATUS, u, 8, NULL, 0);
	expect_refused(e, VHOST_USER_VRING_KICK, &s, 8, NULL, 0);

	/* Memory tables. */
	struct vhost_user_memory m = fe_mem_table();
	int fds2[2] = { e->fe.memfd, e->fe.memfd };
	expect_refused(e, VHOST_USER_SET_MEM_TABLE, &m, 8 + 64, fds2, 1);       /* fds != regions */
	m.nregions = 0;
	expect_refused(e, VHOST_USER_SET_MEM_TABLE, &m, 8 + 64, NULL, 0);
	m.nregions = 9;
	expect_refused(e, VHOST_USER_SET_MEM_TABLE, &m, 8 + 64, fds2, 2);
	m = fe_mem_table();
	expect_refused(e, VHOST_USER_SET_MEM_TABLE, &m, 8 + 32, fds2, 2);       /* too short */
	m.regions[1].mmap_offset = FE_RAM_SIZE - 4096;                            /* past EOF */
	expect_refused(e, VHOST_USER_SET_MEM_TABLE, &m, 8 + 64, fds2, 2);
	m = fe_mem_table();
	m.regions[1].guest_phys_addr = FE_GPA0 + 4096;                            /* overlap */
	expect_refused(e, VHOST_USER_SET_MEM_TABLE, &m, 8 + 64, fds2, 2);
	m = fe_mem_table();
	m.regions[1].memory_size = 0;
	expect_refused(e, VHOST_USER_SET_MEM_TABLE, &m, 8 + 64, fds2, 2);
	m = fe_mem_table();
	m.regions[1].guest_phys_addr = UINT64_MAX - 4096;                         /* wraps */
	expect_refused(e, VHOST_USER_SET_MEM_TABLE, &m, 8 + 64, fds2, 2);
	int pp[2];
	assert_int_equal(pipe2(pp, O_CLOEXEC), 0);                                /* not mappable */
	int bad_fds[2] = { e->fe.memfd, pp[0] };
	m = fe_mem_table();
	expect_refused(e, VHOST_USER_SET_MEM_TABLE, &m, 8 + 64, bad_fds, 2);
	close(pp[0]);
	close(pp[1]);
	assert_true(fe_set_mem_table(&e->fe));

	/* Rings outside guest RAM, or misaligned. */
	assert_int_equal(fe_ack_state(&e->fe, VHOST_USER_SET_VRING_NUM, 0, 64), 0);
	struct vhost_user_vring_addr a = { .index = 0, .desc_user_addr = fe_uva(FE_CTRL_DESC),
		.used_user_addr = fe_uva(FE_CTRL_USED), .avail_user_addr = 0x1000 };
	expect_refused(e, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
	a.avail_user_addr = fe_uva(FE_CTRL_AVAIL) + 1;
	expect_refused(e, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
	a.avail_user_addr = fe_uva(FE_REGION_SIZE - 8);     /* runs off the region */
	expect_refused(e, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
	a.index = 7;
	expect_refused(e, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);

	/* Config space out of bounds: GET answers with an empty payload. */
	struct cfg_msg { uint32_t offset, size, flags; uint8_t b[16]; } c = { 12, 8, 0, { 0 } };
	assert_int_equal(fe_send(&e->fe, VHOST_USER_GET_CONFIG, VHOST_USER_VERSION, &c, 12 + 8,
		NULL, 0), 0);
	struct vhost_user_header h;
	assert_true(fe_recv(&e->fe, &h, &c, sizeof(c)));
	assert_int_equal(h.request, VHOST_USER_GET_CONFIG);
	assert_int_equal(h.size, 0);
	c = (struct cfg_msg){ 0, 16, 0, { 0 } };
	expect_refused(e, VHOST_USER_SET_CONFIG, &c, 12 + 8, NULL, 0);   /* size mismatch */
	c = (struct cfg_msg){ 0xfffffff0u, 16, 0, { 0 } };
	expect_refused(e, VHOST_USER_SET_CONFIG, &c, 12 + 16, NULL, 0);  /* offset wraps */
	/* A valid SET_CONFIG writing events_clear. */
	c = (struct cfg_msg){ 0, 16, 0, { 0 } };
	c.b[4] = 1;
	assert_int_equal(fe_ack(&e->fe, VHOST_USER_SET_CONFIG, &c, 12 + 16, NULL, 0), 0);

	/* A second display socket replaces the first; one without an fd fails. */
	expect_refused(e, VHOST_USER_GPU_SET_SOCKET, NULL, 0, NULL, 0);

	/* Still serving. */
	uint64_t v;
	assert_true(fe_get_u64(&e->fe, VHOST_USER_GET_QUEUE_NUM, &v));
	assert_int_equal(v, 2);
	assert_true(stats(e).connected);
	assert_int_equal(e->disconnects, 0);
}

static void test_unoffered_features(void **state)
{
	struct env *e = *state;
	assert_true(fe_realize(&e->fe, PROTOCOL));
	/* Bits QEMU passes on from the guest (RING_RESET) are accepted... */
	assert_int_equal(fe_ack_u64(&e->fe, VHOST_USER_SET_FEATURES, FEATURES | (1ull << 40),
		NULL, 0), 0);
	/* ...a packed ring is not, and nothing gets served. */
	assert_int_equal(fe_ack_u64(&e->fe, VHOST_USER_SET_FEATURES, FEATURES | (1ull << 34),
		NULL, 0), 1);
	assert_true(stats(e).broken);
	/* Protocol features we did not offer. */
	assert_int_equal(fe_ack_u64(&e->fe, VHOST_USER_SET_PROTOCOL_FEATURES,
		PROTOCOL | (1ull << VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS), NULL, 0), 1);
}

/* ---- a frontend that gets things badly wrong: disconnected ---- */

static void expect_dropped(struct env *e, const void *buf, size_t len, const int *fds, unsigned n)
{
	unsigned before = e->disconnects;
	assert_int_equal(fe_sendmsg(e->fe.sock, buf, len, fds, n), 0);
	assert_true(fe_closed(&e->fe, 2000));
	assert_int_equal(e->disconnects, before + 1);
	fe_finish(&e->fe);
	/* The server is still there for the next frontend. */
	env_connect(e);
	uint64_t v;
	assert_true(fe_get_u64(&e->fe, VHOST_USER_GET_QUEUE_NUM, &v));
}

static void test_fatal_messages(void **state)
{
	struct env *e = *state;
	struct vhost_user_header h;

	h = (struct vhost_user_header){ VHOST_USER_GET_FEATURES, 2, 0 };             /* version */
	expect_dropped(e, &h, sizeof(h), NULL, 0);
	h = (struct vhost_user_header){ VHOST_USER_GET_FEATURES,
		VHOST_USER_VERSION | VHOST_USER_REPLY_MASK, 0 };                      /* a reply */
	expect_dropped(e, &h, sizeof(h), NULL, 0);
	h = (struct vhost_user_header){ VHOST_USER_SET_OWNER, VHOST_USER_VERSION,
		VHOST_USER_MAX_PAYLOAD + 1 };                                         /* oversized */
	expect_dropped(e, &h, sizeof(h), NULL, 0);
	h = (struct vhost_user_header){ VHOST_USER_SET_OWNER, VHOST_USER_VERSION, 0xffffffffu };
	expect_dropped(e, &h, sizeof(h), NULL, 0);
	struct __attribute__((packed)) { struct vhost_user_header h; uint64_t v; } gf = {
		{ VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 8 }, 0 };              /* reply-type, bad size */
	expect_dropped(e, &gf, sizeof(gf), NULL, 0);
	struct { struct vhost_user_header h; struct vhost_user_vring_state s; } gb = {
		{ VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION, 8 }, { 5, 0 } };     /* reply-type, bad index */
	expect_dropped(e, &gb, sizeof(gb), NULL, 0);

	/* More fds than any message may carry: 12 eventfds. */
	int fds[12];
	for (unsigned i = 0; i < 12; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
	}
	h = (struct vhost_user_header){ VHOST_USER_SET_OWNER, VHOST_USER_VERSION, 0 };
	expect_dropped(e, &h, sizeof(h), fds, 12);
	for (unsigned i = 0; i < 12; i++) {
		close(fds[i]);
	}
}

static void test_disconnect_mid_message(void **state)
{
	struct env *e = *state;
	full_start(e);
	create_resource(e, 1);
	attach_backing(e, 1);
	assert_int_equal(transfer(e, 1), VIRTIO_GPU_RESP_OK_NODATA);
	set_scanout(e, 1);
	uint64_t resets = stats(e).device_resets;

	/* Half a header, then gone. */
	struct vhost_user_header h = { VHOST_USER_SET_MEM_TABLE, VHOST_USER_VERSION, 72 };
	assert_int_equal(fe_sendmsg(e->fe.sock, &h, 6, NULL, 0), 0);
	fe_spin(&e->fe, 10);
	fe_finish(&e->fe);
	fe_spin(&e->fe, 20);
	assert_int_equal(e->disconnects, 1);
	assert_false(stats(e).connected);
	/* The device was reset: the scanout went away with the resources. */
	assert_int_equal(stats(e).device_resets, resets + 1);
	assert_int_equal(e->disables, 1);

	/* A header with its fds and half its payload, then gone. */
	env_connect(e);
	struct vhost_user_memory m = fe_mem_table();
	uint8_t buf[12 + 40];
	h.size = 8 + 64;
	memcpy(buf, &h, 12);
	memcpy(buf + 12, &m, 40);
	int fds[2] = { e->fe.memfd, e->fe.memfd };
	assert_int_equal(fe_sendmsg(e->fe.sock, buf, sizeof(buf), fds, 2), 0);
	fe_spin(&e->fe, 10);
	fe_finish(&e->fe);
	fe_spin(&e->fe, 20);
	assert_int_equal(e->disconnects, 2);

	/* And the next frontend gets a working device. */
	env_connect(e);
	full_start(e);
	get_display_info(e);
	create_resource(e, 1);   /* id 1 is free again */
}

static void test_disconnect_mid_request(void **state)
{
	struct env *e = *state;
	full_start(e);
	/* A request in the ring and kicked, and the frontend dies before the
	 * loop got to it. */
	struct virtio_gpu_ctrl_hdr c = { .type = VIRTIO_GPU_CMD_GET_DISPLAY_INFO };
	memcpy(fe_host(&e->fe, FE_CMD_GPA, sizeof(c)), &c, sizeof(c));
	struct fd_buf b[] = { { FE_CMD_GPA, sizeof(c), false }, { FE_RESP_GPA, 408, true } };
	fd_add_chain(&e->fe.ring[0], b, 2);
	fe_kick(&e->fe, 0);
	close(e->fe.sock);
	e->fe.sock = -1;
	fe_spin(&e->fe, 30);
	assert_int_equal(e->disconnects, 1);
	assert_false(stats(e).connected);
	/* Kicking a ring of a gone frontend does nothing. */
	fe_kick(&e->fe, 0);
	fe_spin(&e->fe, 10);
}

static void test_second_frontend_refused(void **state)
{
	struct env *e = *state;
	full_start(e);
	int s = connect_path(e->path);
	assert_true(s >= 0);
	struct fe other;
	memset(&other, 0, sizeof(other));
	other.loop = e->loop;
	other.sock = s;
	assert_true(fe_closed(&other, 2000));
	close(s);
	/* The first one is undisturbed. */
	get_display_info(e);
	assert_int_equal(e->connects, 1);
}

static void test_socket_in_use(void **state)
{
	struct env *e = *state;
	/* A second server on a path that is being served must fail... */
	struct vgpu_vhost_user *vu2 = vgpu_vhost_user_create(e->loop, e->path, e->dev, NULL, NULL);
	assert_null(vu2);
	/* ...and a stale socket file is replaced. */
	char stale[100];
	snprintf(stale, sizeof(stale), "%s/stale.sock", e->dir);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", stale);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	vu2 = vgpu_vhost_user_create(e->loop, stale, e->dev, NULL, NULL);
	assert_non_null(vu2);
	vgpu_vhost_user_destroy(vu2);
	assert_int_equal(access(stale, F_OK), -1);
}

/* ---- a guest that gets its rings wrong ---- */

static void test_bad_chain_via_ring(void **state)
{
	struct env *e = *state;
	full_start(e);
	struct fd_ring *r = &e->fe.ring[0];
	/* A two-descriptor loop. */
	fd_set_desc(r, 0, FE_CMD_GPA, 24, VGPU_VRING_DESC_F_NEXT, 1);
	fd_set_desc(r, 1, FE_CMD_GPA, 24, VGPU_VRING_DESC_F_NEXT, 0);
	r->next_desc = 2;
	fd_publish(r, 0);
	/* A buffer in the hole between the regions. */
	fd_set_desc(r, 2, 0x80000000ull, 24, 0, 0);
	r->next_desc = 3;
	fd_publish(r, 2);
	fe_kick(&e->fe, 0);
	fe_spin(&e->fe, 20);
	uint32_t id, len;
	assert_true(fd_get_used(r, &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	assert_true(fd_get_used(r, &id, &len));
	assert_int_equal(id, 2);
	assert_int_equal(len, 0);
	assert_int_equal(stats(e).bad_chains, 2);
	assert_int_equal(stats(e).ctrl_requests, 0);
	/* The ring keeps going. */
	get_display_info(e);
	assert_false(stats(e).broken);
}

static void test_broken_ring_and_guest_reset(void **state)
{
	struct env *e = *state;
	full_start(e);
	get_display_info(e);
	struct fd_ring *r = &e->fe.ring[0];
	/* The avail index jumps by more than the queue size. */
	r->avail->idx = (uint16_t)(r->avail_idx + FE_CTRL_NUM + 1);
	fe_kick(&e->fe, 0);
	fe_spin(&e->fe, 20);
	assert_true(stats(e).broken);
	assert_true(fe_eventfd_fired(e->fe.err[0]));
	/* Not served any more, not even the cursor queue. */
	struct virtio_gpu_update_cursor c = { .hdr.type = VIRTIO_GPU_CMD_MOVE_CURSOR };
	memcpy(fe_host(&e->fe, FE_CMD_GPA + 0x1000, sizeof(c)), &c, sizeof(c));
	struct fd_buf b[] = { { FE_CMD_GPA + 0x1000, sizeof(c), false } };
	fd_add_chain(&e->fe.ring[1], b, 1);
	fe_kick(&e->fe, 1);
	fe_spin(&e->fe, 20);
	assert_int_equal(stats(e).cursor_requests, 0);
	assert_true(stats(e).connected);

	/* The guest resets the device: QEMU stops the rings and restarts
	 * them from 0; the device is reset and serves again. */
	uint64_t resets = stats(e).device_resets;
	struct vhost_user_vring_state s = { 0, 0 };
	for (unsigned i = 0; i < 2; i++) {
		s.index = i;
		assert_int_equal(fe_send(&e->fe, VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION, &s,
			sizeof(s), NULL, 0), 0);
		struct vhost_user_header h;
		assert_true(fe_recv(&e->fe, &h, &s, sizeof(s)));
		assert_int_equal(h.request, VHOST_USER_GET_VRING_BASE);
	}
	for (unsigned i = 0; i < 2; i++) {
		assert_true(fe_start_ring(&e->fe, i, 0));
	}
	assert_int_equal(stats(e).device_resets, resets + 1);
	assert_false(stats(e).broken);
	get_display_info(e);
}

static void test_pause_resume(void **state)
{
	struct env *e = *state;
	full_start(e);
	create_resource(e, 1);
	get_display_info(e);
	uint64_t resets = stats(e).device_resets;
	/* VM pause: rings stopped, GET_VRING_BASE says where we are. */
	struct vhost_user_vring_state s = { 0, 0 };
	assert_int_equal(fe_send(&e->fe, VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION, &s,
		sizeof(s), NULL, 0), 0);
	struct vhost_user_header h;
	assert_true(fe_recv(&e->fe, &h, &s, sizeof(s)));
	assert_int_equal(s.num, 2);
	/* Stopped: a kick is not served. */
	struct virtio_gpu_ctrl_hdr c = { .type = VIRTIO_GPU_CMD_GET_DISPLAY_INFO };
	memcpy(fe_host(&e->fe, FE_CMD_GPA, sizeof(c)), &c, sizeof(c));
	struct fd_buf b[] = { { FE_CMD_GPA, sizeof(c), false }, { FE_RESP_GPA, 408, true } };
	fd_add_chain(&e->fe.ring[0], b, 2);
	fe_kick(&e->fe, 0);
	fe_spin(&e->fe, 20);
	uint32_t id, len;
	assert_false(fd_get_used(&e->fe.ring[0], &id, &len));
	/* Resume where we stopped: the pending request is served, nothing
	 * was reset, resource 1 still exists. */
	assert_true(fe_start_ring(&e->fe, 0, 2));
	fe_spin(&e->fe, 20);
	assert_true(fd_get_used(&e->fe.ring[0], &id, &len));
	assert_int_equal(len, 408);
	assert_int_equal(stats(e).device_resets, resets);
	struct virtio_gpu_resource_create_2d cr = {
		.hdr.type = VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, .resource_id = 1,
		.format = VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, .width = 4, .height = 4,
	};
	assert_int_equal(gpu_cmd(e, 0, &cr, sizeof(cr)), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
}

static void test_reset_device(void **state)
{
	struct env *e = *state;
	full_start(e);
	create_resource(e, 1);
	attach_backing(e, 1);
	set_scanout(e, 1);
	assert_int_equal(fe_ack(&e->fe, VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	assert_int_equal(e->disables, 1);
	/* Rings are gone until set up again. */
	assert_true(fe_start(&e->fe, FEATURES));
	assert_int_equal(fe_display_handshake(&e->fe, 0), 0);
	create_resource(e, 1);
}

static void test_polling_mode(void **state)
{
	struct env *e = *state;
	assert_true(fe_realize(&e->fe, PROTOCOL));
	assert_true(fe_start(&e->fe, FEATURES));
	/* The frontend switches the controlq to polling: no kick fd. */
	assert_int_equal(fe_ack_u64(&e->fe, VHOST_USER_SET_VRING_KICK,
		VHOST_USER_VRING_NOFD_MASK, NULL, 0), 0);
	/* And the call: it polls the used ring itself. */
	assert_int_equal(fe_ack_u64(&e->fe, VHOST_USER_SET_VRING_CALL,
		VHOST_USER_VRING_NOFD_MASK, NULL, 0), 0);
	struct virtio_gpu_ctrl_hdr c = { .type = VIRTIO_GPU_CMD_GET_DISPLAY_INFO };
	memcpy(fe_host(&e->fe, FE_CMD_GPA, sizeof(c)), &c, sizeof(c));
	struct fd_buf b[] = { { FE_CMD_GPA, sizeof(c), false }, { FE_RESP_GPA, 408, true } };
	fd_add_chain(&e->fe.ring[0], b, 2);
	/* No kick at all. */
	uint64_t end = fe_now_ms() + 1000;
	uint32_t id, len;
	while (!fd_get_used(&e->fe.ring[0], &id, &len) && fe_now_ms() < end) {
		zl_loop_dispatch(e->loop, 5);
	}
	assert_int_equal(len, 408);
	assert_int_equal(stats(e).ctrl_requests, 1);
}

static void test_hostile_kick_fd(void **state)
{
	struct env *e = *state;
	full_start(e);
	/* A kick "eventfd" that is a pipe whose writer is gone: readable
	 * (EOF) forever. The server must stop watching it, not spin. */
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fe_ack_u64(&e->fe, VHOST_USER_SET_VRING_KICK, 0, &p[0], 1), 0);
	close(p[0]);
	close(p[1]);
	uint64_t kicks = stats(e).kicks;
	fe_spin(&e->fe, 50);
	assert_true(stats(e).kicks - kicks <= 1);
	/* The real kick fd again, and it works. */
	assert_int_equal(fe_ack_u64(&e->fe, VHOST_USER_SET_VRING_KICK, 0, &e->fe.kick[0], 1), 0);
	get_display_info(e);
	/* A call fd that is a full pipe must not block the server. */
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	char junk[4096] = { 0 };
	while (write(p[1], junk, sizeof(junk)) > 0) {
	}
	assert_int_equal(fe_ack_u64(&e->fe, VHOST_USER_SET_VRING_CALL, 0, &p[1], 1), 0);
	for (unsigned i = 0; i < 3; i++) {
		struct virtio_gpu_ctrl_hdr c = { .type = VIRTIO_GPU_CMD_GET_DISPLAY_INFO };
		struct virtio_gpu_resp_display_info di;
		assert_int_equal(fe_request(&e->fe, 0, &c, sizeof(c), &di, sizeof(di)), sizeof(di));
	}
	close(p[0]);
	close(p[1]);
}

static void test_mem_slots(void **state)
{
	struct env *e = *state;
	const uint64_t proto = PROTOCOL | (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	assert_true(fe_realize(&e->fe, proto));
	uint64_t v;
	assert_true(fe_get_u64(&e->fe, VHOST_USER_GET_MAX_MEM_SLOTS, &v));
	assert_int_equal(v, VGPU_MEM_MAX_REGIONS);
	assert_int_equal(fe_ack_u64(&e->fe, VHOST_USER_SET_FEATURES, FEATURES, NULL, 0), 0);
	struct vhost_user_memory m = fe_mem_table();
	struct vhost_user_mem_reg r0 = { 0, m.regions[0] }, r1 = { 0, m.regions[1] };
	assert_int_equal(fe_ack(&e->fe, VHOST_USER_ADD_MEM_REG, &r0, sizeof(r0), &e->fe.memfd, 1), 0);
	assert_int_equal(fe_ack(&e->fe, VHOST_USER_ADD_MEM_REG, &r1, sizeof(r1), &e->fe.memfd, 1), 0);
	/* Overlapping, fd-less, and unknown removals are refused. */
	expect_refused(e, VHOST_USER_ADD_MEM_REG, &r1, sizeof(r1), &e->fe.memfd, 1);
	expect_refused(e, VHOST_USER_ADD_MEM_REG, &r1, sizeof(r1), NULL, 0);
	struct vhost_user_mem_reg odd = { 0, { 0x200000000ull, 4096, 0x7f1000000000ull, 0 } };
	expect_refused(e, VHOST_USER_REM_MEM_REG, &odd, sizeof(odd), NULL, 0);
	for (unsigned i = 0; i < 2; i++) {
		assert_true(fe_start_ring(&e->fe, i, 0));
	}
	create_resource(e, 1);
	attach_backing(e, 1);
	assert_int_equal(transfer(e, 1), VIRTIO_GPU_RESP_OK_NODATA);
	/* Region 1 goes away (with a stray fd, closed unused): the backing
	 * half in it no longer translates. */
	assert_int_equal(fe_ack(&e->fe, VHOST_USER_REM_MEM_REG, &r1, sizeof(r1), &e->fe.memfd, 1), 0);
	assert_int_equal(transfer(e, 1), VIRTIO_GPU_RESP_ERR_UNSPEC);
	/* And comes back. */
	assert_int_equal(fe_ack(&e->fe, VHOST_USER_ADD_MEM_REG, &r1, sizeof(r1), &e->fe.memfd, 1), 0);
	assert_int_equal(transfer(e, 1), VIRTIO_GPU_RESP_OK_NODATA);
	/* A full table replaces everything. */
	assert_true(fe_set_mem_table(&e->fe));
	assert_int_equal(transfer(e, 1), VIRTIO_GPU_RESP_OK_NODATA);
}

static void test_display_socket_lifecycle(void **state)
{
	struct env *e = *state;
	full_start(e);
	assert_true(stats(e).display_ready);
	/* QEMU closes it when the guest stops the device. */
	close(e->fe.disp);
	e->fe.disp = -1;
	fe_spin(&e->fe, 20);
	assert_false(stats(e).display_ready);
	get_display_info(e);

	/* A new one; QEMU sends junk, then something huge: closed again. */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fe_ack(&e->fe, VHOST_USER_GPU_SET_SOCKET, NULL, 0, &sv[1], 1), 0);
	close(sv[1]);
	e->fe.disp = sv[0];
	assert_int_equal(fe_display_handshake(&e->fe, 1), 0);
	assert_true(stats(e).display_ready);
	struct vhost_user_gpu_header junk[2] = {
		{ 42, 0, 0 },
		{ VHOST_USER_GPU_GET_PROTOCOL_FEATURES, VHOST_USER_GPU_MSG_FLAG_REPLY, 1u << 20 },
	};
	assert_int_equal(send(e->fe.disp, junk, sizeof(junk), MSG_NOSIGNAL), sizeof(junk));
	assert_true(fe_closed(&(struct fe){ .loop = e->loop, .sock = e->fe.disp }, 2000));
	assert_false(stats(e).display_ready);
	assert_true(stats(e).connected);
	get_display_info(e);
}

static void test_adopt_fd(void **state)
{
	struct env *e = *state;
	/* Busy while a frontend is connected. */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vgpu_vhost_user_adopt_fd(e->vu, sv[1]), -EBUSY);
	close(sv[0]);
	/* After a disconnect, an adopted socketpair works like an accepted one. */
	vgpu_vhost_user_disconnect(e->vu);
	assert_int_equal(e->disconnects, 1);
	fe_finish(&e->fe);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vgpu_vhost_user_adopt_fd(e->vu, sv[1]), 0);
	assert_true(fe_init(&e->fe, e->loop, sv[0]));
	full_start(e);
	get_display_info(e);
}

static void test_seam_without_connection(void **state)
{
	struct env *e = *state;
	/* The fuzzing seam works with no frontend: replies are dropped. */
	vgpu_vhost_user_disconnect(e->vu);
	struct vhost_user_header h = { VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0 };
	assert_int_equal(vgpu_vhost_user_handle_message(e->vu, &h, sizeof(h), NULL, 0), 0);
	int fd = eventfd(0, EFD_CLOEXEC);
	struct __attribute__((packed)) { struct vhost_user_header h; uint64_t v; } k = {
		{ VHOST_USER_SET_VRING_KICK, VHOST_USER_VERSION, 8 }, 0 };
	assert_int_equal(vgpu_vhost_user_handle_message(e->vu, &k, sizeof(k), &fd, 1), 0);
	/* Length mismatch: refused, fd closed. */
	fd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(vgpu_vhost_user_handle_message(e->vu, &k, sizeof(k) - 1, &fd, 1), -EINVAL);
	assert_int_equal(fd, -1);
	/* A fatal one tears the session down. */
	h.flags = 0;
	assert_int_equal(vgpu_vhost_user_handle_message(e->vu, &h, sizeof(h), NULL, 0), -EPROTO);
}

int main(void)
{
	zl_log_init(getenv("VU_TEST_VERBOSE") ? ZL_DEBUG : ZL_SILENT);
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_handshake),
		T(test_gpu_commands),
		T(test_cursor_queue),
		T(test_indirect_and_event_idx),
		T(test_batch_in_one_write),
		T(test_bad_messages),
		T(test_unoffered_features),
		T(test_fatal_messages),
		T(test_disconnect_mid_message),
		T(test_disconnect_mid_request),
		T(test_second_frontend_refused),
		T(test_socket_in_use),
		T(test_bad_chain_via_ring),
		T(test_broken_ring_and_guest_reset),
		T(test_pause_resume),
		T(test_reset_device),
		T(test_polling_mode),
		T(test_hostile_kick_fd),
		T(test_mem_slots),
		T(test_display_socket_lifecycle),
		T(test_adopt_fd),
		T(test_seam_without_connection),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
