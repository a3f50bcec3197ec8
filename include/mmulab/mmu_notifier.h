/* SPDX-License-Identifier: MIT */
/*
 * MMU notifiers: how a secondary MMU (KVM's SPTEs, a device TLB, a remote
 * importer) learns, before it is too late, that the primary MMU is about
 * to change or free what the secondary maps.
 *
 * Two kinds of subscription, with the kernel's names and semantics:
 *
 *  - struct mmu_notifier (the "hlist" subscriber): sees every invalidation
 *    of the mm, the aging queries, change_pte, release at exit, and the
 *    secondary-TLB flushes of CPU page-table sharers.
 *  - struct mmu_interval_notifier: sees only invalidations that intersect
 *    its interval, and comes with a sequence-count collision protocol
 *    (mmu_interval_read_begin()/mmu_interval_read_retry()) for drivers that
 *    mirror page tables without pinning.
 *
 * The contract a subscriber relies on:
 *  - invalidate_range_start(R) is delivered before any primary PTE in R
 *    changes; when it returns, the subscriber must hold no mapping of R
 *    (TLBs included), because pages of R may be freed at any time after it
 *    returns, even before invalidate_range_end(R);
 *  - no mapping of R may be created between start(R) and end(R): a page the
 *    subscriber looks up inside that window may be freed without another
 *    notification;
 *  - every successful start is matched by exactly one end with the same
 *    range, and a subscriber never sees an end whose start it missed
 *    (registration excludes open invalidations);
 *  - release() runs before exit frees any page of the mm.
 */
#ifndef MMULAB_MMU_NOTIFIER_H
#define MMULAB_MMU_NOTIFIER_H

#include <mmulab/interval_tree.h>
#include <mmulab/list.h>
#include <mmulab/mm.h>

struct mmu_notifier;
struct mmu_interval_notifier;
struct checker_secondary;

/**
 * enum mmu_notifier_event - why a range is being invalidated.
 * @MMU_NOTIFY_UNMAP: the range is unmapped (munmap, mremap's source, exit,
 *	the OOM reaper).
 * @MMU_NOTIFY_CLEAR: PTEs are cleared for another reason (MADV_DONTNEED,
 *	MADV_FREE, COW, reclaim, migration, KSM).
 * @MMU_NOTIFY_PROTECTION_VMA: protections change as the VMA's (mprotect).
 * @MMU_NOTIFY_PROTECTION_PAGE: per-page write protection (fork's parent,
 *	mkclean); look at the primary PTEs.
 * @MMU_NOTIFY_SOFT_DIRTY: soft-dirty tracking reset.
 * @MMU_NOTIFY_RELEASE: the mm is exiting (interval subscribers only).
 * @MMU_NOTIFY_MIGRATE: device migration; @owner names the initiator.
 * @MMU_NOTIFY_EXCLUSIVE: device-exclusive access; @owner names the device.
 */
enum mmu_notifier_event {
	MMU_NOTIFY_UNMAP = 0,
	MMU_NOTIFY_CLEAR,
	MMU_NOTIFY_PROTECTION_VMA,
	MMU_NOTIFY_PROTECTION_PAGE,
	MMU_NOTIFY_SOFT_DIRTY,
	MMU_NOTIFY_RELEASE,
	MMU_NOTIFY_MIGRATE,
	MMU_NOTIFY_EXCLUSIVE,
	MMU_NOTIFY_NR_EVENTS,
};

/** mmu_notifier_event_name() - "UNMAP", "CLEAR", ...; NULL if unknown. */
const char *mmu_notifier_event_name(enum mmu_notifier_event event);

#define MMU_NOTIFIER_RANGE_BLOCKABLE (1 << 0)

/**
 * struct mmu_notifier_range - one invalidation.
 * @mm: the address space.
 * @start: first address (page aligned).
 * @end: end address, exclusive.
 * @flags: MMU_NOTIFIER_RANGE_BLOCKABLE when callbacks may sleep.
 * @event: why; see enum mmu_notifier_event.
 * @owner: initiator, for MIGRATE and EXCLUSIVE events only.
 */
struct mmu_notifier_range {
	struct mm_struct *mm;
	unsigned long start;
	unsigned long end;
	unsigned int flags;
	enum mmu_notifier_event event;
	void *owner;
};

/** mmu_notifier_range_blockable() - may callbacks for @range sleep? */
static inline bool
mmu_notifier_range_blockable(const struct mmu_notifier_range *range)
{
	return range->flags & MMU_NOTIFIER_RANGE_BLOCKABLE;
}

/**
 * struct mmu_notifier_ops - callbacks of an hlist subscriber; any may be
 * NULL.  Callbacks run in whatever task changes the mm (the owner, the
 * reclaimer, ksmd, ...), inside an SRCU read section: they may sleep
 * unless stated, but must never take the mm's mmap_lock nor call
 * mmu_notifier_unregister()/mmu_notifier_synchronize().
 *
 * @release: the mm is exiting, or the subscription is being unregistered:
 *	drop every secondary mapping and create no more.  May run twice,
 *	concurrently (exit racing unregister), so it must be idempotent.
 * @clear_flush_young: test and clear the accessed state of secondary
 *	mappings in [@start, @end), flush the secondary TLB; nonzero if any
 *	was young.  Must not sleep.
 * @clear_young: as @clear_flush_young, the flush may be skipped.
 * @test_young: nonzero if @address was accessed; changes nothing.
 * @change_pte: the primary PTE for @address now maps @pte (historical
 *	KSM/COW fast path; see enum change_pte_mode).  Must not sleep.
 * @invalidate_range_start: drop every secondary mapping in the range and
 *	create none until the matching end.  Return 0, or -EAGAIN only when
 *	the range is not blockable and the subscriber would have to sleep.
 * @invalidate_range_end: the primary change is done; mappings of the
 *	range may be created again.
 * @arch_invalidate_secondary_tlbs: flush a non-CPU TLB that caches the
 *	CPU's own page tables (IOMMU SVA).  Called from the primary TLB
 *	flush, after the PTE change and before the page is freed; must not
 *	sleep.  Excludes @invalidate_range_start/@invalidate_range_end.
 * @alloc_notifier: allocate the subscription for mmu_notifier_get().
 * @free_notifier: free it after the last mmu_notifier_put() and an SRCU
 *	grace period.  Must not sleep.
 */
struct mmu_notifier_ops {
	void (*release)(struct mmu_notifier *subscription,
			struct mm_struct *mm);
	int (*clear_flush_young)(struct mmu_notifier *subscription,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long end);
	int (*clear_young)(struct mmu_notifier *subscription,
			   struct mm_struct *mm, unsigned long start,
			   unsigned long end);
	int (*test_young)(struct mmu_notifier *subscription,
			  struct mm_struct *mm, unsigned long address);
	void (*change_pte)(struct mmu_notifier *subscription,
			   struct mm_struct *mm, unsigned long address,
			   pte_t pte);
	int (*invalidate_range_start)(struct mmu_notifier *subscription,
				      const struct mmu_notifier_range *range);
	void (*invalidate_range_end)(struct mmu_notifier *subscription,
				     const struct mmu_notifier_range *range);
	void (*arch_invalidate_secondary_tlbs)(struct mmu_notifier *subscription,
					       struct mm_struct *mm,
					       unsigned long start,
					       unsigned long end);
	struct mmu_notifier *(*alloc_notifier)(struct mm_struct *mm);
	void (*free_notifier)(struct mmu_notifier *subscription);
};

/**
 * struct mmu_notifier - an hlist subscription; embed it in your object and
 * set @ops before registering.  The other fields belong to the core.
 * @hlist: link in the mm's subscriber list (newest first).
 * @ops: the callbacks.
 * @mm: the mm it is registered with (set by registration).
 * @rcu: deferred free after mmu_notifier_put().
 * @users: mmu_notifier_get() references.
 * @checker: the secondary the core asks after each start, release and
 *	unregister (checker_watch_notifier(); not in Linux).
 */
struct mmu_notifier {
	struct hlist_node hlist;
	const struct mmu_notifier_ops *ops;
	struct mm_struct *mm;
	struct callback_head rcu;
	unsigned int users;
	struct checker_secondary *checker;
};

/**
 * struct mmu_interval_notifier_ops - callback of an interval subscriber.
 * @invalidate: the range intersects the subscription.  Under the driver's
 *	own lock, call mmu_interval_set_seq(@cur_seq) and tear down device
 *	mappings of the intersection.  Return false only when the range is
 *	not blockable and the lock could not be taken without sleeping.
 */
struct mmu_interval_notifier_ops {
	bool (*invalidate)(struct mmu_interval_notifier *interval_sub,
			   const struct mmu_notifier_range *range,
			   unsigned long cur_seq);
};

/**
 * struct mmu_interval_notifier - an interval subscription.  All fields
 * belong to the core; set them with mmu_interval_notifier_insert().
 * @interval_tree: [start, last] of the subscription.
 * @ops: the callback.
 * @mm: the mm.
 * @deferred_item: link in the deferred insert/remove list.
 * @invalidate_seq: sequence of the last invalidation (always odd).
 * @checker: the secondary the core asks after each invalidate and after
 *	removal (checker_watch_interval(); not in Linux).
 */
struct mmu_interval_notifier {
	struct interval_tree_node interval_tree;
	const struct mmu_interval_notifier_ops *ops;
	struct mm_struct *mm;
	struct hlist_node deferred_item;
	unsigned long invalidate_seq;
	struct checker_secondary *checker;
};

/* ---------------------------------------------------------------------
 * Subscriber side
 */

/**
 * mm_has_notifiers() - true once anything ever registered with @mm (it
 * stays true after every subscriber has left, as in the kernel).
 */
bool mm_has_notifiers(struct mm_struct *mm);

/**
 * mmu_notifier_register() - subscribe @subscription to @mm.
 *
 * Takes the mmap_lock for writing and every rmap lock of the mm
 * (mm_take_all_locks()), so no invalidation is in flight while the
 * subscription is linked: it will never see an end without its start.
 * The caller must hold a user reference on @mm and no mmap_lock.
 *
 * Return: 0; -EINVAL for a bad ops table, an mm without users, or a
 * subscription already registered; -ENOMEM; -EINTR if a signal is pending.
 *
 * Misuse: a NULL or freed mm (freed: checked mode), an mm without users
 *	(used after its last mmput()), a NULL ops table, ops with both
 *	arch_invalidate_secondary_tlbs and start/end, a subscription already
 *	registered: WARN, -EINVAL. Registering while holding the mmap_lock is
 *	the lock layer's to report.
 */
int mmu_notifier_register(struct mmu_notifier *subscription,
			  struct mm_struct *mm);

/**
 * __mmu_notifier_register() - as mmu_notifier_register(), with the
 * mmap_lock already held for writing.  A NULL @subscription only sets up
 * the mm for interval notifiers.
 *
 * Misuse: as mmu_notifier_register(), and the mmap_lock not held for
 *	writing: WARN, -EINVAL.
 */
int __mmu_notifier_register(struct mmu_notifier *subscription,
			    struct mm_struct *mm);

/**
 * mmu_notifier_unregister() - unsubscribe.  Calls ->release if exit has
 * not already done so, waits for every callback of @subscription to
 * finish, and drops the reference registration took on @mm.  After it
 * returns no callback of @subscription runs or will run.  Never call it
 * from a callback.  A subscription that is not registered with @mm gets a
 * WARN and nothing else.
 *
 * Misuse: a NULL @subscription, a NULL or freed mm (freed: checked mode),
 *	a subscription not registered with @mm (a second unregister, one never
 *	registered): WARN, nothing done. From a callback: the lock layer's to
 *	report.
 */
void mmu_notifier_unregister(struct mmu_notifier *subscription,
			     struct mm_struct *mm);

/**
 * mmu_notifier_get() - the single subscription of @ops on @mm, created with
 * ops->alloc_notifier and registered on first use, with its users count
 * raised.  The caller must not hold the mmap_lock.
 * Return: the subscription or an ERR_PTR().
 *
 * Misuse: a NULL or freed mm (freed: checked mode), an mm without users
 *	(used after its last mmput()), ops without alloc_notifier/free_notifier:
 *	WARN, ERR_PTR(-EINVAL).
 */
struct mmu_notifier *mmu_notifier_get(const struct mmu_notifier_ops *ops,
				      struct mm_struct *mm);
/**
 * mmu_notifier_get_locked() - as mmu_notifier_get(), mmap_lock held.
 * Misuse: as mmu_notifier_get(), and the mmap_lock not held for writing.
 */
struct mmu_notifier *
mmu_notifier_get_locked(const struct mmu_notifier_ops *ops,
			struct mm_struct *mm);

/**
 * mmu_notifier_put() - drop a mmu_notifier_get() reference.  The last one
 * unlinks the subscription and frees it with ops->free_notifier after a
 * grace period; ->release is not called.  Allowed from ->release.
 *
 * Misuse: a NULL @subscription, one not from mmu_notifier_get() (never
 *	registered, or registered with mmu_notifier_register()), a put without a
 *	get (no reference left): WARN, nothing done. A put after the
 *	subscription was freed is a use-after-free of the caller's memory:
 *	ASan's to report.
 */
void mmu_notifier_put(struct mmu_notifier *subscription);

/**
 * mmu_notifier_synchronize() - wait until every subscription released by
 * mmu_notifier_put() has been freed.
 */
void mmu_notifier_synchronize(void);

/**
 * mmu_interval_notifier_insert() - subscribe [@start, @start + @length)
 * of @mm.  If invalidations are in flight the interval counts as being
 * invalidated, so the first mmu_interval_read_begin() waits for them.
 * Return: 0, -EOVERFLOW for an empty or wrapping interval, -EINVAL for an
 * mm without users, -ENOMEM, -EINTR.
 *
 * Misuse: a NULL notifier or ops, a NULL or freed mm (freed: checked
 *	mode), an mm without users (used after its last mmput()), a notifier
 *	already inserted (->mm set: it must start zeroed, and is again after
 *	removal): WARN, -EINVAL.
 */
int mmu_interval_notifier_insert(struct mmu_interval_notifier *interval_sub,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long length,
				 const struct mmu_interval_notifier_ops *ops);
/**
 * mmu_interval_notifier_insert_locked() - the same, mmap_lock held.
 * Misuse: as mmu_interval_notifier_insert(), and the mmap_lock not held
 *	for writing.
 */
int mmu_interval_notifier_insert_locked(
	struct mmu_interval_notifier *interval_sub, struct mm_struct *mm,
	unsigned long start, unsigned long length,
	const struct mmu_interval_notifier_ops *ops);

/**
 * mmu_interval_notifier_remove() - unsubscribe; waits for a running
 * invalidation of the interval to finish.  Never from ->invalidate.
 *
 * Misuse: a NULL notifier, one not inserted (a second removal, or one
 *	detached by host_destroy()): WARN, nothing done.
 */
void mmu_interval_notifier_remove(struct mmu_interval_notifier *interval_sub);

/**
 * mmu_interval_read_begin() - start a read of the primary page tables for
 * this interval; sleeps while an invalidation of it is in progress.
 * Return: the sequence to hand to mmu_interval_read_retry().
 */
unsigned long
mmu_interval_read_begin(struct mmu_interval_notifier *interval_sub);

/**
 * mmu_interval_set_seq() - record @cur_seq; call from ->invalidate under
 * the same lock the reader holds around mmu_interval_read_retry().
 */
static inline void
mmu_interval_set_seq(struct mmu_interval_notifier *interval_sub,
		     unsigned long cur_seq)
{
	WRITE_ONCE(interval_sub->invalidate_seq, cur_seq);
}

/**
 * mmu_interval_read_retry() - true if an invalidation collided with the
 * read that returned @seq; the reader must discard what it read.  Call
 * under the lock ->invalidate takes.
 */
static inline bool
mmu_interval_read_retry(struct mmu_interval_notifier *interval_sub,
			unsigned long seq)
{
	return READ_ONCE(interval_sub->invalidate_seq) != seq;
}

/**
 * mmu_interval_check_retry() - lock-free hint for long loops: true means a
 * collision certainly happened, false means nothing.
 */
static inline bool
mmu_interval_check_retry(struct mmu_interval_notifier *interval_sub,
			 unsigned long seq)
{
	return READ_ONCE(interval_sub->invalidate_seq) != seq;
}

/* ---------------------------------------------------------------------
 * Primary-MMU side: what the code that changes page tables calls
 */

/** mmu_notifier_range_init() - fill @range (owner cleared). */
static inline void
mmu_notifier_range_init(struct mmu_notifier_range *range,
			enum mmu_notifier_event event, unsigned int flags,
			struct mm_struct *mm, unsigned long start,
			unsigned long end)
{
	range->mm = mm;
	range->start = start;
	range->end = end;
	range->flags = flags;
	range->event = event;
	range->owner = NULL;
}

/** mmu_notifier_range_init_owner() - as above, with an initiator. */
static inline void
mmu_notifier_range_init_owner(struct mmu_notifier_range *range,
			      enum mmu_notifier_event event,
			      unsigned int flags, struct mm_struct *mm,
			      unsigned long start, unsigned long end,
			      void *owner)
{
	mmu_notifier_range_init(range, event, flags, mm, start, end);
	range->owner = owner;
}

/**
 * mmu_notifier_invalidate_range_start() - blockable start: every
 * subscriber's mappings of @range are gone when it returns.  The caller
 * holds the mmap_lock or an rmap lock until the matching end.
 */
void mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range);

/**
 * mmu_notifier_invalidate_range_start_nonblock() - non-blocking start (OOM
 * reaper).  Return: 0, or -EAGAIN when a subscriber would have to sleep;
 * then the caller must leave the range alone and must not call end.
 */
int mmu_notifier_invalidate_range_start_nonblock(
	struct mmu_notifier_range *range);

/** mmu_notifier_invalidate_range_end() - end of @range's invalidation. */
void mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range);

/** mmu_notifier_clear_flush_young() - OR of every subscriber's answer. */
int mmu_notifier_clear_flush_young(struct mm_struct *mm, unsigned long start,
				   unsigned long end);
/** mmu_notifier_clear_young() - OR of every subscriber's answer. */
int mmu_notifier_clear_young(struct mm_struct *mm, unsigned long start,
			     unsigned long end);
/** mmu_notifier_test_young() - first subscriber that says young wins. */
int mmu_notifier_test_young(struct mm_struct *mm, unsigned long address);
/** mmu_notifier_change_pte() - tell every subscriber about @pte. */
void mmu_notifier_change_pte(struct mm_struct *mm, unsigned long address,
			     pte_t pte);
/** mmu_notifier_arch_invalidate_secondary_tlbs() - from the TLB flush. */
void mmu_notifier_arch_invalidate_secondary_tlbs(struct mm_struct *mm,
						 unsigned long start,
						 unsigned long end);

#endif /* MMULAB_MMU_NOTIFIER_H */
