/* SPDX-License-Identifier: MIT */
/*
 * The GRU driver's internal structures (the kernel's grutables.h).
 *
 * Deliberate difference from Linux 6.12: there one gru_mm_struct per mm
 * is shared by every context of that mm (mmu_notifier_get()); here each
 * context has its own, so that a context's lifetime is its notifier's.
 */
#ifndef MMULAB_GRUTABLES_H
#define MMULAB_GRUTABLES_H

#include <mmulab/checker.h>
#include <mmulab/gru.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sync.h>

/*
 * One TLB entry.  @valid, @vaddr and @pfn are stored with checker_poke():
 * the checker's contract query reads them without ms_lock.  @stamp is
 * checker_tlb_stamp() when the walk that filled it began (INV-8).
 */
struct gru_tlb_entry {
	unsigned long vaddr;
	unsigned long pfn;
	unsigned long stamp;
	bool valid;
	bool writable;
};

/*
 * The notifier side (the kernel's gru_mm_struct).
 * @ms_notifier: the subscription on the bound mm.
 * @ms_lock: protects the TLB, @ms_seq, @ms_released and the statistics;
 *	taken by invalidations (which may not sleep), so a spinlock.
 * @ms_range_active: invalidations between start and end.
 * @ms_seq: invalidations ended so far.
 * @ms_wait_queue: faults waiting for @ms_range_active to drop to 0.
 * @ms_released: the mm's release ran: the context is unbound.
 */
struct gru_mm_struct {
	struct mmu_notifier ms_notifier;
	spinlock_t ms_lock;
	atomic_t ms_range_active;
	unsigned long ms_seq;
	wait_queue_head_t ms_wait_queue;
	bool ms_released;
};

/* A device context bound to an mm (the kernel's gru_thread_state). */
struct gru_thread_state {
	struct gru_mm_struct ts_gms;
	struct mm_struct *ts_mm;
	struct host *ts_host;
	unsigned int ts_sets, ts_ways;
	struct gru_tlb_entry ts_tlb[GRU_MAX_TLB_SETS * GRU_MAX_TLB_WAYS];
	unsigned int ts_next[GRU_MAX_TLB_SETS]; /* round-robin victim */
	struct checker_secondary ts_checker;
	struct gru_stat ts_stat; /* under ms_lock */
};

/* grufault.c */
void gru_tlb_drop(struct gru_thread_state *gts, struct gru_tlb_entry *e);

/* grutlbpurge.c */
int gru_register_mmu_notifier(struct gru_thread_state *gts);
void gru_unregister_mmu_notifier(struct gru_thread_state *gts);

#endif /* MMULAB_GRUTABLES_H */
