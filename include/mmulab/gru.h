/* SPDX-License-Identifier: MIT */
/*
 * A GRU-style secondary MMU (the kernel's drivers/misc/sgi-gru): a device
 * context bound to a process's mm that translates its addresses through a
 * small set-associative TLB and nothing else -- there is no secondary
 * page table to walk, so a TLB miss is a fault that the driver resolves
 * through GUP on the bound mm, and an invalidation is a TLB flush.
 *
 * Coherence: the context's notifier counts invalidations in progress
 * (ms_range_active) and bumps a sequence when one ends; a TLB fault
 * samples the sequence, waits out open invalidations, walks through GUP
 * with no driver lock held, and installs the translation only if, under
 * the lock, no invalidation is open and the sequence is unchanged -- a
 * fill racing an invalidation is dropped and retried.  The TLB entries of
 * the range are flushed in invalidate_range_start; release flushes
 * everything and unbinds.  The TLB holds no page reference.
 */
#ifndef MMULAB_GRU_H
#define MMULAB_GRU_H

#include <mmulab/mm.h>

struct gru_thread_state;

#define GRU_MAX_TLB_SETS 64
#define GRU_MAX_TLB_WAYS 8

/**
 * struct gru_stat - counters of one context.
 * @accesses: device loads and stores.
 * @tlb_hits: accesses that found their translation in the TLB.
 * @tlb_faults: TLB misses (and write faults on read-only entries)
 *	resolved through GUP (gru_tlb_fault()).
 * @fills: translations installed.
 * @fills_dropped: fills that raced an invalidation and were dropped.
 * @evictions: valid entries replaced by a fill of another address.
 * @invalidations: invalidate_range_start callbacks.
 * @flushes: invalidations that flushed at least one entry.
 * @flushed: entries flushed by invalidations and release.
 * @waits: faults that waited for an open invalidation to end.
 * @released: 1 once the mm's release callback unbound the context.
 */
struct gru_stat {
	unsigned long accesses;
	unsigned long tlb_hits;
	unsigned long tlb_faults;
	unsigned long fills;
	unsigned long fills_dropped;
	unsigned long evictions;
	unsigned long invalidations;
	unsigned long flushes;
	unsigned long flushed;
	unsigned long waits;
	unsigned long released;
};

/**
 * gru_alloc_gts() - a device context bound to @mm, with a TLB of @sets
 * sets of @ways entries, and its MMU notifier registered.
 * @mm: the address space; the caller holds a user reference and no
 *	mmap_lock.
 * @sets: TLB sets, 1..GRU_MAX_TLB_SETS.
 * @ways: entries per set, 1..GRU_MAX_TLB_WAYS.
 * @name: shown by the checker in reports (kept, not copied).
 * Return: the context, or ERR_PTR(-EINVAL) for a bad geometry,
 * ERR_PTR(-ENOMEM), or mmu_notifier_register()'s error.
 */
struct gru_thread_state *gru_alloc_gts(struct mm_struct *mm, unsigned int sets,
				       unsigned int ways, const char *name);

/**
 * gru_free_gts() - flush the TLB, unregister the notifier and free the
 * context.  Safe after the mm exited (release already unbound it).
 * @gts: the context, or NULL.
 */
void gru_free_gts(struct gru_thread_state *gts);

/**
 * gru_read_u64() - device load of 8 bytes at @addr through the TLB,
 * faulting the translation in on a miss.
 * @gts: the context.
 * @addr: an 8-aligned user address of the bound mm.
 * @val: where the value goes.
 * Return: 0; -EINVAL for a bad argument; -EFAULT when nothing is mapped
 * there (or not writable for a store) or the mm is gone; -ENOMEM; -EIO
 * once the checker found a violation (the device stops touching frames).
 */
int gru_read_u64(struct gru_thread_state *gts, unsigned long addr, u64 *val);

/**
 * gru_write_u64() - device store; as gru_read_u64().
 * @gts: the context.
 * @addr: an 8-aligned user address of the bound mm.
 * @val: the value.
 * Return: as gru_read_u64().
 */
int gru_write_u64(struct gru_thread_state *gts, unsigned long addr, u64 val);

/**
 * gru_tlb_fault() - resolve a TLB miss at @addr: walk the primary page
 * table through GUP and install the translation unless an invalidation
 * raced the walk (then the fill is dropped and the walk retried).
 * @gts: the context.
 * @addr: the faulting user address.
 * @write: the access is a store (the walk breaks COW, the entry is
 *	writable).
 * Return: 0 once installed, or as gru_read_u64().
 */
int gru_tlb_fault(struct gru_thread_state *gts, unsigned long addr,
		  bool write);

/**
 * gru_tlb_valid() - number of valid TLB entries (for tests and reports).
 * @gts: the context.
 * Return: the count.
 */
unsigned int gru_tlb_valid(struct gru_thread_state *gts);

/**
 * gru_get_stat() - snapshot of the counters.
 * @gts: the context.
 * @out: filled in.
 */
void gru_get_stat(struct gru_thread_state *gts, struct gru_stat *out);

/**
 * gru_observe_stat() - gru_get_stat() and gru_tlb_valid() without the
 * context's lock, for an observer that must not take one (a
 * det_set_observer() sampler).  Only where no task runs beside the caller
 * (a deterministic run); elsewhere use the locked pair.
 * @gts: the context.
 * @out: filled in.
 * Return: valid TLB entries.
 */
unsigned int gru_observe_stat(struct gru_thread_state *gts,
			      struct gru_stat *out);

#endif /* MMULAB_GRU_H */
