// SPDX-License-Identifier: MIT
/*
 * GRU-style TLB purges: the context's MMU notifier (the kernel's
 * grutlbpurge.c).  invalidate_range_start counts the invalidation in
 * progress and flushes the TLB entries of the range before it returns,
 * so nothing translates a page the primary MMU is about to unmap;
 * invalidate_range_end bumps the sequence, drops the count and wakes the
 * faults waiting for it; release flushes everything and unbinds.
 */
#include <mmulab/bug.h>

#include "grutables.h"

static struct gru_thread_state *to_gts(struct mmu_notifier *mn)
{
	return container_of(mn, struct gru_thread_state, ts_gms.ms_notifier);
}

/*
 * Flush the entries in [start, end); ms_lock held.  The flush is one INV-8
 * request: entries outside the range survive it, and are re-stamped with
 * it, since the flush looked at them and found them unaffected.
 */
static unsigned long gru_flush_tlb_range(struct gru_thread_state *gts,
					 unsigned long start, unsigned long end)
{
	unsigned long req = checker_tlb_flush_begin(&gts->ts_checker);
	unsigned long flushed = 0;

	for (unsigned int i = 0; i < gts->ts_sets * gts->ts_ways; i++) {
		struct gru_tlb_entry *e = &gts->ts_tlb[i];

		if (!e->valid)
			continue;
		if (e->vaddr >= start && e->vaddr < end) {
			gru_tlb_drop(gts, e);
			flushed++;
		} else {
			e->stamp = req;
		}
	}
	checker_tlb_flush_end(&gts->ts_checker, req);
	gts->ts_stat.flushed += flushed;
	return flushed;
}

static int gru_invalidate_range_start(struct mmu_notifier *mn,
				      const struct mmu_notifier_range *range)
{
	struct gru_thread_state *gts = to_gts(mn);
	struct gru_mm_struct *gms = &gts->ts_gms;

	/* A spinlock: fine for non-blockable ranges (the OOM reaper) too. */
	spin_lock(&gms->ms_lock);
	atomic_inc(&gms->ms_range_active);
	gts->ts_stat.invalidations++;
	if (gru_flush_tlb_range(gts, range->start, range->end))
		gts->ts_stat.flushes++;
	spin_unlock(&gms->ms_lock);
	return 0;
}

static void gru_invalidate_range_end(struct mmu_notifier *mn,
				     const struct mmu_notifier_range *range)
{
	struct gru_mm_struct *gms = &to_gts(mn)->ts_gms;

	(void)range;
	spin_lock(&gms->ms_lock);
	gms->ms_seq++;
	/* Every end pairs with a start: the count never goes negative. */
	WARN_ON(atomic_dec_return(&gms->ms_range_active) < 0);
	spin_unlock(&gms->ms_lock);
	wake_up_all(&gms->ms_wait_queue);
}

/* Flush everything and mark the context unbound; ms_lock not held. */
static void gru_unbind(struct gru_thread_state *gts)
{
	spin_lock(&gts->ts_gms.ms_lock);
	gts->ts_gms.ms_released = true;
	gru_flush_tlb_range(gts, 0, ~0UL);
	spin_unlock(&gts->ts_gms.ms_lock);
	/* A fault waiting for the count sees ms_released and gives up. */
	wake_up_all(&gts->ts_gms.ms_wait_queue);
}

static void gru_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	(void)mm;
	gru_unbind(to_gts(mn));
}

static const struct mmu_notifier_ops gru_mmuops = {
	.release = gru_release,
	.invalidate_range_start = gru_invalidate_range_start,
	.invalidate_range_end = gru_invalidate_range_end,
};

int gru_register_mmu_notifier(struct gru_thread_state *gts)
{
	struct gru_mm_struct *gms = &gts->ts_gms;
	int r;

	spin_lock_init(&gms->ms_lock);
	init_waitqueue_head(&gms->ms_wait_queue);
	gms->ms_notifier.ops = &gru_mmuops;
	checker_watch_notifier(&gts->ts_checker, &gms->ms_notifier);
	/* Keep the mm_struct for mmu_notifier_unregister() after exit. */
	mmgrab(gts->ts_mm);
	r = mmu_notifier_register(&gms->ms_notifier, gts->ts_mm);
	if (r)
		mmdrop(gts->ts_mm);
	return r;
}

/* Nothing may stay in the TLB once the notifier no longer hears of it. */
void gru_unregister_mmu_notifier(struct gru_thread_state *gts)
{
	gru_unbind(gts);
	mmu_notifier_unregister(&gts->ts_gms.ms_notifier, gts->ts_mm);
	mmdrop(gts->ts_mm);
}
