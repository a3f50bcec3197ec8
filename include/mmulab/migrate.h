/* SPDX-License-Identifier: MIT */
/*
 * Migration to and from device memory (the kernel's <linux/migrate.h>
 * migrate_vma API and make_device_exclusive_range()).
 *
 * A driver migrates a range of one VMA in three steps, holding the mm's
 * mmap_lock for reading throughout:
 *
 *   migrate_vma_setup()     collect the pages (inside one MMU_NOTIFY_MIGRATE
 *                           invalidation of the range whose owner is
 *                           @pgmap_owner), lock them and replace their PTEs
 *                           by migration entries; src[] says which
 *   (driver)                allocate a destination for each src[] entry with
 *                           MIGRATE_PFN_MIGRATE, copy the contents, fill dst[]
 *   migrate_vma_pages()     hand each page's identity over to its
 *                           destination; fill holes with new pages
 *   migrate_vma_finalize()  point the migration entries at the destinations
 *                           (a device-private entry for a device page), or
 *                           back at the sources where it failed; unlock and
 *                           release the sources
 *
 * The owner lets the migrating driver recognise its own invalidation and
 * skip it in its notifier callback, as drivers do: it updates its device
 * table itself between setup and finalize.  Every other subscriber must
 * invalidate as for any other event.
 */
#ifndef MMULAB_MIGRATE_H
#define MMULAB_MIGRATE_H

#include <mmulab/memremap.h>

/* src[]/dst[] entries: a frame number shifted by MIGRATE_PFN_SHIFT, flags. */
#define MIGRATE_PFN_VALID (1UL << 0)   /* the entry names a frame */
#define MIGRATE_PFN_MIGRATE (1UL << 1) /* src: this page migrates */
#define MIGRATE_PFN_WRITE (1UL << 3)   /* src: it was mapped writable */
#define MIGRATE_PFN_SHIFT 6

/*
 * migrate_pfn_encode() - a dst[] entry for frame @pfn (Linux's
 * migrate_pfn(); that name is the model's compaction call).
 */
static inline unsigned long migrate_pfn_encode(unsigned long pfn)
{
	return (pfn << MIGRATE_PFN_SHIFT) | MIGRATE_PFN_VALID;
}

/** migrate_pfn_to_page() - the page of a src[]/dst[] entry, or NULL. */
struct page *migrate_pfn_to_page(struct host *host, unsigned long mpfn);

/**
 * enum migrate_vma_direction - what migrate_vma_setup() selects.
 * @MIGRATE_VMA_SELECT_SYSTEM: anonymous pages in system frames (and holes
 *	and the zero page of anonymous VMAs, which the destination fills).
 * @MIGRATE_VMA_SELECT_DEVICE_PRIVATE: device-private pages of
 *	@pgmap_owner's memory.
 */
enum migrate_vma_direction {
	MIGRATE_VMA_SELECT_SYSTEM = 1 << 0,
	MIGRATE_VMA_SELECT_DEVICE_PRIVATE = 1 << 1,
};

/**
 * struct migrate_vma - one migration of [@start, @end) of @vma.
 * @vma: the VMA (the caller holds its mm's mmap_lock for reading).
 * @src: (end - start) / PAGE_SIZE entries, filled by setup.
 * @dst: as many, filled by the driver.
 * @cpages: pages collected by setup (holes included).
 * @npages: entries of @src and @dst used.
 * @start, @end: page-aligned, inside @vma.
 * @pgmap_owner: the initiator; device pages of this owner are selected
 *	and the MMU_NOTIFY_MIGRATE invalidation carries it.
 * @flags: enum migrate_vma_direction bits.
 * @fault_page: the device page whose CPU fault called migrate_to_ram
 *	(its extra reference is expected), or NULL.
 */
struct migrate_vma {
	struct vm_area_struct *vma;
	unsigned long *src;
	unsigned long *dst;
	unsigned long cpages;
	unsigned long npages;
	unsigned long start;
	unsigned long end;
	void *pgmap_owner;
	unsigned long flags;
	struct page *fault_page;
};

/**
 * migrate_vma_setup() - collect and unmap the pages of @args's range.
 * Return: 0 (@args->cpages may be 0); -EINVAL for a NULL or bad argument
 * (range not page-aligned or outside the VMA, no flags, no arrays).
 */
int migrate_vma_setup(struct migrate_vma *args);

/**
 * migrate_vma_pages() - hand each collected page over to its dst[] entry;
 * an entry without a destination (or one that cannot take it: a shared
 * page to a device) stays where it is (MIGRATE_PFN_MIGRATE cleared).
 */
void migrate_vma_pages(struct migrate_vma *args);

/**
 * migrate_vma_finalize() - map the destinations (or the sources where
 * migration failed), unlock and release the sources, and release the
 * driver's reference on each destination.
 */
void migrate_vma_finalize(struct migrate_vma *args);

/**
 * migrate_device_range() - collect the in-use pages of device frames
 * @src[i] >> MIGRATE_PFN_SHIFT (filled by the caller with
 * migrate_pfn_encode()) for eviction: every mapping becomes a migration
 * entry.  Then migrate_device_pages() and migrate_device_finalize(), as
 * for a VMA; no mmap_lock is needed.
 * Return: 0 or -EINVAL.
 */
int migrate_device_range(struct host *host, unsigned long *src,
			 unsigned long npages);
/** migrate_device_pages() - migrate_vma_pages() for migrate_device_range(). */
void migrate_device_pages(struct host *host, unsigned long *src,
			  unsigned long *dst, unsigned long npages);
/** migrate_device_finalize() - migrate_vma_finalize() for the same. */
void migrate_device_finalize(struct host *host, unsigned long *src,
			     unsigned long *dst, unsigned long npages);

/**
 * make_device_exclusive_range() - give a device exclusive (atomic) access
 * to the anonymous pages of [@start, @end) of @mm: fault them in for
 * writing, lock them, and replace their PTEs by device-exclusive entries
 * inside an MMU_NOTIFY_EXCLUSIVE invalidation whose owner is @owner.  A
 * CPU access then restores the PTE inside an MMU_NOTIFY_EXCLUSIVE
 * invalidation without owner, which reaches the device's notifier, which
 * must drop its access.  The caller holds mmap_read_lock(@mm), maps what
 * it got, then unlock_page() and put_page() each page.
 * @pages: (end - start) / PAGE_SIZE slots; a page that could not be made
 *	exclusive is NULL (and neither locked nor referenced).
 * Return: pages faulted in, or -EFAULT, -ENOMEM, -EINVAL as GUP.
 */
long make_device_exclusive_range(struct mm_struct *mm, unsigned long start,
				 unsigned long end, struct page **pages,
				 void *owner);

/**
 * trylock_page() - take the page lock of @page if it is free, as a driver
 * locks the frame it allocated for a migration's destination.
 * @page: the frame.
 * Return: true when the lock was taken.
 */
bool trylock_page(struct page *page);

/** unlock_page() - release the page lock (see make_device_exclusive_range()). */
void unlock_page(struct page *page);

#endif /* MMULAB_MIGRATE_H */
