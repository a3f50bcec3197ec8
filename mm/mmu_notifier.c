// SPDX-License-Identifier: MIT
/*
 * The MMU-notifier core: how the primary MMU tells secondary MMUs that
 * translations are about to change, with the semantics of Linux 6.12
 * (mm/mmu_notifier.c there).
 *
 * Per mm there is one struct mmu_notifier_subscriptions, created by the
 * first registration of either kind and freed only when the mm_struct is.
 * It carries two independent subscriber sets:
 *
 *  - the hlist of struct mmu_notifier, newest first, modified under
 *    subscriptions->lock and walked by every dispatcher inside a read
 *    section of one SRCU domain shared by all mms;
 *  - the interval tree of struct mmu_interval_notifier, protected by
 *    subscriptions->lock plus a sequence count that freezes the tree while
 *    any invalidation that hit an interval is in flight (see the comment
 *    above mn_itree_is_invalidating()).
 *
 * Every lock, atomic, wait and SRCU operation here goes through
 * <mmulab/sync.h>, so the deterministic scheduler sees each of them.
 */
#include <limits.h>
#include <stdlib.h>

#include <mmulab/bug.h>
#include <mmulab/mmu_notifier.h>
#include "internal.h"

/**
 * struct mmu_notifier_subscriptions - notifier state of one mm.
 * @list: hlist subscribers (struct mmu_notifier), newest first.
 * @has_itree: set once interval subscribers may exist; never cleared.
 * @lock: serialises @list changes, users counts and all interval state.
 * @invalidate_seq: interval-layer sequence, odd while an epoch is open.
 * @active_invalidate_ranges: start/end pairs in flight (interval layer).
 * @itree: interval subscribers, by [start, last].
 * @wq: woken when an epoch closes.
 * @deferred_list: inserts and removals requested while @itree is frozen.
 */
struct mmu_notifier_subscriptions {
	struct hlist_head list;
	bool has_itree;
	spinlock_t lock;
	unsigned long invalidate_seq;
	unsigned long active_invalidate_ranges;
	struct interval_tree_root itree;
	wait_queue_head_t wq;
	struct hlist_head deferred_list;
};

/*
 * One SRCU domain for every mm.  Its read side covers each walk of a
 * subscriptions->list; its grace periods are what make unregister's "no
 * callback runs after I return" and exit's "release has returned before
 * pages are freed" true.
 */
static struct srcu_struct mn_srcu;
/*
 * The kernel's __mmu_notifier_invalidate_range_start_map: a pseudo lock
 * held across every start and end dispatch, so a lock taken by a callback
 * and held around something that waits for callbacks (read_begin, remove)
 * is an order inversion.
 */
static struct lockdep_map mn_invalidate_start_map =
	STATIC_LOCKDEP_MAP_INIT("mmu_notifier_invalidate_range_start");

DEFINE_TRACE(mmu_notifier_invalidate_range_start);
DEFINE_TRACE(mmu_notifier_invalidate_range_end);
DEFINE_TRACE(mmu_notifier_release);
DEFINE_TRACE(mmu_notifier_clear_flush_young);
DEFINE_TRACE(mmu_notifier_clear_young);
DEFINE_TRACE(mmu_notifier_test_young);
DEFINE_TRACE(mmu_notifier_change_pte);
DEFINE_TRACE(mmu_notifier_arch_invalidate_secondary_tlbs);

__attribute__((constructor)) static void mn_srcu_init(void)
{
	init_srcu_struct(&mn_srcu);
}

static const char *const mn_event_names[MMU_NOTIFY_NR_EVENTS] = {
	[MMU_NOTIFY_UNMAP] = "UNMAP",
	[MMU_NOTIFY_CLEAR] = "CLEAR",
	[MMU_NOTIFY_PROTECTION_VMA] = "PROTECTION_VMA",
	[MMU_NOTIFY_PROTECTION_PAGE] = "PROTECTION_PAGE",
	[MMU_NOTIFY_SOFT_DIRTY] = "SOFT_DIRTY",
	[MMU_NOTIFY_RELEASE] = "RELEASE",
	[MMU_NOTIFY_MIGRATE] = "MIGRATE",
	[MMU_NOTIFY_EXCLUSIVE] = "EXCLUSIVE",
};

const char *mmu_notifier_event_name(enum mmu_notifier_event event)
{
	if ((unsigned int)event >= MMU_NOTIFY_NR_EVENTS)
		return NULL;
	return mn_event_names[event];
}

/*
 * Lockless readers (every dispatcher, mm_has_notifiers()) pair this
 * acquire with the release store that publishes a fully initialised
 * structure in __mmu_notifier_register().  The pointer never changes again
 * while the mm_struct lives, so one load is enough.
 */
static struct mmu_notifier_subscriptions *mn_subs(struct mm_struct *mm)
{
	return smp_load_acquire(&mm->notifier_subscriptions);
}

bool mm_has_notifiers(struct mm_struct *mm)
{
	return unlikely(mn_subs(mm) != NULL);
}

static void mn_count(struct mm_struct *mm, enum vm_event_item item)
{
	if (mm->host)
		count_vm_event(mm->host, item);
}

/* ---------------------------------------------------------------------
 * Interval tree membership
 *
 * A deferred interval subscriber is either waiting to enter the tree or
 * waiting to leave it.  The kernel tells the two apart by the rb_node
 * being "cleared" (pointing at itself).  Our tree never makes a node its
 * own parent, so the same encoding works on __parent.
 */

static void itree_node_clear(struct interval_tree_node *node)
{
	node->__parent = node;
}

static bool itree_node_empty(const struct interval_tree_node *node)
{
	return node->__parent == node;
}

/* ---------------------------------------------------------------------
 * Interval layer: the write side
 *
 * Invalidations do not exclude each other: the primary MMU runs start/end
 * pairs concurrently on several CPUs and nests them within one task.  The
 * interval layer therefore counts them (active_invalidate_ranges) and
 * folds them into epochs.  With ranges in flight the mm is in one of two
 * states:
 *
 *  - partially excluded (seq even): none of the in-flight ranges hit an
 *    interval subscriber when it started, so the tree may still change;
 *  - fully excluded (seq odd): at least one did.  Its callbacks walk the
 *    tree without the lock, so the tree is frozen and inserts/removals
 *    queue on deferred_list until the last in-flight range ends.
 *
 * seq |= 1 opens an epoch, seq++ (odd -> even) closes it.  Each epoch is
 * thus named by a unique odd value, idle is always even, and a subscriber
 * stores only odd values: read_begin() can compare its stored value with
 * the global one to learn whether it is inside an epoch that touched it.
 */

static bool mn_itree_is_invalidating(struct mmu_notifier_subscriptions *subs)
{
	/* As 6.12: the epoch's parity is read under the tree's lock. */
	lockdep_assert_held(&subs->lock);
	return subs->invalidate_seq & 1;
}

static struct mmu_interval_notifier *
mn_itree_inv_start_range(struct mmu_notifier_subscriptions *subs,
			 const struct mmu_notifier_range *range,
			 unsigned long *cur_seq)
{
	struct interval_tree_node *node;
	struct mmu_interval_notifier *first = NULL;

	spin_lock(&subs->lock);
	subs->active_invalidate_ranges++;
	node = interval_tree_iter_first(&subs->itree, range->start,
					range->end - 1);
	if (node) {
		WRITE_ONCE(subs->invalidate_seq, subs->invalidate_seq | 1);
		first = container_of(node, struct mmu_interval_notifier,
				     interval_tree);
	}
	*cur_seq = subs->invalidate_seq;
	spin_unlock(&subs->lock);
	return first;
}

/*
 * Called without the lock: safe because the epoch opened (or joined) by
 * mn_itree_inv_start_range() keeps the tree frozen until this range ends.
 */
static struct mmu_interval_notifier *
mn_itree_inv_next(struct mmu_interval_notifier *interval_sub,
		  const struct mmu_notifier_range *range)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_next(&interval_sub->interval_tree,
				       range->start, range->end - 1);
	if (!node)
		return NULL;
	return container_of(node, struct mmu_interval_notifier, interval_tree);
}

/*
 * Carry out the tree changes queued while the epoch was open.  A queued
 * subscriber that is not in the tree is a pending insert; one that is in
 * the tree is a pending removal, whose remover sleeps until the epoch it
 * recorded is over.  Called with the lock held, after seq became even.
 */
static void mn_itree_apply_deferred(struct mmu_notifier_subscriptions *subs)
{
	struct mmu_interval_notifier *interval_sub;
	struct hlist_node *item;

	while ((item = subs->deferred_list.first)) {
		interval_sub = container_of(item, struct mmu_interval_notifier,
					    deferred_item);
		hlist_del_init_rcu(item);
		if (itree_node_empty(&interval_sub->interval_tree)) {
			interval_tree_insert(&interval_sub->interval_tree,
					     &subs->itree);
		} else {
			interval_tree_remove(&interval_sub->interval_tree,
					     &subs->itree);
			itree_node_clear(&interval_sub->interval_tree);
		}
	}
}

static void mn_itree_inv_end(struct mmu_notifier_subscriptions *subs)
{
	spin_lock(&subs->lock);
	/* An end the interval layer never saw start: the caller is broken. */
	if (WARN_ON(!subs->active_invalidate_ranges)) {
		spin_unlock(&subs->lock);
		return;
	}
	if (--subs->active_invalidate_ranges ||
	    !mn_itree_is_invalidating(subs)) {
		spin_unlock(&subs->lock);
		return;
	}

	/*
	 * Last range of the epoch.  Closing it (seq even) and draining the
	 * deferred list happen in one critical section, so anyone who sees
	 * the new seq under the lock also sees the tree in its final shape.
	 */
	WRITE_ONCE(subs->invalidate_seq, subs->invalidate_seq + 1);
	mn_itree_apply_deferred(subs);
	spin_unlock(&subs->lock);

	wake_up_all(&subs->wq);
}

/*
 * Deliver @range to every intersecting interval subscriber.  A subscriber
 * may refuse only a non-blockable range; the non-blocking caller then gets
 * -EAGAIN and will not call end, so the range leaves the interval layer
 * here, and the hlist subscribers are never asked.
 */
static int mn_itree_invalidate(struct mmu_notifier_subscriptions *subs,
			       const struct mmu_notifier_range *range)
{
	struct mmu_interval_notifier *interval_sub;
	unsigned long cur_seq;

	for (interval_sub = mn_itree_inv_start_range(subs, range, &cur_seq);
	     interval_sub;
	     interval_sub = mn_itree_inv_next(interval_sub, range)) {
		if (interval_sub->ops->invalidate(interval_sub, range, cur_seq)) {
			checker_contract_interval(interval_sub, range);
			continue;
		}
		if (WARN_ON(mmu_notifier_range_blockable(range)))
			continue;
		mn_itree_inv_end(subs);
		return -EAGAIN;
	}
	return 0;
}

/*
 * Exit: one blockable RELEASE invalidation over the whole address space.
 * Interval subscribers stay in the tree; they also see exit's UNMAP
 * ranges and leave only through mmu_interval_notifier_remove().
 */
static void mn_itree_release(struct mmu_notifier_subscriptions *subs,
			     struct mm_struct *mm)
{
	struct mmu_notifier_range range;
	struct mmu_interval_notifier *interval_sub;
	unsigned long cur_seq;

	mmu_notifier_range_init(&range, MMU_NOTIFY_RELEASE,
				MMU_NOTIFIER_RANGE_BLOCKABLE, mm, 0, ULONG_MAX);
	for (interval_sub = mn_itree_inv_start_range(subs, &range, &cur_seq);
	     interval_sub;
	     interval_sub = mn_itree_inv_next(interval_sub, &range)) {
		WARN_ON(!interval_sub->ops->invalidate(interval_sub, &range,
						       cur_seq));
		checker_contract_interval(interval_sub, &range);
	}
	mn_itree_inv_end(subs);
}

/* ---------------------------------------------------------------------
 * Interval layer: the read side
 */

unsigned long
mmu_interval_read_begin(struct mmu_interval_notifier *interval_sub)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(interval_sub->mm);
	unsigned long seq;
	bool busy;

	/*
	 * The subscriber's stored value equals the global one exactly when
	 * an epoch that invalidated it (or that it was inserted into) is
	 * still open: its PTE changes may not be done yet, so reading the
	 * page tables now would be pointless.  Sleep until the epoch closes.
	 * Any invalidation that reaches the subscriber after this load
	 * stores a newer odd value, which read_retry() under the driver's
	 * lock will see; no barrier is needed here for that.
	 */
	spin_lock(&subs->lock);
	seq = READ_ONCE(interval_sub->invalidate_seq);
	busy = seq == subs->invalidate_seq;
	spin_unlock(&subs->lock);

	/*
	 * One wait, no loop: read_retry() may already be true on return.
	 * Stored values are always odd and idle is even, so even after the
	 * counter wraps this wait ends when the current epoch does.
	 */
	/*
	 * As 6.12: the wait ends only when every ->invalidate of the epoch
	 * has returned, so the caller must hold nothing those take.
	 */
	lock_map_acquire(&mn_invalidate_start_map);
	lock_map_release(&mn_invalidate_start_map);
	if (busy)
		wait_event(subs->wq, READ_ONCE(subs->invalidate_seq) != seq);
	return seq;
}

/* ---------------------------------------------------------------------
 * Exit
 */

/*
 * exit_mmap runs with mm_users == 0, so no registration can race with it
 * (registration needs a user), but other tasks can still invalidate
 * through the rmap, and mmu_notifier_unregister() can run concurrently.
 */
static void mn_hlist_release(struct mmu_notifier_subscriptions *subs,
			     struct mm_struct *mm)
{
	struct mmu_notifier *sub;
	struct hlist_node *first;
	int idx;

	/*
	 * ->release is the hlist subscriber's only warning before exit
	 * frees the pages: it gets no start/end for exit's unmap.  Running
	 * it inside the read section also makes a concurrent unregister
	 * wait for it.
	 */
	idx = srcu_read_lock(&mn_srcu);
	hlist_for_each_entry_srcu(sub, &subs->list, hlist) {
		if (sub->ops->release)
			sub->ops->release(sub, mm);
		checker_contract_all(sub, mm, "release");
	}

	/*
	 * Unlink everybody; a later unregister then only waits and drops
	 * its mm reference.  ->release may already have unlinked itself
	 * through mmu_notifier_put(); the walk above is safe against that
	 * because unlinking keeps ->next and frees only after a grace
	 * period.
	 */
	spin_lock(&subs->lock);
	while ((first = subs->list.first))
		hlist_del_init_rcu(first);
	spin_unlock(&subs->lock);
	srcu_read_unlock(&mn_srcu, idx);

	/*
	 * An unregister may be running ->release on another CPU, having
	 * found the subscriber still linked.  exit_mmap must not free pages
	 * under it: wait for every read section, that one included.
	 */
	synchronize_srcu(&mn_srcu);
}

/**
 * __mmu_notifier_release() - exit_mmap()'s notification, before any page
 * of @mm is freed.
 * @mm: the exiting address space (mm_users == 0).
 *
 * Interval subscribers get one RELEASE invalidation over the whole address
 * space and stay in the tree; hlist subscribers get ->release and are
 * unlinked, so they see none of exit's UNMAP.  Returns only when every
 * ->release, including one an unregister is running, has returned.
 */
void __mmu_notifier_release(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(mm);

	if (!subs)
		return;
	if (READ_ONCE(subs->has_itree))
		mn_itree_release(subs, mm);
	if (!hlist_empty(&subs->list))
		mn_hlist_release(subs, mm);
}

/* ---------------------------------------------------------------------
 * Aging, change_pte and secondary-TLB flushes: hlist only, unbracketed
 */

static int __mmu_notifier_clear_flush_young(struct mm_struct *mm,
					    unsigned long start,
					    unsigned long end)
{
	struct mmu_notifier *sub;
	int young = 0, idx;

	idx = srcu_read_lock(&mn_srcu);
	hlist_for_each_entry_srcu(sub, &mn_subs(mm)->list, hlist)
		if (sub->ops->clear_flush_young)
			young |= sub->ops->clear_flush_young(sub, mm, start,
							     end);
	srcu_read_unlock(&mn_srcu, idx);
	return young;
}

static int __mmu_notifier_clear_young(struct mm_struct *mm,
				      unsigned long start, unsigned long end)
{
	struct mmu_notifier *sub;
	int young = 0, idx;

	idx = srcu_read_lock(&mn_srcu);
	hlist_for_each_entry_srcu(sub, &mn_subs(mm)->list, hlist)
		if (sub->ops->clear_young)
			young |= sub->ops->clear_young(sub, mm, start, end);
	srcu_read_unlock(&mn_srcu, idx);
	return young;
}

static int __mmu_notifier_test_young(struct mm_struct *mm,
				     unsigned long address)
{
	struct mmu_notifier *sub;
	int young = 0, idx;

	idx = srcu_read_lock(&mn_srcu);
	hlist_for_each_entry_srcu(sub, &mn_subs(mm)->list, hlist) {
		if (!sub->ops->test_young)
			continue;
		young = sub->ops->test_young(sub, mm, address);
		if (young)
			break;
	}
	srcu_read_unlock(&mn_srcu, idx);
	return young;
}

/**
 * mmu_notifier_clear_flush_young() - ask every hlist subscriber to test
 * and clear the accessed state of [@start, @end) and flush its TLB.
 * @mm: the address space.
 * @start: first address.
 * @end: end address, exclusive.
 *
 * Every subscriber is asked, even after one answered young, so that all of
 * them clear.  Counted as MMU_NOTIFY_AGE.
 *
 * Return: nonzero if any subscriber saw an access.
 */
int mmu_notifier_clear_flush_young(struct mm_struct *mm, unsigned long start,
				   unsigned long end)
{
	mn_count(mm, MMU_NOTIFY_AGE);
	trace_mmu_notifier_clear_flush_young(mm, start, end);
	if (!mm_has_notifiers(mm))
		return 0;
	return __mmu_notifier_clear_flush_young(mm, start, end);
}

/**
 * mmu_notifier_clear_young() - as mmu_notifier_clear_flush_young(), the
 * secondary TLB flush being optional.
 * @mm: the address space.
 * @start: first address.
 * @end: end address, exclusive.
 *
 * Return: nonzero if any subscriber saw an access.
 */
int mmu_notifier_clear_young(struct mm_struct *mm, unsigned long start,
			     unsigned long end)
{
	mn_count(mm, MMU_NOTIFY_AGE);
	trace_mmu_notifier_clear_young(mm, start, end);
	if (!mm_has_notifiers(mm))
		return 0;
	return __mmu_notifier_clear_young(mm, start, end);
}

/**
 * mmu_notifier_test_young() - was @address accessed through a secondary
 * MMU?  Nothing is cleared, so the first subscriber that says yes ends
 * the walk.
 * @mm: the address space.
 * @address: the address.
 *
 * Return: the first nonzero answer, or 0.
 */
int mmu_notifier_test_young(struct mm_struct *mm, unsigned long address)
{
	mn_count(mm, MMU_NOTIFY_AGE);
	trace_mmu_notifier_test_young(mm, address);
	if (!mm_has_notifiers(mm))
		return 0;
	return __mmu_notifier_test_young(mm, address);
}

/**
 * mmu_notifier_change_pte() - tell every hlist subscriber that the present
 * PTE for @address now maps @pte (historical set_pte_at_notify() path).
 * @mm: the address space.
 * @address: the address.
 * @pte: the new primary PTE.
 */
void mmu_notifier_change_pte(struct mm_struct *mm, unsigned long address,
			     pte_t pte)
{
	struct mmu_notifier *sub;
	int idx;

	mn_count(mm, MMU_NOTIFY_CHANGE_PTE);
	trace_mmu_notifier_change_pte(mm, address, pte);
	if (!mm_has_notifiers(mm))
		return;
	idx = srcu_read_lock(&mn_srcu);
	hlist_for_each_entry_srcu(sub, &mn_subs(mm)->list, hlist)
		if (sub->ops->change_pte)
			sub->ops->change_pte(sub, mm, address, pte);
	srcu_read_unlock(&mn_srcu, idx);
}

/**
 * mmu_notifier_arch_invalidate_secondary_tlbs() - the primary TLB flush
 * for [@start, @end) reaches every TLB that caches the CPU page tables.
 * @mm: the address space.
 * @start: first address (0 with @end ~0UL: the whole mm).
 * @end: end address, exclusive.
 *
 * Called after the PTE change and before the page is freed; callbacks must
 * not sleep.
 */
void mmu_notifier_arch_invalidate_secondary_tlbs(struct mm_struct *mm,
						 unsigned long start,
						 unsigned long end)
{
	struct mmu_notifier *sub;
	int idx;

	trace_mmu_notifier_arch_invalidate_secondary_tlbs(mm, start, end);
	if (!mm_has_notifiers(mm))
		return;
	idx = srcu_read_lock(&mn_srcu);
	hlist_for_each_entry_srcu(sub, &mn_subs(mm)->list, hlist)
		if (sub->ops->arch_invalidate_secondary_tlbs)
			sub->ops->arch_invalidate_secondary_tlbs(sub, mm, start,
								 end);
	srcu_read_unlock(&mn_srcu, idx);
}

/* ---------------------------------------------------------------------
 * Invalidation: start and end
 */

/* Subscribers implementing end, for the non-blocking failure path. */
static void mn_hlist_end_all(struct mmu_notifier_subscriptions *subs,
			     struct mmu_notifier_range *range)
{
	struct mmu_notifier *sub;

	hlist_for_each_entry_srcu(sub, &subs->list, hlist)
		if (sub->ops->invalidate_range_end)
			sub->ops->invalidate_range_end(sub, range);
}

static int mn_hlist_invalidate_range_start(
	struct mmu_notifier_subscriptions *subs,
	struct mmu_notifier_range *range)
{
	bool blockable = mmu_notifier_range_blockable(range);
	struct mmu_notifier *sub;
	int ret = 0, idx;

	idx = srcu_read_lock(&mn_srcu);
	hlist_for_each_entry_srcu(sub, &subs->list, hlist) {
		const struct mmu_notifier_ops *ops = sub->ops;
		int err;

		if (!ops->invalidate_range_start)
			continue;
		/* As 6.12: a non-blockable callback must not sleep. */
		if (!blockable)
			non_block_start();
		err = ops->invalidate_range_start(sub, range);
		if (!blockable)
			non_block_end();
		if (!err) {
			checker_contract_start(sub, range);
			continue;
		}
		/*
		 * Only a non-blockable start may fail, and only with
		 * -EAGAIN.  A subscriber that fails cannot tell the core
		 * whether it did anything, so it must not have an end the
		 * core would then owe it.  Keep going: every subscriber's
		 * start is called even after a failure.
		 */
		WARN_ON(blockable || err != -EAGAIN);
		WARN_ON(ops->invalidate_range_end);
		ret = err;
	}

	/*
	 * The caller will not call end after a failure, yet every
	 * subscriber with an end succeeded (see above) and holds its window
	 * open: close them all now, from the core (outside a non-blocking
	 * section, as 6.12 does on this path).
	 */
	if (ret)
		mn_hlist_end_all(subs, range);
	srcu_read_unlock(&mn_srcu, idx);
	return ret;
}

static int __mmu_notifier_invalidate_range_start(
	struct mmu_notifier_subscriptions *subs,
	struct mmu_notifier_range *range)
{
	bool itree = READ_ONCE(subs->has_itree);
	int ret;

	/* Interval subscribers first: a refusal there spares the hlist. */
	if (itree) {
		ret = mn_itree_invalidate(subs, range);
		if (ret)
			return ret;
	}
	if (hlist_empty(&subs->list))
		return 0;
	ret = mn_hlist_invalidate_range_start(subs, range);
	/*
	 * As 6.12: the caller gets -EAGAIN and calls no end, so the range
	 * leaves the interval layer here, as after a refusal there, and the
	 * epoch it opened or joined can close.  Only a non-blockable start
	 * fails (mn_hlist_invalidate_range_start() WARNs otherwise).
	 */
	if (ret && itree && !mmu_notifier_range_blockable(range))
		mn_itree_inv_end(subs);
	return ret;
}

/*
 * A range the core cannot dispatch.  Both start and end reject it the
 * same way, so a rejected pair stays a pair.
 */
static bool mn_range_invalid(const struct mmu_notifier_range *range)
{
	return WARN_ON(!range->mm) || WARN_ON(range->start >= range->end) ||
	       WARN_ON((unsigned int)range->event >= MMU_NOTIFY_NR_EVENTS);
}

static int mn_invalidate_range_start(struct mmu_notifier_range *range)
{
	struct mm_struct *mm = range->mm;
	int ret = 0;

	if (mn_range_invalid(range))
		return 0;
	if (mm->host) {
		count_vm_event(mm->host, MMU_NOTIFY_START);
		stat_long_add(1, &mm->host->notify_events[range->event]);
	}
	if (mm_has_notifiers(mm))
		ret = __mmu_notifier_invalidate_range_start(mn_subs(mm), range);
	trace_mmu_notifier_invalidate_range_start(range, ret);
	/* Open for the checker's INV-7 once every start has returned. */
	if (!ret)
		checker_range_start(range);
	return ret;
}

void mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	/* As 6.12: subscribers may sleep in a blockable range. */
	might_sleep();
	range->flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
	lock_map_acquire(&mn_invalidate_start_map);
	/* Blockable subscribers do not fail; a failure already WARNed. */
	(void)mn_invalidate_range_start(range);
	lock_map_release(&mn_invalidate_start_map);
}

int mmu_notifier_invalidate_range_start_nonblock(
	struct mmu_notifier_range *range)
{
	int ret;

	range->flags &= ~MMU_NOTIFIER_RANGE_BLOCKABLE;
	lock_map_acquire(&mn_invalidate_start_map);
	ret = mn_invalidate_range_start(range);
	lock_map_release(&mn_invalidate_start_map);
	return ret;
}

static void mn_hlist_invalidate_end(struct mmu_notifier_subscriptions *subs,
				    struct mmu_notifier_range *range)
{
	struct mmu_notifier *sub;
	int idx;

	idx = srcu_read_lock(&mn_srcu);
	hlist_for_each_entry_srcu(sub, &subs->list, hlist) {
		if (!sub->ops->invalidate_range_end)
			continue;
		/* As 6.12: the OOM reaper's end must not sleep either. */
		if (!mmu_notifier_range_blockable(range))
			non_block_start();
		sub->ops->invalidate_range_end(sub, range);
		if (!mmu_notifier_range_blockable(range))
			non_block_end();
	}
	srcu_read_unlock(&mn_srcu, idx);
}

void mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *subs;

	/* As 6.12: only a blockable range's end may sleep. */
	if (mmu_notifier_range_blockable(range))
		might_sleep();
	if (mn_range_invalid(range))
		return;
	checker_range_end(range);
	mn_count(range->mm, MMU_NOTIFY_END);
	trace_mmu_notifier_invalidate_range_end(range);
	subs = mn_subs(range->mm);
	if (!subs)
		return;
	lock_map_acquire(&mn_invalidate_start_map);
	/*
	 * The PTE changes of the range are complete, so the interval epoch
	 * may close (and readers resume) before the hlist subscribers hear
	 * of it: nothing the hlist does in end can make a page-table read by
	 * an interval reader stale.
	 */
	if (READ_ONCE(subs->has_itree))
		mn_itree_inv_end(subs);
	if (!hlist_empty(&subs->list))
		mn_hlist_invalidate_end(subs, range);
	lock_map_release(&mn_invalidate_start_map);
}

/* ---------------------------------------------------------------------
 * Registration
 */

static struct mmu_notifier_subscriptions *mn_subscriptions_alloc(void)
{
	struct mmu_notifier_subscriptions *subs = calloc(1, sizeof(*subs));

	if (!subs)
		return NULL;
	INIT_HLIST_HEAD(&subs->list);
	spin_lock_init(&subs->lock);
	/* Even (idle); subscribers start at seq - 1, which is odd. */
	subs->invalidate_seq = 2;
	init_waitqueue_head(&subs->wq);
	INIT_HLIST_HEAD(&subs->deferred_list);
	return subs;
}

/*
 * API misuse the kernel would turn into memory corruption; here it is a
 * WARN and -EINVAL.  The subscription must be zero-initialised apart from
 * ->ops, as kernel users get it from kzalloc().
 */
static int mn_check_subscription(const struct mmu_notifier *sub)
{
	const struct mmu_notifier_ops *ops = sub->ops;

	if (WARN_ON(!ops))
		return -EINVAL;
	/*
	 * A TLB that caches the CPU page tables is flushed by the CPU flush
	 * itself; start/end would be a second, differently timed protocol
	 * for the same mappings.
	 */
	if (WARN_ON_ONCE(ops->arch_invalidate_secondary_tlbs &&
			 (ops->invalidate_range_start ||
			  ops->invalidate_range_end)))
		return -EINVAL;
	/* Linked, or released by exit and not yet unregistered. */
	if (WARN_ON(!hlist_unhashed(&sub->hlist) || sub->mm))
		return -EINVAL;
	return 0;
}

int __mmu_notifier_register(struct mmu_notifier *subscription,
			    struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *new_subs = NULL, *subs;
	int ret;

	/* Without a user, exit_mmap may be running release right now. */
	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	/* As 6.12; the checked API also refuses. */
	mmap_assert_write_locked(mm);
	if (!rwsem_is_write_owner(&mm->mmap_lock))
		return -EINVAL;
	if (subscription) {
		ret = mn_check_subscription(subscription);
		if (ret)
			return ret;
	}

	/*
	 * Allocate before mm_take_all_locks(), which must not be held
	 * across an allocation that could enter reclaim.  Our mmap write
	 * lock keeps any other registration from installing one meanwhile.
	 */
	if (!mm->notifier_subscriptions) {
		new_subs = mn_subscriptions_alloc();
		if (!new_subs)
			return -ENOMEM;
	}

	/*
	 * Every path that opens an invalidation window holds the mmap_lock,
	 * a per-VMA lock or an rmap lock until the matching end.  Holding
	 * all of them means no window is open anywhere in the mm while the
	 * subscriber is linked: it cannot see an end whose start it missed,
	 * nor miss a start whose end it will see.  The same holds for
	 * has_itree, which the interval layer's start and end must agree on.
	 */
	ret = mm_take_all_locks(mm);
	if (unlikely(ret)) {
		free(new_subs);
		return ret;
	}

	/* Publish a fully initialised structure to lockless readers. */
	if (new_subs)
		smp_store_release(&mm->notifier_subscriptions, new_subs);
	subs = mm->notifier_subscriptions;

	if (subscription) {
		/* Dropped by unregister, or by the put path's SRCU callback. */
		mmgrab(mm);
		subscription->mm = mm;
		subscription->users = 1;
		spin_lock(&subs->lock);
		hlist_add_head_rcu(&subscription->hlist, &subs->list);
		spin_unlock(&subs->lock);
	} else {
		WRITE_ONCE(subs->has_itree, true);
	}

	mm_drop_all_locks(mm);
	return 0;
}

/*
 * MUTANT_REGISTER_NO_EXCLUSION: link the subscriber with no mmap_lock and
 * no mm_take_all_locks(), so it may join in the middle of an open
 * invalidation window.  Broken on purpose, for the checker's tests.
 */
static int
mmu_notifier_register_mutant_no_exclusion(struct mmu_notifier *subscription,
					  struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs;
	int ret = mn_check_subscription(subscription);

	if (ret)
		return ret;
	if (!READ_ONCE(mm->notifier_subscriptions)) {
		subs = mn_subscriptions_alloc();
		if (!subs)
			return -ENOMEM;
		smp_store_release(&mm->notifier_subscriptions, subs);
	}
	subs = mm->notifier_subscriptions;
	mmgrab(mm);
	subscription->mm = mm;
	subscription->users = 1;
	spin_lock(&subs->lock);
	hlist_add_head_rcu(&subscription->hlist, &subs->list);
	spin_unlock(&subs->lock);
	return 0;
}

int mmu_notifier_register(struct mmu_notifier *subscription,
			  struct mm_struct *mm)
{
	int ret;

	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	if (mutant_is(MUTANT_REGISTER_NO_EXCLUSION) && subscription)
		return mmu_notifier_register_mutant_no_exclusion(subscription,
								 mm);

	mmap_write_lock(mm);
	ret = __mmu_notifier_register(subscription, mm);
	mmap_write_unlock(mm);
	return ret;
}

static struct mmu_notifier *
mn_find_get(struct mmu_notifier_subscriptions *subs,
	    const struct mmu_notifier_ops *ops)
{
	struct mmu_notifier *sub, *found = NULL;

	spin_lock(&subs->lock);
	hlist_for_each_entry(sub, &subs->list, hlist) {
		if (sub->ops != ops)
			continue;
		if (likely(sub->users != UINT_MAX)) {
			sub->users++;
			found = sub;
		} else {
			found = ERR_PTR(-EOVERFLOW);
		}
		break;
	}
	spin_unlock(&subs->lock);
	return found;
}

struct mmu_notifier *
mmu_notifier_get_locked(const struct mmu_notifier_ops *ops,
			struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs;
	struct mmu_notifier *sub;
	int ret;

	/* As 6.12; the checked API also refuses. */
	mmap_assert_write_locked(mm);
	if (!rwsem_is_write_owner(&mm->mmap_lock))
		return ERR_PTR(-EINVAL);
	if (WARN_ON(!ops || !ops->alloc_notifier || !ops->free_notifier))
		return ERR_PTR(-EINVAL);

	/*
	 * The ops pointer names the subscription.  One that the last put
	 * already unlinked is not found even if its free is still pending.
	 */
	subs = mm->notifier_subscriptions;
	if (subs) {
		sub = mn_find_get(subs, ops);
		if (sub)
			return sub;
	}

	sub = ops->alloc_notifier(mm);
	if (IS_ERR_OR_NULL(sub))
		return sub ? sub : ERR_PTR(-ENOMEM);
	sub->ops = ops;
	INIT_HLIST_NODE(&sub->hlist);
	sub->mm = NULL;
	ret = __mmu_notifier_register(sub, mm);
	if (ret) {
		/* Never published: no grace period needed. */
		ops->free_notifier(sub);
		return ERR_PTR(ret);
	}
	return sub;
}

struct mmu_notifier *mmu_notifier_get(const struct mmu_notifier_ops *ops,
				      struct mm_struct *mm)
{
	struct mmu_notifier *sub;

	if (!mm_api_ok(mm, MM_USERS))
		return ERR_PTR(-EINVAL);
	mmap_write_lock(mm);
	sub = mmu_notifier_get_locked(ops, mm);
	mmap_write_unlock(mm);
	return sub;
}

/**
 * __mmu_notifier_subscriptions_destroy() - free @mm's notifier state.
 * @mm: the address space, from its last mmdrop().
 *
 * Every subscriber holds an mm_count reference, so none is left by now.
 */
void __mmu_notifier_subscriptions_destroy(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;

	if (!subs)
		return;
	mm->notifier_subscriptions = NULL;
	/*
	 * Each subscriber holds an mm_count reference, so reaching here with
	 * one still linked means a reference was dropped twice.  The kernel
	 * BUGs; leak the structure rather than free what a subscriber may
	 * still walk.
	 */
	if (WARN_ON(!hlist_empty(&subs->list)) ||
	    WARN_ON(!interval_tree_empty(&subs->itree)) ||
	    WARN_ON(!hlist_empty(&subs->deferred_list)))
		return;
	free(subs);
}

void mmu_notifier_unregister(struct mmu_notifier *subscription,
			     struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subs;
	bool linked;

	if (!mm_api_ok(mm, MM_STRUCT) ||
	    API_WARN_ON(!subscription, "NULL subscription"))
		return;
	/* Also catches a second unregister: the first cleared ->mm. */
	if (API_WARN_ON(subscription->mm != mm,
			"subscription %p is not registered with mm %p",
			(void *)subscription, (void *)mm))
		return;
	if (WARN_ON(atomic_read(&mm->mm_count) <= 0))
		return;
	subs = mn_subs(mm);

	spin_lock(&subs->lock);
	linked = !hlist_unhashed(&subscription->hlist);
	spin_unlock(&subs->lock);

	if (linked) {
		int idx;

		/*
		 * The mm may be alive: ->release is how the subscriber is
		 * told to drop its mappings.  Running it in a read section
		 * makes a concurrent exit_mmap wait for it before freeing
		 * pages.  Exit may also have unlinked us meanwhile and run
		 * ->release itself; hence the idempotence rule.
		 */
		idx = srcu_read_lock(&mn_srcu);
		if (subscription->ops->release)
			subscription->ops->release(subscription, mm);
		checker_contract_all(subscription, mm, "release");
		srcu_read_unlock(&mn_srcu, idx);

		spin_lock(&subs->lock);
		hlist_del_init_rcu(&subscription->hlist);
		spin_unlock(&subs->lock);
	}

	/*
	 * Wait out every read section that may still be running one of our
	 * callbacks, including a ->release started by exit_mmap.  After
	 * this nothing can reach the subscription through the list.
	 */
	synchronize_srcu(&mn_srcu);
	checker_contract_all(subscription, mm, "unregister");

	subscription->mm = NULL;
	/* Pairs with the mmgrab() of registration. */
	mmdrop(mm);
}

static void mn_free_rcu(struct callback_head *head)
{
	struct mmu_notifier *sub = container_of(head, struct mmu_notifier, rcu);
	struct mm_struct *mm = sub->mm;

	sub->ops->free_notifier(sub);
	/* Pairs with the mmgrab() of registration. */
	mmdrop(mm);
}

void mmu_notifier_put(struct mmu_notifier *subscription)
{
	struct mmu_notifier_subscriptions *subs;
	struct mm_struct *mm;

	if (API_WARN_ON(!subscription, "NULL subscription"))
		return;
	mm = subscription->mm;
	if (API_WARN_ON(!mm || !subscription->ops->free_notifier,
			"subscription %p is not from mmu_notifier_get()",
			(void *)subscription))
		return;
	subs = mn_subs(mm);

	spin_lock(&subs->lock);
	if (API_WARN_ON(!subscription->users,
			"subscription %p: put without a get",
			(void *)subscription) ||
	    --subscription->users) {
		spin_unlock(&subs->lock);
		return;
	}
	/*
	 * Last reference: unlink, but SRCU readers may be standing on the
	 * subscription, so it is freed only after a grace period.  No
	 * ->release: its user has already dropped every mapping, and this
	 * may itself be running inside ->release.
	 */
	hlist_del_init_rcu(&subscription->hlist);
	spin_unlock(&subs->lock);

	call_srcu(&mn_srcu, &subscription->rcu, mn_free_rcu);
}

/*
 * Linux 6.12 only waits for a grace period here, although its comment
 * promises that the frees queued by mmu_notifier_put() have completed; a
 * grace period does not by itself wait for callbacks.  Our header makes
 * the promise part of the contract, so keep the grace period and add the
 * barrier that actually keeps it: after this returns no free_notifier()
 * (and no mmdrop() behind it) is still running.
 */
void mmu_notifier_synchronize(void)
{
	synchronize_srcu(&mn_srcu);
	srcu_barrier(&mn_srcu);
}

/* ---------------------------------------------------------------------
 * Interval subscriptions
 */

static int __mmu_interval_notifier_insert(
	struct mmu_interval_notifier *interval_sub, struct mm_struct *mm,
	struct mmu_notifier_subscriptions *subs, unsigned long start,
	unsigned long length, const struct mmu_interval_notifier_ops *ops)
{
	unsigned long last;

	/* The tree stores [start, last]; an empty or wrapping one has none. */
	if (length == 0 || __builtin_add_overflow(start, length - 1, &last))
		return -EOVERFLOW;

	interval_sub->mm = mm;
	interval_sub->ops = ops;
	interval_sub->interval_tree.start = start;
	interval_sub->interval_tree.last = last;
	itree_node_clear(&interval_sub->interval_tree);
	INIT_HLIST_NODE(&interval_sub->deferred_item);
	/* Dropped by mmu_interval_notifier_remove(). */
	mmgrab(mm);

	spin_lock(&subs->lock);
	if (subs->active_invalidate_ranges) {
		/*
		 * Ranges are in flight and we do not know what they cover:
		 * assume they cover the new interval.  Inside an epoch the
		 * tree is frozen, so queue the insert for the epoch's end;
		 * otherwise open an epoch now.  Either way the subscriber
		 * takes the epoch's odd value, so its first read_begin()
		 * waits until every range in flight has ended.
		 */
		if (mn_itree_is_invalidating(subs)) {
			hlist_add_head_rcu(&interval_sub->deferred_item,
					   &subs->deferred_list);
		} else {
			WRITE_ONCE(subs->invalidate_seq,
				   subs->invalidate_seq | 1);
			interval_tree_insert(&interval_sub->interval_tree,
					     &subs->itree);
		}
		WRITE_ONCE(interval_sub->invalidate_seq, subs->invalidate_seq);
	} else {
		WARN_ON(mn_itree_is_invalidating(subs));
		/*
		 * Idle: an odd value that is not the global one, so
		 * read_begin() does not wait, and that the global counter
		 * reaches again only after wrapping around.
		 */
		WRITE_ONCE(interval_sub->invalidate_seq,
			   subs->invalidate_seq - 1);
		interval_tree_insert(&interval_sub->interval_tree,
				     &subs->itree);
	}
	spin_unlock(&subs->lock);
	return 0;
}

/*
 * A macro, so that a WARN names the entry point and its caller.  ->mm is
 * set from insert to remove: the notifier must start zeroed (kzalloc).
 */
#define mn_interval_args_ok(interval_sub, mm, ops)                             \
	(!API_WARN_ON(!(interval_sub) || !(ops) || !(ops)->invalidate,         \
		      "NULL interval notifier or ops") &&                      \
	 mm_api_ok(mm, MM_USERS) &&                                            \
	 !API_WARN_ON((interval_sub)->mm,                                      \
		      "interval notifier %p is already inserted (in mm %p)",   \
		      (void *)(interval_sub), (void *)(interval_sub)->mm))

int mmu_interval_notifier_insert(struct mmu_interval_notifier *interval_sub,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long length,
				 const struct mmu_interval_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subs;
	int ret;

	if (!mn_interval_args_ok(interval_sub, mm, ops))
		return -EINVAL;
	subs = mn_subs(mm);
	if (!subs || !READ_ONCE(subs->has_itree)) {
		ret = mmu_notifier_register(NULL, mm);
		if (ret)
			return ret;
		subs = mn_subs(mm);
	}
	return __mmu_interval_notifier_insert(interval_sub, mm, subs, start,
					      length, ops);
}

int mmu_interval_notifier_insert_locked(
	struct mmu_interval_notifier *interval_sub, struct mm_struct *mm,
	unsigned long start, unsigned long length,
	const struct mmu_interval_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subs;
	int ret;

	if (!mn_interval_args_ok(interval_sub, mm, ops))
		return -EINVAL;
	/* As 6.12; the checked API also refuses. */
	mmap_assert_write_locked(mm);
	if (!rwsem_is_write_owner(&mm->mmap_lock))
		return -EINVAL;
	subs = mm->notifier_subscriptions;
	if (!subs || !READ_ONCE(subs->has_itree)) {
		ret = __mmu_notifier_register(NULL, mm);
		if (ret)
			return ret;
		subs = mm->notifier_subscriptions;
	}
	return __mmu_interval_notifier_insert(interval_sub, mm, subs, start,
					      length, ops);
}

/*
 * Under the lock: the epoch that closes with this seq change also drains
 * the deferred list, and the remover must not free the subscriber before
 * the drain is done with it.
 */
static bool mn_itree_seq_released(struct mmu_notifier_subscriptions *subs,
				  unsigned long seq)
{
	bool released;

	spin_lock(&subs->lock);
	released = subs->invalidate_seq != seq;
	spin_unlock(&subs->lock);
	return released;
}

enum mn_unlink {
	MN_UNLINKED,		/* out of the tree (or its insert cancelled) */
	MN_UNLINK_DEFERRED,	/* queued for the end of the current epoch */
	MN_UNLINK_BOGUS,	/* not inserted, or a removal already pending */
};

/* Take @interval_sub out of the tree, or queue that; lock held. */
static enum mn_unlink
mn_itree_unlink(struct mmu_notifier_subscriptions *subs,
		struct mmu_interval_notifier *interval_sub)
{
	struct interval_tree_node *node = &interval_sub->interval_tree;
	bool in_tree = !itree_node_empty(node);
	bool deferred = !hlist_unhashed(&interval_sub->deferred_item);

	if (WARN_ON(in_tree == deferred))
		return MN_UNLINK_BOGUS;

	if (mn_itree_is_invalidating(subs)) {
		/*
		 * Still waiting to be inserted: cancel that, nothing of it
		 * ever ran.  Otherwise the tree is frozen; the epoch's end
		 * removes it, and callbacks of this epoch may still be
		 * running, so the caller must wait for that end.
		 */
		if (deferred) {
			hlist_del_init_rcu(&interval_sub->deferred_item);
			return MN_UNLINKED;
		}
		hlist_add_head_rcu(&interval_sub->deferred_item,
				   &subs->deferred_list);
		return MN_UNLINK_DEFERRED;
	}

	/* No epoch, so nothing may be deferred. */
	if (WARN_ON(deferred))
		return MN_UNLINK_BOGUS;
	interval_tree_remove(node, &subs->itree);
	itree_node_clear(node);
	return MN_UNLINKED;
}

void mmu_interval_notifier_remove(struct mmu_interval_notifier *interval_sub)
{
	struct mmu_notifier_subscriptions *subs;
	unsigned long seq = 0;
	enum mn_unlink how;
	struct mm_struct *mm;

	/* As 6.12: removal may wait for an epoch to end. */
	might_sleep();
	if (API_WARN_ON(!interval_sub, "NULL interval notifier"))
		return;
	mm = interval_sub->mm;
	/* Also a second removal: the first cleared ->mm. */
	if (API_WARN_ON(!mm, "interval notifier %p is not inserted",
			(void *)interval_sub))
		return;
	subs = mn_subs(mm);

	spin_lock(&subs->lock);
	how = mn_itree_unlink(subs, interval_sub);
	if (how == MN_UNLINK_DEFERRED)
		seq = subs->invalidate_seq;
	spin_unlock(&subs->lock);
	if (how == MN_UNLINK_BOGUS)
		return;

	/*
	 * Sleeping for the epoch: the caller must not hold anything an
	 * ->invalidate callback takes, and must not be one.  seq is odd
	 * here, never 0.  As 6.12, lockdep sees the wait as a hold of the
	 * pseudo lock the callbacks run under.
	 */
	lock_map_acquire(&mn_invalidate_start_map);
	lock_map_release(&mn_invalidate_start_map);
	if (seq)
		wait_event(subs->wq, mn_itree_seq_released(subs, seq));
	checker_contract_interval(interval_sub, NULL);

	interval_sub->mm = NULL;
	/* Pairs with the mmgrab() of insert. */
	mmdrop(mm);
}

int mmu_notifier_leftovers(struct mm_struct *mm, bool detach)
{
	struct mmu_notifier_subscriptions *subs = mm->notifier_subscriptions;
	struct interval_tree_node *node;
	int n;

	if (!subs)
		return 0;
	spin_lock(&subs->lock);
	n = (int)subs->itree.count;
	while (detach &&
	       (node = interval_tree_iter_first(&subs->itree, 0, ULONG_MAX))) {
		struct mmu_interval_notifier *isub = container_of(
			node, struct mmu_interval_notifier, interval_tree);

		__api_warn("host_destroy", NULL,
			   "mm %p: interval notifier %p [%#lx, %#lx] (ops %p) left inserted",
			   (void *)mm, (void *)isub, node->start, node->last,
			   (const void *)isub->ops);
		interval_tree_remove(node, &subs->itree);
		itree_node_clear(node);
		isub->mm = NULL;
	}
	spin_unlock(&subs->lock);
	return n;
}

/* ---------------------------------------------------------------------
 * Introspection for tests and checkers
 */

int mmu_notifier_snapshot(struct mm_struct *mm,
			  struct mmu_notifier_snapshot *snap)
{
	struct mmu_notifier_subscriptions *subs = mn_subs(mm);
	struct mmu_notifier *sub;
	struct hlist_node *item;

	if (!subs)
		return -ENOENT;
	spin_lock(&subs->lock);
	snap->has_itree = READ_ONCE(subs->has_itree);
	snap->invalidate_seq = subs->invalidate_seq;
	snap->active_invalidate_ranges = subs->active_invalidate_ranges;
	snap->nr_intervals = subs->itree.count;
	snap->nr_deferred = 0;
	for (item = subs->deferred_list.first; item; item = item->next)
		snap->nr_deferred++;
	snap->nr_subscriptions = 0;
	hlist_for_each_entry(sub, &subs->list, hlist)
		snap->nr_subscriptions++;
	spin_unlock(&subs->lock);
	return 0;
}
