/* SPDX-License-Identifier: MIT */
/* Guest-physical and frontend-virtual address translation, and the iovec
 * copy helpers, on test memory (plus one real mmap for vgpu_mem_finish). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "virtio-gpu/guest-mem.h"

static uint8_t ram_a[0x1000], ram_b[0x2000], ram_top[0x1000];

/* a: [0x10000, 0x11000), b: [0x11000, 0x13000) adjacent to a, and a
 * region ending at the very top of the address space. */
static void make_mem(struct vgpu_mem *m)
{
	memset(m, 0, sizeof(*m));
	m->regions[0] = (struct vgpu_mem_region){ .gpa = 0x10000, .size = sizeof(ram_a),
		.uva = 0x7000000, .host = ram_a };
	m->regions[1] = (struct vgpu_mem_region){ .gpa = 0x11000, .size = sizeof(ram_b),
		.uva = 0x9000000, .host = ram_b };
	m->regions[2] = (struct vgpu_mem_region){ .gpa = UINT64_MAX - sizeof(ram_top) + 1,
		.size = sizeof(ram_top), .uva = UINT64_MAX - sizeof(ram_top) + 1, .host = ram_top };
	m->n_regions = 3;
}

static void test_gpa(void **state)
{
	struct vgpu_mem m;
	make_mem(&m);
	assert_ptr_equal(vgpu_mem_gpa(&m, 0x10000, 1), ram_a);
	assert_ptr_equal(vgpu_mem_gpa(&m, 0x10000, sizeof(ram_a)), ram_a);
	assert_ptr_equal(vgpu_mem_gpa(&m, 0x10fff, 1), ram_a + 0xfff);
	assert_ptr_equal(vgpu_mem_gpa(&m, 0x11000, 0x2000), ram_b);
	assert_ptr_equal(vgpu_mem_gpa(&m, 0x12fff, 1), ram_b + 0x1fff);
	/* len 0, outside, straddling a region end (even into a neighbour). */
	assert_null(vgpu_mem_gpa(&m, 0x10000, 0));
	assert_null(vgpu_mem_gpa(&m, 0xffff, 1));
	assert_null(vgpu_mem_gpa(&m, 0xffff, 2));
	assert_null(vgpu_mem_gpa(&m, 0x13000, 1));
	assert_null(vgpu_mem_gpa(&m, 0x12fff, 2));
	assert_null(vgpu_mem_gpa(&m, 0x10fff, 2));
	assert_null(vgpu_mem_gpa(&m, 0x10000, sizeof(ram_a) + 1));
	assert_null(vgpu_mem_gpa(&m, 0x10000, UINT64_MAX));
	/* Wrap-around. */
	assert_null(vgpu_mem_gpa(&m, 0x10800, UINT64_MAX - 0x7ff));
	assert_null(vgpu_mem_gpa(&m, UINT64_MAX, 2));
	assert_ptr_equal(vgpu_mem_gpa(&m, UINT64_MAX, 1), ram_top + sizeof(ram_top) - 1);
	assert_ptr_equal(vgpu_mem_gpa(&m, UINT64_MAX - 0xfff, 0x1000), ram_top);
	assert_null(vgpu_mem_gpa(&m, UINT64_MAX - 0xfff, 0x1001));
	assert_null(vgpu_mem_gpa(NULL, 0x10000, 1));
	/* Regions past n_regions do not count. */
	m.n_regions = 1;
	assert_null(vgpu_mem_gpa(&m, 0x11000, 1));
	/* A bogus n_regions is clamped, not overrun. */
	m.n_regions = 1000;
	assert_ptr_equal(vgpu_mem_gpa(&m, 0x11000, 1), ram_b);
}

static void test_uva(void **state)
{
	struct vgpu_mem m;
	make_mem(&m);
	assert_ptr_equal(vgpu_mem_uva(&m, 0x7000000, 16), ram_a);
	assert_ptr_equal(vgpu_mem_uva(&m, 0x9001000, 0x1000), ram_b + 0x1000);
	assert_null(vgpu_mem_uva(&m, 0x9001000, 0x1001));
	assert_null(vgpu_mem_uva(&m, 0x6ffffff, 2));
	assert_null(vgpu_mem_uva(&m, 0x7000000, 0));
	assert_null(vgpu_mem_uva(&m, UINT64_MAX, 2));
	assert_null(vgpu_mem_uva(&m, 0x10000, 1)); /* a gpa, not a uva */
	assert_null(vgpu_mem_uva(NULL, 0x7000000, 1));
}

static void test_gpa_iov(void **state)
{
	struct vgpu_mem m;
	make_mem(&m);
	struct iovec iov[4];
	unsigned n = 0;
	/* Spanning a and b: two iovecs. */
	assert_int_equal(vgpu_mem_gpa_iov(&m, 0x10ff0, 0x20, iov, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(iov[0].iov_base, ram_a + 0xff0);
	assert_int_equal(iov[0].iov_len, 0x10);
	assert_ptr_equal(iov[1].iov_base, ram_b);
	assert_int_equal(iov[1].iov_len, 0x10);
	/* Appends at *n_iov. */
	assert_int_equal(vgpu_mem_gpa_iov(&m, 0x12000, 0x1000, iov, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_ptr_equal(iov[2].iov_base, ram_b + 0x1000);
	/* Too few slots: -E2BIG and *n_iov untouched. */
	assert_int_equal(vgpu_mem_gpa_iov(&m, 0x10ff0, 0x20, iov, 4, &n), -E2BIG);
	assert_int_equal(n, 3);
	/* The whole of a and b. */
	n = 0;
	assert_int_equal(vgpu_mem_gpa_iov(&m, 0x10000, 0x3000, iov, 4, &n), 0);
	assert_int_equal(n, 2);
	/* One byte past b, or before a. */
	n = 0;
	assert_int_equal(vgpu_mem_gpa_iov(&m, 0x10000, 0x3001, iov, 4, &n), -EFAULT);
	assert_int_equal(n, 0);
	assert_int_equal(vgpu_mem_gpa_iov(&m, 0xffff, 2, iov, 4, &n), -EFAULT);
	/* len 0. */
	assert_int_equal(vgpu_mem_gpa_iov(&m, 0x10000, 0, iov, 4, &n), -EINVAL);
	/* Running off the top of the address space must not wrap to 0. */
	assert_int_equal(vgpu_mem_gpa_iov(&m, UINT64_MAX - 0xfff, 0x1001, iov, 4, &n), -EFAULT);
	assert_int_equal(vgpu_mem_gpa_iov(&m, UINT64_MAX - 0xfff, 0x1000, iov, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vgpu_mem_gpa_iov(&m, 0x10000, UINT64_MAX, iov, 4, &n), -EFAULT);
	assert_int_equal(vgpu_mem_gpa_iov(NULL, 0x10000, 1, iov, 4, &n), -EFAULT);
	/* Region at gpa 0, adjacent to a region at the top: still no wrap. */
	m.regions[0].gpa = 0;
	n = 0;
	assert_int_equal(vgpu_mem_gpa_iov(&m, UINT64_MAX, 2, iov, 4, &n), -EFAULT);
	assert_int_equal(n, 0);
}

static void test_iov_copy(void **state)
{
	uint8_t a[3], b[1], c[5], d[4];
	struct iovec iov[4] = { { a, 3 }, { b, 0 }, { c, 5 }, { d, 4 } };
	assert_int_equal(vgpu_iov_size(iov, 4), 12);
	assert_int_equal(vgpu_iov_size(iov, 0), 0);
	uint8_t src[12], dst[12];
	for (int i = 0; i < 12; i++) {
		src[i] = (uint8_t)(i + 1);
	}
	assert_int_equal(vgpu_buf_to_iov(iov, 4, 0, src, 12), 12);
	assert_int_equal(a[0], 1);
	assert_int_equal(c[0], 4);
	assert_int_equal(d[3], 12);
	memset(dst, 0, sizeof(dst));
	assert_int_equal(vgpu_iov_to_buf(iov, 4, 2, dst, 5), 5);
	assert_memory_equal(dst, src + 2, 5);
	/* Truncated at the end, offsets past the end. */
	assert_int_equal(vgpu_iov_to_buf(iov, 4, 10, dst, 5), 2);
	assert_memory_equal(dst, src + 10, 2);
	assert_int_equal(vgpu_iov_to_buf(iov, 4, 12, dst, 5), 0);
	assert_int_equal(vgpu_iov_to_buf(iov, 4, SIZE_MAX, dst, 5), 0);
	assert_int_equal(vgpu_buf_to_iov(iov, 4, 11, src, 5), 1);
	assert_int_equal(d[3], 1);
	assert_int_equal(vgpu_buf_to_iov(iov, 4, 3, src, 0), 0);
	assert_int_equal(vgpu_iov_to_buf(NULL, 0, 0, dst, 5), 0);
	/* vgpu_iov_size saturates instead of wrapping. */
	struct iovec huge[2] = { { a, SIZE_MAX }, { a, 2 } };
	assert_int_equal(vgpu_iov_size(huge, 2), SIZE_MAX);
}

static void test_finish(void **state)
{
	struct vgpu_mem m;
	make_mem(&m);
	size_t len = 4096;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	m.regions[3] = (struct vgpu_mem_region){ .gpa = 0x100000, .size = len, .host = p,
		.map_base = p, .map_len = len };
	m.n_regions = 4;
	m.generation = 41;
	assert_ptr_equal(vgpu_mem_gpa(&m, 0x100000, 8), p);
	vgpu_mem_finish(&m);
	assert_int_equal(m.n_regions, 0);
	assert_int_equal(m.generation, 42);
	assert_null(vgpu_mem_gpa(&m, 0x100000, 8));
	assert_null(vgpu_mem_gpa(&m, 0x10000, 8));
	/* Unmapped: mapping it again at that exact place succeeds. */
	void *q = mmap(p, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	assert_ptr_equal(q, p);
	munmap(q, len);
	vgpu_mem_finish(&m);
	assert_int_equal(m.generation, 43);
	vgpu_mem_finish(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpa),
		cmocka_unit_test(test_uva),
		cmocka_unit_test(test_gpa_iov),
		cmocka_unit_test(test_iov_copy),
		cmocka_unit_test(test_finish),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
