/* SPDX-License-Identifier: MIT */
/*
 * Protocol mutants: each breaks one step of the protocol, so that tests
 * and `mmulab check --mutant` can show the checker catches it.  Never set
 * outside experiments.
 *
 * Not part of the installed API (meson.build leaves this header out of the
 * install): the library, the mmulab command and the tests use it, as
 * Linux's fault injection (<linux/fault-inject.h>) serves the kernel and
 * its selftests, not its users.
 *
 * Each broken variant of a function x() is a function x_mutant_y() beside
 * the subsystem's other mutants (mm/mutants.c, virt/kvm/mutants.c,
 * arch/x86/kvm/mmu/mutants.c, the drivers' mutants.c; registration's stays
 * in mm/mmu_notifier.c, whose helpers it needs), or, where the variant is
 * a constant, a return; x() selects it at its top:
 *
 *	if (mutant_is(MUTANT_Y))
 *		return x_mutant_y(...);
 *
 * mutant_is() is a relaxed load, not a scheduling point: a mutant changes
 * the protocol's steps, never the interleavings the scheduler explores
 * around the steps it keeps.
 */
#ifndef MMULAB_MUTANT_H
#define MMULAB_MUTANT_H

#include <mmulab/compiler.h>
#include <mmulab/sync.h>

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
 * @MUTANT_FLUSH_AT_END: KVM zaps SPTEs in invalidate_range_start but
 *	flushes the vCPU TLBs only in invalidate_range_end.
 * @MUTANT_PRIMARY_NO_NOTIFIER: mprotect changes PTEs without its
 *	invalidation.
 * @MUTANT_END_BEFORE_ZAP: munmap ends its invalidation before zapping.
 * @MUTANT_FLUSH_NO_WAIT: kvm_flush_remote_tlbs() does not wait for vCPUs
 *	in guest mode.
 * @MUTANT_RELEASE_LEAVES_MAPPINGS: KVM's release drops no SPTE.
 * @MUTANT_SLEEP_IN_NONBLOCK: KVM's invalidate_range_start takes a driver
 *	mutex even in a non-blockable range (the OOM reaper's).
 * @MUTANT_LOCK_INVERSION: a KVM fault that lost the race to another vCPU
 *	(the SPTE is already there) looks at the host PTE under its PTL
 *	while holding mmu_lock, the reverse of aging's PTL -> mmu_lock.
 * @MUTANT_GRU_FILL_NO_RECHECK: the GRU TLB fault installs its walk
 *	without re-checking the in-progress count and sequence.
 * @MUTANT_XPMEM_END_ONLY: the XPMEM exporter invalidates its importers
 *	only in invalidate_range_end (upstream XPMEM's variant).
 * @MUTANT_XPMEM_ACK_BEFORE_DROP: an XPMEM importer acknowledges an
 *	invalidation before it drops its mappings.
 * @MUTANT_PUNCH_FREE_BEFORE_START: unmap_mapping_range() (a hole punched
 *	in a memfd, its truncation, MADV_REMOVE) zaps the file's PTEs and
 *	frees what they held before invalidate_range_start.
 * @MUTANT_THP_SPLIT_NO_NOTIFY: splitting a huge PMD sends no invalidation,
 *	so a 2 MiB SPTE of the page outlives the PMD.
 * @MUTANT_HMM_NO_RETRY_CHECK: the device mirror installs what
 *	hmm_range_fault() returned without mmu_interval_read_retry() under
 *	its lock.
 * @MUTANT_MIGRATE_NO_OWNER_CHECK: the device mirror skips every
 *	MMU_NOTIFY_MIGRATE invalidation, not only its own migrations'.
 * @MUTANT_GUP_FAST_NO_RECHECK: GUP-fast keeps the page it got without
 *	reading its PMD and PTE again.
 * @MUTANT_RELEASE_NO_DEAD_MARK: KVM's release zaps but does not mark the
 *	mm dead, so a fault that got its page by GUP-fast installs an SPTE
 *	after release.
 * @MUTANT_ZAP_NO_TLB_FLUSH: mmu_gather frees the zapped pages without the
 *	primary TLB flush (and so without arch_invalidate_secondary_tlbs).
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
	MUTANT_FLUSH_AT_END,
	MUTANT_PRIMARY_NO_NOTIFIER,
	MUTANT_END_BEFORE_ZAP,
	MUTANT_FLUSH_NO_WAIT,
	MUTANT_RELEASE_LEAVES_MAPPINGS,
	MUTANT_SLEEP_IN_NONBLOCK,
	MUTANT_LOCK_INVERSION,
	MUTANT_GRU_FILL_NO_RECHECK,
	MUTANT_XPMEM_END_ONLY,
	MUTANT_XPMEM_ACK_BEFORE_DROP,
	MUTANT_PUNCH_FREE_BEFORE_START,
	MUTANT_THP_SPLIT_NO_NOTIFY,
	MUTANT_HMM_NO_RETRY_CHECK,
	MUTANT_MIGRATE_NO_OWNER_CHECK,
	MUTANT_GUP_FAST_NO_RECHECK,
	MUTANT_RELEASE_NO_DEAD_MARK,
	MUTANT_ZAP_NO_TLB_FLUSH,
	NR_MUTANTS,
};

/** mutant_name() - "skip-seq-check", ...; NULL if unknown. */
const char *mutant_name(enum mutant m);
/** mutant_lookup() - the mutant called @name, or -EINVAL. */
int mutant_lookup(const char *name);
/** mutant_set() - switch the active mutant (MUTANT_NONE to restore). */
void mutant_set(enum mutant m);

extern int mmulab_mutant; /* mutant_set()'s; read it with mutant_active() */

/** mutant_active() - the active mutant. */
static inline enum mutant mutant_active(void)
{
	return (enum mutant)__READ_ONCE(mmulab_mutant);
}

/** mutant_is() - is protocol mutant @m active? */
static inline bool mutant_is(enum mutant m)
{
	return unlikely(mutant_active() == m);
}

#endif /* MMULAB_MUTANT_H */
