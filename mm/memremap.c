// SPDX-License-Identifier: MIT
/*
 * Device-private memory: a dev_pagemap's frames (see <mmulab/memremap.h>).
 *
 * A device frame carries PG_device and its pagemap in page->private for
 * as long as the pagemap holds it.  Free, it has no reference and sits in
 * the driver's own pool; zone_device_page_init() hands it out; when its
 * last reference goes, free_zone_device_page() gives it back to the driver
 * instead of the host's free list.  It is never on an LRU list, so reclaim
 * never sees it, and compaction and migrate_pfn() leave it alone
 * (page_movable_kind()): only migrate_vma and migrate_device_range move
 * device pages.
 */
#include <stdlib.h>

#include <mmulab/memremap.h>
#include "internal.h"

bool is_device_private_page(const struct page *page)
{
	return page && PageFlag(page, PG_device);
}

struct dev_pagemap *page_pgmap(const struct page *page)
{
	if (!is_device_private_page(page))
		return NULL;
	return (struct dev_pagemap *)__READ_ONCE(page->private);
}

static void release_frames(struct dev_pagemap *pgmap, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		struct page *page = pfn_to_page(pgmap->host, pgmap->pfns[i]);

		ClearPageFlag(page, PG_device);
		page->private = 0;
		atomic_set(&page->_refcount, 1);
		put_page(page);
	}
}

int memremap_pages(struct host *host, struct dev_pagemap *pgmap)
{
	unsigned long i;

	if (!host || !pgmap || !pgmap->ops || !pgmap->ops->page_free ||
	    !pgmap->ops->migrate_to_ram || !pgmap->owner || !pgmap->nr_pages)
		return -EINVAL;
	if (pgmap->nr_pages > host_nr_free_frames(host))
		return -ENOMEM;
	pgmap->pfns = calloc(pgmap->nr_pages, sizeof(*pgmap->pfns));
	if (!pgmap->pfns)
		return -ENOMEM;
	pgmap->host = host;
	for (i = 0; i < pgmap->nr_pages; i++) {
		struct page *page = alloc_page(host);

		if (!page) {
			release_frames(pgmap, i);
			free(pgmap->pfns);
			pgmap->pfns = NULL;
			return -ENOMEM;
		}
		page->private = (unsigned long)pgmap;
		page->lru_prev = (u32)i; /* never on an LRU list */
		SetPageFlag(page, PG_device);
		/* Free device pages have no reference, as in Linux. */
		atomic_set(&page->_refcount, 0);
		pgmap->pfns[i] = page_to_pfn(page);
	}
	return 0;
}

int memunmap_pages(struct dev_pagemap *pgmap)
{
	if (!pgmap || !pgmap->pfns)
		return -EINVAL;
	for (unsigned long i = 0; i < pgmap->nr_pages; i++)
		if (page_ref_count(pfn_to_page(pgmap->host, pgmap->pfns[i])))
			return -EBUSY;
	release_frames(pgmap, pgmap->nr_pages);
	free(pgmap->pfns);
	pgmap->pfns = NULL;
	return 0;
}

unsigned long page_pgmap_index(const struct page *page)
{
	return page->lru_prev;
}

void zone_device_page_init(struct page *page)
{
	if (WARN_ON_ONCE(!is_device_private_page(page) ||
			 page_ref_count(page) != 0))
		return;
	atomic_set(&page->_refcount, 1);
	WARN_ON_ONCE(!trylock_page(page));
}

/*
 * The last reference to a device page went (put_page()): no secondary MMU
 * may map it any more (the checker's INV for a freed frame), and it is the
 * driver's again, named by nothing.
 */
void free_zone_device_page(struct page *page)
{
	struct host *host = __page_host(page);
	struct dev_pagemap *pgmap = page_pgmap(page);

	WARN_ON_ONCE(atomic_read(&page->_mapcount) != 0);
	WARN_ON_ONCE(PageLocked(page));
	if (unlikely(READ_ONCE(host->checker)))
		checker_page_free(host, page_to_pfn(page));
	WRITE_ONCE(page->mapping, NULL);
	page->index = 0;
	ClearPageFlag(page, PG_anon_exclusive);
	ClearPageFlag(page, PG_dirty);
	ClearPageFlag(page, PG_swapbacked);
	pgmap->ops->page_free(page);
}
