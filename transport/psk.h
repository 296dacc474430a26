/* SPDX-License-Identifier: MIT */
#ifndef XPORT_PSK_H
#define XPORT_PSK_H

/* The pre-shared key of a server and its clients ([server] key-file=,
 * zone-client --key-file): mutual challenge-response on the control channel
 * (control-proto.h, HELLO) and the session keys the media derive from it.
 * HMAC-SHA256 and HKDF (RFC 5869) from OpenSSL's libcrypto. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control-proto.h"

#define XPORT_PSK_MIN 16
#define XPORT_PSK_MAX 64

struct xport_psk {
	uint8_t key[XPORT_PSK_MAX];
	size_t len;
};

/* A key file: the key in hex (32..128 digits: 16..64 bytes), whitespace
 * ignored, lines starting with '#' are comments. 0, or -errno with a
 * one-line reason in err. A file others may read is accepted with a
 * warning in err (err non-empty, return 0). */
int xport_psk_load(const char *path, struct xport_psk *psk, char *err, size_t err_len);

/* Random bytes for a nonce. 0 or -EIO. */
int xport_psk_nonce(uint8_t nonce[XPORT_CTL_NONCE]);

/* server_proof (server true) or client_proof, see control-proto.h. */
void xport_psk_proof(const struct xport_psk *psk, bool server,
	const uint8_t client_nonce[XPORT_CTL_NONCE], const uint8_t server_nonce[XPORT_CTL_NONCE],
	const char *zone, uint8_t proof[XPORT_CTL_PROOF]);
/* Does proof match (in constant time)? */
bool xport_psk_proof_ok(const struct xport_psk *psk, bool server,
	const uint8_t client_nonce[XPORT_CTL_NONCE], const uint8_t server_nonce[XPORT_CTL_NONCE],
	const char *zone, const uint8_t proof[XPORT_CTL_PROOF]);

/* HKDF-SHA256 (RFC 5869) of ikm into len bytes; info at most 64 bytes.
 * 0 or -EINVAL. */
int xport_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
	const uint8_t *info, size_t info_len, uint8_t *out, size_t len);

/* len bytes of session key for label: HKDF-SHA256 of the key, salted with
 * both nonces. 0 or -EINVAL (len above 255 * 32). */
int xport_psk_derive(const struct xport_psk *psk, const uint8_t client_nonce[XPORT_CTL_NONCE],
	const uint8_t server_nonce[XPORT_CTL_NONCE], const char *label, uint8_t *out, size_t len);

#endif
