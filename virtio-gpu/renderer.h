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
 * Every client gets a vgpu_renderer_client: its own virglrenderer context and
 * its own namespace of resource handles. Handles are mapped to renderer-wide
 * resource ids, and a resource is attached only to its owner's context, so
 * virglrenderer refuses any command stream naming another client's objects.
 *
 * Fences complete on the zl_loop: virglrenderer's poll fd (THREAD_SYNC) is a
 * loop source, so nothing polls on the frame path. */

struct zl_loop;
struct vgpu_renderer;
struct vgpu_renderer_client;

struct vgpu_renderer_config {
	/* NULL: EGL surfaceless. A DRM render node: GBM on it (not yet). */
	const char *render_node;
};

/* NULL (and logs why) if virglrenderer or EGL cannot initialise, or if a
 * renderer already exists. The loop is borrowed and must outlive it. */
struct vgpu_renderer *vgpu_renderer_create(struct zl_loop *loop,
	const struct vgpu_renderer_config *config);
/* Accepts NULL. All clients must be destroyed first. */
void vgpu_renderer_destroy(struct vgpu_renderer *r);

/* Capset 'set' (2: virgl2) at its highest version into a malloc'd buffer the
 * caller frees. 0 or negative errno. */
int vgpu_renderer_get_caps(struct vgpu_renderer *r, uint32_t set, void **caps, uint32_t *size);

/* How the renderer runs (fence mode, capset version), for logs. */
const char *vgpu_renderer_gl_name(struct vgpu_renderer *r);

/* A client context; name is for logs and virglrenderer's debug output. */
struct vgpu_renderer_client *vgpu_renderer_client_create(struct vgpu_renderer *r,
	const char *name);
/* Accepts NULL. Unrefs its resources, destroys its context. Pending fence
 * callbacks are dropped. */
void vgpu_renderer_client_destroy(struct vgpu_renderer_client *c);

struct vgpu_renderer_resource_args {
	uint32_t target, format, bind, width, height, depth;
	uint32_t array_size, last_level, nr_samples, flags;
};

/* Creates the resource the client calls 'handle' (non-zero, unused by this
 * client) and attaches it to the client's context. backing (may be NULL)
 * stays owned by the caller and must stay valid until the resource is
 * unreferenced. The renderer-wide id is in *res_id. */
int vgpu_renderer_resource_create(struct vgpu_renderer_client *c, uint32_t handle,
	const struct vgpu_renderer_resource_args *args, struct iovec *backing, int n_backing,
	uint32_t *res_id);
int vgpu_renderer_resource_unref(struct vgpu_renderer_client *c, uint32_t handle);
/* The renderer-wide id of the client's handle, or 0 if it has none. */
uint32_t vgpu_renderer_resource_id(struct vgpu_renderer_client *c, uint32_t handle);

/* Decode and run a virgl command stream in the client's context. */
int vgpu_renderer_submit(struct vgpu_renderer_client *c, const uint32_t *dw, uint32_t ndw);

struct vgpu_renderer_box {
	uint32_t x, y, z, w, h, d;
};
/* Copy between the resource and its backing at byte offset 'offset'
 * (stride 0: the resource's natural stride). */
int vgpu_renderer_transfer(struct vgpu_renderer_client *c, uint32_t handle, bool to_host,
	uint32_t level, uint32_t stride, uint32_t layer_stride,
	const struct vgpu_renderer_box *box, uint64_t offset);

/* Queues a fence after everything the client submitted so far; func runs
 * from the loop once the GPU has passed it, never from inside this call nor
 * from inside virglrenderer, so it may submit or destroy the client. */
typedef void (*vgpu_renderer_fence_func)(void *data);
int vgpu_renderer_fence(struct vgpu_renderer_client *c, vgpu_renderer_fence_func func, void *data);
/* true while a fence of this client is outstanding. */
bool vgpu_renderer_client_busy(struct vgpu_renderer_client *c);

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
