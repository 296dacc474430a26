/* SPDX-License-Identifier: MIT */
#include "vtest-proto.h"

#include <errno.h>
#include <string.h>

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The exact payload size in u32s each fixed-size command must carry; a
 * mismatch means the client and server disagree on the protocol, and
 * guessing would desynchronise the stream. -1: variable (checked in parse). */
static int fixed_size(uint32_t cmd)
{
	switch (cmd) {
	case VGPU_VCMD_GET_CAPS:
	case VGPU_VCMD_GET_CAPS2:
	case VGPU_VCMD_PING_PROTOCOL_VERSION:
		return 0;
	case VGPU_VCMD_RESOURCE_CREATE:
		return VGPU_VCMD_RES_CREATE_SIZE;
	case VGPU_VCMD_RESOURCE_CREATE2:
		return VGPU_VCMD_RES_CREATE2_SIZE;
	case VGPU_VCMD_RESOURCE_UNREF:
		return VGPU_VCMD_RES_UNREF_SIZE;
	case VGPU_VCMD_TRANSFER_GET2:
	case VGPU_VCMD_TRANSFER_PUT2:
		return VGPU_VCMD_TRANSFER2_SIZE;
	case VGPU_VCMD_RESOURCE_BUSY_WAIT:
		return VGPU_VCMD_BUSY_WAIT_SIZE;
	case VGPU_VCMD_PROTOCOL_VERSION:
		return VGPU_VCMD_PROTOCOL_VERSION_SIZE;
	default:
		return -1;
	}
}

int vgpu_vtest_parse(const uint8_t *buf, size_t len, struct vgpu_vtest_msg *msg, size_t *need)
{
	const size_t hdr = VGPU_VTEST_HDR_SIZE * 4;
	*need = hdr;
	if (len < hdr) {
		return 0;
	}
	uint32_t plen = rd32(buf);
	uint32_t cmd = rd32(buf + 4);
	size_t body;

	if (cmd == 0 || cmd > VGPU_VCMD_MAX) {
		return -ENOTSUP;
	}
	if (cmd == VGPU_VCMD_TRANSFER_GET || cmd == VGPU_VCMD_TRANSFER_PUT) {
		/* Version-0 transfers stream raw pixels outside len; we never
		 * negotiate below 2 with a client that can do better, and a
		 * client that cannot is too old for Mesa 22.3. */
		return -ENOTSUP;
	}
	if (cmd == VGPU_VCMD_CREATE_RENDERER) {
		if (plen == 0 || plen > VGPU_VTEST_MAX_NAME) {
			return -EMSGSIZE;
		}
		body = plen;
	} else if (cmd == VGPU_VCMD_SUBMIT_CMD) {
		if (plen > VGPU_VTEST_MAX_CMD_DW) {
			return -EMSGSIZE;
		}
		body = (size_t)plen * 4;
	} else {
		int fs = fixed_size(cmd);
		if (fs < 0 || plen != (uint32_t)fs) {
			return -EINVAL;
		}
		body = (size_t)plen * 4;
	}
	*need = hdr + body;
	if (len < hdr + body) {
		return 0;
	}

	const uint8_t *p = buf + hdr;
	memset(msg, 0, sizeof(*msg));
	msg->cmd = cmd;
	switch (cmd) {
	case VGPU_VCMD_CREATE_RENDERER: {
		/* The name is NUL-terminated by Mesa; a hostile one may not be. */
		size_t n = strnlen((const char *)p, body);
		if (n >= sizeof(msg->u.create_renderer.name)) {
			n = sizeof(msg->u.create_renderer.name) - 1;
		}
		memcpy(msg->u.create_renderer.name, p, n);
		msg->u.create_renderer.name[n] = 0;
		break;
	}
	case VGPU_VCMD_RESOURCE_CREATE:
	case VGPU_VCMD_RESOURCE_CREATE2: {
		uint32_t *f[] = {
			&msg->u.res_create.handle, &msg->u.res_create.target,
			&msg->u.res_create.format, &msg->u.res_create.bind,
			&msg->u.res_create.width, &msg->u.res_create.height,
			&msg->u.res_create.depth, &msg->u.res_create.array_size,
			&msg->u.res_create.last_level, &msg->u.res_create.nr_samples,
			&msg->u.res_create.data_size,
		};
		for (uint32_t i = 0; i < plen; i++) {
			*f[i] = rd32(p + 4 * i);
		}
		if (msg->u.res_create.handle == 0 ||
			msg->u.res_create.data_size > VGPU_VTEST_MAX_RES_BYTES) {
			return -EINVAL;
		}
		break;
	}
	case VGPU_VCMD_RESOURCE_UNREF:
		msg->u.res_unref.handle = rd32(p);
		break;
	case VGPU_VCMD_TRANSFER_GET2:
	case VGPU_VCMD_TRANSFER_PUT2: {
		uint32_t *f[] = {
			&msg->u.transfer.handle, &msg->u.transfer.level,
			&msg->u.transfer.x, &msg->u.transfer.y, &msg->u.transfer.z,
			&msg->u.transfer.w, &msg->u.transfer.h, &msg->u.transfer.d,
			&msg->u.transfer.data_size, &msg->u.transfer.offset,
		};
		for (uint32_t i = 0; i < plen; i++) {
			*f[i] = rd32(p + 4 * i);
		}
		break;
	}
	case VGPU_VCMD_SUBMIT_CMD:
		/* The caller's buffer is u32-aligned (it reads into a u32 array). */
		msg->u.submit.dwords = (const uint32_t *)(const void *)p;
		msg->u.submit.ndw = plen;
		break;
	case VGPU_VCMD_RESOURCE_BUSY_WAIT:
		msg->u.busy_wait.handle = rd32(p);
		msg->u.busy_wait.flags = rd32(p + 4);
		break;
	case VGPU_VCMD_PROTOCOL_VERSION:
		msg->u.protocol_version.version = rd32(p);
		break;
	default:
		break;
	}
	return (int)(hdr + body);
}
