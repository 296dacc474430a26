/* SPDX-License-Identifier: MIT */
#include "vhost-user.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"
#include "virtio-gpu/gpu.h"
#include "virtio-gpu/guest-mem.h"
#include "virtio-gpu/vhost-user-proto.h"
#include "virtio-gpu/virtqueue.h"

#define VU_NUM_QUEUES 2u
#define VU_CTRL_QUEUE 0u
#define VU_CURSOR_QUEUE 1u
/* Chains served per ring per wake-up before yielding to the loop. */
#define VU_RING_BUDGET 256u
/* Messages handled per wake-up of the frontend socket. */
#define VU_MSG_BUDGET 64u
/* Bytes of replies we queue for a frontend that does not read them. */
#define VU_OUT_MAX (64u * 1024u)
/* A frontend that asks for polling mode (kick fd "invalid") gets its ring
 * looked at this often: it asked for polling, there is no event to wait on. */
#define VU_POLL_INTERVAL_NS 1000000ull

/* Transport features a guest may ack that we cannot serve. */
#define VU_VIRTIO_F_ACCESS_PLATFORM 33
#define VU_VIRTIO_F_RING_PACKED 34

static const uint64_t vu_protocol_features =
	(1ull << VHOST_USER_PROTOCOL_F_MQ) |
	(1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
	(1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
	(1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
	(1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);

static const uint64_t vu_transport_features =
	(1ull << VGPU_VIRTIO_F_VERSION_1) |
	(1ull << VHOST_USER_F_PROTOCOL_FEATURES) |
	(1ull << VGPU_VIRTIO_F_INDIRECT_DESC) |
	(1ull << VGPU_VIRTIO_F_EVENT_IDX);

/* Transport bits QEMU offers the guest on its own and passes on when acked,
 * which need nothing from us: NOTIFY_ON_EMPTY (24), ANY_LAYOUT (27),
 * IN_ORDER (35: we complete in order anyway), ORDER_PLATFORM (36: we use
 * real fences), NOTIFICATION_DATA (38: eventfd kicks carry no data),
 * RING_RESET (40: no vhost-user message comes of it). */
static const uint64_t vu_harmless_features =
	(1ull << 24) | (1ull << 27) | (1ull << 35) | (1ull << 36) | (1ull << 38) | (1ull << 40);

/* Display socket protocol features we use: none yet (we never ask QEMU for
 * EDIDs nor send dmabufs), but the handshake is done as the spec says. */
static const uint64_t vu_display_features = 0;

/* Bytes queued for a non-blocking socket. */
struct vu_out {
	uint8_t *buf;
	size_t len, cap;
};

struct vu_ring {
	struct vgpu_vhost_user *vu;
	struct vgpu_vq vq;
	int kick_fd, call_fd, err_fd;   /* -1: none */
	struct zl_source *kick_src;
	bool started;   /* SET_VRING_KICK seen since the last stop */
	bool polling;   /* started without a kick fd */
	bool enabled;   /* SET_VRING_ENABLE */
	bool resched;   /* budget ran out: serve again from the loop */
};

struct vu_display {
	int fd;
	struct zl_source *src;
	struct vu_out out;
	bool want_out;
	bool ready;             /* protocol features exchanged */
	uint64_t features;      /* offered by QEMU */
	size_t got;
	union {
		struct vhost_user_gpu_header hdr;
		uint8_t bytes[sizeof(struct vhost_user_gpu_header) + VHOST_USER_GPU_MAX_PAYLOAD];
	} rx;
};

/* The message being received: header, then payload, with its fds. */
struct vu_rx {
	size_t got;
	int fds[VHOST_USER_MAX_FDS];
	unsigned n_fds;
	bool fd_overflow;
	union {
		struct vhost_user_header hdr;
		uint8_t bytes[sizeof(struct vhost_user_header) + VHOST_USER_MAX_PAYLOAD];
		uint64_t align_;
	} msg;
};

struct vgpu_vhost_user {
	struct zl_loop *loop;
	struct vgpu_device *dev;  /* the GPU, or NULL: ops serve another device */
	const struct vgpu_vhost_user_device *ops;
	void *ops_dev;
	const struct vgpu_vhost_user_listener *listener;
	void *data;

	char *path;
	int listen_fd;
	struct zl_source *listen_src;

	/* Frontend connection. */
	int conn_fd;
	struct zl_source *conn_src;
	struct vu_out out;
	bool want_out;
	struct vu_rx rx;

	/* Session state (one frontend). */
	bool owner;
	bool replied;           /* the current message got its reply */
	uint64_t acked_features;
	uint64_t acked_protocol;
	struct vgpu_mem mem;
	struct vu_ring rings[VU_NUM_QUEUES];
	struct vu_display display;
	bool broken;
	uint64_t ctrl_since_reset;
	/* Bumped whenever the rings are forgotten: completions of requests
	 * deferred before (their cookie carries it) are dropped. */
	uint16_t ring_gen;
	/* Response length of each deferred controlq chain, by head. */
	uint32_t deferred_len[VGPU_VQ_MAX_SIZE];

	int resched_fd;
	struct zl_source *resched_src;
	struct zl_source *poll_timer;
	bool poll_armed;

	struct vgpu_vq_chain *chain;
	struct vgpu_vhost_user_stats stats;
};

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static const char *request_name(uint32_t req)
{
	static const char *const names[VHOST_USER_REQUEST_MAX] = {
		[VHOST_USER_GET_FEATURES] = "GET_FEATURES",
		[VHOST_USER_SET_FEATURES] = "SET_FEATURES",
		[VHOST_USER_SET_OWNER] = "SET_OWNER",
		[VHOST_USER_RESET_OWNER] = "RESET_OWNER",
		[VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
		[VHOST_USER_SET_LOG_BASE] = "SET_LOG_BASE",
		[VHOST_USER_SET_LOG_FD] = "SET_LOG_FD",
		[VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
		[VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
		[VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
		[VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
		[VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
		[VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
		[VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
		[VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
		[VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
		[VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
		[VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
		[VHOST_USER_SEND_RARP] = "SEND_RARP",
		[VHOST_USER_NET_SET_MTU] = "NET_SET_MTU",
		[VHOST_USER_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
		[VHOST_USER_IOTLB_MSG] = "IOTLB_MSG",
		[VHOST_USER_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
		[VHOST_USER_GET_CONFIG] = "GET_CONFIG",
		[VHOST_USER_SET_CONFIG] = "SET_CONFIG",
		[VHOST_USER_CREATE_CRYPTO_SESSION] = "CREATE_CRYPTO_SESSION",
		[VHOST_USER_CLOSE_CRYPTO_SESSION] = "CLOSE_CRYPTO_SESSION",
		[VHOST_USER_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
		[VHOST_USER_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
		[VHOST_USER_POSTCOPY_END] = "POSTCOPY_END",
		[VHOST_USER_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
		[VHOST_USER_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
		[VHOST_USER_GPU_SET_SOCKET] = "GPU_SET_SOCKET",
		[VHOST_USER_RESET_DEVICE] = "RESET_DEVICE",
		[VHOST_USER_VRING_KICK] = "VRING_KICK",
		[VHOST_USER_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
		[VHOST_USER_ADD_MEM_REG] = "ADD_MEM_REG",
		[VHOST_USER_REM_MEM_REG] = "REM_MEM_REG",
		[VHOST_USER_SET_STATUS] = "SET_STATUS",
		[VHOST_USER_GET_STATUS] = "GET_STATUS",
	};
	if (req < VHOST_USER_REQUEST_MAX && names[req]) {
		return names[req];
	}
	return "unknown";
}

/* ---- output queues ---- */

static int out_append(struct vu_out *out, const void *a, size_t alen, const void *b, size_t blen)
{
	size_t need = alen + blen;
	if (out->len > VU_OUT_MAX || need > VU_OUT_MAX - out->len) {
		return -ENOBUFS;
	}
	if (out->len + need > out->cap) {
		size_t cap = out->cap ? out->cap : 512;
		while (cap < out->len + need) {
			cap *= 2;
		}
		uint8_t *nb = realloc(out->buf, cap);
		if (!nb) {
			return -ENOMEM;
		}
		out->buf = nb;
		out->cap = cap;
	}
	memcpy(out->buf + out->len, a, alen);
	if (blen) {
		memcpy(out->buf + out->len + alen, b, blen);
	}
	out->len += need;
	return 0;
}

/* Writes what it can without blocking. Returns 0 (maybe with bytes left),
 * or a negative errno if the peer is gone. */
static int out_flush(struct vu_out *out, int fd)
{
	size_t off = 0;
	while (off < out->len) {
		ssize_t n = send(fd, out->buf + off, out->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				break;
			}
			return -errno;
		}
		off += (size_t)n;
	}
	memmove(out->buf, out->buf + off, out->len - off);
	out->len -= off;
	return 0;
}

static void out_finish(struct vu_out *out)
{
	free(out->buf);
	memset(out, 0, sizeof(*out));
}

/* ---- fd helpers ---- */

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0) {
		return -errno;
	}
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		return -errno;
	}
	return 0;
}

static void signal_eventfd(int fd)
{
	if (fd < 0) {
		return;
	}
	uint64_t one = 1;
	/* EAGAIN means the counter is saturated: the peer is signalled anyway. */
	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR) {
	}
}

/* ---- guest memory ---- */

/* Maps one region of the frontend's memory. The fd must really hold
 * [mmap_offset, mmap_offset + size): touching a mapping past the end of a
 * file raises SIGBUS, so that is checked before mapping. */
static int map_region(int fd, const struct vhost_user_mem_region *r, struct vgpu_mem_region *out)
{
	uint64_t size = r->memory_size, off = r->mmap_offset;
	if (size == 0 || r->guest_phys_addr > UINT64_MAX - size ||
		r->userspace_addr > UINT64_MAX - size || off > UINT64_MAX - size) {
		return -EINVAL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		return -errno;
	}
	uint64_t align = (uint64_t)sysconf(_SC_PAGESIZE);
	if (S_ISREG(st.st_mode)) {
		if (st.st_size < 0 || off + size > (uint64_t)st.st_size) {
			zl_err("vhost-user: memory region [%#llx+%#llx) is beyond its fd's %lld bytes",
				(unsigned long long)off, (unsigned long long)size, (long long)st.st_size);
			return -EINVAL;
		}
		/* hugetlbfs wants offsets and lengths in huge pages. */
		uint64_t blk = (uint64_t)st.st_blksize;
		if (blk > align && blk <= (1ull << 30) && (blk & (blk - 1)) == 0) {
			align = blk;
		}
	} else {
		zl_warn("vhost-user: memory region fd is not a regular file (mode %#o)",
			(unsigned)st.st_mode);
	}
	uint64_t map_off = off & ~(align - 1);
	uint64_t delta = off - map_off;
	uint64_t len = size + delta;   /* no overflow: off + size fits */
	if (len > UINT64_MAX - (align - 1)) {
		return -EINVAL;
	}
	len = (len + align - 1) & ~(align - 1);
	if (len > SIZE_MAX || map_off > (uint64_t)INT64_MAX) {
		return -EINVAL;
	}
	void *base = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		fd, (off_t)map_off);
	if (base == MAP_FAILED) {
		int err = -errno;
		zl_log_errno(ZL_ERROR, "vhost-user: mmap of %#llx bytes", (unsigned long long)len);
		return err;
	}
	out->gpa = r->guest_phys_addr;
	out->size = size;
	out->uva = r->userspace_addr;
	out->host = (uint8_t *)base + delta;
	out->map_base = base;
	out->map_len = (size_t)len;
	return 0;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Regions must not overlap in guest-physical nor in frontend-virtual space,
 * or a translation would be ambiguous. */
static bool region_conflicts(const struct vgpu_mem *mem, const struct vgpu_mem_region *r, unsigned skip)
{
	for (unsigned i = 0; i < mem->n_regions; i++) {
		if (i == skip) {
			continue;
		}
		const struct vgpu_mem_region *o = &mem->regions[i];
		if (ranges_overlap(o->gpa, o->size, r->gpa, r->size) ||
			ranges_overlap(o->uva, o->size, r->uva, r->size)) {
			return true;
		}
	}
	return false;
}

/* Installs new as the guest memory table; the old one is unmapped after the
 * device stops looking at it. */
static void install_mem(struct vgpu_vhost_user *vu, struct vgpu_mem *new)
{
	struct vgpu_mem old = vu->mem;
	vu->mem = *new;
	vu->mem.generation = old.generation + 1;
	if (vu->dev) {
		vgpu_device_set_mem(vu->dev, vu->mem.n_regions ? &vu->mem : NULL);
	}
	vgpu_mem_finish(&old);
}

static void drop_mem(struct vgpu_vhost_user *vu)
{
	struct vgpu_mem empty = { 0 };
	if (vu->dev) {
		vgpu_device_set_mem(vu->dev, NULL);
	}
	struct vgpu_mem old = vu->mem;
	vu->mem = empty;
	vu->mem.generation = old.generation + 1;
	vgpu_mem_finish(&old);
}

/* ---- rings ---- */

/* Stops serving the ring. The call and err fds stay: QEMU sets the err fd
 * only once, at vhost_dev_init, and replaces the call fd whenever it wants. */
static void ring_stop(struct vu_ring *ring)
{
	zl_source_remove(ring->kick_src);
	ring->kick_src = NULL;
	close_fd(&ring->kick_fd);
	ring->started = false;
	ring->polling = false;
	ring->resched = false;
}

static void ring_reset(struct vu_ring *ring)
{
	ring_stop(ring);
	vgpu_vq_reset(&ring->vq);
	ring->enabled = false;
}

/* The frontend is gone: nothing of the ring survives. */
static void ring_finish(struct vu_ring *ring)
{
	ring_reset(ring);
	close_fd(&ring->call_fd);
	close_fd(&ring->err_fd);
}

static void update_poll_timer(struct vgpu_vhost_user *vu)
{
	bool want = false;
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
		want |= vu->rings[i].polling;
	}
	if (want == vu->poll_armed || !vu->poll_timer) {
		return;
	}
	zl_source_timer_arm(vu->poll_timer, want ? VU_POLL_INTERVAL_NS : 0,
		want ? VU_POLL_INTERVAL_NS : 0);
	vu->poll_armed = want;
}

static bool ring_ready(struct vgpu_vhost_user *vu, struct vu_ring *ring)
{
	return !vu->broken && !ring->vq.broken && ring->started && ring->enabled &&
		ring->vq.num != 0 && ring->vq.addr_set && vu->mem.n_regions > 0;
}

static void device_broken(struct vgpu_vhost_user *vu, struct vu_ring *ring, const char *why)
{
	if (!vu->broken) {
		zl_err("vhost-user: queue %u %s: device marked broken until reset or reconnect",
			ring->vq.index, why);
	}
	vu->broken = true;
	vu->stats.broken = true;
	/* Tell the frontend, which logs "vhost vring error". */
	signal_eventfd(ring->err_fd);
}

static size_t ctrl_handler(void *data, const struct vgpu_vq_chain *c)
{
	struct vu_ring *ring = data;
	struct vgpu_vhost_user *vu = ring->vu;
	uint64_t t_read = zl_now_ns();
	vu->stats.ctrl_requests++;
	vu->ctrl_since_reset++;
	/* The response is written now; only returning the chain waits for
	 * the fence. The cookie: head, ring generation; the length follows. */
	bool deferred = false;
	uint64_t cookie = (uint64_t)c->head | (uint64_t)vu->ring_gen << 48;
	size_t n = vgpu_device_process_ctrl_async(vu->dev, c->iov, c->n_read,
		c->iov + c->n_read, c->n_write, t_read, cookie, &deferred);
	if (!deferred) {
		return n;
	}
	/* Responses are a few hundred bytes at most (capsets: a few KiB). */
	if (n > c->write_len) {
		n = c->write_len;
	}
	if (n > UINT32_MAX >> 1) {
		n = 0;
	}
	vu->deferred_len[c->head] = (uint32_t)n;
	vu->stats.deferred++;
	return VGPU_VQ_DEFERRED;
}

static size_t cursor_handler(void *data, const struct vgpu_vq_chain *c)
{
	struct vu_ring *ring = data;
	struct vgpu_vhost_user *vu = ring->vu;
	vu->stats.cursor_requests++;
	return vgpu_device_process_cursor(vu->dev, c->iov, c->n_read,
		c->iov + c->n_read, c->n_write);
}

/* Another device's chain (ops): written and returned at once. */
static size_t ops_handler(void *data, const struct vgpu_vq_chain *c)
{
	struct vu_ring *ring = data;
	struct vgpu_vhost_user *vu = ring->vu;
	return vu->ops->process(vu->ops_dev, ring->vq.index, c->iov, c->n_read,
		c->iov + c->n_read, c->n_write);
}

static void ring_notify(void *data)
{
	struct vu_ring *ring = data;
	if (ring->call_fd >= 0) {
		signal_eventfd(ring->call_fd);
		ring->vu->stats.calls++;
	}
}

static void ring_process_budget(struct vgpu_vhost_user *vu, struct vu_ring *ring,
	unsigned budget)
{
	ring->resched = false;
	if (!ring_ready(vu, ring)) {
		return;
	}
	bool more = false;
	uint64_t bad_before = ring->vq.n_bad_chains;
	vgpu_vq_handler handler = vu->ops ? ops_handler :
		ring->vq.index == VU_CTRL_QUEUE ? ctrl_handler : cursor_handler;
	if (vu->ops && vu->ops->budget) {
		/* A device that fills buffers as it has data takes only as many
		 * as it can fill. */
		unsigned b = vu->ops->budget(vu->ops_dev, ring->vq.index);
		budget = b < budget ? b : budget;
		if (budget == 0) {
			return;
		}
	}
	int r = vgpu_vq_process(&ring->vq, &vu->mem, vu->chain, budget, handler,
		ring_notify, ring, &more);
	vu->stats.bad_chains += ring->vq.n_bad_chains - bad_before;
	if (r < 0) {
		device_broken(vu, ring, r == -EIO ? "ring corrupt" : "ring not in guest memory");
		return;
	}
	if (more) {
		ring->resched = true;
		signal_eventfd(vu->resched_fd);
	}
}

static void ring_process(struct vgpu_vhost_user *vu, struct vu_ring *ring)
{
	ring_process_budget(vu, ring, VU_RING_BUDGET);
}

void vgpu_vhost_user_process_queue(struct vgpu_vhost_user *vu, unsigned queue)
{
	if (queue < VU_NUM_QUEUES) {
		ring_process(vu, &vu->rings[queue]);
	}
}

static void on_kick(void *data, int fd, uint32_t events)
{
	struct vu_ring *ring = data;
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));
	/* An eventfd never ends; anything else the frontend passed that hangs
	 * up or fails would wake us forever: stop watching it. */
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		zl_warn("vhost-user: kick fd of queue %u %s; not watched any more",
			ring->vq.index, n == 0 ? "hung up" : strerror(errno));
		zl_source_remove(ring->kick_src);
		ring->kick_src = NULL;
		return;
	}
	ring->vu->stats.kicks++;
	ring_process(ring->vu, ring);
}

static void on_resched(void *data, int fd, uint32_t events)
{
	struct vgpu_vhost_user *vu = data;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* Nothing pending (EAGAIN): fine. */
	}
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
		if (vu->rings[i].resched) {
			ring_process(vu, &vu->rings[i]);
		}
	}
}

static void on_poll_timer(void *data)
{
	struct vgpu_vhost_user *vu = data;
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
		if (vu->rings[i].polling) {
			ring_process(vu, &vu->rings[i]);
		}
	}
}

/* ---- display socket ---- */

static void display_close(struct vgpu_vhost_user *vu)
{
	struct vu_display *d = &vu->display;
	zl_source_remove(d->src);
	d->src = NULL;
	close_fd(&d->fd);
	out_finish(&d->out);
	d->want_out = false;
	d->ready = false;
	d->got = 0;
	vu->stats.display_ready = false;
}

static void display_update_events(struct vgpu_vhost_user *vu)
{
	struct vu_display *d = &vu->display;
	bool want = d->out.len > 0;
	if (d->src && want != d->want_out) {
		zl_source_fd_update(d->src, EPOLLIN | (want ? EPOLLOUT : 0));
		d->want_out = want;
	}
}

static int display_send(struct vgpu_vhost_user *vu, uint32_t request, const void *payload, uint32_t size)
{
	struct vu_display *d = &vu->display;
	struct vhost_user_gpu_header h = { .request = request, .flags = 0, .size = size };
	int r = out_append(&d->out, &h, sizeof(h), payload, size);
	if (r == 0) {
		r = out_flush(&d->out, d->fd);
	}
	if (r < 0) {
		zl_warn("vhost-user: display socket: %s; closing it", strerror(-r));
		display_close(vu);
		return r;
	}
	display_update_events(vu);
	return 0;
}

static void display_handle(struct vgpu_vhost_user *vu, const struct vhost_user_gpu_header *h,
	const uint8_t *payload)
{
	struct vu_display *d = &vu->display;
	if (h->request == VHOST_USER_GPU_GET_PROTOCOL_FEATURES && (h->flags & VHOST_USER_GPU_MSG_FLAG_REPLY)) {
		if (h->size != sizeof(uint64_t) || d->ready) {
			zl_warn("vhost-user: display socket: unexpected protocol features reply (size %u)",
				h->size);
			return;
		}
		memcpy(&d->features, payload, sizeof(d->features));
		vu->stats.display_features = d->features;
		uint64_t use = d->features & vu_display_features;
		if (display_send(vu, VHOST_USER_GPU_SET_PROTOCOL_FEATURES, &use, sizeof(use)) == 0) {
			d->ready = true;
			vu->stats.display_ready = true;
			zl_info("vhost-user: display socket ready (frontend offers %#llx)",
				(unsigned long long)d->features);
		}
		return;
	}
	/* QEMU only ever replies to what we ask, and we ask nothing else. */
	zl_dbg("vhost", "display socket: ignoring message %u (flags %#x, %u bytes)",
		h->request, h->flags, h->size);
}

static void on_display(void *data, int fd, uint32_t events)
{
	struct vgpu_vhost_user *vu = data;
	struct vu_display *d = &vu->display;

	if (events & EPOLLOUT) {
		int r = out_flush(&d->out, d->fd);
		if (r < 0) {
			zl_info("vhost-user: display socket closed by the frontend");
			display_close(vu);
			return;
		}
		display_update_events(vu);
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		return;
	}
	for (unsigned budget = 0; budget < VU_MSG_BUDGET; budget++) {
		const size_t hsize = sizeof(struct vhost_user_gpu_header);
		size_t want = d->got < hsize ? hsize - d->got : hsize + d->rx.hdr.size - d->got;
		struct iovec iov = { .iov_base = d->rx.bytes + d->got, .iov_len = want };
		union {
			char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = recvmsg(d->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EINTR)) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		}
		/* QEMU sends us no fds here; never keep any. */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t i = 0; i < nfd; i++) {
					int f;
					memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
					close(f);
				}
			}
		}
		if (n <= 0) {
			zl_info("vhost-user: display socket closed by the frontend");
			display_close(vu);
			return;
		}
		d->got += (size_t)n;
		if (d->got == hsize && d->rx.hdr.size > VHOST_USER_GPU_MAX_PAYLOAD) {
			zl_warn("vhost-user: display socket: message of %u bytes; closing it",
				d->rx.hdr.size);
			display_close(vu);
			return;
		}
		if (d->got >= hsize && d->got == hsize + d->rx.hdr.size) {
			struct vhost_user_gpu_header h = d->rx.hdr;
			d->got = 0;
			display_handle(vu, &h, d->rx.bytes + hsize);
			if (d->fd < 0) {
				return;
			}
		}
	}
}

static int display_open(struct vgpu_vhost_user *vu, int fd)
{
	struct vu_display *d = &vu->display;
	display_close(vu);
	int r = set_nonblock(fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	d->fd = fd;
	d->src = zl_loop_add_fd(vu->loop, fd, EPOLLIN, on_display, vu);
	if (!d->src) {
		close_fd(&d->fd);
		return -ENOMEM;
	}
	/* vhost-user-gpu.rst: the backend asks for the protocol features,
	 * then sets the ones both sides know. QEMU answers from its loop. */
	return display_send(vu, VHOST_USER_GPU_GET_PROTOCOL_FEATURES, NULL, 0);
}

/* ---- session ---- */

static void device_reset(struct vgpu_vhost_user *vu)
{
	vu->ring_gen++;
	if (vu->dev) {
		vgpu_device_reset(vu->dev);
	} else {
		vu->ops->reset(vu->ops_dev);
	}
	vu->ctrl_since_reset = 0;
	vu->broken = false;
	vu->stats.broken = false;
	vu->stats.device_resets++;
}

/* Forgets everything the frontend set up. */
static void session_teardown(struct vgpu_vhost_user *vu, bool reset_dev)
{
	vu->ring_gen++;
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
		ring_finish(&vu->rings[i]);
	}
	update_poll_timer(vu);
	display_close(vu);
	if (reset_dev) {
		device_reset(vu);
	}
	drop_mem(vu);
	vu->owner = false;
	vu->acked_features = 0;
	vu->acked_protocol = 0;
	vu->broken = false;
	vu->stats.broken = false;
}

static void conn_close(struct vgpu_vhost_user *vu)
{
	bool was_connected = vu->conn_fd >= 0;
	zl_source_remove(vu->conn_src);
	vu->conn_src = NULL;
	close_fd(&vu->conn_fd);
	out_finish(&vu->out);
	vu->want_out = false;
	for (unsigned i = 0; i < vu->rx.n_fds; i++) {
		close_fd(&vu->rx.fds[i]);
	}
	vu->rx.n_fds = 0;
	vu->rx.got = 0;
	vu->rx.fd_overflow = false;
	session_teardown(vu, true);
	vu->stats.connected = false;
	if (was_connected) {
		zl_info("vhost-user: frontend disconnected");
		if (vu->listener && vu->listener->disconnected) {
			vu->listener->disconnected(vu->data);
		}
	}
}

/* ---- replies ---- */

static void conn_update_events(struct vgpu_vhost_user *vu)
{
	bool want = vu->out.len > 0;
	if (vu->conn_src && want != vu->want_out) {
		zl_source_fd_update(vu->conn_src, EPOLLIN | (want ? EPOLLOUT : 0));
		vu->want_out = want;
	}
}

static int send_reply(struct vgpu_vhost_user *vu, uint32_t request, const void *payload, uint32_t size)
{
	vu->replied = true;
	if (vu->conn_fd < 0) {
		return 0;   /* the seam without a connection */
	}
	struct vhost_user_header h = {
		.request = request,
		.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
		.size = size,
	};
	int r = out_append(&vu->out, &h, sizeof(h), payload, size);
	if (r == 0) {
		r = out_flush(&vu->out, vu->conn_fd);
	}
	if (r < 0) {
		/* A frontend we cannot answer cannot go on. */
		zl_warn("vhost-user: reply to the frontend: %s", strerror(-r));
		return -EPROTO;
	}
	conn_update_events(vu);
	return 0;
}

static int reply_u64(struct vgpu_vhost_user *vu, uint32_t request, uint64_t v)
{
	return send_reply(vu, request, &v, sizeof(v));
}

/* ---- message handlers ---- */

struct vu_msg {
	struct vhost_user_header hdr;
	const uint8_t *payload;
	int *fds;
	unsigned n_fds;
};

static uint64_t msg_u64(const struct vu_msg *m)
{
	uint64_t v;
	memcpy(&v, m->payload, sizeof(v));
	return v;
}

static int msg_state(const struct vu_msg *m, struct vhost_user_vring_state *s)
{
	memcpy(s, m->payload, sizeof(*s));
	return s->index < VU_NUM_QUEUES ? 0 : -EINVAL;
}

static uint64_t device_features(struct vgpu_vhost_user *vu)
{
	return vu->dev ? vgpu_device_features(vu->dev) : vu->ops->features;
}

static int h_get_features(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	uint64_t f = vu_transport_features | device_features(vu);
	return reply_u64(vu, m->hdr.request, f);
}

static int h_set_features(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	uint64_t offered = vu_transport_features | device_features(vu);
	uint64_t f = msg_u64(m);
	/* QEMU's vhost-user-gpu offers the guest its own transport bits
	 * (e.g. RING_RESET) whatever we offered and passes on what the guest
	 * acked; those do not change how we serve the rings and are accepted.
	 * A packed ring or an IOMMU would: then we refuse to serve at all
	 * rather than misread guest memory. */
	if (f & ~offered & ~vu_harmless_features) {
		zl_warn("vhost-user: frontend acked features %#llx we did not offer",
			(unsigned long long)(f & ~offered & ~vu_harmless_features));
	} else if (f & ~offered) {
		zl_dbg("vhost", "frontend acked transport features %#llx it offered itself",
			(unsigned long long)(f & ~offered));
	}
	vu->acked_features = f;
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
		vgpu_vq_set_features(&vu->rings[i].vq, f);
		/* vhost-user.rst: without protocol features rings start enabled. */
		if (!(f & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))) {
			vu->rings[i].enabled = true;
		}
	}
	if (vu->dev) {
		vgpu_device_set_features(vu->dev, f & vgpu_device_features(vu->dev));
	}
	if (f & ((1ull << VU_VIRTIO_F_ACCESS_PLATFORM) | (1ull << VU_VIRTIO_F_RING_PACKED))) {
		zl_err("vhost-user: packed rings and IOMMU translation are not supported");
		vu->broken = true;
		vu->stats.broken = true;
		return -EOPNOTSUPP;
	}
	return 0;
}

static int h_get_protocol_features(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	return reply_u64(vu, m->hdr.request, vu_protocol_features);
}

static int h_set_protocol_features(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	uint64_t f = msg_u64(m);
	vu->acked_protocol = f & vu_protocol_features;
	if (f & ~vu_protocol_features) {
		zl_err("vhost-user: frontend set protocol features %#llx we did not offer",
			(unsigned long long)(f & ~vu_protocol_features));
		return -EINVAL;
	}
	return 0;
}

static int h_set_owner(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	vu->owner = true;
	return 0;
}

static int h_reset_owner(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	/* Deprecated; vhost-user.rst recommends only disabling the rings. */
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
		ring_stop(&vu->rings[i]);
		vu->rings[i].enabled = false;
	}
	update_poll_timer(vu);
	return 0;
}

static int h_reset_device(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
		ring_reset(&vu->rings[i]);
	}
	update_poll_timer(vu);
	vu->acked_features = 0;
	device_reset(vu);
	return 0;
}

static int h_get_queue_num(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	return reply_u64(vu, m->hdr.request, VU_NUM_QUEUES);
}

static int h_get_max_mem_slots(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	return reply_u64(vu, m->hdr.request, VGPU_MEM_MAX_REGIONS);
}

static int h_set_mem_table(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	struct vhost_user_memory table;
	memset(&table, 0, sizeof(table));
	memcpy(&table, m->payload, m->hdr.size);
	uint32_t n = table.nregions;
	if (n == 0 || n > VHOST_USER_MEM_REGIONS_MAX || n > VGPU_MEM_MAX_REGIONS ||
		m->hdr.size < 8 + n * sizeof(struct vhost_user_mem_region)) {
		zl_err("vhost-user: SET_MEM_TABLE with %u regions in %u bytes", n, m->hdr.size);
		return -EINVAL;
	}
	if (m->n_fds != n) {
		zl_err("vhost-user: SET_MEM_TABLE with %u regions but %u fds", n, m->n_fds);
		return -EINVAL;
	}
	struct vgpu_mem new = { 0 };
	int r = 0;
	for (uint32_t i = 0; i < n; i++) {
		r = map_region(m->fds[i], &table.regions[i], &new.regions[i]);
		if (r < 0) {
			goto err;
		}
		new.n_regions++;
		if (region_conflicts(&new, &new.regions[i], i)) {
			zl_err("vhost-user: SET_MEM_TABLE region %u overlaps another", i);
			r = -EINVAL;
			goto err;
		}
	}
	install_mem(vu, &new);
	zl_dbg("vhost", "memory table: %u regions", n);
	for (uint32_t i = 0; i < n; i++) {
		zl_dbg("vhost", "  gpa %#llx size %#llx uva %#llx",
			(unsigned long long)vu->mem.regions[i].gpa,
			(unsigned long long)vu->mem.regions[i].size,
			(unsigned long long)vu->mem.regions[i].uva);
	}
	return 0;
err:
	vgpu_mem_finish(&new);
	return r;
}

static int h_add_mem_reg(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	struct vhost_user_mem_reg reg;
	memcpy(&reg, m->payload, sizeof(reg));
	if (m->n_fds != 1) {
		return -EINVAL;
	}
	if (vu->mem.n_regions >= VGPU_MEM_MAX_REGIONS) {
		zl_err("vhost-user: ADD_MEM_REG beyond %u regions", VGPU_MEM_MAX_REGIONS);
		return -ENOSPC;
	}
	struct vgpu_mem_region region;
	int r = map_region(m->fds[0], &reg.region, &region);
	if (r < 0) {
		return r;
	}
	if (region_conflicts(&vu->mem, &region, UINT32_MAX)) {
		zl_err("vhost-user: ADD_MEM_REG region overlaps another");
		munmap(region.map_base, region.map_len);
		return -EINVAL;
	}
	struct vgpu_mem new = vu->mem;
	new.regions[new.n_regions++] = region;
	/* The old table's mappings live on in new: nothing to unmap. */
	vu->mem.n_regions = 0;
	install_mem(vu, &new);
	return 0;
}

static int h_rem_mem_reg(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	struct vhost_user_mem_reg reg;
	memcpy(&reg, m->payload, sizeof(reg));
	/* vhost-user.rst: an fd may come along; it is closed unused. */
	if (m->n_fds > 1) {
		return -EINVAL;
	}
	for (unsigned i = 0; i < vu->mem.n_regions; i++) {
		const struct vgpu_mem_region *o = &vu->mem.regions[i];
		if (o->gpa != reg.region.guest_phys_addr || o->uva != reg.region.userspace_addr ||
			o->size != reg.region.memory_size) {
			continue;
		}
		struct vgpu_mem new = vu->mem;
		struct vgpu_mem_region gone = new.regions[i];
		memmove(&new.regions[i], &new.regions[i + 1],
			(new.n_regions - i - 1) * sizeof(new.regions[0]));
		new.n_regions--;
		vu->mem.n_regions = 0;
		install_mem(vu, &new);
		/* Unmapped only once the device has the new table. */
		struct vgpu_mem dead = { .n_regions = 1, .regions = { gone } };
		vgpu_mem_finish(&dead);
		return 0;
	}
	zl_err("vhost-user: REM_MEM_REG of a region we do not have");
	return -ENOENT;
}

static int h_set_vring_num(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	struct vhost_user_vring_state s;
	if (msg_state(m, &s) < 0) {
		return -EINVAL;
	}
	int r = vgpu_vq_set_num(&vu->rings[s.index].vq, s.num);
	if (r < 0) {
		zl_err("vhost-user: queue %u: bad size %u", s.index, s.num);
	}
	return r;
}

static int h_set_vring_addr(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	struct vhost_user_vring_addr a;
	memcpy(&a, m->payload, sizeof(a));
	if (a.index >= VU_NUM_QUEUES) {
		return -EINVAL;
	}
	struct vgpu_vq *vq = &vu->rings[a.index].vq;
	int r = vgpu_vq_set_addr(vq, a.desc_user_addr, a.avail_user_addr, a.used_user_addr);
	if (r < 0) {
		zl_err("vhost-user: queue %u: misaligned ring addresses", a.index);
		return r;
	}
	/* Translate now if we can, to refuse a ring outside guest RAM early;
	 * the frontend may also send the table later, then it is checked when
	 * the ring is used. */
	if (vu->mem.n_regions > 0 && vq->num != 0) {
		r = vgpu_vq_map(vq, &vu->mem);
		if (r < 0) {
			zl_err("vhost-user: queue %u: ring is not in guest memory", a.index);
			vq->addr_set = false;
			return r;
		}
	}
	return 0;
}

static int h_set_vring_base(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	struct vhost_user_vring_state s;
	if (msg_state(m, &s) < 0 || s.num > UINT16_MAX) {
		return -EINVAL;
	}
	/* The frontend restarts the rings both when the VM resumes and after
	 * the guest reset the device; only the latter starts the controlq
	 * from 0 once we have served it (a resume restarts where we stopped).
	 * vhost-user has no message for a guest reset, so this is how the
	 * device learns to drop the old driver's resources. The one miss:
	 * a pause exactly at a multiple of 65536 requests resets too. */
	if (s.index == VU_CTRL_QUEUE && s.num == 0 && (vu->ctrl_since_reset > 0 || vu->broken)) {
		zl_info("vhost-user: controlq restarts from 0: guest reset the device");
		device_reset(vu);
	}
	vgpu_vq_set_base(&vu->rings[s.index].vq, (uint16_t)s.num);
	return 0;
}

static int h_get_vring_base(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	struct vhost_user_vring_state s;
	if (msg_state(m, &s) < 0) {
		return -EINVAL;
	}
	struct vu_ring *ring = &vu->rings[s.index];
	/* vhost-user.rst: GET_VRING_BASE stops the ring. */
	ring_stop(ring);
	update_poll_timer(vu);
	s.num = ring->vq.last_avail_idx;
	return send_reply(vu, m->hdr.request, &s, sizeof(s));
}

/* SET_VRING_KICK/CALL/ERR: index in bits 0-7, bit 8 "no fd". */
static int vring_fd_msg(struct vgpu_vhost_user *vu, struct vu_msg *m, unsigned *index, int *fd)
{
	uint64_t v = msg_u64(m);
	if (v & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK)) {
		return -EINVAL;
	}
	*index = v & VHOST_USER_VRING_IDX_MASK;
	if (*index >= VU_NUM_QUEUES) {
		return -EINVAL;
	}
	bool nofd = v & VHOST_USER_VRING_NOFD_MASK;
	if (m->n_fds != (nofd ? 0u : 1u)) {
		return -EINVAL;
	}
	*fd = -1;
	if (!nofd) {
		int r = set_nonblock(m->fds[0]);
		if (r < 0) {
			return r;
		}
		*fd = m->fds[0];
		m->fds[0] = -1;
	}
	return 0;
}

static int h_set_vring_kick(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	unsigned index;
	int fd;
	int r = vring_fd_msg(vu, m, &index, &fd);
	if (r < 0) {
		return r;
	}
	struct vu_ring *ring = &vu->rings[index];
	zl_source_remove(ring->kick_src);
	ring->kick_src = NULL;
	close_fd(&ring->kick_fd);
	ring->kick_fd = fd;
	ring->polling = fd < 0;
	if (fd >= 0) {
		ring->kick_src = zl_loop_add_fd(vu->loop, fd, EPOLLIN, on_kick, ring);
		if (!ring->kick_src) {
			close_fd(&ring->kick_fd);
			ring->started = false;
			return -ENOMEM;
		}
	} else {
		zl_warn("vhost-user: queue %u in polling mode (no kick fd)", index);
	}
	ring->started = true;
	update_poll_timer(vu);
	/* Buffers queued while the ring was stopped get served now. */
	ring_process(vu, ring);
	return 0;
}

static int h_set_vring_call(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	unsigned index;
	int fd;
	int r = vring_fd_msg(vu, m, &index, &fd);
	if (r < 0) {
		return r;
	}
	/* No fd: the frontend polls the used ring itself. */
	close_fd(&vu->rings[index].call_fd);
	vu->rings[index].call_fd = fd;
	return 0;
}

static int h_set_vring_err(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	unsigned index;
	int fd;
	int r = vring_fd_msg(vu, m, &index, &fd);
	if (r < 0) {
		return r;
	}
	close_fd(&vu->rings[index].err_fd);
	vu->rings[index].err_fd = fd;
	return 0;
}

static int h_set_vring_enable(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	struct vhost_user_vring_state s;
	if (msg_state(m, &s) < 0 || s.num > 1) {
		return -EINVAL;
	}
	struct vu_ring *ring = &vu->rings[s.index];
	ring->enabled = s.num == 1;
	if (ring->enabled) {
		ring_process(vu, ring);
	}
	return 0;
}

/* Another device's config space (ops): the whole of it read or written at
 * any offset within it. */
static int ops_config(struct vgpu_vhost_user *vu, struct vu_msg *m, bool get)
{
	struct vhost_user_config c;
	memset(&c, 0, sizeof(c));
	memcpy(&c, m->payload, m->hdr.size);
	uint8_t cfg[VGPU_VHOST_USER_CONFIG_MAX];
	size_t len = vu->ops->get_config(vu->ops_dev, cfg, sizeof(cfg));
	if (m->hdr.size != VHOST_USER_CONFIG_HDR_SIZE + c.size || c.size > len ||
		c.offset > len - c.size) {
		zl_err("vhost-user: %s_CONFIG of %u bytes at %u (config space: %zu)",
			get ? "GET" : "SET", c.size, c.offset, len);
		if (get) {
			send_reply(vu, m->hdr.request, NULL, 0);
		}
		return -EINVAL;
	}
	if (!get) {
		vu->ops->set_config(vu->ops_dev, c.offset, c.region, c.size);
		return 0;
	}
	memcpy(c.region, cfg + c.offset, c.size);
	return send_reply(vu, m->hdr.request, &c, VHOST_USER_CONFIG_HDR_SIZE + c.size);
}

static int h_get_config(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	if (!vu->dev) {
		return ops_config(vu, m, true);
	}
	struct vhost_user_config c;
	memset(&c, 0, sizeof(c));
	memcpy(&c, m->payload, m->hdr.size);
	struct virtio_gpu_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	vgpu_device_get_config(vu->dev, &cfg);
	/* vhost-user.rst: the reply has the request's size; an empty payload
	 * reports an error. */
	if (m->hdr.size != VHOST_USER_CONFIG_HDR_SIZE + c.size || c.size > sizeof(cfg) ||
		c.offset > sizeof(cfg) - c.size) {
		zl_err("vhost-user: GET_CONFIG of %u bytes at %u", c.size, c.offset);
		send_reply(vu, m->hdr.request, NULL, 0);
		return -EINVAL;
	}
	memcpy(c.region, (const uint8_t *)&cfg + c.offset, c.size);
	return send_reply(vu, m->hdr.request, &c, VHOST_USER_CONFIG_HDR_SIZE + c.size);
}

static int h_set_config(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	if (!vu->dev) {
		return ops_config(vu, m, false);
	}
	struct vhost_user_config c;
	memset(&c, 0, sizeof(c));
	memcpy(&c, m->payload, m->hdr.size);
	struct virtio_gpu_config cfg;
	if (m->hdr.size != VHOST_USER_CONFIG_HDR_SIZE + c.size || c.size > sizeof(cfg) ||
		c.offset > sizeof(cfg) - c.size) {
		zl_err("vhost-user: SET_CONFIG of %u bytes at %u", c.size, c.offset);
		return -EINVAL;
	}
	/* Only events_clear is writable (virtio 1.2 5.7.4); the frontend
	 * writes the whole struct, the read-only rest is ignored. */
	const uint32_t at = offsetof(struct virtio_gpu_config, events_clear);
	if (c.offset <= at && c.offset + c.size >= at + sizeof(uint32_t)) {
		uint32_t clear;
		memcpy(&clear, c.region + (at - c.offset), sizeof(clear));
		clear = le32toh(clear);  /* virtio config space is little-endian */
		if (clear) {
			vgpu_device_clear_events(vu->dev, clear);
		}
	}
	return 0;
}

static int h_gpu_set_socket(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	if (m->n_fds != 1 || !vu->dev) {
		return -EINVAL;
	}
	int fd = m->fds[0];
	m->fds[0] = -1;
	/* A display socket that fails is logged and closed; the device keeps
	 * working without it (we stream elsewhere). */
	return display_open(vu, fd);
}

enum vu_size_rule {
	SIZE_EXACT,     /* size == min */
	SIZE_RANGE,     /* min <= size <= max */
};

struct vu_handler {
	int (*fn)(struct vgpu_vhost_user *vu, struct vu_msg *m);
	enum vu_size_rule rule;
	uint32_t min, max;
	unsigned max_fds;
	bool has_reply;     /* answers by itself; no REPLY_ACK */
};

static const struct vu_handler vu_handlers[VHOST_USER_REQUEST_MAX] = {
	[VHOST_USER_GET_FEATURES] = { h_get_features, SIZE_EXACT, 0, 0, 0, true },
	[VHOST_USER_SET_FEATURES] = { h_set_features, SIZE_EXACT, 8, 8, 0, false },
	[VHOST_USER_SET_OWNER] = { h_set_owner, SIZE_EXACT, 0, 0, 0, false },
	[VHOST_USER_RESET_OWNER] = { h_reset_owner, SIZE_EXACT, 0, 0, 0, false },
	[VHOST_USER_SET_MEM_TABLE] = { h_set_mem_table, SIZE_RANGE, 8 + 32,
		sizeof(struct vhost_user_memory), VHOST_USER_MAX_FDS, false },
	[VHOST_USER_SET_VRING_NUM] = { h_set_vring_num, SIZE_EXACT, 8, 8, 0, false },
	[VHOST_USER_SET_VRING_ADDR] = { h_set_vring_addr, SIZE_EXACT, 40, 40, 0, false },
	[VHOST_USER_SET_VRING_BASE] = { h_set_vring_base, SIZE_EXACT, 8, 8, 0, false },
	[VHOST_USER_GET_VRING_BASE] = { h_get_vring_base, SIZE_EXACT, 8, 8, 0, true },
	[VHOST_USER_SET_VRING_KICK] = { h_set_vring_kick, SIZE_EXACT, 8, 8, 1, false },
	[VHOST_USER_SET_VRING_CALL] = { h_set_vring_call, SIZE_EXACT, 8, 8, 1, false },
	[VHOST_USER_SET_VRING_ERR] = { h_set_vring_err, SIZE_EXACT, 8, 8, 1, false },
	[VHOST_USER_GET_PROTOCOL_FEATURES] = { h_get_protocol_features, SIZE_EXACT, 0, 0, 0, true },
	[VHOST_USER_SET_PROTOCOL_FEATURES] = { h_set_protocol_features, SIZE_EXACT, 8, 8, 0, false },
	[VHOST_USER_GET_QUEUE_NUM] = { h_get_queue_num, SIZE_EXACT, 0, 0, 0, true },
	[VHOST_USER_SET_VRING_ENABLE] = { h_set_vring_enable, SIZE_EXACT, 8, 8, 0, false },
	[VHOST_USER_GET_CONFIG] = { h_get_config, SIZE_RANGE, VHOST_USER_CONFIG_HDR_SIZE,
		sizeof(struct vhost_user_config), 0, true },
	[VHOST_USER_SET_CONFIG] = { h_set_config, SIZE_RANGE, VHOST_USER_CONFIG_HDR_SIZE,
		sizeof(struct vhost_user_config), 0, false },
	[VHOST_USER_GPU_SET_SOCKET] = { h_gpu_set_socket, SIZE_EXACT, 0, 0, 1, false },
	[VHOST_USER_RESET_DEVICE] = { h_reset_device, SIZE_EXACT, 0, 0, 0, false },
	[VHOST_USER_GET_MAX_MEM_SLOTS] = { h_get_max_mem_slots, SIZE_EXACT, 0, 0, 0, true },
	[VHOST_USER_ADD_MEM_REG] = { h_add_mem_reg, SIZE_EXACT, 40, 40, 1, false },
	[VHOST_USER_REM_MEM_REG] = { h_rem_mem_reg, SIZE_EXACT, 40, 40, 1, false },
};

/* Handles one complete message. Returns 0, a negative errno for a refused
 * message, or -EPROTO if the connection cannot go on. Closes every fd not
 * taken by a handler. */
static int dispatch(struct vgpu_vhost_user *vu, struct vu_msg *m)
{
	const uint32_t req = m->hdr.request;
	const struct vu_handler *h = req < VHOST_USER_REQUEST_MAX ? &vu_handlers[req] : NULL;
	int r;

	vu->stats.messages++;
	vu->replied = false;
	zl_dbg("vhost", "<- %s (%u) flags %#x size %u fds %u", request_name(req), req,
		m->hdr.flags, m->hdr.size, m->n_fds);

	if ((m->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
		(m->hdr.flags & VHOST_USER_REPLY_MASK)) {
		zl_err("vhost-user: bad message flags %#x", m->hdr.flags);
		r = -EPROTO;
		goto out;
	}
	if (!h || !h->fn) {
		zl_err("vhost-user: unsupported request %s (%u), %u bytes", request_name(req), req,
			m->hdr.size);
		r = -EOPNOTSUPP;
	} else if ((h->rule == SIZE_EXACT && m->hdr.size != h->min) ||
		(h->rule == SIZE_RANGE && (m->hdr.size < h->min || m->hdr.size > h->max))) {
		zl_err("vhost-user: %s with a %u-byte payload", request_name(req), m->hdr.size);
		r = -EINVAL;
	} else if (m->n_fds > h->max_fds) {
		zl_err("vhost-user: %s with %u fds", request_name(req), m->n_fds);
		r = -EINVAL;
	} else {
		r = h->fn(vu, m);
		if (r < 0) {
			zl_err("vhost-user: %s failed: %s", request_name(req), strerror(-r));
		}
	}

	if (h && h->has_reply && !vu->replied) {
		/* The frontend waits for this reply; without one it would hang,
		 * so the connection has to go. */
		r = -EPROTO;
	} else if (!vu->replied && (m->hdr.flags & VHOST_USER_NEED_REPLY_MASK)) {
		/* REPLY_ACK: 0 for success, non-zero for failure. */
		int rr = reply_u64(vu, req, r < 0 ? 1 : 0);
		if (rr < 0) {
			r = -EPROTO;
		}
	}
out:
	for (unsigned i = 0; i < m->n_fds; i++) {
		close_fd(&m->fds[i]);
	}
	if (r < 0) {
		vu->stats.bad_messages++;
	}
	return r;
}

int vgpu_vhost_user_handle_message(struct vgpu_vhost_user *vu, const void *msg, size_t len,
	int *fds, unsigned n_fds)
{
	struct vu_msg m = { .fds = fds, .n_fds = n_fds };
	int r;
	if (len < sizeof(m.hdr) || n_fds > VHOST_USER_MAX_FDS) {
		r = -EINVAL;
		goto refuse;
	}
	memcpy(&m.hdr, msg, sizeof(m.hdr));
	if (m.hdr.size > VHOST_USER_MAX_PAYLOAD || m.hdr.size != len - sizeof(m.hdr)) {
		r = -EINVAL;
		goto refuse;
	}
	/* Handlers may read the payload as aligned structs. */
	union {
		uint8_t bytes[sizeof(struct vhost_user_header) + VHOST_USER_MAX_PAYLOAD];
		uint64_t align_;
	} buf;
	memcpy(buf.bytes, msg, len);
	m.payload = buf.bytes + sizeof(m.hdr);
	r = dispatch(vu, &m);
	if (r == -EPROTO) {
		if (vu->conn_fd >= 0) {
			conn_close(vu);
		} else {
			session_teardown(vu, true);
		}
	}
	return r;
refuse:
	for (unsigned i = 0; i < n_fds; i++) {
		close_fd(&fds[i]);
	}
	return r;
}

/* ---- connection ---- */

static void rx_take_fds(struct vgpu_vhost_user *vu, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			continue;
		}
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (vu->rx.n_fds < VHOST_USER_MAX_FDS) {
				vu->rx.fds[vu->rx.n_fds++] = f;
			} else {
				close(f);
				vu->rx.fd_overflow = true;
			}
		}
	}
	if (mh->msg_flags & MSG_CTRUNC) {
		/* More fds than fit: the kernel closed the rest. */
		vu->rx.fd_overflow = true;
	}
}

/* Reads at most the rest of the current message, so fds stay with the
 * message they came with. Returns 1 if a message is complete, 0 if more is
 * needed later, a negative errno if the connection is done. */
static int rx_read(struct vgpu_vhost_user *vu)
{
	const size_t hsize = sizeof(struct vhost_user_header);
	struct vu_rx *rx = &vu->rx;
	size_t want = rx->got < hsize ? hsize - rx->got : hsize + rx->msg.hdr.size - rx->got;
	struct iovec iov = { .iov_base = rx->msg.bytes + rx->got, .iov_len = want };
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;
	do {
		n = recvmsg(vu->conn_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return 0;
		}
		return -errno;
	}
	rx_take_fds(vu, &mh);
	if (n == 0) {
		return -ECONNRESET;
	}
	rx->got += (size_t)n;
	if (rx->got == hsize && rx->msg.hdr.size > VHOST_USER_MAX_PAYLOAD) {
		zl_err("vhost-user: message %u with a %u-byte payload", rx->msg.hdr.request,
			rx->msg.hdr.size);
		return -EPROTO;
	}
	return rx->got >= hsize && rx->got == hsize + rx->msg.hdr.size;
}

static void on_conn(void *data, int fd, uint32_t events)
{
	struct vgpu_vhost_user *vu = data;

	if (events & EPOLLOUT) {
		if (out_flush(&vu->out, vu->conn_fd) < 0) {
			conn_close(vu);
			return;
		}
		conn_update_events(vu);
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		return;
	}
	for (unsigned budget = 0; budget < VU_MSG_BUDGET; budget++) {
		int r = rx_read(vu);
		if (r == 0) {
			return;
		}
		if (r < 0) {
			if (r != -ECONNRESET) {
				zl_warn("vhost-user: frontend connection: %s", strerror(-r));
			}
			conn_close(vu);
			return;
		}
		struct vu_msg m = {
			.hdr = vu->rx.msg.hdr,
			.payload = vu->rx.msg.bytes + sizeof(struct vhost_user_header),
			.fds = vu->rx.fds,
			.n_fds = vu->rx.n_fds,
		};
		bool overflow = vu->rx.fd_overflow;
		vu->rx.got = 0;
		vu->rx.n_fds = 0;
		vu->rx.fd_overflow = false;
		if (overflow) {
			zl_err("vhost-user: %s came with more than %u fds", request_name(m.hdr.request),
				VHOST_USER_MAX_FDS);
			for (unsigned i = 0; i < m.n_fds; i++) {
				close_fd(&m.fds[i]);
			}
			conn_close(vu);
			return;
		}
		r = dispatch(vu, &m);
		if (r == -EPROTO || vu->conn_fd < 0) {
			conn_close(vu);
			return;
		}
	}
}

int vgpu_vhost_user_adopt_fd(struct vgpu_vhost_user *vu, int fd)
{
	if (vu->conn_fd >= 0) {
		close(fd);
		return -EBUSY;
	}
	int r = set_nonblock(fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	/* A fresh frontend starts from a clean session. */
	session_teardown(vu, false);
	vu->conn_fd = fd;
	vu->conn_src = zl_loop_add_fd(vu->loop, fd, EPOLLIN, on_conn, vu);
	if (!vu->conn_src) {
		close_fd(&vu->conn_fd);
		return -ENOMEM;
	}
	vu->stats.connected = true;
	vu->stats.connections++;
	zl_info("vhost-user: frontend connected");
	if (vu->listener && vu->listener->connected) {
		vu->listener->connected(vu->data);
	}
	return 0;
}

void vgpu_vhost_user_disconnect(struct vgpu_vhost_user *vu)
{
	if (vu) {
		conn_close(vu);
	}
}

static void on_listen(void *data, int fd, uint32_t events)
{
	struct vgpu_vhost_user *vu = data;
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				zl_log_errno(ZL_WARN, "vhost-user: accept");
			}
			return;
		}
		if (vu->conn_fd >= 0) {
			zl_warn("vhost-user: refusing a second frontend on %s", vu->path);
			close(c);
			continue;
		}
		vgpu_vhost_user_adopt_fd(vu, c);
	}
}

/* Binds socket_path, replacing a stale socket but never one still served. */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		zl_err("vhost-user: socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			close(fd);
			zl_err("vhost-user: %s is in use by another backend", path);
			return -EADDRINUSE;
		}
		if (probe >= 0) {
			close(probe);
		}
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		int err = -errno;
		zl_log_errno(ZL_ERROR, "vhost-user: listen on %s", path);
		close(fd);
		return err;
	}
	return fd;
}

static struct vgpu_vhost_user *create(struct zl_loop *loop, const char *socket_path,
	struct vgpu_device *dev, const struct vgpu_vhost_user_device *ops, void *ops_dev,
	const struct vgpu_vhost_user_listener *listener, void *data);

struct vgpu_vhost_user *vgpu_vhost_user_create(struct zl_loop *loop, const char *socket_path,
	struct vgpu_device *dev, const struct vgpu_vhost_user_listener *listener, void *data)
{
	return create(loop, socket_path, dev, NULL, NULL, listener, data);
}

struct vgpu_vhost_user *vgpu_vhost_user_create_device(struct zl_loop *loop,
	const char *socket_path, const struct vgpu_vhost_user_device *ops, void *dev,
	const struct vgpu_vhost_user_listener *listener, void *data)
{
	return create(loop, socket_path, NULL, ops, dev, listener, data);
}

static struct vgpu_vhost_user *create(struct zl_loop *loop, const char *socket_path,
	struct vgpu_device *dev, const struct vgpu_vhost_user_device *ops, void *ops_dev,
	const struct vgpu_vhost_user_listener *listener, void *data)
{
	struct vgpu_vhost_user *vu = calloc(1, sizeof(*vu));
	if (!vu) {
		return NULL;
	}
	vu->loop = loop;
	vu->dev = dev;
	vu->ops = ops;
	vu->ops_dev = ops_dev;
	vu->listener = listener;
	vu->data = data;
	vu->listen_fd = -1;
	vu->conn_fd = -1;
	vu->display.fd = -1;
	vu->resched_fd = -1;
	for (unsigned i = 0; i < VU_NUM_QUEUES; i++) {
		struct vu_ring *ring = &vu->rings[i];
		ring->vu = vu;
		ring->kick_fd = ring->call_fd = ring->err_fd = -1;
		vgpu_vq_init(&ring->vq, i);
	}

	vu->chain = malloc(sizeof(*vu->chain));
	if (!vu->chain) {
		goto err;
	}
	vu->resched_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vu->resched_fd < 0) {
		zl_log_errno(ZL_ERROR, "vhost-user: eventfd");
		goto err;
	}
	vu->resched_src = zl_loop_add_fd(loop, vu->resched_fd, EPOLLIN, on_resched, vu);
	if (!vu->resched_src) {
		goto err;
	}
	vu->poll_timer = zl_loop_add_timer(loop, on_poll_timer, vu);
	if (!vu->poll_timer) {
		goto err;
	}
	if (socket_path) {
		vu->path = strdup(socket_path);
		if (!vu->path) {
			goto err;
		}
		vu->listen_fd = listen_on(socket_path);
		if (vu->listen_fd < 0) {
			goto err;
		}
		vu->listen_src = zl_loop_add_fd(loop, vu->listen_fd, EPOLLIN, on_listen, vu);
		if (!vu->listen_src) {
			goto err_unlink;
		}
		zl_info("vhost-user: listening on %s", socket_path);
	}
	return vu;

err_unlink:
	unlink(vu->path);
err:
	close_fd(&vu->listen_fd);
	free(vu->path);
	zl_source_remove(vu->poll_timer);
	zl_source_remove(vu->resched_src);
	close_fd(&vu->resched_fd);
	free(vu->chain);
	free(vu);
	return NULL;
}

void vgpu_vhost_user_destroy(struct vgpu_vhost_user *vu)
{
	if (!vu) {
		return;
	}
	/* Quietly: no listener call, no device reset (see the header). */
	zl_source_remove(vu->conn_src);
	vu->conn_src = NULL;
	close_fd(&vu->conn_fd);
	out_finish(&vu->out);
	for (unsigned i = 0; i < vu->rx.n_fds; i++) {
		close_fd(&vu->rx.fds[i]);
	}
	session_teardown(vu, false);
	zl_source_remove(vu->listen_src);
	close_fd(&vu->listen_fd);
	if (vu->path) {
		unlink(vu->path);
		free(vu->path);
	}
	zl_source_remove(vu->poll_timer);
	zl_source_remove(vu->resched_src);
	close_fd(&vu->resched_fd);
	free(vu->chain);
	free(vu);
}

void vgpu_vhost_user_complete(struct vgpu_vhost_user *vu, uint64_t cookie)
{
	uint16_t head = (uint16_t)cookie;
	uint16_t gen = (uint16_t)(cookie >> 48);
	struct vu_ring *ring = &vu->rings[VU_CTRL_QUEUE];
	if (gen != vu->ring_gen || !ring_ready(vu, ring) || head >= ring->vq.num) {
		/* From before a reset or disconnect: that ring is gone. */
		return;
	}
	vgpu_vq_push(&ring->vq, head, vu->deferred_len[head]);
	if (vgpu_vq_need_notify(&ring->vq)) {
		ring_notify(ring);
	}
}

void vgpu_vhost_user_get_stats(const struct vgpu_vhost_user *vu, struct vgpu_vhost_user_stats *stats)
{
	*stats = vu->stats;
}
