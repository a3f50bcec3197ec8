// SPDX-License-Identifier: MIT
/*
 * Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS): an object with a
 * page cache indexed by page offset, mapped by any number of VMAs, in one
 * mm or (after fork) several.  Pages belong to the object, which holds one
 * reference on each; unmapping a VMA leaves them in place, and they are
 * freed when the last VMA referring to the object goes away.
 *
 * Reclaim may write a page of the object to swap: its slot in the page
 * cache then holds the swap entry (as Linux's xarray holds a value entry),
 * and the next lookup reads it back.  The entry is tagged in bit 0, which
 * a struct page pointer never has.
 */
#include <stdlib.h>

#include "swap.h"

static bool shmem_slot_is_swap(const struct page *slot)
{
	return (unsigned long)slot & 1;
}

static swp_entry_t shmem_swp_entry(const struct page *slot)
{
	return (swp_entry_t){ (unsigned long)slot >> 1 };
}

static struct page *swp_to_shmem_slot(swp_entry_t entry)
{
	return (struct page *)((entry.val << 1) | 1);
}

/*
 * The page cache's radix tree: SHMEM_LEVELS levels of SHMEM_NODE_SLOTS
 * slots, enough for every page offset of the user address space.  Nodes
 * are made when a slot below them is first filled and freed with the
 * object, so an object of many TiB with a few pages in it costs a few
 * nodes.
 */
#define SHMEM_NODE_SHIFT 9
#define SHMEM_NODE_SLOTS (1UL << SHMEM_NODE_SHIFT)
#define SHMEM_LEVELS 4

_Static_assert(SHMEM_LEVELS * SHMEM_NODE_SHIFT >= 47 - PAGE_SHIFT,
	      "the tree covers the user address space");
_Static_assert(SHMEM_MAX_PAGES == 1UL << (SHMEM_LEVELS * SHMEM_NODE_SHIFT),
	       "SHMEM_MAX_PAGES is what the tree indexes");

static unsigned long shmem_node_index(unsigned long index, int level)
{
	return (index >> (SHMEM_NODE_SHIFT * level)) & (SHMEM_NODE_SLOTS - 1);
}

/**
 * shmem_slot() - the page-cache slot of @index, making the nodes down to
 * it with @alloc; under i_pages_lock.
 * Return: the slot, or NULL when a node is missing (without @alloc) or
 * could not be made.
 */
void **shmem_slot(struct address_space *m, unsigned long index, bool alloc)
{
	void *node, **link = &m->i_pages;

	if (index >= SHMEM_MAX_PAGES)
		return NULL;
	for (int level = SHMEM_LEVELS - 1;; level--) {
		node = *link;
		if (!node) {
			if (!alloc)
				return NULL;
			node = calloc(SHMEM_NODE_SLOTS, sizeof(void *));
			if (!node)
				return NULL;
			*link = node;
		}
		link = &((void **)node)[shmem_node_index(index, level)];
		if (!level)
			return link;
	}
}

/* Hand every filled slot below @node to @fn, and free the nodes. */
static void shmem_free_nodes(struct address_space *m, void **node, int level,
			     void (*fn)(struct address_space *m,
					struct page *slot))
{
	for (unsigned long i = 0; node && i < SHMEM_NODE_SLOTS; i++) {
		if (!node[i])
			continue;
		if (level)
			shmem_free_nodes(m, node[i], level - 1, fn);
		else
			fn(m, node[i]);
	}
	free(node);
}

struct address_space *shmem_create(struct host *host, unsigned long nr_pages)
{
	struct address_space *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	mutex_init(&m->invalidate_lock);
	init_rwsem(&m->i_mmap_rwsem);
	INIT_LIST_HEAD(&m->i_mmap);
	atomic_set(&m->refcount, 1);
	spin_lock_init(&m->i_pages_lock);
	m->nr_pages = nr_pages;
	m->i_size = (long long)nr_pages << PAGE_SHIFT;
	m->host = host;
	return m;
}

void shmem_get_mapping(struct address_space *mapping)
{
	atomic_inc(&mapping->refcount);
}

static void shmem_free_rcu(struct callback_head *head)
{
	struct address_space *m = container_of(head, struct address_space, rcu);

	free(m);
}

/* The object is going: give back what one slot of its cache held. */
static void shmem_release_slot(struct address_space *m, struct page *page)
{
	if (shmem_slot_is_swap(page)) {
		swap_free(m->host, shmem_swp_entry(page));
		return;
	}
	WARN_ON_ONCE(page_mapcount(page));
	set_page_mapping(page, NULL);
	put_page(page);
}

/*
 * Drop a reference; the last one releases the page cache and the swap
 * slots of pages written out.  Pages are detached from the object first,
 * so an rmap walker that still holds one finds no mapping; the object
 * itself outlives any walker (SRCU).
 */
void shmem_put_mapping(struct address_space *m)
{
	void *root;

	if (!atomic_dec_and_test(&m->refcount))
		return;
	spin_lock(&m->i_pages_lock);
	root = m->i_pages;
	m->i_pages = NULL;
	spin_unlock(&m->i_pages_lock);
	shmem_free_nodes(m, root, SHMEM_LEVELS - 1, shmem_release_slot);
	call_srcu(rmap_srcu(), &m->rcu, shmem_free_rcu);
}

/*
 * Make @new the object's page at @pgoff, whose slot holds @old (nothing,
 * or a swap entry to read back); under i_pages_lock, which owns the slot
 * while the page cache names it.  The allocation's reference becomes the
 * cache's.
 */
static void shmem_fill_page(struct address_space *m, void **slot,
			    unsigned long pgoff, struct page *new,
			    struct page *old)
{
	if (shmem_slot_is_swap(old)) {
		swap_read_slot(m->host, shmem_swp_entry(old), new);
		/* The slot goes with the entry: this is the only copy now. */
		SetPageFlag(new, PG_dirty);
	} else {
		clear_highpage(new);
	}
	new->index = pgoff; /* before the mapping: see struct page */
	set_page_mapping(new, m);
	SetPageFlag(new, PG_swapbacked);
	SetPageFlag(new, PG_uptodate);
	*slot = new;
}

/**
 * shmem_get_page() - the object's page at @pgoff, allocated (zeroed) on
 * first use or read back from swap, with a reference for the caller.
 * Allocates, so the caller holds no PTL or rmap lock.
 * Return: the page, or NULL with *err set (-ENOMEM, or -EFAULT beyond the
 * object's end: the size is checked again under i_pages_lock before a
 * page is added, so none is added past an end a truncation has set).
 */
struct page *shmem_get_page(struct address_space *m, unsigned long pgoff,
			    struct host *host, int *err)
{
	struct page *page, *new;
	void **slot;
	swp_entry_t entry = { 0 };
	bool filled = false;

	if (pgoff >= READ_ONCE(m->nr_pages)) {
		*err = -EFAULT;
		return NULL;
	}
	spin_lock(&m->i_pages_lock);
	slot = shmem_slot(m, pgoff, false);
	page = slot ? *slot : NULL;
	if (page && !shmem_slot_is_swap(page))
		get_page(page);
	spin_unlock(&m->i_pages_lock);
	if (page && !shmem_slot_is_swap(page))
		return page;

	new = alloc_page(host);
	if (!new) {
		*err = -ENOMEM;
		return NULL;
	}
	spin_lock(&m->i_pages_lock);
	slot = pgoff < m->nr_pages ? shmem_slot(m, pgoff, true) : NULL;
	if (!slot) {
		*err = pgoff < m->nr_pages ? -ENOMEM : -EFAULT;
		spin_unlock(&m->i_pages_lock);
		put_page(new);
		return NULL;
	}
	page = *slot;
	if (!page || shmem_slot_is_swap(page)) {
		entry = shmem_swp_entry(page);
		shmem_fill_page(m, slot, pgoff, new, page);
		page = new;
		new = NULL;
		filled = true;
	}
	get_page(page);
	spin_unlock(&m->i_pages_lock);
	if (new)
		put_page(new);
	if (filled) {
		lru_cache_add(page);
		if (entry.val) {
			swap_free(host, entry);
			count_vm_event(host, PSWPIN);
			count_vm_event(host, PGMAJFAULT);
		}
	}
	return page;
}

/**
 * shmem_writeout() - reclaim a locked, unmapped page of an object: write
 * it to a new swap slot and leave the entry in the page cache.  The page
 * goes only if the reclaimer's and the cache's are its last references
 * (frozen under i_pages_lock, where lookups take theirs); it is then left
 * at a zero count for the reclaimer to free.
 * Return: 0, -ENOSPC with the swap device full, -EBUSY if someone else
 * holds the page or the object is going away.
 */
int shmem_writeout(struct page *page)
{
	struct host *host = __page_host(page);
	swp_entry_t entry = swap_alloc_slot(host);
	struct address_space *m;
	int idx, ret = -EBUSY;
	void **slot;

	if (!entry.val)
		return -ENOSPC;
	idx = srcu_read_lock(rmap_srcu());
	m = page_mapping_raw(page);
	if (m && !atomic_inc_not_zero(&m->refcount))
		m = NULL;
	srcu_read_unlock(rmap_srcu(), idx);
	if (!m) {
		swap_free(host, entry);
		return -EBUSY;
	}
	spin_lock(&m->i_pages_lock);
	slot = shmem_slot(m, page->index, false);
	if (slot && *slot == page && page_ref_freeze(page, 2)) {
		/* Frozen: no one can write the page while it is copied. */
		swap_write_slot(host, entry, page);
		ClearPageFlag(page, PG_dirty);
		*slot = swp_to_shmem_slot(entry);
		set_page_mapping(page, NULL);
		ret = 0;
	}
	spin_unlock(&m->i_pages_lock);
	shmem_put_mapping(m);
	if (ret)
		swap_free(host, entry);
	else
		count_vm_event(host, PSWPOUT);
	return ret;
}

void shmem_link_vma(struct vm_area_struct *vma)
{
	struct address_space *m = vma->vm_file;

	down_write(&m->i_mmap_rwsem);
	list_add_tail(&vma->shared_node, &m->i_mmap);
	up_write(&m->i_mmap_rwsem);
}

void shmem_unlink_vma(struct vm_area_struct *vma)
{
	struct address_space *m = vma->vm_file;

	down_write(&m->i_mmap_rwsem);
	list_del_init(&vma->shared_node);
	up_write(&m->i_mmap_rwsem);
}

/* ---------------------------------------------------------------------
 * Removing pages: truncation and hole punching
 */

/*
 * The first filled slot at an index in [*@index, @end), with *@index moved
 * to it; NULL when there is none.  A missing node skips every index it
 * would cover, so the walk costs what is populated.  Under i_pages_lock.
 */
static void **shmem_next_filled(struct address_space *m, unsigned long *index,
				unsigned long end)
{
	unsigned long i = *index;

	while (i < end) {
		void **node = m->i_pages;
		int level;

		for (level = SHMEM_LEVELS - 1; node; level--) {
			void **link = &node[shmem_node_index(i, level)];

			if (*link && !level) {
				*index = i;
				return link;
			}
			if (!*link)
				break;
			node = *link;
		}
		if (!node)
			return NULL; /* an empty cache */
		/* Nothing below this slot: on to the next one at @level. */
		i = (i | ((1UL << (SHMEM_NODE_SHIFT * level)) - 1)) + 1;
		if (!i)
			break;
	}
	return NULL;
}

/*
 * Take the page at @index out of the cache, if it still holds @page; under
 * the page lock, after every PTE mapping it from the cache was zapped.
 * Returns true when the cache's reference became the caller's.
 */
static bool shmem_delete_page(struct address_space *m, unsigned long index,
			      struct page *page)
{
	bool deleted = false;
	void **slot;

	spin_lock(&m->i_pages_lock);
	slot = shmem_slot(m, index, false);
	if (slot && *slot == page) {
		*slot = NULL;
		set_page_mapping(page, NULL);
		deleted = true;
	}
	spin_unlock(&m->i_pages_lock);
	return deleted;
}

/*
 * One filled slot of a range being removed: a swap entry gives back its
 * slot; a page is locked (faults map cache pages only under the page lock
 * and after checking the page is still the cache's), unmapped again if a
 * fault mapped it after the caller's unmap_mapping_range(), as Linux's
 * truncate_inode_folio(), and deleted.  Returns false to look at @index
 * again (the slot changed under us).
 */
static bool shmem_remove_slot(struct address_space *m, unsigned long index,
			      void **slot)
{
	struct page *page = *slot;

	if (shmem_slot_is_swap(page)) {
		*slot = NULL;
		spin_unlock(&m->i_pages_lock);
		swap_free(m->host, shmem_swp_entry(page));
		return true;
	}
	get_page(page);
	spin_unlock(&m->i_pages_lock);
	lock_page(page);
	if (page_mapping_raw(page) != m) {
		unlock_page(page);
		put_page(page);
		return false;
	}
	if (page_mapcount(page))
		unmap_mapping_pages(m, index, 1, false);
	if (shmem_delete_page(m, index, page))
		put_page(page); /* the cache's reference */
	unlock_page(page);
	put_page(page);
	return true;
}

/**
 * shmem_truncate_range() - remove the pages and swap entries of page
 * offsets [@start, @end) from the cache.  The caller unmapped the range
 * first (unmap_mapping_pages()).  Sleeps; no rmap lock or PTL held.
 */
void shmem_truncate_range(struct address_space *m, unsigned long start,
			  unsigned long end)
{
	unsigned long index = start;

	if (end > SHMEM_MAX_PAGES)
		end = SHMEM_MAX_PAGES;
	for (;;) {
		void **slot;

		spin_lock(&m->i_pages_lock);
		slot = shmem_next_filled(m, &index, end);
		if (!slot) {
			spin_unlock(&m->i_pages_lock);
			return;
		}
		if (shmem_remove_slot(m, index, slot))
			index++;
		cond_resched();
	}
}

/* Zero bytes [@from, @to) of @page's data, 8-byte words read-modify-write. */
static void zero_page_bytes(struct page *page, unsigned int from,
			    unsigned int to)
{
	u64 *d = page_address(page);

	if (!d)
		return; /* tag mode: a partial page keeps its tag */
	for (unsigned int w = from / 8; w * 8 < to; w++) {
		unsigned int lo = w * 8 < from ? from - w * 8 : 0;
		unsigned int hi = (w + 1) * 8 > to ? to - w * 8 : 8;
		u64 mask = (hi - lo == 8) ? ~0ULL :
					    (((1ULL << ((hi - lo) * 8)) - 1)
					     << (lo * 8));

		__WRITE_ONCE(d[w], __READ_ONCE(d[w]) & ~mask);
	}
}

/**
 * shmem_zero_partial() - zero bytes [@from, @to) of the page at @index,
 * if the cache has one (a page written to swap is read back first); a
 * hole stays a hole.  As Linux's truncate_inode_partial_folio().
 */
void shmem_zero_partial(struct address_space *m, unsigned long index,
			unsigned int from, unsigned int to)
{
	struct page *page;
	void **slot;
	int err;

	if (from >= to)
		return;
	spin_lock(&m->i_pages_lock);
	slot = shmem_slot(m, index, false);
	page = slot ? *slot : NULL;
	spin_unlock(&m->i_pages_lock);
	if (!page)
		return;
	page = shmem_get_page(m, index, m->host, &err);
	if (!page)
		return;
	zero_page_bytes(page, from, to);
	SetPageFlag(page, PG_dirty);
	put_page(page);
}

/**
 * shmem_set_size() - set the size of the object to @size bytes, under
 * i_pages_lock so no fault adds a page past the new end once it returns.
 */
void shmem_set_size(struct address_space *m, long long size)
{
	spin_lock(&m->i_pages_lock);
	WRITE_ONCE(m->i_size, size);
	WRITE_ONCE(m->nr_pages, (unsigned long)((size + PAGE_SIZE - 1) >>
						PAGE_SHIFT));
	spin_unlock(&m->i_pages_lock);
}

/** shmem_nr_cached() - resident pages in the cache (not swap entries). */
unsigned long shmem_nr_cached(struct address_space *m)
{
	unsigned long index = 0, n = 0;
	void **slot;

	spin_lock(&m->i_pages_lock);
	while ((slot = shmem_next_filled(m, &index, SHMEM_MAX_PAGES))) {
		if (!shmem_slot_is_swap(*slot))
			n++;
		index++;
	}
	spin_unlock(&m->i_pages_lock);
	return n;
}
