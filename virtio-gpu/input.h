/* SPDX-License-Identifier: MIT */
#ifndef VGPU_INPUT_H
#define VGPU_INPUT_H

/* A virtio-input device (virtio 1.2 §5.8) behind vhost-user: what a zone's
 * panel does on a guest's part of it, as the guest's own touchscreen and
 * keyboard. QEMU: -chardev socket,id=in0,path=PATH
 * -device vhost-user-input-pci,chardev=in0; gpu-server: [guest] input=PATH.
 *
 * The device: name "virtio-zonal input", INPUT_PROP_DIRECT, EV_ABS ABS_X
 * and ABS_Y over 0..VGPU_INPUT_ABS_MAX (the guest's scanout, whole), EV_KEY
 * BTN_TOUCH and BTN_LEFT..BTN_MIDDLE and the keyboard keys 1..248, EV_SYN.
 * Events wait in a bounded queue (older ones go first when it is full, whole
 * reports at a time) until the guest has buffers for them. */

#include <stdbool.h>
#include <stdint.h>

#define VGPU_INPUT_ABS_MAX 32767
#define VGPU_INPUT_QUEUE 256 /* events waiting for guest buffers */

struct zl_loop;
struct vgpu_input;

/* Listens on socket_path for the frontend (NULL: frontends come through
 * vgpu_vhost_user_adopt_fd() on vgpu_input_vhost_user()). NULL on failure
 * (logged). */
struct vgpu_input *vgpu_input_create(struct zl_loop *loop, const char *socket_path,
	const char *guest_name);
void vgpu_input_destroy(struct vgpu_input *in);
/* Its vhost-user backend (tests, fuzzing). */
struct vgpu_vhost_user *vgpu_input_vhost_user(struct vgpu_input *in);

/* Touch (or a pointer with button BTN_LEFT, as buttons say) at x, y in
 * 0..VGPU_INPUT_ABS_MAX of the scanout: down, moved, up. One report each. */
void vgpu_input_touch(struct vgpu_input *in, uint32_t x, uint32_t y, bool down, bool up);
/* A key or button (evdev code), pressed or released. */
void vgpu_input_key(struct vgpu_input *in, uint16_t code, bool pressed);

struct vgpu_input_stats {
	bool connected;
	uint64_t events_queued, events_delivered, events_dropped;
};
void vgpu_input_get_stats(const struct vgpu_input *in, struct vgpu_input_stats *stats);

/* Test seam: the device's config space after the driver selected
 * select/subsel (what GET_CONFIG returns); its length. */
unsigned vgpu_input_config(struct vgpu_input *in, uint8_t select, uint8_t subsel,
	uint8_t *buf, unsigned max);

#endif
