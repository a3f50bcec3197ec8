// SPDX-License-Identifier: MIT
/*
 * Sleepable RCU.
 *
 * Outside deterministic runs: liburcu's bullet-proof flavour, whose
 * readers need no registration and may block.  All srcu_struct domains
 * share its single grace-period domain, which only ever waits longer than
 * per-domain SRCU would.
 *
 * Inside a deterministic run: per domain, two reader counters and an
 * index.  A grace period flips the index twice and waits, each time, for
 * the counter of the old index to drain, exactly the argument of the
 * kernel's SRCU; the waits are scheduler blocks, so a grace period never
 * stalls the run.  call_srcu() callbacks are queued and run by
 * srcu_barrier(), or at the end of the run.
 */
#include <stddef.h>
#include <urcu-bp.h>
#include <urcu/call-rcu.h>
/* liburcu's pointer helpers; ours (<mmulab/sync.h>) take their place. */
#undef rcu_dereference
#undef rcu_assign_pointer

#include <mmulab/bug.h>
#include "../internal.h"

_Static_assert(sizeof(struct rcu_head) <=
		       sizeof(((struct callback_head *)0)->__impl),
	       "callback_head must have room for liburcu's rcu_head");

#if defined(__SANITIZE_THREAD__)
/*
 * liburcu is not built with ThreadSanitizer, so TSan sees none of the
 * ordering its grace periods and barriers provide.  Tell it:
 *
 *  - every reader releases into tsan_gp_word when it leaves, and every
 *    grace period (and every callback, which runs after one) acquires
 *    from it, so read-side sections happen before what follows the
 *    grace period;
 *  - every callback releases into tsan_cb_word when it returns, and
 *    srcu_barrier() acquires from it, so callbacks happen before what
 *    follows the barrier.
 */
static unsigned long tsan_gp_word, tsan_cb_word;
#define tsan_reader_release()                                                  \
	__atomic_fetch_add(&tsan_gp_word, 1, __ATOMIC_RELEASE)
#define tsan_gp_acquire() (void)__atomic_load_n(&tsan_gp_word, __ATOMIC_ACQUIRE)
#define tsan_cb_release()                                                      \
	__atomic_fetch_add(&tsan_cb_word, 1, __ATOMIC_RELEASE)
#define tsan_cb_acquire() (void)__atomic_load_n(&tsan_cb_word, __ATOMIC_ACQUIRE)
#else
#define tsan_reader_release() do { } while (0)
#define tsan_gp_acquire() do { } while (0)
#define tsan_cb_release() do { } while (0)
#define tsan_cb_acquire() do { } while (0)
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

static void urcu_trampoline(struct rcu_head *rh)
{
	struct callback_head *head =
		(struct callback_head *)((char *)rh -
					 offsetof(struct callback_head, __impl));
	void (*func)(struct callback_head *);

	tsan_gp_acquire();
	func = __atomic_load_n(&head->func, __ATOMIC_ACQUIRE);
	func(head);
	tsan_cb_release();
}

void call_srcu(struct srcu_struct *ssp, struct callback_head *head,
	       void (*func)(struct callback_head *head))
{
	sync_point(SP_RCU, ssp);
	if (det_on()) {
		struct callback_head **tail = &ssp->det_cbs;

		while (*tail)
			tail = (struct callback_head **)&(*tail)->__impl[0];
		head->func = func;
		head->__impl[0] = NULL;
		*tail = head;
		return;
	}
	__atomic_store_n(&head->func, func, __ATOMIC_RELEASE);
	urcu_bp_call_rcu((struct rcu_head *)head->__impl, urcu_trampoline);
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
	urcu_bp_barrier();
	tsan_gp_acquire();
	tsan_cb_acquire();
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
