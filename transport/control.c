/* SPDX-License-Identifier: MIT */
#include "control-proto.h"

#include <errno.h>
#include <string.h>

#include "bytes.h"

/* One entry per message type: the minimum payload for version 1 and the
 * parser/encoder of the payload. Dispatch checks the type against the table
 * bounds before indexing. */
struct ctl_type_ops {
	const char *name;
	size_t min_len;
	int (*parse)(const uint8_t *p, size_t len, struct xport_ctl_msg *msg);
	int (*encode)(const struct xport_ctl_msg *msg, uint8_t *p, size_t cap, size_t *len);
};

bool xport_ctl_name_valid(const char *name, size_t len)
{
	if (len < 1 || len > XPORT_CTL_NAME_MAX) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok) {
			return false;
		}
	}
	return true;
}

static bool text_valid(const char *text, size_t len)
{
	if (len > XPORT_CTL_TEXT_MAX) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] < 0x20 || text[i] > 0x7e) {
			return false;
		}
	}
	return true;
}

static int parse_hello(const uint8_t *p, size_t len, struct xport_ctl_msg *msg)
{
	struct xport_ctl_hello *h = &msg->hello;
	if (xport_get_le32(p) != XPORT_CTL_MAGIC) {
		return -EBADMSG;
	}
	h->version = xport_get_le32(p + 4);
	h->panel_width = xport_get_le32(p + 8);
	h->panel_height = xport_get_le32(p + 12);
	h->panel_refresh = xport_get_le32(p + 16);
	h->media_port = xport_get_le16(p + 20);
	size_t name_len = xport_get_le16(p + 22);
	if (name_len > len - XPORT_CTL_HELLO_MIN) {
		return -EBADMSG;
	}
	if (!xport_ctl_name_valid((const char *)p + 24, name_len)) {
		return -EBADMSG;
	}
	memcpy(h->zone, p + 24, name_len);
	h->zone[name_len] = '\0';
	const uint8_t *a = p + 24 + name_len;
	size_t rest = len - XPORT_CTL_HELLO_MIN - name_len;
	if (rest >= 4 + XPORT_CTL_NONCE && a[0] != 0) {
		if (a[0] != XPORT_CTL_AUTH_PSK) {
			return -EBADMSG; /* a scheme we do not know: no silent downgrade */
		}
		h->auth = a[0];
		memcpy(h->client_nonce, a + 4, XPORT_CTL_NONCE);
	}
	if (rest >= 2 * (4 + XPORT_CTL_NONCE)) {
		const uint8_t *v = a + 4 + XPORT_CTL_NONCE;
		/* 0: no address (only an EDID follows). */
		if (v[0] != 0 && v[0] != 4 && v[0] != 6) {
			return -EBADMSG;
		}
		h->adv_family = v[0];
		if (h->adv_family) {
			h->adv_port = xport_get_le16(v + 2);
			memcpy(h->adv_addr, v + 4, 16);
			if (h->adv_port == 0) {
				return -EBADMSG;
			}
		}
	}
	if (rest >= 2 * (4 + XPORT_CTL_NONCE) + 4) {
		const uint8_t *e = a + 2 * (4 + XPORT_CTL_NONCE);
		size_t elen = xport_get_le16(e);
		if (elen % 128 || elen > XPORT_CTL_EDID_MAX || e[2] || e[3] ||
			elen > rest - 2 * (4 + XPORT_CTL_NONCE) - 4) {
			return -EBADMSG;
		}
		h->edid_len = (uint16_t)elen;
		memcpy(h->edid, e + 4, elen);
	}
	/* version 0 parses: refusing it is the server's call (BAD_VERSION). */
	if (h->media_port == 0) {
		return -EBADMSG;
	}
	return 0;
}

static int encode_hello(const struct xport_ctl_msg *msg, uint8_t *p, size_t cap, size_t *len)
{
	const struct xport_ctl_hello *h = &msg->hello;
	size_t name_len = strnlen(h->zone, sizeof(h->zone));
	if (!xport_ctl_name_valid(h->zone, name_len) || h->media_port == 0) {
		return -EINVAL;
	}
	if (h->adv_family && ((h->adv_family != 4 && h->adv_family != 6) || h->adv_port == 0)) {
		return -EINVAL;
	}
	if (h->edid_len % 128 || h->edid_len > XPORT_CTL_EDID_MAX) {
		return -EINVAL;
	}
	size_t blocks = h->edid_len || h->adv_family ? 2 : h->auth ? 1 : 0;
	*len = XPORT_CTL_HELLO_MIN + name_len + blocks * (4 + XPORT_CTL_NONCE) +
		(h->edid_len ? 4 + h->edid_len : 0);
	if (cap < *len) {
		return -ENOSPC;
	}
	if (blocks) {
		uint8_t *a = p + 24 + name_len;
		memset(a, 0, blocks * (4 + XPORT_CTL_NONCE));
		a[0] = h->auth;
		if (h->auth) {
			memcpy(a + 4, h->client_nonce, XPORT_CTL_NONCE);
		}
		if (h->adv_family) {
			uint8_t *v = a + 4 + XPORT_CTL_NONCE;
			v[0] = h->adv_family;
			xport_put_le16(v + 2, h->adv_port);
			memcpy(v + 4, h->adv_addr, 16);
		}
		if (h->edid_len) {
			uint8_t *e = a + 2 * (4 + XPORT_CTL_NONCE);
			xport_put_le16(e, h->edid_len);
			e[2] = e[3] = 0;
			memcpy(e + 4, h->edid, h->edid_len);
		}
	}
	xport_put_le32(p, XPORT_CTL_MAGIC);
	xport_put_le32(p + 4, h->version);
	xport_put_le32(p + 8, h->panel_width);
	xport_put_le32(p + 12, h->panel_height);
	xport_put_le32(p + 16, h->panel_refresh);
	xport_put_le16(p + 20, h->media_port);
	xport_put_le16(p + 22, (uint16_t)name_len);
	memcpy(p + 24, h->zone, name_len);
	return 0;
}

static int parse_welcome(const uint8_t *p, size_t len, struct xport_ctl_msg *msg)
{
	struct xport_ctl_welcome *w = &msg->welcome;
	w->version = xport_get_le32(p);
	w->width = xport_get_le32(p + 4);
	w->height = xport_get_le32(p + 8);
	w->refresh = xport_get_le32(p + 12);
	w->ssrc = xport_get_le32(p + 16);
	w->media_port = xport_get_le16(p + 20);
	w->mtu = xport_get_le16(p + 22);
	w->codec = p[24];
	w->payload_type = p[25];
	w->ext_frame_id = p[26];
	w->ext_capture = p[27];
	w->tile_size = xport_get_le16(p + 28);
	w->ext_stages = w->version >= XPORT_CTL_VERSION_STAGES ? p[30] : 0;
	if (w->version >= XPORT_CTL_VERSION_COMPACT) {
		if (len < XPORT_CTL_WELCOME_V5_SIZE) {
			return -EBADMSG;
		}
		w->rtp_ts_offset = xport_get_le32(p + 84);
	}
	if (len >= XPORT_CTL_WELCOME_AUTH_SIZE && p[32] != 0) {
		if (p[32] != XPORT_CTL_AUTH_PSK) {
			return -EBADMSG;
		}
		w->auth = p[32];
		memcpy(w->server_nonce, p + 36, XPORT_CTL_NONCE);
		memcpy(w->server_proof, p + 52, XPORT_CTL_PROOF);
	}
	/* Values a client cannot work with are the client's call; only what
	 * makes the message itself meaningless is rejected here. */
	if (w->version == 0 || w->media_port == 0 || w->payload_type > 127 ||
		w->ext_frame_id < 1 || w->ext_frame_id > 14 ||
		(w->ext_capture < 1 && w->version < XPORT_CTL_VERSION_COMPACT) ||
		w->ext_capture > 14 || w->ext_frame_id == w->ext_capture || w->ext_stages > 14 ||
		(w->ext_stages && (w->ext_stages == w->ext_frame_id ||
			w->ext_stages == w->ext_capture))) {
		return -EBADMSG;
	}
	return 0;
}

static int encode_welcome(const struct xport_ctl_msg *msg, uint8_t *p, size_t cap, size_t *len)
{
	const struct xport_ctl_welcome *w = &msg->welcome;
	bool v5 = w->version >= XPORT_CTL_VERSION_COMPACT;
	*len = v5 ? XPORT_CTL_WELCOME_V5_SIZE :
		w->auth ? XPORT_CTL_WELCOME_AUTH_SIZE : XPORT_CTL_WELCOME_MIN;
	if (cap < *len) {
		return -ENOSPC;
	}
	if (v5) {
		memset(p + 32, 0, XPORT_CTL_WELCOME_AUTH_SIZE - 32);
		xport_put_le32(p + 84, w->rtp_ts_offset);
	}
	if (w->auth) {
		p[32] = w->auth;
		p[33] = p[34] = p[35] = 0;
		memcpy(p + 36, w->server_nonce, XPORT_CTL_NONCE);
		memcpy(p + 52, w->server_proof, XPORT_CTL_PROOF);
	}
	xport_put_le32(p, w->version);
	xport_put_le32(p + 4, w->width);
	xport_put_le32(p + 8, w->height);
	xport_put_le32(p + 12, w->refresh);
	xport_put_le32(p + 16, w->ssrc);
	xport_put_le16(p + 20, w->media_port);
	xport_put_le16(p + 22, w->mtu);
	p[24] = w->codec;
	p[25] = w->payload_type;
	p[26] = w->ext_frame_id;
	p[27] = w->ext_capture;
	xport_put_le16(p + 28, w->tile_size);
	p[30] = w->ext_stages;
	p[31] = 0;
	return 0;
}

static int parse_error(const uint8_t *p, size_t len, struct xport_ctl_msg *msg)
{
	struct xport_ctl_error *e = &msg->error;
	e->code = xport_get_le32(p);
	size_t text_len = xport_get_le16(p + 4);
	if (text_len > len - XPORT_CTL_ERROR_MIN || !text_valid((const char *)p + 6, text_len)) {
		return -EBADMSG;
	}
	memcpy(e->text, p + 6, text_len);
	e->text[text_len] = '\0';
	return 0;
}

static int encode_error(const struct xport_ctl_msg *msg, uint8_t *p, size_t cap, size_t *len)
{
	const struct xport_ctl_error *e = &msg->error;
	size_t text_len = strnlen(e->text, sizeof(e->text));
	if (!text_valid(e->text, text_len)) {
		return -EINVAL;
	}
	*len = XPORT_CTL_ERROR_MIN + text_len;
	if (cap < *len) {
		return -ENOSPC;
	}
	xport_put_le32(p, e->code);
	xport_put_le16(p + 4, (uint16_t)text_len);
	memcpy(p + 6, e->text, text_len);
	return 0;
}

static int parse_heartbeat(const uint8_t *p, size_t len, struct xport_ctl_msg *msg)
{
	struct xport_ctl_heartbeat *h = &msg->heartbeat;
	h->seq = xport_get_le32(p);
	h->echo_seq = xport_get_le32(p + 4);
	h->t_send_ns = xport_get_le64(p + 8);
	h->t_echo_ns = xport_get_le64(p + 16);
	h->t_echo_recv_ns = xport_get_le64(p + 24);
	if (len >= XPORT_CTL_HEARTBEAT_MIN + 8) {
		h->tai_minus_mono = (int64_t)xport_get_le64(p + 32);
	}
	return 0;
}

static int encode_heartbeat(const struct xport_ctl_msg *msg, uint8_t *p, size_t cap, size_t *len)
{
	const struct xport_ctl_heartbeat *h = &msg->heartbeat;
	*len = XPORT_CTL_HEARTBEAT_MIN + (h->tai_minus_mono ? 8 : 0);
	if (cap < *len) {
		return -ENOSPC;
	}
	if (h->tai_minus_mono) {
		xport_put_le64(p + 32, (uint64_t)h->tai_minus_mono);
	}
	xport_put_le32(p, h->seq);
	xport_put_le32(p + 4, h->echo_seq);
	xport_put_le64(p + 8, h->t_send_ns);
	xport_put_le64(p + 16, h->t_echo_ns);
	xport_put_le64(p + 24, h->t_echo_recv_ns);
	return 0;
}

static int parse_bye(const uint8_t *p, size_t len, struct xport_ctl_msg *msg)
{
	msg->bye.reason = xport_get_le32(p);
	return 0;
}

static int encode_bye(const struct xport_ctl_msg *msg, uint8_t *p, size_t cap, size_t *len)
{
	*len = XPORT_CTL_BYE_MIN;
	if (cap < *len) {
		return -ENOSPC;
	}
	xport_put_le32(p, msg->bye.reason);
	return 0;
}

static int parse_auth(const uint8_t *p, size_t len, struct xport_ctl_msg *msg)
{
	memcpy(msg->auth.client_proof, p, XPORT_CTL_PROOF);
	return 0;
}

static int encode_auth(const struct xport_ctl_msg *msg, uint8_t *p, size_t cap, size_t *len)
{
	*len = XPORT_CTL_AUTH_MIN;
	if (cap < *len) {
		return -ENOSPC;
	}
	memcpy(p, msg->auth.client_proof, XPORT_CTL_PROOF);
	return 0;
}

static int parse_input(const uint8_t *p, size_t len, struct xport_ctl_msg *msg)
{
	struct xport_ctl_input *in = &msg->input;
	in->kind = p[0];
	in->slot = p[1];
	in->x = (int32_t)xport_get_le32(p + 4);
	in->y = (int32_t)xport_get_le32(p + 8);
	in->code = xport_get_le16(p + 12);
	in->value = xport_get_le16(p + 14);
	in->t_ns = xport_get_le64(p + 16);
	if (in->kind < 1 || in->kind > XPORT_INPUT_KIND_MAX || in->slot >= XPORT_INPUT_SLOTS ||
		p[2] || p[3] || in->value > 1) {
		return -EBADMSG;
	}
	return 0;
}

static int encode_input(const struct xport_ctl_msg *msg, uint8_t *p, size_t cap, size_t *len)
{
	const struct xport_ctl_input *in = &msg->input;
	if (in->kind < 1 || in->kind > XPORT_INPUT_KIND_MAX || in->slot >= XPORT_INPUT_SLOTS ||
		in->value > 1) {
		return -EINVAL;
	}
	*len = XPORT_CTL_INPUT_MIN;
	if (cap < *len) {
		return -ENOSPC;
	}
	p[0] = in->kind;
	p[1] = in->slot;
	p[2] = p[3] = 0;
	xport_put_le32(p + 4, (uint32_t)in->x);
	xport_put_le32(p + 8, (uint32_t)in->y);
	xport_put_le16(p + 12, in->code);
	xport_put_le16(p + 14, in->value);
	xport_put_le64(p + 16, in->t_ns);
	return 0;
}

static const struct ctl_type_ops type_ops[XPORT_CTL_TYPE_COUNT] = {
	[XPORT_CTL_HELLO] = { "HELLO", XPORT_CTL_HELLO_MIN, parse_hello, encode_hello },
	[XPORT_CTL_WELCOME] = { "WELCOME", XPORT_CTL_WELCOME_MIN, parse_welcome, encode_welcome },
	[XPORT_CTL_ERROR] = { "ERROR", XPORT_CTL_ERROR_MIN, parse_error, encode_error },
	[XPORT_CTL_HEARTBEAT] = { "HEARTBEAT", XPORT_CTL_HEARTBEAT_MIN, parse_heartbeat,
		encode_heartbeat },
	[XPORT_CTL_BYE] = { "BYE", XPORT_CTL_BYE_MIN, parse_bye, encode_bye },
	[XPORT_CTL_AUTH] = { "AUTH", XPORT_CTL_AUTH_MIN, parse_auth, encode_auth },
	[XPORT_CTL_INPUT] = { "INPUT", XPORT_CTL_INPUT_MIN, parse_input, encode_input },
};

static const struct ctl_type_ops *ops_for(uint16_t type)
{
	if (type >= XPORT_CTL_TYPE_COUNT || !type_ops[type].parse) {
		return NULL;
	}
	return &type_ops[type];
}

int xport_ctl_parse(const uint8_t *buf, size_t len, struct xport_ctl_msg *msg, size_t *consumed)
{
	if (len < XPORT_CTL_HDR_SIZE) {
		return -EAGAIN;
	}
	uint32_t payload_len = xport_get_le32(buf);
	uint16_t type = xport_get_le16(buf + 4);
	uint16_t version = xport_get_le16(buf + 6);
	/* Checked before waiting for the payload, so a peer cannot make us
	 * buffer more than one maximal message. */
	if (payload_len > XPORT_CTL_MAX_PAYLOAD) {
		return -EMSGSIZE;
	}
	const struct ctl_type_ops *ops = ops_for(type);
	if (!ops || version == 0) {
		return -EPROTO;
	}
	if (payload_len < ops->min_len) {
		return -EBADMSG;
	}
	if (len - XPORT_CTL_HDR_SIZE < payload_len) {
		return -EAGAIN;
	}
	memset(msg, 0, sizeof(*msg));
	msg->type = type;
	msg->version = version;
	int r = ops->parse(buf + XPORT_CTL_HDR_SIZE, payload_len, msg);
	if (r < 0) {
		return r;
	}
	*consumed = XPORT_CTL_HDR_SIZE + payload_len;
	return 0;
}

int xport_ctl_encode(const struct xport_ctl_msg *msg, uint8_t *buf, size_t cap, size_t *out_len)
{
	const struct ctl_type_ops *ops = ops_for(msg->type);
	if (!ops) {
		return -EINVAL;
	}
	if (cap < XPORT_CTL_HDR_SIZE) {
		return -ENOSPC;
	}
	size_t payload_len = 0;
	int r = ops->encode(msg, buf + XPORT_CTL_HDR_SIZE, cap - XPORT_CTL_HDR_SIZE, &payload_len);
	if (r < 0) {
		return r;
	}
	xport_put_le32(buf, (uint32_t)payload_len);
	xport_put_le16(buf + 4, msg->type);
	xport_put_le16(buf + 6, XPORT_CTL_VERSION);
	*out_len = XPORT_CTL_HDR_SIZE + payload_len;
	return 0;
}

const char *xport_ctl_type_name(uint16_t type)
{
	const struct ctl_type_ops *ops = ops_for(type);
	return ops ? ops->name : "unknown";
}

const char *xport_ctl_error_name(uint32_t code)
{
	switch (code) {
	case XPORT_CTL_ERR_MALFORMED:
		return "malformed message";
	case XPORT_CTL_ERR_BAD_VERSION:
		return "unsupported protocol version";
	case XPORT_CTL_ERR_UNKNOWN_ZONE:
		return "unknown zone";
	case XPORT_CTL_ERR_PROTOCOL:
		return "protocol violation";
	case XPORT_CTL_ERR_BUSY:
		return "server busy";
	case XPORT_CTL_ERR_INTERNAL:
		return "internal server error";
	case XPORT_CTL_ERR_AUTH:
		return "authentication failed";
	}
	return "unknown error";
}
