/* SPDX-License-Identifier: MIT */
#include "vtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "renderer.h"
#include "util/log.h"
#include "util/loop.h"

/* virgl_hw.h values (not installed by libvirglrenderer-dev). */
#define VIRGL_BIND_DISPLAY_TARGET (1u << 7)
#define VIRGL_BIND_SCANOUT (1u << 18)
#define VIRGL_FORMAT_B8G8R8A8_UNORM 1
#define VIRGL_FORMAT_B8G8R8X8_UNORM 2
#define VIRGL_FORMAT_R8G8B8A8_UNORM 67
#define VIRGL_FORMAT_R8G8B8X8_UNORM 134
#define PIPE_TEXTURE_2D 2

#define MAX_RESOURCES 65536
/* A vtest connection has one GL context, this one in its namespace. */
#define VTEST_CTX 1
/* Shared memory one connection may hold: its resources' backings. (GL
 * storage inside virglrenderer is not counted yet.) */
#define MAX_CONN_SHM_BYTES (1ull << 30)

struct vt_res {
	uint32_t handle;
	uint32_t bind, format, width, height, target;
	void *map;       /* shared memory backing, NULL if none */
	size_t size;
	/* Heap-allocated: virglrenderer keeps the pointer, and vt_res moves
	 * when the array grows. */
	struct iovec *iov;
};

struct conn {
	struct conn *next;
	struct vgpu_vtest *vt;
	int fd;
	struct zl_source *src;
	uint32_t *in;     /* u32 array so SUBMIT_CMD payloads are aligned */
	size_t in_len, in_cap; /* bytes */
	char name[VGPU_VTEST_MAX_NAME];
	struct vgpu_renderer_client *client;
	uint32_t version;
	struct vt_res *res;
	size_t n_res, cap_res;
	bool waiting;     /* a BUSY_WAIT reply is deferred to a fence */
	uint64_t shm_bytes;
};

struct vgpu_vtest {
	struct zl_loop *loop;
	struct vgpu_renderer *renderer;
	struct vgpu_vtest_listener listener;
	void *data;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	struct zl_source *src;
	struct conn *conns;
};

static void conn_destroy(struct conn *c)
{
	struct vgpu_vtest *vt = c->vt;
	for (struct conn **pp = &vt->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	/* The renderer client goes first: it unrefs resources whose backing
	 * we unmap below. */
	vgpu_renderer_client_destroy(c->client);
	for (size_t i = 0; i < c->n_res; i++) {
		if (c->res[i].map) {
			munmap(c->res[i].map, c->res[i].size);
		}
		free(c->res[i].iov);
	}
	zl_source_remove(c->src);
	close(c->fd);
	free(c->res);
	free(c->in);
	free(c);
}

static int send_all(struct conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		/* Replies are small and the client waits for each one, so a
		 * full socket buffer means a client that does not read: drop it
		 * rather than queue unboundedly. */
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_reply(struct conn *c, uint32_t cmd, const void *body, uint32_t body_len,
	uint32_t len_field)
{
	uint32_t hdr[2] = { len_field, cmd };
	int ret = send_all(c, hdr, sizeof(hdr));
	if (ret == 0 && body_len) {
		ret = send_all(c, body, body_len);
	}
	return ret;
}

static int send_fd(struct conn *c, int fd)
{
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ssize_t n;
	do {
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -EIO;
}

static struct vt_res *find_res(struct conn *c, uint32_t handle)
{
	for (size_t i = 0; i < c->n_res; i++) {
		if (c->res[i].handle == handle) {
			return &c->res[i];
		}
	}
	return NULL;
}

static int do_caps(struct conn *c, uint32_t set)
{
	void *caps;
	uint32_t size;
	int ret = vgpu_renderer_get_caps(c->vt->renderer, set, &caps, &size);
	if (ret < 0) {
		return ret;
	}
	/* Mesa reads the reply as {bytes + 1, set}: it recognises the v2
	 * capset by the id 2 (not VCMD_GET_CAPS2) and sizes it from len. */
	ret = send_reply(c, set, caps, size, size + 1);
	free(caps);
	return ret;
}

static int do_resource_create(struct conn *c, const struct vgpu_vtest_msg *m)
{
	const struct vgpu_vtest_res_create *a = &m->u.res_create;
	if (c->n_res >= MAX_RESOURCES || find_res(c, a->handle)) {
		return -EINVAL;
	}
	if (a->data_size > MAX_CONN_SHM_BYTES - c->shm_bytes) {
		zl_warn("vtest %s: over its %llu MiB of shared memory", c->name,
			MAX_CONN_SHM_BYTES >> 20);
		return -ENOSPC;
	}
	if (c->n_res == c->cap_res) {
		size_t cap = c->cap_res ? c->cap_res * 2 : 16;
		struct vt_res *r = realloc(c->res, cap * sizeof(*r));
		if (!r) {
			return -ENOMEM;
		}
		c->res = r;
		c->cap_res = cap;
	}
	struct vt_res res = {
		.handle = a->handle, .bind = a->bind, .format = a->format,
		.width = a->width, .height = a->height, .target = a->target,
	};
	int memfd = -1;
	if (a->data_size) {
		memfd = memfd_create("vtest-res", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (memfd < 0 || ftruncate(memfd, a->data_size) < 0) {
			goto err_fd;
		}
		res.map = mmap(NULL, a->data_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		if (res.map == MAP_FAILED) {
			res.map = NULL;
			goto err_fd;
		}
		/* The client must not shrink it under our mapping (SIGBUS). */
		fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
		res.size = a->data_size;
		res.iov = malloc(sizeof(*res.iov));
		if (!res.iov) {
			errno = ENOMEM;
			goto err_fd;
		}
		*res.iov = (struct iovec){ res.map, res.size };
	}
	struct vgpu_renderer_resource_args args = {
		.target = a->target, .format = a->format, .bind = a->bind,
		.width = a->width, .height = a->height, .depth = a->depth,
		.array_size = a->array_size, .last_level = a->last_level,
		.nr_samples = a->nr_samples,
	};
	int ret = vgpu_renderer_resource_create(c->client, a->handle, &args, NULL);
	if (ret < 0) {
		goto err_map;
	}
	/* Resources are the connection's; its one context sees them all. */
	if (res.iov) {
		ret = vgpu_renderer_resource_attach_backing(c->client, a->handle, res.iov, 1);
	}
	if (ret == 0) {
		ret = vgpu_renderer_ctx_attach(c->client, VTEST_CTX, a->handle);
	}
	if (ret < 0) {
		vgpu_renderer_resource_unref(c->client, a->handle);
		goto err_map;
	}
	if (memfd >= 0) {
		ret = send_fd(c, memfd);
		close(memfd);
		memfd = -1;
		if (ret < 0) {
			vgpu_renderer_resource_unref(c->client, a->handle);
			goto err_map;
		}
	}
	c->res[c->n_res++] = res;
	c->shm_bytes += res.size;
	return 0;

err_map:
	free(res.iov);
	if (res.map) {
		munmap(res.map, res.size);
	}
	if (memfd >= 0) {
		close(memfd);
	}
	return ret;
err_fd:
	ret = -errno;
	free(res.iov);
	if (res.map) {
		munmap(res.map, res.size);
	}
	if (memfd >= 0) {
		close(memfd);
	}
	return ret ? ret : -ENOMEM;
}

static int do_resource_unref(struct conn *c, uint32_t handle)
{
	struct vt_res *r = find_res(c, handle);
	if (!r) {
		return 0; /* like virgl_test_server: a stale unref is harmless */
	}
	vgpu_renderer_resource_unref(c->client, handle);
	if (r->map) {
		munmap(r->map, r->size);
	}
	c->shm_bytes -= r->size;
	free(r->iov);
	*r = c->res[--c->n_res];
	return 0;
}

static pixman_format_code_t pixman_format(uint32_t format)
{
	switch (format) {
	case VIRGL_FORMAT_B8G8R8A8_UNORM:
		return PIXMAN_a8r8g8b8;
	case VIRGL_FORMAT_B8G8R8X8_UNORM:
		return PIXMAN_x8r8g8b8;
	case VIRGL_FORMAT_R8G8B8A8_UNORM:
		return PIXMAN_a8b8g8r8;
	case VIRGL_FORMAT_R8G8B8X8_UNORM:
		return PIXMAN_x8b8g8r8;
	default:
		return 0;
	}
}

static void maybe_present(struct conn *c, struct vt_res *r, const struct vgpu_vtest_msg *m)
{
	const struct vgpu_vtest_transfer *t = &m->u.transfer;
	struct vgpu_vtest *vt = c->vt;
	if (!vt->listener.present || !(r->bind & (VIRGL_BIND_DISPLAY_TARGET | VIRGL_BIND_SCANOUT)) ||
		r->target != PIPE_TEXTURE_2D || t->level != 0 || t->w == 0 || t->h == 0) {
		return;
	}
	pixman_format_code_t fmt = pixman_format(r->format);
	if (!fmt || r->width == 0 || r->height == 0 || r->width > 16384 || r->height > 16384) {
		return;
	}
	/* The transfer (virglrenderer checked the box against the texture)
	 * wrote the box's rows at the natural stride from the offset. Mesa
	 * swaps the whole target at offset 0, or a sub-box at its pixel's
	 * offset; anything else is not a swap. */
	uint64_t stride = (uint64_t)r->width * 4;
	if (t->x >= r->width || t->w > r->width - t->x || t->y >= r->height ||
		t->h > r->height - t->y || (uint64_t)t->offset != t->y * stride + (uint64_t)t->x * 4 ||
		t->offset + (t->h - 1) * stride + (uint64_t)t->w * 4 > r->size) {
		return;
	}
	pixman_image_t *img = pixman_image_create_bits(fmt, (int)t->w, (int)t->h,
		(uint32_t *)(void *)((uint8_t *)r->map + t->offset), (int)stride);
	if (!img) {
		return;
	}
	struct vgpu_vtest_present p = {
		.process_name = c->name,
		.handle = r->handle,
		.width = r->width,
		.height = r->height,
		.image = img,
		.damage = { (int32_t)t->x, (int32_t)t->y, (int32_t)(t->x + t->w),
			(int32_t)(t->y + t->h) },
	};
	vt->listener.present(vt->data, &p);
	pixman_image_unref(img);
}

static int do_transfer2(struct conn *c, const struct vgpu_vtest_msg *m)
{
	const struct vgpu_vtest_transfer *t = &m->u.transfer;
	struct vt_res *r = find_res(c, t->handle);
	if (!r || !r->map) {
		zl_dbg("vtest", "vtest %s: transfer on %u: %s", c->name, t->handle,
			r ? "the resource has no shared memory" : "no such resource");
		return -EINVAL;
	}
	/* data_size is advisory in protocol 2: Mesa sends the size at its
	 * own (aligned) stride, while the server transfers at the natural
	 * stride, as virgl_test_server does. virglrenderer checks the span of
	 * the box against the backing (our mapping, r->size bytes). */
	if (t->offset > r->size) {
		zl_dbg("vtest", "vtest %s: transfer on %u at %u outside its %llu bytes",
			c->name, t->handle, t->offset, (unsigned long long)r->size);
		return -EINVAL;
	}
	struct vgpu_renderer_box box = { t->x, t->y, t->z, t->w, t->h, t->d };
	bool put = m->cmd == VGPU_VCMD_TRANSFER_PUT2;
	int ret = vgpu_renderer_transfer(c->client, VTEST_CTX, t->handle, put, t->level, 0, 0,
		&box, t->offset, NULL, 0);
	if (ret < 0) {
		zl_dbg("vtest", "vtest %s: transfer on %u failed: %d", c->name, t->handle, ret);
		return 0; /* a bad box is the app's bug, not a protocol error */
	}
	if (!put) {
		maybe_present(c, r, m);
	}
	return 0;
}

static bool process(struct conn *c);

static void on_fence(void *data)
{
	struct conn *c = data;
	if (!c->waiting || vgpu_renderer_client_busy(c->client)) {
		return;
	}
	c->waiting = false;
	uint32_t busy = 0;
	if (send_reply(c, VGPU_VCMD_RESOURCE_BUSY_WAIT, &busy, 4, 1) < 0) {
		conn_destroy(c);
		return;
	}
	zl_source_fd_update(c->src, EPOLLIN);
	/* The client may have pipelined commands behind the wait. */
	process(c);
}

static int do_busy_wait(struct conn *c, const struct vgpu_vtest_msg *m)
{
	/* Like virgl_test_server: busy while any fence of this client is
	 * outstanding (resource-precise tracking would need the stream).
	 * Asking the GPU first answers a fence it has just passed at once,
	 * rather than after its eventfd has gone round the loop. */
	bool busy = c->client && vgpu_renderer_client_busy_now(c->client);
	if (busy && (m->u.busy_wait.flags & VGPU_VCMD_BUSY_WAIT_FLAG_WAIT)) {
		/* Stop reading this client until its fence passes. */
		c->waiting = true;
		zl_source_fd_update(c->src, 0);
		return 0;
	}
	uint32_t v = busy;
	return send_reply(c, VGPU_VCMD_RESOURCE_BUSY_WAIT, &v, 4, 1);
}

static int dispatch(struct conn *c, const struct vgpu_vtest_msg *m)
{
	if (m->cmd == VGPU_VCMD_CREATE_RENDERER) {
		if (c->client) {
			return -EINVAL;
		}
		snprintf(c->name, sizeof(c->name), "%s", m->u.create_renderer.name);
		c->client = vgpu_renderer_client_create(c->vt->renderer, c->name);
		if (!c->client) {
			return -ENOMEM;
		}
		int ret = vgpu_renderer_ctx_create(c->client, VTEST_CTX, 0, "vtest");
		if (ret < 0) {
			return ret;
		}
		zl_info("vtest: client '%s' connected", c->name);
		return 0;
	}
	if (!c->client) {
		/* Everything else needs a context: Mesa always sends
		 * CREATE_RENDERER first. */
		return -EPROTO;
	}
	switch (m->cmd) {
	case VGPU_VCMD_PING_PROTOCOL_VERSION:
		return send_reply(c, VGPU_VCMD_PING_PROTOCOL_VERSION, NULL, 0, 0);
	case VGPU_VCMD_PROTOCOL_VERSION: {
		uint32_t v = m->u.protocol_version.version;
		c->version = v < VGPU_VTEST_PROTOCOL_VERSION ? v : VGPU_VTEST_PROTOCOL_VERSION;
		return send_reply(c, VGPU_VCMD_PROTOCOL_VERSION, &c->version, 4, 1);
	}
	case VGPU_VCMD_GET_CAPS:
		return do_caps(c, 1);
	case VGPU_VCMD_GET_CAPS2: {
		int ret = do_caps(c, 2);
		return ret == -ENOTSUP ? 0 : ret;
	}
	case VGPU_VCMD_RESOURCE_CREATE:
		if (m->u.res_create.data_size) {
			return -EINVAL;
		}
		return do_resource_create(c, m);
	case VGPU_VCMD_RESOURCE_CREATE2:
		if (c->version < 2) {
			return -EPROTO;
		}
		return do_resource_create(c, m);
	case VGPU_VCMD_RESOURCE_UNREF:
		return do_resource_unref(c, m->u.res_unref.handle);
	case VGPU_VCMD_TRANSFER_GET2:
	case VGPU_VCMD_TRANSFER_PUT2:
		if (c->version < 2) {
			return -EPROTO;
		}
		return do_transfer2(c, m);
	case VGPU_VCMD_SUBMIT_CMD: {
		/* The payload lies in our own input buffer (c->in), not in
		 * memory the client shares: rewriting it in place is safe. */
		int ret = vgpu_renderer_submit(c->client, VTEST_CTX,
			(uint32_t *)(uintptr_t)m->u.submit.dwords, m->u.submit.ndw);
		if (ret < 0) {
			/* virglrenderer flags the context; the app sees
			 * misrendering, the server carries on. */
			zl_dbg("vtest", "vtest %s: submit failed: %d", c->name, ret);
		}
		/* A fence per submission, as virgl_test_server does: it is
		 * what BUSY_WAIT waits on. */
		return vgpu_renderer_fence(c->client, 0, 0, on_fence, c);
	}
	case VGPU_VCMD_RESOURCE_BUSY_WAIT:
		return do_busy_wait(c, m);
	default:
		return -ENOTSUP;
	}
}

/* Runs every complete message in the input buffer. false: c was destroyed. */
static bool process(struct conn *c)
{
	size_t off = 0;
	while (!c->waiting) {
		struct vgpu_vtest_msg m;
		size_t need;
		int used = vgpu_vtest_parse((const uint8_t *)c->in + off, c->in_len - off, &m, &need);
		if (used < 0) {
			zl_warn("vtest %s: bad message (%d): closing", c->name, used);
			goto close;
		}
		if (used == 0) {
			break;
		}
		int ret = dispatch(c, &m);
		if (ret < 0) {
			zl_warn("vtest %s: command %u failed (%d): closing", c->name, m.cmd, ret);
			goto close;
		}
		off += (size_t)used;
		/* CREATE_RENDERER counts bytes and may leave the rest
		 * unaligned; SUBMIT_CMD payloads are read in place as u32s. */
		if (off % 4) {
			memmove(c->in, (uint8_t *)c->in + off, c->in_len - off);
			c->in_len -= off;
			off = 0;
		}
	}
	if (off) {
		memmove(c->in, (uint8_t *)c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	return true;
close:
	zl_info("vtest: client '%s' disconnected", c->name);
	conn_destroy(c);
	return false;
}

static void on_conn(void *data, int fd, uint32_t events)
{
	struct conn *c = data;
	(void)fd;
	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
		goto close;
	}
	/* The largest message: a SUBMIT_CMD of the maximum size. */
	const size_t max_cap = (size_t)VGPU_VTEST_MAX_CMD_DW * 4 + 65536;
	if (c->in_cap - c->in_len < 65536 && c->in_cap < max_cap) {
		size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
		if (cap > max_cap) {
			cap = max_cap;
		}
		uint32_t *in = realloc(c->in, cap);
		if (!in) {
			goto close;
		}
		c->in = in;
		c->in_cap = cap;
	}
	ssize_t n = recv(c->fd, (uint8_t *)c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n == 0) {
		goto close;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			return;
		}
		goto close;
	}
	c->in_len += (size_t)n;
	process(c);
	return;
close:
	zl_info("vtest: client '%s' disconnected", c->name);
	conn_destroy(c);
}

static void on_listen(void *data, int fd, uint32_t events)
{
	struct vgpu_vtest *vt = data;
	(void)events;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0) {
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return;
	}
	c->vt = vt;
	c->fd = cfd;
	snprintf(c->name, sizeof(c->name), "fd%d", cfd);
	c->src = zl_loop_add_fd(vt->loop, cfd, EPOLLIN, on_conn, c);
	if (!c->src) {
		close(cfd);
		free(c);
		return;
	}
	c->next = vt->conns;
	vt->conns = c;
}

struct vgpu_vtest *vgpu_vtest_create(struct zl_loop *loop, const char *path,
	struct vgpu_renderer *renderer, const struct vgpu_vtest_listener *listener, void *data)
{
	struct vgpu_vtest *vt = calloc(1, sizeof(*vt));
	if (!vt) {
		return NULL;
	}
	vt->loop = loop;
	vt->renderer = renderer;
	if (listener) {
		vt->listener = *listener;
	}
	vt->data = data;
	if (strlen(path) >= sizeof(vt->path)) {
		zl_err("vtest: socket path too long: %s", path);
		goto err;
	}
	snprintf(vt->path, sizeof(vt->path), "%s", path);
	vt->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (vt->fd < 0) {
		goto err;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, vt->path, strlen(vt->path) + 1);
	unlink(vt->path);
	if (bind(vt->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(vt->fd, 16) < 0) {
		zl_log_errno(ZL_ERROR, "vtest: cannot listen on %s", vt->path);
		goto err_fd;
	}
	vt->src = zl_loop_add_fd(loop, vt->fd, EPOLLIN, on_listen, vt);
	if (!vt->src) {
		goto err_unlink;
	}
	zl_info("vtest: listening on %s", vt->path);
	return vt;

err_unlink:
	unlink(vt->path);
err_fd:
	close(vt->fd);
err:
	free(vt);
	return NULL;
}

void vgpu_vtest_destroy(struct vgpu_vtest *vt)
{
	if (!vt) {
		return;
	}
	while (vt->conns) {
		conn_destroy(vt->conns);
	}
	zl_source_remove(vt->src);
	close(vt->fd);
	unlink(vt->path);
	free(vt);
}
