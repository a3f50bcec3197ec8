/* SPDX-License-Identifier: MIT */
/*
 * An HMM-style device mirror (the kernel's lib/test_hmm.c "dmirror"): a
 * device with its own page table over a range of a process's address
 * space, kept coherent by an interval notifier and its sequence-count
 * collision protocol, and holding no page reference.
 *
 * A device access looks up the device table under the driver's lock; on
 * a miss it samples mmu_interval_read_begin(), faults the page in through
 * GUP with no driver lock held, then under the lock checks
 * mmu_interval_read_retry() and only then installs the entry.  The
 * invalidate callback records the new sequence and drops the entries of
 * the range under the same lock.
 */
#ifndef MMULAB_HMM_H
#define MMULAB_HMM_H

#include <mmulab/mm.h>

struct dmirror;

/**
 * struct dmirror_stat - counters of a mirror.
 * @accesses: device reads and writes.
 * @faults: device page faults (table misses).
 * @retries: faults that collided with an invalidation and started over.
 * @invalidations: invalidate callbacks.
 * @zapped: device entries dropped by them.
 */
struct dmirror_stat {
	unsigned long accesses;
	unsigned long faults;
	unsigned long retries;
	unsigned long invalidations;
	unsigned long zapped;
};

/**
 * dmirror_create() - a device mirroring [@start, @start + @npages pages)
 * of @mm (registers its interval notifier; the caller holds a user
 * reference on @mm and no mmap_lock).
 * Return: the mirror or ERR_PTR(-EINVAL/-ENOMEM/-EINTR/-EOVERFLOW).
 */
struct dmirror *dmirror_create(struct mm_struct *mm, unsigned long start,
			       unsigned long npages);

/** dmirror_destroy() - remove the notifier and free the mirror. */
void dmirror_destroy(struct dmirror *dmirror);

/**
 * dmirror_read_u64() - device load of 8 bytes at @addr (8-aligned, inside
 * the mirrored range); in tag mode the page's tag.
 * Return: 0, -EFAULT (the host refused: no mapping, no permission),
 * -EINVAL, -ENOMEM.
 */
int dmirror_read_u64(struct dmirror *dmirror, unsigned long addr, u64 *val);
/** dmirror_write_u64() - device store; as dmirror_read_u64(). */
int dmirror_write_u64(struct dmirror *dmirror, unsigned long addr, u64 val);

/** dmirror_get_stat() - snapshot of the counters. */
void dmirror_get_stat(struct dmirror *dmirror, struct dmirror_stat *out);

/**
 * dmirror_observe_stat() - dmirror_get_stat() for observers (samplers):
 * no scheduling point, safe beside running tasks.
 * @dmirror: the mirror.
 * @out: filled in.
 */
void dmirror_observe_stat(struct dmirror *dmirror, struct dmirror_stat *out);

/* ---------------------------------------------------------------------
 * Device memory (drivers/hmm/dmirror_devmem.c): the mirror's device with
 * frames of its own, as lib/test_hmm.c's device-private memory.
 */

struct dmirror_device;

/**
 * dmirror_device_create() - a device with @nr_pages frames of
 * device-private memory (memremap_pages()).
 * Return: the device, or ERR_PTR(-EINVAL/-ENOMEM).
 */
struct dmirror_device *dmirror_device_create(struct host *host,
					     unsigned long nr_pages);

/**
 * dmirror_device_destroy() - evict every page still in device memory
 * (dmirror_device_evict()), give the frames back and free the device.
 * Return: 0, or -EBUSY (nothing freed) when a page could not be evicted.
 */
int dmirror_device_destroy(struct dmirror_device *mdev);

/**
 * dmirror_device_evict() - migrate every page in @mdev's memory back to
 * system frames, whoever maps it (HMM_DMIRROR_RELEASE:
 * migrate_device_range()).
 * Return: pages evicted, or -ENOMEM.
 */
long dmirror_device_evict(struct dmirror_device *mdev);

/** dmirror_device_free_pages() - @mdev's frames not in use. */
unsigned long dmirror_device_free_pages(struct dmirror_device *mdev);

/**
 * dmirror_set_device() - let @dmirror migrate into @mdev's memory (one
 * device per mirror, set before any migration; the device outlives the
 * mirror).  Its notifier then skips MMU_NOTIFY_MIGRATE invalidations
 * whose owner is @mdev.
 */
void dmirror_set_device(struct dmirror *dmirror, struct dmirror_device *mdev);

/**
 * dmirror_migrate_to_device() - migrate [@addr, @addr + @npages pages) of
 * the mirrored range into device memory and map it in the device's table
 * (HMM_DMIRROR_MIGRATE_TO_DEV).  Holes and zero pages of anonymous memory
 * get a fresh zeroed device page; shared memory cannot move.
 * @cpages: device pages the device maps in the range afterwards.
 * Return: 0; -ENOENT when some page of the range did not end up in device
 * memory (a shared mapping, device memory full, a busy page, a page in
 * another device's memory); -EINVAL for a bad argument, a hole in the
 * VMAs or a VMA without read permission (as test_hmm); -EFAULT for an
 * exited mm.
 */
int dmirror_migrate_to_device(struct dmirror *dmirror, unsigned long addr,
			      unsigned long npages, unsigned long *cpages);

/**
 * dmirror_migrate_to_system() - migrate the range's pages in @dmirror's
 * device memory back to system frames (HMM_DMIRROR_MIGRATE_TO_SYS).
 * @cpages: pages migrated.
 * Return: 0, -EINVAL, -EFAULT, -ENOMEM.
 */
int dmirror_migrate_to_system(struct dmirror *dmirror, unsigned long addr,
			      unsigned long npages, unsigned long *cpages);

/**
 * dmirror_exclusive() - take exclusive (atomic) device access to the
 * range (make_device_exclusive_range(); HMM_DMIRROR_EXCLUSIVE) and map
 * it in the device's table.
 * @cpages: pages the device holds exclusively.
 * Return: 0, -EBUSY when some page could not be made exclusive, -EINVAL,
 * -EFAULT, -ENOMEM.
 */
int dmirror_exclusive(struct dmirror *dmirror, unsigned long addr,
		      unsigned long npages, unsigned long *cpages);

/**
 * dmirror_check_exclusive() - HMM_DMIRROR_CHECK_EXCLUSIVE.
 * Return: 0 when the device holds no page of the range exclusively any
 * more, -EPERM when it still does, -EINVAL.
 */
int dmirror_check_exclusive(struct dmirror *dmirror, unsigned long addr,
			    unsigned long npages);

#endif /* MMULAB_HMM_H */
