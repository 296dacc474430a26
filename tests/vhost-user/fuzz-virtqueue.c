/* SPDX-License-Identifier: MIT */
/* Fuzzes descriptor-chain walking (virtio-gpu/virtqueue.c): the whole guest
 * RAM, ring included, comes from the input, so every descriptor, index,
 * flag and indirect table is hostile. The handler reads every readable byte
 * and writes every writable one, so ASan sees any iovec that escapes the
 * (exactly sized, heap-allocated) regions.
 *
 * Input:
 *   u8 num_log2 (mod 9: 1..256 entries), u8 flags (bit 0 EVENT_IDX, bit 1
 *   INDIRECT_DESC), u16 base (last avail idx), u16 reply length,
 *   then up to 3 x 16 KiB of RAM: region 0 (gpa 0, the ring lives here),
 *   region 1 (gpa 16 KiB, adjacent), region 2 (gpa 4 GiB). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "virtio-gpu/guest-mem.h"
#include "virtio-gpu/virtqueue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REGION 0x4000u
#define UVA 0x7f0000000000ull
#define DESC_GPA 0x0u
#define AVAIL_GPA 0x1000u
#define USED_GPA 0x1800u

static struct vgpu_vq_chain chain;

struct run {
	size_t reply;
	unsigned notifies;
};

static size_t handler(void *data, const struct vgpu_vq_chain *c)
{
	struct run *r = data;
	uint8_t sum = 0;
	size_t wlen = 0;
	if (c->n_read + c->n_write > VGPU_VQ_MAX_IOV) {
		abort();
	}
	for (unsigned i = 0; i < c->n_read; i++) {
		const uint8_t *p = c->iov[i].iov_base;
		for (size_t j = 0; j < c->iov[i].iov_len; j++) {
			sum += p[j];
		}
	}
	for (unsigned i = 0; i < c->n_write; i++) {
		memset(c->iov[c->n_read + i].iov_base, 0x5a, c->iov[c->n_read + i].iov_len);
		wlen += c->iov[c->n_read + i].iov_len;
	}
	if (wlen != c->write_len) {
		abort();
	}
	/* Keep the reads: the reply length depends on them. */
	return r->reply + (sum & 1);
}

static void notifier(void *data)
{
	struct run *r = data;
	r->notifies++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		zl_log_init(getenv("FUZZ_VERBOSE") ? ZL_DEBUG : ZL_SILENT);
		quiet = true;
	}
	if (size < 6) {
		return 0;
	}
	uint32_t num = 1u << (data[0] % 9);
	uint8_t flags = data[1];
	uint16_t base = (uint16_t)(data[2] | (data[3] << 8));
	struct run run = { .reply = (size_t)(data[4] | (data[5] << 8)) };
	data += 6;
	size -= 6;

	struct vgpu_mem mem = { .n_regions = 3, .generation = 1 };
	const uint64_t gpa[3] = { 0, REGION, 1ull << 32 };
	for (unsigned i = 0; i < 3; i++) {
		uint8_t *h = malloc(REGION);
		size_t n = size > REGION ? REGION : size;
		memset(h, 0, REGION);
		memcpy(h, data, n);
		data += n;
		size -= n;
		mem.regions[i] = (struct vgpu_mem_region){
			.gpa = gpa[i], .size = REGION, .uva = UVA + gpa[i], .host = h,
		};
	}

	struct vgpu_vq vq;
	vgpu_vq_init(&vq, 0);
	vgpu_vq_set_num(&vq, num);
	vgpu_vq_set_addr(&vq, UVA + DESC_GPA, UVA + AVAIL_GPA, UVA + USED_GPA);
	vgpu_vq_set_features(&vq, ((flags & 1) ? 1ull << VGPU_VIRTIO_F_EVENT_IDX : 0) |
		((flags & 2) ? 1ull << VGPU_VIRTIO_F_INDIRECT_DESC : 0));
	vgpu_vq_set_base(&vq, base);

	bool more = true;
	for (unsigned round = 0; round < 4 && more; round++) {
		int r = vgpu_vq_process(&vq, &mem, &chain, 64, handler, notifier, &run, &more);
		if (r < 0) {
			break;
		}
		/* Bounded: a round never returns more than its budget. */
		if (r > 64) {
			abort();
		}
	}

	for (unsigned i = 0; i < 3; i++) {
		free(mem.regions[i].host);
	}
	return 0;
}
