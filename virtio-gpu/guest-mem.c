/* SPDX-License-Identifier: MIT */
#include "guest-mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/* Every lookup below is written so that no sum can wrap: a byte at address a
 * is in region r iff a - r->gpa < r->size (with a >= r->gpa), and a range of
 * len bytes fits from there iff len <= r->size - (a - r->gpa). */

static const struct vgpu_mem_region *find_gpa(const struct vgpu_mem *mem, uint64_t gpa)
{
	unsigned n = mem->n_regions < VGPU_MEM_MAX_REGIONS ? mem->n_regions : VGPU_MEM_MAX_REGIONS;
	for (unsigned i = 0; i < n; i++) {
		const struct vgpu_mem_region *r = &mem->regions[i];
		if (r->host && gpa >= r->gpa && gpa - r->gpa < r->size) {
			return r;
		}
	}
	return NULL;
}

void *vgpu_mem_gpa(const struct vgpu_mem *mem, uint64_t gpa, uint64_t len)
{
	if (!mem || len == 0) {
		return NULL;
	}
	const struct vgpu_mem_region *r = find_gpa(mem, gpa);
	if (!r || len > r->size - (gpa - r->gpa)) {
		return NULL;
	}
	return r->host + (gpa - r->gpa);
}

void *vgpu_mem_uva(const struct vgpu_mem *mem, uint64_t uva, uint64_t len)
{
	if (!mem || len == 0) {
		return NULL;
	}
	unsigned n = mem->n_regions < VGPU_MEM_MAX_REGIONS ? mem->n_regions : VGPU_MEM_MAX_REGIONS;
	for (unsigned i = 0; i < n; i++) {
		const struct vgpu_mem_region *r = &mem->regions[i];
		if (r->host && uva >= r->uva && uva - r->uva < r->size) {
			if (len > r->size - (uva - r->uva)) {
				return NULL;
			}
			return r->host + (uva - r->uva);
		}
	}
	return NULL;
}

int vgpu_mem_gpa_iov(const struct vgpu_mem *mem, uint64_t gpa, uint64_t len,
	struct iovec *iov, unsigned max_iov, unsigned *n_iov)
{
	if (len == 0) {
		return -EINVAL;
	}
	if (!mem) {
		return -EFAULT;
	}
	/* Fill from *n_iov but publish the new count only on success, so a
	 * failed call leaves the caller's vector as it was. */
	unsigned n = *n_iov;
	while (len > 0) {
		const struct vgpu_mem_region *r = find_gpa(mem, gpa);
		if (!r) {
			return -EFAULT;
		}
		uint64_t avail = r->size - (gpa - r->gpa);
		uint64_t take = len < avail ? len : avail;
		if (n >= max_iov) {
			return -E2BIG;
		}
		iov[n].iov_base = r->host + (gpa - r->gpa);
		iov[n].iov_len = (size_t)take;
		n++;
		len -= take;
		if (len > 0 && take > UINT64_MAX - gpa) {
			/* The range wraps past the top of the address space. */
			return -EFAULT;
		}
		gpa += take;
	}
	*n_iov = n;
	return 0;
}

void vgpu_mem_finish(struct vgpu_mem *mem)
{
	if (!mem) {
		return;
	}
	unsigned n = mem->n_regions < VGPU_MEM_MAX_REGIONS ? mem->n_regions : VGPU_MEM_MAX_REGIONS;
	for (unsigned i = 0; i < n; i++) {
		struct vgpu_mem_region *r = &mem->regions[i];
		if (r->map_base) {
			munmap(r->map_base, r->map_len);
		}
	}
	uint64_t generation = mem->generation;
	memset(mem, 0, sizeof(*mem));
	/* Users compare generations to drop cached host pointers. */
	mem->generation = generation + 1;
}

size_t vgpu_iov_size(const struct iovec *iov, unsigned n)
{
	size_t total = 0;
	for (unsigned i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX - total) {
			return SIZE_MAX;
		}
		total += iov[i].iov_len;
	}
	return total;
}

size_t vgpu_iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;
		if (offset >= l) {
			offset -= l;
			continue;
		}
		size_t chunk = l - offset;
		if (chunk > len - done) {
			chunk = len - done;
		}
		memcpy(out + done, (const uint8_t *)iov[i].iov_base + offset, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}

size_t vgpu_buf_to_iov(const struct iovec *iov, unsigned n, size_t offset, const void *buf, size_t len)
{
	const uint8_t *in = buf;
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;
		if (offset >= l) {
			offset -= l;
			continue;
		}
		size_t chunk = l - offset;
		if (chunk > len - done) {
			chunk = len - done;
		}
		memcpy((uint8_t *)iov[i].iov_base + offset, in + done, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}
