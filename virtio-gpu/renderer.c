/* SPDX-License-Identifier: MIT */
#include "renderer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <virgl/virglrenderer.h>

#include "util/log.h"
#include "util/loop.h"

/* virglrenderer's struct virgl_box (virgl_hw.h is not installed). */
struct vr_box {
	uint32_t x, y, z, w, h, d;
};

/* ---- id allocator: an open-addressing hash set of live ids ---- */

struct vgpu_renderer_ids {
	uint32_t *slots;   /* 0: empty, UINT32_MAX: tombstone */
	size_t cap, n_live, n_used;
	uint32_t next;
};

static size_t id_hash(uint32_t id, size_t cap)
{
	return (size_t)((id * 2654435761u) & (cap - 1));
}

struct vgpu_renderer_ids *vgpu_renderer_ids_create(void)
{
	struct vgpu_renderer_ids *ids = calloc(1, sizeof(*ids));
	if (!ids) {
		return NULL;
	}
	ids->cap = 64;
	ids->slots = calloc(ids->cap, sizeof(*ids->slots));
	if (!ids->slots) {
		free(ids);
		return NULL;
	}
	ids->next = 1;
	return ids;
}

void vgpu_renderer_ids_destroy(struct vgpu_renderer_ids *ids)
{
	if (ids) {
		free(ids->slots);
		free(ids);
	}
}

bool vgpu_renderer_ids_used(const struct vgpu_renderer_ids *ids, uint32_t id)
{
	if (id == 0 || id == UINT32_MAX) {
		return true; /* reserved: never handed out */
	}
	for (size_t i = id_hash(id, ids->cap), n = 0; n < ids->cap; i = (i + 1) & (ids->cap - 1), n++) {
		if (ids->slots[i] == 0) {
			return false;
		}
		if (ids->slots[i] == id) {
			return true;
		}
	}
	return false;
}

static void ids_insert(struct vgpu_renderer_ids *ids, uint32_t id)
{
	size_t i = id_hash(id, ids->cap);
	while (ids->slots[i] != 0 && ids->slots[i] != UINT32_MAX) {
		i = (i + 1) & (ids->cap - 1);
	}
	if (ids->slots[i] == 0) {
		ids->n_used++;
	}
	ids->slots[i] = id;
	ids->n_live++;
}

static int ids_grow(struct vgpu_renderer_ids *ids)
{
	/* Keep the load (live + tombstones) under a half; rehash drops tombstones. */
	if ((ids->n_used + 1) * 2 <= ids->cap) {
		return 0;
	}
	size_t cap = ids->cap;
	if ((ids->n_live + 1) * 4 > cap) {
		if (cap > SIZE_MAX / 2 / sizeof(uint32_t)) {
			return -ENOMEM;
		}
		cap *= 2;
	}
	uint32_t *old = ids->slots;
	size_t old_cap = ids->cap;
	ids->slots = calloc(cap, sizeof(*ids->slots));
	if (!ids->slots) {
		ids->slots = old;
		return -ENOMEM;
	}
	ids->cap = cap;
	ids->n_live = ids->n_used = 0;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i] != 0 && old[i] != UINT32_MAX) {
			ids_insert(ids, old[i]);
		}
	}
	free(old);
	return 0;
}

uint32_t vgpu_renderer_ids_alloc(struct vgpu_renderer_ids *ids, uint32_t hint)
{
	if (ids->n_live >= UINT32_MAX - 2 || ids_grow(ids) < 0) {
		return 0;
	}
	uint32_t id = hint;
	if (vgpu_renderer_ids_used(ids, id)) {
		/* Sequential from the last id handed out, wrapping, skipping
		 * live ones: terminates as the set is not full. */
		id = ids->next;
		while (vgpu_renderer_ids_used(ids, id)) {
			id = id >= UINT32_MAX - 1 ? 1 : id + 1;
		}
		ids->next = id >= UINT32_MAX - 1 ? 1 : id + 1;
	}
	ids_insert(ids, id);
	return id;
}

void vgpu_renderer_ids_free(struct vgpu_renderer_ids *ids, uint32_t id)
{
	if (id == 0 || id == UINT32_MAX) {
		return;
	}
	for (size_t i = id_hash(id, ids->cap), n = 0; n < ids->cap; i = (i + 1) & (ids->cap - 1), n++) {
		if (ids->slots[i] == 0) {
			return;
		}
		if (ids->slots[i] == id) {
			ids->slots[i] = UINT32_MAX;
			ids->n_live--;
			return;
		}
	}
}

/* ---- renderer ---- */

struct fence {
	struct fence *next;
	int32_t id;
	struct vgpu_renderer_client *client; /* NULL once the client is gone */
	vgpu_renderer_fence_func func;
	void *data;
};

struct res_map {
	uint32_t handle, res_id;
};

struct vgpu_renderer_client {
	struct vgpu_renderer *r;
	uint32_t ctx_id;
	char name[64];
	struct res_map *res;
	size_t n_res, cap_res;
	unsigned pending_fences;
};

struct vgpu_renderer {
	struct zl_loop *loop;
	struct zl_source *poll_src;  /* virglrenderer's poll fd (THREAD_SYNC) */
	struct zl_source *timer;     /* fallback when there is no poll fd */
	struct vgpu_renderer_ids *ctx_ids, *res_ids;
	struct fence *fence_head, *fence_tail;
	int32_t next_fence;
	uint32_t fence_done;       /* newest fence virglrenderer reported */
	bool fence_signalled;
	unsigned n_clients;
	char gl_name[128];
};

static struct vgpu_renderer *the_renderer; /* virglrenderer is process-global */

static void complete_fences(struct vgpu_renderer *r, uint32_t done)
{
	/* Legacy (ctx 0) fences retire in submission order and write_fence
	 * reports the newest, so everything up to 'done' has passed. */
	bool found = false;
	for (struct fence *f = r->fence_head; f; f = f->next) {
		if ((uint32_t)f->id == done) {
			found = true;
			break;
		}
	}
	while (found && r->fence_head) {
		struct fence *f = r->fence_head;
		r->fence_head = f->next;
		if (!r->fence_head) {
			r->fence_tail = NULL;
		}
		bool last = (uint32_t)f->id == done;
		if (f->client) {
			f->client->pending_fences--;
			if (f->func) {
				f->func(f->data);
			}
		}
		free(f);
		if (last) {
			break;
		}
	}
}

static void cb_write_fence(void *cookie, uint32_t fence)
{
	/* Only note it: the callbacks run client code that calls back into
	 * virglrenderer (submit, context destroy), which must not happen
	 * inside virgl_renderer_poll(). */
	struct vgpu_renderer *r = cookie;
	r->fence_done = fence;
	r->fence_signalled = true;
}

static void poll_fences(struct vgpu_renderer *r)
{
	virgl_renderer_poll();
	if (r->fence_signalled) {
		r->fence_signalled = false;
		complete_fences(r, r->fence_done);
	}
}

static void debug_cb(const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '\n') {
		buf[n - 1] = 0;
	}
	zl_dbg("virgl", "virglrenderer: %s", buf);
}

static void on_poll_fd(void *data, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	poll_fences(data);
}

static void on_timer(void *data)
{
	struct vgpu_renderer *r = data;
	poll_fences(r);
	if (!r->fence_head) {
		zl_source_timer_arm(r->timer, 0, 0);
	}
}

static struct virgl_renderer_callbacks callbacks = {
	.version = 1,
	.write_fence = cb_write_fence,
};

/* virglrenderer 0.10.4 dereferences NULL inside virgl_renderer_init() when
 * EGL has no usable display (no Mesa vendor, broken driver): try it in a
 * child first, so a machine without EGL costs the server its 3D only. */
static void probe_write_fence(void *cookie, uint32_t fence)
{
	(void)cookie;
	(void)fence;
}

static struct virgl_renderer_callbacks probe_callbacks = {
	.version = 1,
	.write_fence = probe_write_fence,
};

static bool init_survives(int flags)
{
	pid_t pid = fork();
	if (pid < 0) {
		return true; /* cannot probe: take the chance */
	}
	if (pid == 0) {
		static int cookie;
		_exit(virgl_renderer_init(&cookie, flags, &probe_callbacks) == 0 ? 0 : 1);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			return true;
		}
	}
	if (WIFSIGNALED(status)) {
		zl_err("renderer: virglrenderer crashed initialising EGL (signal %d)",
			WTERMSIG(status));
		return false;
	}
	if (WEXITSTATUS(status) != 0) {
		zl_err("renderer: virglrenderer cannot initialise EGL surfaceless");
		return false;
	}
	return true;
}

struct vgpu_renderer *vgpu_renderer_create(struct zl_loop *loop,
	const struct vgpu_renderer_config *config)
{
	if (the_renderer) {
		zl_err("renderer: virglrenderer is already initialised");
		return NULL;
	}
	if (config && config->render_node) {
		zl_err("renderer: render-node=%s: GBM rendering is not implemented yet",
			config->render_node);
		return NULL;
	}
	struct vgpu_renderer *r = calloc(1, sizeof(*r));
	if (!r) {
		return NULL;
	}
	r->loop = loop;
	r->next_fence = 1;
	r->ctx_ids = vgpu_renderer_ids_create();
	r->res_ids = vgpu_renderer_ids_create();
	if (!r->ctx_ids || !r->res_ids) {
		goto err_ids;
	}
	virgl_set_debug_callback(debug_cb);
	int flags = VIRGL_RENDERER_USE_EGL | VIRGL_RENDERER_USE_SURFACELESS |
		VIRGL_RENDERER_THREAD_SYNC;
	if (!init_survives(flags)) {
		goto err_ids;
	}
	int ret = virgl_renderer_init(r, flags, &callbacks);
	if (ret) {
		zl_err("renderer: virgl_renderer_init (EGL surfaceless) failed: %d", ret);
		goto err_ids;
	}
	int fd = virgl_renderer_get_poll_fd();
	if (fd >= 0) {
		r->poll_src = zl_loop_add_fd(loop, fd, EPOLLIN, on_poll_fd, r);
		if (!r->poll_src) {
			goto err_init;
		}
	} else {
		/* No fence thread (EGL without fence sync): poll on a timer,
		 * armed only while fences are outstanding. */
		zl_warn("renderer: no virglrenderer poll fd; polling fences every 1 ms");
		r->timer = zl_loop_add_timer(loop, on_timer, r);
		if (!r->timer) {
			goto err_init;
		}
	}
	uint32_t max_ver = 0, max_size = 0;
	virgl_renderer_get_cap_set(2, &max_ver, &max_size);
	snprintf(r->gl_name, sizeof(r->gl_name), "virglrenderer %s caps v%u",
		fd >= 0 ? "thread-sync" : "polled", max_ver);
	zl_info("renderer: virglrenderer on EGL surfaceless (%s)", r->gl_name);
	the_renderer = r;
	return r;

err_init:
	virgl_renderer_cleanup(r);
err_ids:
	vgpu_renderer_ids_destroy(r->ctx_ids);
	vgpu_renderer_ids_destroy(r->res_ids);
	free(r);
	return NULL;
}

void vgpu_renderer_destroy(struct vgpu_renderer *r)
{
	if (!r) {
		return;
	}
	if (r->n_clients) {
		zl_warn("renderer: destroyed with %u clients left", r->n_clients);
	}
	zl_source_remove(r->poll_src);
	zl_source_remove(r->timer);
	while (r->fence_head) {
		struct fence *f = r->fence_head;
		r->fence_head = f->next;
		free(f);
	}
	virgl_renderer_cleanup(r);
	vgpu_renderer_ids_destroy(r->ctx_ids);
	vgpu_renderer_ids_destroy(r->res_ids);
	the_renderer = NULL;
	free(r);
}

const char *vgpu_renderer_gl_name(struct vgpu_renderer *r)
{
	return r->gl_name;
}

int vgpu_renderer_get_caps(struct vgpu_renderer *r, uint32_t set, void **caps, uint32_t *size)
{
	(void)r;
	uint32_t max_ver = 0, max_size = 0;
	virgl_renderer_get_cap_set(set, &max_ver, &max_size);
	if (max_size == 0 || max_size > (1u << 20)) {
		return -ENOTSUP;
	}
	void *buf = calloc(1, max_size);
	if (!buf) {
		return -ENOMEM;
	}
	virgl_renderer_fill_caps(set, max_ver, buf);
	*caps = buf;
	*size = max_size;
	return 0;
}

struct vgpu_renderer_client *vgpu_renderer_client_create(struct vgpu_renderer *r,
	const char *name)
{
	struct vgpu_renderer_client *c = calloc(1, sizeof(*c));
	if (!c) {
		return NULL;
	}
	c->r = r;
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
	c->ctx_id = vgpu_renderer_ids_alloc(r->ctx_ids, 0);
	if (c->ctx_id == 0 || c->ctx_id > INT32_MAX) {
		goto err;
	}
	if (virgl_renderer_context_create(c->ctx_id, (uint32_t)strlen(c->name), c->name)) {
		zl_warn("renderer: context %u (%s) creation failed", c->ctx_id, c->name);
		vgpu_renderer_ids_free(r->ctx_ids, c->ctx_id);
		goto err;
	}
	r->n_clients++;
	return c;
err:
	free(c);
	return NULL;
}

static struct res_map *find_res(struct vgpu_renderer_client *c, uint32_t handle)
{
	for (size_t i = 0; i < c->n_res; i++) {
		if (c->res[i].handle == handle) {
			return &c->res[i];
		}
	}
	return NULL;
}

void vgpu_renderer_client_destroy(struct vgpu_renderer_client *c)
{
	if (!c) {
		return;
	}
	for (struct fence *f = c->r->fence_head; f; f = f->next) {
		if (f->client == c) {
			f->client = NULL;
		}
	}
	for (size_t i = 0; i < c->n_res; i++) {
		struct iovec *iov = NULL;
		int n = 0;
		virgl_renderer_ctx_detach_resource((int)c->ctx_id, (int)c->res[i].res_id);
		virgl_renderer_resource_detach_iov((int)c->res[i].res_id, &iov, &n);
		virgl_renderer_resource_unref(c->res[i].res_id);
		vgpu_renderer_ids_free(c->r->res_ids, c->res[i].res_id);
	}
	virgl_renderer_context_destroy(c->ctx_id);
	vgpu_renderer_ids_free(c->r->ctx_ids, c->ctx_id);
	c->r->n_clients--;
	free(c->res);
	free(c);
}

int vgpu_renderer_resource_create(struct vgpu_renderer_client *c, uint32_t handle,
	const struct vgpu_renderer_resource_args *a, struct iovec *backing, int n_backing,
	uint32_t *res_id)
{
	if (handle == 0 || find_res(c, handle)) {
		return -EEXIST;
	}
	if (c->n_res == c->cap_res) {
		size_t cap = c->cap_res ? c->cap_res * 2 : 16;
		if (cap > (1u << 20)) {
			return -ENOSPC;
		}
		struct res_map *m = realloc(c->res, cap * sizeof(*m));
		if (!m) {
			return -ENOMEM;
		}
		c->res = m;
		c->cap_res = cap;
	}
	/* Prefer the client's own number: a command stream names resources
	 * by id, and until streams are rewritten only identity works. */
	uint32_t id = vgpu_renderer_ids_alloc(c->r->res_ids, handle);
	if (id == 0 || id > INT32_MAX) {
		vgpu_renderer_ids_free(c->r->res_ids, id);
		return -ENOSPC;
	}
	struct virgl_renderer_resource_create_args args = {
		.handle = id, .target = a->target, .format = a->format, .bind = a->bind,
		.width = a->width, .height = a->height, .depth = a->depth,
		.array_size = a->array_size, .last_level = a->last_level,
		.nr_samples = a->nr_samples, .flags = a->flags,
	};
	/* Create bare, attach, then give the backing, as virglrenderer's own
	 * vtest server does. */
	int ret = virgl_renderer_resource_create(&args, NULL, 0);
	if (ret) {
		zl_dbg("virgl", "renderer %s: resource %u (target %u format %u bind 0x%x %ux%ux%u) "
			"refused: %d", c->name, id, a->target, a->format, a->bind, a->width,
			a->height, a->depth, ret);
		vgpu_renderer_ids_free(c->r->res_ids, id);
		return ret < 0 ? ret : -EINVAL;
	}
	virgl_renderer_ctx_attach_resource((int)c->ctx_id, (int)id);
	if (backing && n_backing > 0) {
		ret = virgl_renderer_resource_attach_iov((int)id, backing, n_backing);
		if (ret) {
			virgl_renderer_ctx_detach_resource((int)c->ctx_id, (int)id);
			virgl_renderer_resource_unref(id);
			vgpu_renderer_ids_free(c->r->res_ids, id);
			return ret < 0 ? ret : -EINVAL;
		}
	}
	zl_dbg("virgl", "renderer %s: ctx %u resource %u (handle %u)", c->name, c->ctx_id, id, handle);
	c->res[c->n_res++] = (struct res_map){ handle, id };
	*res_id = id;
	return 0;
}

int vgpu_renderer_resource_unref(struct vgpu_renderer_client *c, uint32_t handle)
{
	struct res_map *m = find_res(c, handle);
	if (!m) {
		return -ENOENT;
	}
	virgl_renderer_ctx_detach_resource((int)c->ctx_id, (int)m->res_id);
	/* Detach the backing first so virglrenderer does not free it: the
	 * caller owns it. */
	struct iovec *iov = NULL;
	int n = 0;
	virgl_renderer_resource_detach_iov((int)m->res_id, &iov, &n);
	virgl_renderer_resource_unref(m->res_id);
	vgpu_renderer_ids_free(c->r->res_ids, m->res_id);
	*m = c->res[--c->n_res];
	return 0;
}

uint32_t vgpu_renderer_resource_id(struct vgpu_renderer_client *c, uint32_t handle)
{
	struct res_map *m = find_res(c, handle);
	return m ? m->res_id : 0;
}

int vgpu_renderer_submit(struct vgpu_renderer_client *c, const uint32_t *dw, uint32_t ndw)
{
	if (ndw == 0) {
		return 0;
	}
	if (ndw > INT32_MAX) {
		return -EINVAL;
	}
	/* virglrenderer decodes in place but does not write the buffer. */
	int ret = virgl_renderer_submit_cmd((void *)(uintptr_t)dw, (int)c->ctx_id, (int)ndw);
	return ret ? (ret < 0 ? ret : -EINVAL) : 0;
}

int vgpu_renderer_transfer(struct vgpu_renderer_client *c, uint32_t handle, bool to_host,
	uint32_t level, uint32_t stride, uint32_t layer_stride,
	const struct vgpu_renderer_box *box, uint64_t offset)
{
	struct res_map *m = find_res(c, handle);
	if (!m) {
		return -ENOENT;
	}
	struct vr_box b = { box->x, box->y, box->z, box->w, box->h, box->d };
	int ret;
	/* No iov: virglrenderer uses the attached backing and checks the box
	 * and offset against it. */
	if (to_host) {
		ret = virgl_renderer_transfer_write_iov(m->res_id, c->ctx_id, (int)level, stride,
			layer_stride, (struct virgl_box *)&b, offset, NULL, 0);
	} else {
		ret = virgl_renderer_transfer_read_iov(m->res_id, c->ctx_id, level, stride,
			layer_stride, (struct virgl_box *)&b, offset, NULL, 0);
	}
	return ret ? (ret < 0 ? ret : -EINVAL) : 0;
}

int vgpu_renderer_fence(struct vgpu_renderer_client *c, vgpu_renderer_fence_func func, void *data)
{
	struct vgpu_renderer *r = c->r;
	struct fence *f = calloc(1, sizeof(*f));
	if (!f) {
		return -ENOMEM;
	}
	f->id = r->next_fence;
	r->next_fence = r->next_fence == INT32_MAX ? 1 : r->next_fence + 1;
	f->client = c;
	f->func = func;
	f->data = data;
	int ret = virgl_renderer_create_fence(f->id, c->ctx_id);
	if (ret) {
		free(f);
		return ret < 0 ? ret : -EINVAL;
	}
	if (r->fence_tail) {
		r->fence_tail->next = f;
	} else {
		r->fence_head = f;
	}
	r->fence_tail = f;
	c->pending_fences++;
	if (r->timer) {
		zl_source_timer_arm(r->timer, 1000000, 1000000);
	}
	return 0;
}

bool vgpu_renderer_client_busy(struct vgpu_renderer_client *c)
{
	return c->pending_fences > 0;
}
