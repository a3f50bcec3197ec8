// SPDX-License-Identifier: MIT
/*
 * WARN and BUG reporting.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mmulab/bug.h>

static unsigned long nr_warnings;
static int quiet;

void __warn_report(const char *file, int line, const char *cond, int *once)
{
	__atomic_fetch_add(&nr_warnings, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&quiet, __ATOMIC_RELAXED))
		return;
	if (once && __atomic_exchange_n(once, 1, __ATOMIC_RELAXED))
		return;
	fprintf(stderr, "WARNING: %s:%d: %s\n", file, line, cond);
}

void __warn_msg(const char *msg)
{
	__atomic_fetch_add(&nr_warnings, 1, __ATOMIC_RELAXED);
	if (msg && !__atomic_load_n(&quiet, __ATOMIC_RELAXED))
		fprintf(stderr, "WARNING: %s\n", msg);
}

void __bug_report(const char *file, int line, const char *cond)
{
	fprintf(stderr, "BUG: %s:%d: %s\n", file, line, cond);
	fflush(stderr);
	abort();
}

unsigned long warn_count(void)
{
	return __atomic_load_n(&nr_warnings, __ATOMIC_RELAXED);
}

void warn_set_quiet(bool q)
{
	__atomic_store_n(&quiet, q, __ATOMIC_RELAXED);
}
