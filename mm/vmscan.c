// SPDX-License-Identifier: MIT
/*
 * Page reclaim, after Linux's classic two-list LRU (mm/vmscan.c there):
 * aging, eviction, direct reclaim from the allocator, and kswapd.
 *
 * Aging.  New pages start on the inactive list.  A page's references are
 * read with folio_referenced(): the accessed bit of every PTE mapping it
 * and, through mmu_notifier_clear_flush_young(), of every secondary
 * mapping, so a page that only a guest uses counts as used.  An inactive
 * page referenced since it was last looked at is kept for another round
 * (once) or activated (twice, or referenced by two mappings); an
 * unreferenced one is evicted.  When the inactive list gets shorter than
 * the active one, active pages are moved back to it, their accessed bits
 * cleared, so they have to earn their place again.
 *
 * Eviction of a page (shrink_page()), with the page locked:
 *   1. a pinned page (pin_user_pages, e.g. a KVM_VM_PINNED guest's) is
 *      left alone and counted: only its pinner can let it go;
 *   2. an anonymous page gets a swap slot and joins the swap cache;
 *   3. try_to_unmap() removes every PTE, each inside a CLEAR invalidation,
 *      so each secondary MMU drops its mapping (and hands back the dirty
 *      and accessed bits) before the PTE goes;
 *   4. a dirty page is written to its slot;
 *   5. the page is freed only if its reference count can be frozen from
 *      exactly the references reclaim expects: anyone else's reference,
 *      a secondary MMU's GUP reference in flight included, keeps it.
 * A shared-memory page is written out the same way, its object's page
 * cache then holding the swap entry; a clean lazily freed page (MADV_FREE)
 * is simply dropped.
 *
 * Without a free swap slot the anonymous lists are not scanned at all:
 * nothing there could be freed, and nothing is lost by keeping it.
 */
#include "swap.h"

#define DEF_PRIORITY 12

/*
 * A task that reclaims has PF_MEMALLOC set: an allocation from inside
 * reclaim must not reclaim again.
 */
bool page_alloc_in_reclaim(void)
{
	return current_in_reclaim();
}

/**
 * struct scan_control - one reclaim request.
 * @nr_to_reclaim: pages wanted.
 * @nr_reclaimed: pages freed so far.
 * @nr_scanned: inactive pages looked at.
 * @priority: scan 1/2^priority of each list per round (DEF_PRIORITY to 0).
 * @may_swap: a swap slot is free, so anonymous pages may be evicted.
 * @kswapd: counted as kswapd's work rather than direct reclaim's.
 * @ignore_references: evict without asking whether the page was used
 *	(MADV_PAGEOUT).
 */
struct scan_control {
	unsigned long nr_to_reclaim;
	unsigned long nr_reclaimed;
	unsigned long nr_scanned;
	int priority;
	bool may_swap;
	bool kswapd;
	bool ignore_references;
};

enum page_references {
	PAGEREF_RECLAIM,
	PAGEREF_KEEP,
	PAGEREF_ACTIVATE,
};

/*
 * Was the page used since reclaim last asked?  All mapped pages start
 * with the accessed bit of the fault that mapped them, so one reference
 * only marks the page (PG_referenced) and keeps it inactive for another
 * round; a second one, or two mappings at once, activates it.
 */
static enum page_references page_check_references(struct page *page)
{
	int referenced_ptes = folio_referenced(page);
	bool referenced_page = TestClearPageFlag(page, PG_referenced);

	if (!referenced_ptes)
		return PAGEREF_RECLAIM;
	SetPageFlag(page, PG_referenced);
	if (referenced_page || referenced_ptes > 1)
		return PAGEREF_ACTIVATE;
	return PAGEREF_KEEP;
}

enum reclaim_result {
	PAGE_KEEP,	/* back to the inactive list */
	PAGE_ACTIVATE,	/* back to the active list */
	PAGE_FREED,	/* reference count frozen at zero: free it */
};

/*
 * A lazily freed page; locked and isolated.  Clean, it is unmapped and
 * dropped; written again since MADV_FREE, it is an ordinary swap-backed
 * page once more (set here, off the LRU, as the list follows the flag).
 */
static enum reclaim_result shrink_lazyfree_page(struct page *page)
{
	bool unmapped = !page_mapcount(page) || try_to_unmap(page);

	if (PageFlag(page, PG_dirty)) {
		SetPageFlag(page, PG_swapbacked);
		return PAGE_ACTIVATE;
	}
	/* Unmapped and ours alone, nobody can dirty it any more. */
	if (!unmapped || !page_ref_freeze(page, 1))
		return PAGE_KEEP;
	count_vm_event(__page_host(page), PGLAZYFREED);
	return PAGE_FREED;
}

/* An anonymous page; locked and isolated. */
static enum reclaim_result shrink_anon_page(struct page *page)
{
	if (!PageFlag(page, PG_swapbacked))
		return shrink_lazyfree_page(page);
	if (!PageSwapCache(page)) {
		/*
		 * Mapped nowhere and in no cache: its last mapping went while
		 * it was isolated, and dropping the remaining references
		 * frees it; there is nothing to write.
		 */
		if (!page_mapcount(page))
			return PAGE_KEEP;
		if (!add_to_swap(page)) {
			count_vm_event(__page_host(page), RECLAIM_SWAP_FULL);
			return PAGE_ACTIVATE;
		}
	}
	if (page_mapcount(page) && !try_to_unmap(page))
		return PAGE_ACTIVATE;
	if (PageFlag(page, PG_dirty))
		swap_writepage(page);
	return swap_cache_remove_mapping(page) ? PAGE_FREED : PAGE_KEEP;
}

/* A shared-memory page; locked. */
static enum reclaim_result shrink_shmem_page(struct page *page)
{
	if (page_mapcount(page) && !try_to_unmap(page))
		return PAGE_ACTIVATE;
	switch (shmem_writeout(page)) {
	case 0:
		return PAGE_FREED;
	case -ENOSPC:
		count_vm_event(__page_host(page), RECLAIM_SWAP_FULL);
		return PAGE_ACTIVATE;
	default:
		return PAGE_KEEP;
	}
}

/* Try to evict one isolated page (see the comment at the top). */
static enum reclaim_result shrink_page(struct page *page,
				       struct scan_control *sc)
{
	enum reclaim_result ret = PAGE_KEEP;

	if (!trylock_page(page))
		return PAGE_KEEP;
	if (page_maybe_dma_pinned(page)) {
		count_vm_event(__page_host(page), RECLAIM_PINNED);
		ret = PAGE_ACTIVATE;
		goto out;
	}
	/* KSM pages are not swapped (mm/ksm.c has no swap-out path). */
	if (PageKsm(page)) {
		ret = PAGE_ACTIVATE;
		goto out;
	}
	if (!sc->ignore_references) {
		switch (page_check_references(page)) {
		case PAGEREF_ACTIVATE:
			ret = PAGE_ACTIVATE;
			goto out;
		case PAGEREF_KEEP:
			goto out;
		case PAGEREF_RECLAIM:
			break;
		}
	}
	if (PageAnon(page))
		ret = shrink_anon_page(page);
	else if (PageShmem(page))
		ret = shrink_shmem_page(page);
	/* Else its object let go of it: dropping our reference frees it. */
out:
	if (ret == PAGE_FREED)
		__unlock_page(page);
	else
		unlock_page(page);
	return ret;
}

/* Evict what can be, put the rest back; returns the pages freed. */
static unsigned long shrink_page_list(struct host *host, struct page **pages,
				      unsigned long n, struct scan_control *sc)
{
	unsigned long freed = 0;

	for (unsigned long i = 0; i < n; i++) {
		struct page *page = pages[i];

		switch (shrink_page(page, sc)) {
		case PAGE_FREED:
			free_page_frame(page);
			freed++;
			continue;
		case PAGE_ACTIVATE:
			if (!TestSetPageFlag(page, PG_active))
				count_vm_event(host, PGACTIVATE);
			break;
		case PAGE_KEEP:
			break;
		}
		putback_lru_page(page);
	}
	return freed;
}

static void count_scan(struct host *host, struct scan_control *sc,
		       enum lru_list base, unsigned long scanned,
		       unsigned long stolen)
{
	bool file = base == LRU_INACTIVE_FILE;

	count_vm_events(host, sc->kswapd ? PGSCAN_KSWAPD : PGSCAN_DIRECT,
			scanned);
	count_vm_events(host, file ? PGSCAN_FILE : PGSCAN_ANON, scanned);
	count_vm_events(host, sc->kswapd ? PGSTEAL_KSWAPD : PGSTEAL_DIRECT,
			stolen);
	count_vm_events(host, file ? PGSTEAL_FILE : PGSTEAL_ANON, stolen);
}

static void shrink_inactive_list(struct host *host, enum lru_list base,
				 unsigned long nr, struct scan_control *sc)
{
	struct page *pages[SWAP_CLUSTER_MAX];
	unsigned long n, freed;

	n = isolate_lru_pages(host, base, nr, pages);
	freed = shrink_page_list(host, pages, n, sc);
	count_scan(host, sc, base, n, freed);
	sc->nr_scanned += n;
	sc->nr_reclaimed += freed;
}

/*
 * Move up to @nr pages from the tail of the active list to the inactive
 * one.  Their accessed bits (primary and secondary) are cleared on the
 * way, so what the inactive list then sees is use since deactivation.
 */
static void shrink_active_list(struct host *host, enum lru_list base,
			       unsigned long nr)
{
	struct page *pages[SWAP_CLUSTER_MAX];
	unsigned long n;

	while (nr) {
		unsigned long batch = nr < SWAP_CLUSTER_MAX ? nr
							    : SWAP_CLUSTER_MAX;

		nr -= batch;
		n = isolate_lru_pages(host, base + LRU_ACTIVE, batch, pages);
		if (!n)
			return;
		count_vm_events(host, PGREFILL, n);
		count_vm_events(host, PGDEACTIVATE, n);
		for (unsigned long i = 0; i < n; i++) {
			struct page *page = pages[i];

			if (page_mapcount(page))
				(void)folio_referenced(page);
			ClearPageFlag(page, PG_active);
			SetPageFlag(page, PG_workingset);
			putback_lru_page(page);
		}
	}
}

/*
 * The inactive list should not be shorter than the active one (Linux's
 * ratio for memories under 1 GiB), or pages get no time on it to show
 * they are used.
 */
static bool inactive_is_low(struct host *host, enum lru_list base)
{
	return lru_size(host, base) < lru_size(host, base + LRU_ACTIVE);
}

static unsigned long scan_count(struct host *host, enum lru_list lru,
				int priority)
{
	unsigned long size = lru_size(host, lru), scan = size >> priority;

	if (scan < SWAP_CLUSTER_MAX)
		scan = size < SWAP_CLUSTER_MAX ? size : SWAP_CLUSTER_MAX;
	return scan;
}

static void shrink_lruvec(struct host *host, struct scan_control *sc)
{
	static const enum lru_list bases[] = { LRU_INACTIVE_ANON,
					       LRU_INACTIVE_FILE };

	for (unsigned int i = 0; i < MMULAB_ARRAY_SIZE(bases); i++) {
		enum lru_list base = bases[i];
		unsigned long nr;

		if (base == LRU_INACTIVE_ANON && !sc->may_swap)
			continue;
		if (inactive_is_low(host, base))
			shrink_active_list(host, base,
					   scan_count(host, base + LRU_ACTIVE,
						      sc->priority));
		nr = scan_count(host, base, sc->priority);
		while (nr && sc->nr_reclaimed < sc->nr_to_reclaim) {
			unsigned long want = sc->nr_to_reclaim -
					     sc->nr_reclaimed;
			unsigned long batch = nr < SWAP_CLUSTER_MAX
						      ? nr
						      : SWAP_CLUSTER_MAX;

			if (batch > want)
				batch = want;
			nr -= batch;
			shrink_inactive_list(host, base, batch, sc);
		}
	}
}

/*
 * Scan the lists at rising priority (1/4096 of each list, then 1/2048,
 * ..., then all of it) until enough was freed.
 */
static unsigned long do_try_to_free_pages(struct host *host,
					  struct scan_control *sc)
{
	unsigned int noreclaim = memalloc_noreclaim_save();

	for (int prio = DEF_PRIORITY; prio >= 0; prio--) {
		sc->priority = prio;
		sc->may_swap = nr_free_swap_slots(host) > 0;
		shrink_lruvec(host, sc);
		if (sc->nr_reclaimed >= sc->nr_to_reclaim)
			break;
		cond_resched();
	}
	memalloc_noreclaim_restore(noreclaim);
	if (sc->nr_reclaimed)
		atomic_set(&host->kswapd_failures, 0);
	return sc->nr_reclaimed;
}

/**
 * reclaim_throttle() - a reclaim round freed nothing: give the tasks that
 * hold the pages it met (an unmap with its mmu_gather batch, a fault with
 * its GUP reference) a moment to let go before trying again; Linux sleeps
 * a jiffy here.
 */
void reclaim_throttle(struct host *host)
{
	(void)host;
	msleep(1);
}

/**
 * try_to_free_pages() - direct reclaim for an allocation that found the
 * free list empty.  The caller holds no PTL, rmap, page, swap or LRU lock.
 * Return: pages freed.
 */
unsigned long try_to_free_pages(struct host *host, unsigned long nr)
{
	struct scan_control sc = { .nr_to_reclaim = nr };

	return do_try_to_free_pages(host, &sc);
}

long host_reclaim(struct host *host, unsigned long nr_pages)
{
	struct scan_control sc = { .nr_to_reclaim = nr_pages };

	if (!host_api_ok(host))
		return -EINVAL;
	if (!nr_pages)
		return 0;
	return do_try_to_free_pages(host, &sc);
}

/**
 * reclaim_pages() - MADV_PAGEOUT: evict isolated pages whatever their
 * references, putting back those that cannot go.  Return: pages freed.
 */
unsigned long reclaim_pages(struct host *host, struct page **pages,
			    unsigned long nr)
{
	struct scan_control sc = { .nr_to_reclaim = nr,
				   .ignore_references = true };
	unsigned int noreclaim = memalloc_noreclaim_save();
	unsigned long freed;

	freed = shrink_page_list(host, pages, nr, &sc);
	memalloc_noreclaim_restore(noreclaim);
	return freed;
}

/* ---------------------------------------------------------------------
 * kswapd
 */

static unsigned long nr_free(struct host *host)
{
	return atomic_long_read(&host->nr_free);
}

/*
 * kswapd has work below the low watermark, unless it failed too often in
 * a row: then only a reclaim that frees something (direct reclaim, an
 * on-demand host_reclaim()) gets it going again, or it would spin on a
 * host whose memory is all pinned.
 */
static bool kswapd_has_work(struct host *host)
{
	return nr_free(host) < host->wmark_low &&
	       atomic_read(&host->kswapd_failures) < MAX_RECLAIM_RETRIES;
}

/* Reclaim until the high watermark is met or reclaim stops helping. */
static void balance_host(struct host *host)
{
	count_vm_event(host, PAGEOUTRUN);
	while (nr_free(host) < host->wmark_high &&
	       !READ_ONCE(host->kswapd_stop)) {
		struct scan_control sc = { .kswapd = true };
		unsigned long free = nr_free(host);

		if (free >= host->wmark_high)
			break;
		sc.nr_to_reclaim = host->wmark_high - free;
		if (sc.nr_to_reclaim > SWAP_CLUSTER_MAX)
			sc.nr_to_reclaim = SWAP_CLUSTER_MAX;
		if (!do_try_to_free_pages(host, &sc)) {
			atomic_inc(&host->kswapd_failures);
			reclaim_throttle(host);
			return;
		}
		cond_resched();
	}
}

static int kswapd(void *arg)
{
	struct host *host = arg;

	memalloc_noreclaim_save();
	for (;;) {
		wait_event(host->kswapd_wait, READ_ONCE(host->kswapd_stop) ||
						      kswapd_has_work(host));
		if (READ_ONCE(host->kswapd_stop))
			break;
		balance_host(host);
	}
	return 0;
}

/** wakeup_kswapd() - the free list fell below the low watermark. */
void wakeup_kswapd(struct host *host)
{
	if (host->kswapd)
		wake_up_all(&host->kswapd_wait);
}

int kswapd_start(struct host *host)
{
	struct task_struct *t = kthread_run(kswapd, host, "kswapd");

	if (IS_ERR(t))
		return PTR_ERR(t);
	host->kswapd = t;
	return 0;
}

void kswapd_stop(struct host *host)
{
	if (!host->kswapd)
		return;
	WRITE_ONCE(host->kswapd_stop, 1);
	wake_up_all(&host->kswapd_wait);
	kthread_stop(host->kswapd);
	host->kswapd = NULL;
}
