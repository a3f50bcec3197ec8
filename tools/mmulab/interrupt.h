/* SPDX-License-Identifier: MIT */
/*
 * SIGINT for long runs: the first ^C only sets a flag, which the long
 * loops (a workload's threads, the statements of a scenario, stress's
 * main loop, check's seeds) poll, so the command stops at the next
 * operation and prints what it has, a partial report, with exit status 1.
 * A second ^C is the default action: the process ends at once.
 *
 * The handler does nothing but an atomic store, which is
 * async-signal-safe.  Polling is a plain atomic load, not a scheduling
 * point, so a seeded run that is not interrupted is the same run.
 */
#ifndef MMULAB_TOOL_INTERRUPT_H
#define MMULAB_TOOL_INTERRUPT_H

#include <stdbool.h>

/** interrupt_install() - catch the next SIGINT (once; the one after kills). */
void interrupt_install(void);

/** interrupted() - has a SIGINT arrived since interrupt_install()? */
bool interrupted(void);

#endif /* MMULAB_TOOL_INTERRUPT_H */
