/* SPDX-License-Identifier: MIT */
#ifndef VGPU_RENDERER_H
#define VGPU_RENDERER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* The one virglrenderer instance of the whole server, shared by every client
 * (each guest, each vtest connection). virglrenderer is process-global, so
 * there is at most one vgpu_renderer. It renders headless: EGL surfaceless
 * on Mesa (llvmpipe without a GPU), or GBM on a render node when one is given.
 *
 * Every client gets a vgpu_renderer_client: its own namespace of context and
 * resource handles. Handles are mapped to renderer-wide ids, command streams
 * are rewritten to those ids (virgl-cs.h) and a resource is attached only to
 * its owner's contexts, so no client can name another client's objects.
 *
 * Fences complete on the zl_loop: virglrenderer's poll fd (THREAD_SYNC) is a
 * loop source, so nothing polls on the frame path. */

struct zl_loop;
struct vgpu_renderer;
struct vgpu_renderer_client;

struct vgpu_renderer_config {
	/* NULL: EGL surfaceless. A DRM render node: GBM on it. */
	const char *render_node;
};

/* NULL (and logs why) if virglrenderer or EGL cannot initialise, or if a
 * renderer already exists. The loop is borrowed and must outlive it. */
struct vgpu_renderer *vgpu_renderer_create(struct zl_loop *loop,
	const struct vgpu_renderer_config *config);
/* Accepts NULL. All clients must be destroyed first. */
void vgpu_renderer_destroy(struct vgpu_renderer *r);

/* The compositor's GL: makes the root context of the renderer's EGL share
 * group current (egl.h), in which every resource's texture can be sampled.
 * All GL calls of the compositor sit between begin and end; end gives GL
 * back to virglrenderer. 0 or -EIO. */
int vgpu_renderer_gl_begin(struct vgpu_renderer *r);
void vgpu_renderer_gl_end(struct vgpu_renderer *r);
/* Is GL a software rasterizer (llvmpipe: no GPU)? */
bool vgpu_renderer_gl_is_software(struct vgpu_renderer *r);

/* Capset 'set' (2: virgl2) at its highest version into a malloc'd buffer the
 * caller frees. 0 or negative errno. */
int vgpu_renderer_get_caps(struct vgpu_renderer *r, uint32_t set, void **caps, uint32_t *size);

/* The highest version and the size of capset 'set'; -ENOTSUP if none. */
int vgpu_renderer_capset_info(struct vgpu_renderer *r, uint32_t set, uint32_t *max_version,
	uint32_t *size);

/* How the renderer runs (fence mode, capset version), for logs. */
const char *vgpu_renderer_gl_name(struct vgpu_renderer *r);

/* A client: one guest, or one vtest connection. It is a namespace: its
 * context handles and resource handles are its own, mapped to renderer-wide
 * ids; name is for logs and virglrenderer's debug output. */
struct vgpu_renderer_client *vgpu_renderer_client_create(struct vgpu_renderer *r,
	const char *name);
/* Accepts NULL. Destroys its contexts and unrefs its resources (their
 * backings are detached, not freed: they belong to the caller). Pending
 * fence callbacks are dropped. Nothing of any other client is touched. */
void vgpu_renderer_client_destroy(struct vgpu_renderer_client *c);

/* A GL context the client calls 'ctx' (non-zero, unused by this client).
 * capset_id: 0 (default), 1 (virgl) or 2 (virgl2), as virtio-gpu's
 * context_init carries it. -EEXIST, -EINVAL, -ENOSPC, or virglrenderer's
 * refusal. */
int vgpu_renderer_ctx_create(struct vgpu_renderer_client *c, uint32_t ctx, uint32_t capset_id,
	const char *name);
/* -ENOENT if the client has no such context. Its pending fences are dropped. */
int vgpu_renderer_ctx_destroy(struct vgpu_renderer_client *c, uint32_t ctx);
/* Make the client's resource 'handle' usable by its context 'ctx' (or not).
 * -ENOENT if either is not the client's. */
int vgpu_renderer_ctx_attach(struct vgpu_renderer_client *c, uint32_t ctx, uint32_t handle);
int vgpu_renderer_ctx_detach(struct vgpu_renderer_client *c, uint32_t ctx, uint32_t handle);

struct vgpu_renderer_resource_args {
	uint32_t target, format, bind, width, height, depth;
	uint32_t array_size, last_level, nr_samples, flags;
};

/* Creates the resource the client calls 'handle' (non-zero, unused by this
 * client), attached to no context. The renderer-wide id is in *res_id
 * (may be NULL). */
int vgpu_renderer_resource_create(struct vgpu_renderer_client *c, uint32_t handle,
	const struct vgpu_renderer_resource_args *args, uint32_t *res_id);
/* Backing store: iov (the array is copied; the memory it points to stays the
 * caller's and must stay valid until detached or the resource unref'd).
 * Attaching replaces a previous backing. */
int vgpu_renderer_resource_attach_backing(struct vgpu_renderer_client *c, uint32_t handle,
	const struct iovec *iov, int n_iov);
void vgpu_renderer_resource_detach_backing(struct vgpu_renderer_client *c, uint32_t handle);
/* Detaches it from every context and destroys it. */
int vgpu_renderer_resource_unref(struct vgpu_renderer_client *c, uint32_t handle);
/* The renderer-wide id of the client's handle, or 0 if it has none. */
uint32_t vgpu_renderer_resource_id(struct vgpu_renderer_client *c, uint32_t handle);

struct vgpu_renderer_resource_info {
	uint32_t width, height, depth, format; /* virgl (pipe) format */
	uint32_t gl_texture;                   /* 0: none */
	bool y0_top;
};
int vgpu_renderer_resource_info(struct vgpu_renderer_client *c, uint32_t handle,
	struct vgpu_renderer_resource_info *info);

/* Runs a virgl command stream in the client's context 'ctx'. dw is the
 * caller's private copy (never memory a guest can still write): the
 * resource handles in it are rewritten in place to renderer-wide ids
 * first, and a stream naming a resource the client does not have, or a
 * command we do not know, is refused whole (-ENOENT, -ENOTSUP, -EINVAL).
 * Here and in transfer and fence, -ENXIO means no such context. */
int vgpu_renderer_submit(struct vgpu_renderer_client *c, uint32_t ctx, uint32_t *dw, uint32_t ndw);

struct vgpu_renderer_box {
	uint32_t x, y, z, w, h, d;
};
/* Copy between the resource and memory at byte offset 'offset' (stride 0:
 * the resource's natural stride): iov NULL means the attached backing,
 * else the given memory (n_iov entries). ctx 0 runs it outside any of the
 * client's contexts. virglrenderer checks the box against the resource and
 * the span against the memory; callers check what the guest gave first. */
int vgpu_renderer_transfer(struct vgpu_renderer_client *c, uint32_t ctx, uint32_t handle,
	bool to_host, uint32_t level, uint32_t stride, uint32_t layer_stride,
	const struct vgpu_renderer_box *box, uint64_t offset, const struct iovec *iov, int n_iov);

/* Queues a fence after everything the client submitted so far; func runs
 * from the loop once the GPU has passed it, never from inside this call nor
 * from inside virglrenderer, so it may submit or destroy the client.
 * ctx 0: the renderer-wide timeline (fences retire in the order they were
 * queued, across clients); else the timeline 'ring_idx' of that context of
 * the client (fences of one timeline retire in order). */
typedef void (*vgpu_renderer_fence_func)(void *data);
int vgpu_renderer_fence(struct vgpu_renderer_client *c, uint32_t ctx, uint32_t ring_idx,
	vgpu_renderer_fence_func func, void *data);
/* true while a fence of this client is outstanding (its callback has not run). */
bool vgpu_renderer_client_busy(struct vgpu_renderer_client *c);
/* true while the GPU has not passed every fence of this client: asks
 * virglrenderer now, so it may be false while callbacks are still to run
 * (from the loop). For answering a client that waits on the GPU without a
 * trip through the loop. */
bool vgpu_renderer_client_busy_now(struct vgpu_renderer_client *c);

/* The id allocator, exposed for tests: renderer-wide ids for the given
 * namespace, never 0, never reused while live. */
struct vgpu_renderer_ids;
struct vgpu_renderer_ids *vgpu_renderer_ids_create(void);
void vgpu_renderer_ids_destroy(struct vgpu_renderer_ids *ids);
/* Allocates an id, preferring 'hint' if free (0: any). 0 when exhausted. */
uint32_t vgpu_renderer_ids_alloc(struct vgpu_renderer_ids *ids, uint32_t hint);
void vgpu_renderer_ids_free(struct vgpu_renderer_ids *ids, uint32_t id);
bool vgpu_renderer_ids_used(const struct vgpu_renderer_ids *ids, uint32_t id);

#endif
