/* SPDX-License-Identifier: MIT */
/*
 * Checks made inside tasks.  cmocka's assertions longjmp and only work on
 * the test's own thread, so tasks report through TASK_CHECK(), which logs
 * the failure and counts it; task_checks_teardown() fails the test if any
 * check failed and if a task was left unreaped.
 */
#ifndef MMULAB_TESTS_TASK_CHECK_H
#define MMULAB_TESTS_TASK_CHECK_H

#include <stdio.h>
#include "kernel/internal.h"

static int task_failures;

static inline void task_check_failed(const char *file, int line,
				     const char *cond)
{
	fprintf(stderr, "%s:%d: task check failed: %s\n", file, line, cond);
	__atomic_fetch_add(&task_failures, 1, __ATOMIC_RELAXED);
}

#define TASK_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			task_check_failed(__FILE__, __LINE__, #cond);          \
	} while (0)

static int setup(void **state)
{
	(void)state;
	__atomic_store_n(&task_failures, 0, __ATOMIC_RELAXED);
	return 0;
}

/* Every test reaps what it started, and no task check failed. */
static inline void task_checks_teardown(void)
{
	assert_int_equal(kthread_nr_live(), 0);
	assert_int_equal(__atomic_load_n(&task_failures, __ATOMIC_RELAXED), 0);
}

#endif /* MMULAB_TESTS_TASK_CHECK_H */
