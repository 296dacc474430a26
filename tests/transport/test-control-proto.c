/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "transport/bytes.h"
#include "transport/control-proto.h"

static size_t encode(const struct xport_ctl_msg *m, uint8_t *buf, size_t cap)
{
	size_t len = 0;
	assert_int_equal(xport_ctl_encode(m, buf, cap, &len), 0);
	return len;
}

static void parse_ok(const uint8_t *buf, size_t len, struct xport_ctl_msg *m)
{
	size_t used = 0;
	assert_int_equal(xport_ctl_parse(buf, len, m, &used), 0);
	assert_int_equal(used, len);
}

static int parse_rc(const uint8_t *buf, size_t len)
{
	struct xport_ctl_msg m;
	size_t used;
	return xport_ctl_parse(buf, len, &m, &used);
}

static struct xport_ctl_msg hello(const char *zone)
{
	struct xport_ctl_msg m = { .type = XPORT_CTL_HELLO };
	m.hello = (struct xport_ctl_hello){
		.version = 1, .panel_width = 1920, .panel_height = 720, .panel_refresh = 60,
		.media_port = 5004,
	};
	strcpy(m.hello.zone, zone);
	return m;
}

static void test_round_trips(void **state)
{
	uint8_t buf[XPORT_CTL_MAX_MSG];
	struct xport_ctl_msg in, out;

	in = hello("rear-left_2.x");
	size_t len = encode(&in, buf, sizeof(buf));
	assert_int_equal(len, XPORT_CTL_HDR_SIZE + XPORT_CTL_HELLO_MIN + 13);
	assert_int_equal(xport_get_le32(buf), len - XPORT_CTL_HDR_SIZE);
	assert_int_equal(xport_get_le16(buf + 4), XPORT_CTL_HELLO);
	assert_int_equal(xport_get_le16(buf + 6), XPORT_CTL_VERSION);
	parse_ok(buf, len, &out);
	assert_int_equal(out.type, XPORT_CTL_HELLO);
	assert_int_equal(out.version, XPORT_CTL_VERSION);
	assert_int_equal(out.hello.version, 1);
	assert_int_equal(out.hello.panel_width, 1920);
	assert_int_equal(out.hello.panel_height, 720);
	assert_int_equal(out.hello.panel_refresh, 60);
	assert_int_equal(out.hello.media_port, 5004);
	assert_string_equal(out.hello.zone, "rear-left_2.x");

	in = (struct xport_ctl_msg){ .type = XPORT_CTL_WELCOME };
	in.welcome = (struct xport_ctl_welcome){ .version = 1, .width = 1280, .height = 800,
		.refresh = 60, .ssrc = 0xdeadbeef, .media_port = 40000, .mtu = 9000,
		.codec = XPORT_CODEC_TILES, .payload_type = 96, .ext_frame_id = 1, .ext_capture = 2,
		.tile_size = 64 };
	len = encode(&in, buf, sizeof(buf));
	parse_ok(buf, len, &out);
	assert_int_equal(out.welcome.version, 1);
	assert_int_equal(out.welcome.width, 1280);
	assert_int_equal(out.welcome.height, 800);
	assert_int_equal(out.welcome.refresh, 60);
	assert_int_equal(out.welcome.ssrc, 0xdeadbeef);
	assert_int_equal(out.welcome.media_port, 40000);
	assert_int_equal(out.welcome.mtu, 9000);
	assert_int_equal(out.welcome.codec, XPORT_CODEC_TILES);
	assert_int_equal(out.welcome.payload_type, 96);
	assert_int_equal(out.welcome.ext_frame_id, 1);
	assert_int_equal(out.welcome.ext_capture, 2);
	assert_int_equal(out.welcome.tile_size, 64);

	in = (struct xport_ctl_msg){ .type = XPORT_CTL_ERROR };
	in.error.code = XPORT_CTL_ERR_UNKNOWN_ZONE;
	strcpy(in.error.text, "unknown zone 'x'");
	len = encode(&in, buf, sizeof(buf));
	parse_ok(buf, len, &out);
	assert_int_equal(out.error.code, XPORT_CTL_ERR_UNKNOWN_ZONE);
	assert_string_equal(out.error.text, "unknown zone 'x'");

	/* Empty text is fine. */
	in.error.text[0] = '\0';
	len = encode(&in, buf, sizeof(buf));
	parse_ok(buf, len, &out);
	assert_string_equal(out.error.text, "");

	in = (struct xport_ctl_msg){ .type = XPORT_CTL_HEARTBEAT };
	in.heartbeat = (struct xport_ctl_heartbeat){ .seq = 7, .echo_seq = 6,
		.t_send_ns = 0x0102030405060708ull, .t_echo_ns = UINT64_MAX, .t_echo_recv_ns = 1 };
	len = encode(&in, buf, sizeof(buf));
	parse_ok(buf, len, &out);
	assert_memory_equal(&out.heartbeat, &in.heartbeat, sizeof(in.heartbeat));

	in = (struct xport_ctl_msg){ .type = XPORT_CTL_BYE };
	in.bye.reason = XPORT_CTL_BYE_SHUTDOWN;
	len = encode(&in, buf, sizeof(buf));
	parse_ok(buf, len, &out);
	assert_int_equal(out.bye.reason, XPORT_CTL_BYE_SHUTDOWN);

	/* Longest name and text. */
	char name[XPORT_CTL_NAME_MAX + 1];
	memset(name, 'z', XPORT_CTL_NAME_MAX);
	name[XPORT_CTL_NAME_MAX] = '\0';
	in = hello(name);
	len = encode(&in, buf, sizeof(buf));
	parse_ok(buf, len, &out);
	assert_string_equal(out.hello.zone, name);
	in = (struct xport_ctl_msg){ .type = XPORT_CTL_ERROR };
	memset(in.error.text, '~', XPORT_CTL_TEXT_MAX);
	len = encode(&in, buf, sizeof(buf));
	parse_ok(buf, len, &out);
	assert_int_equal(strlen(out.error.text), XPORT_CTL_TEXT_MAX);
}

/* Several messages in one buffer, and every split of it. */
static void test_stream(void **state)
{
	uint8_t buf[3 * XPORT_CTL_MAX_MSG];
	struct xport_ctl_msg a = hello("cockpit"), b = { .type = XPORT_CTL_HEARTBEAT },
		c = { .type = XPORT_CTL_BYE };
	size_t la = encode(&a, buf, sizeof(buf));
	size_t lb = encode(&b, buf + la, sizeof(buf) - la);
	size_t lc = encode(&c, buf + la + lb, sizeof(buf) - la - lb);
	size_t total = la + lb + lc;
	for (size_t cut = 0; cut <= total; cut++) {
		size_t off = 0;
		unsigned got = 0;
		struct xport_ctl_msg m;
		size_t used;
		/* First only `cut` bytes are there, then all. */
		while (xport_ctl_parse(buf + off, cut - off, &m, &used) == 0) {
			off += used;
			got++;
		}
		assert_int_equal(xport_ctl_parse(buf + off, cut - off, &m, &used), -EAGAIN);
		while (off < total) {
			assert_int_equal(xport_ctl_parse(buf + off, total - off, &m, &used), 0);
			off += used;
			got++;
		}
		assert_int_equal(got, 3);
		assert_int_equal(off, total);
	}
}

static void set_payload_len(uint8_t *buf, uint32_t len)
{
	xport_put_le32(buf, len);
}

static void test_malformed_header(void **state)
{
	uint8_t buf[XPORT_CTL_MAX_MSG + 16];
	struct xport_ctl_msg m = { .type = XPORT_CTL_BYE };
	size_t len = encode(&m, buf, sizeof(buf));
	for (size_t i = 0; i < len; i++) {
		/* Any prefix: wait for more. */
		assert_int_equal(parse_rc(buf, i), -EAGAIN);
	}
	/* Too long, checked before the payload is there. */
	set_payload_len(buf, XPORT_CTL_MAX_PAYLOAD + 1);
	assert_int_equal(parse_rc(buf, XPORT_CTL_HDR_SIZE), -EMSGSIZE);
	set_payload_len(buf, UINT32_MAX);
	assert_int_equal(parse_rc(buf, XPORT_CTL_HDR_SIZE), -EMSGSIZE);
	set_payload_len(buf, XPORT_CTL_BYE_MIN);
	/* Unknown types. */
	uint16_t bad_types[] = { 0, XPORT_CTL_TYPE_COUNT, 0xffff, 100 };
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		xport_put_le16(buf + 4, bad_types[i]);
		assert_int_equal(parse_rc(buf, len), -EPROTO);
	}
	xport_put_le16(buf + 4, XPORT_CTL_BYE);
	/* Version 0. */
	xport_put_le16(buf + 6, 0);
	assert_int_equal(parse_rc(buf, len), -EPROTO);
	/* A newer version parses. */
	xport_put_le16(buf + 6, 9);
	assert_int_equal(parse_rc(buf, len), 0);
	xport_put_le16(buf + 6, 1);
	/* Below the minimum payload of its type. */
	static const struct {
		uint16_t type;
		uint32_t min;
	} mins[] = {
		{ XPORT_CTL_HELLO, XPORT_CTL_HELLO_MIN }, { XPORT_CTL_WELCOME, XPORT_CTL_WELCOME_MIN },
		{ XPORT_CTL_ERROR, XPORT_CTL_ERROR_MIN }, { XPORT_CTL_HEARTBEAT, XPORT_CTL_HEARTBEAT_MIN },
		{ XPORT_CTL_BYE, XPORT_CTL_BYE_MIN },
	};
	memset(buf + XPORT_CTL_HDR_SIZE, 0, 64);
	for (size_t i = 0; i < sizeof(mins) / sizeof(mins[0]); i++) {
		xport_put_le16(buf + 4, mins[i].type);
		for (uint32_t l = 0; l < mins[i].min; l++) {
			set_payload_len(buf, l);
			assert_int_equal(parse_rc(buf, XPORT_CTL_HDR_SIZE + l), -EBADMSG);
		}
	}
}

static void test_malformed_hello(void **state)
{
	uint8_t buf[XPORT_CTL_MAX_MSG];
	struct xport_ctl_msg m = hello("cockpit");
	size_t len = encode(&m, buf, sizeof(buf));
	uint8_t *p = buf + XPORT_CTL_HDR_SIZE;

	/* Bad magic. */
	p[0] ^= 1;
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
	p[0] ^= 1;
	/* Name longer than the payload, by one and by a lot. */
	xport_put_le16(p + 22, 8);
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
	xport_put_le16(p + 22, 0xffff);
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
	/* Empty name. */
	xport_put_le16(p + 22, 0);
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
	/* A shorter name than the bytes present: extra bytes are a newer
	 * version's fields, ignored. */
	xport_put_le16(p + 22, 3);
	struct xport_ctl_msg out;
	parse_ok(buf, len, &out);
	assert_string_equal(out.hello.zone, "coc");
	xport_put_le16(p + 22, 7);
	/* Characters outside the name alphabet. */
	const char bad[] = { ' ', '/', '\0', '\n', '\'', (char)0xc3, '*' };
	for (size_t i = 0; i < sizeof(bad); i++) {
		p[24 + 3] = (uint8_t)bad[i];
		assert_int_equal(parse_rc(buf, len), -EBADMSG);
	}
	p[24 + 3] = 'k';
	/* Media port 0. */
	xport_put_le16(p + 20, 0);
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
	xport_put_le16(p + 20, 1);
	/* Version 0 parses: the server refuses it with BAD_VERSION. */
	xport_put_le32(p + 4, 0);
	parse_ok(buf, len, &out);
	assert_int_equal(out.hello.version, 0);
	/* Name of 64 bytes (one over) does not parse even if present. */
	struct xport_ctl_msg big = hello("a");
	len = encode(&big, buf, sizeof(buf));
	memset(p + 24, 'a', 64);
	xport_put_le16(p + 22, 64);
	set_payload_len(buf, XPORT_CTL_HELLO_MIN + 64);
	assert_int_equal(parse_rc(buf, XPORT_CTL_HDR_SIZE + XPORT_CTL_HELLO_MIN + 64), -EBADMSG);
}

static void test_malformed_others(void **state)
{
	uint8_t buf[XPORT_CTL_MAX_MSG];
	struct xport_ctl_msg m = { .type = XPORT_CTL_WELCOME };
	m.welcome = (struct xport_ctl_welcome){ .version = 1, .media_port = 1, .payload_type = 96,
		.ext_frame_id = 1, .ext_capture = 2 };
	size_t len = encode(&m, buf, sizeof(buf));
	uint8_t *p = buf + XPORT_CTL_HDR_SIZE;
	struct xport_ctl_msg out;
	parse_ok(buf, len, &out);
	/* Extension ids must be 1..14 and distinct; PT 7 bits; port and
	 * version non-zero. */
	const struct {
		size_t off;
		uint8_t v;
	} bad[] = { { 26, 0 }, { 26, 15 }, { 27, 0 }, { 27, 15 }, { 27, 1 }, { 25, 128 } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t save = p[bad[i].off];
		p[bad[i].off] = bad[i].v;
		assert_int_equal(parse_rc(buf, len), -EBADMSG);
		p[bad[i].off] = save;
	}
	xport_put_le16(p + 20, 0);
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
	xport_put_le16(p + 20, 1);
	xport_put_le32(p, 0);
	assert_int_equal(parse_rc(buf, len), -EBADMSG);

	m = (struct xport_ctl_msg){ .type = XPORT_CTL_ERROR };
	strcpy(m.error.text, "abc");
	len = encode(&m, buf, sizeof(buf));
	xport_put_le16(p + 4, 4);
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
	xport_put_le16(p + 4, 3);
	p[7] = '\n';
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
	p[7] = 0x7f;
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
}

static void test_encode_errors(void **state)
{
	uint8_t buf[XPORT_CTL_MAX_MSG];
	size_t len;
	struct xport_ctl_msg m = hello("cockpit");
	/* Every buffer too small. */
	size_t need = encode(&m, buf, sizeof(buf));
	for (size_t cap = 0; cap < need; cap++) {
		assert_int_equal(xport_ctl_encode(&m, buf, cap, &len), -ENOSPC);
	}
	m = hello("bad name");
	assert_int_equal(xport_ctl_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	m = hello("");
	assert_int_equal(xport_ctl_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	m = hello("ok");
	m.hello.media_port = 0;
	assert_int_equal(xport_ctl_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	m = (struct xport_ctl_msg){ .type = XPORT_CTL_ERROR };
	strcpy(m.error.text, "tab\there");
	assert_int_equal(xport_ctl_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	m = (struct xport_ctl_msg){ .type = 0 };
	assert_int_equal(xport_ctl_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	m.type = XPORT_CTL_TYPE_COUNT;
	assert_int_equal(xport_ctl_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

static void test_names(void **state)
{
	assert_string_equal(xport_ctl_type_name(XPORT_CTL_HELLO), "HELLO");
	assert_string_equal(xport_ctl_type_name(XPORT_CTL_BYE), "BYE");
	assert_string_equal(xport_ctl_type_name(0), "unknown");
	assert_string_equal(xport_ctl_type_name(0xffff), "unknown");
	assert_string_equal(xport_ctl_error_name(XPORT_CTL_ERR_UNKNOWN_ZONE), "unknown zone");
	assert_string_equal(xport_ctl_error_name(999), "unknown error");
	assert_true(xport_ctl_name_valid("a", 1));
	assert_false(xport_ctl_name_valid("a", 0));
	assert_false(xport_ctl_name_valid("a b", 3));
}

/* Version 2's authentication fields come back as they went, are absent
 * (byte-identical to version 1's payload) without a key, and an unknown
 * scheme is refused rather than ignored. */
static void test_auth_fields(void **state)
{
	(void)state;
	uint8_t buf[XPORT_CTL_MAX_MSG];
	size_t len, plain_len;
	struct xport_ctl_msg m = hello("cockpit"), out;
	assert_int_equal(xport_ctl_encode(&m, buf, sizeof(buf), &plain_len), 0);
	m.hello.auth = XPORT_CTL_AUTH_PSK;
	memset(m.hello.client_nonce, 0xa5, XPORT_CTL_NONCE);
	assert_int_equal(xport_ctl_encode(&m, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, plain_len + 4 + XPORT_CTL_NONCE);
	parse_ok(buf, len, &out);
	assert_int_equal(out.hello.auth, XPORT_CTL_AUTH_PSK);
	assert_memory_equal(out.hello.client_nonce, m.hello.client_nonce, XPORT_CTL_NONCE);
	buf[len - XPORT_CTL_NONCE - 4] = 9; /* a scheme we do not know */
	assert_int_equal(parse_rc(buf, len), -EBADMSG);

	struct xport_ctl_msg w = { .type = XPORT_CTL_WELCOME };
	w.welcome = (struct xport_ctl_welcome){ .version = 2, .width = 64, .height = 64,
		.refresh = 60, .ssrc = 1, .media_port = 9, .mtu = 1500, .codec = 1,
		.payload_type = 96, .ext_frame_id = 1, .ext_capture = 2, .tile_size = 64,
		.auth = XPORT_CTL_AUTH_PSK };
	memset(w.welcome.server_nonce, 0x5a, XPORT_CTL_NONCE);
	memset(w.welcome.server_proof, 0x3c, XPORT_CTL_PROOF);
	assert_int_equal(xport_ctl_encode(&w, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, XPORT_CTL_HDR_SIZE + XPORT_CTL_WELCOME_AUTH_SIZE);
	parse_ok(buf, len, &out);
	assert_int_equal(out.welcome.auth, XPORT_CTL_AUTH_PSK);
	assert_memory_equal(out.welcome.server_proof, w.welcome.server_proof, XPORT_CTL_PROOF);
	/* ext_stages: since version 4, at byte 30; ignored before; an id that
	 * collides with another element's is malformed. */
	w.welcome.ext_stages = 3;
	assert_int_equal(xport_ctl_encode(&w, buf, sizeof(buf), &len), 0);
	assert_int_equal(buf[XPORT_CTL_HDR_SIZE + 30], 3);
	parse_ok(buf, len, &out);
	assert_int_equal(out.welcome.ext_stages, 0);
	w.welcome.version = 4;
	assert_int_equal(xport_ctl_encode(&w, buf, sizeof(buf), &len), 0);
	parse_ok(buf, len, &out);
	assert_int_equal(out.welcome.ext_stages, 3);
	w.welcome.ext_stages = 2;
	assert_int_equal(xport_ctl_encode(&w, buf, sizeof(buf), &len), 0);
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
	w.welcome.ext_stages = 15;
	assert_int_equal(xport_ctl_encode(&w, buf, sizeof(buf), &len), 0);
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
	w.welcome.ext_stages = 0;
	/* Version 5: always 88 bytes (the auth block zero without a key), the
	 * RTP timestamp offset at 84, and no capture element allowed. */
	w.welcome.version = 5;
	w.welcome.rtp_ts_offset = 0xdeadbeef;
	w.welcome.ext_capture = 0;
	assert_int_equal(xport_ctl_encode(&w, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, XPORT_CTL_HDR_SIZE + XPORT_CTL_WELCOME_V5_SIZE);
	parse_ok(buf, len, &out);
	assert_int_equal(out.welcome.rtp_ts_offset, 0xdeadbeef);
	assert_int_equal(out.welcome.ext_capture, 0);
	assert_int_equal(out.welcome.auth, XPORT_CTL_AUTH_PSK);
	w.welcome.auth = 0;
	assert_int_equal(xport_ctl_encode(&w, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, XPORT_CTL_HDR_SIZE + XPORT_CTL_WELCOME_V5_SIZE);
	parse_ok(buf, len, &out);
	assert_int_equal(out.welcome.auth, 0);
	assert_int_equal(out.welcome.rtp_ts_offset, 0xdeadbeef);
	/* Cut to version 4's size: malformed. */
	xport_put_le32(buf, XPORT_CTL_WELCOME_AUTH_SIZE);
	assert_int_equal(parse_rc(buf, XPORT_CTL_HDR_SIZE + XPORT_CTL_WELCOME_AUTH_SIZE),
		-EBADMSG);
	/* Before version 5 a capture element is a must. */
	w.welcome.version = 4;
	assert_int_equal(xport_ctl_encode(&w, buf, sizeof(buf), &len), 0);
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
	w.welcome.ext_capture = 2;
	w.welcome.auth = XPORT_CTL_AUTH_PSK;
	w.welcome.version = 2;

	struct xport_ctl_msg a = { .type = XPORT_CTL_AUTH };
	memset(&a.auth, 0, sizeof(a.auth));
	memset(a.auth.client_proof, 0x77, XPORT_CTL_PROOF);
	assert_int_equal(xport_ctl_encode(&a, buf, sizeof(buf), &len), 0);
	parse_ok(buf, len, &out);
	assert_int_equal(out.type, XPORT_CTL_AUTH);
	assert_memory_equal(out.auth.client_proof, a.auth.client_proof, XPORT_CTL_PROOF);
	/* An advertised media address, without a key (the auth block is then
	 * there but empty). */
	struct xport_ctl_msg v = hello("rear-seat");
	v.hello.adv_family = 4;
	v.hello.adv_port = 5006;
	memcpy(v.hello.adv_addr, "\x0a\x00\x00\x07", 4);
	assert_int_equal(xport_ctl_encode(&v, buf, sizeof(buf), &len), 0);
	parse_ok(buf, len, &out);
	assert_int_equal(out.hello.auth, 0);
	assert_int_equal(out.hello.adv_family, 4);
	assert_int_equal(out.hello.adv_port, 5006);
	assert_memory_equal(out.hello.adv_addr, "\x0a\x00\x00\x07", 4);
	buf[len - 20] = 5; /* no such family */
	assert_int_equal(parse_rc(buf, len), -EBADMSG);
	v.hello.adv_port = 0;
	assert_int_equal(xport_ctl_encode(&v, buf, sizeof(buf), &len), -EINVAL);
	/* Short AUTH: malformed. */
	buf[0] = 31;
	assert_int_equal(parse_rc(buf, len - 1), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_malformed_header),
		cmocka_unit_test(test_malformed_hello),
		cmocka_unit_test(test_malformed_others),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_auth_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
