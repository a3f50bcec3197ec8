// SPDX-License-Identifier: MIT
/*
 * Sleepable RCU.
 *
 * Outside deterministic runs: liburcu's bullet-proof flavour, whose
 * readers need no registration and may block.  All srcu_struct domains
 * share its single grace-period domain, which only ever waits longer than
 * per-domain SRCU would.  call_srcu() callbacks run on a worker thread
 * of ours after a liburcu grace period.
 *
 * Inside a deterministic run: per domain, two reader counters and an
 * index.  A grace period flips the index twice and waits, each time, for
 * the counter of the old index to drain, exactly the argument of the
 * kernel's SRCU; the waits are scheduler blocks, so a grace period never
 * stalls the run.  call_srcu() callbacks are queued and run by
 * srcu_barrier(), or at the end of the run.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <urcu-bp.h>
/* liburcu's pointer helpers; ours (<mmulab/sync.h>) take their place. */
#undef rcu_dereference
#undef rcu_assign_pointer

#include <mmulab/bug.h>
#include "../internal.h"

#if defined(__SANITIZE_THREAD__)
/*
 * liburcu is not built with ThreadSanitizer, so TSan sees none of the
 * ordering its grace periods and barriers provide.  Tell it:
 *
 *  - every reader releases into tsan_gp_word when it leaves, and every
 *    grace period (and every callback, which runs after one) acquires
 *    from it, so read-side sections happen before what follows the
 *    grace period.
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

int _srcu_read_lock(struct srcu_struct *ssp, const char *site)
{
	int idx;

	lockdep_acquire(&ssp->dep_map, &ssp->dep_map.class, LT_SRCU, true,
			site);
	sync_point(SP_RCU, ssp);
	if (!det_on()) {
		urcu_bp_read_lock();
		return 0;
	}
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
		urcu_bp_read_unlock();
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
	urcu_bp_synchronize_rcu();
	tsan_gp_acquire();
}

/*
 * Callbacks outside deterministic runs: our own worker thread, which takes
 * the queue, waits one liburcu grace period (which covers every callback
 * in the batch, all queued before it began) and runs them.  liburcu's own
 * call_rcu worker sleeps 10 ms to batch before it runs anything, which
 * made every srcu_barrier() cost that long; this one runs a batch as soon
 * as it has one, and srcu_barrier() waits for exactly the callbacks
 * queued before it, not for a timer.
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

		urcu_bp_synchronize_rcu();
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

void srcu_before_fork(void)
{
	pthread_mutex_lock(&cbw.lock);
	cbw_wait_locked();
}

void srcu_after_fork(bool child)
{
	if (child) {
		/* The worker was not copied; the next callback starts one. */
		cbw.started = false;
		pthread_cond_init(&cbw.work, NULL);
		pthread_cond_init(&cbw.done, NULL);
	}
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
