/* SPDX-License-Identifier: MIT */
#ifndef ZL_CLOCK_H
#define ZL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Added to every reading: 0, unless a test made this process's clock
 * another host's (zl_clock_init_from_env). */
extern int64_t zl_clock_skew_ns;

/* Host CLOCK_MONOTONIC in nanoseconds: the clock every latency stamp uses. */
static inline uint64_t zl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec +
		(uint64_t)zl_clock_skew_ns;
}

/* ZONAL_CLOCK_SKEW_NS=N (a test seam): this process's clock reads N ns off,
 * as another host's would, so cross-host clock handling can be tested on
 * one machine. */
void zl_clock_init_from_env(void);

#endif
