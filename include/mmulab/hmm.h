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

#endif /* MMULAB_HMM_H */
