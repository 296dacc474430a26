/* SPDX-License-Identifier: MIT */
/* The vtest wire parser against well-formed and hostile input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "virtio-gpu/vtest-proto.h"

static size_t put(uint8_t *buf, size_t off, uint32_t v)
{
	buf[off] = v & 0xff;
	buf[off + 1] = (v >> 8) & 0xff;
	buf[off + 2] = (v >> 16) & 0xff;
	buf[off + 3] = v >> 24;
	return off + 4;
}

static int parse(const uint8_t *buf, size_t len, struct vgpu_vtest_msg *m, size_t *need)
{
	/* Copy into an exact-size heap buffer so ASan catches any overread. */
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, buf, len);
	int ret = vgpu_vtest_parse(copy, len, m, need);
	free(copy);
	return ret;
}

static void test_create_renderer(void **state)
{
	(void)state;
	uint8_t buf[64] = { 0 };
	struct vgpu_vtest_msg m;
	size_t need;
	size_t o = put(buf, 0, 6);
	o = put(buf, o, VGPU_VCMD_CREATE_RENDERER);
	memcpy(buf + o, "glxgea", 6); /* no NUL: hostile */
	assert_int_equal(parse(buf, 8, &m, &need), 0);
	assert_int_equal(need, 14);
	assert_int_equal(parse(buf, 13, &m, &need), 0);
	assert_int_equal(parse(buf, 14, &m, &need), 14);
	assert_string_equal(m.u.create_renderer.name, "glxgea");
	put(buf, 0, 0);
	assert_int_equal(parse(buf, 14, &m, &need), -EMSGSIZE);
	put(buf, 0, VGPU_VTEST_MAX_NAME + 1);
	assert_int_equal(parse(buf, 14, &m, &need), -EMSGSIZE);
}

static void test_fixed_sizes(void **state)
{
	(void)state;
	uint8_t buf[128] = { 0 };
	struct vgpu_vtest_msg m;
	size_t need;
	/* RESOURCE_CREATE2 with one dword too few or too many: desync. */
	put(buf, 0, VGPU_VCMD_RES_CREATE2_SIZE - 1);
	put(buf, 4, VGPU_VCMD_RESOURCE_CREATE2);
	assert_int_equal(parse(buf, sizeof(buf), &m, &need), -EINVAL);
	put(buf, 0, VGPU_VCMD_RES_CREATE2_SIZE + 1);
	assert_int_equal(parse(buf, sizeof(buf), &m, &need), -EINVAL);
	/* Well-formed. */
	size_t o = put(buf, 0, VGPU_VCMD_RES_CREATE2_SIZE);
	o = put(buf, o, VGPU_VCMD_RESOURCE_CREATE2);
	uint32_t f[11] = { 7, 2, 1, 0x80, 64, 32, 1, 1, 0, 0, 8192 };
	for (int i = 0; i < 11; i++) {
		o = put(buf, o, f[i]);
	}
	assert_int_equal(parse(buf, o, &m, &need), (int)o);
	assert_int_equal(m.u.res_create.handle, 7);
	assert_int_equal(m.u.res_create.width, 64);
	assert_int_equal(m.u.res_create.data_size, 8192);
	/* Handle 0 and an oversized backing are refused. */
	put(buf, 8, 0);
	assert_int_equal(parse(buf, o, &m, &need), -EINVAL);
	put(buf, 8, 7);
	put(buf, 8 + 40, VGPU_VTEST_MAX_RES_BYTES + 1);
	assert_int_equal(parse(buf, o, &m, &need), -EINVAL);
	/* PING carries nothing. */
	put(buf, 0, 1);
	put(buf, 4, VGPU_VCMD_PING_PROTOCOL_VERSION);
	assert_int_equal(parse(buf, 12, &m, &need), -EINVAL);
	put(buf, 0, 0);
	assert_int_equal(parse(buf, 8, &m, &need), 8);
	/* TRANSFER_GET2 */
	o = put(buf, 0, VGPU_VCMD_TRANSFER2_SIZE);
	o = put(buf, o, VGPU_VCMD_TRANSFER_GET2);
	for (uint32_t i = 0; i < VGPU_VCMD_TRANSFER2_SIZE; i++) {
		o = put(buf, o, i + 1);
	}
	assert_int_equal(parse(buf, o, &m, &need), (int)o);
	assert_int_equal(m.u.transfer.handle, 1);
	assert_int_equal(m.u.transfer.w, 6);
	assert_int_equal(m.u.transfer.offset, 10);
}

static void test_unknown_and_v0(void **state)
{
	(void)state;
	uint8_t buf[64] = { 0 };
	struct vgpu_vtest_msg m;
	size_t need;
	uint32_t bad[] = { 0, VGPU_VCMD_MAX + 1, 0xffffffff, VGPU_VCMD_TRANSFER_GET,
		VGPU_VCMD_TRANSFER_PUT };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(buf, 0, 0);
		put(buf, 4, bad[i]);
		assert_int_equal(parse(buf, sizeof(buf), &m, &need), -ENOTSUP);
	}
}

static void test_submit_bounds(void **state)
{
	(void)state;
	uint8_t buf[64] = { 0 };
	struct vgpu_vtest_msg m;
	size_t need;
	put(buf, 0, 0xffffffff);
	put(buf, 4, VGPU_VCMD_SUBMIT_CMD);
	assert_int_equal(parse(buf, sizeof(buf), &m, &need), -EMSGSIZE);
	put(buf, 0, VGPU_VTEST_MAX_CMD_DW);
	assert_int_equal(parse(buf, sizeof(buf), &m, &need), 0);
	assert_int_equal(need, 8 + (size_t)VGPU_VTEST_MAX_CMD_DW * 4);
	put(buf, 0, 3);
	put(buf, 8, 0x11);
	assert_int_equal(parse(buf, 20, &m, &need), 20);
	assert_int_equal(m.u.submit.ndw, 3);
	put(buf, 0, 0);
	assert_int_equal(parse(buf, 8, &m, &need), 8);
	assert_int_equal(m.u.submit.ndw, 0);
}

static void test_random_garbage(void **state)
{
	(void)state;
	/* Whatever the bytes, the parser returns a bounded answer. */
	uint8_t buf[256];
	struct vgpu_vtest_msg m;
	srand(1234);
	for (int it = 0; it < 20000; it++) {
		size_t len = (size_t)(rand() % (int)sizeof(buf));
		for (size_t i = 0; i < len; i++) {
			buf[i] = (uint8_t)rand();
		}
		if (len >= 8 && (it & 1)) {
			put(buf, 4, (uint32_t)(rand() % (VGPU_VCMD_MAX + 2)));
			put(buf, 0, (uint32_t)(rand() % 16));
		}
		size_t need = 0;
		int ret = parse(buf, len, &m, &need);
		assert_true(ret <= (int)len);
		if (ret == 0) {
			assert_true(need > len);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_renderer),
		cmocka_unit_test(test_fixed_sizes),
		cmocka_unit_test(test_unknown_and_v0),
		cmocka_unit_test(test_submit_bounds),
		cmocka_unit_test(test_random_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
