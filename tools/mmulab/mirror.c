// SPDX-License-Identifier: MIT
/*
 * The HMM-style mirror.
 *
 * Fault path (the driver side of the interval-notifier protocol):
 *
 *	seq = mmu_interval_read_begin()		waits out an open epoch
 *	get_user_pages_remote() under mmap_read_lock
 *	lock; if mmu_interval_read_retry(seq): unlock, drop page, again
 *	install the device PTE; unlock; drop the page reference
 *
 * Invalidation: lock; mmu_interval_set_seq(cur_seq); clear the device
 * PTEs of the intersection; unlock.  Because both sides hold the same
 * lock, an invalidation either precedes the fault's retry check (which
 * then fails) or follows the install (and removes it), so the device never
 * keeps a frame the primary MMU has let go of.
 */
#include <string.h>

#include "mirror.h"

static struct mirror *to_mirror(struct mmu_interval_notifier *sub)
{
	return container_of(sub, struct mirror, notifier);
}

static unsigned long mirror_index(const struct mirror *m, unsigned long addr)
{
	return (addr - m->start) >> PAGE_SHIFT;
}

static bool mirror_invalidate(struct mmu_interval_notifier *sub,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct mirror *m = to_mirror(sub);
	/* The range is the primary's, not clipped to the interval. */
	unsigned long start = range->start > m->start ? range->start : m->start;
	unsigned long end = range->end < m->end ? range->end : m->end;
	unsigned long zapped = 0;

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&m->lock);
	else if (!mutex_trylock(&m->lock))
		return false;

	mmu_interval_set_seq(sub, cur_seq);
	m->inv_gen++;
	for (unsigned long addr = start & PAGE_MASK; addr < end;
	     addr += PAGE_SIZE) {
		struct mirror_entry *e = &m->pt[mirror_index(m, addr)];

		if (e->page) {
			e->page = NULL;
			e->writable = false;
			zapped++;
		}
	}
	mutex_unlock(&m->lock);

	atomic_long_inc(&m->stats.invalidations);
	atomic_long_add(zapped, &m->stats.zapped);
	if ((unsigned int)range->event < MMU_NOTIFY_NR_EVENTS)
		atomic_long_inc(&m->by_event[range->event]);
	return true;
}

static const struct mmu_interval_notifier_ops mirror_ops = {
	.invalidate = mirror_invalidate,
};

int mirror_init(struct mirror *m, struct mm_struct *mm, unsigned long start,
		unsigned long nr_pages)
{
	if ((start & ~PAGE_MASK) || !nr_pages || nr_pages > MIRROR_MAX_PAGES)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	mutex_init(&m->lock);
	m->mm = mm;
	m->start = start;
	m->end = start + nr_pages * PAGE_SIZE;
	return mmu_interval_notifier_insert(&m->notifier, mm, start,
					    nr_pages * PAGE_SIZE, &mirror_ops);
}

void mirror_fini(struct mirror *m)
{
	mmu_interval_notifier_remove(&m->notifier);
}

/* Fault one page into the device table; the caller holds no lock. */
static int mirror_fault(struct mirror *m, unsigned long addr, bool write)
{
	struct mirror_entry *e = &m->pt[mirror_index(m, addr)];
	struct page *page;
	unsigned long seq;
	long n;

	if (!mmget_not_zero(m->mm))
		return -EFAULT;
	atomic_long_inc(&m->stats.faults);
	for (;;) {
		seq = mmu_interval_read_begin(&m->notifier);
		mmap_read_lock(m->mm);
		n = get_user_pages_remote(m->mm, addr, 1,
					  write ? FOLL_WRITE : 0, &page);
		mmap_read_unlock(m->mm);
		if (n != 1) {
			mmput(m->mm);
			return n < 0 ? (int)n : -EFAULT;
		}
		mutex_lock(&m->lock);
		if (!mmu_interval_read_retry(&m->notifier, seq))
			break;
		mutex_unlock(&m->lock);
		put_page(page);
		atomic_long_inc(&m->stats.retries);
	}
	e->page = page;
	e->writable = write;
	mutex_unlock(&m->lock);
	/* Not a pinning mirror: from here on the notifier keeps it right. */
	put_page(page);
	mmput(m->mm);
	return 0;
}

static int mirror_access(struct mirror *m, unsigned long addr, u64 *val,
			 bool write)
{
	struct mirror_entry *e;
	int ret;

	if (addr < m->start || addr >= m->end || (addr & 7))
		return -EINVAL;
	e = &m->pt[mirror_index(m, addr)];
	for (;;) {
		mutex_lock(&m->lock);
		if (e->page && (!write || e->writable))
			break;
		mutex_unlock(&m->lock);
		ret = mirror_fault(m, addr & PAGE_MASK, write);
		if (ret)
			return ret;
	}
	if (write)
		page_write_u64(e->page, addr & ~PAGE_MASK, *val);
	else
		*val = page_read_u64(e->page, addr & ~PAGE_MASK);
	mutex_unlock(&m->lock);
	atomic_long_inc(write ? &m->stats.writes : &m->stats.reads);
	return 0;
}

int mirror_read_u64(struct mirror *m, unsigned long addr, u64 *val)
{
	return mirror_access(m, addr, val, false);
}

int mirror_write_u64(struct mirror *m, unsigned long addr, u64 val)
{
	return mirror_access(m, addr, &val, true);
}

static bool entry_coherent(struct mirror *m, unsigned long addr,
			   const struct mirror_entry *e)
{
	pte_t pte;

	if (follow_pte(m->mm, addr, &pte) || !pte_present(pte))
		return false;
	if (pte_pfn(pte) != page_to_pfn(e->page))
		return false;
	return !e->writable || pte_write(pte);
}

/* Snapshot the table; return the invalidation generation it belongs to. */
static unsigned long mirror_snapshot(struct mirror *m,
				     struct mirror_entry *snap)
{
	unsigned long gen;

	mutex_lock(&m->lock);
	gen = m->inv_gen;
	memcpy(snap, m->pt, sizeof(m->pt));
	mutex_unlock(&m->lock);
	return gen;
}

#define MIRROR_CHECK_TRIES 64

/*
 * follow_pte() takes the mmap_lock, which ranks above the mirror lock
 * (invalidations arrive with it held), so the CPU page table cannot be
 * read under the mirror lock.  Instead: snapshot the table, read the CPU
 * entries unlocked, and believe the comparison only if no invalidation
 * ran meanwhile.  That is enough: a primary PTE of a mirrored page
 * changes only after its invalidate callback dropped the entry, and no
 * entry is re-created while that invalidation is open.
 */
unsigned long mirror_check(struct mirror *m)
{
	struct mirror_entry snap[MIRROR_MAX_PAGES];
	unsigned long bad = 0;

	if (!mmget_not_zero(m->mm))
		return 0;
	for (unsigned int tries = 0; tries < MIRROR_CHECK_TRIES; tries++) {
		unsigned long gen = mirror_snapshot(m, snap);
		bool stable;

		bad = 0;
		for (unsigned long i = 0; i < mirror_index(m, m->end); i++)
			if (snap[i].page &&
			    !entry_coherent(m, m->start + i * PAGE_SIZE,
					    &snap[i]))
				bad++;
		mutex_lock(&m->lock);
		stable = m->inv_gen == gen;
		mutex_unlock(&m->lock);
		if (stable)
			break;
		bad = 0;
		cond_resched();
	}
	mmput(m->mm);
	atomic_long_add(bad, &m->stats.incoherent);
	return bad;
}

unsigned long mirror_valid_entries(struct mirror *m)
{
	unsigned long n = 0;

	mutex_lock(&m->lock);
	for (unsigned long i = 0; i < mirror_index(m, m->end); i++)
		n += !!m->pt[i].page;
	mutex_unlock(&m->lock);
	return n;
}

void mirror_report(struct mirror *m, const char *name, struct report *r)
{
	struct report_sub *s = report_add_sub(r, name, "interval");
	struct report_mirror *rm = &r->mirror;

	if (s) {
		report_sub_count(s, "invalidate",
				 atomic_long_read(&m->stats.invalidations));
		for (unsigned int e = 0; e < MMU_NOTIFY_NR_EVENTS; e++)
			s->by_event[e] = atomic_long_read(&m->by_event[e]);
	}
	r->has_mirror = true;
	rm->pages = mirror_index(m, m->end);
	rm->faults = atomic_long_read(&m->stats.faults);
	rm->retries = atomic_long_read(&m->stats.retries);
	rm->invalidations = atomic_long_read(&m->stats.invalidations);
	rm->zapped = atomic_long_read(&m->stats.zapped);
	rm->reads = atomic_long_read(&m->stats.reads);
	rm->writes = atomic_long_read(&m->stats.writes);
	rm->incoherent = atomic_long_read(&m->stats.incoherent);
}
