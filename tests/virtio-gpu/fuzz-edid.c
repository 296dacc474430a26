/* SPDX-License-Identifier: MIT */
/* EDID parsing (virtio-gpu/edid.c vgpu_edid_parse): a zone client's panel
 * EDID comes from the network. Whatever the bytes: no read outside them, a
 * printable NUL-terminated name, and an EDID it accepts regenerates. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio-gpu/gpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy) {
		return 0;
	}
	memcpy(copy, data, size);
	struct vgpu_edid_info info;
	if (vgpu_edid_parse(copy, size, &info) == 0) {
		size_t n = strnlen(info.name, sizeof(info.name));
		if (n == sizeof(info.name) || strlen(info.manufacturer) != 3) {
			abort();
		}
		for (size_t i = 0; i < n; i++) {
			if (info.name[i] < 0x20 || info.name[i] > 0x7e) {
				abort();
			}
		}
		uint8_t out[256];
		vgpu_edid_generate_mm(out, sizeof(out), 640, 480, 60, info.name, info.width_mm,
			info.height_mm);
	}
	free(copy);
	return 0;
}
