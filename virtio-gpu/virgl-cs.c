/* SPDX-License-Identifier: MIT */
#include "virgl-cs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One descriptor per command (and per CREATE_OBJECT object type), to be read
 * line by line against virglrenderer 0.10.4's src/vrend_decode.c: the length
 * rules are the ones its vrend_decode_* function applies before it reads a
 * field, and the fields are the ones it hands to a function that looks a
 * resource up (vrend_renderer_ctx_res_lookup() in vrend_renderer.c).
 *
 * Lengths are payload dwords (the header's bits 16..31). Field offsets count
 * from the header, like virgl_protocol.h's VIRGL_* defines. */

enum field_kind {
	F_NONE = 0,
	F_REQ, /* a resource must be named: 0 is refused like an unknown handle */
	F_OPT, /* 0 means "none" (unbind) and stays 0 */
};

struct field {
	uint8_t at;   /* dword offset from the header */
	uint8_t kind; /* enum field_kind */
};

/* Elements of 'elem' dwords follow 'prefix' payload dwords; the payload must
 * hold a whole number of them. Element i's resource handle, if the element
 * has one, is at dword 'first' + i * 'elem'. */
struct array {
	uint8_t prefix, elem, first;
	uint8_t kind; /* enum field_kind of the handles; F_NONE: no handle */
};

struct desc {
	const char *name;    /* NULL: not a command (object type) virglrenderer knows */
	bool refused;        /* known, but we do not offer it: -ENOTSUP */
	bool by_obj_type;    /* CREATE_OBJECT: the object type's descriptor rules */
	uint16_t min, max;   /* payload length, inclusive */
	uint32_t lens;       /* non-zero: only these lengths (bit n: length n) */
	struct field f[2];   /* a field past the payload is absent */
	struct array arr;
	/* Further rules on the payload (count fields): NULL if none. */
	const char *(*check)(const uint32_t *cmd, uint32_t len);
};

#define ANY 0xffff
#define L(n) (1u << (n))
#define REQ(n) { (n), F_REQ }
#define OPT(n) { (n), F_OPT }

/* vrend_decode_set_framebuffer_state: nr_cbufs (dword 1) is the number of
 * colour surface handles after the zsurf handle. */
static const char *check_framebuffer(const uint32_t *cmd, uint32_t len)
{
	if (cmd[1] != len - 2) {
		return "nr_cbufs disagrees with the length";
	}
	return NULL;
}

/* vrend_decode_send_string_marker: the string length (dword 1, bytes) must
 * fit in the payload after it. */
static const char *check_string_marker(const uint32_t *cmd, uint32_t len)
{
	if (cmd[1] > 4 * (len - 1)) {
		return "string length runs past the command";
	}
	return NULL;
}

static const struct desc cmds[VGPU_CS_CMD_COUNT] = {
	/* vrend_decode_dummy: any payload, ignored. */
	[VGPU_CS_NOP] = { "NOP", .min = 0, .max = ANY },
	/* vrend_decode_create_object: length >= 1, then per object type below. */
	[VGPU_CS_CREATE_OBJECT] = { "CREATE_OBJECT", .by_obj_type = true, .min = 1, .max = ANY },
	[VGPU_CS_BIND_OBJECT] = { "BIND_OBJECT", .min = 1, .max = 1 },
	[VGPU_CS_DESTROY_OBJECT] = { "DESTROY_OBJECT", .min = 1, .max = 1 },
	/* (length - 1) % 6 == 0, at most PIPE_MAX_VIEWPORTS (16). */
	[VGPU_CS_SET_VIEWPORT_STATE] = { "SET_VIEWPORT_STATE", .min = 1, .max = 1 + 6 * 16,
		.arr = { .prefix = 1, .elem = 6 } },
	/* Surfaces are objects, not resources. nr_cbufs <= 8. */
	[VGPU_CS_SET_FRAMEBUFFER_STATE] = { "SET_FRAMEBUFFER_STATE", .min = 2, .max = 2 + 8,
		.check = check_framebuffer },
	/* {stride, offset, handle} per buffer, at most PIPE_MAX_ATTRIBS (32);
	 * vrend_set_single_vbo() unbinds on handle 0. */
	[VGPU_CS_SET_VERTEX_BUFFERS] = { "SET_VERTEX_BUFFERS", .min = 0, .max = 3 * 32,
		.arr = { .prefix = 0, .elem = 3, .first = 3, .kind = F_OPT } },
	[VGPU_CS_CLEAR] = { "CLEAR", .min = 8, .max = 8 },
	/* 12 (plain), 14 (+ tessellation), 20 (+ indirect): the indirect buffer
	 * (15) and the draw-count buffer (20) only in the last; vrend_draw_vbo()
	 * skips either when 0. Dword 12 (count_from_so) is a count. */
	[VGPU_CS_DRAW_VBO] = { "DRAW_VBO", .min = 12, .max = 20, .lens = L(12) | L(14) | L(20),
		.f = { OPT(15), OPT(20) } },
	/* length >= 12: 11 transfer dwords, then the data. */
	[VGPU_CS_RESOURCE_INLINE_WRITE] = { "RESOURCE_INLINE_WRITE", .min = 12, .max = ANY,
		.f = { REQ(1) } },
	/* Sampler views are objects. At most PIPE_MAX_SHADER_SAMPLER_VIEWS (128). */
	[VGPU_CS_SET_SAMPLER_VIEWS] = { "SET_SAMPLER_VIEWS", .min = 2, .max = 2 + 128 },
	/* 1 (unbind: Mesa sends handle 0) or 3 (handle, index size, offset). */
	[VGPU_CS_SET_INDEX_BUFFER] = { "SET_INDEX_BUFFER", .min = 1, .max = 3, .lens = L(1) | L(3),
		.f = { OPT(1) } },
	[VGPU_CS_SET_CONSTANT_BUFFER] = { "SET_CONSTANT_BUFFER", .min = 2, .max = ANY },
	[VGPU_CS_SET_STENCIL_REF] = { "SET_STENCIL_REF", .min = 1, .max = 1 },
	[VGPU_CS_SET_BLEND_COLOR] = { "SET_BLEND_COLOR", .min = 4, .max = 4 },
	/* (length - 1) % 2 == 0, at most 16. */
	[VGPU_CS_SET_SCISSOR_STATE] = { "SET_SCISSOR_STATE", .min = 1, .max = 1 + 2 * 16,
		.arr = { .prefix = 1, .elem = 2 } },
	/* dst at 4, src at 13. virglrenderer 0.10.4 takes 21 dwords only. */
	[VGPU_CS_BLIT] = { "BLIT", .min = 21, .max = 21, .f = { REQ(4), REQ(13) } },
	/* dst at 1, src at 6. */
	[VGPU_CS_RESOURCE_COPY_REGION] = { "RESOURCE_COPY_REGION", .min = 13, .max = 13,
		.f = { REQ(1), REQ(6) } },
	[VGPU_CS_BIND_SAMPLER_STATES] = { "BIND_SAMPLER_STATES", .min = 2, .max = ANY },
	/* Queries are objects. */
	[VGPU_CS_BEGIN_QUERY] = { "BEGIN_QUERY", .min = 1, .max = 1 },
	[VGPU_CS_END_QUERY] = { "END_QUERY", .min = 1, .max = 1 },
	[VGPU_CS_GET_QUERY_RESULT] = { "GET_QUERY_RESULT", .min = 2, .max = 2 },
	[VGPU_CS_SET_POLYGON_STIPPLE] = { "SET_POLYGON_STIPPLE", .min = 32, .max = 32 },
	[VGPU_CS_SET_CLIP_STATE] = { "SET_CLIP_STATE", .min = 32, .max = 32 },
	[VGPU_CS_SET_SAMPLE_MASK] = { "SET_SAMPLE_MASK", .min = 1, .max = 1 },
	/* Streamout targets are objects; at most 16. */
	[VGPU_CS_SET_STREAMOUT_TARGETS] = { "SET_STREAMOUT_TARGETS", .min = 1, .max = 1 + 16 },
	/* The condition is a query object. */
	[VGPU_CS_SET_RENDER_CONDITION] = { "SET_RENDER_CONDITION", .min = 3, .max = 3 },
	/* vrend_set_uniform_buffer() unbinds on handle 0. */
	[VGPU_CS_SET_UNIFORM_BUFFER] = { "SET_UNIFORM_BUFFER", .min = 5, .max = 5, .f = { OPT(5) } },
	/* Sub-context ids are the context's own. */
	[VGPU_CS_SET_SUB_CTX] = { "SET_SUB_CTX", .min = 1, .max = 1 },
	[VGPU_CS_CREATE_SUB_CTX] = { "CREATE_SUB_CTX", .min = 1, .max = 1 },
	[VGPU_CS_DESTROY_SUB_CTX] = { "DESTROY_SUB_CTX", .min = 1, .max = 1 },
	[VGPU_CS_BIND_SHADER] = { "BIND_SHADER", .min = 2, .max = 2 },
	[VGPU_CS_SET_TESS_STATE] = { "SET_TESS_STATE", .min = 6, .max = 6 },
	[VGPU_CS_SET_MIN_SAMPLES] = { "SET_MIN_SAMPLES", .min = 1, .max = 1 },
	/* {offset, length, handle} per buffer after {shader, start slot}, at
	 * most PIPE_MAX_SHADER_BUFFERS (32); handle 0 unbinds.
	 * (virglrenderer ignores a partial trailing element; Mesa never sends
	 * one, and we refuse it.) */
	[VGPU_CS_SET_SHADER_BUFFERS] = { "SET_SHADER_BUFFERS", .min = 2, .max = 2 + 3 * 32,
		.arr = { .prefix = 2, .elem = 3, .first = 5, .kind = F_OPT } },
	/* {format, access, offset, size, handle} per image after {shader, start
	 * slot}, at most PIPE_MAX_SHADER_IMAGES (32); handle 0 unbinds. */
	[VGPU_CS_SET_SHADER_IMAGES] = { "SET_SHADER_IMAGES", .min = 2, .max = 2 + 5 * 32,
		.arr = { .prefix = 2, .elem = 5, .first = 7, .kind = F_OPT } },
	[VGPU_CS_MEMORY_BARRIER] = { "MEMORY_BARRIER", .min = 1, .max = 1 },
	/* The indirect buffer at 7; 0 for a direct dispatch. */
	[VGPU_CS_LAUNCH_GRID] = { "LAUNCH_GRID", .min = 8, .max = 8, .f = { OPT(7) } },
	[VGPU_CS_SET_FRAMEBUFFER_STATE_NO_ATTACH] = { "SET_FRAMEBUFFER_STATE_NO_ATTACH",
		.min = 2, .max = 2 },
	[VGPU_CS_TEXTURE_BARRIER] = { "TEXTURE_BARRIER", .min = 1, .max = 1 },
	/* {offset, length, handle} per buffer after {start slot}, at most
	 * PIPE_MAX_HW_ATOMIC_BUFFERS (32); handle 0 unbinds. virglrenderer
	 * wants length >= 2; a partial element is refused as above. */
	[VGPU_CS_SET_ATOMIC_BUFFERS] = { "SET_ATOMIC_BUFFERS", .min = 2, .max = 1 + 3 * 32,
		.arr = { .prefix = 1, .elem = 3, .first = 4, .kind = F_OPT } },
	[VGPU_CS_SET_DEBUG_FLAGS] = { "SET_DEBUG_FLAGS", .min = 2, .max = ANY },
	/* Query object at 1, the buffer the result is written to at 2. */
	[VGPU_CS_GET_QUERY_RESULT_QBO] = { "GET_QUERY_RESULT_QBO", .min = 6, .max = 6,
		.f = { REQ(2) } },
	/* length >= 13 (virglrenderer ignores the rest; Mesa sends 13). */
	[VGPU_CS_TRANSFER3D] = { "TRANSFER3D", .min = 13, .max = ANY, .f = { REQ(1) } },
	/* vrend_decode_dummy: Mesa pads its transfer buffer with it. */
	[VGPU_CS_END_TRANSFERS] = { "END_TRANSFERS", .min = 0, .max = ANY },
	/* The transfer's resource at 1, the staging buffer at 12; which one is
	 * read depends on the direction flag, both are resources. */
	[VGPU_CS_COPY_TRANSFER3D] = { "COPY_TRANSFER3D", .min = 14, .max = 14,
		.f = { REQ(1), REQ(12) } },
	[VGPU_CS_SET_TWEAKS] = { "SET_TWEAKS", .min = 2, .max = ANY },
	[VGPU_CS_CLEAR_TEXTURE] = { "CLEAR_TEXTURE", .min = 12, .max = 12, .f = { REQ(1) } },
	/* Creates a resource from inside the stream, for blobs: we offer no
	 * blob resources and its id would escape our mapping. */
	[VGPU_CS_PIPE_RESOURCE_CREATE] = { "PIPE_RESOURCE_CREATE", .refused = true },
	[VGPU_CS_PIPE_RESOURCE_SET_TYPE] = { "PIPE_RESOURCE_SET_TYPE", .refused = true },
	/* Writes struct virgl_memory_info into the resource. */
	[VGPU_CS_GET_MEMORY_INFO] = { "GET_MEMORY_INFO", .min = 1, .max = 1, .f = { REQ(1) } },
	[VGPU_CS_SEND_STRING_MARKER] = { "SEND_STRING_MARKER", .min = 2, .max = ANY,
		.check = check_string_marker },
	/* Shader objects. */
	[VGPU_CS_LINK_SHADER] = { "LINK_SHADER", .min = 6, .max = 6 },
	/* Video: not built into Debian's virglrenderer 0.10.4 (vrend_unsupported)
	 * and naming codec objects and resources we would have to vet. */
	[VGPU_CS_CREATE_VIDEO_CODEC] = { "CREATE_VIDEO_CODEC", .refused = true },
	[VGPU_CS_DESTROY_VIDEO_CODEC] = { "DESTROY_VIDEO_CODEC", .refused = true },
	[VGPU_CS_CREATE_VIDEO_BUFFER] = { "CREATE_VIDEO_BUFFER", .refused = true },
	[VGPU_CS_DESTROY_VIDEO_BUFFER] = { "DESTROY_VIDEO_BUFFER", .refused = true },
	[VGPU_CS_BEGIN_FRAME] = { "BEGIN_FRAME", .refused = true },
	[VGPU_CS_DECODE_MACROBLOCK] = { "DECODE_MACROBLOCK", .refused = true },
	[VGPU_CS_DECODE_BITSTREAM] = { "DECODE_BITSTREAM", .refused = true },
	[VGPU_CS_ENCODE_BITSTREAM] = { "ENCODE_BITSTREAM", .refused = true },
	[VGPU_CS_END_FRAME] = { "END_FRAME", .refused = true },
};

/* CREATE_OBJECT by object type (vrend_decode_create_*). Dword 1 is the new
 * object's handle (the context's own) in all of them. */
static const struct desc objs[VGPU_CS_OBJ_COUNT] = {
	[VGPU_CS_OBJ_BLEND] = { "BLEND", .min = 11, .max = 11 },
	[VGPU_CS_OBJ_RASTERIZER] = { "RASTERIZER", .min = 9, .max = 9 },
	[VGPU_CS_OBJ_DSA] = { "DSA", .min = 5, .max = 5 },
	/* The header is 5 dwords; virglrenderer checks the stream-output part
	 * and the TGSI text. */
	[VGPU_CS_OBJ_SHADER] = { "SHADER", .min = 5, .max = ANY },
	/* 4 dwords per element after the handle. */
	[VGPU_CS_OBJ_VERTEX_ELEMENTS] = { "VERTEX_ELEMENTS", .min = 1, .max = ANY,
		.arr = { .prefix = 1, .elem = 4 } },
	/* The viewed resource at 2. */
	[VGPU_CS_OBJ_SAMPLER_VIEW] = { "SAMPLER_VIEW", .min = 6, .max = 6, .f = { REQ(2) } },
	[VGPU_CS_OBJ_SAMPLER_STATE] = { "SAMPLER_STATE", .min = 9, .max = 9 },
	/* The surface's resource at 2. */
	[VGPU_CS_OBJ_SURFACE] = { "SURFACE", .min = 5, .max = 5, .f = { REQ(2) } },
	/* The result buffer at 4 (vrend_create_query() requires one). */
	[VGPU_CS_OBJ_QUERY] = { "QUERY", .min = 4, .max = 4, .f = { REQ(4) } },
	/* The target buffer at 2. */
	[VGPU_CS_OBJ_STREAMOUT_TARGET] = { "STREAMOUT_TARGET", .min = 4, .max = 4, .f = { REQ(2) } },
	/* SURFACE plus a sample count. */
	[VGPU_CS_OBJ_MSAA_SURFACE] = { "MSAA_SURFACE", .min = 6, .max = 6, .f = { REQ(2) } },
};

__attribute__((format(printf, 6, 7)))
static int fail(struct vgpu_cs_error *err, int ret, uint32_t off, uint32_t hdr,
	const char *what, const char *fmt, ...)
{
	if (err) {
		err->offset = off;
		err->cmd = hdr & 0xff;
		err->obj_type = (hdr >> 8) & 0xff;
		int n = snprintf(err->msg, sizeof(err->msg), "%s: ", what);
		if (n < 0 || (size_t)n >= sizeof(err->msg)) {
			n = 0;
		}
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* Rewrites the handle at cmd[at] (0 allowed if kind is F_OPT). */
static int map_one(uint32_t *cmd, uint32_t at, uint8_t kind, vgpu_cs_lookup_func lookup,
	void *data, uint32_t *bad)
{
	uint32_t h = cmd[at];
	if (h == 0) {
		if (kind == F_OPT) {
			return 0;
		}
		*bad = 0;
		return -ENOENT;
	}
	uint32_t id = lookup(data, h);
	if (id == 0) {
		*bad = h;
		return -ENOENT;
	}
	cmd[at] = id;
	return 0;
}

int vgpu_cs_rewrite(uint32_t *dw, uint32_t ndw, vgpu_cs_lookup_func lookup, void *data,
	struct vgpu_cs_error *err)
{
	uint32_t off = 0;

	while (off < ndw) {
		uint32_t *cmd = &dw[off];
		const uint32_t hdr = cmd[0];
		const uint32_t op = hdr & 0xff, obj = (hdr >> 8) & 0xff, len = hdr >> 16;
		const struct desc *d = op < VGPU_CS_CMD_COUNT ? &cmds[op] : NULL;

		if (!d || !d->name) {
			return fail(err, -ENOTSUP, off, hdr, "command", "%u unknown", op);
		}
		if (d->refused) {
			return fail(err, -ENOTSUP, off, hdr, d->name, "not offered");
		}
		/* off < ndw, so ndw - off - 1 cannot wrap. */
		if (len > ndw - off - 1) {
			return fail(err, -EINVAL, off, hdr, d->name,
				"length %u runs past the end (%u dwords left)", len, ndw - off - 1);
		}
		if (len < d->min) {
			return fail(err, -EINVAL, off, hdr, d->name, "length %u too short", len);
		}
		if (d->by_obj_type) {
			const char *cname = d->name;
			d = obj < VGPU_CS_OBJ_COUNT ? &objs[obj] : NULL;
			if (!d || !d->name) {
				return fail(err, -ENOTSUP, off, hdr, cname, "object type %u unknown", obj);
			}
			if (len < d->min) {
				return fail(err, -EINVAL, off, hdr, d->name, "length %u too short", len);
			}
		}
		if (len > d->max || (d->lens && (len >= 32 || !(d->lens & L(len))))) {
			return fail(err, -EINVAL, off, hdr, d->name, "length %u not accepted", len);
		}
		const struct array *a = &d->arr;
		if (a->elem && (len - a->prefix) % a->elem) {
			return fail(err, -EINVAL, off, hdr, d->name,
				"length %u is not %u + n * %u", len, a->prefix, a->elem);
		}
		if (d->check) {
			const char *why = d->check(cmd, len);
			if (why) {
				return fail(err, -EINVAL, off, hdr, d->name, "%s", why);
			}
		}

		uint32_t bad = 0;
		for (size_t i = 0; i < sizeof(d->f) / sizeof(d->f[0]); i++) {
			const struct field *f = &d->f[i];
			if (f->kind == F_NONE) {
				continue;
			}
			if (f->at > len) {
				/* Absent: fine for an optional field (DRAW_VBO's
				 * indirect buffers); min covers required ones. */
				if (f->kind == F_REQ) {
					return fail(err, -EINVAL, off, hdr, d->name,
						"length %u too short", len);
				}
				continue;
			}
			if (map_one(cmd, f->at, f->kind, lookup, data, &bad) < 0) {
				return fail(err, -ENOENT, off, hdr, d->name,
					"resource %u at dword %u unknown", bad, f->at);
			}
		}
		if (a->kind != F_NONE) {
			/* len >= prefix, and 'first' lies in element 0, so
			 * every handle is inside the payload. */
			for (uint32_t at = a->first; at <= len; at += a->elem) {
				if (map_one(cmd, at, a->kind, lookup, data, &bad) < 0) {
					return fail(err, -ENOENT, off, hdr, d->name,
						"resource %u at dword %u unknown", bad, at);
				}
			}
		}
		off += 1 + len;
	}
	return 0;
}
