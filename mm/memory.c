// SPDX-License-Identifier: MIT
/*
 * Page tables and the primary MMU's core paths: the page-fault handler,
 * copy-on-write, zapping with mmu_gather, fork's copy_page_range() and
 * the range walkers (CPU loads and stores are in cpu_access.c).
 *
 * The rule every path here keeps for secondary MMUs: a present PTE is
 * never removed, write-protected or re-pointed except inside an
 * invalidate_range_start/end pair covering it (or, for the historical
 * CHANGE_PTE_DIRECT mode, with change_pte), and a page is never freed
 * until the PTE is gone and the TLB flushed.  Filling a none PTE or adding
 * permissions needs no notification: a secondary MMU can only lag behind
 * with fewer permissions, and refaults to catch up.
 *
 * Swap entries: a fault on one reads the page back (do_swap_page()),
 * fork duplicates them, zapping frees them.  Filling a swap PTE is a fill
 * like any other: no notification.
 */
#include <string.h>

#include <mmulab/huge_mm.h>

#include "swap.h"

/* ---------------------------------------------------------------------
 * Page-table walking
 */

/*
 * Find (and with @alloc, create) the table at @stop covering @addr.  New
 * tables are installed under page_table_lock, re-checking that nobody
 * installed one meanwhile.  Returns NULL when a level is missing (or,
 * with @alloc, when the host is out of frames).  A huge PMD met on the
 * way to a PTE table is split first when @split allows it (the walker
 * wants 4 KiB entries: __split_huge_pmd(), as Linux's split_huge_pmd()
 * calls before a PTE-level walk), else it ends the walk with NULL.
 */
static struct page *walk_to_table(struct mm_struct *mm, unsigned long addr,
				  int stop, bool alloc, bool split)
{
	struct page *table = mm->pgd;

	for (int level = PT_PGD; level > stop; level--) {
		pte_t *e = &table->pt_table[pt_index(addr, level)];
		pte_t v = ptep_get(e);

		if (level == PT_PMD && pmd_leaf(v)) {
			if (!split)
				return NULL;
			__split_huge_pmd(mm, addr);
			v = ptep_get(e);
			if (pmd_leaf(v))
				return NULL;
		}
		if (pte_none(v)) {
			struct page *new;

			if (!alloc)
				return NULL;
			new = alloc_pt_page(mm->host);
			if (!new)
				return NULL;
			new->pt_level = level - 1;
			spin_lock(&mm->page_table_lock);
			v = ptep_get(e);
			if (pte_none(v)) {
				v = pfn_pte(page_to_pfn(new), _PAGE_TABLE);
				set_pte(e, v);
				new = NULL;
			}
			spin_unlock(&mm->page_table_lock);
			if (new)
				free_pt_page(new);
			/* A huge fault may have filled it meanwhile. */
			if (pmd_leaf(v))
				return NULL;
		}
		table = pt_next(mm, v);
	}
	return table;
}

static struct page *walk_to_pte_table(struct mm_struct *mm, unsigned long addr,
				      bool alloc)
{
	return walk_to_table(mm, addr, PT_PTE, alloc, true);
}

/**
 * pt_table_at() - the table at @level covering @addr of @mm (PT_PMD: the
 * PMD table, whatever its entry for @addr holds), created with @alloc.
 * Return: the table page, or NULL.
 */
struct page *pt_table_at(struct mm_struct *mm, unsigned long addr, int level,
			 bool alloc)
{
	return walk_to_table(mm, addr, level, alloc, false);
}

struct page *pte_table_page(struct mm_struct *mm, unsigned long addr)
{
	return walk_to_pte_table(mm, addr, false);
}

/*
 * The PTE table of the first address in [*addr, end) that has one, with
 * *addr moved up to that address; NULL when no table covers any of the
 * range.  An absent entry at any level skips the whole span it would
 * cover, so a walk of a sparse range costs what is populated.  A huge PMD
 * is offered to @pmd_fn (with the end of the range): true means it dealt
 * with the PMD and the walk goes on after it (or at @end); false, or no
 * @pmd_fn, splits the PMD and walks its new PTE table.
 */
struct page *pte_table_next_huge(struct mm_struct *mm, unsigned long *addr,
				 unsigned long end, pmd_fn_t pmd_fn, void *arg)
{
	unsigned long a = *addr;

	while (a < end) {
		struct page *table = mm->pgd;
		int level;

		for (level = PT_PGD; level > PT_PTE; level--) {
			pte_t *e = &table->pt_table[pt_index(a, level)];
			pte_t v = ptep_get(e);

			if (level == PT_PMD && pmd_leaf(v)) {
				if (pmd_fn && pmd_fn(e, a, end, arg))
					break;
				__split_huge_pmd(mm, a);
				v = ptep_get(e);
				if (pmd_leaf(v))
					break; /* still huge: skip it */
			}
			if (pte_none(v))
				break;
			table = pt_next(mm, v);
		}
		if (level == PT_PTE) {
			*addr = a;
			return table;
		}
		a = pt_addr_end(a, end, level);
	}
	return NULL;
}

struct page *pte_table_next(struct mm_struct *mm, unsigned long *addr,
			    unsigned long end)
{
	return pte_table_next_huge(mm, addr, end, NULL, NULL);
}

/** pte_offset_map_lock() - the PTE of @addr, locked; NULL if no table. */
pte_t *pte_offset_map_lock(struct mm_struct *mm, unsigned long addr,
			   spinlock_t **ptlp)
{
	struct page *table = walk_to_pte_table(mm, addr, false);

	return table ? pte_table_lock(table, addr, ptlp) : NULL;
}

/* As pte_offset_map_lock(), but NULL for a huge PMD rather than splitting
 * it: Linux's own pte_offset_map_lock(), public (<mmulab/mm.h>). */
pte_t *pte_offset_map_lock_nosplit(struct mm_struct *mm, unsigned long addr,
				   spinlock_t **ptlp)
{
	struct page *table;

	if (!mm_api_ok(mm, MM_STRUCT) || !ptlp || addr >= TASK_SIZE)
		return NULL;
	/* The upper tables are followed without their locks (pgtable.h). */
	mmap_assert_locked(mm);
	table = walk_to_table(mm, addr, PT_PTE, false, false);
	return table ? pte_table_lock(table, addr, ptlp) : NULL;
}

/** pte_alloc_map_lock() - as above, creating tables; NULL on ENOMEM. */
pte_t *pte_alloc_map_lock(struct mm_struct *mm, unsigned long addr,
			  spinlock_t **ptlp)
{
	struct page *table = walk_to_pte_table(mm, addr, true);

	return table ? pte_table_lock(table, addr, ptlp) : NULL;
}

/*
 * Free the tables below @table (at @level, covering from @base) that meet
 * [start, end) and whose whole span no VMA covers any more.  Runs with the
 * mmap_lock held for writing, after the VMAs that covered the span were
 * unlinked from the rmap, so only GUP-fast can be inside: @batch defers.
 */
static void free_table_range(struct mm_struct *mm, struct page *table,
			     int level, unsigned long base, unsigned long start,
			     unsigned long end, struct pt_free_batch *batch)
{
	unsigned long span = pt_entry_span(level);
	unsigned int first = start > base ? (start - base) / span : 0;

	for (unsigned int i = first; i < PTRS_PER_TABLE; i++) {
		unsigned long lo = base + i * span, hi = lo + span;
		pte_t *e = &table->pt_table[i];
		struct page *child;

		if (lo >= end)
			break;
		if (pte_none(ptep_get_exclusive(e)))
			continue;
		if (level == PT_PMD && pmd_leaf(ptep_get_exclusive(e))) {
			/* Zapped with its VMA: a leftover is a bug. */
			WARN_ON_ONCE(!interval_tree_iter_first(&mm->mm_vmas, lo,
							       hi - 1));
			continue;
		}
		child = pt_next(mm, ptep_get_exclusive(e));
		if (level > PT_PMD)
			free_table_range(mm, child, level - 1, lo, start, end,
					 batch);
		if (interval_tree_iter_first(&mm->mm_vmas, lo, hi - 1))
			continue;
		if (level == PT_PMD) {
			for (int j = 0; j < PTRS_PER_TABLE; j++)
				WARN_ON_ONCE(!pte_none(child->pt_table[j]));
		}
		set_pte(e, __pte(0));
		if (level == PT_PUD)
			free_deposited_tables(child, batch);
		tlb_remove_table(batch, child); /* GUP-fast may be in it */
	}
}

/** free_pgtables() - free the page tables of [@start, @end) no VMA uses. */
void free_pgtables(struct mm_struct *mm, unsigned long start,
		   unsigned long end)
{
	struct pt_free_batch batch = { NULL };

	mmap_assert_write_locked(mm);
	free_table_range(mm, mm->pgd, PT_PGD, 0, start, end, &batch);
	tlb_table_flush(mm, &batch);
}

/* ---------------------------------------------------------------------
 * TLB flushing and mmu_gather
 */

/*
 * The primary TLB flush.  Secondary TLBs that cache the CPU's own page
 * tables (IOMMU SVA) are flushed from here, after the PTE change and before
 * any page of the range can be freed.
 */
void flush_tlb_range(struct mm_struct *mm, unsigned long start,
		     unsigned long end)
{
	count_vm_event(mm->host, TLB_FLUSH);
	mmu_notifier_arch_invalidate_secondary_tlbs(mm, start, end);
	checker_flush_tlb_range(mm, start, end);
}

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm)
{
	tlb->mm = mm;
	tlb->start = ~0UL;
	tlb->end = 0;
	tlb->nr = 0;
}

void tlb_track(struct mmu_gather *tlb, unsigned long addr)
{
	if (addr < tlb->start)
		tlb->start = addr;
	if (addr + PAGE_SIZE > tlb->end)
		tlb->end = addr + PAGE_SIZE;
}

/* Queue @page's mapping reference; true when the batch is full. */
bool tlb_remove_page(struct mmu_gather *tlb, struct page *page)
{
	tlb->pages[tlb->nr++] = page;
	return tlb->nr == MMU_GATHER_BATCH;
}

/*
 * Flush the primary TLB for what was zapped, then free the pages: F, X.
 * A swap-cache page whose last mapping this was leaves the cache first,
 * unless a swap entry still names its slot.  The references are dropped
 * as one batch (release_pages()), so the frames that die go back to the
 * free list under one hold of its lock, as Linux's tlb_batch_pages_flush()
 * frees them, never before the flush.
 */
void tlb_flush_mmu(struct mmu_gather *tlb)
{
	if (mutant_is(MUTANT_ZAP_NO_TLB_FLUSH))
		return tlb_flush_mmu_mutant_no_flush(tlb);
	if (tlb->end > tlb->start)
		flush_tlb_range(tlb->mm, tlb->start, tlb->end);
	tlb_batch_pages_flush(tlb);
}

/* The pages of the batch go (X), and the gather starts a new range. */
void tlb_batch_pages_flush(struct mmu_gather *tlb)
{
	tlb->start = ~0UL;
	tlb->end = 0;
	for (unsigned int i = 0; i < tlb->nr; i++)
		free_swap_cache(tlb->pages[i]);
	release_pages(tlb->pages, tlb->nr);
	tlb->nr = 0;
}

void tlb_finish_mmu(struct mmu_gather *tlb)
{
	tlb_flush_mmu(tlb);
}

/* ---------------------------------------------------------------------
 * Zapping
 */

/*
 * A non-present entry being zapped.  A swap entry gives back its slot
 * reference (and the swap-cache page, if that was the last one).  A
 * migration entry holds neither a reference nor a map count
 * (try_to_migrate_one() dropped both when it wrote the entry) but still
 * counts in rss_stat as the page it stands for, as in Linux; the migration
 * then finds the PTE gone and leaves it alone.  No TLB can cache a
 * non-present entry.
 */
static void zap_nonpresent_pte(struct mm_struct *mm, pte_t *pte, pte_t v)
{
	swp_entry_t entry = pte_to_swp_entry(v);

	set_pte(pte, __pte(0));
	if (is_device_private_entry(entry) || is_device_exclusive_entry(entry)) {
		zap_device_entry(mm, entry);
		return;
	}
	if (is_migration_entry(entry)) {
		dec_mm_counter(mm, mm_counter_page(pfn_to_page(
					   mm->host, swp_offset(entry))));
		return;
	}
	if (WARN_ON_ONCE(!is_swap_entry(entry)))
		return;
	free_swap_and_cache(mm->host, entry);
	dec_mm_counter(mm, MM_SWAPENTS);
}

/*
 * Does @details keep the zap away from @v?  Without even_cows only the
 * file's own pages go: private copies (anonymous pages, their swap
 * entries) stay, as Linux's zap_skip_check_mapping().
 */
static bool zap_skip(const struct zap_details *details, struct mm_struct *mm,
		     pte_t v)
{
	if (!details || details->even_cows)
		return false;
	if (!pte_present(v) || pte_special(v))
		return is_swap_pte(v);
	return page_mapping_raw(pfn_to_page(mm->host, pte_pfn(v))) !=
	       details->mapping;
}

/* Clear the PTEs of PTE table @table in [addr, end); returns where it
 * stopped. */
static unsigned long zap_pte_table(struct mmu_gather *tlb,
				   struct vm_area_struct *vma,
				   struct page *table, unsigned long addr,
				   unsigned long end, bool *flush,
				   const struct zap_details *details)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl;
	pte_t *pte = pte_table_lock(table, addr, &ptl);

	for (; addr < end; addr += PAGE_SIZE, pte++) {
		pte_t v = ptep_get(pte);
		struct page *page;

		if (pte_none(v) || zap_skip(details, mm, v))
			continue;
		if (is_swap_pte(v)) {
			zap_nonpresent_pte(mm, pte, v);
			continue;
		}
		set_pte_at(mm, addr, pte, __pte(0));
		tlb_track(tlb, addr);
		if (pte_special(v))
			continue;
		page = pfn_to_page(mm->host, pte_pfn(v));
		if (pte_dirty(v))
			SetPageFlag(page, PG_dirty);
		if (pte_young(v))
			SetPageFlag(page, PG_referenced);
		dec_mm_counter(mm, mm_counter_page(page));
		page_remove_rmap(page);
		if (tlb_remove_page(tlb, page)) {
			addr += PAGE_SIZE;
			*flush = true;
			break;
		}
	}
	spin_unlock(ptl);
	return addr;
}

struct zap_huge_arg {
	struct mmu_gather *tlb;
	struct vm_area_struct *vma;
	const struct zap_details *details;
};

/* A huge PMD the zap covers whole goes at once; one it covers in part is
 * split first (zap_pmd_range()). */
static bool zap_pmd_fn(pte_t *pmdp, unsigned long addr, unsigned long end,
		       void *arg)
{
	struct zap_huge_arg *z = arg;

	/*
	 * A zap with details is unmap_mapping_pages() of a file's VMA, and a
	 * huge PMD is only ever anonymous and private (thp_vma_allowable()
	 * refuses a file or shared VMA), so none can be met here.  Split it
	 * if one were: the 4 KiB zap then applies the details page by page.
	 */
	if (WARN_ON_ONCE(z->details))
		return false;
	if ((addr & ~HPAGE_PMD_MASK) || end - addr < HPAGE_PMD_SIZE)
		return false;
	return zap_huge_pmd(z->tlb, z->vma, pmdp, addr);
}

/**
 * unmap_page_range() - clear every PTE of @vma in [@addr, @end), queueing
 * the pages in @tlb.  The caller has started an invalidation covering the
 * range.  A full batch is flushed and freed here, mid-range.
 */
void unmap_page_range(struct mmu_gather *tlb, struct vm_area_struct *vma,
		      unsigned long addr, unsigned long end)
{
	unmap_page_range_details(tlb, vma, addr, end, NULL);
}

/**
 * unmap_page_range_details() - unmap_page_range(), zapping only what
 * @details (NULL: everything) selects.
 * @tlb: the gather the pages are queued in
 * @vma: the VMA
 * @addr: start of the range
 * @end: end of the range
 * @details: what a file zap removes, or NULL
 */
void unmap_page_range_details(struct mmu_gather *tlb,
			      struct vm_area_struct *vma, unsigned long addr,
			      unsigned long end,
			      const struct zap_details *details)
{
	struct zap_huge_arg z = { tlb, vma, details };
	unsigned long next;
	struct page *table;

	for_each_pte_table_huge(vma->vm_mm, table, addr, next, end, zap_pmd_fn,
				&z) {
		bool flush = false;

		next = zap_pte_table(tlb, vma, table, addr, next, &flush,
				     details);
		if (flush)
			tlb_flush_mmu(tlb);
		cond_resched();
	}
}

/*
 * A CLEAR invalidation of [@addr, @addr + @size) of one VMA around the
 * zap, then the flush and the frees.
 */
static void zap_page_range_details(struct vm_area_struct *vma,
				   unsigned long addr, unsigned long size,
				   const struct zap_details *details)
{
	struct mmu_notifier_range range;
	struct mmu_gather tlb;

	if (details && mutant_is(MUTANT_PUNCH_FREE_BEFORE_START))
		return zap_page_range_mutant_free_before_start(vma, addr, size,
							       details);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm, addr,
				addr + size);
	tlb_gather_mmu(&tlb, vma->vm_mm);
	mmu_notifier_invalidate_range_start(&range);
	unmap_page_range_details(&tlb, vma, addr, addr + size, details);
	mmu_notifier_invalidate_range_end(&range);
	tlb_finish_mmu(&tlb);
}

/**
 * zap_page_range_single() - MADV_DONTNEED of [@addr, @addr + @size) in one
 * VMA: a CLEAR invalidation around the zap, then the flush and the frees.
 */
void zap_page_range_single(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long size)
{
	zap_page_range_details(vma, addr, size, NULL);
}

/**
 * unmap_mapping_pages() - unmap page offsets [@start, @start + @nr) of
 * @mapping (@nr 0: to the end) from every VMA that maps them, as Linux's
 * unmap_mapping_range(): for each VMA of i_mmap, in its order, a
 * blockable CLEAR invalidation of the addresses that map the range, and
 * the zap inside it.  With @even_cows (truncation) private copies go too;
 * without (hole punching) only the file's pages.  Runs under i_mmap_rwsem
 * shared, which keeps each VMA and its page tables in place; no mmap_lock
 * is needed, and the caller may hold a page lock.
 */
void unmap_mapping_pages(struct address_space *mapping, unsigned long start,
			 unsigned long nr, bool even_cows)
{
	struct zap_details details = { .mapping = mapping,
				       .even_cows = even_cows };
	unsigned long last = nr ? start + nr : ~0UL;
	struct vm_area_struct *vma;

	down_read(&mapping->i_mmap_rwsem);
	list_for_each_entry(vma, &mapping->i_mmap, shared_node) {
		unsigned long first = vma->vm_pgoff;
		unsigned long end = first +
				    ((vma->vm_end - vma->vm_start) >> PAGE_SHIFT);
		unsigned long lo = start > first ? start : first;
		unsigned long hi = last < end ? last : end;

		if (lo >= hi)
			continue;
		zap_page_range_details(vma,
				       vma->vm_start + ((lo - first) << PAGE_SHIFT),
				       (hi - lo) << PAGE_SHIFT, &details);
	}
	up_read(&mapping->i_mmap_rwsem);
}

/* ---------------------------------------------------------------------
 * Page faults
 */

/** vma_access_ok() - may an access of kind @fault_flags touch @vma? */
bool vma_access_ok(struct vm_area_struct *vma, unsigned int fault_flags)
{
	unsigned long f = vma->vm_flags;

	if (fault_flags & FAULT_FLAG_WRITE) {
		if (f & VM_WRITE)
			return true;
		/* FOLL_FORCE may write a private mapping it could make writable. */
		return (fault_flags & FAULT_FLAG_FORCE) && !(f & VM_SHARED) &&
		       (f & VM_MAYWRITE);
	}
	return f & (VM_READ | VM_WRITE | VM_EXEC);
}

static pte_t mk_leaf(unsigned long pfn, struct vm_area_struct *vma,
		     bool writable, bool dirty)
{
	pte_t pte = pfn_pte(pfn, vm_page_prot(vma->vm_flags, writable) |
					 _PAGE_ACCESSED);

	return dirty ? pte_mkdirty(pte) : pte;
}

/*
 * A reaped address space (the OOM reaper set MMF_UNSTABLE before it
 * unmapped anything) must not get new memory mapped: checked under the
 * PTL, after the reaper's zap of this PTE if it came first.
 */
static bool mm_unstable(struct mm_struct *mm)
{
	return mm_flag_test(mm, MMF_UNSTABLE);
}

/*
 * No PTE table for @addr: out of frames, or a huge fault of another task
 * filled the PMD meanwhile, and the access is retried (Linux's
 * pmd_trans_unstable() check after pte_alloc()).
 */
static vm_fault_t pte_alloc_failed(struct mm_struct *mm, unsigned long addr)
{
	return pmd_huge_pfn(mm, addr, NULL) ? 0 : VM_FAULT_OOM;
}

/* First touch of anonymous memory: the zero page for a read, a new page for
 * a write.  No notification: the PTE was none, nothing can map it. */
static vm_fault_t do_anonymous_page(struct vm_area_struct *vma,
				    unsigned long addr, unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	bool write = flags & FAULT_FLAG_WRITE;
	struct page *page = NULL;
	spinlock_t *ptl;
	pte_t *pte;

	if (write) {
		if (anon_vma_prepare(vma))
			return VM_FAULT_OOM;
		page = alloc_page(mm->host);
		if (!page)
			return VM_FAULT_OOM;
		clear_highpage(page);
	}
	pte = pte_alloc_map_lock(mm, addr, &ptl);
	if (!pte) {
		if (page)
			put_page(page);
		return pte_alloc_failed(mm, addr);
	}
	if (!pte_none(ptep_get(pte)) || mm_unstable(mm)) {
		/* Somebody else filled it; let the caller retry the access. */
		vm_fault_t ret = mm_unstable(mm) ? VM_FAULT_SIGBUS : 0;

		spin_unlock(ptl);
		if (page)
			put_page(page);
		return ret;
	}
	if (!page) {
		set_pte_at(mm, addr, pte,
			   __pte(mk_leaf(ZERO_PFN, vma, false, false).pte |
				 _PAGE_SPECIAL));
		count_vm_event(mm->host, ZERO_PAGE_MAP);
	} else {
		page_add_new_anon_rmap(page, vma, addr);
		lru_cache_add(page);
		inc_mm_counter(mm, MM_ANONPAGES);
		set_pte_at(mm, addr, pte,
			   mk_leaf(page_to_pfn(page), vma, true, true));
	}
	spin_unlock(ptl);
	return 0;
}

/* A page-cache lookup's error as a fault's: past the end is SIGBUS. */
static vm_fault_t file_fault_error(int err)
{
	return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
}

/*
 * Fault on a file mapping that maps the page cache's page: a shared
 * mapping's (writable if allowed), or a read of a private one (read-only:
 * a write then copies it, do_wp_page()).  Linux's do_read_fault() and
 * do_shared_fault().
 */
static vm_fault_t do_shared_fault(struct vm_area_struct *vma,
				  unsigned long addr, unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long pgoff = linear_page_index(vma, addr);
	bool shared = vma->vm_flags & VM_SHARED;
	struct page *page;
	spinlock_t *ptl;
	pte_t *pte;
	int err;

	page = shmem_get_page(vma->vm_file, pgoff, mm->host, &err);
	if (!page)
		return file_fault_error(err);
	/*
	 * Map the page only while it is locked and still the object's:
	 * migration hands a cache page over to its replacement under the
	 * page lock, and must not have it mapped anew meanwhile.
	 */
	lock_page(page);
	if (page_mapping_raw(page) != vma->vm_file) {
		unlock_page(page);
		put_page(page);
		return 0; /* replaced: look it up again */
	}
	pte = pte_alloc_map_lock(mm, addr, &ptl);
	if (!pte) {
		unlock_page(page);
		put_page(page);
		return pte_alloc_failed(mm, addr);
	}
	if (!pte_none(ptep_get(pte)) || mm_unstable(mm)) {
		vm_fault_t ret = mm_unstable(mm) ? VM_FAULT_SIGBUS : 0;

		spin_unlock(ptl);
		unlock_page(page);
		put_page(page);
		return ret;
	}
	page_add_file_rmap(page);
	inc_mm_counter(mm, MM_SHMEMPAGES);
	set_pte_at(mm, addr, pte,
		   mk_leaf(page_to_pfn(page), vma, shared,
			   shared && (flags & FAULT_FLAG_WRITE)));
	/*
	 * Our reference is the PTE's now.  Linux unlocks after the PTL, its
	 * truncation taking the page lock before the page cache lets go; the
	 * model's teardown does not, so a zap and a teardown after the PTL
	 * is dropped could free the page: unlock it first.
	 */
	unlock_page(page);
	spin_unlock(ptl);
	return 0;
}

/*
 * Write fault on a none PTE of a private file mapping: copy the page
 * cache's page into a new anonymous page of this mapping and map that
 * (Linux's do_cow_fault()).  The cache page is read under its lock, so a
 * truncation is not half done; one that removes it afterwards unmaps the
 * copy too (even_cows).  No notification: the PTE was none.
 */
static vm_fault_t do_cow_fault(struct vm_area_struct *vma, unsigned long addr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *page, *new;
	vm_fault_t ret = 0;
	spinlock_t *ptl;
	pte_t *pte;
	int err;

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	page = shmem_get_page(vma->vm_file, linear_page_index(vma, addr),
			      mm->host, &err);
	if (!page)
		return file_fault_error(err);
	new = alloc_page(mm->host);
	if (!new) {
		put_page(page);
		return VM_FAULT_OOM;
	}
	lock_page(page);
	copy_highpage(new, page);
	unlock_page(page);
	put_page(page);
	pte = pte_alloc_map_lock(mm, addr, &ptl);
	if (!pte) {
		put_page(new);
		return VM_FAULT_OOM;
	}
	if (!pte_none(ptep_get(pte)) || mm_unstable(mm)) {
		ret = mm_unstable(mm) ? VM_FAULT_SIGBUS : 0;
		spin_unlock(ptl);
		put_page(new);
		return ret;
	}
	page_add_new_anon_rmap(new, vma, addr);
	lru_cache_add(new);
	inc_mm_counter(mm, MM_ANONPAGES);
	set_pte_at(mm, addr, pte, mk_leaf(page_to_pfn(new), vma, true, true));
	spin_unlock(ptl);
	return 0;
}

void set_pte_at_notify(struct mm_struct *mm, unsigned long addr, pte_t *ptep,
		       pte_t pte)
{
	mmu_notifier_change_pte(mm, addr, pte);
	set_pte_at(mm, addr, ptep, pte);
}

/** ptep_clear_flush() - clear a present PTE and flush the TLB for it (P, F). */
pte_t ptep_clear_flush(struct mm_struct *mm, unsigned long addr, pte_t *ptep)
{
	pte_t old = ptep_get(ptep);

	set_pte_at(mm, addr, ptep, __pte(0));
	flush_tlb_range(mm, addr, addr + PAGE_SIZE);
	return old;
}

/**
 * change_pte_mode() - which era of set_pte_at_notify() @mm's host models
 * (wp_page_copy() and KSM's merge).
 */
enum change_pte_mode change_pte_mode(struct mm_struct *mm)
{
	if (mutant_is(MUTANT_CHANGE_PTE_UNBOOKENDED))
		return CHANGE_PTE_DIRECT; /* broken on purpose: no bookends */
	return mm->host->cfg.change_pte;
}

/*
 * Copy-on-write: give this mapping its own copy of @old (NULL: the zero
 * page).  The PTE is re-pointed inside a CLEAR invalidation of the page,
 * cleared and flushed before the new entry is set; the old page's mapping
 * reference is dropped only after invalidate_range_end.  In
 * CHANGE_PTE_BOOKENDED mode the new entry is also announced with
 * change_pte (which finds nothing mapped: start already zapped it); in
 * CHANGE_PTE_DIRECT mode there is no start/end and change_pte is the only
 * notification, as in 2009-2012 kernels.
 */
static vm_fault_t wp_page_copy(struct vm_area_struct *vma, unsigned long addr,
			       pte_t orig, struct page *old,
			       unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	enum change_pte_mode mode = change_pte_mode(mm);
	bool writable = flags & FAULT_FLAG_WRITE;
	struct mmu_notifier_range range;
	bool replaced = false;
	struct page *new;
	spinlock_t *ptl;
	pte_t *pte;

	if (anon_vma_prepare(vma))
		return VM_FAULT_OOM;
	new = alloc_page(mm->host);
	if (!new)
		return VM_FAULT_OOM;
	if (old)
		copy_highpage(new, old);
	else
		clear_highpage(new);

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
				addr + PAGE_SIZE);
	if (mode != CHANGE_PTE_DIRECT)
		mmu_notifier_invalidate_range_start(&range);
	pte = pte_offset_map_lock(mm, addr, &ptl);
	if (pte && pte_val(ptep_get(pte)) == pte_val(orig)) {
		pte_t entry = mk_leaf(page_to_pfn(new), vma, writable, writable);

		ptep_clear_flush(mm, addr, pte);
		page_add_new_anon_rmap(new, vma, addr);
		lru_cache_add(new);
		if (!old || !PageAnon(old))
			inc_mm_counter(mm, MM_ANONPAGES);
		if (old && !PageAnon(old)) /* a private file mapping's copy */
			dec_mm_counter(mm, MM_SHMEMPAGES);
		if (mode == CHANGE_PTE_NONE)
			set_pte_at(mm, addr, pte, entry);
		else
			set_pte_at_notify(mm, addr, pte, entry);
		if (old && PageKsm(old))
			count_vm_event(mm->host, COW_KSM);
		if (old)
			page_remove_rmap(old);
		replaced = true;
		count_vm_event(mm->host, COW_FAULT);
	}
	if (pte)
		spin_unlock(ptl);
	if (mode != CHANGE_PTE_DIRECT)
		mmu_notifier_invalidate_range_end(&range);
	if (!replaced) {
		put_page(new);
	} else if (old) {
		free_swap_cache(old);
		put_page(old);
	}
	return 0;
}

/*
 * May a write (or unshare) fault reuse this anonymous page in place?  Never
 * a KSM page: KSM's stable tree relies on its contents staying as merged,
 * and other mappings may share it at any moment.  Called under the PTL.
 * A swap-cache page mapped only here is reusable once it leaves the
 * cache, which it may if no swap entry still names its slot: the cache's
 * reference is then the only other one.
 */
static bool wp_can_reuse_anon_page(struct page *page)
{
	if (!PageAnon(page) || PageKsm(page))
		return false;
	if (PageFlag(page, PG_anon_exclusive))
		return true;
	if (PageSwapCache(page) && page_mapcount(page) == 1 &&
	    page_ref_count(page) == 2 && trylock_page(page)) {
		try_free_swap(page);
		unlock_page(page);
	}
	/* Only this PTE references it: the last sharer after fork. */
	return page_ref_count(page) == 1 && page_mapcount(page) == 1;
}

/* Write (or unshare) fault on a present PTE; called with the PTL held. */
static vm_fault_t do_wp_page(struct vm_area_struct *vma, unsigned long addr,
			     pte_t *pte, spinlock_t *ptl, pte_t orig,
			     unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *page;
	vm_fault_t ret;

	if (vma->vm_flags & VM_SHARED) {
		/* Shared memory: upgrade in place, no notification. */
		set_pte_at(mm, addr, pte,
			   pte_mkdirty(pte_mkyoung(pte_mkwrite(orig))));
		spin_unlock(ptl);
		return 0;
	}
	if (pte_special(orig)) {
		spin_unlock(ptl);
		return wp_page_copy(vma, addr, orig, NULL, flags);
	}
	page = pfn_to_page(mm->host, pte_pfn(orig));
	if (wp_can_reuse_anon_page(page)) {
		pte_t entry = pte_mkyoung(orig);

		SetPageFlag(page, PG_anon_exclusive);
		if ((flags & FAULT_FLAG_WRITE) && (vma->vm_flags & VM_WRITE))
			entry = pte_mkdirty(pte_mkwrite(entry));
		set_pte_at(mm, addr, pte, entry);
		count_vm_event(mm->host, PGREUSE);
		spin_unlock(ptl);
		return 0;
	}
	get_page(page);
	spin_unlock(ptl);
	ret = wp_page_copy(vma, addr, orig, page, flags);
	put_page(page);
	return ret;
}

/*
 * Should a swap-cache page about to be mapped leave the cache?  When swap
 * is filling up, a second copy costs a slot someone else may need; and a
 * write fault dirties the page at once, making the slot's copy stale, so
 * it goes if this fault held the last swap entry (only this fault's and
 * the cache's references are left).
 */
static bool should_try_to_free_swap(struct page *page, unsigned int flags)
{
	if (!PageSwapCache(page))
		return false;
	if (vm_swap_full(__page_host(page)))
		return true;
	return (flags & FAULT_FLAG_WRITE) && page_ref_count(page) == 2;
}

/*
 * Map the locked swap-cache @page in place of the swap PTE @orig, which
 * the caller found still there under the PTL.  The PTE's reference on the
 * slot becomes the page's mapping reference.  The page may be mapped
 * writable at once if it is certainly exclusive: the entry carried the
 * mark, or no one but this fault holds the page.
 */
static void map_swap_page(struct vm_area_struct *vma, unsigned long addr,
			  pte_t *pte, pte_t orig, struct page *page,
			  unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	bool exclusive = pte_swp_exclusive(orig);
	pte_t entry;

	swap_free(mm->host, pte_to_swp_entry(orig));
	dec_mm_counter(mm, MM_SWAPENTS);
	inc_mm_counter(mm, MM_ANONPAGES);
	if (should_try_to_free_swap(page, flags))
		try_free_swap(page);
	if (page_ref_count(page) == 1)
		exclusive = true;
	entry = mk_leaf(page_to_pfn(page), vma, false, false);
	if (exclusive && (vma->vm_flags & VM_WRITE)) {
		entry = pte_mkwrite(entry);
		if (flags & FAULT_FLAG_WRITE)
			entry = pte_mkdirty(entry);
	}
	page_add_anon_rmap(page, vma, addr, exclusive);
	set_pte_at(mm, addr, pte, entry);
}

/*
 * A fault on a swap entry (a fill: no notification, docs/architecture.md
 * "What each primary operation sends", swap-in): find the
 * page in the swap cache or read it from its slot, lock it, and map it if
 * the PTE still holds the entry.  The page lock keeps reclaim from
 * unmapping or evicting the page meanwhile; the PTE check catches a zap
 * or another fault that got there first.  Then the access is retried (a
 * write to a page mapped read-only takes the COW path).
 */
static vm_fault_t do_swap_page(struct vm_area_struct *vma, unsigned long addr,
			       pte_t orig, unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	swp_entry_t entry = pte_to_swp_entry(orig);
	vm_fault_t ret = 0;
	struct page *page;
	spinlock_t *ptl;
	pte_t *pte;
	int r;

	/* Migration entries are mm/migrate.c's to wait on. */
	if (!is_swap_entry(entry) || WARN_ON_ONCE(!READ_ONCE(vma->anon_vma)))
		return VM_FAULT_SIGSEGV;
	r = swapin_page(mm->host, entry, &page);
	if (r == -ENOMEM)
		return VM_FAULT_OOM;
	if (r < 0)
		return 0; /* the entry went: retry and see what replaced it */
	if (r == 1)
		count_vm_event(mm->host, PGMAJFAULT);
	lock_page(page);
	if (!PageSwapCache(page) || page_swap_entry(page).val != entry.val)
		goto out_page; /* it left the cache: the PTE changed too */
	pte = pte_offset_map_lock(mm, addr, &ptl);
	if (!pte)
		goto out_page;
	if (pte_val(ptep_get(pte)) != pte_val(orig)) {
		spin_unlock(ptl);
		goto out_page;
	}
	if (mm_unstable(mm)) {
		spin_unlock(ptl);
		ret = VM_FAULT_SIGBUS;
		goto out_page;
	}
	map_swap_page(vma, addr, pte, orig, page, flags);
	/*
	 * The reference is the PTE's now: once the PTL is dropped a zap may
	 * free the page.  Unlock it first, as Linux does.
	 */
	unlock_page(page);
	spin_unlock(ptl);
	return 0;
out_page:
	unlock_page(page);
	put_page(page);
	return ret;
}

/**
 * handle_mm_fault() - resolve a fault at @addr in @vma.  The caller holds
 * the mmap_lock and has checked vma_access_ok().  Returns 0 when the
 * access may be retried (it may fault again), or VM_FAULT_*.
 */
vm_fault_t handle_mm_fault(struct vm_area_struct *vma, unsigned long addr,
			   unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	bool huge;
	spinlock_t *ptl;
	pte_t *pte, v;
	vm_fault_t ret;

	count_vm_event(mm->host, PGFAULT);
	addr &= PAGE_MASK;
	ret = huge_pmd_fault(vma, addr, flags, &huge);
	if (huge)
		return ret;
	pte = pte_offset_map_lock(mm, addr, &ptl);
	if (!pte)
		goto missing;
	v = ptep_get(pte);
	if (pte_none(v)) {
		spin_unlock(ptl);
		goto missing;
	}
	if (!pte_present(v)) {
		if (is_migration_pte(v))
			return migration_entry_wait(mm, ptl, v);
		if (is_device_private_pte(v) || is_device_exclusive_pte(v))
			return do_device_entry_fault(vma, addr, ptl, v, flags);
		spin_unlock(ptl);
		if (is_swap_pte(v))
			return do_swap_page(vma, addr, v, flags);
		return VM_FAULT_SIGSEGV;
	}
	if ((flags & FAULT_FLAG_WRITE) && !pte_write(v))
		return do_wp_page(vma, addr, pte, ptl, v, flags);
	if ((flags & FAULT_FLAG_UNSHARE) && !pte_special(v) &&
	    !wp_can_reuse_anon_page(pfn_to_page(mm->host, pte_pfn(v))))
		return do_wp_page(vma, addr, pte, ptl, v, flags);
	/* Spurious: already mapped as needed; update the A/D bits. */
	v = pte_mkyoung(v);
	if (flags & FAULT_FLAG_WRITE)
		v = pte_mkdirty(v);
	set_pte_at(mm, addr, pte, v);
	spin_unlock(ptl);
	return 0;
missing:
	if (vma->vm_file && !(vma->vm_flags & VM_SHARED) &&
	    (flags & FAULT_FLAG_WRITE))
		return do_cow_fault(vma, addr);
	if (vma->vm_file)
		return do_shared_fault(vma, addr, flags);
	return do_anonymous_page(vma, addr, flags);
}

/* ---------------------------------------------------------------------
 * fork
 */

/*
 * Share one present entry with the child.  A COW mapping's page becomes
 * read-only in both (the parent's entry is write-protected under the
 * PROTECTION_PAGE invalidation the caller opened) and no longer exclusive.
 * Returns the page to copy eagerly when it may be pinned: a pinned page
 * must stay the parent's, so the child gets a copy now.
 */
static struct page *copy_present_pte(struct vm_area_struct *dst_vma,
				     struct vm_area_struct *src_vma,
				     unsigned long addr, pte_t *dst,
				     pte_t *src, bool is_cow)
{
	struct mm_struct *mm = dst_vma->vm_mm;
	pte_t v = ptep_get(src);
	struct page *page;

	if (!pte_special(v)) {
		page = pfn_to_page(mm->host, pte_pfn(v));
		if (PageAnon(page) && page_maybe_dma_pinned(page))
			return page;
		get_page(page);
		page_dup_rmap(page);
		inc_mm_counter(mm, mm_counter_page(page));
		ClearPageFlag(page, PG_anon_exclusive);
		if (is_cow && pte_write(v)) {
			v = pte_wrprotect(v);
			set_pte_at(src_vma->vm_mm, addr, src, v);
		}
	}
	set_pte_at(mm, addr, dst, pte_mkold(v));
	return NULL;
}

/* Give the child its own copy of a possibly pinned page. */
static void copy_pinned_pte(struct vm_area_struct *dst_vma, pte_t *dst,
			    unsigned long addr, struct page *src_page,
			    struct page *new)
{
	copy_highpage(new, src_page);
	page_add_new_anon_rmap(new, dst_vma, addr);
	lru_cache_add(new);
	inc_mm_counter(dst_vma->vm_mm, MM_ANONPAGES);
	set_pte_at(dst_vma->vm_mm, addr, dst,
		   mk_leaf(page_to_pfn(new), dst_vma, true, true));
}

/*
 * Fork of a migration entry: the child gets the entry too, and the
 * migration points both at the new page.  It finds the child's because
 * the child's VMA joins the anon_vma at the tail of its list, behind the
 * parent's: a walk that missed the child's entry (not copied yet) restores
 * the parent's first, and the copy is then a present PTE.  In a COW
 * mapping the page is now shared, so neither side may come back writable
 * or exclusive.  Like the parent's, the child's entry counts in rss_stat
 * as the page.
 */
static void copy_migration_pte(struct mm_struct *mm, pte_t *dst, pte_t *src,
			       pte_t v, bool is_cow)
{
	swp_entry_t entry = pte_to_swp_entry(v);

	inc_mm_counter(mm, mm_counter_page(pfn_to_page(mm->host,
						       swp_offset(entry))));
	if (is_cow && is_exclusive_migration_entry(entry)) {
		v = swp_entry_to_pte(make_migration_entry(swp_offset(entry),
							  false));
		set_pte(src, v);
	}
	set_pte(dst, v);
}

/*
 * Fork of a swap entry: one more reference on the slot.  The page is no
 * longer exclusive to either side, so the parent's entry loses the mark
 * too (under the PROTECTION_PAGE invalidation the caller opened; the entry
 * maps nothing a secondary MMU could hold).
 */
static void copy_nonpresent_pte(struct vm_area_struct *dst_vma, pte_t *dst,
				pte_t *src, bool is_cow)
{
	struct mm_struct *mm = dst_vma->vm_mm;
	pte_t v = ptep_get(src);
	swp_entry_t entry = pte_to_swp_entry(v);

	if (is_migration_entry(entry)) {
		copy_migration_pte(mm, dst, src, v, is_cow);
		return;
	}
	if (is_device_private_entry(entry)) {
		copy_device_private_pte(mm, dst, src, v, is_cow);
		return;
	}
	if (WARN_ON_ONCE(!is_swap_entry(entry)) ||
	    swap_duplicate(mm->host, entry))
		return;
	if (pte_swp_exclusive(v)) {
		v = pte_swp_clear_exclusive(v);
		set_pte(src, v);
	}
	inc_mm_counter(mm, MM_SWAPENTS);
	set_pte(dst, v);
}

/*
 * Copy one PTE table's worth of [addr, end).  Returns the address reached;
 * *need is set when a page must be allocated first (no allocation happens
 * under page-table locks), *err on ENOMEM.
 */
static unsigned long copy_pte_table(struct vm_area_struct *dst_vma,
				    struct vm_area_struct *src_vma,
				    struct page *src_table, unsigned long addr,
				    unsigned long end, bool is_cow,
				    struct page **prealloc, bool *need,
				    int *err)
{
	spinlock_t *dst_ptl, *src_ptl;
	pte_t *dst, *src;

	dst = pte_alloc_map_lock(dst_vma->vm_mm, addr, &dst_ptl);
	if (!dst) {
		*err = -ENOMEM;
		return addr;
	}
	src = pte_table_lock(src_table, addr, &src_ptl);
	for (; addr < end; addr += PAGE_SIZE, src++, dst++) {
		struct page *pinned;

		if (pte_none(ptep_get(src)))
			continue;
		/*
		 * A device-exclusive entry becomes its PTE again and is
		 * copied as one (Linux 6.12); the device hears of it through
		 * the PROTECTION_PAGE invalidation open over the VMA, and the
		 * mmap_lock held for writing keeps it from programming.
		 */
		if (is_device_exclusive_pte(ptep_get(src)))
			restore_exclusive_pte(src_vma, addr, src);
		if (is_swap_pte(ptep_get(src))) {
			copy_nonpresent_pte(dst_vma, dst, src, is_cow);
			continue;
		}
		pinned = copy_present_pte(dst_vma, src_vma, addr, dst, src,
					  is_cow);
		if (!pinned)
			continue;
		if (!*prealloc) {
			*need = true;
			break;
		}
		copy_pinned_pte(dst_vma, dst, addr, pinned, *prealloc);
		*prealloc = NULL;
	}
	spin_unlock(src_ptl);
	spin_unlock(dst_ptl);
	return addr;
}

/* A huge PMD of the parent: shared with the child whole if it can be. */
struct copy_huge_arg {
	struct vm_area_struct *dst_vma, *src_vma;
};

static bool copy_pmd_fn(pte_t *pmdp, unsigned long addr, unsigned long end,
			void *arg)
{
	struct copy_huge_arg *c = arg;

	(void)end;
	return copy_huge_pmd(c->dst_vma, c->src_vma, pmdp, addr);
}

/**
 * copy_page_range() - fork: give @dst_vma the entries of @src_vma.  For a
 * COW mapping the parent's PTEs are write-protected inside a
 * PROTECTION_PAGE invalidation of the whole source VMA.
 */
int copy_page_range(struct vm_area_struct *dst_vma,
		    struct vm_area_struct *src_vma)
{
	unsigned long addr = src_vma->vm_start, end = src_vma->vm_end, next;
	bool is_cow = !(src_vma->vm_flags & VM_SHARED) &&
		      (src_vma->vm_flags & VM_MAYWRITE);
	struct mmu_notifier_range range;
	struct page *prealloc = NULL, *table;
	struct copy_huge_arg c = { dst_vma, src_vma };
	int err = 0;

	/* Nothing was ever faulted privately: the child faults afresh. */
	if (!src_vma->anon_vma)
		return 0;
	if (is_cow) {
		mmu_notifier_range_init(&range, MMU_NOTIFY_PROTECTION_PAGE, 0,
					src_vma->vm_mm, addr, end);
		mmu_notifier_invalidate_range_start(&range);
	}
	for_each_pte_table_huge(src_vma->vm_mm, table, addr, next, end,
				copy_pmd_fn, &c) {
		bool need = false;

		next = copy_pte_table(dst_vma, src_vma, table, addr, next,
				      is_cow, &prealloc, &need, &err);
		if (need) {
			prealloc = alloc_page(src_vma->vm_mm->host);
			if (!prealloc)
				err = -ENOMEM;
		}
		if (err)
			break;
	}
	if (is_cow)
		mmu_notifier_invalidate_range_end(&range);
	if (prealloc)
		put_page(prealloc);
	return err;
}

/* ---------------------------------------------------------------------
 * Walking a range
 */

int follow_pte(struct mm_struct *mm, unsigned long addr, pte_t *out)
{
	spinlock_t *ptl;
	pte_t *pte;

	if (!mm_api_ok(mm, MM_STRUCT) || !out || addr >= TASK_SIZE)
		return -EINVAL;
	mmap_read_lock(mm);
	if (follow_huge_pmd_lock(mm, addr, out, &ptl)) {
		spin_unlock(ptl);
	} else {
		/* No split: an observer must not change what it looks at. */
		pte = pte_offset_map_lock_nosplit(mm, addr, &ptl);
		*out = pte ? ptep_get(pte) : __pte(0);
		if (pte)
			spin_unlock(ptl);
	}
	mmap_read_unlock(mm);
	return 0;
}

/* The first entry that is not none in [*addr, end) of @table. */
static bool table_next_entry(struct page *table, unsigned long *addr,
			     unsigned long end, pte_t *out)
{
	spinlock_t *ptl;
	pte_t *pte = pte_table_lock(table, *addr, &ptl);
	bool found = false;

	for (; *addr < end && !found; *addr += PAGE_SIZE, pte++) {
		*out = ptep_get(pte);
		found = !pte_none(*out);
	}
	spin_unlock(ptl);
	if (found)
		*addr -= PAGE_SIZE;
	return found;
}

struct next_huge {
	bool found;
	unsigned long addr;
	pte_t pte;
};

/* follow_pte_next() meets a huge PMD: its first page in the range. */
static bool next_huge_fn(pte_t *pmdp, unsigned long addr, unsigned long end,
			 void *arg)
{
	struct next_huge *h = arg;
	pte_t pmd = ptep_get(pmdp);

	(void)end;
	if (!h->found && pmd_leaf(pmd)) {
		h->found = true;
		h->addr = addr;
		h->pte = pfn_pte(pte_pfn(pmd) + ((addr >> PAGE_SHIFT) &
						 (HPAGE_PMD_NR - 1)),
				 pmd.pte & ~(PTE_PFN_MASK | _PAGE_PSE));
	}
	return true;
}

int follow_pte_next(struct mm_struct *mm, unsigned long *addr,
		    unsigned long end, pte_t *out)
{
	struct next_huge h = { 0 };
	unsigned long a, next;
	struct page *table;
	int ret = -ENOENT;

	if (!mm || !addr || !out || *addr >= TASK_SIZE)
		return -EINVAL;
	a = *addr & PAGE_MASK;
	if (end > TASK_SIZE)
		end = TASK_SIZE;
	mmap_read_lock(mm);
	for_each_pte_table_huge(mm, table, a, next, end, next_huge_fn, &h) {
		if (h.found)
			break;
		if (table_next_entry(table, &a, next, out)) {
			*addr = a;
			ret = 0;
			break;
		}
	}
	if (h.found) {
		*addr = h.addr;
		*out = h.pte;
		ret = 0;
	}
	mmap_read_unlock(mm);
	return ret;
}
