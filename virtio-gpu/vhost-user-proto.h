/* SPDX-License-Identifier: MIT */
#ifndef VGPU_VHOST_USER_PROTO_H
#define VGPU_VHOST_USER_PROTO_H

#include <assert.h>
#include <stdint.h>

/* The two wire protocols the vhost-user-gpu backend speaks, as QEMU's
 * docs/interop/vhost-user.rst and vhost-user-gpu.rst define them. Every
 * number is in host byte order (the frontend is on the same host), every
 * struct is packed by construction (naturally aligned fixed-width fields) and
 * checked below. A message is a 12-byte {request, flags, size} header followed
 * by `size` bytes of payload; file descriptors travel as SCM_RIGHTS with it. */

/* ---- vhost-user (frontend = QEMU -> backend = us) ---- */

#define VHOST_USER_VERSION 0x1u
#define VHOST_USER_VERSION_MASK 0x3u
#define VHOST_USER_REPLY_MASK (1u << 2)
#define VHOST_USER_NEED_REPLY_MASK (1u << 3)

/* The largest payload we read. Bigger messages cannot be anything we know
 * (the biggest, SET_MEM_TABLE, is 264 bytes) and end the connection. */
#define VHOST_USER_MAX_PAYLOAD 4096u
/* QEMU sends at most 8 fds with one message (VHOST_MEMORY_BASELINE_NREGIONS). */
#define VHOST_USER_MAX_FDS 8u
#define VHOST_USER_MEM_REGIONS_MAX 8u
#define VHOST_USER_MAX_CONFIG_SIZE 256u

/* Payload bits of SET_VRING_KICK/CALL/ERR. */
#define VHOST_USER_VRING_IDX_MASK 0xffu
#define VHOST_USER_VRING_NOFD_MASK (1u << 8)

/* Virtio feature bit that says the backend speaks protocol features. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

enum vhost_user_protocol_feature {
	VHOST_USER_PROTOCOL_F_MQ = 0,
	VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1,
	VHOST_USER_PROTOCOL_F_RARP = 2,
	VHOST_USER_PROTOCOL_F_REPLY_ACK = 3,
	VHOST_USER_PROTOCOL_F_MTU = 4,
	VHOST_USER_PROTOCOL_F_BACKEND_REQ = 5,
	VHOST_USER_PROTOCOL_F_CROSS_ENDIAN = 6,
	VHOST_USER_PROTOCOL_F_CRYPTO_SESSION = 7,
	VHOST_USER_PROTOCOL_F_PAGEFAULT = 8,
	VHOST_USER_PROTOCOL_F_CONFIG = 9,
	VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD = 10,
	VHOST_USER_PROTOCOL_F_HOST_NOTIFIER = 11,
	VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD = 12,
	VHOST_USER_PROTOCOL_F_RESET_DEVICE = 13,
	VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS = 14,
	VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
	VHOST_USER_PROTOCOL_F_STATUS = 16,
};

enum vhost_user_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_CREATE_CRYPTO_SESSION = 26,
	VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
	VHOST_USER_POSTCOPY_ADVISE = 28,
	VHOST_USER_POSTCOPY_LISTEN = 29,
	VHOST_USER_POSTCOPY_END = 30,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_GPU_SET_SOCKET = 33,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_VRING_KICK = 35,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_REQUEST_MAX,
};

struct vhost_user_header {
	uint32_t request;
	uint32_t flags;
	uint32_t size;  /* payload bytes that follow */
};

/* SET_VRING_NUM / SET_VRING_BASE / GET_VRING_BASE / SET_VRING_ENABLE. */
struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
};

/* SET_VRING_ADDR: frontend (QEMU) virtual addresses of the three parts. */
struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;          /* bit 0: log_guest_addr valid (we never log) */
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vhost_user_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;    /* where the region starts in its fd */
};

/* SET_MEM_TABLE: QEMU sends only the nregions entries it uses. */
struct vhost_user_memory {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MEM_REGIONS_MAX];
};

/* ADD_MEM_REG / REM_MEM_REG (since CONFIGURE_MEM_SLOTS). */
struct vhost_user_mem_reg {
	uint64_t padding;
	struct vhost_user_mem_region region;
};

/* GET_CONFIG / SET_CONFIG: size bytes of the device config at offset. */
#define VHOST_USER_CONFIG_HDR_SIZE 12u
#define VHOST_USER_SET_CONFIG_TYPE_FRONTEND 0u
#define VHOST_USER_SET_CONFIG_TYPE_MIGRATION 1u
struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
};

static_assert(sizeof(struct vhost_user_header) == 12, "vhost-user header");
static_assert(sizeof(struct vhost_user_vring_state) == 8, "vring state");
static_assert(sizeof(struct vhost_user_vring_addr) == 40, "vring addr");
static_assert(sizeof(struct vhost_user_mem_region) == 32, "mem region");
static_assert(sizeof(struct vhost_user_memory) == 8 + 32 * 8, "memory table");
static_assert(sizeof(struct vhost_user_mem_reg) == 40, "mem reg");
static_assert(sizeof(struct vhost_user_config) == 12 + 256, "config");

/* ---- vhost-user-gpu display socket (backend = us -> frontend = QEMU) ----
 * Requests go from the backend to QEMU, QEMU replies with the reply flag. */

#define VHOST_USER_GPU_MSG_FLAG_REPLY (1u << 2)
/* Replies QEMU sends are at most a virtio_gpu_resp_edid (1056 bytes) or a
 * display info (408 bytes); anything bigger ends the display socket. */
#define VHOST_USER_GPU_MAX_PAYLOAD 4096u

enum vhost_user_gpu_protocol_feature {
	VHOST_USER_GPU_PROTOCOL_F_EDID = 0,
	VHOST_USER_GPU_PROTOCOL_F_DMABUF2 = 1,
};

enum vhost_user_gpu_request {
	VHOST_USER_GPU_NONE = 0,
	VHOST_USER_GPU_GET_PROTOCOL_FEATURES = 1,
	VHOST_USER_GPU_SET_PROTOCOL_FEATURES = 2,
	VHOST_USER_GPU_GET_DISPLAY_INFO = 3,
	VHOST_USER_GPU_CURSOR_POS = 4,
	VHOST_USER_GPU_CURSOR_POS_HIDE = 5,
	VHOST_USER_GPU_CURSOR_UPDATE = 6,
	VHOST_USER_GPU_SCANOUT = 7,
	VHOST_USER_GPU_UPDATE = 8,
	VHOST_USER_GPU_DMABUF_SCANOUT = 9,
	VHOST_USER_GPU_DMABUF_UPDATE = 10,
	VHOST_USER_GPU_GET_EDID = 11,          /* since protocol feature EDID */
	VHOST_USER_GPU_DMABUF_SCANOUT2 = 12,   /* since protocol feature DMABUF2 */
};

struct vhost_user_gpu_header {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

static_assert(sizeof(struct vhost_user_gpu_header) == 12, "vhost-user-gpu header");

#endif
