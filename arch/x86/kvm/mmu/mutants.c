// SPDX-License-Identifier: MIT
/*
 * KVM's protocol mutants in the secondary page fault (<mmulab/mutant.h>):
 * each function is the broken variant of the one its name begins with,
 * which selects it in the first line of its body.  Broken on purpose, so
 * that the tests and `mmulab check --mutant` show the checker catching
 * each one; they keep every scheduling point of the real code they do not
 * break.  The retry check's other two mutants (MUTANT_SKIP_SEQ_CHECK,
 * MUTANT_SKIP_IN_PROGRESS_CHECK) are one of its two halves alone, and
 * MUTANT_KEEP_GUP_REF is a return in release_page().
 */
#include "../../../../virt/kvm/kvm_host.h"

/*
 * MUTANT_RANGE_OFF_BY_ONE: the retry check misses the first gfn of the
 * hull of the invalidations in progress.
 */
int mmu_invalidate_retry_gfn_mutant_off_by_one(struct kvm *kvm,
					       unsigned long mmu_seq, gfn_t gfn,
					       struct kvm_vcpu_stat *stat)
{
	return kvm_mmu_retry_in_range(kvm, kvm->mmu_invalidate_range_start + 1,
				      gfn, stat) ||
	       kvm_mmu_retry_seq(kvm, mmu_seq, stat);
}

/*
 * MUTANT_LOCK_INVERSION: a fault that lost the race to another vCPU (the
 * SPTE is already there, a rare case) looks at the host PTE under its PTL
 * while holding mmu_lock, the reverse of aging's PTL -> mmu_lock.
 */
int kvm_mmu_map_mutant_lock_inversion(struct kvm *kvm,
				      struct kvm_memory_slot *slot, gfn_t gfn,
				      struct page *page, bool writable,
				      bool write, bool huge)
{
	unsigned long hva =
		slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
	int r = kvm_tdp_mmu_map(kvm, gfn, page, writable, write,
				kvm_mmu_map_huge(kvm, slot, gfn, huge));
	spinlock_t *ptl;
	pte_t *pte;

	/* The trylock keeps the tables alive and records no order. */
	if (r != RET_PF_SPURIOUS || !mmap_read_trylock(kvm->mm))
		return r;
	pte = pte_offset_map_lock_nosplit(kvm->mm, hva, &ptl);
	if (pte)
		pte_unmap_unlock(pte, ptl);
	mmap_read_unlock(kvm->mm);
	return r;
}
