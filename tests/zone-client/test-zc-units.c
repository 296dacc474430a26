/* SPDX-License-Identifier: MIT */
/* zone-client pieces: latency percentiles, the stats JSON, PNG write/read,
 * the backend table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "zone-client/backend.h"
#include "zone-client/snapshot.h"
#include "zone-client/stats.h"

static void test_percentiles(void **state)
{
	struct zc_stats s;
	zc_stats_init(&s);
	assert_int_equal(zc_stats_percentile(&s, 50), 0);
	/* 1..100 ms in a scrambled order. */
	for (unsigned i = 0; i < 100; i++) {
		zc_stats_add_latency(&s, ((i * 37) % 100 + 1) * 1000000ull);
	}
	assert_int_equal(zc_stats_percentile(&s, 50), 50000000);
	assert_int_equal(zc_stats_percentile(&s, 90), 90000000);
	assert_int_equal(zc_stats_percentile(&s, 99), 99000000);
	assert_int_equal(zc_stats_percentile(&s, 100), 100000000);
	assert_int_equal(zc_stats_percentile(&s, 0), 1000000);
	zc_stats_finish(&s);
	zc_stats_init(&s);
	zc_stats_add_latency(&s, 7);
	assert_int_equal(zc_stats_percentile(&s, 99), 7);
	zc_stats_finish(&s);
}

static void test_json(void **state)
{
	struct zc_stats s;
	zc_stats_init(&s);
	s.frames_presented = 3;
	s.crc_mismatches = 1;
	zc_stats_add_latency(&s, 2500000);
	struct zc_stats_info info = { .zone = "a\"b", .width = 10, .height = 20,
		.present_source = "copy" };
	char path[] = "/tmp/zc-stats-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(zc_stats_write_file(&s, &info, path), 0);
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	unlink(path);
	assert_non_null(strstr(buf, "\"zone\": \"a\\\"b\""));
	assert_non_null(strstr(buf, "\"frames_presented\": 3,"));
	assert_non_null(strstr(buf, "\"crc_mismatches\": 1,"));
	assert_non_null(strstr(buf, "\"present_source\": \"copy\""));
	assert_non_null(strstr(buf, "\"clock\": \"same-host-monotonic\""));
	assert_non_null(strstr(buf, "\"p50\": 2.500"));
	/* The latency's one sample, and its CDF (every point that sample). */
	assert_non_null(strstr(buf, "\"samples\": 1, \"cdf\": [2.500, 2.500"));
	/* Every stage, with no samples yet. */
	assert_non_null(strstr(buf, "\"stages_ms\": {"));
	assert_non_null(strstr(buf, "\"network\": {\"p50\": 0.000"));
	/* No temporary file left behind. */
	char tmp[sizeof(path) + 4];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_not_equal(access(tmp, F_OK), 0);
	/* Unwritable place: an error, not a crash. */
	assert_true(zc_stats_write_file(&s, &info, "/nonexistent/dir/stats.json") < 0);
	zc_stats_finish(&s);
}

static void test_png(void **state)
{
	pixman_image_t *img = pixman_image_create_bits(PIXMAN_x8r8g8b8, 33, 17, NULL, 0);
	uint32_t *d = pixman_image_get_data(img);
	int stride = pixman_image_get_stride(img) / 4;
	for (int y = 0; y < 17; y++) {
		for (int x = 0; x < 33; x++) {
			d[y * stride + x] = (uint32_t)(x * 7 + y * 1000003) * 2654435761u;
		}
	}
	char dir[] = "/tmp/zc-png-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/last.png", dir);
	assert_int_equal(zc_snapshot_write_png(img, path), 0);
	pixman_image_t *back = zc_snapshot_read_png(path);
	assert_non_null(back);
	assert_int_equal(pixman_image_get_width(back), 33);
	assert_int_equal(pixman_image_get_height(back), 17);
	uint32_t *b = pixman_image_get_data(back);
	int bstride = pixman_image_get_stride(back) / 4;
	for (int y = 0; y < 17; y++) {
		for (int x = 0; x < 33; x++) {
			/* RGB exact; X is not stored. */
			assert_int_equal(b[y * bstride + x] & 0xffffff, d[y * stride + x] & 0xffffff);
		}
	}
	pixman_image_unref(back);
	unlink(path);
	rmdir(dir);
	assert_null(zc_snapshot_read_png(path));
	assert_true(zc_snapshot_write_png(img, "/nonexistent/dir/x.png") < 0);
	pixman_image_unref(img);
}

static unsigned presented;

static void on_presented(void *data, uint32_t frame_id, uint64_t t)
{
	presented = frame_id;
}

static void test_headless(void **state)
{
	const struct zc_backend_impl *impl = zc_backend_find("headless");
	assert_non_null(impl);
	assert_null(zc_backend_find("wayland-that-is-not-there"));
	assert_string_equal(impl->present_source, "copy");
	struct zc_backend_listener l = { .presented = on_presented };
	struct zc_backend *b = impl->create(NULL, 100, 50, NULL, &l, NULL);
	assert_non_null(b);
	assert_null(impl->snapshot(b));
	pixman_image_t *frame = pixman_image_create_bits(PIXMAN_x8r8g8b8, 100, 50, NULL, 0);
	uint32_t *d = pixman_image_get_data(frame);
	for (int i = 0; i < 100 * 50; i++) {
		d[i] = 0xff123456;
	}
	/* Only the damage is copied. */
	pixman_region32_t damage;
	pixman_region32_init_rect(&damage, 10, 10, 5, 5);
	assert_int_equal(impl->present(b, frame, &damage, 42), 0);
	assert_int_equal(presented, 42);
	pixman_image_t *shown = impl->snapshot(b);
	assert_non_null(shown);
	uint32_t *s = pixman_image_get_data(shown);
	assert_int_equal(s[12 * 100 + 12], 0xff123456);
	assert_int_equal(s[0] & 0xffffff, 0);
	pixman_region32_fini(&damage);
	pixman_image_unref(frame);
	impl->destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_png),
		cmocka_unit_test(test_headless),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
