/* SPDX-License-Identifier: MIT */
#include "virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "util/log.h"

/* Shared ring fields are read and written with relaxed atomics so the
 * compiler neither tears nor re-reads them; ordering comes from the explicit
 * fences, as the virtio spec's memory-barrier rules put them. */
static inline uint16_t load16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static inline void store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static inline void store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, htole32(v), __ATOMIC_RELAXED);
}

/* used_event lives right after avail->ring[num], avail_event after
 * used->ring[num]. */
static inline uint16_t *used_event_ptr(struct vgpu_vq *vq)
{
	return &vq->avail->ring[vq->num];
}

static inline uint16_t *avail_event_ptr(struct vgpu_vq *vq)
{
	return (uint16_t *)(void *)&vq->used->ring[vq->num];
}

void vgpu_vq_init(struct vgpu_vq *vq, unsigned index)
{
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
}

void vgpu_vq_reset(struct vgpu_vq *vq)
{
	uint64_t n_chains = vq->n_chains, n_bad = vq->n_bad_chains;
	unsigned index = vq->index;
	vgpu_vq_init(vq, index);
	vq->n_chains = n_chains;
	vq->n_bad_chains = n_bad;
}

int vgpu_vq_set_num(struct vgpu_vq *vq, uint32_t num)
{
	if (num == 0 || num > VGPU_VQ_MAX_SIZE || (num & (num - 1)) != 0) {
		return -EINVAL;
	}
	vq->num = num;
	vq->mapped = false;
	return 0;
}

int vgpu_vq_set_addr(struct vgpu_vq *vq, uint64_t desc_uva, uint64_t avail_uva, uint64_t used_uva)
{
	/* Virtio 1.2 2.7: descriptor table 16-, avail 2-, used 4-byte aligned. */
	if ((desc_uva & 15) != 0 || (avail_uva & 1) != 0 || (used_uva & 3) != 0) {
		return -EINVAL;
	}
	vq->desc_uva = desc_uva;
	vq->avail_uva = avail_uva;
	vq->used_uva = used_uva;
	vq->addr_set = true;
	vq->mapped = false;
	return 0;
}

void vgpu_vq_set_base(struct vgpu_vq *vq, uint16_t base)
{
	/* We complete every chain before popping the next one, in order, so
	 * what was used equals what was made available. */
	vq->last_avail_idx = base;
	vq->used_idx = base;
	vq->signalled_used_valid = false;
	vq->broken = false;
}

void vgpu_vq_set_features(struct vgpu_vq *vq, uint64_t features)
{
	vq->event_idx = (features >> VGPU_VIRTIO_F_EVENT_IDX) & 1;
	vq->indirect = (features >> VGPU_VIRTIO_F_INDIRECT_DESC) & 1;
	vq->signalled_used_valid = false;
}

int vgpu_vq_map(struct vgpu_vq *vq, const struct vgpu_mem *mem)
{
	if (vq->num == 0 || !vq->addr_set) {
		return -EINVAL;
	}
	if (!mem) {
		vq->mapped = false;
		return -EFAULT;
	}
	if (vq->mapped && vq->mapped_gen == mem->generation) {
		return 0;
	}
	vq->mapped = false;
	void *desc = vgpu_mem_uva(mem, vq->desc_uva, vgpu_vring_desc_size(vq->num));
	void *avail = vgpu_mem_uva(mem, vq->avail_uva, vgpu_vring_avail_size(vq->num));
	void *used = vgpu_mem_uva(mem, vq->used_uva, vgpu_vring_used_size(vq->num));
	if (!desc || !avail || !used) {
		return -EFAULT;
	}
	/* The host mapping must keep the alignment the atomics rely on. */
	if (((uintptr_t)desc & 15) != 0 || ((uintptr_t)avail & 1) != 0 || ((uintptr_t)used & 3) != 0) {
		return -EFAULT;
	}
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->mapped = true;
	vq->mapped_gen = mem->generation;
	return 0;
}

static int mark_broken(struct vgpu_vq *vq, const char *why, unsigned a, unsigned b)
{
	zl_err("virtqueue %u broken: %s (%u, %u); not serving it until it is reset",
		vq->index, why, a, b);
	vq->broken = true;
	return -EIO;
}

/* Reads one descriptor once: the driver may rewrite it at any time, so every
 * decision is made on this copy. */
static void read_desc(const struct vgpu_vring_desc *src, struct vgpu_vring_desc *d)
{
	struct vgpu_vring_desc tmp;
	memcpy(&tmp, (const void *)src, sizeof(tmp));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	d->addr = le64toh(tmp.addr);
	d->len = le32toh(tmp.len);
	d->flags = le16toh(tmp.flags);
	d->next = le16toh(tmp.next);
}

static int walk_chain(struct vgpu_vq *vq, const struct vgpu_mem *mem, struct vgpu_vq_chain *chain,
	const char **why)
{
	const struct vgpu_vring_desc *table = vq->desc;
	uint32_t table_n = vq->num;
	/* A chain in the ring visits each descriptor at most once, so more
	 * than num steps means a loop; same for an indirect table's size. */
	uint32_t max_steps = vq->num;
	uint32_t steps = 0;
	bool indirect = false;
	uint16_t idx = chain->head;
	unsigned n = 0;

	for (;;) {
		if (steps >= max_steps) {
			*why = indirect ? "loop in indirect table" : "descriptor loop";
			return -ELOOP;
		}
		steps++;
		struct vgpu_vring_desc d;
		read_desc(&table[idx], &d);

		if (d.flags & VGPU_VRING_DESC_F_INDIRECT) {
			/* Only the whole chain may be one indirect descriptor
			 * (what Linux and QEMU do), never nested, and only
			 * if negotiated. */
			if (indirect || !vq->indirect || steps != 1 || (d.flags & VGPU_VRING_DESC_F_NEXT)) {
				*why = "misplaced or unnegotiated indirect descriptor";
				return -EINVAL;
			}
			if (d.len == 0 || d.len % sizeof(struct vgpu_vring_desc) != 0) {
				*why = "indirect table size";
				return -EINVAL;
			}
			uint32_t entries = d.len / sizeof(struct vgpu_vring_desc);
			/* The spec bounds a chain by the queue size; Linux may
			 * build bigger indirect tables on small queues, so
			 * allow up to the iovec bound too. */
			if (entries > vq->num && entries > VGPU_VQ_MAX_IOV) {
				*why = "indirect table too big";
				return -E2BIG;
			}
			const struct vgpu_vring_desc *t = vgpu_mem_gpa(mem, d.addr, d.len);
			if (!t) {
				*why = "indirect table outside guest RAM";
				return -EFAULT;
			}
			table = t;
			table_n = entries;
			max_steps = entries;
			steps = 0;
			indirect = true;
			idx = 0;
			continue;
		}

		if (d.len != 0) {
			bool writable = d.flags & VGPU_VRING_DESC_F_WRITE;
			if (!writable && chain->n_write > 0) {
				/* Virtio 1.2 2.7.4.2: readable after writable. */
				*why = "readable descriptor after a writable one";
				return -EINVAL;
			}
			unsigned before = n;
			int r = vgpu_mem_gpa_iov(mem, d.addr, d.len, chain->iov, VGPU_VQ_MAX_IOV, &n);
			if (r < 0) {
				*why = r == -E2BIG ? "too many pieces" : "buffer outside guest RAM";
				return r;
			}
			if (writable) {
				chain->n_write += n - before;
				chain->write_len += d.len;
			} else {
				chain->n_read += n - before;
			}
		}
		/* Zero-length descriptors carry nothing; they are skipped. */

		if (!(d.flags & VGPU_VRING_DESC_F_NEXT)) {
			return 0;
		}
		if (d.next >= table_n) {
			*why = "next index out of range";
			return -EINVAL;
		}
		idx = d.next;
	}
}

int vgpu_vq_pop(struct vgpu_vq *vq, const struct vgpu_mem *mem, struct vgpu_vq_chain *chain)
{
	if (vq->broken) {
		return -EIO;
	}
	if (!vq->mapped) {
		return -EIO;
	}
	uint16_t avail_idx = load16(&vq->avail->idx);
	uint16_t pending = (uint16_t)(avail_idx - vq->last_avail_idx);
	if (pending == 0) {
		return 0;
	}
	if (pending > vq->num) {
		return mark_broken(vq, "avail index jumped", vq->last_avail_idx, avail_idx);
	}
	/* Read the ring entry only after seeing the index that published it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	uint16_t head = load16(&vq->avail->ring[vq->last_avail_idx & (vq->num - 1)]);
	if (head >= vq->num) {
		return mark_broken(vq, "head index out of range", head, vq->num);
	}
	vq->last_avail_idx++;

	chain->head = head;
	chain->n_read = 0;
	chain->n_write = 0;
	chain->write_len = 0;
	const char *why = "";
	int r = walk_chain(vq, mem, chain, &why);
	if (r < 0) {
		vq->n_bad_chains++;
		/* A hostile guest must not flood the log. */
		if (vq->n_bad_chains <= 8) {
			zl_warn("virtqueue %u: bad chain at head %u: %s; returned empty",
				vq->index, head, why);
		} else {
			zl_dbg("vhost", "virtqueue %u: bad chain at head %u: %s",
				vq->index, head, why);
		}
		chain->n_read = 0;
		chain->n_write = 0;
		chain->write_len = 0;
		return r;
	}
	return 1;
}

void vgpu_vq_push(struct vgpu_vq *vq, uint16_t head, uint32_t len)
{
	if (!vq->mapped) {
		return;
	}
	struct vgpu_vring_used_elem *e = &vq->used->ring[vq->used_idx & (vq->num - 1)];
	store32(&e->id, head);
	store32(&e->len, len);
	/* The element must be visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->used_idx++;
	store16(&vq->used->idx, vq->used_idx);
}

bool vgpu_vq_need_notify(struct vgpu_vq *vq)
{
	if (!vq->mapped) {
		return false;
	}
	/* Our used->idx store must be ordered before we read what the driver
	 * asked for, or we could miss its request for an interrupt. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx) {
		return !(load16(&vq->avail->flags) & VGPU_VRING_AVAIL_F_NO_INTERRUPT);
	}
	uint16_t old = vq->signalled_used;
	bool valid = vq->signalled_used_valid;
	uint16_t new = vq->used_idx;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (!valid) {
		return true;
	}
	uint16_t event = load16(used_event_ptr(vq));
	/* vring_need_event(): did used idx step past used_event since old? */
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool vgpu_vq_arm_notify(struct vgpu_vq *vq)
{
	if (!vq->mapped || vq->broken) {
		return false;
	}
	if (vq->event_idx) {
		store16(avail_event_ptr(vq), vq->last_avail_idx);
	}
	/* Publish avail_event before re-reading avail->idx: a buffer added
	 * in between is then either seen here or kicked. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16(&vq->avail->idx) != vq->last_avail_idx;
}

int vgpu_vq_process(struct vgpu_vq *vq, const struct vgpu_mem *mem, struct vgpu_vq_chain *chain,
	unsigned budget, vgpu_vq_handler handler, vgpu_vq_notifier notify, void *data, bool *more)
{
	*more = false;
	if (vq->broken) {
		return -EIO;
	}
	int r = vgpu_vq_map(vq, mem);
	if (r < 0) {
		return r;
	}
	int count = 0;
	for (;;) {
		r = vgpu_vq_pop(vq, mem, chain);
		if (r == 0) {
			if (!vgpu_vq_arm_notify(vq)) {
				break;
			}
			continue;
		}
		if (r == -EIO) {
			return -EIO;
		}
		uint32_t len = 0;
		if (r > 0) {
			size_t written = handler(data, chain);
			if (written == VGPU_VQ_DEFERRED) {
				vq->n_chains++;
				count++;
				if ((unsigned)count >= budget) {
					*more = vgpu_vq_arm_notify(vq);
					break;
				}
				continue;
			}
			/* Never claim more than the driver gave us. */
			if (written > chain->write_len) {
				written = chain->write_len;
			}
			len = written > UINT32_MAX ? UINT32_MAX : (uint32_t)written;
		}
		vgpu_vq_push(vq, chain->head, len);
		vq->n_chains++;
		count++;
		if (notify && vgpu_vq_need_notify(vq)) {
			notify(data);
		}
		if ((unsigned)count >= budget) {
			*more = vgpu_vq_arm_notify(vq);
			break;
		}
	}
	return count;
}
