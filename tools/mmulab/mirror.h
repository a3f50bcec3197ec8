/* SPDX-License-Identifier: MIT */
/*
 * A tiny HMM-style mirror: a "device" page table for a few pages of an
 * mm, kept coherent with an interval notifier and the
 * mmu_interval_read_begin()/mmu_interval_read_retry() protocol, without
 * holding page references (lib/test_hmm.c's dmirror, reduced).
 */
#ifndef MMULAB_TOOL_MIRROR_H
#define MMULAB_TOOL_MIRROR_H

#include <mmulab/mmu_notifier.h>

#include "report.h"

#define MIRROR_MAX_PAGES 32

/**
 * struct mirror_entry - one device PTE.
 * @page: the frame it maps, NULL when invalid.
 * @writable: the device may store through it.
 */
struct mirror_entry {
	struct page *page;
	bool writable;
};

/**
 * struct mirror - the mirror.
 * @notifier: the interval subscription covering [@start, @end).
 * @mm: the mirrored mm.
 * @start: first mirrored address.
 * @end: end of the mirrored range.
 * @lock: the "update" lock: ->invalidate takes it around
 *	mmu_interval_set_seq() and the teardown; the fault path takes it
 *	around mmu_interval_read_retry() and the install; device accesses
 *	take it so that a frame cannot be freed under them.
 * @pt: the device page table.
 * @inv_gen: invalidate callbacks run so far (under @lock); lets
 *	mirror_check() tell whether its snapshot of @pt went stale.
 * @stats: counters for the report (atomics: several tasks update them).
 * @by_event: invalidations received per mmu_notifier_event.
 */
struct mirror {
	struct mmu_interval_notifier notifier;
	struct mm_struct *mm;
	unsigned long start;
	unsigned long end;
	struct mutex lock;
	struct mirror_entry pt[MIRROR_MAX_PAGES];
	unsigned long inv_gen;
	struct {
		atomic_long_t faults;
		atomic_long_t retries;
		atomic_long_t invalidations;
		atomic_long_t zapped;
		atomic_long_t reads;
		atomic_long_t writes;
		atomic_long_t incoherent;
	} stats;
	atomic_long_t by_event[MMU_NOTIFY_NR_EVENTS];
};

/**
 * mirror_init() - mirror @nr_pages pages of @mm from @start.
 * Return: 0, -EINVAL for a bad range, or mmu_interval_notifier_insert()'s
 * error.
 */
int mirror_init(struct mirror *m, struct mm_struct *mm, unsigned long start,
		unsigned long nr_pages);

/** mirror_fini() - remove the subscription; the mm may have exited. */
void mirror_fini(struct mirror *m);

/**
 * mirror_read_u64() - a device load of 8 bytes at @addr, through the
 * mirror's table, faulting the page in if the table has no entry.
 * Return: 0, or the fault's error (-EFAULT: nothing mapped there).
 */
int mirror_read_u64(struct mirror *m, unsigned long addr, u64 *val);

/** mirror_write_u64() - a device store, faulting for write if needed. */
int mirror_write_u64(struct mirror *m, unsigned long addr, u64 val);

/**
 * mirror_check() - compare every valid device entry with the CPU page
 * table: it must map the same frame, with no more permission.  Call it
 * without the mmap_lock.
 * Return: number of incoherent entries found (also counted in stats).
 */
unsigned long mirror_check(struct mirror *m);

/** mirror_valid_entries() - device entries currently valid. */
unsigned long mirror_valid_entries(struct mirror *m);

/** mirror_report() - add the mirror to @r, as a subscriber and as stats. */
void mirror_report(struct mirror *m, const char *name, struct report *r);

#endif /* MMULAB_TOOL_MIRROR_H */
