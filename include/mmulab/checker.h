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
 *	reused frame returns someone else's value).
 *
 * Cheap checks run on every event (frame free, secondary map and use);
 * full sweeps run at quiescent points (checker_sweep()).  Each violation
 * is recorded with the frame, addresses, the secondary entry and the last
 * events that touched them (checker_report()).
 *
 * Secondary MMUs built on mmulab report their mappings with
 * checker_secondary_map(); the in-tree ones (KVM, the HMM mirror) do.
 */
#ifndef MMULAB_CHECKER_H
#define MMULAB_CHECKER_H

#include <stdio.h>
#include <mmulab/mm.h>

/** enum checker_inv - the invariants, numbered as in the documentation. */
enum checker_inv {
	INV_STALE_SECONDARY = 1,
	INV_FREED_WHILE_MAPPED = 2,
	INV_WRITABLE_SECONDARY = 3,
	INV_PINNED_OR_UNBALANCED = 4,
	INV_DATA = 5,
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
	char detail[200];
};

/**
 * checker_attach() - start checking @host.  Attach before any secondary
 * MMU is created on it.
 * Return: 0, -EBUSY if already attached, -ENOMEM.
 */
int checker_attach(struct host *host);

/** checker_detach() - stop checking and free the checker's state. */
void checker_detach(struct host *host);

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
 * checker_sweep() - full check at a quiescent point (no task of the model
 * is running): every secondary translation against the primary page
 * tables, pins, and idle balance of every counter.
 * Return: violations found by this sweep.
 */
unsigned long checker_sweep(struct host *host);

/**
 * checker_secondary_map() - a secondary MMU of @host starts (@delta = 1)
 * or stops (@delta = -1) mapping frame @pfn.  A frame freed while its
 * count is not zero violates INV-2.
 */
void checker_secondary_map(struct host *host, unsigned long pfn, int delta);

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
 * checker_note() - append an event to the checker's history (shown by
 * checker_report()) with the frame and address it touched.
 */
void checker_note(struct host *host, const char *what, unsigned long pfn,
		  unsigned long addr);

/**
 * checker_fail() - record a violation found by a secondary MMU's own
 * checks or by a sweep callback.
 */
void checker_fail(struct host *host, enum checker_inv inv, unsigned long pfn,
		  unsigned long addr, u64 gpa, const char *secondary,
		  const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/**
 * struct checker_secondary - a secondary MMU's part in checker_sweep().
 * @node: link in the checker's list (the checker's).
 * @name: shown in reports.
 * @sweep: check every translation against the primary page tables and
 *	report with checker_fail(); called only at quiescent points.
 * @describe: optional; if this secondary maps frame @pfn, write what maps
 *	it into @buf and set *@addr (primary address) and *@gpa, return
 *	true.  Called when a violation is found, from any context: it must
 *	not take locks.
 */
struct checker_secondary {
	void *node[2];
	const char *name;
	void (*sweep)(struct checker_secondary *cs, struct host *host);
	bool (*describe)(struct checker_secondary *cs, unsigned long pfn,
			 char *buf, size_t n, unsigned long *addr, u64 *gpa);
};

/** checker_register_secondary() - include @cs in sweeps of @host. */
void checker_register_secondary(struct host *host,
				struct checker_secondary *cs);
/** checker_unregister_secondary() - remove it. */
void checker_unregister_secondary(struct host *host,
				  struct checker_secondary *cs);

/* ---------------------------------------------------------------------
 * Protocol mutants: each breaks one step of the protocol, so that tests
 * can show the checker catches it.  Never set outside experiments.
 */

/**
 * enum mutant - the steps that can be broken.
 * @MUTANT_NONE: the real protocol.
 * @MUTANT_SKIP_SEQ_CHECK: the KVM fault ignores mmu_invalidate_seq.
 * @MUTANT_SKIP_IN_PROGRESS_CHECK: it ignores invalidations in progress.
 * @MUTANT_RANGE_OFF_BY_ONE: its range check misses the hull's first gfn.
 * @MUTANT_SEQ_AFTER_COUNT: invalidate_end drops the count before bumping
 *	the sequence.
 * @MUTANT_SKIP_TLB_FLUSH: invalidate_range_start zaps but does not flush
 *	vCPU TLBs.
 * @MUTANT_FREE_BEFORE_START: munmap frees pages before
 *	invalidate_range_start.
 * @MUTANT_CHANGE_PTE_UNBOOKENDED: COW and KSM call change_pte without the
 *	surrounding invalidation, and KVM does not bump its sequence (the
 *	2009 code with the 2012 KVM).
 * @MUTANT_REGISTER_NO_EXCLUSION: registration does not exclude open
 *	invalidations (no mm_take_all_locks()).
 * @MUTANT_INTERVAL_NO_SEQ_BUMP: the interval layer does not make the
 *	sequence odd when an invalidation hits an interval.
 * @MUTANT_KEEP_GUP_REF: the KVM fault keeps its GUP reference (a pin leak).
 */
enum mutant {
	MUTANT_NONE,
	MUTANT_SKIP_SEQ_CHECK,
	MUTANT_SKIP_IN_PROGRESS_CHECK,
	MUTANT_RANGE_OFF_BY_ONE,
	MUTANT_SEQ_AFTER_COUNT,
	MUTANT_SKIP_TLB_FLUSH,
	MUTANT_FREE_BEFORE_START,
	MUTANT_CHANGE_PTE_UNBOOKENDED,
	MUTANT_REGISTER_NO_EXCLUSION,
	MUTANT_INTERVAL_NO_SEQ_BUMP,
	MUTANT_KEEP_GUP_REF,
	NR_MUTANTS,
};

/** mutant_name() - "skip-seq-check", ...; NULL if unknown. */
const char *mutant_name(enum mutant m);
/** mutant_lookup() - the mutant called @name, or -EINVAL. */
int mutant_lookup(const char *name);
/** mutant_set() - switch the active mutant (MUTANT_NONE to restore). */
void mutant_set(enum mutant m);
/** mutant_active() - the active mutant. */
enum mutant mutant_active(void);

#endif /* MMULAB_CHECKER_H */
