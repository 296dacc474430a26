/* SPDX-License-Identifier: MIT */
#ifndef VGPU_VIRGL_CS_H
#define VGPU_VIRGL_CS_H

#include <stdint.h>

/* The virgl command stream (virtio-gpu SUBMIT_3D, vtest SUBMIT_CMD) as
 * virglrenderer 0.10.4 decodes it (vrend_decode.c) and Mesa 22.3's virgl
 * driver emits it (virgl_encode.c). Every command is one header dword --
 * command in bits 0..7, object type in bits 8..15, payload length in dwords
 * in bits 16..31 -- followed by that many payload dwords. Offsets below count
 * from the header (dword 0), like the VIRGL_* field defines of
 * virgl_protocol.h.
 *
 * gpu-server runs one virglrenderer for every client, and virglrenderer
 * names resources by one renderer-wide id. Each client picks its own
 * resource handles, so every dword of a stream that names a resource is
 * rewritten from the client's handle to that id before the stream reaches
 * virgl_renderer_submit_cmd(). Object handles (CREATE/BIND/DESTROY_OBJECT,
 * sampler views, surfaces, queries, shaders, streamout targets) and
 * sub-context ids are per virglrenderer context and stay as they are. */

/* Command numbers (bits 0..7 of a header), as virglrenderer 0.10.4's
 * enum virgl_context_cmd numbers them. */
enum vgpu_cs_cmd {
	VGPU_CS_NOP = 0,
	VGPU_CS_CREATE_OBJECT = 1,
	VGPU_CS_BIND_OBJECT = 2,
	VGPU_CS_DESTROY_OBJECT = 3,
	VGPU_CS_SET_VIEWPORT_STATE = 4,
	VGPU_CS_SET_FRAMEBUFFER_STATE = 5,
	VGPU_CS_SET_VERTEX_BUFFERS = 6,
	VGPU_CS_CLEAR = 7,
	VGPU_CS_DRAW_VBO = 8,
	VGPU_CS_RESOURCE_INLINE_WRITE = 9,
	VGPU_CS_SET_SAMPLER_VIEWS = 10,
	VGPU_CS_SET_INDEX_BUFFER = 11,
	VGPU_CS_SET_CONSTANT_BUFFER = 12,
	VGPU_CS_SET_STENCIL_REF = 13,
	VGPU_CS_SET_BLEND_COLOR = 14,
	VGPU_CS_SET_SCISSOR_STATE = 15,
	VGPU_CS_BLIT = 16,
	VGPU_CS_RESOURCE_COPY_REGION = 17,
	VGPU_CS_BIND_SAMPLER_STATES = 18,
	VGPU_CS_BEGIN_QUERY = 19,
	VGPU_CS_END_QUERY = 20,
	VGPU_CS_GET_QUERY_RESULT = 21,
	VGPU_CS_SET_POLYGON_STIPPLE = 22,
	VGPU_CS_SET_CLIP_STATE = 23,
	VGPU_CS_SET_SAMPLE_MASK = 24,
	VGPU_CS_SET_STREAMOUT_TARGETS = 25,
	VGPU_CS_SET_RENDER_CONDITION = 26,
	VGPU_CS_SET_UNIFORM_BUFFER = 27,
	VGPU_CS_SET_SUB_CTX = 28,
	VGPU_CS_CREATE_SUB_CTX = 29,
	VGPU_CS_DESTROY_SUB_CTX = 30,
	VGPU_CS_BIND_SHADER = 31,
	VGPU_CS_SET_TESS_STATE = 32,
	VGPU_CS_SET_MIN_SAMPLES = 33,
	VGPU_CS_SET_SHADER_BUFFERS = 34,
	VGPU_CS_SET_SHADER_IMAGES = 35,
	VGPU_CS_MEMORY_BARRIER = 36,
	VGPU_CS_LAUNCH_GRID = 37,
	VGPU_CS_SET_FRAMEBUFFER_STATE_NO_ATTACH = 38,
	VGPU_CS_TEXTURE_BARRIER = 39,
	VGPU_CS_SET_ATOMIC_BUFFERS = 40,
	VGPU_CS_SET_DEBUG_FLAGS = 41,
	VGPU_CS_GET_QUERY_RESULT_QBO = 42,
	VGPU_CS_TRANSFER3D = 43,
	VGPU_CS_END_TRANSFERS = 44,
	VGPU_CS_COPY_TRANSFER3D = 45,
	VGPU_CS_SET_TWEAKS = 46,
	VGPU_CS_CLEAR_TEXTURE = 47,
	VGPU_CS_PIPE_RESOURCE_CREATE = 48,
	VGPU_CS_PIPE_RESOURCE_SET_TYPE = 49,
	VGPU_CS_GET_MEMORY_INFO = 50,
	VGPU_CS_SEND_STRING_MARKER = 51,
	VGPU_CS_LINK_SHADER = 52,
	VGPU_CS_CREATE_VIDEO_CODEC = 53, /* 53..61: video, refused */
	VGPU_CS_DESTROY_VIDEO_CODEC = 54,
	VGPU_CS_CREATE_VIDEO_BUFFER = 55,
	VGPU_CS_DESTROY_VIDEO_BUFFER = 56,
	VGPU_CS_BEGIN_FRAME = 57,
	VGPU_CS_DECODE_MACROBLOCK = 58,
	VGPU_CS_DECODE_BITSTREAM = 59,
	VGPU_CS_ENCODE_BITSTREAM = 60,
	VGPU_CS_END_FRAME = 61,
	VGPU_CS_CMD_COUNT = 62,
};

/* Object types of CREATE_OBJECT (bits 8..15), enum virgl_object_type. */
enum vgpu_cs_obj {
	VGPU_CS_OBJ_BLEND = 1,
	VGPU_CS_OBJ_RASTERIZER = 2,
	VGPU_CS_OBJ_DSA = 3,
	VGPU_CS_OBJ_SHADER = 4,
	VGPU_CS_OBJ_VERTEX_ELEMENTS = 5,
	VGPU_CS_OBJ_SAMPLER_VIEW = 6,
	VGPU_CS_OBJ_SAMPLER_STATE = 7,
	VGPU_CS_OBJ_SURFACE = 8,
	VGPU_CS_OBJ_QUERY = 9,
	VGPU_CS_OBJ_STREAMOUT_TARGET = 10,
	VGPU_CS_OBJ_MSAA_SURFACE = 11,
	VGPU_CS_OBJ_COUNT = 12,
};

#define VGPU_CS_HDR(cmd, obj, len) \
	((uint32_t)(cmd) | (uint32_t)(obj) << 8 | (uint32_t)(len) << 16)

/* The renderer-wide id of the client's resource 'handle' (never 0), or 0 if
 * the client has no such resource. Called only with handle != 0. */
typedef uint32_t (*vgpu_cs_lookup_func)(void *data, uint32_t handle);

/* Where and why a stream was refused. */
struct vgpu_cs_error {
	uint32_t offset;   /* dword offset of the offending command's header */
	uint32_t cmd;      /* its command (bits 0..7 of the header) */
	uint32_t obj_type; /* its object type (bits 8..15) */
	char msg[96];      /* NUL-terminated, for logs */
};

/* Rewrites, in place, every resource handle in the command stream
 * dw[0..ndw) through lookup. dw must be the caller's private copy, never
 * memory a guest can still write (it is read and written once per field,
 * and a concurrent writer would undo the check).
 *
 * Handle 0 stays 0 where virglrenderer takes 0 as "none" (vertex, index,
 * uniform, shader and atomic buffers, shader images, indirect draw and
 * dispatch buffers); where a resource is required, 0 is refused like an
 * unknown handle.
 *
 * Returns 0, or
 *   -EINVAL  a malformed stream: a command running past the end, a length
 *            virglrenderer would refuse for the command (or the object
 *            type), or a count field or element array that disagrees with
 *            the length;
 *   -ENOTSUP a command or object type not in virglrenderer 0.10.4, or one
 *            we refuse: PIPE_RESOURCE_CREATE and PIPE_RESOURCE_SET_TYPE
 *            (blob resources) and the video commands;
 *   -ENOENT  a resource handle lookup does not know (or 0 where one is
 *            required).
 * The stream is all or nothing: on error *err (may be NULL) says where and
 * why, and the buffer content is unspecified (the caller drops it). Linear
 * in ndw; allocates nothing. */
int vgpu_cs_rewrite(uint32_t *dw, uint32_t ndw, vgpu_cs_lookup_func lookup, void *data,
	struct vgpu_cs_error *err);

#endif
