// SPDX-License-Identifier: MIT
/*
 * madvise: MADV_DONTNEED and MADV_FREE (the hints that change page tables),
 * MADV_MERGEABLE and MADV_UNMERGEABLE (KSM, which change VMA flags and so
 * take the mmap_lock for writing), plus the pure hints, accepted and
 * ignored.
 */
#include "pgtable.h"

/*
 * MADV_FREE of one VMA's part: inside a CLEAR invalidation, clean and age
 * the PTEs of pages this mapping owns alone and mark them lazily freeable.
 * The pages stay mapped; reclaim may drop them later if nobody dirtied
 * them again.  The TLB flush follows the end.
 */
static void madvise_free_single_vma(struct vm_area_struct *vma,
				    unsigned long start, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	struct mmu_gather tlb;

	tlb_gather_mmu(&tlb, mm);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	for (unsigned long addr = start; addr < end; addr += PAGE_SIZE) {
		spinlock_t *ptl;
		pte_t *pte = pte_offset_map_lock(mm, addr, &ptl);
		struct page *page;
		pte_t v;

		if (!pte)
			continue;
		v = ptep_get(pte);
		if (pte_present(v) && !pte_special(v)) {
			page = pfn_to_page(mm->host, pte_pfn(v));
			if (page_mapcount(page) == 1) {
				set_pte(pte, pte_mkold(pte_mkclean(v)));
				ClearPageFlag(page, PG_dirty);
				ClearPageFlag(page, PG_swapbacked);
				tlb.start = tlb.start < addr ? tlb.start : addr;
				tlb.end = addr + PAGE_SIZE;
			}
		}
		spin_unlock(ptl);
	}
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
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
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
		return true;
	default:
		return false;
	}
}

static bool madvise_need_mmap_write(int behavior)
{
	return behavior == MADV_MERGEABLE || behavior == MADV_UNMERGEABLE;
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
	case MADV_DONTNEED:
		zap_page_range_single(vma, start, end - start);
		return 0;
	case MADV_FREE:
		if (vma->vm_file)
			return -EINVAL;
		madvise_free_single_vma(vma, start, end);
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

	if (!mm || (start & ~PAGE_MASK) || !behavior_known(behavior))
		return -EINVAL;
	len = PAGE_ALIGN(len);
	if (!len)
		return 0;
	if (start >= TASK_SIZE || len > TASK_SIZE - start)
		return -EINVAL;
	end = start + len;
	expect = start;
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
