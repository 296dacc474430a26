/* SPDX-License-Identifier: MIT */
#include "clock.h"

#include <stdlib.h>

int64_t zl_clock_skew_ns;

void zl_clock_init_from_env(void)
{
	const char *s = getenv("ZONAL_CLOCK_SKEW_NS");
	zl_clock_skew_ns = s ? strtoll(s, NULL, 10) : 0;
}
