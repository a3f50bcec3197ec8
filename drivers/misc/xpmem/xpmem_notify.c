// SPDX-License-Identifier: MIT
/*
 * XPMEM-style invalidation: the exporter's notifier sends every importer
 * a blocking message and sleeps until each acknowledges; each importer's
 * service task drops the mappings of the range, then acknowledges.
 */
#include <mmulab/bug.h>

#include <mmulab/mutant.h>
#include "xpmem_internal.h"

/* Drop the importer's mappings of exporter range [start, end); att->lock. */
void xpmem_drop_range(struct xpmem_attachment *att, unsigned long start,
		      unsigned long end)
{
	struct xpmem_segment *seg = att->seg;

	for (unsigned long i = 0; i < seg->npages; i++) {
		struct xpmem_pte *pte = &att->table[i];
		unsigned long a = seg->vaddr + (i << PAGE_SHIFT);

		if (!pte->valid || a < start || a >= end)
			continue;
		checker_poke(pte->valid, false);
		checker_secondary_map(seg->host, pte->pfn, a, -1);
		att->dropped++;
	}
}

/** xpmem_ack() - acknowledge invalidation @req to the exporter. */
void xpmem_ack(struct xpmem_attachment *att, long req)
{
	atomic_long_set(&att->done, req);
	wake_up_all(&att->wq);
}

/*
 * Answer invalidation @req: drop the mappings of its range, then
 * acknowledge it, so that the exporter's callback, which waits for the
 * answer, returns only once nothing maps the range.
 */
static void xpmem_answer(struct xpmem_attachment *att, long req)
{
	if (mutant_is(MUTANT_XPMEM_ACK_BEFORE_DROP))
		return xpmem_answer_mutant_ack_before_drop(att, req);
	mutex_lock(&att->lock);
	xpmem_drop_range(att, att->inv_start, att->inv_end);
	mutex_unlock(&att->lock);
	xpmem_ack(att, req);
}

/* The importer's service task: answer messages until told to stop. */
int xpmem_service(void *arg)
{
	struct xpmem_attachment *att = arg;

	for (;;) {
		long req;

		wait_event(att->wq, atomic_long_read(&att->req) !=
					    atomic_long_read(&att->done) ||
					    atomic_read(&att->stop));
		req = atomic_long_read(&att->req);
		if (req == atomic_long_read(&att->done))
			return 0; /* stopped, nothing pending */
		xpmem_answer(att, req);
	}
}

/* Post [start, end) to @att; return the number its answer must reach. */
static long xpmem_post(struct xpmem_segment *seg, struct xpmem_attachment *att,
		       unsigned long start, unsigned long end)
{
	unsigned long top = seg->vaddr + (seg->npages << PAGE_SHIFT);
	struct xpmem_msg m = { .type = XPMEM_MSG_INVALIDATE };
	long want;

	mutex_lock(&att->lock);
	att->inv_start = start;
	att->inv_end = end;
	mutex_unlock(&att->lock);
	want = atomic_long_add_return(1, &att->req);
	seg->stat.messages++;
	if (!att->remote) {
		wake_up_all(&att->wq);
		return want;
	}
	/* The peer speaks page indexes of the segment. */
	m.seq = (u64)want;
	m.a0 = start <= seg->vaddr ? 0 : (start - seg->vaddr) >> PAGE_SHIFT;
	m.a1 = end >= top ? seg->npages :
			    (end - seg->vaddr + PAGE_SIZE - 1) >> PAGE_SHIFT;
	xpmem_remote_send(att, &m); /* a failure shows as eof */
	return want;
}

/* Is @att an importer that still answers messages?  seg->lock held. */
static bool xpmem_live(const struct xpmem_attachment *att)
{
	return att && !att->detached;
}

/*
 * Send [start, end) to every importer and sleep until each acknowledged;
 * seg->lock held (so one message at a time per attachment).  An importer
 * process that dies or does not answer in time is detached instead.
 */
static void xpmem_send_invalidate(struct xpmem_segment *seg,
				  unsigned long start, unsigned long end)
{
	long want[XPMEM_MAX_ATTACH];

	/* It sleeps: never from a non-blockable invalidation. */
	WARN_ON(!mutex_is_owner(&seg->lock));
	seg->stat.invalidations++;
	for (unsigned int i = 0; i < XPMEM_MAX_ATTACH; i++)
		if (xpmem_live(seg->slots[i].att))
			want[i] = xpmem_post(seg, seg->slots[i].att, start,
					     end);
	for (unsigned int i = 0; i < XPMEM_MAX_ATTACH; i++) {
		struct xpmem_attachment *att = seg->slots[i].att;

		if (!xpmem_live(att))
			continue;
		if (!att->remote) {
			wait_event(att->wq,
				   atomic_long_read(&att->done) >= want[i]);
		} else if (xpmem_remote_wait_ack(att, want[i])) {
			/* The peer dropped them: so does the record. */
			mutex_lock(&att->lock);
			xpmem_drop_range(att, start, end);
			mutex_unlock(&att->lock);
		} else {
			continue; /* lost: detached, its frames held */
		}
		seg->stat.acks++;
	}
}

static struct xpmem_segment *to_seg(struct mmu_notifier *mn)
{
	return container_of(mn, struct xpmem_segment, notifier);
}

static enum xpmem_variant variant_of(struct xpmem_segment *seg)
{
	if (mutant_is(MUTANT_XPMEM_END_ONLY)) /* broken on purpose */
		return XPMEM_INVAL_END_ONLY;
	return seg->variant;
}

static bool seg_overlaps(struct xpmem_segment *seg,
			 const struct mmu_notifier_range *range)
{
	return range->start < seg->vaddr + (seg->npages << PAGE_SHIFT) &&
	       range->end > seg->vaddr;
}

static bool seg_attached(struct xpmem_segment *seg)
{
	for (unsigned int i = 0; i < XPMEM_MAX_ATTACH; i++)
		if (xpmem_live(seg->slots[i].att))
			return true;
	return false;
}

static int xpmem_invalidate_range_start(struct mmu_notifier *mn,
					const struct mmu_notifier_range *range)
{
	struct xpmem_segment *seg = to_seg(mn);

	if (!mmu_notifier_range_blockable(range)) {
		/* Waiting for importers sleeps: refuse unless none can map. */
		if (!mutex_trylock(&seg->lock))
			return -EAGAIN;
		if (seg_overlaps(seg, range) && seg_attached(seg)) {
			mutex_unlock(&seg->lock);
			return -EAGAIN;
		}
	} else {
		mutex_lock(&seg->lock);
	}
	atomic_inc(&seg->range_active);
	if (variant_of(seg) == XPMEM_INVAL_START && seg_overlaps(seg, range))
		xpmem_send_invalidate(seg, range->start, range->end);
	mutex_unlock(&seg->lock);
	return 0;
}

static void xpmem_invalidate_range_end(struct mmu_notifier *mn,
				       const struct mmu_notifier_range *range)
{
	struct xpmem_segment *seg = to_seg(mn);

	mutex_lock(&seg->lock);
	/* Upstream XPMEM's window: importers kept mapping until now. */
	if (variant_of(seg) == XPMEM_INVAL_END_ONLY && seg_overlaps(seg, range))
		xpmem_send_invalidate(seg, range->start, range->end);
	seg->seq++;
	WARN_ON(atomic_dec_return(&seg->range_active) < 0);
	mutex_unlock(&seg->lock);
	wake_up_all(&seg->wq);
}

/* Detach every importer: drop everything, mark each detached. */
void xpmem_invalidate_all(struct xpmem_segment *seg)
{
	mutex_lock(&seg->lock);
	seg->released = true;
	xpmem_send_invalidate(seg, 0, ~0UL);
	for (unsigned int i = 0; i < XPMEM_MAX_ATTACH; i++) {
		struct xpmem_attachment *att = seg->slots[i].att;

		if (!att)
			continue;
		mutex_lock(&att->lock);
		xpmem_drop_range(att, 0, ~0UL); /* even under a mutant */
		att->detached = true;
		mutex_unlock(&att->lock);
	}
	seg->stat.released = 1;
	mutex_unlock(&seg->lock);
	wake_up_all(&seg->wq);
}

static void xpmem_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	(void)mm;
	xpmem_invalidate_all(to_seg(mn));
}

static const struct mmu_notifier_ops xpmem_mmuops = {
	.release = xpmem_release,
	.invalidate_range_start = xpmem_invalidate_range_start,
	.invalidate_range_end = xpmem_invalidate_range_end,
};

int xpmem_register_notifier(struct xpmem_segment *seg)
{
	int r;

	seg->notifier.ops = &xpmem_mmuops;
	checker_watch_notifier(&seg->checker, &seg->notifier);
	mmgrab(seg->mm); /* for mmu_notifier_unregister() after exit */
	r = mmu_notifier_register(&seg->notifier, seg->mm);
	if (r)
		mmdrop(seg->mm);
	return r;
}
