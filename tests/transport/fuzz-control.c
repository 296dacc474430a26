/* SPDX-License-Identifier: MIT */
/* Control messages: the input is a byte stream as a server or client reads
 * it. Everything that parses must re-encode to a message that parses to the
 * same thing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/control-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct xport_ctl_msg *a, const struct xport_ctl_msg *b)
{
	if (a->type != b->type) {
		abort();
	}
	switch (a->type) {
	case XPORT_CTL_HELLO:
		if (a->hello.version != b->hello.version || a->hello.media_port != b->hello.media_port ||
			a->hello.panel_width != b->hello.panel_width ||
			strcmp(a->hello.zone, b->hello.zone) != 0 || a->hello.auth != b->hello.auth ||
			(a->hello.auth && memcmp(a->hello.client_nonce, b->hello.client_nonce,
				XPORT_CTL_NONCE) != 0) ||
			a->hello.adv_family != b->hello.adv_family ||
			a->hello.adv_port != b->hello.adv_port ||
			memcmp(a->hello.adv_addr, b->hello.adv_addr, 16) != 0 ||
			a->hello.edid_len != b->hello.edid_len ||
			memcmp(a->hello.edid, b->hello.edid, a->hello.edid_len) != 0) {
			abort();
		}
		break;
	case XPORT_CTL_WELCOME:
		if (a->welcome.ssrc != b->welcome.ssrc || a->welcome.width != b->welcome.width ||
			a->welcome.ext_capture != b->welcome.ext_capture ||
			a->welcome.rtp_ts_offset != b->welcome.rtp_ts_offset ||
			a->welcome.auth != b->welcome.auth ||
			(a->welcome.auth && memcmp(a->welcome.server_proof, b->welcome.server_proof,
				XPORT_CTL_PROOF) != 0)) {
			abort();
		}
		break;
	case XPORT_CTL_AUTH:
		if (memcmp(a->auth.client_proof, b->auth.client_proof, XPORT_CTL_PROOF) != 0) {
			abort();
		}
		break;
	case XPORT_CTL_ERROR:
		if (a->error.code != b->error.code || strcmp(a->error.text, b->error.text) != 0) {
			abort();
		}
		break;
	case XPORT_CTL_HEARTBEAT:
		if (a->heartbeat.t_send_ns != b->heartbeat.t_send_ns ||
			a->heartbeat.seq != b->heartbeat.seq) {
			abort();
		}
		break;
	case XPORT_CTL_BYE:
		if (a->bye.reason != b->bye.reason) {
			abort();
		}
		break;
	case XPORT_CTL_INPUT:
		if (a->input.kind != b->input.kind || a->input.slot != b->input.slot ||
			a->input.x != b->input.x || a->input.y != b->input.y ||
			a->input.code != b->input.code || a->input.value != b->input.value ||
			a->input.t_ns != b->input.t_ns) {
			abort();
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct xport_ctl_msg msg;
		size_t used;
		if (xport_ctl_parse(data + off, size - off, &msg, &used) < 0) {
			break;
		}
		if (used < XPORT_CTL_HDR_SIZE || used > size - off) {
			abort();
		}
		uint8_t buf[XPORT_CTL_MAX_MSG];
		size_t len;
		if (xport_ctl_encode(&msg, buf, sizeof(buf), &len) != 0) {
			abort();
		}
		struct xport_ctl_msg again;
		size_t used2;
		if (xport_ctl_parse(buf, len, &again, &used2) != 0 || used2 != len) {
			abort();
		}
		same(&msg, &again);
		off += used;
	}
	return 0;
}
