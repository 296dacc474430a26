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
/* Per-context fences (write_context_fence, context_create_fence) are
 * behind this in 0.10.4's header, as QEMU uses them. */
#define VIRGL_RENDERER_UNSTABLE_APIS 1
#include <virgl/virglrenderer.h>

#include "util/log.h"
#include "util/loop.h"
#include "egl.h"
#include "virgl-cs.h"

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

#define VIRGL_RESOURCE_Y_0_TOP (1u << 0) /* virgl_hw.h, not installed */
#define MAX_CTX_PER_CLIENT 1024
#define MAX_RES_PER_CLIENT (1u << 20)

struct fence {
	struct fence *next;
	uint64_t id;               /* renderer-wide: ctx-0 fences use the low 31 bits */
	uint32_t ctx_id;           /* renderer-wide context, 0: the global timeline */
	uint32_t ring_idx;
	bool signalled;
	struct vgpu_renderer_client *client; /* NULL once the client (or ctx) is gone */
	vgpu_renderer_fence_func func;
	void *data;
};

struct res {
	struct res *hash_next;
	uint32_t handle, res_id;
	struct iovec *iov;         /* copy of the backing's iovec array, or NULL */
	int n_iov;
};

struct ctx {
	uint32_t handle, ctx_id;
};

struct vgpu_renderer_client {
	struct vgpu_renderer *r;
	char name[64];
	struct ctx *ctxs;
	size_t n_ctx, cap_ctx;
	struct res **buckets;      /* chained hash of resources by handle */
	unsigned n_buckets, n_res;
	unsigned pending_fences;
};

struct vgpu_renderer {
	struct zl_loop *loop;
	struct zl_source *poll_src;  /* virglrenderer's poll fd (THREAD_SYNC) */
	struct zl_source *timer;     /* fallback when there is no poll fd */
	struct zl_source *soon;      /* completes fences signalled by us, not the GPU */
	struct vgpu_renderer_ids *ctx_ids, *res_ids;
	struct fence *fence_head, *fence_tail;
	uint64_t next_fence;
	bool fence_signalled;
	unsigned n_clients;
	struct vgpu_egl *egl;
	char gl_name[128];
};

static struct vgpu_renderer *the_renderer; /* virglrenderer is process-global */

/* Runs and frees the signalled fences, in queue order. Callbacks may create
 * fences (appended: seen by this walk or the next) or destroy clients (which
 * only clears f->client), never free list entries. */
static void complete_fences(struct vgpu_renderer *r)
{
	struct fence **pp = &r->fence_head;
	struct fence *prev = NULL;
	while (*pp) {
		struct fence *f = *pp;
		if (!f->signalled) {
			prev = f;
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		if (r->fence_tail == f) {
			r->fence_tail = prev;
		}
		if (f->client) {
			f->client->pending_fences--;
			if (f->func) {
				f->func(f->data);
			}
		}
		free(f);
	}
}

/* The callbacks only mark fences: completing them runs client code that
 * calls back into virglrenderer (submit, context destroy), which must not
 * happen inside virgl_renderer_poll(). */
static void cb_write_fence(void *cookie, uint32_t fence)
{
	/* The global timeline retires in queue order and reports the newest. */
	struct vgpu_renderer *r = cookie;
	bool found = false;
	for (struct fence *f = r->fence_head; f && !found; f = f->next) {
		found = f->ctx_id == 0 && (uint32_t)f->id == fence;
	}
	for (struct fence *f = r->fence_head; found && f; f = f->next) {
		if (f->ctx_id == 0) {
			f->signalled = true;
			if ((uint32_t)f->id == fence) {
				break;
			}
		}
	}
	r->fence_signalled |= found;
}

static void cb_write_context_fence(void *cookie, uint32_t ctx_id, uint32_t ring_idx,
	uint64_t fence_id)
{
	/* A context timeline retires in order: everything up to fence_id. */
	struct vgpu_renderer *r = cookie;
	for (struct fence *f = r->fence_head; f; f = f->next) {
		if (f->ctx_id == ctx_id && f->ring_idx == ring_idx && f->id <= fence_id) {
			f->signalled = true;
			r->fence_signalled = true;
		}
	}
}

static void poll_fences(struct vgpu_renderer *r)
{
	virgl_renderer_poll();
	if (r->fence_signalled) {
		r->fence_signalled = false;
		complete_fences(r);
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

static void on_soon(void *data)
{
	struct vgpu_renderer *r = data;
	r->fence_signalled = false;
	complete_fences(r);
}

/* virglrenderer draws in contexts of our EGL (egl.h), so that they share
 * objects with the compositor's: a guest's scanout texture is sampled where
 * it lies. */
static virgl_renderer_gl_context cb_create_gl_context(void *cookie, int scanout_idx,
	struct virgl_renderer_gl_ctx_param *param)
{
	struct vgpu_renderer *r = cookie;
	(void)scanout_idx;
	/* param->shared or not, every context joins the one share group. */
	return vgpu_egl_context_create(r->egl, param->major_ver, param->minor_ver);
}

static void cb_destroy_gl_context(void *cookie, virgl_renderer_gl_context ctx)
{
	struct vgpu_renderer *r = cookie;
	vgpu_egl_context_destroy(r->egl, ctx);
}

static int cb_make_current(void *cookie, int scanout_idx, virgl_renderer_gl_context ctx)
{
	struct vgpu_renderer *r = cookie;
	(void)scanout_idx;
	return vgpu_egl_make_current(r->egl, ctx);
}

static void *cb_get_egl_display(void *cookie)
{
	struct vgpu_renderer *r = cookie;
	return vgpu_egl_display(r->egl);
}

static struct virgl_renderer_callbacks callbacks = {
	.version = 4,
	.write_fence = cb_write_fence,
	.create_gl_context = cb_create_gl_context,
	.destroy_gl_context = cb_destroy_gl_context,
	.make_current = cb_make_current,
	.write_context_fence = cb_write_context_fence,
	.get_egl_display = cb_get_egl_display,
};

/* EGL and virglrenderer, in this process. */
static int init_gl(struct vgpu_renderer *r, int flags, const char *render_node)
{
	r->egl = vgpu_egl_create(render_node);
	if (!r->egl) {
		return -ENODEV;
	}
	int ret = virgl_renderer_init(r, flags, &callbacks);
	if (ret) {
		zl_err("renderer: virgl_renderer_init failed: %d", ret);
		vgpu_egl_destroy(r->egl);
		r->egl = NULL;
		return -ENODEV;
	}
	return 0;
}

/* virglrenderer 0.10.4 can crash inside virgl_renderer_init() on a broken
 * EGL (no Mesa vendor, a driver that fails half-way): try it in a child
 * first, so a machine without working GL costs the server its 3D only. */
static bool init_survives(int flags, const char *render_node)
{
	pid_t pid = fork();
	if (pid < 0) {
		return true; /* cannot probe: take the chance */
	}
	if (pid == 0) {
		struct vgpu_renderer probe = { 0 };
		zl_log_init(ZL_SILENT); /* the parent says why, once */
		_exit(init_gl(&probe, flags, render_node) == 0 ? 0 : 1);
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
	/* A clean failure: the parent's own attempt says why. */
	return true;
}

struct vgpu_renderer *vgpu_renderer_create(struct zl_loop *loop,
	const struct vgpu_renderer_config *config)
{
	if (the_renderer) {
		zl_err("renderer: virglrenderer is already initialised");
		return NULL;
	}
	const char *node = config ? config->render_node : NULL;
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
	int flags = VIRGL_RENDERER_THREAD_SYNC;
	if (!init_survives(flags, node) || init_gl(r, flags, node) < 0) {
		goto err_ids;
	}
	r->soon = zl_loop_add_timer(loop, on_soon, r);
	if (!r->soon) {
		goto err_init;
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
	zl_info("renderer: virglrenderer on %s (%s)", node ? node : "EGL surfaceless", r->gl_name);
	the_renderer = r;
	return r;

err_init:
	zl_source_remove(r->soon);
	zl_source_remove(r->poll_src);
	virgl_renderer_cleanup(r);
	vgpu_egl_destroy(r->egl);
err_ids:
	vgpu_renderer_ids_destroy(r->ctx_ids);
	vgpu_renderer_ids_destroy(r->res_ids);
	free(r);
	return NULL;
}

int vgpu_renderer_gl_begin(struct vgpu_renderer *r)
{
	return vgpu_egl_make_current(r->egl, vgpu_egl_root(r->egl));
}

bool vgpu_renderer_gl_is_software(struct vgpu_renderer *r)
{
	return vgpu_egl_is_software(r->egl);
}

void vgpu_renderer_gl_end(struct vgpu_renderer *r)
{
	(void)r;
	/* virglrenderer caches which of its contexts is current: make it
	 * switch back for real on its next call. */
	virgl_renderer_force_ctx_0();
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
	zl_source_remove(r->soon);
	while (r->fence_head) {
		struct fence *f = r->fence_head;
		r->fence_head = f->next;
		free(f);
	}
	virgl_renderer_cleanup(r);
	vgpu_egl_destroy(r->egl);
	vgpu_renderer_ids_destroy(r->ctx_ids);
	vgpu_renderer_ids_destroy(r->res_ids);
	the_renderer = NULL;
	free(r);
}

const char *vgpu_renderer_gl_name(struct vgpu_renderer *r)
{
	return r->gl_name;
}

int vgpu_renderer_capset_info(struct vgpu_renderer *r, uint32_t set, uint32_t *max_version,
	uint32_t *size)
{
	(void)r;
	uint32_t max_ver = 0, max_size = 0;
	virgl_renderer_get_cap_set(set, &max_ver, &max_size);
	if (max_ver == 0 || max_size == 0 || max_size > (1u << 20)) {
		return -ENOTSUP;
	}
	*max_version = max_ver;
	*size = max_size;
	return 0;
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
	c->n_buckets = 64;
	c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->r = r;
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
	r->n_clients++;
	return c;
}

/* ---- the client's namespaces ---- */

static unsigned res_bucket(const struct vgpu_renderer_client *c, uint32_t handle)
{
	/* Handles come from guests: mixing keeps one chain from growing with
	 * handles picked to collide under a plain modulo. */
	uint32_t h = handle * 2654435761u;
	h ^= h >> 15;
	return h & (c->n_buckets - 1);
}

static struct res *find_res(const struct vgpu_renderer_client *c, uint32_t handle)
{
	for (struct res *e = c->buckets[res_bucket(c, handle)]; e; e = e->hash_next) {
		if (e->handle == handle) {
			return e;
		}
	}
	return NULL;
}

static void res_grow(struct vgpu_renderer_client *c)
{
	if (c->n_res < c->n_buckets || c->n_buckets >= (1u << 20)) {
		return;
	}
	unsigned n = c->n_buckets * 2;
	struct res **b = calloc(n, sizeof(*b));
	if (!b) {
		return; /* longer chains, still correct */
	}
	struct res **old = c->buckets;
	unsigned old_n = c->n_buckets;
	c->buckets = b;
	c->n_buckets = n;
	for (unsigned i = 0; i < old_n; i++) {
		while (old[i]) {
			struct res *e = old[i];
			old[i] = e->hash_next;
			unsigned k = res_bucket(c, e->handle);
			e->hash_next = b[k];
			b[k] = e;
		}
	}
	free(old);
}

static struct ctx *find_ctx(const struct vgpu_renderer_client *c, uint32_t handle)
{
	for (size_t i = 0; i < c->n_ctx; i++) {
		if (c->ctxs[i].handle == handle) {
			return &c->ctxs[i];
		}
	}
	return NULL;
}

static void drop_fences_of(struct vgpu_renderer *r, struct vgpu_renderer_client *c,
	uint32_t ctx_id)
{
	for (struct fence *f = r->fence_head; f; f = f->next) {
		if (f->client == c && (ctx_id == 0 || f->ctx_id == ctx_id)) {
			f->client = NULL;
			c->pending_fences--;
		}
	}
}

static void res_free(struct vgpu_renderer_client *c, struct res *e)
{
	/* Detach the backing first so virglrenderer does not free it: the
	 * caller owns it. Destroying the resource detaches it from every
	 * context that has it. */
	if (e->iov) {
		struct iovec *iov = NULL;
		int n = 0;
		virgl_renderer_resource_detach_iov((int)e->res_id, &iov, &n);
	}
	for (size_t i = 0; i < c->n_ctx; i++) {
		virgl_renderer_ctx_detach_resource((int)c->ctxs[i].ctx_id, (int)e->res_id);
	}
	virgl_renderer_resource_unref(e->res_id);
	vgpu_renderer_ids_free(c->r->res_ids, e->res_id);
	free(e->iov);
	free(e);
}

void vgpu_renderer_client_destroy(struct vgpu_renderer_client *c)
{
	if (!c) {
		return;
	}
	drop_fences_of(c->r, c, 0);
	for (unsigned i = 0; i < c->n_buckets; i++) {
		while (c->buckets[i]) {
			struct res *e = c->buckets[i];
			c->buckets[i] = e->hash_next;
			res_free(c, e);
		}
	}
	for (size_t i = 0; i < c->n_ctx; i++) {
		virgl_renderer_context_destroy(c->ctxs[i].ctx_id);
		vgpu_renderer_ids_free(c->r->ctx_ids, c->ctxs[i].ctx_id);
	}
	c->r->n_clients--;
	free(c->ctxs);
	free(c->buckets);
	free(c);
}

int vgpu_renderer_ctx_create(struct vgpu_renderer_client *c, uint32_t handle, uint32_t capset_id,
	const char *name)
{
	if (handle == 0 || find_ctx(c, handle)) {
		return -EEXIST;
	}
	/* virgl and virgl2 are the capsets this renderer offers. */
	if (capset_id > 2) {
		return -EINVAL;
	}
	if (c->n_ctx == c->cap_ctx) {
		size_t cap = c->cap_ctx ? c->cap_ctx * 2 : 4;
		if (cap > MAX_CTX_PER_CLIENT) {
			return -ENOSPC;
		}
		struct ctx *n = realloc(c->ctxs, cap * sizeof(*n));
		if (!n) {
			return -ENOMEM;
		}
		c->ctxs = n;
		c->cap_ctx = cap;
	}
	uint32_t id = vgpu_renderer_ids_alloc(c->r->ctx_ids, 0);
	if (id == 0 || id > INT32_MAX) {
		vgpu_renderer_ids_free(c->r->ctx_ids, id);
		return -ENOSPC;
	}
	char full[96];
	snprintf(full, sizeof(full), "%s%s%s", c->name, name && *name ? "/" : "", name ? name : "");
	int ret = capset_id ?
		virgl_renderer_context_create_with_flags(id, capset_id, (uint32_t)strlen(full), full) :
		virgl_renderer_context_create(id, (uint32_t)strlen(full), full);
	if (ret) {
		zl_warn("renderer: %s: context %u creation failed: %d", c->name, handle, ret);
		vgpu_renderer_ids_free(c->r->ctx_ids, id);
		return ret < 0 ? ret : -EINVAL;
	}
	c->ctxs[c->n_ctx++] = (struct ctx){ handle, id };
	zl_dbg("virgl", "renderer %s: ctx %u is renderer ctx %u", c->name, handle, id);
	return 0;
}

int vgpu_renderer_ctx_destroy(struct vgpu_renderer_client *c, uint32_t handle)
{
	struct ctx *x = find_ctx(c, handle);
	if (!x) {
		return -ENOENT;
	}
	/* Its timelines end with it: what waits on them completes (from the
	 * loop, soon) rather than never. */
	bool any = false;
	for (struct fence *f = c->r->fence_head; f; f = f->next) {
		if (f->client == c && f->ctx_id == x->ctx_id) {
			f->signalled = true;
			any = true;
		}
	}
	if (any) {
		c->r->fence_signalled = true;
		zl_source_timer_arm(c->r->soon, 1, 0);
	}
	virgl_renderer_context_destroy(x->ctx_id);
	vgpu_renderer_ids_free(c->r->ctx_ids, x->ctx_id);
	*x = c->ctxs[--c->n_ctx];
	return 0;
}

static int ctx_attach_detach(struct vgpu_renderer_client *c, uint32_t ctx, uint32_t handle,
	bool attach)
{
	struct ctx *x = find_ctx(c, ctx);
	struct res *e = find_res(c, handle);
	if (!x || !e) {
		return -ENOENT;
	}
	if (attach) {
		virgl_renderer_ctx_attach_resource((int)x->ctx_id, (int)e->res_id);
	} else {
		virgl_renderer_ctx_detach_resource((int)x->ctx_id, (int)e->res_id);
	}
	return 0;
}

int vgpu_renderer_ctx_attach(struct vgpu_renderer_client *c, uint32_t ctx, uint32_t handle)
{
	return ctx_attach_detach(c, ctx, handle, true);
}

int vgpu_renderer_ctx_detach(struct vgpu_renderer_client *c, uint32_t ctx, uint32_t handle)
{
	return ctx_attach_detach(c, ctx, handle, false);
}

int vgpu_renderer_resource_create(struct vgpu_renderer_client *c, uint32_t handle,
	const struct vgpu_renderer_resource_args *a, uint32_t *res_id)
{
	if (handle == 0 || find_res(c, handle)) {
		return -EEXIST;
	}
	if (c->n_res >= MAX_RES_PER_CLIENT) {
		return -ENOSPC;
	}
	struct res *e = calloc(1, sizeof(*e));
	if (!e) {
		return -ENOMEM;
	}
	/* The client's own number when it is free keeps logs readable; the
	 * command stream is rewritten either way. */
	uint32_t id = vgpu_renderer_ids_alloc(c->r->res_ids, handle);
	if (id == 0 || id > INT32_MAX) {
		vgpu_renderer_ids_free(c->r->res_ids, id);
		free(e);
		return -ENOSPC;
	}
	struct virgl_renderer_resource_create_args args = {
		.handle = id, .target = a->target, .format = a->format, .bind = a->bind,
		.width = a->width, .height = a->height, .depth = a->depth,
		.array_size = a->array_size, .last_level = a->last_level,
		.nr_samples = a->nr_samples, .flags = a->flags,
	};
	int ret = virgl_renderer_resource_create(&args, NULL, 0);
	if (ret) {
		zl_dbg("virgl", "renderer %s: resource %u (target %u format %u bind 0x%x %ux%ux%u) "
			"refused: %d", c->name, handle, a->target, a->format, a->bind, a->width,
			a->height, a->depth, ret);
		vgpu_renderer_ids_free(c->r->res_ids, id);
		free(e);
		return ret < 0 ? ret : -EINVAL;
	}
	e->handle = handle;
	e->res_id = id;
	unsigned k = res_bucket(c, handle);
	e->hash_next = c->buckets[k];
	c->buckets[k] = e;
	c->n_res++;
	res_grow(c);
	zl_dbg("virgl", "renderer %s: resource %u is renderer resource %u", c->name, handle, id);
	if (res_id) {
		*res_id = id;
	}
	return 0;
}

void vgpu_renderer_resource_detach_backing(struct vgpu_renderer_client *c, uint32_t handle)
{
	struct res *e = find_res(c, handle);
	if (!e || !e->iov) {
		return;
	}
	struct iovec *iov = NULL;
	int n = 0;
	virgl_renderer_resource_detach_iov((int)e->res_id, &iov, &n);
	free(e->iov);
	e->iov = NULL;
	e->n_iov = 0;
}

int vgpu_renderer_resource_attach_backing(struct vgpu_renderer_client *c, uint32_t handle,
	const struct iovec *iov, int n_iov)
{
	struct res *e = find_res(c, handle);
	if (!e) {
		return -ENOENT;
	}
	if (n_iov <= 0 || n_iov > (1 << 20)) {
		return -EINVAL;
	}
	/* virglrenderer keeps the array pointer: give it our own copy. */
	struct iovec *copy = malloc((size_t)n_iov * sizeof(*copy));
	if (!copy) {
		return -ENOMEM;
	}
	memcpy(copy, iov, (size_t)n_iov * sizeof(*copy));
	vgpu_renderer_resource_detach_backing(c, handle);
	int ret = virgl_renderer_resource_attach_iov((int)e->res_id, copy, n_iov);
	if (ret) {
		free(copy);
		return ret < 0 ? ret : -EINVAL;
	}
	e->iov = copy;
	e->n_iov = n_iov;
	return 0;
}

int vgpu_renderer_resource_unref(struct vgpu_renderer_client *c, uint32_t handle)
{
	for (struct res **pp = &c->buckets[res_bucket(c, handle)]; *pp; pp = &(*pp)->hash_next) {
		struct res *e = *pp;
		if (e->handle == handle) {
			*pp = e->hash_next;
			c->n_res--;
			res_free(c, e);
			return 0;
		}
	}
	return -ENOENT;
}

uint32_t vgpu_renderer_resource_id(struct vgpu_renderer_client *c, uint32_t handle)
{
	struct res *e = find_res(c, handle);
	return e ? e->res_id : 0;
}

int vgpu_renderer_resource_info(struct vgpu_renderer_client *c, uint32_t handle,
	struct vgpu_renderer_resource_info *info)
{
	struct res *e = find_res(c, handle);
	if (!e) {
		return -ENOENT;
	}
	struct virgl_renderer_resource_info vi;
	memset(&vi, 0, sizeof(vi));
	int ret = virgl_renderer_resource_get_info((int)e->res_id, &vi);
	if (ret) {
		return ret < 0 ? ret : -EINVAL;
	}
	*info = (struct vgpu_renderer_resource_info){
		.width = vi.width, .height = vi.height, .depth = vi.depth,
		.format = vi.virgl_format, .gl_texture = vi.tex_id,
		.y0_top = (vi.flags & VIRGL_RESOURCE_Y_0_TOP) != 0,
	};
	return 0;
}

static uint32_t cs_lookup(void *data, uint32_t handle)
{
	return vgpu_renderer_resource_id(data, handle);
}

int vgpu_renderer_submit(struct vgpu_renderer_client *c, uint32_t ctx, uint32_t *dw, uint32_t ndw)
{
	struct ctx *x = find_ctx(c, ctx);
	if (!x) {
		return -ENXIO;
	}
	if (ndw == 0) {
		return 0;
	}
	if (ndw > INT32_MAX) {
		return -EINVAL;
	}
	struct vgpu_cs_error err;
	int ret = vgpu_cs_rewrite(dw, ndw, cs_lookup, c, &err);
	if (ret < 0) {
		zl_dbg("virgl", "renderer %s: ctx %u: stream refused at dword %u (cmd %u obj %u): %s",
			c->name, ctx, err.offset, err.cmd, err.obj_type, err.msg);
		return ret;
	}
	ret = virgl_renderer_submit_cmd(dw, (int)x->ctx_id, (int)ndw);
	return ret ? (ret < 0 ? ret : -EINVAL) : 0;
}

int vgpu_renderer_transfer(struct vgpu_renderer_client *c, uint32_t ctx, uint32_t handle,
	bool to_host, uint32_t level, uint32_t stride, uint32_t layer_stride,
	const struct vgpu_renderer_box *box, uint64_t offset, const struct iovec *iov, int n_iov)
{
	struct res *e = find_res(c, handle);
	if (!e) {
		return -ENOENT;
	}
	uint32_t ctx_id = 0;
	if (ctx) {
		struct ctx *x = find_ctx(c, ctx);
		if (!x) {
			return -ENXIO;
		}
		ctx_id = x->ctx_id;
	}
	if (!iov && !e->iov) {
		return -EINVAL;
	}
	struct vr_box b = { box->x, box->y, box->z, box->w, box->h, box->d };
	int ret;
	/* virglrenderer checks the box and the span against the memory. */
	if (to_host) {
		ret = virgl_renderer_transfer_write_iov(e->res_id, ctx_id, (int)level, stride,
			layer_stride, (struct virgl_box *)&b, offset, (struct iovec *)iov,
			iov ? (unsigned)n_iov : 0);
	} else {
		ret = virgl_renderer_transfer_read_iov(e->res_id, ctx_id, level, stride,
			layer_stride, (struct virgl_box *)&b, offset, (struct iovec *)iov,
			iov ? n_iov : 0);
	}
	return ret ? (ret < 0 ? ret : -EINVAL) : 0;
}

int vgpu_renderer_fence(struct vgpu_renderer_client *c, uint32_t ctx, uint32_t ring_idx,
	vgpu_renderer_fence_func func, void *data)
{
	struct vgpu_renderer *r = c->r;
	uint32_t ctx_id = 0;
	if (ctx) {
		struct ctx *x = find_ctx(c, ctx);
		if (!x) {
			return -ENXIO;
		}
		ctx_id = x->ctx_id;
	} else if (ring_idx) {
		return -EINVAL;
	}
	struct fence *f = calloc(1, sizeof(*f));
	if (!f) {
		return -ENOMEM;
	}
	/* One counter for both kinds; the global timeline sees it as a
	 * positive int32, wrapping. */
	f->id = r->next_fence++;
	if (ctx_id == 0) {
		f->id = (f->id & INT32_MAX) ? (f->id & INT32_MAX) : 1;
	}
	f->ctx_id = ctx_id;
	f->ring_idx = ring_idx;
	f->client = c;
	f->func = func;
	f->data = data;
	int ret = ctx_id ? virgl_renderer_context_create_fence(ctx_id, 0, ring_idx, f->id) :
		virgl_renderer_create_fence((int)f->id, 0);
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

bool vgpu_renderer_client_busy_now(struct vgpu_renderer_client *c)
{
	struct vgpu_renderer *r = c->r;
	if (!c->pending_fences) {
		return false;
	}
	/* Only marks fences: their callbacks run from the loop, soon. */
	virgl_renderer_poll();
	if (r->fence_signalled) {
		r->fence_signalled = false;
		zl_source_timer_arm(r->soon, 1, 0);
	}
	for (struct fence *f = r->fence_head; f; f = f->next) {
		if (f->client == c && !f->signalled) {
			return true;
		}
	}
	return false;
}
