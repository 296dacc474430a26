/* SPDX-License-Identifier: MIT */
#ifndef VGPU_VTEST_PROTO_H
#define VGPU_VTEST_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Mesa's vtest protocol (virpipe driver <-> virgl_test_server), as spoken by
 * Mesa 22.3. Every message is a header of two host-endian (little-endian
 * here) u32s {len, cmd} followed by len u32s of payload -- except
 * VCMD_CREATE_RENDERER, whose len counts bytes (a historical quirk). The
 * server answers some commands with the same {len, cmd} header. Protocol
 * versions: 0 (original), 1 (GET_CAPS2, PING/PROTOCOL_VERSION), 2 (resources
 * backed by shared memory fds, TRANSFER_GET2/PUT2 with offsets into them). */

#define VGPU_VTEST_HDR_SIZE 2
#define VGPU_VTEST_CMD_LEN 0
#define VGPU_VTEST_CMD_ID 1

enum {
	VGPU_VCMD_GET_CAPS = 1,
	VGPU_VCMD_RESOURCE_CREATE = 2,
	VGPU_VCMD_RESOURCE_UNREF = 3,
	VGPU_VCMD_TRANSFER_GET = 4,
	VGPU_VCMD_TRANSFER_PUT = 5,
	VGPU_VCMD_SUBMIT_CMD = 6,
	VGPU_VCMD_RESOURCE_BUSY_WAIT = 7,
	VGPU_VCMD_CREATE_RENDERER = 8,
	VGPU_VCMD_GET_CAPS2 = 9,              /* since version 1 (ping-able servers) */
	VGPU_VCMD_PING_PROTOCOL_VERSION = 10, /* since version 1 */
	VGPU_VCMD_PROTOCOL_VERSION = 11,      /* since version 1 */
	VGPU_VCMD_RESOURCE_CREATE2 = 12,      /* since version 2 */
	VGPU_VCMD_TRANSFER_GET2 = 13,         /* since version 2 */
	VGPU_VCMD_TRANSFER_PUT2 = 14,         /* since version 2 */
	VGPU_VCMD_MAX = 14,
};

/* The highest version this server speaks. Version 3 (context_init, blobs,
 * syncobjs) is for Venus and not used by virpipe's GL path. */
#define VGPU_VTEST_PROTOCOL_VERSION 2

/* Payload sizes in u32s. */
#define VGPU_VCMD_RES_CREATE_SIZE 10  /* handle target format bind w h d array last_level samples */
#define VGPU_VCMD_RES_CREATE2_SIZE 11 /* ... + data_size */
#define VGPU_VCMD_RES_UNREF_SIZE 1
#define VGPU_VCMD_TRANSFER_SIZE 11    /* handle level stride layer_stride x y z w h d data_size */
#define VGPU_VCMD_TRANSFER2_SIZE 10   /* handle level x y z w h d data_size offset */
#define VGPU_VCMD_BUSY_WAIT_SIZE 2    /* handle flags */
#define VGPU_VCMD_PROTOCOL_VERSION_SIZE 1
#define VGPU_VCMD_BUSY_WAIT_FLAG_WAIT 1

/* Bounds on what a client may ask for; all hostile input. */
#define VGPU_VTEST_MAX_NAME 256              /* CREATE_RENDERER bytes */
#define VGPU_VTEST_MAX_CMD_DW (4u << 20)     /* SUBMIT_CMD: 16 MiB */
#define VGPU_VTEST_MAX_RES_BYTES (256u << 20) /* one shm backing */

/* One decoded message. Fields not used by the command are zero. */
struct vgpu_vtest_msg {
	uint32_t cmd;
	union {
		struct {
			char name[VGPU_VTEST_MAX_NAME]; /* NUL-terminated */
		} create_renderer;
		struct vgpu_vtest_res_create {
			uint32_t handle, target, format, bind, width, height, depth;
			uint32_t array_size, last_level, nr_samples, data_size;
		} res_create; /* RESOURCE_CREATE (data_size 0) and CREATE2 */
		struct {
			uint32_t handle;
		} res_unref;
		struct vgpu_vtest_transfer {
			uint32_t handle, level, stride, layer_stride;
			uint32_t x, y, z, w, h, d;
			uint32_t data_size, offset;
		} transfer; /* v1 (stride, no offset) and v2 (offset, no stride) */
		struct {
			const uint32_t *dwords; /* points into the input buffer */
			uint32_t ndw;
		} submit;
		struct {
			uint32_t handle, flags;
		} busy_wait;
		struct {
			uint32_t version;
		} protocol_version;
	} u;
};

/* Decodes the first message of buf[0..len). Returns the bytes it spans (> 0),
 * 0 if buf holds only part of it (read more; *need is then the total size the
 * message needs, so a reader can reject it early), or -EINVAL/-EMSGSIZE/
 * -ENOTSUP for a malformed, oversized or unknown message (the connection must
 * be closed: the stream cannot be resynchronised). v1 TRANSFER_PUT carries
 * raw data after the payload that is not counted in len; it is rejected
 * (-ENOTSUP) as this server negotiates version 2, where data moves through
 * shared memory. A pure function: the fuzz target feeds it directly. */
int vgpu_vtest_parse(const uint8_t *buf, size_t len, struct vgpu_vtest_msg *msg, size_t *need);

#endif
