/* SPDX-License-Identifier: MIT */
/*
 * Bounded waits for the real-thread tests (test_sync.c,
 * test_rwlock_percpu.c): poll a condition, give up after a generous bound.
 */
#ifndef MMULAB_TESTS_WAIT_UNTIL_H
#define MMULAB_TESTS_WAIT_UNTIL_H

#include <stdbool.h>
#include <time.h>
#include <mmulab/sync.h>

static inline u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000 + (u64)ts.tv_nsec / 1000000;
}

/* Poll @cond every millisecond for up to @ms; evaluates to its last value. */
#define WAIT_UNTIL(cond, ms)                                                   \
	({                                                                     \
		u64 __end = now_ms() + (ms);                                   \
		bool __ok;                                                     \
		while (!(__ok = (cond)) && now_ms() < __end)                   \
			msleep(1);                                             \
		__ok;                                                          \
	})

/* Generous: these bound waits that take microseconds when nothing is wrong. */
#define LONG_MS 5000

#endif /* MMULAB_TESTS_WAIT_UNTIL_H */
