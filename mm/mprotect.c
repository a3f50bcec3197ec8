// SPDX-License-Identifier: MIT
/*
 * mprotect: change the protections of a range, VMA by VMA.
 *
 * Each part of a VMA gets one PROTECTION_VMA invalidation, opened lazily at
 * the first populated upper-level entry of the part, as the kernel does
 * per PGD-entry span: an untouched range sends nothing, and upgrades send
 * it as well as downgrades.  The primary TLB flush comes after the
 * invalidation ends; no page is freed, so that order is harmless.
 */
#include <mmulab/huge_mm.h>

#include "pgtable.h"
#include "swapops.h"

/* The leaf entry @v as it should be under @vm_flags. */
static pte_t change_pte_prot(struct vm_area_struct *vma, pte_t v)
{
	u64 keep = v.pte & (PTE_PFN_MASK | _PAGE_ACCESSED | _PAGE_DIRTY |
			    _PAGE_SPECIAL);
	bool writable = false;

	if ((vma->vm_flags & VM_WRITE) && !pte_special(v)) {
		struct page *page = pfn_to_page(vma->vm_mm->host, pte_pfn(v));

		/*
		 * Only pages this mapping owns alone may become writable;
		 * COW-shared ones stay read-only and break on the write.
		 */
		writable = (vma->vm_flags & VM_SHARED) ||
			   (PageAnon(page) &&
			    PageFlag(page, PG_anon_exclusive));
	}
	return __pte(keep | vm_page_prot(vma->vm_flags, writable));
}

/*
 * A writable device-private or device-exclusive entry in a VMA that lost
 * VM_WRITE becomes read-only (Linux's change_pte_range()); nothing to
 * flush, no TLB holds it.  Entries are never made writable here: the
 * write fault that migrates the page back decides, as for a PTE.
 */
static void change_device_entry(struct vm_area_struct *vma, unsigned long addr,
				pte_t *pte, pte_t v)
{
	swp_entry_t entry;

	if (!is_swap_pte(v) || (vma->vm_flags & VM_WRITE))
		return;
	entry = pte_to_swp_entry(v);
	if (is_writable_device_private_entry(entry))
		entry = make_device_private_entry(swp_offset(entry), false);
	else if (is_writable_device_exclusive_entry(entry))
		entry = make_device_exclusive_entry(swp_offset(entry), false);
	else
		return;
	set_pte_at(vma->vm_mm, addr, pte, swp_entry_to_pte(entry));
}

static void change_pte_table(struct mmu_gather *tlb,
			     struct vm_area_struct *vma, struct page *table,
			     unsigned long addr, unsigned long end)
{
	spinlock_t *ptl;
	pte_t *pte = pte_table_lock(table, addr, &ptl);

	for (; addr < end; addr += PAGE_SIZE, pte++) {
		pte_t v = ptep_get(pte);
		pte_t n;

		if (!pte_maps_page(v)) {
			change_device_entry(vma, addr, pte, v);
			continue;
		}
		n = change_pte_prot(vma, v);
		if (pte_val(n) == pte_val(v))
			continue;
		set_pte_at(vma->vm_mm, addr, pte, n);
		if (addr < tlb->start)
			tlb->start = addr;
		if (addr + PAGE_SIZE > tlb->end)
			tlb->end = addr + PAGE_SIZE;
	}
	spin_unlock(ptl);
}

/* Is the PUD entry covering @addr populated (a PMD table below it)? */
bool pud_populated(struct mm_struct *mm, unsigned long addr)
{
	pte_t pgd = ptep_get(&mm->pgd->pt_table[pt_index(addr, PT_PGD)]);
	struct page *pud_table;

	if (pte_none(pgd))
		return false;
	pud_table = pt_next(mm, pgd);
	return !pte_none(ptep_get(&pud_table->pt_table[pt_index(addr, PT_PUD)]));
}

struct change_huge_arg {
	struct mmu_gather *tlb;
	struct vm_area_struct *vma;
};

/* A huge PMD the range covers whole changes at once; else it is split
 * (change_pmd_range()). */
static bool change_pmd_fn(pte_t *pmdp, unsigned long addr, unsigned long end,
			  void *arg)
{
	struct change_huge_arg *c = arg;

	if ((addr & ~HPAGE_PMD_MASK) || end - addr < HPAGE_PMD_SIZE)
		return false;
	return change_huge_pmd(c->tlb, c->vma, pmdp, addr);
}

void change_pud_span(struct mmu_gather *tlb, struct vm_area_struct *vma,
		     unsigned long addr, unsigned long end)
{
	struct change_huge_arg c = { tlb, vma };
	unsigned long next;
	struct page *table;

	for_each_pte_table_huge(vma->vm_mm, table, addr, next, end,
				change_pmd_fn, &c)
		change_pte_table(tlb, vma, table, addr, next);
}

/*
 * [addr, end) lies within one PGD entry's span.  The invalidation opens at
 * the first populated PUD entry and runs to @end.
 */
static void change_pgd_span(struct mmu_gather *tlb, struct vm_area_struct *vma,
			    unsigned long addr, unsigned long end)
{
	struct mmu_notifier_range range;
	bool started = false;

	if (mutant_is(MUTANT_PRIMARY_NO_NOTIFIER))
		return change_pgd_span_mutant_no_notifier(tlb, vma, addr, end);
	while (addr < end) {
		unsigned long next = pt_addr_end(addr, end, PT_PUD);

		if (pud_populated(vma->vm_mm, addr)) {
			if (!started) {
				mmu_notifier_range_init(
					&range, MMU_NOTIFY_PROTECTION_VMA, 0,
					vma->vm_mm, addr, end);
				mmu_notifier_invalidate_range_start(&range);
				started = true;
			}
			change_pud_span(tlb, vma, addr, next);
		}
		addr = next;
	}
	if (started)
		mmu_notifier_invalidate_range_end(&range);
}

static void change_protection(struct mmu_gather *tlb,
			      struct vm_area_struct *vma, unsigned long start,
			      unsigned long end)
{
	while (start < end) {
		unsigned long next = pt_addr_end(start, end, PT_PGD);

		change_pgd_span(tlb, vma, start, next);
		start = next;
	}
}

static unsigned long prot_to_vm_flags(unsigned long prot)
{
	return (prot & PROT_READ ? VM_READ : 0) |
	       (prot & PROT_WRITE ? VM_WRITE : 0) |
	       (prot & PROT_EXEC ? VM_EXEC : 0);
}

/* Every byte of [start, end) mapped? */
static bool range_fully_mapped(struct mm_struct *mm, unsigned long start,
			       unsigned long end)
{
	struct vm_area_struct *vma;
	unsigned long expect = start;

	for_each_vma_range(mm, vma, start, end) {
		if (vma->vm_start > expect)
			return false;
		expect = vma->vm_end;
	}
	return expect >= end;
}

int do_mprotect(struct mm_struct *mm, unsigned long start, unsigned long len,
		unsigned long prot)
{
	unsigned long end, newbits = prot_to_vm_flags(prot);
	struct vm_area_struct *vma, *next;
	struct mmu_gather tlb;
	int ret = 0;

	if (!mm_api_ok(mm, MM_USERS) || (start & ~PAGE_MASK) ||
	    (prot & ~(unsigned long)(PROT_READ | PROT_WRITE | PROT_EXEC)))
		return -EINVAL;
	if (!len)
		return 0;
	/* A length that wraps: Linux's "end <= start", -ENOMEM. */
	len = PAGE_ALIGN(len);
	if (!len || start >= TASK_SIZE || len > TASK_SIZE - start)
		return -ENOMEM;
	end = start + len;
	mmap_write_lock(mm);
	if (!range_fully_mapped(mm, start, end)) {
		mmap_write_unlock(mm);
		return -ENOMEM;
	}
	tlb_gather_mmu(&tlb, mm);
	for (vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = next) {
		unsigned long s = vma->vm_start > start ? vma->vm_start : start;
		unsigned long e = vma->vm_end < end ? vma->vm_end : end;

		vma = vma_isolate(vma, s, e);
		if (!vma) {
			ret = -ENOMEM;
			break;
		}
		next = vma_next_in(vma, end);
		/* Read locklessly by migration's remove_migration_pte(). */
		WRITE_ONCE(vma->vm_flags,
			   (vma->vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC)) |
				   newbits);
		change_protection(&tlb, vma, s, e);
	}
	tlb_finish_mmu(&tlb);
	/* As Linux's mprotect_fixup(): a restored protection merges back. */
	vma_merge_range(mm, start, end);
	mmap_write_unlock(mm);
	return ret;
}
