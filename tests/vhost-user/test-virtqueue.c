/* SPDX-License-Identifier: MIT */
/* Split virtqueue (virtio-gpu/virtqueue.c) against a fake driver in plain
 * host buffers standing in for three regions of guest RAM: well-formed
 * chains, direct and indirect, across region boundaries, notification
 * suppression, and every hostile chain the device must survive. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake-driver.h"
#include "virtio-gpu/guest-mem.h"
#include "virtio-gpu/virtqueue.h"

#define REGION_SIZE 0x10000u
#define UVA_OFFSET 0x7f0000000000ull
#define NUM 16u
#define DESC_GPA 0x1000u
#define AVAIL_GPA 0x2000u
#define USED_GPA 0x3000u
#define DATA_GPA 0x4000u
#define RESP_GPA 0x8000u
#define TABLE_GPA 0x9000u
#define HIGH_GPA 0x100000000ull

struct env {
	uint8_t *host[3];
	struct vgpu_mem mem;
	struct fd_mem fmem;
	struct fd_ring ring;
	struct vgpu_vq vq;
	struct vgpu_vq_chain chain;
	/* What the handler saw. */
	unsigned calls, notifies;
	unsigned last_read, last_write;
	size_t last_write_len;
	uint8_t seen[256];
	size_t seen_len;
	size_t reply_len;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const uint64_t gpas[3] = { 0, REGION_SIZE, HIGH_GPA };
	for (unsigned i = 0; i < 3; i++) {
		e->host[i] = aligned_alloc(4096, REGION_SIZE);
		memset(e->host[i], 0, REGION_SIZE);
		e->mem.regions[i] = (struct vgpu_mem_region){
			.gpa = gpas[i], .size = REGION_SIZE, .uva = gpas[i] + UVA_OFFSET,
			.host = e->host[i],
		};
		e->fmem.r[i].gpa = gpas[i];
		e->fmem.r[i].size = REGION_SIZE;
		e->fmem.r[i].host = e->host[i];
	}
	e->mem.n_regions = 3;
	e->mem.generation = 1;
	e->fmem.n = 3;
	assert_true(fd_ring_init(&e->ring, &e->fmem, NUM, DESC_GPA, AVAIL_GPA, USED_GPA));
	vgpu_vq_init(&e->vq, 0);
	assert_int_equal(vgpu_vq_set_num(&e->vq, NUM), 0);
	assert_int_equal(vgpu_vq_set_addr(&e->vq, DESC_GPA + UVA_OFFSET, AVAIL_GPA + UVA_OFFSET,
		USED_GPA + UVA_OFFSET), 0);
	vgpu_vq_set_features(&e->vq, 1ull << VGPU_VIRTIO_F_INDIRECT_DESC);
	vgpu_vq_set_base(&e->vq, 0);
	e->reply_len = 24;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	for (unsigned i = 0; i < 3; i++) {
		free(e->host[i]);
	}
	free(e);
	return 0;
}

static size_t handler(void *data, const struct vgpu_vq_chain *c)
{
	struct env *e = data;
	e->calls++;
	e->last_read = c->n_read;
	e->last_write = c->n_write;
	e->last_write_len = c->write_len;
	e->seen_len = 0;
	for (unsigned i = 0; i < c->n_read; i++) {
		size_t n = c->iov[i].iov_len;
		if (n > sizeof(e->seen) - e->seen_len) {
			n = sizeof(e->seen) - e->seen_len;
		}
		memcpy(e->seen + e->seen_len, c->iov[i].iov_base, n);
		e->seen_len += n;
	}
	size_t left = e->reply_len;
	for (unsigned i = 0; i < c->n_write && left; i++) {
		const struct iovec *v = &c->iov[c->n_read + i];
		size_t n = v->iov_len < left ? v->iov_len : left;
		memset(v->iov_base, 0xab, n);
		left -= n;
	}
	return e->reply_len;
}

static void notifier(void *data)
{
	struct env *e = data;
	e->notifies++;
}

static int run(struct env *e)
{
	bool more;
	return vgpu_vq_process(&e->vq, &e->mem, &e->chain, 1000, handler, notifier, e, &more);
}

static uint8_t *host(struct env *e, uint64_t gpa)
{
	return fd_host(&e->fmem, gpa, 1);
}

static void expect_used(struct env *e, uint32_t want_id, uint32_t want_len)
{
	uint32_t id, len;
	assert_true(fd_get_used(&e->ring, &id, &len));
	assert_int_equal(id, want_id);
	assert_int_equal(len, want_len);
}

static void test_simple_chain(void **state)
{
	struct env *e = *state;
	memcpy(host(e, DATA_GPA), "hello, device", 13);
	struct fd_buf b[] = { { DATA_GPA, 13, false }, { RESP_GPA, 64, true } };
	uint16_t head = fd_add_chain(&e->ring, b, 2);
	assert_int_equal(run(e), 1);
	assert_int_equal(e->calls, 1);
	assert_int_equal(e->last_read, 1);
	assert_int_equal(e->last_write, 1);
	assert_int_equal(e->last_write_len, 64);
	assert_memory_equal(e->seen, "hello, device", 13);
	assert_int_equal(host(e, RESP_GPA)[23], 0xab);
	assert_int_equal(host(e, RESP_GPA)[24], 0);
	expect_used(e, head, 24);
	assert_int_equal(e->notifies, 1);
	/* Nothing more. */
	assert_int_equal(run(e), 0);
	assert_int_equal(e->vq.last_avail_idx, 1);
}

static void test_span_regions(void **state)
{
	struct env *e = *state;
	/* 32 bytes straddling region 0 and region 1, plus one above 4 GiB. */
	for (unsigned i = 0; i < 32; i++) {
		host(e, REGION_SIZE - 16 + i)[0] = (uint8_t)i;
	}
	struct fd_buf b[] = {
		{ REGION_SIZE - 16, 32, false },
		{ HIGH_GPA + 0x100, 40, true },
	};
	uint16_t head = fd_add_chain(&e->ring, b, 2);
	assert_int_equal(run(e), 1);
	assert_int_equal(e->last_read, 2);
	assert_int_equal(e->seen_len, 32);
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(e->seen[i], i);
	}
	assert_int_equal(host(e, HIGH_GPA + 0x100)[0], 0xab);
	expect_used(e, head, 24);
}

static void test_reply_clamped(void **state)
{
	struct env *e = *state;
	/* A handler claiming more than the driver offered is clamped. */
	e->reply_len = 1000;
	struct fd_buf b[] = { { DATA_GPA, 8, false }, { RESP_GPA, 16, true } };
	uint16_t head = fd_add_chain(&e->ring, b, 2);
	assert_int_equal(run(e), 1);
	expect_used(e, head, 16);
}

static void test_many_chains_wrap(void **state)
{
	struct env *e = *state;
	/* Several laps around the ring and past 16-bit index wrap. */
	vgpu_vq_set_base(&e->vq, 65530);
	e->ring.avail_idx = 65530;
	e->ring.used_seen = 65530;
	e->ring.used->idx = 65530;
	e->ring.avail->idx = 65530;
	for (unsigned lap = 0; lap < 5; lap++) {
		uint16_t heads[NUM / 2];
		for (unsigned i = 0; i < NUM / 2; i++) {
			struct fd_buf b[] = { { DATA_GPA, 8, false }, { RESP_GPA + 64 * i, 24, true } };
			heads[i] = fd_add_chain(&e->ring, b, 2);
		}
		assert_int_equal(run(e), NUM / 2);
		for (unsigned i = 0; i < NUM / 2; i++) {
			expect_used(e, heads[i], 24);
		}
	}
	assert_int_equal(e->calls, 5 * NUM / 2);
}

static void test_zero_length_skipped(void **state)
{
	struct env *e = *state;
	struct fd_buf b[] = { { DATA_GPA, 0, false }, { DATA_GPA, 8, false }, { RESP_GPA, 24, true } };
	uint16_t head = fd_add_chain(&e->ring, b, 3);
	assert_int_equal(run(e), 1);
	assert_int_equal(e->last_read, 1);
	expect_used(e, head, 24);
}

static void test_indirect(void **state)
{
	struct env *e = *state;
	memcpy(host(e, DATA_GPA), "indirect", 8);
	struct fd_buf b[] = {
		{ DATA_GPA, 4, false }, { DATA_GPA + 4, 4, false }, { RESP_GPA, 24, true },
	};
	uint16_t head = fd_add_indirect(&e->ring, TABLE_GPA, b, 3);
	assert_int_equal(run(e), 1);
	assert_int_equal(e->last_read, 2);
	assert_int_equal(e->last_write, 1);
	assert_memory_equal(e->seen, "indirect", 8);
	expect_used(e, head, 24);
}

/* Posts a hand-made chain at head 0 and checks it comes back empty, the
 * handler untouched, and the queue still serves the next good chain. */
static void expect_bad_then_good(struct env *e, uint16_t head)
{
	fd_publish(&e->ring, head);
	e->ring.next_desc = 8;
	struct fd_buf b[] = { { DATA_GPA, 8, false }, { RESP_GPA, 24, true } };
	uint16_t good = fd_add_chain(&e->ring, b, 2);
	assert_int_equal(run(e), 2);
	assert_int_equal(e->calls, 1);
	expect_used(e, head, 0);
	expect_used(e, good, 24);
	assert_false(e->vq.broken);
	assert_int_equal(e->vq.n_bad_chains, 1);
}

static void test_loop(void **state)
{
	struct env *e = *state;
	fd_set_desc(&e->ring, 0, DATA_GPA, 8, VGPU_VRING_DESC_F_NEXT, 1);
	fd_set_desc(&e->ring, 1, DATA_GPA, 8, VGPU_VRING_DESC_F_NEXT, 0);
	expect_bad_then_good(e, 0);
}

static void test_self_loop_writable(void **state)
{
	struct env *e = *state;
	fd_set_desc(&e->ring, 0, RESP_GPA, 8, VGPU_VRING_DESC_F_NEXT | VGPU_VRING_DESC_F_WRITE, 0);
	expect_bad_then_good(e, 0);
}

static void test_next_out_of_range(void **state)
{
	struct env *e = *state;
	fd_set_desc(&e->ring, 0, DATA_GPA, 8, VGPU_VRING_DESC_F_NEXT, NUM);
	expect_bad_then_good(e, 0);
}

static void test_outside_ram(void **state)
{
	struct env *e = *state;
	/* A hole between region 1 and region 2. */
	fd_set_desc(&e->ring, 0, 0x50000, 8, 0, 0);
	expect_bad_then_good(e, 0);
}

static void test_straddles_end_of_ram(void **state)
{
	struct env *e = *state;
	fd_set_desc(&e->ring, 0, HIGH_GPA + REGION_SIZE - 4, 8, VGPU_VRING_DESC_F_WRITE, 0);
	expect_bad_then_good(e, 0);
}

static void test_wrapping_address(void **state)
{
	struct env *e = *state;
	fd_set_desc(&e->ring, 0, UINT64_MAX - 3, 0xffffffffu, 0, 0);
	expect_bad_then_good(e, 0);
}

static void test_read_after_write(void **state)
{
	struct env *e = *state;
	fd_set_desc(&e->ring, 0, RESP_GPA, 8, VGPU_VRING_DESC_F_WRITE | VGPU_VRING_DESC_F_NEXT, 1);
	fd_set_desc(&e->ring, 1, DATA_GPA, 8, 0, 0);
	expect_bad_then_good(e, 0);
}

static void test_too_many_iovecs(void **state)
{
	struct env *e = *state;
	/* 600 indirect entries each straddling region 0/1: 1200 iovecs. */
	const unsigned n = 600;
	struct fd_buf *b = calloc(n, sizeof(*b));
	for (unsigned i = 0; i < n; i++) {
		b[i] = (struct fd_buf){ REGION_SIZE - 8, 16, false };
	}
	uint16_t head = fd_add_indirect(&e->ring, 0x5000, b, n);
	free(b);
	struct fd_buf g[] = { { DATA_GPA, 8, false }, { RESP_GPA, 24, true } };
	uint16_t good = fd_add_chain(&e->ring, g, 2);
	assert_int_equal(run(e), 2);
	expect_used(e, head, 0);
	expect_used(e, good, 24);
	assert_int_equal(e->calls, 1);
}

static void test_indirect_bad_len(void **state)
{
	struct env *e = *state;
	fd_set_desc(&e->ring, 0, TABLE_GPA, 24, VGPU_VRING_DESC_F_INDIRECT, 0);
	expect_bad_then_good(e, 0);
}

static void test_indirect_zero_len(void **state)
{
	struct env *e = *state;
	fd_set_desc(&e->ring, 0, TABLE_GPA, 0, VGPU_VRING_DESC_F_INDIRECT, 0);
	expect_bad_then_good(e, 0);
}

static void test_indirect_outside_ram(void **state)
{
	struct env *e = *state;
	fd_set_desc(&e->ring, 0, 0x50000, 32, VGPU_VRING_DESC_F_INDIRECT, 0);
	expect_bad_then_good(e, 0);
}

static void test_indirect_nested(void **state)
{
	struct env *e = *state;
	struct vgpu_vring_desc *t = (void *)host(e, TABLE_GPA);
	t[0] = (struct vgpu_vring_desc){ TABLE_GPA + 0x100, 16, VGPU_VRING_DESC_F_INDIRECT, 0 };
	fd_set_desc(&e->ring, 0, TABLE_GPA, 16, VGPU_VRING_DESC_F_INDIRECT, 0);
	expect_bad_then_good(e, 0);
}

static void test_indirect_loop(void **state)
{
	struct env *e = *state;
	struct vgpu_vring_desc *t = (void *)host(e, TABLE_GPA);
	t[0] = (struct vgpu_vring_desc){ DATA_GPA, 8, VGPU_VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vgpu_vring_desc){ DATA_GPA, 8, VGPU_VRING_DESC_F_NEXT, 0 };
	fd_set_desc(&e->ring, 0, TABLE_GPA, 32, VGPU_VRING_DESC_F_INDIRECT, 0);
	expect_bad_then_good(e, 0);
}

static void test_indirect_next_out_of_table(void **state)
{
	struct env *e = *state;
	struct vgpu_vring_desc *t = (void *)host(e, TABLE_GPA);
	t[0] = (struct vgpu_vring_desc){ DATA_GPA, 8, VGPU_VRING_DESC_F_NEXT, 2 };
	fd_set_desc(&e->ring, 0, TABLE_GPA, 32, VGPU_VRING_DESC_F_INDIRECT, 0);
	expect_bad_then_good(e, 0);
}

static void test_indirect_with_next(void **state)
{
	struct env *e = *state;
	struct vgpu_vring_desc *t = (void *)host(e, TABLE_GPA);
	t[0] = (struct vgpu_vring_desc){ DATA_GPA, 8, 0, 0 };
	fd_set_desc(&e->ring, 0, TABLE_GPA, 16, VGPU_VRING_DESC_F_INDIRECT | VGPU_VRING_DESC_F_NEXT, 1);
	fd_set_desc(&e->ring, 1, DATA_GPA, 8, 0, 0);
	expect_bad_then_good(e, 0);
}

static void test_indirect_not_first(void **state)
{
	struct env *e = *state;
	fd_set_desc(&e->ring, 0, DATA_GPA, 8, VGPU_VRING_DESC_F_NEXT, 1);
	fd_set_desc(&e->ring, 1, TABLE_GPA, 16, VGPU_VRING_DESC_F_INDIRECT, 0);
	expect_bad_then_good(e, 0);
}

static void test_indirect_not_negotiated(void **state)
{
	struct env *e = *state;
	vgpu_vq_set_features(&e->vq, 0);
	struct vgpu_vring_desc *t = (void *)host(e, TABLE_GPA);
	t[0] = (struct vgpu_vring_desc){ DATA_GPA, 8, 0, 0 };
	fd_set_desc(&e->ring, 0, TABLE_GPA, 16, VGPU_VRING_DESC_F_INDIRECT, 0);
	expect_bad_then_good(e, 0);
}

static void test_indirect_too_big(void **state)
{
	struct env *e = *state;
	/* More entries than both the queue size and the iovec bound. */
	fd_set_desc(&e->ring, 0, 0, 16u * (VGPU_VQ_MAX_IOV + 1), VGPU_VRING_DESC_F_INDIRECT, 0);
	expect_bad_then_good(e, 0);
}

static void test_avail_jump_breaks(void **state)
{
	struct env *e = *state;
	e->ring.avail->idx = NUM + 1;
	assert_int_equal(run(e), -EIO);
	assert_true(e->vq.broken);
	assert_int_equal(e->calls, 0);
	/* Stays broken, and never loops. */
	assert_int_equal(run(e), -EIO);
	/* Until it is configured again. */
	vgpu_vq_set_base(&e->vq, NUM + 1);
	assert_false(e->vq.broken);
	assert_int_equal(run(e), 0);
}

static void test_head_out_of_range_breaks(void **state)
{
	struct env *e = *state;
	fd_publish(&e->ring, NUM + 3);
	assert_int_equal(run(e), -EIO);
	assert_true(e->vq.broken);
	uint32_t id, len;
	assert_false(fd_get_used(&e->ring, &id, &len));
}

static void test_no_interrupt(void **state)
{
	struct env *e = *state;
	e->ring.avail->flags = VGPU_VRING_AVAIL_F_NO_INTERRUPT;
	struct fd_buf b[] = { { DATA_GPA, 8, false }, { RESP_GPA, 24, true } };
	fd_add_chain(&e->ring, b, 2);
	fd_add_chain(&e->ring, b, 2);
	assert_int_equal(run(e), 2);
	assert_int_equal(e->notifies, 0);
	e->ring.avail->flags = 0;
	fd_add_chain(&e->ring, b, 2);
	assert_int_equal(run(e), 1);
	assert_int_equal(e->notifies, 1);
}

static void test_event_idx(void **state)
{
	struct env *e = *state;
	vgpu_vq_set_features(&e->vq, (1ull << VGPU_VIRTIO_F_EVENT_IDX) |
		(1ull << VGPU_VIRTIO_F_INDIRECT_DESC));
	struct fd_buf b[] = { { DATA_GPA, 8, false }, { RESP_GPA, 24, true } };
	/* Driver wants an interrupt only when used idx passes 2. */
	*fd_used_event(&e->ring) = 2;
	for (unsigned i = 0; i < 4; i++) {
		fd_add_chain(&e->ring, b, 2);
	}
	assert_int_equal(run(e), 4);
	/* The first push always notifies (no history), then only when idx
	 * steps past used_event (2 -> 3). */
	assert_int_equal(e->notifies, 2);
	/* The device asks to be kicked for the next new buffer. */
	assert_int_equal(*fd_avail_event(&e->ring), 4);

	/* used_event far ahead: no interrupt. */
	*fd_used_event(&e->ring) = 100;
	fd_add_chain(&e->ring, b, 2);
	assert_int_equal(run(e), 1);
	assert_int_equal(e->notifies, 2);
	assert_int_equal(*fd_avail_event(&e->ring), 5);
}

static void test_budget(void **state)
{
	struct env *e = *state;
	struct fd_buf b[] = { { DATA_GPA, 8, false }, { RESP_GPA, 24, true } };
	for (unsigned i = 0; i < 5; i++) {
		fd_add_chain(&e->ring, b, 2);
	}
	bool more = false;
	assert_int_equal(vgpu_vq_process(&e->vq, &e->mem, &e->chain, 3, handler, notifier, e, &more), 3);
	assert_true(more);
	assert_int_equal(vgpu_vq_process(&e->vq, &e->mem, &e->chain, 3, handler, notifier, e, &more), 2);
	assert_false(more);
}

static void test_config_validation(void **state)
{
	struct env *e = *state;
	struct vgpu_vq vq;
	vgpu_vq_init(&vq, 1);
	assert_int_equal(vgpu_vq_set_num(&vq, 0), -EINVAL);
	assert_int_equal(vgpu_vq_set_num(&vq, 3), -EINVAL);
	assert_int_equal(vgpu_vq_set_num(&vq, 65536), -EINVAL);
	assert_int_equal(vgpu_vq_set_num(&vq, 32768), 0);
	assert_int_equal(vgpu_vq_set_addr(&vq, 8, 0, 0), -EINVAL);
	assert_int_equal(vgpu_vq_set_addr(&vq, 0, 1, 0), -EINVAL);
	assert_int_equal(vgpu_vq_set_addr(&vq, 0, 0, 2), -EINVAL);
	/* Not mapped yet: a 32768-entry ring does not fit our 64 KiB regions. */
	assert_int_equal(vgpu_vq_map(&vq, &e->mem), -EINVAL);
	assert_int_equal(vgpu_vq_set_addr(&vq, UVA_OFFSET, UVA_OFFSET + 0x8000, UVA_OFFSET + 0xc000), 0);
	assert_int_equal(vgpu_vq_map(&vq, &e->mem), -EFAULT);
	assert_int_equal(vgpu_vq_map(&vq, NULL), -EFAULT);
	/* A ring address that is a guest-physical, not a frontend, address. */
	assert_int_equal(vgpu_vq_set_num(&vq, 16), 0);
	assert_int_equal(vgpu_vq_set_addr(&vq, DESC_GPA, AVAIL_GPA, USED_GPA), 0);
	assert_int_equal(vgpu_vq_map(&vq, &e->mem), -EFAULT);
	bool more;
	assert_int_equal(vgpu_vq_process(&vq, &e->mem, &e->chain, 10, handler, notifier, e, &more),
		-EFAULT);
}

static void test_remap_on_generation(void **state)
{
	struct env *e = *state;
	struct fd_buf b[] = { { DATA_GPA, 8, false }, { RESP_GPA, 24, true } };
	fd_add_chain(&e->ring, b, 2);
	assert_int_equal(run(e), 1);
	/* The table changes: region 0 moves to another frontend address. */
	e->mem.regions[0].uva += 0x100000;
	e->mem.generation++;
	fd_add_chain(&e->ring, b, 2);
	assert_int_equal(run(e), -EFAULT);
	assert_int_equal(vgpu_vq_set_addr(&e->vq, DESC_GPA + UVA_OFFSET + 0x100000,
		AVAIL_GPA + UVA_OFFSET + 0x100000, USED_GPA + UVA_OFFSET + 0x100000), 0);
	assert_int_equal(run(e), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_simple_chain),
		T(test_span_regions),
		T(test_reply_clamped),
		T(test_many_chains_wrap),
		T(test_zero_length_skipped),
		T(test_indirect),
		T(test_loop),
		T(test_self_loop_writable),
		T(test_next_out_of_range),
		T(test_outside_ram),
		T(test_straddles_end_of_ram),
		T(test_wrapping_address),
		T(test_read_after_write),
		T(test_too_many_iovecs),
		T(test_indirect_bad_len),
		T(test_indirect_zero_len),
		T(test_indirect_outside_ram),
		T(test_indirect_nested),
		T(test_indirect_loop),
		T(test_indirect_next_out_of_table),
		T(test_indirect_with_next),
		T(test_indirect_not_first),
		T(test_indirect_not_negotiated),
		T(test_indirect_too_big),
		T(test_avail_jump_breaks),
		T(test_head_out_of_range_breaks),
		T(test_no_interrupt),
		T(test_event_idx),
		T(test_budget),
		T(test_config_validation),
		T(test_remap_on_generation),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
