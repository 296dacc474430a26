/* SPDX-License-Identifier: MIT */
/* The EDID generator: checksums, the preferred timing's size, the name, and
 * (when edid-decode is installed) conformity as edid-decode --check sees it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "virtio-gpu/gpu.h"

static const struct mode {
	uint32_t w, h, hz;
	bool extension; /* needs DisplayID: wider/taller than 4095 or too fast */
} modes[] = {
	{ 1920, 1080, 60, false },
	{ 1280, 720, 60, false },
	{ 1920, 720, 60, false },
	{ 800, 480, 60, false },
	{ 1024, 768, 0, false },   /* 0: 60 Hz */
	{ 3840, 2160, 60, false },
	{ 1280, 800, 120, false },
	{ 64, 64, 60, false },
	{ 1, 1, 30, false },
	{ 4095, 2000, 60, false },
	{ 5760, 720, 60, true },   /* pillar-to-pillar */
	{ 7680, 2160, 60, true },
	{ 8192, 4320, 30, true },
	{ 720, 5000, 60, true },
	{ 3840, 2160, 144, true }, /* clock above 655.35 MHz */
};

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++) {
		s = (uint8_t)(s + p[i]);
	}
	return s;
}

static void dtd_size(const uint8_t *d, uint32_t *w, uint32_t *h)
{
	*w = d[2] | (uint32_t)(d[4] & 0xf0) << 4;
	*h = d[5] | (uint32_t)(d[7] & 0xf0) << 4;
}

static void test_structure(void **state)
{
	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const struct mode *m = &modes[i];
		uint8_t b[256];
		memset(b, 0xcc, sizeof(b));
		int n = vgpu_edid_generate(b, sizeof(b), m->w, m->h, m->hz, "cluster");
		assert_int_equal(n, m->extension ? 256 : 128);
		static const uint8_t header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
		assert_memory_equal(b, header, 8);
		assert_int_equal(b[18], 1);
		assert_int_equal(b[19], 4);
		assert_int_equal(sum(b, 128), 0);
		assert_int_equal(b[126], m->extension ? 1 : 0);
		/* Pixel clock of at least 10 MHz, as sinks expect. */
		assert_true((b[54] | b[55] << 8) >= 1000);
		uint32_t w, h;
		dtd_size(b + 54, &w, &h);
		if (!m->extension) {
			assert_int_equal(w, m->w);
			assert_int_equal(h, m->h);
			/* Refresh within 1% of the asked rate. */
			uint32_t hz = m->hz ? m->hz : 60;
			uint64_t clock = (uint64_t)(b[54] | b[55] << 8) * 10000;
			uint64_t htotal = w + (b[57] | (uint32_t)(b[58] & 0x0f) << 8);
			uint64_t vtotal = h + (b[60] | (uint32_t)(b[61] & 0x0f) << 8);
			double rate = (double)clock / (double)(htotal * vtotal);
			assert_true(rate > hz * 0.99 && rate < hz * 1.01);
			continue;
		}
		/* The base block shows a scaled-down mode; the DisplayID block
		 * the real one, marked preferred. */
		assert_true(w <= 4095 && h <= 4095 && w < m->w + 1);
		const uint8_t *x = b + 128;
		assert_int_equal(x[0], 0x70);
		assert_int_equal(sum(x, 128), 0);
		size_t section = 4 + x[2];
		assert_int_equal(sum(x + 1, section + 1), 0);
		/* Find the type I timing block. */
		const uint8_t *p = x + 5, *end = x + 5 + x[2];
		const uint8_t *t = NULL;
		while (p + 3 <= end) {
			if (p[0] == 0x03) {
				t = p + 3;
			}
			p += 3 + p[2];
		}
		assert_non_null(t);
		assert_true(t[3] & 0x80);
		assert_int_equal((t[4] | t[5] << 8) + 1, m->w);
		assert_int_equal((t[12] | t[13] << 8) + 1, m->h);
	}
}

static void test_name(void **state)
{
	uint8_t b[256];
	assert_int_equal(vgpu_edid_generate(b, sizeof(b), 800, 600, 60, "rear\x01left-seat-display"), 128);
	/* Monitor name descriptor: printable ASCII, at most 13 characters. */
	assert_int_equal(b[72 + 3], 0xfc);
	assert_memory_equal(b + 72 + 5, "rear?left-sea", 13);
	assert_int_equal(vgpu_edid_generate(b, sizeof(b), 800, 600, 60, "ivi"), 128);
	assert_memory_equal(b + 72 + 5, "ivi\n         ", 13);
	assert_int_equal(vgpu_edid_generate(b, sizeof(b), 800, 600, 60, NULL), 128);
	assert_memory_equal(b + 72 + 5, "virtio-zonal\n", 13);
	/* Range limits descriptor present. */
	assert_int_equal(b[90 + 3], 0xfd);
}

static void test_invalid(void **state)
{
	uint8_t b[256];
	assert_int_equal(vgpu_edid_generate(b, sizeof(b), 0, 600, 60, "x"), -EINVAL);
	assert_int_equal(vgpu_edid_generate(b, sizeof(b), 800, 0, 60, "x"), -EINVAL);
	assert_int_equal(vgpu_edid_generate(b, sizeof(b), 0x10001, 600, 60, "x"), -EINVAL);
	assert_int_equal(vgpu_edid_generate(b, sizeof(b), 800, 0xffffffff, 60, "x"), -EINVAL);
	assert_int_equal(vgpu_edid_generate(b, sizeof(b), 800, 600, 1000, "x"), -EINVAL);
	assert_int_equal(vgpu_edid_generate(NULL, 128, 800, 600, 60, "x"), -EINVAL);
	assert_int_equal(vgpu_edid_generate(b, 127, 800, 600, 60, "x"), -ENOSPC);
	assert_int_equal(vgpu_edid_generate(b, 255, 5760, 720, 60, "x"), -ENOSPC);
	assert_int_equal(vgpu_edid_generate(b, 128, 800, 600, 60, "x"), 128);
}

/* A panel's EDID parses into what it says; one generated with the panel's
 * size carries it; damaged EDIDs are refused. */
static void test_parse(void **state)
{
	uint8_t b[256];
	struct vgpu_edid_info info;
	assert_int_equal(vgpu_edid_generate_mm(b, sizeof(b), 1920, 720, 60, "cockpit", 310, 116),
		128);
	assert_int_equal(vgpu_edid_parse(b, 128, &info), 0);
	assert_string_equal(info.manufacturer, "ZNL");
	assert_int_equal(info.product, 1);
	assert_string_equal(info.name, "cockpit");
	assert_int_equal(info.width_mm, 310);
	assert_int_equal(info.height_mm, 116);
	assert_int_equal(info.pref_width, 1920);
	assert_int_equal(info.pref_height, 720);
	/* Without a size: derived from the pixels (96 dpi). */
	assert_int_equal(vgpu_edid_generate_mm(b, sizeof(b), 1920, 720, 60, "x", 0, 0), 128);
	assert_int_equal(vgpu_edid_parse(b, 128, &info), 0);
	assert_int_equal(info.width_mm, 508);
	/* Any flipped bit of the base block, a short or ragged length. */
	for (int bit = 0; bit < 128 * 8; bit += 7) {
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(vgpu_edid_parse(b, 128, &info), -EBADMSG);
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(vgpu_edid_parse(b, 127, &info), -EBADMSG);
	assert_int_equal(vgpu_edid_parse(b, 200, &info), -EBADMSG);
	assert_int_equal(vgpu_edid_parse(b, 128, &info), 0);
}

/* edid-decode --check: exit 0 and "EDID conformity: PASS". */
static void test_edid_decode(void **state)
{
	const char *tool = "/usr/bin/edid-decode";
	if (access(tool, X_OK) != 0) {
		skip();
	}
	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const struct mode *m = &modes[i];
		if (m->h > 4095 && !m->extension) {
			continue;
		}
		uint8_t b[256];
		int n = vgpu_edid_generate(b, sizeof(b), m->w, m->h, m->hz, "zone-test");
		assert_true(n > 0);
		char in[] = "/tmp/test-edid-XXXXXX";
		int fd = mkstemp(in);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, b, (size_t)n), n);
		close(fd);
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "%s --check %s 2>&1", tool, in);
		FILE *p = popen(cmd, "r");
		assert_non_null(p);
		char line[512];
		bool pass = false, mode_seen = false;
		char want[64];
		snprintf(want, sizeof(want), " %ux%u ", m->w, m->h);
		while (fgets(line, sizeof(line), p)) {
			if (strstr(line, "EDID conformity: PASS")) {
				pass = true;
			}
			/* edid-decode pads the size: look for it with spaces. */
			char *s = strstr(line, "DTD");
			if (s) {
				char norm[512];
				size_t k = 0;
				for (const char *c = s; *c && k + 1 < sizeof(norm); c++) {
					if (*c != ' ' || (k > 0 && norm[k - 1] != ' ')) {
						norm[k++] = *c;
					}
				}
				norm[k] = 0;
				if (strstr(norm, want)) {
					mode_seen = true;
				}
			}
		}
		int status = pclose(p);
		unlink(in);
		if (!pass || !mode_seen || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fail_msg("edid-decode rejects %ux%u@%u (pass %d, mode %d, status %d)",
				m->w, m->h, m->hz, pass, mode_seen, status);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_edid_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
