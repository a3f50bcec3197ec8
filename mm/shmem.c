// SPDX-License-Identifier: MIT
/*
 * Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS): an object with a
 * page cache indexed by page offset, mapped by any number of VMAs, in one
 * mm or (after fork) several.  Pages belong to the object, which holds one
 * reference on each; unmapping a VMA leaves them in place, and they are
 * freed when the last VMA referring to the object goes away.
 */
#include <stdlib.h>

#include "internal.h"

struct address_space *shmem_create(unsigned long nr_pages)
{
	struct address_space *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->pages = calloc(nr_pages, sizeof(*m->pages));
	if (!m->pages) {
		free(m);
		return NULL;
	}
	init_rwsem(&m->i_mmap_rwsem);
	INIT_LIST_HEAD(&m->i_mmap);
	atomic_set(&m->refcount, 1);
	spin_lock_init(&m->i_pages_lock);
	m->nr_pages = nr_pages;
	return m;
}

void shmem_get_mapping(struct address_space *mapping)
{
	atomic_inc(&mapping->refcount);
}

static void shmem_free_rcu(struct callback_head *head)
{
	struct address_space *m = container_of(head, struct address_space, rcu);

	free(m->pages);
	free(m);
}

/*
 * Drop a reference; the last one releases the page cache.  Pages are
 * detached from the object first, so an rmap walker that still holds one
 * finds no mapping; the object itself outlives any walker (SRCU).
 */
void shmem_put_mapping(struct address_space *m)
{
	if (!atomic_dec_and_test(&m->refcount))
		return;
	for (unsigned long i = 0; i < m->nr_pages; i++) {
		struct page *page = m->pages[i];

		if (!page)
			continue;
		m->pages[i] = NULL;
		WARN_ON_ONCE(page_mapcount(page));
		WRITE_ONCE(page->mapping, NULL);
		put_page(page);
	}
	call_srcu(rmap_srcu(), &m->rcu, shmem_free_rcu);
}

/**
 * shmem_get_page() - the object's page at @pgoff, allocated (zeroed) on
 * first use, with a reference for the caller.
 * Return: the page, or NULL with *err set (-ENOMEM, or -EFAULT beyond the
 * object's end).
 */
struct page *shmem_get_page(struct address_space *m, unsigned long pgoff,
			    struct host *host, int *err)
{
	struct page *page, *new;

	if (pgoff >= m->nr_pages) {
		*err = -EFAULT;
		return NULL;
	}
	spin_lock(&m->i_pages_lock);
	page = m->pages[pgoff];
	if (page)
		get_page(page);
	spin_unlock(&m->i_pages_lock);
	if (page)
		return page;

	new = alloc_page(host);
	if (!new) {
		*err = -ENOMEM;
		return NULL;
	}
	clear_page_contents(new);
	new->index = pgoff;
	WRITE_ONCE(new->mapping, m);
	SetPageFlag(new, PG_swapbacked);
	spin_lock(&m->i_pages_lock);
	page = m->pages[pgoff];
	if (!page) {
		/* The cache's reference is the allocation's; add ours. */
		m->pages[pgoff] = new;
		page = new;
		new = NULL;
	}
	get_page(page);
	spin_unlock(&m->i_pages_lock);
	if (new) {
		WRITE_ONCE(new->mapping, NULL);
		put_page(new);
	}
	return page;
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
