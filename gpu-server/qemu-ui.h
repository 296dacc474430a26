/* SPDX-License-Identifier: MIT */
#ifndef GS_QEMU_UI_H
#define GS_QEMU_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Connector hotplug for guests behind stock QEMU.
 *
 * The guest must see VIRTIO_GPU_EVENT_DISPLAY when a zone client connects or
 * leaves, but QEMU's vhost-user-gpu front-end owns events_read and rejects
 * backend config-change messages. QEMU raises the event only from its UI
 * layer: dpy_set_ui_info() -> virtio-gpu-base ui_info -> config interrupt.
 * gs_qemu_ui reaches that path from outside, as a UI client of QEMU, without
 * threads or sleeps, on the caller's zl_loop. It (re)connects with backoff
 * while QEMU is not there yet or restarts, and queues events until then.
 *
 * The guest then sends GET_DISPLAY_INFO (and GET_EDID), which vhost-user-gpu
 * passes to OUR device model: update it (vgpu_device_set_scanout_enabled())
 * before calling gs_qemu_ui_display_event(). The size QEMU is told is only
 * a trigger for vhost-user-gpu guests; with QEMU's own virtio-gpu device it
 * is also what the guest reads back.
 *
 * Two ways into QEMU's UI layer (see docs/hotplug.md):
 *
 *   "qmp:PATH"  QEMU's QMP socket (-qmp unix:PATH,server=on,wait=off) and its
 *               D-Bus display in peer-to-peer mode (-display dbus,p2p=yes,
 *               module ui-dbus from qemu-system-modules-opengl). One session
 *               serves every head: scanout N is D-Bus Console_N, so the GPU
 *               must be the guest's only graphics device (-vga none). The
 *               QMP connection is closed again once the D-Bus peer is handed
 *               over. This is the one that works with vhost-user-gpu-pci.
 *
 *   "vnc:PATH[,PATH1,...]"  QEMU's VNC servers on unix sockets, PATHn for
 *               scanout n (-vnc unix:PATH,display=DEV,head=n,id=...), spoken
 *               to as an RFB 3.8 client (SetDesktopSize). QEMU 10 refuses to
 *               start a VNC server on a vhost-user-gpu console ("The console
 *               requires display DMABUF support"), so this serves QEMU's own
 *               virtio-gpu devices only. A bare PATH means "vnc:PATH".
 */

struct zl_loop;
struct gs_qemu_ui;

/* VIRTIO_GPU_MAX_SCANOUTS */
#define GS_QEMU_UI_MAX_SCANOUTS 16

struct gs_qemu_ui_stats {
	uint64_t sessions;        /* handshakes completed */
	uint64_t events_sent;     /* display events written to QEMU */
	uint64_t requests_acked;  /* requests QEMU answered as accepted/forwarded */
	uint64_t requests_failed; /* requests QEMU answered with an error */
	uint64_t protocol_errors; /* sessions dropped because QEMU broke the protocol */
};

/* Starts connecting at once; returns NULL on a malformed address (the reason
 * is logged) or out of memory. guest_name is used in log lines only. Both
 * strings are copied. */
struct gs_qemu_ui *gs_qemu_ui_create(struct zl_loop *loop, const char *address,
	const char *guest_name);
/* Accepts NULL. */
void gs_qemu_ui_destroy(struct gs_qemu_ui *ui);

/* Asks QEMU to raise VIRTIO_GPU_EVENT_DISPLAY for the console of `scanout`:
 * connected with a width x height panel (1..65535 each), or disconnected
 * (width and height ignored). Only the latest request per scanout is kept
 * while the session is not up; it is sent once it is. Every call yields an
 * event, even when it repeats the previous state. Returns 0, or -EINVAL for a
 * scanout this address does not serve or a bad size. */
int gs_qemu_ui_display_event(struct gs_qemu_ui *ui, uint32_t scanout, bool connected,
	uint32_t width, uint32_t height);

/* True when the session serving `scanout` has completed its handshake. */
bool gs_qemu_ui_is_ready(const struct gs_qemu_ui *ui, uint32_t scanout);
void gs_qemu_ui_get_stats(const struct gs_qemu_ui *ui, struct gs_qemu_ui_stats *stats);

/* Test and fuzz seams. gs_qemu_ui_create_with_fd() is gs_qemu_ui_create()
 * with an already connected stream socket for the first session (scanout 0's
 * for VNC), fd owned by the object from then on; later sessions connect to
 * the address as usual. gs_qemu_ui_feed() processes bytes as if they had been
 * read from that first session's current socket (QMP, then D-Bus, or RFB).
 * It returns 0, or a negative errno when they broke the protocol, in which
 * case the session was dropped and a reconnect scheduled; -ENOTCONN once it
 * is gone. */
struct gs_qemu_ui *gs_qemu_ui_create_with_fd(struct zl_loop *loop, const char *address,
	const char *guest_name, int fd);
int gs_qemu_ui_feed(struct gs_qemu_ui *ui, const uint8_t *data, size_t len);

#endif
