// SPDX-License-Identifier: MIT
/*
 * madvise: MADV_DONTNEED, MADV_FREE, MADV_COLD and MADV_PAGEOUT (the
 * hints that change page tables or LRU state), MADV_MERGEABLE and
 * MADV_UNMERGEABLE (KSM, which change VMA flags and so take the mmap_lock
 * for writing), plus the pure hints, accepted and ignored.
 */
#include "swap.h"

/*
 * A page MADV_FREE may make lazily freeable: private to this mapping (not
 * a KSM page, mapped here alone), and, if it is in the swap cache, able to
 * leave it (its slot's copy is about to be worthless).  A dirty or
 * swap-cache page is made clean under the page lock, as 6.12's
 * madvise_free_pte_range() does: reclaim gives a page its slot under
 * that lock (add_to_swap(), which dirties it), so a clear that could run
 * after it would leave the slot unwritten, and the swap entry reclaim
 * then installs would read back whatever the slot held before.  Under
 * the PTL, so the page lock is only tried.
 */
static bool madvise_free_page_ok(struct page *page)
{
	bool ok;

	if (PageKsm(page) || page_mapcount(page) != 1)
		return false;
	if (!PageSwapCache(page) && !PageFlag(page, PG_dirty))
		return true;
	if (!trylock_page(page))
		return false;
	ok = !PageSwapCache(page) || try_free_swap(page);
	if (ok)
		ClearPageFlag(page, PG_dirty);
	unlock_page(page);
	return ok;
}

/* MADV_FREE of the entry @pte of @addr, under its PTL. */
static void madvise_free_pte(struct mmu_gather *tlb, struct mm_struct *mm,
			     unsigned long addr, pte_t *pte)
{
	pte_t v = ptep_get(pte);
	struct page *page;

	if (is_swap_pte(v) && is_swap_entry(pte_to_swp_entry(v))) {
		set_pte_at(mm, addr, pte, __pte(0));
		free_swap_and_cache(mm->host, pte_to_swp_entry(v));
		dec_mm_counter(mm, MM_SWAPENTS);
	} else if (pte_present(v) && !pte_special(v)) {
		page = pfn_to_page(mm->host, pte_pfn(v));
		if (madvise_free_page_ok(page)) {
			set_pte_at(mm, addr, pte, pte_mkold(pte_mkclean(v)));
			mark_page_lazyfree(page);
			tlb->start = tlb->start < addr ? tlb->start : addr;
			tlb->end = addr + PAGE_SIZE;
		}
	}
}

/*
 * MADV_FREE of one VMA's part: inside a CLEAR invalidation, clean and age
 * the PTEs of pages this mapping owns alone and mark them lazily freeable;
 * swap entries are dropped outright, their contents no longer wanted.
 * The pages stay mapped; reclaim may drop them later if nobody dirtied
 * them again.  The TLB flush follows the end.  Only the PTE tables that
 * exist are visited.
 */
static void madvise_free_single_vma(struct vm_area_struct *vma,
				    unsigned long start, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	unsigned long addr = start, next;
	struct mmu_gather tlb;
	struct page *table;

	tlb_gather_mmu(&tlb, mm);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	for_each_pte_table(mm, table, addr, next, end) {
		spinlock_t *ptl;
		pte_t *pte = pte_table_lock(table, addr, &ptl);

		for (; addr < next; addr += PAGE_SIZE, pte++)
			madvise_free_pte(&tlb, mm, addr, pte);
		spin_unlock(ptl);
	}
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
}

/*
 * MADV_COLD or MADV_PAGEOUT of the PTEs of @table in [addr, end), under
 * its PTL: cold ones are aged and deactivated, pages to page out go to
 * @batch.  Returns where it stopped: at @end, or after the page that
 * filled the batch.
 */
static unsigned long cold_or_pageout_table(struct vm_area_struct *vma,
					   struct page *table,
					   unsigned long addr,
					   unsigned long end, bool pageout,
					   struct page **batch,
					   unsigned long *n)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl;
	pte_t *pte = pte_table_lock(table, addr, &ptl);

	for (; addr < end && *n < SWAP_CLUSTER_MAX; addr += PAGE_SIZE, pte++) {
		pte_t v = ptep_get(pte);
		struct page *page;

		page = pte_present(v) && !pte_special(v)
			       ? pfn_to_page(mm->host, pte_pfn(v))
			       : NULL;
		if (!page || PageKsm(page) || page_mapcount(page) != 1)
			continue;
		ClearPageFlag(page, PG_referenced);
		if (!pageout) {
			set_pte_at(mm, addr, pte, pte_mkold(v));
			deactivate_page(page);
		} else if (isolate_lru_page(page)) {
			batch[(*n)++] = page;
		}
	}
	spin_unlock(ptl);
	return addr;
}

/*
 * MADV_COLD and MADV_PAGEOUT of one VMA's part (COLD sends nothing;
 * PAGEOUT, reclaim's CLEAR of each page: docs/architecture.md, "What each
 * primary operation sends").  Only
 * pages this mapping alone maps are touched, and no KSM page.  COLD
 * clears the CPU accessed bits, without telling secondary MMUs (Linux
 * does not either), and deactivates the pages.  PAGEOUT takes them off the LRU in batches
 * and reclaims them without asking whether they were used: each is
 * unmapped, inside a CLEAR invalidation, by try_to_unmap().  No PTL is
 * held while a batch is reclaimed.
 */
static void madvise_cold_or_pageout(struct vm_area_struct *vma,
				    unsigned long start, unsigned long end,
				    bool pageout)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *batch[SWAP_CLUSTER_MAX], *table;
	unsigned long n = 0, addr = start, next;

	for_each_pte_table(mm, table, addr, next, end) {
		next = cold_or_pageout_table(vma, table, addr, next, pageout,
					     batch, &n);
		if (n == SWAP_CLUSTER_MAX) {
			reclaim_pages(mm->host, batch, n);
			n = 0;
		}
	}
	if (n)
		reclaim_pages(mm->host, batch, n);
}

static bool behavior_known(int behavior)
{
	switch (behavior) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_DONTNEED:
	case MADV_FREE:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
	case MADV_REMOVE:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
		return true;
	default:
		return false;
	}
}

/*
 * MADV_REMOVE of [@start, @end): punch the hole in the file each VMA maps
 * (Linux's madvise_remove(), vfs_fallocate(PUNCH_HOLE | KEEP_SIZE)).  The
 * mmap_lock is dropped around each punch, as Linux does, with a reference
 * on the page cache, so the VMAs are looked up afresh each time.  Returns
 * 0, -EINVAL for a range that is not a file's, -EACCES for one that is
 * not a shared writable mapping, -ENOMEM for a hole.
 */
static int madvise_remove(struct mm_struct *mm, unsigned long start,
			  unsigned long end)
{
	while (start < end) {
		struct vm_area_struct *vma;
		struct address_space *m;
		long long offset;
		unsigned long e;

		mmap_read_lock(mm);
		vma = vma_lookup(mm, start);
		if (!vma || !vma->vm_file) {
			mmap_read_unlock(mm);
			return vma ? -EINVAL : -ENOMEM;
		}
		if ((vma->vm_flags & (VM_SHARED | VM_MAYWRITE)) !=
		    (VM_SHARED | VM_MAYWRITE)) {
			mmap_read_unlock(mm);
			return -EACCES;
		}
		e = vma->vm_end < end ? vma->vm_end : end;
		offset = (long long)(start - vma->vm_start) +
			 ((long long)vma->vm_pgoff << PAGE_SHIFT);
		m = vma->vm_file;
		shmem_get_mapping(m);
		mmap_read_unlock(mm);
		shmem_punch_hole(m, offset, (long long)(e - start));
		shmem_put_mapping(m);
		start = e;
	}
	return 0;
}

static bool madvise_need_mmap_write(int behavior)
{
	return behavior == MADV_MERGEABLE || behavior == MADV_UNMERGEABLE ||
	       behavior == MADV_HUGEPAGE || behavior == MADV_NOHUGEPAGE;
}

/*
 * MADV_HUGEPAGE sets VM_HUGEPAGE and clears VM_NOHUGEPAGE (and the
 * reverse), on the part of each VMA in the range (hugepage_madvise()).
 * Huge pages already mapped stay; later faults follow the flags.
 */
static int madvise_hugepage(struct vm_area_struct *vma, unsigned long start,
			    unsigned long end, int behavior)
{
	unsigned long set = behavior == MADV_HUGEPAGE ? VM_HUGEPAGE
						      : VM_NOHUGEPAGE;
	unsigned long clear = set ^ (VM_HUGEPAGE | VM_NOHUGEPAGE);

	if ((vma->vm_flags & (set | clear)) == set)
		return 0;
	vma = vma_isolate(vma, start, end);
	if (!vma)
		return -ENOMEM;
	WRITE_ONCE(vma->vm_flags, (vma->vm_flags & ~clear) | set);
	return 0;
}

/*
 * KSM advice: VM_MERGEABLE applies to whole VMAs, so a VMA whose flag
 * changes is first split at the ends of the range.
 */
static int madvise_ksm(struct vm_area_struct *vma, unsigned long start,
		       unsigned long end, int behavior)
{
	bool mergeable = behavior == MADV_MERGEABLE;

	if (vma->vm_file || !!(vma->vm_flags & VM_MERGEABLE) == mergeable)
		return 0;
	if (vma->vm_start < start) {
		vma = split_vma(vma, start);
		if (!vma)
			return -ENOMEM;
	}
	if (vma->vm_end > end && !split_vma(vma, end))
		return -ENOMEM;
	return ksm_madvise(vma, start, end, behavior);
}

static int madvise_vma(struct vm_area_struct *vma, unsigned long start,
		       unsigned long end, int behavior)
{
	switch (behavior) {
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
		return madvise_ksm(vma, start, end, behavior);
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
		return madvise_hugepage(vma, start, end, behavior);
	case MADV_DONTNEED:
		zap_page_range_single(vma, start, end - start);
		return 0;
	case MADV_FREE:
		if (vma->vm_file)
			return -EINVAL;
		madvise_free_single_vma(vma, start, end);
		return 0;
	case MADV_COLD:
	case MADV_PAGEOUT:
		madvise_cold_or_pageout(vma, start, end,
					behavior == MADV_PAGEOUT);
		return 0;
	default:
		return 0;
	}
}

int do_madvise(struct mm_struct *mm, unsigned long start, unsigned long len,
	       int behavior)
{
	struct vm_area_struct *vma, *next;
	unsigned long end, expect;
	int ret = 0;

	if (!mm_api_ok(mm, MM_USERS) || (start & ~PAGE_MASK) ||
	    !behavior_known(behavior))
		return -EINVAL;
	if (!len)
		return 0;
	/* A length that wraps, rounded up or added to @start: as Linux. */
	len = PAGE_ALIGN(len);
	if (!len || start + len < start)
		return -EINVAL;
	/* Beyond the user range nothing is mapped: a hole, as Linux. */
	if (start >= TASK_SIZE || len > TASK_SIZE - start)
		return -ENOMEM;
	end = start + len;
	expect = start;
	if (behavior == MADV_REMOVE)
		return madvise_remove(mm, start, end);
	if (madvise_need_mmap_write(behavior))
		mmap_write_lock(mm);
	else
		mmap_read_lock(mm);
	/* The next VMA is looked up first: KSM advice may split this one. */
	for (vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = next) {
		unsigned long s = vma->vm_start > start ? vma->vm_start : start;
		unsigned long e = vma->vm_end < end ? vma->vm_end : end;
		int err;

		next = vma_next_in(vma, end);
		if (vma->vm_start > expect)
			ret = -ENOMEM; /* a hole: report it, go on */
		expect = vma->vm_end;
		err = madvise_vma(vma, s, e, behavior);
		if (err) {
			ret = err;
			break;
		}
	}
	if (madvise_need_mmap_write(behavior))
		mmap_write_unlock(mm);
	else
		mmap_read_unlock(mm);
	if (!ret && expect < end)
		ret = -ENOMEM;
	return ret;
}
