/* SPDX-License-Identifier: MIT */
/* Feeds arbitrary bytes to the vtest parser as a stream of messages, the way
 * a connection does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio-gpu/vtest-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* u32-aligned like the connection's input buffer. */
	uint32_t *buf = malloc(size ? (size + 3) & ~(size_t)3 : 4);
	if (!buf) {
		return 0;
	}
	memcpy(buf, data, size);
	size_t off = 0;
	while (off < size) {
		struct vgpu_vtest_msg m;
		size_t need;
		int used = vgpu_vtest_parse((const uint8_t *)buf + off, size - off, &m, &need);
		if (used <= 0) {
			break;
		}
		if (m.cmd == VGPU_VCMD_SUBMIT_CMD) {
			/* Touch the payload: it must lie inside the input. */
			volatile uint32_t sum = 0;
			for (uint32_t i = 0; i < m.u.submit.ndw; i++) {
				sum += m.u.submit.dwords[i];
			}
			(void)sum;
		}
		off += (size_t)used;
	}
	free(buf);
	return 0;
}
