/* SPDX-License-Identifier: MIT */
/* The pre-shared key: key files, the control channel's proofs, HKDF. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/psk.h"

static char path[] = "/tmp/zonal-psk-XXXXXX";

static int write_key(const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return 0;
}

static void test_load(void **state)
{
	(void)state;
	int fd = mkstemp(path);
	close(fd);
	struct xport_psk k;
	char err[256];
	write_key("# the car's key\n0011223344556677 8899aabbccddeeff\n", 0600);
	assert_int_equal(xport_psk_load(path, &k, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(k.len, 16);
	assert_int_equal(k.key[0], 0x00);
	assert_int_equal(k.key[15], 0xff);
	write_key("00112233445566778899aabbccddeeff\n", 0644);
	assert_int_equal(xport_psk_load(path, &k, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "others may read"));
	write_key("0011", 0600);
	assert_int_equal(xport_psk_load(path, &k, err, sizeof(err)), -EINVAL);
	write_key("00112233445566778899aabbccddeefg", 0600);
	assert_int_equal(xport_psk_load(path, &k, err, sizeof(err)), -EINVAL);
	write_key("00112233445566778899aabbccddeeff0", 0600);
	assert_int_equal(xport_psk_load(path, &k, err, sizeof(err)), -EINVAL);
	unlink(path);
	assert_int_equal(xport_psk_load(path, &k, err, sizeof(err)), -ENOENT);
}

static void test_proofs(void **state)
{
	(void)state;
	struct xport_psk a = { .len = 32 }, b = { .len = 32 };
	memset(a.key, 0x11, 32);
	memset(b.key, 0x12, 32);
	uint8_t cn[16], sn[16], p[32];
	assert_int_equal(xport_psk_nonce(cn), 0);
	assert_int_equal(xport_psk_nonce(sn), 0);
	assert_memory_not_equal(cn, sn, 16);
	xport_psk_proof(&a, true, cn, sn, "cockpit", p);
	assert_true(xport_psk_proof_ok(&a, true, cn, sn, "cockpit", p));
	assert_false(xport_psk_proof_ok(&b, true, cn, sn, "cockpit", p));      /* another key */
	assert_false(xport_psk_proof_ok(&a, false, cn, sn, "cockpit", p));     /* reflected */
	assert_false(xport_psk_proof_ok(&a, true, sn, cn, "cockpit", p));      /* nonces swapped */
	assert_false(xport_psk_proof_ok(&a, true, cn, sn, "rear-seat", p));    /* another zone */
	uint8_t k1[28], k2[28];
	assert_int_equal(xport_psk_derive(&a, cn, sn, "s2c", k1, sizeof(k1)), 0);
	assert_int_equal(xport_psk_derive(&a, cn, sn, "c2s", k2, sizeof(k2)), 0);
	assert_memory_not_equal(k1, k2, sizeof(k1));
}

/* RFC 5869, A.1. */
static void test_hkdf_vector(void **state)
{
	(void)state;
	uint8_t ikm[22], salt[13], info[10], okm[42];
	memset(ikm, 0x0b, sizeof(ikm));
	for (int i = 0; i < 13; i++) {
		salt[i] = (uint8_t)i;
	}
	for (int i = 0; i < 10; i++) {
		info[i] = (uint8_t)(0xf0 + i);
	}
	static const uint8_t want[42] = {
		0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f, 0x64, 0xd0, 0x36,
		0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56,
		0xec, 0xc4, 0xc5, 0xbf, 0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18, 0x58, 0x65,
	};
	assert_int_equal(xport_hkdf_sha256(salt, sizeof(salt), ikm, sizeof(ikm), info, sizeof(info),
		okm, sizeof(okm)), 0);
	assert_memory_equal(okm, want, sizeof(want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_proofs),
		cmocka_unit_test(test_hkdf_vector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
