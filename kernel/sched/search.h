/* SPDX-License-Identifier: MIT */
/*
 * Private interface of the bounded-exhaustive search (search.c) to the
 * deterministic scheduler (det.c).
 */
#ifndef MMULAB_KERNEL_SCHED_SEARCH_H
#define MMULAB_KERNEL_SCHED_SEARCH_H

#include <mmulab/sched.h>

/* Task ids a bounded search can choose among (a bit each). */
#define DET_SEARCH_MAX_TASKS 64

/* A run under @s begins. */
void search_run_begin(struct det_search *s);

/*
 * Choose the next task.  @runnable: the runnable task ids, a bit each;
 * @running: the task that ran last; @cur_ok: it is runnable and may go on
 * (a scheduling point, not a block or an exit); @yield: it yields.
 * Returns the id, or -1 when a forced choice of a replayed prefix is not
 * runnable (the program did something else than when it was recorded).
 */
int search_choose(struct det_search *s, u64 runnable, int running,
		  bool cur_ok, bool yield);

#endif /* MMULAB_KERNEL_SCHED_SEARCH_H */
