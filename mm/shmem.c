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

	if (index >= m->nr_pages)
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
	init_rwsem(&m->i_mmap_rwsem);
	INIT_LIST_HEAD(&m->i_mmap);
	atomic_set(&m->refcount, 1);
	spin_lock_init(&m->i_pages_lock);
	m->nr_pages = nr_pages;
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
		clear_page_contents(new);
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
 * object's end).
 */
struct page *shmem_get_page(struct address_space *m, unsigned long pgoff,
			    struct host *host, int *err)
{
	struct page *page, *new;
	void **slot;
	swp_entry_t entry = { 0 };
	bool filled = false;

	if (pgoff >= m->nr_pages) {
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
	slot = shmem_slot(m, pgoff, true);
	if (!slot) {
		spin_unlock(&m->i_pages_lock);
		put_page(new);
		*err = -ENOMEM;
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
