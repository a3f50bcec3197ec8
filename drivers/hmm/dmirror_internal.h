/* SPDX-License-Identifier: MIT */
/*
 * Between the device mirror (dmirror.c) and its device memory
 * (dmirror_devmem.c): the mirror's table as the migration and
 * device-exclusive paths update it, outside the fault path.
 */
#ifndef MMULAB_DRIVERS_HMM_DMIRROR_INTERNAL_H
#define MMULAB_DRIVERS_HMM_DMIRROR_INTERNAL_H

#include <mmulab/hmm.h>
#include <mmulab/mmu_notifier.h>

/* dmirror.c */
struct mm_struct *dmirror_mm(struct dmirror *d);
struct host *dmirror_host(struct dmirror *d);
struct dmirror_device *dmirror_device_of(struct dmirror *d);
bool dmirror_covers(struct dmirror *d, unsigned long addr,
		    unsigned long npages);
void dmirror_devmem_unmap(struct dmirror *d, unsigned long addr,
			  unsigned long pfn);
unsigned long dmirror_devmem_begin(struct dmirror *d);
bool dmirror_devmem_map(struct dmirror *d, unsigned long addr,
			unsigned long pfn, bool writable, bool atomic,
			unsigned long seq);
bool dmirror_devmem_lookup(struct dmirror *d, unsigned long addr,
			   unsigned long *pfn, bool *atomic);

/* dmirror_devmem.c */
bool dmirror_skip_migration(struct dmirror_device *mdev,
			    const struct mmu_notifier_range *range);
void dmirror_device_forget(struct dmirror_device *mdev, struct dmirror *d);

/* dmirror.c, for mutants.c */
bool dmirror_lock_update(struct dmirror *d,
			 const struct mmu_notifier_range *range);
void dmirror_unlock_update(struct dmirror *d);
void dmirror_zap_range(struct dmirror *d,
		       const struct mmu_notifier_range *range);

/* mutants.c: the mirror's protocol mutants (<mmulab/mutant.h>) */
bool dmirror_invalidate_mutant_no_seq_bump(
	struct dmirror *d, const struct mmu_notifier_range *range);

#endif /* MMULAB_DRIVERS_HMM_DMIRROR_INTERNAL_H */
