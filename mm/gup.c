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
