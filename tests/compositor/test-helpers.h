/* SPDX-License-Identifier: MIT */
/* cmocka-side helpers shared by the compositor unit tests (include after
 * <cmocka.h> and "helpers.h"). */
#ifndef COMP_TEST_HELPERS_H
#define COMP_TEST_HELPERS_H

#include <string.h>

#define assert_px(img, x, y, want) \
	do { \
		uint32_t got_ = th_raw((img), (x), (y)); \
		if (got_ != (0xff000000u | (want))) { \
			fail_msg("pixel %d,%d: got %08x, want %06x", (int)(x), (int)(y), got_, \
				(unsigned)(want)); \
		} \
	} while (0)

static inline struct comp_zone *zone_new(uint32_t w, uint32_t h, unsigned n,
	const struct comp_layer_config *layers)
{
	struct comp_zone_config c = { .name = "test", .width = w, .height = h,
		.refresh_hz = 60, .n_layers = n };
	memcpy(c.layers, layers, n * sizeof(*layers));
	struct comp_zone *z = comp_zone_create(&c);
	assert_non_null(z);
	return z;
}

#endif
