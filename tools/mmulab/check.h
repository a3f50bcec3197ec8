/* SPDX-License-Identifier: MIT */
/* mmulab check: race scenarios under the deterministic scheduler. */
#ifndef MMULAB_TOOLS_CHECK_H
#define MMULAB_TOOLS_CHECK_H

#include <stdbool.h>
#include <mmulab/sched.h>

struct world;

/**
 * struct check_scenario - a race scenario the checker explores.
 * @name: as given on the command line.
 * @desc: one line for usage.
 * @run: build the world and run it once under @dc; 0 or -errno.
 */
struct check_scenario {
	const char *name;
	const char *desc;
	int (*run)(struct world *w, const struct det_config *dc);
};

const struct check_scenario *check_scenario_find(const char *name);
const struct check_scenario *check_scenario_at(unsigned int i);
int check_one(const struct check_scenario *scn, u64 seed,
	      enum det_strategy strategy, bool verbose);
int cmd_check(int argc, char **argv);

#endif /* MMULAB_TOOLS_CHECK_H */
