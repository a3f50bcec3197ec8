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
 * @det_timed: blocked in a timed wait (det_block_on_timeout()).
 * @det_timed_out: that wait ended because the run had nothing else to run.
 * @blocked_name: name of what a blocked task waits for (a lock class, a
 *	wait queue), for reports.
 * @wait_lock: orders @wait_wq against the wakers of the task.
 * @wait_wq: the wait queue the task sleeps on in wait_event*(), or NULL.
 * @held, @nr_held, @cap_held: the locks the task holds (lockdep).
 * @atomic_depth: spinlocks and rwlocks among them.
 * @non_block_depth: open non_block_start() sections.
 * @non_block_site: where the outermost one began.
 * @lockdep_recursion: inside the validator's own reporting.
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
	const void *waiting_on;
	const char *waiting_kind;
	int det_id;
	int det_state;
	const void *det_blocked_on;
	struct fiber det_fiber;
	long det_prio;
	bool det_timed;
	bool det_timed_out;
	const char *blocked_name;
	pthread_mutex_t wait_lock;
	wait_queue_head_t *wait_wq;
	struct held_lock *held;
	unsigned int nr_held, cap_held;
	unsigned int atomic_depth;
	unsigned int non_block_depth;
	const char *non_block_site;
	int lockdep_recursion;
	unsigned int flags;
};

/**
 * struct held_lock - one lock a task holds.
 * @lock: the instance.
 * @site: where it was acquired.
 * @class: its class id.
 * @type: enum lock_type.
 * @read: held shared.
 */
struct held_lock {
	const void *lock;
	const char *site;
	u32 class;
	u8 type;
	bool read;
};

/* What kind of lock a held_lock is. */
enum lock_type {
	LT_SPIN,
	LT_RWLOCK,
	LT_MUTEX,
	LT_RWSEM,
	LT_SRCU,
	LT_MAP,
};

/*
 * The validator (kernel/locking/lockdep.c).
 * lockdep_init_class(): give the lock whose class word is @classp the
 *	class of @key, registering it under @name on first use.
 * lockdep_acquire(): the calling task is about to wait for @lock (@try:
 *	it will not wait); checks self-deadlock and order, then records the
 *	hold.  Call before blocking so a self-deadlock is caught.
 * lockdep_acquired_try(): a trylock succeeded; record the hold.
 * lockdep_release(): the calling task released @lock.
 * lockdep_downgrade(): its exclusive hold of @lock became a shared one.
 * lockdep_sync(): @lock is waited for without being held (a grace period
 *	of an SRCU domain); checks as an exclusive acquire and release.
 * lockdep_task_free(): @t is going away.
 */
void lockdep_init_class(u32 *classp, const char *name,
			struct lock_class_key *key);
void lockdep_acquire(const void *lock, u32 *classp, enum lock_type type,
		     bool read, const char *site);
void lockdep_acquired_try(const void *lock, u32 *classp, enum lock_type type,
			  bool read, const char *site);
void lockdep_release(const void *lock);
void lockdep_downgrade(const void *lock);
void lockdep_sync(const void *lock, u32 *classp, const char *site);
void lockdep_task_free(struct task_struct *t);
const char *lockdep_class_name(u32 class);

/*
 * Blocking inside a deterministic run.  The caller has just found the
 * resource @obj unavailable (no scheduling point since it looked), so
 * checking and blocking are atomic: only one task runs.  The task sleeps
 * until det_wake(@obj) and then returns to re-check.
 */
void det_block_on(const void *obj);
/*
 * As det_block_on(), for a timed wait: returns true when the wait timed
 * out, which happens only when no task of the run is runnable otherwise.
 */
bool det_block_on_timeout(const void *obj);
/* Abandon the run with @why (a violation it cannot continue from). */
__attribute__((noreturn)) void det_abandon(const char *why);
/* Wake @t if it sleeps in a wait_event*() (kthread_stop(), signals). */
void wake_up_process(struct task_struct *t);
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
