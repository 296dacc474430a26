/* SPDX-License-Identifier: MIT */
#ifndef VGPU_GUEST_MEM_H
#define VGPU_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* A guest's RAM as the frontend (QEMU) shared it with VHOST_USER_SET_MEM_TABLE:
 * regions of guest-physical space, each an mmap()ed fd. Every translation is
 * bounds-checked; a range that is not wholly inside guest RAM fails. */

#define VGPU_MEM_MAX_REGIONS 8

struct vgpu_mem_region {
	uint64_t gpa;      /* guest physical address of the first byte */
	uint64_t size;     /* bytes */
	uint64_t uva;      /* frontend (QEMU) virtual address: vring addresses use it */
	uint8_t *host;     /* our mapping of the first byte */
	void *map_base;    /* what mmap() returned (NULL for test memory not to unmap) */
	size_t map_len;
};

struct vgpu_mem {
	unsigned n_regions;
	struct vgpu_mem_region regions[VGPU_MEM_MAX_REGIONS];
	/* Bumped whenever the table changes, so users can drop cached pointers. */
	uint64_t generation;
};

/* Host pointer for [gpa, gpa+len) if that range lies inside one region, else
 * NULL. len 0 is invalid. Overflow-safe. */
void *vgpu_mem_gpa(const struct vgpu_mem *mem, uint64_t gpa, uint64_t len);
/* Same for frontend virtual addresses (vring desc/avail/used addresses). */
void *vgpu_mem_uva(const struct vgpu_mem *mem, uint64_t uva, uint64_t len);

/* Maps [gpa, gpa+len), which may span adjacent regions, into at most max_iov
 * host iovecs appended at iov[*n_iov]. Returns 0, -EFAULT if any byte is
 * outside guest RAM, -E2BIG if max_iov is too small, -EINVAL if len is 0. */
int vgpu_mem_gpa_iov(const struct vgpu_mem *mem, uint64_t gpa, uint64_t len,
	struct iovec *iov, unsigned max_iov, unsigned *n_iov);

/* Unmaps every region that has map_base set and empties the table. */
void vgpu_mem_finish(struct vgpu_mem *mem);

/* Scatter/gather helpers over host iovecs (bounds-checked, never overrun).
 * Return the bytes copied. */
size_t vgpu_iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len);
size_t vgpu_buf_to_iov(const struct iovec *iov, unsigned n, size_t offset, const void *buf, size_t len);
size_t vgpu_iov_size(const struct iovec *iov, unsigned n);

#endif
