/* SPDX-License-Identifier: MIT */
/*
 * The mmulab command: subcommands, options and the built-in scenarios.
 */
#ifndef MMULAB_TOOL_H
#define MMULAB_TOOL_H

#include "report.h"

#ifndef MMULAB_VERSION
#define MMULAB_VERSION "unknown"
#endif

/* Exit statuses of the command. */
enum {
	EXIT_OK = 0,		/* the run passed every check */
	EXIT_FAILED = 1,	/* a check failed, or the run was not made */
	EXIT_USAGE = 2,		/* bad command line */
};

/**
 * struct run_opts - options shared by the subcommands.
 * @json: print the report as JSON (docs/report.md).
 * @quiet: print one summary line instead of the full report.
 * @seeded: run under the deterministic scheduler with @seed.
 * @seed: the seed.
 */
struct run_opts {
	bool json;
	bool quiet;
	bool seeded;
	u64 seed;
};

/**
 * struct scenario - a built-in scenario.
 * @name: what `mmulab run NAME` calls it.
 * @summary: one line for `mmulab list`.
 * @run: the scenario body.  It runs as the first task of the run (under
 *	the deterministic scheduler when seeded), fills @r with what it did
 *	and checks everything it reads back.  It must leave no host, address
 *	space or task behind.
 */
struct scenario {
	const char *name;
	const char *summary;
	void (*run)(struct report *r);
};

extern const struct scenario scenarios[];
extern const unsigned int nr_scenarios;

/** scenario_find() - the built-in called @name, or NULL. */
const struct scenario *scenario_find(const char *name);

/**
 * scenario_run() - run @sc into @r as @opts ask.
 * Return: 0, or a negative errno when the run could not be made (the
 * deterministic scheduler refused it); a failed check is not an error.
 */
int scenario_run(const struct scenario *sc, const struct run_opts *opts,
		 struct report *r);

/* The built-in scenarios (scn_*.c). */
void scenario_default(struct report *r);

#endif /* MMULAB_TOOL_H */
