// SPDX-License-Identifier: MIT
/*
 * mremap: shrink, grow in place, or move a mapping.
 *
 * A move re-homes the page-table entries, not the pages: the new VMA keeps
 * the old page offset, so every page's rmap index still resolves, and the
 * old range gets one UNMAP invalidation around the move with the TLB flush
 * inside it.  The new range was empty, so it needs no notification.
 */
#include "pgtable.h"

static unsigned long to_table_end(unsigned long addr)
{
	return PMD_SIZE - (addr & (PMD_SIZE - 1));
}

static int alloc_table(struct mm_struct *mm, unsigned long addr)
{
	spinlock_t *ptl;

	if (!pte_alloc_map_lock(mm, addr, &ptl))
		return -ENOMEM;
	spin_unlock(ptl);
	return 0;
}

/*
 * Create the PTE tables at @new that the populated tables of [old,
 * old + len) will move into (at most two each, where the two ranges are
 * not aligned alike), so the move cannot fail.  Empty spans need none.
 */
static int prealloc_tables(struct mm_struct *mm, unsigned long old,
			   unsigned long new, unsigned long len)
{
	unsigned long addr = old, next;
	struct page *table;

	for_each_pte_table(mm, table, addr, next, old + len) {
		if (alloc_table(mm, new + (addr - old)) ||
		    alloc_table(mm, new + (next - old) - 1))
			return -ENOMEM;
	}
	return 0;
}

/* Move the entries of [old, old + len), which fits in one table at each
 * end, to @new.  Both PTLs are held; a shared table is one lock. */
static void move_ptes(struct mm_struct *mm, struct page *src_table,
		      unsigned long old, unsigned long new, unsigned long len)
{
	struct page *dst_table = pte_table_page(mm, new);
	spinlock_t *old_ptl, *new_ptl = &dst_table->ptl;
	pte_t *src = pte_table_lock(src_table, old, &old_ptl);
	pte_t *dst = &dst_table->pt_table[pt_index(new, PT_PTE)];

	if (new_ptl != old_ptl)
		spin_lock(new_ptl);
	for (unsigned long off = 0; off < len; off += PAGE_SIZE, src++, dst++) {
		pte_t v = ptep_get(src);

		if (pte_none(v))
			continue;
		set_pte_at(mm, old + off, src, __pte(0));
		set_pte_at(mm, new + off, dst, v);
	}
	if (new_ptl != old_ptl)
		spin_unlock(new_ptl);
	spin_unlock(old_ptl);
}

static void move_page_tables(struct mm_struct *mm, unsigned long old,
			     unsigned long new, unsigned long len)
{
	struct mmu_notifier_range range;
	unsigned long addr = old, next;
	struct page *table;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, old,
				old + len);
	mmu_notifier_invalidate_range_start(&range);
	for_each_pte_table(mm, table, addr, next, old + len) {
		/* Stop where the destination's table ends, if first. */
		if (next - addr > to_table_end(new + (addr - old)))
			next = addr + to_table_end(new + (addr - old));
		move_ptes(mm, table, addr, new + (addr - old), next - addr);
	}
	flush_tlb_range(mm, old, old + len);
	mmu_notifier_invalidate_range_end(&range);
}

static long move_vma(struct vm_area_struct *vma, unsigned long old_addr,
		     unsigned long old_len, unsigned long new_len,
		     unsigned long new_addr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *new;

	if (prealloc_tables(mm, old_addr, new_addr, old_len))
		return -ENOMEM;
	/*
	 * KSM finds a KSM page's mappings by the addresses it merged them
	 * at: unmerge the area rather than move KSM pages away from them.
	 * VM_MERGEABLE stays, so the moved area can be merged again.
	 */
	if (ksm_unmerge_range(vma, old_addr, old_addr + old_len))
		return -ENOMEM;
	vma = vma_isolate(vma, old_addr, old_addr + old_len);
	if (!vma)
		return -ENOMEM;
	new = vm_area_dup(vma, mm, new_addr, new_addr + new_len,
			  vma->vm_pgoff);
	if (!new)
		return -ENOMEM;
	vma_insert(new);
	move_page_tables(mm, old_addr, new_addr, old_len);
	vma_remove_free(vma);
	free_pgtables(mm, old_addr, old_addr + old_len);
	vma_merge_neighbours(new);
	return new_addr;
}

static int mremap_check(unsigned long addr, unsigned long old_len,
			unsigned long new_len, unsigned long flags,
			unsigned long new_addr)
{
	if ((addr & ~PAGE_MASK) ||
	    (flags & ~(unsigned long)(MREMAP_MAYMOVE | MREMAP_FIXED)))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if (!old_len || !new_len || addr >= TASK_SIZE ||
	    old_len > TASK_SIZE - addr || new_len > TASK_SIZE)
		return -EINVAL;
	if (!(flags & MREMAP_FIXED))
		return 0;
	if ((new_addr & ~PAGE_MASK) || new_addr > TASK_SIZE - new_len)
		return -EINVAL;
	/* The two ranges must not overlap. */
	if (new_addr < addr + old_len && addr < new_addr + new_len)
		return -EINVAL;
	/* As mmap(MAP_FIXED): below mmap_min_addr is refused. */
	return new_addr < MMAP_MIN_ADDR ? -EPERM : 0;
}

static long mremap_locked(struct mm_struct *mm, unsigned long addr,
			  unsigned long old_len, unsigned long new_len,
			  unsigned long flags, unsigned long new_addr)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	long na;

	if (!vma || addr + old_len > vma->vm_end)
		return -EFAULT;
	if (flags & MREMAP_FIXED) {
		if (do_munmap(mm, new_addr, new_addr + new_len))
			return -ENOMEM;
		if (new_len < old_len) {
			if (do_munmap(mm, addr + new_len, addr + old_len))
				return -ENOMEM;
			old_len = new_len;
		}
		return move_vma(vma_lookup(mm, addr), addr, old_len, new_len,
				new_addr);
	}
	if (new_len <= old_len)
		return do_munmap(mm, addr + new_len, addr + old_len) ?: (long)addr;
	if (addr + old_len == vma->vm_end && addr + new_len <= TASK_SIZE &&
	    range_is_free(mm, vma->vm_end, new_len - old_len)) {
		vma_set_range(vma, vma->vm_start, addr + new_len,
			      vma->vm_pgoff);
		vma_merge_neighbours(vma);
		return addr;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	na = get_unmapped_area(mm, vma->vm_file, 0, new_len);
	if (na < 0)
		return na;
	return move_vma(vma, addr, old_len, new_len, na);
}

long do_mremap(struct mm_struct *mm, unsigned long addr,
	       unsigned long old_len, unsigned long new_len,
	       unsigned long flags, unsigned long new_addr)
{
	long ret;

	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	old_len = PAGE_ALIGN(old_len);
	new_len = PAGE_ALIGN(new_len);
	ret = mremap_check(addr, old_len, new_len, flags, new_addr);
	if (ret)
		return ret;
	mmap_write_lock(mm);
	ret = mremap_locked(mm, addr, old_len, new_len, flags, new_addr);
	mmap_write_unlock(mm);
	return ret;
}
