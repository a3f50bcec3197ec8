/* SPDX-License-Identifier: MIT */
/*
 * mmulab check: race scenarios explored seed after seed under the
 * deterministic scheduler, on as many worker processes and machines as
 * the user has (docs/checker.md).
 */
#ifndef MMULAB_TOOLS_CHECK_H
#define MMULAB_TOOLS_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <mmulab/sched.h>

/**
 * struct check_target - what one seed runs.
 * @name: the scenario's name, its file, or the program (--exec).
 * @exec: @name is a program run once per seed.
 * @run: run seed @seed with @strategy; print the report of a violation
 *	and nothing else when @verbose.  Adds the scheduling points it
 *	passed to *@steps.  Return: 0 clean, 1 violation, -errno when the
 *	run could not be made.
 * @ctx: for @run.
 */
struct check_target {
	const char *name;
	bool exec;
	int (*run)(const struct check_target *t, u64 seed,
		   enum det_strategy strategy, bool verbose,
		   unsigned long *steps);
	void *ctx;
};

/**
 * struct check_params - the search.
 * @first: first seed; @seeds: how many from it.
 * @both: alternate random (even seeds) and PCT (odd ones).
 * @strategy: otherwise, the one strategy.
 * @mutant: the active mutant's name, or NULL.
 * @jobs: worker processes.
 * @shard: this shard, from 0; @nr_shards: shards (seed k of the range
 *	belongs to shard k % @nr_shards).
 * @plot: --plot's file: run every seed (not only up to the first
 *	violation) and feed check_plot_add().
 */
struct check_params {
	u64 first;
	u64 seeds;
	bool both;
	enum det_strategy strategy;
	const char *mutant;
	unsigned int jobs;
	unsigned int shard;
	unsigned int nr_shards;
	const char *plot;
};

/**
 * struct check_result - what a search found.
 * @scenario: its target's name.
 * @seeds_run: seeds run to their end.
 * @steps: scheduling points they passed.
 * @seconds: wall time.
 * @found: a violation was found; @seed, @strategy: the first one's (in
 *	seed order); @index: its position among the shard's seeds, from 0.
 * @error: -errno when a run could not be made.
 * @interrupted: a SIGINT stopped the search before its last seed.
 */
struct check_result {
	const char *scenario;
	u64 seeds_run;
	u64 steps;
	double seconds;
	bool found;
	u64 seed;
	enum det_strategy strategy;
	u64 index;
	int error;
	bool interrupted;
};

/*
 * The log hash of the last seed check's scenario runs (script targets; 0
 * for an --exec program, whose runs are not hashed here).
 */
extern u64 check_last_log_hash;

/**
 * check_plot_add() - count one finished run of strategy @s for --plot.
 * @s: its strategy.
 * @log_hash: its log hash, 0 when unknown.
 * @violation: it found a violation.
 */
void check_plot_add(enum det_strategy s, u64 log_hash, bool violation);

/**
 * check_plot_write() - draw what check_plot_add() counted into the SVG
 * @path, one panel per strategy, titled "mmulab check @what".
 * Return: 0 or a negative errno (printed).
 */
int check_plot_write(const char *path, const char *what);

/** check_strategy_name() - "random", "pct", ... */
const char *check_strategy_name(enum det_strategy s);

/** check_strategy_of() - the strategy called @name, or -1. */
int check_strategy_of(const char *name);

/** check_print_replay() - "replay: mmulab check ..." for one seed. */
void check_print_replay(FILE *out, const struct check_target *t, u64 seed,
			enum det_strategy strategy, const char *mutant);

/**
 * check_explore() - run the seeds of @p on @p->jobs worker processes and
 * find the first violation in seed order: the same answer as one process
 * running them in order, which stops there.
 * Return: 0, or -errno when the workers could not be started.
 */
int check_explore(const struct check_target *t, const struct check_params *p,
		  struct check_result *res);

/**
 * check_json() - print @n results of a search (or a merge) as JSON
 * (docs/check.schema.json).
 */
void check_json(FILE *out, const struct check_params *p,
		const struct check_result *res, unsigned int n,
		const struct check_target *targets, bool merged);

/**
 * check_merge() - combine the JSON results of shards (--merge FILE...)
 * and print the combined result, as text or JSON.
 * Return: the exit status.
 */
int check_merge(int nr_files, char **files, bool json);

int cmd_check(int argc, char **argv);

#endif /* MMULAB_TOOLS_CHECK_H */
