// SPDX-License-Identifier: MIT
/*
 * The page lock (the kernel's folio lock): PG_locked, taken by whoever
 * changes what a page is rather than what it contains.  Reclaim holds it
 * from deciding to evict a page until the page is freed or put back;
 * swap-in holds it while it reads a page and while it maps a swap-cache
 * page, so the two never act on one page at once.
 *
 * Sleepers wait on the host's page_wait queue; PG_waiters tells the
 * unlocker whether anyone needs waking, so an uncontended unlock is one
 * atomic operation and a flag test.
 */
#include "swap.h"

/** trylock_page() - take the page lock if it is free; true on success. */
bool trylock_page(struct page *page)
{
	return !TestSetPageFlag(page, PG_locked);
}

/*
 * A sleeper announces itself before trying again: either the unlocker
 * sees PG_waiters and wakes it, or the unlock came first and the try
 * succeeds (both are atomic operations on the same flags word).
 */
static bool lock_page_or_wait(struct page *page)
{
	SetPageFlag(page, PG_waiters);
	return trylock_page(page);
}

/**
 * lock_page() - take the page lock, sleeping while another task holds it.
 * The caller holds a reference, and no lock that ranks below the page
 * lock (rmap locks, PTLs, swap or LRU locks).
 */
void lock_page(struct page *page)
{
	if (trylock_page(page))
		return;
	wait_event(__page_host(page)->page_wait, lock_page_or_wait(page));
}

/** __unlock_page() - release the page lock and wake sleepers. */
void __unlock_page(struct page *page)
{
	WARN_ON_ONCE(!PageLocked(page));
	ClearPageFlag(page, PG_locked);
	if (TestClearPageFlag(page, PG_waiters))
		wake_up_all(&__page_host(page)->page_wait);
}

/**
 * unlock_page() - release the page lock.  The caller holds a reference
 * and no swap_info or LRU lock.  A swap-cache page that became unused
 * while it was locked (its last swap entry was zapped by someone who
 * could not take the lock) is dropped from the cache here.
 */
void unlock_page(struct page *page)
{
	__unlock_page(page);
	if (PageSwapCache(page))
		free_swap_cache(page);
}
