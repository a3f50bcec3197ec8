/* SPDX-License-Identifier: MIT */
/*
 * What the scenario fuzzers share (test_scenario_fuzz.c, random and
 * seeded, and fuzz/fuzz_scenario.c, coverage-guided): which parsed
 * scripts are small enough to run, and what a refusal must look like.
 */
#ifndef MMULAB_TESTS_SCENARIO_FUZZ_H
#define MMULAB_TESTS_SCENARIO_FUZZ_H

#include <stdio.h>
#include <string.h>

#include "script.h"

/* Step scripts small enough to run in a test: no workload (real threads,
 * unbounded operations), few repeats, a host of at most 256 MiB. */
static inline bool fuzz_runnable(const struct script *s)
{
	for (unsigned int i = 0; i < s->nr_stmts; i++) {
		const struct stmt *st = &s->stmts[i];

		if (st->kind == ST_WORKLOAD)
			return false;
		if ((st->kind == ST_WRITE || st->kind == ST_READ ||
		     st->kind == ST_GWRITE || st->kind == ST_GREAD) &&
		    st->a[ACC_COUNT].set && st->a[ACC_COUNT].u > 64)
			return false;
		if (st->kind == ST_HOST && st->a[HOST_FRAMES].set &&
		    st->a[HOST_FRAMES].u > 65536)
			return false;
	}
	return true;
}

/*
 * A refusal of the file @path: exactly one line, "PATH:LINE:COL: error: "
 * and a message, with LINE and COL from 1.
 */
static inline bool fuzz_refusal_ok(const char *msg)
{
	unsigned int line = 0, col = 0;
	const char *nl = strchr(msg, '\n');
	int n = 0;

	if (!nl || nl[1])
		return false;
	return sscanf(msg, "f.mmu:%u:%u: error: %n", &line, &col, &n) == 2 &&
	       n > 0 && line >= 1 && col >= 1 && msg[n] != '\n';
}

#endif /* MMULAB_TESTS_SCENARIO_FUZZ_H */
