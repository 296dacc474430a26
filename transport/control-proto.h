/* SPDX-License-Identifier: MIT */
#ifndef XPORT_CONTROL_PROTO_H
#define XPORT_CONTROL_PROTO_H

/* The control channel between gpu-server and a zone-client: one TCP
 * connection per client (default port 7300). docs/wire-format.md is the
 * prose version of this file.
 *
 * Every message is a fixed 8-byte header followed by `length` payload bytes.
 * All fields are little-endian, at the byte offsets given below (no padding,
 * no alignment assumed).
 *
 *   offset size field
 *   0      4    length   payload bytes after the header (<= XPORT_CTL_MAX_PAYLOAD)
 *   4      2    type     enum xport_ctl_type
 *   6      2    version  protocol version the sender speaks (>= 1)
 *
 * Versioning: fields are only ever appended. A payload shorter than the
 * minimum for its type and version is malformed; bytes beyond the fields a
 * reader knows are ignored, so a newer peer's longer messages still parse.
 * HELLO carries the client's highest version, WELCOME the version the
 * session then uses (the lower of the two).
 *
 * Session:
 *   client                          server
 *   HELLO        ------------------>
 *                <------------------ WELCOME  (or ERROR, then close)
 *   AUTH         ------------------>           (since version 2, with a
 *                                               pre-shared key: see below)
 *                <--- RTP media on UDP, RTCP both ways (rtcp-mux) --->
 *   HEARTBEAT    ------------------>           every ~1 s
 *                <------------------ HEARTBEAT (echo, for an NTP-style offset)
 *   INPUT        ------------------>           (since version 3: the panel's
 *                                               touches, pointer and keys)
 *   BYE          ------------------>           (either side, then close)
 *
 * A peer silent for XPORT_CTL_TIMEOUT_MS is dropped. Any message that is
 * malformed, of an unknown type, or out of sequence gets an ERROR and the
 * connection is closed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XPORT_CTL_DEFAULT_PORT 7300

#define XPORT_CTL_VERSION 5     /* the version this code speaks */
#define XPORT_CTL_VERSION_MIN 1 /* the oldest version it accepts */
/* Since version 4, each frame's server stages ride in an RTP header
 * extension element (media.h) rather than an RTCP APP, and idle
 * keepalives are reduced-size RTCP. Version 4 also had packed deltas made
 * of whole-tile XOR records, which a server of version 5 no longer makes
 * (a version 4 client gets LZ4 deltas; its decoder still takes them). */
#define XPORT_CTL_VERSION_STAGES 4
/* Since version 5, the media of a tiles zone carries packed deltas whose
 * XOR records may cover just the changed rectangle of a tile (tiles.h
 * XPORT_TILE_XOR_RECT). */
#define XPORT_CTL_VERSION_PACKED 5
/* Since version 5, the media headers are compact (media.h): a frame in one
 * packet has the short payload header, the RTP timestamp is the capture
 * time (WELCOME rtp_ts_offset), the stages element is compact. */
#define XPORT_CTL_VERSION_COMPACT 5

#define XPORT_CTL_HDR_SIZE 8
#define XPORT_CTL_MAX_PAYLOAD 1024
#define XPORT_CTL_MAX_MSG (XPORT_CTL_HDR_SIZE + XPORT_CTL_MAX_PAYLOAD)

#define XPORT_CTL_HEARTBEAT_MS 1000
#define XPORT_CTL_TIMEOUT_MS 3000

/* "ZONL" read as a little-endian u32: lets the server tell a zone-client from
 * anything else that connects to its port. */
#define XPORT_CTL_MAGIC 0x4c4e4f5au

#define XPORT_CTL_NAME_MAX 63  /* zone name bytes, [A-Za-z0-9._-] */
#define XPORT_CTL_TEXT_MAX 255 /* ERROR text bytes, printable ASCII */

enum xport_ctl_type {
	XPORT_CTL_HELLO = 1,
	XPORT_CTL_WELCOME = 2,
	XPORT_CTL_ERROR = 3,
	XPORT_CTL_HEARTBEAT = 4,
	XPORT_CTL_BYE = 5,
	XPORT_CTL_AUTH = 6,
	XPORT_CTL_INPUT = 7,
	XPORT_CTL_TYPE_COUNT,
};

/* HELLO, client -> server, the first message (since version 1).
 *   0  4  magic          XPORT_CTL_MAGIC
 *   4  4  version        highest protocol version the client speaks
 *   8  4  panel_width    the client's panel mode; 0x0@0: no preference
 *   12 4  panel_height
 *   16 4  panel_refresh  Hz
 *   20 2  media_port     client UDP port for RTP/RTCP (rtcp-mux); its IP is
 *                        the TCP peer's
 *   22 2  name_len       1..XPORT_CTL_NAME_MAX
 *   24 .. name           zone name, name_len bytes, no NUL
 * Since version 2, after the name, when the client has a pre-shared key
 * or advertises a media address (absent otherwise):
 *   +0 1  auth           XPORT_CTL_AUTH_PSK, or 0 (none: nonce ignored)
 *   +1 3  reserved       0
 *   +4 16 client_nonce   random
 * and then, only to advertise where media should go (NAT, a relay):
 *   +20 1 adv_family     4 (IPv4) or 6 (IPv6)
 *   +21 1 reserved       0
 *   +22 2 adv_port       UDP port, != 0
 *   +24 16 adv_addr      the address (IPv4: the first 4 bytes)
 * The server sends media there instead of to (TCP peer, media_port); RTCP
 * from the client is still expected from (TCP peer, media_port).
 * Since version 3, after those two blocks (zeros when unused: auth 0,
 * adv_family 0), the panel's EDID when the client has one (a KMS panel):
 *   +40 2 edid_len       bytes, a multiple of 128, <= XPORT_CTL_EDID_MAX
 *   +42 2 reserved       0
 *   +44 .. edid          as the panel gave it (the server checks it)
 *
 * Authentication (XPORT_CTL_AUTH_PSK): both ends hold the same key (key
 * files). WELCOME answers with server_nonce and server_proof = HMAC-SHA256
 * (key, "zonal-server" | client_nonce | server_nonce | zone name); the client
 * checks it and sends AUTH with client_proof = HMAC-SHA256(key,
 * "zonal-client" | server_nonce | client_nonce | zone name); the server
 * checks that and only then starts the media. Either proof wrong, or one end
 * without a key, is ERROR AUTH and a closed connection. Session keys for the
 * media (SRTP) derive from the key and both nonces. */
#define XPORT_CTL_HELLO_MIN 24
#define XPORT_CTL_EDID_MAX 512
#define XPORT_CTL_AUTH_PSK 1
#define XPORT_CTL_NONCE 16
#define XPORT_CTL_PROOF 32
struct xport_ctl_hello {
	uint32_t version;
	uint32_t panel_width, panel_height, panel_refresh;
	uint16_t media_port;
	char zone[XPORT_CTL_NAME_MAX + 1]; /* NUL-terminated after parsing */
	uint8_t auth;                      /* 0: none */
	uint8_t client_nonce[XPORT_CTL_NONCE];
	uint8_t adv_family;                /* 0: none, 4, 6 */
	uint16_t adv_port;
	uint8_t adv_addr[16];
	uint16_t edid_len;                 /* 0: none */
	uint8_t edid[XPORT_CTL_EDID_MAX];
};

enum xport_ctl_codec {
	XPORT_CODEC_TILES = 1, /* lossless LZ4 tiles, see transport/tiles.h */
	XPORT_CODEC_RAW = 2,   /* packed RGB frames, see transport/coded.h */
	XPORT_CODEC_H264 = 3,  /* H.264 access units, coded.h */
	XPORT_CODEC_JPEG = 4,  /* JPEG images, coded.h */
};

/* WELCOME, server -> client, the answer to HELLO (since version 1).
 *   0  4  version        protocol version of this session
 *   4  4  width          zone mode (the size of every frame)
 *   8  4  height
 *   12 4  refresh        Hz
 *   16 4  ssrc           RTP SSRC of the zone's stream
 *   20 2  media_port     server UDP port sending RTP, receiving RTCP
 *   22 2  mtu            the packets' IP MTU
 *   24 1  codec          enum xport_ctl_codec
 *   25 1  payload_type   RTP payload type (dynamic, 96..127)
 *   26 1  ext_frame_id   RFC 8285 one-byte extension id of the frame id
 *   27 1  ext_capture    extension id of the capture time
 *   28 2  tile_size      tile edge in pixels
 *   30 1  ext_stages     since version 4: extension id of the server stages
 *                        (media.h); 0: none (and before version 4: 0)
 *   31 1  reserved       0
 * Since version 2, only to a client that asked for authentication (since
 * version 5, always: all zero without authentication):
 *   32 1  auth           XPORT_CTL_AUTH_PSK
 *   33 3  reserved       0
 *   36 16 server_nonce
 *   52 32 server_proof   (see HELLO)
 * Since version 5:
 *   84 4  rtp_ts_offset  the media's RTP timestamp is the capture time:
 *                        t_ns * 9 / 100000 + rtp_ts_offset (mod 2^32), and
 *                        ext_capture may be 0 (no capture time element)
 */
#define XPORT_CTL_WELCOME_MIN 32
#define XPORT_CTL_WELCOME_AUTH_SIZE 84
#define XPORT_CTL_WELCOME_V5_SIZE 88
struct xport_ctl_welcome {
	uint32_t version;
	uint32_t width, height, refresh;
	uint32_t ssrc;
	uint16_t media_port;
	uint16_t mtu;
	uint8_t codec;
	uint8_t payload_type;
	uint8_t ext_frame_id;
	uint8_t ext_capture;
	uint16_t tile_size;
	uint8_t ext_stages; /* 0: none */
	uint32_t rtp_ts_offset; /* version 5 */
	uint8_t auth; /* 0: none */
	uint8_t server_nonce[XPORT_CTL_NONCE];
	uint8_t server_proof[XPORT_CTL_PROOF];
};

/* AUTH, client -> server, after WELCOME (since version 2).
 *   0  32 client_proof   (see HELLO)
 */
#define XPORT_CTL_AUTH_MIN 32
struct xport_ctl_auth {
	uint8_t client_proof[XPORT_CTL_PROOF];
};

enum xport_ctl_input_kind {
	XPORT_INPUT_TOUCH_DOWN = 1, /* x, y; slot */
	XPORT_INPUT_TOUCH_MOTION = 2,
	XPORT_INPUT_TOUCH_UP = 3,   /* slot (x, y: where it was last) */
	XPORT_INPUT_POINTER = 4,    /* x, y: the pointer moved there */
	XPORT_INPUT_BUTTON = 5,     /* code (evdev BTN_*), value 1 pressed / 0 released */
	XPORT_INPUT_KEY = 6,        /* code (evdev KEY_*), value 1 pressed / 0 released */
	XPORT_INPUT_KIND_MAX = 6,
};

/* INPUT, client -> server, once joined (since version 3): one event of the
 * panel, in zone coordinates. The server gives it to the guest whose layer
 * is under the point (keys: to the guest touched or clicked last in the
 * zone; a touch or press stays with the guest it started on until it ends).
 *   0  1  kind           enum xport_ctl_input_kind
 *   1  1  slot           touch point 0..9 (0 for the others)
 *   2  2  reserved       0
 *   4  4  x              zone pixels, 24.8 fixed point (x * 256), signed
 *   8  4  y
 *   12 2  code           evdev code (BUTTON, KEY)
 *   14 2  value          1 pressed, 0 released (BUTTON, KEY)
 *   16 8  t_ns           when it happened, the client's CLOCK_MONOTONIC
 */
#define XPORT_CTL_INPUT_MIN 24
#define XPORT_INPUT_SLOTS 10
struct xport_ctl_input {
	uint8_t kind;
	uint8_t slot;
	int32_t x, y; /* 24.8 */
	uint16_t code, value;
	uint64_t t_ns;
};

enum xport_ctl_error_code {
	XPORT_CTL_ERR_MALFORMED = 1,    /* a message could not be parsed */
	XPORT_CTL_ERR_BAD_VERSION = 2,  /* no protocol version in common */
	XPORT_CTL_ERR_UNKNOWN_ZONE = 3, /* HELLO named no zone of this server */
	XPORT_CTL_ERR_PROTOCOL = 4,     /* a valid message out of sequence */
	XPORT_CTL_ERR_BUSY = 5,         /* too many clients */
	XPORT_CTL_ERR_INTERNAL = 6,     /* the server failed; try again */
	XPORT_CTL_ERR_AUTH = 7,         /* no key, or the wrong one (since version 2) */
};

/* ERROR, either way; the sender then closes (since version 1).
 *   0  4  code           enum xport_ctl_error_code (others: treat as fatal)
 *   4  2  text_len       0..XPORT_CTL_TEXT_MAX
 *   6  .. text           human-readable, printable ASCII, no NUL
 */
#define XPORT_CTL_ERROR_MIN 6
struct xport_ctl_error {
	uint32_t code;
	char text[XPORT_CTL_TEXT_MAX + 1]; /* NUL-terminated after parsing */
};

/* HEARTBEAT, either way (since version 1). The client sends one every
 * XPORT_CTL_HEARTBEAT_MS; the server answers each at once, echoing it.
 * With t1 = client send, t2 = server receive, t3 = server send, t4 = client
 * receive: offset = ((t2 - t1) + (t3 - t4)) / 2, rtt = (t4 - t1) - (t3 - t2).
 *   0  4  seq            sender's counter
 *   4  4  echo_seq       seq of the heartbeat being echoed (0: none)
 *   8  8  t_send_ns      sender's CLOCK_MONOTONIC at send
 *   16 8  t_echo_ns      t_send_ns of the echoed heartbeat (0: none)
 *   24 8  t_echo_recv_ns when the echoed heartbeat arrived, sender's clock
 * Since version 2, optional:
 *   32 8  tai_minus_mono the sender's CLOCK_TAI - CLOCK_MONOTONIC (ns, signed)
 *                        when its CLOCK_TAI is PTP-synchronised; 0: it is not
 *                        (or does not say). Two ends that both are get their
 *                        clock offset exactly: (their tai_minus_mono) -
 *                        (ours), no network asymmetry in it.
 */
#define XPORT_CTL_HEARTBEAT_MIN 32
struct xport_ctl_heartbeat {
	uint32_t seq, echo_seq;
	uint64_t t_send_ns, t_echo_ns, t_echo_recv_ns;
	int64_t tai_minus_mono;
};

enum xport_ctl_bye_reason {
	XPORT_CTL_BYE_DONE = 0,     /* finished (e.g. -n frames shown) */
	XPORT_CTL_BYE_SHUTDOWN = 1, /* the program is exiting */
};

/* BYE, either way; the sender then closes (since version 1).
 *   0  4  reason         enum xport_ctl_bye_reason
 */
#define XPORT_CTL_BYE_MIN 4
struct xport_ctl_bye {
	uint32_t reason;
};

struct xport_ctl_msg {
	uint16_t type;    /* enum xport_ctl_type */
	uint16_t version; /* from the header */
	union {
		struct xport_ctl_hello hello;
		struct xport_ctl_welcome welcome;
		struct xport_ctl_error error;
		struct xport_ctl_heartbeat heartbeat;
		struct xport_ctl_bye bye;
		struct xport_ctl_auth auth;
		struct xport_ctl_input input;
	};
};

/* Parses the first message in buf[0..len) (a stream: more may follow).
 * Returns 0 and sets *msg and *consumed; -EAGAIN if buf holds only part of a
 * message (read more and call again); -EMSGSIZE if the header announces a
 * payload above XPORT_CTL_MAX_PAYLOAD; -EPROTO for an unknown type or a
 * header version of 0; -EBADMSG for a payload that does not parse. Every
 * error but -EAGAIN is fatal to the connection. */
int xport_ctl_parse(const uint8_t *buf, size_t len, struct xport_ctl_msg *msg, size_t *consumed);

/* Encodes msg (header version XPORT_CTL_VERSION) into buf. Returns 0 and
 * sets *out_len, or -ENOSPC if cap is too small, -EINVAL if a field is out
 * of range (unknown type, bad name or text). */
int xport_ctl_encode(const struct xport_ctl_msg *msg, uint8_t *buf, size_t cap, size_t *out_len);

/* Is name a valid zone name (1..XPORT_CTL_NAME_MAX of [A-Za-z0-9._-])? */
bool xport_ctl_name_valid(const char *name, size_t len);

const char *xport_ctl_type_name(uint16_t type);
const char *xport_ctl_error_name(uint32_t code);

#endif
