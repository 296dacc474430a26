/* SPDX-License-Identifier: MIT */
#ifndef VGPU_VIRTQUEUE_H
#define VGPU_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio-gpu/guest-mem.h"

/* The device side of one virtio 1.x split virtqueue living in guest RAM.
 *
 * The ring is written by a hostile driver, concurrently with us: every index
 * and descriptor is read once, bounds-checked, and never trusted twice. Two
 * kinds of failure exist:
 *  - a bad chain (descriptor outside RAM, loop, bad indirect table, readable
 *    after writable, too many pieces): the chain is returned to the driver
 *    with used length 0 and the queue keeps going;
 *  - a broken ring (avail index jumping by more than the queue size, a head
 *    index >= queue size, ring memory gone): nothing sensible can be returned,
 *    so the queue stops (`broken`) until it is configured again.
 *
 * It knows nothing of vhost-user or virtio-gpu: the owner sets it up from
 * SET_VRING_* messages and hands each chain to a handler. Not thread-safe:
 * one queue is served from one thread (the event loop). */

#define VGPU_VQ_MAX_SIZE 32768u
/* Bound on the host pieces of one chain (descriptors can split further at
 * region boundaries). Chains needing more are bad chains. */
#define VGPU_VQ_MAX_IOV 1024u

/* Transport feature bits the queue implements. */
#define VGPU_VIRTIO_F_INDIRECT_DESC 28
#define VGPU_VIRTIO_F_EVENT_IDX 29
#define VGPU_VIRTIO_F_VERSION_1 32

/* Split-ring layout (virtio 1.2, 2.7). All fields little-endian. */
struct vgpu_vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define VGPU_VRING_DESC_F_NEXT 1u
#define VGPU_VRING_DESC_F_WRITE 2u
#define VGPU_VRING_DESC_F_INDIRECT 4u

struct vgpu_vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];  /* [num], then uint16_t used_event */
};
#define VGPU_VRING_AVAIL_F_NO_INTERRUPT 1u

struct vgpu_vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vgpu_vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vgpu_vring_used_elem ring[];  /* [num], then uint16_t avail_event */
};
#define VGPU_VRING_USED_F_NO_NOTIFY 1u

/* Bytes each part takes for a queue of num entries (with the event fields). */
static inline uint64_t vgpu_vring_desc_size(uint32_t num)
{
	return 16ull * num;
}
static inline uint64_t vgpu_vring_avail_size(uint32_t num)
{
	return 6ull + 2ull * num;
}
static inline uint64_t vgpu_vring_used_size(uint32_t num)
{
	return 6ull + 8ull * num;
}

/* One popped request: iov[0..n_read) are driver-written (device reads),
 * iov[n_read..n_read+n_write) are device-writable. */
struct vgpu_vq_chain {
	uint16_t head;
	unsigned n_read, n_write;
	size_t write_len;   /* total device-writable bytes */
	struct iovec iov[VGPU_VQ_MAX_IOV];
};

struct vgpu_vq {
	unsigned index;         /* for logs */
	uint32_t num;           /* 0: not configured */
	uint64_t desc_uva, avail_uva, used_uva;
	bool addr_set;
	bool event_idx;         /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;          /* VIRTIO_F_INDIRECT_DESC negotiated */

	/* Host views of the ring, valid while mapped_gen == mem->generation. */
	bool mapped;
	uint64_t mapped_gen;
	/* Shared with the driver: only accessed with __atomic loads/stores. */
	struct vgpu_vring_desc *desc;
	struct vgpu_vring_avail *avail;
	struct vgpu_vring_used *used;

	uint16_t last_avail_idx;  /* next avail entry to read */
	uint16_t used_idx;        /* next used entry to write (== our used->idx) */
	uint16_t signalled_used;  /* used_idx when we last decided to notify */
	bool signalled_used_valid;

	bool broken;

	/* Counters since init. */
	uint64_t n_chains;
	uint64_t n_bad_chains;
};

void vgpu_vq_init(struct vgpu_vq *vq, unsigned index);
/* Forgets the configuration (not the counters). */
void vgpu_vq_reset(struct vgpu_vq *vq);

/* num must be a power of two in 1..VGPU_VQ_MAX_SIZE. Returns 0 or -EINVAL. */
int vgpu_vq_set_num(struct vgpu_vq *vq, uint32_t num);
/* Frontend virtual addresses of the three parts; alignment is checked here,
 * translation when the ring is used (vgpu_vq_map). Returns 0 or -EINVAL. */
int vgpu_vq_set_addr(struct vgpu_vq *vq, uint64_t desc_uva, uint64_t avail_uva, uint64_t used_uva);
/* The next avail index to read, as SET/GET_VRING_BASE carry it. */
void vgpu_vq_set_base(struct vgpu_vq *vq, uint16_t base);
void vgpu_vq_set_features(struct vgpu_vq *vq, uint64_t features);

/* (Re)translates the ring into host pointers if mem changed since the last
 * call. Returns 0, -EINVAL if not configured, -EFAULT if any part is not
 * wholly inside one region of mem. */
int vgpu_vq_map(struct vgpu_vq *vq, const struct vgpu_mem *mem);

/* Pops the next available chain into *chain. Returns 1 if a chain was popped,
 * 0 if the ring is empty, -EIO if the ring is broken (vq->broken is set; stop
 * using it), or -EINVAL/-EFAULT/-E2BIG/-ELOOP for a bad chain: chain->head is
 * valid and the caller must return it with vgpu_vq_push(vq, chain->head, 0).
 * The ring must be mapped. */
int vgpu_vq_pop(struct vgpu_vq *vq, const struct vgpu_mem *mem, struct vgpu_vq_chain *chain);
/* Returns a chain to the driver with len device-written bytes. */
void vgpu_vq_push(struct vgpu_vq *vq, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt for what was pushed since the last
 * call (VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX). */
bool vgpu_vq_need_notify(struct vgpu_vq *vq);
/* Before going idle: with EVENT_IDX publish avail_event so the driver kicks
 * for the next buffer. Returns true if buffers arrived meanwhile (process
 * again instead of sleeping). */
bool vgpu_vq_arm_notify(struct vgpu_vq *vq);

/* Handles one chain: returns the bytes written into the writable iovecs, or
 * VGPU_VQ_DEFERRED: the handler keeps the chain and returns it later with
 * vgpu_vq_push() (chains may be used out of order). */
#define VGPU_VQ_DEFERRED SIZE_MAX
typedef size_t (*vgpu_vq_handler)(void *data, const struct vgpu_vq_chain *chain);
/* Called whenever the driver should be interrupted. */
typedef void (*vgpu_vq_notifier)(void *data);

/* Maps the ring, then pops, handles and pushes available chains (bad chains
 * returned empty), notifying per vgpu_vq_need_notify, until the ring is empty
 * and notifications are re-armed, or budget chains were handled: then *more
 * is set and the caller must come back later (a driver refilling the ring as
 * fast as we drain it must not starve the event loop). chain is scratch
 * space. Returns the number of chains returned, or a negative errno if the
 * ring cannot be mapped or broke (vq->broken). */
int vgpu_vq_process(struct vgpu_vq *vq, const struct vgpu_mem *mem, struct vgpu_vq_chain *chain,
	unsigned budget, vgpu_vq_handler handler, vgpu_vq_notifier notify, void *data, bool *more);

#endif
