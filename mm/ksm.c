// SPDX-License-Identifier: MIT
/*
 * KSM: kernel samepage merging.
 *
 * A scanner (ksmd, or ksm_scan() in the caller's task) walks the anonymous
 * pages of every MADV_MERGEABLE area, one rmap_item per (mm, address) it
 * has seen, and merges pages with identical contents into one KSM page,
 * write-protected and shared by every mapping; a write to it breaks COW
 * (do_wp_page()) and gives the writer a private copy again.
 *
 * Two tables, keyed by a hash of the contents (libxxhash; the tag in tag
 * mode) where the kernel uses red-black trees keyed by the contents:
 *
 *  - the stable "tree" of stable nodes, one per KSM page.  A KSM page's
 *    contents cannot change, so its key is good for as long as it lives;
 *  - the unstable "tree" of rmap_items whose page had the same checksum
 *    on two consecutive scans but no twin yet.  Those pages are still
 *    writable, so their keys may go stale: the table is emptied at the
 *    start of every pass (lazily: an item knows the pass that filed it)
 *    and a match is always confirmed by comparing the pages.
 *
 * Merging one page, at its address in its mm, is write_protect_page()
 * then replace_page(), each inside a CLEAR invalidation of that page
 * (the two KSM rows of docs/architecture.md, "What each primary operation
 * sends"), with the change_pte notifier
 * of the host's change_pte mode, as wp_page_copy() does.
 *
 * Page contents, stable nodes, their chains (max_page_sharing) and the
 * stable table are in mm/ksm_stable.c, the structures in mm/ksm_internal.h.
 *
 * A KSM page's ->mapping points to its stable node, whose list of
 * rmap_items is its reverse map: each item names the anon_vma and address
 * of one mapping (rmap_walk_ksm()).  As in the kernel, the node holds no
 * reference on its page: the page is freed with its last mapping, and the
 * node, stale from then on, is dropped when KSM next looks at it.  Pages
 * full of zeroes are merged like any others, into a KSM page (the
 * kernel's default, use_zero_pages = 0).
 *
 * Locking, outermost first:
 *   ksm->run_lock     starting and stopping ksmd
 *   ksm->lock         the scanner (ksm_thread_mutex): the cursor, both
 *                     tables, every rmap_item, the counters
 *   mmap_lock         of the one mm being looked at (never two at once)
 *   page lock         of a KSM page, then (trylock) of the page merged;
 *                     held to take an item off its node (migration)
 *   ksm->rmap_sem     each stable node's item list and kpage, and the
 *                     ->mapping of KSM pages: taken for read by reverse-map
 *                     walks, for write to change them.  The kernel relies
 *                     on the KSM page's lock for this; our rmap_walk()
 *                     callers do not all hold it.
 *   anon_vma->rwsem, PTL
 *   ksm->mm_list_lock the list of registered mms (taken alone)
 */
#include <stdlib.h>
#include <string.h>

#include "ksm_internal.h"

#define KSM_DEFAULT_PAGES_TO_SCAN 100
#define KSM_DEFAULT_SLEEP_MS 20
#define KSM_HTABLE_MIN_BITS 6

static void unstable_add(struct ksm *ksm, struct ksm_rmap_item *item)
{
	htable_add(&ksm->unstable, &item->node_link, item->oldchecksum,
		   offsetof(struct ksm_rmap_item, node_link),
		   offsetof(struct ksm_rmap_item, oldchecksum));
}

/* A new pass: forget the unstable table without visiting its items. */
static void unstable_reset(struct ksm *ksm)
{
	struct ksm_htable *t = &ksm->unstable;

	for (unsigned long i = 0; i < 1UL << t->bits; i++)
		INIT_LIST_HEAD(&t->buckets[i]);
	t->nr = 0;
	ksm->seqnr++;
}

/* ---------------------------------------------------------------------
 * rmap_items
 */

/* Take @item out of whichever table it is in. */
static void remove_rmap_item_from_tree(struct ksm *ksm,
				       struct ksm_rmap_item *item)
{
	struct ksm_stable_node *node = item->head;
	struct page *kpage;

	switch (item->state) {
	case ITEM_STABLE:
		kpage = get_ksm_page_locked(ksm, node); /* see there */
		down_write(&ksm->rmap_sem);
		list_del_init(&item->node_link);
		if (--node->nr_items)
			ksm->pages_sharing--;
		else
			ksm->pages_shared--;
		up_write(&ksm->rmap_sem);
		if (kpage) {
			unlock_page(kpage);
			put_page(kpage);
		}
		put_anon_vma(item->anon_vma);
		item->anon_vma = NULL;
		item->head = NULL;
		if (!node->nr_items)
			stable_node_prune(ksm, node);
		break;
	case ITEM_UNSTABLE:
		/* Filed in an earlier pass: its table is gone already. */
		if (item->seqnr == ksm->seqnr)
			htable_del(&ksm->unstable, &item->node_link);
		ksm->pages_unshared--;
		break;
	case ITEM_VOLATILE:
		break;
	}
	item->state = ITEM_VOLATILE;
}

static void free_rmap_item(struct ksm *ksm, struct ksm_rmap_item *item)
{
	remove_rmap_item_from_tree(ksm, item);
	list_del_init(&item->link);
	free(item);
	ksm->rmap_items--;
}

/* Free every item of @slot after @pos. */
static void remove_trailing_rmap_items(struct ksm *ksm,
				       struct ksm_mm_slot *slot,
				       struct list_head *pos)
{
	while (pos->next != &slot->rmap_list)
		free_rmap_item(ksm, list_entry(pos->next, struct ksm_rmap_item,
					       link));
}

/*
 * The item for @addr, which the cursor reached: items for addresses it
 * skipped (no mergeable page there any more) are freed on the way.
 */
static struct ksm_rmap_item *get_next_rmap_item(struct ksm *ksm,
						struct ksm_mm_slot *slot,
						unsigned long addr)
{
	struct list_head *pos = ksm->scan_pos;
	struct ksm_rmap_item *item;

	while (pos->next != &slot->rmap_list) {
		item = list_entry(pos->next, struct ksm_rmap_item, link);
		if (item->address == addr)
			return item;
		if (item->address > addr)
			break;
		free_rmap_item(ksm, item);
	}
	item = calloc(1, sizeof(*item));
	if (!item)
		return NULL;
	item->mm = slot->mm;
	item->address = addr;
	INIT_LIST_HEAD(&item->node_link);
	list_add(&item->link, pos);
	ksm->rmap_items++;
	return item;
}

/* ---------------------------------------------------------------------
 * Looking pages up
 */

static struct vm_area_struct *find_mergeable_vma(struct mm_struct *mm,
						 unsigned long addr)
{
	struct vm_area_struct *vma;

	if (ksm_test_exit(mm))
		return NULL;
	vma = vma_lookup(mm, addr);
	if (!vma || !(vma->vm_flags & VM_MERGEABLE) ||
	    !READ_ONCE(vma->anon_vma))
		return NULL;
	return vma;
}

/* The anonymous page mapped at @addr, referenced; NULL if none. */
static struct page *follow_anon_page(struct mm_struct *mm, unsigned long addr)
{
	struct page *page = NULL;
	spinlock_t *ptl;
	pte_t *pte = pte_offset_map_lock(mm, addr, &ptl);
	pte_t v;

	if (!pte)
		return NULL;
	v = ptep_get(pte);
	if (pte_present(v) && !pte_special(v)) {
		page = pfn_to_page(mm->host, pte_pfn(v));
		if (PageAnon(page))
			get_page(page);
		else
			page = NULL;
	}
	spin_unlock(ptl);
	return page;
}

/* The page an unstable item names, if it is still there. */
static struct page *get_mergeable_page(struct ksm_rmap_item *item)
{
	struct mm_struct *mm = item->mm;
	struct page *page = NULL;

	mmap_read_lock(mm);
	if (find_mergeable_vma(mm, item->address))
		page = follow_anon_page(mm, item->address);
	mmap_read_unlock(mm);
	return page;
}

/* ---------------------------------------------------------------------
 * Merging one page: write-protect, then replace
 */

/*
 * Set a PTE that KSM changed: plainly (CHANGE_PTE_NONE), or through
 * set_pte_at_notify() in the two historical modes.
 */
static void ksm_set_pte(enum change_pte_mode mode, struct mm_struct *mm,
			unsigned long addr, pte_t *ptep, pte_t pte)
{
	if (mode == CHANGE_PTE_NONE)
		set_pte_at(mm, addr, ptep, pte);
	else
		set_pte_at_notify(mm, addr, ptep, pte);
}

/*
 * Make the PTE mapping @page at @addr read-only and clean, and check that
 * nobody but the PTEs and us references the page: a GUP reference may
 * mean DMA writing it after we compared it, a pin certainly does.  The
 * PTE is cleared and flushed before the check, so no new GUP can find the
 * page through it until we are done.  A CLEAR invalidation of the page
 * surrounds it all, except in CHANGE_PTE_DIRECT mode, where change_pte is
 * the only notification (2009-2012 kernels).
 */
static int write_protect_page(struct vm_area_struct *vma, unsigned long addr,
			      struct page *page, pte_t *orig_pte)
{
	struct mm_struct *mm = vma->vm_mm;
	enum change_pte_mode mode = change_pte_mode(mm);
	struct mmu_notifier_range range;
	int err = -EFAULT;
	spinlock_t *ptl;
	pte_t *pte, entry;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
				addr + PAGE_SIZE);
	if (mode != CHANGE_PTE_DIRECT)
		mmu_notifier_invalidate_range_start(&range);
	pte = pte_offset_map_lock(mm, addr, &ptl);
	if (!pte)
		goto out_mn;
	entry = ptep_get(pte);
	if (!pte_present(entry) || pte_special(entry) ||
	    pte_pfn(entry) != page_to_pfn(page))
		goto out_unlock;
	if (pte_write(entry) || pte_dirty(entry) ||
	    PageFlag(page, PG_anon_exclusive)) {
		entry = ptep_clear_flush(mm, addr, pte);
		if (page_mapcount(page) + 1 != page_ref_count(page)) {
			/* Put it back (2009 code: with change_pte). */
			if (mode == CHANGE_PTE_DIRECT)
				set_pte_at_notify(mm, addr, pte, entry);
			else
				set_pte_at(mm, addr, pte, entry);
			goto out_unlock;
		}
		ClearPageFlag(page, PG_anon_exclusive);
		if (pte_dirty(entry))
			SetPageFlag(page, PG_dirty);
		entry = pte_wrprotect(pte_mkclean(entry));
		ksm_set_pte(mode, mm, addr, pte, entry);
	}
	*orig_pte = entry;
	err = 0;
out_unlock:
	spin_unlock(ptl);
out_mn:
	if (mode != CHANGE_PTE_DIRECT)
		mmu_notifier_invalidate_range_end(&range);
	return err;
}

/*
 * Point the PTE at @addr, still @orig_pte, from @page to the KSM page
 * @kpage, read-only: clear and flush, then set, inside a CLEAR
 * invalidation (or with change_pte alone, in CHANGE_PTE_DIRECT mode).
 * The PTE's reference and map count move from @page to @kpage.
 */
static int replace_page(struct vm_area_struct *vma, unsigned long addr,
			struct page *page, struct page *kpage, pte_t orig_pte)
{
	struct mm_struct *mm = vma->vm_mm;
	enum change_pte_mode mode = change_pte_mode(mm);
	struct mmu_notifier_range range;
	int err = -EFAULT;
	spinlock_t *ptl;
	pte_t *pte, newpte;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
				addr + PAGE_SIZE);
	if (mode != CHANGE_PTE_DIRECT)
		mmu_notifier_invalidate_range_start(&range);
	pte = pte_offset_map_lock(mm, addr, &ptl);
	if (!pte)
		goto out_mn;
	if (pte_val(ptep_get(pte)) != pte_val(orig_pte)) {
		spin_unlock(ptl);
		goto out_mn;
	}
	get_page(kpage);
	page_dup_rmap(kpage);
	newpte = pfn_pte(page_to_pfn(kpage),
			 vm_page_prot(vma->vm_flags, false) | _PAGE_ACCESSED);
	ptep_clear_flush(mm, addr, pte);
	ksm_set_pte(mode, mm, addr, pte, newpte);
	page_remove_rmap(page);
	put_page(page);
	spin_unlock(ptl);
	err = 0;
out_mn:
	if (mode != CHANGE_PTE_DIRECT)
		mmu_notifier_invalidate_range_end(&range);
	return err;
}

/*
 * Merge @page, mapped at @item's address in @vma, into @kpage, or make it
 * the KSM page of @node when @kpage is NULL; on success @item joins
 * @node's list.  @kpage, if any, is locked by the caller.  The page is
 * only trylocked: better to come back to it than to wait.
 */
static int try_to_merge_one_page(struct ksm *ksm, struct vm_area_struct *vma,
				 struct ksm_rmap_item *item, struct page *page,
				 struct page *kpage,
				 struct ksm_stable_node *node)
{
	pte_t orig_pte = __pte(0);
	int err = -EFAULT;

	if (page == kpage) { /* a KSM page forked into another mm */
		stable_tree_append(ksm, item, node, vma->anon_vma);
		return 0;
	}
	if (!PageAnon(page) || PageKsm(page) || !trylock_page(page))
		return -EFAULT;
	/*
	 * Not a swap-cache page: other PTEs may still hold its swap entry,
	 * and do_swap_page() maps what it finds there as an ordinary
	 * anonymous page.  Stable under the page lock.
	 */
	if (PageSwapCache(page))
		goto out;
	if (write_protect_page(vma, item->address, page, &orig_pte))
		goto out;
	if (!kpage) {
		stable_node_set_page(ksm, node, page, item, vma->anon_vma);
		err = 0;
	} else if (ksm_pages_identical(page, kpage)) {
		err = replace_page(vma, item->address, page, kpage, orig_pte);
		if (!err)
			stable_tree_append(ksm, item, node, vma->anon_vma);
		/* As stable_tree_append() warns: the search found room. */
		WARN_ON_ONCE(!err && node->nr_items > ksm->max_page_sharing);
	}
out:
	unlock_page(page);
	return err;
}

static int try_to_merge_with_ksm_page(struct ksm *ksm,
				      struct ksm_rmap_item *item,
				      struct page *page, struct page *kpage,
				      struct ksm_stable_node *node)
{
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;
	int err = -EFAULT;

	mmap_read_lock(mm);
	vma = find_mergeable_vma(mm, item->address);
	if (vma) {
		/* Nobody moves the KSM page or edits its node meanwhile. */
		if (kpage)
			lock_page(kpage);
		if (!kpage || page_stable_node(kpage) == node)
			err = try_to_merge_one_page(ksm, vma, item, page,
						    kpage, node);
		if (kpage)
			unlock_page(kpage);
	}
	mmap_read_unlock(mm);
	return err;
}

static int break_ksm(struct vm_area_struct *vma, unsigned long addr);

static void break_cow(struct ksm_rmap_item *item)
{
	struct mm_struct *mm = item->mm;
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = find_mergeable_vma(mm, item->address);
	if (vma)
		(void)break_ksm(vma, item->address);
	mmap_read_unlock(mm);
}

/*
 * Two identical pages not yet merged: @page becomes a KSM page, then
 * @tree_page is replaced by it.  If the second step fails, the first
 * would leave a KSM page with one mapping: undo it.
 */
static void try_to_merge_two_pages(struct ksm *ksm, struct ksm_rmap_item *item,
				   struct page *page,
				   struct ksm_rmap_item *tree_item,
				   struct page *tree_page)
{
	struct ksm_stable_node *node = stable_node_alloc(ksm);

	if (!node)
		return;
	if (try_to_merge_with_ksm_page(ksm, item, page, NULL, node)) {
		stable_node_free(ksm, node);
		return;
	}
	/* Its contents are frozen now: file it under them. */
	stable_tree_insert(ksm, node, page);
	remove_rmap_item_from_tree(ksm, tree_item);
	if (try_to_merge_with_ksm_page(ksm, tree_item, tree_page, page,
				       node)) {
		break_cow(item);
		remove_rmap_item_from_tree(ksm, item);
	}
}

/* ---------------------------------------------------------------------
 * The two tables
 */

/*
 * An unstable item whose page is identical to @page, with that page
 * referenced in *@tree_pagep; or NULL, after filing @item in the table.
 */
static struct ksm_rmap_item *
unstable_tree_search_insert(struct ksm *ksm, struct ksm_rmap_item *item,
			    struct page *page, struct page **tree_pagep)
{
	struct list_head *bucket = htable_bucket(&ksm->unstable,
						 item->oldchecksum);
	struct ksm_rmap_item *tree_item;

	list_for_each_entry(tree_item, bucket, node_link) {
		struct page *tree_page;

		if (tree_item->oldchecksum != item->oldchecksum)
			continue;
		tree_page = get_mergeable_page(tree_item);
		if (!tree_page)
			continue;
		if (tree_page == page) { /* forked: already shared */
			put_page(tree_page);
			return NULL;
		}
		if (ksm_pages_identical(page, tree_page)) {
			*tree_pagep = tree_page;
			return tree_item;
		}
		put_page(tree_page);
	}
	item->state = ITEM_UNSTABLE;
	item->seqnr = ksm->seqnr;
	unstable_add(ksm, item);
	ksm->pages_unshared++;
	return NULL;
}

/*
 * One scanned page: already merged, merge into a KSM page, or pair with
 * an unstable twin.  A page whose checksum changed since the last scan is
 * too volatile to be worth it yet.
 */
static void cmp_and_merge_page(struct ksm *ksm, struct page *page,
			       struct ksm_rmap_item *item)
{
	struct ksm_stable_node *node = NULL;
	struct ksm_rmap_item *tree_item;
	struct page *kpage, *tree_page;
	u64 checksum = 0;

	if (PageKsm(page)) {
		if (item->state == ITEM_STABLE &&
		    item->head == page_stable_node(page))
			return;
	} else {
		remove_rmap_item_from_tree(ksm, item);
		checksum = ksm_calc_checksum(page);
		if (item->oldchecksum != checksum) {
			item->oldchecksum = checksum;
			return;
		}
	}
	kpage = stable_tree_search(ksm, page, checksum, &node);
	remove_rmap_item_from_tree(ksm, item);
	if (kpage) {
		try_to_merge_with_ksm_page(ksm, item, page, kpage, node);
		put_page(kpage);
		return;
	}
	tree_item = unstable_tree_search_insert(ksm, item, page, &tree_page);
	if (tree_item) {
		try_to_merge_two_pages(ksm, item, page, tree_item, tree_page);
		put_page(tree_page);
	}
}

/* ---------------------------------------------------------------------
 * The scan
 */

static struct ksm_mm_slot *next_slot(struct ksm *ksm, struct ksm_mm_slot *slot)
{
	struct list_head *next;

	spin_lock(&ksm->mm_list_lock);
	next = slot ? slot->link.next : ksm->mm_list.next;
	spin_unlock(&ksm->mm_list_lock);
	return next == &ksm->mm_list ? NULL
				     : list_entry(next, struct ksm_mm_slot,
						  link);
}

static void set_scan_slot(struct ksm *ksm, struct ksm_mm_slot *slot)
{
	ksm->scan_slot = slot;
	ksm->scan_address = 0;
	ksm->scan_pos = slot ? &slot->rmap_list : NULL;
}

/* Unregister @slot's mm; it has no items left.  ksm->lock held. */
static void ksm_slot_free(struct ksm *ksm, struct ksm_mm_slot *slot)
{
	spin_lock(&ksm->mm_list_lock);
	list_del_init(&slot->link);
	atomic_long_sub(1L << MMF_VM_MERGEABLE, &slot->mm->flags);
	spin_unlock(&ksm->mm_list_lock);
	free(slot);
}

/*
 * The next anonymous page of @vma from the cursor on, with its item; the
 * cursor moves past it.  Only the PTE tables that exist are looked at.
 */
static struct ksm_rmap_item *scan_vma(struct ksm *ksm, struct ksm_mm_slot *slot,
				      struct vm_area_struct *vma,
				      struct page **pagep)
{
	unsigned long addr = ksm->scan_address, next;
	struct page *table;

	for_each_pte_table(slot->mm, table, addr, next, vma->vm_end) {
		for (; addr < next; addr += PAGE_SIZE) {
			struct ksm_rmap_item *item;
			struct page *page = follow_anon_page(slot->mm, addr);

			if (!page)
				continue;
			ksm->scan_address = addr; /* stays here on ENOMEM */
			item = get_next_rmap_item(ksm, slot, addr);
			if (!item) {
				put_page(page);
				return NULL;
			}
			ksm->scan_address = addr + PAGE_SIZE;
			ksm->scan_pos = &item->link;
			*pagep = page;
			return item;
		}
	}
	ksm->scan_address = vma->vm_end;
	return NULL;
}

/* The next page of @slot's mm from the cursor on, with its item. */
static struct ksm_rmap_item *scan_mm(struct ksm *ksm, struct ksm_mm_slot *slot,
				     struct page **pagep, bool *any_vma)
{
	struct vm_area_struct *vma;

	for_each_vma_range(slot->mm, vma, ksm->scan_address, TASK_SIZE) {
		struct ksm_rmap_item *item;

		if (!(vma->vm_flags & VM_MERGEABLE))
			continue;
		*any_vma = true;
		/* anon_vma_prepare() may be setting it (mmap_lock shared). */
		if (!READ_ONCE(vma->anon_vma))
			continue;
		if (ksm->scan_address < vma->vm_start)
			ksm->scan_address = vma->vm_start;
		item = scan_vma(ksm, slot, vma, pagep);
		if (item || ksm->scan_address < vma->vm_end)
			return item;
	}
	return NULL;
}

static void start_pass(struct ksm *ksm)
{
	stable_tree_prune(ksm);
	unstable_reset(ksm);
	set_scan_slot(ksm, next_slot(ksm, NULL));
}

/*
 * The next page to look at, referenced, and its item; NULL at the end of
 * a pass (or with nothing registered).  A slot whose mm turned out to
 * have no mergeable area at all is dropped on the way, under the
 * mmap_lock that MADV_MERGEABLE holds for writing when it registers an
 * mm, so the two cannot miss each other.  An exiting mm is skipped:
 * ksm_exit() will forget it once exit_mmap() has unmapped its pages.
 */
static struct ksm_rmap_item *scan_get_next_rmap_item(struct ksm *ksm,
						     struct page **pagep)
{
	if (!ksm->scan_slot) {
		start_pass(ksm);
		if (!ksm->scan_slot)
			return NULL;
	}
	while (ksm->scan_slot) {
		struct ksm_mm_slot *slot = ksm->scan_slot;
		struct mm_struct *mm = slot->mm;
		bool from_start = !ksm->scan_address, any_vma = false;
		struct ksm_rmap_item *item = NULL;
		bool drop;

		mmap_read_lock(mm);
		if (ksm_test_exit(mm)) {
			mmap_read_unlock(mm);
			set_scan_slot(ksm, next_slot(ksm, slot));
			continue;
		}
		item = scan_mm(ksm, slot, pagep, &any_vma);
		if (item) {
			mmap_read_unlock(mm);
			return item;
		}
		drop = from_start && !any_vma;
		remove_trailing_rmap_items(ksm, slot, ksm->scan_pos);
		set_scan_slot(ksm, next_slot(ksm, slot));
		if (drop)
			ksm_slot_free(ksm, slot);
		mmap_read_unlock(mm);
		if (drop)
			mmdrop(mm);
	}
	ksm->full_scans++;
	return NULL;
}

/*
 * Scan up to @nr pages, stopping early at the end of a pass, as ksmd's
 * batches do; ksm->lock held.  Returns the pages scanned.
 */
static long ksm_do_scan(struct ksm *ksm, unsigned long nr)
{
	long scanned = 0;

	while ((unsigned long)scanned < nr) {
		struct ksm_rmap_item *item;
		struct page *page;

		item = scan_get_next_rmap_item(ksm, &page);
		if (!item)
			break;
		cmp_and_merge_page(ksm, page, item);
		put_page(page);
		scanned++;
		ksm->pages_scanned++;
		cond_resched();
	}
	return scanned;
}

long ksm_scan(struct host *host, unsigned long nr_pages)
{
	struct ksm *ksm;
	long ret;

	if (!host_api_ok(host))
		return -EINVAL;
	ksm = host->ksm;
	mutex_lock(&ksm->lock);
	ret = ksm_do_scan(ksm, nr_pages);
	mutex_unlock(&ksm->lock);
	return ret;
}

static int ksm_scan_thread(void *data)
{
	struct ksm *ksm = data;

	while (!kthread_should_stop()) {
		mutex_lock(&ksm->lock);
		ksm_do_scan(ksm, ksm->pages_to_scan);
		mutex_unlock(&ksm->lock);
		for (unsigned int ms = 0;
		     ms < ksm->sleep_ms && !kthread_should_stop(); ms++)
			msleep(1);
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Unmerging
 */

/*
 * Unshare the KSM page at @addr, if there is one: an UNSHARE fault gives
 * the mapping a private read-only copy (wp_page_copy(), a CLEAR
 * invalidation).  A migration entry for a KSM page counts as one: the
 * fault waits for the migration, and we look again.  Returns -ENOMEM if
 * the copy could not be allocated; a mapping that went away meanwhile
 * (SIGSEGV) took the KSM page with it, which is as good.
 */
static bool ksm_page_mapped_at(struct mm_struct *mm, unsigned long addr)
{
	bool ksm_page = false;
	spinlock_t *ptl;
	pte_t *pte = pte_offset_map_lock(mm, addr, &ptl);
	pte_t v;

	if (!pte)
		return false;
	v = ptep_get(pte);
	if (pte_present(v) && !pte_special(v))
		ksm_page = PageKsm(pfn_to_page(mm->host, pte_pfn(v)));
	else if (is_migration_pte(v))
		ksm_page = PageKsm(pfn_to_page(
			mm->host, swp_offset(pte_to_swp_entry(v))));
	spin_unlock(ptl);
	return ksm_page;
}

static int break_ksm(struct vm_area_struct *vma, unsigned long addr)
{
	while (ksm_page_mapped_at(vma->vm_mm, addr)) {
		vm_fault_t ret = handle_mm_fault(vma, addr, FAULT_FLAG_UNSHARE);

		if (ret & VM_FAULT_OOM)
			return -ENOMEM;
		if (ret & VM_FAULT_SIGSEGV)
			return 0;
		cond_resched();
	}
	return 0;
}

/* Break every KSM page of [start, end) of @vma, where tables exist. */
static int unmerge_ksm_pages(struct vm_area_struct *vma, unsigned long start,
			     unsigned long end)
{
	unsigned long addr = start, next;
	struct page *table;

	for_each_pte_table(vma->vm_mm, table, addr, next, end) {
		for (; addr < next; addr += PAGE_SIZE) {
			int err;

			if (ksm_test_exit(vma->vm_mm))
				return 0;
			err = break_ksm(vma, addr);
			if (err)
				return err;
		}
	}
	return 0;
}

/**
 * ksm_unmerge_range() - give every KSM page mapped in [@start, @end) of
 * @vma a private copy, leaving VM_MERGEABLE alone (mremap does this before
 * moving an area: an rmap_item names an address, which the move changes).
 * The caller holds the mmap_lock.
 * Return: 0, or -ENOMEM if a copy could not be made.
 */
int ksm_unmerge_range(struct vm_area_struct *vma, unsigned long start,
		      unsigned long end)
{
	if (!(vma->vm_flags & VM_MERGEABLE) || !READ_ONCE(vma->anon_vma))
		return 0;
	return unmerge_ksm_pages(vma, start, end);
}

/* ksm_set_run(KSM_RUN_UNMERGE): unmerge everything, forget every item. */
static void unmerge_and_remove_all_rmap_items(struct ksm *ksm)
{
	struct ksm_mm_slot *slot, *next;

	for (slot = next_slot(ksm, NULL); slot; slot = next) {
		struct mm_struct *mm = slot->mm;
		struct vm_area_struct *vma;

		mmap_read_lock(mm);
		for_each_vma_range(mm, vma, 0, TASK_SIZE) {
			if (ksm_test_exit(mm) ||
			    ksm_unmerge_range(vma, vma->vm_start, vma->vm_end))
				break;
		}
		remove_trailing_rmap_items(ksm, slot, &slot->rmap_list);
		mmap_read_unlock(mm);
		next = next_slot(ksm, slot);
	}
	set_scan_slot(ksm, NULL);
	stable_tree_prune(ksm);
}

/* ---------------------------------------------------------------------
 * Registration: madvise, fork, exit
 */

static int ksm_enter(struct mm_struct *mm)
{
	struct ksm *ksm = mm_ksm(mm);
	struct ksm_mm_slot *slot = calloc(1, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	slot->mm = mm;
	INIT_LIST_HEAD(&slot->rmap_list);
	mmgrab(mm);
	spin_lock(&ksm->mm_list_lock);
	list_add_tail(&slot->link, &ksm->mm_list);
	atomic_long_add(1L << MMF_VM_MERGEABLE, &mm->flags);
	spin_unlock(&ksm->mm_list_lock);
	return 0;
}

/**
 * ksm_madvise() - MADV_MERGEABLE or MADV_UNMERGEABLE of @vma, which is
 * exactly [@start, @end); the caller holds the mmap_lock for writing.
 * Shared mappings are not KSM's business and are left alone.
 */
int ksm_madvise(struct vm_area_struct *vma, unsigned long start,
		unsigned long end, int advice)
{
	struct mm_struct *mm = vma->vm_mm;
	int err;

	mmap_assert_write_locked(mm);
	switch (advice) {
	case MADV_MERGEABLE:
		if (vma->vm_file || (vma->vm_flags & VM_MERGEABLE))
			return 0;
		if (!mm_mergeable(mm)) {
			err = ksm_enter(mm);
			if (err)
				return err;
		}
		WRITE_ONCE(vma->vm_flags, vma->vm_flags | VM_MERGEABLE);
		return 0;
	case MADV_UNMERGEABLE:
		if (!(vma->vm_flags & VM_MERGEABLE))
			return 0;
		err = ksm_unmerge_range(vma, start, end);
		if (err)
			return err;
		WRITE_ONCE(vma->vm_flags, vma->vm_flags & ~VM_MERGEABLE);
		return 0;
	default:
		return -EINVAL;
	}
}

/** ksm_fork() - register the child @mm of a registered @oldmm. */
int ksm_fork(struct mm_struct *mm, struct mm_struct *oldmm)
{
	return mm_mergeable(oldmm) ? ksm_enter(mm) : 0;
}

static struct ksm_mm_slot *find_slot(struct ksm *ksm, struct mm_struct *mm)
{
	struct ksm_mm_slot *slot;

	for (slot = next_slot(ksm, NULL); slot; slot = next_slot(ksm, slot)) {
		if (slot->mm == mm)
			return slot;
	}
	return NULL;
}

/**
 * ksm_exit() - forget @mm, whose last user left and whose mappings
 * exit_mmap() has torn down: its items go, and with the last item of a
 * stable node whose page nothing maps any more, the node and its page.
 */
void ksm_exit(struct mm_struct *mm)
{
	struct ksm *ksm = mm_ksm(mm);
	struct ksm_mm_slot *slot;

	if (!mm_mergeable(mm))
		return;
	mutex_lock(&ksm->lock);
	slot = find_slot(ksm, mm);
	if (slot) {
		if (ksm->scan_slot == slot)
			set_scan_slot(ksm, next_slot(ksm, slot));
		remove_trailing_rmap_items(ksm, slot, &slot->rmap_list);
		ksm_slot_free(ksm, slot);
	}
	mutex_unlock(&ksm->lock);
	if (slot)
		mmdrop(mm);
}

/* ---------------------------------------------------------------------
 * Reverse map and migration of KSM pages
 */

/**
 * rmap_walk_ksm() - rmap_walk() for a KSM page: every VMA of each item's
 * anon_vma that covers the item's address, first in the item's own mm,
 * then in the others (children forked since KSM saw the address, which
 * map the page at the same address).  A mapping may be visited twice;
 * rmap_one looks at the PTE anyway.
 */
void rmap_walk_ksm(struct page *page, struct rmap_walk_control *rwc)
{
	struct ksm *ksm = __page_host(page)->ksm;
	struct ksm_stable_node *node;
	struct ksm_rmap_item *item;

	down_read(&ksm->rmap_sem);
	node = page_stable_node(page);
	if (!node)
		goto out;
	for (int other_mms = 0; other_mms < 2; other_mms++) {
		list_for_each_entry(item, &node->items, node_link) {
			struct anon_vma *av = item->anon_vma;
			struct vm_area_struct *vma;
			bool stop = false;

			down_read(&av->rwsem);
			list_for_each_entry(vma, &av->vmas, anon_vma_node) {
				if (item->address < vma->vm_start ||
				    item->address >= vma->vm_end ||
				    (vma->vm_mm != item->mm) != other_mms)
					continue;
				if (!rwc->rmap_one(page, vma, item->address,
						   rwc->arg)) {
					stop = true;
					break;
				}
			}
			up_read(&av->rwsem);
			if (stop)
				goto out;
		}
	}
out:
	up_read(&ksm->rmap_sem);
}

/**
 * ksm_migrate_page() - make @new, which has @old's contents, its stable
 * node's KSM page in @old's place; called by migration with @old locked
 * and unmapped.  Nobody else may hold a reference on @old: a scanner gets
 * a KSM page only from its node, under rmap_sem, which the check and the
 * switch hold too.
 * Return: 0, or -EAGAIN if the page is referenced or no longer the node's.
 */
int ksm_migrate_page(struct page *new, struct page *old)
{
	struct ksm *ksm = __page_host(old)->ksm;
	struct ksm_stable_node *node;
	int ret = -EAGAIN;

	down_write(&ksm->rmap_sem);
	node = page_stable_node(old);
	if (node && node->kpage == old && page_ref_count(old) == 1) {
		node->kpage = new;
		new->index = old->index;
		WRITE_ONCE(new->mapping, (void *)((unsigned long)node |
						  PAGE_MAPPING_KSM));
		SetPageFlag(new, PG_ksm);
		/* Still KSM-tagged, but no node: walks of it find nothing. */
		WRITE_ONCE(old->mapping, (void *)PAGE_MAPPING_KSM);
		ret = 0;
	}
	up_write(&ksm->rmap_sem);
	return ret;
}

/* ---------------------------------------------------------------------
 * Control
 */

int ksm_set_run(struct host *host, enum ksm_run_mode run)
{
	struct ksm *ksm;
	int err = 0;

	if (!host_api_ok(host) || (unsigned int)run > KSM_RUN_UNMERGE)
		return -EINVAL;
	ksm = host->ksm;
	mutex_lock(&ksm->run_lock);
	if (run == KSM_RUN_MERGE && !ksm->ksmd) {
		struct task_struct *t = kthread_run(ksm_scan_thread, ksm,
						    "ksmd");

		if (IS_ERR(t))
			err = PTR_ERR(t);
		else
			ksm->ksmd = t;
	} else if (run != KSM_RUN_MERGE && ksm->ksmd) {
		kthread_stop(ksm->ksmd);
		ksm->ksmd = NULL;
	}
	if (run == KSM_RUN_UNMERGE) {
		mutex_lock(&ksm->lock);
		unmerge_and_remove_all_rmap_items(ksm);
		mutex_unlock(&ksm->lock);
		run = KSM_RUN_STOP;
	}
	if (!err)
		ksm->run = run;
	mutex_unlock(&ksm->run_lock);
	return err;
}

void ksm_get_stats(struct host *host, struct ksm_stats *st)
{
	struct ksm *ksm;

	if (!host_api_ok(host) || WARN_ON_ONCE(!st))
		return;
	ksm = host->ksm;

	mutex_lock(&ksm->lock);
	st->pages_shared = ksm->pages_shared;
	st->pages_sharing = ksm->pages_sharing;
	st->pages_unshared = ksm->pages_unshared;
	st->pages_volatile = ksm->rmap_items - ksm->pages_shared -
			     ksm->pages_sharing - ksm->pages_unshared;
	st->full_scans = ksm->full_scans;
	st->pages_scanned = ksm->pages_scanned;
	st->stable_nodes = ksm->stable_nodes;
	st->stable_node_chains = ksm->stable_node_chains;
	st->stable_node_dups = ksm->stable_node_dups;
	mutex_unlock(&ksm->lock);
}

/*
 * Without ksm->lock: the counters are written under it, so only an observer
 * that no writer can run beside (a deterministic run's) reads them so.
 */
void ksm_observe_stats(struct host *host, struct ksm_stats *st)
{
	struct ksm *ksm = host->ksm;

	st->pages_shared = data_race(ksm->pages_shared);
	st->pages_sharing = data_race(ksm->pages_sharing);
	st->pages_unshared = data_race(ksm->pages_unshared);
	st->pages_volatile = data_race(ksm->rmap_items) - st->pages_shared -
			     st->pages_sharing - st->pages_unshared;
	st->full_scans = data_race(ksm->full_scans);
	st->pages_scanned = data_race(ksm->pages_scanned);
	st->stable_nodes = data_race(ksm->stable_nodes);
}

static void ksm_free(struct ksm *ksm)
{
	free(ksm->stable.buckets);
	free(ksm->unstable.buckets);
	free(ksm);
}

/** ksm_init_host() - KSM's state for a new host; starts ksmd if asked. */
int ksm_init_host(struct host *host)
{
	struct ksm *ksm = calloc(1, sizeof(*ksm));

	if (!ksm)
		return -ENOMEM;
	ksm->host = host;
	mutex_init(&ksm->run_lock);
	mutex_init(&ksm->lock);
	spin_lock_init(&ksm->mm_list_lock);
	INIT_LIST_HEAD(&ksm->mm_list);
	init_rwsem(&ksm->rmap_sem);
	ksm->pages_to_scan = host->cfg.ksm_pages_to_scan
				     ?: KSM_DEFAULT_PAGES_TO_SCAN;
	ksm->sleep_ms = host->cfg.ksm_sleep_millisecs ?: KSM_DEFAULT_SLEEP_MS;
	ksm->max_page_sharing = host->cfg.ksm_max_page_sharing
					?: KSM_DEFAULT_MAX_PAGE_SHARING;
	if (htable_init(&ksm->stable, KSM_HTABLE_MIN_BITS) ||
	    htable_init(&ksm->unstable, KSM_HTABLE_MIN_BITS)) {
		ksm_free(ksm);
		return -ENOMEM;
	}
	host->ksm = ksm;
	if (host->cfg.ksm_run == KSM_RUN_MERGE &&
	    ksm_set_run(host, KSM_RUN_MERGE)) {
		host->ksm = NULL;
		ksm_free(ksm);
		return -ENOMEM;
	}
	return 0;
}

/*
 * ksm_destroy_host() - stop ksmd and free what is left: every mm has gone,
 * so no slot or item remains and every KSM page was freed; the stale
 * nodes go now.
 */
void ksm_destroy_host(struct host *host)
{
	struct ksm *ksm = host->ksm;

	if (!ksm)
		return;
	ksm_set_run(host, KSM_RUN_STOP);
	mutex_lock(&ksm->lock);
	WARN_ON(!list_empty(&ksm->mm_list));
	stable_tree_prune(ksm);
	WARN_ON(ksm->stable.nr || ksm->stable_nodes ||
		ksm->stable_node_chains || ksm->stable_node_dups);
	mutex_unlock(&ksm->lock);
	host->ksm = NULL;
	ksm_free(ksm);
}
