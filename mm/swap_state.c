// SPDX-License-Identifier: MIT
/*
 * The swap cache: the pages that hold a swap slot's contents in memory.
 *
 * A page enters the cache in two ways: reclaim gives an anonymous page a
 * slot before unmapping it (add_to_swap()), or a fault on a swap entry
 * reads the slot into a new page (swapin_page()).  Either way the page is
 * locked while it enters, and it leaves only with the page lock held, so
 * the page lock holder sees page->private and PG_swapcache stable.  The
 * cache's own reference keeps the page alive while it is in the cache.
 *
 * A cache page that no PTE maps and no swap entry names is of no use to
 * anyone.  Linux leaves such a page for reclaim to find on the LRU; the
 * model drops it as soon as it is unused (free_swap_cache()), so that an
 * idle host has no frame in use that nothing can name.
 */
#include "swap.h"

static struct swap_slot *cache_slot(struct host *host, struct page *page)
{
	return &host->swap->slots[swp_offset(page_swap_entry(page))];
}

/*
 * Take @page out of the cache; under si->lock with the page locked.  The
 * cache's reference is the caller's to drop (or, frozen, to forget).
 */
static void __delete_from_swap_cache(struct host *host, struct page *page)
{
	struct swap_slot *s = cache_slot(host, page);

	WARN_ON_ONCE(s->cache != page);
	s->cache = NULL;
	atomic_long_dec(&host->swap->nr_cache);
	swap_slot_put(host->swap, s);
	set_page_swap_entry(page, (swp_entry_t){ 0 });
	ClearPageFlag(page, PG_swapcache);
}

/**
 * add_to_swap() - give a locked, swap-backed anonymous page a slot and put
 * it in the swap cache, dirty (the slot holds nothing yet).
 * Return: false when the swap device is full or absent.
 */
bool add_to_swap(struct page *page)
{
	struct host *host = __page_host(page);
	struct swap_info_struct *si = host->swap;
	unsigned long off;

	WARN_ON_ONCE(!PageLocked(page) || PageSwapCache(page));
	if (!si)
		return false;
	spin_lock(&si->lock);
	off = scan_swap_map(si);
	if (off) {
		get_page(page); /* the cache's reference */
		si->slots[off].cache = page;
		atomic_long_inc(&si->nr_cache);
		set_page_swap_entry(page, swp_entry(SWP_TYPE_SWAP, off));
		SetPageFlag(page, PG_swapcache);
	}
	spin_unlock(&si->lock);
	if (off)
		SetPageFlag(page, PG_dirty);
	return off;
}

/**
 * swap_cache_get() - the swap-cache page of @entry with a reference, or
 * NULL.  The reference is taken under si->lock, where a page can only be
 * found while the cache's own reference keeps it above zero.
 */
struct page *swap_cache_get(struct host *host, swp_entry_t entry)
{
	struct swap_slot *s;
	struct page *page;

	if (!swap_entry_valid(host, entry))
		return NULL;
	s = &host->swap->slots[swp_offset(entry)];
	spin_lock(&host->swap->lock);
	page = s->cache;
	if (page)
		get_page(page);
	spin_unlock(&host->swap->lock);
	return page;
}

/* Read the slot into a new cache page, still locked; account the refault. */
static void swap_readpage(struct host *host, struct page *page,
			  swp_entry_t entry)
{
	swap_read_slot(host, entry, page);
	SetPageFlag(page, PG_uptodate);
	count_vm_event(host, PSWPIN);
	count_vm_event(host, WORKINGSET_REFAULT_ANON);
	if (PageFlag(page, PG_workingset))
		count_vm_event(host, WORKINGSET_ACTIVATE_ANON);
}

/*
 * Put @new in the cache for @entry, locked; under si->lock.  A page that
 * was in the working set when it was evicted goes back active.
 */
static void __add_new_to_swap_cache(struct swap_info_struct *si,
				    struct page *new, swp_entry_t entry)
{
	struct swap_slot *s = &si->slots[swp_offset(entry)];
	bool locked = trylock_page(new);

	/* Fresh from the allocator: no one locks a page with no mapping. */
	WARN_ON_ONCE(!locked);
	get_page(new); /* the cache's reference */
	SetPageFlag(new, PG_swapbacked);
	SetPageFlag(new, PG_swapcache);
	if (s->workingset) {
		SetPageFlag(new, PG_workingset);
		SetPageFlag(new, PG_active);
	}
	set_page_swap_entry(new, entry);
	s->cache = new;
	atomic_long_inc(&si->nr_cache);
}

/**
 * swapin_page() - the page holding @entry's contents, with a reference:
 * the swap-cache page, or a new one read from the slot, added to the
 * cache and to the LRU.  Allocates a frame, so the caller holds no PTL
 * and no rmap lock.  The page returned is not locked; the caller locks
 * it and checks it is still @entry's (PageSwapCache and the entry).
 *
 * Return: 0 with the cache page, 1 with a page read from swap, -ENOMEM
 * when no frame could be had, -ENOENT when the slot was freed meanwhile
 * (whoever held the entry is gone: the caller retries its fault).
 */
int swapin_page(struct host *host, swp_entry_t entry, struct page **pagep)
{
	struct swap_info_struct *si = host->swap;
	struct page *page, *new;
	struct swap_slot *s;

	if (!swap_entry_valid(host, entry))
		return -ENOENT;
	page = swap_cache_get(host, entry);
	if (page) {
		*pagep = page;
		return 0;
	}
	new = alloc_page(host);
	if (!new)
		return -ENOMEM;
	s = &si->slots[swp_offset(entry)];
	spin_lock(&si->lock);
	page = s->cache;
	if (page) {
		get_page(page); /* raced with another swap-in */
	} else if (s->count) {
		__add_new_to_swap_cache(si, new, entry);
		page = new;
		new = NULL;
	}
	spin_unlock(&si->lock);
	if (new) {
		put_page(new);
		*pagep = page;
		return page ? 0 : -ENOENT;
	}
	/*
	 * The new page is locked and not uptodate: a concurrent fault on the
	 * entry finds it in the cache and waits in lock_page() for the read.
	 */
	lru_cache_add(page);
	swap_readpage(host, page, entry);
	unlock_page(page);
	*pagep = page;
	return 1;
}

/**
 * swap_writepage() - write a locked, unmapped swap-cache page to its slot.
 * Dirty is cleared first: a write that dirties the page again after the
 * copy is caught by the check in swap_cache_remove_mapping().
 */
void swap_writepage(struct page *page)
{
	struct host *host = __page_host(page);

	ClearPageFlag(page, PG_dirty);
	swap_write_slot(host, page_swap_entry(page), page);
	count_vm_event(host, PSWPOUT);
}

/**
 * swap_cache_remove_mapping() - take a locked, clean, unmapped swap-cache
 * page out of the cache and leave it with no reference, for the reclaimer
 * (which holds the other expected reference) to free.
 *
 * The refcount is frozen from exactly two (the reclaimer's and the
 * cache's) to zero under si->lock, where swap_cache_get() takes its
 * references, so a swap-in that found the page, a GUP reference or a pin
 * (a pinning secondary MMU's) makes the freeze fail and the page stays.
 * The slot keeps the contents and whether the page was in the working
 * set; it is freed too if no swap entry names it any more.
 */
bool swap_cache_remove_mapping(struct page *page)
{
	struct host *host = __page_host(page);
	struct swap_info_struct *si = host->swap;
	bool ret = false;

	spin_lock(&si->lock);
	if (page_ref_freeze(page, 2)) {
		if (PageFlag(page, PG_dirty)) {
			page_ref_unfreeze(page, 2);
		} else {
			cache_slot(host, page)->workingset =
				PageFlag(page, PG_workingset);
			__delete_from_swap_cache(host, page);
			ret = true;
		}
	}
	spin_unlock(&si->lock);
	return ret;
}

/**
 * try_free_swap() - drop a locked page from the swap cache if no swap
 * entry names its slot any more; the slot is freed and the page, now the
 * only copy, is dirty.  Mapped pages qualify too (do_swap_page() uses it
 * before mapping a page writable).
 * Return: true if the page left the cache.
 */
bool try_free_swap(struct page *page)
{
	struct host *host = __page_host(page);
	bool ret = false;

	WARN_ON_ONCE(!PageLocked(page));
	if (!PageSwapCache(page))
		return false;
	spin_lock(&host->swap->lock);
	if (!cache_slot(host, page)->count) {
		__delete_from_swap_cache(host, page);
		ret = true;
	}
	spin_unlock(&host->swap->lock);
	if (ret) {
		SetPageFlag(page, PG_dirty);
		put_page(page); /* the cache's; the caller holds another */
	}
	return ret;
}

/* In the cache, unmapped, and no swap entry names its slot. */
static bool swap_page_unused(struct page *page)
{
	struct host *host = __page_host(page);
	swp_entry_t entry = page_swap_entry(page);
	bool ret = false;

	if (!PageSwapCache(page) || page_mapcount(page) ||
	    !swap_entry_valid(host, entry))
		return false;
	spin_lock(&host->swap->lock);
	ret = host->swap->slots[swp_offset(entry)].cache == page &&
	      !host->swap->slots[swp_offset(entry)].count;
	spin_unlock(&host->swap->lock);
	return ret;
}

/**
 * free_swap_cache() - drop @page from the swap cache if it became unused
 * (its last PTE or last swap entry just went).  The caller holds a
 * reference and no page lock; any locks it holds rank above
 * swap_info->lock.
 *
 * The page lock is only tried.  When another task holds it, that task
 * re-checks after unlocking (unlock_page() calls here), so the page is
 * dropped by whoever touches it last.  The loop covers the same race the
 * other way: a swap entry may go while we hold the lock.
 */
void free_swap_cache(struct page *page)
{
	while (swap_page_unused(page) && trylock_page(page)) {
		if (!page_mapcount(page))
			try_free_swap(page);
		__unlock_page(page);
	}
}
