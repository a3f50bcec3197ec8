// SPDX-License-Identifier: MIT
/*
 * XPMEM-style export and attach: segments, attachments, remote faults and
 * importer accesses (see <mmulab/xpmem.h>; invalidations are in
 * xpmem_notify.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include <mmulab/bug.h>
#include "xpmem_internal.h"

/* The contract query (INV-6): any importer mapping in [start, end). */
static bool xpmem_mapped(struct checker_secondary *cs, struct mm_struct *mm,
			 unsigned long start, unsigned long end,
			 struct checker_mapping *out)
{
	struct xpmem_segment *seg =
		container_of(cs, struct xpmem_segment, checker);

	if (mm != seg->mm)
		return false;
	for (unsigned int s = 0; s < XPMEM_MAX_ATTACH; s++) {
		struct xpmem_pte *t = checker_peek(seg->slots[s].table);

		for (unsigned long i = 0; t && i < seg->npages; i++) {
			unsigned long a = seg->vaddr + (i << PAGE_SHIFT);

			if (a < start || a >= end || !checker_peek(t[i].valid))
				continue;
			out->addr = a;
			out->pfn = checker_peek(t[i].pfn);
			snprintf(out->what, sizeof(out->what),
				 "importer %u's mapping of %#lx", s, a);
			return true;
		}
	}
	return false;
}

/* At a quiescent point every importer mapping matches the exporter's. */
static void xpmem_sweep(struct checker_secondary *cs, struct host *host)
{
	struct xpmem_segment *seg =
		container_of(cs, struct xpmem_segment, checker);

	for (unsigned int s = 0; s < XPMEM_MAX_ATTACH; s++) {
		struct xpmem_pte *t = seg->slots[s].table;

		for (unsigned long i = 0; t && i < seg->npages; i++) {
			unsigned long a = seg->vaddr + (i << PAGE_SHIFT);
			pte_t pte;

			if (!t[i].valid)
				continue;
			if (follow_pte(seg->mm, a, &pte) || !pte_present(pte) ||
			    pte_pfn(pte) != t[i].pfn)
				checker_fail(host, INV_STALE_SECONDARY, t[i].pfn,
					     a, ~0ULL, cs->name,
					     "importer %u maps frame %lu at "
					     "%#lx, the exporter another",
					     s, t[i].pfn, a);
			else if (t[i].writable && !pte_write(pte))
				checker_fail(host, INV_WRITABLE_SECONDARY,
					     t[i].pfn, a, ~0ULL, cs->name,
					     "importer %u's mapping of %#lx is "
					     "writable, the exporter's is not",
					     s, a);
		}
	}
}

struct xpmem_segment *xpmem_make(struct mm_struct *mm, unsigned long vaddr,
				 unsigned long size, enum xpmem_variant variant)
{
	struct xpmem_segment *seg;
	int r;

	if (!mm || (vaddr & ~PAGE_MASK) || (size & ~PAGE_MASK) || !size ||
	    size > XPMEM_MAX_PAGES * PAGE_SIZE || vaddr + size > TASK_SIZE ||
	    (variant != XPMEM_INVAL_START && variant != XPMEM_INVAL_END_ONLY))
		return ERR_PTR(-EINVAL);
	seg = calloc(1, sizeof(*seg));
	if (!seg)
		return ERR_PTR(-ENOMEM);
	seg->mm = mm;
	seg->host = mm_host(mm);
	seg->vaddr = vaddr;
	seg->npages = size >> PAGE_SHIFT;
	seg->variant = variant;
	mutex_init(&seg->lock);
	init_waitqueue_head(&seg->wq);
	seg->checker.name = "xpmem";
	seg->checker.sweep = xpmem_sweep;
	seg->checker.mapped = xpmem_mapped;
	checker_register_secondary(seg->host, &seg->checker);
	r = xpmem_register_notifier(seg);
	if (r) {
		checker_unregister_secondary(seg->host, &seg->checker);
		free(seg);
		return ERR_PTR(r);
	}
	return seg;
}

/* Start the attachment's tasks: a service task, or a remote peer's. */
static int xpmem_start_tasks(struct xpmem_attachment *att)
{
	if (att->remote)
		return xpmem_remote_start(att);
	att->task = kthread_run(xpmem_service, att, "xpmem-import");
	return IS_ERR(att->task) ? PTR_ERR(att->task) : 0;
}

struct xpmem_attachment *xpmem_attach_slot(struct xpmem_segment *seg,
					   struct mm_struct *importer,
					   struct xpmem_remote *remote)
{
	struct xpmem_attachment *att;
	struct xpmem_slot *slot = NULL;
	int err = -ENOSPC;

	att = calloc(1, sizeof(*att));
	if (!att)
		return ERR_PTR(-ENOMEM);
	att->seg = seg;
	att->importer = importer;
	att->remote = remote;
	mutex_init(&att->lock);
	init_waitqueue_head(&att->wq);
	mutex_lock(&seg->lock);
	for (unsigned int i = 0; !seg->released && i < XPMEM_MAX_ATTACH; i++)
		if (!seg->slots[i].att) {
			slot = &seg->slots[i];
			att->slot = i;
			break;
		}
	if (seg->released)
		err = -ENOENT;
	if (slot && !slot->table)
		checker_poke(slot->table,
			     calloc(seg->npages, sizeof(*slot->table)));
	if (slot && slot->table) {
		att->table = slot->table;
		err = xpmem_start_tasks(att);
		if (!err) {
			slot->att = att;
			seg->stat.attaches++;
			mutex_unlock(&seg->lock);
			return att;
		}
	} else if (slot) {
		err = -ENOMEM;
	}
	mutex_unlock(&seg->lock);
	free(att);
	return ERR_PTR(err);
}

struct xpmem_attachment *xpmem_attach(struct xpmem_segment *seg,
				      struct mm_struct *importer)
{
	if (!seg || !importer)
		return ERR_PTR(-EINVAL);
	return xpmem_attach_slot(seg, importer, NULL);
}

/* Unlink @att (seg->lock held), drop its mappings, stop its task. */
static void xpmem_detach_locked(struct xpmem_attachment *att)
{
	struct xpmem_segment *seg = att->seg;

	mutex_lock(&att->lock);
	xpmem_drop_range(att, 0, ~0UL);
	att->detached = true;
	seg->stat.dropped += att->dropped;
	seg->stat.accesses += att->accesses;
	mutex_unlock(&att->lock);
	seg->slots[att->slot].att = NULL;
	atomic_set(&att->stop, 1);
	wake_up_all(&att->wq);
}

void xpmem_detach(struct xpmem_attachment *att)
{
	if (!att)
		return;
	if (att->remote) {
		xpmem_remote_detach(att);
		return;
	}
	mutex_lock(&att->seg->lock);
	xpmem_detach_locked(att);
	mutex_unlock(&att->seg->lock);
	kthread_stop(att->task);
	free(att);
}

void xpmem_remove(struct xpmem_segment *seg)
{
	struct xpmem_attachment *atts[XPMEM_MAX_ATTACH] = { NULL };

	if (!seg)
		return;
	/* Importer processes first: each detach waits for its peer. */
	for (unsigned int i = 0; i < XPMEM_MAX_ATTACH; i++) {
		struct xpmem_attachment *att;

		mutex_lock(&seg->lock);
		att = seg->slots[i].att;
		mutex_unlock(&seg->lock);
		if (att && att->remote)
			xpmem_remote_detach(att);
	}
	mutex_lock(&seg->lock);
	seg->released = true;
	for (unsigned int i = 0; i < XPMEM_MAX_ATTACH; i++) {
		atts[i] = seg->slots[i].att;
		if (atts[i])
			xpmem_detach_locked(atts[i]);
	}
	mutex_unlock(&seg->lock);
	for (unsigned int i = 0; i < XPMEM_MAX_ATTACH; i++) {
		if (!atts[i])
			continue;
		kthread_stop(atts[i]->task);
		free(atts[i]);
	}
	mmu_notifier_unregister(&seg->notifier, seg->mm);
	mmdrop(seg->mm);
	checker_unregister_secondary(seg->host, &seg->checker);
	for (unsigned int i = 0; i < XPMEM_MAX_ATTACH; i++)
		free(seg->slots[i].table);
	free(seg);
}

/* Sample the sequence with no invalidation open; seg->lock not held. */
static int xpmem_fault_begin(struct xpmem_segment *seg, unsigned long *seq)
{
	for (;;) {
		mutex_lock(&seg->lock);
		if (seg->released) {
			mutex_unlock(&seg->lock);
			return -ENOENT;
		}
		if (!atomic_read(&seg->range_active)) {
			*seq = seg->seq;
			mutex_unlock(&seg->lock);
			return 0;
		}
		mutex_unlock(&seg->lock);
		wait_event(seg->wq, !atomic_read(&seg->range_active));
	}
}

/*
 * A remote fault: walk the exporter's page table through its GUP.  For an
 * importer process the PFN is granted (ANSWER sent) while seg->lock is
 * held, so it reaches the socket before any later INVALIDATE.
 */
int xpmem_fault(struct xpmem_attachment *att, unsigned long i,
		       bool write)
{
	struct xpmem_segment *seg = att->seg;
	unsigned long a = seg->vaddr + (i << PAGE_SHIFT);

	for (int tries = 0; tries < 100000; tries++) {
		unsigned long seq;
		struct page *page;
		int r = xpmem_fault_begin(seg, &seq);
		long n;

		if (r)
			return r;
		if (!mmget_not_zero(seg->mm))
			return -ENOENT;
		n = get_user_pages_unlocked(seg->mm, a, 1, &page,
					    write ? FOLL_WRITE : 0);
		mmput(seg->mm);
		if (n != 1)
			return n == -ENOMEM ? -ENOMEM : -EFAULT;
		mutex_lock(&seg->lock);
		mutex_lock(&att->lock);
		if (att->detached) {
			r = -ENOENT;
		} else if (!atomic_read(&seg->range_active) && seg->seq == seq) {
			struct xpmem_pte *pte = &att->table[i];

			if (pte->valid)
				xpmem_drop_range(att, a, a + 1);
			checker_poke(pte->pfn, page_to_pfn(page));
			pte->writable = write;
			checker_poke(pte->valid, true);
			checker_secondary_map(seg->host, pte->pfn, a, 1);
			if (att->remote)
				xpmem_remote_answer(att, pte->pfn, write, 0);
			seg->stat.faults++;
			r = 1;
		} else {
			seg->stat.fills_dropped++;
		}
		mutex_unlock(&att->lock);
		mutex_unlock(&seg->lock);
		put_page(page);
		if (r)
			return r < 0 ? r : 0;
	}
	return -EAGAIN;
}

static int xpmem_access(struct xpmem_attachment *att, unsigned long offset,
			u64 *val, bool write)
{
	unsigned long i = offset >> PAGE_SHIFT;

	if (!att || !val || (offset & 7) || i >= att->seg->npages)
		return -EINVAL;
	mutex_lock(&att->lock);
	att->accesses++;
	mutex_unlock(&att->lock);
	for (;;) {
		struct xpmem_pte *pte = &att->table[i];
		int r;

		/* A broken protocol was caught: touch no frame any more. */
		if (checker_stopped(att->seg->host))
			return -EIO;
		mutex_lock(&att->lock);
		if (att->detached) {
			mutex_unlock(&att->lock);
			return -ENOENT;
		}
		if (pte->valid && (!write || pte->writable)) {
			struct page *page = pfn_to_page(att->seg->host, pte->pfn);

			/* The lock keeps the service task's drop out. */
			if (write)
				page_write_u64(page, offset & ~PAGE_MASK, *val);
			else
				*val = page_read_u64(page, offset & ~PAGE_MASK);
			mutex_unlock(&att->lock);
			return 0;
		}
		mutex_unlock(&att->lock);
		r = xpmem_fault(att, i, write);
		if (r)
			return r;
	}
}

int xpmem_read_u64(struct xpmem_attachment *att, unsigned long offset,
		   u64 *val)
{
	return xpmem_access(att, offset, val, false);
}

int xpmem_write_u64(struct xpmem_attachment *att, unsigned long offset,
		    u64 val)
{
	return xpmem_access(att, offset, &val, true);
}

/* Without the locks: an observer no writer runs beside (xpmem.h). */
void xpmem_observe_stat(struct xpmem_segment *seg, struct xpmem_stat *out)
{
	const unsigned long *src = (const unsigned long *)&seg->stat;
	unsigned long *dst = (unsigned long *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(long); i++)
		dst[i] = data_race(src[i]);
	for (unsigned int i = 0; i < XPMEM_MAX_ATTACH; i++) {
		struct xpmem_attachment *att = data_race(seg->slots[i].att);

		if (!att)
			continue;
		out->dropped += data_race(att->dropped);
		out->accesses += data_race(att->accesses);
	}
}

void xpmem_get_stat(struct xpmem_segment *seg, struct xpmem_stat *out)
{
	mutex_lock(&seg->lock);
	*out = seg->stat;
	for (unsigned int i = 0; i < XPMEM_MAX_ATTACH; i++) {
		struct xpmem_attachment *att = seg->slots[i].att;

		if (!att)
			continue;
		mutex_lock(&att->lock);
		out->dropped += att->dropped;
		out->accesses += att->accesses;
		mutex_unlock(&att->lock);
	}
	mutex_unlock(&seg->lock);
}
