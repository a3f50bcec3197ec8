/* SPDX-License-Identifier: MIT */
/*
 * The deterministic scheduler.
 *
 * Between det_begin() and det_end() exactly one mmulab task runs at a time.
 * At every scheduling point of the concurrency layer (<mmulab/sync.h>) the
 * scheduler picks the next task to run from a pseudo-random stream seeded
 * by the run's seed, so the interleaving, and therefore everything the run
 * does, is a pure function of (program, seed, strategy).  A run replays
 * exactly from its seed; the event log hash proves it.
 *
 * Tasks that block (a held lock, wait_event(), a grace period, a join)
 * are not chosen until what they wait for changes.  If every task is
 * blocked the run is deadlocked; if it exceeds its step budget it is
 * livelocked.  Either way the scheduler reports the run's tasks and what
 * each waits for, then calls the failure handler (abort() by default).
 */
#ifndef MMULAB_SCHED_H
#define MMULAB_SCHED_H

#include <sys/types.h>

#include <mmulab/sync.h>

/**
 * enum det_strategy - how the next task is chosen.
 * @DET_STRATEGY_RANDOM: uniformly among runnable tasks at every point.
 * @DET_STRATEGY_PCT: probabilistic concurrency testing: tasks get random
 *	distinct priorities, the highest-priority runnable task runs, and at
 *	@pct_depth random steps the running task drops to the lowest
 *	priority.  Finds bugs of small depth with known probability.  A task
 *	that yields (cond_resched(), cpu_relax(), msleep()) drops to the
 *	lowest priority too, so that busy-waits end.
 * @DET_STRATEGY_ROUND_ROBIN: the next runnable task in id order at every
 *	point; the seed is unused.
 * @DET_STRATEGY_BOUNDED: systematic: the run follows the next schedule of
 *	a bounded-exhaustive search (struct det_search, below); the seed is
 *	unused by the scheduler.
 */
enum det_strategy {
	DET_STRATEGY_RANDOM,
	DET_STRATEGY_PCT,
	DET_STRATEGY_ROUND_ROBIN,
	DET_STRATEGY_BOUNDED,
};

/**
 * struct det_search - a bounded-exhaustive search over the schedules of a
 * deterministic program (opaque).
 *
 * It enumerates every schedule with at most K preemptions, as CHESS's
 * context bounding does: a preemption is choosing another task while the
 * running one could go on, or going on at a yield (cond_resched(),
 * cpu_relax(), msleep()) while another task is runnable; choosing after a
 * block or an exit is free.  Use it as:
 *
 *	s = det_search_create(K);
 *	do {
 *		cfg.strategy = DET_STRATEGY_BOUNDED; cfg.search = s;
 *		det_begin(&cfg); ...the program...; det_end(&res);
 *	} while (det_search_next(s));
 *
 * Every run re-executes the program from the start, which must do the
 * same thing whenever it is given the same schedule (a program that does
 * not is reported as a failure of the run).  The bound is raised one
 * preemption at a time (iterative context bounding), so the schedules
 * with fewer preemptions come first; raising it re-runs those of the
 * lower levels.  When det_search_next() returns false every schedule
 * within the bound has been run.  At most 64 tasks per run.
 */
struct det_search;

/**
 * det_search_create() - a search of every schedule with at most
 * @max_preemptions preemptions.
 *
 * Return: the search, or ERR_PTR(-ENOMEM).
 */
struct det_search *det_search_create(unsigned int max_preemptions);

/**
 * det_search_parse() - a "search" that runs just the schedule @spec names,
 * as det_search_format() wrote it, to replay it.
 *
 * Return: the search, or ERR_PTR(-EINVAL) for a malformed @spec.
 */
struct det_search *det_search_parse(const char *spec);

/**
 * det_search_next() - after a run under @s, move to the next schedule.
 *
 * Return: true if there is one to run, false once every schedule within
 * the bound has been run (always false for det_search_parse()'s).
 */
bool det_search_next(struct det_search *s);

/**
 * det_search_schedules() - distinct schedules whose runs @s has finished
 * (each counted once, at the level of its number of preemptions).
 */
unsigned long det_search_schedules(const struct det_search *s);

/** det_search_runs() - runs begun under @s, re-runs of lower levels too. */
unsigned long det_search_runs(const struct det_search *s);

/** det_search_bound() - @s's preemption bound. */
unsigned int det_search_bound(const struct det_search *s);

/**
 * det_search_format() - write the schedule of the last run under @s as
 * its decisions that differ from the default ("STEP:TASK,..."), for
 * det_search_parse().
 * @s: the search.
 * @buf: where to write, NUL-terminated.
 * @size: size of @buf.
 *
 * Return: the length written, or -ENOSPC if @buf is too small.
 */
int det_search_format(const struct det_search *s, char *buf, size_t size);

/** det_search_destroy() - free @s (NULL and error pointers are ignored). */
void det_search_destroy(struct det_search *s);

/**
 * struct det_config - parameters of one deterministic run.
 * @seed: seed of the scheduling decisions.
 * @strategy: see enum det_strategy.
 * @pct_depth: number of priority change points (PCT only; 0 means 3).
 * @pct_steps: expected run length used to place change points (PCT only;
 *	0 means 10000).
 * @max_steps: step budget; 0 means 50 million.
 * @search: the search whose next schedule to run (DET_STRATEGY_BOUNDED).
 */
struct det_config {
	u64 seed;
	enum det_strategy strategy;
	unsigned int pct_depth;
	unsigned long pct_steps;
	unsigned long max_steps;
	struct det_search *search;
};

/**
 * struct det_result - what a finished run did.
 * @steps: scheduling points passed.
 * @switches: times the running task changed.
 * @tasks: tasks that took part, the first one included.
 * @log_hash: hash of the event log (every point's task and kind, and every
 *	det_log() line); equal hashes mean equal runs.
 */
struct det_result {
	unsigned long steps;
	unsigned long switches;
	unsigned int tasks;
	u64 log_hash;
};

/**
 * struct det_stats - totals over the deterministic runs this process ended.
 * @runs: runs ended by det_end().
 * @steps: scheduling points they passed.
 * @switches: times their running task changed.
 * @distinct: distinct log hashes among those runs: distinct schedules, a
 *	measure of coverage comparable between strategies.
 */
struct det_stats {
	unsigned long runs;
	unsigned long steps;
	unsigned long switches;
	unsigned long distinct;
};

/**
 * det_get_stats() - fill @out with the totals so far (for rates: take it
 * before and after a batch of runs).
 */
void det_get_stats(struct det_stats *out);

/**
 * det_begin() - start a deterministic run; the caller becomes its first task.
 *
 * Return: 0, -EBUSY if a run is active or other mmulab tasks are alive,
 * -EINVAL for an unknown strategy or DET_STRATEGY_BOUNDED without a search.
 */
int det_begin(const struct det_config *cfg);

/**
 * det_end() - finish the run begun by det_begin() and fill @res.
 *
 * Pending SRCU callbacks of the run are executed first.  Every other task
 * of the run must have been reaped with kthread_stop().
 *
 * Return: 0, -EBUSY if other tasks of the run are still alive, -EINVAL if
 * no run is active.
 */
int det_end(struct det_result *res);

/** det_active() - true between det_begin() and det_end(). */
bool det_active(void);

/**
 * det_log() - append a line to the run's event log (hashed; not a
 * scheduling point).  Outside a run it does nothing.
 */
void det_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * det_set_observer() - call @fn(@step, @arg) at every scheduling point of
 * the deterministic runs that follow, on the running task, before the
 * next task is picked; @step counts the run's points from 1.  For
 * samplers: @fn runs wherever a point is (with locks held, in atomic
 * sections), so it must not sleep, take a lock or reach a scheduling
 * point, and may read shared state only as an observer (OBSERVE_ONCE(),
 * atomic_long_observe(), the *_observe_*() accessors).  Set it outside a
 * run; NULL removes it.
 * @fn: the observer, or NULL.
 * @arg: its argument.
 */
void det_set_observer(void (*fn)(unsigned long step, void *arg), void *arg);

/**
 * det_set_failure_handler() - what to call after a deadlock or livelock has
 * been reported (default: abort()).  The handler must not return; a
 * checker typically runs each seed in a child process and _exit()s.
 */
void det_set_failure_handler(void (*fn)(const char *why));

/**
 * det_fork() - fork() the calling process, to run a seed in a child.
 *
 * The worker thread that runs SRCU callbacks outside deterministic runs
 * is not copied into a child.  det_fork() lets it finish what is queued
 * and holds its queue across the fork(), so that SRCU,
 * and det_begin(), which waits for pending callbacks, keep working in
 * both processes.  Call it outside
 * any run and any SRCU read-side section.
 *
 * Return: as fork(): the child's pid in the parent, 0 in the child, or -1
 * with errno set.
 */
pid_t det_fork(void);

/**
 * struct det_explore_opts - a search over seeds (det_explore()).
 * @first_seed: the first seed; 0 means 1.
 * @seeds: how many seeds from it; 0 means 100.
 * @strategy: the strategy of every seed, unless @alternate.
 * @alternate: random for even seeds and PCT for odd ones, as `mmulab
 *	check` does by default.
 * @name: how to run the program again, for the replay line (typically
 *	argv[0]); NULL means the program's own name.
 */
struct det_explore_opts {
	u64 first_seed;
	u64 seeds;
	enum det_strategy strategy;
	bool alternate;
	const char *name;
};

/**
 * struct det_explore_result - what det_explore() found.
 * @seeds_run: seeds run to their end.
 * @found: a seed failed; @seed and @strategy are the first one's.
 * @seed: the failing seed.
 * @strategy: its strategy.
 */
struct det_explore_result {
	u64 seeds_run;
	bool found;
	u64 seed;
	enum det_strategy strategy;
};

/**
 * det_explore() - run a scenario of one's own seed after seed under the
 * deterministic scheduler, and stop at the first seed that fails.
 * @fn: the scenario.  It runs as the first task of each run: it builds
 *	its world (attaching the coherence checker to its host, if it wants
 *	one), starts its tasks, reaps them with kthread_stop(), checks what
 *	it saw and tears everything down.  It returns 0 when every check
 *	held, non-zero for a violation (after printing what it saw).
 * @arg: for @fn.
 * @opts: the seeds; NULL for the defaults.
 * @res: what was found; may be NULL.
 *
 * Each seed runs in a child process (det_fork()), so a crash, a failed
 * assertion or a deadlock the scheduler reports fails that seed instead
 * of ending the search; the children's output is discarded.  The first
 * failing seed is then run once more with its output, followed by
 * "replay: MMULAB_SEED=S MMULAB_STRATEGY=X NAME", the command that runs it
 * again.
 *
 * The environment steers it: with MMULAB_SEED=S (and MMULAB_STRATEGY=
 * random, pct or round-robin) it runs that one seed in this process, with
 * its output, which is what the replay line and `mmulab check --exec
 * PROG` (which spreads seeds over cores and machines) use;
 * MMULAB_FIRST_SEED and MMULAB_SEEDS override @opts.
 *
 * Call it outside any deterministic run, with no other mmulab task
 * alive.
 *
 * Return: 0 when no seed failed, 1 when one did, -EINVAL for a bad
 * MMULAB_* variable, -errno when a child could not be started.
 */
int det_explore(int (*fn)(void *arg), void *arg,
		const struct det_explore_opts *opts,
		struct det_explore_result *res);

#endif /* MMULAB_SCHED_H */
