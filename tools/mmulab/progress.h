/* SPDX-License-Identifier: MIT */
/*
 * A progress bar on stderr for long runs, drawn only when stderr is a
 * terminal and only once the work has lasted PROGRESS_DELAY_MS.  Only the
 * scenario's own task draws it, from the loop where it waits for a
 * workload's threads; nothing it does is a scheduling point, so a seeded
 * run is the same run whether or not the bar is drawn.
 */
#ifndef MMULAB_TOOL_PROGRESS_H
#define MMULAB_TOOL_PROGRESS_H

#include <mmulab/compiler.h>

#define PROGRESS_DELAY_MS 500
#define PROGRESS_EVERY_MS 100

/** progress_enable() - draw bars from now on (stderr is a terminal). */
void progress_enable(bool on);

/** progress_begin() - a new piece of work, called @label. */
void progress_begin(const char *label);

/** progress_update() - @done of @total units (@total 0: unknown). */
void progress_update(u64 done, u64 total);

/** progress_end() - the work is over: erase the bar if one was drawn. */
void progress_end(void);

#endif /* MMULAB_TOOL_PROGRESS_H */
