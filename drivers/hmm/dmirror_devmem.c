// SPDX-License-Identifier: MIT
/*
 * The device mirror's device memory (lib/test_hmm.c's device-private
 * half): a dev_pagemap of the device's own frames, migration of a mirrored
 * range into them and back, eviction, and device-exclusive access.
 *
 * Locking: @lock (a mutex) guards the free list and which mirror each
 * device page was migrated for (@zdata); it ranks below the mmap_lock and
 * the page locks the migration holds and above the mirror's own lock.
 * page_free may run under a page-table lock, so it does not take @lock:
 * the free list is a lock-free stack of frame indices guarded by @free_lock,
 * a spinlock (a leaf).
 */
#include <stdlib.h>

#include <mmulab/hmm.h>
#include <mmulab/migrate.h>
#include <mmulab/mutant.h>
#include "dmirror_internal.h"

#define DEVMEM_CHUNK 64 /* pages per migrate_vma call */

struct dmirror_device {
	struct dev_pagemap pgmap;
	struct host *host;
	spinlock_t free_lock;
	unsigned long *free; /* indices of free device pages */
	unsigned long nr_free;
	struct mutex lock;
	struct dmirror **zdata; /* per device page: the mirror it serves */
};

static struct dmirror_device *to_mdev(struct dev_pagemap *pgmap)
{
	return container_of(pgmap, struct dmirror_device, pgmap);
}

static void devmem_page_free(struct page *page)
{
	struct dmirror_device *mdev = to_mdev(page_pgmap(page));

	spin_lock(&mdev->free_lock);
	mdev->free[mdev->nr_free++] = page_pgmap_index(page);
	spin_unlock(&mdev->free_lock);
}

/* A free device page, referenced and locked, or NULL when memory is full. */
static struct page *devmem_alloc_page(struct dmirror_device *mdev)
{
	struct page *page = NULL;

	spin_lock(&mdev->free_lock);
	if (mdev->nr_free)
		page = pfn_to_page(mdev->host,
				   mdev->pgmap.pfns[mdev->free[--mdev->nr_free]]);
	spin_unlock(&mdev->free_lock);
	if (page)
		zone_device_page_init(page);
	return page;
}

/*
 * The device's own migrations and exclusive-access requests: it updates
 * its table itself, after the change, if no other invalidation ran since
 * it sampled the sequence (nouveau's filter; test_hmm's for MIGRATE).
 */
bool dmirror_skip_migration(struct dmirror_device *mdev,
			    const struct mmu_notifier_range *range)
{
	/* Broken on purpose: every migration taken for our own. */
	if (range->event == MMU_NOTIFY_MIGRATE &&
	    mutant_is(MUTANT_MIGRATE_NO_OWNER_CHECK))
		return true;
	if (!mdev || (range->event != MMU_NOTIFY_MIGRATE &&
		      range->event != MMU_NOTIFY_EXCLUSIVE))
		return false;
	return range->owner == mdev;
}

void dmirror_device_forget(struct dmirror_device *mdev, struct dmirror *d)
{
	mutex_lock(&mdev->lock);
	for (unsigned long i = 0; i < mdev->pgmap.nr_pages; i++)
		if (mdev->zdata[i] == d)
			mdev->zdata[i] = NULL;
	mutex_unlock(&mdev->lock);
}

/*
 * Copy each device page of @src back to a new system frame (holes stay),
 * dropping the device entry of the mirror it served first, so that the
 * device no longer writes it: test_hmm's dmirror_devmem_fault_alloc_and_copy.
 * @addr: the address of src[0], or 0 for an eviction (no VMA).
 */
static int devmem_copy_to_ram(struct dmirror_device *mdev, unsigned long *src,
			      unsigned long *dst, unsigned long npages,
			      unsigned long addr)
{
	int ret = 0;

	mutex_lock(&mdev->lock);
	for (unsigned long i = 0; i < npages; i++) {
		struct page *spage = migrate_pfn_to_page(mdev->host, src[i]);
		struct dmirror *d;
		struct page *dpage;

		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		d = mdev->zdata[page_pgmap_index(spage)];
		if (d)
			dmirror_devmem_unmap(d, addr ? addr + (i << PAGE_SHIFT) : 0,
					     page_to_pfn(spage));
		dpage = alloc_page(mdev->host);
		if (!dpage) {
			ret = -ENOMEM;
			continue;
		}
		WARN_ON_ONCE(!trylock_page(dpage));
		copy_highpage(dpage, spage);
		dst[i] = migrate_pfn_encode(page_to_pfn(dpage));
	}
	mutex_unlock(&mdev->lock);
	return ret;
}

/*
 * dev_pagemap_ops.migrate_to_ram: the CPU touched a page in device memory.
 */
static unsigned int devmem_migrate_to_ram(struct vm_fault *vmf)
{
	struct dmirror_device *mdev = to_mdev(page_pgmap(vmf->page));
	unsigned long src = 0, dst = 0;
	struct migrate_vma args = {
		.vma = vmf->vma,
		.src = &src,
		.dst = &dst,
		.start = vmf->address,
		.end = vmf->address + PAGE_SIZE,
		.pgmap_owner = mdev,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		.fault_page = vmf->page,
	};
	int ret;

	if (migrate_vma_setup(&args))
		return VM_FAULT_SIGBUS;
	ret = devmem_copy_to_ram(mdev, &src, &dst, 1, vmf->address);
	migrate_vma_pages(&args);
	migrate_vma_finalize(&args);
	return ret ? VM_FAULT_OOM : 0;
}

static const struct dev_pagemap_ops devmem_ops = {
	.page_free = devmem_page_free,
	.migrate_to_ram = devmem_migrate_to_ram,
};

struct dmirror_device *dmirror_device_create(struct host *host,
					     unsigned long nr_pages)
{
	struct dmirror_device *mdev;

	if (!host || !nr_pages)
		return ERR_PTR(-EINVAL);
	mdev = calloc(1, sizeof(*mdev));
	if (!mdev)
		return ERR_PTR(-ENOMEM);
	mdev->free = calloc(nr_pages, sizeof(*mdev->free));
	mdev->zdata = calloc(nr_pages, sizeof(*mdev->zdata));
	mdev->host = host;
	mdev->pgmap.ops = &devmem_ops;
	mdev->pgmap.owner = mdev;
	mdev->pgmap.nr_pages = nr_pages;
	if (!mdev->free || !mdev->zdata ||
	    memremap_pages(host, &mdev->pgmap)) {
		free(mdev->free);
		free(mdev->zdata);
		free(mdev);
		return ERR_PTR(-ENOMEM);
	}
	spin_lock_init(&mdev->free_lock);
	mutex_init(&mdev->lock);
	for (unsigned long i = 0; i < nr_pages; i++)
		mdev->free[i] = nr_pages - 1 - i;
	mdev->nr_free = nr_pages;
	return mdev;
}

unsigned long dmirror_device_free_pages(struct dmirror_device *mdev)
{
	unsigned long n;

	spin_lock(&mdev->free_lock);
	n = mdev->nr_free;
	spin_unlock(&mdev->free_lock);
	return n;
}

long dmirror_device_evict(struct dmirror_device *mdev)
{
	unsigned long src[DEVMEM_CHUNK], dst[DEVMEM_CHUNK];
	long evicted = 0;
	int err = 0;

	for (unsigned long i = 0; i < mdev->pgmap.nr_pages; i += DEVMEM_CHUNK) {
		unsigned long n = mdev->pgmap.nr_pages - i;

		if (n > DEVMEM_CHUNK)
			n = DEVMEM_CHUNK;
		for (unsigned long j = 0; j < n; j++) {
			src[j] = migrate_pfn_encode(mdev->pgmap.pfns[i + j]);
			dst[j] = 0;
		}
		migrate_device_range(mdev->host, src, n);
		if (devmem_copy_to_ram(mdev, src, dst, n, 0))
			err = -ENOMEM;
		migrate_device_pages(mdev->host, src, dst, n);
		for (unsigned long j = 0; j < n; j++)
			evicted += (src[j] & MIGRATE_PFN_MIGRATE) && dst[j];
		migrate_device_finalize(mdev->host, src, dst, n);
	}
	return err ? err : evicted;
}

int dmirror_device_destroy(struct dmirror_device *mdev)
{
	if (!mdev)
		return -EINVAL;
	dmirror_device_evict(mdev);
	if (memunmap_pages(&mdev->pgmap))
		return -EBUSY;
	free(mdev->free);
	free(mdev->zdata);
	free(mdev);
	return 0;
}

/* ---------------------------------------------------------------------
 * Migration to the device, and back on request
 */

/*
 * test_hmm's dmirror_migrate_alloc_and_copy(): a device page for each
 * collected page (zeroed for a hole), after dropping the device's own
 * entry for the source, which the device must not write any more.
 */
static void devmem_copy_to_device(struct dmirror *d,
				  struct dmirror_device *mdev,
				  struct migrate_vma *args)
{
	mutex_lock(&mdev->lock);
	for (unsigned long i = 0; i < args->npages; i++) {
		unsigned long addr = args->start + (i << PAGE_SHIFT);
		struct page *spage = migrate_pfn_to_page(mdev->host,
							 args->src[i]);
		struct page *dpage;

		if (!(args->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		dpage = devmem_alloc_page(mdev);
		if (!dpage)
			continue;
		if (spage) {
			dmirror_devmem_unmap(d, addr, page_to_pfn(spage));
			copy_highpage(dpage, spage);
		} else {
			clear_highpage(dpage);
		}
		mdev->zdata[page_pgmap_index(dpage)] = d;
		args->dst[i] = migrate_pfn_encode(page_to_pfn(dpage));
	}
	mutex_unlock(&mdev->lock);
}

/* test_hmm's dmirror_migrate_finalize_and_map(). */
static void devmem_map_device_pages(struct dmirror *d,
				    struct migrate_vma *args, unsigned long seq)
{
	for (unsigned long i = 0; i < args->npages; i++) {
		struct page *dpage = migrate_pfn_to_page(dmirror_host(d),
							 args->dst[i]);
		bool write = !migrate_pfn_to_page(dmirror_host(d),
						  args->src[i]) ||
			     (args->src[i] & MIGRATE_PFN_WRITE);

		if (!dpage || !(args->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		dmirror_devmem_map(d, args->start + (i << PAGE_SHIFT),
				   page_to_pfn(dpage),
				   write && (args->vma->vm_flags & VM_WRITE),
				   false, seq);
	}
}

/*
 * Run @step over [addr, addr + npages pages) one VMA chunk at a time, under
 * the mmap_lock, as test_hmm's migrate ioctls.
 */
static int devmem_for_each_chunk(struct dmirror *d, unsigned long addr,
				 unsigned long npages,
				 int (*step)(struct dmirror *d,
					     struct migrate_vma *args,
					     unsigned long *done),
				 unsigned long *done)
{
	struct mm_struct *mm = dmirror_mm(d);
	unsigned long end = addr + (npages << PAGE_SHIFT);
	unsigned long src[DEVMEM_CHUNK], dst[DEVMEM_CHUNK];
	int ret = 0;

	if (!mmget_not_zero(mm))
		return -EFAULT;
	mmap_read_lock(mm);
	while (addr < end && !ret) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		struct migrate_vma args = { .src = src, .dst = dst };

		if (!vma || !(vma->vm_flags & VM_READ)) {
			ret = -EINVAL; /* test_hmm's answer */
			break;
		}
		args.vma = vma;
		args.start = addr;
		args.end = addr + (DEVMEM_CHUNK << PAGE_SHIFT);
		if (args.end > vma->vm_end || args.end < addr)
			args.end = vma->vm_end;
		if (args.end > end)
			args.end = end;
		ret = step(d, &args, done);
		addr = args.end;
	}
	mmap_read_unlock(mm);
	mmput(mm);
	return ret;
}

static int to_device_step(struct dmirror *d, struct migrate_vma *args,
			  unsigned long *done)
{
	struct dmirror_device *mdev = dmirror_device_of(d);
	unsigned long seq = dmirror_devmem_begin(d);

	(void)done;
	args->pgmap_owner = mdev;
	args->flags = MIGRATE_VMA_SELECT_SYSTEM;
	if (migrate_vma_setup(args))
		return -EINVAL;
	devmem_copy_to_device(d, mdev, args);
	migrate_vma_pages(args);
	devmem_map_device_pages(d, args, seq);
	migrate_vma_finalize(args);
	return 0;
}

int dmirror_migrate_to_device(struct dmirror *d, unsigned long addr,
			      unsigned long npages, unsigned long *cpages)
{
	unsigned long n = 0;
	int ret;

	if (!dmirror_covers(d, addr, npages) || !dmirror_device_of(d) ||
	    !cpages)
		return -EINVAL;
	ret = devmem_for_each_chunk(d, addr, npages, to_device_step, NULL);
	if (ret)
		return ret;
	/* What the device now reads from its own memory (test_hmm). */
	for (unsigned long i = 0; i < npages; i++) {
		unsigned long pfn;
		bool atomic;

		if (dmirror_devmem_lookup(d, addr + (i << PAGE_SHIFT), &pfn,
					  &atomic) &&
		    is_device_private_page(pfn_to_page(dmirror_host(d), pfn)))
			n++;
	}
	*cpages = n;
	return n == npages ? 0 : -ENOENT;
}

static int to_system_step(struct dmirror *d, struct migrate_vma *args,
			  unsigned long *done)
{
	struct dmirror_device *mdev = dmirror_device_of(d);
	int ret;

	args->pgmap_owner = mdev;
	args->flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE;
	if (migrate_vma_setup(args))
		return -EINVAL;
	ret = devmem_copy_to_ram(mdev, args->src, args->dst, args->npages,
				 args->start);
	migrate_vma_pages(args);
	for (unsigned long i = 0; i < args->npages; i++)
		*done += (args->src[i] & MIGRATE_PFN_MIGRATE) && args->dst[i];
	migrate_vma_finalize(args);
	return ret;
}

int dmirror_migrate_to_system(struct dmirror *d, unsigned long addr,
			      unsigned long npages, unsigned long *cpages)
{
	if (!dmirror_covers(d, addr, npages) || !dmirror_device_of(d) ||
	    !cpages)
		return -EINVAL;
	*cpages = 0;
	return devmem_for_each_chunk(d, addr, npages, to_system_step, cpages);
}

/* ---------------------------------------------------------------------
 * Device-exclusive access
 */

static int exclusive_step(struct dmirror *d, struct migrate_vma *args,
			  unsigned long *done)
{
	unsigned long seq = dmirror_devmem_begin(d);
	struct page *pages[DEVMEM_CHUNK];
	long n;

	n = make_device_exclusive_range(dmirror_mm(d), args->start, args->end,
					pages, dmirror_device_of(d));
	if (n < 0)
		return (int)n;
	/* Mapped while the pages are locked: a CPU access revokes it after. */
	for (long i = 0; i < n; i++) {
		if (!pages[i])
			continue;
		if (dmirror_devmem_map(d, args->start + (i << PAGE_SHIFT),
				       page_to_pfn(pages[i]), true, true, seq))
			(*done)++;
		unlock_page(pages[i]);
		put_page(pages[i]);
	}
	return n == (long)((args->end - args->start) >> PAGE_SHIFT) ? 0
								   : -EFAULT;
}

int dmirror_exclusive(struct dmirror *d, unsigned long addr,
		      unsigned long npages, unsigned long *cpages)
{
	int ret;

	if (!dmirror_covers(d, addr, npages) || !dmirror_device_of(d) ||
	    !cpages)
		return -EINVAL;
	*cpages = 0;
	ret = devmem_for_each_chunk(d, addr, npages, exclusive_step, cpages);
	if (ret)
		return ret;
	return *cpages == npages ? 0 : -EBUSY;
}

int dmirror_check_exclusive(struct dmirror *d, unsigned long addr,
			    unsigned long npages)
{
	if (!dmirror_covers(d, addr, npages))
		return -EINVAL;
	for (unsigned long i = 0; i < npages; i++) {
		unsigned long pfn;
		bool atomic;

		if (dmirror_devmem_lookup(d, addr + (i << PAGE_SHIFT), &pfn,
					  &atomic) &&
		    atomic)
			return -EPERM;
	}
	return 0;
}
