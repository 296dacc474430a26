/* SPDX-License-Identifier: MIT */
#ifndef ZL_CLOCK_H
#define ZL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Host CLOCK_MONOTONIC in nanoseconds: the clock every latency stamp uses. */
static inline uint64_t zl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
