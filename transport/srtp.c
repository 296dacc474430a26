/* SPDX-License-Identifier: MIT */
#include "srtp.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <srtp2/srtp.h>

/* How far back a packet may come and still be taken (retransmissions of a
 * large key frame's early packets). libsrtp2 allows up to 2^15. */
#define REPLAY_WINDOW 4096

struct xport_srtp {
	srtp_t tx, rx;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t init_status;

static void init(void)
{
	init_status = srtp_init();
}

static srtp_t session(const uint8_t key[XPORT_SRTP_KEY_LEN], bool outbound)
{
	srtp_policy_t p;
	memset(&p, 0, sizeof(p));
	srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
	srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
	p.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
	p.key = (unsigned char *)key;
	p.window_size = REPLAY_WINDOW;
	/* NACKed packets go again with their own sequence number. */
	p.allow_repeat_tx = 1;
	srtp_t s = NULL;
	return srtp_create(&s, &p) == srtp_err_status_ok ? s : NULL;
}

struct xport_srtp *xport_srtp_create(const struct xport_psk *psk,
	const uint8_t client_nonce[XPORT_CTL_NONCE], const uint8_t server_nonce[XPORT_CTL_NONCE],
	bool server)
{
	pthread_once(&init_once, init);
	if (init_status != srtp_err_status_ok) {
		return NULL;
	}
	uint8_t s2c[XPORT_SRTP_KEY_LEN], c2s[XPORT_SRTP_KEY_LEN];
	if (xport_psk_derive(psk, client_nonce, server_nonce, "zonal srtp s2c", s2c,
			sizeof(s2c)) < 0 ||
		xport_psk_derive(psk, client_nonce, server_nonce, "zonal srtp c2s", c2s,
			sizeof(c2s)) < 0) {
		return NULL;
	}
	struct xport_srtp *s = calloc(1, sizeof(*s));
	if (s) {
		s->tx = session(server ? s2c : c2s, true);
		s->rx = session(server ? c2s : s2c, false);
		if (!s->tx || !s->rx) {
			xport_srtp_destroy(s);
			s = NULL;
		}
	}
	OPENSSL_cleanse(s2c, sizeof(s2c));
	OPENSSL_cleanse(c2s, sizeof(c2s));
	return s;
}

void xport_srtp_destroy(struct xport_srtp *s)
{
	if (!s) {
		return;
	}
	if (s->tx) {
		srtp_dealloc(s->tx);
	}
	if (s->rx) {
		srtp_dealloc(s->rx);
	}
	free(s);
}

int xport_srtp_protect_rtp(struct xport_srtp *s, uint8_t *buf, size_t *len)
{
	int n = (int)*len;
	if (*len > 65535 || srtp_protect(s->tx, buf, &n) != srtp_err_status_ok) {
		return -EINVAL;
	}
	*len = (size_t)n;
	return 0;
}

int xport_srtp_protect_rtcp(struct xport_srtp *s, uint8_t *buf, size_t *len)
{
	int n = (int)*len;
	if (*len > 65535 || srtp_protect_rtcp(s->tx, buf, &n) != srtp_err_status_ok) {
		return -EINVAL;
	}
	*len = (size_t)n;
	return 0;
}

int xport_srtp_unprotect_rtp(struct xport_srtp *s, uint8_t *buf, size_t *len)
{
	int n = (int)*len;
	if (*len < 12 || *len > 65535 || srtp_unprotect(s->rx, buf, &n) != srtp_err_status_ok) {
		return -EBADMSG;
	}
	*len = (size_t)n;
	return 0;
}

int xport_srtp_unprotect_rtcp(struct xport_srtp *s, uint8_t *buf, size_t *len)
{
	int n = (int)*len;
	if (*len < 8 || *len > 65535 || srtp_unprotect_rtcp(s->rx, buf, &n) != srtp_err_status_ok) {
		return -EBADMSG;
	}
	*len = (size_t)n;
	return 0;
}
