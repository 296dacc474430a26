/* SPDX-License-Identifier: MIT */
#include "psk.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

int xport_psk_load(const char *path, struct xport_psk *psk, char *err, size_t err_len)
{
	err[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(err, err_len, "%s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	bool open_to_others = fstat(fileno(f), &st) == 0 && (st.st_mode & 077);
	memset(psk, 0, sizeof(*psk));
	size_t digits = 0;
	bool comment = false, line_start = true;
	int c, ret = 0;
	uint8_t nib = 0;
	while ((c = fgetc(f)) != EOF) {
		if (line_start && c == '#') {
			comment = true;
		}
		line_start = c == '\n';
		if (c == '\n') {
			comment = false;
			continue;
		}
		if (comment || isspace(c)) {
			continue;
		}
		if (!isxdigit(c) || digits == 2 * XPORT_PSK_MAX) {
			snprintf(err, err_len, "%s: expected %d..%d hex digits", path, 2 * XPORT_PSK_MIN,
				2 * XPORT_PSK_MAX);
			ret = -EINVAL;
			break;
		}
		uint8_t v = (uint8_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
		if (digits % 2) {
			psk->key[digits / 2] = (uint8_t)(nib << 4 | v);
		}
		nib = v;
		digits++;
	}
	fclose(f);
	if (ret == 0 && (digits % 2 || digits < 2 * XPORT_PSK_MIN)) {
		snprintf(err, err_len, "%s: expected %d..%d hex digits (an even number), found %zu",
			path, 2 * XPORT_PSK_MIN, 2 * XPORT_PSK_MAX, digits);
		ret = -EINVAL;
	}
	if (ret < 0) {
		OPENSSL_cleanse(psk, sizeof(*psk));
		return ret;
	}
	psk->len = digits / 2;
	if (open_to_others) {
		snprintf(err, err_len, "%s: others may read this key file (chmod 600 it)", path);
	}
	return 0;
}

int xport_psk_nonce(uint8_t nonce[XPORT_CTL_NONCE])
{
	return getrandom(nonce, XPORT_CTL_NONCE, 0) == XPORT_CTL_NONCE ? 0 : -EIO;
}

void xport_psk_proof(const struct xport_psk *psk, bool server,
	const uint8_t client_nonce[XPORT_CTL_NONCE], const uint8_t server_nonce[XPORT_CTL_NONCE],
	const char *zone, uint8_t proof[XPORT_CTL_PROOF])
{
	/* Each side's proof covers the other's fresh nonce first: neither can
	 * be replayed into another session, nor reflected to its sender. */
	const char *label = server ? "zonal-server" : "zonal-client";
	const uint8_t *first = server ? client_nonce : server_nonce;
	const uint8_t *second = server ? server_nonce : client_nonce;
	uint8_t msg[12 + 2 * XPORT_CTL_NONCE + XPORT_CTL_NAME_MAX];
	size_t zl = strnlen(zone, XPORT_CTL_NAME_MAX);
	memcpy(msg, label, 12);
	memcpy(msg + 12, first, XPORT_CTL_NONCE);
	memcpy(msg + 12 + XPORT_CTL_NONCE, second, XPORT_CTL_NONCE);
	memcpy(msg + 12 + 2 * XPORT_CTL_NONCE, zone, zl);
	unsigned int out_len = XPORT_CTL_PROOF;
	HMAC(EVP_sha256(), psk->key, (int)psk->len, msg, 12 + 2 * XPORT_CTL_NONCE + zl, proof,
		&out_len);
}

bool xport_psk_proof_ok(const struct xport_psk *psk, bool server,
	const uint8_t client_nonce[XPORT_CTL_NONCE], const uint8_t server_nonce[XPORT_CTL_NONCE],
	const char *zone, const uint8_t proof[XPORT_CTL_PROOF])
{
	uint8_t want[XPORT_CTL_PROOF];
	xport_psk_proof(psk, server, client_nonce, server_nonce, zone, want);
	bool ok = CRYPTO_memcmp(want, proof, XPORT_CTL_PROOF) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

int xport_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
	const uint8_t *info, size_t info_len, uint8_t *out, size_t len)
{
	if (len > 255 * 32 || info_len > 64) {
		return -EINVAL;
	}
	/* RFC 5869: PRK = HMAC(salt, IKM); T(i) = HMAC(PRK, T(i-1) | info | i). */
	uint8_t prk[32], t[32];
	unsigned int n = sizeof(prk);
	HMAC(EVP_sha256(), salt, (int)salt_len, ikm, ikm_len, prk, &n);
	size_t t_len = 0, done = 0;
	for (unsigned i = 1; done < len; i++) {
		uint8_t in[32 + 64 + 1];
		memcpy(in, t, t_len);
		memcpy(in + t_len, info, info_len);
		in[t_len + info_len] = (uint8_t)i;
		n = sizeof(t);
		HMAC(EVP_sha256(), prk, sizeof(prk), in, t_len + info_len + 1, t, &n);
		t_len = 32;
		size_t take = len - done < 32 ? len - done : 32;
		memcpy(out + done, t, take);
		done += take;
	}
	OPENSSL_cleanse(prk, sizeof(prk));
	OPENSSL_cleanse(t, sizeof(t));
	return 0;
}

int xport_psk_derive(const struct xport_psk *psk, const uint8_t client_nonce[XPORT_CTL_NONCE],
	const uint8_t server_nonce[XPORT_CTL_NONCE], const char *label, uint8_t *out, size_t len)
{
	uint8_t salt[2 * XPORT_CTL_NONCE];
	memcpy(salt, client_nonce, XPORT_CTL_NONCE);
	memcpy(salt + XPORT_CTL_NONCE, server_nonce, XPORT_CTL_NONCE);
	return xport_hkdf_sha256(salt, sizeof(salt), psk->key, psk->len, (const uint8_t *)label,
		strlen(label), out, len);
}
