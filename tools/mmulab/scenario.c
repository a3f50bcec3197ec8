// SPDX-License-Identifier: MIT
/*
 * The table of built-in scenarios and the harness that runs one, under
 * the deterministic scheduler when a seed is given.
 */
#include <string.h>

#include "mmulab.h"

const struct scenario scenarios[] = {
	{
		.name = "default",
		.summary = "tour of the primary MMU (mmap, fork/COW, mprotect, "
			   "madvise, mremap, GUP, munmap, exit) watched by a "
			   "counting notifier and an HMM-style mirror",
		.run = scenario_default,
	},
};

const unsigned int nr_scenarios = MMULAB_ARRAY_SIZE(scenarios);

const struct scenario *scenario_find(const char *name)
{
	for (unsigned int i = 0; i < nr_scenarios; i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

int scenario_run(const struct scenario *sc, const struct run_opts *opts,
		 struct report *r)
{
	struct det_config cfg = {
		.seed = opts->seed,
		.strategy = DET_STRATEGY_RANDOM,
	};
	unsigned long warnings = warn_count();
	int ret;

	report_init(r, sc->name);
	if (opts->seeded) {
		ret = det_begin(&cfg);
		if (ret)
			return ret;
		r->seeded = true;
		r->seed = opts->seed;
		det_log("scenario %s seed %llu", sc->name,
			(unsigned long long)opts->seed);
	}
	sc->run(r);
	if (opts->seeded) {
		ret = det_end(&r->det);
		if (ret)
			return ret;
	}
	r->warnings = warn_count() - warnings;
	return 0;
}
