/* SPDX-License-Identifier: MIT */
/*
 * Device-private memory (the kernel's <linux/memremap.h>, for
 * MEMORY_DEVICE_PRIVATE): a device with memory of its own that the CPU
 * cannot address.  A driver gives the host a struct dev_pagemap; the
 * pagemap's frames are the device's, never handed to the page allocator,
 * and an anonymous page migrated into one of them (<mmulab/migrate.h>) is
 * mapped in the CPU page table by a device-private entry.  A CPU access to
 * such an entry calls @ops->migrate_to_ram, which must bring the page back
 * to a system frame.  When the last reference to a device page goes, it
 * is not freed to the host but returned to the driver through
 * @ops->page_free.
 *
 * Model: the device's memory is a set of the host's frames, taken from
 * the allocator by memremap_pages() and given back by memunmap_pages(),
 * rather than a separate physical range with its own struct pages as in
 * Linux; their contents stand for the device memory's (the device reads
 * and writes them, the CPU never maps them).
 */
#ifndef MMULAB_MEMREMAP_H
#define MMULAB_MEMREMAP_H

#include <mmulab/mm.h>

struct dev_pagemap;
struct vm_area_struct;

/**
 * struct vm_fault - a CPU fault handed to a driver.
 * @vma: the VMA of the fault (mmap_lock held for reading).
 * @address: the page-aligned address.
 * @flags: fault flags (FAULT_FLAG_WRITE for a write).
 * @page: the device-private page the entry names; the fault holds a
 *	reference on it for the duration of the call.
 */
struct vm_fault {
	struct vm_area_struct *vma;
	unsigned long address;
	unsigned int flags;
	struct page *page;
};

/**
 * struct dev_pagemap_ops - a device memory's driver callbacks.
 * @page_free: the last reference to @page went; it is the driver's
 *	again.  May run in any task, under page-table locks: no sleeping.
 * @migrate_to_ram: a CPU access met a device-private entry of this
 *	pagemap: migrate the page back (migrate_vma_setup() with
 *	MIGRATE_VMA_SELECT_DEVICE_PRIVATE and the pagemap's owner).  Return
 *	0 to retry the access, or VM_FAULT_SIGBUS / VM_FAULT_OOM (a
 *	vm_fault_t, <mmulab/mm.h>).
 */
struct dev_pagemap_ops {
	void (*page_free)(struct page *page);
	unsigned int (*migrate_to_ram)(struct vm_fault *vmf);
};

/**
 * struct dev_pagemap - one device's memory.
 * @ops: the callbacks; both required.
 * @owner: the driver's identity, compared with migrate_vma.pgmap_owner and
 *	with mmu_notifier_range.owner.
 * @nr_pages: frames wanted (in), frames given (out).
 * @host: set by memremap_pages().
 * @pfns: the frames, @nr_pages of them, set by memremap_pages().
 */
struct dev_pagemap {
	const struct dev_pagemap_ops *ops;
	void *owner;
	unsigned long nr_pages;
	struct host *host;
	unsigned long *pfns;
};

/**
 * memremap_pages() - give @pgmap @pgmap->nr_pages frames of @host as its
 * device memory.  The frames start free (reference count 0) and belong to
 * the driver: it hands one out with zone_device_page_init().
 * @host: the host.
 * @pgmap: the pagemap, with @ops, @owner and @nr_pages filled in.
 * Return: 0; -EINVAL for a NULL argument, a missing callback, a zero
 * count or a NULL @owner; -ENOMEM when the host has too few free frames.
 */
int memremap_pages(struct host *host, struct dev_pagemap *pgmap);

/**
 * memunmap_pages() - give @pgmap's frames back to the host.  Every device
 * page must be free (the driver migrated everything back first).
 * Return: 0, -EINVAL for a NULL or unregistered @pgmap, -EBUSY (nothing
 * released) while a device page is still in use.
 */
int memunmap_pages(struct dev_pagemap *pgmap);

/** is_device_private_page() - is @page a frame of some dev_pagemap? */
bool is_device_private_page(const struct page *page);

/** page_pgmap() - the dev_pagemap @page belongs to, or NULL. */
struct dev_pagemap *page_pgmap(const struct page *page);

/**
 * page_pgmap_index() - where device page @page is in its pagemap's @pfns
 * (a driver's index for its per-page data, Linux's zone_device_data).
 */
unsigned long page_pgmap_index(const struct page *page);

/**
 * zone_device_page_init() - hand out the free device page @page: one
 * reference (the caller's) and locked, as Linux's.
 * Misuse: a page that is not a free device page: WARN, nothing done.
 */
void zone_device_page_init(struct page *page);

#endif /* MMULAB_MEMREMAP_H */
