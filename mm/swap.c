// SPDX-License-Identifier: MIT
/*
 * The LRU lists: adding pages when they first get mapped, moving them
 * between lists, and isolating them for reclaim.
 *
 * Every list and every page's links and PG_lru are changed under the
 * host's lru_lock, the innermost lock but the free list's, so pages can
 * be added from under a PTL.  Which list a page is on follows from its
 * flags (PG_swapbacked, PG_active); they change only while the page is
 * off the lists or under lru_lock, so the list can always be recomputed.
 *
 * A page on a list holds no reference for it.  The path that drops a
 * page's last reference takes it off its list (free_page_frame()), and
 * isolation only takes pages whose count is not zero, so reclaim never
 * picks up a page that is being freed.
 */
#include "swap.h"

static enum lru_list page_lru(const struct page *page)
{
	return page_lru_base(page) +
	       (PageFlag(page, PG_active) ? LRU_ACTIVE : 0);
}

static u32 pfn_of(struct host *host, struct page *page)
{
	return (u32)(page - host->pages);
}

/* Add at the head (most recently used end); under lru_lock. */
static void lru_list_add(struct host *host, struct page *page,
			 enum lru_list lru)
{
	struct lru_head *l = &host->lru[lru];
	u32 pfn = pfn_of(host, page);

	page->lru_prev = PFN_NONE;
	page->lru_next = l->head;
	if (l->head != PFN_NONE)
		host->pages[l->head].lru_prev = pfn;
	else
		l->tail = pfn;
	l->head = pfn;
	atomic_long_inc(&l->nr);
}

static void lru_list_del(struct host *host, struct page *page,
			 enum lru_list lru)
{
	struct lru_head *l = &host->lru[lru];

	if (page->lru_prev != PFN_NONE)
		host->pages[page->lru_prev].lru_next = page->lru_next;
	else
		l->head = page->lru_next;
	if (page->lru_next != PFN_NONE)
		host->pages[page->lru_next].lru_prev = page->lru_prev;
	else
		l->tail = page->lru_prev;
	page->lru_next = page->lru_prev = PFN_NONE;
	atomic_long_dec(&l->nr);
}

/**
 * lru_cache_add() - put a page that is not on a list on the list its flags
 * name: new anonymous pages start inactive, as in Linux since 5.9, so a
 * page used once is the first to go.
 */
void lru_cache_add(struct page *page)
{
	struct host *host = __page_host(page);

	spin_lock(&host->lru_lock);
	if (!WARN_ON_ONCE(PageFlag(page, PG_lru))) {
		SetPageFlag(page, PG_lru);
		lru_list_add(host, page, page_lru(page));
	}
	spin_unlock(&host->lru_lock);
}

/**
 * lru_del_page() - take a page whose last reference is gone off its list.
 */
void lru_del_page(struct page *page)
{
	struct host *host = __page_host(page);

	spin_lock(&host->lru_lock);
	if (TestClearPageFlag(page, PG_lru))
		lru_list_del(host, page, page_lru(page));
	spin_unlock(&host->lru_lock);
}

/**
 * lru_del_pages() - lru_del_page() for @n pages of one host whose last
 * references are gone, under one hold of the LRU lock (release_pages()'s
 * batching: the lock is taken once per batch, not once per page).
 */
void lru_del_pages(struct page **pages, unsigned int n)
{
	struct host *host;
	unsigned int i = 0;

	while (i < n && !PageFlag(pages[i], PG_lru))
		i++;
	if (i == n)
		return;
	host = __page_host(pages[i]);
	spin_lock(&host->lru_lock);
	for (; i < n; i++)
		if (TestClearPageFlag(pages[i], PG_lru))
			lru_list_del(host, pages[i], page_lru(pages[i]));
	spin_unlock(&host->lru_lock);
}

/**
 * isolate_lru_page() - take a page the caller holds a reference on off its
 * list, with a reference for the isolator.  False if it was not on one
 * (someone else isolated it, or it was never added).
 */
bool isolate_lru_page(struct page *page)
{
	struct host *host = __page_host(page);
	bool ret;

	spin_lock(&host->lru_lock);
	ret = TestClearPageFlag(page, PG_lru);
	if (ret) {
		lru_list_del(host, page, page_lru(page));
		get_page(page);
	}
	spin_unlock(&host->lru_lock);
	return ret;
}

/**
 * putback_lru_page() - return an isolated page to the list its flags now
 * name and drop the isolation reference (which may be the last).
 */
void putback_lru_page(struct page *page)
{
	lru_cache_add(page);
	put_page(page);
}

/**
 * isolate_lru_pages() - isolate up to @nr pages from the tail (least
 * recently added end) of @lru into @pages; looks at no more than @nr
 * pages.  Return: pages isolated.
 */
unsigned long isolate_lru_pages(struct host *host, enum lru_list lru,
				unsigned long nr, struct page **pages)
{
	unsigned long n = 0;
	u32 pfn;

	spin_lock(&host->lru_lock);
	pfn = host->lru[lru].tail;
	for (unsigned long scan = 0; scan < nr && pfn != PFN_NONE; scan++) {
		struct page *page = &host->pages[pfn];

		pfn = page->lru_prev;
		/* A zero count: being freed, its freer takes it off. */
		if (!get_page_unless_zero(page))
			continue;
		ClearPageFlag(page, PG_lru);
		lru_list_del(host, page, lru);
		pages[n++] = page;
	}
	spin_unlock(&host->lru_lock);
	return n;
}

unsigned long lru_size(struct host *host, enum lru_list lru)
{
	return atomic_long_read(&host->lru[lru].nr);
}

/**
 * mark_page_lazyfree() - MADV_FREE: move a swap-backed anonymous page that
 * is on a list and not in the swap cache to the inactive file list, no
 * longer swap-backed, so reclaim may drop it without writing it (unless
 * it is dirtied again first).  A page off the lists (isolated) is left
 * alone, as Linux does.
 */
void mark_page_lazyfree(struct page *page)
{
	struct host *host = __page_host(page);

	spin_lock(&host->lru_lock);
	if (PageFlag(page, PG_lru) && PageAnon(page) &&
	    PageFlag(page, PG_swapbacked) && !PageSwapCache(page)) {
		lru_list_del(host, page, page_lru(page));
		ClearPageFlag(page, PG_active);
		ClearPageFlag(page, PG_referenced);
		ClearPageFlag(page, PG_swapbacked);
		lru_list_add(host, page, page_lru(page));
	}
	spin_unlock(&host->lru_lock);
}

/** deactivate_page() - MADV_COLD: move an active page to its inactive list. */
void deactivate_page(struct page *page)
{
	struct host *host = __page_host(page);

	spin_lock(&host->lru_lock);
	if (PageFlag(page, PG_lru) && PageFlag(page, PG_active)) {
		lru_list_del(host, page, page_lru(page));
		ClearPageFlag(page, PG_active);
		ClearPageFlag(page, PG_referenced);
		lru_list_add(host, page, page_lru(page));
		count_vm_event(host, PGDEACTIVATE);
	}
	spin_unlock(&host->lru_lock);
}
