/* SPDX-License-Identifier: MIT */
/* Fuzzes the virgl command-stream rewriter. The input is the stream (host
 * order dwords). The client owns handles 1..64; after a successful rewrite
 * a second pass over the result must succeed with the identity-on-renderer
 * ids lookup, and the stream must not have grown or moved. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio-gpu/virgl-cs.h"

#define OWNED 64u
#define ID_BASE 0x10000u

static uint32_t lookup(void *data, uint32_t handle)
{
	(void)data;
	return handle <= OWNED ? ID_BASE + handle : 0;
}

static uint32_t lookup_ids(void *data, uint32_t handle)
{
	(void)data;
	return handle > ID_BASE && handle <= ID_BASE + OWNED ? handle : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t ndw = (uint32_t)(size / 4);
	uint32_t *dw = malloc(ndw ? ndw * 4 : 4);
	if (!dw) {
		return 0;
	}
	memcpy(dw, data, (size_t)ndw * 4);
	struct vgpu_cs_error err;
	if (vgpu_cs_rewrite(dw, ndw, lookup, NULL, &err) == 0) {
		/* Every handle is now a renderer id: a second pass sees only
		 * ids (or 0 where allowed). */
		if (vgpu_cs_rewrite(dw, ndw, lookup_ids, NULL, &err) != 0) {
			abort();
		}
	} else if (err.offset >= ndw || !memchr(err.msg, 0, sizeof(err.msg))) {
		abort();
	}
	free(dw);
	return 0;
}
