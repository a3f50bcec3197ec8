/* SPDX-License-Identifier: MIT */
/*
 * Private interface between the concurrency layer (kernel/locking,
 * kernel/kthread.c, kernel/rcu) and the deterministic scheduler
 * (kernel/sched/det.c).
 */
#ifndef MMULAB_KERNEL_INTERNAL_H
#define MMULAB_KERNEL_INTERNAL_H

#include <pthread.h>
#include <mmulab/sched.h>
#include <mmulab/sync.h>

#include "sched/fiber.h"

/**
 * struct task_struct - one thread of the model.
 * @pid: small id, unique among live tasks.
 * @comm: name.
 * @thread: the pthread running it (outside deterministic runs).
 * @fn, @data: body and argument (NULL @fn for threads mmulab did not start).
 * @result: what @fn returned.
 * @should_stop: set by kthread_stop().
 * @sigpending: injected pending signal.
 * @exited: @fn has returned (written under the scheduler's eyes in a
 *	deterministic run, with a release store otherwise).
 * @det_id: index in the current deterministic run, -1 outside one.
 * @det_state: scheduler-private state of the task in a run.
 * @det_blocked_on: the object a blocked task waits for.
 * @det_fiber: the context it runs on in a deterministic run, where every
 *	task of the run is a fiber of the det_begin() caller's thread.
 * @det_prio: PCT priority.
 * @flags: PF_* flags of the task (task-local state, kept here rather than
 *	in a thread-local variable because a thread runs many fibers).
 */
struct task_struct {
	int pid;
	char comm[16];
	pthread_t thread;
	int (*fn)(void *data);
	void *data;
	int result;
	bool should_stop;
	bool sigpending;
	bool exited;
	int det_id;
	int det_state;
	const void *det_blocked_on;
	struct fiber det_fiber;
	long det_prio;
	unsigned int flags;
};

/*
 * Blocking inside a deterministic run.  The caller has just found the
 * resource @obj unavailable (no scheduling point since it looked), so
 * checking and blocking are atomic: only one task runs.  The task sleeps
 * until det_wake(@obj) and then returns to re-check.
 */
void det_block_on(const void *obj);
/* Make every task blocked on @obj runnable again (no scheduling point). */
void det_wake(const void *obj);

/*
 * Task life cycle inside a deterministic run.
 * det_task_created(): @t was created by the running task; it gets a fiber
 *	and becomes runnable, but does not run before it is chosen.  Returns
 *	0, or -ENOMEM (then @t is not part of the run).
 * det_task_exit(): @t's body returned; wakes its joiners and hands the
 *	CPU on for good.  Does not return.
 * det_task_reap(): the running task, in kthread_stop(), saw @t exit and
 *	is about to free it; its fiber is freed here.
 */
int det_task_created(struct task_struct *t);
__attribute__((noreturn)) void det_task_exit(struct task_struct *t);
void det_task_reap(struct task_struct *t);

/* kthread.c: run @t's body and keep what it returned. */
void kthread_body(struct task_struct *t);
/* kthread.c: make @t the task `current` names on this thread. */
void set_current(struct task_struct *t);

/*
 * Wait for call_srcu() callbacks queued outside deterministic runs (at
 * once when none is pending).
 */
void srcu_quiesce_callbacks(void);
/*
 * Around fork(): srcu_before_fork() waits for the callback worker to be
 * idle and keeps its queue locked; srcu_after_fork() unlocks it, and in
 * the child, which has no worker thread, lets the next callback start one.
 */
void srcu_before_fork(void);
void srcu_after_fork(bool child);

/* Run SRCU callbacks still queued at the end of a deterministic run. */
void det_srcu_flush_all(void);

/* kthread.c: live tasks started by kthread_run(). */
int kthread_nr_live(void);

static inline bool det_on(void)
{
	return unlikely(__atomic_load_n(&mmulab_det_active, __ATOMIC_RELAXED));
}

#endif /* MMULAB_KERNEL_INTERNAL_H */
