// SPDX-License-Identifier: MIT
/*
 * Reverse mapping: from a page to every PTE that maps it.
 *
 * Anonymous pages point to an anon_vma shared by a fork family (the VMA
 * where the page was faulted, and every VMA forked, split or moved from
 * it), and record their linear page index; a walk visits each VMA of the
 * family and checks whether the PTE at the computed address maps the
 * page.  Shared-memory pages point to their address_space, whose i_mmap
 * list holds every VMA mapping it.
 *
 * Lifetime: anon_vmas and address_spaces are freed after an SRCU grace
 * period of rmap_srcu, and a walker takes a reference with
 * atomic_inc_not_zero() inside a read section before it trusts one it
 * found through page->mapping (the page may be unmapped under it).
 *
 * Locking: a walk holds the anon_vma rwsem or i_mmap_rwsem shared; VMAs
 * are added, removed or resized only with them held exclusive, so a
 * walker sees each VMA's range consistent with its page tables.
 */
#include <stdlib.h>

#include "swap.h"

static struct srcu_struct rmap_srcu_struct;

__attribute__((constructor)) static void rmap_srcu_init(void)
{
	init_srcu_struct(&rmap_srcu_struct);
}

struct srcu_struct *rmap_srcu(void)
{
	return &rmap_srcu_struct;
}

unsigned long linear_page_index(struct vm_area_struct *vma, unsigned long addr)
{
	return vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
}

/* ---------------------------------------------------------------------
 * anon_vma
 */

static struct anon_vma *anon_vma_alloc(void)
{
	struct anon_vma *av = calloc(1, sizeof(*av));

	if (!av)
		return NULL;
	init_rwsem(&av->rwsem);
	atomic_set(&av->refcount, 1);
	INIT_LIST_HEAD(&av->vmas);
	return av;
}

static void anon_vma_free_rcu(struct callback_head *head)
{
	free(container_of(head, struct anon_vma, rcu));
}

/** get_anon_vma() - keep @av alive (its holder already keeps it alive). */
void get_anon_vma(struct anon_vma *av)
{
	WARN_ON_ONCE(atomic_inc_return(&av->refcount) <= 1);
}

/** put_anon_vma() - drop a reference; the last frees it after a grace period. */
void put_anon_vma(struct anon_vma *av)
{
	if (atomic_dec_and_test(&av->refcount))
		call_srcu(rmap_srcu(), &av->rcu, anon_vma_free_rcu);
}

/**
 * anon_vma_prepare() - give @vma an anon_vma before its first anonymous
 * page.  Faults race here under the shared mmap_lock; page_table_lock
 * decides the winner.
 */
int anon_vma_prepare(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct anon_vma *av;

	if (likely(READ_ONCE(vma->anon_vma)))
		return 0;
	av = anon_vma_alloc();
	if (!av)
		return -ENOMEM;
	spin_lock(&mm->page_table_lock);
	if (!vma->anon_vma) {
		list_add_tail(&vma->anon_vma_node, &av->vmas);
		WRITE_ONCE(vma->anon_vma, av);
		av = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	free(av);
	return 0;
}

/** anon_vma_link() - make @vma (new, not yet visible) a member of @av. */
void anon_vma_link(struct vm_area_struct *vma, struct anon_vma *av)
{
	atomic_inc(&av->refcount);
	down_write(&av->rwsem);
	list_add_tail(&vma->anon_vma_node, &av->vmas);
	vma->anon_vma = av;
	up_write(&av->rwsem);
}

/** unlink_anon_vma() - remove @vma from its anon_vma (before freeing it). */
void unlink_anon_vma(struct vm_area_struct *vma)
{
	struct anon_vma *av = vma->anon_vma;

	if (!av)
		return;
	down_write(&av->rwsem);
	list_del_init(&vma->anon_vma_node);
	up_write(&av->rwsem);
	vma->anon_vma = NULL;
	put_anon_vma(av);
}

/* ---------------------------------------------------------------------
 * Per-page map counts
 */

static void *anon_mapping(struct vm_area_struct *vma)
{
	return (void *)((unsigned long)vma->anon_vma | PAGE_MAPPING_ANON);
}

void page_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma,
			    unsigned long addr)
{
	page->index = linear_page_index(vma, addr);
	set_page_mapping(page, anon_mapping(vma));
	SetPageFlag(page, PG_anon_exclusive);
	SetPageFlag(page, PG_swapbacked);
	atomic_set(&page->_mapcount, 1);
}

/**
 * page_add_anon_rmap() - map a swap-cache page (locked) at @addr of @vma.
 *
 * Every VMA that can hold the page's swap entry belongs to the fork
 * family it was faulted in, shares its anon_vma and sees it at the same
 * linear index (fork, split and mremap keep both), so the first mapping
 * after swap-in restores the same rmap link the page had before, and a
 * later one finds it in place.  Exclusive only if the swap entry said so.
 */
void page_add_anon_rmap(struct page *page, struct vm_area_struct *vma,
			unsigned long addr, bool exclusive)
{
	unsigned long index = linear_page_index(vma, addr);

	WARN_ON_ONCE(!PageLocked(page));
	if (!page_mapcount(page)) {
		__WRITE_ONCE(page->index, index);
		set_page_mapping(page, anon_mapping(vma));
	} else {
		WARN_ON_ONCE(page_anon_vma(page) != vma->anon_vma ||
			     page_index(page) != index);
	}
	if (exclusive)
		SetPageFlag(page, PG_anon_exclusive);
	atomic_inc(&page->_mapcount);
}

void page_dup_rmap(struct page *page)
{
	atomic_inc(&page->_mapcount);
}

void page_add_file_rmap(struct page *page)
{
	atomic_inc(&page->_mapcount);
}

void page_remove_rmap(struct page *page)
{
	WARN_ON_ONCE(atomic_dec_return(&page->_mapcount) < 0);
}

/* ---------------------------------------------------------------------
 * Walking
 */

/* Address of @page in @vma, or 0 when the page's index is outside it. */
static unsigned long vma_address(struct page *page, struct vm_area_struct *vma)
{
	unsigned long pgoff = page_index(page), addr;

	if (pgoff < vma->vm_pgoff)
		return 0;
	addr = vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
	if (addr < vma->vm_start || addr >= vma->vm_end)
		return 0;
	return addr;
}

static void walk_vmas(struct page *page, struct list_head *head,
		      bool anon, struct rmap_walk_control *rwc)
{
	struct vm_area_struct *vma;

	if (anon) {
		list_for_each_entry(vma, head, anon_vma_node) {
			unsigned long addr = vma_address(page, vma);

			if (addr && !rwc->rmap_one(page, vma, addr, rwc->arg))
				return;
		}
		return;
	}
	list_for_each_entry(vma, head, shared_node) {
		unsigned long addr = vma_address(page, vma);

		if (addr && !rwc->rmap_one(page, vma, addr, rwc->arg))
			return;
	}
}

/**
 * rmap_walk() - call rwc->rmap_one for every VMA that may map @page (the
 * callee checks the PTE), until it returns false.  The caller holds a
 * reference on @page.  A page that is not mapped is not walked, unless
 * rwc->walk_unmapped asks for its migration entries.  KSM pages are
 * walked through their stable node (rmap_walk_ksm()).
 */
void rmap_walk(struct page *page, struct rmap_walk_control *rwc)
{
	void *mapping;
	int idx;

	idx = srcu_read_lock(rmap_srcu());
	mapping = page_mapping_raw(page);
	if (!mapping || (!rwc->walk_unmapped && !page_mapcount(page))) {
		srcu_read_unlock(rmap_srcu(), idx);
		return;
	}
	if (((unsigned long)mapping & PAGE_MAPPING_FLAGS) == PAGE_MAPPING_KSM) {
		srcu_read_unlock(rmap_srcu(), idx);
		rmap_walk_ksm(page, rwc);
		return;
	}
	if ((unsigned long)mapping & PAGE_MAPPING_ANON) {
		struct anon_vma *av = (void *)((unsigned long)mapping &
					       ~PAGE_MAPPING_ANON);

		if (!atomic_inc_not_zero(&av->refcount)) {
			srcu_read_unlock(rmap_srcu(), idx);
			return;
		}
		srcu_read_unlock(rmap_srcu(), idx);
		down_read(&av->rwsem);
		walk_vmas(page, &av->vmas, true, rwc);
		up_read(&av->rwsem);
		put_anon_vma(av);
		return;
	}
	struct address_space *as = mapping;

	if (!atomic_inc_not_zero(&as->refcount)) {
		srcu_read_unlock(rmap_srcu(), idx);
		return;
	}
	srcu_read_unlock(rmap_srcu(), idx);
	down_read(&as->i_mmap_rwsem);
	walk_vmas(page, &as->i_mmap, false, rwc);
	up_read(&as->i_mmap_rwsem);
	shmem_put_mapping(as);
}

/**
 * rmap_get_mapping() - a reference on @page's anon_vma or address_space,
 * for a caller that will walk the rmap after unmapping the page.  An
 * anon_vma is known alive only while the page is mapped; an address_space
 * clears the mapping of its pages before it goes.  NULL when there is
 * nothing (alive) to hold.  Release with rmap_put_mapping().
 */
void *rmap_get_mapping(struct page *page)
{
	void *mapping, *ret = NULL;
	int idx;

	idx = srcu_read_lock(rmap_srcu());
	mapping = READ_ONCE(page->mapping);
	if (!mapping)
		goto out;
	if ((unsigned long)mapping & PAGE_MAPPING_ANON) {
		/* An unmapped page may name an anon_vma already freed. */
		if (!page_mapcount(page))
			goto out;
		struct anon_vma *av = (void *)((unsigned long)mapping &
					       ~PAGE_MAPPING_ANON);

		if (atomic_inc_not_zero(&av->refcount))
			ret = mapping;
	} else if (atomic_inc_not_zero(
			   &((struct address_space *)mapping)->refcount)) {
		ret = mapping;
	}
out:
	srcu_read_unlock(rmap_srcu(), idx);
	return ret;
}

/** rmap_put_mapping() - drop a reference from rmap_get_mapping(). */
void rmap_put_mapping(void *mapping)
{
	if ((unsigned long)mapping & PAGE_MAPPING_ANON)
		put_anon_vma((void *)((unsigned long)mapping &
				      ~PAGE_MAPPING_ANON));
	else
		shmem_put_mapping(mapping);
}

/* The PTE of @vma at @addr if it maps @page, locked; NULL otherwise. */
static pte_t *page_vma_mapped(struct page *page, struct vm_area_struct *vma,
			      unsigned long addr, spinlock_t **ptlp)
{
	pte_t *pte = pte_offset_map_lock(vma->vm_mm, addr, ptlp);
	pte_t v;

	if (!pte)
		return NULL;
	v = ptep_get(pte);
	if (pte_maps_page(v) && !pte_special(v) &&
	    pte_pfn(v) == page_to_pfn(page))
		return pte;
	spin_unlock(*ptlp);
	return NULL;
}

/* ---------------------------------------------------------------------
 * try_to_unmap
 */

struct ttu_state {
	bool failed;
};

/*
 * What replaces the PTE @old of an anonymous page: its swap entry (taking
 * a reference on the slot), or nothing for a clean lazily freed page
 * that only the caller and its mappings hold.  False when the page must
 * stay mapped.  Under the PTL, inside the invalidation of the page, so
 * every secondary MMU has already handed back its dirty bit.  A lazily
 * freed page written again is marked dirty, for reclaim to make it an
 * ordinary page again once it is off the LRU (the list a page is on
 * follows from PG_swapbacked).
 */
static bool anon_unmap_entry(struct page *page, struct vm_area_struct *vma,
			     pte_t old, pte_t *entry)
{
	struct mm_struct *mm = vma->vm_mm;
	swp_entry_t swp;

	if (!PageFlag(page, PG_swapbacked)) {
		if (pte_dirty(old))
			SetPageFlag(page, PG_dirty);
		if (page_ref_count(page) != page_mapcount(page) + 1 ||
		    PageFlag(page, PG_dirty))
			return false;
		*entry = __pte(0);
		dec_mm_counter(mm, MM_ANONPAGES);
		return true;
	}
	swp = page_swap_entry(page);
	if (WARN_ON_ONCE(!PageSwapCache(page)) ||
	    swap_duplicate(mm->host, swp))
		return false;
	*entry = swp_entry_to_pte(swp);
	/* The PTE is going: the page is exclusive to no mapping now. */
	if (TestClearPageFlag(page, PG_anon_exclusive))
		*entry = pte_swp_mkexclusive(*entry);
	dec_mm_counter(mm, MM_ANONPAGES);
	inc_mm_counter(mm, MM_SWAPENTS);
	return true;
}

/*
 * Unmap @page from @vma at @addr inside a CLEAR invalidation of that page
 * (reclaim's row in docs/architecture.md, "What each primary operation
 * sends"): start, then under the PTL replace the
 * PTE (with the swap entry, or none) and flush, drop the mapping, end.  A
 * pinned page is left alone: a pin means someone (a pinning secondary
 * MMU, DMA) may still use it.
 */
static bool try_to_unmap_one(struct page *page, struct vm_area_struct *vma,
			     unsigned long addr, void *arg)
{
	struct ttu_state *st = arg;
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	spinlock_t *ptl;
	pte_t *pte;

	if (page_maybe_dma_pinned(page)) {
		st->failed = true;
		return false;
	}
	/* TTU_SPLIT_HUGE_PMD: a huge PMD is split before the page's CLEAR. */
	__split_huge_pmd(mm, addr);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
				addr + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	pte = page_vma_mapped(page, vma, addr, &ptl);
	if (pte) {
		pte_t old = ptep_get(pte), entry = __pte(0);

		if (PageAnon(page))
			st->failed = !anon_unmap_entry(page, vma, old, &entry);
		else
			dec_mm_counter(mm, MM_SHMEMPAGES);
		if (!st->failed) {
			set_pte_at(mm, addr, pte, entry);
			flush_tlb_range(mm, addr, addr + PAGE_SIZE);
			if (pte_dirty(old))
				SetPageFlag(page, PG_dirty);
			page_remove_rmap(page);
			put_page(page);
		}
		spin_unlock(ptl);
	}
	mmu_notifier_invalidate_range_end(&range);
	return !st->failed;
}

/**
 * try_to_unmap() - remove every primary mapping of a locked page.  Only
 * pages whose contents survive unmapping qualify: shared-memory pages
 * (they stay in the page cache), anonymous pages in the swap cache (each
 * PTE gets the swap entry), and clean lazily freed anonymous pages
 * (MADV_FREE: their contents may be dropped).  The caller holds a
 * reference, and the page lock, which keeps the swap-cache state and
 * every swap-in of the page out.
 * Return: true if no PTE maps the page any more.
 */
bool try_to_unmap(struct page *page)
{
	struct ttu_state st = { false };
	struct rmap_walk_control rwc = { try_to_unmap_one, &st };

	WARN_ON_ONCE(!PageLocked(page));
	/* A KSM page stays: mm/ksm.c has no swap-out path. */
	if (PageKsm(page))
		return false;
	if (PageAnon(page) && PageFlag(page, PG_swapbacked) &&
	    !PageSwapCache(page))
		return false;
	rmap_walk(page, &rwc);
	return !st.failed && page_mapcount(page) == 0;
}

/* ---------------------------------------------------------------------
 * Aging
 */

struct referenced_state {
	int referenced;
};

/*
 * Test and clear the accessed bit of one mapping and ask the secondary
 * MMUs about the same address (clear_flush_young), under the PTL as
 * reclaim's aging does: a page hot only in a guest counts as used.  A
 * mapping counts once, whoever used it.
 */
static bool folio_referenced_one(struct page *page, struct vm_area_struct *vma,
				 unsigned long addr, void *arg)
{
	struct referenced_state *st = arg;
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl;
	pte_t *pte = page_vma_mapped(page, vma, addr, &ptl);
	bool young = false;
	pte_t v;

	if (!pte)
		return true;
	v = ptep_get(pte);
	if (pte_young(v)) {
		set_pte_at(mm, addr, pte, pte_mkold(v));
		flush_tlb_range(mm, addr, addr + PAGE_SIZE);
		young = true;
	}
	if (mmu_notifier_clear_flush_young(mm, addr, addr + PAGE_SIZE))
		young = true;
	if (young)
		st->referenced++;
	spin_unlock(ptl);
	return true;
}

/**
 * folio_referenced() - how many mappings of @page were used (by the CPU
 * or a secondary MMU) since the last call; clears what it counted.  The
 * caller holds a reference.
 */
int folio_referenced(struct page *page)
{
	struct referenced_state st = { 0 };
	struct rmap_walk_control rwc = { folio_referenced_one, &st };

	rmap_walk(page, &rwc);
	return st.referenced;
}
