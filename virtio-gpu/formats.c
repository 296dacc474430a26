/* SPDX-License-Identifier: MIT */
#include "gpu.h"

/* virtio-gpu names formats by byte order in memory (B8G8R8A8: byte 0 is
 * blue); pixman names them by bit position in a native 32-bit word
 * (a8r8g8b8: alpha in bits 31..24). On a little-endian host byte 0 is the
 * low byte, so the names read reversed; a big-endian host reads them as is.
 * Every format the spec lists is 32 bits per pixel. */
pixman_format_code_t vgpu_format_to_pixman(uint32_t virtio_format)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	switch (virtio_format) {
	case VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM: return PIXMAN_b8g8r8a8;
	case VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM: return PIXMAN_b8g8r8x8;
	case VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM: return PIXMAN_a8r8g8b8;
	case VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM: return PIXMAN_x8r8g8b8;
	case VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM: return PIXMAN_r8g8b8a8;
	case VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM: return PIXMAN_x8b8g8r8;
	case VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM: return PIXMAN_a8b8g8r8;
	case VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM: return PIXMAN_r8g8b8x8;
	default: return 0;
	}
#else
	switch (virtio_format) {
	case VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM: return PIXMAN_a8r8g8b8;
	case VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM: return PIXMAN_x8r8g8b8;
	case VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM: return PIXMAN_b8g8r8a8;
	case VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM: return PIXMAN_b8g8r8x8;
	case VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM: return PIXMAN_a8b8g8r8;
	case VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM: return PIXMAN_r8g8b8x8;
	case VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM: return PIXMAN_r8g8b8a8;
	case VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM: return PIXMAN_x8b8g8r8;
	default: return 0;
	}
#endif
}
