/* SPDX-License-Identifier: MIT */
/* The renderer-wide id allocator: unique, never 0, prefers the client's own
 * number, survives churn and growth. No GPU needed: virglrenderer is linked
 * but never initialised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "virtio-gpu/renderer.h"

static void test_hint_and_uniqueness(void **state)
{
	(void)state;
	struct vgpu_renderer_ids *ids = vgpu_renderer_ids_create();
	assert_non_null(ids);
	/* Two clients both asking for handle 1: the second gets another id. */
	assert_int_equal(vgpu_renderer_ids_alloc(ids, 1), 1);
	uint32_t b = vgpu_renderer_ids_alloc(ids, 1);
	assert_true(b != 0 && b != 1);
	assert_true(vgpu_renderer_ids_used(ids, 1));
	assert_true(vgpu_renderer_ids_used(ids, b));
	/* 0 and UINT32_MAX are never handed out, even as hints. */
	uint32_t c = vgpu_renderer_ids_alloc(ids, 0);
	uint32_t d = vgpu_renderer_ids_alloc(ids, UINT32_MAX);
	assert_true(c != 0 && c != UINT32_MAX && d != 0 && d != UINT32_MAX && c != d);
	vgpu_renderer_ids_free(ids, 1);
	assert_false(vgpu_renderer_ids_used(ids, 1));
	assert_int_equal(vgpu_renderer_ids_alloc(ids, 1), 1);
	/* Freeing what was never allocated is harmless. */
	vgpu_renderer_ids_free(ids, 12345);
	vgpu_renderer_ids_free(ids, 0);
	vgpu_renderer_ids_destroy(ids);
	vgpu_renderer_ids_destroy(NULL);
}

static void test_churn(void **state)
{
	(void)state;
	struct vgpu_renderer_ids *ids = vgpu_renderer_ids_create();
	enum { N = 5000 };
	static uint32_t live[N];
	srand(7);
	for (int i = 0; i < N; i++) {
		live[i] = vgpu_renderer_ids_alloc(ids, (uint32_t)(rand() % 64));
		assert_true(live[i] != 0);
		for (int j = 0; j < i; j += 97) {
			assert_true(live[j] != live[i]);
		}
	}
	/* Free and reallocate half many times: tombstones must not fill it. */
	for (int round = 0; round < 20; round++) {
		for (int i = round & 1; i < N; i += 2) {
			vgpu_renderer_ids_free(ids, live[i]);
			assert_false(vgpu_renderer_ids_used(ids, live[i]));
		}
		for (int i = round & 1; i < N; i += 2) {
			live[i] = vgpu_renderer_ids_alloc(ids, (uint32_t)(rand() % 64));
			assert_true(live[i] != 0);
		}
	}
	for (int i = 0; i < N; i++) {
		assert_true(vgpu_renderer_ids_used(ids, live[i]));
	}
	vgpu_renderer_ids_destroy(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hint_and_uniqueness),
		cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
