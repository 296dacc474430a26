/* SPDX-License-Identifier: MIT */
#ifndef XPORT_SRTP_H
#define XPORT_SRTP_H

/* SRTP and SRTCP (RFC 3711; AES-128-GCM, RFC 7714) for a media session
 * between gpu-server and one zone-client, on libsrtp2, keyed from the
 * pre-shared key's session keys (psk.h): one key for what this end sends,
 * another for what it receives. Replayed, forged (tampered) and plaintext
 * datagrams fail unprotect. */

#include <stddef.h>
#include <stdint.h>

#include "psk.h"

/* Master key and salt of AES-128-GCM: 16 + 12 bytes. */
#define XPORT_SRTP_KEY_LEN 28
/* Bytes protect may add: the GCM tag (16), and SRTCP's index (4). A
 * packet buffer needs this much room past the packet. */
#define XPORT_SRTP_MAX_OVERHEAD 32
/* What protect adds to an RTP packet: the MTU of media packets shrinks by it. */
#define XPORT_SRTP_RTP_OVERHEAD 16

struct xport_srtp;

/* Both ends derive the two keys alike (server: tx = s2c, rx = c2s). NULL if
 * libsrtp2 refuses. */
struct xport_srtp *xport_srtp_create(const struct xport_psk *psk,
	const uint8_t client_nonce[XPORT_CTL_NONCE], const uint8_t server_nonce[XPORT_CTL_NONCE],
	bool server);
/* Accepts NULL. */
void xport_srtp_destroy(struct xport_srtp *s);

/* In place: buf holds a packet of *len bytes and has room for
 * XPORT_SRTP_MAX_OVERHEAD more. 0 or -EINVAL. */
int xport_srtp_protect_rtp(struct xport_srtp *s, uint8_t *buf, size_t *len);
int xport_srtp_protect_rtcp(struct xport_srtp *s, uint8_t *buf, size_t *len);
/* In place; 0, or -EBADMSG for anything not authentic (forged, replayed,
 * plaintext, malformed). */
int xport_srtp_unprotect_rtp(struct xport_srtp *s, uint8_t *buf, size_t *len);
int xport_srtp_unprotect_rtcp(struct xport_srtp *s, uint8_t *buf, size_t *len);

#endif
