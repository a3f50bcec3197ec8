// SPDX-License-Identifier: MIT
/*
 * Compaction: gather the used frames of a range at its bottom, so that its
 * top is free in one piece.  Two scanners walk towards each other, as in
 * the kernel's compact_zone() (which runs them the other way round): the
 * migration scanner from the top looks for pages that can move, the free
 * scanner from the bottom takes free frames off the free list as targets,
 * and each page found is migrated into the lowest target.  They stop where
 * they meet.
 *
 * No lock is held across the scan; every frame is looked at with a
 * reference taken by frame number (get_page_unless_zero()) or under the
 * free-list lock (isolate_free_page()), so frames may change state under
 * the scanners at will: a page freed meanwhile is simply not found, one
 * allocated meanwhile is moved or skipped like any other.
 */
#include "internal.h"

/**
 * struct compact_control - one run of host_compact().
 * @host: the host.
 * @free_pfn: next frame the free scanner looks at.
 * @migrate_pfn: frames at and above it are done.
 * @target: the isolated free frame the next page goes to, or NULL.
 * @res: what was done.
 */
struct compact_control {
	struct host *host;
	unsigned long free_pfn;
	unsigned long migrate_pfn;
	struct page *target;
	struct compact_result res;
};

/*
 * A frame worth a reference: in use and not of a kind that never moves.
 * Only atomics are read here; the rest of struct page is looked at once
 * we hold a reference, and migrate_page_to() decides.
 */
static bool migrate_candidate(struct page *page)
{
	return !PageFlag(page, PG_buddy) && !PageFlag(page, PG_reserved) &&
	       !PageFlag(page, PG_pgtable) && page_ref_count(page);
}

/* The next page from the top, referenced; NULL when the scanners meet. */
static struct page *next_migrate_page(struct compact_control *cc)
{
	while (cc->migrate_pfn > cc->free_pfn) {
		struct page *page = pfn_to_page(cc->host, --cc->migrate_pfn);

		cc->res.migrate_scanned++;
		count_vm_event(cc->host, COMPACTMIGRATE_SCANNED);
		if (!migrate_candidate(page) || !get_page_unless_zero(page))
			continue;
		return page;
	}
	return NULL;
}

/* Isolate the lowest free frame below the migration scanner. */
static struct page *next_free_target(struct compact_control *cc)
{
	while (cc->free_pfn < cc->migrate_pfn) {
		struct page *page = isolate_free_page(cc->host, cc->free_pfn);

		cc->res.free_scanned++;
		count_vm_event(cc->host, COMPACTFREE_SCANNED);
		if (page) {
			count_vm_event(cc->host, COMPACTISOLATED);
			return page;
		}
		cc->free_pfn++;
	}
	return NULL;
}

static void compact_one(struct compact_control *cc, struct page *page)
{
	int ret;

	if (!cc->target)
		cc->target = next_free_target(cc);
	if (!cc->target)
		return;
	ret = migrate_page_retry(page, cc->target);
	if (!ret) {
		/* The target holds the page now; drop our reference. */
		put_page(cc->target);
		cc->target = NULL;
		cc->res.moved++;
	} else if (ret != -EINVAL) {
		cc->res.failed++;
	}
}

int host_compact(struct host *host, unsigned long start_pfn,
		 unsigned long end_pfn, struct compact_result *res)
{
	struct compact_control cc = { .host = host };

	if (!host_api_ok(host) || start_pfn >= end_pfn)
		return -EINVAL;
	if (end_pfn > host->cfg.nr_frames)
		end_pfn = host->cfg.nr_frames;
	if (start_pfn <= ZERO_PFN)
		start_pfn = ZERO_PFN + 1;
	cc.free_pfn = start_pfn;
	cc.migrate_pfn = end_pfn > start_pfn ? end_pfn : start_pfn;
	for (;;) {
		struct page *page = next_migrate_page(&cc);

		if (!page)
			break;
		compact_one(&cc, page);
		put_page(page);
		cond_resched();
	}
	if (cc.target)
		put_page(cc.target);
	if (res)
		*res = cc.res;
	return 0;
}
