/* SPDX-License-Identifier: MIT */
/*
 * The coherence checker.
 *
 * Attached to a host, it watches every frame and every secondary mapping
 * the secondary MMUs report, and checks the invariants that make the
 * notifier protocol correct:
 *
 *  INV-1 stale-secondary: no secondary translation of an address whose
 *	primary PTE maps another frame, outside an open invalidation;
 *  INV-2 freed-while-mapped: no frame is freed (or used after being freed
 *	and reused) while a secondary translation, TLBs included, maps it;
 *  INV-3 writable-secondary: a writable secondary translation only where
 *	the primary mapping is writable;
 *  INV-4 pinned-or-unbalanced: with notifiers no frame is pinned by a
 *	secondary MMU, and in-progress counts and interval sequences are
 *	balanced when the system is idle;
 *  INV-5 data: every value read comes from the location it was written
 *	to (values carry their location; a stale translation reading a
 *	reused frame returns someone else's value), and, where a shadow is
 *	kept (struct checker_shadow), is no older than the last store that
 *	finished before the read began;
 *  INV-6 mapped-after-start: a secondary still maps something in a range
 *	after its invalidate_range_start (or an interval notifier's
 *	invalidate) returned, or anything at all after release or
 *	unregister/remove;
 *  INV-7 unnotified-pte: in an mm with subscribers, a present primary PTE
 *	is removed or downgraded outside an invalidation that the changing
 *	task opened over its address;
 *  INV-8 stale-tlb: a secondary TLB uses a translation cached before a
 *	flush request whose flush has returned;
 *  INV-14 unflushed-free: a frame is freed while a primary PTE that
 *	mapped it was cleared or re-pointed and the primary TLB flush
 *	(flush_tlb_range(), which carries arch_invalidate_secondary_tlbs to
 *	the secondaries that share the CPU's page tables) has not covered
 *	that address since.
 *
 * and the kernel's locking rules, from the lock validator of the
 * concurrency layer (<mmulab/sync.h>), while a checker is attached:
 *
 *  INV-9 sleep-in-atomic: no task sleeps holding a spinlock or rwlock;
 *  INV-10 sleep-in-nonblock: none sleeps inside non_block_start()/end()
 *	(a non-blockable notifier callback);
 *  INV-11 lock-order-inversion: no two lock classes are taken in both
 *	orders (reported the first time the second order is seen);
 *  INV-12 self-deadlock: no task waits for a lock it holds, or for a
 *	grace period of an SRCU domain it is reading (the run is abandoned);
 *  INV-13 lock-not-held: every lockdep_assert_held*() holds.
 *
 * Cheap checks run on every event (frame free, secondary map and use);
 * full sweeps run at quiescent points (checker_sweep()).  Each violation
 * is recorded with the frame, addresses, the secondary entry and the last
 * events that touched them (checker_report()).
 *
 * Secondary MMUs built on mmulab report their mappings with
 * checker_secondary_map(), answer the contract query of struct
 * checker_secondary (INV-6) and stamp their TLB fills and flushes
 * (INV-8); the in-tree ones (KVM, the HMM mirror) do.
 */
#ifndef MMULAB_CHECKER_H
#define MMULAB_CHECKER_H

#include <stdio.h>
#include <mmulab/mm.h>
#include <mmulab/sync.h>

struct mmu_notifier;
struct mmu_interval_notifier;

/** enum checker_inv - the invariants, numbered as in the documentation. */
enum checker_inv {
	INV_STALE_SECONDARY = 1,
	INV_FREED_WHILE_MAPPED = 2,
	INV_WRITABLE_SECONDARY = 3,
	INV_PINNED_OR_UNBALANCED = 4,
	INV_DATA = 5,
	INV_MAPPED_AFTER_START = 6,
	INV_UNNOTIFIED_PTE = 7,
	INV_STALE_TLB = 8,
	INV_SLEEP_IN_ATOMIC = 9,
	INV_SLEEP_IN_NONBLOCK = 10,
	INV_LOCK_ORDER = 11,
	INV_SELF_DEADLOCK = 12,
	INV_LOCK_NOT_HELD = 13,
	INV_UNFLUSHED_FREE = 14,
};

/** checker_inv_name() - "stale-secondary", ...; NULL if unknown. */
const char *checker_inv_name(enum checker_inv inv);

/**
 * struct checker_violation - the first violation found.
 * @inv: which invariant.
 * @pfn: the frame, or ~0UL.
 * @addr: the primary virtual address involved, or 0.
 * @gpa: the guest-physical address, or ~0ULL.
 * @secondary: name of the secondary MMU ("kvm", "dmirror", ...).
 * @detail: one line saying what was seen and what was expected.
 */
struct checker_violation {
	enum checker_inv inv;
	unsigned long pfn;
	unsigned long addr;
	u64 gpa;
	const char *secondary;
	char detail[400];
};

/**
 * checker_attach() - start checking @host.  Attach before any secondary
 * MMU is created on it.  The checker also installs the lock validator's
 * hook (lockdep_set_hook(), which empties the lock-order graph), so lock
 * rule violations of any task become INV-9..13 of @host; with several
 * hosts attached, the last one attached gets them.
 * Return: 0, -EBUSY if already attached, -ENOMEM.
 */
int checker_attach(struct host *host);

/**
 * checker_detach() - stop checking @host.  The checker's state is freed
 * by host_destroy(), since a task of the host (kswapd) may still be in one
 * of its hooks.
 * @host: the host checker_attach() was given.
 */
void checker_detach(struct host *host);

/**
 * checker_attached() - is a checker watching @host?  For a secondary MMU
 * that skips the work of its checks on its fast paths when none is.  Not
 * a scheduling point: asking must not change the interleavings.
 * @host: the host (NULL: false).
 * Return: true between checker_attach() and checker_detach().
 */
bool checker_attached(struct host *host);

/** checker_violations() - number of violations found so far. */
unsigned long checker_violations(struct host *host);

/** checker_first() - the first violation, or NULL. */
const struct checker_violation *checker_first(struct host *host);

/**
 * checker_report() - print the first violation, the invariant it breaks,
 * and the last events that touched its frame or addresses, to @out.
 */
void checker_report(struct host *host, FILE *out);

/**
 * dump_frame_provenance() - print frame @pfn of @host (its allocation
 * count, flags, references, swap entry) and where its contents came
 * from, as dump_user_addr() does.  An observation: no lock, no
 * scheduling point, so a check may call it the moment it fails; the
 * fields are read one by one while others may change them.
 * @host: the host.
 * @pfn: the frame.
 * @f: where to print.
 *
 * Misuse: a frame out of range prints "no such frame"; a NULL @f prints
 *	nothing.
 */
void dump_frame_provenance(struct host *host, unsigned long pfn, FILE *f);

/**
 * dump_user_addr() - print what maps @addr in @mm now, and where its
 * contents came from (mm/page_history.c): the frame (its allocation
 * count, flags, references, swap entry) and how it was last filled
 * (cleared, copied from which frame and allocation, read from which swap
 * slot and which write of it by which frame), or the swap slot of a swap
 * entry and its last writer.  For a report after a run: it takes the
 * mmap_lock and the PTL, so it is not an observation to make while the
 * deterministic scheduler explores.
 * @mm: the address space.
 * @addr: the user address.
 * @f: where to print.
 *
 * Misuse: a NULL or freed mm (follow_pte()'s WARN), a NULL @f, or an
 *	address outside the user range print "no address space" (nothing
 *	without @f).
 */
void dump_user_addr(struct mm_struct *mm, unsigned long addr, FILE *f);

/**
 * checker_sweep() - full check at a quiescent point (no task of the model
 * is running): every secondary translation against the primary page
 * tables, pins, and idle balance of every counter.
 * Return: violations found by this sweep.
 */
unsigned long checker_sweep(struct host *host);

/**
 * checker_secondary_map() - a secondary MMU of @host starts (@delta = 1)
 * or stops (@delta = -1) mapping frame @pfn at primary address @addr.
 * @host: the host.
 * @pfn: the frame.
 * @addr: the primary virtual address the mapping translates (0 if none),
 *	shown in the event history of reports.
 * @delta: 1 or -1.
 *
 * A frame freed while its count is not zero violates INV-2.
 */
void checker_secondary_map(struct host *host, unsigned long pfn,
			   unsigned long addr, int delta);

/**
 * checker_frame_gen() - the frame's free generation; a cached
 * translation records it when filled and passes it to checker_tlb_use().
 */
u32 checker_frame_gen(struct host *host, unsigned long pfn);

/**
 * checker_tlb_use() - a cached translation filled when @pfn had
 * generation @gen is about to be used: the frame must not have been freed
 * since.
 * @who: name of the secondary MMU, for the report.
 * Return: false when the use would touch a freed frame; the caller must
 * not perform it (the model's memory would be corrupted).
 */
bool checker_tlb_use(struct host *host, unsigned long pfn, u32 gen,
		     const char *who);

/**
 * checker_stopped() - true once a violation was found: secondary MMUs
 * stop performing accesses, since a broken protocol may have left them
 * translations to frames that now belong to someone else.
 */
bool checker_stopped(struct host *host);

/**
 * checker_value() - encode a value that carries its location (@loc, a
 * caller-chosen location id, e.g. a page index) and a counter; used by
 * workloads so INV-5 can tell whose data a read returned.
 */
static inline u64 checker_value(u32 loc, u32 count)
{
	return ((u64)(loc + 1) << 32) | count;
}

/**
 * checker_check_value() - a read of location @loc returned @val: it must
 * be 0 (never written since the memory was reset) or a value written to
 * @loc.  Records an INV-5 violation otherwise.
 */
void checker_check_value(struct host *host, u32 loc, u64 val,
			 unsigned long addr);

/**
 * checker_fail() - record a violation found by a secondary MMU's own
 * checks or by a sweep callback.
 */
void checker_fail(struct host *host, enum checker_inv inv, unsigned long pfn,
		  unsigned long addr, u64 gpa, const char *secondary,
		  const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/**
 * struct checker_mapping - what a secondary maps, as its query reports it.
 * @addr: primary virtual address of the mapping.
 * @pfn: the frame, or ~0UL if unknown.
 * @gpa: guest-physical address, or ~0ULL.
 * @what: one line naming the entry ("vCPU 1 TLB gfn 0x2", ...).
 */
struct checker_mapping {
	unsigned long addr;
	unsigned long pfn;
	u64 gpa;
	char what[96];
};

/**
 * struct checker_secondary - a secondary MMU's part in the checker.
 * @node: link in the checker's list (the checker's).
 * @name: shown in reports.
 * @sweep: check every translation against the primary page tables and
 *	report with checker_fail(); called only at quiescent points.
 * @describe: optional; if this secondary maps frame @pfn, write what maps
 *	it into @buf and set *@addr (primary address) and *@gpa, return
 *	true.  Called when a violation is found, from any context: it must
 *	not take locks.
 * @mapped: the contract query (INV-6): if this secondary maps anything of
 *	@mm in [@start, @end) -- page-table entries, TLB entries, anything it
 *	could still translate through without faulting -- fill *@out with
 *	one such mapping and return true.  Asked by the notifier core right
 *	after this secondary's invalidate_range_start (or interval
 *	invalidate) returned, and after release and unregister/remove, in
 *	the task that called them.  It must not sleep, take locks or use
 *	<mmulab/sync.h> operations (no scheduling point may be added by the
 *	check): read the entries with checker_peek(), and have their writers
 *	store them with checker_poke() or stronger.  NULL: not asked.
 * @owner: optional; the device's identity as a migration initiator
 *	(dev_pagemap.owner).  An MMU_NOTIFY_MIGRATE or MMU_NOTIFY_EXCLUSIVE
 *	invalidation whose owner is this one is the secondary's own, which it
 *	may skip and handle itself, as drivers do: the contract query is not
 *	asked then.
 * @host: set by checker_register_secondary().
 * @tlb_req: flush requests so far (checker_tlb_flush_begin()).
 * @tlb_done: the newest request whose flush has returned.
 */
struct checker_secondary {
	void *node[2];
	const char *name;
	void (*sweep)(struct checker_secondary *cs, struct host *host);
	bool (*describe)(struct checker_secondary *cs, unsigned long pfn,
			 char *buf, size_t n, unsigned long *addr, u64 *gpa);
	bool (*mapped)(struct checker_secondary *cs, struct mm_struct *mm,
		       unsigned long start, unsigned long end,
		       struct checker_mapping *out);
	void *owner;
	struct host *host;
	unsigned long tlb_req;
	unsigned long tlb_done;
};

/**
 * checker_peek() - load a secondary entry from a contract query: untorn,
 * and not a scheduling point (an observation must not change the
 * interleavings the deterministic scheduler explores).
 */
#define checker_peek(x) OBSERVE_ONCE(x)
/**
 * checker_poke() - store a secondary entry that contract queries read from
 * other tasks; not a scheduling point (the store is the entry's own
 * update, already ordered by the secondary's locks).
 */
#define checker_poke(x, v) OBSERVE_SET(x, v)

/**
 * checker_register_secondary() - include @cs in sweeps of @host.
 * @host: the host (nothing happens if no checker is attached).
 * @cs: the secondary; @cs->name and @cs->sweep set.
 */
void checker_register_secondary(struct host *host,
				struct checker_secondary *cs);
/** checker_unregister_secondary() - remove it. */
void checker_unregister_secondary(struct host *host,
				  struct checker_secondary *cs);

/**
 * checker_watch_notifier() - have the notifier core ask @cs (its @mapped
 * query) about @mn's mappings after each of @mn's invalidate_range_start,
 * its release and its unregister.  Call before mmu_notifier_register().
 * @cs: the secondary (registered with checker_register_secondary()).
 * @mn: its subscription.
 */
void checker_watch_notifier(struct checker_secondary *cs,
			    struct mmu_notifier *mn);
/**
 * checker_watch_interval() - the same for an interval subscription: asked
 * after each invalidate that returned true, over the intersection, and
 * over the whole interval after mmu_interval_notifier_remove().  Call
 * before mmu_interval_notifier_insert().
 * @cs: the secondary.
 * @mni: its interval subscription.
 */
void checker_watch_interval(struct checker_secondary *cs,
			    struct mmu_interval_notifier *mni);

/* ---------------------------------------------------------------------
 * Secondary TLBs (INV-8)
 *
 * A secondary with a TLB stamps each translation with checker_tlb_stamp()
 * when it starts the walk that fills it, brackets every flush of all its
 * TLBs with checker_tlb_flush_begin()/checker_tlb_flush_end(), and calls
 * checker_tlb_check() before it uses a cached translation.  None of them
 * is a scheduling point.
 */

/**
 * checker_tlb_stamp() - the stamp of a translation walked now.
 * @cs: the secondary.
 * Return: the number of flush requests made so far.
 */
static inline unsigned long checker_tlb_stamp(struct checker_secondary *cs)
{
	return __atomic_load_n(&cs->tlb_req, __ATOMIC_ACQUIRE);
}

/**
 * checker_tlb_flush_begin() - a flush of every TLB of @cs is requested.
 * @cs: the secondary.
 * Return: the request, for checker_tlb_flush_end().
 */
static inline unsigned long
checker_tlb_flush_begin(struct checker_secondary *cs)
{
	return __atomic_add_fetch(&cs->tlb_req, 1, __ATOMIC_SEQ_CST);
}

/**
 * checker_tlb_flush_end() - the flush of request @req has returned: no
 * translation stamped before @req may be used again.
 * @cs: the secondary.
 * @req: checker_tlb_flush_begin()'s return value.
 */
void checker_tlb_flush_end(struct checker_secondary *cs, unsigned long req);

/**
 * checker_tlb_check() - a cached translation stamped @stamp is about to be
 * used.
 * @cs: the secondary.
 * @stamp: checker_tlb_stamp() when the translation was walked.
 * @pfn: its frame (for the report).
 * @addr: its primary address, or 0.
 * @gpa: its guest-physical address, or ~0ULL.
 * Return: false, after recording an INV-8 violation, when a flush that
 * covers it has returned; the caller must not use it.
 */
bool checker_tlb_check(struct checker_secondary *cs, unsigned long stamp,
		       unsigned long pfn, unsigned long addr, u64 gpa);

/* ---------------------------------------------------------------------
 * INV-5's staleness shadow, for a user's own workloads
 */

#define CHECKER_SHADOW_HIST 16

/**
 * struct checker_shadow - the history of one word that a single writer
 * (at a time) stores and any task reads: the values of its stores by
 * version (a reset stores 0), the last version begun and the last one
 * finished.  Zero-initialise it.
 */
struct checker_shadow {
	u64 hist[CHECKER_SHADOW_HIST];
	unsigned int begun;
	unsigned int done;
};

/**
 * checker_shadow_begin() - the writer is about to store @val (0: the word
 * is reset, e.g. the page is replaced or zapped).
 * @s: the word's shadow.
 * @val: the value.
 */
void checker_shadow_begin(struct checker_shadow *s, u64 val);
/** checker_shadow_commit() - the store begun last has finished. */
void checker_shadow_commit(struct checker_shadow *s);
/**
 * checker_shadow_read_start() - a reader is about to read the word.
 * @s: the word's shadow.
 * Return: the oldest version the read may return, for checker_shadow_check().
 */
unsigned int checker_shadow_read_start(struct checker_shadow *s);
/**
 * checker_shadow_check() - a read started at version @from returned @val.
 * @host: the host whose checker records a violation.
 * @s: the word's shadow.
 * @from: checker_shadow_read_start()'s return value.
 * @val: the value read.
 * @loc: the location id the word's values carry (checker_value()).
 * @addr: the word's primary address, for the report.
 * @gpa: its guest-physical address, or ~0ULL.
 *
 * The value must carry @loc (else another location's frame was read) and
 * be one the writer stored no earlier than the last store that finished
 * before the read began.  Records an INV-5 violation otherwise.
 * Return: true if the read was good.
 */
bool checker_shadow_check(struct host *host, struct checker_shadow *s,
			  unsigned int from, u64 val, u32 loc,
			  unsigned long addr, u64 gpa);

/* ---------------------------------------------------------------------
 * Park and sweep: full sweeps under real threads
 */

/**
 * struct checker_park - workers that park between two operations so that
 * a controller can sweep at a quiescent point.  Initialise with
 * checker_park_init().
 */
struct checker_park {
	int pause;
	atomic_t parked; /* workers inside checker_park_point() */
	atomic_t left;	 /* workers gone for good */
	int nworkers;
	wait_queue_head_t wq;
};

/**
 * checker_park_init() - @nworkers workers will call checker_park_point().
 * @p: the park.
 * @nworkers: how many.
 */
void checker_park_init(struct checker_park *p, int nworkers);
/**
 * checker_park_point() - a worker between two operations: park while a
 * sweep is pending.
 * @p: the park.
 */
void checker_park_point(struct checker_park *p);
/**
 * checker_park_leave() - a worker stops for good; later sweeps do not
 * wait for it.
 * @p: the park.
 */
void checker_park_leave(struct checker_park *p);
/**
 * checker_park_sweep() - park every worker, run checker_sweep() on @host,
 * resume them.
 * @p: the park.
 * @host: the host.
 * Return: the violations the sweep found.
 */
unsigned long checker_park_sweep(struct checker_park *p, struct host *host);

#endif /* MMULAB_CHECKER_H */
