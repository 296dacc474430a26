/* SPDX-License-Identifier: MIT */
#ifndef VGPU_GPU_H
#define VGPU_GPU_H

#include <linux/virtio_gpu.h>
#include <pixman.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guest-mem.h"

/* The virtio-gpu device model of one guest: command decode and validation,
 * resources, scanouts, cursor. It knows nothing of sockets or virtqueues: the
 * vhost-user layer hands it one request at a time as host iovecs (already
 * bounds-checked against guest RAM) and it writes the response. Everything in
 * a request is hostile and validated before use; a bad request gets the
 * spec's error response and the device keeps serving. */

#define VGPU_MAX_SCANOUTS 16
#define VGPU_MAX_BACKING_ENTRIES 16384
#define VGPU_DEFAULT_QUOTA (256ull << 20)

struct vgpu_device;
struct vgpu_renderer;

struct vgpu_scanout_config {
	uint32_t width, height; /* the mode offered: the layer's size */
	uint32_t refresh_hz;    /* for EDID; 0 means 60 */
	bool enabled;           /* connector connected */
};

struct vgpu_device_config {
	const char *name;       /* guest name, for logs */
	unsigned num_scanouts;  /* 1..16 */
	struct vgpu_scanout_config scanouts[VGPU_MAX_SCANOUTS];
	uint64_t quota_bytes;   /* bound on host memory for resources; 0: default */
	/* The server's one virglrenderer (borrowed, outlives the device), or
	 * NULL for a 2D-only device. With it the device offers VIRGL and
	 * CONTEXT_INIT, and the guest's contexts and 3D resources live in a
	 * renderer client of its own: a namespace no other guest can name. */
	struct vgpu_renderer *renderer;
	/* The listener samples gl_texture (GL composition): scanouts of 3D
	 * resources need no host copy, so their damage is not read back. */
	bool gl_scanouts;
};

struct vgpu_scanout_update {
	unsigned scanout_id;
	/* The resource's host copy. NULL: the scanout was disabled. Borrowed for
	 * the duration of the callback; pixman_image_ref() it to keep it. */
	pixman_image_t *image;
	/* The scanout's rectangle within the resource (the guest's mode). */
	uint32_t src_x, src_y, src_w, src_h;
	/* Damage in resource coordinates, clipped to the scanout rectangle. */
	const pixman_box32_t *damage;
	int n_damage;
	/* true: the damage is every pixel that differs from what the scanout
	 * showed before, even if the image is another one (a page flip); it
	 * may be empty. false: the damage is all that may have changed within
	 * this image, and a new image changes everything. */
	bool damage_exact;
	uint64_t t_flush_ns;    /* CLOCK_MONOTONIC when the flush was read */
	/* true: the guest presented (RESOURCE_FLUSH, or the scanout was
	 * disabled): the zone should send a frame now. false: SET_SCANOUT
	 * changed the source (a page flip's first half); Linux follows it with a
	 * RESOURCE_FLUSH, and sending on both would send every flip twice. */
	bool present;
	/* 3D resources (virgl): a GL texture name in the renderer's share group
	 * holding the resource (0: none, use image), and virglrenderer's
	 * Y_0_TOP: the texture holds the image in GL's row order (its top row
	 * is the texture's last; else its first). image is then a host copy,
	 * read back for the damage unless the device config says gl_scanouts. */
	uint32_t gl_texture;
	bool gl_y0_top;
};

struct vgpu_listener {
	/* SET_SCANOUT (full damage), RESOURCE_FLUSH (damage), disable (image NULL). */
	void (*scanout_update)(void *data, const struct vgpu_scanout_update *u);
	/* UPDATE_CURSOR: image is 64x64 a8r8g8b8 (borrowed) or NULL to hide. */
	void (*cursor_update)(void *data, unsigned scanout_id, pixman_image_t *image,
		uint32_t hot_x, uint32_t hot_y, uint32_t x, uint32_t y);
	/* MOVE_CURSOR. */
	void (*cursor_move)(void *data, unsigned scanout_id, uint32_t x, uint32_t y);
	/* A request vgpu_device_process_ctrl_async() deferred is complete (its
	 * fence retired): return it to the guest now. Called from the loop,
	 * never from inside process_*(). */
	void (*request_done)(void *data, uint64_t cookie);
};

/* NULL if num_scanouts is not 1..16. The config and listener are copied;
 * listener may be NULL, as may any of its callbacks. */
struct vgpu_device *vgpu_device_create(const struct vgpu_device_config *config,
	const struct vgpu_listener *listener, void *data);
/* Accepts NULL. Does not call the listener; images it still holds stay valid
 * until it unrefs them. */
void vgpu_device_destroy(struct vgpu_device *dev);

/* Feature bits the device offers (VIRTIO_GPU_F_EDID, ...), not transport bits. */
uint64_t vgpu_device_features(const struct vgpu_device *dev);
void vgpu_device_set_features(struct vgpu_device *dev, uint64_t acked);

/* Guest RAM; borrowed, may be NULL (then every backing access fails). The
 * table may change between requests; the device re-translates. */
void vgpu_device_set_mem(struct vgpu_device *dev, const struct vgpu_mem *mem);

/* Processes one controlq request: req are the driver-written buffers, resp the
 * device-writable ones. Returns the number of bytes written to resp (0 if resp
 * is too short to hold even a header: then the command is not run either).
 * A resp that holds a header but not a data response (display info, EDID)
 * gets an ERR_UNSPEC header. t_read_ns stamps the scanout updates this
 * request causes (RESOURCE_FLUSH, SET_SCANOUT). Completes synchronously, so
 * a fenced request's fence is signalled by this very response. The listener
 * is called from inside and must not call back into process_*(). */
size_t vgpu_device_process_ctrl(struct vgpu_device *dev,
	const struct iovec *req, unsigned n_req,
	const struct iovec *resp, unsigned n_resp, uint64_t t_read_ns);
/* The same, for a caller that can return requests out of order: a fenced
 * request on a 3D device has its response written at once, but *deferred
 * is set and the request must not be returned to the guest before the
 * listener's request_done(cookie): the fence is signalled by returning it,
 * and fences retire only when the GPU has passed them. Requests that are
 * not deferred can be returned at once, in any order with deferred ones.
 * vgpu_device_process_ctrl() never defers (3D fences then retire early). */
size_t vgpu_device_process_ctrl_async(struct vgpu_device *dev,
	const struct iovec *req, unsigned n_req,
	const struct iovec *resp, unsigned n_resp, uint64_t t_read_ns,
	uint64_t cookie, bool *deferred);
/* Same for the cursorq (UPDATE_CURSOR, MOVE_CURSOR); cursor requests have no
 * response body but a fence flag is honoured if a response buffer exists.
 * Without one (Linux posts cursor commands that way) the command still runs
 * and 0 is returned. */
size_t vgpu_device_process_cursor(struct vgpu_device *dev,
	const struct iovec *req, unsigned n_req,
	const struct iovec *resp, unsigned n_resp);

/* Device reset or guest disconnect: destroy every resource and context,
 * disable every scanout (listener sees image NULL), forget features.
 * Deferred requests are forgotten: request_done is not called for them. */
void vgpu_device_reset(struct vgpu_device *dev);

/* virtio_gpu_config as the device sees it (events_read, num_scanouts, ...). */
void vgpu_device_get_config(const struct vgpu_device *dev, struct virtio_gpu_config *cfg);
/* Driver wrote events_clear. */
void vgpu_device_clear_events(struct vgpu_device *dev, uint32_t events_clear);
/* A zone client came or went: sets the connector state the guest sees and
 * raises VIRTIO_GPU_EVENT_DISPLAY. Returns true if the state changed. */
bool vgpu_device_set_scanout_enabled(struct vgpu_device *dev, unsigned scanout_id, bool enabled);

/* Host bytes held by resources now (for the quota and for stats). */
uint64_t vgpu_device_memory_used(const struct vgpu_device *dev);

/* Fill a 128-byte-per-block EDID for width x height @ refresh_hz into buf.
 * Returns its size (128 or 256) or a negative errno. EDID 1.4 with a CVT
 * reduced-blanking preferred timing; a mode the base block cannot hold
 * (above 4095 pixels or 655.35 MHz) adds a DisplayID extension with the real
 * mode and puts a scaled-down one in the base block. 1..65536 pixels each
 * way, refresh_hz 0 (60) to 250; name is the monitor name (13 characters). */
int vgpu_edid_generate(uint8_t *buf, size_t len, uint32_t width, uint32_t height,
	uint32_t refresh_hz, const char *name);

/* The same with the monitor's physical size given (0, 0: derived from the
 * pixels at 96 dpi). */
int vgpu_edid_generate_mm(uint8_t *buf, size_t len, uint32_t width, uint32_t height,
	uint32_t refresh_hz, const char *name, uint32_t w_mm, uint32_t h_mm);

/* What an EDID (a panel's, from the network: hostile) says of its monitor.
 * Checks the header and the base block's checksum; len a multiple of 128.
 * Returns 0 or -EBADMSG. */
struct vgpu_edid_info {
	char manufacturer[4]; /* three letters */
	uint16_t product;
	char name[14];        /* the monitor name descriptor, printable; "" if none */
	uint32_t width_mm, height_mm;   /* 0: unknown */
	uint32_t pref_width, pref_height; /* the first detailed timing; 0: none */
};
int vgpu_edid_parse(const uint8_t *edid, size_t len, struct vgpu_edid_info *info);

/* The panel a scanout is shown on (a zone client's, from its EDID): the
 * scanout's EDID then names it and has its physical size for the part of
 * it the scanout covers. name NULL: back to the device's own. Takes effect
 * at the guest's next GET_EDID (a display event follows a client's join). */
void vgpu_device_set_scanout_panel(struct vgpu_device *dev, unsigned scanout_id,
	const char *name, uint32_t w_mm, uint32_t h_mm);

/* virtio-gpu format → pixman format (0 if the format is not one the spec lists). */
pixman_format_code_t vgpu_format_to_pixman(uint32_t virtio_format);

#endif
