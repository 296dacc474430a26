/* SPDX-License-Identifier: MIT */
/* SRTP between a server and a client keyed from the same pre-shared key:
 * what one protects the other takes; tampered, replayed and plaintext
 * packets and another session's are refused; a retransmission goes again
 * and is taken if the first copy was lost, refused if it arrived. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "transport/bytes.h"
#include "transport/srtp.h"

static size_t rtp(uint8_t *buf, uint16_t seq, const char *payload)
{
	buf[0] = 0x80;
	buf[1] = 96;
	xport_put_be16(buf + 2, seq);
	xport_put_be32(buf + 4, 1000);
	xport_put_be32(buf + 8, 0xabcdef01);
	size_t n = strlen(payload);
	memcpy(buf + 12, payload, n);
	return 12 + n;
}

static void test_srtp(void **state)
{
	(void)state;
	struct xport_psk k = { .len = 32 };
	memset(k.key, 7, 32);
	uint8_t cn[16], sn[16];
	memset(cn, 1, 16);
	memset(sn, 2, 16);
	struct xport_srtp *srv = xport_srtp_create(&k, cn, sn, true);
	struct xport_srtp *cli = xport_srtp_create(&k, cn, sn, false);
	sn[0] ^= 1;
	struct xport_srtp *other = xport_srtp_create(&k, cn, sn, false); /* another session */
	assert_non_null(srv);
	assert_non_null(cli);
	assert_non_null(other);

	uint8_t a[256], b[256], c[256];
	size_t la = rtp(a, 100, "frame data"), lb;
	assert_int_equal(xport_srtp_protect_rtp(srv, a, &la), 0);
	assert_int_equal(la, 12 + 10 + XPORT_SRTP_RTP_OVERHEAD);
	assert_memory_not_equal(a + 12, "frame data", 10); /* encrypted */
	memcpy(b, a, la);
	lb = la;
	memcpy(c, a, la);
	size_t lc = la;
	assert_int_equal(xport_srtp_unprotect_rtp(other, c, &lc), -EBADMSG);
	assert_int_equal(xport_srtp_unprotect_rtp(cli, a, &la), 0);
	assert_int_equal(la, 22);
	assert_memory_equal(a + 12, "frame data", 10);
	assert_int_equal(xport_srtp_unprotect_rtp(cli, b, &lb), -EBADMSG); /* replayed */

	/* Tampered: one bit of the payload, or of the header. */
	la = rtp(a, 101, "frame data");
	assert_int_equal(xport_srtp_protect_rtp(srv, a, &la), 0);
	a[14] ^= 0x10;
	assert_int_equal(xport_srtp_unprotect_rtp(cli, a, &la), -EBADMSG);
	la = rtp(a, 102, "frame data");
	assert_int_equal(xport_srtp_protect_rtp(srv, a, &la), 0);
	a[3] ^= 1; /* the sequence number */
	assert_int_equal(xport_srtp_unprotect_rtp(cli, a, &la), -EBADMSG);
	/* Plaintext. */
	la = rtp(a, 103, "frame data plus sixteen bytes..");
	assert_int_equal(xport_srtp_unprotect_rtp(cli, a, &la), -EBADMSG);

	/* A retransmission of a lost packet: protected again, taken once. */
	la = rtp(a, 104, "lost");
	assert_int_equal(xport_srtp_protect_rtp(srv, a, &la), 0); /* lost on the way */
	la = rtp(a, 105, "next");
	assert_int_equal(xport_srtp_protect_rtp(srv, a, &la), 0);
	assert_int_equal(xport_srtp_unprotect_rtp(cli, a, &la), 0);
	la = rtp(a, 104, "lost");
	assert_int_equal(xport_srtp_protect_rtp(srv, a, &la), 0); /* again, after a NACK */
	assert_int_equal(xport_srtp_unprotect_rtp(cli, a, &la), 0);
	assert_memory_equal(a + 12, "lost", 4);

	/* RTCP both ways: the client's RR to the server. */
	uint8_t r[64] = { 0x80, 201, 0, 1, 0x11, 0x22, 0x33, 0x44 };
	size_t lr = 8;
	assert_int_equal(xport_srtp_protect_rtcp(cli, r, &lr), 0);
	assert_true(lr > 8);
	uint8_t r2[64];
	memcpy(r2, r, lr);
	size_t lr2 = lr;
	assert_int_equal(xport_srtp_unprotect_rtcp(srv, r, &lr), 0);
	assert_int_equal(lr, 8);
	assert_int_equal(xport_srtp_unprotect_rtcp(srv, r2, &lr2), -EBADMSG); /* replayed */
	uint8_t plain[8] = { 0x80, 201, 0, 1, 0x11, 0x22, 0x33, 0x44 };
	size_t lp = 8;
	assert_int_equal(xport_srtp_unprotect_rtcp(srv, plain, &lp), -EBADMSG);

	xport_srtp_destroy(srv);
	xport_srtp_destroy(cli);
	xport_srtp_destroy(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srtp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
