// SPDX-License-Identifier: MIT
/*
 * Transparent huge pages for private anonymous memory: the huge fault, a
 * huge PMD's COW, zap, mprotect and fork, and its split into a PTE table
 * (<mmulab/huge_mm.h>).
 *
 * Locking: a PMD entry changes between none, huge and table only under
 * mm->page_table_lock (Linux's pmd_lock() on a kernel without split PMD
 * locks), and from table back to huge only by khugepaged_collapse(),
 * under the mmap_lock held for writing.  Walkers read PMD entries without
 * locks and re-check a huge one under page_table_lock.
 *
 * Every huge PMD has a PTE table deposited with it at fault time
 * (pgtable_trans_huge_deposit()), chained from its PMD table page's
 * ->private through each table's ->private, so that a split, which may
 * run under an rmap lock where nothing may be allocated, never needs a
 * frame.
 */
#include <stdlib.h>

#include <mmulab/huge_mm.h>

#include "pgtable.h"

/* Flags of a huge PMD without its frame and the PSE bit: those of each of
 * its 4 KiB pages. */
static u64 pmd_sub_flags(pte_t pmd)
{
	return pmd.pte & ~(PTE_PFN_MASK | _PAGE_PSE);
}

/* The PTE a huge PMD amounts to at @addr. */
static pte_t pmd_sub_pte(pte_t pmd, unsigned long addr)
{
	unsigned long i = (addr >> PAGE_SHIFT) & (HPAGE_PMD_NR - 1);

	return pfn_pte(pte_pfn(pmd) + i, pmd_sub_flags(pmd));
}

static void set_pmd_at(struct mm_struct *mm, unsigned long addr,
		       pte_t *pmdp, pte_t pmd)
{
	if (unlikely(checker_peek(mm->host->checker)))
		checker_set_pmd(mm, addr, __pte(checker_peek(pmdp->pte)), pmd);
	set_pte(pmdp, pmd);
}

int host_set_thp(struct host *host, enum thp_mode mode)
{
	if (!host_api_ok(host))
		return -EINVAL;
	if ((unsigned int)mode > THP_ALWAYS)
		return -EINVAL;
	WRITE_ONCE(host->cfg.thp, (int)mode);
	return 0;
}

enum thp_mode host_thp(struct host *host)
{
	return host ? (enum thp_mode)READ_ONCE(host->cfg.thp) : THP_NEVER;
}

/**
 * thp_vma_allowable() - may a fault at @addr of @vma map a huge page
 * (__thp_vma_allowable_orders() for a PMD-sized anonymous fault)?
 */
bool thp_vma_allowable(struct vm_area_struct *vma, unsigned long addr)
{
	unsigned long haddr = addr & HPAGE_PMD_MASK;
	enum thp_mode mode = host_thp(vma->vm_mm->host);

	if (vma->vm_file || (vma->vm_flags & (VM_SHARED | VM_NOHUGEPAGE)))
		return false;
	if (haddr < vma->vm_start || vma->vm_end - haddr < HPAGE_PMD_SIZE)
		return false;
	return mode == THP_ALWAYS ||
	       (mode == THP_MADVISE && (vma->vm_flags & VM_HUGEPAGE));
}

/**
 * thp_mmap_align() - the alignment of an unhinted anonymous mapping of
 * @len bytes: 2 MiB when @len is a multiple of it and THP is not off (as
 * Linux 6.12's __get_unmapped_area() with thp_get_unmapped_area()), so
 * that its spans can be mapped huge.  Model: Linux aligns so in every
 * kernel built with THP; here only while the setting is not "never", so
 * a host without THP keeps its layout.
 */
unsigned long thp_mmap_align(struct mm_struct *mm, unsigned long hint,
			     unsigned long len)
{
	if (hint || (len & ~HPAGE_PMD_MASK) || host_thp(mm->host) == THP_NEVER)
		return PAGE_SIZE;
	return HPAGE_PMD_SIZE;
}

/* ---------------------------------------------------------------------
 * Deposited page tables, page_table_lock held
 */

static void deposit_table(struct page *pmd_table, struct page *pgtable)
{
	pgtable->private = pmd_table->private;
	pmd_table->private = page_to_pfn(pgtable) + 1;
}

static struct page *withdraw_table(struct mm_struct *mm,
				   struct page *pmd_table)
{
	unsigned long first = pmd_table->private;
	struct page *pgtable;

	if (WARN_ON_ONCE(!first))
		return NULL;
	pgtable = &mm->host->pages[first - 1];
	pmd_table->private = pgtable->private;
	pgtable->private = 0;
	return pgtable;
}

/*
 * free_deposited_tables() - gather what is left deposited in @pmd_table
 * into @batch: a table a collapse deposited was in the tree.
 */
void free_deposited_tables(struct page *pmd_table, struct pt_free_batch *batch)
{
	struct host *host = __page_host(pmd_table);

	while (pmd_table->private) {
		struct page *pgtable = &host->pages[pmd_table->private - 1];

		pmd_table->private = pgtable->private;
		pgtable->private = 0;
		tlb_remove_table(batch, pgtable);
	}
}

/* ---------------------------------------------------------------------
 * The huge fault
 */

static void free_huge_unmapped(struct page *head)
{
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		put_page(head + i);
}

/*
 * do_huge_pmd_anonymous_page(): the first touch of a 2 MiB span maps a
 * new huge page (no notification: the PMD was none).  A read fault maps
 * one too: the model has no huge zero page (Linux 6.12 with
 * transparent_hugepage/use_zero_page = 0).  VM_FAULT_FALLBACK when no
 * aligned run of frames is free.
 */
static vm_fault_t do_huge_pmd_anonymous_page(struct vm_area_struct *vma,
					     unsigned long addr,
					     unsigned int flags)
{
	unsigned long haddr = addr & HPAGE_PMD_MASK;
	struct mm_struct *mm = vma->vm_mm;
	struct page *head, *pgtable, *pmd_table;
	vm_fault_t ret = 0;
	pte_t *pmdp;

	(void)flags;
	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	pmd_table = pt_table_at(mm, haddr, PT_PMD, true);
	if (!pmd_table)
		return VM_FAULT_OOM;
	head = alloc_huge_page(mm->host);
	pgtable = head ? alloc_pt_page(mm->host) : NULL;
	if (!pgtable) {
		if (head)
			free_huge_unmapped(head);
		count_vm_event(mm->host, THP_FAULT_FALLBACK);
		return VM_FAULT_FALLBACK;
	}
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		clear_highpage(head + i);
	pmdp = &pmd_table->pt_table[pt_index(haddr, PT_PMD)];
	spin_lock(&mm->page_table_lock);
	if (!pte_none(ptep_get(pmdp)) || mm_flag_test(mm, MMF_UNSTABLE)) {
		ret = mm_flag_test(mm, MMF_UNSTABLE) ? VM_FAULT_SIGBUS : 0;
		spin_unlock(&mm->page_table_lock);
		free_pt_page(pgtable);
		free_huge_unmapped(head);
		return ret;
	}
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		page_add_new_anon_rmap(head + i, vma, haddr + i * PAGE_SIZE);
		lru_cache_add(head + i);
	}
	deposit_table(pmd_table, pgtable);
	add_mm_counter(mm, MM_ANONPAGES, HPAGE_PMD_NR);
	set_pte(pmdp, pfn_pte(page_to_pfn(head),
			      vm_page_prot(vma->vm_flags, true) |
				      _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_PSE));
	spin_unlock(&mm->page_table_lock);
	count_vm_event(mm->host, THP_FAULT_ALLOC);
	return 0;
}

/* Is the huge page mapped only here, with no other reference? */
static bool huge_page_exclusive(struct page *head)
{
	if (PageFlag(head, PG_anon_exclusive))
		return true;
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		if (page_ref_count(head + i) != 1 ||
		    PageFlag(head + i, PG_swapcache))
			return false;
	return true;
}

/*
 * do_huge_pmd_wp_page(): a write to a read-only huge PMD.  A page this
 * mapping alone holds is reused in place; otherwise, as Linux 6.12, the
 * PMD is split and the access retried, to COW the one 4 KiB page.
 * page_table_lock held on entry, released here.
 */
static vm_fault_t do_huge_pmd_wp_page(struct vm_area_struct *vma,
				      unsigned long addr, pte_t *pmdp,
				      pte_t pmd)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *head = pfn_to_page(mm->host, pte_pfn(pmd));

	if ((vma->vm_flags & VM_WRITE) && huge_page_exclusive(head)) {
		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
			SetPageFlag(head + i, PG_anon_exclusive);
		set_pte(pmdp, __pte(pmd.pte | _PAGE_RW | _PAGE_DIRTY |
				    _PAGE_ACCESSED));
		spin_unlock(&mm->page_table_lock);
		count_vm_event(mm->host, PGREUSE);
		return 0;
	}
	spin_unlock(&mm->page_table_lock);
	__split_huge_pmd(mm, addr);
	return 0;
}

/**
 * huge_pmd_fault() - the PMD level of handle_mm_fault(): a huge fault
 * where the PMD is none and THP allowed, or a fault on a huge PMD.
 * *@handled is false when the fault is for the PTE level to resolve.
 */
vm_fault_t huge_pmd_fault(struct vm_area_struct *vma, unsigned long addr,
			  unsigned int flags, bool *handled)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *pmd_table = pt_table_at(mm, addr, PT_PMD, false);
	pte_t *pmdp = pmd_table ? &pmd_table->pt_table[pt_index(addr, PT_PMD)]
				: NULL;
	pte_t pmd = pmdp ? ptep_get(pmdp) : __pte(0);
	vm_fault_t ret;

	*handled = false;
	if (pte_none(pmd)) {
		if (!thp_vma_allowable(vma, addr))
			return 0;
		ret = do_huge_pmd_anonymous_page(vma, addr, flags);
		*handled = ret != VM_FAULT_FALLBACK;
		return *handled ? ret : 0;
	}
	if (!pmd_leaf(pmd))
		return 0;
	*handled = true;
	spin_lock(&mm->page_table_lock);
	pmd = ptep_get(pmdp);
	if (!pmd_leaf(pmd)) {
		spin_unlock(&mm->page_table_lock);
		return 0; /* split meanwhile: retry */
	}
	if (!pte_present(pmd)) {
		spin_unlock(&mm->page_table_lock);
		return VM_FAULT_SIGSEGV;
	}
	if ((flags & FAULT_FLAG_WRITE) && !pte_write(pmd))
		return do_huge_pmd_wp_page(vma, addr, pmdp, pmd);
	if ((flags & FAULT_FLAG_UNSHARE) &&
	    !huge_page_exclusive(pfn_to_page(mm->host, pte_pfn(pmd)))) {
		spin_unlock(&mm->page_table_lock);
		__split_huge_pmd(mm, addr);
		return 0;
	}
	/* Spurious: already mapped as needed; update the A/D bits. */
	pmd = pte_mkyoung(pmd);
	if (flags & FAULT_FLAG_WRITE)
		pmd = pte_mkdirty(pmd);
	set_pte(pmdp, pmd);
	spin_unlock(&mm->page_table_lock);
	return 0;
}

/* ---------------------------------------------------------------------
 * Split
 */

/* Replace the huge PMD @pmd at @haddr by a PTE table; page_table_lock. */
static void __split_huge_pmd_locked(struct mm_struct *mm,
				    struct page *pmd_table, pte_t *pmdp,
				    unsigned long haddr, pte_t pmd)
{
	struct page *pgtable = withdraw_table(mm, pmd_table);

	if (!pgtable)
		return;
	pgtable->pt_level = PT_PTE;
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		set_pte(&pgtable->pt_table[i],
			pmd_sub_pte(pmd, haddr + i * PAGE_SIZE));
	/*
	 * Linux's pmdp_invalidate() makes the PMD non-present before the
	 * table goes in: the checker is told so (INV-7 for each page), but
	 * the entry goes from huge to table in one store, so a lockless
	 * walker never sees the span empty.
	 */
	if (unlikely(checker_peek(mm->host->checker)))
		checker_set_pmd(mm, haddr, pmd, __pte(0));
	set_pte(pmdp, pfn_pte(page_to_pfn(pgtable), _PAGE_TABLE));
}

/**
 * __split_huge_pmd() - split the huge PMD mapping @addr of @mm, if there
 * is one, into a PTE table mapping the same 512 pages with the same
 * protections, inside a CLEAR invalidation of the 2 MiB span (Linux
 * 6.12's __split_huge_pmd()).  Sleeps (the notifiers); the caller holds
 * the mmap_lock or an rmap lock.
 */
/**
 * huge_pmd_at() - the entry of the huge PMD mapping @haddr in @mm, and its
 * table in *@pmd_table; NULL if the PMD is not huge.
 */
pte_t *huge_pmd_at(struct mm_struct *mm, unsigned long haddr,
		   struct page **pmd_table)
{
	pte_t *pmdp;

	*pmd_table = pt_table_at(mm, haddr, PT_PMD, false);
	if (!*pmd_table)
		return NULL;
	pmdp = &(*pmd_table)->pt_table[pt_index(haddr, PT_PMD)];
	return pmd_leaf(ptep_get(pmdp)) ? pmdp : NULL;
}

/**
 * split_huge_pmd_flush() - under the page_table_lock, split the PMD
 * @pmdp (of @pmd_table, mapping @haddr) if it is still huge, then flush
 * the 2 MiB; the caller's invalidation covers it.
 */
void split_huge_pmd_flush(struct mm_struct *mm, struct page *pmd_table,
			  pte_t *pmdp, unsigned long haddr)
{
	bool split = false;

	spin_lock(&mm->page_table_lock);
	if (pmd_leaf(ptep_get(pmdp))) {
		__split_huge_pmd_locked(mm, pmd_table, pmdp, haddr,
					ptep_get(pmdp));
		split = true;
	}
	spin_unlock(&mm->page_table_lock);
	if (split) {
		flush_tlb_range(mm, haddr, haddr + HPAGE_PMD_SIZE);
		count_vm_event(mm->host, THP_SPLIT_PMD);
	}
}

void __split_huge_pmd(struct mm_struct *mm, unsigned long addr)
{
	unsigned long haddr = addr & HPAGE_PMD_MASK;
	struct mmu_notifier_range range;
	struct page *pmd_table;
	pte_t *pmdp;

	if (mutant_is(MUTANT_THP_SPLIT_NO_NOTIFY))
		return __split_huge_pmd_mutant_no_notify(mm, addr);
	/*
	 * Model: Linux 6.12 opens the invalidation whenever the PMD table
	 * exists, huge or not (a VMA split at an unaligned address sends a
	 * CLEAR of the 2 MiB span in every kernel built with THP); the model
	 * only for a huge PMD, so that a host that never maps a huge page
	 * sends what a kernel without THP sends.
	 */
	pmdp = huge_pmd_at(mm, haddr, &pmd_table);
	if (!pmdp)
		return;
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, haddr,
				haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	split_huge_pmd_flush(mm, pmd_table, pmdp, haddr);
	mmu_notifier_invalidate_range_end(&range);
}

/**
 * vma_adjust_trans_huge() - @vma is about to be split at @addr: split a
 * huge PMD that would straddle the two VMAs (Linux's
 * vma_adjust_trans_huge() from __split_vma()).
 */
void vma_adjust_trans_huge(struct vm_area_struct *vma, unsigned long addr)
{
	if (addr & ~HPAGE_PMD_MASK)
		__split_huge_pmd(vma->vm_mm, addr);
}

/* ---------------------------------------------------------------------
 * Zap, mprotect, fork: the range walkers' PMD cases
 */

/**
 * zap_huge_pmd() - unmap the huge PMD @pmdp at @addr of @vma whole, its
 * pages queued in @tlb (the caller's range covers the 2 MiB and its
 * invalidation is open).  Return: false if the PMD is no longer huge.
 */
bool zap_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma,
		  pte_t *pmdp, unsigned long addr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *pmd_table = pt_table_at(mm, addr, PT_PMD, false);
	struct page *head, *pgtable;
	pte_t pmd;

	spin_lock(&mm->page_table_lock);
	pmd = ptep_get(pmdp);
	if (!pmd_leaf(pmd)) {
		spin_unlock(&mm->page_table_lock);
		return false;
	}
	set_pmd_at(mm, addr, pmdp, __pte(0));
	pgtable = withdraw_table(mm, pmd_table);
	spin_unlock(&mm->page_table_lock);
	/* A table a collapse deposited was in the tree: GUP-fast may be in it. */
	if (pgtable)
		pte_free_defer(mm, pgtable);
	head = pfn_to_page(mm->host, pte_pfn(pmd));
	add_mm_counter(mm, MM_ANONPAGES, -(long)HPAGE_PMD_NR);
	tlb_track(tlb, addr);
	tlb_track(tlb, addr + HPAGE_PMD_SIZE - PAGE_SIZE);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		if (pte_dirty(pmd))
			SetPageFlag(head + i, PG_dirty);
		if (pte_young(pmd))
			SetPageFlag(head + i, PG_referenced);
		page_remove_rmap(head + i);
		if (tlb_remove_page(tlb, head + i))
			tlb_flush_mmu(tlb);
	}
	return true;
}

/**
 * change_huge_pmd() - mprotect of a whole huge PMD: its new protections,
 * writable only while the page is this mapping's alone.  The caller's
 * PROTECTION_VMA invalidation is open.  Return: false if no longer huge.
 */
bool change_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma,
		     pte_t *pmdp, unsigned long addr)
{
	struct mm_struct *mm = vma->vm_mm;
	bool writable;
	pte_t pmd, n;

	spin_lock(&mm->page_table_lock);
	pmd = ptep_get(pmdp);
	if (!pmd_leaf(pmd)) {
		spin_unlock(&mm->page_table_lock);
		return false;
	}
	writable = (vma->vm_flags & VM_WRITE) &&
		   PageFlag(pfn_to_page(mm->host, pte_pfn(pmd)),
			    PG_anon_exclusive);
	n = __pte((pmd.pte & (PTE_PFN_MASK | _PAGE_ACCESSED | _PAGE_DIRTY |
			      _PAGE_PSE)) |
		  vm_page_prot(vma->vm_flags, writable));
	if (pte_val(n) != pte_val(pmd)) {
		set_pmd_at(mm, addr, pmdp, n);
		tlb_track(tlb, addr);
		tlb_track(tlb, addr + HPAGE_PMD_SIZE - PAGE_SIZE);
	}
	spin_unlock(&mm->page_table_lock);
	return true;
}

/**
 * copy_huge_pmd() - fork: share the huge PMD @src_pmdp at @addr of
 * @src_vma with the child, both read-only for a COW mapping (the
 * caller's PROTECTION_PAGE invalidation is open).  Return: false when
 * it must be split and copied by PTEs instead: a page of it may be
 * pinned (Linux's copy_huge_pmd() -EAGAIN), or no frame for the child's
 * deposited table.
 */
bool copy_huge_pmd(struct vm_area_struct *dst_vma,
		   struct vm_area_struct *src_vma, pte_t *src_pmdp,
		   unsigned long addr)
{
	struct mm_struct *dst = dst_vma->vm_mm, *src = src_vma->vm_mm;
	bool is_cow = !(src_vma->vm_flags & VM_SHARED) &&
		      (src_vma->vm_flags & VM_MAYWRITE);
	struct page *dst_table, *pgtable, *head;
	pte_t pmd;

	dst_table = pt_table_at(dst, addr, PT_PMD, true);
	pgtable = dst_table ? alloc_pt_page(dst->host) : NULL;
	if (!pgtable)
		return false;
	spin_lock(&src->page_table_lock);
	pmd = ptep_get(src_pmdp);
	head = pmd_leaf(pmd) ? pfn_to_page(src->host, pte_pfn(pmd)) : NULL;
	for (unsigned long i = 0; head && i < HPAGE_PMD_NR; i++)
		if (page_maybe_dma_pinned(head + i))
			head = NULL;
	if (!head) {
		spin_unlock(&src->page_table_lock);
		free_pt_page(pgtable);
		return false;
	}
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		get_page(head + i);
		page_dup_rmap(head + i);
		ClearPageFlag(head + i, PG_anon_exclusive);
	}
	if (is_cow && pte_write(pmd)) {
		pmd = pte_wrprotect(pmd);
		set_pmd_at(src, addr, src_pmdp, pmd);
	}
	spin_unlock(&src->page_table_lock);
	spin_lock(&dst->page_table_lock);
	deposit_table(dst_table, pgtable);
	set_pte(&dst_table->pt_table[pt_index(addr, PT_PMD)], pte_mkold(pmd));
	spin_unlock(&dst->page_table_lock);
	add_mm_counter(dst, MM_ANONPAGES, HPAGE_PMD_NR);
	return true;
}

/* ---------------------------------------------------------------------
 * Lookups
 */

/**
 * follow_huge_pmd_lock() - if a huge PMD maps @addr, the 4 KiB page of it
 * at @addr with *@pte the PTE it amounts to, page_table_lock held (in
 * *@ptlp, for the caller to release); else NULL, nothing held.  The
 * caller holds the mmap_lock.
 */
struct page *follow_huge_pmd_lock(struct mm_struct *mm, unsigned long addr,
				  pte_t *pte, spinlock_t **ptlp)
{
	struct page *pmd_table = pt_table_at(mm, addr, PT_PMD, false);
	pte_t *pmdp, pmd;

	if (!pmd_table)
		return NULL;
	pmdp = &pmd_table->pt_table[pt_index(addr, PT_PMD)];
	if (!pmd_leaf(ptep_get(pmdp)))
		return NULL;
	spin_lock(&mm->page_table_lock);
	pmd = ptep_get(pmdp);
	if (!pmd_leaf(pmd)) {
		spin_unlock(&mm->page_table_lock);
		return NULL;
	}
	*pte = pmd_sub_pte(pmd, addr);
	*ptlp = &mm->page_table_lock;
	return pfn_to_page(mm->host, pte_pfn(*pte));
}

/**
 * huge_pmd_touch() - a CPU access through the huge PMD of @addr: set its
 * accessed (and for @write, dirty) bit.  page_table_lock held.
 */
void huge_pmd_touch(struct mm_struct *mm, unsigned long addr, bool write)
{
	struct page *pmd_table = pt_table_at(mm, addr, PT_PMD, false);
	pte_t *pmdp = &pmd_table->pt_table[pt_index(addr, PT_PMD)];
	pte_t pmd = pte_mkyoung(ptep_get(pmdp));

	lockdep_assert_held(&mm->page_table_lock);
	set_pte(pmdp, write ? pte_mkdirty(pmd) : pmd);
}

/* host_pfn_mapping_level()'s question, under the caller's mmap_lock. */
bool pmd_huge_pfn(struct mm_struct *mm, unsigned long addr,
		  unsigned long *head_pfn)
{
	struct page *pmd_table;
	pte_t pmd;

	if (!mm_api_ok(mm, MM_STRUCT) || addr >= TASK_SIZE)
		return false;
	/* The upper tables are followed without their locks (see pgtable.h). */
	mmap_assert_locked(mm);
	pmd_table = pt_table_at(mm, addr, PT_PMD, false);
	if (!pmd_table)
		return false;
	pmd = ptep_get(&pmd_table->pt_table[pt_index(addr, PT_PMD)]);
	if (!pmd_leaf(pmd) || !pte_present(pmd))
		return false;
	if (head_pfn)
		*head_pfn = pte_pfn(pmd);
	return true;
}

bool follow_pmd_huge(struct mm_struct *mm, unsigned long addr,
		     unsigned long *head_pfn)
{
	bool ret;

	if (!mm_api_ok(mm, MM_STRUCT) || addr >= TASK_SIZE)
		return false;
	mmap_read_lock(mm);
	ret = pmd_huge_pfn(mm, addr, head_pfn);
	mmap_read_unlock(mm);
	return ret;
}

/* ---------------------------------------------------------------------
 * khugepaged's collapse
 */

/*
 * May the PTE @v take part in a collapse (__collapse_huge_page_isolate())?
 * None and the zero page are copied as zeroes; an anonymous page must be
 * mapped only here and referenced by nothing else (no GUP reference, no
 * pin, no swap cache, not KSM).  Swap and migration entries refuse.
 */
static bool collapse_pte_ok(struct mm_struct *mm, pte_t v)
{
	struct page *page;

	if (pte_none(v) || (pte_present(v) && pte_special(v)))
		return true;
	if (!pte_present(v))
		return false;
	page = pfn_to_page(mm->host, pte_pfn(v));
	return PageAnon(page) && !PageKsm(page) && page_mapcount(page) == 1 &&
	       page_ref_count(page) == 1 && !PageFlag(page, PG_swapcache);
}

static bool collapse_table_ok(struct mm_struct *mm, struct page *table)
{
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		if (!collapse_pte_ok(mm, ptep_get(&table->pt_table[i])))
			return false;
	return true;
}

/*
 * Under page_table_lock and the table's PTL, the invalidation open: copy
 * the old pages into @head, clear the PTEs (their mapping references go to
 * @old[]) and install the huge PMD, the old table deposited.  Returns the
 * number of old pages.
 */
static unsigned long collapse_locked(struct vm_area_struct *vma,
				     unsigned long haddr,
				     struct page *pmd_table, pte_t *pmdp,
				     struct page *table, struct page *head,
				     struct page **old)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long n = 0;

	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		unsigned long a = haddr + i * PAGE_SIZE;
		pte_t v = ptep_get(&table->pt_table[i]);

		if (pte_none(v))
			continue;
		set_pte_at(mm, a, &table->pt_table[i], __pte(0));
		if (pte_special(v))
			continue;
		copy_highpage(head + i, pfn_to_page(mm->host, pte_pfn(v)));
		old[n] = pfn_to_page(mm->host, pte_pfn(v));
		page_remove_rmap(old[n++]);
	}
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		page_add_new_anon_rmap(head + i, vma, haddr + i * PAGE_SIZE);
	deposit_table(pmd_table, table);
	set_pte(pmdp, pfn_pte(page_to_pfn(head),
			      vm_page_prot(vma->vm_flags, true) |
				      _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_PSE));
	return n;
}

/*
 * collapse_huge_page(): the mmap_lock held for writing and the anon_vma
 * locked, so no fault, walker or rmap walk is inside the span; only
 * GUP-fast-style references could still appear, re-checked under the
 * locks.
 */
static int collapse_span(struct vm_area_struct *vma, unsigned long haddr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *pmd_table = pt_table_at(mm, haddr, PT_PMD, false);
	struct mmu_notifier_range range;
	struct page **old, *head, *table;
	unsigned long n = 0;
	spinlock_t *ptl;
	pte_t *pmdp, pmd;
	int ret = 0;

	pmdp = pmd_table ? &pmd_table->pt_table[pt_index(haddr, PT_PMD)] : NULL;
	pmd = pmdp ? ptep_get(pmdp) : __pte(0);
	if (pmd_leaf(pmd))
		return -EEXIST;
	if (pte_none(pmd))
		return -EBUSY; /* nothing mapped: khugepaged's SCAN_PMD_NULL */
	table = pt_next(mm, pmd);
	if (!collapse_table_ok(mm, table))
		return -EBUSY;
	old = calloc(HPAGE_PMD_NR, sizeof(*old));
	head = old ? alloc_huge_page(mm->host) : NULL;
	if (!head) {
		free(old);
		return -ENOMEM;
	}
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		clear_highpage(head + i);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, haddr,
				haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	spin_lock(&mm->page_table_lock);
	pte_table_lock(table, haddr, &ptl);
	if (collapse_table_ok(mm, table))
		n = collapse_locked(vma, haddr, pmd_table, pmdp, table, head,
				    old);
	else
		ret = -EBUSY;
	spin_unlock(ptl);
	spin_unlock(&mm->page_table_lock);
	if (!ret)
		flush_tlb_range(mm, haddr, haddr + HPAGE_PMD_SIZE);
	mmu_notifier_invalidate_range_end(&range);
	if (ret) {
		free_huge_unmapped(head);
	} else {
		for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
			lru_cache_add(head + i);
		add_mm_counter(mm, MM_ANONPAGES, HPAGE_PMD_NR - (long)n);
		count_vm_event(mm->host, THP_COLLAPSE_ALLOC);
	}
	for (unsigned long i = 0; i < n; i++)
		put_page(old[i]);
	free(old);
	return ret;
}

int khugepaged_collapse(struct mm_struct *mm, unsigned long addr)
{
	unsigned long haddr = addr & HPAGE_PMD_MASK;
	struct vm_area_struct *vma;
	int ret = -EINVAL;

	if (!mm_api_ok(mm, MM_USERS) || addr >= TASK_SIZE)
		return -EINVAL;
	mmap_write_lock(mm);
	vma = vma_lookup(mm, haddr);
	if (vma && vma->anon_vma && thp_vma_allowable(vma, haddr)) {
		down_write(&vma->anon_vma->rwsem);
		ret = collapse_span(vma, haddr);
		up_write(&vma->anon_vma->rwsem);
	}
	mmap_write_unlock(mm);
	return ret;
}
