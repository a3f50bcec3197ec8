/* SPDX-License-Identifier: MIT */
/*
 * The notifier core's events.  Linux 6.12 has none: these are the
 * model's own, named after the functions that fire them, so that a trace
 * or a test can see what the core was asked to deliver whether or not the
 * process has subscribers.  Each fires once per call, on the calling task.
 */
#ifndef MMULAB_TRACE_EVENTS_MMU_NOTIFIER_H
#define MMULAB_TRACE_EVENTS_MMU_NOTIFIER_H

#include <mmulab/mmu_notifier.h>
#include <mmulab/tracepoint.h>

/*
 * mmu_notifier_invalidate_range_start: @range was dispatched to every
 * subscriber, which returned @ret (0, or -EAGAIN from a non-blockable
 * range, whose end will not follow).  Fired after the subscribers' starts.
 */
DECLARE_TRACE(mmu_notifier_invalidate_range_start,
	      TP_PROTO(const struct mmu_notifier_range *range, int ret),
	      TP_ARGS(range, ret))

/* mmu_notifier_invalidate_range_end: before the subscribers' ends. */
DECLARE_TRACE(mmu_notifier_invalidate_range_end,
	      TP_PROTO(const struct mmu_notifier_range *range),
	      TP_ARGS(range))

/* mmu_notifier_release: exit_mmap() of @mm, before the release callbacks. */
DECLARE_TRACE(mmu_notifier_release, TP_PROTO(struct mm_struct *mm),
	      TP_ARGS(mm))

/* The aging queries, before the subscribers are asked. */
DECLARE_TRACE(mmu_notifier_clear_flush_young,
	      TP_PROTO(struct mm_struct *mm, unsigned long start,
		       unsigned long end),
	      TP_ARGS(mm, start, end))

DECLARE_TRACE(mmu_notifier_clear_young,
	      TP_PROTO(struct mm_struct *mm, unsigned long start,
		       unsigned long end),
	      TP_ARGS(mm, start, end))

DECLARE_TRACE(mmu_notifier_test_young,
	      TP_PROTO(struct mm_struct *mm, unsigned long address),
	      TP_ARGS(mm, address))

/* change_pte: @address of @mm now maps @pte (hosts with change_pte). */
DECLARE_TRACE(mmu_notifier_change_pte,
	      TP_PROTO(struct mm_struct *mm, unsigned long address, pte_t pte),
	      TP_ARGS(mm, address, pte))

/* The primary TLB flush of [@start, @end) reaching the secondary TLBs. */
DECLARE_TRACE(mmu_notifier_arch_invalidate_secondary_tlbs,
	      TP_PROTO(struct mm_struct *mm, unsigned long start,
		       unsigned long end),
	      TP_ARGS(mm, start, end))

#endif /* MMULAB_TRACE_EVENTS_MMU_NOTIFIER_H */
