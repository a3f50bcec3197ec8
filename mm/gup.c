// SPDX-License-Identifier: MIT
/*
 * get_user_pages: look up (and fault in) the pages behind user addresses
 * for someone who is not the CPU: a secondary MMU's fault path, DMA.
 *
 * A write lookup (FOLL_WRITE) breaks COW first, so the caller gets the
 * page the process will keep writing to (seed 002's example: a write
 * fault of a secondary MMU re-establishes its mapping on the copied page).
 * A read pin (FOLL_PIN without FOLL_WRITE) of a COW-shared anonymous page
 * unshares it first, so the pinned page cannot later be replaced under the
 * pin by a COW in another process.
 */
#include <mmulab/huge_mm.h>

#include "pgtable.h"

static bool gup_must_unshare(struct page *page, unsigned int flags)
{
	return (flags & FOLL_PIN) && !(flags & FOLL_WRITE) && PageAnon(page) &&
	       !PageFlag(page, PG_anon_exclusive);
}

/* A FOLL_FORCE write may use a read-only PTE of a page it owns alone. */
static bool can_follow_write(pte_t pte, struct page *page,
			     struct vm_area_struct *vma, unsigned int flags)
{
	if (pte_write(pte))
		return true;
	return (flags & FOLL_FORCE) && !(vma->vm_flags & VM_WRITE) && page &&
	       PageAnon(page) && PageFlag(page, PG_anon_exclusive);
}

static void gup_take(struct page *page, unsigned int flags)
{
	if (PageFlag(page, PG_reserved))
		return;
	if (flags & FOLL_PIN)
		atomic_add(GUP_PIN_BIAS, &page->_refcount);
	else
		get_page(page);
}

/*
 * The page at @addr if its PTE already allows the access, with a reference
 * taken; NULL when a fault is needed (*fault_flags says which).
 */
static struct page *follow_page_pte(struct vm_area_struct *vma,
				    unsigned long addr, unsigned int flags,
				    unsigned int *fault_flags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct page *page = NULL;
	spinlock_t *ptl;
	pte_t hv, v;
	/* A huge PMD is followed, not split (follow_huge_pmd()). */
	pte_t *pte = follow_huge_pmd_lock(mm, addr, &hv, &ptl)
			     ? &hv
			     : pte_offset_map_lock(mm, addr, &ptl);

	*fault_flags = (flags & FOLL_WRITE) ? FAULT_FLAG_WRITE : 0;
	if (flags & FOLL_FORCE)
		*fault_flags |= FAULT_FLAG_FORCE;
	if (!pte)
		return NULL;
	v = ptep_get(pte);
	if (!pte_present(v))
		goto out;
	page = pfn_to_page(mm->host, pte_pfn(v));
	if ((flags & FOLL_WRITE) &&
	    !can_follow_write(v, pte_special(v) ? NULL : page, vma, flags)) {
		page = NULL;
		goto out;
	}
	if (!pte_special(v) && gup_must_unshare(page, flags)) {
		*fault_flags |= FAULT_FLAG_UNSHARE;
		page = NULL;
		goto out;
	}
	gup_take(page, flags);
	if (!pte_special(v)) {
		if (flags & FOLL_WRITE)
			SetPageFlag(page, PG_dirty);
		SetPageFlag(page, PG_referenced);
	}
out:
	spin_unlock(ptl);
	return page;
}

static int check_vma_flags(struct vm_area_struct *vma, unsigned int flags)
{
	unsigned int fault = (flags & FOLL_WRITE) ? FAULT_FLAG_WRITE : 0;

	if (flags & FOLL_FORCE)
		fault |= FAULT_FLAG_FORCE;
	if (!vma_access_ok(vma, fault))
		return -EFAULT;
	if (!(flags & FOLL_WRITE) && !(vma->vm_flags & VM_READ) &&
	    !(flags & FOLL_FORCE))
		return -EFAULT;
	return 0;
}

/* One page: look it up, faulting as long as the fault makes progress. */
static long gup_one(struct mm_struct *mm, unsigned long addr,
		    unsigned int flags, struct page **pagep)
{
	for (int tries = 0; tries < 64; tries++) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		unsigned int fault_flags;
		struct page *page;
		vm_fault_t ret;

		if (!vma || check_vma_flags(vma, flags))
			return -EFAULT;
		page = follow_page_pte(vma, addr, flags, &fault_flags);
		if (page) {
			*pagep = page;
			return 0;
		}
		if (flags & FOLL_NOFAULT)
			return -EFAULT;
		ret = handle_mm_fault(vma, addr, fault_flags);
		if (ret & VM_FAULT_OOM)
			return -ENOMEM;
		if (ret & (VM_FAULT_SIGSEGV | VM_FAULT_SIGBUS))
			return -EFAULT;
	}
	return -EFAULT;
}

static long __get_user_pages(struct mm_struct *mm, unsigned long start,
			     unsigned long nr_pages, unsigned int flags,
			     struct page **pages)
{
	unsigned long i;

	if (!pages || (start & ~PAGE_MASK) || !nr_pages ||
	    start >= TASK_SIZE || nr_pages > (TASK_SIZE - start) >> PAGE_SHIFT)
		return -EINVAL;
	mmap_assert_locked(mm);
	for (i = 0; i < nr_pages; i++) {
		long ret = gup_one(mm, start + i * PAGE_SIZE, flags, &pages[i]);

		if (ret)
			return i ? (long)i : ret;
	}
	count_vm_events(mm->host, flags & FOLL_PIN ? PIN_PAGES : GUP_PAGES,
			(long)i);
	return i;
}

#define GUP_USER_FLAGS (FOLL_WRITE | FOLL_FORCE | FOLL_NOFAULT | FOLL_LONGTERM)

long get_user_pages_remote(struct mm_struct *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags,
			   struct page **pages)
{
	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	/* FOLL_LONGTERM only makes sense for pins. */
	if (gup_flags & ~(GUP_USER_FLAGS & ~FOLL_LONGTERM))
		return -EINVAL;
	return __get_user_pages(mm, start, nr_pages, gup_flags, pages);
}

long get_user_pages_unlocked(struct mm_struct *mm, unsigned long start,
			     unsigned long nr_pages, struct page **pages,
			     unsigned int gup_flags)
{
	long ret;

	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	mmap_read_lock(mm);
	ret = get_user_pages_remote(mm, start, nr_pages, gup_flags, pages);
	mmap_read_unlock(mm);
	return ret;
}

long pin_user_pages_remote(struct mm_struct *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags,
			   struct page **pages)
{
	if (!mm_api_ok(mm, MM_USERS) || (gup_flags & ~GUP_USER_FLAGS))
		return -EINVAL;
	return __get_user_pages(mm, start, nr_pages, gup_flags | FOLL_PIN,
				pages);
}

void unpin_user_page(struct page *page)
{
	int ref;

	if (!page || PageFlag(page, PG_reserved))
		return;
	if (WARN_ON_ONCE(!page_maybe_dma_pinned(page)))
		return;
	ref = atomic_sub_return(GUP_PIN_BIAS, &page->_refcount);
	if (ref == 0)
		free_page_frame(page);
}

void unpin_user_pages(struct page **pages, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		unpin_user_page(pages[i]);
}

/* ---------------------------------------------------------------------
 * GUP-fast: a lockless walk (Linux's gup_fast())
 *
 * No mmap_lock, no page-table lock, no mm_users reference.  Safe because:
 *  - the caller holds at least mmgrab() on @mm, so mm->pgd stays;
 *  - the walk is a read-side section of pt_free_srcu and page-table pages
 *    an mm walked so has unlinked are freed only after a grace period
 *    (mmu_gather.c), so every entry read belongs to a live table;
 *  - each entry is read once (READ_ONCE) and used as read;
 *  - the page is taken with a try-get that fails on a zero count (a page
 *    being freed), then the PMD and the PTE are read again: if either
 *    changed, the page may have been unmapped, freed and reused between
 *    the read and the get, so the reference is dropped and the walk fails.
 */

/* What gup_fast refuses of a leaf entry (gup_fast_pte_range()). */
static bool gup_fast_leaf_ok(pte_t pte, unsigned int flags)
{
	/* Swap, migration and device-private entries; PROT_NONE (NUMA). */
	if (!pte_present(pte) || pte_protnone(pte))
		return false;
	/* pte_access_permitted(): a user page, writable for a write. */
	if (!(pte_val(pte) & _PAGE_USER))
		return false;
	if ((flags & FOLL_WRITE) && !pte_write(pte))
		return false;
	/* No struct page reference to take (the zero page, PFN maps). */
	return !pte_special(pte);
}

/* try_grab_folio_fast() for FOLL_GET: never on a page being freed. */
static bool gup_fast_try_get(struct page *page)
{
	if (PageFlag(page, PG_reserved))
		return false;
	return get_page_unless_zero(page);
}

/*
 * The page @entry (at @level, PT_PTE or a huge PMD) maps at @addr,
 * referenced, if @entry still holds it once referenced.
 */
static struct page *gup_fast_take(struct mm_struct *mm, pte_t *pmdp,
				  pte_t pmd, pte_t *ptep, pte_t pte,
				  unsigned long addr, unsigned int flags)
{
	unsigned long pfn = pte_pfn(pte);
	struct page *page;

	if (!gup_fast_leaf_ok(pte, flags))
		return NULL;
	if (pmd_leaf(pte))
		pfn += (addr >> PAGE_SHIFT) & (HPAGE_PMD_NR - 1);
	page = pfn_to_page(mm->host, pfn);
	if (!gup_fast_try_get(page))
		return NULL;
	if (mutant_is(MUTANT_GUP_FAST_NO_RECHECK))
		return page; /* broken on purpose: the entries are not re-read */
	if (pte_val(ptep_get(pmdp)) != pte_val(pmd) ||
	    (ptep != pmdp && pte_val(ptep_get(ptep)) != pte_val(pte))) {
		put_page(page);
		return NULL;
	}
	SetPageFlag(page, PG_referenced);
	return page;
}

/* One page: the walk from the PGD, each level read once. */
static struct page *gup_fast_one(struct mm_struct *mm, unsigned long addr,
				 unsigned int flags)
{
	struct page *table = mm->pgd;
	pte_t *pmdp, pmd, *ptep;

	for (int level = PT_PGD; level > PT_PMD; level--) {
		pte_t v = ptep_get(&table->pt_table[pt_index(addr, level)]);

		if (!pte_present(v))
			return NULL;
		table = pt_next(mm, v);
	}
	pmdp = &table->pt_table[pt_index(addr, PT_PMD)];
	pmd = ptep_get(pmdp);
	if (pte_none(pmd))
		return NULL;
	if (pmd_leaf(pmd)) /* gup_fast_pmd_leaf(): the PMD is the leaf */
		return gup_fast_take(mm, pmdp, pmd, pmdp, pmd, addr, flags);
	if (!pte_present(pmd))
		return NULL;
	table = pt_next(mm, pmd);
	ptep = &table->pt_table[pt_index(addr, PT_PTE)];
	return gup_fast_take(mm, pmdp, pmd, ptep, ptep_get(ptep), addr, flags);
}

int get_user_pages_fast_only(struct mm_struct *mm, unsigned long start,
			     int nr_pages, unsigned int gup_flags,
			     struct page **pages)
{
	int i, idx;

	if (!mm_api_ok(mm, MM_STRUCT))
		return -EINVAL;
	/* FOLL_GET only, as Linux's is_valid_gup_args() wants it here. */
	if ((gup_flags & ~FOLL_WRITE) || !pages || (start & ~PAGE_MASK) ||
	    nr_pages < 0 || start >= TASK_SIZE ||
	    (unsigned long)nr_pages > (TASK_SIZE - start) >> PAGE_SHIFT)
		return -EINVAL;
	idx = lockless_walk_begin(mm);
	for (i = 0; i < nr_pages; i++) {
		pages[i] = gup_fast_one(mm, start + (unsigned long)i * PAGE_SIZE,
					gup_flags);
		if (!pages[i])
			break;
	}
	lockless_walk_end(idx);
	if (i)
		count_vm_events(mm->host, GUP_PAGES, i);
	return i;
}

bool get_user_page_fast_only(struct mm_struct *mm, unsigned long addr,
			     unsigned int gup_flags, struct page **pagep)
{
	return get_user_pages_fast_only(mm, addr, 1, gup_flags, pagep) == 1;
}

bool pmd_huge_pfn_fast(struct mm_struct *mm, unsigned long addr,
		       unsigned long *head_pfn)
{
	struct page *table;
	bool huge = false;
	pte_t pmd;
	int idx;

	if (!mm_api_ok(mm, MM_STRUCT) || addr >= TASK_SIZE)
		return false;
	idx = lockless_walk_begin(mm);
	table = mm->pgd;
	for (int level = PT_PGD; level >= PT_PMD; level--) {
		pmd = ptep_get(&table->pt_table[pt_index(addr, level)]);
		if (!pte_present(pmd))
			break;
		if (level == PT_PMD) {
			huge = pmd_leaf(pmd);
			break;
		}
		table = pt_next(mm, pmd);
	}
	lockless_walk_end(idx);
	if (huge && head_pfn)
		*head_pfn = pte_pfn(pmd);
	return huge;
}
