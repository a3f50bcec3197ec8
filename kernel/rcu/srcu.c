// SPDX-License-Identifier: MIT
/*
 * Sleepable RCU.
 *
 * Outside deterministic runs: Linux's algorithm (srcu_read_lock(),
 * srcu_readers_active_idx_check()).  A reader reads the domain's index
 * and increments its CPU slot's lock count for that index, then a full
 * barrier; it leaves with a full barrier and an increment of its slot's
 * unlock count for the same index.  A grace period waits for the index
 * new readers do not take to drain, flips the index, and waits for the
 * old one to drain: drained when the unlock counts, summed over the slots,
 * equal the lock counts summed after them (a barrier between the two
 * sums).  A reader thus writes only its own slot's cache line, where a
 * shared reader count would bounce one line between every CPU reading
 * (the secondary fault path is such a reader of kvm->srcu).
 * call_srcu() callbacks run on a worker thread of ours after a grace
 * period of their domain.
 *
 * Inside a deterministic run: per domain, two reader counters and an
 * index.  A grace period flips the index twice and waits, each time, for
 * the counter of the old index to drain, exactly the argument of the
 * kernel's SRCU; the waits are scheduler blocks, so a grace period never
 * stalls the run.  call_srcu() callbacks are queued and run by
 * srcu_barrier(), or at the end of the run.
 */
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mmulab/bug.h>
#include "../internal.h"

#if defined(__SANITIZE_THREAD__)
/*
 * ThreadSanitizer does not model the full barriers (fences) the reader
 * counters rely on, so it sees none of the ordering a grace period
 * provides.  Tell it: every reader releases into tsan_gp_word when it
 * leaves, and every grace period (and every callback, which runs after
 * one) acquires from it, so read-side sections happen before what follows
 * the grace period.  (A shared write, in ThreadSanitizer builds only.)
 */
static unsigned long tsan_gp_word;
#define tsan_reader_release()                                                  \
	__atomic_fetch_add(&tsan_gp_word, 1, __ATOMIC_RELEASE)
#define tsan_gp_acquire() (void)__atomic_load_n(&tsan_gp_word, __ATOMIC_ACQUIRE)
#else
#define tsan_reader_release() do { } while (0)
#define tsan_gp_acquire() do { } while (0)
#endif

/* Domains, so the end of a deterministic run can flush their callbacks. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct srcu_struct *registry[64];

int __init_srcu_struct(struct srcu_struct *ssp, const char *name,
		       struct lock_class_key *key)
{
	ssp->dep_map.name = name;
	lockdep_init_class(&ssp->dep_map.class, name, key);
	ssp->det_readers[0] = 0;
	ssp->det_readers[1] = 0;
	ssp->det_idx = 0;
	ssp->det_cbs = NULL;
	ssp->srcu_idx = 0;
	memset(ssp->sda, 0, sizeof(ssp->sda));
	mutex_init(&ssp->gp_mutex);
	init_waitqueue_head(&ssp->det_wq);
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < MMULAB_ARRAY_SIZE(registry); i++) {
		if (!registry[i]) {
			registry[i] = ssp;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

void cleanup_srcu_struct(struct srcu_struct *ssp)
{
	might_sleep();
	srcu_barrier(ssp);
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < MMULAB_ARRAY_SIZE(registry); i++) {
		if (registry[i] == ssp)
			registry[i] = NULL;
	}
	pthread_mutex_unlock(&registry_lock);
}

/* ---------------------------------------------------------------------
 * Real threads: per-CPU reader counters
 */

/* Serialises the grace periods of every domain (Linux: srcu_gp_mutex). */
static pthread_mutex_t gp_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * A full barrier beside an atomic read-modify-write, Linux's
 * smp_mb__after_atomic() and smp_mb__before_atomic(): on x86 the locked
 * instruction already is one, so only the compiler is held back there
 * (a fence would add a second locked instruction to every read section).
 */
#if defined(__x86_64__) || defined(__i386__)
#define smp_mb__beside_rmw() __asm__ volatile("" ::: "memory")
#else
#define smp_mb__beside_rmw() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

/*
 * srcu_read_lock(): this slot's lock count of the current index, then a
 * full barrier (Linux's smp_mb() B), so the section's accesses cannot be
 * seen before the count.  The slot is shared only when more threads than
 * slots count at once, hence the atomic add.
 */
static int srcu_read_lock_cpu(struct srcu_struct *ssp)
{
	int idx = __atomic_load_n(&ssp->srcu_idx, __ATOMIC_RELAXED) & 1;

	__atomic_fetch_add(&ssp->sda[stat_cpu()].lock_count[idx], 1,
			   __ATOMIC_RELAXED);
	smp_mb__beside_rmw(); /* B, pairs with A */
	return idx;
}

/* srcu_read_unlock(): a full barrier (C), then this slot's unlock count. */
static void srcu_read_unlock_cpu(struct srcu_struct *ssp, int idx)
{
	smp_mb__beside_rmw(); /* C, pairs with A */
	__atomic_fetch_add(&ssp->sda[stat_cpu()].unlock_count[idx], 1,
			   __ATOMIC_RELAXED);
}

/*
 * srcu_readers_active_idx_check(): have all readers of @idx left?  The
 * unlocks are summed first, then a full barrier, then the locks: a reader
 * whose unlock was counted has its lock counted too, so equal sums mean
 * no reader that took @idx before the sums is still inside.  A reader
 * that read the index before a flip and counts its lock after the sums is
 * missed; it runs after barrier A, so it sees every update made before
 * the grace period, and the second scan of the grace period (after the
 * next flip) waits for it.
 */
static bool srcu_readers_done(struct srcu_struct *ssp, int idx)
{
	unsigned long locks = 0, unlocks = 0;

	for (unsigned int c = 0; c < STAT_NR_CPUS; c++)
		unlocks += __atomic_load_n(&ssp->sda[c].unlock_count[idx],
					   __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* A */
	for (unsigned int c = 0; c < STAT_NR_CPUS; c++)
		locks += __atomic_load_n(&ssp->sda[c].lock_count[idx],
					 __ATOMIC_RELAXED);
	return locks == unlocks;
}

/* Wait for @idx to drain: a few checks at once, then 20 us sleeps. */
static void srcu_wait_idx(struct srcu_struct *ssp, int idx)
{
	const struct timespec nap = {0, 20000};

	for (unsigned int tries = 0; !srcu_readers_done(ssp, idx); tries++) {
		if (tries < 16)
			sched_yield();
		else
			nanosleep(&nap, NULL);
	}
}

/*
 * A grace period (Linux's SRCU_STATE_SCAN1, flip, SCAN2): wait for the
 * readers of the index new readers do not take, flip the index, wait for
 * those of the old one.  The first scan catches readers that read the
 * index before a previous flip and counted late.
 */
static void srcu_gp(struct srcu_struct *ssp)
{
	unsigned long idx;

	pthread_mutex_lock(&gp_lock);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the updates before it */
	idx = __atomic_load_n(&ssp->srcu_idx, __ATOMIC_RELAXED);
	srcu_wait_idx(ssp, (int)(1 ^ (idx & 1)));
	__atomic_store_n(&ssp->srcu_idx, idx + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* D: the flip, then scan */
	srcu_wait_idx(ssp, (int)(idx & 1));
	/* The scan, then what follows the grace period. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&gp_lock);
}

int _srcu_read_lock(struct srcu_struct *ssp, const char *site)
{
	int idx;

	lockdep_acquire(&ssp->dep_map, &ssp->dep_map.class, LT_SRCU, true,
			site);
	sync_point(SP_RCU, ssp);
	if (!det_on())
		return srcu_read_lock_cpu(ssp);
	idx = ssp->det_idx & 1;
	ssp->det_readers[idx]++;
	return idx;
}

void srcu_read_unlock(struct srcu_struct *ssp, int idx)
{
	lockdep_release(&ssp->dep_map);
	sync_point(SP_RCU, ssp);
	if (!det_on()) {
		tsan_reader_release();
		srcu_read_unlock_cpu(ssp, idx);
		return;
	}
	WARN_ON_ONCE(ssp->det_readers[idx] <= 0);
	if (--ssp->det_readers[idx] == 0)
		det_wake(&ssp->det_readers[idx]);
}

static void det_synchronize(struct srcu_struct *ssp)
{
	mutex_lock(&ssp->gp_mutex);
	for (int flip = 0; flip < 2; flip++) {
		int old = ssp->det_idx & 1;

		ssp->det_idx++;
		sync_point(SP_RCU, ssp);
		while (ssp->det_readers[old])
			det_block_on(&ssp->det_readers[old]);
	}
	mutex_unlock(&ssp->gp_mutex);
}

void _synchronize_srcu(struct srcu_struct *ssp, const char *site)
{
	__might_sleep(site);
	/* A grace period waits for every reader: an exclusive hold. */
	lockdep_sync(&ssp->dep_map, &ssp->dep_map.class, site);
	sync_point(SP_RCU, ssp);
	if (det_on()) {
		det_synchronize(ssp);
		return;
	}
	srcu_gp(ssp);
	tsan_gp_acquire();
}

/*
 * Callbacks outside deterministic runs: our own worker thread, which takes
 * the queue, waits one grace period of each domain the batch has
 * callbacks of (each covers every callback of its domain in the batch, all
 * queued before it began) and runs them.  It runs a batch as soon as it
 * has one, and srcu_barrier() waits for exactly the callbacks queued
 * before it, not for a timer.  A callback's domain is kept in __impl[1].
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* the worker waits for callbacks */
	pthread_cond_t done;		/* barriers wait for @completed */
	struct callback_head *head, **tail;
	unsigned long queued, completed;
	bool started;
} cbw = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.tail = &cbw.head,
};

/* A grace period of every domain @batch has callbacks of, once each. */
static void batch_gp(struct callback_head *batch)
{
	struct srcu_struct *done[MMULAB_ARRAY_SIZE(registry)];
	size_t n = 0;

	for (; batch; batch = batch->__impl[0]) {
		struct srcu_struct *ssp = batch->__impl[1];
		size_t i = 0;

		while (i < n && done[i] != ssp)
			i++;
		if (i < n)
			continue;
		srcu_gp(ssp);
		if (n < MMULAB_ARRAY_SIZE(done))
			done[n++] = ssp;
	}
}

static void *srcu_cb_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cbw.lock);
	for (;;) {
		struct callback_head *batch;
		unsigned long n = 0;

		while (!cbw.head)
			pthread_cond_wait(&cbw.work, &cbw.lock);
		batch = cbw.head;
		cbw.head = NULL;
		cbw.tail = &cbw.head;
		pthread_mutex_unlock(&cbw.lock);

		batch_gp(batch);
		tsan_gp_acquire();
		while (batch) {
			struct callback_head *next = batch->__impl[0];

			batch->func(batch);
			batch = next;
			n++;
		}

		pthread_mutex_lock(&cbw.lock);
		cbw.completed += n;
		pthread_cond_broadcast(&cbw.done);
	}
	return NULL;
}

/* Queue @head; called with cbw.lock held. */
static void cbw_queue(struct callback_head *head)
{
	pthread_t thread;

	if (!cbw.started) {
		if (pthread_create(&thread, NULL, srcu_cb_worker, NULL)) {
			fprintf(stderr, "mmulab: no thread for SRCU callbacks\n");
			abort();
		}
		pthread_detach(thread);
		cbw.started = true;
	}
	head->__impl[0] = NULL;
	*cbw.tail = head;
	cbw.tail = (struct callback_head **)&head->__impl[0];
	cbw.queued++;
	pthread_cond_signal(&cbw.work);
}

/* Wait until every callback queued so far has run (cbw.lock held). */
static void cbw_wait_locked(void)
{
	unsigned long target = cbw.queued;

	while ((long)(cbw.completed - target) < 0)
		pthread_cond_wait(&cbw.done, &cbw.lock);
}

static void cbw_barrier(void)
{
	pthread_mutex_lock(&cbw.lock);
	cbw_wait_locked();
	pthread_mutex_unlock(&cbw.lock);
}

void srcu_quiesce_callbacks(void)
{
	cbw_barrier();
}

/*
 * In a child of fork() only the forking thread exists, and it is not
 * inside a read section (det_fork() is called between runs): a section
 * another thread of the parent was inside will never end here, so count
 * every section of the registered domains as ended.
 */
static void srcu_forget_other_readers(void)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < MMULAB_ARRAY_SIZE(registry); i++) {
		struct srcu_struct *ssp = registry[i];

		for (unsigned int c = 0; ssp && c < STAT_NR_CPUS; c++) {
			ssp->sda[c].unlock_count[0] = ssp->sda[c].lock_count[0];
			ssp->sda[c].unlock_count[1] = ssp->sda[c].lock_count[1];
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

void srcu_before_fork(void)
{
	pthread_mutex_lock(&cbw.lock);
	cbw_wait_locked();
	pthread_mutex_lock(&gp_lock);
}

void srcu_after_fork(bool child)
{
	if (child) {
		/* The worker was not copied; the next callback starts one. */
		cbw.started = false;
		srcu_forget_other_readers();
		pthread_cond_init(&cbw.work, NULL);
		pthread_cond_init(&cbw.done, NULL);
	}
	pthread_mutex_unlock(&gp_lock);
	pthread_mutex_unlock(&cbw.lock);
}

void call_srcu(struct srcu_struct *ssp, struct callback_head *head,
	       void (*func)(struct callback_head *head))
{
	sync_point(SP_RCU, ssp);
	head->func = func;
	if (det_on()) {
		struct callback_head **tail = &ssp->det_cbs;

		while (*tail)
			tail = (struct callback_head **)&(*tail)->__impl[0];
		head->__impl[0] = NULL;
		*tail = head;
		return;
	}
	head->__impl[1] = ssp;
	pthread_mutex_lock(&cbw.lock);
	cbw_queue(head);
	pthread_mutex_unlock(&cbw.lock);
}

/* Run the callbacks queued so far, after a grace period. */
static void det_run_callbacks(struct srcu_struct *ssp)
{
	struct callback_head *head = ssp->det_cbs;

	if (!head)
		return;
	ssp->det_cbs = NULL;
	det_synchronize(ssp);
	while (head) {
		struct callback_head *next = head->__impl[0];

		head->func(head);
		head = next;
	}
}

void srcu_barrier(struct srcu_struct *ssp)
{
	might_sleep();
	sync_point(SP_RCU, ssp);
	if (det_on()) {
		det_run_callbacks(ssp);
		return;
	}
	cbw_barrier();
}

void det_srcu_flush_all(void)
{
	for (size_t i = 0; i < MMULAB_ARRAY_SIZE(registry); i++) {
		pthread_mutex_lock(&registry_lock);
		struct srcu_struct *ssp = registry[i];

		pthread_mutex_unlock(&registry_lock);
		if (ssp)
			det_run_callbacks(ssp);
	}
}
