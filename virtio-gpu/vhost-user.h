/* SPDX-License-Identifier: MIT */
#ifndef VGPU_VHOST_USER_H
#define VGPU_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zl_loop;
struct vgpu_device;

/* The vhost-user backend of one virtio-gpu device: a listening UNIX socket a
 * QEMU frontend (-device vhost-user-gpu-pci,chardev=...) connects to, the
 * vhost-user protocol on that connection, the two split virtqueues
 * (0 = controlq, 1 = cursorq) kicked through eventfds, and the vhost-user-gpu
 * display socket QEMU hands over with GPU_SET_SOCKET.
 *
 * Everything runs on the caller's zl_loop; nothing blocks, sleeps or starts a
 * thread. One frontend is served at a time; a second connection is refused
 * while one is active. Everything the frontend and the guest send is
 * validated; a frontend breaking the protocol is disconnected, a guest
 * breaking its rings gets its bad requests returned empty or, if the ring
 * itself is corrupt, the device stops serving it until the guest resets the
 * device or the frontend reconnects. The server itself keeps running.
 *
 * When the frontend goes away (or resets the device) the device is reset with
 * vgpu_device_reset(), guest memory is unmapped and every fd is closed.
 *
 * What the device sees of the guest's life:
 *  - vgpu_device_reset() on disconnect, RESET_DEVICE (QEMU sends it on a
 *    machine reset), and when the controlq is restarted from index 0 after
 *    it served requests: vhost-user has no message for "the guest driver
 *    reset the device", but that restart is how it shows. A VM paused
 *    exactly at a multiple of 65536 requests is mistaken for one (rare, and
 *    the guest then sees its resources gone).
 *  - Requests only while the rings run (between SET_VRING_KICK and
 *    GET_VRING_BASE, enabled). A frontend asking for polling mode (kick fd
 *    "invalid") gets its ring looked at every millisecond: there is no event
 *    to wait on then.
 *  - QEMU's vhost-user-gpu keeps num_scanouts and events_read of the config
 *    space to itself: the guest sees QEMU's max_outputs, and EVENT_DISPLAY
 *    raised by the device does not reach it through GET_CONFIG. */

struct vgpu_vhost_user;

struct vgpu_vhost_user_listener {
	/* A frontend connected. May be NULL. */
	void (*connected)(void *data);
	/* The frontend went away; the device has been reset already. May be
	 * NULL. Must not destroy the vgpu_vhost_user. */
	void (*disconnected)(void *data);
};

/* Listens on socket_path (a stale socket file there is replaced, one in use
 * is not). socket_path may be NULL: then frontends come only through
 * vgpu_vhost_user_adopt_fd(). dev and loop are borrowed and must outlive the
 * result; listener may be NULL. Returns NULL on failure (logged). */
struct vgpu_vhost_user *vgpu_vhost_user_create(struct zl_loop *loop, const char *socket_path,
	struct vgpu_device *dev, const struct vgpu_vhost_user_listener *listener, void *data);
/* Another virtio device over the same vhost-user machinery (two split
 * virtqueues, eventfd kicks and calls, guest memory, config space): what
 * the backend needs of it. Everything is called on the loop. */
#define VGPU_VHOST_USER_CONFIG_MAX 256
struct iovec;
struct vgpu_vhost_user_device {
	const char *name;  /* for logs */
	uint64_t features; /* device feature bits (transport bits are added) */
	/* Forget everything (a reset, a disconnect). */
	void (*reset)(void *dev);
	/* The config space now (at most max bytes); its length. */
	size_t (*get_config)(void *dev, uint8_t *buf, size_t max);
	/* The frontend wrote size bytes at offset (within the length above). */
	void (*set_config)(void *dev, uint32_t offset, const uint8_t *buf, uint32_t size);
	/* A chain of queue q: its readable and writable buffers (guest memory,
	 * hostile); returns the bytes written. */
	size_t (*process)(void *dev, unsigned queue, const struct iovec *in, unsigned n_in,
		const struct iovec *out, unsigned n_out);
	/* How many chains of queue q to take now (a device that fills buffers
	 * only when it has something: its count); NULL: as many as there are. */
	unsigned (*budget)(void *dev, unsigned queue);
};
struct vgpu_vhost_user *vgpu_vhost_user_create_device(struct zl_loop *loop,
	const char *socket_path, const struct vgpu_vhost_user_device *ops, void *dev,
	const struct vgpu_vhost_user_listener *listener, void *data);
/* The device has something for queue q: take the guest's buffers now (up to
 * its budget). */
void vgpu_vhost_user_process_queue(struct vgpu_vhost_user *vu, unsigned queue);

/* Accepts NULL. Unmaps guest memory, closes every fd and unlinks the socket.
 * Does not reset the device (it may be destroyed next) but detaches the
 * guest memory from it. */
void vgpu_vhost_user_destroy(struct vgpu_vhost_user *vu);

/* Serves an already connected stream socket as the frontend connection
 * (socket activation, --fd=N, tests). Takes ownership of fd, also on error.
 * Returns 0, or -EBUSY if a frontend is connected. */
int vgpu_vhost_user_adopt_fd(struct vgpu_vhost_user *vu, int fd);
/* Drops the current frontend, if any, as if it had disconnected. */
void vgpu_vhost_user_disconnect(struct vgpu_vhost_user *vu);

struct vgpu_vhost_user_stats {
	bool connected;          /* a frontend connection is open */
	bool broken;             /* a ring broke: the device is not served */
	bool display_ready;      /* display socket handshake done */
	uint64_t connections;    /* frontends accepted so far */
	uint64_t messages;       /* vhost-user messages handled */
	uint64_t bad_messages;   /* ... of which failed or were refused */
	uint64_t kicks;          /* kick eventfd wake-ups */
	uint64_t calls;          /* call eventfd signals */
	uint64_t ctrl_requests;  /* controlq chains handed to the device */
	uint64_t cursor_requests;
	uint64_t bad_chains;     /* chains returned empty */
	uint64_t device_resets;
	uint64_t deferred;         /* fenced requests held until their fence */
	uint64_t display_features; /* what QEMU offered on the display socket */
};
/* The device's request_done(cookie): return that deferred controlq request
 * to the guest. Stale cookies (from before a reset or reconnect) are
 * ignored. */
void vgpu_vhost_user_complete(struct vgpu_vhost_user *vu, uint64_t cookie);

void vgpu_vhost_user_get_stats(const struct vgpu_vhost_user *vu, struct vgpu_vhost_user_stats *stats);

/* Fuzzing and test seam: handles one complete message (12-byte header and
 * its payload, exactly len bytes) as if it had been read from the frontend,
 * with n_fds fds attached (ownership taken, also on error). Works without a
 * connection (replies are then dropped). Returns 0, or a negative errno if
 * the message was refused; if it ended the session (as a connection drop
 * would), the session state has been torn down. */
int vgpu_vhost_user_handle_message(struct vgpu_vhost_user *vu, const void *msg, size_t len,
	int *fds, unsigned n_fds);

#endif
