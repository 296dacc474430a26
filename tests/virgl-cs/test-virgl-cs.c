/* SPDX-License-Identifier: MIT */
/* The virgl command-stream rewriter: resource handles are mapped, handles a
 * client does not own and malformed streams are refused whole. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "virtio-gpu/virgl-cs.h"

#define H VGPU_CS_HDR

/* The client owns handles 1..9, renderer ids 1001..1009. */
static uint32_t lookup(void *data, uint32_t handle)
{
	unsigned *calls = data;
	(*calls)++;
	return handle >= 1 && handle <= 9 ? 1000 + handle : 0;
}

static int rw(uint32_t *dw, uint32_t ndw, struct vgpu_cs_error *err)
{
	unsigned calls = 0;
	return vgpu_cs_rewrite(dw, ndw, lookup, &calls, err);
}

static void test_surface_and_sampler_view(void **state)
{
	(void)state;
	uint32_t s[] = {
		H(VGPU_CS_CREATE_OBJECT, VGPU_CS_OBJ_SURFACE, 5), 77, 3, 2, 0, 0,
		H(VGPU_CS_CREATE_OBJECT, VGPU_CS_OBJ_SAMPLER_VIEW, 6), 78, 9, 2, 0, 0, 0,
		H(VGPU_CS_CLEAR, 0, 8), 4, 0, 0, 0, 0, 0, 0, 0,
	};
	assert_int_equal(rw(s, sizeof(s) / 4, NULL), 0);
	assert_int_equal(s[1], 77);   /* object handles are the context's own */
	assert_int_equal(s[2], 1003); /* resource handles are mapped */
	assert_int_equal(s[8], 1009);
}

static void test_unknown_handle_refused(void **state)
{
	(void)state;
	uint32_t s[] = {
		H(VGPU_CS_CLEAR, 0, 8), 4, 0, 0, 0, 0, 0, 0, 0,
		H(VGPU_CS_RESOURCE_COPY_REGION, 0, 13), 1, 0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0,
	};
	struct vgpu_cs_error err;
	assert_int_equal(rw(s, sizeof(s) / 4, &err), -ENOENT);
	assert_int_equal(err.offset, 9);
	assert_int_equal(err.cmd, VGPU_CS_RESOURCE_COPY_REGION);
	assert_non_null(strstr(err.msg, "42"));
}

static void test_zero_handles(void **state)
{
	(void)state;
	/* SET_INDEX_BUFFER 0 unbinds: stays 0. */
	uint32_t unbind[] = { H(VGPU_CS_SET_INDEX_BUFFER, 0, 1), 0 };
	assert_int_equal(rw(unbind, 2, NULL), 0);
	assert_int_equal(unbind[1], 0);
	uint32_t bind[] = { H(VGPU_CS_SET_INDEX_BUFFER, 0, 3), 4, 2, 0 };
	assert_int_equal(rw(bind, 4, NULL), 0);
	assert_int_equal(bind[1], 1004);
	/* A surface needs a resource: 0 is refused. */
	uint32_t surf[] = { H(VGPU_CS_CREATE_OBJECT, VGPU_CS_OBJ_SURFACE, 5), 1, 0, 2, 0, 0 };
	assert_int_equal(rw(surf, 6, NULL), -ENOENT);
}

static void test_arrays(void **state)
{
	(void)state;
	/* Two vertex buffers {stride, offset, handle}; the second unbinds. */
	uint32_t vb[] = { H(VGPU_CS_SET_VERTEX_BUFFERS, 0, 6), 16, 0, 5, 16, 0, 0 };
	assert_int_equal(rw(vb, 7, NULL), 0);
	assert_int_equal(vb[3], 1005);
	assert_int_equal(vb[6], 0);
	/* A partial element. */
	uint32_t part[] = { H(VGPU_CS_SET_VERTEX_BUFFERS, 0, 4), 16, 0, 5, 16 };
	assert_int_equal(rw(part, 5, NULL), -EINVAL);
	/* Shader images: handle at 7 of each 5-dword element after 2. */
	uint32_t img[] = { H(VGPU_CS_SET_SHADER_IMAGES, 0, 7), 1, 0, 0, 0, 0, 0, 8 };
	assert_int_equal(rw(img, 8, NULL), 0);
	assert_int_equal(img[7], 1008);
}

static void test_draw_vbo_lengths(void **state)
{
	(void)state;
	uint32_t plain[13] = { H(VGPU_CS_DRAW_VBO, 0, 12) };
	assert_int_equal(rw(plain, 13, NULL), 0);
	uint32_t indirect[21] = { H(VGPU_CS_DRAW_VBO, 0, 20) };
	indirect[15] = 2;
	indirect[20] = 0;
	assert_int_equal(rw(indirect, 21, NULL), 0);
	assert_int_equal(indirect[15], 1002);
	assert_int_equal(indirect[20], 0);
	uint32_t odd[14] = { H(VGPU_CS_DRAW_VBO, 0, 13) };
	assert_int_equal(rw(odd, 14, NULL), -EINVAL);
}

static void test_malformed(void **state)
{
	(void)state;
	/* Runs past the end. */
	uint32_t past[] = { H(VGPU_CS_CLEAR, 0, 8), 0, 0 };
	assert_int_equal(rw(past, 3, NULL), -EINVAL);
	/* Too short for the command. */
	uint32_t shortc[] = { H(VGPU_CS_CLEAR, 0, 2), 0, 0 };
	assert_int_equal(rw(shortc, 3, NULL), -EINVAL);
	/* Unknown command and object type. */
	uint32_t unk[] = { H(200, 0, 0) };
	assert_int_equal(rw(unk, 1, NULL), -ENOTSUP);
	uint32_t obj[] = { H(VGPU_CS_CREATE_OBJECT, 99, 1), 1 };
	assert_int_equal(rw(obj, 2, NULL), -ENOTSUP);
	/* Blob resources created in the stream: not offered. */
	uint32_t blob[12] = { H(VGPU_CS_PIPE_RESOURCE_CREATE, 0, 11) };
	assert_int_equal(rw(blob, 12, NULL), -ENOTSUP);
	/* nr_cbufs disagrees with the length. */
	uint32_t fb[] = { H(VGPU_CS_SET_FRAMEBUFFER_STATE, 0, 3), 2, 0, 1 };
	assert_int_equal(rw(fb, 4, NULL), -EINVAL);
	/* A string marker longer than its command. */
	uint32_t mark[] = { H(VGPU_CS_SEND_STRING_MARKER, 0, 2), 9, 0 };
	assert_int_equal(rw(mark, 3, NULL), -EINVAL);
}

static void test_all_or_nothing_lookups(void **state)
{
	(void)state;
	/* An empty stream and NOPs call nothing. */
	unsigned calls = 0;
	assert_int_equal(vgpu_cs_rewrite(NULL, 0, lookup, &calls, NULL), 0);
	uint32_t nop[] = { H(VGPU_CS_NOP, 0, 2), 5, 5 };
	assert_int_equal(vgpu_cs_rewrite(nop, 3, lookup, &calls, NULL), 0);
	assert_int_equal(calls, 0);
	assert_int_equal(nop[1], 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_surface_and_sampler_view),
		cmocka_unit_test(test_unknown_handle_refused),
		cmocka_unit_test(test_zero_handles),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_draw_vbo_lengths),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_all_or_nothing_lookups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
