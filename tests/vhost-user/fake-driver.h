/* SPDX-License-Identifier: MIT */
#ifndef TESTS_VHOST_USER_FAKE_DRIVER_H
#define TESTS_VHOST_USER_FAKE_DRIVER_H

/* The guest-driver side of a split virtqueue, for tests: lays descriptors,
 * avail and used rings out in "guest RAM" (host buffers standing in for
 * guest-physical ranges) and posts chains the way Linux's virtio_ring does,
 * or deliberately wrong. Header-only so each test and fuzzer can use it. */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "virtio-gpu/virtqueue.h"

#define FD_MAX_REGIONS 8

struct fd_mem {
	unsigned n;
	struct {
		uint64_t gpa, size;
		uint8_t *host;
	} r[FD_MAX_REGIONS];
};

static inline void *fd_host(const struct fd_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->n; i++) {
		if (gpa >= m->r[i].gpa && gpa - m->r[i].gpa < m->r[i].size &&
			len <= m->r[i].size - (gpa - m->r[i].gpa)) {
			return m->r[i].host + (gpa - m->r[i].gpa);
		}
	}
	return NULL;
}

struct fd_ring {
	const struct fd_mem *mem;
	uint32_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vgpu_vring_desc *desc;
	struct vgpu_vring_avail *avail;
	struct vgpu_vring_used *used;
	uint16_t avail_idx;   /* what we published */
	uint16_t used_seen;   /* used entries consumed */
	uint16_t next_desc;   /* next free descriptor (simple round robin) */
};

/* Lays a ring of num entries at the three guest-physical addresses. */
static inline bool fd_ring_init(struct fd_ring *r, const struct fd_mem *mem, uint32_t num,
	uint64_t desc_gpa, uint64_t avail_gpa, uint64_t used_gpa)
{
	memset(r, 0, sizeof(*r));
	r->mem = mem;
	r->num = num;
	r->desc_gpa = desc_gpa;
	r->avail_gpa = avail_gpa;
	r->used_gpa = used_gpa;
	r->desc = fd_host(mem, desc_gpa, vgpu_vring_desc_size(num));
	r->avail = fd_host(mem, avail_gpa, vgpu_vring_avail_size(num));
	r->used = fd_host(mem, used_gpa, vgpu_vring_used_size(num));
	if (!r->desc || !r->avail || !r->used) {
		return false;
	}
	memset(r->desc, 0, vgpu_vring_desc_size(num));
	memset(r->avail, 0, vgpu_vring_avail_size(num));
	memset(r->used, 0, vgpu_vring_used_size(num));
	return true;
}

struct fd_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Writes descriptor i (raw: the caller picks flags and next). */
static inline void fd_set_desc(struct fd_ring *r, uint16_t i, uint64_t gpa, uint32_t len,
	uint16_t flags, uint16_t next)
{
	r->desc[i].addr = gpa;
	r->desc[i].len = len;
	r->desc[i].flags = flags;
	r->desc[i].next = next;
}

/* Puts head into the avail ring and publishes it. */
static inline void fd_publish(struct fd_ring *r, uint16_t head)
{
	r->avail->ring[r->avail_idx % r->num] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r->avail_idx++;
	__atomic_store_n(&r->avail->idx, r->avail_idx, __ATOMIC_RELAXED);
}

/* Posts a well-formed chain of n buffers; returns its head. */
static inline uint16_t fd_add_chain(struct fd_ring *r, const struct fd_buf *bufs, unsigned n)
{
	uint16_t head = r->next_desc;
	for (unsigned i = 0; i < n; i++) {
		uint16_t cur = (uint16_t)((head + i) % r->num);
		uint16_t next = (uint16_t)((head + i + 1) % r->num);
		uint16_t flags = (bufs[i].write ? VGPU_VRING_DESC_F_WRITE : 0) |
			(i + 1 < n ? VGPU_VRING_DESC_F_NEXT : 0);
		fd_set_desc(r, cur, bufs[i].gpa, bufs[i].len, flags, next);
	}
	r->next_desc = (uint16_t)((head + n) % r->num);
	fd_publish(r, head);
	return head;
}

/* Posts the buffers as one indirect descriptor whose table sits at
 * table_gpa; returns its head. */
static inline uint16_t fd_add_indirect(struct fd_ring *r, uint64_t table_gpa,
	const struct fd_buf *bufs, unsigned n)
{
	struct vgpu_vring_desc *t = fd_host(r->mem, table_gpa, 16ull * n);
	for (unsigned i = 0; i < n; i++) {
		t[i].addr = bufs[i].gpa;
		t[i].len = bufs[i].len;
		t[i].flags = (bufs[i].write ? VGPU_VRING_DESC_F_WRITE : 0) |
			(i + 1 < n ? VGPU_VRING_DESC_F_NEXT : 0);
		t[i].next = (uint16_t)(i + 1);
	}
	uint16_t head = r->next_desc;
	fd_set_desc(r, head, table_gpa, 16u * n, VGPU_VRING_DESC_F_INDIRECT, 0);
	r->next_desc = (uint16_t)((head + 1) % r->num);
	fd_publish(r, head);
	return head;
}

/* Takes the next used element, if any. */
static inline bool fd_get_used(struct fd_ring *r, uint32_t *id, uint32_t *len)
{
	uint16_t idx = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
	if (idx == r->used_seen) {
		return false;
	}
	const struct vgpu_vring_used_elem *e = &r->used->ring[r->used_seen % r->num];
	*id = e->id;
	*len = e->len;
	r->used_seen++;
	return true;
}

static inline uint16_t *fd_used_event(struct fd_ring *r)
{
	return &r->avail->ring[r->num];
}

static inline uint16_t *fd_avail_event(struct fd_ring *r)
{
	return (uint16_t *)(void *)&r->used->ring[r->num];
}

#endif
