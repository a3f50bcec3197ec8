// SPDX-License-Identifier: MIT
/*
 * The primary MMU's protocol mutants (<mmulab/mutant.h>): each function is
 * the broken variant of the one its name begins with, which selects it in
 * the first line of its body.  Broken on purpose, so that the tests and
 * `mmulab check --mutant` show the checker catching each one; they keep
 * every scheduling point of the real code they do not break.
 */
#include <mmulab/huge_mm.h>
#include "internal.h"
#include "pgtable.h"

/*
 * MUTANT_FREE_BEFORE_START: munmap zaps and frees the pages before
 * invalidate_range_start, so the secondaries still map them meanwhile.
 */
void unmap_vmas_mutant_free_before_start(struct mmu_gather *tlb,
					 struct vm_area_struct *vma,
					 unsigned long start, unsigned long end)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, tlb->mm, start,
				end);
	zap_vma_list(tlb, vma, end);
	tlb_flush_mmu(tlb);
	mmu_notifier_invalidate_range_start(&range);
	zap_vma_list(tlb, vma, end);
	mmu_notifier_invalidate_range_end(&range);
}

/*
 * MUTANT_END_BEFORE_ZAP: munmap ends its invalidation before it zaps, so
 * a secondary fault may map a page about to go.
 */
void unmap_vmas_mutant_end_before_zap(struct mmu_gather *tlb,
				      struct vm_area_struct *vma,
				      unsigned long start, unsigned long end)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, tlb->mm, start,
				end);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
	zap_vma_list(tlb, vma, end);
}

/*
 * MUTANT_PUNCH_FREE_BEFORE_START: unmap_mapping_range() (a hole punched in
 * a file, its truncation, MADV_REMOVE) zaps the file's PTEs and frees what
 * they held before invalidate_range_start.
 */
void zap_page_range_mutant_free_before_start(struct vm_area_struct *vma,
					     unsigned long addr,
					     unsigned long size,
					     const struct zap_details *details)
{
	struct mmu_notifier_range range;
	struct mmu_gather tlb;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, addr,
				addr + size);
	tlb_gather_mmu(&tlb, vma->vm_mm);
	unmap_page_range_details(&tlb, vma, addr, addr + size, details);
	tlb_flush_mmu(&tlb);
	mmu_notifier_invalidate_range_start(&range);
	unmap_page_range_details(&tlb, vma, addr, addr + size, details);
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
}

/*
 * MUTANT_THP_SPLIT_NO_NOTIFY: a huge PMD is split with no invalidation, so
 * a 2 MiB SPTE of the page outlives the PMD.
 */
void __split_huge_pmd_mutant_no_notify(struct mm_struct *mm, unsigned long addr)
{
	unsigned long haddr = addr & HPAGE_PMD_MASK;
	struct page *pmd_table;
	pte_t *pmdp = huge_pmd_at(mm, haddr, &pmd_table);

	if (pmdp)
		split_huge_pmd_flush(mm, pmd_table, pmdp, haddr);
}

/* MUTANT_PRIMARY_NO_NOTIFIER: mprotect changes PTEs with no invalidation. */
void change_pgd_span_mutant_no_notifier(struct mmu_gather *tlb,
					struct vm_area_struct *vma,
					unsigned long addr, unsigned long end)
{
	while (addr < end) {
		unsigned long next = pt_addr_end(addr, end, PT_PUD);

		if (pud_populated(vma->vm_mm, addr))
			change_pud_span(tlb, vma, addr, next);
		addr = next;
	}
}

/*
 * MUTANT_ZAP_NO_TLB_FLUSH: mmu_gather frees the zapped pages without the
 * primary TLB flush, so a CPU (or a secondary sharing the page tables) may
 * still reach a frame that is reused.
 */
void tlb_flush_mmu_mutant_no_flush(struct mmu_gather *tlb)
{
	tlb_batch_pages_flush(tlb);
}
