/* SPDX-License-Identifier: MIT */
#include "input.h"

#include <endian.h>
#include <errno.h>
#include <linux/input-event-codes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "guest-mem.h"
#include "util/log.h"
#include "vhost-user.h"

/* virtio 1.2 §5.8.5 */
enum {
	CFG_UNSET = 0x00,
	CFG_ID_NAME = 0x01,
	CFG_ID_SERIAL = 0x02,
	CFG_ID_DEVIDS = 0x03,
	CFG_PROP_BITS = 0x10,
	CFG_EV_BITS = 0x11,
	CFG_ABS_INFO = 0x12,
};
#define CFG_SIZE 136 /* select, subsel, size, 5 reserved, 128 of union */
#define EVENT_SIZE 8 /* le16 type, le16 code, le32 value */
#define EVENTQ 0
#define STATUSQ 1
#define NAME "virtio-zonal input"
#define KEYBOARD_LAST 248

struct vgpu_input {
	char guest[64];
	struct vgpu_vhost_user *vu;
	uint8_t select, subsel;
	struct {
		uint16_t type, code;
		uint32_t value;
	} q[VGPU_INPUT_QUEUE];
	unsigned head, len; /* ring of waiting events */
	bool touching;
	struct vgpu_input_stats stats;
};

static void set_bit(uint8_t *bm, unsigned bit)
{
	bm[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

unsigned vgpu_input_config(struct vgpu_input *in, uint8_t select, uint8_t subsel, uint8_t *buf,
	unsigned max)
{
	(void)in;
	uint8_t cfg[CFG_SIZE];
	memset(cfg, 0, sizeof(cfg));
	cfg[0] = select;
	cfg[1] = subsel;
	uint8_t *u = cfg + 8;
	unsigned size = 0;
	switch (select) {
	case CFG_ID_NAME:
		if (subsel == 0) {
			size = (unsigned)strlen(NAME);
			memcpy(u, NAME, size);
		}
		break;
	case CFG_ID_DEVIDS:
		if (subsel == 0) {
			uint16_t ids[4] = { htole16(0x06 /* BUS_VIRTUAL */), htole16(0x0627),
				htole16(0x7a6e /* "zn" */), htole16(1) };
			memcpy(u, ids, sizeof(ids));
			size = sizeof(ids);
		}
		break;
	case CFG_PROP_BITS:
		if (subsel == 0) {
			set_bit(u, INPUT_PROP_DIRECT);
			size = 1;
		}
		break;
	case CFG_EV_BITS:
		if (subsel == EV_KEY) {
			for (unsigned k = 1; k <= KEYBOARD_LAST; k++) {
				set_bit(u, k);
			}
			set_bit(u, BTN_LEFT);
			set_bit(u, BTN_RIGHT);
			set_bit(u, BTN_MIDDLE);
			set_bit(u, BTN_TOUCH);
			size = BTN_TOUCH / 8 + 1;
		} else if (subsel == EV_ABS) {
			set_bit(u, ABS_X);
			set_bit(u, ABS_Y);
			size = 1;
		}
		break;
	case CFG_ABS_INFO:
		if (subsel == ABS_X || subsel == ABS_Y) {
			uint32_t info[5] = { 0, htole32(VGPU_INPUT_ABS_MAX), 0, 0, 0 };
			memcpy(u, info, sizeof(info));
			size = sizeof(info);
		}
		break;
	default:
		break;
	}
	cfg[2] = (uint8_t)size;
	unsigned n = max < CFG_SIZE ? max : CFG_SIZE;
	memcpy(buf, cfg, n);
	return n;
}

/* --- the vhost-user device --- */

static void dev_reset(void *data)
{
	struct vgpu_input *in = data;
	in->select = in->subsel = 0;
	in->head = in->len = 0;
	in->touching = false;
}

static size_t dev_get_config(void *data, uint8_t *buf, size_t max)
{
	struct vgpu_input *in = data;
	return vgpu_input_config(in, in->select, in->subsel, buf, (unsigned)max);
}

static void dev_set_config(void *data, uint32_t offset, const uint8_t *buf, uint32_t size)
{
	/* The driver writes select and subsel (QEMU passes the whole struct);
	 * the rest is read-only. */
	struct vgpu_input *in = data;
	if (offset == 0 && size >= 1) {
		in->select = buf[0];
	}
	if (offset <= 1 && offset + size >= 2) {
		in->subsel = buf[1 - offset];
	}
}

static size_t dev_process(void *data, unsigned queue, const struct iovec *rd, unsigned n_rd,
	const struct iovec *wr, unsigned n_wr)
{
	(void)rd;
	(void)n_rd;
	struct vgpu_input *in = data;
	if (queue != EVENTQ || in->len == 0) {
		/* statusq (LEDs): read and returned. */
		return 0;
	}
	if (vgpu_iov_size(wr, n_wr) < EVENT_SIZE) {
		/* Too small for an event: returned empty, the event waits. */
		return 0;
	}
	uint8_t ev[EVENT_SIZE];
	uint16_t t = htole16(in->q[in->head].type), c = htole16(in->q[in->head].code);
	uint32_t v = htole32(in->q[in->head].value);
	memcpy(ev, &t, 2);
	memcpy(ev + 2, &c, 2);
	memcpy(ev + 4, &v, 4);
	in->head = (in->head + 1) % VGPU_INPUT_QUEUE;
	in->len--;
	in->stats.events_delivered++;
	return vgpu_buf_to_iov(wr, n_wr, 0, ev, sizeof(ev));
}

static unsigned dev_budget(void *data, unsigned queue)
{
	struct vgpu_input *in = data;
	return queue == EVENTQ ? in->len : VGPU_INPUT_QUEUE;
}

static const struct vgpu_vhost_user_device input_ops = {
	.name = "input",
	.features = 0,
	.reset = dev_reset,
	.get_config = dev_get_config,
	.set_config = dev_set_config,
	.process = dev_process,
	.budget = dev_budget,
};

static void on_connected(void *data)
{
	struct vgpu_input *in = data;
	in->stats.connected = true;
	zl_info("guest %s: input device connected", in->guest);
}

static void on_disconnected(void *data)
{
	struct vgpu_input *in = data;
	in->stats.connected = false;
	zl_info("guest %s: input device disconnected", in->guest);
}

static const struct vgpu_vhost_user_listener vu_listener = {
	.connected = on_connected,
	.disconnected = on_disconnected,
};

struct vgpu_input *vgpu_input_create(struct zl_loop *loop, const char *socket_path,
	const char *guest_name)
{
	struct vgpu_input *in = calloc(1, sizeof(*in));
	if (!in) {
		return NULL;
	}
	snprintf(in->guest, sizeof(in->guest), "%s", guest_name);
	in->vu = vgpu_vhost_user_create_device(loop, socket_path, &input_ops, in, &vu_listener, in);
	if (!in->vu) {
		free(in);
		return NULL;
	}
	zl_info("guest %s: input device on %s", guest_name, socket_path ? socket_path : "(fd)");
	return in;
}

struct vgpu_vhost_user *vgpu_input_vhost_user(struct vgpu_input *in)
{
	return in->vu;
}

void vgpu_input_destroy(struct vgpu_input *in)
{
	if (in) {
		vgpu_vhost_user_destroy(in->vu);
		free(in);
	}
}

/* Queues one report (events ending with SYN_REPORT); when the queue is
 * full the oldest reports go (a guest that does not read its input gets
 * the newest state). */
static void report(struct vgpu_input *in, const uint16_t *type, const uint16_t *code,
	const uint32_t *value, unsigned n)
{
	if (!in->stats.connected) {
		in->stats.events_dropped += n + 1;
		return;
	}
	while (in->len + n + 1 > VGPU_INPUT_QUEUE) {
		/* Drop up to and including the oldest SYN_REPORT. */
		bool syn;
		do {
			syn = in->q[in->head].type == EV_SYN;
			in->head = (in->head + 1) % VGPU_INPUT_QUEUE;
			in->len--;
			in->stats.events_dropped++;
		} while (!syn && in->len);
	}
	for (unsigned i = 0; i <= n; i++) {
		unsigned at = (in->head + in->len) % VGPU_INPUT_QUEUE;
		in->q[at].type = i < n ? type[i] : EV_SYN;
		in->q[at].code = i < n ? code[i] : SYN_REPORT;
		in->q[at].value = i < n ? value[i] : 0;
		in->len++;
	}
	in->stats.events_queued += n + 1;
	vgpu_vhost_user_process_queue(in->vu, EVENTQ);
}

void vgpu_input_touch(struct vgpu_input *in, uint32_t x, uint32_t y, bool down, bool up)
{
	x = x > VGPU_INPUT_ABS_MAX ? VGPU_INPUT_ABS_MAX : x;
	y = y > VGPU_INPUT_ABS_MAX ? VGPU_INPUT_ABS_MAX : y;
	uint16_t t[3] = { EV_ABS, EV_ABS, EV_KEY }, c[3] = { ABS_X, ABS_Y, BTN_TOUCH };
	uint32_t v[3] = { x, y, down ? 1 : 0 };
	if (down && !in->touching) {
		in->touching = true;
		report(in, t, c, v, 3);
	} else if (up && in->touching) {
		in->touching = false;
		report(in, t, c, v, 3);
	} else {
		report(in, t, c, v, 2);
	}
}

void vgpu_input_key(struct vgpu_input *in, uint16_t code, bool pressed)
{
	uint16_t t = EV_KEY;
	uint32_t v = pressed ? 1 : 0;
	report(in, &t, &code, &v, 1);
}

void vgpu_input_get_stats(const struct vgpu_input *in, struct vgpu_input_stats *stats)
{
	*stats = in->stats;
}
