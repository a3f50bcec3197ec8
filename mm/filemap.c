// SPDX-License-Identifier: MIT
/*
 * The page lock: PG_locked used as a sleeping bit lock, as the kernel's
 * folio_lock().  Migration holds the lock of the page it moves from the
 * first PTE it replaces by a migration entry until the last one points to
 * the new page; KSM holds it while it write-protects and replaces a page.
 *
 * Waiters sleep on a wait queue of the host hashed by frame number, so the
 * lock costs no space in struct page.  Unlock clears the bit before it
 * wakes the queue, and wait_event() samples the queue before it tests the
 * bit, so a wake-up cannot fall between a waiter's test and its sleep.
 * Several pages share a queue: a waiter may be woken for another page and
 * simply tests its own bit again.
 *
 * Reclaim holds the lock from deciding to evict a page until the page is
 * freed or put back; swap-in holds it while it reads a page and while it
 * maps a swap-cache page, so the two never act on one page at once.
 */
#include "swap.h"

static wait_queue_head_t *page_waitqueue(struct page *page)
{
	struct host *host = __page_host(page);
	unsigned long pfn = page_to_pfn(page);

	return &host->page_wait_table[pfn & ((1 << PAGE_WAIT_TABLE_BITS) - 1)];
}

/** trylock_page() - take the page lock if it is free; true on success. */
bool trylock_page(struct page *page)
{
	return !TestSetPageFlag(page, PG_locked);
}

/** lock_page() - take the page lock, sleeping while another task holds it. */
void lock_page(struct page *page)
{
	wait_event(*page_waitqueue(page), trylock_page(page));
}

/** __unlock_page() - release the page lock and wake its waiters. */
void __unlock_page(struct page *page)
{
	WARN_ON_ONCE(!TestClearPageFlag(page, PG_locked));
	wake_up_all(page_waitqueue(page));
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

/**
 * wait_on_page_locked() - sleep until the page lock of @page is free,
 * without taking it.  The caller need not hold a reference: struct page
 * outlives the frame's use, and if the frame was freed and reused meanwhile
 * the wait merely ends at the new owner's unlock.
 */
void wait_on_page_locked(struct page *page)
{
	wait_event(*page_waitqueue(page), !PageLocked(page));
}
